//! `ioc.cve-2021-26855`.

use exfleet_proto::kinds::IocKind;

use super::Indicator;
use crate::finding::Severity;

/// The catalog entry.
pub const DOC: &str = "## Detects
CVE-2021-26855 (ProxyLogon, server-side request forgery) in the HttpProxy logs of any protocol: a request whose AnchorMailbox is `ServerInfo~<host>/<path>` (routed by a server cookie) other than to autodiscover or localhost, case ignored, the whole value; only lines holding `ServerInfo~` are parsed, as the script parses only such files.
## Evidence
Each match (at most 20 cited, the rest counted): its time, client address, user, URL and status where the log has them, and the other fields the reference reports, with the file and line; when the activity was first and last seen; the update state when it began, judged on the build the server ran then (that of its last snapshot collected at or before the first match; none: said unknown, never guessed from today's build): whether it was behind on SUs (an update of that build's CU line released before then that it did not carry), and whether it began inside the CVE's exposure window (that build below the CVE's fix, by the CVE table); whether it is still open to the CVE today; and the updates installed after it began.
## Action
Treat the server as compromised until proven otherwise: isolate it, keep the logs cited, scan it with Microsoft Defender or the Safety Scanner (MSERT), look for web shells in the paths of ioc.cve-2021-26858 and ioc.cve-2021-27065 and the web folders of ioc.aspx-outlier (aspnet_client, owa\\auth, ecp\\auth), reset the credentials that were on it, then install the newest SU of its CU (the SU closes the hole, it does not remove what was planted).
## Source
Microsoft CSS-Exchange Test-ProxyLogon.ps1 (aka.ms/TestProxyLogon, docs/Security/Test-ProxyLogon.md) and Microsoft Security blog \"HAFNIUM targeting Exchange Servers with 0-day exploits\" (March 2021); exfleet collector/EVIDENCE.md (the indicator scans).";

/// `ioc.cve-2021-26855`; its catalog entry is [`DOC`].
pub static RULE: Indicator = Indicator {
    id: "ioc.cve-2021-26855",
    kinds: &[IocKind::Cve2021_26855],
    cves: &["CVE-2021-26855"],
    what: "CVE-2021-26855 (ProxyLogon server-side request forgery) in the HttpProxy logs",
    alone: Severity::Critical,
    doc: DOC,
    module_path: module_path!(),
};
