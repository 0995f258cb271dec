//! What changed on each host between two times: its latest snapshot at each (from the
//! history) compared field by field: build, installed updates, service start types, IIS and
//! HTTP.sys bindings, and the hashes of the config files.

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::Serialize;

use crate::input::{Frames, History};

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `build`, `update`, `service`, `binding`, `config_file`.
    pub kind: &'static str,
    /// What changed: the build field, the KB, the service, the endpoint, the file.
    pub item: String,
    /// Before (empty: absent).
    pub before: String,
    /// After (empty: absent).
    pub after: String,
}

/// A host's changes between its two snapshots.
#[derive(Debug, Clone, Serialize)]
pub struct HostChanges {
    /// The host.
    pub host: String,
    /// Its snapshot at the start (empty: not collected yet then).
    pub from_snapshot: String,
    /// Its snapshot at the end.
    pub to_snapshot: String,
    /// What changed, by kind then item.
    pub changes: Vec<Change>,
}

/// Each host's facts in one snapshot, keyed for comparison: (kind, item) -> value.
type Facts = BTreeMap<(&'static str, String), String>;

/// The changes of every host seen at `to_ms`, from its latest snapshot at `from_ms` to its
/// latest at `to_ms`; hosts without changes are left out.
pub fn changes(history: &History, from_ms: i64, to_ms: i64) -> PolarsResult<Vec<HostChanges>> {
    let before = facts(&history.latest(from_ms)?)?;
    let after = facts(&history.latest(to_ms)?)?;
    let mut out = Vec::new();
    for (host, (to_snapshot, now)) in &after {
        let (from_snapshot, then) = before
            .get(host)
            .cloned()
            .unwrap_or_else(|| (String::new(), Facts::new()));
        if &from_snapshot == to_snapshot {
            continue;
        }
        let mut changes = Vec::new();
        let keys: std::collections::BTreeSet<_> = then.keys().chain(now.keys()).collect();
        for key in keys {
            let (b, a) = (then.get(key), now.get(key));
            if b != a {
                changes.push(Change {
                    kind: key.0,
                    item: key.1.clone(),
                    before: b.cloned().unwrap_or_default(),
                    after: a.cloned().unwrap_or_default(),
                });
            }
        }
        if !changes.is_empty() {
            out.push(HostChanges {
                host: host.clone(),
                from_snapshot,
                to_snapshot: to_snapshot.clone(),
                changes,
            });
        }
    }
    Ok(out)
}

/// Host -> (snapshot id, facts).
fn facts(f: &Frames) -> PolarsResult<BTreeMap<String, (String, Facts)>> {
    let mut out: BTreeMap<String, (String, Facts)> = BTreeMap::new();
    for row in rows(&f.hosts, &["snapshot_id", "exsetup_version", "msi_version"])? {
        let e = out.entry(row[0].clone()).or_default();
        e.0 = row[1].clone();
        e.1.insert(("build", "ExSetup.exe".into()), row[2].clone());
        e.1.insert(("build", "setup key (Msi*)".into()), row[3].clone());
    }
    let mut add = |df: &DataFrame, kind: &'static str, item: &[&str], value: &[&str]| {
        let names: Vec<&str> = item.iter().chain(value).copied().collect();
        for row in rows(df, &names)? {
            let key = row[1..=item.len()].join(" ");
            let val = row[item.len() + 1..].join(" ");
            if let Some(e) = out.get_mut(&row[0]) {
                e.1.insert((kind, key), val);
            }
        }
        PolarsResult::Ok(())
    };
    add(&f.installed_updates, "update", &["kb"], &["package_name"])?;
    add(&f.services, "service", &["name"], &["start"])?;
    add(
        &f.bindings,
        "binding",
        &["kind", "site", "endpoint"],
        &["protocol", "cert_thumbprint"],
    )?;
    add(&f.config_files, "config_file", &["path"], &["sha256"])?;
    Ok(out)
}

/// The host column and `names` of every row, as text.
fn rows(df: &DataFrame, names: &[&str]) -> PolarsResult<Vec<Vec<String>>> {
    if df.height() == 0 {
        return Ok(Vec::new());
    }
    let mut cols = vec![df.column("host")?.cast(&DataType::String)?];
    for n in names {
        cols.push(df.column(n)?.cast(&DataType::String)?);
    }
    let cols: Vec<&StringChunked> = cols.iter().map(|c| c.str()).collect::<Result<_, _>>()?;
    Ok((0..df.height())
        .map(|i| {
            cols.iter()
                .map(|c| c.get(i).unwrap_or_default().to_string())
                .collect()
        })
        .collect())
}

/// The changes for people: one block per host.
pub fn text(all: &[HostChanges]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for h in all {
        let _ = writeln!(s, "{} ({} changes)", h.host, h.changes.len());
        for c in &h.changes {
            let show = |v: &str| {
                if v.is_empty() {
                    "-".to_string()
                } else {
                    v.to_string()
                }
            };
            let _ = writeln!(
                s,
                "  {:<11} {}: {} -> {}",
                c.kind,
                c.item,
                show(&c.before),
                show(&c.after)
            );
        }
    }
    if all.is_empty() {
        s.push_str("no changes\n");
    }
    s
}
