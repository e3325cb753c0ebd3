//! The reconciler's timing: when a call with no news is looked up at its provider, how often
//! the reconciler runs, and when a call nobody can answer for is ended.

use super::{ConfigError, Env, err};
use std::time::Duration;

/// The reconciler's settings (`CALLGATE_RECONCILE_AFTER_SECS`,
/// `CALLGATE_RECONCILE_INTERVAL_SECS`, `CALLGATE_MAX_CALL_SECS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconcileConfig {
    /// A call not ended, with no webhook for this long, is looked up; a call that ended
    /// without a tenant has its recordings listed again this long after the first listing.
    pub after: Duration,
    /// How often the reconciler runs.
    pub interval: Duration,
    /// A call still not ended this long after it started, which its provider cannot or will
    /// not answer for, is ended as timed out.
    pub max_call: Duration,
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        Self {
            after: Duration::from_secs(900),
            interval: Duration::from_secs(60),
            max_call: Duration::from_secs(14_400),
        }
    }
}

/// The file's keys, each optional.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct ReconcileFile {
    pub after_secs: Option<u64>,
    pub interval_secs: Option<u64>,
    pub max_call_secs: Option<u64>,
}

/// A year: far past any use, and small enough that no deadline arithmetic overflows.
const YEAR_SECS: u64 = 366 * 24 * 3600;

impl ReconcileConfig {
    pub(super) fn load(file: ReconcileFile, env: &dyn Env) -> Result<Self, ConfigError> {
        let d = Self::default();
        let read = |name: &str, key: &str, file: Option<u64>, default: Duration| {
            let secs = match env.get(name) {
                None => file.unwrap_or(default.as_secs()),
                Some(raw) => raw
                    .trim()
                    .parse()
                    .map_err(|_| err(format!("{name} must be a whole number, not {raw:?}")))?,
            };
            if secs == 0 || secs > YEAR_SECS {
                return Err(err(format!(
                    "{name} ({key}) must be positive and at most a year of seconds"
                )));
            }
            Ok(Duration::from_secs(secs))
        };
        Ok(Self {
            after: read(
                "CALLGATE_RECONCILE_AFTER_SECS",
                "reconcile_after_secs",
                file.after_secs,
                d.after,
            )?,
            interval: read(
                "CALLGATE_RECONCILE_INTERVAL_SECS",
                "reconcile_interval_secs",
                file.interval_secs,
                d.interval,
            )?,
            max_call: read(
                "CALLGATE_MAX_CALL_SECS",
                "max_call_secs",
                file.max_call_secs,
                d.max_call,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::MapEnv;
    use std::collections::HashMap;

    #[test]
    fn defaults_then_file_then_environment() {
        let none = MapEnv(HashMap::new());
        let d = ReconcileConfig::load(ReconcileFile::default(), &none).unwrap();
        assert_eq!(d, ReconcileConfig::default());
        assert_eq!(d.after, Duration::from_secs(900));
        assert_eq!(d.interval, Duration::from_secs(60));
        assert_eq!(d.max_call, Duration::from_secs(14_400));
        let file = ReconcileFile {
            after_secs: Some(30),
            interval_secs: Some(5),
            max_call_secs: Some(600),
        };
        let f = ReconcileConfig::load(file, &none).unwrap();
        assert_eq!(
            (f.after, f.interval, f.max_call),
            (
                Duration::from_secs(30),
                Duration::from_secs(5),
                Duration::from_secs(600)
            )
        );
        let env = MapEnv(HashMap::from([
            ("CALLGATE_RECONCILE_AFTER_SECS", "2"),
            ("CALLGATE_MAX_CALL_SECS", " 7 "),
        ]));
        let e = ReconcileConfig::load(file, &env).unwrap();
        assert_eq!(e.after, Duration::from_secs(2));
        assert_eq!(e.interval, Duration::from_secs(5));
        assert_eq!(e.max_call, Duration::from_secs(7));
    }

    #[test]
    fn zero_huge_or_not_a_number_is_refused() {
        for (name, value) in [
            ("CALLGATE_RECONCILE_AFTER_SECS", "0"),
            ("CALLGATE_RECONCILE_INTERVAL_SECS", "soon"),
            ("CALLGATE_MAX_CALL_SECS", "99999999999"),
            ("CALLGATE_MAX_CALL_SECS", "-5"),
        ] {
            let env = MapEnv(HashMap::from([(name, value)]));
            let e = ReconcileConfig::load(ReconcileFile::default(), &env).unwrap_err();
            assert!(e.to_string().contains(name), "{e}");
        }
    }
}
