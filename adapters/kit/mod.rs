//! The adapter kit: everything provider folders share.
//!
//! - [`model`]: the common call model every provider is normalized into;
//! - [`adapter`]: the contract one provider implements, and what goes in and out of it;
//! - [`secrets`]: typed, redacted secrets with rotation generations;
//! - [`verify`]: the only way to make a [`Verified`] request (constant-time checks);
//! - [`twilio_scheme`]: the Twilio request signature (Twilio, SignalWire LaML);
//! - [`jwt`]: compact HS256 tokens (Vonage, Dialpad);
//! - [`form`]: `application/x-www-form-urlencoded` bodies and header helpers;
//! - [`dates`]: lenient timestamp parsing;
//! - [`samples`]: the `webhook-samples/` format and the checks every sample gets.

pub mod adapter;
pub mod dates;
pub mod form;
pub mod jwt;
pub mod model;
pub mod samples;
pub mod secrets;
#[cfg(test)]
pub mod testing;
pub mod twilio_scheme;
pub mod verify;

pub use adapter::{
    Adapter, Clock, ConfigError, ConnectionOptions, FixedClock, HttpRequestSpec, InboundRequest,
    Maturity, ParseError, Parsed, ProviderInfo, RecordingRef, Reply,
};
pub use model::{
    CallEvent, CallProgress, Direction, EventKind, EventTag, Party, RecordingEvent,
    RecordingProgress,
};
pub use secrets::{Generation, Secret, SecretSet};
pub use verify::{ReplayKey, Verified, VerifyError};
