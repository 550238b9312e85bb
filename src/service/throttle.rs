//! Throttling failed logins, so that no door can be worn down by guessing: per account and
//! source address together, per source address, and per account alone. A key's first failures
//! are free; each failure beyond them doubles the wait before the next attempt (1 s, 2 s, 4 s,
//! ...), up to a cap; a key is forgotten once it has not failed for a while.
//!
//! The limits per account alone are the loosest (a cap of one minute), so that an attacker who
//! guesses from many addresses cannot keep a real user out for long; the tight limits are per
//! account and source together, and per source. Attempts that are throttled are refused before
//! the password is checked, so they cost no hashing either.
//!
//! The state is in memory: a restart forgets it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// How one kind of key is throttled.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Failures allowed without any wait.
    pub free: u32,
    /// The longest wait.
    pub cap: Duration,
    /// A key that has not failed for this long starts afresh.
    pub forget_after: Duration,
}

/// The rules Staffel applies.
pub const PER_ACCOUNT_AND_SOURCE: Rule =
    Rule { free: 5, cap: Duration::minutes(15), forget_after: Duration::minutes(30) };
pub const PER_SOURCE: Rule = Rule { free: 30, cap: Duration::minutes(60), forget_after: Duration::minutes(60) };
pub const PER_ACCOUNT: Rule = Rule { free: 50, cap: Duration::minutes(1), forget_after: Duration::minutes(30) };

/// More keys than this and those forgotten anyway are dropped.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Pair(String, IpAddr),
    Source(IpAddr),
    Account(String),
}

impl Key {
    fn rule(&self) -> Rule {
        match self {
            Self::Pair(..) => PER_ACCOUNT_AND_SOURCE,
            Self::Source(_) => PER_SOURCE,
            Self::Account(_) => PER_ACCOUNT,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: DateTime<Utc>,
}

impl Failures {
    /// When the next attempt is allowed, if it has to wait.
    fn allowed_at(&self, rule: Rule) -> Option<DateTime<Utc>> {
        let over = self.count.checked_sub(rule.free).filter(|n| *n > 0)?;
        let wait = Duration::seconds(1i64 << (over - 1).min(30)).min(rule.cap);
        Some(self.last + wait)
    }
}

/// What a failed login did to the throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failed {
    /// Whether this failure made a key wait for the first time since it was last forgotten.
    pub throttling_began: bool,
}

/// The failed logins an office remembers.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    keys: Mutex<HashMap<Key, Failures>>,
}

fn keys(account: &str, source: Option<IpAddr>) -> Vec<Key> {
    let mut keys = vec![Key::Account(account.to_owned())];
    if let Some(ip) = source {
        keys.push(Key::Pair(account.to_owned(), ip));
        keys.push(Key::Source(ip));
    }
    keys
}

impl LoginThrottle {
    /// How long a login for `account` from `source` has to wait now, if at all.
    pub fn wait(&self, account: &str, source: Option<IpAddr>, now: DateTime<Utc>) -> Option<Duration> {
        let map = self.keys.lock().expect("throttle lock");
        keys(account, source)
            .iter()
            .filter_map(|k| {
                let f = map.get(k)?;
                let rule = k.rule();
                if now - f.last > rule.forget_after {
                    return None;
                }
                f.allowed_at(rule).filter(|at| *at > now).map(|at| at - now)
            })
            .max()
    }

    /// Records a failed login.
    pub fn failed(&self, account: &str, source: Option<IpAddr>, now: DateTime<Utc>) -> Failed {
        let mut map = self.keys.lock().expect("throttle lock");
        if map.len() > PRUNE_ABOVE {
            map.retain(|k, f| now - f.last <= k.rule().forget_after);
        }
        let mut throttling_began = false;
        for key in keys(account, source) {
            let rule = key.rule();
            let f = map.entry(key).or_insert(Failures { count: 0, last: now });
            if now - f.last > rule.forget_after {
                f.count = 0;
            }
            f.count = f.count.saturating_add(1);
            f.last = now;
            throttling_began |= f.count == rule.free + 1;
        }
        Failed { throttling_began }
    }

    /// Records a successful login: the account's failures from this source are forgotten.
    pub fn succeeded(&self, account: &str, source: Option<IpAddr>) {
        if let Some(ip) = source {
            self.keys.lock().expect("throttle lock").remove(&Key::Pair(account.to_owned(), ip));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn waits_double_after_the_free_failures_and_are_capped() {
        let throttle = LoginThrottle::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let now = t("2026-11-25T09:00:00Z");
        for i in 0..5 {
            assert_eq!(throttle.wait("im", Some(ip), now), None, "attempt {i}");
            assert!(!throttle.failed("im", Some(ip), now).throttling_began);
        }
        assert!(throttle.failed("im", Some(ip), now).throttling_began);
        assert_eq!(throttle.wait("im", Some(ip), now), Some(Duration::seconds(1)));
        throttle.failed("im", Some(ip), now);
        assert_eq!(throttle.wait("im", Some(ip), now), Some(Duration::seconds(2)));
        for _ in 0..20 {
            throttle.failed("im", Some(ip), now);
        }
        assert_eq!(throttle.wait("im", Some(ip), now), Some(Duration::minutes(15)));
        // Another source is not held back by this pair; the account alone has a far looser rule.
        assert_eq!(throttle.wait("im", Some("192.0.2.8".parse().unwrap()), now), None);
        // Forgotten after half an hour without failures.
        assert_eq!(throttle.wait("im", Some(ip), now + Duration::minutes(31)), None);
    }

    #[test]
    fn the_account_alone_is_held_back_a_minute_at_most() {
        let throttle = LoginThrottle::default();
        let now = t("2026-11-25T09:00:00Z");
        for i in 0..200u32 {
            let ip = IpAddr::from([10, 0, (i / 250) as u8, (i % 250) as u8]);
            throttle.failed("im", Some(ip), now);
        }
        let fresh: IpAddr = "192.0.2.99".parse().unwrap();
        assert_eq!(throttle.wait("im", Some(fresh), now), Some(Duration::minutes(1)));
        assert_eq!(throttle.wait("im", Some(fresh), now + Duration::minutes(1)), None);
    }

    #[test]
    fn success_forgets_the_pair() {
        let throttle = LoginThrottle::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let now = t("2026-11-25T09:00:00Z");
        for _ in 0..6 {
            throttle.failed("im", Some(ip), now);
        }
        assert!(throttle.wait("im", Some(ip), now).is_some());
        throttle.succeeded("im", Some(ip));
        assert_eq!(throttle.wait("im", Some(ip), now), None);
    }
}
