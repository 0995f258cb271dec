//! `ioc.aspx-uncompared`.

use exfleet_dataset::{IocMatchRow, Row, UpdateRow};

use super::aspx_outlier::{hash_of, in_auth_folder, Inventory, MIN_SERVERS};
use crate::catalog::Build;
use crate::finding::{Evidence, Finding, Severity};
use crate::rules::fleet::{fleet_finding, Fleet, FleetRule};
use crate::rules::{utc, Context};
use crate::view::BuildAt;
use polars::prelude::PolarsResult;

/// The catalog entry.
pub const DOC: &str = "## Detects
The web pages and handlers of a server that ioc.aspx-outlier cannot judge, because fewer than three servers can tell whether they hold the path (see ioc.aspx-outlier: those whose collector could list it, its folder listed whole): in the front end's `owa\\auth` and `ecp\\auth` folders among the servers of its build and of its CU line, those written after its build was installed (setup writes the stock pages there when it installs the build, so a later page is new; the files listed there are those IIS runs or that configure it); in a site's `aspnet_client` among the servers of the fleet, every file (its stock files come with .NET, not with the build: a shell in the 2021 shells' most common folder must not be invisible on a lone server). A web shell there would be invisible to the comparison: listing these files is the honest rest; during a rollout of a collector that lists more files, a server's files only a few servers can list are here until more servers run it. The install time: the InstalledDate of the build's SU (its KB in the installed updates; the end of that day), else the first snapshot that showed the build after another one; when neither is known, every such file of the auth folders is listed.
## Evidence
Per server: the basis (its build, how many servers with an inventory share it and its line, how the install time is known; how many servers of the fleet have an inventory), then each file with its path, size, last write time and SHA-256 (or that it has none, and why), and any partial listing of the server.
## Action
Open each page listed: a stock Exchange page carries Microsoft's markup for its build; a short page that evaluates what a request sends (`eval`, `Request[...]`) is a web shell (see ioc.aspx-outlier). Collect more servers of the same build to let the comparison judge.
## Source
Microsoft CSS-Exchange Security/Defender-MSERT-Guidance.md (the folders where web shells were observed); exfleet's own fleet analysis (README.md, \"The analyzer\").";

/// `ioc.aspx-uncompared`; its catalog entry is [`DOC`].
pub struct AspxUncompared;

/// When `build` was installed on the host (UTC ms), and how that is known.
fn installed(
    cx: &Context,
    build: Build,
    updates: &[&UpdateRow],
    history: &[BuildAt],
) -> Option<(i64, String)> {
    let kb = cx
        .catalog
        .exact(&build)
        .map(|r| r.kb.clone())
        .unwrap_or_default();
    if !kb.is_empty() {
        for u in updates.iter().filter(|u| u.kb.eq_ignore_ascii_case(&kb)) {
            if let Some(end) = super::installed_on(u)
                .and_then(|d| d.succ_opt())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
            {
                return Some((
                    end.and_utc().timestamp_millis(),
                    format!("{kb} installed on {}", u.installed_date),
                ));
            }
        }
    }
    // The first snapshot showing the build, after one showing another.
    let first = history.iter().position(|b| b.build == Some(build))?;
    (first > 0).then(|| {
        let at = history[first].collected_at_ms;
        (at, format!("first seen at the snapshot of {}", utc(at)))
    })
}

impl FleetRule for AspxUncompared {
    fn id(&self) -> &'static str {
        "ioc.aspx-uncompared"
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
    fn check(&self, fleet: &Fleet, cx: &Context, out: &mut Vec<Finding>) -> PolarsResult<()> {
        let inv = Inventory::of(fleet)?;
        let uncompared = inv.judge().uncompared;
        if uncompared.is_empty() {
            return Ok(());
        }
        let updates = UpdateRow::read(&fleet.latest.installed_updates)?;
        for (host, files) in uncompared {
            let build = inv.build_of.get(&host).copied();
            let since = match build {
                Some(build) => {
                    let mine: Vec<&UpdateRow> =
                        updates.iter().filter(|u| u.key.host == host).collect();
                    let past = fleet
                        .hosts
                        .iter()
                        .find(|h| h.host == host)
                        .map(|h| h.build_history.as_slice())
                        .unwrap_or_default();
                    installed(cx, build, &mine, past)
                }
                None => None,
            };
            // The auth folders' stock pages are written at the install: only later ones.
            // aspnet_client's files come with .NET and Windows: all of them.
            let (auth, sites): (Vec<&IocMatchRow>, Vec<&IocMatchRow>) =
                files.iter().partition(|m| in_auth_folder(&m.url));
            let auth: Vec<&IocMatchRow> = auth
                .into_iter()
                .filter(|m| since.as_ref().is_none_or(|(t, _)| m.time_ms > *t))
                .collect();
            if auth.is_empty() && sites.is_empty() {
                continue;
            }
            let (builds, lines) = (
                inv.coverage
                    .keys()
                    .filter(|h| build.is_some() && inv.build_of.get(*h) == build.as_ref())
                    .count(),
                inv.coverage
                    .keys()
                    .filter(|h| {
                        build.is_some_and(|b| inv.build_of.get(*h).is_some_and(|o| o.same_line(&b)))
                    })
                    .count(),
            );
            let mut ev = Vec::new();
            let runs = build.map_or("an unknown build".to_string(), |b| b.to_string());
            if !auth.is_empty() {
                ev.push(Evidence::new(
                    format!(
                        "{host} runs {runs}: {builds} server(s) of the fleet with an inventory on \
                         that build and {lines} on its CU line; fewer than {MIN_SERVERS} of them \
                         could list these auth-folder files: not compared; {}",
                        match &since {
                            Some((_, how)) =>
                                format!("the files written after its install ({how})"),
                            None =>
                                "its install time is unknown: every such file of the auth folders"
                                    .to_string(),
                        }
                    ),
                    "",
                ));
            }
            if !sites.is_empty() {
                ev.push(Evidence::new(
                    format!(
                        "{host}: fewer than {MIN_SERVERS} servers of the fleet ({} with an \
                         inventory) could list these aspnet_client files: not compared; every one",
                        inv.coverage.len()
                    ),
                    "",
                ));
            }
            let pages: Vec<&IocMatchRow> = auth.into_iter().chain(sites).collect();
            ev.extend(pages.iter().map(|f| {
                Evidence::new(
                    format!(
                        "{host}: {} ({}, written {}, {})",
                        f.url,
                        f.detail,
                        utc(f.time_ms),
                        hash_of(&inv, &host, f)
                    ),
                    &f.provenance,
                )
            }));
            ev.extend(inv.coverage[&host].notes.iter().cloned());
            let title = format!(
                "{} web page(s) or handler(s) of {host} which no comparison can judge (build {runs})",
                pages.len()
            );
            out.push(fleet_finding(
                self,
                title,
                format!("host:{host}"),
                ev,
                vec![host],
            ));
        }
        Ok(())
    }
}
