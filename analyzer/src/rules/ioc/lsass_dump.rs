//! `ioc.lsass-dump`.

use exfleet_proto::kinds::IocKind;

use super::Indicator;
use crate::finding::Severity;

/// The catalog entry.
pub const DOC: &str = "## Detects
A memory dump of LSASS (file name `lsass.*dmp`, case ignored) under `C:\\root` or `%WINDIR%\\Temp`, where the 2021 attackers left them: credentials were likely taken. Listed on every collection (Test-ProxyLogon looks only after a log hit). Critical even with no log indicator, unlike an archive: a dump of LSASS holds the credentials of everyone logged on, an administrator seldom leaves one in these folders, and the logs that would show the entry may be rotated away or the entry may have come another way (the CVE-2021-26857 events, a stolen password).
## Evidence
Each file with its path, size and last write time.
## Action
Treat the server as compromised until proven otherwise: isolate it, keep the logs cited, scan it with Microsoft Defender or the Safety Scanner (MSERT), look for web shells in the paths of ioc.cve-2021-26858 and ioc.cve-2021-27065 and the web folders of ioc.aspx-outlier (aspnet_client, owa\\auth, ecp\\auth), reset the credentials that were on it, then install the newest SU of its CU (the SU closes the hole, it does not remove what was planted).
## Source
Microsoft CSS-Exchange Test-ProxyLogon.ps1 (aka.ms/TestProxyLogon, docs/Security/Test-ProxyLogon.md) and Microsoft Security blog \"HAFNIUM targeting Exchange Servers with 0-day exploits\" (March 2021); exfleet collector/EVIDENCE.md (the indicator scans).";

/// `ioc.lsass-dump`; its catalog entry is [`DOC`].
pub static RULE: Indicator = Indicator {
    id: "ioc.lsass-dump",
    kinds: &[IocKind::LsassDump],
    cves: &[],
    what: "LSASS memory dump on the server",
    alone: Severity::Critical,
    doc: DOC,
    module_path: module_path!(),
};
