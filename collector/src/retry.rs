//! When to try an upload again: exponential back-off with jitter, bounded in failed attempts
//! and in total time per snapshot, and the wait an aggregator at its bound asks for
//! (back-pressure, `proto/exfleet/v1/ingest.proto`).

use std::time::{Duration, Instant};

/// How hard delivery tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Failed attempts (a broken connection, a timeout) before giving up; refusals for
    /// back-pressure do not count, the total time bounds them.
    pub attempts: u32,
    /// How long one attempt (connecting, sending, every ack) may take.
    pub attempt_timeout: Duration,
    /// How long one snapshot may be tried for, waits included.
    pub total: Duration,
    /// The first pause after a failed attempt; it doubles after each, up to `max_pause`.
    pub first_pause: Duration,
    /// The longest pause after a failed attempt.
    pub max_pause: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            attempt_timeout: Duration::from_secs(30),
            total: Duration::from_secs(300),
            first_pause: Duration::from_secs(1),
            max_pause: Duration::from_secs(60),
        }
    }
}

/// Why an attempt did not deliver, as far as waiting goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The connection broke or timed out: back off.
    Failed,
    /// The aggregator is at its bound and asked for this wait.
    Busy(Duration),
}

/// The retries of one snapshot.
#[derive(Debug)]
pub struct Retry {
    policy: RetryPolicy,
    started: Instant,
    failed: u32,
    pause: Duration,
}

impl Retry {
    /// The first attempt starts now.
    pub fn new(policy: RetryPolicy) -> Self {
        Retry {
            policy,
            started: Instant::now(),
            failed: 0,
            pause: policy.first_pause,
        }
    }

    /// After an attempt that did not deliver: how long to wait before the next one, or `None`
    /// when this snapshot's attempts or time are spent. The wait is jittered so that
    /// collectors refused together do not come back together: a back-off pause is drawn
    /// from its upper half, an asked wait is lengthened by up to half of it.
    pub fn after(&mut self, failure: Failure) -> Option<Duration> {
        let wait = match failure {
            Failure::Failed => {
                self.failed += 1;
                if self.failed >= self.policy.attempts {
                    return None;
                }
                let pause = self.pause.mul_f64(rand::random_range(0.5..=1.0));
                self.pause = (self.pause * 2).min(self.policy.max_pause);
                pause
            }
            Failure::Busy(asked) => asked + asked.mul_f64(rand::random_range(0.0..=0.5)),
        };
        (self.started.elapsed() + wait <= self.policy.total).then_some(wait)
    }

    /// How many attempts failed.
    pub fn failed(&self) -> u32 {
        self.failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            attempts: 4,
            attempt_timeout: Duration::from_secs(1),
            total: Duration::from_secs(3600),
            first_pause: Duration::from_secs(2),
            max_pause: Duration::from_secs(5),
        }
    }

    #[test]
    fn pauses_double_with_jitter_up_to_the_cap_and_stop_after_the_attempts() {
        let mut r = Retry::new(policy());
        let first = r.after(Failure::Failed).unwrap();
        assert!((1.0..=2.0).contains(&first.as_secs_f64()), "{first:?}");
        let second = r.after(Failure::Failed).unwrap();
        assert!((2.0..=4.0).contains(&second.as_secs_f64()), "{second:?}");
        let third = r.after(Failure::Failed).unwrap();
        assert!(
            (2.5..=5.0).contains(&third.as_secs_f64()),
            "capped: {third:?}"
        );
        assert_eq!(r.after(Failure::Failed), None, "four failed attempts");
        assert_eq!(r.failed(), 4);
    }

    #[test]
    fn an_asked_wait_is_kept_and_lengthened_by_at_most_half_and_does_not_count() {
        let mut r = Retry::new(policy());
        for _ in 0..10 {
            let w = r.after(Failure::Busy(Duration::from_secs(4))).unwrap();
            assert!((4.0..=6.0).contains(&w.as_secs_f64()), "{w:?}");
        }
        assert_eq!(r.failed(), 0);
    }

    #[test]
    fn no_wait_goes_past_the_total_time() {
        let mut r = Retry::new(RetryPolicy {
            total: Duration::from_secs(3),
            ..policy()
        });
        assert_eq!(r.after(Failure::Busy(Duration::from_secs(4))), None);
    }
}
