//! Timestamps as state files hold them. The Python GeuseMaker writes both
//! RFC 3339 (`...Z`) and naive UTC (`datetime.utcnow()`, no offset); both read.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    pub fn from_unix_millis(ms: i64) -> Self {
        Self(DateTime::from_timestamp_millis(ms).unwrap_or_default())
    }

    pub fn unix_millis(self) -> i64 {
        self.0.timestamp_millis()
    }

    /// Seconds from `self` to `later`, never negative (clocks of two processes can disagree).
    pub fn secs_until(self, later: Timestamp) -> f64 {
        ((later.0 - self.0).num_milliseconds().max(0)) as f64 / 1000.0
    }

    pub fn plus_secs(self, secs: f64) -> Self {
        Self(self.0 + chrono::Duration::milliseconds((secs * 1000.0).round() as i64))
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Self(t)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("not a timestamp: {0:?}")]
pub struct BadTimestamp(String);

impl FromStr for Timestamp {
    type Err = BadTimestamp;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_utc(s)
            // RFC 3339 years have four digits: a time outside them (year
            // 10000, or 0000 with an offset) would be written back unreadable.
            .filter(|t| (0..=9999).contains(&t.year()))
            .map(Self)
            .ok_or_else(|| BadTimestamp(s.to_string()))
    }
}

fn parse_utc(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .into_iter()
        .find_map(|fmt| NaiveDateTime::parse_from_str(s, fmt).ok())
        .map(|t| t.and_utc())
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// "1.2s", "41.0s", "2:05", "1:02:05": compact durations for the pipeline.
pub fn format_elapsed(secs: f64) -> String {
    if secs < 60.0 {
        return format!("{secs:.1}s");
    }
    let total = secs.round() as u64;
    let (h, m, s) = (total / 3600, (total / 60) % 60, total % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// "3s ago", "5m ago", "2h ago", "4d ago".
pub fn format_age(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    match s {
        0..60 => format!("{s}s ago"),
        60..3600 => format!("{}m ago", s / 60),
        3600..86400 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rfc3339_and_naive_python_times() {
        let z: Timestamp = "2026-07-01T10:30:00Z".parse().unwrap();
        let naive: Timestamp = "2026-07-01T10:30:00.000000".parse().unwrap();
        let offset: Timestamp = "2026-07-01T12:30:00+02:00".parse().unwrap();
        assert_eq!(z, naive);
        assert_eq!(z, offset);
        assert!("yesterday".parse::<Timestamp>().is_err());
    }

    /// Found by the state's property tests: these read, but were written
    /// back as `+10000-01-01T00:00:00Z` and `-0001-12-31T23:00:00Z`, which
    /// do not (and a state file holding one was quarantined on its next load).
    #[test]
    fn times_rfc3339_cannot_write_are_refused() {
        for text in [
            "+10000-01-01T00:00:00",
            "-0001-01-01 00:00:00",
            "0000-01-01T00:00:00+01:00",
            "9999-12-31T23:30:00-01:00",
        ] {
            assert!(text.parse::<Timestamp>().is_err(), "{text}");
        }
        for text in ["0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z"] {
            let t: Timestamp = text.parse().unwrap();
            assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
        }
    }

    #[test]
    fn writes_utc_with_z() {
        let t: Timestamp = "2026-07-01T10:30:00.5Z".parse().unwrap();
        assert_eq!(t.to_string(), "2026-07-01T10:30:00.500Z");
    }

    #[test]
    fn formats_durations_compactly() {
        assert_eq!(format_elapsed(0.14), "0.1s");
        assert_eq!(format_elapsed(41.0), "41.0s");
        assert_eq!(format_elapsed(125.0), "2:05");
        assert_eq!(format_elapsed(3725.0), "1:02:05");
        assert_eq!(format_age(59.0), "59s ago");
        assert_eq!(format_age(7200.0), "2h ago");
    }
}

/// Where the current time comes from. `update()` never asks: time reaches it
/// in messages. Tasks ask a `Clock`, so tests can run on tokio's paused clock.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// The wall clock, to the millisecond (what state files record).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(Utc::now().timestamp_millis())
    }
}

/// A clock that starts at `base` and advances with tokio's clock, so a test
/// with `start_paused` sees time pass exactly as its sleeps say.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    base: Timestamp,
    start: tokio::time::Instant,
}

impl TokioClock {
    pub fn starting_at(base: Timestamp) -> Self {
        Self {
            base,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        self.base.plus_secs(self.start.elapsed().as_secs_f64())
    }
}
