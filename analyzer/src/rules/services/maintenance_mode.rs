//! `services.maintenance-mode`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, first_of, utc, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
An Exchange server component left inactive in the server's local component states (`HKLM\\SOFTWARE\\Microsoft\\ExchangeServer\\v15\\ServerComponentStates\\<Component>`): a server put in maintenance mode for an update and never taken out of it keeps refusing mail, client connections or database copies. ForwardSyncDaemon and ProvisioningRps are ignored, as HealthChecker ignores them. Each value of a component's key is a requester (Maintenance, Functional, Deployment, HealthApi, ...) whose data is read as `<state>:<time>`: state 1 Active, 0 Inactive, 2 Draining; time in .NET ticks (UTC). This format is an assumption: the reference marks it unverified (no sample in Microsoft's repository), and exfleet's fixtures are written from it. A component is inactive when any requester holds it not Active. Only the local states are on the server's disk: remote states (AD), the cluster node state and database copy activation are out of reach.
## Evidence
Each inactive component with the requester, its state and since when.
## Action
If the update is over, take the server out of maintenance: `Set-ServerComponentState <server> -Component ServerWideOffline -State Active -Requester Maintenance` (and HubTransport), `Resume-ClusterNode`, `Set-MailboxServer -DatabaseCopyActivationDisabledAndMoveNow $false -DatabaseCopyAutoActivationPolicy Unrestricted`; then check `Get-ServerComponentState`.
## Source
Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): \"Server is in Maintenance Mode\" (aka.ms/HC-ServerComponentState); Microsoft Learn: Server component states in Exchange Server.";

/// The component states' key.
pub const KEY: &str = r"HKLM\SOFTWARE\Microsoft\ExchangeServer\v15\ServerComponentStates";

/// Components HealthChecker does not judge.
const IGNORED: [&str; 2] = ["ForwardSyncDaemon", "ProvisioningRps"];

/// .NET ticks (100 ns since 0001-01-01) of the Unix epoch.
const UNIX_EPOCH_TICKS: i64 = 621_355_968_000_000_000;

/// A requester's value: its state and when it was set (UTC ms), `None` when not of the form.
pub fn parse(data: &str) -> Option<(u32, Option<i64>)> {
    let (state, ticks) = match data.trim().split_once(':') {
        Some((s, t)) => (s, Some(t)),
        None => (data.trim(), None),
    };
    let state = state.trim().parse().ok()?;
    let ms = ticks
        .and_then(|t| t.trim().parse::<i64>().ok())
        .map(|t| (t - UNIX_EPOCH_TICKS) / 10_000);
    Some((state, ms))
}

fn state_name(state: u32) -> String {
    match state {
        0 => "Inactive".into(),
        1 => "Active".into(),
        2 => "Draining".into(),
        n => format!("state {n}"),
    }
}

/// `services.maintenance-mode`; its catalog entry is [`DOC`].
pub struct MaintenanceMode;

impl Rule for MaintenanceMode {
    fn id(&self) -> &'static str {
        "services.maintenance-mode"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, h: &HostView, _: &Context, out: &mut Sink) {
        let prefix = format!(r"{}\", KEY.to_ascii_lowercase());
        let mut ev = Vec::new();
        let mut components = Vec::new();
        for s in &h.settings {
            if !s.reg_key.to_ascii_lowercase().starts_with(&prefix) {
                continue;
            }
            let component = &s.reg_key[prefix.len()..];
            if IGNORED.iter().any(|c| c.eq_ignore_ascii_case(component)) {
                continue;
            }
            let Some((state, since)) = parse(&s.data) else {
                continue;
            };
            if state == 1 {
                continue;
            }
            let when = since.map_or_else(String::new, |ms| format!(" since {}", utc(ms)));
            ev.push(Evidence::new(
                format!(
                    "{component} is {} by requester {}{when}",
                    state_name(state),
                    s.name
                ),
                &s.provenance,
            ));
            if !components.contains(&component.to_string()) {
                components.push(component.to_string());
            }
        }
        if ev.is_empty() {
            return;
        }
        let title = format!(
            "In maintenance mode: {} not active",
            first_of(&components, 4)
        );
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requester_values_are_read_as_state_and_ticks() {
        // 2026-11-20T10:00:00Z in .NET ticks.
        let ticks = UNIX_EPOCH_TICKS + 1_795_687_200_000 * 10_000;
        assert_eq!(
            parse(&format!("0:{ticks}")),
            Some((0, Some(1_795_687_200_000)))
        );
        assert_eq!(parse("1"), Some((1, None)));
        assert_eq!(parse("Active"), None);
    }
}
