//! The `VS_VERSIONINFO` resource: a tree of blocks, each `u16 length, u16 value length,
//! u16 type, UTF-16 key, padding, value, padding, children`, aligned to 32 bits (Microsoft's
//! "VS_VERSIONINFO structure" documentation). The root's value is `VS_FIXEDFILEINFO`; its
//! `StringFileInfo` child holds string tables of `FileVersion`, `ProductVersion`, ...
//!
//! Parsed here, over `object`'s PE reading, because pelite (the crate made for version
//! resources) reads misaligned structures when a damaged file's offsets are odd, which
//! panics in debug builds and is undefined behaviour in release. Every read is
//! bounds-checked and errors give the offset within the resource.

/// `VS_FIXEDFILEINFO.dwSignature`.
const FIXED_SIGNATURE: u32 = 0xFEEF_04BD;

/// What the resource says.
#[derive(Debug, Default, PartialEq)]
pub struct VersionInfo {
    /// Fixed file version (major, minor, build, revision).
    pub fixed_file_version: Option<[u16; 4]>,
    /// Strings of the first string table, `(key, value)`.
    pub strings: Vec<(String, String)>,
}

impl VersionInfo {
    /// A string by key (e.g. `FileVersion`).
    pub fn string(&self, key: &str) -> Option<&str> {
        self.strings
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// A malformed resource, with the offset (within the resource) where it went wrong.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("version resource offset 0x{offset:x}: {what}")]
pub struct VersionError {
    /// Offset within the resource data.
    pub offset: usize,
    /// What is wrong.
    pub what: &'static str,
}

struct Block<'a> {
    key: String,
    value: &'a [u8],
    /// Children as (offset, bytes) within the resource.
    children: Vec<(usize, &'a [u8])>,
}

fn u16_at(d: &[u8], at: usize) -> Option<u16> {
    d.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]))
}

fn align4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// Parses one block that starts at `base` (its offset in the resource, for errors).
fn block(d: &[u8], base: usize) -> Result<Block<'_>, VersionError> {
    let err = |at: usize, what| VersionError {
        offset: base + at,
        what,
    };
    let len = u16_at(d, 0).ok_or(err(0, "block header truncated"))? as usize;
    let value_len = u16_at(d, 2).ok_or(err(2, "block header truncated"))? as usize;
    let kind = u16_at(d, 4).ok_or(err(4, "block header truncated"))?;
    if len < 6 || len > d.len() {
        return Err(err(0, "block length is outside its parent"));
    }
    let d = &d[..len];
    let mut at = 6;
    let mut key = Vec::new();
    loop {
        let c = u16_at(d, at).ok_or(err(at, "block key is not terminated"))?;
        at += 2;
        if c == 0 {
            break;
        }
        key.push(c);
    }
    at = align4(at);
    // Text values count UTF-16 units; binary values count bytes.
    let value_bytes = if kind == 1 { value_len * 2 } else { value_len };
    let value_end = (at + value_bytes).min(d.len());
    let value = d.get(at..value_end).unwrap_or(&[]);
    at = align4(value_end);
    let mut children = Vec::new();
    while at + 6 <= d.len() {
        let child_len = u16_at(d, at).unwrap_or(0) as usize;
        if child_len < 6 {
            // Trailing padding, or a damaged child: nothing more to read here.
            break;
        }
        let end = (at + child_len).min(d.len());
        children.push((base + at, &d[at..end]));
        at = align4(end);
    }
    Ok(Block {
        key: String::from_utf16_lossy(&key),
        value,
        children,
    })
}

/// Parses a `VS_VERSIONINFO` resource.
pub fn parse(data: &[u8]) -> Result<VersionInfo, VersionError> {
    let root = block(data, 0)?;
    if root.key != "VS_VERSION_INFO" {
        return Err(VersionError {
            offset: 6,
            what: "root block is not VS_VERSION_INFO",
        });
    }
    let mut info = VersionInfo::default();
    if root.value.len() >= 52 {
        let v = root.value;
        let word = |i: usize| u32::from_le_bytes([v[i], v[i + 1], v[i + 2], v[i + 3]]);
        if word(0) == FIXED_SIGNATURE {
            let (ms, ls) = (word(8), word(12));
            info.fixed_file_version =
                Some([(ms >> 16) as u16, ms as u16, (ls >> 16) as u16, ls as u16]);
        }
    }
    for (off, child) in root.children {
        let b = block(child, off)?;
        if b.key != "StringFileInfo" {
            continue;
        }
        let Some(&(table_off, table)) = b.children.first() else {
            continue;
        };
        let table = block(table, table_off)?;
        for (s_off, s) in table.children {
            let s = block(s, s_off)?;
            let units: Vec<u16> = s
                .value
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .take_while(|&u| u != 0)
                .collect();
            info.strings.push((s.key, String::from_utf16_lossy(&units)));
        }
        break;
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse(&data);
        }
    }

    #[test]
    fn truncated_header_is_located() {
        assert_eq!(
            parse(&[10, 0]),
            Err(VersionError {
                offset: 2,
                what: "block header truncated"
            })
        );
    }
}
