//! `ioc.shared-source`.

use std::collections::BTreeMap;

use exfleet_dataset::{IocMatchRow, Row};
use polars::prelude::PolarsResult;

use crate::finding::{Evidence, Finding, Severity};
use crate::rules::fleet::{fleet_finding, Fleet, FleetRule};
use crate::rules::{utc, Context};

/// The catalog entry.
pub const DOC: &str = "## Detects
One client address behind indicators of compromise on several servers: the ClientIpAddress (HttpProxy logs) or c-ip (IIS logs) of matches of the ioc.* log indicators, seen on two or more servers. One campaign across the fleet, not a single server's incident.
## Evidence
Per server: the indicators that address is behind, how many matches, and when they were first and last seen, with the first match's file and line.
## Action
Block the address at the edge (firewall, reverse proxy), search the other servers' and the network's logs for it, and handle every server listed as compromised (see ioc.cve-2021-26855); compare the first-seen times to find where it began.
## Source
Microsoft CSS-Exchange Security/src/Test-ProxyLogon.ps1 and docs/Security/Test-ProxyLogon.md (the ClientIPAddress reported with every hit); exfleet's own fleet analysis (README.md, \"The analyzer\").";

/// `ioc.shared-source`; its catalog entry is [`DOC`].
pub struct SharedSource;

impl FleetRule for SharedSource {
    fn id(&self) -> &'static str {
        "ioc.shared-source"
    }
    fn severity(&self) -> Severity {
        Severity::Critical
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, fleet: &Fleet, _: &Context, out: &mut Vec<Finding>) -> PolarsResult<()> {
        // address -> host -> its matches.
        let mut by_ip: BTreeMap<String, BTreeMap<String, Vec<IocMatchRow>>> = BTreeMap::new();
        for m in IocMatchRow::read(&fleet.latest.ioc_matches)? {
            let ip = m.client_ip.trim().to_string();
            if ip.is_empty() || ip == "-" {
                continue;
            }
            by_ip
                .entry(ip)
                .or_default()
                .entry(m.key.host.clone())
                .or_default()
                .push(m);
        }
        for (ip, hosts) in by_ip {
            if hosts.len() < 2 {
                continue;
            }
            let mut ev = Vec::new();
            for (host, matches) in &hosts {
                let mut kinds: Vec<&str> = matches.iter().map(|m| m.indicator.as_str()).collect();
                kinds.sort();
                kinds.dedup();
                let times: Vec<i64> = matches
                    .iter()
                    .map(|m| m.time_ms)
                    .filter(|t| *t != 0)
                    .collect();
                let first = times.iter().copied().min().unwrap_or(0);
                let last = times.iter().copied().max().unwrap_or(0);
                ev.push(Evidence::new(
                    format!(
                        "{host}: {} matches of {}, first seen {}, last seen {}",
                        matches.len(),
                        kinds.join(", "),
                        utc(first),
                        utc(last)
                    ),
                    &matches[0].provenance,
                ));
            }
            let names: Vec<String> = hosts.keys().cloned().collect();
            let title = format!(
                "{ip} is behind indicators of compromise on {} servers: {}",
                names.len(),
                names.join(", ")
            );
            out.push(fleet_finding(self, title, format!("ip:{ip}"), ev, names));
        }
        Ok(())
    }
}
