//! `ioc.cve-2022-41040`.

use exfleet_proto::kinds::IocKind;

use super::Indicator;
use crate::finding::Severity;

/// The catalog entry.
pub const DOC: &str = "## Detects
Microsoft's hunting query for CVE-2022-41040 (ProxyNotShell, September 2022) over the IIS W3SVC logs: a line matching `powershell.*autodiscover\\.json.*\\@.*200`, case ignored. CSS-Exchange has no log indicator for ProxyShell or ProxyNotShell; this query is the one Microsoft published with the September 2022 guidance.
## Evidence
Each match (at most 20 cited, the rest counted): its time, client address, user, URL and status where the log has them, and the other fields the reference reports, with the file and line; when the activity was first and last seen; the update state when it began, judged on the build the server ran then (that of its last snapshot collected at or before the first match; none: said unknown, never guessed from today's build): whether it was behind on SUs (an update of that build's CU line released before then that it did not carry), and whether it began inside the CVE's exposure window (that build below the CVE's fix, by the CVE table); whether it is still open to the CVE today; and the updates installed after it began.
## Action
Treat the server as compromised until proven otherwise: isolate it, keep the logs cited, scan it with Microsoft Defender or the Safety Scanner (MSERT), look for web shells in the paths of ioc.cve-2021-26858 and ioc.cve-2021-27065 and the web folders of ioc.aspx-outlier (aspnet_client, owa\\auth, ecp\\auth), reset the credentials that were on it, then install the newest SU of its CU (the SU closes the hole, it does not remove what was planted).
## Source
Microsoft Security Response Center, \"Customer Guidance for Reported Zero-day Vulnerabilities in Microsoft Exchange Server\" (September 2022, CVE-2022-41040 and CVE-2022-41082), its detection query; CSS-Exchange EOMTv2.ps1 (the mitigation rule it checks for).";

/// `ioc.cve-2022-41040`; its catalog entry is [`DOC`].
pub static RULE: Indicator = Indicator {
    id: "ioc.cve-2022-41040",
    kinds: &[IocKind::Cve2022_41040],
    cves: &["CVE-2022-41040"],
    what: "CVE-2022-41040 (ProxyNotShell) hunting query hit in the IIS logs",
    alone: Severity::Critical,
    doc: DOC,
    module_path: module_path!(),
};
