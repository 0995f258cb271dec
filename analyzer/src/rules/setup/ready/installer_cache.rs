//! `setup.ready.installer-cache`.

use exfleet_dataset::InstallerPackageRow;
use exfleet_proto::kinds::{CachedFileState, InstallerPackageKind};

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
The Windows Installer cache (`%WINDIR%\\Installer`) lacks a valid package of an installed Exchange product or patch, as SetupAssist's \"Msi Cache File\" test reads it: every product under `HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Installer\\UserData\\S-1-5-18` with a `LocalPackage` whose DisplayName contains \"Exchange\", \"Microsoft Lync Server\", \"Microsoft Server Speech\" or \"Microsoft Unified Communications\" (or has none), and every patch (SetupAssist checks every patch; exfleet leaves out those registered under a product it does not check, such as a Visual C++ runtime's); a package is valid when the cached file exists and its summary information's Revision Number (property 9) contains the GUID it must carry (a product's package code from `SOFTWARE\\Classes\\Installer\\Products`, a patch's code). The next CU or SU then fails halfway through setup (\"The installation source for this product is not available\", error 1603: `setup.msi-installer-cache` once it has), and so does a repair or an uninstall. Judged only where the cache folder is in the copy and the SOFTWARE hive was read whole, on any Exchange version (Exchange 2010's update rollups need the cache too); a package whose file cannot be read counts as invalid, as SetupAssist counts it. The version to repair for is the installed CU's (the setup key's Msi build).
## Evidence
Each invalid package: its product or patch name and version, code, the cached file's path and what is wrong (missing, another revision, unreadable), with where LocalPackage was read.
## Action
Repair the Windows Installer cache before the next update: CSS-Exchange FixInstallerCache.ps1 (aka.ms/ExInstallerCacheFix) with the media of the installed CU (the version named in the finding) and the installed SU packages, or copy the packages from a server on the same build; then rerun SetupAssist.
## Source
CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts): \"Msi Cache File\" (Test-MsiCacheFiles.ps1, Get-InstallerPackages.ps1); CSS-Exchange FixInstallerCache.ps1.";

/// DisplayName fragments of the products SetupAssist checks (compared without regard to case).
pub const PRODUCTS: [&str; 4] = [
    "Microsoft Lync Server",
    "Exchange",
    "Microsoft Server Speech",
    "Microsoft Unified Communications",
];

/// `setup.ready.installer-cache`; its catalog entry is [`DOC`].
pub struct InstallerCache;

/// Whether a product is one SetupAssist checks: named like Exchange's or its components, or
/// with no name.
fn checked_product(p: &InstallerPackageRow) -> bool {
    let name = p.display_name.to_ascii_lowercase();
    name.trim().is_empty()
        || PRODUCTS
            .iter()
            .any(|n| name.contains(&n.to_ascii_lowercase()))
}

/// Whether a package is checked among `all`: the products SetupAssist checks, and the patches
/// (SetupAssist checks every patch, its key having no DisplayName) except those known to patch
/// a product it does not check: a lost Visual C++ patch does not fail Exchange's setup.
pub fn checked(p: &InstallerPackageRow, all: &[InstallerPackageRow]) -> bool {
    if p.kind != InstallerPackageKind::Patch {
        return checked_product(p);
    }
    let product = all.iter().find(|x| {
        x.kind == InstallerPackageKind::Product && x.code.eq_ignore_ascii_case(&p.product_code)
    });
    p.product_code.is_empty() || product.is_none_or(checked_product)
}

/// What is wrong with a checked package's cached file, `None` when it is valid or not in the
/// copy.
pub fn problem(p: &InstallerPackageRow) -> Option<String> {
    match &p.file_state {
        CachedFileState::Missing => Some("missing from the cache".into()),
        CachedFileState::Unreadable => Some(format!("unreadable ({})", p.file_error)),
        CachedFileState::Present => {
            let expected = p.expected_revision.trim().to_ascii_uppercase();
            let revision = p.file_revision.to_ascii_uppercase();
            (!expected.is_empty() && !revision.contains(&expected)).then(|| {
                format!(
                    "holds revision {:?}, not {expected} (another package)",
                    p.file_revision
                )
            })
        }
        CachedFileState::NotCollected | CachedFileState::Other(_) => None,
    }
}

impl Rule for InstallerCache {
    fn id(&self) -> &'static str {
        "setup.ready.installer-cache"
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
    fn check(&self, h: &HostView, _: &Context, out: &mut Sink) {
        // A damaged hive can turn LocalPackage values into garbage: not judged.
        if h.hive_unclean("software_hive").is_some() {
            return;
        }
        let all = &h.installer_packages;
        let bad: Vec<(&InstallerPackageRow, String)> = all
            .iter()
            .filter(|p| checked(p, all))
            .filter_map(|p| problem(p).map(|why| (p, why)))
            .collect();
        if bad.is_empty() {
            return;
        }
        let ev = bad
            .iter()
            .map(|(p, why)| {
                let name = if p.display_name.is_empty() {
                    "(no name)"
                } else {
                    p.display_name.as_str()
                };
                let version = if p.display_version.is_empty() {
                    String::new()
                } else {
                    format!(" {}", p.display_version)
                };
                Evidence::new(
                    format!(
                        "{} {name}{version} {}: {} {why}",
                        p.kind.as_str(),
                        p.code,
                        p.local_package
                    ),
                    &p.provenance,
                )
            })
            .collect();
        // The version to repair for: the installed CU's, as the setup key records it (the
        // media FixInstallerCache.ps1 needs), else Exchange Server's own product entry (not
        // the anti-spam signatures' or a third party's "... for Exchange").
        let version = Some(h.msi_version.trim())
            .filter(|v| !v.is_empty())
            .or_else(|| {
                all.iter()
                    .find(|p| {
                        p.kind == InstallerPackageKind::Product
                            && p.display_name.starts_with("Microsoft Exchange Server")
                    })
                    .map(|p| p.display_version.trim())
                    .filter(|v| !v.is_empty())
            })
            .map(|v| format!(" (repair for {v})"))
            .unwrap_or_default();
        let title = format!(
            "The Windows Installer cache lacks {} valid package{} of Exchange{version}: the next update will fail",
            bad.len(),
            if bad.len() == 1 { "" } else { "s" }
        );
        let mut f = self.finding(h, title, ev, &action_of(DOC));
        f.signature = "installer cache".into();
        out.push(f);
    }
}
