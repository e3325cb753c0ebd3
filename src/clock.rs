//! The one place the service reads the wall clock.

use callgate_adapters::kit::Clock;
use time::OffsetDateTime;

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    /// Now, to the millisecond: the precision times are stored with, so that a time read
    /// back from the store compares exactly as it did before it was written.
    fn now(&self) -> OffsetDateTime {
        #[allow(clippy::disallowed_methods)] // the clock implementation itself
        let now = OffsetDateTime::now_utc();
        now.replace_millisecond(now.millisecond()).unwrap_or(now)
    }
}
