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
    /// The levels that build needs (AD is at least there).
    pub levels: Levels,
    /// Why the run shows it: completed, or the status lines.
    pub how: String,
    /// Where: the log and line.
    pub provenance: String,
}

/// The plan's AD line.
#[derive(Debug, Clone, Serialize)]
pub struct AdLine {
    /// `prepared`, `needs /PrepareSchema`, `needs /PrepareAD`, `needs /PrepareDomain`,
    /// `unknown`, or `not judged` (a target whose levels the table does not list).
    pub status: String,
    /// The target's levels.
    pub needs: Option<Levels>,
    /// The highest levels a setup log recorded, with the run that shows them.
    pub recorded: Option<Recorded>,
    /// One sentence for people.
    pub text: String,
}

/// The highest AD levels the setup runs of `hosts` show, and the run that shows them.
pub fn recorded(hosts: &[HostView], catalog: &Catalog, table: &Table) -> Option<Recorded> {
    let mut best: Option<Recorded> = None;
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
                    .find(|l| l.text.starts_with(what) && l.text.contains("Update Required Status"))
            };
            let statuses = [
                status("Schema Update"),
                status("Organization Configuration Update"),
                status("Domain Configuration Update"),
            ];
            let all_false = statuses
                .iter()
                .all(|s| s.is_some_and(|l| l.text.contains("'False'")));
            let (how, provenance) = if run.outcome == Outcome::Succeeded {
                (
                    format!("setup of {build} completed {}", utc(run.ended_at_ms)),
                    crate::rules::line_of(&run.provenance, run.end_line),
                )
            } else if all_false {
                let line = statuses[0].map_or(run.start_line, |l| l.line);
                (
                    format!(
                        "setup of {build} logged no schema, organization or domain update required {}",
                        utc(run.started_at_ms)
                    ),
                    crate::rules::line_of(&run.provenance, line),
                )
            } else {
                continue;
            };
            let higher = best.as_ref().is_none_or(|b| {
                (levels.schema, levels.org, levels.meso)
                    > (b.levels.schema, b.levels.org, b.levels.meso)
            });
            if higher {
                best = Some(Recorded {
                    host: h.host.clone(),
                    build: build.to_string(),
                    levels,
                    how,
                    provenance,
                });
            }
        }
    }
    best
}

/// The AD line for a target release (the CU the fleet moves to).
pub fn line(target: Option<&Release>, recorded: Option<Recorded>, table: &Table) -> AdLine {
    let needs = target.and_then(|t| table.needs(t));
    let Some(n) = needs else {
        return AdLine {
            status: "not judged".into(),
            needs: None,
            text: format!(
                "Active Directory preparation: not judged (the target's AD levels are not in the table, as of {})",
                table.as_of
            ),
            recorded,
        };
    };
    let target_name = target.map(Release::friendly).unwrap_or_default();
    let Some(r) = recorded else {
        return AdLine {
            status: "unknown".into(),
            needs,
            recorded: None,
            text: format!(
                "Active Directory preparation for {target_name} (schema {}, organization {}, domain {}): unknown, no setup log recorded it; run SetupAssist or check the values in AD before setup",
                n.schema, n.org, n.meso
            ),
        };
    };
    let have = r.levels;
    let status = if have.schema < n.schema {
        "needs /PrepareSchema"
    } else if have.org < n.org {
        "needs /PrepareAD"
    } else if have.meso < n.meso {
        "needs /PrepareDomain"
    } else {
        "prepared"
    };
    let text = if status == "prepared" {
        format!(
            "Active Directory preparation for {target_name}: prepared ({} on {}, {})",
            r.how, r.host, r.provenance
        )
    } else {
        format!(
            "Active Directory preparation for {target_name}: {status} (needs schema {}, organization {}, domain {}; the newest a setup log recorded is schema {}, organization {}, domain {}: {} on {}, {}); run it from a computer in the schema master's domain and site before the first server",
            n.schema, n.org, n.meso, have.schema, have.org, have.meso, r.how, r.host, r.provenance
        )
    };
    AdLine {
        status: status.into(),
        needs,
        recorded: Some(r),
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        };
        let l = line(Some(cu15), Some(rec.clone()), &t);
        assert_eq!(l.status, "needs /PrepareAD");
        assert!(l.text.contains("EX1"), "{}", l.text);
        assert_eq!(line(Some(cu14), Some(rec), &t).status, "prepared");
        assert_eq!(line(Some(cu15), None, &t).status, "unknown");
    }
}
