//! `fleet.tls-drift`.

use std::collections::{BTreeMap, BTreeSet};

use exfleet_dataset::{CollectionErrorRow, Row, SettingRow};
use polars::prelude::*;

use super::{fleet_finding, Fleet, FleetRule};
use crate::finding::{Evidence, Finding, Severity};
use crate::rules::Context;
use crate::tls::Tls;
use crate::view::UNCLEAN_HIVE;

/// The catalog entry.
pub const DOC: &str = "## Detects
Servers whose TLS configuration differs from the one most servers of the fleet share: each protocol version's state (Enabled, Disabled, Half Disabled, Misconfigured, from the SCHANNEL keys) and .NET's SystemDefaultTlsVersions and SchUseStrongCrypto (64-bit and 32-bit). Exchange servers talk to each other as clients and servers: one that disabled a version its peers still need, or kept one they turned off, fails or weakens those connections, and a hardening wave that did not reach every server shows here. Judged over the servers whose SYSTEM and SOFTWARE settings were collected completely, when at least 3 are and more than half share one configuration (a fleet half-way through a change has no majority: nothing is said).
## Evidence
The configuration most servers share and how many do; each odd server with the fields where it differs.
## Action
Bring the odd servers to the fleet's configuration (or the fleet to the recommended one, aka.ms/HC-TLSGuide), the same change on every server, then reboot each.
## Source
exfleet's own fleet analysis (README.md, \"The analyzer\"); Exchange Health Checker's TLS section (CSS-Exchange Shared/TLS/Get-AllTlsSettingsFromRegistry.ps1); Exchange Server TLS configuration best practices (Microsoft Learn, aka.ms/HC-TLSGuide).";

/// `fleet.tls-drift`; its catalog entry is [`DOC`].
pub struct TlsDrift;

/// Fewer servers with TLS data than this are not compared.
const MIN_HOSTS: usize = 3;

impl FleetRule for TlsDrift {
    fn id(&self) -> &'static str {
        "fleet.tls-drift"
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
        // Hosts whose hives were not read completely: an unread value would read as absent.
        let unclean: BTreeSet<String> = CollectionErrorRow::read(&fleet.latest.collection_errors)?
            .into_iter()
            .filter(|e| {
                matches!(e.reader.as_str(), "system_hive" | "software_hive")
                    && UNCLEAN_HIVE.contains(&e.kind.as_str())
            })
            .map(|e| e.key.host)
            .collect();
        let mut by_host: BTreeMap<String, Vec<SettingRow>> = BTreeMap::new();
        for r in SettingRow::read(&fleet.latest.registry_settings)? {
            if !unclean.contains(&r.key.host) {
                by_host.entry(r.key.host.clone()).or_default().push(r);
            }
        }
        let fields: BTreeMap<String, Vec<(String, String)>> = by_host
            .into_iter()
            .filter_map(|(h, rows)| Tls::from_settings(&rows).map(|t| (h, t.fields())))
            .collect();
        if let Some(f) = drift(self, &fields) {
            out.push(f);
        }
        Ok(())
    }
}

/// The finding over hosts' TLS fields: the servers that differ from the configuration more
/// than half of them share (none without such a majority, or with fewer than [`MIN_HOSTS`]).
fn drift(rule: &TlsDrift, fields: &BTreeMap<String, Vec<(String, String)>>) -> Option<Finding> {
    if fields.len() < MIN_HOSTS {
        return None;
    }
    let mut counts: BTreeMap<&Vec<(String, String)>, usize> = BTreeMap::new();
    for f in fields.values() {
        *counts.entry(f).or_default() += 1;
    }
    let (&common, &n) = counts.iter().max_by_key(|(_, n)| **n)?;
    if n * 2 <= fields.len() {
        return None;
    }
    let odd: Vec<(&String, &Vec<(String, String)>)> =
        fields.iter().filter(|(_, f)| *f != common).collect();
    if odd.is_empty() {
        return None;
    }
    let line = |f: &[(String, String)]| {
        f.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut ev = vec![Evidence::new(
        format!("{n} of {} servers share: {}", fields.len(), line(common)),
        "registry_settings (SCHANNEL, .NETFramework)",
    )];
    ev.extend(odd.iter().map(|(h, f)| {
        let differ: Vec<String> = f
            .iter()
            .zip(common.iter())
            .filter(|(a, b)| a != b)
            .map(|((k, v), (_, c))| format!("{k} {v} (most: {c})"))
            .collect();
        Evidence::new(
            format!("{h}: {}", differ.join(", ")),
            format!("{h}: registry_settings (SCHANNEL, .NETFramework)"),
        )
    }));
    let hosts: Vec<String> = odd.iter().map(|(h, _)| (*h).clone()).collect();
    let title = format!(
        "{} server{} differ from the fleet's TLS configuration",
        hosts.len(),
        if hosts.len() == 1 { "" } else { "s" }
    );
    Some(fleet_finding(rule, title, "tls".into(), ev, hosts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(tls11: &str) -> Vec<(String, String)> {
        vec![
            ("TLS 1.0".into(), "Disabled".into()),
            ("TLS 1.1".into(), tls11.into()),
        ]
    }

    fn fleet(states: &[&str]) -> BTreeMap<String, Vec<(String, String)>> {
        states
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("EX{i:02}"), config(s)))
            .collect()
    }

    #[test]
    fn the_odd_servers_are_named_with_what_differs() {
        let f = drift(
            &TlsDrift,
            &fleet(&["Disabled", "Disabled", "Enabled", "Disabled"]),
        )
        .unwrap();
        assert_eq!(f.hosts, ["EX02"]);
        assert_eq!(f.evidence[1].fact, "EX02: TLS 1.1 Enabled (most: Disabled)");
        assert!(f.evidence[0].fact.starts_with("3 of 4 servers share"));
    }

    #[test]
    fn no_finding_without_a_majority_or_with_too_few_servers() {
        assert!(drift(&TlsDrift, &fleet(&["Disabled", "Enabled"])).is_none());
        assert!(drift(
            &TlsDrift,
            &fleet(&["Disabled", "Disabled", "Enabled", "Enabled"])
        )
        .is_none());
        assert!(drift(&TlsDrift, &fleet(&["Disabled", "Disabled", "Disabled"])).is_none());
    }
}
