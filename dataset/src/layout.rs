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

#[cfg(test)]
mod tests {
    use super::*;

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
