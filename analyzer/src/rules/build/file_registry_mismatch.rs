//! `build.file-registry-mismatch`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

use super::package;

/// The catalog entry.
pub const DOC: &str = "## Detects
ExSetup.exe's file version disagrees with what the registry says was installed: its CU is not the CU the setup key's Msi* values record, or an update recorded as installed for that CU is newer than the file (the update was half-applied or rolled back).
## Evidence
ExSetup.exe's build; the setup key's Msi version; installed-update keys newer than the file.
## Action
Re-run the CU setup (from the new media, elevated) or reinstall the SU so that files and registry agree; then check ExSetup.exe's version again.
## Source
Repair failed installations of Exchange cumulative and security updates (Microsoft Learn), \"How to verify the installation of Cumulative Updates & Security Updates\": the build is ExSetup.exe's file version (Get-Command ExSetup.exe | ForEach {$_.FileVersionInfo}), as Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker) reads it.";

/// `build.file-registry-mismatch`; its catalog entry is [`DOC`].
pub struct FileRegistryMismatch;

impl Rule for FileRegistryMismatch {
    fn id(&self) -> &'static str {
        "build.file-registry-mismatch"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, h: &HostView, cx: &Context, out: &mut Sink) {
        let (Some(file), Some(msi)) = (h.exsetup, h.msi) else {
            return;
        };
        let Some(file_cu) = cx.catalog.cu_of(&file) else {
            return;
        };
        let mut ev = Vec::new();
        let mut signature = String::new();
        let msi_cu = cx.catalog.cu_of(&msi);
        if !msi.same_line(&file_cu.build) {
            let msi_name = msi_cu
                .map(|c| c.friendly())
                .unwrap_or_else(|| "an unknown CU".into());
            ev.push(Evidence::new(
                format!("ExSetup.exe {file} is {}", file_cu.friendly()),
                &h.exsetup_provenance,
            ));
            ev.push(Evidence::new(
                format!("the setup key records {msi} ({msi_name})"),
                &h.msi_provenance,
            ));
            signature = format!("file {} / registry {msi_name}", file_cu.friendly());
        }
        // Updates recorded for the registry's CU that are newer than the file.
        if let Some(msi_cu) = msi_cu {
            for u in &h.updates {
                let Some((product, cu)) = package::target(&u.package_name) else {
                    continue;
                };
                if product != msi_cu.product || cu != msi_cu.cu {
                    continue;
                }
                let newer = cx
                    .catalog
                    .line(&product, &cu)
                    .into_iter()
                    .find(|r| r.kb == u.kb && r.build > file);
                if let Some(r) = newer {
                    ev.push(Evidence::new(
                        format!(
                            "{} ({}, {}) is recorded as installed but ExSetup.exe is {file}",
                            u.kb,
                            r.friendly(),
                            r.build
                        ),
                        &u.provenance,
                    ));
                    if signature.is_empty() {
                        signature =
                            format!("{} recorded, file {}", r.friendly(), file_cu.friendly());
                    }
                }
            }
        }
        if ev.is_empty() {
            return;
        }
        let mut f = self.finding(
            h,
            format!("ExSetup.exe {file} disagrees with the registry"),
            ev,
            &action_of(DOC),
        );
        f.signature = signature;
        out.push(f);
    }
}
