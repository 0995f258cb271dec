//! What Windows Installer installed for the machine
//! (`SOFTWARE\Microsoft\Windows\CurrentVersion\Installer\UserData\S-1-5-18`): each product's
//! and patch's code, name and cached package (`LocalPackage`), and the revision that package
//! must carry, as SetupAssist's installer-cache test reads them
//! (`Setup/Shared/Get-InstallerPackages.ps1`). The files themselves are read by the
//! `installer_cache` reader.

use exfleet_proto::kinds::InstallerPackageKind;
use exfleet_proto::v1::InstallerPackage;

use crate::registry::{Hive, Key};
use crate::sink::Sink;

/// The machine's (LocalSystem's) Windows Installer data, below the SOFTWARE hive's root.
pub const USER_DATA: &str = r"Microsoft\Windows\CurrentVersion\Installer\UserData\S-1-5-18";
/// `HKCR\Installer\Products` as the SOFTWARE hive holds it: each product's package code.
pub const CLASSES_PRODUCTS: &str = r"Classes\Installer\Products";

/// At most this many packages are kept (a server has a few hundred).
pub const MAX_PACKAGES: usize = 5_000;

/// Windows Installer writes a GUID's hex digits in its key names "packed": each of the first
/// three groups reversed, then each byte's two digits swapped.
/// `{90150000-008C-0000-0000-0000000FF1CE}` is packed as `00005109C80000000000000000F01FEC`
/// (32 digits, no braces). Gives the GUID upper case in braces, `None` when not 32 hex digits.
pub fn unpack_guid(packed: &str) -> Option<String> {
    let d: Vec<char> = packed.chars().collect();
    if d.len() != 32 || !d.iter().all(char::is_ascii_hexdigit) {
        return None;
    }
    let rev = |a: usize, b: usize| d[a..b].iter().rev().collect::<String>();
    let swap = |a: usize, b: usize| {
        d[a..b]
            .chunks(2)
            .flat_map(|p| [p[1], p[0]])
            .collect::<String>()
    };
    let guid = format!(
        "{{{}-{}-{}-{}-{}}}",
        rev(0, 8),
        rev(8, 12),
        rev(12, 16),
        swap(16, 20),
        swap(20, 32)
    );
    Some(guid.to_uppercase())
}

/// The inverse of [`unpack_guid`]: a GUID (braces optional) packed as Windows Installer names
/// its keys, upper case; `None` when it is not a GUID.
pub fn pack_guid(guid: &str) -> Option<String> {
    let hex: String = guid
        .chars()
        .filter(|c| *c != '-' && *c != '{' && *c != '}')
        .collect();
    // Packing is its own inverse on the digits.
    unpack_guid(&hex).map(|g| g.chars().filter(char::is_ascii_hexdigit).collect())
}

/// Reads the machine's products and patches into `installer_packages`, with no file state
/// yet (the `installer_cache` reader fills it).
pub fn read(hive: &mut Hive, reader: &str, out: &mut Sink) {
    let Some(root) = hive.key(USER_DATA, out) else {
        return;
    };
    let mut products = Vec::new();
    let mut patches = Vec::new();
    for k in hive.subkeys(&root, out) {
        match k.name().to_ascii_lowercase().as_str() {
            "products" => products = hive.subkeys(&k, out),
            "patches" => patches = hive.subkeys(&k, out),
            _ => {}
        }
    }
    let mut packages = Vec::new();
    // A patch's display name lives under the product it patches.
    let mut patch_names: Vec<(String, String, String)> = Vec::new();
    for product in &products {
        let subs = hive.subkeys(product, out);
        let code = unpack_guid(product.name()).unwrap_or_else(|| product.name().to_string());
        for patch in child(&subs, "Patches")
            .map(|p| hive.subkeys(p, out))
            .unwrap_or_default()
        {
            if let Some(name) = patch.string("DisplayName") {
                patch_names.push((patch.name().to_ascii_uppercase(), name, code.clone()));
            }
        }
        let Some(props) = child(&subs, "InstallProperties") else {
            continue;
        };
        let Some(local) = props.string("LocalPackage") else {
            continue;
        };
        let package_code = hive
            .key(&format!(r"{CLASSES_PRODUCTS}\{}", product.name()), out)
            .and_then(|k| k.string("PackageCode"))
            .and_then(|p| unpack_guid(p.trim()));
        packages.push(InstallerPackage {
            kind: InstallerPackageKind::Product.as_str().into(),
            code,
            display_name: props.string("DisplayName").unwrap_or_default(),
            display_version: props.string("DisplayVersion").unwrap_or_default(),
            local_package: local,
            expected_revision: package_code.unwrap_or_default(),
            provenance: Some(hive.at(props, "LocalPackage")),
            ..Default::default()
        });
    }
    for patch in &patches {
        let Some(local) = patch.string("LocalPackage") else {
            continue;
        };
        let code = unpack_guid(patch.name());
        let named = patch_names
            .iter()
            .find(|(packed, _, _)| packed.eq_ignore_ascii_case(patch.name()));
        packages.push(InstallerPackage {
            kind: InstallerPackageKind::Patch.as_str().into(),
            code: code.clone().unwrap_or_else(|| patch.name().to_string()),
            display_name: named.map(|n| n.1.clone()).unwrap_or_default(),
            local_package: local,
            // SetupAssist takes a patch's expected revision from its key's name.
            expected_revision: code.unwrap_or_default(),
            product_code: named.map(|n| n.2.clone()).unwrap_or_default(),
            provenance: Some(hive.at(patch, "LocalPackage")),
            ..Default::default()
        });
    }
    let total = packages.len();
    packages.truncate(MAX_PACKAGES);
    if total > MAX_PACKAGES {
        out.error(
            reader,
            "too_many",
            hive.path(),
            None,
            format!(
                "{}: {USER_DATA}: {} packages beyond the first {MAX_PACKAGES} were not kept",
                hive.path(),
                total - MAX_PACKAGES
            ),
        );
    }
    out.evidence_mut().installer_packages.extend(packages);
}

fn child<'a>(keys: &'a [Key], name: &str) -> Option<&'a Key> {
    keys.iter().find(|k| k.name().eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_as_windows_installer_packs() {
        assert_eq!(
            unpack_guid("00005109C80000000000000000F01FEC").as_deref(),
            Some("{90150000-008C-0000-0000-0000000FF1CE}")
        );
        let guid = "{CD981244-E9B8-405A-9026-6AEB9DCEF1F1}";
        let packed = pack_guid(guid).unwrap();
        assert_eq!(packed, "442189DC8B9EA5040962A6BED9EC1F1F");
        assert_eq!(unpack_guid(&packed).as_deref(), Some(guid));
        assert_eq!(unpack_guid("not a guid"), None);
        assert_eq!(unpack_guid(&"g".repeat(32)), None);
    }
}
