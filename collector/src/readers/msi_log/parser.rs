//! The Windows Installer verbose log of an SU (MSP) install (collector/EVIDENCE.md):
//! `=== Verbose logging started: <local date> <time> ... ===`, then engine lines
//! `MSI (s) (A0:B4) [10:01:02:123]: ...` and action lines `Action start 10:01:02: Name.` /
//! `Action ended 10:05:12: Name. Return value 3.`, in local time. The parser keeps what says
//! how the install went (not applicable, error codes, failed and slow actions), not the log.

use std::collections::HashMap;

use chrono::NaiveTime;
use exfleet_proto::kinds::MsiLineKind;
use exfleet_proto::v1::{MsiLog, MsiLogLine};

use crate::local_time::{self, Clock, DateOrder};
use crate::text::LineIssue;

/// The header every verbose log starts with.
pub const HEADER: &str = "=== Verbose logging started:";
/// An action that ran at least this long is kept as a slow action.
pub const SLOW_ACTION_MS: i64 = 60_000;
/// Lines kept per log.
const MAX_LINES: usize = 500;

/// Whether a text is an MSI log: it starts (after a byte order mark and white space) with one
/// of [`MSI_LOG_STARTS`](crate::artifacts::MSI_LOG_STARTS), as the stager checks too.
pub fn is_msi_log(text: &str) -> bool {
    let text = text.trim_start_matches('\u{feff}').trim_start();
    crate::artifacts::MSI_LOG_STARTS
        .iter()
        .any(|start| text.starts_with(start))
}

/// What the parser read from a log.
#[derive(Debug, Default)]
pub struct ParsedLog {
    /// The log's facts.
    pub log: MsiLog,
    /// Lines that could not be read (a header whose date is unreadable: the log's times are
    /// then unknown).
    pub issues: Vec<LineIssue>,
}

/// Parses one log. `bias_minutes` is the host's time zone bias (UTC = local + bias).
pub fn parse(text: &str, bias_minutes: i32) -> ParsedLog {
    let mut issues = Vec::new();
    let mut log = MsiLog {
        install_status: -1,
        main_engine_return: -1,
        ..Default::default()
    };
    let mut clock: Option<Clock> = None;
    // Running actions: name → (line, start ms, description).
    let mut started: HashMap<String, (u32, i64)> = HashMap::new();
    let mut descriptions: HashMap<String, String> = HashMap::new();
    let push =
        |log: &mut MsiLog, line: u32, time_ms: i64, kind: MsiLineKind, text: &str, d: i64| {
            if log.lines.len() < MAX_LINES {
                log.lines.push(MsiLogLine {
                    line,
                    time_ms,
                    kind: kind.as_str().to_string(),
                    text: text.to_string(),
                    duration_ms: d,
                });
            }
        };
    for (i, raw) in text.lines().enumerate() {
        let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let line = raw.trim_end();
        if let Some(header) = line.trim_start_matches('\u{feff}').strip_prefix(HEADER) {
            let header = header.trim().trim_end_matches('=').trim();
            let stamp = header
                .split("Build type")
                .next()
                .unwrap_or(header)
                .trim()
                .to_string();
            let (order, _) = DateOrder::settle([local_time::date_word(&stamp)]);
            match local_time::parse_date_time(&stamp, order) {
                Some(start) => {
                    log.started_at_ms = local_time::to_utc_ms(start, bias_minutes);
                    clock = Some(Clock::new(start, bias_minutes));
                }
                None => issues.push(LineIssue {
                    line: number,
                    message: format!("unreadable log start '{stamp}'"),
                }),
            }
            log.header_time = stamp;
            continue;
        }
        let (time, text) = split_time(line);
        let time_ms = match (time, clock.as_mut()) {
            (Some(t), Some(c)) => c.at(t),
            _ => 0,
        };
        if let Some(rest) = text.strip_prefix("PATCH SEQUENCER: QFE patch ") {
            if let Some(patch) = rest.strip_suffix(" is not applicable.") {
                log.patch = patch.trim().to_string();
                log.not_applicable = true;
                push(
                    &mut log,
                    number,
                    time_ms,
                    MsiLineKind::NotApplicable,
                    text,
                    0,
                );
            }
        } else if let Some(patch) = text.strip_prefix("Original patch ==> ") {
            if log.patch.is_empty() {
                log.patch = patch.trim().to_string();
            }
        } else if text.starts_with("Product: ") && text.contains("- Update '") {
            if let Some(name) = text
                .split_once("- Update '")
                .and_then(|(_, r)| r.split_once('\''))
                .map(|(n, _)| n)
            {
                log.update_name = name.to_string();
            }
            if let Some(code) = after_number(text, "Error code ") {
                log.error_code = code as u32;
                push(&mut log, number, time_ms, MsiLineKind::Error, text, 0);
            }
        } else if let Some(status) = after_number(text, "Installation success or error status: ") {
            log.install_status = status;
            push(&mut log, number, time_ms, MsiLineKind::Status, text, 0);
        } else if let Some(code) = after_number(text, "MainEngineThread is returning ") {
            log.main_engine_return = code;
        } else if let Some(v) = property(text, "ProductVersion") {
            log.product_version = v.to_string();
        } else if let Some(rest) = text.strip_prefix("Action start ") {
            if let Some((t, name)) = action_time(rest) {
                let ms = clock.as_mut().map_or(0, |c| c.at(t));
                started.insert(name.trim_end_matches('.').to_string(), (number, ms));
            }
        } else if let Some(rest) = text.strip_prefix("Action ended ") {
            if let Some((t, rest)) = action_time(rest) {
                let ms = clock.as_mut().map_or(0, |c| c.at(t));
                let (name, result) = rest.split_once(". Return value ").unwrap_or((rest, ""));
                let name = name.trim_end_matches('.');
                let start = started.remove(name);
                if result.trim_end_matches('.') == "3" {
                    push(&mut log, number, ms, MsiLineKind::FailedAction, text, 0);
                }
                if let Some((start_line, start_ms)) = start {
                    let d = ms - start_ms;
                    if start_ms != 0 && d >= SLOW_ACTION_MS {
                        let what = match descriptions.get(name) {
                            Some(desc) => format!("{name}. {desc}"),
                            None => name.to_string(),
                        };
                        push(
                            &mut log,
                            start_line,
                            start_ms,
                            MsiLineKind::SlowAction,
                            &what,
                            d,
                        );
                    }
                }
            }
        } else if let Some(rest) = text.strip_prefix("Action ") {
            // "Action 10:01:02: Name. Description": the progress text the wizard shows.
            if let Some((_, rest)) = action_time(rest) {
                if let Some((name, desc)) = rest.split_once(". ") {
                    if !desc.trim().is_empty() {
                        descriptions.insert(name.to_string(), desc.trim().to_string());
                    }
                }
            }
        } else if is_error_line(text) {
            push(&mut log, number, time_ms, MsiLineKind::Error, text, 0);
        }
    }
    log.lines.sort_by_key(|l| l.line);
    ParsedLog { log, issues }
}

/// Splits the engine prefix `MSI (s) (A0:B4) [10:01:02:123]: ` off a line.
fn split_time(line: &str) -> (Option<NaiveTime>, &str) {
    if line.starts_with("MSI (") {
        if let Some((head, text)) = line.split_once("]: ") {
            if let Some((_, stamp)) = head.rsplit_once('[') {
                return (local_time::parse_time(stamp), text.trim());
            }
        }
    }
    (None, line.trim())
}

/// "10:01:02: Name." → (time, "Name.").
fn action_time(rest: &str) -> Option<(NaiveTime, &str)> {
    let (stamp, name) = rest.split_once(": ")?;
    Some((local_time::parse_time(stamp)?, name.trim()))
}

/// The integer right after `prefix`, wherever it is in `text`.
fn after_number(text: &str, prefix: &str) -> Option<i64> {
    let (_, rest) = text.split_once(prefix)?;
    let end = rest
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && *c == '-')))
        .map_or(rest.len(), |(i, _)| i);
    rest[..end].parse().ok()
}

/// `Property(S): Name = value`.
fn property<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let rest = text.strip_prefix("Property(")?;
    let (_, rest) = rest.split_once("): ")?;
    let (n, v) = rest.split_once(" = ")?;
    (n == name).then_some(v.trim())
}

/// MSI error lines: `Error 1603.`, `Error 1935. ...` (not the `DEBUG: Error 2826` noise).
fn is_error_line(text: &str) -> bool {
    text.strip_prefix("Error ")
        .is_some_and(|r| r.bytes().take_while(u8::is_ascii_digit).count() == 4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LOG: &str = "\
=== Verbose logging started: 11/21/2022  10:00:00  Build type: SHIP UNICODE 5.00.10011.00  Calling process: C:\\Windows\\system32\\msiexec.exe ===
MSI (c) (A0:B4) [10:00:01:100]: Original patch ==> C:\\Temp\\Exchange2019-KB5019758-x64-en.msp
MSI (s) (A0:B4) [10:00:02:200]: PATCH SEQUENCER: QFE patch C:\\Temp\\Exchange2019-KB5019758-x64-en.msp is not applicable.
Action 10:00:03: StopServices. Stopping Exchange services
Action start 10:00:03: StopServices.
Action ended 10:04:03: StopServices. Return value 3.
MSI (s) (A0:B4) [10:05:00:000]: Product: Microsoft Exchange Server - Update 'Security Update For Exchange Server 2019 CU11 (KB5019758)' could not be installed. Error code 1642. Additional information is available in the log file.
MSI (s) (A0:B4) [10:05:00:001]: Windows Installer installed an update. Product Name: Microsoft Exchange Server. Installation success or error status: 1642.
MSI (s) (A0:B4) [10:05:00:002]: MainEngineThread is returning 1642
Property(S): ProductVersion = 15.2.1118.7
";

    #[test]
    fn a_1642_log() {
        let parsed = parse(LOG, 0);
        assert!(parsed.issues.is_empty());
        let log = parsed.log;
        assert_eq!(log.patch, r"C:\Temp\Exchange2019-KB5019758-x64-en.msp");
        assert!(log.not_applicable);
        assert_eq!(
            log.update_name,
            "Security Update For Exchange Server 2019 CU11 (KB5019758)"
        );
        assert_eq!(log.error_code, 1642);
        assert_eq!(log.install_status, 1642);
        assert_eq!(log.main_engine_return, 1642);
        assert_eq!(log.product_version, "15.2.1118.7");
        let kinds: Vec<(&str, u32, i64)> = log
            .lines
            .iter()
            .map(|l| (l.kind.as_str(), l.line, l.duration_ms))
            .collect();
        assert_eq!(
            kinds,
            [
                ("not_applicable", 3, 0),
                ("slow_action", 5, 240_000),
                ("failed_action", 6, 0),
                ("error", 7, 0),
                ("status", 8, 0),
            ]
        );
        assert_eq!(
            log.lines[1].text,
            "StopServices. Stopping Exchange services"
        );
        let utc = chrono::DateTime::from_timestamp_millis(log.lines[0].time_ms).unwrap();
        assert_eq!(utc.to_rfc3339(), "2022-11-21T10:00:02.200+00:00");
    }

    #[test]
    fn an_unreadable_start_is_reported_with_its_line() {
        let p = parse("=== Verbose logging started: 99/99/2022  10:00:00 ===\n", 0);
        assert_eq!(p.issues.len(), 1);
        assert_eq!(p.issues[0].line, 1);
        assert_eq!(p.log.started_at_ms, 0);
    }

    #[test]
    fn sniffs_the_header() {
        assert!(is_msi_log(
            "\u{feff}=== Verbose logging started: 1/2/2023 ..."
        ));
        assert!(!is_msi_log("[11/21/2022 10:00:00.0000] [0] Starting"));
    }

    proptest! {
        #[test]
        fn never_panics(s in "(=== Verbose logging started: [0-9/: ]{0,25}===\n|MSI \\(s\\) \\(A0:B4\\) \\[[0-9:]{0,12}\\]: \\PC{0,40}\n|Action (start|ended)? ?[0-9:]{0,9}: \\PC{0,30}\n|Property\\(S\\): \\PC{0,20}\n|\\PC{0,40}\n){0,20}") {
            let _ = parse(&s, 0);
        }
    }
}
