//! `fleet.tls-drift`.

use std::collections::BTreeMap;

use exfleet_dataset::{Row, SettingRow};
use polars::prelude::*;

use super::{fleet_finding, Fleet, FleetRule};
use crate::finding::{Evidence, Finding, Severity};
use crate::rules::Context;
use crate::tls::Tls;

/// The catalog entry.
pub const DOC: &str = "## Detects
Servers whose TLS configuration differs from the one most servers of the fleet share: each protocol version's state (Enabled, Disabled, Half Disabled, Misconfigured, from the SCHANNEL keys) and .NET's SystemDefaultTlsVersions and SchUseStrongCrypto (64-bit and 32-bit). Exchange servers talk to each other as clients and servers: one that disabled a version its peers still need, or kept one they turned off, fails or weakens those connections, and a hardening wave that did not reach every server shows here. Judged over the servers whose SYSTEM and SOFTWARE settings were collected, when at least 3 are and more than half share one configuration.
## Evidence
The configuration most servers share and how many do; each odd server with its own.
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
        let mut by_host: BTreeMap<String, Vec<SettingRow>> = BTreeMap::new();
        for r in SettingRow::read(&fleet.latest.registry_settings)? {
            by_host.entry(r.key.host.clone()).or_default().push(r);
        }
        let signatures: BTreeMap<String, String> = by_host
            .into_iter()
            .filter_map(|(h, rows)| Tls::from_settings(&rows).map(|t| (h, t.signature())))
            .collect();
        if signatures.len() < MIN_HOSTS {
            return Ok(());
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for s in signatures.values() {
            *counts.entry(s.as_str()).or_default() += 1;
        }
        let Some((&common, &n)) = counts.iter().max_by_key(|(_, n)| **n) else {
            return Ok(());
        };
        if n * 2 <= signatures.len() {
            return Ok(());
        }
        let odd: Vec<(&String, &String)> =
            signatures.iter().filter(|(_, s)| *s != common).collect();
        if odd.is_empty() {
            return Ok(());
        }
        let mut ev = vec![Evidence::new(
            format!("{n} of {} servers share: {common}", signatures.len()),
            "registry_settings (SCHANNEL, .NETFramework)",
        )];
        ev.extend(odd.iter().map(|(h, s)| {
            Evidence::new(
                format!("{h}: {s}"),
                format!("{h}: registry_settings (SCHANNEL, .NETFramework)"),
            )
        }));
        let hosts: Vec<String> = odd.iter().map(|(h, _)| (*h).clone()).collect();
        let title = format!(
            "{} server{} differ from the fleet's TLS configuration",
            hosts.len(),
            if hosts.len() == 1 { "" } else { "s" }
        );
        out.push(fleet_finding(self, title, "tls".into(), ev, hosts));
        Ok(())
    }
}
