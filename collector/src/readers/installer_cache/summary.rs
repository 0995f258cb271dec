//! The summary information of an installer package (`.msi`, `.msp`): an OLE compound file
//! whose `\u{5}SummaryInformation` stream is a property set ([MS-OLEPS] 2.21). Only what the
//! installer-cache check needs is read: the Revision Number (property 9), which holds an
//! `.msi`'s package code and an `.msp`'s patch code.

use std::io::{Read, Seek};

/// The stream's name in the compound file.
pub const STREAM: &str = "\u{5}SummaryInformation";
/// PIDSI_REVNUMBER.
pub const REVISION_NUMBER: u32 = 9;
/// The stream is a few hundred bytes; more is not a summary stream.
const MAX_STREAM_BYTES: u64 = 1 << 20;
const VT_LPSTR: u16 = 0x1E;
const VT_LPWSTR: u16 = 0x1F;

/// Why a package's summary could not be read; says at which offset of the stream.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    /// The file is not a compound file, or its directory is damaged.
    #[error("not a readable compound file: {0}")]
    Container(std::io::Error),
    /// The compound file has no summary information stream.
    #[error("no {STREAM:?} stream")]
    NoStream,
    /// The property set is cut or malformed.
    #[error("summary information stream, offset {offset}: {what}")]
    Malformed {
        /// Offset in the stream.
        offset: usize,
        /// What was expected there.
        what: &'static str,
    },
}

/// Reads the revision number of the package in `file` (`None` when the property is absent).
pub fn revision_number<F: Read + Seek>(file: F) -> Result<Option<String>, SummaryError> {
    let mut cf = cfb::CompoundFile::open(file).map_err(SummaryError::Container)?;
    let mut stream = cf.open_stream(STREAM).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            SummaryError::NoStream
        } else {
            SummaryError::Container(e)
        }
    })?;
    let mut bytes = Vec::new();
    stream
        .by_ref()
        .take(MAX_STREAM_BYTES)
        .read_to_end(&mut bytes)
        .map_err(SummaryError::Container)?;
    string_property(&bytes, REVISION_NUMBER)
}

/// The string property `id` of the first property set of a property-set stream.
pub fn string_property(stream: &[u8], id: u32) -> Result<Option<String>, SummaryError> {
    let at = |offset: usize, len: usize, what: &'static str| {
        stream
            .get(offset..offset.saturating_add(len))
            .ok_or(SummaryError::Malformed { offset, what })
    };
    let u16_at = |offset, what| at(offset, 2, what).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at =
        |offset, what| at(offset, 4, what).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    if u16_at(0, "byte order mark")? != 0xFFFE {
        return Err(SummaryError::Malformed {
            offset: 0,
            what: "byte order mark 0xFFFE",
        });
    }
    if u32_at(24, "number of property sets")? == 0 {
        return Ok(None);
    }
    // Header (28 bytes), then the first set's FMTID (16 bytes) and offset.
    let set = u32_at(44, "offset of the property set")? as usize;
    let count = u32_at(set + 4, "number of properties")? as usize;
    for i in 0..count {
        let entry = set + 8 + i * 8;
        if u32_at(entry, "property identifier")? != id {
            continue;
        }
        let value = set + u32_at(entry + 4, "property offset")? as usize;
        let kind = u16_at(value, "property type")?;
        let size = u32_at(value + 4, "string length")? as usize;
        let text = match kind {
            VT_LPSTR => {
                let raw = at(value + 8, size, "string bytes")?;
                let raw = raw.split(|b| *b == 0).next().unwrap_or_default();
                // Code page 1252 or UTF-8 in practice; the GUIDs it holds are ASCII.
                String::from_utf8_lossy(raw).into_owned()
            }
            VT_LPWSTR => {
                let raw = at(value + 8, size.saturating_mul(2), "string characters")?;
                let units: Vec<u16> = raw
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .take_while(|u| *u != 0)
                    .collect();
                String::from_utf16_lossy(&units)
            }
            _ => {
                return Err(SummaryError::Malformed {
                    offset: value,
                    what: "a string property (VT_LPSTR or VT_LPWSTR)",
                })
            }
        };
        return Ok(Some(text));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use exfleet_tests::msi::{package, summary_stream as stream};
    use proptest::prelude::*;

    #[test]
    fn reads_the_revision_number() {
        let guid = "{A1B2C3D4-0000-1111-2222-333344445555}";
        assert_eq!(
            string_property(&stream(guid), REVISION_NUMBER).unwrap(),
            Some(guid.to_string())
        );
        assert_eq!(string_property(&stream(guid), 7).unwrap(), None);
        let file = std::io::Cursor::new(package(guid));
        assert_eq!(revision_number(file).unwrap(), Some(guid.to_string()));
    }

    #[test]
    fn a_cut_stream_says_where() {
        let s = stream("{A1B2C3D4-0000-1111-2222-333344445555}");
        let err = string_property(&s[..60], REVISION_NUMBER).unwrap_err();
        assert!(err.to_string().contains("offset"), "{err}");
        let err = string_property(b"\x00\x01", REVISION_NUMBER).unwrap_err();
        assert!(err.to_string().contains("byte order mark"), "{err}");
    }

    proptest! {
        #[test]
        fn never_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = string_property(&bytes, REVISION_NUMBER);
        }

        #[test]
        fn never_panics_on_a_damaged_stream(at in 0usize..120, byte in any::<u8>()) {
            let mut s = stream("{A1B2C3D4-0000-1111-2222-333344445555}");
            if at < s.len() {
                s[at] = byte;
            }
            let _ = string_property(&s, REVISION_NUMBER);
        }
    }
}
