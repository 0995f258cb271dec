//! What changed on each host between two times: its latest snapshot at each (from the
//! history) compared field by field: build, installed updates, service start types, IIS and
//! HTTP.sys bindings, and the hashes of the config files.

use std::collections::BTreeMap;

use exfleet_dataset::{BindingRow, ConfigFileRow, HostRow, Key, Row, ServiceRow, UpdateRow};
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
    for h in HostRow::read(&f.hosts)? {
        let e = out.entry(h.key.host.clone()).or_default();
        e.0 = h.key.snapshot_id.clone();
        e.1.insert(("build", "ExSetup.exe".into()), h.exsetup_version);
        e.1.insert(("build", "setup key (Msi*)".into()), h.msi_version);
    }
    let mut put = |key: &Key, kind: &'static str, item: String, value: String| {
        if let Some(e) = out.get_mut(&key.host) {
            e.1.insert((kind, item), value);
        }
    };
    for r in UpdateRow::read(&f.installed_updates)? {
        put(&r.key, "update", r.kb, r.package_name);
    }
    for r in ServiceRow::read(&f.services)? {
        put(&r.key, "service", r.name, r.start.to_string());
    }
    for r in BindingRow::read(&f.bindings)? {
        let item = format!("{} {} {}", r.kind.as_str(), r.site, r.endpoint);
        put(
            &r.key,
            "binding",
            item,
            format!("{} {}", r.protocol, r.cert_thumbprint),
        );
    }
    for r in ConfigFileRow::read(&f.config_files)? {
        put(&r.key, "config_file", r.path, r.sha256);
    }
    Ok(out)
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
