//! Windows Installer verbose logs of SU (MSP) installs, when the copy holds them. They have
//! no fixed name: an administrator picks one with `/lxv`, and installers write theirs to the
//! temp folder. The reader looks in `ExchangeSetupLogs`, `Windows\Temp` and the copy's root
//! for `.log`/`.txt` files that start with the verbose-logging header.

pub mod parser;

use std::io::Read;
use std::path::PathBuf;

use exfleet_proto::v1::artifact_status::State;

use crate::files::ServerFiles;
use crate::provenance;
use crate::readers::{read_text, Reader};
use crate::sink::Sink;
use crate::text::{decode, MAX_LINE_BYTES, MAX_LOG_BYTES};

/// Reads MSI verbose logs.
pub struct MsiLogs;

/// Where MSI logs are looked for (not recursively).
const DIRS: [&str; 3] = ["ExchangeSetupLogs", r"Windows\Temp", ""];
/// Files looked at per folder: a temp folder can hold thousands.
const MAX_FILES: usize = 2_000;
/// Bytes read to recognise a log (UTF-16 doubles the header's size).
const SNIFF: u64 = 256;
/// Logs read: each keeps at most a few MB, and a temp folder can hold hundreds of them.
pub const MAX_LOGS: usize = 200;

impl Reader for MsiLogs {
    const NAME: &'static str = "msi_log";

    fn read(&self, dir: &ServerFiles, out: &mut Sink) {
        let bias = out.time_bias_minutes();
        let files = candidates(dir);
        if files.is_empty() {
            // No fixed name: say where the reader looked.
            out.absent(Self::NAME, &format!("{}/*.log", dir.expected(DIRS[0])));
        }
        if files.len() > MAX_LOGS {
            let first = dir.display(&files[MAX_LOGS]);
            out.error(
                Self::NAME,
                "kept_truncated",
                &first,
                None,
                format!(
                    "{first}: this and {} more MSI logs are not read: at most {MAX_LOGS} are",
                    files.len() - MAX_LOGS - 1
                ),
            );
        }
        for file in files.into_iter().take(MAX_LOGS) {
            let caps = (MAX_LOG_BYTES, MAX_LINE_BYTES);
            let Some((path, text)) = read_text(dir, out, Self::NAME, &file, caps) else {
                continue;
            };
            let parsed = parser::parse(&text, bias);
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
fn candidates(dir: &ServerFiles) -> Vec<PathBuf> {
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
        out.extend(files.into_iter().filter(|p| sniff(dir, p)));
    }
    out.dedup();
    out
}

/// Whether a file starts with an MSI log header. Only regular files inside the copy are opened
/// (a file of these folders that is not a log is not the reader's business, so a refused one
/// is skipped, not reported).
fn sniff(dir: &ServerFiles, path: &std::path::Path) -> bool {
    let mut head = Vec::new();
    dir.open(path)
        .is_ok_and(|(f, _)| f.take(SNIFF).read_to_end(&mut head).is_ok())
        && parser::is_msi_log(&decode(&head))
}
