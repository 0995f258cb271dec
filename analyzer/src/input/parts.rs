//! The dataset's Parquet parts, checked before they are scanned: a part cut short (a 0-byte
//! file left by a full disk, a copy that stopped half way), overwritten, or of another
//! table's types is named and left out, instead of aborting the scan of its whole table (or,
//! worse, shrinking it silently). The checks read the ends of the file and its footer only:
//! the cost does not grow with the data.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use exfleet_dataset::Table;
use polars::prelude::*;

/// A Parquet file starts and ends with these four bytes.
const MAGIC: &[u8; 4] = b"PAR1";
/// The smallest Parquet file: the magic, the footer's length (4 bytes) and the magic again.
const MIN_LEN: u64 = 12;

/// Why the part at `path` of `table` cannot be scanned, if it cannot.
pub(super) fn check(path: &Path, table: Table) -> Result<(), String> {
    let mut f = File::open(path).map_err(|e| format!("cannot open the Parquet part: {e}"))?;
    let len = f
        .metadata()
        .map_err(|e| format!("cannot read the Parquet part: {e}"))?
        .len();
    if len == 0 {
        return Err("empty file (0 bytes), not a Parquet file".into());
    }
    if len < MIN_LEN {
        return Err(format!("{len} bytes, too short for a Parquet file"));
    }
    let mut head = [0u8; 4];
    let mut tail = [0u8; 4];
    f.read_exact(&mut head)
        .and_then(|()| f.seek(SeekFrom::End(-4)))
        .and_then(|_| f.read_exact(&mut tail))
        .and_then(|()| f.rewind())
        .map_err(|e| format!("cannot read the Parquet part: {e}"))?;
    if &head != MAGIC {
        return Err("not a Parquet file (it does not start with PAR1)".into());
    }
    if &tail != MAGIC {
        return Err(format!(
            "truncated or damaged Parquet file: {len} bytes that do not end with PAR1 (its footer is missing)"
        ));
    }
    // The footer is untrusted bytes: a reader that panics on them must not take the
    // analysis down with it.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| footer(f, len, table)))
        .unwrap_or_else(|_| Err("damaged Parquet footer (the reader failed on it)".into()))
}

/// Reads the footer: the schema (the columns the part has must be of the table's types) and
/// the row groups (every column chunk inside the file).
fn footer(f: File, len: u64, table: Table) -> Result<(), String> {
    let damaged = |e: PolarsError| format!("damaged Parquet footer: {e}");
    let mut reader = ParquetReader::new(f);
    let schema = reader.schema().map_err(damaged)?;
    let expected = table.schema();
    for (name, field) in schema.iter() {
        let Some(want) = expected.get(name.as_str()) else {
            continue;
        };
        let got = DataType::from_arrow_field(field);
        if &got != want {
            return Err(format!(
                "column {name} is {got}, but the {} table's is {want}",
                table.name()
            ));
        }
    }
    let metadata = reader.get_metadata().map_err(damaged)?;
    let mut rows = 0usize;
    for group in &metadata.row_groups {
        rows = rows.saturating_add(group.num_rows());
        for range in group.byte_ranges_iter() {
            if range.end > len {
                return Err(format!(
                    "damaged Parquet file: a column chunk at bytes {}..{} lies beyond its {len} bytes",
                    range.start, range.end
                ));
            }
        }
    }
    if rows != metadata.num_rows {
        return Err(format!(
            "damaged Parquet footer: {} rows, but its row groups hold {rows}",
            metadata.num_rows
        ));
    }
    Ok(())
}

/// Reads the whole part at `path`: whether its data (not only its footer) can be read.
pub(super) fn read_fully(path: &Path) -> Result<(), String> {
    let f = File::open(path).map_err(|e| format!("cannot open the Parquet part: {e}"))?;
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ParquetReader::new(f).finish()
    })) {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!(
            "damaged Parquet part, its data cannot be read: {e}"
        )),
        Err(_) => Err("damaged Parquet part, the reader failed on its data".into()),
    }
}

/// A lazy scan of the parts of `table` (checked), in the table's schema: a part written
/// before a column existed reads it as null.
pub(super) fn scan(parts: &[PathBuf], table: Table) -> PolarsResult<LazyFrame> {
    let paths = parts
        .iter()
        .map(|p| PlRefPath::try_from_path(p))
        .collect::<PolarsResult<Vec<_>>>()?;
    let args = ScanArgsParquet {
        hive_options: HiveOptions::new_disabled(),
        schema: Some(table.schema().into()),
        allow_missing_columns: true,
        // The paths are files, not patterns: a `[` in a folder name is a `[`.
        glob: false,
        ..Default::default()
    };
    LazyFrame::scan_parquet_files(paths.into_iter().collect(), args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, mut df: DataFrame) -> PathBuf {
        let p = dir.join(name);
        let mut f = File::create(&p).unwrap();
        ParquetWriter::new(&mut f).finish(&mut df).unwrap();
        p
    }

    #[test]
    fn parts_of_other_types_or_not_parquet_are_refused_and_older_parts_are_not() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        // Written before a column existed: fine, the scan reads it as null.
        let older = Table::Hosts.empty_frame().drop("owner").unwrap();
        let older = write(d, "older.parquet", older);
        assert_eq!(check(&older, Table::Hosts), Ok(()));
        let ints = DataFrame::new(1, vec![Column::new("host".into(), [1i64])]).unwrap();
        let ints = write(d, "ints.parquet", ints);
        let e = check(&ints, Table::Hosts).unwrap_err();
        assert!(e.contains("column host is"), "{e}");
        let text = d.join("text.parquet");
        std::fs::write(&text, "hello, not a Parquet file").unwrap();
        let e = check(&text, Table::Hosts).unwrap_err();
        assert!(e.contains("does not start with PAR1"), "{e}");
        let short = d.join("short.parquet");
        std::fs::write(&short, "PAR1").unwrap();
        let e = check(&short, Table::Hosts).unwrap_err();
        assert!(e.contains("too short"), "{e}");
    }
}
