//! Timestamps: stored as UTC `TIMESTAMP` (no zone) on both backends, with
//! microsecond precision so SQLite and PostgreSQL round-trip the same value.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Timelike, Utc};

/// Now, truncated to microseconds.
pub fn now() -> NaiveDateTime {
    let n = Utc::now().naive_utc();
    n.with_nanosecond(n.nanosecond() / 1000 * 1000).unwrap_or(n)
}

/// RFC 3339 UTC text for the API (`2026-11-23T19:20:51.123456Z`).
pub fn rfc3339(t: &NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Same as [`rfc3339`] for optional values.
pub fn rfc3339_opt(t: &Option<NaiveDateTime>) -> Option<String> {
    t.as_ref().map(rfc3339)
}

/// Parses an RFC 3339 query parameter into stored form.
pub fn parse_rfc3339(s: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc).naive_utc())
}
