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
//! - [`matrix`]: the provider matrix of `adapters/README.md`, from each `ProviderInfo`;
//! - [`samples`]: the `webhook-samples/` format and the checks every sample gets;
//! - [`scaffold`]: a new provider's files from the template in `adapters/_template/`;
//! - `conformance` (tests and the `conformance` feature only): what every adapter must do,
//!   checked over its samples, and the never-panic drivers of the fuzz targets.

pub mod adapter;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod dates;
pub mod form;
pub mod jwt;
pub mod listing;
pub mod matrix;
pub mod model;
pub mod samples;
pub mod scaffold;
pub mod secrets;
#[cfg(test)]
pub mod testing;
pub mod twilio_scheme;
pub mod verify;

pub use adapter::{
    Adapter, COMMON_OPTIONS, Clock, ConfigError, ConnectionOptions, FixedClock, HttpRequestSpec,
    InboundRequest, LookupTarget, Lookups, Maturity, OptionSpec, ParseError, Parsed, ProviderInfo,
    RecordingRef, Reply,
};
pub use model::{
    CallEvent, CallProgress, Direction, EventKind, EventTag, Leg, LegRole, Party, RecordingEvent,
    RecordingProgress, RoutingReason,
};
pub use secrets::{Generation, Secret, SecretSet};
pub use verify::{ReplayKey, Verified, VerifyError};
