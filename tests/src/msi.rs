//! A writer of installer packages (`.msi`, `.msp`) as far as the Windows Installer cache check
//! reads them: an OLE compound file with a summary information stream ([MS-OLEPS]) holding a
//! code page and the Revision Number (property 9), the package or patch code.

use std::io::{Cursor, Write};

/// PIDSI_REVNUMBER.
const REVISION_NUMBER: u32 = 9;
/// PIDSI_CODEPAGE.
const CODEPAGE: u32 = 1;
const VT_I2: u16 = 0x02;
const VT_LPSTR: u16 = 0x1E;
/// FMTID_SummaryInformation, as stored (little-endian fields).
const FMTID_SUMMARY: [u8; 16] = [
    0xE0, 0x85, 0x9F, 0xF2, 0xF9, 0x4F, 0x68, 0x10, 0xAB, 0x91, 0x08, 0x00, 0x2B, 0x27, 0xB3, 0xD9,
];

/// The `\u{5}SummaryInformation` stream of a package whose revision number is `revision`.
pub fn summary_stream(revision: &str) -> Vec<u8> {
    let mut codepage = Vec::new();
    codepage.extend(VT_I2.to_le_bytes());
    codepage.extend([0, 0]);
    codepage.extend(1252u16.to_le_bytes());
    codepage.extend([0, 0]);
    let mut value = Vec::new();
    value.extend(VT_LPSTR.to_le_bytes());
    value.extend([0, 0]);
    value.extend((revision.len() as u32 + 1).to_le_bytes());
    value.extend(revision.as_bytes());
    value.push(0);
    while value.len() % 4 != 0 {
        value.push(0);
    }
    let first = 8 + 2 * 8;
    let mut set = Vec::new();
    set.extend(((first + codepage.len() + value.len()) as u32).to_le_bytes());
    set.extend(2u32.to_le_bytes());
    set.extend(CODEPAGE.to_le_bytes());
    set.extend((first as u32).to_le_bytes());
    set.extend(REVISION_NUMBER.to_le_bytes());
    set.extend(((first + codepage.len()) as u32).to_le_bytes());
    set.extend(codepage);
    set.extend(value);
    // Byte order, format version 0, OS (Windows, version 6.2), CLSID null, one property set.
    let mut stream = vec![0xFE, 0xFF, 0, 0, 0x02, 0x06, 0x02, 0x00];
    stream.extend([0u8; 16]);
    stream.extend(1u32.to_le_bytes());
    stream.extend(FMTID_SUMMARY);
    stream.extend(48u32.to_le_bytes());
    stream.extend(set);
    stream
}

/// A compound file holding the summary stream of `revision` (and nothing else of a real
/// package: the check reads no more).
pub fn package(revision: &str) -> Vec<u8> {
    let mut cf = cfb::CompoundFile::create(Cursor::new(Vec::new())).expect("in memory");
    let mut s = cf
        .create_stream("\u{5}SummaryInformation")
        .expect("in memory");
    s.write_all(&summary_stream(revision)).expect("in memory");
    drop(s);
    cf.flush().expect("in memory");
    cf.into_inner().into_inner()
}
