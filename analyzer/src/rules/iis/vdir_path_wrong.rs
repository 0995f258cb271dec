//! `iis.vdir-path-wrong`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
An Exchange virtual directory points at the wrong physical path: in \"Default Web Site\" the Exchange applications (/owa, /ecp, /EWS, /mapi, /Microsoft-Server-ActiveSync, /OAB, /PowerShell, /Autodiscover, /Rpc) must map to the install root's FrontEnd\\HttpProxy\\<folder>, in \"Exchange Back End\" to ClientAccess\\...\\<folder> (Exchange 2010's Default Web Site maps to ClientAccess), under the install path the setup key gives (a path with unexpanded variables is iis.config-variable-unexpanded, not this).
## Evidence
The application, its physicalPath and the line of applicationHost.config; the path expected from the install path.
## Action
Set the virtual directory's physical path back (IIS Manager, Basic Settings, or `Set-WebConfigurationProperty`), to the folder the evidence gives, then `iisreset`; if several are wrong, re-run the last CU setup or UpdateCas.ps1.
## Source
Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): IIS virtual directory physical paths (Default Web Site in FrontEnd\\HttpProxy, Exchange Back End in ClientAccess).";

/// `iis.vdir-path-wrong`; its catalog entry is [`DOC`].
pub struct VdirPathWrong;

/// Exchange applications and the folder names their physical path may end with.
const APPS: [(&str, &[&str]); 9] = [
    ("/owa", &["owa"]),
    ("/ecp", &["ecp"]),
    ("/EWS", &["EWS"]),
    ("/mapi", &["mapi"]),
    ("/Microsoft-Server-ActiveSync", &["sync"]),
    ("/OAB", &["OAB"]),
    ("/PowerShell", &["PowerShell", "PowerShell-Proxy"]),
    ("/Autodiscover", &["Autodiscover"]),
    ("/Rpc", &["rpc"]),
];

/// The folder under the install root where a site's Exchange applications live. Exchange
/// 2010 (setup key v14) has no front end: its Default Web Site maps to ClientAccess.
fn root_of(site: &str, setup_key: &str) -> Option<&'static str> {
    match site {
        "Default Web Site" if setup_key == "v14" => Some("ClientAccess\\"),
        "Default Web Site" => Some("FrontEnd\\HttpProxy\\"),
        "Exchange Back End" => Some("ClientAccess\\"),
        _ => None,
    }
}

impl Rule for VdirPathWrong {
    fn id(&self) -> &'static str {
        "iis.vdir-path-wrong"
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
        if h.install_path.is_empty() {
            return;
        }
        let install = h.install_path.to_ascii_lowercase();
        let mut ev = Vec::new();
        let mut apps = Vec::new();
        for v in h.vdirs.iter().filter(|v| v.vdir_path == "/") {
            let Some(root) = root_of(&v.site, &h.exchange_setup_key) else {
                continue;
            };
            let Some((app, folders)) = APPS
                .iter()
                .find(|(a, _)| a.eq_ignore_ascii_case(&v.app_path))
            else {
                continue;
            };
            if v.physical_path.contains('%') {
                continue;
            }
            let physical = v.physical_path.trim_end_matches('\\').to_ascii_lowercase();
            let base = format!("{install}{}", root.to_ascii_lowercase());
            let last = physical.rsplit('\\').next().unwrap_or("");
            let right =
                physical.starts_with(&base) && folders.iter().any(|f| f.eq_ignore_ascii_case(last));
            if right {
                continue;
            }
            apps.push(format!("{} {app}", v.site));
            ev.push(Evidence::new(
                format!(
                    "{} {app} maps to {}; expected {}{root}...\\{}",
                    v.site, v.physical_path, h.install_path, folders[0]
                ),
                &v.provenance,
            ));
        }
        if ev.is_empty() {
            return;
        }
        let title = format!(
            "{} virtual director{} at the wrong folder: {}",
            ev.len(),
            if ev.len() == 1 {
                "y points"
            } else {
                "ies point"
            },
            apps.join(", ")
        );
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}
