//! The clock an office reads the time from. Production offices read the system clock; tests and
//! the demo give an office a clock that starts at a fixed instant and can be moved ahead, so that
//! no outcome depends on the day a test runs and deadlines can be tested without waiting.
//!
//! Every instant handed out is truncated to whole milliseconds: that is the one precision Staffel
//! writes timestamps in (`domain::time`), so what is kept in memory equals what is written.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::time::{german_date, truncate_to_millis};

/// A source of the current time. Cheap to clone; clones share the same time.
#[derive(Clone)]
pub struct Clock(Arc<Source>);

enum Source {
    System,
    /// A fixed start that runs on with real elapsed time, plus whatever it was moved ahead by.
    Manual {
        start: DateTime<Utc>,
        started: Instant,
        moved: Mutex<chrono::Duration>,
    },
}

impl Clock {
    /// The system clock (UTC).
    pub fn system() -> Self {
        Self(Arc::new(Source::System))
    }

    /// A clock that reads `start` now and runs on from there in real time.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Self(Arc::new(Source::Manual { start, started: Instant::now(), moved: Mutex::new(chrono::Duration::zero()) }))
    }

    /// Moves a clock made by [`Clock::starting_at`] ahead. The system clock cannot be moved.
    ///
    /// # Panics
    /// On the system clock, or with a negative duration (time never runs backwards).
    pub fn advance(&self, by: chrono::Duration) {
        assert!(by >= chrono::Duration::zero(), "a clock is only ever moved ahead");
        match &*self.0 {
            Source::System => panic!("the system clock cannot be moved"),
            Source::Manual { moved, .. } => *moved.lock().expect("clock lock") += by,
        }
    }

    /// The current instant, in whole milliseconds.
    pub fn now(&self) -> DateTime<Utc> {
        let exact = match &*self.0 {
            Source::System => Utc::now(),
            Source::Manual { start, started, moved } => {
                let elapsed = chrono::Duration::from_std(started.elapsed()).unwrap_or(chrono::Duration::MAX);
                *start + elapsed + *moved.lock().expect("clock lock")
            }
        };
        truncate_to_millis(exact)
    }

    /// Today's date in Germany, the date the window rules are judged on.
    pub fn today(&self) -> NaiveDate {
        german_date(self.now())
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.0 {
            Source::System => f.write_str("Clock(system)"),
            Source::Manual { start, .. } => write!(f, "Clock(from {start})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_starts_where_it_is_told_and_moves_ahead() {
        let start: DateTime<Utc> = "2026-11-25T09:30:00.123456Z".parse().unwrap();
        let clock = Clock::starting_at(start);
        let first = clock.now();
        assert!(first >= "2026-11-25T09:30:00.123Z".parse::<DateTime<Utc>>().unwrap());
        assert!(first < "2026-11-25T09:31:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(first.timestamp_subsec_nanos() % 1_000_000, 0, "whole milliseconds");
        clock.clone().advance(chrono::Duration::days(400));
        assert_eq!(clock.today(), "2027-12-30".parse::<NaiveDate>().unwrap());
    }
}
