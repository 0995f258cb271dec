//! The server's files, read as Windows sees them: an offline copy of them (a triage copy), or
//! the live server's own drives.
//!
//! Two copy layouts exist (collector/EVIDENCE.md): the root mirrors the system drive, or it
//! holds one folder per drive letter (`C/`, `D/`). Windows paths compare case-insensitively, so
//! every component is matched without regard to case.
//!
//! This module is also where a copy is confined: every path a reader gets from
//! [`ServerFiles::resolve`] is inside the root (a `..` that climbs above the drive, or a link
//! whose target is outside the root, is refused and the refusal kept until the reader that
//! asked is done: [`crate::readers::read_all`] records it as a collection error), and every
//! file a reader reads is opened by [`ServerFiles::open`] or [`ServerFiles::read`], which check
//! again that it resolves inside the root and that it is a regular file (a FIFO would block
//! the collector, a device never ends) and cap what is read.
//!
//! Live, the drives are the server's own: there is no root to leave (links and junctions are
//! followed as Windows follows them), files are opened read-only and shared for reading,
//! writing and deleting, so that a log its service holds open (the event logs) is read while
//! the service goes on writing it, and provenance names the file by its Windows path.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Stable kinds of the collection errors of a refused path.
pub mod kinds {
    /// The path resolves outside the triage root (a link, or a `..` above the drive).
    pub const OUTSIDE_ROOT: &str = "outside_root";
    /// The path is not a regular file (a FIFO, a device, a socket, a folder).
    pub const NOT_A_REGULAR_FILE: &str = "not_a_regular_file";
    /// The file is larger than what its reader reads.
    pub const TOO_LARGE: &str = "too_large";
    /// The OS could not resolve or open it.
    pub const IO: &str = "io";
}

/// A path of the copy that was not read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// A stable kind ([`kinds`]).
    pub kind: &'static str,
    /// The path in the copy, relative to the root, as provenance records it.
    pub path: String,
    /// What was refused and why, naming the path.
    pub message: String,
}

/// How Windows paths map to the files read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A copy whose root mirrors the system drive.
    SystemDrive,
    /// A copy whose root holds one folder per drive letter.
    DriveFolders,
    /// The live server: `C:\` is the drive C:.
    Live,
}

/// One server's files: a copy of them, or the live server's drives.
#[derive(Debug, Clone)]
pub struct ServerFiles {
    root: PathBuf,
    /// The root with its links resolved: every path read must be under it.
    real_root: PathBuf,
    layout: Layout,
    /// Paths refused by [`ServerFiles::resolve`] since the last [`ServerFiles::take_refusals`].
    refused: Arc<Mutex<Vec<Refusal>>>,
}

impl ServerFiles {
    /// Opens a triage root. The layout is detected: drive-letter folders are assumed when the
    /// root has a single-letter folder that holds `Windows`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let real_root = root.canonicalize().unwrap_or_else(|_| root.clone());
        let drive_folders = std::fs::read_dir(&real_root)
            .map(|entries| {
                entries.flatten().any(|e| {
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    name.len() == 1
                        && name.chars().all(|c| c.is_ascii_alphabetic())
                        && find_child(&e.path(), "Windows").is_some()
                })
            })
            .unwrap_or(false);
        ServerFiles {
            root,
            real_root,
            layout: if drive_folders {
                Layout::DriveFolders
            } else {
                Layout::SystemDrive
            },
            refused: Arc::default(),
        }
    }

    /// The live server's drives; a path without a drive is on the system drive
    /// (`%SystemDrive%`, C: when unset).
    pub fn live() -> Self {
        let root = PathBuf::from(format!("{}:\\", system_drive()));
        ServerFiles {
            real_root: root.clone(),
            root,
            layout: Layout::Live,
            refused: Arc::default(),
        }
    }

    /// Whether these are the live server's drives rather than a copy.
    pub fn is_live(&self) -> bool {
        self.layout == Layout::Live
    }

    /// The directory given to the collector (live: the system drive's root).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves a Windows path to a file of the copy. `C:\Windows\...` selects the drive's
    /// folder in the drive-letter layout; a path without a drive is on the system drive (C:).
    /// Returns `None` when any component is missing, and when the path leads outside the root:
    /// that refusal is kept for [`ServerFiles::take_refusals`], so it is never silent.
    pub fn resolve(&self, windows_path: &str) -> Option<PathBuf> {
        match self.locate(windows_path) {
            Ok(found) => found,
            Err(refusal) => {
                tracing::debug!(kind = refusal.kind, path = %refusal.path, "refused");
                let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
                if !refused.contains(&refusal) {
                    refused.push(refusal);
                }
                None
            }
        }
    }

    /// [`ServerFiles::resolve`], with the refusal returned: `Ok(None)` when a component is
    /// missing, `Err` when the path leads outside the root. The path returned has its links
    /// resolved and is under the root.
    pub fn locate(&self, windows_path: &str) -> Result<Option<PathBuf>, Refusal> {
        let (drive, rest) = split_drive(windows_path);
        // Windows resolves `.` and `..` by the text of a path before it looks at the disk; a
        // `..` above the drive's root leaves the copy.
        let mut parts: Vec<&str> = Vec::new();
        for part in rest.split(['\\', '/']).filter(|p| !p.is_empty()) {
            match part {
                "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        let path = self.expected(windows_path);
                        return Err(Refusal {
                            kind: kinds::OUTSIDE_ROOT,
                            message: format!(
                                "{path}: the path '{windows_path}' climbs above the drive's \
                                 root, outside the triage root; not read"
                            ),
                            path,
                        });
                    }
                }
                p => parts.push(p),
            }
        }
        let mut dir = match self.layout {
            Layout::Live => PathBuf::from(format!("{}:\\", drive.unwrap_or_else(system_drive))),
            Layout::DriveFolders => match self.child(
                &self.real_root,
                &drive.unwrap_or('C').to_string(),
                windows_path,
            )? {
                Some(d) => d,
                None => return Ok(None),
            },
            // A mirror of the system drive: other drives' files, if copied at all, were
            // copied into the same tree.
            Layout::SystemDrive => self.real_root.clone(),
        };
        for part in parts {
            dir = match self.child(&dir, part, windows_path)? {
                Some(d) => d,
                None => return Ok(None),
            };
        }
        Ok(Some(dir))
    }

    /// One step of [`ServerFiles::locate`]: `name` in `dir` (which is inside the root), a link
    /// followed only when its target is inside the root too.
    fn child(
        &self,
        dir: &Path,
        name: &str,
        windows_path: &str,
    ) -> Result<Option<PathBuf>, Refusal> {
        let Some(found) = find_child(dir, name) else {
            return Ok(None);
        };
        let is_link = std::fs::symlink_metadata(&found).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link || self.is_live() {
            return Ok(Some(found));
        }
        let path = self.expected(windows_path);
        // The link itself, when it is a folder on the way.
        let shown = self.display(&found);
        let link = if shown == path {
            "a link".to_string()
        } else {
            format!("{shown} is a link")
        };
        match found.canonicalize() {
            Ok(real) if real.starts_with(&self.real_root) => Ok(Some(real)),
            Ok(real) => Err(Refusal {
                kind: kinds::OUTSIDE_ROOT,
                message: format!(
                    "{path}: {link} to {}, outside the triage root; not read",
                    real.display()
                ),
                path,
            }),
            Err(e) => Err(Refusal {
                kind: kinds::IO,
                message: format!("{path}: {link} that cannot be followed: {e}"),
                path,
            }),
        }
    }

    /// The paths refused since the last call, each once, in the order they were met.
    pub fn take_refusals(&self) -> Vec<Refusal> {
        std::mem::take(&mut *self.refused.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Opens a file of the copy for reading, with its size: the file must resolve inside the
    /// root (links included) and be a regular file. Every reader opens its files here.
    pub fn open(&self, path: &Path) -> Result<(File, u64), Refusal> {
        let shown = self.display(path);
        let refuse = |kind, message: String| Refusal {
            kind,
            path: shown.clone(),
            message: format!("{shown}: {message}"),
        };
        let real = if self.is_live() {
            path.to_path_buf()
        } else {
            path.canonicalize()
                .map_err(|e| refuse(kinds::IO, e.to_string()))?
        };
        if !self.is_live() && !real.starts_with(&self.real_root) {
            return Err(refuse(
                kinds::OUTSIDE_ROOT,
                format!(
                    "resolves to {}, outside the triage root; not read",
                    real.display()
                ),
            ));
        }
        // Looked at before it is opened: opening a FIFO blocks until a writer comes.
        let meta = std::fs::metadata(&real).map_err(|e| refuse(kinds::IO, e.to_string()))?;
        if !meta.is_file() {
            return Err(refuse(
                kinds::NOT_A_REGULAR_FILE,
                format!("is {}, not a regular file; not read", file_type(&meta)),
            ));
        }
        // Rust opens a file on Windows shared for reading, writing and deleting: the EventLog
        // service, which holds its logs open for writing, goes on while they are read.
        let file = File::open(&real).map_err(|e| refuse(kinds::IO, e.to_string()))?;
        // And again on the open file, in case it was replaced in between.
        let meta = file
            .metadata()
            .map_err(|e| refuse(kinds::IO, e.to_string()))?;
        if !meta.is_file() {
            return Err(refuse(
                kinds::NOT_A_REGULAR_FILE,
                format!("is {}, not a regular file; not read", file_type(&meta)),
            ));
        }
        Ok((file, meta.len()))
    }

    /// Opens a file of the copy that is read whole (see [`ServerFiles::open`]), refusing one
    /// larger than `max` bytes: for formats that are read whole (hives, PE images, XML
    /// configs), a cut file would be misread.
    pub fn open_whole(&self, path: &Path, max: u64) -> Result<(File, u64), Refusal> {
        let (file, len) = self.open(path)?;
        if len > max {
            return Err(self.too_large(path, len, max));
        }
        Ok((file, len))
    }

    /// Reads a whole file of the copy (see [`ServerFiles::open_whole`]).
    pub fn read(&self, path: &Path, max: u64) -> Result<Vec<u8>, Refusal> {
        let (file, len) = self.open_whole(path, max)?;
        let mut bytes = Vec::with_capacity(len as usize);
        file.take(max + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Refusal {
                kind: kinds::IO,
                path: self.display(path),
                message: format!("{}: {e}", self.display(path)),
            })?;
        if bytes.len() as u64 > max {
            // It grew while it was read.
            return Err(self.too_large(path, bytes.len() as u64, max));
        }
        Ok(bytes)
    }

    fn too_large(&self, path: &Path, len: u64, max: u64) -> Refusal {
        let shown = self.display(path);
        Refusal {
            kind: kinds::TOO_LARGE,
            message: format!(
                "{shown}: {len} bytes, more than the {max} bytes this reader reads; not read"
            ),
            path: shown,
        }
    }

    /// The path of a file of the copy relative to the root, with forward slashes, as
    /// provenance records it; live, its Windows path.
    pub fn display(&self, path: &Path) -> String {
        if self.is_live() {
            return path.display().to_string();
        }
        let rel = path
            .strip_prefix(&self.real_root)
            .or_else(|_| path.strip_prefix(&self.root))
            .unwrap_or(path);
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The path a Windows path would have in the copy, for messages about absent files.
    pub fn expected(&self, windows_path: &str) -> String {
        let (drive, rest) = split_drive(windows_path);
        let rest = rest
            .split(['\\', '/'])
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("/");
        match self.layout {
            Layout::Live => format!(
                "{}:\\{}",
                drive.unwrap_or_else(system_drive),
                rest.replace('/', "\\")
            ),
            Layout::DriveFolders => format!("{}/{rest}", drive.unwrap_or('C')),
            Layout::SystemDrive => rest,
        }
    }
}

/// The system drive's letter: `%SystemDrive%` (`C:`), C when unset.
fn system_drive() -> char {
    std::env::var("SystemDrive")
        .ok()
        .and_then(|d| d.chars().next())
        .filter(char::is_ascii_alphabetic)
        .map_or('C', |c| c.to_ascii_uppercase())
}

/// Splits `C:\x` into `(Some('C'), "\x")`.
fn split_drive(path: &str) -> (Option<char>, &str) {
    let mut chars = path.chars();
    match (chars.next(), chars.next()) {
        (Some(d), Some(':')) if d.is_ascii_alphabetic() => {
            (Some(d.to_ascii_uppercase()), &path[2..])
        }
        _ => (None, path),
    }
}

/// What a file that is not a regular file is, for messages.
fn file_type(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}

/// Finds `name` in `dir`, exactly first, then without regard to ASCII case. A link is found
/// as itself (its target is judged by the caller).
fn find_child(dir: &Path, name: &str) -> Option<PathBuf> {
    let exact = dir.join(name);
    if exact.symlink_metadata().is_ok() {
        return Some(exact);
    }
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .find(|e| e.file_name().to_string_lossy().eq_ignore_ascii_case(name))
        .map(|e| e.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_case_insensitively_in_a_system_drive_mirror() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("windows/System32/CONFIG");
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join("system"), b"x").unwrap();
        let t = ServerFiles::new(tmp.path());
        let found = t.resolve(r"C:\Windows\System32\config\SYSTEM").unwrap();
        assert_eq!(t.display(&found), "windows/System32/CONFIG/system");
        assert!(t.resolve(r"Windows\System32\config\SOFTWARE").is_none());
    }

    #[test]
    fn drive_letter_folders_select_the_drive() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("C/Windows")).unwrap();
        let bin = tmp.path().join("D/Exchange/Bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("ExSetup.exe"), b"MZ").unwrap();
        let t = ServerFiles::new(tmp.path());
        assert!(t.resolve(r"D:\Exchange\Bin\ExSetup.exe").is_some());
        assert!(t.resolve(r"C:\Exchange\Bin\ExSetup.exe").is_none());
        assert_eq!(t.expected(r"d:\Exchange\Bin"), "D/Exchange/Bin");
    }

    #[cfg(unix)]
    fn outside_and_inside() -> (tempfile::TempDir, PathBuf, ServerFiles) {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.txt"), b"not the server's").unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("ExchangeSetupLogs")).unwrap();
        std::fs::write(root.join("ExchangeSetupLogs/inside.log"), b"ok").unwrap();
        let t = ServerFiles::new(&root);
        (tmp, outside, t)
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_a_file_outside_the_root_is_refused_and_named() {
        let (_tmp, outside, t) = outside_and_inside();
        let logs = t.root().join("ExchangeSetupLogs");
        std::os::unix::fs::symlink(outside.join("secret.txt"), logs.join("ExchangeSetup.log"))
            .unwrap();
        // A folder linked out of the copy is refused at that step.
        std::os::unix::fs::symlink(&outside, t.root().join("Windows")).unwrap();
        // A link that stays inside is followed.
        std::os::unix::fs::symlink(logs.join("inside.log"), logs.join("alias.log")).unwrap();
        assert!(t
            .resolve(r"C:\ExchangeSetupLogs\ExchangeSetup.log")
            .is_none());
        assert!(t.resolve(r"Windows\secret.txt").is_none());
        let alias = t.resolve(r"ExchangeSetupLogs\alias.log").unwrap();
        assert_eq!(t.display(&alias), "ExchangeSetupLogs/inside.log");
        let refused = t.take_refusals();
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert!(refused.iter().all(|r| r.kind == kinds::OUTSIDE_ROOT));
        assert_eq!(refused[0].path, "ExchangeSetupLogs/ExchangeSetup.log");
        assert!(
            refused[0].message.contains("secret.txt"),
            "{}",
            refused[0].message
        );
        assert!(t.take_refusals().is_empty(), "taken once");
        // Opening the link directly is refused too.
        let r = t.open(&logs.join("ExchangeSetup.log")).unwrap_err();
        assert_eq!(r.kind, kinds::OUTSIDE_ROOT);
    }

    #[test]
    fn dot_dot_above_the_drive_is_refused_and_within_it_resolved() {
        let tmp = tempfile::tempdir().unwrap();
        let bin = tmp.path().join("root/Program Files/Exchange/Bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("ExSetup.exe"), b"MZ").unwrap();
        std::fs::create_dir_all(tmp.path().join("Bin")).unwrap();
        std::fs::write(tmp.path().join("Bin/ExSetup.exe"), b"MZ").unwrap();
        let t = ServerFiles::new(tmp.path().join("root"));
        let inside = t.resolve(r"C:\Program Files\Other\..\Exchange\Bin\ExSetup.exe");
        assert_eq!(
            t.display(&inside.unwrap()),
            "Program Files/Exchange/Bin/ExSetup.exe"
        );
        assert!(t
            .resolve(r"C:\Program Files\..\..\Bin\ExSetup.exe")
            .is_none());
        let refused = t.take_refusals();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].kind, kinds::OUTSIDE_ROOT);
        assert!(
            refused[0].message.contains(r"..\..\Bin"),
            "{}",
            refused[0].message
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_and_a_device_are_never_opened() {
        let (_tmp, _outside, t) = outside_and_inside();
        let logs = t.root().join("ExchangeSetupLogs");
        let fifo = logs.join("ExchangeSetup.log");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let found = t.resolve(r"ExchangeSetupLogs\ExchangeSetup.log").unwrap();
            let r = t.open(&found).unwrap_err();
            assert_eq!(r.kind, kinds::NOT_A_REGULAR_FILE);
            assert!(r.message.contains("FIFO"), "{}", r.message);
        } else {
            eprintln!("skipped the FIFO: mkfifo not found");
        }
        std::os::unix::fs::symlink("/dev/zero", logs.join("zero.log")).unwrap();
        assert!(t.resolve(r"ExchangeSetupLogs\zero.log").is_none());
        assert_eq!(t.take_refusals()[0].kind, kinds::OUTSIDE_ROOT);
        let r = t.open(&logs.join("zero.log")).unwrap_err();
        assert_eq!(r.kind, kinds::OUTSIDE_ROOT);
        // A folder is not a file either.
        assert_eq!(t.open(&logs).unwrap_err().kind, kinds::NOT_A_REGULAR_FILE);
    }

    #[test]
    fn a_file_over_the_cap_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("big"), vec![b'x'; 100]).unwrap();
        let t = ServerFiles::new(tmp.path());
        let p = t.resolve("big").unwrap();
        assert_eq!(t.read(&p, 100).unwrap().len(), 100);
        let r = t.read(&p, 99).unwrap_err();
        assert_eq!(r.kind, kinds::TOO_LARGE);
        assert!(r.message.starts_with("big: 100 bytes"), "{}", r.message);
    }
}
