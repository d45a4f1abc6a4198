//! How a process runs integrations (issue 25, items 1 and 2): its run
//! slots, the share of them one organization may hold, and what one run
//! may read and keep.

use clap::Args;

/// The run worker's slots and a run's memory bounds.
#[derive(Clone, Debug, Args)]
pub struct RunLimits {
    /// Integration runs the run worker executes at once in this process.
    #[arg(long, env = "HOOKRELAY_RUN_SLOTS", default_value_t = 8)]
    pub run_slots: usize,

    /// Most of this process's run slots one organization holds, so that
    /// the others stay free for other organizations' runs (`0`: no cap).
    #[arg(long, env = "HOOKRELAY_RUN_SLOTS_PER_ORG", default_value_t = 6)]
    pub run_slots_per_org: usize,

    /// Bytes of one response an integration run reads at most; a larger
    /// response fails its step.
    #[arg(
        long,
        env = "HOOKRELAY_RUN_MAX_RESPONSE_BYTES",
        default_value_t = 20 * 1024 * 1024
    )]
    pub run_max_response_bytes: usize,

    /// Bytes one integration run keeps at most until it ends: parsed
    /// responses, saved files, a sync's records and its step log.
    #[arg(
        long,
        env = "HOOKRELAY_RUN_MAX_KEPT_BYTES",
        default_value_t = 32 * 1024 * 1024
    )]
    pub run_max_kept_bytes: usize,
}

impl RunLimits {
    /// Checks values that clap cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.run_slots == 0 {
            return Err("HOOKRELAY_RUN_SLOTS must be at least 1".into());
        }
        if self.run_max_response_bytes < 1024 || self.run_max_kept_bytes < 1024 {
            return Err(
                "HOOKRELAY_RUN_MAX_RESPONSE_BYTES and HOOKRELAY_RUN_MAX_KEPT_BYTES must be at least 1024"
                    .into(),
            );
        }
        Ok(())
    }

    /// The per-organization cap, if any (a cap of all slots is none).
    pub fn per_org(&self) -> Option<usize> {
        (self.run_slots_per_org > 0 && self.run_slots_per_org < self.run_slots)
            .then_some(self.run_slots_per_org)
    }
}
