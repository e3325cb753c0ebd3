//! The integration suite: the real application on port 0 with a temporary store, driven
//! over HTTP exactly as providers, agents and ops drive it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod api;
mod authz;
mod crash;
mod dev;
mod events;
mod gate;
mod providers;
mod support;
mod tidy;
mod users;
mod webhooks;
