//! The SYSTEM hive (`Windows\System32\config\SYSTEM`): host identity, AD site, time zone,
//! code page, pending file renames, services and their start types, HTTP.sys TLS bindings,
//! Lsa SuppressExtendedProtection.
//!
//! `HKLM\SYSTEM\CurrentControlSet` is `ControlSet00N`, N from `Select\Current`
//! (collector/EVIDENCE.md): a hive file has only the sets, the live registry has the link too.
//! Running state is not in the registry.

use exfleet_proto::v1::{DwordValue, HostIdentity, PendingReboot, ServiceConfig, SslBinding};

use crate::files::ServerFiles;
use crate::provenance;
use crate::readers::Reader;
use crate::registry::{Hive, Key, Mount};
use crate::sink::Sink;

/// Reads the SYSTEM hive.
pub struct SystemHive;

impl Reader for SystemHive {
    const NAME: &'static str = "system_hive";

    fn read(&self, dir: &ServerFiles, out: &mut Sink) {
        let Some(mut hive) = Hive::open(dir, Mount::System, Self::NAME, out) else {
            return;
        };
        let current = hive
            .key("Select", out)
            .and_then(|k| k.dword("Current"))
            .unwrap_or_else(|| {
                let path = hive.path().to_string();
                let loc = provenance::reg(Self::NAME, &path, r"HKLM\SYSTEM\Select", "Current");
                out.error(
                    Self::NAME,
                    "missing_value",
                    &path,
                    Some(loc),
                    format!(
                        r"{path}: HKLM\SYSTEM\Select\Current is missing: assuming ControlSet001"
                    ),
                );
                1
            });
        // Live, the running system's own link to the current set is read (Windows links it to
        // ControlSet00N; Wine keeps the set itself under that name).
        let ccs = if hive.is_live() {
            "CurrentControlSet".to_string()
        } else {
            format!("ControlSet{current:03}")
        };
        out.evidence_mut()
            .platform
            .get_or_insert_default()
            .current_control_set = current;
        read_identity(&mut hive, &ccs, out);
        read_platform(&mut hive, &ccs, out);
        read_services(&mut hive, &ccs, out);
        read_ssl_bindings(&mut hive, &ccs, out);
        read_lsa(&mut hive, &ccs, out);
        hive.finish(out);
    }
}

fn read_identity(hive: &mut Hive, ccs: &str, out: &mut Sink) {
    let mut id = HostIdentity::default();
    if let Some(k) = hive.key(&format!(r"{ccs}\Control\ComputerName\ComputerName"), out) {
        id.computer_name = k.string("ComputerName").unwrap_or_default();
        id.provenance = Some(hive.at(&k, "ComputerName"));
    }
    if let Some(k) = hive.key(&format!(r"{ccs}\Services\Tcpip\Parameters"), out) {
        id.dns_hostname = k.string("Hostname").unwrap_or_default();
        id.dns_domain = k
            .string("Domain")
            .filter(|d| !d.is_empty())
            .or_else(|| k.string("NV Domain"))
            .unwrap_or_default();
    }
    if let Some(k) = hive.key(&format!(r"{ccs}\Services\Netlogon\Parameters"), out) {
        id.ad_site = k.string("DynamicSiteName").unwrap_or_default();
    }
    out.evidence_mut().host = Some(id);
}

fn read_platform(hive: &mut Hive, ccs: &str, out: &mut Sink) {
    let tz = hive.key(&format!(r"{ccs}\Control\TimeZoneInformation"), out);
    let cp = hive.key(&format!(r"{ccs}\Control\Nls\CodePage"), out);
    let sm = hive.key(&format!(r"{ccs}\Control\Session Manager"), out);
    let mut prov = Vec::new();
    let platform = out.evidence_mut().platform.get_or_insert_default();
    if let Some(k) = &tz {
        platform.time_zone = k.string("TimeZoneKeyName").unwrap_or_default();
        platform.active_time_bias_minutes = k.dword("ActiveTimeBias").unwrap_or(0) as i32;
        prov.push(hive.at(k, "TimeZoneKeyName"));
    }
    if let Some(k) = &cp {
        platform.ansi_code_page = k.string("ACP").unwrap_or_default();
        prov.push(hive.at(k, "ACP"));
    }
    if let Some(k) = &sm {
        if let Some(ops) = k.multi_string("PendingFileRenameOperations") {
            if !ops.is_empty() {
                platform.pending_reboot.push(PendingReboot {
                    indicator: "PendingFileRenameOperations".into(),
                    detail: format!("{} file operation(s) pending, first: {}", ops.len(), ops[0]),
                    provenance: Some(hive.at(k, "PendingFileRenameOperations")),
                });
            }
        }
    }
    platform.provenance.extend(prov);
}

fn read_services(hive: &mut Hive, ccs: &str, out: &mut Sink) {
    let Some(services) = hive.key(&format!(r"{ccs}\Services"), out) else {
        return;
    };
    for k in hive.subkeys(&services, out) {
        // Driver and service keys alike carry Start; keys without it are not services
        // (e.g. parameter containers).
        let Some(start) = k.dword("Start") else {
            continue;
        };
        let svc = ServiceConfig {
            name: k.name().to_string(),
            display_name: k.string("DisplayName").unwrap_or_default(),
            start: start as i32,
            delayed_autostart: k.dword("DelayedAutostart").unwrap_or(0) != 0,
            provenance: Some(hive.at(&k, "Start")),
        };
        out.evidence_mut().services.push(svc);
    }
}

fn read_ssl_bindings(hive: &mut Hive, ccs: &str, out: &mut Sink) {
    for (list, sni) in [("SslBindingInfo", false), ("SslSniBindingInfo", true)] {
        let Some(parent) = hive.key(&format!(r"{ccs}\Services\HTTP\Parameters\{list}"), out) else {
            continue;
        };
        for k in hive.subkeys(&parent, out) {
            let binding = ssl_binding(hive, &k, sni);
            out.evidence_mut().ssl_bindings.push(binding);
        }
    }
}

fn ssl_binding(hive: &Hive, k: &Key, sni: bool) -> SslBinding {
    SslBinding {
        endpoint: k.name().to_string(),
        sni,
        cert_thumbprint: k
            .binary("SslCertHash")
            .map(|h| hex_upper(&h))
            .unwrap_or_default(),
        cert_store: k
            .string("SslCertStoreName")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "MY".to_string()),
        app_id: k.binary("AppId").map(|g| guid(&g)).unwrap_or_default(),
        provenance: Some(hive.at(k, "SslCertHash")),
    }
}

/// `Control\Lsa` SuppressExtendedProtection: any non-zero value turns Extended Protection off
/// whatever IIS says. Read as HealthChecker does, without a value type (a number in another
/// type counts).
fn read_lsa(hive: &mut Hive, ccs: &str, out: &mut Sink) {
    let Some(k) = hive.key(&format!(r"{ccs}\Control\Lsa"), out) else {
        return;
    };
    let value = k.dword("SuppressExtendedProtection");
    out.evidence_mut().suppress_extended_protection = Some(DwordValue {
        present: value.is_some(),
        value: value.unwrap_or(0),
        provenance: Some(hive.at(&k, "SuppressExtendedProtection")),
    });
}

/// Upper-case hex in stored order, as a certificate thumbprint is written.
pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A 16-byte GUID in its registry text form; other lengths as plain hex.
fn guid(b: &[u8]) -> String {
    if b.len() != 16 {
        return hex_upper(b);
    }
    format!(
        "{{{:08x}-{:04x}-{:04x}-{}-{}}}",
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_le_bytes([b[4], b[5]]),
        u16::from_le_bytes([b[6], b[7]]),
        hex_upper(&b[8..10]).to_lowercase(),
        hex_upper(&b[10..16]).to_lowercase()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn guid_is_in_registry_form() {
        let b = [
            0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0x78, 0x56, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc,
            0xde, 0xf0,
        ];
        assert_eq!(super::guid(&b), "{12345678-1234-5678-1234-56789abcdef0}");
    }
}
