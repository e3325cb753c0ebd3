//! The integration suite: the real application on port 0 with a temporary store, driven
//! over HTTP exactly as providers, agents and ops drive it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod api;
mod bandwidth;
mod crash;
mod gate;
mod signalwire;
mod support;
mod tidy;
mod vonage;
mod webhooks;
