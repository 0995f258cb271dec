//! Security rules: what the evidence says about who sent it, and the CVEs a server is still
//! open to ([`crate::exposure`]).

pub mod cve_open;
pub mod cve_unverified;
pub mod identity_mismatch;
pub mod march_2021_su_unsupported_cu;

use crate::exposure::{self, Exposure, Status};
use crate::finding::Evidence;
use crate::rules::Context;
use crate::view::HostView;

/// The host's exposures of one status.
fn exposures(h: &HostView, cx: &Context, status: Status) -> Vec<Exposure> {
    exposure::of_host(h, cx.catalog, cx.as_of)
        .into_iter()
        .filter(|e| e.status == status)
        .collect()
}

/// The distinct ids, in table order.
fn ids(exposures: &[Exposure]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for e in exposures {
        if !ids.contains(&e.cve) {
            ids.push(e.cve.clone());
        }
    }
    ids
}

/// One evidence line per distinct `key` (the update that fixes them, what the evidence must
/// show): its ids and `line(first exposure of the group)`.
fn grouped(
    exposures: &[Exposure],
    key: fn(&Exposure) -> &str,
    line: impl Fn(&Exposure, &str) -> String,
    cx: &Context,
) -> Vec<Evidence> {
    let mut keys: Vec<&str> = Vec::new();
    for e in exposures {
        if !keys.contains(&key(e)) {
            keys.push(key(e));
        }
    }
    let provenance = format!(
        "CVE table of the build catalog (as of {})",
        cx.catalog
            .cve_as_of
            .map_or_else(|| "?".to_string(), |d| d.to_string())
    );
    keys.into_iter()
        .map(|k| {
            let group: Vec<Exposure> = exposures.iter().filter(|e| key(e) == k).cloned().collect();
            Evidence::new(line(&group[0], &ids(&group).join(", ")), &provenance)
        })
        .collect()
}

/// The ExSetup.exe line every exposure finding starts with.
fn build_line(h: &HostView, cx: &Context) -> Option<Evidence> {
    let b = h.exsetup?;
    Some(Evidence::new(
        format!("ExSetup.exe {b} ({})", cx.catalog.describe(&b)),
        &h.exsetup_provenance,
    ))
}
