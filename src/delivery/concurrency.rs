//! How many requests one webhook may have open: an adaptive limit.
//!
//! The model is Vector's Adaptive Request Concurrency (AIMD on round-trip
//! time and back-pressure), with TCP's slow start in front of it so a
//! healthy receiver reaches its rate in a few round trips, not minutes:
//!
//! - Samples are gathered in **windows** about one smoothed RTT long.
//! - **Back-pressure** (429, 502, 503, 504, a timeout, a refused or reset
//!   connection) **decreases** the limit at once: halved on leaving slow
//!   start, × [`DECREASE`] afterwards; at most once per round trip, since
//!   the answers to requests sent before a decrease all say the same thing.
//! - A window whose mean RTT rose above the baseline by more than its
//!   deviation band decreases it too.
//! - A healthy window in which the limit was reached **increases** it:
//!   doubled in slow start, + 1 afterwards. Growth needs completed, healthy
//!   answers, so a receiver that hangs never gets more than the start.
//! - The baseline is an EWMA of healthy windows' RTTs, so it follows a
//!   receiver that became permanently slower (baseline drift).
//!
//! Pure: time comes in as arguments, so it is tested without I/O.

use std::time::{Duration, Instant};

/// Where every adaptive limit starts (the old fixed default).
pub const INITIAL: usize = 4;
/// Multiplicative decrease outside slow start (Vector's default).
const DECREASE: f64 = 0.9;
/// Weight of the newest window in the RTT baseline (Vector's default).
const ALPHA: f64 = 0.4;
/// Width of the deviation band, in mean deviations (Vector's default).
const DEVIATION_SCALE: f64 = 2.5;
/// RTT rises smaller than this share of the baseline are noise, whatever
/// the deviation says: one jittery window must not halve a new lane.
const TOLERANCE: f64 = 0.25;
/// And smaller than this: loopback receivers answer in well under 1 ms.
const TOLERANCE_ABS: Duration = Duration::from_millis(2);
/// Shortest window, so a fast receiver still averages several answers.
const MIN_WINDOW: Duration = Duration::from_millis(10);

/// What an answer says about the receiver's load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Answered in time (2xx, or a status that says nothing about load).
    Healthy,
    /// Slow down: 429, 502, 503, 504, a timeout, refused or reset.
    BackPressure,
    /// Not counted either way (e.g. an answer from before a settings change).
    Ignore,
}

/// Why the limit moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    SlowStart,
    Increase,
    BackPressure,
    RttRising,
}

impl Reason {
    /// As metrics label it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SlowStart => "slow_start",
            Reason::Increase => "increase",
            Reason::BackPressure => "back_pressure",
            Reason::RttRising => "rtt_rising",
        }
    }
}

/// A change of the limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    pub from: usize,
    pub to: usize,
    pub reason: Reason,
}

/// An exponentially weighted mean and mean deviation, in seconds.
#[derive(Debug, Clone, Copy)]
struct Ewma {
    mean: f64,
    deviation: f64,
}

impl Ewma {
    fn update(&mut self, sample: f64) {
        self.deviation = (1.0 - ALPHA) * self.deviation + ALPHA * (sample - self.mean).abs();
        self.mean = (1.0 - ALPHA) * self.mean + ALPHA * sample;
    }
}

/// The samples of the current window.
#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    rtt_sum: f64,
    samples: u32,
    back_pressure: bool,
    /// Requests had to wait for the limit (or filled it) in this window.
    reached: bool,
}

impl Window {
    fn new(now: Instant) -> Window {
        Window {
            started: now,
            rtt_sum: 0.0,
            samples: 0,
            back_pressure: false,
            reached: false,
        }
    }
}

/// The adaptive limit of one lane.
#[derive(Debug, Clone)]
pub struct Controller {
    limit: f64,
    ceiling: usize,
    slow_start: bool,
    baseline: Option<Ewma>,
    window: Window,
    last_decrease: Option<Instant>,
}

impl Controller {
    /// A limit starting at [`INITIAL`] (or `ceiling`, if lower).
    pub fn new(ceiling: usize, now: Instant) -> Controller {
        let ceiling = ceiling.max(1);
        Controller {
            limit: INITIAL.min(ceiling) as f64,
            ceiling,
            slow_start: true,
            baseline: None,
            window: Window::new(now),
            last_decrease: None,
        }
    }

    /// Requests that may be open now.
    pub fn limit(&self) -> usize {
        (self.limit.floor() as usize).clamp(1, self.ceiling)
    }

    /// The ceiling (`max_in_flight`) changed.
    pub fn set_ceiling(&mut self, ceiling: usize) {
        self.ceiling = ceiling.max(1);
        self.limit = self.limit.min(self.ceiling as f64);
    }

    /// The smoothed round-trip time, once one is known.
    pub fn rtt(&self) -> Option<Duration> {
        self.baseline
            .map(|b| Duration::from_secs_f64(b.mean.max(0.0)))
    }

    /// Whether the limit still doubles per window.
    pub fn in_slow_start(&self) -> bool {
        self.slow_start
    }

    /// The lane was full: a request waited for the limit, or filled it.
    pub fn reached(&mut self) {
        self.window.reached = true;
    }

    /// One answer; the limit's change if this closed a window that moved it.
    pub fn observe(&mut self, rtt: Duration, signal: Signal, now: Instant) -> Option<Change> {
        let length = self.rtt().unwrap_or(rtt).max(MIN_WINDOW);
        match signal {
            Signal::Ignore => return None,
            Signal::BackPressure => {
                // A burst of 503s is one signal, not one halving per answer.
                if self
                    .last_decrease
                    .is_some_and(|t| now.duration_since(t) < length)
                {
                    return None;
                }
                self.window.back_pressure = true;
            }
            Signal::Healthy => {
                self.window.rtt_sum += rtt.as_secs_f64();
                self.window.samples += 1;
                if now.duration_since(self.window.started) < length {
                    return None;
                }
            }
        }
        let back_pressure = self.window.back_pressure;
        let change = self.close_window();
        if back_pressure || change.is_some_and(|c| c.to < c.from) {
            self.last_decrease = Some(now);
        }
        self.window = Window::new(now);
        change
    }

    fn close_window(&mut self) -> Option<Change> {
        let w = self.window;
        let from = self.limit();
        if w.back_pressure {
            self.limit = if self.slow_start {
                self.limit / 2.0
            } else {
                self.limit * DECREASE
            }
            .max(1.0);
            self.slow_start = false;
            return self.changed(from, Reason::BackPressure);
        }
        if w.samples == 0 {
            return None;
        }
        let mean = w.rtt_sum / f64::from(w.samples);
        let rising = self.baseline.is_some_and(|b| {
            let band = (DEVIATION_SCALE * b.deviation)
                .max(TOLERANCE * b.mean)
                .max(TOLERANCE_ABS.as_secs_f64());
            mean > b.mean + band
        });
        match &mut self.baseline {
            Some(b) => b.update(mean),
            None => {
                self.baseline = Some(Ewma {
                    mean,
                    deviation: 0.0,
                })
            }
        }
        if rising {
            self.limit = (self.limit * DECREASE).max(1.0);
            self.slow_start = false;
            return self.changed(from, Reason::RttRising);
        }
        if !w.reached {
            return None;
        }
        let reason = if self.slow_start {
            self.limit *= 2.0;
            Reason::SlowStart
        } else {
            self.limit += 1.0;
            Reason::Increase
        };
        self.limit = self.limit.min(self.ceiling as f64);
        self.changed(from, reason)
    }

    fn changed(&self, from: usize, reason: Reason) -> Option<Change> {
        let to = self.limit();
        (to != from).then_some(Change { from, to, reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Feeds `n` windows of full-lane answers at `rtt`.
    fn windows(c: &mut Controller, now: &mut Instant, n: usize, rtt: Duration, signal: Signal) {
        for _ in 0..n {
            for _ in 0..c.limit() {
                c.reached();
                c.observe(rtt, signal, *now);
            }
            *now += rtt.max(MIN_WINDOW);
            c.reached();
            c.observe(rtt, signal, *now);
        }
    }

    #[test]
    fn slow_start_doubles_up_to_the_ceiling() {
        let mut now = Instant::now();
        let mut c = Controller::new(256, now);
        assert_eq!(c.limit(), 4);
        windows(&mut c, &mut now, 3, 50 * MS, Signal::Healthy);
        assert!(c.limit() >= 16, "{}", c.limit());
        windows(&mut c, &mut now, 10, 50 * MS, Signal::Healthy);
        assert_eq!(c.limit(), 256);
        assert!(c.in_slow_start());
        assert_eq!(c.rtt().map(|r| r.as_millis()), Some(50));
    }

    #[test]
    fn no_growth_without_full_lanes_or_completed_answers() {
        let mut now = Instant::now();
        let mut c = Controller::new(256, now);
        // Answers while the lane never filled: no reason to grow.
        for _ in 0..20 {
            now += 50 * MS;
            c.observe(50 * MS, Signal::Healthy, now);
        }
        assert_eq!(c.limit(), 4);
        // A full lane whose requests never complete: nothing to observe.
        c.reached();
        assert_eq!(c.limit(), 4);
    }

    #[test]
    fn back_pressure_halves_then_decreases_multiplicatively() {
        let mut now = Instant::now();
        let mut c = Controller::new(256, now);
        windows(&mut c, &mut now, 3, 20 * MS, Signal::Healthy);
        let before = c.limit();
        // Back-pressure acts at once, and a burst of 503s in one round trip
        // is one decrease.
        let change = c.observe(20 * MS, Signal::BackPressure, now).unwrap();
        assert_eq!(change.reason, Reason::BackPressure);
        assert_eq!(c.limit(), before / 2);
        assert!(!c.in_slow_start());
        for _ in 0..10 {
            assert_eq!(c.observe(20 * MS, Signal::BackPressure, now), None);
        }
        assert_eq!(c.limit(), before / 2);
        now += 20 * MS;
        let before = c.limit();
        now += 20 * MS;
        c.observe(20 * MS, Signal::BackPressure, now);
        assert_eq!(c.limit(), (before as f64 * DECREASE) as usize);
        // Then additive: + 1 per healthy, full window.
        let before = c.limit();
        windows(&mut c, &mut now, 3, 20 * MS, Signal::Healthy);
        assert_eq!(c.limit(), before + 3);
    }

    #[test]
    fn floor_and_ceiling_hold() {
        let mut now = Instant::now();
        let mut c = Controller::new(2, now);
        assert_eq!(c.limit(), 2);
        windows(&mut c, &mut now, 5, 10 * MS, Signal::Healthy);
        assert_eq!(c.limit(), 2);
        for _ in 0..50 {
            now += 10 * MS;
            c.observe(10 * MS, Signal::BackPressure, now);
        }
        assert_eq!(c.limit(), 1);
        c.set_ceiling(1000);
        windows(&mut c, &mut now, 5, 10 * MS, Signal::Healthy);
        assert_eq!(c.limit(), 6);
        c.set_ceiling(3);
        assert_eq!(c.limit(), 3);
    }

    #[test]
    fn rising_rtt_decreases_and_the_baseline_drifts() {
        let mut now = Instant::now();
        let mut c = Controller::new(256, now);
        windows(&mut c, &mut now, 4, 20 * MS, Signal::Healthy);
        let before = c.limit();
        // The receiver becomes permanently 5× slower: the limit backs off…
        windows(&mut c, &mut now, 1, 100 * MS, Signal::Healthy);
        assert!(c.limit() < before, "{} !< {before}", c.limit());
        assert!(!c.in_slow_start());
        // …and once the baseline has followed, grows again.
        windows(&mut c, &mut now, 10, 100 * MS, Signal::Healthy);
        let settled = c.limit();
        windows(&mut c, &mut now, 5, 100 * MS, Signal::Healthy);
        assert_eq!(c.limit(), settled + 5);
        assert!(c.rtt().unwrap() > 90 * MS);
    }

    #[test]
    fn jitter_inside_the_band_does_not_decrease() {
        let mut now = Instant::now();
        let mut c = Controller::new(256, now);
        for i in 0..16 {
            let rtt = if i % 2 == 0 { 50 * MS } else { 58 * MS };
            windows(&mut c, &mut now, 1, rtt, Signal::Healthy);
        }
        assert!(c.in_slow_start(), "{c:?}");
        assert_eq!(c.limit(), 256);
    }

    #[test]
    fn ignored_answers_do_nothing() {
        let mut now = Instant::now();
        let mut c = Controller::new(256, now);
        now += Duration::from_secs(1);
        c.reached();
        assert_eq!(c.observe(10 * MS, Signal::Ignore, now), None);
        assert_eq!(c.limit(), 4);
        assert_eq!(c.rtt(), None);
    }
}
