//! When the collector service collects: every `interval` (default daily), each run at a random
//! offset up to `jitter` into its period so that a fleet does not arrive at once, at once when
//! asked (`service collect-now`), and after a long sleep (the server suspended, the service
//! stopped for days) once to catch up, not once per missed period. Platform-independent: the
//! Windows service drives it with the wall clock, the tests with a clock of their own.

use std::time::Duration;

/// The schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Time between runs.
    pub interval: Duration,
    /// The largest random delay added to a run's due time.
    pub jitter: Duration,
    /// Time to the next try after a run that failed (not enrolled yet, the server
    /// unreadable), when that is sooner than the interval.
    pub retry: Duration,
}

impl Default for Schedule {
    /// Daily, up to an hour late.
    fn default() -> Self {
        Schedule {
            interval: Duration::from_secs(86_400),
            jitter: Duration::from_secs(3_600),
            retry: Duration::from_secs(3_600),
        }
    }
}

impl Schedule {
    /// When the run after one at `last_ms` is due (UTC ms), with `jitter` (0 to 1) the random
    /// part drawn for it; never run: at once, plus the jitter (a fleet installed together
    /// spreads from the first run on). A due time already past means: run now, once.
    pub fn due_after(&self, last_ms: Option<i64>, now_ms: i64, jitter: f64) -> i64 {
        let spread = (self.jitter.as_millis() as f64 * jitter.clamp(0.0, 1.0)) as i64;
        match last_ms {
            // A clock set back before the last run: count from now instead.
            Some(last) if last <= now_ms => last + self.interval.as_millis() as i64 + spread,
            _ => now_ms + spread,
        }
    }
}

/// What wakes the loop besides a due run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Time to look at the clock again.
    Tick,
    /// Collect now.
    Now,
    /// Stop.
    Stop,
}

/// The loop's view of time and of its controls: the wall clock (UTC ms) and a wait that ends
/// at a deadline or at a control.
pub trait Clock {
    /// Now, UTC ms.
    fn now_ms(&mut self) -> i64;
    /// Waits at most `d`, or until the service is asked to collect or to stop.
    fn wait(&mut self, d: Duration) -> Wake;
}

/// The wall clock, and controls that arrive on a channel (from the Service Control Manager's
/// handler, or Ctrl-C in the foreground); a closed channel means stop.
#[derive(Debug)]
pub struct ChannelClock {
    controls: std::sync::mpsc::Receiver<Wake>,
}

impl ChannelClock {
    /// A clock whose waits end early with what arrives on `controls`.
    pub fn new(controls: std::sync::mpsc::Receiver<Wake>) -> ChannelClock {
        ChannelClock { controls }
    }
}

impl Clock for ChannelClock {
    fn now_ms(&mut self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }

    fn wait(&mut self, d: Duration) -> Wake {
        use std::sync::mpsc::RecvTimeoutError;
        match self.controls.recv_timeout(d) {
            // Several collect-now requests queued (during a run) make one run, not several;
            // a stop among them wins.
            Ok(Wake::Now) => {
                let mut wake = Wake::Now;
                while let Ok(next) = self.controls.try_recv() {
                    if next == Wake::Stop {
                        wake = Wake::Stop;
                    }
                }
                wake
            }
            Ok(w) => w,
            Err(RecvTimeoutError::Timeout) => Wake::Tick,
            Err(RecvTimeoutError::Disconnected) => Wake::Stop,
        }
    }
}

/// Longest single wait: the wall clock is looked at again at least this often, so that a run
/// due during a suspend (when monotonic timers stand still) starts soon after the resume.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// Runs `run` on `schedule` until stopped: `last_ms` is when the last run was (from the state
/// the service keeps), `run` does one collection and returns when it ended, `Ok` when it
/// succeeded (the next comes an interval later) or `Err` (the next comes after `retry` when that
/// is sooner); `jitter` draws each run's random part. Returns the end of the last successful
/// run.
pub fn run_loop(
    schedule: &Schedule,
    mut last_ms: Option<i64>,
    clock: &mut impl Clock,
    mut jitter: impl FnMut() -> f64,
    mut run: impl FnMut(i64) -> Result<i64, i64>,
) -> Option<i64> {
    let mut due = schedule.due_after(last_ms, clock.now_ms(), jitter());
    loop {
        let now = clock.now_ms();
        if now >= due {
            due = match run(now) {
                Ok(ended) => {
                    last_ms = Some(ended);
                    schedule.due_after(last_ms, ended, jitter())
                }
                Err(ended) => {
                    let retry = schedule.retry.min(schedule.interval).as_millis() as i64;
                    let spread = (schedule.jitter.as_millis() as f64 * jitter()) as i64;
                    ended + retry + spread.min(retry)
                }
            };
            continue;
        }
        let left = Duration::from_millis((due - now) as u64);
        match clock.wait(left.min(MAX_WAIT)) {
            Wake::Tick => {}
            Wake::Now => due = clock.now_ms(),
            Wake::Stop => return last_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;
    const DAY: i64 = 24 * H;

    /// A clock that jumps: each wait moves it on by the wait, or by a planned jump (a
    /// suspend), and answers with planned controls.
    struct FakeClock {
        now: i64,
        /// (at or after this time, jump to that time)
        jumps: Vec<(i64, i64)>,
        /// (at or after this time, this control)
        controls: Vec<(i64, Wake)>,
        end: i64,
    }

    impl Clock for FakeClock {
        fn now_ms(&mut self) -> i64 {
            self.now
        }
        fn wait(&mut self, d: Duration) -> Wake {
            if let Some(i) = self.controls.iter().position(|(at, _)| self.now >= *at) {
                return self.controls.remove(i).1;
            }
            if let Some(i) = self.jumps.iter().position(|(at, _)| self.now >= *at) {
                self.now = self.jumps.remove(i).1;
                return Wake::Tick;
            }
            self.now += d.as_millis() as i64;
            if self.now >= self.end {
                Wake::Stop
            } else {
                Wake::Tick
            }
        }
    }

    fn runs(clock: &mut FakeClock, last: Option<i64>, jitter: f64) -> Vec<i64> {
        let mut at = Vec::new();
        run_loop(
            &Schedule::default(),
            last,
            clock,
            || jitter,
            |now| {
                at.push(now);
                Ok(now)
            },
        );
        at
    }

    #[test]
    fn a_run_a_day_each_within_its_jitter() {
        for jitter in [0.0, 0.5, 1.0] {
            let mut c = FakeClock {
                now: 0,
                jumps: vec![],
                controls: vec![],
                end: 5 * DAY,
            };
            let at = runs(&mut c, Some(0), jitter);
            assert_eq!(at.len(), 4, "{jitter}: {at:?}");
            for (i, t) in at.iter().enumerate() {
                let due = (i as i64 + 1) * DAY + (H as f64 * jitter) as i64 * (i as i64 + 1);
                // Each run is due a day after the one before, plus its own jitter.
                assert!(
                    (*t - due).abs() <= 60_000,
                    "{jitter}: run {i} at {t}, due {due}"
                );
            }
        }
    }

    #[test]
    fn jitter_stays_within_its_bound_and_spreads_a_fleet() {
        let s = Schedule::default();
        let mut seen = Vec::new();
        for _ in 0..1000 {
            let j: f64 = rand::random();
            let due = s.due_after(Some(0), 0, j);
            assert!((DAY..=DAY + H).contains(&due), "{due}");
            seen.push(due);
        }
        seen.sort();
        assert!(seen[999] - seen[0] > H / 2, "spread over the hour");
        // Never run before: the first run within the jitter from now.
        assert!((5..=5 + H).contains(&s.due_after(None, 5, 0.7)));
    }

    #[test]
    fn after_a_week_asleep_one_run_catches_up_not_seven() {
        let mut c = FakeClock {
            now: 0,
            // Suspended half an hour in, resumed a week later.
            jumps: vec![(H / 2, 7 * DAY + H / 2)],
            controls: vec![],
            end: 7 * DAY + 6 * H,
        };
        let at = runs(&mut c, Some(0), 0.0);
        assert_eq!(at.len(), 1, "{at:?}");
        // Within a minute of the resume (the wall clock is looked at every minute).
        assert!(at[0] - (7 * DAY + H / 2) <= 60_000, "{at:?}");
    }

    #[test]
    fn collect_now_runs_at_once_and_the_next_is_a_day_after_it() {
        let mut c = FakeClock {
            now: 0,
            jumps: vec![],
            controls: vec![(3 * H, Wake::Now)],
            end: 2 * DAY,
        };
        let at = runs(&mut c, Some(0), 0.0);
        assert_eq!(at.len(), 2, "{at:?}");
        assert!(at[0] >= 3 * H && at[0] < 3 * H + 60_000, "{at:?}");
        assert!((at[1] - (at[0] + DAY)).abs() <= 60_000, "{at:?}");
    }

    #[test]
    fn a_failed_run_is_tried_again_within_the_retry_not_a_day_later() {
        let mut c = FakeClock {
            now: 0,
            jumps: vec![],
            controls: vec![],
            end: DAY / 2,
        };
        let mut at = Vec::new();
        let last = run_loop(
            &Schedule::default(),
            None,
            &mut c,
            || 0.0,
            |now| {
                at.push(now);
                if at.len() < 3 {
                    Err(now)
                } else {
                    Ok(now)
                }
            },
        );
        // At once, an hour later, an hour after that; then not before a day.
        assert_eq!(at, [0, H, 2 * H]);
        assert_eq!(last, Some(2 * H));
    }

    #[test]
    fn collect_now_requests_queued_during_a_run_make_one_run() {
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 0..5 {
            tx.send(Wake::Now).unwrap();
        }
        let mut clock = ChannelClock::new(rx);
        assert_eq!(clock.wait(Duration::from_millis(1)), Wake::Now);
        assert_eq!(clock.wait(Duration::from_millis(1)), Wake::Tick);
        tx.send(Wake::Now).unwrap();
        tx.send(Wake::Stop).unwrap();
        assert_eq!(clock.wait(Duration::from_millis(1)), Wake::Stop);
        drop(tx);
        assert_eq!(clock.wait(Duration::from_millis(1)), Wake::Stop);
    }

    #[test]
    fn stop_ends_the_loop_at_once_and_a_clock_set_back_counts_from_now() {
        let mut c = FakeClock {
            now: 10,
            jumps: vec![],
            controls: vec![(10, Wake::Stop)],
            end: DAY,
        };
        assert!(runs(&mut c, Some(5), 0.0).is_empty());
        let s = Schedule::default();
        assert_eq!(s.due_after(Some(10 * DAY), DAY, 0.0), DAY);
    }
}
