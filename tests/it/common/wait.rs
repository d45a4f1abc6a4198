//! Waiting for a condition: the one place tests poll. Tests assert what
//! happened (states, counts, order); the timeout is only a safety net for
//! a condition that never comes, generous so a loaded machine passes.
//!
//! `check` is an async closure (`async || …`, or `|| async move …`): it may
//! borrow the test's state, and mutably, to keep samples between polls.
//! tests/pg_restart.rs uses this file too (`#[path]`), so it needs nothing
//! but tokio.

use std::fmt::Debug;
use std::time::{Duration, Instant};

/// How often a condition is checked.
const EVERY: Duration = Duration::from_millis(50);

/// Polls `check` until it returns `Some`, and returns that; panics naming
/// `what` after `timeout`.
pub async fn until<T>(what: &str, timeout: Duration, check: impl AsyncFnMut() -> Option<T>) -> T {
    match within(timeout, check).await {
        Some(v) => v,
        None => panic!("waited {timeout:?} for {what}, in vain"),
    }
}

/// Polls `check` until it returns `Ok`, and returns that; after `timeout`,
/// panics naming `what` and the last `Err`: what was seen instead.
pub async fn until_ok<T, S: Debug>(
    what: &str,
    timeout: Duration,
    mut check: impl AsyncFnMut() -> Result<T, S>,
) -> T {
    let mut last = None;
    let found = within(timeout, async || match check().await {
        Ok(v) => Some(v),
        Err(seen) => {
            last = Some(seen);
            None
        }
    })
    .await;
    match found {
        Some(v) => v,
        None => panic!("waited {timeout:?} for {what}, in vain; last seen: {last:#?}"),
    }
}

/// Polls `check` until it returns `Some`; `None` after `timeout`.
pub async fn within<T>(timeout: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(EVERY).await;
    }
}

/// Checks `check` throughout `period` (and once more at its end): for what
/// must *not* happen for a while, e.g. no request during a Retry-After.
/// Panics naming `what` with what `check` saw the first time it failed.
pub async fn throughout<S: Debug>(
    what: &str,
    period: Duration,
    mut check: impl AsyncFnMut() -> Result<(), S>,
) {
    let end = Instant::now() + period;
    loop {
        let last = Instant::now() >= end;
        if let Err(seen) = check().await {
            panic!("{what} did not hold throughout {period:?}; seen: {seen:#?}");
        }
        if last {
            return;
        }
        tokio::time::sleep(EVERY.min(end.saturating_duration_since(Instant::now()))).await;
    }
}
