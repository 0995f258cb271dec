//! Windows Installer verbose logs of SU (MSP) installs, when the copy holds them. They have
//! no fixed name: an administrator picks one with `/lxv`, and installers write theirs to the
//! temp folder. The reader looks in the folders of [`MSI_LOGS`] (`ExchangeSetupLogs`,
//! `Windows\Temp`, the system drive's root) and in the copy's root, for the files matching
//! their patterns (`.log`/`.txt`) that start with the verbose-logging header.

pub mod parser;

use std::io::Read;
use std::path::PathBuf;

use exfleet_proto::v1::artifact_status::State;

use crate::artifacts::{Artifact, MSI_LOGS};
use crate::files::ServerFiles;
use crate::provenance;
use crate::readers::{read_text, Reader};
use crate::sink::Sink;
use crate::text::{decode, MAX_LINE_BYTES, MAX_LOG_BYTES};

/// Reads MSI verbose logs.
pub struct MsiLogs;

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
            out.absent(Self::NAME, &dir.expected(MSI_LOGS[0].path));
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

/// The files of the search folders matching their patterns whose first bytes are an MSI log
/// header, in path order. The search folders are those of [`MSI_LOGS`], then the copy's root
/// (where whoever made a copy may have put the logs), each once: in a copy of the system drive
/// its root is the copy's.
fn candidates(dir: &ServerFiles) -> Vec<PathBuf> {
    let mut folders: Vec<(PathBuf, Vec<&Artifact>)> = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    for a in &MSI_LOGS {
        let Some(folder) = dir.resolve(a.folder()) else {
            continue;
        };
        let real = folder.canonicalize().unwrap_or_else(|_| folder.clone());
        match seen.iter().position(|s| *s == real) {
            Some(i) => folders[i].1.push(a),
            None => {
                seen.push(real);
                folders.push((folder, vec![a]));
            }
        }
    }
    if !dir.is_live() {
        let root = dir.root().to_path_buf();
        let real = root.canonicalize().unwrap_or_else(|_| root.clone());
        if !seen.contains(&real) {
            // What was put beside the drives' folders: the patterns of a drive's root apply.
            let patterns = MSI_LOGS.iter().filter(|a| a.folder().is_empty()).collect();
            folders.push((root, patterns));
        }
    }
    let mut out = Vec::new();
    for (folder, patterns) in folders {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                patterns.iter().any(|a| a.matches(&name)) && e.path().is_file()
            })
            .map(|e| e.path())
            .take(MAX_FILES)
            .collect();
        files.sort();
        out.extend(files.into_iter().filter(|p| sniff(dir, p)));
    }
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
