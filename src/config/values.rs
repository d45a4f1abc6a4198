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

/// `HOOKRELAY_CITUS`: lay the PostgreSQL tables out for Citus
/// (docs/operations.md, "Past one database").
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Citus {
    /// When the `citus` extension is installed in the database.
    Auto,
    /// Always; start-up fails without the extension.
    True,
    /// Never.
    False,
}

impl Citus {
    /// The database layer's mode.
    pub fn mode(self) -> crate::db::citus::Mode {
        match self {
            Citus::Auto => crate::db::citus::Mode::Auto,
            Citus::True => crate::db::citus::Mode::On,
            Citus::False => crate::db::citus::Mode::Off,
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

/// `HOOKRELAY_PORTAL_FRAME_ANCESTORS`: the origins that may frame the
/// customer portal, each `scheme://host[:port]` (the host may start with
/// `*.`), as CSP `frame-ancestors` takes them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FrameAncestors(pub Vec<String>);

impl FrameAncestors {
    /// The CSP source list: the origins, or `'none'` without any.
    pub fn csp(&self) -> String {
        if self.0.is_empty() {
            "'none'".to_string()
        } else {
            self.0.join(" ")
        }
    }
}

/// Origins separated by spaces or commas. Anything but an http(s) origin
/// is refused at start-up rather than written into a header, where a
/// stray `;` or quote would change the policy.
pub(super) fn parse_frame_ancestors(list: &str) -> Result<FrameAncestors, String> {
    list.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let origin = s.trim_end_matches('/');
            let host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .ok_or_else(|| {
                    format!("'{s}' is not an origin: write it as https://host[:port]")
                })?;
            let plain = host.strip_prefix("*.").unwrap_or(host);
            let ok = !plain.is_empty()
                && plain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
            if ok {
                Ok(origin.to_string())
            } else {
                Err(format!(
                    "'{s}' is not an origin: write it as https://host[:port], without a path"
                ))
            }
        })
        .collect::<Result<_, _>>()
        .map(FrameAncestors)
}

#[cfg(test)]
mod frame_ancestor_tests {
    use super::*;

    #[test]
    fn origins_are_kept_and_anything_else_refused() {
        let list = parse_frame_ancestors(
            "https://app.example.com, http://localhost:8080 https://*.acme.io/",
        )
        .unwrap();
        assert_eq!(
            list.csp(),
            "https://app.example.com http://localhost:8080 https://*.acme.io"
        );
        assert_eq!(parse_frame_ancestors("").unwrap().csp(), "'none'");
        for bad in [
            "app.example.com",
            "https://a.com/path",
            "https://a.com;script-src *",
            "'self'",
            "https://",
        ] {
            assert!(parse_frame_ancestors(bad).is_err(), "{bad}");
        }
    }
}
