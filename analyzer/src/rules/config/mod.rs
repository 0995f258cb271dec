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

/// A stock file's key: path, build, install path. The files name the install path (code bases
/// of web.config), so a stock file is the stock of one build at one install path.
pub type StockKey = (String, String, String);

/// The config files collected up to the end of the analysis (present, hashed, neither
/// malformed nor with a variable left unexpanded: those are broken, not customized, and
/// their own rules report them), with the build and install path of their snapshot:
/// `snapshot_id`, `host`, `collected_at_ms`, `path`, `sha256`, `provenance`, `build`,
/// `install`.
pub fn files(fleet: &Fleet) -> LazyFrame {
    let builds = fleet.history.table(Table::Hosts).select([
        col("snapshot_id"),
        col("exsetup_version").alias("build"),
        col("install_path").str().to_lowercase().alias("install"),
    ]);
    fleet
        .history
        .table(Table::ConfigFiles)
        .filter(
            col("collected_at_ms")
                .lt_eq(lit(fleet.end_ms))
                .and(col("exists"))
                .and(col("sha256").neq(lit("")))
                .and(col("xml_error").eq(lit("")))
                .and(col("unexpanded_lines").eq(lit(""))),
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

/// The stock file of each (path, build, install path): the SHA-256 a strict majority of the
/// hosts seen on that build at that install path have, when at least [`MIN_PEERS`] hosts were
/// seen there, with how many have it.
pub fn stock(files: &LazyFrame) -> PolarsResult<HashMap<StockKey, (String, u32)>> {
    let stock = files
        .clone()
        .group_by([col("path"), col("build"), col("install"), col("sha256")])
        .agg([col("host").n_unique().alias("hosts")])
        .with_column(
            col("hosts")
                .sum()
                .over([col("path"), col("build"), col("install")])?
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
    let install = stock.column("install")?.str()?;
    let sha = stock.column("sha256")?.str()?;
    let hosts = stock.column("hosts")?.cast(&DataType::UInt32)?;
    let hosts = hosts.u32()?;
    for i in 0..stock.height() {
        if let (Some(p), Some(b), Some(d), Some(s), Some(n)) = (
            path.get(i),
            build.get(i),
            install.get(i),
            sha.get(i),
            hosts.get(i),
        ) {
            stock_of.insert(
                (p.to_string(), b.to_string(), d.to_string()),
                (s.to_string(), n),
            );
        }
    }
    Ok(stock_of)
}
