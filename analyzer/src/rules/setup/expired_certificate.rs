//! `setup.expired-certificate`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
Setup failed because a certificate it binds or uses has expired (\"The certificate is expired\", CERT_E_EXPIRED 0x800B0101), typically the certificate of the Exchange Back End site's 0.0.0.0:444 binding or the one bound to a service.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Renew or replace the expired certificate (New-ExchangeCertificate, or import a valid one), assign it (Enable-ExchangeCertificate, and the 0.0.0.0:444 binding of Exchange Back End in IIS), remove the expired one, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts): expired certificate (\"The certificate is expired\").";

/// `setup.expired-certificate`.
pub static RULE: Known = Known {
    id: "setup.expired-certificate",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[
        &["certificate", "expired"],
        &["CERT_E_EXPIRED"],
        &["0x800B0101"],
    ],
    cite_backup_version: false,
};
