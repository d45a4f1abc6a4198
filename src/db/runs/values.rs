//! The closed sets a run's TEXT columns hold: its status, its kind and what
//! started it. Stored as the same snake_case text as before (no migration);
//! code compares these enums, never the strings.

use crate::text_enum::text_enum;

text_enum! {
    /// Where a run is in its life.
    RunStatus {
        /// Waiting for the run worker (or an inline slot).
        Queued = "queued",
        /// Claimed by a process, which holds a lease on it.
        Running = "running",
        Succeeded = "succeeded",
        Failed = "failed",
        /// A `continue_if` did not hold.
        Blocked = "blocked",
        /// Failed and due again at `next_run_at`.
        RetryScheduled = "retry_scheduled",
        /// Between two polling attempts: it holds no slot, and resumes at
        /// `next_run_at` where it stopped.
        Waiting = "waiting",
    }
}

impl RunStatus {
    /// Statuses the run worker may still claim.
    pub const OPEN: [RunStatus; 4] = [
        RunStatus::Queued,
        RunStatus::RetryScheduled,
        RunStatus::Running,
        RunStatus::Waiting,
    ];

    /// Queued, scheduled or waiting: `next_run_at` says when it runs.
    pub fn is_waiting(self) -> bool {
        matches!(
            self,
            RunStatus::Queued | RunStatus::RetryScheduled | RunStatus::Waiting
        )
    }
}

text_enum! {
    /// What a run does.
    RunKind {
        /// The manifest's `execute` items for a user.
        Execute = "execute",
        /// The `exists` check for a user.
        Exists = "exists",
        /// The `revoke` items for a user.
        Revoke = "revoke",
        /// A user sync (sync_users manifests).
        Sync = "sync",
        /// An OAuth callback's token exchange (recorded, never queued).
        Oauth = "oauth",
        /// Form option fetches (recorded, never queued).
        Form = "form",
    }
}

impl RunKind {
    /// Kinds that can be run again with the same inputs.
    pub fn can_rerun(self) -> bool {
        matches!(
            self,
            RunKind::Execute | RunKind::Revoke | RunKind::Sync | RunKind::Exists
        )
    }
}

text_enum! {
    /// What started a run.
    TriggeredBy {
        /// An API call.
        Api = "api",
        /// `POST /v1/runs/{id}/rerun`.
        Rerun = "rerun",
        /// An event an integration's `triggers` lists.
        Event = "event",
        /// A sync manifest's `schedule`.
        Schedule = "schedule",
        /// The OAuth callback.
        Oauth = "oauth",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored texts: changing one would strand the rows holding it.
    #[test]
    fn texts_are_pinned_and_round_trip() {
        let statuses: Vec<&str> = RunStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            statuses,
            [
                "queued",
                "running",
                "succeeded",
                "failed",
                "blocked",
                "retry_scheduled",
                "waiting"
            ]
        );
        let kinds: Vec<&str> = RunKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            kinds,
            ["execute", "exists", "revoke", "sync", "oauth", "form"]
        );
        let by: Vec<&str> = TriggeredBy::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(by, ["api", "rerun", "event", "schedule", "oauth"]);
        for s in RunStatus::ALL {
            assert_eq!(s.as_str().parse::<RunStatus>(), Ok(*s));
        }
        assert!("done".parse::<RunKind>().is_err());
    }
}
