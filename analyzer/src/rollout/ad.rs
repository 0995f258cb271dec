//! Active Directory preparation, a fleet-level line of the plan: the levels the target CU
//! needs (data: `analyzer/catalog/ad-levels.toml`) against what the setup logs of any host
//! recorded. A setup run that completed, or whose prerequisite check logged the schema,
//! organization and domain "Update Required Status" all `False`, shows AD prepared at least
//! to the levels of the build it installed. Nothing here reads AD: with no such run the
//! answer is "unknown", never a guess.

use serde::{Deserialize, Serialize};

use crate::catalog::{Build, Catalog, Release};
use crate::rules::utc;
use crate::view::HostView;
use exfleet_proto::v1::setup_run::Outcome;

/// The embedded level table.
pub const EMBEDDED: &str = include_str!("../../catalog/ad-levels.toml");

/// The three AD values a CU needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Levels {
    /// Schema `ms-Exch-Schema-Version-Pt` rangeUpper.
    pub schema: u32,
    /// Microsoft Exchange System Objects container objectVersion (per domain).
    pub meso: u32,
    /// Organization container objectVersion.
    pub org: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct Entry {
    product: String,
    cus: Vec<String>,
    #[serde(default)]
    update: String,
    schema: u32,
    meso: u32,
    org: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct File {
    as_of: chrono::NaiveDate,
    level: Vec<Entry>,
}

/// The level table.
#[derive(Debug)]
pub struct Table {
    /// When the table was last checked against its source.
    pub as_of: chrono::NaiveDate,
    levels: Vec<Entry>,
}

impl Table {
    /// The table shipped with exfleet.
    pub fn embedded() -> Table {
        let f: File = toml::from_str(EMBEDDED).expect("the embedded AD level table is valid");
        Table {
            as_of: f.as_of,
            levels: f.level,
        }
    }

    /// The levels a release needs: the entry of its exact update when there is one, else
    /// the entry of its CU.
    pub fn needs(&self, r: &Release) -> Option<Levels> {
        let of_cu = |e: &&Entry| e.product == r.product && e.cus.contains(&r.cu);
        self.levels
            .iter()
            .filter(of_cu)
            .find(|e| !e.update.is_empty() && e.update == r.name)
            .or_else(|| {
                self.levels
                    .iter()
                    .filter(of_cu)
                    .find(|e| e.update.is_empty())
            })
            .map(|e| Levels {
                schema: e.schema,
                meso: e.meso,
                org: e.org,
            })
    }
}

/// What a setup log recorded about AD.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    /// The host whose log it is.
    pub host: String,
    /// The build the run installed.
    pub build: String,
    /// The levels that build needs.
    pub levels: Levels,
    /// What the run shows: completed, or the status lines.
    pub how: String,
    /// Where: the log and line.
    pub provenance: String,
    /// For a run that logged an update required: the preparation it needed (`/PrepareSchema`,
    /// `/PrepareAD` or `/PrepareDomain`, the first that applies); empty for a run that shows AD
    /// prepared to `levels`.
    pub required: String,
    /// When the run started (UTC ms).
    pub started_at_ms: i64,
}

/// The plan's AD line.
#[derive(Debug, Clone, Serialize)]
pub struct AdLine {
    /// `prepared`, `needs /PrepareSchema`, `needs /PrepareAD`, `needs /PrepareDomain`,
    /// `unknown`, `not judged` (a target whose levels the table does not list), or `not
    /// needed` (no server moves to a build that needs more than the one it runs).
    pub status: String,
    /// The target's levels.
    pub needs: Option<Levels>,
    /// The run the status rests on.
    pub recorded: Option<Recorded>,
    /// One sentence for people.
    pub text: String,
}

/// What the setup runs of `hosts` recorded about AD: each run that shows AD prepared to the
/// levels of the build it installed (it completed, or its prerequisite check logged the
/// schema, organization and domain "Update Required Status" all `False`), and each that
/// logged one of them `True` (the last line of each in the run decides).
pub fn recorded(hosts: &[HostView], catalog: &Catalog, table: &Table) -> Vec<Recorded> {
    let mut out = Vec::new();
    for h in hosts {
        for run in &h.runs {
            let Some(build) = Build::parse(&run.setup_version) else {
                continue;
            };
            let Some(release) = catalog.exact(&build).or_else(|| catalog.cu_of(&build)) else {
                continue;
            };
            let Some(levels) = table.needs(release) else {
                continue;
            };
            let status = |what: &str| {
                run.lines
                    .iter()
                    .rev()
                    .find(|l| l.text.starts_with(what) && l.text.contains("Update Required Status"))
            };
            let statuses = [
                (status("Schema Update"), "/PrepareSchema"),
                (status("Organization Configuration Update"), "/PrepareAD"),
                (status("Domain Configuration Update"), "/PrepareDomain"),
            ];
            let is_true = |l: &&exfleet_dataset::SetupLineRow| l.text.contains("'True'");
            let all_false = statuses
                .iter()
                .all(|(s, _)| s.is_some_and(|l| l.text.contains("'False'")));
            let first_true = statuses
                .iter()
                .find_map(|(s, what)| s.filter(is_true).map(|l| (l, *what)));
            let (how, line, required) = if run.outcome == Outcome::Succeeded {
                (
                    format!("setup of {build} completed {}", utc(run.ended_at_ms)),
                    run.end_line,
                    "",
                )
            } else if all_false {
                (
                    format!(
                        "setup of {build} logged no schema, organization or domain update required {}",
                        utc(run.started_at_ms)
                    ),
                    statuses[0].0.map_or(run.start_line, |l| l.line),
                    "",
                )
            } else if let Some((l, what)) = first_true {
                (
                    format!(
                        "setup of {build} logged \"{}\" {} and did not complete",
                        l.text.trim(),
                        utc(run.started_at_ms)
                    ),
                    l.line,
                    what,
                )
            } else {
                continue;
            };
            out.push(Recorded {
                host: h.host.clone(),
                build: build.to_string(),
                levels,
                how,
                provenance: crate::rules::line_of(&run.provenance, line),
                required: required.to_string(),
                started_at_ms: run.started_at_ms,
            });
        }
    }
    out
}

/// Whether a target needing `target` asks more of AD than a host's current CU, needing
/// `current` (unknown: it may).
pub fn raises(target: Option<Levels>, current: Option<Levels>) -> bool {
    match (target, current) {
        (Some(t), Some(c)) => !at_least(c, t),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// The line when no host moves to a build that needs more preparation than the one it runs.
pub fn not_needed() -> AdLine {
    AdLine {
        status: "not needed".into(),
        needs: None,
        recorded: None,
        text: "Active Directory preparation: not needed (no server moves to a build that needs more than the one it runs)".into(),
    }
}

fn at_least(have: Levels, need: Levels) -> bool {
    have.schema >= need.schema && have.org >= need.org && have.meso >= need.meso
}

/// The AD line for a target release (the highest CU the fleet moves to). AD prepared to the
/// target's levels by any run decides; else a run for the target (or a later build) that
/// logged a preparation required says which; else the highest levels recorded, compared;
/// else unknown.
pub fn line(target: Option<&Release>, recorded: Vec<Recorded>, table: &Table) -> AdLine {
    let needs = target.and_then(|t| table.needs(t));
    let Some(n) = needs else {
        return AdLine {
            status: "not judged".into(),
            needs: None,
            text: format!(
                "Active Directory preparation: not judged (the target's AD levels are not in the table, as of {})",
                table.as_of
            ),
            recorded: None,
        };
    };
    let target_name = target.map(Release::friendly).unwrap_or_default();
    let levels_text = |l: Levels| {
        format!(
            "schema {}, organization {}, domain {}",
            l.schema, l.org, l.meso
        )
    };
    let prepared = recorded
        .iter()
        .filter(|r| r.required.is_empty() && at_least(r.levels, n))
        .max_by_key(|r| r.started_at_ms);
    if let Some(r) = prepared {
        return AdLine {
            status: "prepared".into(),
            needs,
            text: format!(
                "Active Directory preparation for {target_name}: prepared ({} on {}, {})",
                r.how, r.host, r.provenance
            ),
            recorded: Some(r.clone()),
        };
    }
    let required = recorded
        .iter()
        .filter(|r| !r.required.is_empty() && at_least(r.levels, n))
        .max_by_key(|r| r.started_at_ms);
    if let Some(r) = required {
        return AdLine {
            status: format!("needs {}", r.required),
            needs,
            text: format!(
                "Active Directory preparation for {target_name} ({}): needs {} ({} on {}, {}); run it from a computer in the schema master's domain and site before the first server",
                levels_text(n),
                r.required,
                r.how,
                r.host,
                r.provenance
            ),
            recorded: Some(r.clone()),
        };
    }
    let best = recorded
        .iter()
        .filter(|r| r.required.is_empty())
        .max_by_key(|r| (r.levels.schema, r.levels.org, r.levels.meso));
    let Some(r) = best else {
        return AdLine {
            status: "unknown".into(),
            needs,
            recorded: None,
            text: format!(
                "Active Directory preparation for {target_name} ({}): unknown, no setup log recorded it; run SetupAssist or check the values in AD before setup",
                levels_text(n)
            ),
        };
    };
    let have = r.levels;
    let status = if have.schema < n.schema {
        "needs /PrepareSchema"
    } else if have.org < n.org {
        "needs /PrepareAD"
    } else {
        "needs /PrepareDomain"
    };
    AdLine {
        status: status.into(),
        needs,
        text: format!(
            "Active Directory preparation for {target_name}: {status} (needs {}; the newest a setup log recorded is {}: {} on {}, {}); run it from a computer in the schema master's domain and site before the first server",
            levels_text(n),
            levels_text(have),
            r.how,
            r.host,
            r.provenance
        ),
        recorded: Some(r.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_runs_record_prepared_levels_or_the_preparation_they_needed() {
        use crate::view::Run;
        use exfleet_dataset::{SetupLineRow, SetupRunRow};
        let c = Catalog::embedded();
        let t = Table::embedded();
        let line_row = |n: i64, text: &str| SetupLineRow {
            line: n,
            text: text.into(),
            ..Default::default()
        };
        let run = |version: &str, outcome: Outcome, lines: Vec<SetupLineRow>| Run {
            run: SetupRunRow {
                setup_version: version.into(),
                outcome,
                provenance: "ExchangeSetupLogs/ExchangeSetup.log:1".into(),
                end_line: 900,
                ..Default::default()
            },
            lines,
        };
        let host = |name: &str, runs: Vec<Run>| HostView {
            host: name.into(),
            runs,
            ..Default::default()
        };
        let hosts = [
            host(
                "EX1",
                vec![run("15.02.1544.004", Outcome::Succeeded, vec![])],
            ),
            host(
                "EX2",
                vec![run(
                    "15.02.1748.010",
                    Outcome::Failed,
                    vec![
                        line_row(10, "Schema Update Required Status : 'False'."),
                        line_row(
                            11,
                            "Organization Configuration Update Required Status : 'True'.",
                        ),
                        line_row(12, "Domain Configuration Update Required Status : 'True'."),
                    ],
                )],
            ),
        ];
        let rec = recorded(&hosts, &c, &t);
        assert_eq!(rec.len(), 2);
        assert_eq!(rec[0].provenance, "ExchangeSetupLogs/ExchangeSetup.log:900");
        assert_eq!(rec[1].required, "/PrepareAD");
        assert_eq!(rec[1].provenance, "ExchangeSetupLogs/ExchangeSetup.log:11");
        let cu15 = c.exact(&Build::parse("15.2.1748.49").unwrap()).unwrap();
        assert_eq!(line(Some(cu15), rec, &t).status, "needs /PrepareAD");
    }

    #[test]
    fn levels_follow_the_reference_table() {
        let c = Catalog::embedded();
        let t = Table::embedded();
        let r = |b: &str| c.exact(&Build::parse(b).unwrap()).unwrap();
        assert_eq!(
            t.needs(r("15.2.1748.10")),
            Some(Levels {
                schema: 17003,
                meso: 13243,
                org: 16763
            })
        );
        // May22SU on 2019 CU11 raised MESO by itself.
        assert_eq!(t.needs(r("15.2.986.26")).unwrap().meso, 13243);
        assert_eq!(t.needs(r("15.2.986.5")).unwrap().meso, 13242);
        assert_eq!(t.needs(r("15.1.2507.6")).unwrap().org, 16223);
        assert!(t.needs(r("14.3.513.0")).is_none());
    }

    #[test]
    fn every_entry_names_a_cu_of_the_catalog() {
        let c = Catalog::embedded();
        for e in &Table::embedded().levels {
            for cu in &e.cus {
                assert!(
                    c.releases.iter().any(|r| r.product == e.product
                        && r.cu == *cu
                        && (e.update.is_empty() || r.name == e.update)),
                    "{} {cu} {}",
                    e.product,
                    e.update
                );
            }
        }
    }

    #[test]
    fn a_lower_org_level_needs_prepare_ad_and_none_recorded_is_unknown() {
        let c = Catalog::embedded();
        let t = Table::embedded();
        let cu15 = c.exact(&Build::parse("15.2.1748.10").unwrap()).unwrap();
        let cu14 = c.exact(&Build::parse("15.2.1544.4").unwrap()).unwrap();
        let rec = Recorded {
            host: "EX1".into(),
            build: cu14.build.to_string(),
            levels: t.needs(cu14).unwrap(),
            how: "setup completed".into(),
            provenance: "ExchangeSetup.log:9".into(),
            required: String::new(),
            started_at_ms: 1,
        };
        let l = line(Some(cu15), vec![rec.clone()], &t);
        assert_eq!(l.status, "needs /PrepareAD");
        assert!(l.text.contains("EX1"), "{}", l.text);
        assert_eq!(line(Some(cu14), vec![rec.clone()], &t).status, "prepared");
        assert_eq!(line(Some(cu15), vec![], &t).status, "unknown");
        // A run of CU15 itself that logged the schema update required says so.
        let failed = Recorded {
            host: "EX2".into(),
            build: cu15.build.to_string(),
            levels: t.needs(cu15).unwrap(),
            how: "setup logged ...".into(),
            provenance: "ExchangeSetup.log:40".into(),
            required: "/PrepareSchema".into(),
            started_at_ms: 2,
        };
        let l = line(Some(cu15), vec![rec, failed], &t);
        assert_eq!(l.status, "needs /PrepareSchema");
        assert!(l.text.contains("EX2"), "{}", l.text);
    }
}
