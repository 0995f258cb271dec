//! TLS rules: the SCHANNEL protocol settings and .NET's strong-crypto values as HealthChecker
//! judges them ([`crate::tls`]).

pub mod legacy_enabled;
pub mod misconfigured;
pub mod values_missing;

use crate::finding::Evidence;
use crate::tls::{Kind, Tls};
use crate::view::HostView;

/// The evidence of one kind of problem on a host (empty: none, or TLS not collected, or a
/// hive not read completely: an unread value would read as absent).
fn problems(h: &HostView, kind: Kind) -> Vec<Evidence> {
    if h.hive_unclean("system_hive").is_some() || h.hive_unclean("software_hive").is_some() {
        return Vec::new();
    }
    let Some(tls) = Tls::from_settings(&h.settings) else {
        return Vec::new();
    };
    tls.problems(&h.facts.os_current_build, h.exsetup)
        .into_iter()
        .filter(|p| p.kind == kind)
        .map(|p| p.evidence)
        .collect()
}
