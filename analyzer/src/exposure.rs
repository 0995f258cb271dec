//! CVE exposure: which CVEs a host is still open to, and what closes them, from the catalog's
//! CVE table ([`crate::cve`]) and the host's evidence. The build test is HealthChecker's
//! (CSS-Exchange `Shared/CompareExchangeBuildLevel.ps1`, Test-ExchangeBuildGreaterOrEqualThanSecurityPatch):
//! for an update and the host's product, none of its rows → not affected; the build at or
//! above the highest fixing build → fixed (a newer CU); the host's own CU has a row and the
//! build is at or above it → fixed; otherwise open. Updates older than the year of the host's
//! CU are skipped (included in the CU), and so are updates published after the analysis date.
//! `analyzer/CVE.md` says how each class of row is judged and with which severity. The
//! Extended Protection group, once the build carries the fix, is judged from the
//! configuration ([`crate::extended_protection`]): open when it is not properly set, closed
//! when it is, unverified only when applicationHost.config was not collected.

use std::collections::{BTreeSet, HashMap};

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::catalog::{Build, Catalog, Release};
use crate::cve::{Class, Row};
use crate::finding::Severity;
use crate::view::HostView;

/// The March 2021 SU for CUs that were already unsupported (HealthChecker looks for it in the
/// installed updates).
pub const MARCH_2021_UNSUPPORTED_CU_KB: &str = "KB5000871";

/// What the evidence says of one CVE on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The build (or the Windows build) is below the fix.
    Open,
    /// The build carries the fix, but the fix also needs a setting the evidence does not show.
    Unverified,
    /// Only the March 2021 SU is installed on this unsupported CU: the CU's older CVEs stay open.
    Advisory,
}

impl Status {
    /// The name exports use.
    pub fn name(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Unverified => "unverified",
            Status::Advisory => "advisory",
        }
    }

    /// The severity of its finding: HealthChecker's Red is an error, its Yellow a warning.
    pub fn severity(self) -> Severity {
        match self {
            Status::Open => Severity::Error,
            Status::Unverified | Status::Advisory => Severity::Warning,
        }
    }
}

/// One CVE a host is exposed to, with what closes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exposure {
    /// CVE or advisory id.
    pub cve: String,
    /// Open, unverified or advisory.
    pub status: Status,
    /// The class of the table's row.
    pub class: Class,
    /// The update that fixes it ("Feb26SU").
    pub fixed_by: String,
    /// What closes it on this host: the build of its CU carrying the fix, or the CUs to move to.
    pub remedy: String,
    /// Unverified: what the evidence must show besides the build.
    pub needs: String,
}

/// One host's exposures.
#[derive(Debug, Clone, Serialize)]
pub struct HostExposure {
    /// NetBIOS name.
    pub host: String,
    /// Snapshot judged.
    pub snapshot_id: String,
    /// Its collection time (UTC ms).
    pub collected_at_ms: i64,
    /// ExSetup.exe's build ("" when not read: exposure unknown).
    pub build: String,
    /// The product is past its end of support and the server not on its CU's newest update:
    /// HealthChecker's "Expired Version of Exchange" (it tests no CVE of such a server; exfleet
    /// still lists them).
    pub expired: bool,
    /// What the host is exposed to.
    pub exposures: Vec<Exposure>,
}

/// Every host's exposures at `as_of`.
pub fn of_fleet(hosts: &[HostView], catalog: &Catalog, as_of: NaiveDate) -> Vec<HostExposure> {
    hosts
        .iter()
        .map(|h| HostExposure {
            host: h.host.clone(),
            snapshot_id: h.snapshot_id.clone(),
            collected_at_ms: h.collected_at_ms,
            build: h.exsetup.map(|b| b.to_string()).unwrap_or_default(),
            expired: expired(h, catalog, as_of),
            exposures: of_host(h, catalog, as_of),
        })
        .collect()
}

/// Past the product's end of support and not on the newest update of its CU.
fn expired(h: &HostView, catalog: &Catalog, as_of: NaiveDate) -> bool {
    let Some(b) = h.exsetup else { return false };
    let Some(p) = catalog.product_of(&b) else {
        return false;
    };
    let newest = catalog
        .cu_of(&b)
        .and_then(|c| catalog.newest_in_line(&c.product, &c.cu, as_of));
    p.end_of_support < as_of && newest.is_none_or(|n| n.build > b)
}

/// Hosts per CVE across the fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CveHosts {
    /// CVE or advisory id.
    pub cve: String,
    /// The updates that fix it.
    pub fixed_by: Vec<String>,
    /// Hosts open to it.
    pub open: Vec<String>,
    /// Hosts whose build carries the fix, waiting on a setting the evidence does not show.
    pub unverified: Vec<String>,
    /// Hosts where only the March 2021 SU for unsupported CUs covers it.
    pub advisory: Vec<String>,
}

/// Hosts per CVE, the CVEs open on most hosts first (then unverified, then by id).
pub fn per_cve(fleet: &[HostExposure]) -> Vec<CveHosts> {
    let mut by: std::collections::BTreeMap<&str, CveHosts> = Default::default();
    for h in fleet {
        for e in &h.exposures {
            let c = by.entry(e.cve.as_str()).or_insert_with(|| CveHosts {
                cve: e.cve.clone(),
                fixed_by: Vec::new(),
                open: Vec::new(),
                unverified: Vec::new(),
                advisory: Vec::new(),
            });
            if !c.fixed_by.contains(&e.fixed_by) {
                c.fixed_by.push(e.fixed_by.clone());
            }
            let list = match e.status {
                Status::Open => &mut c.open,
                Status::Unverified => &mut c.unverified,
                Status::Advisory => &mut c.advisory,
            };
            if !list.contains(&h.host) {
                list.push(h.host.clone());
            }
        }
    }
    let mut out: Vec<CveHosts> = by.into_values().collect();
    out.sort_by(|a, b| {
        (b.open.len(), b.unverified.len(), b.advisory.len())
            .cmp(&(a.open.len(), a.unverified.len(), a.advisory.len()))
            .then_with(|| a.cve.cmp(&b.cve))
    });
    out
}

/// The export's `cve_exposure` table: one row per host and exposure.
pub fn frame(fleet: &[HostExposure]) -> polars::prelude::PolarsResult<polars::prelude::DataFrame> {
    use polars::prelude::{Column, DataFrame};
    let rows: Vec<(&HostExposure, &Exposure)> = fleet
        .iter()
        .flat_map(|h| h.exposures.iter().map(move |e| (h, e)))
        .collect();
    let text = |name: &str, f: fn(&HostExposure, &Exposure) -> String| {
        Column::new(
            name.into(),
            rows.iter().map(|(h, e)| f(h, e)).collect::<Vec<_>>(),
        )
    };
    DataFrame::new(
        rows.len(),
        vec![
            text("host", |h, _| h.host.clone()),
            text("snapshot_id", |h, _| h.snapshot_id.clone()),
            Column::new(
                "collected_at_ms".into(),
                rows.iter()
                    .map(|(h, _)| h.collected_at_ms)
                    .collect::<Vec<_>>(),
            ),
            text("build", |h, _| h.build.clone()),
            text("cve", |_, e| e.cve.clone()),
            text("status", |_, e| e.status.name().to_string()),
            text("severity", |_, e| e.status.severity().name().to_string()),
            text("class", |_, e| e.class.name().to_string()),
            text("fixed_by", |_, e| e.fixed_by.clone()),
            text("remedy", |_, e| e.remedy.clone()),
            text("needs", |_, e| e.needs.clone()),
        ],
    )
}

/// The CVEs `h` is exposed to at `as_of`, in the CVE table's order (an id listed under two
/// updates appears once per update it fails).
pub fn of_host(h: &HostView, catalog: &Catalog, as_of: NaiveDate) -> Vec<Exposure> {
    let Some(host) = Host::of(h, catalog, as_of) else {
        return Vec::new();
    };
    // Rows the product can be judged on: its own and `any` (any non-Edge server); an Edge
    // server only by the SU table (HealthChecker does not test the special rows on Edge);
    // aliases are reported under the id HealthChecker shows.
    let rows: Vec<&Row> = catalog
        .cves
        .iter()
        .filter(|r| r.class != Class::Ad && r.alias_of.is_empty())
        .filter(|r| !host.edge || matches!(r.class, Class::Su | Class::SuAd))
        .filter(|r| {
            r.applies_to(host.product) || (r.class == Class::Setting && host.newer_than(r, catalog))
        })
        .collect();
    // One test per (id, update), over all the update's rows for the product, in table order
    // (grouped in one pass: this runs for every host, several times).
    let mut index: HashMap<(&str, &str), usize> = HashMap::new();
    let mut groups: Vec<Vec<&Row>> = Vec::new();
    for r in rows {
        let at = *index
            .entry((r.id.as_str(), r.fixed_by.as_str()))
            .or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
        groups[at].push(r);
    }
    let mut out: Vec<Exposure> = Vec::new();
    for group in &groups {
        out.extend(judge(&host, group, catalog, as_of));
    }
    // The March 2021 SU for an unsupported CU: its ProxyLogon fix is in (KB5000871 is that
    // CU's Mar21SU), and the CVEs the advisory names are said once, as the advisory.
    if out.iter().any(|e| e.status == Status::Advisory) {
        let advised: BTreeSet<String> = out
            .iter()
            .filter(|e| e.status == Status::Advisory)
            .map(|e| e.cve.clone())
            .collect();
        out.retain(|e| {
            e.status == Status::Advisory
                || (e.fixed_by != MARCH_2021_SU && !advised.contains(&e.cve))
        });
    }
    out
}

/// The SU KB5000871 is for the unsupported CUs.
const MARCH_2021_SU: &str = "Mar21SU";

/// The host facts the judgement reads.
struct Host<'a> {
    build: Build,
    product: &'a str,
    /// The product's first release: a product released after an update needs no row of it.
    product_since: NaiveDate,
    cu: &'a str,
    cu_year: Option<u32>,
    /// The newest update of the host's CU at the analysis date.
    newest: Option<&'a Release>,
    /// The CUs the product still gets updates for.
    supported: Vec<&'a str>,
    edge: bool,
    os_build: &'a str,
    /// 0: not read.
    os_ubr: i64,
    dotnet_release: i64,
    /// SMBv3 compression disabled (CVE-2020-0796's workaround).
    smb_compression_off: bool,
    kbs: BTreeSet<String>,
    /// Extended Protection: `None` when not collected, else what keeps its CVEs open (`None`
    /// inside: properly secured).
    extended_protection: Option<Option<String>>,
}

impl<'a> Host<'a> {
    fn of(h: &'a HostView, catalog: &'a Catalog, as_of: NaiveDate) -> Option<Host<'a>> {
        let build = h.exsetup?;
        let product = catalog.product_of(&build)?;
        // The table names the products HealthChecker judges (2013 and later); its `any`
        // rows mean any of those, not Exchange 2010.
        if !catalog.cves.iter().any(|r| r.product == product.name) {
            return None;
        }
        let cu = catalog.cu_of(&build);
        Some(Host {
            build,
            product: &product.name,
            product_since: catalog
                .releases
                .iter()
                .filter(|r| r.product == product.name)
                .map(|r| r.date)
                .min()?,
            cu: cu.map_or("", |c| c.cu.as_str()),
            cu_year: cu.map(|c| c.date.year().rem_euclid(100) as u32),
            newest: cu.and_then(|c| catalog.newest_in_line(&c.product, &c.cu, as_of)),
            supported: catalog.supported_cus(&product.name, as_of),
            edge: h.is_edge(),
            os_build: h.facts.os_current_build.trim(),
            os_ubr: h.facts.os_ubr,
            dotnet_release: h.facts.dotnet_release,
            smb_compression_off: h
                .setting(
                    r"HKLM\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters",
                    "DisableCompression",
                )
                .is_some_and(|s| s.reg_type == "REG_DWORD" && s.data == "1"),
            kbs: h
                .updates
                .iter()
                .map(|u| u.kb.to_ascii_uppercase())
                .collect(),
            extended_protection: crate::extended_protection::judge(h).map(|s| s.shortfall()),
        })
    }

    /// The product came out after the row's update: its builds all carry the fix.
    fn newer_than(&self, row: &Row, catalog: &Catalog) -> bool {
        row.product != "any"
            && catalog
                .update_date_any(&row.fixed_by)
                .is_some_and(|d| self.product_since > d)
    }

    /// What closes an update's fix on this host: the newest update of its CU when the CU got
    /// the fix, else a supported CU and its newest update.
    fn remedy(&self, fixed_by: &str, own_cu_has_it: bool) -> String {
        match (own_cu_has_it, self.newest) {
            (true, Some(n)) => format!(
                "install {} for {} ({}, {}), which carries {fixed_by}",
                n.name, self.cu, n.build, n.date
            ),
            _ => format!(
                "{} never got {fixed_by}: move to a supported CU of {} ({}) and its newest SU",
                if self.cu.is_empty() {
                    "this build"
                } else {
                    self.cu
                },
                self.product,
                if self.supported.is_empty() {
                    "none".to_string()
                } else {
                    self.supported.join(", ")
                }
            ),
        }
    }
}

/// Judges one (id, update) over its rows for the host's product (all of one class).
fn judge(host: &Host, rows: &[&Row], catalog: &Catalog, as_of: NaiveDate) -> Option<Exposure> {
    let first = rows.first()?;
    let exposure = |status, remedy: String| Exposure {
        cve: first.id.clone(),
        status,
        class: first.class,
        fixed_by: first.fixed_by.clone(),
        remedy,
        needs: first.needs.clone(),
    };
    let os_build: u32 = host.os_build.parse().unwrap_or(0);
    if first.os_unaffected_from > 0 && os_build >= first.os_unaffected_from {
        return None;
    }
    match first.class {
        Class::Ad => None,
        Class::Os => {
            let concerned = first
                .os_builds
                .split(',')
                .any(|b| !host.os_build.is_empty() && b.trim() == host.os_build);
            // An unread UBR (0) cannot say; the workaround closes the exposure.
            (concerned
                && host.os_ubr > 0
                && host.os_ubr < i64::from(first.min_ubr)
                && !host.smb_compression_off)
                .then(|| {
                    exposure(
                        Status::Open,
                        format!(
                            "Windows build {}.{} is below update revision {}: install {} (or set LanmanServer DisableCompression = 1 until then)",
                            host.os_build, host.os_ubr, first.min_ubr, first.fixed_by
                        ),
                    )
                })
        }
        Class::Advisory => {
            let on_base = rows
                .iter()
                .any(|r| Build::parse(&r.on_build) == Some(host.build));
            (on_base && host.kbs.contains(MARCH_2021_UNSUPPORTED_CU_KB)).then(|| {
                exposure(
                    Status::Advisory,
                    format!(
                        "{MARCH_2021_UNSUPPORTED_CU_KB} on the unsupported {} {} leaves it open: move to a supported CU and its newest SU",
                        host.product, host.cu
                    ),
                )
            })
        }
        Class::Su | Class::SuAd | Class::Setting => {
            // The SU table's updates older than the CU are included in it; the special checks
            // (Extended Protection, signing, ...) are not skipped so.
            if let (Class::Su | Class::SuAd, Some(update_year), Some(cu_year)) =
                (first.class, first.update_year(), host.cu_year)
            {
                if update_year < cu_year {
                    return None;
                }
            }
            if catalog
                .update_date(host.product, &first.fixed_by)
                .is_some_and(|d| d > as_of)
            {
                return None;
            }
            let applicable: Vec<&Row> = rows
                .iter()
                .copied()
                .filter(|r| r.applies_to(host.product))
                .collect();
            match below_fix(host, &applicable) {
                Some(own_cu_has_it) => Some(exposure(
                    Status::Open,
                    host.remedy(&first.fixed_by, own_cu_has_it),
                )),
                None if first.is_extended_protection() && host.extended_protection.is_some() => {
                    host.extended_protection.clone().flatten().map(|shortfall| {
                        exposure(
                            Status::Open,
                            format!(
                                "the build carries {}, but {shortfall}: set it as expected (ExchangeExtendedProtectionManagement.ps1, aka.ms/ExchangeEPDoc)",
                                first.fixed_by
                            ),
                        )
                    })
                }
                None if first.class == Class::Setting && !setting_closed(host, rows) => {
                    Some(exposure(
                        Status::Unverified,
                        format!(
                            "the build carries the fix; the evidence must show: {}",
                            first.needs
                        ),
                    ))
                }
                None => None,
            }
        }
    }
}

/// What the evidence already shows of a setting row: .NET 4.8.1 carries CVE-2020-1147's
/// fixed files; a Windows 10.0 build at or above the update revision that carries the fixed
/// `cachtokn.dll` has it (Windows cumulative updates carry every earlier fix).
fn setting_closed(host: &Host, rows: &[&Row]) -> bool {
    let dotnet = rows.iter().any(|r| {
        r.closed_from_dotnet_release > 0
            && host.dotnet_release >= i64::from(r.closed_from_dotnet_release)
    });
    let windows = rows.iter().any(|r| {
        r.min_ubr > 0
            && host.os_ubr > 0
            && r.os_builds.split(',').any(|b| b.trim() == host.os_build)
            && host.os_ubr >= i64::from(r.min_ubr)
    });
    dotnet || windows
}

/// HealthChecker's build test over the rows that give a build: `None` when the build carries
/// the fix, else whether the host's own CU got it.
fn below_fix(host: &Host, rows: &[&Row]) -> Option<bool> {
    let builds: Vec<(&Row, Build)> = rows
        .iter()
        .filter_map(|r| r.build().map(|b| (*r, b)))
        .collect();
    let highest = builds.iter().map(|(_, b)| *b).max()?;
    if host.build >= highest {
        return None;
    }
    match builds.iter().find(|(r, _)| r.cu == host.cu) {
        Some((_, own)) if host.build >= *own => None,
        Some(_) => Some(true),
        None => Some(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(build: &str) -> HostView {
        HostView {
            host: "EX1".into(),
            exsetup: Build::parse(build),
            ..Default::default()
        }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn ids(e: &[Exposure], status: Status) -> Vec<(String, String)> {
        e.iter()
            .filter(|x| x.status == status)
            .map(|x| (x.cve.clone(), x.fixed_by.clone()))
            .collect()
    }

    /// The reference's SU-table rows (the first 553 of `cve-builds.csv`, read here with
    /// polars, not through the catalog): a host on the row's CU just below its fixing build
    /// gets the CVE from that update, a host on the fixing build does not.
    #[test]
    fn every_su_table_row_of_the_cve_csv_opens_below_its_build_and_closes_at_it() {
        use polars::prelude::*;
        let csv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog/cve-builds.csv");
        let df = CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(csv))
            .unwrap()
            .finish()
            .unwrap();
        let col = |name: &str| -> Vec<String> {
            df.column(name)
                .unwrap()
                .str()
                .unwrap()
                .iter()
                .map(|v| v.unwrap_or("").to_string())
                .collect()
        };
        let (product, su, cve, fixed, notes) = (
            col("product"),
            col("fixed_by_su"),
            col("cve"),
            col("fixed_build"),
            col("notes"),
        );
        assert_eq!(df.height(), 759);
        let c = Catalog::embedded();
        let as_of = day(2099, 1, 1);
        let mut checked = (0, 0);
        for i in 0..553 {
            let at =
                Build::parse(&fixed[i]).unwrap_or_else(|| panic!("row {}: {}", i + 2, fixed[i]));
            let name = format!("Exchange {}", product[i].trim_start_matches("Exchange"));
            let key = (cve[i].clone(), su[i].clone());
            let open_at = |b: Build| {
                let h = HostView {
                    exsetup: Some(b),
                    ..Default::default()
                };
                assert_eq!(
                    c.product_of(&b).map(|p| p.name.as_str()),
                    Some(name.as_str())
                );
                ids(&of_host(&h, &c, as_of), Status::Open).contains(&key)
            };
            assert!(
                !open_at(at),
                "row {}: {key:?} open at its fixing build {at}",
                i + 2
            );
            checked.0 += 1;
            // A build just below the fix, on the same CU; where the SU's build is the CU's
            // base build (said in the notes), no build of the CU is without it.
            if notes[i].starts_with("SU build equals the CU base build") {
                continue;
            }
            let mut below = at;
            below.0[3] -= 1;
            assert!(open_at(below), "row {}: {key:?} not open at {below}", i + 2);
            checked.1 += 1;
        }
        assert_eq!(checked, (553, 547));
    }

    #[test]
    fn a_cve_under_two_updates_stays_open_until_both_are_installed() {
        let c = Catalog::embedded();
        // Exchange 2016 CU23 Feb23SU (15.1.2507.21): CVE-2023-21707 passes its Feb23SU test
        // and fails its Mar23SU one.
        let e = of_host(&host("15.1.2507.21"), &c, day(2026, 11, 24));
        let open = ids(&e, Status::Open);
        assert!(
            open.contains(&("CVE-2023-21707".into(), "Mar23SU".into())),
            "{open:?}"
        );
        assert!(!open.contains(&("CVE-2023-21707".into(), "Feb23SU".into())));
    }

    #[test]
    fn an_update_published_after_the_analysis_date_is_not_yet_known() {
        let c = Catalog::embedded();
        let dec25 = host("15.2.1748.42");
        let feb26 = ("CVE-2026-21527".to_string(), "Feb26SU".to_string());
        assert!(ids(&of_host(&dec25, &c, day(2026, 3, 1)), Status::Open).contains(&feb26));
        assert!(!ids(&of_host(&dec25, &c, day(2026, 1, 1)), Status::Open).contains(&feb26));
    }

    #[test]
    fn the_remedy_is_the_newest_update_of_the_cu_or_a_supported_cu() {
        let c = Catalog::embedded();
        // Exchange 2019 CU13 got no Feb26SU.
        let e = of_host(&host("15.2.1258.39"), &c, day(2026, 11, 24));
        let x = e.iter().find(|x| x.fixed_by == "Feb26SU").unwrap();
        assert_eq!(x.status, Status::Open);
        assert_eq!(
            x.remedy,
            "CU13 never got Feb26SU: move to a supported CU of Exchange 2019 (CU14, CU15) and its newest SU"
        );
        // A CU that got the update: its newest update, which carries it.
        let e = of_host(&host("15.2.1748.42"), &c, day(2026, 11, 24));
        let x = e.iter().find(|x| x.fixed_by == "Feb26SU").unwrap();
        assert_eq!(
            x.remedy,
            "install Aug26SU for CU15 (15.2.1748.49, 2026-08-11), which carries Feb26SU"
        );
    }

    /// Without applicationHost.config (the view has no location nor vdir), Extended
    /// Protection stays unverified on a capable build; below that build the build test
    /// opens it whatever the configuration.
    #[test]
    fn extended_protection_is_unverified_on_a_capable_build_and_open_below_it() {
        let c = Catalog::embedded();
        let ep = "CVE-2022-24516";
        let e = of_host(&host("15.2.1748.49"), &c, day(2026, 11, 24));
        let x = e.iter().find(|x| x.cve == ep).unwrap();
        assert_eq!(x.status, Status::Unverified);
        assert!(x.needs.contains("Extended Protection"));
        // Exchange 2019 CU12 below its Aug22SU build: not EP-capable.
        let e = of_host(&host("15.2.1118.9"), &c, day(2026, 11, 24));
        assert_eq!(e.iter().find(|x| x.cve == ep).unwrap().status, Status::Open);
    }

    /// With applicationHost.config collected, the group is judged from it: every EP CVE
    /// open when a vdir is not properly secured or Lsa suppresses EP, none when all is set.
    #[test]
    fn extended_protection_is_judged_from_the_configuration_when_collected() {
        use crate::extended_protection::EXPECTED;
        let c = Catalog::embedded();
        let group = [
            "CVE-2022-24516",
            "CVE-2022-21979",
            "CVE-2022-21980",
            "CVE-2022-24477",
            "CVE-2022-30134",
            "CVE-2024-21410",
        ];
        let mut h = host("15.2.1748.49");
        h.iis_locations = EXPECTED
            .iter()
            .map(|(site, vdir, token)| exfleet_dataset::IisLocationRow {
                path: format!("{site}/{vdir}"),
                token_checking: token.to_string(),
                ..Default::default()
            })
            .collect();
        let ep = |h: &HostView| -> Vec<(String, Status)> {
            of_host(h, &c, day(2026, 11, 24))
                .into_iter()
                .filter(|x| group.contains(&x.cve.as_str()))
                .map(|x| (x.cve, x.status))
                .collect()
        };
        assert_eq!(ep(&h), Vec::new(), "properly secured: closed");
        h.settings.push(crate::view::test_settings::lsa_suppress(1));
        let open = ep(&h);
        assert_eq!(open.len(), group.len());
        assert!(open.iter().all(|(_, s)| *s == Status::Open));
        h.settings.clear();
        h.iis_locations[2].token_checking = "None".into();
        let e = of_host(&h, &c, day(2026, 11, 24));
        let x = e.iter().find(|x| x.cve == "CVE-2024-21410").unwrap();
        assert_eq!(x.status, Status::Open);
        assert!(
            x.remedy
                .contains("Default Web Site/ECP is None, expected Require"),
            "{}",
            x.remedy
        );
    }

    #[test]
    fn the_token_cache_module_waits_on_evidence_except_on_windows_server_2025() {
        let c = Catalog::embedded();
        let mut h = host("15.2.2562.46");
        let token_cache = |h: &HostView| {
            of_host(h, &c, day(2026, 11, 24))
                .iter()
                .find(|x| x.cve == "CVE-2023-36434")
                .map(|x| x.status)
        };
        h.facts.os_current_build = "20348".into();
        assert_eq!(token_cache(&h), Some(Status::Unverified));
        // A Windows build no row names: the module counts as vulnerable until shown.
        h.facts.os_current_build = "18363".into();
        assert_eq!(token_cache(&h), Some(Status::Unverified));
        h.facts.os_current_build = "26100".into();
        assert_eq!(token_cache(&h), None);
    }

    #[test]
    fn evidence_already_collected_closes_what_it_can() {
        let c = Catalog::embedded();
        let mut h = host("15.2.2562.46");
        h.facts.os_current_build = "20348".into();
        let status = |h: &HostView, cve: &str| {
            of_host(h, &c, day(2026, 11, 24))
                .iter()
                .find(|x| x.cve == cve)
                .map(|x| x.status)
        };
        h.facts.dotnet_release = 528040;
        h.facts.os_ubr = 2028;
        assert_eq!(status(&h, "CVE-2020-1147"), Some(Status::Unverified));
        assert_eq!(status(&h, "CVE-2023-36434"), Some(Status::Unverified));
        // .NET 4.8.1 ships the fixed files; UBR 2029 carries the fixed cachtokn.dll.
        h.facts.dotnet_release = 533320;
        h.facts.os_ubr = 2029;
        assert_eq!(status(&h, "CVE-2020-1147"), None);
        assert_eq!(status(&h, "CVE-2023-36434"), None);
        // The Exchange-side id of the same issue is not reported twice.
        h.facts.os_ubr = 1;
        assert_eq!(status(&h, "CVE-2023-36434"), Some(Status::Unverified));
        assert_eq!(status(&h, "CVE-2023-21709"), None);
        // SE came out after Mar24SU: ADV24199947's build part passes, its file must be shown.
        assert_eq!(status(&h, "ADV24199947"), Some(Status::Unverified));
    }

    #[test]
    fn an_edge_server_is_judged_on_the_su_table_only() {
        let c = Catalog::embedded();
        let mut h = host("15.2.1748.42");
        h.roles.push(exfleet_dataset::BuildRow {
            source: "role:EdgeTransportRole".into(),
            ..Default::default()
        });
        let e = of_host(&h, &c, day(2026, 11, 24));
        assert!(e.iter().any(|x| x.cve == "CVE-2026-21527"));
        assert!(
            e.iter().all(|x| matches!(x.class, Class::Su | Class::SuAd)),
            "{e:?}"
        );
    }

    #[test]
    fn the_windows_build_decides_cve_2020_0796() {
        let c = Catalog::embedded();
        let mut h = host("15.2.1748.49");
        h.facts.os_current_build = "18363".into();
        h.facts.os_ubr = 719;
        let open = |h: &HostView| {
            of_host(h, &c, day(2026, 11, 24))
                .iter()
                .any(|x| x.cve == "CVE-2020-0796" && x.status == Status::Open)
        };
        assert!(open(&h));
        h.facts.os_ubr = 720;
        assert!(!open(&h));
        h.facts.os_current_build = "17763".into();
        h.facts.os_ubr = 1;
        assert!(!open(&h));
        // Not read: not judged.
        h.facts.os_current_build = String::new();
        assert!(!open(&h));
        h.facts.os_current_build = "18363".into();
        h.facts.os_ubr = 0;
        assert!(!open(&h));
        // The workaround in place: HealthChecker's Yellow, not an open CVE.
        h.facts.os_ubr = 719;
        h.settings.push(exfleet_dataset::SettingRow {
            reg_key: r"HKLM\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters".into(),
            name: "DisableCompression".into(),
            reg_type: "REG_DWORD".into(),
            data: "1".into(),
            ..Default::default()
        });
        assert!(!open(&h));
    }

    #[test]
    fn the_march_2021_su_on_an_unsupported_cu_base_is_an_advisory() {
        let c = Catalog::embedded();
        let mut h = host("15.1.1415.2");
        assert!(ids(&of_host(&h, &c, day(2026, 11, 24)), Status::Advisory).is_empty());
        h.updates.push(exfleet_dataset::UpdateRow {
            kb: "KB5000871".into(),
            ..Default::default()
        });
        let e = of_host(&h, &c, day(2026, 11, 24));
        let adv = ids(&e, Status::Advisory);
        assert!(
            adv.contains(&("CVE-2018-0924".into(), "KB4073392".into())),
            "{adv:?}"
        );
        // KB5000871 is that CU's Mar21SU: ProxyLogon is not open; the advisory's CVEs are said
        // once, as the advisory.
        let open = ids(&e, Status::Open);
        assert!(!open.iter().any(|(_, su)| su == "Mar21SU"), "{open:?}");
        assert!(
            !open
                .iter()
                .any(|(cve, _)| adv.iter().any(|(a, _)| a == cve)),
            "{open:?}"
        );
        // Another build of the same CU: not the base build HealthChecker tests.
        h.exsetup = Build::parse("15.1.1415.4");
        assert!(ids(&of_host(&h, &c, day(2026, 11, 24)), Status::Advisory).is_empty());
    }

    #[test]
    fn active_directory_rows_are_never_judged_and_exchange_2010_is_not_in_the_table() {
        let c = Catalog::embedded();
        let e = of_host(&host("15.0.1497.2"), &c, day(2026, 11, 24));
        assert!(!e
            .iter()
            .any(|x| x.cve == "CVE-2021-1730" || x.cve == "CVE-2022-21978"));
        assert!(of_host(&host("14.3.513.0"), &c, day(2026, 11, 24)).is_empty());
    }
}
