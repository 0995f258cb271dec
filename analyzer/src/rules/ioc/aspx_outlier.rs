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
A web page or handler in a folder where the 2021 web shells were found that few servers on the same build have. The collector lists every file below the `aspnet_client` of each IIS site's root (the roots applicationHost.config names, labelled by the site's name: `Default Web Site\\aspnet_client\\...` wherever the root is), and below the front end's `owa\\auth` and `ecp\\auth` every file IIS runs or that configures it (.aspx, .ashx, .asmx, .ascx, .asax, .svc, .xamlx, .rem, .soap, .cshtml, .vbhtml, .asp, .asa, .cer, .cdx, .shtml, .shtm, .stm, .config; not their images, scripts and styles). A file counts when the same path with the same SHA-256 is on a small minority of them (one server; at most two of five or more, as an attacker who reached two servers plants the same shell on both; or under a fifth), and either the path is on none of the others (a new file) or at least two others share another content for it (a changed stock file). A build held by fewer than three servers cannot be judged by comparison (with two, nothing tells which one is odd): its servers are compared across their CU line (the same major, minor and build number, any SU) when the line has three servers or more, and there only a path on no other server of the line counts (SUs change the stock pages' content); the servers left are listed by ioc.aspx-uncompared. The collector lists these folders on every collection; the reference leaves detection to Defender and suggests this comparison across servers.
## Evidence
Per server: each outlying file with its path, size, last write time and SHA-256, how many servers hold it (and which others), and how many servers were compared, on which basis (the build, or the CU line and why).
## Action
Open the file on the server: a web shell is a short page that evaluates what a request sends (`eval`, `Request[...]`, `Page_Load` running script); if nobody can account for it, treat the server as compromised (see ioc.cve-2021-26855), keep a copy of the file, remove it, and scan with Microsoft Defender or the Safety Scanner (MSERT).
## Source
Microsoft CSS-Exchange Security/Defender-MSERT-Guidance.md (the folders where web shells were observed); Microsoft Security blog \"HAFNIUM targeting Exchange Servers with 0-day exploits\" (March 2021); exfleet's own fleet analysis (README.md, \"The analyzer\").";

/// `ioc.aspx-outlier`; its catalog entry is [`DOC`].
pub struct AspxOutlier;

/// Fewest servers a comparison needs: with two, a file on one and not the other does not
/// tell which is the odd one, nor which content is stock.
pub const MIN_SERVERS: usize = 3;

/// The web-folder inventory of the fleet: each host's listed files, and each host's build.
pub struct Inventory {
    /// host -> its listed files of the web folders.
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
                let m = IocMatchRow {
                    url: label(&m.url),
                    ..m
                };
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

/// Whether `holders` of `peers` servers compared are few enough for their file to stand out:
/// one server; at most [`MAX_HOLDERS`] of five or more (an attacker who reached two servers
/// of a build plants the same shell on both); or under a fifth of them.
pub fn minority(holders: usize, peers: usize) -> bool {
    holders == 1 || (peers >= 5 && holders <= MAX_HOLDERS) || holders * 5 < peers
}

/// Most servers sharing a file that still stand out among five or more.
pub const MAX_HOLDERS: usize = 2;

/// The outlying files of a basis: each file of a judged server whose (path, SHA-256) is held
/// by a [`minority`] of the servers compared, and either its path is on none of the others (a
/// new file) or, on a build basis, at least two others share another content for it (a
/// changed stock file). One map per basis (path -> SHA-256 -> holders) makes this linear in
/// the files. Returns the servers and the evidence.
pub fn judge(inv: &Inventory, basis: &Basis) -> (Vec<String>, Vec<Evidence>) {
    let mut by_path: BTreeMap<String, BTreeMap<&str, BTreeSet<&str>>> = BTreeMap::new();
    for host in &basis.peers {
        for f in inv.files.get(host).map(Vec::as_slice).unwrap_or_default() {
            by_path
                .entry(f.url.to_ascii_lowercase())
                .or_default()
                .entry(&f.sha256)
                .or_default()
                .insert(host);
        }
    }
    let peers = basis.peers.len();
    let mut outliers = Vec::new();
    let mut ev = Vec::new();
    for host in &basis.judged {
        for f in inv.files.get(host).map(Vec::as_slice).unwrap_or_default() {
            let Some(contents) = by_path.get(&f.url.to_ascii_lowercase()) else {
                continue;
            };
            let Some(holders) = contents.get(f.sha256.as_str()) else {
                continue;
            };
            if !minority(holders.len(), peers) {
                continue;
            }
            let new = contents.len() == 1;
            let stock_elsewhere = contents
                .iter()
                .any(|(sha, h)| *sha != f.sha256 && h.len() >= 2);
            if !new && (basis.new_only || !stock_elsewhere) {
                continue;
            }
            let also: Vec<&str> = holders.iter().copied().filter(|h| h != host).collect();
            let how = match (new, also.is_empty()) {
                (true, true) => format!("on no other server of the {}", basis.what),
                (false, true) => format!("its content on no other server of the {}", basis.what),
                (true, false) => format!(
                    "on {} of the {} servers of the {} only (also {})",
                    holders.len(),
                    peers,
                    basis.what,
                    also.join(", ")
                ),
                (false, false) => format!(
                    "its content on {} of the {} servers of the {} only (also {})",
                    holders.len(),
                    peers,
                    basis.what,
                    also.join(", ")
                ),
            };
            ev.push(Evidence::new(
                format!(
                    "{host}: {} ({}, written {}, sha256 {}): {how} ({} others compared)",
                    f.url,
                    f.detail,
                    utc(f.time_ms),
                    f.sha256,
                    peers - 1
                ),
                &f.provenance,
            ));
            outliers.push(host.to_string());
        }
    }
    (outliers, ev)
}

/// How the collector labels the default site's `aspnet_client` files: by the site's name
/// (collector/EVIDENCE.md). Collectors before that named them by the folder
/// (`inetpub\wwwroot\aspnet_client\...`, the default site's root, the only one they read):
/// read under today's label, so that a fleet with both kinds of collector compares them.
const OLD_ASPNET_CLIENT: &str = r"inetpub\wwwroot\aspnet_client\";

/// A listed file's label as today's collector writes it.
fn label(url: &str) -> String {
    match url.get(..OLD_ASPNET_CLIENT.len()) {
        Some(head) if head.eq_ignore_ascii_case(OLD_ASPNET_CLIENT) => {
            format!(
                r"Default Web Site\aspnet_client\{}",
                &url[OLD_ASPNET_CLIENT.len()..]
            )
        }
        _ => url.to_string(),
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
            let (mut outliers, found) = judge(&inv, &basis);
            let mut ev = Vec::new();
            if !basis.why.is_empty() {
                ev.push(Evidence::new(basis.why.clone(), ""));
            }
            ev.extend(found);
            if outliers.is_empty() {
                continue;
            }
            outliers.sort();
            outliers.dedup();
            let title = format!(
                "web pages or handlers few or no other servers of {} have, on {}",
                basis.what,
                outliers.join(", ")
            );
            out.push(fleet_finding(self, title, basis.group, ev, outliers));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aspx(host: &str, url: &str, sha: &str) -> IocMatchRow {
        let mut m = IocMatchRow {
            indicator: IocKind::AspxFile,
            url: url.into(),
            sha256: sha.into(),
            detail: "size 90".into(),
            provenance: url.into(),
            ..Default::default()
        };
        m.key.host = host.into();
        m
    }

    const LOGON: &str =
        r"C:\Program Files\Microsoft\Exchange Server\V15\FrontEnd\HttpProxy\owa\auth\logon.aspx";
    const SHELL: &str = r"Default Web Site\aspnet_client\system_web\x5kqk2vc.aspx";

    /// `n` servers of one build with the stock logon page; the shell on `with_shell` of them.
    fn fleet(n: usize, with_shell: &[usize]) -> (Inventory, Basis) {
        let build = Build::parse("15.2.1748.24").unwrap();
        let hosts: Vec<String> = (1..=n).map(|i| format!("EX{i:02}")).collect();
        let mut inv = Inventory {
            files: BTreeMap::new(),
            build_of: BTreeMap::new(),
        };
        for (i, h) in hosts.iter().enumerate() {
            let mut files = vec![aspx(h, LOGON, "aa")];
            if with_shell.contains(&i) {
                files.push(aspx(h, SHELL, "ff"));
            }
            inv.files.insert(h.clone(), files);
            inv.build_of.insert(h.clone(), build);
        }
        let (mut bases, alone) = inv.bases();
        assert!(alone.is_empty());
        (inv, bases.remove(0))
    }

    #[test]
    fn a_shell_on_two_servers_of_five_stands_out_with_its_holders() {
        let (inv, basis) = fleet(5, &[0, 3]);
        let (hosts, ev) = judge(&inv, &basis);
        assert_eq!(hosts, ["EX01", "EX04"], "{ev:#?}");
        assert!(
            ev[0].fact.contains(
                "x5kqk2vc.aspx (size 90, written , sha256 ff): on 2 of the 5 servers of the \
                 build 15.2.1748.24 only (also EX04) (4 others compared)"
            ),
            "{ev:#?}"
        );
        // One holder: as before.
        let (inv, basis) = fleet(5, &[2]);
        let (hosts, ev) = judge(&inv, &basis);
        assert_eq!(hosts, ["EX03"]);
        assert!(
            ev[0].fact.contains("on no other server of the build"),
            "{ev:#?}"
        );
    }

    #[test]
    fn an_older_collector_s_aspnet_client_label_is_read_as_today_s() {
        assert_eq!(
            label(r"INETPUB\wwwroot\aspnet_client\system_web\x.aspx"),
            r"Default Web Site\aspnet_client\system_web\x.aspx"
        );
        for same in [
            r"Default Web Site\aspnet_client\x.aspx",
            r"FrontEnd\HttpProxy\owa\auth\logon.aspx",
            "inetpub",
            "",
        ] {
            assert_eq!(label(same), same);
        }
    }

    #[test]
    fn a_file_on_many_servers_of_a_build_is_no_outlier() {
        // Two of four: not a minority (a fifth of four is under one).
        let (inv, basis) = fleet(4, &[0, 1]);
        assert!(judge(&inv, &basis).0.is_empty());
        // Three of five: more than two, and not under a fifth.
        let (inv, basis) = fleet(5, &[0, 1, 2]);
        assert!(judge(&inv, &basis).0.is_empty());
        // Three of twenty: under a fifth.
        let (inv, basis) = fleet(20, &[0, 1, 2]);
        assert_eq!(judge(&inv, &basis).0.len(), 3);
        // Four of twenty: a fifth, not under it.
        let (inv, basis) = fleet(20, &[0, 1, 2, 3]);
        assert!(judge(&inv, &basis).0.is_empty());
    }
}
