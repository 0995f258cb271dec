//! Rules about configuration files: the stock file of a build, as the fleet shows it, and the
//! hosts whose file is not it.

pub mod customizations_overwritten;
pub mod customized;

use std::collections::HashMap;

use exfleet_dataset::Table;
use polars::prelude::*;

use crate::rules::fleet::Fleet;

/// Hosts a build must have before its majority file counts as stock.
pub const MIN_PEERS: u32 = 3;

/// The config files collected up to the end of the analysis (present, hashed), with the build
/// of their snapshot: `snapshot_id`, `host`, `collected_at_ms`, `path`, `sha256`,
/// `provenance`, `build`.
pub fn files(fleet: &Fleet) -> LazyFrame {
    let builds = fleet
        .history
        .table(Table::Hosts)
        .select([col("snapshot_id"), col("exsetup_version").alias("build")]);
    fleet
        .history
        .table(Table::ConfigFiles)
        .filter(
            col("collected_at_ms")
                .lt_eq(lit(fleet.end_ms))
                .and(col("exists"))
                .and(col("sha256").neq(lit(""))),
        )
        .select([
            col("snapshot_id"),
            col("host"),
            col("collected_at_ms"),
            col("path"),
            col("sha256"),
            col("provenance"),
        ])
        .join(
            builds,
            [col("snapshot_id")],
            [col("snapshot_id")],
            JoinArgs::new(JoinType::Inner),
        )
}

/// The stock file of each (path, build): the SHA-256 a strict majority of the hosts seen on
/// that build have, when at least [`MIN_PEERS`] hosts were seen on it, with how many have it.
pub fn stock(files: &LazyFrame) -> PolarsResult<HashMap<(String, String), (String, u32)>> {
    let stock = files
        .clone()
        .group_by([col("path"), col("build"), col("sha256")])
        .agg([col("host").n_unique().alias("hosts")])
        .with_column(
            col("hosts")
                .sum()
                .over([col("path"), col("build")])?
                .alias("on_build"),
        )
        .filter(
            col("hosts")
                .gt_eq(lit(MIN_PEERS))
                .and((col("hosts") * lit(2)).gt(col("on_build"))),
        )
        .collect()?;
    let mut stock_of = HashMap::new();
    let path = stock.column("path")?.str()?;
    let build = stock.column("build")?.str()?;
    let sha = stock.column("sha256")?.str()?;
    let hosts = stock.column("hosts")?.cast(&DataType::UInt32)?;
    let hosts = hosts.u32()?;
    for i in 0..stock.height() {
        if let (Some(p), Some(b), Some(s), Some(n)) =
            (path.get(i), build.get(i), sha.get(i), hosts.get(i))
        {
            stock_of.insert((p.to_string(), b.to_string()), (s.to_string(), n));
        }
    }
    Ok(stock_of)
}
