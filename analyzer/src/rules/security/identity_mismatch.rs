//! `security.identity-mismatch`.

use std::collections::BTreeMap;

use exfleet_dataset::{HostRow, Row, Table};
use polars::prelude::*;

use crate::finding::{Evidence, Finding, Severity};
use crate::rules::fleet::{fleet_finding, Fleet, FleetRule};
use crate::rules::{first_of, utc, Context};

/// The catalog entry.
pub const DOC: &str = "## Detects
A collector whose certificate is a server identity (its common name is the computer it runs on) sent a snapshot naming another computer. The aggregator stores such a snapshot as evidence, but it is never taken as the named host's state: a stolen or misused certificate cannot rewrite another server's record.
## Evidence
The certificate's common name, the computer name the snapshot claims, the snapshot and when it was collected and received.
## Action
Treat the certificate as compromised until explained: find the machine that used it (the aggregator's log has the peer address), revoke and reissue it, and check the server it belongs to for indicators of compromise. A workstation that collects triage copies of many servers needs a triage identity, listed in the aggregator's configuration with the hosts it may submit for.
## Source
exfleet's security model (README.md, \"Security model\"): the collector identity is the client certificate's subject, never a message field.";

/// `security.identity-mismatch`; its catalog entry is [`DOC`].
pub struct IdentityMismatch;

impl FleetRule for IdentityMismatch {
    fn id(&self) -> &'static str {
        "security.identity-mismatch"
    }
    fn severity(&self) -> Severity {
        Severity::Critical
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, fleet: &Fleet, _: &Context, out: &mut Vec<Finding>) -> PolarsResult<()> {
        let rows = fleet
            .history
            .table(Table::Hosts)
            .filter(
                col("identity_mismatch")
                    .fill_null(lit(false))
                    .and(col("collected_at_ms").lt_eq(lit(fleet.end_ms))),
            )
            .sort(["collected_at_ms"], Default::default())
            .collect()?;
        // One finding per certificate: what it claimed to be.
        let mut by_cert: BTreeMap<String, Vec<HostRow>> = BTreeMap::new();
        for r in HostRow::read(&rows)? {
            by_cert.entry(r.collector_id.clone()).or_default().push(r);
        }
        for (cert, rows) in by_cert {
            let mut claimed: Vec<String> = rows.iter().map(|r| r.key.host.clone()).collect();
            claimed.sort();
            claimed.dedup();
            let ev = rows
                .iter()
                .map(|r| {
                    Evidence::new(
                        format!(
                            "certificate {cert} (server identity) sent snapshot {} claiming computer {}, collected {}, received {}",
                            r.key.snapshot_id,
                            r.key.host,
                            utc(r.key.collected_at_ms),
                            utc(r.received_at_ms)
                        ),
                        format!("snapshot {}", r.key.snapshot_id),
                    )
                })
                .collect();
            let title = format!(
                "Certificate {cert} sent snapshots claiming to be {}",
                first_of(&claimed, 3)
            );
            out.push(fleet_finding(
                self,
                title,
                format!("certificate:{cert}"),
                ev,
                claimed,
            ));
        }
        Ok(())
    }
}
