//! `config.customized`.

use polars::prelude::*;

use crate::finding::{Evidence, Finding, Severity};
use crate::rules::fleet::{Fleet, FleetRule};
use crate::rules::{action_of, first_of, utc, Context};

/// The catalog entry.
pub const DOC: &str = "## Detects
A web.config or SharedWebConfig.config that is customized now: in the host's latest snapshot the file differs from the stock file of the build the host runs. The stock file of a build is the one (by SHA-256) that a strict majority of the hosts seen on that build, at the same install path (the files name it), have, when at least 3 hosts were seen there; a file whose stock is unknown is not judged, nor a file that is malformed or holds an unexpanded variable (broken, not customized: their own rules report them, and the update's stock file is the fix). The next CU (or SU) replaces these files with its stock ones, so the customization is lost unless it is saved first; the rollout plan lists these files to back up before the host's wave.
## Evidence
Each customized file with its hash and where it was read, the stock hash of the build and how many hosts have it.
## Action
Before the update, back up each listed file (or record the customization in a script run after every update); after it, re-apply the customization and run `iisreset`.
## Source
Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): \"Customized OWA or .config files\" (a CU overwrites customized web.config files; save them before the install); exfleet's own fleet analysis (README.md, \"The analyzer\").";

/// `config.customized`; its catalog entry is [`DOC`].
pub struct Customized;

impl FleetRule for Customized {
    fn id(&self) -> &'static str {
        "config.customized"
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
        if fleet.latest.hosts.height() == 0 {
            return Ok(());
        }
        let files = super::files(fleet);
        let stock_of = super::stock(&files)?;
        let latest = fleet
            .latest
            .hosts
            .clone()
            .lazy()
            .select([col("snapshot_id")]);
        let rows = files
            .join(
                latest,
                [col("snapshot_id")],
                [col("snapshot_id")],
                JoinArgs::new(JoinType::Inner),
            )
            .sort(["host", "path"], Default::default())
            .collect()?;
        let id = rows.column("snapshot_id")?.str()?;
        let host = rows.column("host")?.str()?;
        let path = rows.column("path")?.str()?;
        let at = rows.column("collected_at_ms")?.i64()?;
        let sha = rows.column("sha256")?.str()?;
        let build = rows.column("build")?.str()?;
        let install = rows.column("install")?.str()?;
        let prov = rows.column("provenance")?.str()?;
        let short = |x: &str| x.chars().take(12).collect::<String>();
        let mut current: Option<Finding> = None;
        let mut files_of: Vec<String> = Vec::new();
        for i in 0..rows.height() {
            let (Some(h), Some(p), Some(s), Some(b)) =
                (host.get(i), path.get(i), sha.get(i), build.get(i))
            else {
                continue;
            };
            let d = install.get(i).unwrap_or_default().to_string();
            let Some((stock, peers)) = stock_of.get(&(p.to_string(), b.to_string(), d)) else {
                continue;
            };
            if stock == s {
                continue;
            }
            if current.as_ref().is_some_and(|f| f.host != h) {
                out.extend(current.take().map(|f| titled(f, &files_of)));
                files_of.clear();
            }
            let f = current.get_or_insert_with(|| Finding {
                id: self.id().into(),
                severity: self.severity(),
                host: h.to_string(),
                snapshot_id: id.get(i).unwrap_or_default().to_string(),
                title: String::new(),
                evidence: Vec::new(),
                action: action_of(DOC),
                group: String::new(),
                hosts: Vec::new(),
                signature: "customized config files".into(),
            });
            files_of.push(p.to_string());
            f.evidence.push(Evidence::new(
                format!(
                    "{p} on build {b} at {}: {} (customized: the stock file of that build is {}, on {peers} hosts)",
                    utc(at.get(i).unwrap_or_default()),
                    short(s),
                    short(stock)
                ),
                prov.get(i).unwrap_or_default(),
            ));
        }
        out.extend(current.map(|f| titled(f, &files_of)));
        Ok(())
    }
}

fn titled(mut f: Finding, files: &[String]) -> Finding {
    f.title = format!(
        "{} customized config file(s) the next update will replace: {}",
        files.len(),
        first_of(files, 3)
    );
    f
}
