//! Queries over the fleet's history that rules and reports share: the events collected (each
//! once), the error events by kind, the update runs, the reboots, and the report's timeline
//! built from them. `fleet.incident-window` and the report's timeline count the same update runs and the
//! same error events because they ask these.

use polars::prelude::*;

use crate::input::History;
use exfleet_dataset::Table;
use exfleet_proto::kinds::EventKind;

/// Error kinds: (provider prefixes, event ids, name).
pub const ERRORS: [(&[&str], &[i64], &str); 5] = [
    (&["ASP.NET"], &[1309, 1310], "ASP.NET"),
    (
        &["MSExchange Front End HTTP Proxy"],
        &[1003],
        "Front End HTTP Proxy",
    ),
    (&["HttpEvent"], &[15021], "HttpEvent"),
    // Services that fail to start, hang, stop with an error or crash.
    (
        &["Service Control Manager"],
        &[7000, 7009, 7011, 7023, 7031, 7034],
        "service failure",
    ),
    (
        &["Application Error", ".NET Runtime", "MSExchange Common"],
        &[1000, 1026, 4999],
        "process crash",
    ),
];

/// Event kinds that mark an install (or a failed one): MsiInstaller's and Windows Update's.
const INSTALL_KINDS: [EventKind; 2] = [EventKind::UpdateInstalled, EventKind::UpdateFailed];

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
            col("kind"),
            col("subject"),
        ])
        .unique(
            Some(cols(["host", "log", "record_id", "time_ms"])),
            UniqueKeepStrategy::First,
        )
}

/// The error events of [`events`], with their kind (`ASP.NET`, ...) in a `kind` column.
pub fn error_events(events: LazyFrame) -> LazyFrame {
    let mut kind = lit(NULL).cast(DataType::String);
    for (prefixes, ids, name) in ERRORS.iter().rev() {
        let ids = Series::new("ids".into(), ids.to_vec());
        let provider = prefixes
            .iter()
            .map(|p| col("provider").str().starts_with(lit(*p)))
            .reduce(|a, b| a.or(b))
            .unwrap_or(lit(false));
        kind = when(provider.and(col("event_id").is_in(lit(ids).implode(false), false)))
            .then(lit(*name))
            .otherwise(kind);
    }
    events
        .with_column(kind.alias("kind"))
        .filter(col("kind").is_not_null())
}

/// Boots of [`events`] (EventLog 6005 and Kernel-General 12, which Windows logs both at each
/// start), one per host and start: `host`, `time_ms`.
pub fn boots(events: LazyFrame) -> LazyFrame {
    // The two events of one start are written within seconds of each other.
    const SAME_BOOT_MS: i64 = 10 * 60_000;
    events
        .filter(col("kind").eq(lit(EventKind::Boot.as_str())))
        .with_column((col("time_ms") / lit(SAME_BOOT_MS)).alias("slot"))
        .unique(Some(cols(["host", "slot"])), UniqueKeepStrategy::First)
        .select([col("host"), col("time_ms")])
}

/// Update runs up to `end_ms`: `host`, `at` (UTC ms), `what`, oldest first.
pub fn update_runs_frame(
    history: &History,
    events: LazyFrame,
    end_ms: i64,
) -> PolarsResult<LazyFrame> {
    let kinds = Series::new(
        "kinds".into(),
        INSTALL_KINDS.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
    );
    // Defender definition updates (several a day) replace no binary: not update runs.
    let definition = crate::view::DEFINITION_UPDATES
        .iter()
        .map(|p| col("subject").str().starts_with(lit(*p)))
        .reduce(|a, b| a.or(b))
        .unwrap_or(lit(false));
    let msi_events = events
        .filter(
            col("kind")
                .is_in(lit(kinds).implode(false), false)
                .and(definition.not()),
        )
        .select([
            col("host"),
            col("time_ms").alias("at"),
            (col("provider") + lit(" ") + col("event_id").cast(DataType::String)).alias("what"),
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

/// Update runs, error events and reboots per day.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// First day shown (UTC ms of its midnight).
    pub first_day_ms: i64,
    /// Per day, oldest first: (update runs, error events).
    pub days: Vec<(u32, u32)>,
    /// Per day, oldest first: reboots (hosts' starts, see [`boots`]).
    pub reboots: Vec<u32>,
}

impl Timeline {
    /// The start (UTC ms) of the `i`th day shown.
    pub fn day_start_ms(&self, i: usize) -> i64 {
        self.first_day_ms + i as i64 * DAY_MS
    }
}

/// Counts, per day of the last [`TIMELINE_DAYS`] up to `end_ms`, the fleet's update runs,
/// error events and reboots.
pub fn timeline(history: &History, end_ms: i64) -> PolarsResult<Timeline> {
    let last_day = end_ms.div_euclid(DAY_MS);
    let first_day = last_day - TIMELINE_DAYS + 1;
    let mut t = Timeline {
        first_day_ms: first_day * DAY_MS,
        days: vec![(0, 0); TIMELINE_DAYS as usize],
        reboots: vec![0; TIMELINE_DAYS as usize],
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
    for (d, n) in per_day(error_events(evs.clone()), "time_ms")? {
        if let Some(slot) = t.days.get_mut((d - first_day) as usize) {
            slot.1 = n;
        }
    }
    for (d, n) in per_day(boots(evs), "time_ms")? {
        if let Some(slot) = t.reboots.get_mut((d - first_day) as usize) {
            *slot = n;
        }
    }
    Ok(t)
}

/// Every host's indicator-of-compromise matches up to `end_ms`, as rows of its latest snapshot
/// (`latest`, the hosts frame): a collector that keeps read marks ships each log match once, in
/// the snapshot of the day it was written, so the matches of the log scans add up over the
/// history (each once, by indicator and place). The files it lists (dumps, archives, the
/// web folders' files) are each snapshot's whole list: those of the latest snapshot only.
pub fn ioc_matches(
    history: &History,
    latest_hosts: &DataFrame,
    latest_matches: &DataFrame,
    end_ms: i64,
) -> PolarsResult<DataFrame> {
    let is_file = col("indicator")
        .eq(lit("lsass_dump"))
        .or(col("indicator").eq(lit("suspicious_archive")))
        .or(col("indicator").eq(lit("aspx_file")));
    let valid = history
        .table(Table::Hosts)
        .filter(
            col("collected_at_ms")
                .lt_eq(lit(end_ms))
                .and(col("identity_mismatch").fill_null(lit(false)).not()),
        )
        .select([col("snapshot_id")]);
    let latest = latest_hosts.clone().lazy().select([
        col("host"),
        col("snapshot_id").alias("latest_id"),
        col("collected_at_ms").alias("latest_at"),
    ]);
    let columns: Vec<Expr> = latest_matches
        .get_column_names()
        .into_iter()
        .map(|c| col(c.as_str()))
        .collect();
    let past = history
        .table(Table::IocMatches)
        .filter(is_file.clone().not())
        .join(
            valid,
            [col("snapshot_id")],
            [col("snapshot_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            latest,
            [col("host")],
            [col("host")],
            JoinArgs::new(JoinType::Inner),
        )
        .with_columns([
            col("latest_id").alias("snapshot_id"),
            col("latest_at").alias("collected_at_ms"),
        ])
        .select(columns.clone())
        .unique_stable(
            Some(cols(["host", "indicator", "provenance", "time_ms"])),
            UniqueKeepStrategy::First,
        );
    let files = latest_matches
        .clone()
        .lazy()
        .filter(is_file)
        .select(columns);
    concat([past, files], UnionArgs::default())?.collect()
}

/// Per host, the build each of its snapshots collected up to `end_ms` showed, oldest first
/// (snapshots whose identity does not match their host left out, as everywhere): what the
/// host ran when.
pub fn builds_over_time(
    history: &History,
    end_ms: i64,
) -> PolarsResult<std::collections::HashMap<String, Vec<crate::view::BuildAt>>> {
    let df = history
        .table(Table::Hosts)
        .filter(
            col("collected_at_ms")
                .lt_eq(lit(end_ms))
                .and(col("identity_mismatch").fill_null(lit(false)).not()),
        )
        .select([
            col("host"),
            col("snapshot_id"),
            col("collected_at_ms"),
            col("exsetup_version"),
        ])
        .sort(["collected_at_ms"], SortMultipleOptions::default())
        .collect()?;
    let mut out: std::collections::HashMap<String, Vec<crate::view::BuildAt>> =
        std::collections::HashMap::new();
    let (hosts, ids, times, versions) = (
        df.column("host")?.str()?,
        df.column("snapshot_id")?.str()?,
        df.column("collected_at_ms")?.i64()?,
        df.column("exsetup_version")?.str()?,
    );
    for i in 0..df.height() {
        let (Some(host), Some(at)) = (hosts.get(i), times.get(i)) else {
            continue;
        };
        out.entry(host.to_string())
            .or_default()
            .push(crate::view::BuildAt {
                collected_at_ms: at,
                build: versions.get(i).and_then(crate::catalog::Build::parse),
                snapshot_id: ids.get(i).unwrap_or_default().to_string(),
            });
    }
    Ok(out)
}
