//! `iis.backend-binding-ip`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
The \"Exchange Back End\" site of applicationHost.config has no https binding on all addresses of port 444 (`*:444:`): it is bound to a single IP address (or a host name) instead, so the front end's proxy to the back end on the server's other addresses (and to localhost) fails.
## Evidence
The https bindings of the Exchange Back End site, with their lines in applicationHost.config.
## Action
In IIS Manager, edit the Exchange Back End site's https binding: IP address \"All Unassigned\", port 444, no host name, the \"Microsoft Exchange\" certificate; then iisreset.
## Source
Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): IIS configuration, \"Make sure 'Exchange Back End' website is not bind with single IP Address\" (Red).";

/// `iis.backend-binding-ip`; its catalog entry is [`DOC`].
pub struct BackendBindingIp;

/// The binding the back end needs.
const ALL_ADDRESSES_444: &str = "*:444:";

impl Rule for BackendBindingIp {
    fn id(&self) -> &'static str {
        "iis.backend-binding-ip"
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
    fn check(&self, h: &HostView, _cx: &Context, out: &mut Sink) {
        let back_end: Vec<_> = h
            .site_bindings
            .iter()
            .filter(|b| b.site.eq_ignore_ascii_case("Exchange Back End"))
            .collect();
        // No Back End site (Exchange 2010, Edge, applicationHost.config not collected).
        if back_end.is_empty() {
            return;
        }
        let https: Vec<_> = back_end
            .iter()
            .filter(|b| b.protocol.eq_ignore_ascii_case("https"))
            .collect();
        if https.iter().any(|b| b.endpoint.trim() == ALL_ADDRESSES_444) {
            return;
        }
        let ev: Vec<Evidence> = if https.is_empty() {
            vec![Evidence::new(
                "Exchange Back End has no https binding",
                &back_end[0].provenance,
            )]
        } else {
            https
                .iter()
                .map(|b| {
                    Evidence::new(
                        format!(
                            "Exchange Back End binds https {} (expected {ALL_ADDRESSES_444})",
                            b.endpoint
                        ),
                        &b.provenance,
                    )
                })
                .collect()
        };
        out.push(self.finding(
            h,
            "The Exchange Back End site is not bound to *:444:".into(),
            ev,
            &action_of(DOC),
        ));
    }
}
