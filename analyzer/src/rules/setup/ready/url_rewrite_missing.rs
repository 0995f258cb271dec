//! `setup.ready.url-rewrite-missing`.

use super::{exchange_15, software_read, version_absent};
use crate::finding::Severity;
use crate::rules::{Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
The IIS URL Rewrite module is not installed: `HKLM\\SOFTWARE\\Microsoft\\IIS Extensions\\URL Rewrite` has no `Version`, as SetupAssist's \"IIS URL Rewrite\" test reads it. Setup of Exchange 2016 CU22, 2019 CU11 and every later CU and SE stops on it (its `IisUrlRewriteNotInstalled` rule, `setup.prereq.url-rewrite-missing` once it has): judged on Exchange 2016, 2019 and SE servers other than Edge Transport (no IIS), from a SOFTWARE hive read whole.
## Evidence
The registry key looked at.
## Action
Install the IIS URL Rewrite module 2.1 (x64) before the next CU; it is also what Microsoft's mitigations (EOMT) need.
## Source
CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts), \"IIS URL Rewrite\" (aka.ms/SA-IISRewrite); Exchange Server prerequisites (Microsoft Learn).";

/// The key SetupAssist reads, as the settings rows name it.
pub const KEY: &str = r"HKLM\SOFTWARE\Microsoft\IIS Extensions\URL Rewrite";

/// `setup.ready.url-rewrite-missing`; its catalog entry is [`DOC`].
pub struct UrlRewriteMissing;

impl Rule for UrlRewriteMissing {
    fn id(&self) -> &'static str {
        "setup.ready.url-rewrite-missing"
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
        // Exchange 2013's setup never needed it.
        let needs = h
            .exsetup
            .as_ref()
            .or(h.msi.as_ref())
            .is_some_and(|b| b.0[0] == 15 && b.0[1] >= 1);
        if !exchange_15(h) || !needs || h.is_edge() || !software_read(h) {
            return;
        }
        version_absent(self, h, KEY, "IIS URL Rewrite", out);
    }
}
