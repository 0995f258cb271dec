//! The SOFTWARE hive (`Windows\System32\config\SOFTWARE`): the Exchange setup key and its
//! watermarks, installed updates, .NET release, OS build, reboot-pending keys, the
//! certificates of LocalMachine\My, the settings values ([`super::settings`]), Programs and
//! Features ([`super::uninstall`]) and Windows Installer's products and patches
//! ([`super::installer`]).

use exfleet_proto::v1::{ExchangeInstall, InstalledUpdate, PendingReboot, SetupWatermark};

use super::cert_blob;
use crate::files::ServerFiles;
use crate::provenance;
use crate::readers::Reader;
use crate::registry::{Hive, Key, Mount};
use crate::sink::Sink;

/// Reads the SOFTWARE hive.
pub struct SoftwareHive;

/// Watermarks live in role and component keys "at any depth"; real trees are shallow, and a
/// bound keeps a damaged hive with a key cycle from looping.
const MAX_WATERMARK_DEPTH: usize = 6;

impl Reader for SoftwareHive {
    const NAME: &'static str = "software_hive";

    fn read(&self, dir: &ServerFiles, out: &mut Sink) {
        let Some(mut hive) = Hive::open(dir, Mount::Software, Self::NAME, out) else {
            return;
        };
        read_exchange(&mut hive, out);
        read_updates(&mut hive, out);
        read_platform(&mut hive, out);
        read_certificates(&mut hive, out);
        super::uninstall::read(&mut hive, Self::NAME, out);
        super::installer::read(&mut hive, Self::NAME, out);
        super::settings::read(
            &mut hive,
            Mount::Software,
            "CurrentControlSet",
            Self::NAME,
            out,
        );
        hive.finish(out);
    }
}

fn read_exchange(hive: &mut Hive, out: &mut Sink) {
    for setup_key in crate::artifacts::SETUP_KEYS {
        let Some(setup) = hive.key(setup_key, out) else {
            continue;
        };
        // `Microsoft\ExchangeServer\v15\Setup`: the version key holds the watermarks.
        let root = setup_key.trim_end_matches(r"\Setup");
        let version = root.rsplit('\\').next().unwrap_or(root);
        let part = |name: &str| setup.dword(name).map(|n| n.to_string());
        let msi_version = match (
            part("MsiProductMajor"),
            part("MsiProductMinor"),
            part("MsiBuildMajor"),
            part("MsiBuildMinor"),
        ) {
            (Some(a), Some(b), Some(c), Some(d)) => format!("{a}.{b}.{c}.{d}"),
            _ => String::new(),
        };
        let install = ExchangeInstall {
            setup_key: version.to_string(),
            install_path: setup
                .string(crate::artifacts::INSTALL_PATH_VALUE)
                .unwrap_or_default(),
            msi_version,
            owa_version: setup.string("OwaVersion").unwrap_or_default(),
            provenance: Some(hive.at(&setup, crate::artifacts::INSTALL_PATH_VALUE)),
        };
        out.evidence_mut().exchange = Some(install);
        if let Some(k) = hive.key(root, out) {
            let base = k.path.clone();
            collect_watermarks(hive, &k, &base, 0, out);
        }
        return;
    }
}

fn collect_watermarks(hive: &mut Hive, key: &Key, base: &str, depth: usize, out: &mut Sink) {
    let watermark = key.string("Watermark");
    let action = key.string("Action");
    let configured = key.string("ConfiguredVersion");
    let unpacked = key.string("UnpackedVersion");
    if depth > 0
        && (watermark.is_some() || action.is_some() || configured.is_some() || unpacked.is_some())
    {
        let component = key
            .path
            .strip_prefix(base)
            .unwrap_or(&key.path)
            .trim_start_matches('\\');
        let value = if watermark.is_some() { "Watermark" } else { "" };
        out.evidence_mut().watermarks.push(SetupWatermark {
            component: component.to_string(),
            watermark: watermark.unwrap_or_default(),
            action: action.unwrap_or_default(),
            configured_version: configured.unwrap_or_default(),
            unpacked_version: unpacked.unwrap_or_default(),
            provenance: Some(hive.at(key, value)),
        });
    }
    if depth < MAX_WATERMARK_DEPTH {
        for sub in hive.subkeys(key, out) {
            collect_watermarks(hive, &sub, base, depth + 1, out);
        }
    }
}

fn read_updates(hive: &mut Hive, out: &mut Sink) {
    for product in [
        "Exchange 2010",
        "Exchange 2013",
        "Exchange 2016",
        "Exchange 2019",
    ] {
        let Some(parent) = hive.key(&format!(r"Microsoft\Updates\{product}"), out) else {
            continue;
        };
        for k in hive.subkeys(&parent, out) {
            let update = InstalledUpdate {
                product: product.to_string(),
                kb: k.name().to_string(),
                package_name: k.string("PackageName").unwrap_or_default(),
                installed_date: k.string("InstalledDate").unwrap_or_default(),
                provenance: Some(hive.at(&k, "PackageName")),
            };
            out.evidence_mut().installed_updates.push(update);
        }
    }
}

fn read_platform(hive: &mut Hive, out: &mut Sink) {
    let ndp = hive.key(r"Microsoft\NET Framework Setup\NDP\v4\Full", out);
    let os = hive.key(r"Microsoft\Windows NT\CurrentVersion", out);
    let volatile = hive.key(r"Microsoft\Updates\UpdateExeVolatile", out);
    let cbs = hive.key(
        r"Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending",
        out,
    );
    let wu = hive.key(
        r"Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired",
        out,
    );
    let mut prov = Vec::new();
    let mut pending = Vec::new();
    if let Some(k) = &volatile {
        if let Some(flags) = k.dword("Flags").filter(|f| *f != 0) {
            pending.push(PendingReboot {
                indicator: "UpdateExeVolatile".into(),
                detail: format!("Flags = {flags}"),
                provenance: Some(hive.at(k, "Flags")),
            });
        }
    }
    for (k, indicator) in [(&cbs, "RebootPending"), (&wu, "RebootRequired")] {
        if let Some(k) = k {
            pending.push(PendingReboot {
                indicator: indicator.into(),
                detail: "key exists".into(),
                provenance: Some(hive.at(k, "")),
            });
        }
    }
    let release = ndp.as_ref().and_then(|k| k.dword("Release"));
    if let Some(k) = &ndp {
        prov.push(hive.at(k, "Release"));
    }
    let platform = out.evidence_mut().platform.get_or_insert_default();
    platform.dotnet_release = release.unwrap_or(0);
    if let Some(k) = &os {
        platform.os_product_name = k.string("ProductName").unwrap_or_default();
        platform.os_current_build = k.string("CurrentBuild").unwrap_or_default();
        platform.os_ubr = k.dword("UBR").unwrap_or(0);
        prov.push(hive.at(k, "CurrentBuild"));
    }
    platform.pending_reboot.extend(pending);
    platform.provenance.extend(prov);
}

fn read_certificates(hive: &mut Hive, out: &mut Sink) {
    let Some(store) = hive.key(r"Microsoft\SystemCertificates\MY\Certificates", out) else {
        return;
    };
    for k in hive.subkeys(&store, out) {
        let Some(blob) = k.binary("Blob") else {
            out.error(
                SoftwareHive::NAME,
                "missing_value",
                hive.path(),
                Some(hive.at(&k, "Blob")),
                format!(
                    "{}: {}: certificate key has no Blob value",
                    hive.path(),
                    k.path
                ),
            );
            continue;
        };
        match cert_blob::parse(&blob) {
            Ok(mut cert) => {
                cert.thumbprint = k.name().to_uppercase();
                cert.provenance = Some(hive.at(&k, "Blob"));
                out.evidence_mut().certificates.push(cert);
            }
            Err(e) => {
                let loc = provenance::reg(SoftwareHive::NAME, hive.path(), &k.path, "Blob");
                out.error(
                    SoftwareHive::NAME,
                    e.kind(),
                    hive.path(),
                    Some(loc),
                    format!("{}: {}\\Blob: {e}", hive.path(), k.path),
                );
            }
        }
    }
}
