//! Registry hives: opening a hive file of the copy with notatin, replaying its transaction
//! logs, and reading keys and values with every problem recorded where it was met.
//!
//! Hives copied from a running machine are often dirty (sequence numbers differ). With its
//! `.LOG1`/`.LOG2` beside it a dirty hive is replayed by notatin; without them it is read
//! as it is and reported (`dirty_hive`), never silently trusted. Damaged cells and keys are
//! reported with their file offset and reading goes on with the rest.

pub mod cert_blob;
pub mod software;
pub mod system;

use std::cell::RefCell;
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use exfleet_proto::v1::artifact_status::State;
use notatin::cell_key_node::CellKeyNode;
use notatin::cell_value::CellValue;
use notatin::parser::Parser;
use notatin::parser_builder::ParserBuilder;

use crate::files::ServerFiles;
use crate::provenance;
use crate::sink::{Sink, MAX_LINE_ERRORS};
use crate::text::{cap_field, MAX_FIELD_BYTES};

/// Size of the regf base block; the hive bins follow it.
const BASE_BLOCK_LEN: usize = 4096;

/// An open hive and the problems met while reading it.
pub struct Hive {
    parser: Parser,
    reader: &'static str,
    /// Path of the hive file relative to the triage root.
    path: String,
    /// How Windows names the hive's root (`HKLM\SYSTEM`).
    mount: &'static str,
    damaged: bool,
    /// String values longer than [`MAX_FIELD_BYTES`], cut as they were read.
    cut: Cuts,
}

/// String values cut by [`Key::string`] and [`Key::multi_string`]: (key, value, length).
type Cuts = Rc<RefCell<Vec<(String, String, usize)>>>;

/// A key of a hive with its values read.
pub struct Key {
    node: CellKeyNode,
    /// Registry path as Windows names it (`HKLM\SYSTEM\ControlSet001\Services`).
    pub path: String,
    cut: Cuts,
}

impl Hive {
    /// Opens `windows_path` (e.g. `Windows\System32\config\SYSTEM`) from the copy, mounted as
    /// `mount`. Absence, an unreadable file and a file that is not a hive are recorded in
    /// `out`, and `None` is returned.
    pub fn open(
        dir: &ServerFiles,
        windows_path: &str,
        mount: &'static str,
        reader: &'static str,
        out: &mut Sink,
    ) -> Option<Hive> {
        let Some(file) = dir.resolve(windows_path) else {
            out.absent(reader, &dir.expected(windows_path));
            return None;
        };
        let path = dir.display(&file);
        let bytes = match dir.read(&file, crate::readers::MAX_HIVE_BYTES) {
            Ok(b) => b,
            Err(refusal) => {
                out.refused(reader, &refusal, true);
                return None;
            }
        };
        if let Err((kind, at, msg)) = check_base_block(&bytes) {
            out.artifact(reader, &path, State::Unreadable);
            let loc = provenance::offset(reader, &path, at as u64);
            out.error(
                reader,
                kind,
                &path,
                Some(loc),
                format!("{path}: offset 0x{at:08x}: {msg}"),
            );
            return None;
        }
        let mut logs: Vec<(String, Vec<u8>)> = Vec::new();
        for ext in ["LOG1", "LOG2"] {
            let Some(p) = dir.resolve(&format!("{windows_path}.{ext}")) else {
                continue;
            };
            match dir.read(&p, crate::readers::MAX_HIVE_BYTES) {
                Ok(b) if !b.is_empty() => logs.push((dir.display(&p), b)),
                Ok(_) => {}
                Err(refusal) => out.refused(reader, &refusal, false),
            }
        }
        let declared = BASE_BLOCK_LEN + u32_at(&bytes, 40) as usize;
        let truncated = bytes.len() < declared;
        if truncated {
            out.error(
                reader,
                "truncated",
                &path,
                Some(provenance::offset(reader, &path, bytes.len() as u64)),
                format!(
                    "{path}: offset 0x{:08x}: file ends before the {declared} bytes its base block \
                     declares; keys past this point are missing",
                    bytes.len()
                ),
            );
        }
        let dirty = is_dirty(&bytes);
        if dirty && logs.is_empty() {
            out.error(
                reader,
                "dirty_hive",
                &path,
                Some(provenance::offset(reader, &path, 4)),
                format!(
                    "{path}: hive is dirty (sequence numbers {} and {} differ) and no transaction \
                     log is beside it: recent changes may be missing",
                    u32_at(&bytes, 4),
                    u32_at(&bytes, 8)
                ),
            );
        }
        let built = catch_unwind(AssertUnwindSafe(|| {
            let mut builder = ParserBuilder::from_file(Cursor::new(bytes));
            for (_, log) in &logs {
                builder.with_transaction_log(Cursor::new(log.clone()));
            }
            builder.build()
        }));
        let parser = match built {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                out.artifact(reader, &path, State::Unreadable);
                out.error(
                    reader,
                    "malformed_hive",
                    &path,
                    None,
                    format!("{path}: {e}"),
                );
                return None;
            }
            Err(_) => {
                out.artifact(reader, &path, State::Unreadable);
                out.error(
                    reader,
                    "malformed_hive",
                    &path,
                    None,
                    format!("{path}: the hive parser gave up on this file"),
                );
                return None;
            }
        };
        let mut hive = Hive {
            parser,
            reader,
            path,
            mount,
            damaged: truncated || (dirty && logs.is_empty()),
            cut: Cuts::default(),
        };
        if dirty && !logs.is_empty() {
            let names: Vec<&str> = logs.iter().map(|(n, _)| n.as_str()).collect();
            tracing::info!(hive = %hive.path, logs = ?names, "replayed transaction logs");
        }
        hive.drain_parse_logs(out);
        Some(hive)
    }

    /// Path of the hive file relative to the triage root.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Reads the key at `path` below the hive root (`ControlSet001\Services`), or `None`
    /// when it does not exist. Damage met on the way is recorded.
    pub fn key(&mut self, path: &str, out: &mut Sink) -> Option<Key> {
        let result = catch_unwind(AssertUnwindSafe(|| self.parser.get_key(path, false)));
        let display = format!("{}\\{}", self.mount, path);
        match result {
            Ok(Ok(Some(node))) => {
                self.record_key_logs(&node, out);
                Some(Key {
                    node,
                    path: display,
                    cut: Rc::clone(&self.cut),
                })
            }
            Ok(Ok(None)) => None,
            Ok(Err(e)) => {
                self.damage(out, None, format!("{display}: {e}"));
                None
            }
            Err(_) => {
                self.damage(
                    out,
                    None,
                    format!("{display}: the hive parser gave up on this key"),
                );
                None
            }
        }
    }

    /// The subkeys of `key`, each with its values read.
    pub fn subkeys(&mut self, key: &mut Key, out: &mut Sink) -> Vec<Key> {
        let parent = key.path.clone();
        let parser = &mut self.parser;
        let subs = catch_unwind(AssertUnwindSafe(|| key.node.read_sub_keys(parser)));
        // read_sub_keys records unreadable subkeys in the parent's logs.
        self.record_key_logs(&key.node, out);
        key.node.logs = Default::default();
        match subs {
            Ok(subs) => subs
                .into_iter()
                .map(|node| {
                    self.record_key_logs(&node, out);
                    let path = format!("{parent}\\{}", node.key_name);
                    Key {
                        node,
                        path,
                        cut: Rc::clone(&self.cut),
                    }
                })
                .collect(),
            Err(_) => {
                self.damage(
                    out,
                    None,
                    format!("{parent}: the hive parser gave up on its subkeys"),
                );
                Vec::new()
            }
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

    fn record_key_logs(&mut self, node: &CellKeyNode, out: &mut Sink) {
        let Some(logs) = node.logs.get() else { return };
        let key = format!(
            "{}\\{}",
            self.mount,
            node.get_pretty_path().trim_start_matches('\\')
        );
        for log in logs {
            // notatin names the damaged cell's offset in decimal at the end of its message;
            // without one the key's own cell is the best location.
            let offset = trailing_offset(&log.text).unwrap_or(node.file_offset_absolute as u64);
            let msg = format!(
                "{}: offset 0x{offset:08x} (under {key}): {}",
                self.path, log.text
            );
            self.damage(out, Some(offset), msg);
        }
    }

    fn drain_parse_logs(&mut self, out: &mut Sink) {
        let Some(logs) = self.parser.get_parse_logs().get().cloned() else {
            return;
        };
        for log in logs {
            use notatin::log::LogCode;
            match log.code {
                // Sequence numbers and replay progress are reported by `open` already.
                LogCode::Info | LogCode::WarningTransactionLog => {}
                LogCode::WarningBaseBlock if log.text.contains("sequence numbers") => {}
                _ => {
                    let msg = format!("{}: {}", self.path, log.text);
                    self.damage(out, None, msg);
                }
            }
        }
    }

    fn damage(&mut self, out: &mut Sink, offset: Option<u64>, msg: String) {
        self.damaged = true;
        let loc = offset.map(|o| provenance::offset(self.reader, &self.path, o));
        out.error(self.reader, "damaged_hive", &self.path, loc, msg);
    }
}

impl Key {
    /// Name of the key (its last path component).
    pub fn name(&self) -> &str {
        &self.node.key_name
    }

    /// File offset of the key's cell.
    pub fn offset(&self) -> u64 {
        self.node.file_offset_absolute as u64
    }

    /// A value's content, `None` when the value does not exist or cannot be decoded.
    pub fn value(&self, name: &str) -> Option<CellValue> {
        let (content, _) = self.node.get_value(name)?.get_content();
        (content != CellValue::Error).then_some(content)
    }

    /// A string value (REG_SZ or REG_EXPAND_SZ), with trailing NULs removed, cut at
    /// [`MAX_FIELD_BYTES`] (the cut is recorded when the hive is finished).
    pub fn string(&self, name: &str) -> Option<String> {
        let mut s = match self.value(name)? {
            CellValue::String(s) => s.trim_end_matches('\0').to_string(),
            CellValue::MultiString(v) => v.into_iter().next()?,
            CellValue::U32(n) => n.to_string(),
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

    /// A DWORD value; a numeric string is accepted, as some tools write them so.
    pub fn dword(&self, name: &str) -> Option<u32> {
        match self.value(name)? {
            CellValue::U32(n) => Some(n),
            CellValue::I32(n) => Some(n as u32),
            CellValue::U64(n) => u32::try_from(n).ok(),
            CellValue::String(s) => s.trim_end_matches('\0').trim().parse().ok(),
            _ => None,
        }
    }

    /// A binary value.
    pub fn binary(&self, name: &str) -> Option<Vec<u8>> {
        match self.value(name)? {
            CellValue::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// A multi-string value (REG_MULTI_SZ), empty strings dropped.
    pub fn multi_string(&self, name: &str) -> Option<Vec<String>> {
        let mut v = match self.value(name)? {
            CellValue::MultiString(v) => v.into_iter().filter(|s| !s.is_empty()).collect(),
            CellValue::String(s) => vec![s],
            _ => return None,
        };
        for s in &mut v {
            self.cap(name, s);
        }
        Some(v)
    }
}

/// Checks the base block enough to know the file is a hive worth handing to the parser.
/// Returns the error kind, the offset and a message.
fn check_base_block(bytes: &[u8]) -> Result<(), (&'static str, usize, String)> {
    if bytes.len() < 4 || &bytes[..4] != b"regf" {
        return Err(("not_a_hive", 0, "no regf signature".to_string()));
    }
    if bytes.len() < BASE_BLOCK_LEN + 32 {
        return Err((
            "truncated",
            bytes.len(),
            format!(
                "file ends after {} bytes, before the first hive bin",
                bytes.len()
            ),
        ));
    }
    Ok(())
}

/// The number after the last "offset " of a notatin message.
fn trailing_offset(text: &str) -> Option<u64> {
    let rest = &text[text.rfind("offset ")? + "offset ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A hive is dirty when its primary and secondary sequence numbers differ.
fn is_dirty(bytes: &[u8]) -> bool {
    u32_at(bytes, 4) != u32_at(bytes, 8)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .unwrap_or(0)
}
