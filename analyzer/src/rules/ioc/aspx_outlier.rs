//! `ioc.aspx-outlier`.

use std::collections::{BTreeMap, BTreeSet};

use exfleet_dataset::{CollectionErrorRow, HostRow, IocMatchRow, IocScanRow, Row};
use exfleet_proto::kinds::IocKind;
use polars::prelude::PolarsResult;

use crate::catalog::Build;
use crate::finding::{Evidence, Finding, Severity};
use crate::rules::fleet::{fleet_finding, Fleet, FleetRule};
use crate::rules::{utc, Context};

/// The catalog entry.
pub const DOC: &str = "## Detects
A web page or handler in a folder where the 2021 web shells were found that few comparable servers have. The collector lists every file below the `aspnet_client` of each IIS site's root (the roots applicationHost.config names, labelled by the site's name: `Default Web Site\\aspnet_client\\...` wherever the root is), and below the front end's `owa\\auth` and `ecp\\auth` every file IIS runs or that configures it (.aspx, .ashx, .asmx, .ascx, .asax, .svc, .xamlx, .rem, .soap, .cshtml, .vbhtml, .asp, .asa, .cer, .cdx, .shtml, .shtm, .stm, .config; not their images, scripts and styles); a file too large to hash (over 16 MiB) or unreadable is compared by its size. A path is compared only among the servers that can tell whether they hold it: those holding it, and those whose collector could have listed it (a folder it reports looking in holds the path; an auth folder only where it listed files, a server without them has no front end; a collector that reports no folder, from before, listed only the `.aspx` files of the default site's `aspnet_client` and the auth folders) and listed that folder whole (a folder listed in part, by a bound of the collector, leaves the server out: it cannot say it lacks the file). A file counts when the same path with the same content is on a small minority of them (one server; at most two of five or more, as an attacker who reached two servers plants the same shell on both; or under a fifth), and either the path is on none of the others (a new file) or at least two others share another content for it (a changed stock file). `aspnet_client` is compared across the whole fleet (its stock files come with .NET and Windows, not with the Exchange build; only a new file counts there, as Windows and .NET versions differ). The auth folders are compared among the servers of the same build when three or more can tell; else across the CU line (the same major, minor and build number, any SU) when three or more there can, and there only a new file counts (SUs change the stock pages' content); a file neither compares is listed by ioc.aspx-uncompared (with two servers, nothing tells which one is odd). Findings are grouped by the server's build (or its CU line when the build has fewer than three servers with an inventory, or the fleet when the line has too). The collector lists these folders on every collection; the reference leaves detection to Defender and suggests this comparison across servers.
## Evidence
Per server: each outlying file with its path, size, last write time and SHA-256 (or that it has none, and why: larger than the collector hashes, or the collector's read error), how many servers hold it (and which others), how many servers were compared, on which basis (the fleet, the build, or the CU line and why), and how many were left out for a partial listing; then each partial listing of the servers named (the folder and the files not listed, or the collector's `too_many_files` error).
## Action
Open the file on the server: a web shell is a short page that evaluates what a request sends (`eval`, `Request[...]`, `Page_Load` running script); if nobody can account for it, treat the server as compromised (see ioc.cve-2021-26855), keep a copy of the file, remove it, and scan with Microsoft Defender or the Safety Scanner (MSERT).
## Source
Microsoft CSS-Exchange Security/Defender-MSERT-Guidance.md (the folders where web shells were observed); Microsoft Security blog \"HAFNIUM targeting Exchange Servers with 0-day exploits\" (March 2021); exfleet's own fleet analysis (README.md, \"The analyzer\").";

/// `ioc.aspx-outlier`; its catalog entry is [`DOC`].
pub struct AspxOutlier;

/// Fewest servers a comparison needs: with two, a file on one and not the other does not
/// tell which is the odd one, nor which content is stock.
pub const MIN_SERVERS: usize = 3;

/// The labels of the front end's `owa\auth` and `ecp\auth` files start so, lower case
/// (collector/EVIDENCE.md); a site's `aspnet_client` files start with the site's name, which
/// holds no `\`.
pub const AUTH_FOLDERS: [&str; 2] = [
    r"frontend\httpproxy\owa\auth",
    r"frontend\httpproxy\ecp\auth",
];

/// The default site's `aspnet_client`, lower case: with the auth folders, what an older
/// collector (no per-folder coverage rows) listed, its `.aspx` files only.
const OLD_ASPNET_CLIENT_LABEL: &str = r"default web site\aspnet_client";

/// Whether a lower-case label lies below a lower-case folder label.
fn under(path: &str, folder: &str) -> bool {
    path.len() > folder.len() && path.starts_with(folder) && path.as_bytes()[folder.len()] == b'\\'
}

/// Whether a listed file's label lies in the front end's `owa\auth` or `ecp\auth` (the rest
/// is some site's `aspnet_client`).
pub fn in_auth_folder(url: &str) -> bool {
    let p = url.replace('/', "\\").to_ascii_lowercase();
    AUTH_FOLDERS.iter().any(|f| under(&p, f))
}

/// What a host's collector could list of the web folders, by its `aspx_file` coverage rows.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    /// The web folders the collector reports looking in (labels, lower case) with the files
    /// it listed there; empty: an older collector, which reports no folder.
    pub folders: Vec<(String, i64)>,
    /// Folders (lower-case labels) listed only in part; `""`: which ones is not known.
    pub partial: Vec<String>,
    /// Why the listing is partial, with where that is recorded.
    pub notes: Vec<Evidence>,
}

impl Coverage {
    /// Whether the collector could have listed the file labelled `path` (lower case): a folder
    /// it reports holds it (an auth folder only where it listed files: a server without them
    /// has no front end, an Edge server, and says nothing about the others' pages; an empty
    /// `aspnet_client` is the stock state); an older collector listed the `.aspx` files of the
    /// default site's `aspnet_client` and the auth folders only.
    pub fn could_list(&self, path: &str) -> bool {
        if self.folders.is_empty() {
            return path.ends_with(".aspx")
                && std::iter::once(OLD_ASPNET_CLIENT_LABEL)
                    .chain(AUTH_FOLDERS)
                    .any(|f| under(path, f));
        }
        self.folders
            .iter()
            .any(|(f, files)| under(path, f) && (*files > 0 || !AUTH_FOLDERS.contains(&f.as_str())))
    }

    /// Whether the folder of `path` (lower case) was listed only in part.
    pub fn partial_at(&self, path: &str) -> bool {
        self.partial.iter().any(|f| f.is_empty() || under(path, f))
    }
}

/// The web-folder inventory of the fleet: each host's listed files, what its collector could
/// list, and each host's build.
pub struct Inventory {
    /// host -> its listed files of the web folders (hashed or not), labelled as today.
    pub files: BTreeMap<String, Vec<IocMatchRow>>,
    /// host -> what its collector could list; a host is in the inventory when it is here.
    pub coverage: BTreeMap<String, Coverage>,
    /// host -> ExSetup's build.
    pub build_of: BTreeMap<String, Build>,
    /// (host, file) -> the collection error of a listed file the collector could not read.
    pub unread: BTreeMap<(String, String), String>,
}

impl Inventory {
    /// The inventory of the latest snapshots: a host is in it when its collector reports the
    /// web folders it looked in, or (an older collector) when it listed a file.
    pub fn of(fleet: &Fleet) -> PolarsResult<Inventory> {
        let build_of = HostRow::read(&fleet.latest.hosts)?
            .into_iter()
            .filter_map(|h| Some((h.key.host.clone(), Build::parse(&h.exsetup_version)?)))
            .collect();
        let files = IocMatchRow::read(&fleet.latest.ioc_matches)?
            .into_iter()
            .filter(|m| m.indicator == IocKind::AspxFile)
            .collect();
        let scans: Vec<IocScanRow> = IocScanRow::read(&fleet.latest.ioc_scans)?
            .into_iter()
            .filter(|s| s.indicator == IocKind::AspxFile)
            .collect();
        let errors = CollectionErrorRow::read(&fleet.latest.collection_errors)?;
        Ok(Inventory::from_rows(files, &scans, &errors, build_of))
    }

    /// The inventory of these rows (see [`Inventory::of`]).
    pub fn from_rows(
        matches: Vec<IocMatchRow>,
        scans: &[IocScanRow],
        errors: &[CollectionErrorRow],
        build_of: BTreeMap<String, Build>,
    ) -> Inventory {
        let mut files: BTreeMap<String, Vec<IocMatchRow>> = BTreeMap::new();
        for m in matches {
            let m = IocMatchRow {
                url: label(&m.url),
                ..m
            };
            files.entry(m.key.host.clone()).or_default().push(m);
        }
        let mut coverage: BTreeMap<String, Coverage> = BTreeMap::new();
        for host in files.keys() {
            coverage.entry(host.clone()).or_default();
        }
        let mut unattributed: BTreeMap<&str, (i64, i64, &IocScanRow)> = BTreeMap::new();
        for s in scans {
            let host = s.key.host.as_str();
            if s.folder.is_empty() {
                unattributed.entry(host).or_insert((0, 0, s)).0 += s.overflow;
                continue;
            }
            let c = coverage.entry(host.to_string()).or_default();
            let folder = s.folder.to_ascii_lowercase();
            c.folders.push((folder.clone(), s.files));
            if s.overflow > 0 {
                unattributed.entry(host).or_insert((0, 0, s)).1 += s.overflow;
                c.partial.push(folder);
                c.notes.push(Evidence::new(
                    format!(
                        "{host}: its listing of {} is partial: {} file(s) not listed (a bound of \
                         the collector); it is not counted as lacking the files of that folder",
                        s.folder, s.overflow
                    ),
                    format!(
                        "ioc_scans aspx_file folder {} of snapshot {}",
                        s.folder, s.key.snapshot_id
                    ),
                ));
            }
        }
        // The all-folders row counts what the bound on shipped matches dropped: beyond what
        // the folders' rows name, the folder is not known.
        for (host, (all, named, s)) in unattributed {
            if all > named {
                if let Some(c) = coverage.get_mut(host) {
                    c.partial.push(String::new());
                    c.notes.push(Evidence::new(
                        format!(
                            "{host}: its web-folder listing is partial: {} file(s) not shipped \
                             (the bound on matches per indicator), in folders not known; it is \
                             not counted as lacking any file",
                            all - named
                        ),
                        format!("ioc_scans aspx_file of snapshot {}", s.key.snapshot_id),
                    ));
                }
            }
        }
        let mut unread = BTreeMap::new();
        for e in errors {
            let Some(c) = coverage.get_mut(&e.key.host) else {
                continue;
            };
            // A collector that reports its folders counts what a bound left out in each
            // folder's row; an older one says it only in this error.
            if e.kind == "too_many_files" {
                if !c.folders.is_empty() {
                    continue;
                }
                if let Some(folder) = web_folder_of(&e.path) {
                    c.partial.push(folder);
                    c.notes.push(Evidence::new(
                        format!(
                            "{}: its web-folder listing is partial: {}; it is not counted as \
                             lacking the files of that folder",
                            e.key.host, e.message
                        ),
                        &e.path,
                    ));
                }
            } else {
                unread.insert((e.key.host.clone(), e.path.clone()), e.message.clone());
            }
        }
        Inventory {
            files,
            coverage,
            build_of,
            unread,
        }
    }

    /// The builds of the hosts of the inventory.
    fn counts(&self) -> (BTreeMap<Build, usize>, BTreeMap<[u32; 3], usize>) {
        let mut builds: BTreeMap<Build, usize> = BTreeMap::new();
        let mut lines: BTreeMap<[u32; 3], usize> = BTreeMap::new();
        for b in self.coverage.keys().filter_map(|h| self.build_of.get(h)) {
            *builds.entry(*b).or_default() += 1;
            let [x, y, z, _] = b.0;
            *lines.entry([x, y, z]).or_default() += 1;
        }
        (builds, lines)
    }

    /// The finding a host's outlying files are reported in, `(group, what, why)`: its build
    /// when at least [`MIN_SERVERS`] servers of the inventory run it, else its CU line when
    /// that many run the line (why says so), else the fleet (only its `aspnet_client` can be
    /// compared then).
    pub fn group_of(&self, host: &str) -> (String, String, String) {
        let (builds, lines) = self.counts();
        let Some(b) = self.build_of.get(host) else {
            return ("fleet".into(), "the fleet".into(), String::new());
        };
        let [x, y, z, _] = b.0;
        let n = builds.get(b).copied().unwrap_or(0);
        if n >= MIN_SERVERS {
            return (format!("build:{b}"), format!("build {b}"), String::new());
        }
        if lines.get(&[x, y, z]).copied().unwrap_or(0) >= MIN_SERVERS {
            return (
                format!("line:{x}.{y}.{z}"),
                format!("CU line {x}.{y}.{z}"),
                format!(
                    "build {b} has {n} server(s), too few to compare: compared across its CU line"
                ),
            );
        }
        ("fleet".into(), "the fleet".into(), String::new())
    }

    /// The hosts of a scope.
    fn members(&self, scope: Scope) -> Vec<&str> {
        self.coverage
            .keys()
            .filter(|h| match scope {
                Scope::Fleet => true,
                Scope::Build(b) => self.build_of.get(*h) == Some(&b),
                Scope::Line(b) => self.build_of.get(*h).is_some_and(|o| o.same_line(&b)),
            })
            .map(String::as_str)
            .collect()
    }

    /// Judges every listed file (see [`DOC`]): the outliers by finding group, and the files no
    /// comparison could judge by host.
    pub fn judge(&self) -> Judged {
        // path (lower case) -> host -> content.
        let mut held: BTreeMap<String, BTreeMap<&str, String>> = BTreeMap::new();
        for (host, files) in &self.files {
            for f in files {
                held.entry(f.url.to_ascii_lowercase())
                    .or_default()
                    .insert(host, content(f));
            }
        }
        let mut memo: BTreeMap<(Scope, String), Comparison> = BTreeMap::new();
        let mut members: BTreeMap<Scope, Vec<&str>> = BTreeMap::new();
        let mut out = Judged::default();
        for (host, files) in &self.files {
            if !self.coverage.contains_key(host) {
                continue;
            }
            let build = self.build_of.get(host).copied();
            for f in files {
                let path = f.url.to_ascii_lowercase();
                let scopes: Vec<Scope> = if !in_auth_folder(&path) {
                    vec![Scope::Fleet]
                } else if let Some(b) = build {
                    vec![Scope::Build(b), Scope::Line(b)]
                } else {
                    vec![]
                };
                for scope in &scopes {
                    let of = members
                        .entry(*scope)
                        .or_insert_with(|| self.members(*scope));
                    memo.entry((*scope, path.clone()))
                        .or_insert_with(|| self.compare(of, &path, held.get(&path)));
                }
                let mut judged = None;
                let mut short = Vec::new();
                for scope in scopes {
                    let c = &memo[&(scope, path.clone())];
                    if c.peers >= MIN_SERVERS {
                        judged = Some((scope, c));
                        break;
                    }
                    short.push((scope, c.peers));
                }
                let Some((scope, c)) = judged else {
                    out.uncompared
                        .entry(host.clone())
                        .or_default()
                        .push(f.clone());
                    continue;
                };
                if let Some(fact) = outlier(self, host, f, scope, c, &short) {
                    let (group, what, why) = self.group_of(host);
                    let e = out.findings.entry(group).or_insert_with(|| Outliers {
                        what,
                        ..Default::default()
                    });
                    if !why.is_empty() && !e.why.contains(&why) {
                        e.why.push(why);
                    }
                    if !e.hosts.contains(host) {
                        e.hosts.push(host.clone());
                        e.notes.extend(self.coverage[host].notes.iter().cloned());
                    }
                    e.files.push(Evidence::new(fact, &f.provenance));
                }
            }
        }
        out
    }

    /// The servers of a scope (`members`) that can say whether they hold `path`: those holding it, and
    /// those whose collector could list it with its folder listed whole.
    fn compare(
        &self,
        members: &[&str],
        path: &str,
        held: Option<&BTreeMap<&str, String>>,
    ) -> Comparison {
        let mut c = Comparison::default();
        for &host in members {
            if let Some(content) = held.and_then(|h| h.get(host)) {
                c.peers += 1;
                c.contents
                    .entry(content.clone())
                    .or_default()
                    .insert(host.to_string());
                continue;
            }
            let cov = &self.coverage[host];
            if cov.could_list(path) {
                if cov.partial_at(path) {
                    c.left_out += 1;
                } else {
                    c.peers += 1;
                }
            }
        }
        c
    }
}

/// What a file is compared with: the whole fleet (a site's `aspnet_client`, whose stock files
/// come with .NET and Windows, not with the Exchange build), its build, or its CU line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Scope {
    Fleet,
    Build(Build),
    Line(Build),
}

impl Scope {
    /// For evidence.
    fn what(&self) -> String {
        match self {
            Scope::Fleet => "the fleet".into(),
            Scope::Build(b) => format!("the build {b}"),
            Scope::Line(b) => {
                let [x, y, z, _] = b.0;
                format!("the CU line {x}.{y}.{z}")
            }
        }
    }
}

/// The servers of a scope that can tell about one path.
#[derive(Debug, Default)]
struct Comparison {
    /// Servers compared: holding the path, or could have listed it.
    peers: usize,
    /// Servers that could have listed it, left out: their listing of its folder is partial.
    left_out: usize,
    /// content -> the servers holding the path with it.
    contents: BTreeMap<String, BTreeSet<String>>,
}

/// The outcome of [`Inventory::judge`].
#[derive(Debug, Default)]
pub struct Judged {
    /// finding group -> its outliers.
    pub findings: BTreeMap<String, Outliers>,
    /// host -> its listed files no comparison could judge (fewer than [`MIN_SERVERS`]
    /// servers could tell whether they hold the path).
    pub uncompared: BTreeMap<String, Vec<IocMatchRow>>,
}

/// The outlying files of one finding group.
#[derive(Debug, Default)]
pub struct Outliers {
    /// What the group's servers share, for the title.
    pub what: String,
    /// Why the group is not a build (a small build compared across its line).
    pub why: Vec<String>,
    /// The servers with an outlying file.
    pub hosts: Vec<String>,
    /// Each outlying file.
    pub files: Vec<Evidence>,
    /// Their partial listings.
    pub notes: Vec<Evidence>,
}

/// The content a file is compared by: its SHA-256, else (a file the collector did not hash:
/// too large, or unreadable) its size, so that it is compared and reported all the same.
pub fn content(f: &IocMatchRow) -> String {
    if f.sha256.is_empty() {
        format!("unhashed:{}", size(f))
    } else {
        f.sha256.clone()
    }
}

/// The size the collector wrote in the detail (`<n> bytes`), as text.
fn size(f: &IocMatchRow) -> String {
    f.detail
        .split(|c: char| !c.is_ascii_digit())
        .find(|d| !d.is_empty())
        .unwrap_or("unknown")
        .to_string()
}

/// How a file's content is cited: its SHA-256, or that it has none and why.
pub fn hash_of(inv: &Inventory, host: &str, f: &IocMatchRow) -> String {
    if !f.sha256.is_empty() {
        return format!("sha256 {}", f.sha256);
    }
    match inv.unread.get(&(host.to_string(), f.file.clone())) {
        Some(why) => format!("no SHA-256: the collector could not read it: {why}"),
        None => format!(
            "no SHA-256: unhashed, {} bytes, larger than the collector hashes (compared by its size)",
            size(f)
        ),
    }
}

/// The evidence of a file of `host` judged on `scope`, when it stands out: its (path,
/// content) held by a [`minority`] of the servers compared, and either its path on none of
/// the others (a new file) or, on a build, at least two others sharing another content (a
/// changed stock file; across a CU line the SUs change the stock pages, across the fleet
/// Windows and .NET do: only a new file counts there).
fn outlier(
    inv: &Inventory,
    host: &str,
    f: &IocMatchRow,
    scope: Scope,
    c: &Comparison,
    short: &[(Scope, usize)],
) -> Option<String> {
    let key = content(f);
    let holders = c.contents.get(&key)?;
    let peers = c.peers;
    if !minority(holders.len(), peers) {
        return None;
    }
    let new = c.contents.len() == 1;
    let stock_elsewhere = c.contents.iter().any(|(k, h)| *k != key && h.len() >= 2);
    let new_only = !matches!(scope, Scope::Build(_));
    if !new && (new_only || !stock_elsewhere) {
        return None;
    }
    let what = scope.what();
    let also: Vec<&str> = holders
        .iter()
        .map(String::as_str)
        .filter(|h| *h != host)
        .collect();
    let how = match (new, also.is_empty()) {
        (true, true) => format!("on no other server of {what}"),
        (false, true) => format!("its content on no other server of {what}"),
        (true, false) => format!(
            "on {} of the {peers} servers of {what} only (also {})",
            holders.len(),
            also.join(", ")
        ),
        (false, false) => format!(
            "its content on {} of the {peers} servers of {what} only (also {})",
            holders.len(),
            also.join(", ")
        ),
    };
    let mut compared = format!("{} others compared", peers - 1);
    for (s, n) in short {
        compared.push_str(&format!(
            "; {} has {n} server(s) that could list it, too few",
            s.what()
        ));
    }
    if c.left_out > 0 {
        compared.push_str(&format!(
            "; {} left out, their listing of the folder partial",
            c.left_out
        ));
    }
    Some(format!(
        "{host}: {} ({}, written {}, {}): {how} ({compared})",
        f.url,
        f.detail,
        utc(f.time_ms),
        hash_of(inv, host, f)
    ))
}

/// The web folder (lower-case label) of an older collector's `too_many_files` error: an auth
/// folder, or the default site's `aspnet_client`, the only one it read; `None`: no web folder.
fn web_folder_of(path: &str) -> Option<String> {
    let p = path
        .replace('/', "\\")
        .trim_end_matches('\\')
        .to_ascii_lowercase();
    if let Some(f) = AUTH_FOLDERS.iter().find(|f| p.ends_with(*f)) {
        return Some(f.to_string());
    }
    (p == "aspnet_client" || p.ends_with(r"\aspnet_client")).then(|| OLD_ASPNET_CLIENT_LABEL.into())
}

/// Whether `holders` of `peers` servers compared are few enough for their file to stand out:
/// one server; at most [`MAX_HOLDERS`] of five or more (an attacker who reached two servers
/// of a build plants the same shell on both); or under a fifth of them.
pub fn minority(holders: usize, peers: usize) -> bool {
    holders == 1 || (peers >= 5 && holders <= MAX_HOLDERS) || holders * 5 < peers
}

/// Most servers sharing a file that still stand out among five or more.
pub const MAX_HOLDERS: usize = 2;

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
        for (group, mut o) in inv.judge().findings {
            o.hosts.sort();
            let mut ev: Vec<Evidence> =
                o.why.iter().map(|w| Evidence::new(w.clone(), "")).collect();
            ev.extend(o.files);
            ev.extend(o.notes);
            let title = format!(
                "web pages or handlers few or no other servers have (compared with the servers of {} that could list them; aspnet_client with the fleet's), on {}",
                o.what,
                o.hosts.join(", ")
            );
            out.push(fleet_finding(self, title, group, ev, o.hosts));
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

    /// A coverage row of a collector that reports its folders.
    fn row(host: &str, folder: &str, files: i64, overflow: i64) -> IocScanRow {
        let mut s = IocScanRow {
            indicator: IocKind::AspxFile,
            folder: folder.into(),
            files,
            overflow,
            ..Default::default()
        };
        s.key.host = host.into();
        s.key.snapshot_id = format!("snap-{host}");
        s
    }

    const LOGON: &str = r"FrontEnd\HttpProxy\owa\auth\logon.aspx";
    const SHELL: &str = r"Default Web Site\aspnet_client\system_web\x5kqk2vc.aspx";
    const ASHX: &str = r"FrontEnd\HttpProxy\owa\auth\OwaAuth.ashx";
    const CONFIG: &str = r"FrontEnd\HttpProxy\owa\auth\web.config";
    const README: &str = r"Default Web Site\aspnet_client\system_web\4_0_30319\readme.txt";
    const BUILD: &str = "15.2.1748.24";

    fn hosts(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("EX{i:02}")).collect()
    }

    /// `n` servers of one build with an older collector and the stock logon page; the shell
    /// on `with_shell` of them.
    fn fleet(n: usize, with_shell: &[usize]) -> Inventory {
        let build = Build::parse(BUILD).unwrap();
        let mut files = Vec::new();
        let mut build_of = BTreeMap::new();
        for (i, h) in hosts(n).iter().enumerate() {
            files.push(aspx(h, LOGON, "aa"));
            if with_shell.contains(&i) {
                files.push(aspx(h, SHELL, "ff"));
            }
            build_of.insert(h.clone(), build);
        }
        Inventory::from_rows(files, &[], &[], build_of)
    }

    /// The outlying hosts and the evidence of the only finding (none: empty).
    fn outliers(inv: &Inventory) -> (Vec<String>, Vec<String>) {
        let j = inv.judge();
        assert!(j.findings.len() <= 1, "{j:#?}");
        j.findings
            .into_values()
            .next()
            .map(|o| {
                let facts = o.why.iter().cloned();
                let files = o.files.iter().chain(&o.notes).map(|e| e.fact.clone());
                (o.hosts, facts.chain(files).collect())
            })
            .unwrap_or_default()
    }

    #[test]
    fn a_shell_on_two_servers_of_five_stands_out_with_its_holders() {
        let (hosts, ev) = outliers(&fleet(5, &[0, 3]));
        assert_eq!(hosts, ["EX01", "EX04"], "{ev:#?}");
        assert!(
            ev[0].contains(
                "x5kqk2vc.aspx (size 90, written , sha256 ff): on 2 of the 5 servers of the \
                 fleet only (also EX04) (4 others compared)"
            ),
            "{ev:#?}"
        );
        // One holder: as before.
        let (hosts, ev) = outliers(&fleet(5, &[2]));
        assert_eq!(hosts, ["EX03"]);
        assert!(ev[0].contains("on no other server of the fleet"), "{ev:#?}");
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
    fn a_file_on_many_servers_is_no_outlier() {
        // Two of four: not a minority (a fifth of four is under one).
        assert!(outliers(&fleet(4, &[0, 1])).0.is_empty());
        // Three of five: more than two, and not under a fifth.
        assert!(outliers(&fleet(5, &[0, 1, 2])).0.is_empty());
        // Three of twenty: under a fifth.
        assert_eq!(outliers(&fleet(20, &[0, 1, 2])).0.len(), 3);
        // Four of twenty: a fifth, not under it.
        assert!(outliers(&fleet(20, &[0, 1, 2, 3])).0.is_empty());
    }

    /// The per-folder coverage rows of a collector that reports them, with `auth` files
    /// listed in owa\auth.
    fn new_rows(host: &str, auth: i64) -> Vec<IocScanRow> {
        vec![
            row(host, "", 0, 0),
            row(host, r"Default Web Site\aspnet_client", 1, 0),
            row(host, r"Exchange Back End\aspnet_client", 0, 0),
            row(host, r"FrontEnd\HttpProxy\owa\auth", auth, 0),
            row(host, r"FrontEnd\HttpProxy\ecp\auth", 0, 0),
        ]
    }

    /// Ten servers of one build, the last two on the collector that lists every web file:
    /// they alone list the stock handler, web.config and aspnet_client's readme.
    fn rollout() -> (Vec<IocMatchRow>, Vec<IocScanRow>, BTreeMap<String, Build>) {
        let build = Build::parse(BUILD).unwrap();
        let mut files = Vec::new();
        let mut scans = Vec::new();
        let mut build_of = BTreeMap::new();
        for (i, h) in hosts(10).iter().enumerate() {
            files.push(aspx(h, LOGON, "aa"));
            if i >= 8 {
                files.push(aspx(h, ASHX, "bb"));
                files.push(aspx(h, CONFIG, "cc"));
                files.push(aspx(h, README, "dd"));
                scans.extend(new_rows(h, 3));
            } else {
                scans.push(row(h, "", 1, 0));
            }
            build_of.insert(h.clone(), build);
        }
        (files, scans, build_of)
    }

    #[test]
    fn files_only_the_new_collectors_can_list_are_no_outliers_during_a_rollout() {
        let (files, scans, build_of) = rollout();
        let inv = Inventory::from_rows(files.clone(), &scans, &[], build_of.clone());
        let j = inv.judge();
        assert!(j.findings.is_empty(), "{j:#?}");
        // Two servers can tell about the handler, web.config and readme: not compared, left
        // to ioc.aspx-uncompared.
        let left: Vec<&str> = j.uncompared["EX09"]
            .iter()
            .map(|m| m.url.as_str())
            .collect();
        assert_eq!(left, [ASHX, CONFIG, README], "{j:#?}");

        // A shell .aspx in aspnet_client on a new-collector server: every server could list
        // it, it stands out.
        let mut with_shell = files;
        with_shell.push(aspx("EX10", SHELL, "ff"));
        let inv = Inventory::from_rows(with_shell, &scans, &[], build_of);
        let (hosts, ev) = outliers(&inv);
        assert_eq!(hosts, ["EX10"], "{ev:#?}");
        assert!(
            ev[0].starts_with(&format!(
                "EX10: {SHELL} (size 90, written , sha256 ff): on no other server of the fleet \
                 (9 others compared)"
            )),
            "{ev:#?}"
        );
    }

    #[test]
    fn an_unhashed_file_is_compared_by_its_size_and_said_unhashed() {
        let mut inv = fleet(5, &[]);
        let mut big = aspx("EX02", SHELL, "");
        big.detail = "20971520 bytes".into();
        big.file = "inetpub/wwwroot/aspnet_client/system_web/x5kqk2vc.aspx".into();
        inv.files.get_mut("EX02").unwrap().push(big.clone());
        let (hosts, ev) = outliers(&inv);
        assert_eq!(hosts, ["EX02"], "{ev:#?}");
        assert!(
            ev[0].contains(
                "(20971520 bytes, written , no SHA-256: unhashed, 20971520 bytes, larger than \
                 the collector hashes (compared by its size)): on no other server of the fleet"
            ),
            "{ev:#?}"
        );
        // Unreadable: the collector's error says why.
        let mut unread = CollectionErrorRow {
            reader: "ioc".into(),
            kind: "io".into(),
            path: big.file.clone(),
            message: "access denied".into(),
            ..Default::default()
        };
        unread.key.host = "EX02".into();
        let inv = Inventory::from_rows(
            inv.files.into_values().flatten().collect(),
            &[],
            &[unread],
            inv.build_of,
        );
        let (_, ev) = outliers(&inv);
        assert!(
            ev[0].contains("no SHA-256: the collector could not read it: access denied"),
            "{ev:#?}"
        );
    }

    #[test]
    fn aspnet_client_is_compared_across_the_fleet_whatever_the_build() {
        let mut files = Vec::new();
        let mut scans = Vec::new();
        let mut build_of = BTreeMap::new();
        for (h, b) in hosts(3)
            .iter()
            .zip(["15.2.1748.24", "15.1.2507.39", "15.2.1544.4"])
        {
            files.push(aspx(h, README, "dd"));
            files.push(aspx(h, LOGON, b));
            scans.extend(new_rows(h, 1));
            build_of.insert(h.clone(), Build::parse(b).unwrap());
        }
        let inv = Inventory::from_rows(files.clone(), &scans, &[], build_of.clone());
        let j = inv.judge();
        assert!(j.findings.is_empty(), "{j:#?}");
        // Each alone on its build: its auth pages are left uncompared, not aspnet_client.
        assert!(
            j.uncompared
                .values()
                .flatten()
                .all(|m| in_auth_folder(&m.url)),
            "{j:#?}"
        );
        files.push(aspx("EX02", SHELL, "ff"));
        let inv = Inventory::from_rows(files.clone(), &scans, &[], build_of.clone());
        let j = inv.judge();
        assert_eq!(j.findings.len(), 1, "{j:#?}");
        let o = &j.findings["fleet"];
        assert_eq!(o.hosts, ["EX02"]);
        assert!(
            o.files[0]
                .fact
                .contains("x5kqk2vc.aspx (size 90, written , sha256 ff): on no other server of the fleet (2 others compared)"),
            "{o:#?}"
        );

        // Two servers: too few; aspnet_client is listed for ioc.aspx-uncompared.
        files.retain(|m| m.key.host != "EX03");
        scans.retain(|s| s.key.host != "EX03");
        let inv = Inventory::from_rows(files, &scans, &[], build_of);
        let j = inv.judge();
        assert!(j.findings.is_empty(), "{j:#?}");
        assert!(
            j.uncompared["EX02"].iter().any(|m| m.url == SHELL),
            "{j:#?}"
        );
    }

    #[test]
    fn a_partial_listing_is_said_and_not_counted_as_lacking_the_file() {
        // Five servers; EX05 listed its aspnet_client only in part.
        let mut files = Vec::new();
        let mut scans = Vec::new();
        let mut build_of = BTreeMap::new();
        for h in hosts(5) {
            files.push(aspx(&h, LOGON, "aa"));
            let mut rows = new_rows(&h, 1);
            if h == "EX05" {
                rows[1].overflow = 7;
                files.push(aspx(&h, SHELL, "ff"));
            }
            scans.extend(rows);
            build_of.insert(h.clone(), Build::parse(BUILD).unwrap());
        }
        // EX01 and EX05 hold the shell; EX05's partial aspnet_client does not change the count
        // of those lacking it, the finding says its listing is partial.
        files.push(aspx("EX01", SHELL, "ff"));
        let inv = Inventory::from_rows(files.clone(), &scans, &[], build_of.clone());
        let (hosts, ev) = outliers(&inv);
        assert_eq!(hosts, ["EX01", "EX05"], "{ev:#?}");
        assert!(
            ev.iter().any(|e| e.starts_with(
                r"EX05: its listing of Default Web Site\aspnet_client is partial: 7 file(s) not listed"
            )),
            "{ev:#?}"
        );
        // A file on EX01 alone: EX05 could not tell whether it has it, it is left out.
        files.retain(|m| !(m.key.host == "EX05" && m.url == SHELL));
        let inv = Inventory::from_rows(files, &scans, &[], build_of);
        let (hosts, ev) = outliers(&inv);
        assert_eq!(hosts, ["EX01"], "{ev:#?}");
        assert!(
            ev[0].ends_with("(3 others compared; 1 left out, their listing of the folder partial)"),
            "{ev:#?}"
        );

        // An older collector says it in a collection error: the same for its auth folder.
        let mut inv = fleet(5, &[]);
        let page = r"FrontEnd\HttpProxy\owa\auth\x.aspx";
        inv.files
            .get_mut("EX01")
            .unwrap()
            .push(aspx("EX01", page, "ee"));
        let mut error = CollectionErrorRow {
            reader: "ioc".into(),
            kind: "too_many_files".into(),
            path: "Program Files/Microsoft/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth".into(),
            message: "owa/auth: more than 200000 files; the rest are not listed".into(),
            ..Default::default()
        };
        error.key.host = "EX05".into();
        let inv = Inventory::from_rows(
            inv.files.into_values().flatten().collect(),
            &[],
            &[error],
            inv.build_of,
        );
        let (hosts, ev) = outliers(&inv);
        assert_eq!(hosts, ["EX01"], "{ev:#?}");
        assert!(
            ev[0].ends_with("(3 others compared; 1 left out, their listing of the folder partial)"),
            "{ev:#?}"
        );
    }
}
