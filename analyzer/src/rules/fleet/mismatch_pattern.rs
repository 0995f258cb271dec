//! `fleet.mismatch-pattern`.

use polars::prelude::*;

use super::{strings, Fleet, FleetRule};
use crate::finding::{Evidence, Finding, Severity};
use crate::rules::{action_of, Context};

/// The catalog entry.
pub const DOC: &str = "## Detects
The same CU/SU mismatch or the same setup failure on several hosts (at least two): one finding naming them all and what they share, since one cause (a wrong package in the deployment share, a runbook step) usually explains them.
## Evidence
The host finding id, the shared signature (e.g. the same wrong-CU KB), and the hosts.
## Action
Fix the shared cause once (the package or procedure used for all of them), then apply the per-host action of the underlying finding on each host.
## Source
exfleet's own fleet analysis (README.md, \"The analyzer\"): the same host finding, with the same signature, on several hosts.";

/// Host findings whose signatures make fleet patterns.
const PATTERN_IDS: [&str; 3] = [
    "build.su-wrong-cu",
    "build.file-registry-mismatch",
    "setup.install-from-bin",
];

/// `fleet.mismatch-pattern`; its catalog entry is [`DOC`].
pub struct MismatchPattern;

impl FleetRule for MismatchPattern {
    fn id(&self) -> &'static str {
        "fleet.mismatch-pattern"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, fleet: &Fleet, _: &Context, out: &mut Vec<Finding>) -> PolarsResult<()> {
        let findings = fleet.findings;
        if findings.height() == 0 {
            return Ok(());
        }
        let ids = Series::new("ids".into(), PATTERN_IDS);
        let groups = findings
            .clone()
            .lazy()
            .filter(
                col("id")
                    .is_in(lit(ids).implode(false), false)
                    .and(col("signature").neq(lit(""))),
            )
            .group_by([col("id"), col("signature")])
            .agg([col("host").unique().sort(Default::default()).alias("hosts")])
            .with_column(col("hosts").list().len().alias("n"))
            .filter(col("n").gt_eq(lit(2)))
            .sort(["id", "signature"], Default::default())
            .collect()?;
        let id = groups.column("id")?.str()?.clone();
        let sig = groups.column("signature")?.str()?.clone();
        for i in 0..groups.height() {
            let (id, sig) = (
                id.get(i).unwrap_or_default(),
                sig.get(i).unwrap_or_default(),
            );
            let hosts = strings(groups.column("hosts")?, i)?;
            out.push(Finding {
                id: self.id().into(),
                severity: self.severity(),
                host: "fleet".into(),
                snapshot_id: String::new(),
                title: format!("{} hosts share {id}: {sig}", hosts.len()),
                evidence: vec![Evidence::new(
                    format!("{id} on {}: {sig}", hosts.join(", ")),
                    "host findings",
                )],
                action: action_of(DOC),
                group: id.to_string(),
                hosts,
                signature: sig.to_string(),
            });
        }
        Ok(())
    }
}
