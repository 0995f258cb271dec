//! `ioc.suspicious-archive`.

use exfleet_proto::kinds::IocKind;

use super::Indicator;
use crate::finding::Severity;

/// The catalog entry.
pub const DOC: &str = "## Detects
An archive (`.7z`, `.zip`, `.rar`, case ignored) anywhere under `%ProgramData%`, where the 2021 web shells staged data for exfiltration. As Test-ProxyLogon does, every one is listed: whether it is legitimate is the administrator's call, and allow-listing by name is deliberately not done (attackers would adopt the names). Severity by correlation, as the reference advises for the files collected on every run: critical when the server also shows a log indicator (an ioc.cve-* match), a warning alone (a backup or a support bundle is as likely as staged data); its write time never dates a compromise, alone or not (neither the report's first seen nor the update state when it began: those come from the server's log matches and LSASS dumps).
## Evidence
Each file with its path, size and last write time; whether the server shows a log indicator; with one, when the activity began by the log matches and LSASS dumps, and the update state then.
## Action
Check each archive: who made it and what it holds; if nobody can account for it, treat the server as compromised (see ioc.cve-2021-26855).
## Source
Microsoft CSS-Exchange Test-ProxyLogon.ps1 (aka.ms/TestProxyLogon, docs/Security/Test-ProxyLogon.md) and Microsoft Security blog \"HAFNIUM targeting Exchange Servers with 0-day exploits\" (March 2021); exfleet collector/EVIDENCE.md (the indicator scans).";

/// `ioc.suspicious-archive`; its catalog entry is [`DOC`].
pub static RULE: Indicator = Indicator {
    id: "ioc.suspicious-archive",
    kinds: &[IocKind::SuspiciousArchive],
    cves: &[],
    what: "Archive under ProgramData",
    alone: Severity::Warning,
    doc: DOC,
    module_path: module_path!(),
};
