//! How long callgate keeps what it stores (the contract's "Data lifecycle"): raw webhook
//! bodies, ended calls, audit entries. Each period is a variable, or else a key of the file.

use super::{ConfigError, Env, err};
use std::time::Duration;

/// The retention periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Raw webhook bodies older than this are deleted; their events and calls stay.
    pub deliveries: Duration,
    /// Calls that ended longer ago than this are deleted, with their events and deliveries.
    pub calls: Duration,
    /// Audit entries older than this are deleted.
    pub audit: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            deliveries: Duration::from_secs(2_592_000),
            calls: Duration::from_secs(34_560_000),
            audit: Duration::from_secs(220_752_000),
        }
    }
}

/// The longest period accepted: a hundred years, far past any use, so that subtracting it
/// from a time never overflows.
const MAX_SECS: u64 = 100 * 366 * 24 * 3600;

impl Retention {
    /// The periods from `CALLGATE_RETAIN_{DELIVERIES,CALLS,AUDIT}_SECS`, else the file's
    /// `retain_*_secs` keys (`file`, in that order), else the defaults.
    pub(super) fn load(env: &dyn Env, file: [Option<u64>; 3]) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let [deliveries, calls, audit] = file;
        Ok(Self {
            deliveries: period(env, "DELIVERIES", deliveries, defaults.deliveries)?,
            calls: period(env, "CALLS", calls, defaults.calls)?,
            audit: period(env, "AUDIT", audit, defaults.audit)?,
        })
    }
}

fn period(
    env: &dyn Env,
    kind: &str,
    file: Option<u64>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let name = format!("CALLGATE_RETAIN_{kind}_SECS");
    let secs = match env.get(&name) {
        Some(raw) => Some(raw.trim().parse::<u64>().map_err(|_| {
            err(format!(
                "{name} must be a whole number of seconds, not {raw:?}"
            ))
        })?),
        None => file,
    };
    match secs {
        None => Ok(default),
        Some(s) if (1..=MAX_SECS).contains(&s) => Ok(Duration::from_secs(s)),
        Some(_) => Err(err(format!(
            "{name} (retain_{}_secs) must be 1-{MAX_SECS} seconds",
            kind.to_lowercase()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::MapEnv as Vars;
    use std::collections::HashMap;

    #[test]
    fn the_variable_wins_over_the_file_and_the_file_over_the_default() {
        let env = Vars([("CALLGATE_RETAIN_CALLS_SECS", "60")].into());
        let r = Retention::load(&env, [Some(30), Some(90), None]).unwrap();
        assert_eq!(r.deliveries, Duration::from_secs(30));
        assert_eq!(r.calls, Duration::from_secs(60));
        assert_eq!(r.audit, Duration::from_secs(220_752_000));
        let none = Retention::load(&Vars(HashMap::new()), [None; 3]).unwrap();
        assert_eq!(none, Retention::default());
        assert_eq!(none.deliveries, Duration::from_secs(2_592_000));
        assert_eq!(none.calls, Duration::from_secs(34_560_000));
    }

    #[test]
    fn a_period_is_a_positive_number_of_seconds() {
        for bad in ["0", "-5", "ten", "1e3"] {
            let env = Vars([("CALLGATE_RETAIN_AUDIT_SECS", bad)].into());
            let e = Retention::load(&env, [None; 3]).unwrap_err().to_string();
            assert!(e.contains("CALLGATE_RETAIN_AUDIT_SECS"), "{e}");
        }
        let e = Retention::load(&Vars(HashMap::new()), [Some(0), None, None]).unwrap_err();
        assert!(e.to_string().contains("retain_deliveries_secs"), "{e}");
    }
}
