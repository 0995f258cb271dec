//! A builder of triage directories: `triage().system(..).software(..).file(..).build(dir)`
//! writes hives, files and the folder layout a forensic copy of a server has.

use std::path::{Path, PathBuf};

use crate::regf::{HiveBuilder, WriteOptions};

/// Starts a triage directory with empty SYSTEM and SOFTWARE hives.
pub fn triage() -> TriageBuilder {
    TriageBuilder {
        drive_folders: false,
        system: Some(HiveBuilder::new(
            "ROOT",
            r"\SystemRoot\System32\Config\SYSTEM",
        )),
        software: Some(HiveBuilder::new(
            "ROOT",
            r"\SystemRoot\System32\Config\SOFTWARE",
        )),
        hive_options: WriteOptions::default(),
        files: Vec::new(),
        modified: Vec::new(),
    }
}

/// What goes into a triage directory.
#[derive(Debug, Clone)]
pub struct TriageBuilder {
    drive_folders: bool,
    system: Option<HiveBuilder>,
    software: Option<HiveBuilder>,
    hive_options: WriteOptions,
    /// Windows path and content.
    files: Vec<(String, Vec<u8>)>,
    /// Last write times to give files, as a copy that keeps them would.
    modified: Vec<(String, std::time::SystemTime)>,
}

impl TriageBuilder {
    /// Lays the copy out as one folder per drive letter (`C/`, `D/`).
    pub fn drive_folders(mut self, on: bool) -> Self {
        self.drive_folders = on;
        self
    }

    /// Edits the SYSTEM hive.
    pub fn system(mut self, f: impl FnOnce(&mut HiveBuilder)) -> Self {
        f(self.system.get_or_insert_with(|| triage().system.unwrap()));
        self
    }

    /// Edits the SOFTWARE hive.
    pub fn software(mut self, f: impl FnOnce(&mut HiveBuilder)) -> Self {
        f(self
            .software
            .get_or_insert_with(|| triage().software.unwrap()));
        self
    }

    /// Leaves the SYSTEM hive out of the copy.
    pub fn without_system(mut self) -> Self {
        self.system = None;
        self
    }

    /// Leaves the SOFTWARE hive out of the copy.
    pub fn without_software(mut self) -> Self {
        self.software = None;
        self
    }

    /// How hives are written (dirty or clean).
    pub fn hive_options(mut self, opts: WriteOptions) -> Self {
        self.hive_options = opts;
        self
    }

    /// Adds a file at a Windows path (`C:\ExchangeSetupLogs\ExchangeSetup.log`).
    pub fn file(mut self, windows_path: &str, content: impl Into<Vec<u8>>) -> Self {
        self.files.push((windows_path.to_string(), content.into()));
        self
    }

    /// Gives the file at a Windows path a last write time (UTC ms), as a copy that keeps
    /// file times has it; other files get the time they are written.
    pub fn modified(mut self, windows_path: &str, utc_ms: i64) -> Self {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(utc_ms.max(0) as u64);
        self.modified.push((windows_path.to_string(), t));
        self
    }

    /// Writes the copy under `root` (created if needed) and returns `root`.
    pub fn build(&self, root: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(root)?;
        let hives = [
            (&self.system, r"C:\Windows\System32\config\SYSTEM"),
            (&self.software, r"C:\Windows\System32\config\SOFTWARE"),
        ];
        for (hive, path) in hives {
            if let Some(h) = hive {
                write(&self.host_path(root, path), &h.to_bytes(self.hive_options))?;
            }
        }
        for (path, content) in &self.files {
            write(&self.host_path(root, path), content)?;
        }
        for (path, time) in &self.modified {
            std::fs::File::options()
                .write(true)
                .open(self.host_path(root, path))?
                .set_modified(*time)?;
        }
        Ok(root.to_path_buf())
    }

    /// Where a Windows path lands in the copy.
    pub fn host_path(&self, root: &Path, windows_path: &str) -> PathBuf {
        let (drive, rest) = match windows_path.as_bytes() {
            [d, b':', ..] => ((*d as char).to_ascii_uppercase(), &windows_path[2..]),
            _ => ('C', windows_path),
        };
        let mut p = root.to_path_buf();
        if self.drive_folders {
            p.push(drive.to_string());
        }
        for part in rest.split('\\').filter(|s| !s.is_empty()) {
            p.push(part);
        }
        p
    }
}

fn write(path: &Path, content: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, content)
}
