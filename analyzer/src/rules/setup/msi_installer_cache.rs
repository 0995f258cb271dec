//! `setup.msi-installer-cache`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
An MSI or MSP of the previous build is missing from the Windows Installer cache (or invalid), so setup cannot remove or patch the installed product.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Repair the Windows Installer cache for the previously installed build named in the evidence (restore its .msi/.msp packages, e.g. with a cache-repair script and the matching CU and SU media), then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts): known MSI issues; CSS-Exchange FixInstallerCache.ps1 (aka.ms/ExInstallerCacheFix); CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts): \"Msi Cache File\".";

/// `setup.msi-installer-cache`.
pub static RULE: Known = Known {
    id: "setup.msi-installer-cache",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[
        &["installation source for this product is not available"],
        &["Couldn't remove product"],
        &[
            "Object reference not set to an instance of an object",
            "task:Install-MsiPackage",
        ],
    ],
    cite_backup_version: true,
};
