//! Queries over the fleet's history that rules and reports share: the events collected (each
//! once), the error events by kind, the update runs, and the report's timeline built from
//! them. `fleet.incident-window` and the report's timeline count the same update runs and the
//! same error events because they ask these.

use polars::prelude::*;

use crate::input::History;
use exfleet_dataset::Table;

/// Error kinds: (provider prefix, event ids, name).
pub const ERRORS: [(&str, &[i64], &str); 3] = [
    ("ASP.NET", &[1309, 1310], "ASP.NET"),
    (
        "MSExchange Front End HTTP Proxy",
        &[1003],
        "Front End HTTP Proxy",
    ),
    ("HttpEvent", &[15021], "HttpEvent"),
];

/// MsiInstaller events that mark an install (or a failed one).
const INSTALL_EVENTS: [i64; 7] = [1022, 1023, 1024, 1033, 1036, 11707, 11708];

/// Events collected up to `end_ms`, each once (the windows of snapshots may overlap).
pub fn events(history: &History, end_ms: i64) -> LazyFrame {
    history
        .table(Table::Events)
        .filter(col("collected_at_ms").lt_eq(lit(end_ms)))
        .select([
            col("host"),
            col("log"),
            col("provider"),
            col("event_id"),
            col("record_id"),
            col("time_ms"),
            col("provenance"),
        ])
        .unique(
            Some(cols(["host", "log", "record_id", "time_ms"])),
            UniqueKeepStrategy::First,
        )
}

/// The error events of [`events`], with their kind (`ASP.NET`, ...) in a `kind` column.
pub fn error_events(events: LazyFrame) -> LazyFrame {
    let mut kind = lit(NULL).cast(DataType::String);
    for (prefix, ids, name) in ERRORS.iter().rev() {
        let ids = Series::new("ids".into(), ids.to_vec());
        kind = when(
            col("provider")
                .str()
                .starts_with(lit(*prefix))
                .and(col("event_id").is_in(lit(ids).implode(false), false)),
        )
        .then(lit(*name))
        .otherwise(kind);
    }
    events
        .with_column(kind.alias("kind"))
        .filter(col("kind").is_not_null())
}

/// Update runs up to `end_ms`: `host`, `at` (UTC ms), `what`, oldest first.
pub fn update_runs_frame(
    history: &History,
    events: LazyFrame,
    end_ms: i64,
) -> PolarsResult<LazyFrame> {
    let ids = Series::new("ids".into(), INSTALL_EVENTS.to_vec());
    let msi_events = events
        .filter(
            col("provider")
                .eq(lit("MsiInstaller"))
                .and(col("event_id").is_in(lit(ids).implode(false), false)),
        )
        .select([
            col("host"),
            col("time_ms").alias("at"),
            (lit("MsiInstaller ") + col("event_id").cast(DataType::String)).alias("what"),
        ]);
    let setup = history
        .table(Table::SetupRuns)
        .filter(col("collected_at_ms").lt_eq(lit(end_ms)))
        .select([
            col("host"),
            col("started_at_ms").alias("at"),
            (lit("setup run ") + col("setup_version")).alias("what"),
        ]);
    let msi_logs = history
        .table(Table::MsiLogs)
        .filter(col("collected_at_ms").lt_eq(lit(end_ms)))
        .select([
            col("host"),
            col("started_at_ms").alias("at"),
            (lit("MSI log of ") + col("patch")).alias("what"),
        ]);
    Ok(concat([msi_events, setup, msi_logs], UnionArgs::default())?
        .filter(col("at").gt(lit(0)))
        .unique(Some(cols(["host", "at"])), UniqueKeepStrategy::First)
        .sort(["host", "at"], Default::default()))
}

/// Days the timeline shows, ending on the analysis day.
pub const TIMELINE_DAYS: i64 = 90;
const DAY_MS: i64 = 86_400_000;

/// Update runs and error events per day.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// First day shown (UTC ms of its midnight).
    pub first_day_ms: i64,
    /// Per day, oldest first: (update runs, error events).
    pub days: Vec<(u32, u32)>,
}

impl Timeline {
    /// The start (UTC ms) of the `i`th day shown.
    pub fn day_start_ms(&self, i: usize) -> i64 {
        self.first_day_ms + i as i64 * DAY_MS
    }
}

/// Counts, per day of the last [`TIMELINE_DAYS`] up to `end_ms`, the fleet's update runs and
/// error events.
pub fn timeline(history: &History, end_ms: i64) -> PolarsResult<Timeline> {
    let last_day = end_ms.div_euclid(DAY_MS);
    let first_day = last_day - TIMELINE_DAYS + 1;
    let mut t = Timeline {
        first_day_ms: first_day * DAY_MS,
        days: vec![(0, 0); TIMELINE_DAYS as usize],
    };
    let evs = events(history, end_ms);
    let per_day = |lf: LazyFrame, time: &str| -> PolarsResult<Vec<(i64, u32)>> {
        let df = lf
            .select([(col(time) / lit(DAY_MS)).alias("day")])
            .filter(col("day").gt_eq(lit(first_day)))
            .group_by([col("day")])
            .agg([len().alias("n")])
            .collect()?;
        let days = df.column("day")?.i64()?;
        let n = df.column("n")?.cast(&DataType::UInt32)?;
        let n = n.u32()?;
        Ok(days
            .iter()
            .zip(n.iter())
            .filter_map(|(d, n)| Some((d?, n?)))
            .collect())
    };
    for (d, n) in per_day(update_runs_frame(history, evs.clone(), end_ms)?, "at")? {
        if let Some(slot) = t.days.get_mut((d - first_day) as usize) {
            slot.0 = n;
        }
    }
    for (d, n) in per_day(error_events(evs), "time_ms")? {
        if let Some(slot) = t.days.get_mut((d - first_day) as usize) {
            slot.1 = n;
        }
    }
    Ok(t)
}
