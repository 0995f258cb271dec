//! `fleet.build-drift`.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::{fleet_finding, Fleet, FleetRule};
use crate::catalog::Build;
use crate::finding::{Evidence, Finding, Severity};
use crate::rules::Context;

/// The catalog entry.
pub const DOC: &str = "## Detects
Servers that belong together run different builds (ExSetup.exe): the members of a DAG, the servers of one product in an AD site or in a role group (operator label). A DAG must be updated as a whole (mixed builds break database moves and replication after some updates); a site or role group with mixed builds shows an update wave that did not finish. Servers of different products (a migration from 2016 to 2019 or SE) are not compared.
## Evidence
The group (dag:, site: or role: with the product), each distinct build and the servers on it.
## Action
Bring every server of the group to the same CU and SU; in a DAG one member at a time (StartDagServerMaintenance.ps1 before, StopDagServerMaintenance.ps1 after).
## Source
exfleet's own fleet analysis (README.md, \"The analyzer\"); Manage database availability groups in Exchange Server (Microsoft Learn): performing maintenance on DAG members.";

/// `fleet.build-drift`; its catalog entry is [`DOC`].
pub struct BuildDrift;

/// The groupings, with the hosts column naming the group.
const GROUPINGS: [(&str, &str, &str); 3] = [
    ("dag", "dag", "DAG"),
    ("site", "ad_site", "Site"),
    ("role", "role_group", "Role group"),
];

impl FleetRule for BuildDrift {
    fn id(&self) -> &'static str {
        "fleet.build-drift"
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
    fn check(&self, fleet: &Fleet, cx: &Context, out: &mut Vec<Finding>) -> PolarsResult<()> {
        let hosts = &fleet.latest.hosts;
        if hosts.height() == 0 {
            return Ok(());
        }
        let names = hosts.column("host")?.str()?;
        let builds = hosts.column("exsetup_version")?.str()?;
        for (kind, column, label) in GROUPINGS {
            let values = hosts.column(column)?.str()?;
            // (group value, product) -> build -> hosts
            let mut groups: BTreeMap<(String, String), BTreeMap<Build, Vec<String>>> =
                BTreeMap::new();
            for i in 0..hosts.height() {
                let (Some(h), Some(v), Some(b)) = (names.get(i), values.get(i), builds.get(i))
                else {
                    continue;
                };
                let Some(b) = Build::parse(b) else { continue };
                if v.is_empty() {
                    continue;
                }
                // A DAG is one unit whatever its members run (2019 and SE mix during an
                // upgrade); sites and role groups are compared product by product.
                let product = if kind == "dag" {
                    String::new()
                } else {
                    cx.catalog
                        .product_of(&b)
                        .map_or_else(|| format!("{}.{}", b.0[0], b.0[1]), |p| p.name.clone())
                };
                groups
                    .entry((v.to_string(), product))
                    .or_default()
                    .entry(b)
                    .or_default()
                    .push(h.to_string());
            }
            for ((value, product), by_build) in groups {
                if by_build.len() < 2 {
                    continue;
                }
                let ev = by_build
                    .iter()
                    .map(|(b, hs)| {
                        Evidence::new(
                            format!("{b}: {}", hs.join(", ")),
                            format!("hosts.exsetup_version, hosts.{column}"),
                        )
                    })
                    .collect();
                let members = by_build.into_values().flatten().collect();
                let (group, title) = if kind == "dag" {
                    (
                        format!("dag:{value}"),
                        format!("DAG {value} runs different builds"),
                    )
                } else {
                    (
                        format!("{kind}:{value}/{product}"),
                        format!("{label} {value}: {product} servers run different builds"),
                    )
                };
                out.push(fleet_finding(self, title, group, ev, members));
            }
        }
        Ok(())
    }
}
