//! A builder of triage directories: `triage().system(..).software(..).file(..).build(dir)`
//! writes hives, files and the folder layout a forensic copy of a server has. The same server
//! can be loaded into a Wine prefix instead: its registry as a `.reg` file
//! ([`TriageBuilder::to_reg`]) and its files under the prefix's drives
//! ([`TriageBuilder::install_into`]).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::regf::{HiveBuilder, RegData, WriteOptions};

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

    /// The SYSTEM and SOFTWARE hives as a `.reg` file, as `regedit` exports one: UTF-16LE
    /// with a byte-order mark, CRLF lines, the header `Windows Registry Editor Version 5.00`,
    /// every key as `[HKEY_LOCAL_MACHINE\SYSTEM\...]` or `[HKEY_LOCAL_MACHINE\SOFTWARE\...]`
    /// (keys without values too, so that they exist), and typed values: `"name"="text"`
    /// (`\` and `"` escaped; a string holding a line break or a NUL as `hex(1):`), `hex(2):`
    /// (REG_EXPAND_SZ), `hex(7):` (REG_MULTI_SZ), `dword:`, `hex(b):` (REG_QWORD) and `hex:`
    /// (REG_BINARY), long hex lines wrapped at 80 columns as regedit does. Strings are written
    /// with their terminating NUL, as Windows stores them and the hive writer writes them.
    ///
    /// The current control set (`ControlSet00N`, N from `Select\Current`, 1 without it) is
    /// written as `CurrentControlSet`: on Windows that is a link to it, so the import lands in
    /// the set itself, and Wine keeps its only set under that name (a `ControlSet001` would be
    /// a second set that neither services.exe nor a live collector reads).
    pub fn to_reg(&self) -> Vec<u8> {
        let mut text = String::from("Windows Registry Editor Version 5.00\r\n\r\n");
        if let Some(h) = &self.system {
            let current = h
                .keys()
                .into_iter()
                .find(|(path, _)| path.eq_ignore_ascii_case("Select"))
                .and_then(|(_, values)| {
                    values.into_iter().find_map(|(n, v)| match v {
                        RegData::Dword(d) if n.eq_ignore_ascii_case("Current") => Some(d),
                        _ => None,
                    })
                })
                .unwrap_or(1);
            reg_hive(&mut text, r"HKEY_LOCAL_MACHINE\SYSTEM", h, Some(current));
        }
        if let Some(h) = &self.software {
            reg_hive(&mut text, r"HKEY_LOCAL_MACHINE\SOFTWARE", h, None);
        }
        let mut out = vec![0xFF, 0xFE];
        out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        out
    }

    /// Writes the copy's files (not the hives: those go in with [`TriageBuilder::to_reg`])
    /// under a Wine prefix's `drive_c`, with their last write times. A path without a drive or
    /// on `C:` goes under `drive_c`; another drive letter under the sibling `drive_<letter>`,
    /// mapped to the letter in the prefix's `dosdevices` when it has one and the letter is
    /// not mapped yet. Path components are matched without regard to case with what exists
    /// (Wine's `windows` takes the copy's `Windows`): a second folder differing only in case
    /// would make Wine's lookups find one or the other. An existing file is replaced, not
    /// written through, since a prefix may share files with its template by hard links.
    pub fn install_into(&self, drive: &Path) -> std::io::Result<()> {
        for (path, content) in &self.files {
            let file = wine_file(drive, path)?;
            remove_existing(&file)?;
            write(&file, content)?;
        }
        for (path, time) in &self.modified {
            std::fs::File::options()
                .write(true)
                .open(wine_file(drive, path)?)?
                .set_modified(*time)?;
        }
        Ok(())
    }

    /// Where a Windows path lands under a Wine prefix's `drive_c` (as [`TriageBuilder::install_into`]
    /// places it; missing folders are made): to write a file there apart, replacing it rather
    /// than writing through (the prefix may share it with its template by a hard link).
    pub fn wine_file(drive: &Path, windows_path: &str) -> std::io::Result<PathBuf> {
        let file = wine_file(drive, windows_path)?;
        remove_existing(&file)?;
        Ok(file)
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

/// Writes one hive's keys below `root` (`HKEY_LOCAL_MACHINE\SYSTEM`); `current_set` maps that
/// control set to `CurrentControlSet`.
fn reg_hive(out: &mut String, root: &str, hive: &HiveBuilder, current_set: Option<u32>) {
    let current = current_set.map(|n| format!("ControlSet{n:03}"));
    for (path, values) in hive.keys() {
        // The root exists already; it is written only for values of its own.
        if path.is_empty() && values.is_empty() {
            continue;
        }
        let path = match (&current, path.split_once('\\')) {
            (Some(cs), Some((first, rest))) if first.eq_ignore_ascii_case(cs) => {
                format!(r"CurrentControlSet\{rest}")
            }
            (Some(cs), None) if path.eq_ignore_ascii_case(cs) => "CurrentControlSet".into(),
            _ => path,
        };
        out.push('[');
        out.push_str(root);
        if !path.is_empty() {
            out.push('\\');
            out.push_str(&path);
        }
        out.push_str("]\r\n");
        for (name, data) in &values {
            reg_value(out, name, data);
        }
        // A blank line after each key, as regedit writes them.
        out.push_str("\r\n");
    }
}

/// One value line (or several, for long hex data).
fn reg_value(out: &mut String, name: &str, data: &RegData) {
    let prefix = if name.is_empty() {
        "@=".to_string()
    } else {
        format!("\"{}\"=", reg_escape(name))
    };
    match data {
        RegData::Sz(s) if !s.contains(['\r', '\n', '\0']) => {
            let _ = write!(out, "{prefix}\"{}\"\r\n", reg_escape(s));
        }
        RegData::Sz(s) => reg_hex(out, &format!("{prefix}hex(1):"), &utf16z(s)),
        RegData::ExpandSz(s) => reg_hex(out, &format!("{prefix}hex(2):"), &utf16z(s)),
        RegData::MultiSz(v) => {
            let mut bytes: Vec<u8> = v.iter().flat_map(|s| utf16z(s)).collect();
            bytes.extend([0, 0]);
            reg_hex(out, &format!("{prefix}hex(7):"), &bytes);
        }
        RegData::Dword(n) => {
            let _ = write!(out, "{prefix}dword:{n:08x}\r\n");
        }
        RegData::Qword(n) => reg_hex(out, &format!("{prefix}hex(b):"), &n.to_le_bytes()),
        RegData::Binary(b) => reg_hex(out, &format!("{prefix}hex:"), b),
    }
}

/// `\` and `"` escaped, as regedit writes names and strings.
fn reg_escape(s: &str) -> String {
    s.replace('\\', r"\\").replace('"', r#"\""#)
}

/// Comma-separated hex bytes after `prefix`, continued with `\` and a two-space indent past
/// column 76, as regedit wraps them (some readers take no line of any length).
fn reg_hex(out: &mut String, prefix: &str, bytes: &[u8]) {
    out.push_str(prefix);
    let mut column = prefix.chars().count();
    for (i, b) in bytes.iter().enumerate() {
        let _ = write!(out, "{b:02x}");
        column += 2;
        if i + 1 < bytes.len() {
            out.push(',');
            column += 1;
            if column > 76 {
                out.push_str("\\\r\n  ");
                column = 2;
            }
        }
    }
    out.push_str("\r\n");
}

/// UTF-16LE with a terminating NUL, as Windows stores REG_SZ data.
fn utf16z(s: &str) -> Vec<u8> {
    s.encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect()
}

/// Where a Windows path lands under a Wine prefix whose `drive_c` is `drive`, its folders
/// created, each component matched case-insensitively with what exists.
fn wine_file(drive: &Path, windows_path: &str) -> std::io::Result<PathBuf> {
    let (letter, rest) = match windows_path.as_bytes() {
        [d, b':', ..] if d.is_ascii_alphabetic() => (d.to_ascii_lowercase(), &windows_path[2..]),
        _ => (b'c', windows_path),
    };
    let mut dir = if letter == b'c' {
        drive.to_path_buf()
    } else {
        other_drive(drive, letter as char)?
    };
    let parts: Vec<&str> = rest.split('\\').filter(|s| !s.is_empty()).collect();
    let Some((file, folders)) = parts.split_last() else {
        return Err(std::io::Error::other(format!(
            "{windows_path}: not a file path"
        )));
    };
    for part in folders {
        dir = match find_ignoring_case(&dir, part)? {
            Some(existing) => existing,
            None => {
                let new = dir.join(part);
                std::fs::create_dir(&new)?;
                new
            }
        };
    }
    Ok(find_ignoring_case(&dir, file)?.unwrap_or_else(|| dir.join(file)))
}

/// The root of drive `letter` of the prefix `drive_c` is in: where `dosdevices` maps it, or
/// a new `drive_<letter>` beside `drive_c`, mapped there when the prefix has `dosdevices`.
fn other_drive(drive_c: &Path, letter: char) -> std::io::Result<PathBuf> {
    let prefix = drive_c.parent().unwrap_or(drive_c);
    let devices = prefix.join("dosdevices");
    let link = devices.join(format!("{letter}:"));
    if let Ok(target) = std::fs::read_link(&link) {
        return Ok(devices.join(target));
    }
    let root = prefix.join(format!("drive_{letter}"));
    std::fs::create_dir_all(&root)?;
    #[cfg(unix)]
    if devices.is_dir() {
        std::os::unix::fs::symlink(format!("../drive_{letter}"), &link)?;
    }
    Ok(root)
}

/// The entry of `dir` named `name` without regard to case, the exact name first.
fn find_ignoring_case(dir: &Path, name: &str) -> std::io::Result<Option<PathBuf>> {
    let exact = dir.join(name);
    if exact.exists() {
        return Ok(Some(exact));
    }
    let lower = name.to_lowercase();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().to_lowercase() == lower {
            return Ok(Some(entry.path()));
        }
    }
    Ok(None)
}

/// Removes the file at `path` when there is one, so that writing makes a new file.
fn remove_existing(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `.reg` bytes as text, after checking the BOM and the encoding.
    fn reg_text(reg: &[u8]) -> String {
        assert_eq!(&reg[..2], &[0xFF, 0xFE], "UTF-16LE byte-order mark");
        assert_eq!(reg.len() % 2, 0);
        let units: Vec<u16> = reg[2..]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).unwrap()
    }

    #[test]
    fn to_reg_writes_every_type_escaped() {
        let t = triage()
            .system(|s| {
                s.set("Select", "Current", RegData::Dword(2));
                let svc = r"ControlSet002\Services\Svc";
                s.set(svc, "Type", RegData::Dword(0x10));
                s.set(
                    svc,
                    "DisplayName",
                    RegData::Sz(r#"A "quoted" C:\path\"#.into()),
                );
                s.set(svc, "ImagePath", RegData::ExpandSz("%Sys%\\x".into()));
                s.set(svc, "Deps", RegData::MultiSz(vec!["a".into(), "é".into()]));
                s.set(svc, "Big", RegData::Qword(0x0102_0304_0506_0708));
                s.set(svc, "Lines", RegData::Sz("one\r\ntwo".into()));
                s.key(r"ControlSet001\Empty");
                s.key("ControlSet002");
            })
            .software(|s| {
                s.set(
                    r"Vendor\Blob",
                    r#"na"me\"#,
                    RegData::Binary((0..40).collect()),
                );
                s.set(r"Vendor\Blob", "", RegData::Sz(String::new()));
            });
        let text = reg_text(&t.to_reg());
        let expected = [
            "Windows Registry Editor Version 5.00",
            "",
            r"[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001]",
            "",
            r"[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Empty]",
            "",
            r"[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet]",
            "",
            r"[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services]",
            "",
            r"[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\Svc]",
            r#""Type"=dword:00000010"#,
            r#""DisplayName"="A \"quoted\" C:\\path\\""#,
            r#""ImagePath"=hex(2):25,00,53,00,79,00,73,00,25,00,5c,00,78,00,00,00"#,
            r#""Deps"=hex(7):61,00,00,00,e9,00,00,00,00,00"#,
            r#""Big"=hex(b):08,07,06,05,04,03,02,01"#,
            r#""Lines"=hex(1):6f,00,6e,00,65,00,0d,00,0a,00,74,00,77,00,6f,00,00,00"#,
            "",
            r"[HKEY_LOCAL_MACHINE\SYSTEM\Select]",
            r#""Current"=dword:00000002"#,
            "",
            r"[HKEY_LOCAL_MACHINE\SOFTWARE\Vendor]",
            "",
            r"[HKEY_LOCAL_MACHINE\SOFTWARE\Vendor\Blob]",
            r#""na\"me\\"=hex:00,01,02,03,04,05,06,07,08,09,0a,0b,0c,0d,0e,0f,10,11,12,13,14,\"#,
            r"  15,16,17,18,19,1a,1b,1c,1d,1e,1f,20,21,22,23,24,25,26,27",
            r#"@="""#,
            "",
            "",
        ]
        .join("\r\n");
        assert_eq!(text, expected);
        // Every line fits in 80 columns, as regedit keeps them.
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    }

    #[test]
    fn install_into_merges_folders_whatever_their_case() {
        let tmp = tempfile::tempdir().unwrap();
        let drive_c = tmp.path().join("drive_c");
        std::fs::create_dir_all(drive_c.join("windows").join("system32")).unwrap();
        std::fs::create_dir_all(tmp.path().join("dosdevices")).unwrap();
        // A file the prefix shares with its template by a hard link.
        let shared = tmp.path().join("template.dll");
        std::fs::write(&shared, b"template").unwrap();
        std::fs::hard_link(
            &shared,
            drive_c.join("windows").join("system32").join("x.dll"),
        )
        .unwrap();
        let t = triage()
            .file(
                r"C:\Windows\System32\inetsrv\config\applicationHost.config",
                "iis",
            )
            .file(r"C:\WINDOWS\system32\X.DLL", "host")
            .file(r"exfleet\sc-queryex.txt", "sc")
            .file(r"D:\Program Files\Ex\Bin\ExSetup.exe", "pe")
            .file(r"d:\program files\ex\bin\other.txt", "other")
            .modified(
                r"C:\Windows\System32\inetsrv\config\applicationHost.config",
                1_700_000_000_000,
            );
        t.install_into(&drive_c).unwrap();

        let names = |dir: &Path| -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(&drive_c), ["exfleet", "windows"]);
        assert_eq!(names(&drive_c.join("windows")), ["system32"]);
        let config = drive_c.join(r"windows/system32/inetsrv/config/applicationHost.config");
        assert_eq!(std::fs::read(&config).unwrap(), b"iis");
        let mtime = std::fs::metadata(&config).unwrap().modified().unwrap();
        assert_eq!(
            mtime,
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_000)
        );
        // The existing file was replaced, under its own name, and the template kept its own.
        assert_eq!(
            names(&drive_c.join("windows/system32")),
            ["inetsrv", "x.dll"]
        );
        assert_eq!(
            std::fs::read(drive_c.join("windows/system32/x.dll")).unwrap(),
            b"host"
        );
        assert_eq!(std::fs::read(&shared).unwrap(), b"template");
        assert_eq!(
            std::fs::read(drive_c.join("exfleet/sc-queryex.txt")).unwrap(),
            b"sc"
        );
        // D: is its own drive beside C:, mapped for Wine, one folder per name.
        let drive_d = tmp.path().join("drive_d");
        assert_eq!(names(&drive_d), ["Program Files"]);
        assert_eq!(
            names(&drive_d.join("Program Files/Ex/Bin")),
            ["ExSetup.exe", "other.txt"]
        );
        #[cfg(unix)]
        assert_eq!(
            std::fs::read_link(tmp.path().join("dosdevices/d:")).unwrap(),
            Path::new("../drive_d")
        );
    }
}
