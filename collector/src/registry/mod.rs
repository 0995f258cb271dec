//! The registry as the readers see it: keys and typed values below a hive's root, from one of
//! two sources behind [`Source`]: a hive file of a triage copy ([`offline`], parsed with
//! notatin) or the running server's registry through the Windows API (`live`, Windows only).
//!
//! The SYSTEM and SOFTWARE readers are written once against [`Hive`]; only where the keys come
//! from differs, and so only the provenance's path (the hive file in the copy, or `HKLM\SYSTEM`
//! read live).

pub mod offline;
pub mod value;

#[cfg(windows)]
pub mod live;

use std::cell::RefCell;
use std::rc::Rc;

use exfleet_proto::v1::artifact_status::State;

use crate::files::ServerFiles;
use crate::provenance;
use crate::sink::{Sink, MAX_LINE_ERRORS};
use crate::text::{cap_field, MAX_FIELD_BYTES};
pub use value::Value;

/// A hive the readers read: where it is in a copy, and how Windows mounts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mount {
    /// `HKLM\SYSTEM`, the file `Windows\System32\config\SYSTEM`.
    System,
    /// `HKLM\SOFTWARE`, the file `Windows\System32\config\SOFTWARE`.
    Software,
}

impl Mount {
    /// How Windows names the hive's root.
    pub const fn name(self) -> &'static str {
        match self {
            Mount::System => r"HKLM\SYSTEM",
            Mount::Software => r"HKLM\SOFTWARE",
        }
    }

    /// Where the hive's file is on the system drive.
    pub const fn file(self) -> &'static str {
        match self {
            Mount::System => crate::artifacts::SYSTEM_HIVE.path,
            Mount::Software => crate::artifacts::SOFTWARE_HIVE.path,
        }
    }
}

/// A key as a source gives it: its name and its values, read at once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawKey {
    /// The key's own name (its last path component).
    pub name: String,
    /// Its values by name, in the order the source lists them.
    pub values: Vec<(String, Value)>,
}

/// A problem a source met reading a key, recorded as a collection error of the hive's reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Stable snake_case kind (`damaged_hive`, `access_denied`, ...).
    pub kind: &'static str,
    /// Byte offset in the hive file, when the source is a file and knows it.
    pub offset: Option<u64>,
    /// What happened, naming the key.
    pub message: String,
}

/// Where the keys of one hive come from.
pub trait Source {
    /// The key at `path` below the hive's root (`ControlSet001\Services`), `None` when it does
    /// not exist. Problems met on the way are pushed to `damage`.
    fn key(&mut self, path: &str, damage: &mut Vec<Damage>) -> Option<RawKey>;
    /// The subkeys of the key at `path` (which exists), each with its values.
    fn subkeys(&mut self, path: &str, damage: &mut Vec<Damage>) -> Vec<RawKey>;
}

/// String values cut by [`Key::string`] and [`Key::multi_string`]: (key, value, length).
type Cuts = Rc<RefCell<Vec<(String, String, usize)>>>;

/// An open hive and the problems met while reading it.
pub struct Hive {
    source: Box<dyn Source>,
    reader: &'static str,
    /// Where the hive was read: its file relative to the triage root, or its live name.
    path: String,
    mount: Mount,
    live: bool,
    damaged: bool,
    cut: Cuts,
}

/// A key of a hive with its values read.
pub struct Key {
    raw: RawKey,
    /// Path below the hive's root, as the source takes it.
    below_root: String,
    /// Registry path as Windows names it (`HKLM\SYSTEM\ControlSet001\Services`).
    pub path: String,
    cut: Cuts,
}

impl Hive {
    /// Opens the hive `mount` of the server: its file in a triage copy, or the live registry.
    /// Absence, an unreadable file and a file that is not a hive are recorded in `out`, and
    /// `None` is returned.
    pub fn open(
        files: &ServerFiles,
        mount: Mount,
        reader: &'static str,
        out: &mut Sink,
    ) -> Option<Hive> {
        if files.is_live() {
            return Self::open_live(mount, reader, out);
        }
        let opened = offline::open(files, mount, reader, out)?;
        Some(Self::with(
            Box::new(opened.source),
            reader,
            opened.path,
            mount,
            opened.damaged,
        ))
    }

    #[cfg(windows)]
    fn open_live(mount: Mount, reader: &'static str, out: &mut Sink) -> Option<Hive> {
        match live::LiveHive::open(mount) {
            Ok(source) => {
                let mut hive = Self::with(
                    Box::new(source),
                    reader,
                    mount.name().to_string(),
                    mount,
                    false,
                );
                hive.live = true;
                Some(hive)
            }
            Err(e) => {
                out.artifact(reader, mount.name(), State::Unreadable);
                out.error(
                    reader,
                    "access_denied",
                    mount.name(),
                    None,
                    format!("{}: {e}", mount.name()),
                );
                None
            }
        }
    }

    #[cfg(not(windows))]
    fn open_live(mount: Mount, reader: &'static str, out: &mut Sink) -> Option<Hive> {
        out.artifact(reader, mount.name(), State::Unreadable);
        out.error(
            reader,
            "unsupported",
            mount.name(),
            None,
            format!(
                "{}: the live registry is read on Windows only",
                mount.name()
            ),
        );
        None
    }

    /// A hive over any source: `path` is where it was read, as provenance names it.
    pub fn with(
        source: Box<dyn Source>,
        reader: &'static str,
        path: String,
        mount: Mount,
        damaged: bool,
    ) -> Hive {
        Hive {
            source,
            reader,
            path,
            mount,
            live: false,
            damaged,
            cut: Cuts::default(),
        }
    }

    /// Whether this is the running server's registry rather than a hive file.
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// Where the hive was read: its file relative to the triage root, or `HKLM\SYSTEM` live.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Reads the key at `path` below the hive root (`ControlSet001\Services`), or `None`
    /// when it does not exist. Damage met on the way is recorded.
    pub fn key(&mut self, path: &str, out: &mut Sink) -> Option<Key> {
        let mut damage = Vec::new();
        let raw = self.source.key(path, &mut damage);
        self.record(damage, out);
        let display = format!("{}\\{}", self.mount.name(), path);
        raw.map(|raw| self.wrap(raw, path.to_string(), display))
    }

    /// The subkeys of `key`, each with its values read.
    pub fn subkeys(&mut self, key: &Key, out: &mut Sink) -> Vec<Key> {
        let mut damage = Vec::new();
        let subs = self.source.subkeys(&key.below_root, &mut damage);
        self.record(damage, out);
        subs.into_iter()
            .map(|raw| {
                let below = format!("{}\\{}", key.below_root, raw.name);
                let display = format!("{}\\{}", key.path, raw.name);
                self.wrap(raw, below, display)
            })
            .collect()
    }

    fn wrap(&self, raw: RawKey, below_root: String, path: String) -> Key {
        Key {
            raw,
            below_root,
            path,
            cut: Rc::clone(&self.cut),
        }
    }

    /// Provenance of a value of this hive.
    pub fn at(&self, key: &Key, value: &str) -> exfleet_proto::v1::Provenance {
        provenance::reg(self.reader, &self.path, &key.path, value)
    }

    /// Records the artifact's final state, and the string values that were cut.
    pub fn finish(self, out: &mut Sink) {
        let cuts = self.cut.borrow();
        for (key, value, len) in cuts.iter().take(MAX_LINE_ERRORS) {
            out.error(
                self.reader,
                "field_truncated",
                &self.path,
                Some(provenance::reg(self.reader, &self.path, key, value)),
                format!(
                    "{}: {key}\\{value} is {len} bytes long; its first {MAX_FIELD_BYTES} bytes \
                     are kept",
                    self.path
                ),
            );
        }
        if cuts.len() > MAX_LINE_ERRORS {
            out.error(
                self.reader,
                "field_truncated",
                &self.path,
                None,
                format!(
                    "{}: {} more string values cut",
                    self.path,
                    cuts.len() - MAX_LINE_ERRORS
                ),
            );
        }
        drop(cuts);
        let state = if self.damaged {
            State::Partial
        } else {
            State::Read
        };
        out.artifact(self.reader, &self.path, state);
    }

    fn record(&mut self, damage: Vec<Damage>, out: &mut Sink) {
        for d in damage {
            self.damaged = true;
            let loc = d
                .offset
                .map(|o| provenance::offset(self.reader, &self.path, o));
            out.error(self.reader, d.kind, &self.path, loc, d.message);
        }
    }
}

impl Key {
    /// Name of the key (its last path component).
    pub fn name(&self) -> &str {
        &self.raw.name
    }

    /// Every value of the key, in the order the source lists them.
    pub fn values(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.raw.values.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// A value's content, `None` when the value does not exist. Value names compare without
    /// regard to case, as Windows compares them.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.raw
            .values
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// A string value (REG_SZ or REG_EXPAND_SZ; the first of a REG_MULTI_SZ; a DWORD in
    /// decimal), cut at [`MAX_FIELD_BYTES`] (the cut is recorded when the hive is finished).
    pub fn string(&self, name: &str) -> Option<String> {
        let mut s = match self.value(name)? {
            Value::String(s) => s.clone(),
            Value::MultiString(v) => v.first()?.clone(),
            Value::Dword(n) => n.to_string(),
            _ => return None,
        };
        self.cap(name, &mut s);
        Some(s)
    }

    fn cap(&self, name: &str, s: &mut String) {
        if let Some(len) = cap_field(s, MAX_FIELD_BYTES) {
            let cut = (self.path.clone(), name.to_string(), len);
            let mut cuts = self.cut.borrow_mut();
            if !cuts.contains(&cut) {
                cuts.push(cut);
            }
        }
    }

    /// A DWORD value; a QWORD that fits and a numeric string are accepted, as some tools write
    /// them so.
    pub fn dword(&self, name: &str) -> Option<u32> {
        match self.value(name)? {
            Value::Dword(n) => Some(*n),
            Value::Qword(n) => u32::try_from(*n).ok(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A binary value.
    pub fn binary(&self, name: &str) -> Option<Vec<u8>> {
        match self.value(name)? {
            Value::Binary(b) => Some(b.clone()),
            _ => None,
        }
    }

    /// A multi-string value (REG_MULTI_SZ), empty strings dropped; a single string as a list
    /// of one.
    pub fn multi_string(&self, name: &str) -> Option<Vec<String>> {
        let mut v = match self.value(name)? {
            Value::MultiString(v) => v.iter().filter(|s| !s.is_empty()).cloned().collect(),
            Value::String(s) => vec![s.clone()],
            _ => return None,
        };
        for s in &mut v {
            self.cap(name, s);
        }
        Some(v)
    }
}
