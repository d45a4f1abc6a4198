//! `Debug` for [`Config`], written by hand: it redacts every secret
//! (tokens, master keys, passwords inside URLs).

use super::Config;

/// What `Debug` shows of a secret: whether it is set, never its value.
fn redacted(secret: &Option<String>) -> &'static str {
    match secret {
        Some(_) => "Some(<redacted>)",
        None => "None",
    }
}

/// A URL with its password (if any) replaced, for `Debug`.
fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("redacted"));
            u.to_string()
        }
        Ok(_) => url.to_string(),
        Err(_) => "<unparsed>".to_string(),
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let previous = if self.previous_master_keys.trim().is_empty() {
            "none"
        } else {
            "<redacted>"
        };
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("database_url", &without_password(&self.database_url))
            .field(
                "bootstrap_token",
                &format_args!("{}", redacted(&self.bootstrap_token)),
            )
            .field(
                "master_key",
                &format_args!("{}", redacted(&self.master_key)),
            )
            .field("master_key_file", &self.master_key_file)
            .field("previous_master_keys", &format_args!("{previous}"))
            .field("workers", &self.workers)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("allow_private_targets", &self.allow_private_targets)
            .field("allowed_cidrs", &self.allowed_cidrs)
            .field("require_https", &self.require_https)
            .field("db_pool_size", &self.db_pool_size)
            .field("sqlite_synchronous", &self.sqlite_synchronous)
            .field("citus", &self.citus)
            .field("poll_interval_ms", &self.poll_interval_ms)
            .field("claim_batch", &self.claim_batch)
            .field("retry_schedule", &self.retry_schedule)
            .field("disable_after", &self.disable_after)
            .field("max_in_flight_per_webhook", &self.max_in_flight_per_webhook)
            .field("instance_id", &self.instance_id)
            .field("role", &self.role)
            .field("public_url", &self.public_url)
            .field("portal_frame_ancestors", &self.portal_frame_ancestors.0)
            .field(
                "integration_retry_schedule",
                &self.integration_retry_schedule,
            )
            .field("smtp_url", &self.smtp_url.as_deref().map(without_password))
            .field("smtp_from", &self.smtp_from)
            .field("sms_url", &self.sms_url)
            .field("sms_token", &format_args!("{}", redacted(&self.sms_token)))
            .field(
                "metrics_token",
                &format_args!("{}", redacted(&self.metrics_token)),
            )
            .field("log_format", &self.log_format)
            .field("shutdown_grace_secs", &self.shutdown_grace_secs)
            .field("limits", &self.limits)
            .field("runs", &self.runs)
            .field("retention_days", &self.retention_days)
            .finish()
    }
}
