//! `config.customizations-overwritten`.

use std::collections::{BTreeMap, HashMap};

use polars::prelude::*;

use crate::finding::{Evidence, Finding, Severity};
use crate::rules::fleet::{Fleet, FleetRule};
use crate::rules::{action_of, utc, Context};

/// The catalog entry.
pub const DOC: &str = "## Detects
A customized web.config or SharedWebConfig.config that came back stock across an update: before the update the host's file differed from the stock file of its build, after it the file is the stock file of the new build, and it still is. The stock file of a build is the one (by SHA-256) that a strict majority of the hosts on that build have, when at least 3 hosts are on it; a file whose stock is unknown is not judged. Needs the history: a host's snapshots before and after the update.
## Evidence
The file, its hash and build before and after the update, with the snapshot times, and how many hosts share the stock file.
## Action
Re-apply the customization from your change record or backup (CUs and SUs replace these files; keep customizations in a script run after every update), then `iisreset`; check the settings the customization carried (forms-based authentication, upload limits, redirects).
## Source
Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): \"Customized OWA or .config files\" (a CU overwrites customized web.config and OWA files); exfleet's own fleet analysis (README.md, \"The analyzer\").";

/// `config.customizations-overwritten`; its catalog entry is [`DOC`].
pub struct CustomizationsOverwritten;

impl FleetRule for CustomizationsOverwritten {
    fn id(&self) -> &'static str {
        "config.customizations-overwritten"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, fleet: &Fleet, _: &Context, out: &mut Vec<Finding>) -> PolarsResult<()> {
        let files = super::files(fleet);
        let stock_of = super::stock(&files)?;
        let rows = files
            .sort(["host", "path", "collected_at_ms"], Default::default())
            .collect()?;
        let host = rows.column("host")?.str()?;
        let path = rows.column("path")?.str()?;
        let at = rows.column("collected_at_ms")?.i64()?;
        let sha = rows.column("sha256")?.str()?;
        let build = rows.column("build")?.str()?;
        let install = rows.column("install")?.str()?;
        let prov = rows.column("provenance")?.str()?;
        // (host, path) -> the evidence of the last loss, cleared when customized again.
        let mut lost: BTreeMap<(String, String), Vec<Evidence>> = BTreeMap::new();
        for i in 1..rows.height() {
            let (Some(h), Some(p)) = (host.get(i), path.get(i)) else {
                continue;
            };
            let key = (h.to_string(), p.to_string());
            let b = build.get(i).unwrap_or_default();
            let s = sha.get(i).unwrap_or_default();
            let d = install.get(i).unwrap_or_default();
            let stock_now = stock_of.get(&(p.to_string(), b.to_string(), d.to_string()));
            if stock_now.is_some_and(|(st, _)| st != s) {
                lost.remove(&key);
            }
            if host.get(i - 1) != Some(h) || path.get(i - 1) != Some(p) {
                continue;
            }
            let (pb, ps) = (
                build.get(i - 1).unwrap_or_default(),
                sha.get(i - 1).unwrap_or_default(),
            );
            let pd = install.get(i - 1).unwrap_or_default();
            let Some((stock_before, _)) =
                stock_of.get(&(p.to_string(), pb.to_string(), pd.to_string()))
            else {
                continue;
            };
            let Some((stock_after, peers)) = stock_now else {
                continue;
            };
            if pb == b || ps == stock_before.as_str() || s != stock_after.as_str() {
                continue;
            }
            let short = |x: &str| x.chars().take(12).collect::<String>();
            lost.insert(
                key,
                vec![
                    Evidence::new(
                        format!(
                            "{p} on build {pb} at {}: {} (customized: not the stock {} of that build)",
                            utc(at.get(i - 1).unwrap_or_default()),
                            short(ps),
                            short(stock_before)
                        ),
                        prov.get(i - 1).unwrap_or_default(),
                    ),
                    Evidence::new(
                        format!(
                            "{p} on build {b} at {}: {} (stock: the file of {peers} hosts on that build)",
                            utc(at.get(i).unwrap_or_default()),
                            short(s)
                        ),
                        prov.get(i).unwrap_or_default(),
                    ),
                ],
            );
        }
        let latest: HashMap<String, String> = {
            let df = &fleet.latest.hosts;
            if df.height() == 0 {
                HashMap::new()
            } else {
                let h = df.column("host")?.str()?;
                let id = df.column("snapshot_id")?.str()?;
                h.iter()
                    .zip(id.iter())
                    .filter_map(|(h, id)| Some((h?.to_string(), id?.to_string())))
                    .collect()
            }
        };
        for ((h, p), ev) in lost {
            out.push(Finding {
                id: self.id().into(),
                severity: self.severity(),
                host: h.clone(),
                snapshot_id: latest.get(&h).cloned().unwrap_or_default(),
                title: format!(
                    "{p} lost its customization in the last update: it is the stock file again"
                ),
                evidence: ev,
                action: action_of(DOC),
                group: String::new(),
                hosts: Vec::new(),
                signature: p,
            });
        }
        Ok(())
    }
}
