//! Streams a log file in large blocks and hands over only the lines holding one of a few
//! literals (found without regard to ASCII case): the cheap pre-filter of the reference, run
//! on every byte, so that CSV parsing and regular expressions see a handful of lines per file.
//! Memory stays one block (plus one line carried across a block's end), whatever the file.

use std::io::Read;

use regex::bytes::{Regex, RegexBuilder};

/// Bytes read at a time (public for the tests of the readers that scan).
pub const BLOCK: usize = 1 << 20;
/// Longest line handed over whole; a longer one is handed over cut to this, and counted.
pub const MAX_LINE: usize = 64 * 1024;

/// A line of a log that holds a pre-filter literal.
#[derive(Debug, Clone, Copy)]
pub struct Hit<'a> {
    /// 1-based line number.
    pub line: u32,
    /// Byte offset of the line's start in the file.
    pub offset: u64,
    /// The line's bytes, without its line ending (at most [`MAX_LINE`]).
    pub text: &'a [u8],
    /// The file's last line, which has no line ending: it may have been cut mid-write (handed
    /// over only when the scan was asked to, see [`scan`]).
    pub partial: bool,
    /// The line was longer than [`MAX_LINE`] and [`Hit::text`] is its start only: its last
    /// value may be cut, as a partial line's.
    pub cut: bool,
}

/// What a scan of one file read.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Scanned {
    /// Bytes read (from the start offset).
    pub bytes: u64,
    /// Lines read (whole lines, and a last line without its end).
    pub lines: u32,
    /// The offset just after the last whole line: where the next scan resumes (a partial last
    /// line, still being written, is read again then).
    pub resume_at: u64,
    /// Lines longer than [`MAX_LINE`], handed over cut.
    pub long_lines: u32,
}

/// A case-insensitive multi-literal searcher: the `regex` crate's, whose prefilter (SIMD over
/// the literals' rarest bytes) is the one ripgrep runs.
#[derive(Debug, Clone)]
pub struct Literals(Regex);

impl Literals {
    /// Searches for any of `needles` without regard to ASCII case.
    pub fn new(needles: &[&str]) -> Literals {
        let pattern = needles
            .iter()
            .map(|n| regex::escape(n))
            .collect::<Vec<_>>()
            .join("|");
        let re = RegexBuilder::new(&pattern)
            .case_insensitive(true)
            .unicode(false)
            .build()
            .expect("a handful of escaped literals always build");
        Literals(re)
    }

    /// Whether `hay` holds one of the literals.
    pub fn is_in(&self, hay: &[u8]) -> bool {
        self.0.is_match(hay)
    }
}

/// Reads `input` (positioned at `start`, line `first_line` of the file) to its end and calls
/// `on_hit` for every line holding one of `literals`. The literal is searched block-wide (as
/// grep does) and its line found around it, so a block without a literal costs one search and
/// one newline count.
///
/// A last line without its line ending is handed over (marked [`Hit::partial`]) only when
/// `partial_last`: in a log still being written it is a record cut mid-write, whose end may
/// change its verdict, and [`Scanned::resume_at`] stops before it so that the next scan reads
/// it whole.
pub fn scan(
    mut input: impl Read,
    start: u64,
    first_line: u32,
    literals: &Literals,
    partial_last: bool,
    mut on_hit: impl FnMut(Hit),
) -> std::io::Result<Scanned> {
    let mut buf = vec![0u8; BLOCK + MAX_LINE];
    // Bytes of buf in use; buf[..carry] is the start of a line from the previous block.
    let mut filled = 0usize;
    // File offset of buf[0].
    let mut base = start;
    // Line number of the line that starts at buf[0].
    let mut line = first_line.max(1);
    let mut out = Scanned {
        resume_at: start,
        ..Scanned::default()
    };
    // A line longer than the buffer: its rest is skipped up to its end.
    let mut skipping = false;
    // The start of that line when it holds a literal: handed over once its end is seen.
    let mut pending: Option<(u32, u64, Vec<u8>)> = None;
    loop {
        let n = read_some(&mut input, &mut buf[filled..])?;
        out.bytes += n as u64;
        let eof = n == 0;
        filled += n;
        let mut data_start = 0usize;
        if skipping {
            match memchr::memchr(b'\n', &buf[..filled]) {
                Some(i) => {
                    skipping = false;
                    if let Some((line, offset, text)) = pending.take() {
                        out.long_lines += 1;
                        on_hit(Hit {
                            line,
                            offset,
                            text: &text,
                            partial: false,
                            cut: true,
                        });
                    }
                    data_start = i + 1;
                    line += 1;
                    out.lines += 1;
                    // The huge line is whole: the next scan starts after it, even when no
                    // other line ends in this run.
                    out.resume_at = base + data_start as u64;
                }
                None if eof => {
                    if let Some((line, offset, text)) = pending.take().filter(|_| partial_last) {
                        out.long_lines += 1;
                        on_hit(Hit {
                            line,
                            offset,
                            text: &text,
                            partial: true,
                            cut: true,
                        });
                    }
                    out.lines += 1;
                    break;
                }
                None => {
                    base += filled as u64;
                    filled = 0;
                    continue;
                }
            }
        }
        let data = &buf[data_start..filled];
        // The whole lines of this block; the rest is carried.
        let whole = match memchr::memrchr(b'\n', data) {
            Some(i) => i + 1,
            None if eof => data.len(),
            None => 0,
        };
        let block = &data[..whole];
        // At the end, what is left is one line without its end (or nothing).
        let partial = eof && !block.is_empty();
        let line_at_block = line;
        let mut counted_to = 0usize;
        // A cut last line that is not to be handed over is not searched.
        let mut from = if partial && !partial_last {
            block.len()
        } else {
            0
        };
        while let Some(m) = literals.0.find(&block[from..]) {
            let at = from + m.start();
            let begin = memchr::memrchr(b'\n', &block[..at]).map_or(0, |i| i + 1);
            let end = memchr::memchr(b'\n', &block[at..]).map_or(block.len(), |i| at + i);
            line += count_lines(&block[counted_to..begin]);
            counted_to = begin;
            let mut text = &block[begin..end];
            if let [rest @ .., b'\r'] = text {
                text = rest;
            }
            let cut = text.len() > MAX_LINE;
            if cut {
                text = &text[..MAX_LINE];
                out.long_lines += 1;
            }
            on_hit(Hit {
                line,
                offset: base + (data_start + begin) as u64,
                text,
                partial,
                cut,
            });
            from = (end + 1).min(block.len());
            if end >= block.len() {
                break;
            }
        }
        line += count_lines(&block[counted_to..]);
        out.lines +=
            line - line_at_block + u32::from(eof && !block.is_empty() && !block.ends_with(b"\n"));
        if block.ends_with(b"\n") {
            out.resume_at = base + (data_start + whole) as u64;
        }
        if eof {
            break;
        }
        // Carry the partial line to the buffer's start.
        let rest = data_start + whole..filled;
        let carried = rest.len();
        if carried >= MAX_LINE + BLOCK / 2 {
            // A line longer than half the buffer: keep its start if it matches, handed over
            // once its end is seen; skip to its end.
            let text = &buf[rest.start..rest.start + MAX_LINE];
            if literals.is_in(text) {
                pending = Some((line, base + rest.start as u64, text.to_vec()));
            }
            skipping = true;
            base += filled as u64;
            filled = 0;
            continue;
        }
        buf.copy_within(rest.clone(), 0);
        base += rest.start as u64;
        filled = carried;
    }
    Ok(out)
}

/// Newlines in `bytes`: 16 byte-wide counters that cannot overflow within 255 rounds, which the
/// compiler turns into SIMD compares and adds (an iterator over the newlines' positions, or a
/// filtered count into a wide integer, stopped at each and was most of a scan's time).
fn count_lines(bytes: &[u8]) -> u32 {
    const LANES: usize = 16;
    const ROUNDS: usize = 255;
    let mut total = 0u32;
    let mut chunks = bytes.chunks_exact(LANES * ROUNDS);
    for chunk in &mut chunks {
        let mut acc = [0u8; LANES];
        for block in chunk.chunks_exact(LANES) {
            for (a, b) in acc.iter_mut().zip(block) {
                *a += u8::from(*b == b'\n');
            }
        }
        total += acc.iter().map(|&a| u32::from(a)).sum::<u32>();
    }
    total + chunks.remainder().iter().filter(|&&b| b == b'\n').count() as u32
}

fn read_some(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The hits of a scan of a copy (a cut last line handed over).
    fn hits(text: &[u8], needles: &[&str]) -> (Vec<(u32, u64, String)>, Scanned) {
        hits_of(text, needles, true)
    }

    fn hits_of(
        text: &[u8],
        needles: &[&str],
        partial_last: bool,
    ) -> (Vec<(u32, u64, String)>, Scanned) {
        let mut out = Vec::new();
        // Where the last line without an end starts.
        let whole = text
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i as u64 + 1);
        let s = scan(text, 0, 1, &Literals::new(needles), partial_last, |h| {
            assert_eq!(h.partial, h.offset >= whole && !text.ends_with(b"\n"));
            out.push((
                h.line,
                h.offset,
                String::from_utf8_lossy(h.text).into_owned(),
            ))
        })
        .unwrap();
        (out, s)
    }

    #[test]
    fn lines_with_a_literal_with_their_numbers_and_offsets() {
        let text = b"a,b\r\nx serverinfo~y\r\nnone\nSERVERINFO~z";
        let (h, s) = hits(text, &["ServerInfo~"]);
        assert_eq!(
            h,
            vec![
                (2, 5, "x serverinfo~y".to_string()),
                (4, 26, "SERVERINFO~z".to_string())
            ]
        );
        assert_eq!(s.lines, 4);
        // The last line has no end: the next scan reads it again.
        assert_eq!(s.resume_at, 26);
    }

    #[test]
    fn a_live_log_s_cut_last_line_is_left_for_the_next_scan() {
        let (h, s) = hits_of(b"h\nServerInfo~x/autod", &["ServerInfo~"], false);
        assert!(h.is_empty(), "{h:?}");
        assert_eq!((s.resume_at, s.lines, s.bytes), (2, 2, 20));
        // Once written whole it is handed over.
        let (h, _) = hits_of(b"h\nServerInfo~x/autod\n", &["ServerInfo~"], false);
        assert_eq!(h, vec![(2, 2, "ServerInfo~x/autod".to_string())]);
        // So is a huge line's start, only once its end is seen.
        let mut huge = b"h\nServerInfo~".to_vec();
        huge.extend(std::iter::repeat_n(b'x', 2 * BLOCK));
        let (h, s) = hits_of(&huge, &["ServerInfo~"], false);
        assert!(h.is_empty());
        assert_eq!((s.resume_at, s.long_lines), (2, 0));
        huge.push(b'\n');
        let (h, s) = hits_of(&huge, &["ServerInfo~"], false);
        assert_eq!((h.len(), h[0].0, s.long_lines), (1, 2, 1));
    }

    #[test]
    fn the_next_scan_starts_after_a_huge_line_once_its_end_is_seen() {
        // The huge line ends the file: the next scan starts after it (not before, matching it
        // again).
        let mut huge = b"h\nServerInfo~".to_vec();
        huge.extend(std::iter::repeat_n(b'x', 2 * BLOCK));
        huge.push(b'\n');
        let (h, s) = hits_of(&huge, &["ServerInfo~"], false);
        assert_eq!(h.len(), 1);
        assert_eq!((s.resume_at, s.lines), (huge.len() as u64, 2));
        // A live line follows it, still being written: the next scan starts at that line, the
        // third.
        huge.extend_from_slice(b"ab");
        let (h, s) = hits_of(&huge, &["ServerInfo~"], false);
        assert_eq!(h.len(), 1);
        assert_eq!((s.resume_at, s.lines), (huge.len() as u64 - 2, 3));
    }

    #[test]
    fn newlines_are_counted_exactly_whatever_their_number() {
        for n in [0usize, 1, 15, 16, 4079, 4080, 4081, 100_000] {
            let bytes: Vec<u8> = (0..n)
                .map(|i| if i % 3 == 0 { b'\n' } else { b'x' })
                .collect();
            assert_eq!(count_lines(&bytes) as usize, n.div_ceil(3), "{n}");
            let all = vec![b'\n'; n];
            assert_eq!(count_lines(&all) as usize, n, "{n}");
        }
    }

    #[test]
    fn two_literals_on_one_line_give_one_hit() {
        let (h, _) = hits(b"ServerInfo~a ServerInfo~b\nx\n", &["ServerInfo~"]);
        assert_eq!(h.len(), 1);
    }

    // Naive reference: split on \n and test each line.
    fn naive(text: &[u8], needle: &str) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        let mut offset = 0u64;
        let lower = needle.to_ascii_lowercase();
        for (i, l) in text.split(|b| *b == b'\n').enumerate() {
            let is_last = offset as usize + l.len() == text.len();
            if !(is_last && l.is_empty())
                && l.to_ascii_lowercase()
                    .windows(lower.len())
                    .any(|w| w == lower.as_bytes())
            {
                out.push((i as u32 + 1, offset));
            }
            offset += l.len() as u64 + 1;
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        // Any bytes: the hits are the naive per-line search's, and nothing panics.
        #[test]
        fn agrees_with_a_naive_line_search(parts in proptest::collection::vec(
            prop_oneof![
                Just(b"\n".to_vec()),
                Just(b"\r\n".to_vec()),
                Just(b"ab".to_vec()),
                Just(b"AB".to_vec()),
                Just(b"a".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..8),
            ], 0..200)) {
            let text: Vec<u8> = parts.concat();
            let (h, s) = hits(&text, &["ab"]);
            let got: Vec<(u32, u64)> = h.iter().map(|(l, o, _)| (*l, *o)).collect();
            let want = naive(&text, "ab");
            prop_assert_eq!(got, want.clone());
            prop_assert_eq!(s.bytes, text.len() as u64);
            // Without the cut last line: the same hits but one on it, resumed just before it.
            let whole = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            let (h, s) = hits_of(&text, &["ab"], false);
            let got: Vec<(u32, u64)> = h.iter().map(|(l, o, _)| (*l, *o)).collect();
            let want: Vec<(u32, u64)> = want.into_iter().filter(|(_, o)| *o < whole as u64).collect();
            prop_assert_eq!(got, want);
            prop_assert_eq!(s.resume_at, whole as u64);
        }
    }

    #[test]
    fn agrees_across_block_ends() {
        // Lines that straddle the 1 MiB block end.
        let mut text = Vec::new();
        let mut n = 0;
        while text.len() < 3 * BLOCK {
            n += 1;
            let l = if n % 997 == 0 {
                format!("{n} hit ServerInfo~ here\n")
            } else {
                format!("{n} plain line of text, quite ordinary\n")
            };
            text.extend_from_slice(l.as_bytes());
        }
        let (h, s) = hits(&text, &["ServerInfo~"]);
        let want = naive(&text, "ServerInfo~");
        assert_eq!(h.iter().map(|(l, o, _)| (*l, *o)).collect::<Vec<_>>(), want);
        assert!(h.iter().all(|(l, _, t)| t.starts_with(&format!("{l} hit"))));
        assert_eq!(s.lines, n);
        assert_eq!(s.resume_at, text.len() as u64);
    }

    #[test]
    fn a_huge_line_is_cut_and_the_next_lines_still_read() {
        let mut text = b"ServerInfo~".to_vec();
        text.extend(std::iter::repeat_n(b'x', 3 * BLOCK));
        text.extend_from_slice(b"\nnext ServerInfo~ line\n");
        let (h, s) = hits(&text, &["ServerInfo~"]);
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].2.len(), MAX_LINE);
        assert_eq!(h[1].0, 2);
        assert_eq!(h[1].2, "next ServerInfo~ line");
        assert!(s.long_lines >= 1);
    }
}
