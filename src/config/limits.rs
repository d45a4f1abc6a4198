//! Per-organization limits (issues #18 and #25): how many web hooks,
//! tokens, custom event types, people, integrations, queued runs and
//! pending OAuth states one organization may have, and how fast it may
//! publish and send notifications, so one noisy tenant cannot starve or
//! exhaust the rest.

use clap::Args;

/// Most events in one batch publish (`POST /v1/events/batch`). Here, with
/// the limits, because the publish burst must hold a full batch.
pub const MAX_BATCH: usize = 1000;

/// Limits each organization is held to. `0` turns a limit off.
#[derive(Clone, Debug, Args)]
pub struct OrgLimits {
    /// Most web hooks one organization may have (`0`: no limit).
    #[arg(long, env = "HOOKRELAY_MAX_WEBHOOKS_PER_ORG", default_value_t = 500)]
    pub max_webhooks_per_org: i64,

    /// Most access tokens one organization may have (`0`: no limit).
    #[arg(long, env = "HOOKRELAY_MAX_TOKENS_PER_ORG", default_value_t = 100)]
    pub max_tokens_per_org: i64,

    /// Events per second one organization may publish, per process (a token
    /// bucket in memory: with N API processes the effective rate is N times
    /// this). `0`: no limit.
    #[arg(long, env = "HOOKRELAY_PUBLISH_RATE_PER_ORG", default_value_t = 1000)]
    pub publish_rate_per_org: u32,

    /// Events one organization may publish at once above its rate (the
    /// bucket's size); at least a full batch (1,000 events).
    #[arg(
        long,
        env = "HOOKRELAY_PUBLISH_BURST_PER_ORG",
        default_value_t = 10_000
    )]
    pub publish_burst_per_org: u32,

    /// Most custom event types one organization may add (the built-in ones
    /// do not count; `0`: no limit).
    #[arg(long, env = "HOOKRELAY_MAX_EVENT_TYPES_PER_ORG", default_value_t = 200)]
    pub max_event_types_per_org: i64,

    /// Most people (`/v1/users`, user sync included) one organization may
    /// have (`0`: no limit).
    #[arg(long, env = "HOOKRELAY_MAX_USERS_PER_ORG", default_value_t = 100_000)]
    pub max_users_per_org: i64,

    /// Most integrations one organization may have (`0`: no limit).
    #[arg(
        long,
        env = "HOOKRELAY_MAX_INTEGRATIONS_PER_ORG",
        default_value_t = 100
    )]
    pub max_integrations_per_org: i64,

    /// Most runs one organization may have waiting (queued or scheduled
    /// for a retry); more are refused with 429 (`0`: no limit).
    #[arg(
        long,
        env = "HOOKRELAY_MAX_QUEUED_RUNS_PER_ORG",
        default_value_t = 1000
    )]
    pub max_queued_runs_per_org: i64,

    /// Most OAuth authorizations one organization may have started and
    /// not finished (unexpired `state`s; `0`: no limit).
    #[arg(
        long,
        env = "HOOKRELAY_MAX_OAUTH_STATES_PER_ORG",
        default_value_t = 100
    )]
    pub max_oauth_states_per_org: i64,

    /// Most live customer portal links (neither expired nor revoked) one
    /// organization may have (`0`: no limit).
    #[arg(
        long,
        env = "HOOKRELAY_MAX_PORTAL_SESSIONS_PER_ORG",
        default_value_t = 1000
    )]
    pub max_portal_sessions_per_org: i64,

    /// Emails and text messages one organization's manifests may send per
    /// minute, per process (a token bucket in memory, like the publish
    /// rate); `0`: no limit.
    #[arg(
        long,
        env = "HOOKRELAY_NOTIFICATIONS_PER_MINUTE_PER_ORG",
        default_value_t = 60
    )]
    pub notifications_per_minute_per_org: u32,
}

impl OrgLimits {
    /// Checks values that clap cannot.
    pub fn validate(&self) -> Result<(), String> {
        for (value, name) in [
            (self.max_webhooks_per_org, "HOOKRELAY_MAX_WEBHOOKS_PER_ORG"),
            (self.max_tokens_per_org, "HOOKRELAY_MAX_TOKENS_PER_ORG"),
            (
                self.max_event_types_per_org,
                "HOOKRELAY_MAX_EVENT_TYPES_PER_ORG",
            ),
            (self.max_users_per_org, "HOOKRELAY_MAX_USERS_PER_ORG"),
            (
                self.max_integrations_per_org,
                "HOOKRELAY_MAX_INTEGRATIONS_PER_ORG",
            ),
            (
                self.max_queued_runs_per_org,
                "HOOKRELAY_MAX_QUEUED_RUNS_PER_ORG",
            ),
            (
                self.max_oauth_states_per_org,
                "HOOKRELAY_MAX_OAUTH_STATES_PER_ORG",
            ),
        ] {
            if value < 0 {
                return Err(format!("{name} must be 0 or more"));
            }
        }
        if self.publish_rate_per_org > 0 && (self.publish_burst_per_org as usize) < MAX_BATCH {
            return Err(format!(
                "HOOKRELAY_PUBLISH_BURST_PER_ORG must be at least {} (one full batch)",
                MAX_BATCH
            ));
        }
        Ok(())
    }

    /// The web hook limit, if any.
    pub fn webhooks(&self) -> Option<i64> {
        on(self.max_webhooks_per_org)
    }

    /// The token limit, if any.
    pub fn tokens(&self) -> Option<i64> {
        on(self.max_tokens_per_org)
    }

    /// The custom event type limit, if any.
    pub fn event_types(&self) -> Option<Limit> {
        Limit::of(
            self.max_event_types_per_org,
            "custom event types",
            "HOOKRELAY_MAX_EVENT_TYPES_PER_ORG",
        )
    }

    /// The live portal link limit, if any.
    pub fn portal_sessions(&self) -> Option<Limit> {
        Limit::of(
            self.max_portal_sessions_per_org,
            "live portal links",
            "HOOKRELAY_MAX_PORTAL_SESSIONS_PER_ORG",
        )
        .map(|l| l.until("revoke one (DELETE /v1/portal/sessions/{id}) or wait for one to expire"))
    }

    /// The people limit, if any.
    pub fn users(&self) -> Option<Limit> {
        Limit::of(
            self.max_users_per_org,
            "people",
            "HOOKRELAY_MAX_USERS_PER_ORG",
        )
    }

    /// The integration limit, if any.
    pub fn integrations(&self) -> Option<Limit> {
        Limit::of(
            self.max_integrations_per_org,
            "integrations",
            "HOOKRELAY_MAX_INTEGRATIONS_PER_ORG",
        )
    }

    /// The waiting-runs limit, if any.
    pub fn queued_runs(&self) -> Option<Limit> {
        Limit::of(
            self.max_queued_runs_per_org,
            "runs waiting",
            "HOOKRELAY_MAX_QUEUED_RUNS_PER_ORG",
        )
        .map(|l| l.until("retry once some have run"))
    }

    /// The pending OAuth authorization limit, if any.
    pub fn oauth_states(&self) -> Option<Limit> {
        Limit::of(
            self.max_oauth_states_per_org,
            "OAuth authorizations in progress",
            "HOOKRELAY_MAX_OAUTH_STATES_PER_ORG",
        )
        .map(|l| l.until("finish one, or retry once they expire (15 minutes after they start)"))
    }
}

fn on(max: i64) -> Option<i64> {
    (max > 0).then_some(max)
}

/// One count limit, with what it counts and the setting that raises it, so
/// a service checks it and words its error in one call.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub max: i64,
    /// What is counted, plural (`"integrations"`).
    pub what: &'static str,
    /// The environment variable that sets it.
    pub variable: &'static str,
    /// What makes room again.
    pub remedy: &'static str,
}

impl Limit {
    fn of(max: i64, what: &'static str, variable: &'static str) -> Option<Limit> {
        on(max).map(|max| Limit {
            max,
            what,
            variable,
            remedy: "delete one first",
        })
    }

    fn until(mut self, remedy: &'static str) -> Limit {
        self.remedy = remedy;
        self
    }

    /// `Ok` while `count` (the organization's current number) leaves room
    /// for one more, else 409 `limit_reached`. Call it in the insert's
    /// transaction: on SQLite (one writer) the limit is then exact; on
    /// PostgreSQL concurrent inserts may pass it by their number, which is
    /// fine for a quota.
    pub fn check(&self, count: i64) -> crate::error::Result<()> {
        if count >= self.max {
            return Err(crate::error::Error::conflict(
                crate::error::ErrorCode::LimitReached,
                format!(
                    "this organization already has {} {}, the most allowed ({}); {}",
                    self.max, self.what, self.variable, self.remedy
                ),
            ));
        }
        Ok(())
    }
}
