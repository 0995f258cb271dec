//! The running state of services. Live, from the Service Control Manager
//! (`readers::service_manager`, Windows only). In a triage copy, `exfleet\sc-queryex.txt`, as `sc queryex
//! type= service state= all` prints it: a saved capture of that command's output, run on the
//! server and placed in the copy at that path by whoever made the copy (the stager in
//! `deploy/windows/` does). A triage copy without it: running state is then unknown, not
//! "stopped".
//!
//! Each service is a block: `SERVICE_NAME: <name>`, `DISPLAY_NAME: <text>`, then indented
//! `KEY : value` lines (`STATE : 4  RUNNING`, `PID : 4124`, `WIN32_EXIT_CODE : 0  (0x0)`).

use exfleet_proto::v1::ServiceRunState;

use crate::files::ServerFiles;
use crate::provenance;
use crate::readers::{text_artifact, text_log_state, Reader};
use crate::sink::Sink;
use crate::text::LineIssue;

/// Reads the saved service-state capture.
pub struct ScQueryex;

const PATH: &str = crate::artifacts::SC_QUERYEX.path;

/// Services and unreadable lines of a capture.
pub fn parse(text: &str) -> (Vec<(u32, ServiceRunState)>, Vec<LineIssue>) {
    let mut out: Vec<(u32, ServiceRunState)> = Vec::new();
    let mut issues = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            // The flags line under STATE: "(STOPPABLE, NOT_PAUSABLE, ...)".
            if !line.starts_with('(') && !out.is_empty() {
                issues.push(LineIssue {
                    line: number,
                    message: format!("not a 'KEY : value' line: '{line}'"),
                });
            }
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key == "SERVICE_NAME" {
            out.push((
                number,
                ServiceRunState {
                    name: value.to_string(),
                    ..Default::default()
                },
            ));
            continue;
        }
        let Some((_, s)) = out.last_mut() else {
            // Text before the first service (an error message of sc itself).
            issues.push(LineIssue {
                line: number,
                message: format!("'{key}' before any SERVICE_NAME"),
            });
            continue;
        };
        let first_word = value.split_whitespace().next().unwrap_or("");
        match key {
            "DISPLAY_NAME" => s.display_name = value.to_string(),
            "STATE" => {
                s.state_code = first_word.parse().unwrap_or(0);
                s.state = value.split_whitespace().nth(1).unwrap_or("").to_string();
                if s.state.is_empty() {
                    issues.push(LineIssue {
                        line: number,
                        message: format!("unreadable STATE '{value}'"),
                    });
                }
            }
            "PID" => s.pid = first_word.parse().unwrap_or(0),
            "WIN32_EXIT_CODE" => s.exit_code = first_word.parse().unwrap_or(0),
            _ => {}
        }
    }
    (out, issues)
}

impl Reader for ScQueryex {
    const NAME: &'static str = "sc_queryex";

    fn read(&self, dir: &ServerFiles, out: &mut Sink) {
        if dir.is_live() {
            #[cfg(windows)]
            super::service_manager::read(Self::NAME, out);
            return;
        }
        let Some((path, text)) = text_artifact(dir, out, Self::NAME, PATH) else {
            return;
        };
        let (services, issues) = parse(&text);
        let state = text_log_state(
            out,
            Self::NAME,
            &path,
            text.trim().is_empty(),
            &issues,
            services.len(),
            ("no_service", "a SERVICE_NAME block"),
        );
        for (line, mut s) in services {
            s.provenance = Some(provenance::line(Self::NAME, &path, line));
            out.evidence_mut().service_states.push(s);
        }
        out.artifact(Self::NAME, &path, state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CAPTURE: &str = "
SERVICE_NAME: MSExchangeADTopology
DISPLAY_NAME: Microsoft Exchange Active Directory Topology
        TYPE               : 10  WIN32_OWN_PROCESS
        STATE              : 4  RUNNING
                                (STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)
        WIN32_EXIT_CODE    : 0  (0x0)
        SERVICE_EXIT_CODE  : 0  (0x0)
        CHECKPOINT         : 0x0
        WAIT_HINT          : 0x0
        PID                : 4124
        FLAGS              :

SERVICE_NAME: W3SVC
DISPLAY_NAME: World Wide Web Publishing Service
        TYPE               : 20  WIN32_SHARE_PROCESS
        STATE              : 1  STOPPED
        WIN32_EXIT_CODE    : 1077  (0x435)
        PID                : 0
";

    #[test]
    fn blocks_with_state_pid_and_exit_code() {
        let (s, issues) = parse(CAPTURE);
        assert!(issues.is_empty(), "{issues:?}");
        let got: Vec<(u32, &str, &str, u32, u32)> = s
            .iter()
            .map(|(l, s)| (*l, s.name.as_str(), s.state.as_str(), s.pid, s.exit_code))
            .collect();
        assert_eq!(
            got,
            [
                (2, "MSExchangeADTopology", "RUNNING", 4124, 0),
                (14, "W3SVC", "STOPPED", 0, 1077)
            ]
        );
    }

    #[test]
    fn text_before_the_first_service_is_located() {
        let (s, issues) = parse("[SC] EnumQueryServicesStatus:OpenService FAILED 5:\n");
        assert!(s.is_empty());
        assert_eq!(issues[0].line, 1);
    }

    proptest! {
        #[test]
        fn never_panics(s in "(SERVICE_NAME: \\PC{0,12}\n|  STATE +: [0-9 A-Z_]{0,12}\n|  PID +: \\PC{0,6}\n|\\PC{0,30}\n){0,20}") {
            let _ = parse(&s);
        }
    }
}
