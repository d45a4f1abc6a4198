//! Per-organization limits (issue #18): how many web hooks and tokens one
//! organization may have, and how fast it may publish, so one noisy tenant
//! cannot starve the rest.

use clap::Args;

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
}

impl OrgLimits {
    /// Checks values that clap cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_webhooks_per_org < 0 || self.max_tokens_per_org < 0 {
            return Err(
                "HOOKRELAY_MAX_WEBHOOKS_PER_ORG and HOOKRELAY_MAX_TOKENS_PER_ORG must be 0 or more"
                    .into(),
            );
        }
        if self.publish_rate_per_org > 0
            && (self.publish_burst_per_org as usize) < crate::publish::MAX_BATCH
        {
            return Err(format!(
                "HOOKRELAY_PUBLISH_BURST_PER_ORG must be at least {} (one full batch)",
                crate::publish::MAX_BATCH
            ));
        }
        Ok(())
    }

    /// The web hook limit, if any.
    pub fn webhooks(&self) -> Option<i64> {
        (self.max_webhooks_per_org > 0).then_some(self.max_webhooks_per_org)
    }

    /// The token limit, if any.
    pub fn tokens(&self) -> Option<i64> {
        (self.max_tokens_per_org > 0).then_some(self.max_tokens_per_org)
    }
}
