//! `fleet.build-drift`.

use polars::prelude::*;

use super::{strings, Fleet, FleetRule};
use crate::finding::{Evidence, Finding, Severity};
use crate::rules::{action_of, Context};

/// The catalog entry.
pub const DOC: &str = "## Detects
Members of one DAG run different builds (ExSetup.exe): a DAG must be updated as a whole, and mixed builds break database moves and replication after some updates.
## Evidence
The DAG, each distinct build and the members on it.
## Action
Bring every member of the DAG to the same CU and SU, one member at a time (StartDagServerMaintenance.ps1 before, StopDagServerMaintenance.ps1 after).
## Source
reference/findings.md; design: patterns across the fleet.";

/// `fleet.build-drift`; its catalog entry is [`DOC`].
pub struct BuildDrift;

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
    fn check(&self, fleet: &Fleet, _: &Context, out: &mut Vec<Finding>) -> PolarsResult<()> {
        let frames = fleet.latest;
        if frames.hosts.height() == 0 {
            return Ok(());
        }
        let by_build = frames
            .hosts
            .clone()
            .lazy()
            .filter(col("dag").neq(lit("")))
            .group_by([col("dag"), col("exsetup_version")])
            .agg([col("host").sort(Default::default()).alias("hosts")])
            .with_column(
                col("exsetup_version")
                    .n_unique()
                    .over([col("dag")])?
                    .alias("builds"),
            )
            .filter(col("builds").gt(lit(1)))
            .sort(["dag", "exsetup_version"], Default::default())
            .collect()?;
        let dags = by_build.column("dag")?.str()?.clone();
        let versions = by_build.column("exsetup_version")?.str()?.clone();
        let hosts = by_build.column("hosts")?;
        let mut current: Option<Finding> = None;
        for i in 0..by_build.height() {
            let dag = dags.get(i).unwrap_or_default();
            let version = versions.get(i).unwrap_or_default();
            let members = strings(hosts, i)?;
            if current
                .as_ref()
                .is_none_or(|f| f.group != format!("dag:{dag}"))
            {
                out.extend(current.take());
                current = Some(Finding {
                    id: self.id().into(),
                    severity: self.severity(),
                    host: "fleet".into(),
                    snapshot_id: String::new(),
                    title: format!("DAG {dag} runs different builds"),
                    evidence: Vec::new(),
                    action: action_of(DOC),
                    group: format!("dag:{dag}"),
                    hosts: Vec::new(),
                    signature: String::new(),
                });
            }
            let f = current.as_mut().expect("set above");
            f.evidence.push(Evidence::new(
                format!("{version}: {}", members.join(", ")),
                "hosts.exsetup_version",
            ));
            f.hosts.extend(members);
        }
        out.extend(current);
        for f in out.iter_mut().filter(|f| f.id == self.id()) {
            f.hosts.sort();
        }
        Ok(())
    }
}
