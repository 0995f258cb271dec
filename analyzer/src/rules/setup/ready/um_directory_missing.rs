//! `setup.ready.um-directory-missing`.

use exfleet_collector::artifacts::UM_FOLDERS;

use super::exchange_15;
use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
A folder of the install's Unified Messaging tree that setup expects is gone (`<install>UnifiedMessaging\\Grammars` or `\\Prompts`), as SetupAssist's \"Missing Directories\" test reads it: on Exchange 2013 and 2016 (an OwaVersion other than 15.2.*: Exchange 2019 has no Unified Messaging), with the install's `UnifiedMessaging` folder in the copy (a copy without it says nothing; a server whose whole `UnifiedMessaging` folder is gone cannot be told from such a copy and is not judged). An upgrade fails when it reaches them.
## Evidence
Each missing folder, and where the install was looked at.
## Action
Create the missing folders (empty is enough), then run setup.
## Source
CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts), Test-MissingDirectory.";

/// `setup.ready.um-directory-missing`; its catalog entry is [`DOC`].
pub struct UmDirectoryMissing;

impl Rule for UmDirectoryMissing {
    fn id(&self) -> &'static str {
        "setup.ready.um-directory-missing"
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
        let root = h.install_path.trim();
        if !exchange_15(h)
            || h.owa_version.starts_with("15.2")
            || !h.unified_messaging_present
            || root.is_empty()
        {
            return;
        }
        let missing: Vec<String> = UM_FOLDERS
            .iter()
            .filter(|f| !h.um_folders.0.iter().any(|p| p.eq_ignore_ascii_case(f)))
            .map(|f| format!(r"{}\UnifiedMessaging\{f}", root.trim_end_matches('\\')))
            .collect();
        if missing.is_empty() {
            return;
        }
        let ev = missing
            .iter()
            .map(|m| Evidence::new(format!("{m}: missing"), &h.exchange_files_provenance))
            .collect();
        let title = format!(
            "Setup's Unified Messaging folders are missing: {}",
            missing.join(", ")
        );
        let mut f = self.finding(h, title, ev, &action_of(DOC));
        f.signature = "UM folders missing".into();
        out.push(f);
    }
}
