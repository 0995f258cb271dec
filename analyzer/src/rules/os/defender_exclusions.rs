//! `os.defender-exclusions`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, first_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
Microsoft Defender Antivirus runs on the server (its WinDefend service not disabled, not turned off by DisableAntiSpyware, not in passive mode) and its exclusions (`HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Exclusions\\Paths|Processes` and the policy keys under `HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\\Exclusions`) leave out folders or processes Exchange needs excluded: scanning them locks databases, logs and queues, breaks content indexing and makes updates fail. Judged against the default locations of Microsoft's list (relative to the install path; the IIS, .NET and cluster folders; the main Exchange processes): databases and logs moved elsewhere, and the per-role transport paths an administrator changed, need the Exchange Management Shell (Get-ExchAVExclusions.ps1) and are out of reach of the server's disk. Third-party antivirus cannot be judged.
## Evidence
The WinDefend service's start type; each folder and process not covered by an exclusion.
## Action
Add the missing exclusions (CSS-Exchange's Set-ExchAVExclusions.ps1 sets Microsoft's list for the server's roles), then check them with Test-ExchAVExclusions.ps1.
## Source
Microsoft Learn: Running Windows antivirus software on Exchange servers (folder, process and file name extension exclusions); CSS-Exchange Setup/SetExchAVExclusions/Set-ExchAVExclusions.ps1 and Shared/Get-ExchAVExclusions.ps1.";

const DEFENDER: &str = r"HKLM\SOFTWARE\Microsoft\Windows Defender";
const POLICY: &str = r"HKLM\SOFTWARE\Policies\Microsoft\Windows Defender";

/// Folders below the install path to exclude (Microsoft's list, default locations).
const INSTALL_FOLDERS: [&str; 10] = [
    r"ClientAccess\OAB",
    r"FIP-FS",
    r"GroupMetrics",
    r"Logging",
    r"Mailbox",
    r"TransportRoles\Data",
    r"TransportRoles\Logs",
    r"TransportRoles\Pickup",
    r"TransportRoles\Replay",
    r"Working\OleConverter",
];

/// Windows folders to exclude.
const SYSTEM_FOLDERS: [&str; 4] = [
    r"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\Temporary ASP.NET Files",
    r"C:\Windows\System32\Inetsrv",
    r"C:\inetpub\temp\IIS Temporary Compressed Files",
    r"C:\Windows\Cluster",
];

/// Processes to exclude on a Mailbox server (an Edge server: [`EDGE`]).
const PROCESSES: [&str; 12] = [
    "EdgeTransport.exe",
    "Microsoft.Exchange.Store.Service.exe",
    "Microsoft.Exchange.Store.Worker.exe",
    "MSExchangeDelivery.exe",
    "MSExchangeFrontendTransport.exe",
    "MSExchangeHMWorker.exe",
    "MSExchangeMailboxAssistants.exe",
    "MSExchangeRepl.exe",
    "MSExchangeSubmission.exe",
    "MSExchangeTransport.exe",
    "NodeRunner.exe",
    "w3wp.exe",
];

/// What an Edge Transport server needs of the lists above.
const EDGE: [&str; 7] = [
    r"Logging",
    r"TransportRoles\Data",
    r"TransportRoles\Logs",
    r"TransportRoles\Pickup",
    r"TransportRoles\Replay",
    "EdgeTransport.exe",
    "MSExchangeTransport.exe",
];

fn dword(h: &HostView, key: &str, name: &str) -> Option<String> {
    h.setting(key, name)
        .filter(|s| s.reg_type == "REG_DWORD")
        .map(|s| s.data.clone())
}

/// A path with environment variables expanded the default way, lower case, no trailing `\`.
fn normal(path: &str, install: &str) -> String {
    let p = path.trim().to_ascii_lowercase();
    let p = p
        .replace("%exchangeinstallpath%", &install.to_ascii_lowercase())
        .replace("%systemroot%", r"c:\windows")
        .replace("%windir%", r"c:\windows")
        .replace("%systemdrive%", "c:");
    p.trim_end_matches('\\').replace(r"\\", r"\")
}

/// `os.defender-exclusions`; its catalog entry is [`DOC`].
pub struct DefenderExclusions;

impl Rule for DefenderExclusions {
    fn id(&self) -> &'static str {
        "os.defender-exclusions"
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
        let Some(service) = h
            .services
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case("WinDefend"))
        else {
            return;
        };
        let off = |name: &str| {
            [DEFENDER, POLICY]
                .iter()
                .any(|k| dword(h, k, name).as_deref() == Some("1"))
        };
        if service.start == 4 || off("DisableAntiSpyware") || off("PassiveMode") {
            return;
        }
        let install = h.facts.install_path.trim();
        if install.is_empty() {
            return;
        }
        let excluded = |kind: &str| -> Vec<String> {
            let keys = [
                format!(r"{DEFENDER}\Exclusions\{kind}").to_ascii_lowercase(),
                format!(r"{POLICY}\Exclusions\{kind}").to_ascii_lowercase(),
            ];
            h.settings
                .iter()
                .filter(|s| keys.contains(&s.reg_key.to_ascii_lowercase()))
                .map(|s| normal(&s.name, install))
                .collect()
        };
        let paths = excluded("Paths");
        let processes = excluded("Processes");
        let base = if install.ends_with('\\') {
            install.to_string()
        } else {
            format!(r"{install}\")
        };
        let edge = h.roles.iter().any(|r| {
            r.role()
                .is_some_and(|x| x.eq_ignore_ascii_case("EdgeTransportRole"))
        });
        let needed = |item: &str| !edge || EDGE.contains(&item);
        let folders = INSTALL_FOLDERS
            .iter()
            .filter(|f| needed(f))
            .map(|f| format!("{base}{f}"))
            .chain(
                SYSTEM_FOLDERS
                    .iter()
                    .filter(|_| !edge)
                    .map(|f| f.to_string()),
            );
        let missing_folders: Vec<String> = folders
            .filter(|f| {
                let f = normal(f, install);
                !paths
                    .iter()
                    .any(|p| f == *p || f.starts_with(&format!(r"{p}\")))
            })
            .collect();
        let missing_processes: Vec<&str> = PROCESSES
            .iter()
            .copied()
            .filter(|p| needed(p))
            .filter(|p| {
                let p = p.to_ascii_lowercase();
                !processes
                    .iter()
                    .chain(&paths)
                    .any(|x| *x == p || x.ends_with(&format!(r"\{p}")))
            })
            .collect();
        if missing_folders.is_empty() && missing_processes.is_empty() {
            return;
        }
        let mut ev = vec![Evidence::new(
            format!(
                "Microsoft Defender runs: WinDefend start type {}, not turned off or passive",
                service.start
            ),
            &service.provenance,
        )];
        let prov = format!(r"{DEFENDER}\Exclusions");
        if !missing_folders.is_empty() {
            ev.push(Evidence::new(
                format!(
                    "{} folder(s) not excluded: {}",
                    missing_folders.len(),
                    missing_folders.join("; ")
                ),
                &prov,
            ));
        }
        if !missing_processes.is_empty() {
            ev.push(Evidence::new(
                format!(
                    "{} process(es) not excluded: {}",
                    missing_processes.len(),
                    missing_processes.join(", ")
                ),
                &prov,
            ));
        }
        let mut all: Vec<String> = missing_folders;
        all.extend(missing_processes.iter().map(|p| p.to_string()));
        let title = format!(
            "Microsoft Defender scans what Exchange needs excluded: {}",
            first_of(&all, 3)
        );
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}
