//! Read marks: how far each log was scanned, so that a daily run reads only the bytes written
//! since. A mark names its file by path and by a hash of the file's first bytes, so that a file
//! renamed by a rotation keeps its mark and a file replaced or truncated under the same name
//! (its first bytes differ, or it is shorter than the mark) is read again from its start.
//!
//! Marks move only once the snapshot carrying the matches is durable: the scan gives the new
//! marks beside the snapshot, and the caller saves them ([`Marks::save`]) after the snapshot is
//! spooled, written or acknowledged; a snapshot lost before that leaves the marks where they
//! were, and the next run finds the same indicators again.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use exfleet_proto::v1::CollectionError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Bytes of a file's start that identify it.
pub const HEAD: u64 = 4096;

/// Where one log was scanned to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// Offset just after the last whole line scanned.
    pub offset: u64,
    /// Number of the line that starts there.
    pub line: u32,
    /// How many of the file's first bytes [`Mark::head`] hashes (at most [`HEAD`]).
    pub head_len: u64,
    /// SHA-256 of those bytes, hex.
    pub head: String,
    /// The column header in force at the offset (a CSV log's first line, an IIS log's last
    /// `#Fields:`), so that the rest of the file is read with it.
    pub header: String,
    /// The window the bytes before the offset were read under (`--ioc-since`, UTC ms; 0 =
    /// all): a run whose window starts earlier must read them again.
    #[serde(default)]
    pub since_ms: i64,
}

/// The marks of every log scanned, by the file's path as provenance names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marks(pub BTreeMap<String, Mark>);

/// Where to start reading a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Start {
    /// Offset of the first byte to read.
    pub offset: u64,
    /// Its line number.
    pub line: u32,
    /// The header in force there (empty at the file's start).
    pub header: String,
}

impl Marks {
    /// Reads the marks file; an absent one is no marks, a damaged one an error naming it.
    pub fn load(path: &Path) -> anyhow::Result<Marks> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| anyhow::anyhow!("{}: not a read-marks file: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Marks::default()),
            Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
        }
    }

    /// The marks a run whose window starts at `since_ms` may resume from: those made under
    /// a window starting at or before it (the records before a later window were not looked at).
    pub fn within(mut self, since_ms: i64) -> Marks {
        self.0.retain(|_, m| m.since_ms <= since_ms);
        self
    }

    /// Reads the marks file as [`Marks::load`] does, but a damaged or unreadable one does not
    /// stop the collection: no marks (every log is read whole again), and the collection
    /// error saying why, for the snapshot.
    pub fn load_or_empty(path: &Path) -> (Marks, Option<CollectionError>) {
        match Marks::load(path) {
            Ok(m) => (m, None),
            Err(e) => {
                let message = format!("{e:#}; every log is read from its start");
                tracing::warn!(path = %path.display(), "{message}");
                let error = CollectionError {
                    reader: "ioc".into(),
                    kind: "marks_unreadable".into(),
                    path: path.display().to_string(),
                    location: None,
                    message,
                };
                (Marks::default(), Some(error))
            }
        }
    }

    /// Writes the marks file whole, replacing the old one only once the new one is on disk.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let tmp = path.with_extension("tmp");
        let ctx = |e: std::io::Error| anyhow::anyhow!("{}: {e}", tmp.display());
        let mut f = std::fs::File::create(&tmp).map_err(ctx)?;
        f.write_all(&serde_json::to_vec_pretty(self)?)
            .map_err(ctx)?;
        f.sync_all().map_err(ctx)?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// Where to start reading `file` (`path` as provenance names it, of `size` bytes): after
    /// its mark when the mark is its (same first bytes, not longer than the file), at its
    /// start otherwise. A mark is found by path first, then by the first bytes (a rotation
    /// renamed the file).
    pub fn start(&self, path: &str, file: &mut (impl Read + Seek), size: u64) -> Start {
        let mut fits = |m: &Mark| {
            m.offset <= size
                && m.head_len <= size
                && head(file, m.head_len).is_some_and(|h| h == m.head)
        };
        let found = match self.0.get(path) {
            Some(m) if fits(m) => Some(m),
            _ => {
                // One hash of this file's head, compared with the marks of as long a head.
                let len = size.min(HEAD);
                let own = head(file, len);
                self.0
                    .iter()
                    .filter(|(p, m)| p.as_str() != path && m.head_len == len && len > 0)
                    .find(|(_, m)| own.as_ref() == Some(&m.head) && m.offset <= size)
                    .map(|(_, m)| m)
            }
        };
        match found {
            Some(m) => Start {
                offset: m.offset,
                line: m.line,
                header: m.header.clone(),
            },
            None => Start {
                offset: 0,
                line: 1,
                header: String::new(),
            },
        }
    }

    /// The mark of a file scanned to `offset` (line `line` starts there), under `header`.
    pub fn mark(
        file: &mut (impl Read + Seek),
        size: u64,
        offset: u64,
        line: u32,
        header: &str,
    ) -> Mark {
        let head_len = size.min(HEAD);
        Mark {
            offset,
            line,
            head_len,
            head: head(file, head_len).unwrap_or_default(),
            header: header.to_string(),
            since_ms: 0,
        }
    }
}

/// SHA-256 (hex) of the first `len` bytes of `file`; `None` when it has fewer.
fn head(file: &mut (impl Read + Seek), len: u64) -> Option<String> {
    file.seek(SeekFrom::Start(0)).ok()?;
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(len).read_to_end(&mut bytes).ok()?;
    if (bytes.len() as u64) < len {
        return None;
    }
    Some(
        Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn marks_of(path: &str, bytes: &[u8], offset: u64, line: u32) -> Marks {
        let mut m = Marks::default();
        let mark = Marks::mark(
            &mut Cursor::new(bytes),
            bytes.len() as u64,
            offset,
            line,
            "h",
        );
        m.0.insert(path.to_string(), mark);
        m
    }

    #[test]
    fn an_appended_file_resumes_at_its_mark() {
        let first = b"header\nline 2\n".to_vec();
        let marks = marks_of("a.log", &first, 14, 3);
        let mut grown = first.clone();
        grown.extend_from_slice(b"line 3\n");
        let s = marks.start("a.log", &mut Cursor::new(&grown), grown.len() as u64);
        assert_eq!((s.offset, s.line, s.header.as_str()), (14, 3, "h"));
    }

    #[test]
    fn a_truncated_or_replaced_file_is_read_from_its_start() {
        let first = b"header\nline 2\n".to_vec();
        let marks = marks_of("a.log", &first, 14, 3);
        let short = b"header\n".to_vec();
        assert_eq!(marks.start("a.log", &mut Cursor::new(&short), 7).offset, 0);
        let other = b"HEADER\nline 2\nline 3\n".to_vec();
        assert_eq!(marks.start("a.log", &mut Cursor::new(&other), 21).offset, 0);
    }

    #[test]
    fn a_mark_made_under_a_later_window_is_discarded() {
        let mut marks = marks_of("a.log", b"x\n", 2, 2);
        marks.0.get_mut("a.log").unwrap().since_ms = 1_000;
        assert_eq!(marks.clone().within(1_000), marks);
        assert_eq!(marks.clone().within(5_000), marks);
        assert!(marks.clone().within(999).0.is_empty());
        assert!(marks.within(0).0.is_empty());
    }

    #[test]
    fn a_renamed_file_keeps_its_mark() {
        let first = b"header\nline 2\n".to_vec();
        let marks = marks_of("a.log", &first, 14, 3);
        let s = marks.start("a-1.log", &mut Cursor::new(&first), 14);
        assert_eq!(s.offset, 14);
    }

    #[test]
    fn saved_marks_load_back_and_a_damaged_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ioc-marks.json");
        assert_eq!(Marks::load(&p).unwrap(), Marks::default());
        let marks = marks_of("a.log", b"x\n", 2, 2);
        marks.save(&p).unwrap();
        assert_eq!(Marks::load(&p).unwrap(), marks);
        std::fs::write(&p, b"{not json").unwrap();
        let e = Marks::load(&p).unwrap_err().to_string();
        assert!(e.contains("ioc-marks.json"), "{e}");
        let (marks, error) = Marks::load_or_empty(&p);
        assert_eq!(marks, Marks::default());
        let error = error.expect("a collection error");
        assert_eq!(
            (error.reader.as_str(), error.kind.as_str()),
            ("ioc", "marks_unreadable")
        );
        assert!(
            error.message.contains("ioc-marks.json"),
            "{}",
            error.message
        );
    }
}
