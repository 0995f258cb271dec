//! `os.defender-exclusions`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, first_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
Microsoft Defender Antivirus scans on the server (its WinDefend service not disabled; not turned off by DisableAntiSpyware or Real-Time Protection's DisableRealtimeMonitoring, locally or by policy; not in passive mode, locally or forced by Defender for Endpoint's ForceDefenderPassiveMode) and its exclusions (`HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Exclusions\\Paths|Processes` and the policy keys under `HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\\Exclusions`; the local ones ignored under DisableLocalAdminMerge) leave out folders or processes Exchange needs excluded on Exchange 2013 and later: scanning them locks databases, logs and queues, breaks content indexing and makes updates fail. Judged against the default locations of Microsoft's list (relative to the install path; the IIS and .NET folders, the cluster folder on DAG members; the main Exchange processes), a path exclusion covering its subfolders, wildcards and the usual environment variables understood: databases and logs moved elsewhere, and the per-role transport paths an administrator changed, need the Exchange Management Shell (Get-ExchAVExclusions.ps1) and are out of reach of the server's disk. Third-party antivirus cannot be judged.
## Evidence
The WinDefend service's start type; each folder and process not covered by an exclusion.
## Action
Add the missing exclusions (CSS-Exchange's Set-ExchAVExclusions.ps1 sets Microsoft's list for the server's roles), then check them with Test-ExchAVExclusions.ps1.
## Source
Microsoft Learn: Running Windows antivirus software on Exchange servers (folder, process and file name extension exclusions); CSS-Exchange Setup/SetExchAVExclusions/Set-ExchAVExclusions.ps1 and Shared/Get-ExchAVExclusions.ps1.";

const DEFENDER: &str = r"HKLM\SOFTWARE\Microsoft\Windows Defender";
const POLICY: &str = r"HKLM\SOFTWARE\Policies\Microsoft\Windows Defender";
const ATP_POLICY: &str = r"HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection";

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
const SYSTEM_FOLDERS: [&str; 3] = [
    r"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\Temporary ASP.NET Files",
    r"C:\Windows\System32\Inetsrv",
    r"C:\inetpub\temp\IIS Temporary Compressed Files",
];

/// The cluster folder, excluded on DAG members.
const CLUSTER_FOLDER: &str = r"C:\Windows\Cluster";

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

/// A path with environment variables expanded the default way, lower case, no trailing `\`
/// nor `\*`.
fn normal(path: &str, install: &str) -> String {
    let mut p = path.trim().to_ascii_lowercase();
    for (var, value) in [
        ("%exchangeinstallpath%", install.to_ascii_lowercase()),
        ("%systemroot%", r"c:\windows".to_string()),
        ("%windir%", r"c:\windows".to_string()),
        ("%systemdrive%", "c:".to_string()),
        ("%programfiles%", r"c:\program files".to_string()),
        ("%programdata%", r"c:\programdata".to_string()),
    ] {
        p = p.replace(var, &value);
    }
    let p = p.replace(r"\\", r"\");
    p.trim_end_matches('*').trim_end_matches('\\').to_string()
}

/// `*` matching any run of characters (Defender's path wildcard).
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            text.starts_with(head)
                && (0..=text.len() - head.len())
                    .filter(|&i| text.is_char_boundary(head.len() + i))
                    .any(|i| glob(rest, &text[head.len() + i..]))
        }
    }
}

/// Whether an exclusion (normalised) covers a folder (normalised): the folder itself or one
/// above it.
fn covers(exclusion: &str, folder: &str) -> bool {
    let mut f = folder;
    loop {
        if glob(exclusion, f) {
            return true;
        }
        match f.rfind('\\') {
            Some(i) => f = &f[..i],
            None => return false,
        }
    }
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
        // Exchange 2010's list differs; a hive not read completely may hide exclusions.
        if h.facts.exchange_setup_key == "v14"
            || h.hive_unclean("software_hive").is_some()
            || h.hive_unclean("system_hive").is_some()
        {
            return;
        }
        let Some(service) = h
            .services
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case("WinDefend"))
        else {
            return;
        };
        let set = |keys: &[String], name: &str| {
            keys.iter()
                .any(|k| dword(h, k, name).as_deref() == Some("1"))
        };
        let both = |sub: &str| [format!("{DEFENDER}{sub}"), format!("{POLICY}{sub}")];
        if service.start == 4
            || set(&both(""), "DisableAntiSpyware")
            || set(&both(""), "PassiveMode")
            || set(&[ATP_POLICY.to_string()], "ForceDefenderPassiveMode")
            || set(&both(r"\Real-Time Protection"), "DisableRealtimeMonitoring")
        {
            return;
        }
        let install = h.facts.install_path.trim();
        if install.is_empty() {
            return;
        }
        let local_ignored = set(&[POLICY.to_string()], "DisableLocalAdminMerge");
        let excluded = |kind: &str| -> Vec<String> {
            let mut keys = vec![format!(r"{POLICY}\Exclusions\{kind}").to_ascii_lowercase()];
            if !local_ignored {
                keys.push(format!(r"{DEFENDER}\Exclusions\{kind}").to_ascii_lowercase());
            }
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
        let dag_member = !h.facts.dag.is_empty();
        let folders = INSTALL_FOLDERS
            .iter()
            .filter(|f| needed(f))
            .map(|f| format!("{base}{f}"))
            .chain(
                SYSTEM_FOLDERS
                    .iter()
                    .filter(|_| !edge)
                    .map(|f| f.to_string()),
            )
            .chain((dag_member && !edge).then(|| CLUSTER_FOLDER.to_string()));
        let missing_folders: Vec<String> = folders
            .filter(|f| {
                let f = normal(f, install);
                !paths.iter().any(|p| covers(p, &f))
            })
            .collect();
        // A process exclusion, not a file exclusion of the executable: only the former
        // excludes what the process opens.
        let missing_processes: Vec<&str> = PROCESSES
            .iter()
            .copied()
            .filter(|p| needed(p))
            .filter(|p| {
                let p = p.to_ascii_lowercase();
                !processes
                    .iter()
                    .any(|x| *x == p || x.ends_with(&format!(r"\{p}")) || glob(x, &p))
            })
            .collect();
        if missing_folders.is_empty() && missing_processes.is_empty() {
            return;
        }
        let mut ev = vec![Evidence::new(
            format!(
                "Microsoft Defender scans: WinDefend start type {}, not turned off, real-time protection on, not passive",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusions_cover_their_subfolders_with_variables_and_wildcards() {
        let install = r"D:\Exchange\V15\";
        let f = normal(r"D:\Exchange\V15\Mailbox", install);
        for e in [
            r"%ExchangeInstallPath%Mailbox",
            r"D:\Exchange\V15\",
            r"D:\Exchange\V15\Mailbox\*",
            r"D:\*\V15\Mailbox",
        ] {
            assert!(covers(&normal(e, install), &f), "{e}");
        }
        for e in [
            r"D:\Exchange\V15\Mail",
            r"D:\Exchange\V15\Mailbox\Database1",
        ] {
            assert!(!covers(&normal(e, install), &f), "{e}");
        }
        assert!(covers(
            &normal(r"%ProgramFiles%\Microsoft\Exchange Server\V15", install),
            &normal(
                r"C:\Program Files\Microsoft\Exchange Server\V15\Logging",
                install
            )
        ));
    }
}
