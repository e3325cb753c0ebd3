//! callgate: certified telephony providers to a centralized contact center.
//!
//! See ARCHITECTURE.md for the map. In short: `http` is the edge, `calls` the call's use
//! cases, `domain` the pure core, `store` the durable state (rows and SQL), `outbox` the
//! worker that carries out what a commit owes the outside world; provider code lives in the
//! `callgate-adapters` crate.

pub mod access;
pub mod accounts;
pub mod app;
pub mod backup;
pub mod calls;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connections;
pub mod crypto;
pub mod dev;
pub mod directory;
pub mod domain;
pub mod dto;
pub mod egress;
pub mod error;
pub mod events;
pub mod feeds;
pub mod http;
pub mod ids;
pub mod outbox;
pub mod privacy;
pub mod reconcile;
pub mod retention;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod upstream;
pub mod users;
