//! Text helpers shared by the text readers: decoding Windows text files (whole, or as a
//! stream of lines with every line and the whole artifact capped) and mapping byte offsets to line
//! numbers.

use std::io::Read;

/// Longest line a text log keeps, in bytes of UTF-8: a longer line is cut there and marked,
/// and the cut recorded ([`Cuts::cut_lines`]). Lines that matter are a few hundred bytes;
/// a 50 MB `[ERROR]` line must not become a 50 MB snapshot field.
pub const MAX_LINE_BYTES: usize = 8 * 1024;
/// Most of a text log read, per artifact: large real logs (hundreds of MB of setup runs) stay
/// readable, an endless one stops here with the cut recorded.
pub const MAX_LOG_BYTES: u64 = 512 << 20;

/// Decodes a Windows text file: UTF-16 with a BOM, or UTF-8 (a BOM dropped, invalid bytes
/// replaced, so that a damaged file still yields its readable lines).
pub fn decode(bytes: &[u8]) -> String {
    match bytes {
        [0xff, 0xfe, rest @ ..] => utf16(rest, u16::from_le_bytes),
        [0xfe, 0xff, rest @ ..] => utf16(rest, u16::from_be_bytes),
        [0xef, 0xbb, 0xbf, rest @ ..] => String::from_utf8_lossy(rest).into_owned(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn utf16(bytes: &[u8], f: fn([u8; 2]) -> u16) -> String {
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| f([c[0], c[1]])).collect();
    String::from_utf16_lossy(&units)
}

/// Longest field a reader keeps from a structured file (an XML attribute, an event's datum):
/// the same as a line.
pub const MAX_FIELD_BYTES: usize = MAX_LINE_BYTES;

/// Cuts `s` to at most `max` bytes (on a character boundary) and marks the cut; returns the
/// length it had when it was cut.
pub fn cap_field(s: &mut String, max: usize) -> Option<usize> {
    if s.len() <= max {
        return None;
    }
    let len = s.len();
    let mut at = max;
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    s.truncate(at);
    s.push_str(&format!(" [... cut: {len} bytes]"));
    Some(len)
}

/// Bytes of the lines a text log's parser keeps (their text, continuation lines and context),
/// per log: each line is already capped ([`MAX_LINE_BYTES`]), and this caps the whole, so that a
/// runaway log cannot make a snapshot too large to send.
pub const MAX_KEPT_BYTES: usize = 8 << 20;

/// Lines that matter a log had beyond what is kept of it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct OverBudget {
    /// The first line not kept (0: every line that matters was kept).
    pub first_line: u32,
    /// How many lines (and continuation lines) were not kept.
    pub lines: u64,
}

/// What is left of a log's budget of kept bytes.
#[derive(Debug)]
pub struct Budget {
    left: usize,
    /// What did not fit.
    pub over: OverBudget,
}

impl Budget {
    /// A budget of `bytes`.
    pub fn new(bytes: usize) -> Self {
        Budget {
            left: bytes,
            over: OverBudget::default(),
        }
    }

    /// Takes `bytes` for line `line`; false (and counted) when they do not fit.
    pub fn take(&mut self, bytes: usize, line: u32) -> bool {
        if bytes <= self.left {
            self.left -= bytes;
            return true;
        }
        if self.over.first_line == 0 {
            self.over.first_line = line;
        }
        self.over.lines += 1;
        false
    }

    /// Records that `lines` lines from `line` on are not read at all (a cap on runs was met).
    pub fn stop(&mut self, line: u32, lines: u64) {
        if self.over.first_line == 0 {
            self.over.first_line = line;
        }
        self.over.lines += lines;
    }
}

/// Runs a log parser keeps per log (a real log holds tens): the lines after the last are not
/// read, and counted as not kept.
pub const MAX_RUNS: usize = 2_000;

/// What reading a text as a capped stream cut away.
#[derive(Debug, Default)]
pub struct Cuts {
    /// The lines that were cut, in order.
    pub cut_lines: Vec<CutLine>,
    /// When the file is larger than the artifact cap: the file offset where reading stopped.
    pub cut_at: Option<u64>,
}

/// A text read as a stream with its lines and its size capped.
#[derive(Debug, Default)]
pub struct CappedText {
    /// The decoded text, each line at most the line cap (plus the marker of a cut).
    pub text: String,
    /// What was cut.
    pub cuts: Cuts,
}

/// A line longer than the line cap.
#[derive(Debug, Clone, PartialEq)]
pub struct CutLine {
    /// 1-based line number.
    pub line: u32,
    /// Its length in the file, in bytes.
    pub bytes: u64,
}

#[derive(Clone, Copy)]
enum Encoding {
    Utf8,
    Utf16(fn([u8; 2]) -> u16),
}

/// Reads a Windows text file as a stream (decoded as [`decode`] does) into one string, with
/// the caps of [`read_lines`].
pub fn read_capped(
    reader: impl Read,
    max_bytes: u64,
    max_line: usize,
) -> std::io::Result<CappedText> {
    let mut text = String::new();
    let cuts = read_lines(reader, max_bytes, max_line, |line, newline| {
        text.push_str(line);
        if newline {
            text.push('\n');
        }
    })?;
    Ok(CappedText { text, cuts })
}

/// Reads a Windows text file as a stream (decoded as [`decode`] does), reading at most
/// `max_bytes` of it and keeping at most `max_line` bytes of each line: a longer line is cut at
/// a character boundary and ends with a marker that says how long it was, and the cut is
/// listed. Each line goes to `on_line` with whether a newline ended it (the `\n` itself left
/// out, a `\r` before it kept); a last line with no newline goes only when it is not empty.
/// Memory stays bounded by the line cap, whatever the file holds.
pub fn read_lines(
    reader: impl Read,
    max_bytes: u64,
    max_line: usize,
    on_line: impl FnMut(&str, bool),
) -> std::io::Result<Cuts> {
    let mut input = reader.take(max_bytes);
    let mut lines = Lines {
        on_line,
        cuts: Cuts::default(),
        max_line,
        number: 1,
        raw: Vec::new(),
        units: Vec::new(),
        raw_len: 0,
    };
    let mut buf = vec![0u8; 64 * 1024];
    // The first bytes say the encoding (a BOM).
    let mut head = Vec::new();
    while head.len() < 3 {
        let n = read_some(&mut input, &mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let (encoding, skip) = match head.as_slice() {
        [0xff, 0xfe, ..] => (Encoding::Utf16(u16::from_le_bytes), 2),
        [0xfe, 0xff, ..] => (Encoding::Utf16(u16::from_be_bytes), 2),
        [0xef, 0xbb, 0xbf, ..] => (Encoding::Utf8, 3),
        _ => (Encoding::Utf8, 0),
    };
    let mut odd: Option<u8> = None;
    let mut feed = |lines: &mut Lines<_>, bytes: &[u8]| match encoding {
        Encoding::Utf8 => lines.utf8(bytes),
        Encoding::Utf16(f) => {
            let mut bytes = bytes;
            if let Some(first) = odd.take() {
                let Some((&second, rest)) = bytes.split_first() else {
                    odd = Some(first);
                    return;
                };
                lines.utf16(f([first, second]));
                bytes = rest;
            }
            let mut pairs = bytes.chunks_exact(2);
            for pair in &mut pairs {
                lines.utf16(f([pair[0], pair[1]]));
            }
            odd = pairs.remainder().first().copied();
        }
    };
    feed(&mut lines, &head[skip.min(head.len())..]);
    loop {
        let n = read_some(&mut input, &mut buf)?;
        if n == 0 {
            break;
        }
        feed(&mut lines, &buf[..n]);
    }
    lines.end(false, encoding);
    let mut rest = input.into_inner();
    if read_some(&mut rest, &mut [0u8; 1])? > 0 {
        lines.cuts.cut_at = Some(max_bytes);
    }
    Ok(lines.cuts)
}

fn read_some(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// The line being read, kept up to the cap, and where finished lines go.
struct Lines<F> {
    on_line: F,
    cuts: Cuts,
    max_line: usize,
    number: u32,
    /// UTF-8 bytes of the line, at most `max_line`.
    raw: Vec<u8>,
    /// UTF-16 units of the line, at most `max_line`.
    units: Vec<u16>,
    /// The line's length in the file, in bytes.
    raw_len: u64,
}

impl<F: FnMut(&str, bool)> Lines<F> {
    fn utf8(&mut self, mut bytes: &[u8]) {
        if !self.raw.is_empty() {
            // The line begun in the previous chunk ends here, or goes on.
            let Some(nl) = memchr::memchr(b'\n', bytes) else {
                self.keep8(bytes);
                return;
            };
            self.keep8(&bytes[..nl]);
            self.end(true, Encoding::Utf8);
            bytes = &bytes[nl + 1..];
        }
        // The chunk's whole lines are validated in one pass, not line by line; a chunk that
        // is not valid UTF-8 goes line by line, so that only its bad lines are decoded lossily.
        let whole = memchr::memrchr(b'\n', bytes).map_or(0, |i| i + 1);
        if let Ok(text) = std::str::from_utf8(&bytes[..whole]) {
            let mut at = 0;
            while let Some(nl) = memchr::memchr(b'\n', &text.as_bytes()[at..]) {
                let line = &text[at..at + nl];
                if line.len() <= self.max_line {
                    (self.on_line)(line, true);
                    self.number = self.number.saturating_add(1);
                } else {
                    self.keep8(line.as_bytes());
                    self.end(true, Encoding::Utf8);
                }
                at += nl + 1;
            }
            self.keep8(&bytes[whole..]);
            return;
        }
        while let Some(nl) = memchr::memchr(b'\n', bytes) {
            let line = &bytes[..nl];
            // A whole line within the buffer, valid and under the cap, is handed on as it is:
            // no copy (most lines of a log).
            match std::str::from_utf8(line) {
                Ok(text) if self.raw.is_empty() && line.len() <= self.max_line => {
                    (self.on_line)(text, true);
                    self.number = self.number.saturating_add(1);
                }
                _ => {
                    self.keep8(line);
                    self.end(true, Encoding::Utf8);
                }
            }
            bytes = &bytes[nl + 1..];
        }
        self.keep8(bytes);
    }

    fn keep8(&mut self, bytes: &[u8]) {
        self.raw_len += bytes.len() as u64;
        // One byte more than the cap tells a cut line from one exactly at the cap.
        let room = self
            .max_line
            .saturating_add(4)
            .saturating_sub(self.raw.len());
        self.raw.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn utf16(&mut self, unit: u16) {
        if unit == u16::from(b'\n') {
            self.end(true, Encoding::Utf16(u16::from_le_bytes));
            return;
        }
        self.raw_len += 2;
        if self.units.len() < self.max_line.saturating_add(2) {
            self.units.push(unit);
        }
    }

    fn end(&mut self, newline: bool, encoding: Encoding) {
        // Borrowed when the bytes are valid UTF-8: most lines are not copied at all.
        let decoded = match encoding {
            Encoding::Utf8 => String::from_utf8_lossy(&self.raw),
            Encoding::Utf16(_) => std::borrow::Cow::Owned(String::from_utf16_lossy(&self.units)),
        };
        let kept = match encoding {
            Encoding::Utf8 => self.raw.len() as u64,
            Encoding::Utf16(_) => 2 * self.units.len() as u64,
        };
        if kept < self.raw_len || decoded.len() > self.max_line {
            let mut line = decoded.into_owned();
            let mut at = self.max_line.min(line.len());
            while !line.is_char_boundary(at) {
                at -= 1;
            }
            line.truncate(at);
            // A character split by the read is not the file's.
            if line.ends_with('\u{fffd}') && kept < self.raw_len {
                line.pop();
            }
            line.push_str(&format!(
                " [... line cut: {} bytes in the file]",
                self.raw_len
            ));
            self.cuts.cut_lines.push(CutLine {
                line: self.number,
                bytes: self.raw_len,
            });
            (self.on_line)(&line, newline);
        } else if newline || !decoded.is_empty() {
            (self.on_line)(&decoded, newline);
        }
        self.number = self.number.saturating_add(1);
        self.raw.clear();
        self.units.clear();
        self.raw_len = 0;
    }
}

/// A line of a text log that looked like a record but could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct LineIssue {
    /// 1-based line number.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

/// Maps byte offsets of a text to 1-based line numbers.
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the line starts of `text`.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr_newlines(text));
        LineIndex { starts }
    }

    /// The 1-based line holding byte `offset`.
    pub fn line(&self, offset: usize) -> u32 {
        let i = self.starts.partition_point(|&s| s <= offset);
        i.max(1) as u32
    }
}

fn memchr_newlines(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_based() {
        let idx = LineIndex::new("a\nbc\n\nd");
        assert_eq!(idx.line(0), 1);
        assert_eq!(idx.line(2), 2);
        assert_eq!(idx.line(5), 3);
        assert_eq!(idx.line(6), 4);
    }

    #[test]
    fn decodes_utf16_with_bom() {
        assert_eq!(decode(&[0xff, 0xfe, b'h', 0, b'i', 0]), "hi");
        assert_eq!(decode(&[0xef, 0xbb, 0xbf, b'o', b'k']), "ok");
    }

    fn capped(bytes: &[u8], max_bytes: u64, max_line: usize) -> CappedText {
        read_capped(bytes, max_bytes, max_line).unwrap()
    }

    #[test]
    fn short_lines_read_as_decode_reads_them() {
        for bytes in [
            &b"a\r\nbc\n\nd"[..],
            &b"\xef\xbb\xbfok\nbad \xff byte\n"[..],
            &[0xff, 0xfe, b'h', 0, b'\n', 0, b'i', 0][..],
            &[0xfe, 0xff, 0, b'h', 0, b'\n', 0, b'i'][..],
            &b""[..],
            &b"\n"[..],
        ] {
            let c = capped(bytes, 1 << 20, 100);
            assert_eq!(c.text, decode(bytes), "{bytes:?}");
            assert!(c.cuts.cut_lines.is_empty() && c.cuts.cut_at.is_none());
        }
    }

    #[test]
    fn a_long_line_is_cut_marked_and_listed() {
        let mut log = b"first\n[ERROR] ".to_vec();
        log.resize(log.len() + 10_000, b'x');
        log.extend(b"\nlast\n");
        let c = capped(&log, 1 << 20, 100);
        let lines: Vec<&str> = c.text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "first");
        assert!(lines[1].starts_with("[ERROR] xxx"));
        assert!(lines[1].len() < 200, "{}", lines[1].len());
        assert!(lines[1].ends_with("[... line cut: 10008 bytes in the file]"));
        assert_eq!(lines[2], "last");
        assert_eq!(
            c.cuts.cut_lines,
            [CutLine {
                line: 2,
                bytes: 10_008
            }]
        );
        // UTF-16 too, cut on a character boundary.
        let mut wide = vec![0xff, 0xfe];
        for ch in "é".repeat(300).encode_utf16().chain("\nok".encode_utf16()) {
            wide.extend(ch.to_le_bytes());
        }
        let c = capped(&wide, 1 << 20, 101);
        let first = c.text.lines().next().unwrap();
        assert!(first.starts_with(&"é".repeat(50)));
        assert!(!first.starts_with(&"é".repeat(51)));
        assert_eq!(c.text.lines().nth(1), Some("ok"));
        assert_eq!(
            c.cuts.cut_lines,
            [CutLine {
                line: 1,
                bytes: 600
            }]
        );
    }

    #[test]
    fn the_artifact_cap_stops_reading_and_says_where() {
        let c = capped(b"one\ntwo\nthree\n", 8, 100);
        assert_eq!(c.text, "one\ntwo\n");
        assert_eq!(c.cuts.cut_at, Some(8));
        let c = capped(b"one\ntwo\n", 8, 100);
        assert_eq!(c.cuts.cut_at, None, "exactly the cap is not a cut");
    }
}
