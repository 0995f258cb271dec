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
