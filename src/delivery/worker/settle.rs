//! The delivery state after an attempt. Pure: no I/O, the clock passed in.

use chrono::NaiveDateTime;

use crate::db::deliveries::DeliveryStatus;
use crate::delivery::send::Exchange;
use crate::health::Outcome as Answer;
use crate::outbound::RetryPolicy;

/// What to store for the deliveries of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// `Succeeded`, `Failed` (to retry) or `Dead`.
    pub status: DeliveryStatus,
    /// When to try again (for `Failed`); otherwise when it ended.
    pub next_attempt_at: NaiveDateTime,
    pub error: Option<String>,
}

/// The state after attempt `attempt` (1-based) ended as `ex`: 2xx succeeds;
/// 410 Gone is final; otherwise the webhook's own schedule (its
/// `retry_schedule`, else `default`) gives the next try, or none is left.
pub fn settle(
    retry_schedule: Option<&str>,
    ex: &Exchange,
    attempt: u32,
    default: &RetryPolicy,
    now: NaiveDateTime,
) -> Outcome {
    let ended = |status, error| Outcome {
        status,
        next_attempt_at: ex.sent_at,
        error,
    };
    if ex.succeeded() {
        return ended(DeliveryStatus::Succeeded, None);
    }
    let error = ex
        .error
        .clone()
        .unwrap_or_else(|| format!("receiver answered HTTP {}", ex.status.unwrap_or(0)));
    // The web hook's health decides what an answer means (410: gone).
    if Answer::of_status(ex.status) == Answer::Gone {
        let why = format!("{error}; the webhook is disabled");
        return ended(DeliveryStatus::Dead, Some(why));
    }
    if ex.final_failure {
        return ended(DeliveryStatus::Dead, Some(format!("{error}; not retried")));
    }
    let policy = webhook_policy(retry_schedule).unwrap_or_else(|| default.clone());
    let Some(mut delay) = policy.next_delay(attempt) else {
        return ended(
            DeliveryStatus::Dead,
            Some(format!("{error}; no attempts left")),
        );
    };
    if let Some(asked) = ex.retry_after {
        // Honour the receiver, but never beyond twice the planned step.
        let cap = policy.base_delay(attempt).unwrap_or(delay) * 2;
        delay = asked.min(cap);
    }
    Outcome {
        status: DeliveryStatus::Failed,
        next_attempt_at: now + chrono::Duration::from_std(delay).unwrap_or_default(),
        error: Some(error),
    }
}

/// A webhook's own schedule (its `retry_schedule`, a JSON list of
/// durations), when it overrides the deployment's.
pub fn webhook_policy(retry_schedule: Option<&str>) -> Option<RetryPolicy> {
    let list: Vec<String> = serde_json::from_str(retry_schedule?).ok()?;
    let delays = list
        .iter()
        .map(|s| humantime::parse_duration(s))
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    Some(RetryPolicy::new(delays))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0)
            .unwrap()
            .naive_utc()
    }

    fn answered(status: Option<u16>) -> Exchange {
        Exchange {
            sent_at: at(0),
            request_headers: "{}".into(),
            status,
            response_headers: "{}".into(),
            response_body: String::new(),
            truncated: false,
            duration: Duration::from_millis(5),
            error: None,
            retry_after: None,
            overloaded: false,
            final_failure: false,
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy::new(vec![Duration::from_secs(5), Duration::from_secs(300)]).without_jitter()
    }

    #[test]
    fn success() {
        let o = settle(None, &answered(Some(204)), 1, &policy(), at(1));
        assert_eq!(o.status, DeliveryStatus::Succeeded);
        assert_eq!(o.next_attempt_at, at(0));
        assert_eq!(o.error, None);
    }

    #[test]
    fn gone_is_final_whatever_is_left() {
        let o = settle(None, &answered(Some(410)), 1, &policy(), at(1));
        assert_eq!(o.status, DeliveryStatus::Dead);
        let error = o.error.unwrap();
        assert!(error.contains("HTTP 410") && error.ends_with("the webhook is disabled"));
    }

    #[test]
    fn failure_waits_the_planned_step() {
        let o = settle(None, &answered(Some(500)), 2, &policy(), at(1));
        assert_eq!(o.status, DeliveryStatus::Failed);
        assert_eq!(o.next_attempt_at, at(301));
        assert_eq!(o.error.as_deref(), Some("receiver answered HTTP 500"));
    }

    #[test]
    fn a_request_that_cannot_be_sent_is_not_retried() {
        let mut ex = answered(None);
        ex.error = Some("header_too_large: …".into());
        ex.final_failure = true;
        let o = settle(None, &ex, 1, &policy(), at(1));
        assert_eq!(o.status, DeliveryStatus::Dead);
        assert_eq!(o.next_attempt_at, at(0));
        assert_eq!(o.error.as_deref(), Some("header_too_large: …; not retried"));
    }

    #[test]
    fn no_attempts_left() {
        let mut ex = answered(None);
        ex.error = Some("timeout".into());
        let o = settle(None, &ex, 3, &policy(), at(1));
        assert_eq!(o.status, DeliveryStatus::Dead);
        assert_eq!(o.error.as_deref(), Some("timeout; no attempts left"));
    }

    #[test]
    fn retry_after_is_capped_at_twice_the_step() {
        let mut ex = answered(Some(429));
        ex.retry_after = Some(Duration::from_secs(3600));
        let o = settle(None, &ex, 1, &policy(), at(0));
        assert_eq!(o.next_attempt_at, at(10));
        // Sooner than planned is honoured as asked.
        ex.retry_after = Some(Duration::from_secs(2));
        let o = settle(None, &ex, 1, &policy(), at(0));
        assert_eq!(o.next_attempt_at, at(2));
    }

    #[test]
    fn webhook_schedule_overrides_the_default() {
        let own = Some(r#"["1h"]"#);
        let o = settle(own, &answered(Some(500)), 1, &policy(), at(0));
        // ±20 % jitter around one hour.
        let wait = (o.next_attempt_at - at(0)).num_seconds();
        assert!((2880..=4320).contains(&wait), "{wait}");
        let o = settle(own, &answered(Some(500)), 2, &policy(), at(0));
        assert_eq!(o.status, DeliveryStatus::Dead);
        // An unreadable schedule falls back to the deployment's.
        let o = settle(Some("nonsense"), &answered(Some(500)), 1, &policy(), at(0));
        assert_eq!(o.next_attempt_at, at(5));
    }
}
