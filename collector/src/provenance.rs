//! Constructors for `Provenance`, the "where did this come from" every record carries.

use exfleet_proto::v1::{provenance::Locator, Provenance, RegValue};

/// Provenance of a whole file.
pub fn file(reader: &str, path: &str) -> Provenance {
    Provenance {
        reader: reader.to_string(),
        path: path.to_string(),
        locator: None,
    }
}

/// Provenance at a 1-based line of a text file.
pub fn line(reader: &str, path: &str, line: u32) -> Provenance {
    with(reader, path, Locator::Line(line))
}

/// Provenance at a byte offset of a file.
pub fn offset(reader: &str, path: &str, offset: u64) -> Provenance {
    with(reader, path, Locator::Offset(offset))
}

/// Provenance at a registry value (`value` empty for the key itself).
pub fn reg(reader: &str, path: &str, key: &str, value: &str) -> Provenance {
    with(
        reader,
        path,
        Locator::RegValue(RegValue {
            key: key.to_string(),
            value: value.to_string(),
        }),
    )
}

/// Provenance at an event record of an .evtx file.
pub fn record(reader: &str, path: &str, record_id: u64) -> Provenance {
    with(reader, path, Locator::EventRecordId(record_id))
}

fn with(reader: &str, path: &str, locator: Locator) -> Provenance {
    Provenance {
        reader: reader.to_string(),
        path: path.to_string(),
        locator: Some(locator),
    }
}
