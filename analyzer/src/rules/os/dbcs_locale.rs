//! `os.dbcs-locale`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
Exchange 2010 (setup key v14) on Windows Server 2012 or 2012 R2 whose system locale is double-byte (ANSI code page 932 Japanese, 936 Simplified Chinese, 949 Korean, 950 Traditional Chinese): update rollups fail to install there.
## Evidence
The setup key, the OS ProductName and the ANSI code page.
## Action
Before installing the rollup, set the system locale (Control Panel, Region, Administrative, Change system locale) to English (United States), reboot, install the rollup, then set the locale back and reboot again.
## Source
Update Rollup 32 for Exchange Server 2010 SP3 (KB 5000978), \"How to install this update on a DBCS version of Windows Server 2012\", also in Repair failed installations of Exchange cumulative and security updates (Microsoft Learn).";

/// `os.dbcs-locale`; its catalog entry is [`DOC`].
pub struct DbcsLocale;

/// Double-byte ANSI code pages.
const DBCS: [(&str, &str); 4] = [
    ("932", "Japanese"),
    ("936", "Simplified Chinese"),
    ("949", "Korean"),
    ("950", "Traditional Chinese"),
];

impl Rule for DbcsLocale {
    fn id(&self) -> &'static str {
        "os.dbcs-locale"
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
        let ws2012 = h.os_product_name.contains("Server 2012")
            || matches!(h.os_current_build.as_str(), "9200" | "9600");
        if h.exchange_setup_key != "v14" || !ws2012 {
            return;
        }
        let Some((cp, language)) = DBCS.iter().find(|(cp, _)| *cp == h.ansi_code_page) else {
            return;
        };
        let ev = vec![
            Evidence::new("Exchange 2010 (setup key v14)", &h.msi_provenance),
            Evidence::new(
                format!("{} (build {})", h.os_product_name, h.os_current_build),
                "",
            ),
            Evidence::new(
                format!("ANSI code page {cp} ({language})"),
                &h.code_page_provenance,
            ),
        ];
        let title = format!("Exchange 2010 on Windows Server 2012 with a {language} (code page {cp}) system locale: rollups fail");
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}
