//! Sync-users manifests: fetching user records (with pagination) and the
//! cron schedule they run on.

use croner::Cron;

/// Parses a schedule: 5-field cron (minute first), or 6 fields with
/// seconds, evaluated in UTC.
pub fn parse_schedule(expr: &str) -> Result<Cron, String> {
    Cron::new(expr.trim())
        .with_seconds_optional()
        .parse()
        .map_err(|e| format!("is not a cron expression such as \"0 * * * *\" ({e})"))
}
