//! A triage directory: an offline copy of a server's files, read as Windows would see them.
//!
//! Two layouts exist (collector/EVIDENCE.md): the root mirrors the system drive, or it holds
//! one folder per drive letter (`C/`, `D/`). Windows paths compare case-insensitively, so
//! every component is matched without regard to case. This module only finds files; it
//! does not read them.

use std::path::{Path, PathBuf};

/// An offline copy of one server.
#[derive(Debug, Clone)]
pub struct TriageDir {
    root: PathBuf,
    /// True when the root holds one folder per drive letter.
    drive_folders: bool,
}

impl TriageDir {
    /// Opens a triage root. The layout is detected: drive-letter folders are assumed when the
    /// root has a single-letter folder that holds `Windows`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let drive_folders = std::fs::read_dir(&root)
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
        TriageDir {
            root,
            drive_folders,
        }
    }

    /// The directory given to the collector.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves a Windows path to a file of the copy. `C:\Windows\...` selects the drive's
    /// folder in the drive-letter layout; a path without a drive is on the system drive (C:).
    /// Returns `None` when any component is missing.
    pub fn resolve(&self, windows_path: &str) -> Option<PathBuf> {
        let (drive, rest) = split_drive(windows_path);
        let mut dir = if self.drive_folders {
            find_child(&self.root, &drive.unwrap_or('C').to_string())?
        } else {
            // A mirror of the system drive: other drives' files, if copied at all, were
            // copied into the same tree.
            self.root.clone()
        };
        for part in rest.split(['\\', '/']).filter(|p| !p.is_empty()) {
            dir = find_child(&dir, part)?;
        }
        Some(dir)
    }

    /// The path of a file of the copy relative to the root, with forward slashes, as
    /// provenance records it.
    pub fn display(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
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
        if self.drive_folders {
            format!("{}/{rest}", drive.unwrap_or('C'))
        } else {
            rest
        }
    }
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

/// Finds `name` in `dir`, exactly first, then without regard to ASCII case.
fn find_child(dir: &Path, name: &str) -> Option<PathBuf> {
    let exact = dir.join(name);
    if exact.exists() {
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
        let t = TriageDir::new(tmp.path());
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
        let t = TriageDir::new(tmp.path());
        assert!(t.resolve(r"D:\Exchange\Bin\ExSetup.exe").is_some());
        assert!(t.resolve(r"C:\Exchange\Bin\ExSetup.exe").is_none());
        assert_eq!(t.expected(r"d:\Exchange\Bin"), "D/Exchange/Bin");
    }
}
