//! `setup.ready.ucma-missing`.

use super::{exchange_15, software_read, version_absent};
use crate::finding::Severity;
use crate::rules::{Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
The Unified Communications Managed API 4.0 runtime is not installed: `HKLM\\SOFTWARE\\Microsoft\\UCMA\\{902F4F35-D5DC-4363-8671-D5EF0D26C21D}` has no `Version`, as SetupAssist's \"UCMA Installed\" test reads it. Setup of the Mailbox role needs it; judged on Exchange 2013 and later servers other than Edge Transport, from a SOFTWARE hive read whole (SetupAssist makes no role distinction; Edge never installs UCMA).
## Evidence
The registry key looked at.
## Action
Install the Unified Communications Managed API 4.0 Runtime (from the Exchange media's UCMARedist folder, or the download) before the next CU.
## Source
CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts), \"UCMA Installed\" (aka.ms/SA-ServerPrerequisites); Exchange Server prerequisites (Microsoft Learn).";

/// The key SetupAssist reads, as the settings rows name it.
pub const KEY: &str = r"HKLM\SOFTWARE\Microsoft\UCMA\{902F4F35-D5DC-4363-8671-D5EF0D26C21D}";

/// `setup.ready.ucma-missing`; its catalog entry is [`DOC`].
pub struct UcmaMissing;

impl Rule for UcmaMissing {
    fn id(&self) -> &'static str {
        "setup.ready.ucma-missing"
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
    fn check(&self, h: &HostView, _: &Context, out: &mut Sink) {
        if !exchange_15(h) || h.is_edge() || !software_read(h) {
            return;
        }
        version_absent(self, h, KEY, "UCMA 4.0 runtime", out);
    }
}
