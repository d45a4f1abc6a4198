//! Typed configuration values, parsed once at load by clap.

use std::time::Duration;

use clap::ValueEnum;

/// `HOOKRELAY_ROLE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// The API, delivery and integration runs.
    All,
    /// The API only; other processes deliver what it records.
    Api,
}

/// `HOOKRELAY_LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `HOOKRELAY_SQLITE_SYNCHRONOUS`: NORMAL survives a process crash, FULL
/// and EXTRA also a power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Synchronous {
    Normal,
    Full,
    Extra,
}

impl Synchronous {
    /// The value of `PRAGMA synchronous`.
    pub fn pragma(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
            Synchronous::Extra => "EXTRA",
        }
    }
}

/// A retry schedule: the delays after each failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule(pub Vec<Duration>);

/// CIDRs that deliveries may reach although private.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cidrs(pub Vec<ipnet::IpNet>);

/// A comma-separated list of durations (`5s,5m,1h`).
pub(super) fn parse_schedule(list: &str) -> Result<Schedule, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse_duration(s).map_err(|e| format!("'{s}': {e}")))
        .collect::<Result<_, _>>()
        .map(Schedule)
}

/// One duration (`5d`, `90s`, `1h 30m`).
pub(super) fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("not a duration such as \"30s\", \"5m\" or \"2h\" ({e})"))
}

/// A comma-separated list of CIDRs (`10.1.0.0/16,fd00::/8`).
pub(super) fn parse_cidrs(list: &str) -> Result<Cidrs, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|e| format!("'{s}' is not a CIDR ({e})")))
        .collect::<Result<_, _>>()
        .map(Cidrs)
}
