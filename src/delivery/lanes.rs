//! Per-webhook lanes: isolation of one receiver from the others.
//!
//! Each webhook gets at most `max_in_flight` requests at once and, when set,
//! a request rate. The dispatcher also caps how much of a webhook's queue it
//! holds locally (twice its in-flight limit), so a hanging receiver ties up
//! a handful of worker slots, never the whole pool.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;

use crate::db::webhooks::Webhook;

/// Local queue allowance per webhook, in multiples of its in-flight limit.
const HELD_FACTOR: usize = 2;

/// One webhook's lane.
pub struct Lane {
    /// Requests (jobs) held by this process: queued here or in flight.
    pub held: usize,
    pub max_in_flight: usize,
    pub events_per_request: usize,
    pub in_flight: Arc<Semaphore>,
    pub limiter: Option<Arc<DefaultDirectRateLimiter>>,
    rate: Option<i32>,
}

impl Lane {
    fn new(max_in_flight: usize, events_per_request: usize, rate: Option<i32>) -> Lane {
        Lane {
            held: 0,
            max_in_flight,
            events_per_request,
            in_flight: Arc::new(Semaphore::new(max_in_flight)),
            limiter: limiter(rate),
            rate,
        }
    }

    /// Most deliveries this lane may still take in a claim. A rate-limited
    /// lane holds at most ~10 s of its rate: with a round of requests ahead
    /// and its own, a job then still starts well inside its lease (see
    /// `worker::time_to_finish`), however short the request timeout.
    fn room(&self) -> usize {
        let mut cap = self.max_in_flight * HELD_FACTOR;
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

/// A lane's in-flight semaphore and rate limiter, handed to a job.
pub type LanePermits = (Arc<Semaphore>, Option<Arc<DefaultDirectRateLimiter>>);

/// All lanes of this process.
#[derive(Clone)]
pub struct Lanes {
    inner: Arc<Mutex<HashMap<String, Lane>>>,
    default_in_flight: usize,
}

impl Lanes {
    pub fn new(default_in_flight: usize) -> Lanes {
        Lanes {
            inner: Arc::default(),
            default_in_flight,
        }
    }

    /// Webhooks that cannot take more work right now.
    pub fn saturated(&self) -> Vec<String> {
        let lanes = self.inner.lock().expect("lanes lock");
        lanes
            .iter()
            .filter(|(_, l)| l.room() == 0)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// A claim filter: takes deliveries while their lane has room.
    pub fn admit(&self) -> impl FnMut(&crate::db::deliveries::Candidate) -> bool + Send + 'static {
        let lanes = self.clone();
        let mut taken: HashMap<String, usize> = HashMap::new();
        move |c| {
            let room = {
                let map = lanes.inner.lock().expect("lanes lock");
                map.get(&c.webhook_id)
                    .map(Lane::room)
                    .unwrap_or(lanes.default_in_flight * HELD_FACTOR)
            };
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
    /// the lane's in-flight semaphore and rate limiter.
    pub fn hold(&self, w: &Webhook) -> LanePermits {
        let max = w.max_in_flight.max(1) as usize;
        let per_request = w.max_events_per_request.max(1) as usize;
        let mut map = self.inner.lock().expect("lanes lock");
        let lane = map
            .entry(w.id.clone())
            .or_insert_with(|| Lane::new(max, per_request, w.rate_limit_per_sec));
        if lane.max_in_flight != max {
            // Changed settings: new permits for new jobs; old jobs finish on the old ones.
            lane.in_flight = Arc::new(Semaphore::new(max));
            lane.max_in_flight = max;
        }
        if lane.rate != w.rate_limit_per_sec {
            lane.limiter = limiter(w.rate_limit_per_sec);
            lane.rate = w.rate_limit_per_sec;
        }
        lane.events_per_request = per_request;
        lane.held += 1;
        (lane.in_flight.clone(), lane.limiter.clone())
    }

    /// A job of webhook `id` finished.
    pub fn release(&self, id: &str) {
        let mut map = self.inner.lock().expect("lanes lock");
        if let Some(l) = map.get_mut(id) {
            l.held = l.held.saturating_sub(1);
            if l.held == 0 && l.in_flight.available_permits() == l.max_in_flight {
                map.remove(id);
            }
        }
    }
}
