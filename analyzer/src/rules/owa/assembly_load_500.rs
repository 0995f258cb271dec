//! `owa.assembly-load-500`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, utc, Context, Rule, Sink};
use crate::view::HostView;
use exfleet_dataset::EventRow;

/// The catalog entry.
pub const DOC: &str = "## Detects
OWA or ECP answer HTTP 500 because ASP.NET cannot load an Exchange assembly: ASP.NET 1309 or 1310 events (or front-end proxy 1003) saying \"Could not load file or assembly 'Microsoft.Exchange.*\", typically after an SU or CU whose config files were not updated.
## Evidence
How many such events, the first and the last with their time, application path and the assembly named, each with its record id.
## Action
From an elevated Exchange Management Shell, run `.\\UpdateCas.ps1` and `.\\UpdateConfigFiles.ps1` from `$exinstall\\Bin`, then `iisreset`; if it persists, re-run the SU from an elevated prompt.
## Source
Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): \"OWA or ECP 500 errors\" (\"Could not load file or assembly Microsoft.Exchange...\": UpdateCas.ps1, UpdateConfigFiles.ps1, iisreset), and the Microsoft Learn article on OWA that stops working after an update it links.";

/// `owa.assembly-load-500`; its catalog entry is [`DOC`].
pub struct AssemblyLoad500;

/// An event that says an Exchange assembly could not be loaded.
fn assembly_load(e: &EventRow) -> bool {
    let asp = e.provider.starts_with("ASP.NET") && matches!(e.event_id, 1309 | 1310);
    let proxy = e.provider == "MSExchange Front End HTTP Proxy" && e.event_id == 1003;
    let text = e.text();
    (asp || proxy)
        && text.contains("Could not load file or assembly")
        && text.contains("Microsoft.Exchange")
}

/// The web application an ASP.NET event is about: the first datum that is a virtual path.
fn app(e: &EventRow) -> &str {
    e.data
        .iter()
        .find(|d| d.starts_with('/') && !d.starts_with("/LM/"))
        .map_or("?", String::as_str)
}

/// The assembly named in the message.
fn assembly(e: &EventRow) -> String {
    let text = e.text();
    text.split("Could not load file or assembly '")
        .nth(1)
        .and_then(|r| r.split(['\'', ',']).next())
        .unwrap_or("Microsoft.Exchange.*")
        .to_string()
}

impl Rule for AssemblyLoad500 {
    fn id(&self) -> &'static str {
        "owa.assembly-load-500"
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
    fn check(&self, h: &HostView, _: &Context, out: &mut Sink) {
        let hits: Vec<&EventRow> = h.events.iter().filter(|e| assembly_load(e)).collect();
        let (Some(first), Some(last)) = (hits.first(), hits.last()) else {
            return;
        };
        let mut apps: Vec<&str> = hits.iter().map(|e| app(e)).collect();
        apps.sort();
        apps.dedup();
        let mut ev = vec![Evidence::new(
            format!(
                "{} event(s) from {} to {} in {}",
                hits.len(),
                utc(first.time_ms),
                utc(last.time_ms),
                apps.join(", ")
            ),
            "",
        )];
        for e in [first, last]
            .into_iter()
            .take(if hits.len() > 1 { 2 } else { 1 })
        {
            ev.push(Evidence::new(
                format!(
                    "{} {} at {} ({}): could not load {}",
                    e.provider,
                    e.event_id,
                    utc(e.time_ms),
                    app(e),
                    assembly(e)
                ),
                &e.provenance,
            ));
        }
        let title = format!(
            "{} return{} HTTP 500: {} cannot be loaded",
            apps.join(" and "),
            if apps.len() == 1 { "s" } else { "" },
            assembly(last)
        );
        let mut f = self.finding(h, title, ev, &action_of(DOC));
        f.signature = format!("could not load {}", assembly(last));
        out.push(f);
    }
}
