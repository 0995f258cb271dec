//! Indicators of compromise (`ioc.*`): the matches the collector's indicator scans shipped
//! (collector/src/readers/ioc), judged as the reference (Microsoft's Test-ProxyLogon and its
//! CVE-2022-41040 hunting query) judges them, each finding citing its matches. The host rules
//! share [`Indicator`]; `ioc.aspx-outlier` and `ioc.shared-source` are fleet rules.

pub mod aspx_outlier;
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
    /// Catalog entry.
    pub doc: &'static str,
    /// `module_path!()` of the file that defines the value.
    pub module_path: &'static str,
}

impl Rule for Indicator {
    fn id(&self) -> &'static str {
        self.id
    }
    fn severity(&self) -> Severity {
        Severity::Critical
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
        let total: i64 = h
            .ioc_scans
            .iter()
            .filter(|s| self.kinds.contains(&s.indicator))
            .map(|s| s.matches)
            .sum::<i64>()
            .max(matches.len() as i64);
        let mut ev = Vec::new();
        let (first, last) = seen(&matches);
        if first != 0 {
            ev.push(Evidence::new(
                format!("first seen {}, last seen {}", utc(first), utc(last)),
                "",
            ));
        }
        ev.extend(correlation(h, cx, first));
        ev.extend(window(h, cx, self.cves));
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

/// Whether the server is inside the exposure window of the indicators' CVEs: still open to
/// them today (the CVE table, analyzer/CVE.md), or not open on its build (then the activity
/// began before the fix was installed, or it was an attempt against a fixed server).
pub fn window(h: &HostView, cx: &Context, cves: &[&str]) -> Vec<Evidence> {
    if cves.is_empty() || h.exsetup.is_none() {
        return Vec::new();
    }
    let open = crate::exposure::of_host(h, cx.catalog, cx.as_of);
    cves.iter()
        .map(|cve| match open.iter().find(|e| e.cve == *cve) {
            Some(e) => Evidence::new(
                format!(
                    "inside the exposure window of {cve}: the server is still {} to it (fixed by {})",
                    e.status.name(),
                    e.fixed_by
                ),
                &h.exsetup_provenance,
            ),
            None => Evidence::new(
                format!(
                    "not open to {cve} on the build it runs now, by the CVE table: the activity \
                     began before the fix was installed, or was an attempt against a fixed server"
                ),
                &h.exsetup_provenance,
            ),
        })
        .collect()
}

/// How the start of the activity relates to the host's updates: whether the host's build was
/// already behind the newest SU of its CU released by then (judged on the build it runs now:
/// a host updated since was further behind), and installed updates put on after it began.
pub fn correlation(h: &HostView, cx: &Context, first_ms: i64) -> Vec<Evidence> {
    let mut ev = Vec::new();
    let Some(began) = chrono::DateTime::from_timestamp_millis(first_ms).filter(|_| first_ms != 0)
    else {
        return ev;
    };
    let day = began.date_naive();
    if let Some(b) = h.exsetup {
        if let Some(current) = cx.catalog.exact(&b) {
            match cx
                .catalog
                .newest_in_line(&current.product, &current.cu, day)
            {
                Some(newest) if newest.build > b => ev.push(Evidence::new(
                    format!(
                        "behind on SUs when it began: the server runs {b} ({}), and {} {} \
                         was out since {}",
                        current.friendly(),
                        newest.name,
                        newest.build,
                        newest.date
                    ),
                    &h.exsetup_provenance,
                )),
                Some(_) => ev.push(Evidence::new(
                    format!(
                        "not behind on SUs when it began, as far as the build it runs now ({b}, {}) tells",
                        current.friendly()
                    ),
                    &h.exsetup_provenance,
                )),
                None => {}
            }
        }
    }
    for u in &h.updates {
        let parsed = ["%Y%m%d", "%m/%d/%Y", "%Y-%m-%d"]
            .iter()
            .find_map(|f| chrono::NaiveDate::parse_from_str(&u.installed_date, f).ok());
        let Some(d) = parsed else {
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
                .any(|x| x.starts_with("inside the exposure window of CVE-2021-26855")),
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
}
