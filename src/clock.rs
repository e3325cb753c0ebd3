//! The one place the service reads the wall clock.

use callgate_adapters::kit::Clock;
use time::OffsetDateTime;

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        #[allow(clippy::disallowed_methods)] // the clock implementation itself
        OffsetDateTime::now_utc()
    }
}
