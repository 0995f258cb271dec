//! `ioc.aspx-outlier`.

use std::collections::{BTreeMap, BTreeSet};

use exfleet_dataset::{HostRow, IocMatchRow, Row};
use exfleet_proto::kinds::IocKind;
use polars::prelude::PolarsResult;

use crate::finding::{Evidence, Finding, Severity};
use crate::rules::fleet::{fleet_finding, Fleet, FleetRule};
use crate::rules::{utc, Context};

/// The catalog entry.
pub const DOC: &str = "## Detects
An .aspx file in a folder where the 2021 web shells were found (IIS's `aspnet_client`, the front end's `owa\\auth` and `ecp\\auth`) that no other server on the same build has: the same path with the same SHA-256 is on none of them, and either the path is on none of them (a new file) or at least two of them share another content for it (a changed stock file). A build with a single server cannot be judged. The collector lists these folders on every collection; the reference leaves detection to Defender and suggests this comparison across servers.
## Evidence
Per server: each outlying file with its path, size, last write time and SHA-256, and how many servers of the build were compared.
## Action
Open the file on the server: a web shell is a short page that evaluates what a request sends (`eval`, `Request[...]`, `Page_Load` running script); if nobody can account for it, treat the server as compromised (see ioc.cve-2021-26855), keep a copy of the file, remove it, and scan with Microsoft Defender or the Safety Scanner (MSERT).
## Source
Microsoft CSS-Exchange Security/Defender-MSERT-Guidance.md (the folders where web shells were observed); Microsoft Security blog \"HAFNIUM targeting Exchange Servers with 0-day exploits\" (March 2021); exfleet's own fleet analysis (README.md, \"The analyzer\").";

/// `ioc.aspx-outlier`; its catalog entry is [`DOC`].
pub struct AspxOutlier;

impl FleetRule for AspxOutlier {
    fn id(&self) -> &'static str {
        "ioc.aspx-outlier"
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
        let build_of: BTreeMap<String, String> = HostRow::read(&fleet.latest.hosts)?
            .into_iter()
            .map(|h| (h.key.host.clone(), h.exsetup_version))
            .collect();
        // host -> its .aspx files.
        let mut files: BTreeMap<String, Vec<IocMatchRow>> = BTreeMap::new();
        for m in IocMatchRow::read(&fleet.latest.ioc_matches)? {
            if m.indicator == IocKind::AspxFile && !m.sha256.is_empty() {
                files.entry(m.key.host.clone()).or_default().push(m);
            }
        }
        // build -> hosts with an inventory.
        let mut by_build: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for host in files.keys() {
            if let Some(b) = build_of.get(host).filter(|b| !b.is_empty()) {
                by_build.entry(b).or_default().push(host);
            }
        }
        for (build, hosts) in by_build {
            if hosts.len() < 2 {
                continue;
            }
            let mut outliers: Vec<String> = Vec::new();
            let mut ev = Vec::new();
            for host in &hosts {
                let others: Vec<&IocMatchRow> = hosts
                    .iter()
                    .filter(|o| *o != host)
                    .flat_map(|o| files[*o].iter())
                    .collect();
                for f in &files[*host] {
                    let url = f.url.to_ascii_lowercase();
                    let same_path: Vec<&&IocMatchRow> = others
                        .iter()
                        .filter(|o| o.url.to_ascii_lowercase() == url)
                        .collect();
                    if same_path.iter().any(|o| o.sha256 == f.sha256) {
                        continue;
                    }
                    let mut holders: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
                    for o in &same_path {
                        holders.entry(&o.sha256).or_default().insert(&o.key.host);
                    }
                    let stock_elsewhere = holders.values().any(|h| h.len() >= 2);
                    if !same_path.is_empty() && !stock_elsewhere {
                        continue;
                    }
                    let how = if same_path.is_empty() {
                        "on no other server of the build"
                    } else {
                        "its content on no other server of the build"
                    };
                    ev.push(Evidence::new(
                        format!(
                            "{host}: {} ({}, written {}, sha256 {}): {how} ({} others compared)",
                            f.url,
                            f.detail,
                            utc(f.time_ms),
                            f.sha256,
                            hosts.len() - 1
                        ),
                        &f.provenance,
                    ));
                    outliers.push(host.to_string());
                }
            }
            if outliers.is_empty() {
                continue;
            }
            outliers.sort();
            outliers.dedup();
            let title = format!(
                ".aspx files no other server of build {build} has, on {}",
                outliers.join(", ")
            );
            out.push(fleet_finding(
                self,
                title,
                format!("build:{build}"),
                ev,
                outliers,
            ));
        }
        Ok(())
    }
}
