//! The integration suite: the real application on port 0 with a temporary store, driven
//! over HTTP exactly as providers, agents and ops drive it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod abuse;
mod agent_rules;
mod amazon_connect;
mod api;
mod authz;
mod backup;
mod bandwidth;
mod browser;
mod cli;
mod cluster;
mod console;
mod console_a11y;
mod console_ops;
mod console_settings;
mod console_users;
mod crash;
mod deploy;
mod dev;
mod dialpad;
mod downstream;
mod events;
mod feeds;
mod gate;
mod identities;
mod monitoring;
mod pg_backup;
mod plivo;
mod privacy;
mod privacy_export;
mod providers;
mod reconcile;
mod refusals;
mod resources;
mod retention;
mod schema;
mod sdk;
mod signalwire;
mod support;
mod sync;
mod telnyx;
mod tidy;
mod topology;
mod users;
mod vonage;
mod webhooks;
