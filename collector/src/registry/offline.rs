//! A hive file of a triage copy, parsed with notatin: its transaction logs replayed, keys and
//! values read with every problem recorded where it was met.
//!
//! Hives copied from a running machine are often dirty (sequence numbers differ). With its
//! `.LOG1`/`.LOG2` beside it a dirty hive is replayed by notatin; without them it is read
//! as it is and reported (`dirty_hive`), never silently trusted. Damaged cells and keys are
//! reported with their file offset and reading goes on with the rest.

use std::io::{Cursor, Read, Seek};
use std::panic::{catch_unwind, AssertUnwindSafe};

use exfleet_proto::v1::artifact_status::State;
use notatin::cell_key_node::CellKeyNode;
use notatin::parser::Parser;
use notatin::parser_builder::ParserBuilder;

use super::{Damage, Mount, RawKey, Source};
use crate::files::ServerFiles;
use crate::provenance;
use crate::sink::Sink;

/// Size of the regf base block; the hive bins follow it.
const BASE_BLOCK_LEN: usize = 4096;

/// A parsed hive file.
pub struct OfflineHive {
    parser: Parser,
    /// Path of the hive file relative to the triage root, for messages.
    path: String,
    mount: Mount,
}

/// A hive file opened: the source, where it is in the copy, and whether it is known to be
/// incomplete (truncated, or dirty with no log to replay).
pub struct Opened {
    /// The parsed hive.
    pub source: OfflineHive,
    /// Path of the hive file relative to the triage root.
    pub path: String,
    /// Keys may be missing: the file is truncated, or dirty with no transaction log.
    pub damaged: bool,
}

/// Opens the hive file of `mount` from the copy. Absence, an unreadable file and a file that
/// is not a hive are recorded in `out`, and `None` is returned.
pub fn open(
    files: &ServerFiles,
    mount: Mount,
    reader: &'static str,
    out: &mut Sink,
) -> Option<Opened> {
    let windows_path = mount.file();
    let Some(file) = files.resolve(windows_path) else {
        out.absent(reader, &files.expected(windows_path));
        return None;
    };
    let path = files.display(&file);
    // The hive goes to the parser as a file, so that it is held once (the parser reads it
    // whole); its base block is read first.
    let opened = files
        .open_whole(&file, crate::readers::MAX_HIVE_BYTES)
        .and_then(|(mut f, len)| {
            let mut head = Vec::with_capacity(BASE_BLOCK_LEN + 32);
            (&mut f)
                .take(BASE_BLOCK_LEN as u64 + 32)
                .read_to_end(&mut head)
                .and_then(|_| f.rewind())
                .map(|()| (f, len, head))
                .map_err(|e| crate::files::Refusal {
                    kind: crate::files::kinds::IO,
                    path: path.clone(),
                    message: format!("{path}: {e}"),
                })
        });
    let (hive, len, head) = match opened {
        Ok(o) => o,
        Err(refusal) => {
            out.refused(reader, &refusal, true);
            return None;
        }
    };
    if let Err((kind, at, msg)) = check_base_block(&head) {
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
        let Some(p) = files.resolve(&format!("{windows_path}.{ext}")) else {
            continue;
        };
        match files.read(&p, crate::readers::MAX_HIVE_BYTES) {
            Ok(b) if !b.is_empty() => logs.push((files.display(&p), b)),
            Ok(_) => {}
            Err(refusal) => out.refused(reader, &refusal, false),
        }
    }
    let declared = BASE_BLOCK_LEN as u64 + u64::from(u32_at(&head, 40));
    let truncated = len < declared;
    if truncated {
        out.error(
            reader,
            "truncated",
            &path,
            Some(provenance::offset(reader, &path, len)),
            format!(
                "{path}: offset 0x{len:08x}: file ends before the {declared} bytes its base block \
                 declares; keys past this point are missing"
            ),
        );
    }
    let dirty = is_dirty(&head);
    if dirty && logs.is_empty() {
        out.error(
            reader,
            "dirty_hive",
            &path,
            Some(provenance::offset(reader, &path, 4)),
            format!(
                "{path}: hive is dirty (sequence numbers {} and {} differ) and no transaction \
                 log is beside it: recent changes may be missing",
                u32_at(&head, 4),
                u32_at(&head, 8)
            ),
        );
    }
    let built = catch_unwind(AssertUnwindSafe(|| {
        let mut builder = ParserBuilder::from_file(hive);
        for (_, log) in &logs {
            builder.with_transaction_log(Cursor::new(log.clone()));
        }
        builder.build()
    }));
    let parser = match built {
        Ok(Ok(p)) => p,
        failed => {
            let why = match failed {
                Ok(Err(e)) => e.to_string(),
                _ => "the hive parser gave up on this file".to_string(),
            };
            out.artifact(reader, &path, State::Unreadable);
            out.error(
                reader,
                "malformed_hive",
                &path,
                None,
                format!("{path}: {why}"),
            );
            return None;
        }
    };
    if dirty && !logs.is_empty() {
        let names: Vec<&str> = logs.iter().map(|(n, _)| n.as_str()).collect();
        tracing::info!(hive = %path, logs = ?names, "replayed transaction logs");
    }
    let mut source = OfflineHive {
        parser,
        path: path.clone(),
        mount,
    };
    let parse_damage = source.parse_logs();
    let damaged = truncated || (dirty && logs.is_empty()) || !parse_damage.is_empty();
    for d in parse_damage {
        out.error(reader, d.kind, &path, None, d.message);
    }
    Some(Opened {
        source,
        path,
        damaged,
    })
}

impl Source for OfflineHive {
    fn key(&mut self, path: &str, damage: &mut Vec<Damage>) -> Option<RawKey> {
        let node = self.node(path, damage)?;
        Some(raw(&node))
    }

    fn subkeys(&mut self, path: &str, damage: &mut Vec<Damage>) -> Vec<RawKey> {
        let Some(mut node) = self.node(path, damage) else {
            return Vec::new();
        };
        let parser = &mut self.parser;
        let subs = catch_unwind(AssertUnwindSafe(|| node.read_sub_keys(parser)));
        // read_sub_keys records unreadable subkeys in the parent's logs.
        self.key_logs(&node, damage);
        match subs {
            Ok(subs) => subs
                .iter()
                .map(|sub| {
                    self.key_logs(sub, damage);
                    raw(sub)
                })
                .collect(),
            Err(_) => {
                damage.push(damaged(
                    None,
                    format!(
                        "{}\\{path}: the hive parser gave up on its subkeys",
                        self.mount.name()
                    ),
                ));
                Vec::new()
            }
        }
    }
}

impl OfflineHive {
    /// The node of the key at `path`, with the damage met reaching it.
    fn node(&mut self, path: &str, damage: &mut Vec<Damage>) -> Option<CellKeyNode> {
        let result = catch_unwind(AssertUnwindSafe(|| self.parser.get_key(path, false)));
        let display = format!("{}\\{}", self.mount.name(), path);
        match result {
            Ok(Ok(Some(node))) => {
                self.key_logs(&node, damage);
                Some(node)
            }
            Ok(Ok(None)) => None,
            Ok(Err(e)) => {
                damage.push(damaged(None, format!("{display}: {e}")));
                None
            }
            Err(_) => {
                damage.push(damaged(
                    None,
                    format!("{display}: the hive parser gave up on this key"),
                ));
                None
            }
        }
    }

    fn key_logs(&self, node: &CellKeyNode, damage: &mut Vec<Damage>) {
        let Some(logs) = node.logs.get() else { return };
        let key = format!(
            "{}\\{}",
            self.mount.name(),
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
            damage.push(damaged(Some(offset), msg));
        }
    }

    /// Problems the parser met building the hive, beyond those `open` reports itself.
    fn parse_logs(&mut self) -> Vec<Damage> {
        let Some(logs) = self.parser.get_parse_logs().get().cloned() else {
            return Vec::new();
        };
        use notatin::log::LogCode;
        logs.into_iter()
            .filter(|log| match log.code {
                // Sequence numbers and replay progress are reported by `open` already.
                LogCode::Info | LogCode::WarningTransactionLog => false,
                LogCode::WarningBaseBlock => !log.text.contains("sequence numbers"),
                _ => true,
            })
            .map(|log| damaged(None, format!("{}: {}", self.path, log.text)))
            .collect()
    }
}

fn damaged(offset: Option<u64>, message: String) -> Damage {
    Damage {
        kind: "damaged_hive",
        offset,
        message,
    }
}

/// A node's name and values; a value that cannot be decoded is left out, as absent.
fn raw(node: &CellKeyNode) -> RawKey {
    RawKey {
        name: node.key_name.clone(),
        values: node
            .value_iter()
            .filter_map(|v| {
                let (content, _) = v.get_content();
                (content != notatin::cell_value::CellValue::Error)
                    .then(|| (v.detail.value_name().to_string(), content.into()))
            })
            .collect(),
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
