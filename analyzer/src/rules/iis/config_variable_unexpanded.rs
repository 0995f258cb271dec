//! `iis.config-variable-unexpanded`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, line_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
A virtual directory's web.config still holds the literal `%ExchangeInstallDir%`: the SU that wrote it ran without elevation, so the variable was never replaced and the application cannot find its assemblies.
## Evidence
Each web.config with the lines that hold the variable.
## Action
Re-run the SU from an elevated prompt (Run as administrator); or replace `%ExchangeInstallDir%` in the listed files with the install path (keep a copy first), then `iisreset`.
## Source
Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): \"Default Variable Detected\" in a web.config (aka.ms/HC-DefaultVariableDetected); Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): install updates from an elevated prompt.";

/// `iis.config-variable-unexpanded`; its catalog entry is [`DOC`].
pub struct ConfigVariableUnexpanded;

impl Rule for ConfigVariableUnexpanded {
    fn id(&self) -> &'static str {
        "iis.config-variable-unexpanded"
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
        let mut ev = Vec::new();
        let mut files = Vec::new();
        for f in h
            .config_files
            .iter()
            .filter(|f| !f.unexpanded_lines.is_empty())
        {
            files.push(f.path.clone());
            let lines: Vec<String> = f.unexpanded_lines.iter().map(i64::to_string).collect();
            ev.push(Evidence::new(
                format!(
                    "{} holds %ExchangeInstallDir% on line(s) {}",
                    f.path,
                    lines.join(", ")
                ),
                line_of(&f.provenance, f.unexpanded_lines[0]),
            ));
        }
        if ev.is_empty() {
            return;
        }
        let title = format!(
            "%ExchangeInstallDir% left unexpanded in {}",
            files.join(", ")
        );
        let mut f = self.finding(h, title, ev, &action_of(DOC));
        f.signature = "%ExchangeInstallDir% unexpanded".into();
        out.push(f);
    }
}
