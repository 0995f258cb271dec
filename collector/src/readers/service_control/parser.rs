//! The ServiceControl.log format (collector/EVIDENCE.md): each run of ServiceControl.ps1
//! begins with a dashed line and a header `* ServiceControl.ps1: <local date and time>`, then
//! lines `[HH:mm:ss] <text>` in local time; lines without the prefix (stack traces) belong to
//! the line before them. The parser never fails: unreadable lines are reported with their
//! numbers and skipped.

use exfleet_proto::kinds::ScActionKind;
use exfleet_proto::v1::service_control_run::Outcome;
use exfleet_proto::v1::{ServiceControlAction, ServiceControlRun};

use crate::local_time::{self, Clock, DateOrder};
use crate::text::{Budget, LineIssue, OverBudget, MAX_KEPT_BYTES, MAX_RUNS};

/// Continuation lines kept per action.
const MAX_CONTINUATION: usize = 20;
/// Actions kept per run, so that a runaway log cannot blow up a snapshot.
const MAX_ACTIONS: usize = 2_000;

const HEADER: &str = "* ServiceControl.ps1:";

/// What the parser read from a log.
#[derive(Debug, Default)]
pub struct ParsedLog {
    /// Runs in file order.
    pub runs: Vec<ServiceControlRun>,
    /// Lines that could not be read.
    pub issues: Vec<LineIssue>,
    /// Lines that matter not kept because the log's budget
    /// ([`MAX_KEPT_BYTES`]) was spent.
    pub over_budget: OverBudget,
}

/// Parses a whole log. `bias_minutes` is the host's time zone bias (UTC = local + bias).
pub fn parse(text: &str, bias_minutes: i32) -> ParsedLog {
    let headers: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix(HEADER))
        .map(local_time::date_word)
        .collect();
    let (order, assumed) = DateOrder::settle(headers.iter().copied());
    let mut p = Parser {
        out: ParsedLog::default(),
        run: None,
        clock: None,
        order,
        assumed,
        bias_minutes,
        last_kept: false,
        budget: Budget::new(MAX_KEPT_BYTES),
        stopped: false,
    };
    for (i, line) in text.lines().enumerate() {
        p.line(u32::try_from(i + 1).unwrap_or(u32::MAX), line.trim_end());
    }
    p.end_run();
    p.out.over_budget = p.budget.over;
    p.out
}

struct Parser {
    out: ParsedLog,
    run: Option<ServiceControlRun>,
    clock: Option<Clock>,
    order: DateOrder,
    assumed: bool,
    bias_minutes: i32,
    /// Whether the last timed line was kept as an action, so continuation lines follow it.
    last_kept: bool,
    /// Bytes of actions and continuation lines left to keep.
    budget: Budget,
    /// Set once [`MAX_RUNS`] runs are read: the rest of the log is only counted.
    stopped: bool,
}

impl Parser {
    fn line(&mut self, number: u32, line: &str) {
        if self.stopped {
            self.budget.stop(number, 1);
            return;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with("-----") {
            self.end_run();
            self.start_run(number);
            return;
        }
        if let Some(header) = trimmed.strip_prefix(HEADER) {
            self.header(number, header.trim());
            return;
        }
        if let Some(rest) = timed(trimmed) {
            match rest {
                Ok((time, text)) => self.timed(number, time, text),
                Err(message) => self.out.issues.push(LineIssue {
                    line: number,
                    message,
                }),
            }
            return;
        }
        if trimmed.is_empty() || !self.last_kept {
            return;
        }
        if let Some(a) = self.run.as_mut().and_then(|r| r.actions.last_mut()) {
            if a.continuation.len() < MAX_CONTINUATION && self.budget.take(trimmed.len(), number) {
                a.continuation.push(trimmed.to_string());
            }
        }
    }

    fn start_run(&mut self, number: u32) {
        if self.out.runs.len() >= MAX_RUNS {
            self.stopped = true;
            self.budget.stop(number, 1);
            return;
        }
        self.run = Some(ServiceControlRun {
            start_line: number,
            end_line: number,
            outcome: Outcome::CutOff as i32,
            ..Default::default()
        });
        self.clock = None;
        self.last_kept = false;
    }

    fn end_run(&mut self) {
        if let Some(run) = self.run.take() {
            self.out.runs.push(run);
        }
    }

    fn header(&mut self, number: u32, header: &str) {
        // A header without its dashed line still starts a run; one right after the dashed
        // line belongs to that run.
        let fresh = self
            .run
            .as_ref()
            .is_some_and(|r| r.header_time.is_empty() && r.actions.is_empty());
        if !fresh {
            self.end_run();
            self.start_run(number);
        }
        let Some(run) = self.run.as_mut() else {
            return; // past the last run kept
        };
        run.header_time = header.to_string();
        run.end_line = number;
        match local_time::parse_date_time(header, self.order) {
            Some(start) => {
                run.started_at_ms = local_time::to_utc_ms(start, self.bias_minutes);
                run.ended_at_ms = run.started_at_ms;
                run.date_order_assumed = self.assumed && is_ambiguous(header);
                self.clock = Some(Clock::new(start, self.bias_minutes));
            }
            None => self.out.issues.push(LineIssue {
                line: number,
                message: format!("unreadable run date '{header}'"),
            }),
        }
    }

    fn timed(&mut self, number: u32, time: chrono::NaiveTime, text: &str) {
        if self.run.is_none() {
            // The top of the log was cut away: the run is kept, without its date.
            self.start_run(number);
            self.out.issues.push(LineIssue {
                line: number,
                message: "timed line before any run header: the run's date is unknown".into(),
            });
        }
        let time_ms = self.clock.as_mut().map_or(0, |c| c.at(time));
        let Some(run) = self.run.as_mut() else {
            return; // past the last run kept
        };
        run.end_line = number;
        if time_ms != 0 {
            run.ended_at_ms = time_ms;
        }
        self.last_kept = false;
        if let Some(options) = text.strip_prefix("Performing service control with options:") {
            run.options = options.trim().to_string();
            return;
        }
        if let Some(outcome) = completion(text) {
            run.outcome = outcome as i32;
        }
        let Some(kind) = kind_of(text) else { return };
        if run.actions.len() >= MAX_ACTIONS || !self.budget.take(2 * text.len(), number) {
            return;
        }
        run.actions.push(ServiceControlAction {
            line: number,
            time_ms,
            kind: kind.as_str().to_string(),
            service: if matches!(
                kind,
                ScActionKind::DisableRoles
                    | ScActionKind::EnableRoles
                    | ScActionKind::SaveState
                    | ScActionKind::RemoveState
            ) {
                String::new()
            } else {
                quoted(text).to_string()
            },
            text: text.to_string(),
            continuation: Vec::new(),
        });
        self.last_kept = true;
    }
}

/// `[HH:mm:ss] text`: `None` for a line without the prefix, `Err` for a malformed one.
fn timed(line: &str) -> Option<Result<(chrono::NaiveTime, &str), String>> {
    let rest = line.strip_prefix('[')?;
    if !rest.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let Some((stamp, text)) = rest.split_once(']') else {
        return Some(Err("unterminated time stamp".into()));
    };
    Some(
        local_time::parse_time(stamp)
            .map(|t| (t, text.trim()))
            .ok_or_else(|| format!("unreadable time '{stamp}'")),
    )
}

fn completion(text: &str) -> Option<Outcome> {
    if text.starts_with("Script completed succes") {
        Some(Outcome::Succeeded)
    } else if text.starts_with("Script completed with") {
        Some(Outcome::Errors)
    } else {
        None
    }
}

/// What a line records, or `None` for lines that only narrate.
pub fn kind_of(text: &str) -> Option<ScActionKind> {
    let lower = text.to_ascii_lowercase();
    let starts = |p: &str| lower.starts_with(p);
    Some(if starts("[error]") {
        ScActionKind::Error
    } else if starts("[warning]") {
        if stop_failure(&lower) {
            ScActionKind::StopFailed
        } else {
            ScActionKind::Warning
        }
    } else if stop_failure(&lower) {
        ScActionKind::StopFailed
    } else if starts("saving service") {
        ScActionKind::SaveState
    } else if starts("killing") {
        ScActionKind::Kill
    } else if starts("stopping service") {
        ScActionKind::Stop
    } else if starts("disabling services") {
        ScActionKind::DisableRoles
    } else if starts("disabling service") {
        ScActionKind::Disable
    } else if starts("enabling services") {
        ScActionKind::EnableRoles
    } else if starts("enabling service") || starts("setting service") {
        ScActionKind::Enable
    } else if starts("starting service") {
        ScActionKind::Start
    } else if starts("removing service state") {
        ScActionKind::RemoveState
    } else {
        return None;
    })
}

/// A line saying a service would not stop.
fn stop_failure(lower: &str) -> bool {
    [
        "timed out",
        "time-out",
        "did not stop",
        "failed to stop",
        "could not stop",
        "cannot stop",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

/// The first '...' quoted text.
fn quoted(text: &str) -> &str {
    text.split_once('\'')
        .and_then(|(_, rest)| rest.split_once('\''))
        .map_or("", |(q, _)| q)
}

fn is_ambiguous(header: &str) -> bool {
    let date = local_time::date_word(header);
    let (a, b) = (
        local_time::parse_date(date, DateOrder::MonthFirst),
        local_time::parse_date(date, DateOrder::DayFirst),
    );
    a.is_some() && b.is_some() && a != b
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LOG: &str = "\
------------------------------------------------------------------
* ServiceControl.ps1: 21/11/2022 10:05:30
[10:05:30] Performing service control with options: 
[10:05:30] Saving service and registry data
[10:05:31] Stopping service 'MSExchangeADTopology'.
[10:06:31] [Warning] Timed out waiting for service 'MSExchangeTransport' to stop.
[10:06:32] Killing instead of Stopping 'MSExchangeTransport'.
[10:06:40] Disabling services for 'Mailbox'...
[10:06:40] Disabling service 'MSExchangeADTopology'.
[10:06:41] [Error] Failed to disable 'W3SVC'
   at ServiceControl.ps1: line 212
   at <ScriptBlock>
[10:06:42] Script completed with one or more errors.
";

    #[test]
    fn actions_with_their_services_and_continuations() {
        let p = parse(LOG, -60);
        assert!(p.issues.is_empty(), "{:?}", p.issues);
        let run = &p.runs[0];
        assert_eq!((run.start_line, run.end_line), (1, 13));
        assert_eq!(run.outcome, Outcome::Errors as i32);
        // Day first: 21 cannot be a month. UTC+01:00 (bias -60): 09:05:30 UTC.
        let utc = chrono::DateTime::from_timestamp_millis(run.started_at_ms).unwrap();
        assert_eq!(utc.to_rfc3339(), "2022-11-21T09:05:30+00:00");
        assert!(!run.date_order_assumed);
        let kinds: Vec<(&str, &str, u32)> = run
            .actions
            .iter()
            .map(|a| (a.kind.as_str(), a.service.as_str(), a.line))
            .collect();
        assert_eq!(
            kinds,
            [
                ("save_state", "", 4),
                ("stop", "MSExchangeADTopology", 5),
                ("stop_failed", "MSExchangeTransport", 6),
                ("kill", "MSExchangeTransport", 7),
                ("disable_roles", "", 8),
                ("disable", "MSExchangeADTopology", 9),
                ("error", "W3SVC", 10),
            ]
        );
        assert_eq!(run.actions[6].continuation.len(), 2);
    }

    #[test]
    fn runs_split_on_dashes_and_a_run_without_completion_is_cut_off() {
        let text = format!(
            "{LOG}{}",
            LOG.lines().take(5).collect::<Vec<_>>().join("\n")
        );
        let p = parse(&text, 0);
        assert_eq!(p.runs.len(), 2);
        assert_eq!(p.runs[1].outcome, Outcome::CutOff as i32);
        assert_eq!(p.runs[1].start_line, 14);
    }

    #[test]
    fn malformed_times_and_headless_lines_are_reported_with_their_lines() {
        let p = parse(
            "[10:61:00] Stopping service 'X'.\n[10:00:00] Stopping service 'Y'.\n",
            0,
        );
        assert_eq!(p.issues.len(), 2);
        assert_eq!(p.issues[0].line, 1);
        assert_eq!(p.runs.len(), 1);
        assert_eq!(p.runs[0].actions[0].service, "Y");
        assert_eq!(p.runs[0].actions[0].time_ms, 0);
    }

    proptest! {
        #[test]
        fn never_panics(s in "(-{5,8}\n|\\* ServiceControl.ps1: [0-9/.: APM]{0,25}\n|\\[[0-9:]{0,9}\\] \\PC{0,40}\n|\\PC{0,40}\n){0,20}") {
            let p = parse(&s, 0);
            for r in &p.runs {
                prop_assert!(r.start_line <= r.end_line);
            }
        }
    }
}
