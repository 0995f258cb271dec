//! Indicators of compromise (`ioc.*`): the matches the collector's indicator scans shipped
//! (collector/src/readers/ioc), judged as the reference (Microsoft's Test-ProxyLogon and its
//! CVE-2022-41040 hunting query) judges them, each finding citing its matches. The host rules
//! share [`Indicator`]; `ioc.aspx-outlier`, `ioc.aspx-uncompared`, `ioc.shared-source` and
//! `ioc.coverage-gap` are fleet rules.

pub mod aspx_outlier;
pub mod aspx_uncompared;
pub mod coverage_gap;
pub mod cve_2021_26855;
pub mod cve_2021_26857;
pub mod cve_2021_26858;
pub mod cve_2021_27065;
pub mod cve_2022_41040;
pub mod lsass_dump;
pub mod shared_source;
pub mod suspicious_archive;

use std::collections::BTreeSet;

use exfleet_dataset::IocMatchRow;
use exfleet_proto::kinds::IocKind;

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, first_of, utc, Context, Rule, Sink};
use crate::view::HostView;

/// Matches cited per finding; the rest are counted.
pub const MAX_CITED: usize = 20;

/// A host rule that reports the matches of some indicators.
pub struct Indicator {
    /// Finding id.
    pub id: &'static str,
    /// The indicators it reports.
    pub kinds: &'static [IocKind],
    /// The CVEs the indicators are of (empty: none, a file found).
    pub cves: &'static [&'static str],
    /// What the finding's title calls the activity.
    pub what: &'static str,
    /// Severity of a finding on a host with no log indicator; critical when the host shows
    /// one (the same for a log indicator itself, which is one).
    pub alone: Severity,
    /// Catalog entry.
    pub doc: &'static str,
    /// `module_path!()` of the file that defines the value.
    pub module_path: &'static str,
}

/// Whether an indicator is a match in a log (or the event log), not a file found: the
/// evidence of activity, and of when it happened.
pub fn is_log(kind: &IocKind) -> bool {
    !matches!(
        kind,
        IocKind::LsassDump | IocKind::SuspiciousArchive | IocKind::AspxFile
    )
}

/// Whether a match's time dates activity: a log record's time, or an LSASS dump's write (a
/// dump is made by whoever holds the server). An archive's write time is no evidence of when
/// an attack began (anyone's backup, copied or restored with any time), nor is a web folder file's.
pub fn dates(kind: &IocKind) -> bool {
    !matches!(kind, IocKind::SuspiciousArchive | IocKind::AspxFile)
}

/// The matches that date a compromise of the host: its log matches and LSASS dumps; never
/// its archives (listed with their times, not a start) nor its web-folder inventory.
pub fn compromise_matches(h: &HostView) -> Vec<&IocMatchRow> {
    h.ioc_matches
        .iter()
        .filter(|m| dates(&m.indicator))
        .collect()
}

impl Rule for Indicator {
    fn id(&self) -> &'static str {
        self.id
    }
    fn severity(&self) -> Severity {
        self.alone
    }
    fn doc(&self) -> &'static str {
        self.doc
    }
    fn module_path(&self) -> &'static str {
        self.module_path
    }
    fn check(&self, h: &HostView, cx: &Context, out: &mut Sink) {
        let matches: Vec<&IocMatchRow> = h
            .ioc_matches
            .iter()
            .filter(|m| self.kinds.contains(&m.indicator))
            .collect();
        if matches.is_empty() {
            return;
        }
        let logged = h.ioc_matches.iter().any(|m| is_log(&m.indicator));
        let total: i64 = h
            .ioc_scans
            .iter()
            .filter(|s| self.kinds.contains(&s.indicator))
            .map(|s| s.matches)
            .sum::<i64>()
            .max(matches.len() as i64);
        let mut ev = Vec::new();
        let (first, last) = seen(&matches);
        // When it began: the rule's own matches when they date activity, else (archives) the
        // host's log matches and LSASS dumps.
        let began = if self.kinds.iter().all(dates) {
            first
        } else {
            seen(&compromise_matches(h)).0
        };
        if first != 0 && began == first {
            ev.push(Evidence::new(
                format!("first seen {}, last seen {}", utc(first), utc(last)),
                "",
            ));
        } else if first != 0 {
            ev.push(Evidence::new(
                format!(
                    "written between {} and {} (a write time, not when an attack began)",
                    utc(first),
                    utc(last)
                ),
                "",
            ));
            if began != 0 {
                ev.push(Evidence::new(
                    format!(
                        "the server's activity, by its log indicators and LSASS dumps, was \
                         first seen {}",
                        utc(began)
                    ),
                    "",
                ));
            }
        }
        if self.alone != Severity::Critical {
            ev.push(Evidence::new(
                if logged {
                    "critical: the server also shows an indicator in its logs".to_string()
                } else {
                    format!(
                        "{}: no indicator in the server's logs; the file alone does not show \
                         an attack, nor when one began",
                        self.alone.name()
                    )
                },
                "",
            ));
        }
        // The update state when the activity began: a file alone does not date an attack.
        if logged || self.alone == Severity::Critical {
            ev.extend(correlation(h, cx, began, self.cves));
        }
        ev.extend(matches.iter().take(MAX_CITED).map(|m| cite(m)));
        if total > MAX_CITED as i64 {
            ev.push(Evidence::new(
                format!("{} more matches not cited", total - MAX_CITED as i64),
                "",
            ));
        }
        let ips: Vec<String> = matches
            .iter()
            .map(|m| m.client_ip.clone())
            .filter(|ip| !ip.is_empty())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let from = if ips.is_empty() {
            String::new()
        } else {
            format!(" from {}", first_of(&ips, 3))
        };
        let title = format!("{} ({total} matches{from})", self.what);
        let mut f = self.finding(h, title, ev, &action_of(self.doc));
        if logged {
            f.severity = Severity::Critical;
        }
        f.signature = self.id.to_string();
        out.push(f);
    }
}

/// The first and last time of the matches (0 when none has a time).
pub fn seen(matches: &[&IocMatchRow]) -> (i64, i64) {
    let times: Vec<i64> = matches
        .iter()
        .map(|m| m.time_ms)
        .filter(|t| *t != 0)
        .collect();
    (
        times.iter().copied().min().unwrap_or(0),
        times.iter().copied().max().unwrap_or(0),
    )
}

/// One match as evidence: what and where, with its fields.
pub fn cite(m: &IocMatchRow) -> Evidence {
    let mut parts = Vec::new();
    if m.time_ms != 0 {
        parts.push(utc(m.time_ms));
    }
    for (name, v) in [
        ("client", &m.client_ip),
        ("user", &m.user),
        ("url", &m.url),
        ("status", &m.status),
        ("sha256", &m.sha256),
    ] {
        if !v.is_empty() {
            parts.push(format!("{name} {v}"));
        }
    }
    if !m.detail.is_empty() {
        parts.push(m.detail.clone());
    }
    Evidence::new(parts.join("; "), &m.provenance)
}

/// How the start of the activity (`first_ms`) relates to the host's updates, judged on the
/// build the host ran then: that of its last snapshot collected at or before it (none: the
/// state then is unknown, never guessed from today's build). Behind = an update of that
/// build's CU line released (catalog date) before then that the build did not carry. Inside
/// the exposure window of a CVE = that build was below the CVE's fix (the CVE table, as the
/// reference's "build below the fixing SU until its install date"). Then the CVEs the host
/// is still open to today, and the updates installed after the activity began.
pub fn correlation(h: &HostView, cx: &Context, first_ms: i64, cves: &[&str]) -> Vec<Evidence> {
    let mut ev = Vec::new();
    let Some(began) = chrono::DateTime::from_timestamp_millis(first_ms).filter(|_| first_ms != 0)
    else {
        return ev;
    };
    let day = began.date_naive();
    let (then, note) = build_then(h, cx, first_ms, day);
    let changed = note.is_some() && then.is_none();
    ev.extend(note);
    match &then {
        None if changed => {}
        None => {
            let oldest = h
                .build_history
                .first()
                .map(|b| b.collected_at_ms)
                .unwrap_or(h.collected_at_ms);
            ev.push(Evidence::new(
                format!(
                    "update state when it began unknown: no snapshot of the server was \
                     collected at or before {} (the oldest is of {}), so the build it ran then \
                     is not known",
                    utc(first_ms),
                    utc(oldest)
                ),
                "",
            ));
        }
        Some(at) => match at.build {
            None => ev.push(Evidence::new(
                format!(
                    "update state when it began unknown: the snapshot of {} before it did not \
                     read ExSetup's build",
                    utc(at.collected_at_ms)
                ),
                format!("snapshot {}", at.snapshot_id),
            )),
            Some(b) => ev.push(behind_then(cx, b, day, at)),
        },
    }
    for cve in cves {
        let fact = match then.as_ref().and_then(|at| at.build.map(|b| (b, at))) {
            None => format!(
                "whether it began inside the exposure window of {cve} is unknown: the build \
                 then is not known"
            ),
            Some((b, at)) => {
                // The updates it had then (the March 2021 SU of an unsupported CU is known by
                // its KB): those installed before the day it began.
                let past = HostView {
                    host: h.host.clone(),
                    exsetup: Some(b),
                    facts: h.facts.clone(),
                    updates: h
                        .updates
                        .iter()
                        .filter(|u| installed_on(u).is_some_and(|d| d < day))
                        .cloned()
                        .collect(),
                    ..Default::default()
                };
                match crate::exposure::of_host(&past, cx.catalog, cx.as_of)
                    .into_iter()
                    .find(|e| e.cve == *cve)
                {
                    Some(e) => format!(
                        "began inside the exposure window of {cve}: {b}, run at the snapshot \
                         of {}, was {} to it (fixed by {})",
                        utc(at.collected_at_ms),
                        e.status.name(),
                        e.fixed_by
                    ),
                    None => format!(
                        "began outside the exposure window of {cve}: {b}, run at the snapshot \
                         of {}, carried its fix (an attempt against a fixed server)",
                        utc(at.collected_at_ms)
                    ),
                }
            }
        };
        let provenance = then
            .as_ref()
            .map(|at| format!("snapshot {}", at.snapshot_id))
            .unwrap_or_default();
        ev.push(Evidence::new(fact, &provenance));
    }
    if !cves.is_empty() && h.exsetup.is_some() {
        let open = crate::exposure::of_host(h, cx.catalog, cx.as_of);
        for e in open.iter().filter(|e| cves.contains(&e.cve.as_str())) {
            ev.push(Evidence::new(
                format!(
                    "still {} to {} today on {} (fixed by {})",
                    e.status.name(),
                    e.cve,
                    h.exsetup.map(|b| b.to_string()).unwrap_or_default(),
                    e.fixed_by
                ),
                &h.exsetup_provenance,
            ));
        }
    }
    for u in &h.updates {
        let Some(d) = installed_on(u) else {
            continue;
        };
        if d >= day {
            ev.push(Evidence::new(
                format!(
                    "{} {} installed on {d}, after the activity began",
                    u.kb, u.package_name
                ),
                &u.provenance,
            ));
        }
    }
    ev
}

/// The build the host ran at `t_ms` (on `day`): that of its last snapshot at or before then,
/// unless the next snapshot shows another build: then the change is placed by that build's
/// KB InstalledDate (before `day`: the new build; after: the old one; the same day or no
/// date: unknown, said in the note, with no build). The note says how a change was placed.
pub fn build_then(
    h: &HostView,
    cx: &Context,
    t_ms: i64,
    day: chrono::NaiveDate,
) -> (Option<crate::view::BuildAt>, Option<Evidence>) {
    let then = h.build_at(t_ms);
    let Some(at) = then.as_ref() else {
        return (then, None);
    };
    let Some(next) = h
        .build_history
        .iter()
        .filter(|b| b.collected_at_ms > t_ms)
        .min_by_key(|b| b.collected_at_ms)
    else {
        return (then, None);
    };
    let (Some(old), Some(new)) = (at.build, next.build) else {
        return (then, None);
    };
    if old == new {
        return (then, None);
    }
    let kb = cx.catalog.exact(&new).map(|r| r.kb.as_str()).unwrap_or("");
    let installed = h
        .updates
        .iter()
        .filter(|u| !kb.is_empty() && u.kb.eq_ignore_ascii_case(kb))
        .find_map(|u| installed_on(u).map(|d| (d, u)));
    let between = format!(
        "the build changed between the snapshot of {} ({old}) and that of {} ({new})",
        utc(at.collected_at_ms),
        utc(next.collected_at_ms)
    );
    match installed {
        Some((d, u)) if d < day => (
            Some(next.clone()),
            Some(Evidence::new(
                format!("{between}: {kb} installed on {d}, before it began: it ran {new}"),
                &u.provenance,
            )),
        ),
        Some((d, u)) if d > day => (
            then,
            Some(Evidence::new(
                format!("{between}: {kb} installed on {d}, after it began: it ran {old}"),
                &u.provenance,
            )),
        ),
        Some((d, u)) => (
            None,
            Some(Evidence::new(
                format!(
                    "update state when it began unknown: {between}; {kb} was installed on {d}, \
                     the day it began"
                ),
                &u.provenance,
            )),
        ),
        None => (
            None,
            Some(Evidence::new(
                format!(
                    "update state when it began unknown: {between}, when is unknown (no \
                     InstalledDate of {})",
                    if kb.is_empty() { "its SU" } else { kb }
                ),
                format!("snapshot {}", next.snapshot_id),
            )),
        ),
    }
}

/// The day an update was installed, as the Updates key writes it.
pub fn installed_on(u: &exfleet_dataset::UpdateRow) -> Option<chrono::NaiveDate> {
    ["%Y%m%d", "%m/%d/%Y", "%Y-%m-%d"]
        .iter()
        .find_map(|f| chrono::NaiveDate::parse_from_str(&u.installed_date, f).ok())
}

/// Whether build `b`, run at snapshot `at`, was behind on the updates of its CU line released
/// before `day`.
fn behind_then(
    cx: &Context,
    b: crate::catalog::Build,
    day: chrono::NaiveDate,
    at: &crate::view::BuildAt,
) -> Evidence {
    let provenance = format!("snapshot {}", at.snapshot_id);
    let Some(release) = cx.catalog.exact(&b).or_else(|| cx.catalog.cu_of(&b)) else {
        return Evidence::new(
            format!(
                "update state when it began unknown: {b}, run at the snapshot of {}, is not \
                 in the build catalog",
                utc(at.collected_at_ms)
            ),
            &provenance,
        );
    };
    let missed = cx
        .catalog
        .line(&release.product, &release.cu)
        .into_iter()
        .filter(|r| r.date < day && r.build > b)
        .max_by_key(|r| (r.date, r.build));
    let fact = match missed {
        Some(newest) => format!(
            "behind on SUs when it began: it ran {b} ({} {}) at the snapshot of {}, and {} {} \
             of its line was out since {}",
            release.product,
            release.cu,
            utc(at.collected_at_ms),
            if newest.name.is_empty() {
                &newest.cu
            } else {
                &newest.name
            },
            newest.build,
            newest.date
        ),
        None => format!(
            "not behind on SUs when it began: it ran {b} ({} {}) at the snapshot of {}, and no \
             newer update of its line was out before then",
            release.product,
            release.cu,
            utc(at.collected_at_ms)
        ),
    };
    Evidence::new(fact, &provenance)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Build, Catalog};

    fn hit(n: i64, ip: &str) -> IocMatchRow {
        IocMatchRow {
            indicator: IocKind::Cve2021_26855,
            file: "HttpProxy/Owa/a.LOG".into(),
            line: 10 + n,
            time_ms: 1_614_700_000_000 + n * 60_000,
            client_ip: ip.into(),
            url: "/owa/auth/x.js".into(),
            status: "200".into(),
            detail: "AnchorMailbox=ServerInfo~a]@ex:444/ecp/y.ecp#".into(),
            provenance: format!("HttpProxy/Owa/a.LOG:{}", 10 + n),
            ..Default::default()
        }
    }

    #[test]
    fn a_finding_cites_its_matches_when_it_began_and_the_update_state_then() {
        let catalog = Catalog::embedded();
        let cx = Context {
            catalog: &catalog,
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        };
        let mut h = HostView {
            host: "EX01".into(),
            // Exchange 2019 CU8, before Mar21SU.
            exsetup: Build::parse("15.2.792.3"),
            exsetup_provenance: "Program Files/Microsoft/Exchange Server/V15/Bin/ExSetup.exe"
                .into(),
            ..Default::default()
        };
        let mut out = Sink::empty();
        cve_2021_26855::RULE.check(&h, &cx, &mut out);
        assert!(out.into_vec().is_empty(), "no match, no finding");
        h.ioc_matches = (0..25)
            .map(|n| {
                hit(
                    n,
                    if n == 0 {
                        "203.0.113.5"
                    } else {
                        "198.51.100.7"
                    },
                )
            })
            .collect();
        let mut out = Sink::empty();
        cve_2021_26855::RULE.check(&h, &cx, &mut out);
        let f = out.into_vec().pop().unwrap();
        assert_eq!(f.id, "ioc.cve-2021-26855");
        assert_eq!(f.severity, Severity::Critical);
        assert!(
            f.title
                .contains("25 matches from 198.51.100.7, 203.0.113.5"),
            "{}",
            f.title
        );
        let facts: Vec<&str> = f.evidence.iter().map(|e| e.fact.as_str()).collect();
        assert!(
            facts[0].starts_with(
                "first seen 2021-03-02 15:46:40 UTC, last seen 2021-03-02 16:10:40 UTC"
            ),
            "{facts:#?}"
        );
        assert!(
            facts
                .iter()
                .any(|x| x.starts_with("behind on SUs when it began")),
            "{facts:#?}"
        );
        assert!(
            facts
                .iter()
                .any(|x| x.starts_with("began inside the exposure window of CVE-2021-26855")),
            "{facts:#?}"
        );
        assert!(f
            .evidence
            .iter()
            .any(|e| e.provenance == "HttpProxy/Owa/a.LOG:10"));
        assert_eq!(
            f.evidence
                .iter()
                .filter(|e| e.provenance.starts_with("HttpProxy/"))
                .count(),
            MAX_CITED
        );
        assert!(facts.contains(&"5 more matches not cited"), "{facts:#?}");
        // Another indicator's rule is silent.
        let mut out = Sink::empty();
        cve_2021_26858::RULE.check(&h, &cx, &mut out);
        assert!(out.into_vec().is_empty());
    }

    fn at(day: &str, build: &str, id: &str) -> crate::view::BuildAt {
        let t = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis();
        crate::view::BuildAt {
            collected_at_ms: t,
            build: Build::parse(build),
            snapshot_id: id.into(),
        }
    }

    /// KB5000871, Mar21SU of Exchange 2019 CU8 (15.2.792.10), installed on `day`.
    fn mar21su(day: &str) -> exfleet_dataset::UpdateRow {
        exfleet_dataset::UpdateRow {
            kb: "KB5000871".into(),
            package_name: "Security Update for Exchange Server 2019 CU8".into(),
            installed_date: day.into(),
            provenance: "HKLM\\SOFTWARE\\Microsoft\\Updates".into(),
            ..Default::default()
        }
    }

    fn facts(f: &crate::finding::Finding) -> Vec<String> {
        f.evidence.iter().map(|e| e.fact.clone()).collect()
    }

    /// The evidence facts of the CVE-2021-26855 finding on `h`.
    fn facts_26855(h: &HostView, cx: &Context) -> Vec<String> {
        let mut out = Sink::empty();
        cve_2021_26855::RULE.check(h, cx, &mut out);
        facts(&out.into_vec().pop().unwrap())
    }

    #[test]
    fn the_update_state_when_it_began_is_that_of_the_build_run_then() {
        let catalog = Catalog::embedded();
        let cx = Context {
            catalog: &catalog,
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        };
        // Exchange 2019 CU8: 792.3 in February 2021, Mar21SU (792.10) installed in April,
        // after the activity began on 2021-03-02; today's build carries the fix.
        let mut h = HostView {
            host: "EX01".into(),
            exsetup: Build::parse("15.2.792.10"),
            collected_at_ms: at("2026-11-20", "15.2.792.10", "s3").collected_at_ms,
            snapshot_id: "s3".into(),
            build_history: vec![
                at("2021-02-20", "15.2.792.3", "s1"),
                at("2021-04-01", "15.2.792.10", "s2"),
                at("2026-11-20", "15.2.792.10", "s3"),
            ],
            // 2021-03-10, after Mar21SU's release (2021-03-02).
            ioc_matches: vec![IocMatchRow {
                time_ms: 1_615_370_000_000,
                ..hit(0, "203.0.113.5")
            }],
            updates: vec![mar21su("20210315")],
            ..Default::default()
        };
        let ev = facts_26855(&h, &cx);
        assert!(
            ev.iter().any(|x| x.starts_with(
                "the build changed between the snapshot of 2021-02-20 12:00:00 UTC (15.2.792.3) \
                 and that of 2021-04-01 12:00:00 UTC (15.2.792.10): KB5000871 installed on \
                 2021-03-15, after it began: it ran 15.2.792.3"
            )),
            "{ev:#?}"
        );
        let behind = ev
            .iter()
            .find(|x| x.starts_with("behind on SUs when it began"))
            .unwrap_or_else(|| panic!("{ev:#?}"));
        assert!(
            behind.contains("it ran 15.2.792.3")
                && behind.contains("Mar21SU 15.2.792.10")
                && behind.contains("2021-03-02"),
            "{behind}"
        );
        assert!(
            ev.iter()
                .any(|x| x
                    .starts_with("began inside the exposure window of CVE-2021-26855: 15.2.792.3")),
            "{ev:#?}"
        );
        assert!(!ev.iter().any(|x| x.starts_with("still open")), "{ev:#?}");
        // The SU installed before it began, after the stale snapshot: the new build.
        h.updates = vec![mar21su("20210305")];
        let ev = facts_26855(&h, &cx);
        assert!(
            ev.iter()
                .any(|x| x.ends_with("before it began: it ran 15.2.792.10")),
            "{ev:#?}"
        );
        assert!(
            ev.iter()
                .any(|x| x.starts_with("began outside the exposure window of CVE-2021-26855")),
            "{ev:#?}"
        );
        // No InstalledDate: the change is not placed, the state then unknown.
        h.updates.clear();
        let ev = facts_26855(&h, &cx);
        assert!(
            ev.iter().any(|x| x.starts_with(
                "update state when it began unknown: the build changed between the snapshot of \
                 2021-02-20 12:00:00 UTC (15.2.792.3) and that of 2021-04-01 12:00:00 UTC \
                 (15.2.792.10), when is unknown"
            )),
            "{ev:#?}"
        );
        assert!(!ev.iter().any(|x| x.contains("behind on SUs")), "{ev:#?}");
        h.updates = vec![mar21su("20210315")];
        // Begun before any snapshot: unknown, not guessed from today's build.
        h.build_history.remove(0);
        let ev = facts_26855(&h, &cx);
        assert!(
            ev.iter()
                .any(|x| x.starts_with("update state when it began unknown: no snapshot")),
            "{ev:#?}"
        );
        assert!(
            ev.iter().any(|x| x.starts_with(
                "whether it began inside the exposure window of CVE-2021-26855 is unknown"
            )),
            "{ev:#?}"
        );
        assert!(!ev.iter().any(|x| x.contains("behind on SUs")), "{ev:#?}");
        // Begun after the fix was installed: not behind, outside the window.
        h.build_history = vec![
            at("2021-02-20", "15.2.792.10", "s1"),
            at("2026-11-20", "15.2.792.10", "s3"),
        ];
        let ev = facts_26855(&h, &cx);
        assert!(
            ev.iter()
                .any(|x| x.starts_with("not behind on SUs when it began: it ran 15.2.792.10")),
            "{ev:#?}"
        );
        assert!(
            ev.iter()
                .any(|x| x.starts_with("began outside the exposure window of CVE-2021-26855")),
            "{ev:#?}"
        );
    }

    fn file(kind: IocKind, path: &str, ms: i64) -> IocMatchRow {
        IocMatchRow {
            indicator: kind,
            file: path.into(),
            time_ms: ms,
            url: path.into(),
            detail: "size 1024".into(),
            provenance: path.into(),
            ..Default::default()
        }
    }

    #[test]
    fn an_archive_is_critical_only_beside_a_log_indicator_and_dates_nothing_alone() {
        let catalog = Catalog::embedded();
        let cx = Context {
            catalog: &catalog,
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        };
        let zip = file(
            IocKind::SuspiciousArchive,
            "ProgramData/backup/logs.zip",
            1_600_000_000_000,
        );
        let dump = file(
            IocKind::LsassDump,
            "Windows/Temp/lsass.dmp",
            1_614_800_000_000,
        );
        let mut h = HostView {
            host: "EX01".into(),
            exsetup: Build::parse("15.2.792.3"),
            ioc_matches: vec![zip.clone()],
            ..Default::default()
        };
        let mut out = Sink::empty();
        suspicious_archive::RULE.check(&h, &cx, &mut out);
        let f = out.into_vec().pop().unwrap();
        assert_eq!(f.id, "ioc.suspicious-archive");
        assert_eq!(f.severity, Severity::Warning);
        assert!(
            !facts(&f).iter().any(|x| x.contains("when it began")),
            "{:#?}",
            facts(&f)
        );
        assert_eq!(
            compromise_matches(&h).len(),
            0,
            "an archive alone dates nothing"
        );
        // An LSASS dump is critical alone, and is no log indicator: the archive stays a warning.
        h.ioc_matches.push(dump);
        let mut out = Sink::empty();
        lsass_dump::RULE.check(&h, &cx, &mut out);
        assert_eq!(out.into_vec().pop().unwrap().severity, Severity::Critical);
        let mut out = Sink::empty();
        suspicious_archive::RULE.check(&h, &cx, &mut out);
        assert_eq!(out.into_vec().pop().unwrap().severity, Severity::Warning);
        // With a log indicator: critical, and its time counts.
        h.ioc_matches.push(hit(0, "203.0.113.5"));
        let mut out = Sink::empty();
        suspicious_archive::RULE.check(&h, &cx, &mut out);
        let f = out.into_vec().pop().unwrap();
        assert_eq!(f.severity, Severity::Critical);
        assert!(
            facts(&f)
                .iter()
                .any(|x| x.starts_with("critical: the server also shows an indicator")),
            "{:#?}",
            facts(&f)
        );
        // The start stays that of the log match and the dump: the archive (written months
        // before) is listed with its time, never the start.
        assert_eq!(seen(&compromise_matches(&h)).0, 1_614_700_000_000);
        let ev = facts(&f);
        assert!(
            ev.iter().any(|x| x.starts_with(
                "written between 2020-09-13 12:26:40 UTC and 2020-09-13 12:26:40 UTC"
            )),
            "{ev:#?}"
        );
        assert!(
            ev.iter()
                .any(|x| x.ends_with("first seen 2021-03-02 15:46:40 UTC")),
            "{ev:#?}"
        );
        // The update state at the log match (Feb21SU out since 2021-02-01), not at the
        // archive's write (nothing newer out then).
        assert!(
            ev.iter().any(
                |x| x.starts_with("behind on SUs when it began: it ran 15.2.792.3")
                    && x.contains("Feb21SU 15.2.792.5")
            ),
            "{ev:#?}"
        );
    }
}
