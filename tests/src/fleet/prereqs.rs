//! What a simulated Exchange 2013-or-later server has installed besides Exchange, and the
//! Windows Installer cache of what it installed (SetupAssist's disk checks): the Visual C++
//! 2012 and 2013 runtimes (Programs and Features), IIS URL Rewrite and UCMA 4.0 (their keys),
//! Windows Installer's record of the Exchange product and its SU with their cached packages in
//! `C:\Windows\Installer`, and, on Exchange 2016, the Unified Messaging folders. The faults
//! break one each; near misses: a Visual C++ 2012 bundle entry without a `Version`, a
//! non-Exchange product whose cached package is gone (SetupAssist does not check it), copies
//! without the installer cache, and Exchange 2019 and SE without Unified Messaging folders.
//!
//! Exchange 2010 servers get none of it: SetupAssist checks Exchange 2013 and later.

use super::builds::text;
use super::render::hash;
use super::{Fault, HostSpec};
use crate::regf::{HiveBuilder, RegData};

/// The installer cache folder.
pub const CACHE: &str = r"C:\Windows\Installer";
const UNINSTALL: &str = r"Microsoft\Windows\CurrentVersion\Uninstall";
const USER_DATA: &str = r"Microsoft\Windows\CurrentVersion\Installer\UserData\S-1-5-18";

/// (key, DisplayName, DisplayVersion, Version DWORD) of the Visual C++ entries.
fn runtimes(h: &HostSpec) -> Vec<(&'static str, &'static str, &'static str, Option<u32>)> {
    let mut out = vec![
        (
            "{37B8F9C7-03FB-3253-8781-2517C99D7C00}",
            "Microsoft Visual C++ 2012 x64 Minimum Runtime - 11.0.61030",
            "11.0.61030",
            Some(184_610_406),
        ),
        // The bundle's own entry carries no Version: not what setup needs, not a failure.
        (
            "{ca67548a-5ebe-413a-b50c-4b9ceb6d66c6}",
            "Microsoft Visual C++ 2012 Redistributable (x64) - 11.0.61030",
            "11.0.61030.0",
            None,
        ),
    ];
    out.push(if h.has(Fault::VcRedistOutdated) {
        (
            "{A749D8E6-B613-3BE3-8F5F-045C84EBA29B}",
            "Microsoft Visual C++ 2013 x64 Minimum Runtime - 12.0.21005",
            "12.0.21005",
            Some(201_347_597),
        )
    } else {
        (
            "{53CF6934-A98D-3D84-9146-FC4EDF3D5641}",
            "Microsoft Visual C++ 2013 x64 Minimum Runtime - 12.0.40664",
            "12.0.40664",
            Some(201_367_256),
        )
    });
    out
}

/// A GUID made from `seed`, upper case in braces.
fn guid(seed: &str) -> String {
    let a = hash(seed);
    let b = hash(&format!("{seed}#"));
    format!(
        "{{{:08X}-{:04X}-{:04X}-{:04X}-{:012X}}}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

/// A product or patch Windows Installer installed, with its cached package.
pub struct Package {
    /// Product or patch code.
    pub code: String,
    /// What the cached file's revision number holds.
    pub revision: String,
    /// The cached file's Windows path.
    pub local_package: String,
    /// A product's DisplayName and DisplayVersion (`None` for a patch).
    pub product: Option<(String, String)>,
    /// Whether its cached file is gone.
    pub lost: bool,
}

/// The packages of a host: the Exchange product (the CU), its SU when one is installed, and
/// a Visual C++ runtime.
pub fn packages(h: &HostSpec) -> Vec<Package> {
    let line = h.line;
    let product = guid(&format!("product {}", line.product));
    let file = |what: &str, ext: &str| {
        format!(
            r"{CACHE}\{:x}.{ext}",
            hash(&format!("{} {what}", h.name)) & 0xFFF_FFFF
        )
    };
    let su = h.update.filter(|_| !line.is_2010());
    let mut out = vec![Package {
        code: product.clone(),
        // The CU's package code: the same on every server installed from that CU's media.
        revision: guid(&format!("package {} {}", line.product, line.cu)),
        local_package: file("cu", "msi"),
        product: Some((
            format!("Microsoft Exchange Server {}", line.banner.trim()),
            text(line.base),
        )),
        lost: h.has(Fault::InstallerCacheMissing) && su.is_none(),
    }];
    if let Some(i) = su {
        let code = guid(&format!("patch {} {}", line.product, line.updates[i].2));
        out.push(Package {
            // A patch's revision number holds its code, then the patches it replaces.
            revision: format!("{code}{}", guid("superseded")),
            code,
            local_package: file("su", "msp"),
            product: None,
            lost: h.has(Fault::InstallerCacheMissing),
        });
    }
    out.push(Package {
        code: guid("vc2012"),
        revision: guid("vc2012 package"),
        local_package: file("vc", "msi"),
        product: Some((
            "Microsoft Visual C++ 2012 x64 Minimum Runtime - 11.0.61030".into(),
            "11.0.61030".into(),
        )),
        // Lost on some hosts: SetupAssist does not check a product not named like Exchange's.
        lost: hash(&h.name).is_multiple_of(3),
    });
    out
}

/// Whether the copy of `h` carries the installer cache (some copies do not: nothing is then
/// known of it).
pub fn cache_copied(h: &HostSpec) -> bool {
    h.has(Fault::InstallerCacheMissing) || hash(&h.name) % 4 != 1
}

fn pack(guid: &str) -> String {
    exfleet_collector::readers::hive::installer::pack_guid(guid).expect("a GUID")
}

/// SOFTWARE: Programs and Features, URL Rewrite, UCMA, Windows Installer's records.
pub fn software(s: &mut HiveBuilder, h: &HostSpec) {
    if h.line.is_2010() {
        return;
    }
    for (key, name, version, dword) in runtimes(h) {
        let k = format!(r"{UNINSTALL}\{key}");
        s.set(&k, "DisplayName", RegData::Sz(name.into()));
        s.set(&k, "DisplayVersion", RegData::Sz(version.into()));
        s.set(&k, "InstallDate", RegData::Sz("20240611".into()));
        if let Some(v) = dword {
            s.set(&k, "Version", RegData::Dword(v));
        }
    }
    if !h.has(Fault::UrlRewriteMissing) {
        let k = r"Microsoft\IIS Extensions\URL Rewrite";
        s.set(k, "Version", RegData::Sz("7.2.1993".into()));
        s.set(k, "Install", RegData::Dword(1));
        let u = format!(r"{UNINSTALL}\{{9BCA2118-F753-4A1E-BCF3-5A820729965C}}");
        s.set(
            &u,
            "DisplayName",
            RegData::Sz("IIS URL Rewrite Module 2".into()),
        );
        s.set(&u, "DisplayVersion", RegData::Sz("7.2.1993".into()));
    }
    if !h.has(Fault::UcmaMissing) {
        let k = r"Microsoft\UCMA\{902F4F35-D5DC-4363-8671-D5EF0D26C21D}";
        s.set(k, "Version", RegData::Sz("5.0.8308.0".into()));
    }
    let packages = packages(h);
    let exchange = pack(&packages[0].code);
    for p in &packages {
        let packed = pack(&p.code);
        match &p.product {
            Some((name, version)) => {
                let k = format!(r"{USER_DATA}\Products\{packed}\InstallProperties");
                s.set(&k, "DisplayName", RegData::Sz(name.clone()));
                s.set(&k, "DisplayVersion", RegData::Sz(version.clone()));
                s.set(&k, "LocalPackage", RegData::Sz(p.local_package.clone()));
                let c = format!(r"Classes\Installer\Products\{packed}");
                s.set(&c, "PackageCode", RegData::Sz(pack(&p.revision)));
                s.set(&c, "ProductName", RegData::Sz(name.clone()));
            }
            None => {
                let k = format!(r"{USER_DATA}\Patches\{packed}");
                s.set(&k, "LocalPackage", RegData::Sz(p.local_package.clone()));
                let named = format!(r"{USER_DATA}\Products\{exchange}\Patches\{packed}");
                let i = h.update.unwrap_or(0);
                s.set(&named, "DisplayName", RegData::Sz(h.line.package_name(i)));
                s.set(&named, "State", RegData::Dword(1));
            }
        }
    }
}

/// Files: the cached packages (when the copy carries the cache) and, on Exchange 2016, the
/// Unified Messaging folders.
pub fn files(h: &HostSpec) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    if h.line.is_2010() {
        return out;
    }
    if cache_copied(h) {
        for p in packages(h).iter().filter(|p| !p.lost) {
            out.push((p.local_package.clone(), crate::msi::package(&p.revision)));
        }
    }
    if h.line.base[1] < 2 {
        let install = h.install_path();
        out.push((
            format!(r"{install}UnifiedMessaging\Grammars\en-US\Menu.grxml"),
            b"<grammar/>".to_vec(),
        ));
        if !h.has(Fault::UmDirectoryMissing) {
            out.push((
                format!(r"{install}UnifiedMessaging\Prompts\en-US\0001.wav"),
                b"RIFF".to_vec(),
            ));
        }
    }
    out
}
