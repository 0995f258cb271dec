//! `ioc.aspx-outlier`.

use std::collections::{BTreeMap, BTreeSet};

use exfleet_dataset::{HostRow, IocMatchRow, Row};
use exfleet_proto::kinds::IocKind;
use polars::prelude::PolarsResult;

use crate::catalog::Build;
use crate::finding::{Evidence, Finding, Severity};
use crate::rules::fleet::{fleet_finding, Fleet, FleetRule};
use crate::rules::{utc, Context};

/// The catalog entry.
pub const DOC: &str = "## Detects
An .aspx file in a folder where the 2021 web shells were found (IIS's `aspnet_client`, the front end's `owa\\auth` and `ecp\\auth`) that no other server on the same build has: the same path with the same SHA-256 is on none of them, and either the path is on none of them (a new file) or at least two of them share another content for it (a changed stock file). A build held by fewer than three servers cannot be judged by comparison (with two, nothing tells which one is odd): its servers are compared across their CU line (the same major, minor and build number, any SU) when the line has three servers or more, and there only a path on no other server of the line counts (SUs change the stock pages' content); the servers left are listed by ioc.aspx-uncompared. The collector lists these folders on every collection; the reference leaves detection to Defender and suggests this comparison across servers.
## Evidence
Per server: each outlying file with its path, size, last write time and SHA-256, and how many servers were compared, on which basis (the build, or the CU line and why).
## Action
Open the file on the server: a web shell is a short page that evaluates what a request sends (`eval`, `Request[...]`, `Page_Load` running script); if nobody can account for it, treat the server as compromised (see ioc.cve-2021-26855), keep a copy of the file, remove it, and scan with Microsoft Defender or the Safety Scanner (MSERT).
## Source
Microsoft CSS-Exchange Security/Defender-MSERT-Guidance.md (the folders where web shells were observed); Microsoft Security blog \"HAFNIUM targeting Exchange Servers with 0-day exploits\" (March 2021); exfleet's own fleet analysis (README.md, \"The analyzer\").";

/// `ioc.aspx-outlier`; its catalog entry is [`DOC`].
pub struct AspxOutlier;

/// Fewest servers a comparison needs: with two, a file on one and not the other does not
/// tell which is the odd one, nor which content is stock.
pub const MIN_SERVERS: usize = 3;

/// The .aspx inventory of the fleet: each host's listed files, and each host's build.
pub struct Inventory {
    /// host -> its .aspx files.
    pub files: BTreeMap<String, Vec<IocMatchRow>>,
    /// host -> ExSetup's build.
    pub build_of: BTreeMap<String, Build>,
}

impl Inventory {
    /// The inventory of the latest snapshots.
    pub fn of(fleet: &Fleet) -> PolarsResult<Inventory> {
        let build_of = HostRow::read(&fleet.latest.hosts)?
            .into_iter()
            .filter_map(|h| Some((h.key.host.clone(), Build::parse(&h.exsetup_version)?)))
            .collect();
        let mut files: BTreeMap<String, Vec<IocMatchRow>> = BTreeMap::new();
        for m in IocMatchRow::read(&fleet.latest.ioc_matches)? {
            if m.indicator == IocKind::AspxFile && !m.sha256.is_empty() {
                files.entry(m.key.host.clone()).or_default().push(m);
            }
        }
        Ok(Inventory { files, build_of })
    }

    /// The comparisons the fleet allows: each build held by at least [`MIN_SERVERS`] servers
    /// with an inventory; the servers of a smaller build against their CU line (major,
    /// minor and build number: its SUs) when the line has that many; and the servers left,
    /// which nothing compares.
    pub fn bases(&self) -> (Vec<Basis>, Vec<String>) {
        let mut by_build: BTreeMap<Build, Vec<String>> = BTreeMap::new();
        for host in self.files.keys() {
            if let Some(b) = self.build_of.get(host) {
                by_build.entry(*b).or_default().push(host.clone());
            }
        }
        let mut bases = Vec::new();
        let mut alone = Vec::new();
        for (build, hosts) in &by_build {
            if hosts.len() >= MIN_SERVERS {
                bases.push(Basis {
                    group: format!("build:{build}"),
                    what: format!("build {build}"),
                    peers: hosts.clone(),
                    judged: hosts.clone(),
                    new_only: false,
                    why: String::new(),
                });
                continue;
            }
            let line: Vec<String> = by_build
                .iter()
                .filter(|(b, _)| b.same_line(build))
                .flat_map(|(_, h)| h.iter().cloned())
                .collect();
            let [a, b, c, _] = build.0;
            if line.len() >= MIN_SERVERS {
                bases.push(Basis {
                    group: format!("line:{a}.{b}.{c}"),
                    what: format!("CU line {a}.{b}.{c}"),
                    peers: line,
                    judged: hosts.clone(),
                    new_only: true,
                    why: format!(
                        "build {build} has {} server(s), too few to compare: compared across its CU line",
                        hosts.len()
                    ),
                });
            } else {
                alone.extend(hosts.iter().cloned());
            }
        }
        // One finding per line: the small builds of a line together.
        let mut merged: Vec<Basis> = Vec::new();
        for b in bases {
            match merged.iter_mut().find(|m| m.group == b.group) {
                Some(m) => {
                    m.judged.extend(b.judged);
                    m.why = format!("{}; {}", m.why, b.why);
                }
                None => merged.push(b),
            }
        }
        (merged, alone)
    }
}

/// A set of servers compared with each other.
pub struct Basis {
    /// The finding's group: `build:<build>` or `line:<major.minor.build>`.
    pub group: String,
    /// What the servers share, for titles.
    pub what: String,
    /// The servers compared with.
    pub peers: Vec<String>,
    /// The servers whose files are judged.
    pub judged: Vec<String>,
    /// Across a CU line the SUs change the stock pages: only a path on no other server counts.
    pub new_only: bool,
    /// Why the comparison is on this basis (empty: the build).
    pub why: String,
}

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
        let inv = Inventory::of(fleet)?;
        let (bases, _) = inv.bases();
        for basis in bases {
            let mut outliers: Vec<String> = Vec::new();
            let mut ev = Vec::new();
            if !basis.why.is_empty() {
                ev.push(Evidence::new(basis.why.clone(), ""));
            }
            for host in &basis.judged {
                let others: Vec<&IocMatchRow> = basis
                    .peers
                    .iter()
                    .filter(|o| *o != host)
                    .flat_map(|o| inv.files[o].iter())
                    .collect();
                for f in &inv.files[host] {
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
                    if !same_path.is_empty() && (basis.new_only || !stock_elsewhere) {
                        continue;
                    }
                    let how = if same_path.is_empty() {
                        format!("on no other server of the {}", basis.what)
                    } else {
                        format!("its content on no other server of the {}", basis.what)
                    };
                    ev.push(Evidence::new(
                        format!(
                            "{host}: {} ({}, written {}, sha256 {}): {how} ({} others compared)",
                            f.url,
                            f.detail,
                            utc(f.time_ms),
                            f.sha256,
                            basis.peers.len() - 1
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
                ".aspx files no other server of {} has, on {}",
                basis.what,
                outliers.join(", ")
            );
            out.push(fleet_finding(self, title, basis.group, ev, outliers));
        }
        Ok(())
    }
}
