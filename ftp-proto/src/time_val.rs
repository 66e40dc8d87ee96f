//! RFC 3659 §2.3: the time-val of MDTM replies and of the `modify` fact, `YYYYMMDDHHMMSS[.sss]`.
//!
//! Always UTC ("Coordinated Universal Time", §2.3), never local time: the client converts. The
//! fraction of a second is optional and may have any number of digits; servers that send one
//! usually send milliseconds.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A moment in UTC, to the second (and milliseconds when the server sent a fraction).
///
/// ```
/// use ftp_proto::TimeVal;
/// let t = TimeVal::parse("20261125120000").unwrap();
/// assert_eq!((t.year, t.month, t.day, t.hour), (2026, 11, 25, 12));
/// assert_eq!(t.to_string(), "20261125120000");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeVal {
    /// Year, 0 to 9999.
    pub year: u16,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day of the month, 1 to 31.
    pub day: u8,
    /// Hour, 0 to 23.
    pub hour: u8,
    /// Minute, 0 to 59.
    pub minute: u8,
    /// Second, 0 to 60 (60 is a leap second).
    pub second: u8,
    /// Milliseconds (0 to 999) when the text had a fraction; written as `.sss`.
    pub millis: Option<u16>,
}

/// A time-val that does not have the form `YYYYMMDDHHMMSS[.s…]` or names no possible time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3659 time-val (YYYYMMDDHHMMSS[.sss]): {text:?}")]
pub struct TimeValError {
    /// The text that was given.
    pub text: String,
}

impl TimeVal {
    /// Parses a time-val; surrounding spaces are ignored. Fraction digits past the third are
    /// dropped (the value is truncated to milliseconds).
    pub fn parse(text: &str) -> Result<TimeVal, TimeValError> {
        let bad = || TimeValError {
            text: text.to_owned(),
        };
        let trimmed = text.trim();
        let (whole, fraction) = match trimmed.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (trimmed, None),
        };
        if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let number =
            |range: std::ops::Range<usize>| -> Option<u16> { whole.get(range)?.parse().ok() };
        let small = |range| number(range).and_then(|n| u8::try_from(n).ok());
        let millis = match fraction {
            None => None,
            Some(digits) => {
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                // ".5" is 500 ms, ".05" 50 ms: pad to three digits, drop the rest.
                let padded: String = digits.chars().chain("00".chars()).take(3).collect();
                Some(padded.parse().map_err(|_| bad())?)
            }
        };
        let t = TimeVal {
            year: number(0..4).ok_or_else(bad)?,
            month: small(4..6).ok_or_else(bad)?,
            day: small(6..8).ok_or_else(bad)?,
            hour: small(8..10).ok_or_else(bad)?,
            minute: small(10..12).ok_or_else(bad)?,
            second: small(12..14).ok_or_else(bad)?,
            millis,
        };
        let valid = (1..=12).contains(&t.month)
            && (1..=31).contains(&t.day)
            && t.hour <= 23
            && t.minute <= 59
            && t.second <= 60;
        if valid { Ok(t) } else { Err(bad()) }
    }

    /// The time-val of a file's modification time, to the second (no fraction), as `ftp-server`
    /// writes it. Times outside the years 0000–9999 are clamped to the nearest end.
    pub fn from_system_time(t: SystemTime) -> TimeVal {
        // Seconds since the epoch, rounded down (a time before 1970 is negative).
        let seconds: i64 = match t.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            Err(before) => {
                let d = before.duration();
                let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                -whole - i64::from(d.subsec_nanos() > 0)
            }
        };
        // 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
        const FIRST: i64 = -62_167_219_200;
        const LAST: i64 = 253_402_300_799;
        let seconds = seconds.clamp(FIRST, LAST);
        let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        // Every value is in range after the clamp: of_day < 86400, year 0..=9999.
        let narrow = |n: i64| u8::try_from(n).unwrap_or(u8::MAX);
        TimeVal {
            year: u16::try_from(year).unwrap_or(0),
            month: narrow(month),
            day: narrow(day),
            hour: narrow(of_day / 3600),
            minute: narrow(of_day % 3600 / 60),
            second: narrow(of_day % 60),
            millis: None,
        }
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`, chrono-compatible algorithms).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for TimeVal {
    /// `YYYYMMDDHHMMSS`, then `.sss` when there are milliseconds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        match self.millis {
            Some(ms) => write!(f, ".{ms:03}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    /// What `ftp-server` wrote before this type existed (server/src/listing.rs `time_val`).
    fn server_time_val(t: SystemTime) -> String {
        let t = time::OffsetDateTime::from(t);
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }

    #[test]
    fn fractions_are_milliseconds() {
        let t = TimeVal::parse("20261125120000.123").unwrap();
        assert_eq!(t.millis, Some(123));
        assert_eq!(t.to_string(), "20261125120000.123");
        assert_eq!(
            TimeVal::parse("20261125120000.5").unwrap().millis,
            Some(500)
        );
        assert_eq!(
            TimeVal::parse("20261125120000.05").unwrap().millis,
            Some(50)
        );
        assert_eq!(
            TimeVal::parse("20261125120000.98765").unwrap().millis,
            Some(987)
        );
    }

    #[test]
    fn spaces_around_are_ignored() {
        assert_eq!(
            TimeVal::parse(" 19700101000000 \r\n").unwrap().to_string(),
            "19700101000000"
        );
    }

    #[test]
    fn malformed_time_vals_are_errors() {
        for text in [
            "",
            "2026",
            "2026112512000",
            "202611251200000",
            "2026-11-25 12:00",
            "20261325120000",
            "20261100120000",
            "20261125240000",
            "20261125126000",
            "20261125120061",
            "20261125120000.",
            "20261125120000.x",
            "20261125120000.1.2",
            "２０２６1125120000",
            "+2026112512000",
        ] {
            assert!(TimeVal::parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn system_times_are_written_like_the_server() {
        for seconds in [0u64, 1, 86_399, 951_782_400, 1_764_072_000, 4_102_444_800] {
            let t = UNIX_EPOCH + Duration::from_secs(seconds);
            assert_eq!(TimeVal::from_system_time(t).to_string(), server_time_val(t));
        }
        let before = UNIX_EPOCH - Duration::from_millis(1500);
        assert_eq!(
            TimeVal::from_system_time(before).to_string(),
            "19691231235958"
        );
        assert_eq!(server_time_val(before), "19691231235958");
    }

    fn time_val() -> impl Strategy<Value = TimeVal> {
        (
            0u16..=9999,
            1u8..=12,
            1u8..=31,
            0u8..=23,
            0u8..=59,
            0u8..=60,
            proptest::option::of(0u16..=999),
        )
            .prop_map(|(year, month, day, hour, minute, second, millis)| TimeVal {
                year,
                month,
                day,
                hour,
                minute,
                second,
                millis,
            })
    }

    proptest! {
        #[test]
        fn parse_of_display_is_identity(t in time_val()) {
            prop_assert_eq!(TimeVal::parse(&t.to_string()), Ok(t));
        }

        #[test]
        fn from_system_time_matches_the_server(
            seconds in -62_135_596_800i64..253_402_300_799,
            nanos in 0u32..1_000_000_000,
        ) {
            let t = if seconds >= 0 {
                UNIX_EPOCH + Duration::new(seconds.unsigned_abs(), nanos)
            } else {
                UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs()) + Duration::from_nanos(u64::from(nanos))
            };
            prop_assert_eq!(TimeVal::from_system_time(t).to_string(), server_time_val(t));
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,30}") {
            let _ = TimeVal::parse(&text);
        }
    }
}
