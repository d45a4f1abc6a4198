//! A web hook's health as a decision: what one attempt's answer (or a
//! batch of answers) does to the web hook's state, whether it disables it,
//! and whether the delivery is worth retrying. Pure: no I/O, the clock
//! passed in. The storage layer (`db::webhooks::health`, `db::history`)
//! applies the decision; the retry decision (`delivery::worker::settle`)
//! asks it whether an answer means "gone".

use chrono::NaiveDateTime;

use crate::text_enum::text_enum;

text_enum! {
    /// A webhook's health as the API shows it: `Active` (delivering, last
    /// attempt fine), `Failing` (active, in a run of failures), `Disabled`.
    WebhookState {
        Active = "active",
        Disabled = "disabled",
        Failing = "failing",
    }
}

/// How an attempt ended, for the webhook's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
    /// 410 Gone: the receiver asks us to stop.
    Gone,
}

impl Outcome {
    /// The outcome of an answer's status (0 or `None`: no answer).
    pub fn of_status(status: Option<u16>) -> Outcome {
        match status {
            Some(200..=299) => Outcome::Succeeded,
            Some(410) => Outcome::Gone,
            _ => Outcome::Failed,
        }
    }
}

/// One outcome per webhook for a batch of attempts: the latest attempt
/// decides, except that a 410 anywhere in the batch wins (the receiver said
/// it is gone). `attempts` are `(webhook id, sent at, status)`.
pub fn latest_per_webhook<'a>(
    attempts: impl IntoIterator<Item = (&'a str, NaiveDateTime, Option<u16>)>,
) -> Vec<(&'a str, NaiveDateTime, Outcome)> {
    let mut latest: Vec<(&str, NaiveDateTime, Outcome)> = Vec::new();
    for (id, at, status) in attempts {
        let outcome = Outcome::of_status(status);
        match latest.iter_mut().find(|(w, _, _)| *w == id) {
            Some(entry) if entry.2 == Outcome::Gone => {}
            Some(entry) if outcome == Outcome::Gone || entry.1 <= at => *entry = (id, at, outcome),
            Some(_) => {}
            None => latest.push((id, at, outcome)),
        }
    }
    latest
}

/// What the storage layer knows of a webhook before the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    /// Enabled (not disabled by an operator or by hookrelay).
    pub active: bool,
    pub state: WebhookState,
    /// Start of the current run of failures.
    pub failing_since: Option<NaiveDateTime>,
}

/// What to store after the attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The new state (an inactive webhook keeps its own).
    pub state: WebhookState,
    pub failing_since: Option<NaiveDateTime>,
    /// Disable the webhook, for this reason.
    pub disable: Option<String>,
}

/// The decision: a success ends a run of failures; a failure starts or
/// continues one and, once it has lasted `disable_after`, disables the
/// webhook; 410 Gone disables it at once. Only an active webhook is
/// disabled (an operator's disabling stands as it is).
pub fn decide(
    current: Health,
    outcome: Outcome,
    at: NaiveDateTime,
    disable_after: chrono::Duration,
) -> Verdict {
    let keep_or = |state| if current.active { state } else { current.state };
    if outcome == Outcome::Succeeded {
        return Verdict {
            state: keep_or(WebhookState::Active),
            failing_since: None,
            disable: None,
        };
    }
    let since = current.failing_since.unwrap_or(at);
    let reason = match outcome {
        Outcome::Gone => Some("receiver answered 410 Gone".to_string()),
        _ if at - since >= disable_after => Some(format!(
            "every attempt failed since {} ({} without a success)",
            since
                .and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            humantime::format_duration((at - since).to_std().unwrap_or_default())
        )),
        _ => None,
    };
    Verdict {
        state: keep_or(WebhookState::Failing),
        failing_since: Some(since),
        disable: reason.filter(|_| current.active),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0)
            .unwrap()
            .naive_utc()
    }

    const DAY: i64 = 86_400;

    fn health(active: bool, state: WebhookState, since: Option<i64>) -> Health {
        Health {
            active,
            state,
            failing_since: since.map(at),
        }
    }

    fn days(n: i64) -> chrono::Duration {
        chrono::Duration::days(n)
    }

    #[test]
    fn statuses_map_to_outcomes() {
        assert_eq!(Outcome::of_status(Some(204)), Outcome::Succeeded);
        assert_eq!(Outcome::of_status(Some(410)), Outcome::Gone);
        for s in [Some(301), Some(404), Some(500), Some(0), None] {
            assert_eq!(Outcome::of_status(s), Outcome::Failed, "{s:?}");
        }
    }

    #[test]
    fn a_success_ends_a_run_of_failures() {
        let v = decide(
            health(true, WebhookState::Failing, Some(0)),
            Outcome::Succeeded,
            at(DAY),
            days(3),
        );
        assert_eq!(v.state, WebhookState::Active);
        assert_eq!((v.failing_since, v.disable), (None, None));
    }

    #[test]
    fn failures_disable_only_after_the_period() {
        let first = decide(
            health(true, WebhookState::Active, None),
            Outcome::Failed,
            at(5),
            days(3),
        );
        assert_eq!(first.state, WebhookState::Failing);
        assert_eq!(first.failing_since, Some(at(5)));
        assert_eq!(first.disable, None);
        let before = decide(
            health(true, WebhookState::Failing, Some(0)),
            Outcome::Failed,
            at(3 * DAY - 1),
            days(3),
        );
        assert_eq!(before.disable, None);
        let after = decide(
            health(true, WebhookState::Failing, Some(0)),
            Outcome::Failed,
            at(3 * DAY),
            days(3),
        );
        assert_eq!(after.failing_since, Some(at(0)), "the run keeps its start");
        let reason = after.disable.unwrap();
        assert!(
            reason.starts_with("every attempt failed since "),
            "{reason}"
        );
        assert!(reason.ends_with("(3days without a success)"), "{reason}");
    }

    #[test]
    fn gone_disables_at_once() {
        let v = decide(
            health(true, WebhookState::Active, None),
            Outcome::Gone,
            at(0),
            days(3),
        );
        assert_eq!(v.disable.as_deref(), Some("receiver answered 410 Gone"));
    }

    #[test]
    fn an_inactive_webhook_keeps_its_state_and_is_not_disabled_again() {
        for outcome in [Outcome::Succeeded, Outcome::Failed, Outcome::Gone] {
            let v = decide(
                health(false, WebhookState::Disabled, Some(0)),
                outcome,
                at(10 * DAY),
                days(3),
            );
            assert_eq!(v.state, WebhookState::Disabled, "{outcome:?}");
            assert_eq!(v.disable, None, "{outcome:?}");
        }
    }

    #[test]
    fn in_a_batch_the_latest_decides_but_gone_wins() {
        let got = latest_per_webhook([
            ("a", at(1), Some(500)),
            ("b", at(1), Some(200)),
            ("a", at(3), Some(200)),
            ("b", at(2), Some(410)),
            ("b", at(4), Some(200)),
            ("a", at(2), Some(503)),
        ]);
        assert_eq!(
            got,
            vec![
                ("a", at(3), Outcome::Succeeded),
                ("b", at(2), Outcome::Gone)
            ]
        );
    }
}
