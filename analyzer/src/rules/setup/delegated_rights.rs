//! `setup.delegated-rights`.

use super::known::Known;
use super::reviewer::{Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
A delegated setup (run by a member of Delegated Setup, not Organization Management) lacked rights on the server object: the server was not provisioned (Setup /NewProvisionedServer), or the account was not delegated on it.
## Evidence
The run judged, the decisive evaluated setting (ServerAlreadyExists or ServerManagement False, with EnterpriseAdmin and ExOrgAdmin not True), and the user.
## Action
Have an Organization Management member provision the server (Setup.exe /NewProvisionedServer:<name> /IAcceptExchangeServerLicenseTerms_DiagnosticDataON or _OFF) and add the installing account to the Delegated Setup role group, or run setup as an Organization Management member.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts) with -DelegatedSetup: a delegated installer without the rights it needs on the server object; KB 2961741.";

/// `setup.delegated-rights`.
pub static RULE: Known = Known {
    id: "setup.delegated-rights",
    doc: DOC,
    module_path: module_path!(),
};

/// The delegated-setup check (KB 2961741): the first decisive evaluated setting of the run.
pub fn detect(s: &Scope) -> Option<Hit> {
    if matches!(s.test("EnterpriseAdmin"), Some((true, _)))
        || matches!(s.test("ExOrgAdmin"), Some((true, _)))
    {
        return None;
    }
    let user = s.user();
    if let Some((false, l)) = s.test("ServerAlreadyExists") {
        return Some(s.hit(
            RULE.id,
            format!("The server object does not exist yet, and user {user} that ran setup has neither ExOrgAdmin nor EnterpriseAdmin"),
            vec![s.quote(l), s.cite(l, format!("user: {user}"))],
        ));
    }
    s.test("HasServerDelegatedPermsBlocked")?;
    match s.test("ServerManagement") {
        Some((false, l)) => Some(s.hit(
            RULE.id,
            format!("User {user} that ran setup has extra rights to the server object and is not in Server Management"),
            vec![s.quote(l), s.cite(l, format!("user: {user}"))],
        )),
        _ => None,
    }
}
