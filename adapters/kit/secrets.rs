//! Secrets as a type: redacted in `Debug`, wiped on drop, grouped by rotation generation.

use std::collections::BTreeMap;
use std::fmt;
use zeroize::Zeroizing;

/// A secret value. Its `Debug` never shows the value, and its memory is wiped on drop.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The value, for a signature check or an outgoing request header. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Which generation of a connection's secrets matched: the current one, or the previous one
/// still accepted during a rotation's grace period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    Current,
    Previous,
}

impl Generation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Previous => "previous",
        }
    }
}

/// The secrets of one connection: the current generation, and the previous one while its
/// grace period lasts.
#[derive(Clone, Default)]
pub struct SecretSet {
    current: BTreeMap<String, Secret>,
    previous: Option<BTreeMap<String, Secret>>,
}

impl fmt::Debug for SecretSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretSet")
            .field("names", &self.current.keys().collect::<Vec<_>>())
            .field("has_previous", &self.previous.is_some())
            .finish()
    }
}

impl SecretSet {
    pub fn new(
        current: BTreeMap<String, Secret>,
        previous: Option<BTreeMap<String, Secret>>,
    ) -> Self {
        Self { current, previous }
    }

    /// A set with one generation, from `(name, value)` pairs (tests and samples).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let current = pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Secret::new(v)))
            .collect();
        Self {
            current,
            previous: None,
        }
    }

    /// The current value of a secret.
    pub fn current(&self, name: &str) -> Option<&Secret> {
        self.current.get(name)
    }

    /// The names of the current generation's secrets.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.current.keys().map(String::as_str)
    }

    /// The current value of a secret a provider operation needs, or
    /// [`ConfigError::MissingSecret`](crate::kit::ConfigError::MissingSecret).
    pub fn require(&self, name: &'static str) -> Result<&Secret, crate::kit::ConfigError> {
        self.current(name)
            .ok_or(crate::kit::ConfigError::MissingSecret(name))
    }

    /// Every accepted value of a secret, current first: use this to verify webhooks. Empty
    /// values are never accepted (an empty key would let anyone sign).
    pub fn accepted(&self, name: &str) -> impl Iterator<Item = (Generation, &Secret)> {
        let current = self.current.get(name).map(|s| (Generation::Current, s));
        let previous = self
            .previous
            .as_ref()
            .and_then(|p| p.get(name))
            .map(|s| (Generation::Previous, s));
        current
            .into_iter()
            .chain(previous)
            .filter(|(_, s)| !s.expose().is_empty())
    }

    /// [`accepted`](Self::accepted), collected; a connection with no value for the secret
    /// cannot verify anything: [`VerifyError::NoCredentials`](crate::kit::VerifyError).
    pub fn accepted_required(
        &self,
        name: &'static str,
    ) -> Result<Vec<(Generation, &Secret)>, crate::kit::VerifyError> {
        let accepted: Vec<_> = self.accepted(name).collect();
        if accepted.is_empty() {
            Err(crate::kit::VerifyError::NoCredentials(name))
        } else {
            Ok(accepted)
        }
    }
}
