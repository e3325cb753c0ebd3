//! The adapter kit: everything provider folders share.
//!
//! - [`model`]: the common call model every provider is normalized into;
//! - [`adapter`]: the contract one provider implements, and what goes in and out of it;
//! - [`secrets`]: typed, redacted secrets with rotation generations;
//! - [`verify`]: the only way to make a [`Verified`] request (constant-time checks);
//! - [`twilio_scheme`]: the Twilio request signature (Twilio, SignalWire LaML);
//! - [`jwt`]: compact HS256 tokens (Vonage, Dialpad), and RS256 tokens callgate signs;
//! - [`rsa`]: RSA private keys from PEM text, RS256 signatures (Vonage's REST API);
//! - [`form`]: `application/x-www-form-urlencoded` bodies and header helpers;
//! - [`dates`]: lenient timestamp parsing;
//! - [`listing`]: what every adapter's recordings listing shares;
//! - [`lookup`]: what a lookup of a call is about, and what it may need;
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
pub mod lookup;
pub mod matrix;
pub mod model;
pub mod rsa;
pub mod samples;
pub mod scaffold;
pub mod secrets;
#[cfg(test)]
pub mod testing;
pub mod twilio_scheme;
pub mod verify;

pub use adapter::{
    Adapter, COMMON_OPTIONS, Clock, ConfigError, ConnectionOptions, FixedClock, Fresh,
    HttpRequestSpec, InboundRequest, LookupTarget, Lookups, Maturity, OptionSpec, ParseError,
    Parsed, ProviderInfo, RecordingRef, Reply,
};
pub use model::{
    CallEvent, CallProgress, Direction, EventKind, EventTag, Leg, LegRole, Party, RecordingEvent,
    RecordingProgress, RoutingReason,
};
pub use secrets::{Generation, Secret, SecretSet};
pub use verify::{ReplayKey, Verified, VerifyError};
