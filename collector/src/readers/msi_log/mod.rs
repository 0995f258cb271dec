//! Windows Installer verbose logs of SU (MSP) installs, when the copy holds them. They have
//! no fixed name: an administrator picks one with `/lxv`, and installers write theirs to the
//! temp folder. The reader looks in `ExchangeSetupLogs`, `Windows\Temp` and the copy's root
//! for `.log`/`.txt` files that start with the verbose-logging header.

pub mod parser;

use std::io::Read;
use std::path::PathBuf;

use exfleet_proto::v1::artifact_status::State;

use crate::provenance;
use crate::readers::Reader;
use crate::sink::Sink;
use crate::text::decode;
use crate::triage::TriageDir;

/// Reads MSI verbose logs.
pub struct MsiLogs;

/// Where MSI logs are looked for (not recursively).
const DIRS: [&str; 3] = ["ExchangeSetupLogs", r"Windows\Temp", ""];
/// Files looked at per folder: a temp folder can hold thousands.
const MAX_FILES: usize = 2_000;
/// Bytes read to recognise a log (UTF-16 doubles the header's size).
const SNIFF: u64 = 256;

impl Reader for MsiLogs {
    const NAME: &'static str = "msi_log";

    fn read(&self, dir: &TriageDir, out: &mut Sink) {
        let bias = out.time_bias_minutes();
        let files = candidates(dir);
        if files.is_empty() {
            // No fixed name: say where the reader looked.
            out.absent(Self::NAME, &format!("{}/*.log", dir.expected(DIRS[0])));
        }
        for file in files {
            let path = dir.display(&file);
            let bytes = match std::fs::read(&file) {
                Ok(b) => b,
                Err(e) => {
                    out.artifact(Self::NAME, &path, State::Unreadable);
                    out.error(Self::NAME, "io", &path, None, format!("{path}: {e}"));
                    continue;
                }
            };
            let parsed = parser::parse(&decode(&bytes), bias);
            out.line_issues(Self::NAME, &path, &parsed.issues);
            let mut log = parsed.log;
            log.provenance = Some(provenance::file(Self::NAME, &path));
            out.evidence_mut().msi_logs.push(log);
            let state = if parsed.issues.is_empty() {
                State::Read
            } else {
                State::Partial
            };
            out.artifact(Self::NAME, &path, state);
        }
    }
}

/// The files of the search folders whose first bytes are an MSI log header, in path order.
fn candidates(dir: &TriageDir) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in DIRS {
        let folder = if d.is_empty() {
            Some(dir.root().to_path_buf())
        } else {
            dir.resolve(d)
        };
        let Some(folder) = folder else { continue };
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && p.extension().is_some_and(|e| {
                        e.eq_ignore_ascii_case("log") || e.eq_ignore_ascii_case("txt")
                    })
            })
            .take(MAX_FILES)
            .collect();
        files.sort();
        out.extend(files.into_iter().filter(|p| sniff(p)));
    }
    out.dedup();
    out
}

fn sniff(path: &std::path::Path) -> bool {
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(SNIFF).read_to_end(&mut head))
        .is_ok()
        && parser::is_msi_log(&decode(&head))
}
