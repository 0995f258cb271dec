//! `config.customizations-overwritten`.

use std::collections::{BTreeMap, HashMap};

use polars::prelude::*;

use crate::finding::{Evidence, Finding, Severity};
use crate::rules::fleet::{Fleet, FleetRule};
use crate::rules::{action_of, utc, Context};
use exfleet_dataset::Table;

/// The catalog entry.
pub const DOC: &str = "## Detects
A customized web.config or SharedWebConfig.config that came back stock across an update: before the update the host's file differed from the stock file of its build, after it the file is the stock file of the new build, and it still is. The stock file of a build is the one (by SHA-256) that a strict majority of the hosts on that build have, when at least 3 hosts are on it; a file whose stock is unknown is not judged. Needs the history: a host's snapshots before and after the update.
## Evidence
The file, its hash and build before and after the update, with the snapshot times, and how many hosts share the stock file.
## Action
Re-apply the customization from your change record or backup (CUs and SUs replace these files; keep customizations in a script run after every update), then `iisreset`; check the settings the customization carried (forms-based authentication, upload limits, redirects).
## Source
Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): \"Customized OWA or .config files\" (a CU overwrites customized web.config and OWA files); exfleet's own fleet analysis (README.md, \"The analyzer\").";

/// `config.customizations-overwritten`; its catalog entry is [`DOC`].
pub struct CustomizationsOverwritten;

/// Hosts a build must have before its majority file counts as stock.
const MIN_PEERS: u32 = 3;

impl FleetRule for CustomizationsOverwritten {
    fn id(&self) -> &'static str {
        "config.customizations-overwritten"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, fleet: &Fleet, _: &Context, out: &mut Vec<Finding>) -> PolarsResult<()> {
        let builds = fleet
            .history
            .table(Table::Hosts)
            .select([col("snapshot_id"), col("exsetup_version").alias("build")]);
        let files = fleet
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
            );
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
        let mut stock_of: HashMap<(String, String), (String, u32)> = HashMap::new();
        {
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
        }
        let rows = files
            .sort(["host", "path", "collected_at_ms"], Default::default())
            .collect()?;
        let host = rows.column("host")?.str()?;
        let path = rows.column("path")?.str()?;
        let at = rows.column("collected_at_ms")?.i64()?;
        let sha = rows.column("sha256")?.str()?;
        let build = rows.column("build")?.str()?;
        let prov = rows.column("provenance")?.str()?;
        // (host, path) -> the evidence of the last loss, cleared when customized again.
        let mut lost: BTreeMap<(String, String), Vec<Evidence>> = BTreeMap::new();
        for i in 1..rows.height() {
            let (Some(h), Some(p)) = (host.get(i), path.get(i)) else {
                continue;
            };
            let key = (h.to_string(), p.to_string());
            let b = build.get(i).unwrap_or_default();
            let s = sha.get(i).unwrap_or_default();
            let stock_now = stock_of.get(&(p.to_string(), b.to_string()));
            if stock_now.is_some_and(|(st, _)| st != s) {
                lost.remove(&key);
            }
            if host.get(i - 1) != Some(h) || path.get(i - 1) != Some(p) {
                continue;
            }
            let (pb, ps) = (
                build.get(i - 1).unwrap_or_default(),
                sha.get(i - 1).unwrap_or_default(),
            );
            let Some((stock_before, _)) = stock_of.get(&(p.to_string(), pb.to_string())) else {
                continue;
            };
            let Some((stock_after, peers)) = stock_now else {
                continue;
            };
            if pb == b || ps == stock_before.as_str() || s != stock_after.as_str() {
                continue;
            }
            let short = |x: &str| x.chars().take(12).collect::<String>();
            lost.insert(
                key,
                vec![
                    Evidence::new(
                        format!(
                            "{p} on build {pb} at {}: {} (customized: not the stock {} of that build)",
                            utc(at.get(i - 1).unwrap_or_default()),
                            short(ps),
                            short(stock_before)
                        ),
                        prov.get(i - 1).unwrap_or_default(),
                    ),
                    Evidence::new(
                        format!(
                            "{p} on build {b} at {}: {} (stock: the file of {peers} hosts on that build)",
                            utc(at.get(i).unwrap_or_default()),
                            short(s)
                        ),
                        prov.get(i).unwrap_or_default(),
                    ),
                ],
            );
        }
        let latest: HashMap<String, String> = {
            let df = &fleet.latest.hosts;
            if df.height() == 0 {
                HashMap::new()
            } else {
                let h = df.column("host")?.str()?;
                let id = df.column("snapshot_id")?.str()?;
                h.iter()
                    .zip(id.iter())
                    .filter_map(|(h, id)| Some((h?.to_string(), id?.to_string())))
                    .collect()
            }
        };
        for ((h, p), ev) in lost {
            out.push(Finding {
                id: self.id().into(),
                severity: self.severity(),
                host: h.clone(),
                snapshot_id: latest.get(&h).cloned().unwrap_or_default(),
                title: format!(
                    "{p} lost its customization in the last update: it is the stock file again"
                ),
                evidence: ev,
                action: action_of(DOC),
                group: String::new(),
                hosts: Vec::new(),
                signature: p,
            });
        }
        Ok(())
    }
}
