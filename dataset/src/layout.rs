//! Where rows live on disk: `<table>/date=<YYYY-MM-DD>/part-<batch>.parquet`, partitioned by
//! the UTC date of collection (hive style, read by polars, DuckDB, Spark, Trino).

/// The partition (`YYYY-MM-DD`, UTC) of a collection time in ms.
pub fn date_of(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

/// The partition directory of a date, relative to the table's directory.
pub fn partition(date: &str) -> String {
    format!("date={date}")
}

/// The folder of the committed batches: `_flushed/<batch>.ids`, the snapshot ids of a batch
/// one a line, written after its parts. A batch without it is not committed.
pub const FLUSHED: &str = "_flushed";

/// The key of a batch's part of a table and date, relative to the dataset's root.
pub fn part_key(table: &str, date: &str, batch: &str) -> String {
    format!("{table}/{}/part-{batch}.parquet", partition(date))
}

/// The batch a part belongs to, from its key (`<table>/date=<date>/part-<batch>.parquet`
/// relative to the dataset's root, '/'-separated, `table` one of the dataset's), if the key is
/// a part's.
pub fn batch_of_part(key: &str) -> Option<&str> {
    let mut it = key.split('/');
    let (table, date, name) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some()
        || !crate::Table::ALL.iter().any(|t| t.name() == table)
        || !date.starts_with("date=")
    {
        return None;
    }
    name.strip_prefix("part-")?.strip_suffix(".parquet")
}

/// The batch of a committed batch's ids file (`_flushed/<batch>.ids`), if the key is one.
pub fn batch_of_ids(key: &str) -> Option<&str> {
    key.strip_prefix(FLUSHED)?
        .strip_prefix('/')?
        .strip_suffix(".ids")
        .filter(|b| !b.is_empty() && !b.contains('/'))
}

/// The name of the batch that compacts the parts of `date` (`YYYY-MM-DD`) whose earliest
/// batch is `first`, written by `owner` (an aggregator's id; none for a local folder):
/// `<ms>-c<YYYYMMDD>[-<owner>]`, `<ms>` one less than `first`'s. It sorts before every batch
/// it replaces, so that while both are there readers keep its rows and leave out their
/// copies (the first batch holding a snapshot is the one read). `None` when `first` does
/// not start with its time (13 digits).
pub fn compacted_batch(date: &str, first: &str, owner: Option<&str>) -> Option<String> {
    let ms: i64 = first.get(..13)?.parse().ok()?;
    let day = date.replace('-', "");
    if day.len() != 8 || !day.bytes().all(|b| b.is_ascii_digit()) || ms < 1 {
        return None;
    }
    Some(match owner {
        Some(o) => format!("{:013}-c{day}-{o}", ms - 1),
        None => format!("{:013}-c{day}", ms - 1),
    })
}

/// Whether a batch is a compaction's ([`compacted_batch`]): its parts are read only once its
/// ids file commits it, since until then the batches it replaces hold the same rows.
pub fn is_compacted(batch: &str) -> bool {
    batch.split('-').nth(1).is_some_and(|s| {
        s.len() == 9 && s.starts_with('c') && s[1..].bytes().all(|b| b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compacted_batch_sorts_before_the_batches_it_replaces_and_is_told_apart() {
        let first = "1795000000000-00ab-000001-agg1";
        let c = compacted_batch("2026-11-18", first, Some("agg2")).unwrap();
        assert_eq!(c, "1794999999999-c20261118-agg2");
        assert!(c.as_str() < first && c.as_str() < "1795000000000-0000-000000");
        assert!(is_compacted(&c));
        let local = compacted_batch("2026-11-18", "1795000000000-00ab-000001", None).unwrap();
        assert_eq!(local, "1794999999999-c20261118");
        assert!(is_compacted(&local));
        // Compacting again (late batches of the day): before the first compaction.
        let again = compacted_batch("2026-11-18", &c, Some("agg1")).unwrap();
        assert!(again < c, "{again}");
        assert!(!is_compacted(first) && !is_compacted("1795000000000-00abcdef-000001"));
        assert_eq!(compacted_batch("2026-11-18", "x", None), None);
    }

    #[test]
    fn keys_of_parts_and_ids_name_their_batch() {
        let key = part_key("hosts", "2026-11-18", "1795-00ab-000001-agg1");
        assert_eq!(
            key,
            "hosts/date=2026-11-18/part-1795-00ab-000001-agg1.parquet"
        );
        assert_eq!(batch_of_part(&key), Some("1795-00ab-000001-agg1"));
        assert_eq!(batch_of_part("nosuchtable/date=x/part-1.parquet"), None);
        assert_eq!(batch_of_part("hosts/date=x/notes.txt"), None);
        assert_eq!(batch_of_part("hosts/date=x/y/part-1.parquet"), None);
        assert_eq!(batch_of_ids("_flushed/1795-agg1.ids"), Some("1795-agg1"));
        assert_eq!(batch_of_ids("_flushed/.ids"), None);
        assert_eq!(batch_of_ids("hosts/_flushed/a.ids"), None);
    }

    proptest::proptest! {
        /// Keys listed from a bucket are anyone's bytes: reading them never panics, and a
        /// part's or an ids file's key gives back the batch it was made with.
        #[test]
        fn any_key_is_read_without_panic_and_made_keys_round_trip(
            key in "\\PC{0,80}",
            batch in "[0-9a-zA-Z_-]{1,40}",
            date in "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        ) {
            let _ = batch_of_part(&key);
            let _ = batch_of_ids(&key);
            let part = part_key("events", &date, &batch);
            proptest::prop_assert_eq!(batch_of_part(&part), Some(batch.as_str()));
            let ids = format!("{FLUSHED}/{batch}.ids");
            proptest::prop_assert_eq!(batch_of_ids(&ids), Some(batch.as_str()));
        }
    }
}
