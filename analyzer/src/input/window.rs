//! Collection times the analysis can trust. A snapshot's `collected_at_ms` is whatever its
//! collector's clock said (or whatever a damaged or hostile sender wrote): a time before 2000
//! or far in the future is not a collection time, and the rules' arithmetic on it (gaps,
//! silences, windows) means nothing or overflows. Such snapshots are left out of the
//! analysis, each named, rather than judged.

use polars::prelude::*;
use serde::Serialize;

use exfleet_dataset::Table;

use super::History;

/// 2000-01-01T00:00:00Z: no snapshot was collected before it.
pub const EARLIEST_MS: i64 = 946_684_800_000;

/// How far ahead of the analysis time (the clock, or the end of the analysis day if later) a
/// collection time may lie: a collector's clock a little fast.
pub const AHEAD_MS: i64 = 86_400_000;

/// A snapshot left out of the analysis: its collection time cannot be true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    /// The host it names.
    pub host: String,
    /// The snapshot.
    pub snapshot_id: String,
    /// Its collection time as stored (UTC ms).
    pub collected_at_ms: Option<i64>,
    /// Why it was left out.
    pub reason: String,
}

impl std::fmt::Display for LeftOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = if self.host.is_empty() {
            "(no host name)"
        } else {
            &self.host
        };
        write!(
            f,
            "snapshot {} of host {host}: {}",
            self.snapshot_id, self.reason
        )
    }
}

impl History {
    /// This history without the snapshots collected before [`EARLIEST_MS`] or after
    /// `latest_ms` (or with no collection time), and those snapshots, by host.
    pub fn plausible(&self, latest_ms: i64) -> PolarsResult<(History, Vec<LeftOut>)> {
        let at = || col("collected_at_ms");
        let inside = || at().gt_eq(lit(EARLIEST_MS)).and(at().lt_eq(lit(latest_ms)));
        let outside = at()
            .is_null()
            .or(at().lt(lit(EARLIEST_MS)))
            .or(at().gt(lit(latest_ms)));
        let df = self
            .table(Table::Hosts)
            .filter(outside)
            .select([col("host"), col("snapshot_id"), at()])
            .unique(None, UniqueKeepStrategy::First)
            .sort(["host", "snapshot_id"], Default::default())
            .collect()?;
        let hosts = df.column("host")?.str()?;
        let ids = df.column("snapshot_id")?.str()?;
        let times = df.column("collected_at_ms")?.i64()?;
        let left_out = (0..df.height())
            .map(|i| {
                let t = times.get(i);
                LeftOut {
                    host: hosts.get(i).unwrap_or_default().to_string(),
                    snapshot_id: ids.get(i).unwrap_or_default().to_string(),
                    collected_at_ms: t,
                    reason: reason(t, latest_ms),
                }
            })
            .collect();
        // Every table keeps only the rows of snapshots inside the window (each row carries its
        // snapshot's collection time): a left-out snapshot leaves no events, runs or files
        // behind for the history rules.
        let tables = self
            .tables
            .try_map(|_, lf| Ok::<_, PolarsError>(lf.clone().filter(inside())))?;
        Ok((
            History {
                tables,
                skipped: self.skipped.clone(),
                parts: self.parts.clone(),
                dir: self.dir.clone(),
                until: Some(latest_ms),
                mirror: self.mirror.clone(),
            },
            left_out,
        ))
    }
}

fn reason(t: Option<i64>, latest_ms: i64) -> String {
    let Some(t) = t else {
        return "no collection time; left out of the analysis".into();
    };
    let when = match crate::rules::utc(t) {
        s if s.is_empty() => format!("{t} ms since 1970-01-01"),
        s => s,
    };
    if t < EARLIEST_MS {
        format!("collected at {when}, before 2000-01-01; left out of the analysis")
    } else {
        format!(
            "collected at {when}, more than a day after the analysis time ({}); left out of the analysis",
            crate::rules::utc(latest_ms.saturating_sub(AHEAD_MS))
        )
    }
}
