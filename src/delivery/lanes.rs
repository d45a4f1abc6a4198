//! Per-webhook lanes: isolation of one receiver from the others.
//!
//! Each webhook's lane lets a limited number of requests be open at once:
//! an adaptive limit (see `concurrency`) under the webhook's
//! `max_in_flight`, or exactly `max_in_flight` in `fixed` mode; and, when
//! set, a request rate. A 429 or 503 with `Retry-After` pauses the whole
//! lane. The dispatcher also caps how much of a webhook's queue it holds
//! locally (twice its current limit), so a hanging receiver ties up a
//! handful of worker slots, never the whole pool.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::Notify;

use super::concurrency::{Change, Controller, Signal};
use crate::db::webhooks::Webhook;

/// Local queue allowance per webhook, in multiples of its current limit.
const HELD_FACTOR: usize = 2;
/// Longest pause a `Retry-After` imposes on a lane: past it, one request
/// asks again (and a longer wait is asked for again).
pub const MAX_PAUSE: Duration = Duration::from_secs(300);
/// A lane unused this long is forgotten (with what it learned).
const IDLE_FORGET: Duration = Duration::from_secs(600);

use crate::db::webhooks::Concurrency;

/// What the API and metrics show of a lane, in this process.
#[derive(Debug, Clone)]
pub struct LaneStatus {
    pub mode: Concurrency,
    pub limit: usize,
    pub ceiling: usize,
    pub in_flight: usize,
    /// Jobs this process holds for the webhook (queued or in flight).
    pub held: usize,
    pub rtt: Option<Duration>,
    /// Until when a `Retry-After` pauses the lane.
    pub paused_for: Option<Duration>,
    pub slow_start: bool,
}

impl LaneStatus {
    /// `paused` (by a Retry-After), `slow_start` or `steady`.
    pub fn phase(&self) -> &'static str {
        if self.paused_for.is_some() {
            "paused"
        } else if self.slow_start {
            "slow_start"
        } else {
            "steady"
        }
    }
}

/// The mutable part of a lane.
struct GateState {
    mode: Concurrency,
    ceiling: usize,
    controller: Controller,
    in_flight: usize,
    paused_until: Option<Instant>,
}

impl GateState {
    fn limit(&self) -> usize {
        match self.mode {
            Concurrency::Adaptive => self.controller.limit(),
            Concurrency::Fixed => self.ceiling,
        }
    }

    fn paused(&mut self, now: Instant) -> Option<Instant> {
        match self.paused_until {
            Some(t) if t > now => Some(t),
            _ => {
                self.paused_until = None;
                None
            }
        }
    }
}

/// Admission to one webhook's lane: requests wait here for the limit and
/// for a pause to end.
pub struct Gate {
    state: Mutex<GateState>,
    wake: Notify,
}

impl Gate {
    fn new(mode: Concurrency, ceiling: usize) -> Gate {
        Gate {
            state: Mutex::new(GateState {
                mode,
                ceiling,
                controller: Controller::new(ceiling, Instant::now()),
                in_flight: 0,
                paused_until: None,
            }),
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().expect("lane lock")
    }

    /// Waits for a place under the limit (and for any pause to end).
    pub async fn acquire(self: &Arc<Self>) -> GatePermit {
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            // Registered before the check, so a release in between wakes us.
            notified.as_mut().enable();
            let paused = {
                let mut s = self.lock();
                let paused = s.paused(Instant::now());
                if paused.is_none() {
                    if s.in_flight < s.limit() {
                        s.in_flight += 1;
                        if s.in_flight >= s.limit() {
                            s.controller.reached();
                        }
                        return GatePermit {
                            gate: self.clone(),
                            started: Instant::now(),
                        };
                    }
                    s.controller.reached();
                }
                paused
            };
            match paused {
                Some(until) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(until.into()) => {}
                        _ = &mut notified => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Current state, for the API and metrics.
    pub fn status(&self, held: usize) -> LaneStatus {
        let mut s = self.lock();
        let now = Instant::now();
        let paused_for = s.paused(now).map(|t| t - now);
        LaneStatus {
            mode: s.mode,
            limit: s.limit(),
            ceiling: s.ceiling,
            in_flight: s.in_flight,
            held,
            rtt: s.controller.rtt(),
            paused_for,
            slow_start: s.mode == Concurrency::Adaptive && s.controller.in_slow_start(),
        }
    }

    fn configure(&self, mode: Concurrency, ceiling: usize) {
        let mut s = self.lock();
        let grew = ceiling > s.ceiling || (mode != s.mode);
        s.mode = mode;
        s.ceiling = ceiling;
        s.controller.set_ceiling(ceiling);
        drop(s);
        if grew {
            self.wake.notify_waiters();
        }
    }
}

/// A place in a lane, given back on drop.
pub struct GatePermit {
    gate: Arc<Gate>,
    started: Instant,
}

impl GatePermit {
    /// Reports how the request went: its RTT, whether the receiver pushed
    /// back, and a `Retry-After` to pause the lane for.
    pub fn answered(&self, signal: Signal, retry_after: Option<Duration>) -> Option<Change> {
        let now = Instant::now();
        let mut s = self.gate.lock();
        if let Some(wait) = retry_after.filter(|_| signal == Signal::BackPressure) {
            let until = now + wait.min(MAX_PAUSE);
            if s.paused_until.is_none_or(|p| p < until) {
                s.paused_until = Some(until);
            }
        }
        let change = match s.mode {
            Concurrency::Adaptive => s.controller.observe(now - self.started, signal, now),
            Concurrency::Fixed => None,
        };
        drop(s);
        if change.is_some_and(|c| c.to > c.from) {
            self.gate.wake.notify_waiters();
        }
        change
    }
}

impl Drop for GatePermit {
    fn drop(&mut self) {
        self.gate.lock().in_flight -= 1;
        self.gate.wake.notify_one();
    }
}

/// One webhook's lane.
struct Lane {
    /// Requests (jobs) held by this process: queued here or in flight.
    held: usize,
    events_per_request: usize,
    gate: Arc<Gate>,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    rate: Option<i32>,
    last_used: Instant,
}

impl Lane {
    /// Most deliveries this lane may still take in a claim. A rate-limited
    /// lane holds at most ~10 s of its rate: with a round of requests ahead
    /// and its own, a job then still starts well inside its lease (see
    /// `worker::time_to_finish`), however short the request timeout. A
    /// paused lane takes nothing.
    fn room(&self) -> usize {
        let (limit, paused) = {
            let mut s = self.gate.lock();
            (s.limit(), s.paused(Instant::now()).is_some())
        };
        if paused {
            return 0;
        }
        let mut cap = limit * HELD_FACTOR;
        if let Some(rate) = self.rate.filter(|r| *r > 0) {
            cap = cap.min((rate as usize * 10).max(1));
        }
        cap.saturating_sub(self.held) * self.events_per_request
    }
}

fn limiter(rate: Option<i32>) -> Option<Arc<DefaultDirectRateLimiter>> {
    let per_sec = NonZeroU32::new(rate?.max(0) as u32)?;
    Some(Arc::new(RateLimiter::direct(Quota::per_second(per_sec))))
}

/// A lane's gate and rate limiter, handed to a job.
pub type LanePermits = (Arc<Gate>, Option<Arc<DefaultDirectRateLimiter>>);

/// All lanes of this process. Cheap to clone; the API reads it too.
#[derive(Clone, Default)]
pub struct Lanes {
    inner: Arc<Mutex<HashMap<String, Lane>>>,
}

impl Lanes {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Lane>> {
        self.inner.lock().expect("lanes lock")
    }

    /// Webhooks that cannot take more work right now.
    pub fn saturated(&self) -> Vec<String> {
        let now = Instant::now();
        let mut lanes = self.map();
        lanes.retain(|_, l| l.held > 0 || now - l.last_used < IDLE_FORGET);
        lanes
            .iter()
            .filter(|(_, l)| l.room() == 0)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// A claim filter: takes deliveries while their lane has room. A
    /// webhook without a lane here starts at the initial limit.
    pub fn admit(&self) -> impl FnMut(&crate::db::deliveries::Candidate) -> bool + Send + 'static {
        let lanes = self.clone();
        let mut taken: HashMap<String, usize> = HashMap::new();
        move |c| {
            let room = lanes
                .map()
                .get(&c.webhook_id)
                .map(Lane::room)
                .unwrap_or(super::concurrency::INITIAL * HELD_FACTOR);
            let n = taken.entry(c.webhook_id.clone()).or_default();
            if *n < room {
                *n += 1;
                true
            } else {
                false
            }
        }
    }

    /// Registers a job for `w` (creating or refreshing its lane) and returns
    /// the lane's gate and rate limiter.
    pub fn hold(&self, w: &Webhook) -> LanePermits {
        let ceiling = w.max_in_flight.max(1) as usize;
        let mode = w.concurrency;
        let per_request = w.max_events_per_request.max(1) as usize;
        let mut map = self.map();
        let lane = map.entry(w.id.clone()).or_insert_with(|| Lane {
            held: 0,
            events_per_request: per_request,
            gate: Arc::new(Gate::new(mode, ceiling)),
            limiter: limiter(w.rate_limit_per_sec),
            rate: w.rate_limit_per_sec,
            last_used: Instant::now(),
        });
        lane.gate.configure(mode, ceiling);
        if lane.rate != w.rate_limit_per_sec {
            lane.limiter = limiter(w.rate_limit_per_sec);
            lane.rate = w.rate_limit_per_sec;
        }
        lane.events_per_request = per_request;
        lane.held += 1;
        lane.last_used = Instant::now();
        (lane.gate.clone(), lane.limiter.clone())
    }

    /// A job of webhook `id` finished.
    pub fn release(&self, id: &str) {
        if let Some(l) = self.map().get_mut(id) {
            l.held = l.held.saturating_sub(1);
            l.last_used = Instant::now();
        }
    }

    /// The lane of one webhook in this process, if it has one.
    pub fn status(&self, id: &str) -> Option<LaneStatus> {
        let map = self.map();
        map.get(id).map(|l| l.gate.status(l.held))
    }

    /// Every lane, as `/metrics` shows it.
    pub fn samples(&self) -> Vec<crate::metrics::LaneSample> {
        let map = self.map();
        map.iter()
            .map(|(id, l)| {
                let s = l.gate.status(l.held);
                crate::metrics::LaneSample {
                    webhook_id: id.clone(),
                    phase: s.phase(),
                    limit: s.limit,
                    in_flight: s.in_flight,
                    held: s.held,
                    rtt: s.rtt,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_gate_admits_up_to_its_limit_and_a_pause_stops_it() {
        let gate = Arc::new(Gate::new(Concurrency::Fixed, 2));
        let a = gate.acquire().await;
        let _b = gate.acquire().await;
        let third = tokio::time::timeout(Duration::from_millis(50), gate.acquire()).await;
        assert!(third.is_err(), "a third request got in at limit 2");
        drop(a);
        let c = tokio::time::timeout(Duration::from_millis(50), gate.acquire())
            .await
            .expect("a freed place is taken");
        // A Retry-After pauses the lane for everyone.
        c.answered(Signal::BackPressure, Some(Duration::from_millis(200)));
        drop(c);
        let started = Instant::now();
        let d = gate.acquire().await;
        assert!(
            started.elapsed() >= Duration::from_millis(150),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(gate.status(0).in_flight, 2);
        drop(d);
    }
}
