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
