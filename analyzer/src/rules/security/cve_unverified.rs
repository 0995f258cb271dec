//! `security.cve-unverified`.

use super::{build_line, exposures, grouped, ids};
use crate::exposure::Status;
use crate::finding::Severity;
use crate::rules::{action_of, first_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
The server's build carries the fix of a CVE whose fix also needs a setting or a file on the server that the collected evidence does not show: Extended Protection on every virtual directory (CVE-2022-24516, CVE-2022-21979, CVE-2022-21980, CVE-2022-24477, CVE-2022-30134, CVE-2024-21410) when applicationHost.config was not collected (when it was, the configuration opens or closes them: `security.cve-open`), serialized data signing on Exchange 2013 (the Diagnostics registry value), the Outside In module's FIP-FS override (ADV24199947), the TokenCacheModule (CVE-2023-36434 / CVE-2023-21709) and the .NET files of CVE-2020-1147. What the evidence already shows closes what it can (.NET 4.8.1 carries CVE-2020-1147's fixed files; a Windows update revision at or above the one carrying the fixed cachtokn.dll). The rest is open until the evidence shows the setting (analyzer/CVE.md); HealthChecker reports it Red when the setting is missing (and Yellow when it cannot read ADV24199947's file): a warning here, since the setting may well be in place.
## Evidence
ExSetup.exe's build; per setting, the CVEs that wait on it and what the evidence must show.
## Action
Check the setting on the server (HealthChecker shows each one) and apply it where it is missing: Extended Protection with the ExchangeExtendedProtectionManagement.ps1 script (aka.ms/ExchangeEPDoc), serialized data signing per aka.ms/HC-SerializedDataSigning, the October 2023 Windows SU for the TokenCacheModule.
## Source
Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): the Extended Protection, serialized data signing and security vulnerability sections; analyzer/CVE.md.";

/// `security.cve-unverified`; its catalog entry is [`DOC`].
pub struct CveUnverified;

impl Rule for CveUnverified {
    fn id(&self) -> &'static str {
        "security.cve-unverified"
    }
    fn severity(&self) -> Severity {
        Status::Unverified.severity()
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, h: &HostView, cx: &Context, out: &mut Sink) {
        let waiting = exposures(h, cx, Status::Unverified);
        if waiting.is_empty() {
            return;
        }
        let cves = ids(&waiting);
        let mut ev: Vec<_> = build_line(h, cx).into_iter().collect();
        ev.extend(grouped(
            &waiting,
            |e| e.needs.as_str(),
            |e, ids| format!("{ids}: open until the evidence shows {}", e.needs),
            cx,
        ));
        let title = format!(
            "{} CVE{} wait on a setting the evidence does not show: {}",
            cves.len(),
            if cves.len() == 1 { "" } else { "s" },
            first_of(&cves, 4)
        );
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}
