//! The plan and the verification for people (terminal text, an HTML section of the report)
//! and for spreadsheets (CSV, one row per host, cells escaped as every CSV of the analyzer).
//! JSON is their serde form.

use std::fmt::Write as _;
use std::path::Path;

use polars::prelude::*;

use super::blockers::Blocker;
use super::plan::{Plan, Status};
use super::verify::{Outcome, Verification};
use crate::error::Error;

/// The plan as text.
pub fn plan_text(p: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Rollout plan to {} (as of {}, build catalog as of {})",
        p.target, p.as_of, p.catalog_as_of
    );
    let _ = writeln!(s, "{}", p.ad.text);
    for b in &p.target_blockers {
        let _ = writeln!(s, "Target blocked [{}]: {}. {}", b.id, b.title, b.action);
    }
    for w in &p.warnings {
        let _ = writeln!(s, "Warning: {w}");
    }
    let count = |st: Status| p.hosts.iter().filter(|h| h.status == st).count();
    let _ = writeln!(
        s,
        "{} scheduled in {} waves, {} blocked, {} already there, {} other product, {} unknown build, {} not collected",
        count(Status::Scheduled),
        p.waves.len(),
        count(Status::Blocked),
        count(Status::AlreadyThere),
        count(Status::OtherProduct),
        count(Status::UnknownBuild),
        p.not_collected.len()
    );
    for w in &p.waves {
        let _ = writeln!(s, "\nWave {} ({}): {}", w.number, w.site, w.why);
        for name in &w.hosts {
            let Some(h) = p.hosts.iter().find(|h| h.host == *name) else {
                continue;
            };
            let dag = if h.dag.is_empty() {
                String::new()
            } else {
                format!(" [{}]", h.dag)
            };
            let _ = writeln!(
                s,
                "  {:<16}{dag} {} -> {}",
                h.host, h.build_name, h.target_name
            );
            for b in &h.prepare {
                let _ = writeln!(s, "      first: {} ({})", b.title, b.id);
                for e in &b.evidence {
                    let _ = writeln!(s, "        {} ({})", e.fact, e.provenance);
                }
                let _ = writeln!(s, "        {}", b.action);
            }
        }
    }
    let blocked: Vec<_> = p
        .hosts
        .iter()
        .filter(|h| h.status == Status::Blocked)
        .collect();
    if !blocked.is_empty() {
        let _ = writeln!(s, "\nBlocked ({}):", blocked.len());
        for h in blocked {
            let _ = writeln!(s, "  {} ({} -> {}):", h.host, h.build_name, h.target_name);
            for b in &h.blockers {
                blocker_text(&mut s, b);
            }
        }
    }
    if !p.not_collected.is_empty() {
        let _ = writeln!(s, "\nNot collected ({}):", p.not_collected.len());
        for n in &p.not_collected {
            let _ = writeln!(s, "  {:<16} {}", n.host, n.why);
        }
    }
    for e in &p.expected_errors {
        let _ = writeln!(s, "expected list: {e}");
    }
    s
}

fn blocker_text(s: &mut String, b: &Blocker) {
    let judged = if b.against_target {
        ", judged against the target"
    } else {
        ""
    };
    let _ = writeln!(s, "    - [{}{judged}] {}: {}", b.id, b.category, b.title);
    for e in &b.evidence {
        if e.provenance.is_empty() {
            let _ = writeln!(s, "        {}", e.fact);
        } else {
            let _ = writeln!(s, "        {} ({})", e.fact, e.provenance);
        }
    }
    let _ = writeln!(s, "        fix: {}", b.action);
}

/// The verification as text.
pub fn verify_text(v: &Verification) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Rollout since {} to {} (as of {})",
        v.since, v.target, v.as_of
    );
    let m = &v.summary;
    let _ = writeln!(
        s,
        "done {}, failed {}, not started {}, already there {}, not in scope {}, not collected {}",
        m.done, m.failed, m.not_started, m.already_there, m.not_in_scope, m.not_collected
    );
    for h in v.hosts.iter().filter(|h| h.outcome == Outcome::Failed) {
        let why = h.why.as_ref();
        let id = why
            .map(|w| w.id.as_str())
            .filter(|i| !i.is_empty())
            .unwrap_or("events");
        let _ = writeln!(
            s,
            "\nFAILED {} ({} -> {}; reached: {}, services back: {}): [{id}] {}",
            h.host,
            h.build_before,
            h.build,
            yes(h.reached),
            yes(h.services_back),
            why.map(|w| w.title.as_str()).unwrap_or_default()
        );
        for e in why.map(|w| w.evidence.as_slice()).unwrap_or_default() {
            let _ = writeln!(s, "    {} ({})", e.fact, e.provenance);
        }
    }
    let not_started: Vec<String> = v
        .hosts
        .iter()
        .filter(|h| h.outcome == Outcome::NotStarted)
        .map(|h| {
            if h.blocked_by.is_empty() {
                h.host.clone()
            } else {
                format!("{} (blocked by {})", h.host, h.blocked_by.join(", "))
            }
        })
        .collect();
    if !not_started.is_empty() {
        let _ = writeln!(s, "\nNot started: {}", not_started.join(", "));
    }
    let done: Vec<&str> = v
        .hosts
        .iter()
        .filter(|h| h.outcome == Outcome::Done)
        .map(|h| h.host.as_str())
        .collect();
    if !done.is_empty() {
        let _ = writeln!(s, "Done: {}", done.join(", "));
    }
    for n in &v.not_collected {
        let _ = writeln!(s, "Not collected: {} ({})", n.host, n.why);
    }
    s
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn ids(b: &[Blocker]) -> String {
    b.iter()
        .map(|b| b.id.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Writes the plan's CSV: one row per host, then one per server not collected.
pub fn plan_csv(p: &Plan, path: &Path) -> Result<(), Error> {
    let mut rows: Vec<[String; 12]> = p
        .hosts
        .iter()
        .map(|h| {
            [
                h.host.clone(),
                h.site.clone(),
                h.dag.clone(),
                h.role.clone(),
                h.status.name().to_string(),
                h.wave.map(|w| w.to_string()).unwrap_or_default(),
                h.build.clone(),
                h.target_build.clone(),
                h.target_name.clone(),
                ids(&h.blockers),
                h.blockers
                    .iter()
                    .map(|b| b.title.as_str())
                    .collect::<Vec<_>>()
                    .join(" | "),
                h.prepare
                    .iter()
                    .flat_map(|b| b.evidence.iter().map(|e| e.fact.as_str()))
                    .collect::<Vec<_>>()
                    .join(" | "),
            ]
        })
        .collect();
    rows.extend(p.not_collected.iter().map(|n| {
        [
            n.host.clone(),
            n.site.clone(),
            n.dag.clone(),
            n.role.clone(),
            "not-collected".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            n.why.clone(),
            String::new(),
        ]
    }));
    write_csv(
        &[
            "host",
            "site",
            "dag",
            "role",
            "status",
            "wave",
            "build",
            "target_build",
            "target",
            "blocker_ids",
            "blockers",
            "before_update",
        ],
        &rows,
        path,
    )
}

/// Writes the verification's CSV: one row per host, then one per server not collected.
pub fn verify_csv(v: &Verification, path: &Path) -> Result<(), Error> {
    let mut rows: Vec<[String; 11]> = v
        .hosts
        .iter()
        .map(|h| {
            [
                h.host.clone(),
                h.site.clone(),
                h.outcome.name().to_string(),
                h.build_before.clone(),
                h.build.clone(),
                h.target_build.clone(),
                yes(h.reached).into(),
                yes(h.services_back).into(),
                h.why
                    .as_ref()
                    .map(|w| w.id.clone())
                    .unwrap_or_else(|| h.blocked_by.join("; ")),
                h.why.as_ref().map(|w| w.title.clone()).unwrap_or_default(),
                h.new_findings
                    .iter()
                    .map(|f| f.id.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            ]
        })
        .collect();
    rows.extend(v.not_collected.iter().map(|n| {
        let mut r: [String; 11] = Default::default();
        r[0] = n.host.clone();
        r[1] = n.site.clone();
        r[2] = "not-collected".into();
        r[9] = n.why.clone();
        r
    }));
    write_csv(
        &[
            "host",
            "site",
            "outcome",
            "build_before",
            "build",
            "target_build",
            "reached",
            "services_back",
            "why_id",
            "why",
            "new_findings",
        ],
        &rows,
        path,
    )
}

fn write_csv<const N: usize>(
    names: &[&str; N],
    rows: &[[String; N]],
    path: &Path,
) -> Result<(), Error> {
    let columns: Vec<Column> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            Column::new(
                (*n).into(),
                rows.iter().map(|r| r[i].clone()).collect::<Vec<_>>(),
            )
        })
        .collect();
    let df = DataFrame::new(rows.len(), columns).map_err(|e| Error::polars(path, e))?;
    // Host names and titles come from the servers: no cell may run as a formula.
    let mut safe = crate::spreadsheet::csv_safe(&df).map_err(|e| Error::polars(path, e))?;
    let mut f = std::fs::File::create(path).map_err(Error::io(path))?;
    CsvWriter::new(&mut f)
        .finish(&mut safe)
        .map_err(|e| Error::polars(path, e))
}

/// The plan as a section of report.html (id `rollout`).
pub fn plan_html(p: &Plan) -> String {
    let esc = crate::html::esc;
    let mut s = String::new();
    let _ = write!(
        s,
        "<section id=\"rollout\"><h2>Rollout plan to {}</h2><p>{}</p>",
        esc(&p.target),
        esc(&p.ad.text)
    );
    for b in &p.target_blockers {
        let _ = write!(
            s,
            "<p class=\"catalog-warning\">Target blocked ({}): {}. {}</p>",
            esc(&b.id),
            esc(&b.title),
            esc(&b.action)
        );
    }
    for w in &p.warnings {
        let _ = write!(s, "<p class=\"catalog-warning\">{}</p>", esc(w));
    }
    s.push_str("<table><thead><tr><th>Wave</th><th>Site</th><th>Servers</th><th>Why</th></tr></thead><tbody>");
    for w in &p.waves {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            w.number,
            esc(&w.site),
            esc(&w.hosts.join(", ")),
            esc(&w.why)
        );
    }
    s.push_str("</tbody></table>");
    let blocked: Vec<_> = p
        .hosts
        .iter()
        .filter(|h| h.status == Status::Blocked)
        .collect();
    if !blocked.is_empty() {
        let _ = write!(s, "<h3>Blocked ({})</h3><ul>", blocked.len());
        for h in blocked {
            let _ = write!(
                s,
                "<li><b>{}</b> to {}<ul>",
                esc(&h.host),
                esc(&h.target_name)
            );
            for b in &h.blockers {
                let _ = write!(
                    s,
                    "<li><code>{}</code> {}: {}<ul>",
                    esc(&b.id),
                    esc(&b.category),
                    esc(&b.title)
                );
                for e in &b.evidence {
                    let _ = write!(
                        s,
                        "<li>{} <small>{}</small></li>",
                        esc(&e.fact),
                        esc(&e.provenance)
                    );
                }
                let _ = write!(s, "<li>Fix: {}</li></ul></li>", esc(&b.action));
            }
            s.push_str("</ul></li>");
        }
        s.push_str("</ul>");
    }
    let backups: Vec<_> = p.hosts.iter().filter(|h| !h.prepare.is_empty()).collect();
    if !backups.is_empty() {
        s.push_str("<h3>Before the update</h3><ul>");
        for h in backups {
            for b in &h.prepare {
                let _ = write!(
                    s,
                    "<li><b>{}</b> <code>{}</code> {}<ul>",
                    esc(&h.host),
                    esc(&b.id),
                    esc(&b.title)
                );
                for e in &b.evidence {
                    let _ = write!(
                        s,
                        "<li>{} <small>{}</small></li>",
                        esc(&e.fact),
                        esc(&e.provenance)
                    );
                }
                let _ = write!(s, "<li>{}</li></ul></li>", esc(&b.action));
            }
        }
        s.push_str("</ul>");
    }
    if !p.not_collected.is_empty() {
        s.push_str("<h3>Not collected</h3><ul>");
        for n in &p.not_collected {
            let _ = write!(s, "<li><b>{}</b>: {}</li>", esc(&n.host), esc(&n.why));
        }
        s.push_str("</ul>");
    }
    s.push_str("</section>\n");
    s
}
