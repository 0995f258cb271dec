//! The event logs of a simulated host (Application.evtx, System.evtx, written with
//! [`crate::evtx`]): what every server logs around its last SU install, and the events its
//! planted faults leave.
//!
//! Every host: Windows Update 19, an ASP.NET 1309 for a client that disconnected (not a
//! failure), and for hosts on an SU the MsiInstaller 1022 of the patch and ServiceControl.ps1's
//! start-type changes (7040: disabled, then back to automatic, with the 7036 state changes). ServicesDisabled: the changes to disabled with no way back.
//! BackendCertMissing/Expired: HttpEvent 15021 for 0.0.0.0:444. OwaAssemblyLoad: ASP.NET 1309
//! "Could not load file or assembly 'Microsoft.Exchange...'" for /owa and /ecp.

use super::render::{disabled_by_fault, services};
use super::{Fault, HostSpec};
use crate::evtx::{to_bytes, utf16, Datum, EventSpec};

/// The assembly the OwaAssemblyLoad fault's events name.
pub const MISSING_ASSEMBLY: &str = "Microsoft.Exchange.Data.Directory";

/// When the simulated SU was installed: 2026-10-21 09:30:00 UTC (as ServiceControl.log).
const SU_MS: i64 = 1_792_575_000_000;
const MINUTE: i64 = 60_000;

/// (Application.evtx, System.evtx) of `h`.
pub fn logs(h: &HostSpec) -> (Vec<u8>, Vec<u8>) {
    let computer = h.fqdn();
    let ev = |provider: &str, id: u16, level: u8, time_ms: i64, channel: &str, data| EventSpec {
        provider: provider.into(),
        event_id: id,
        level,
        time_ms,
        channel: channel.into(),
        computer: computer.clone(),
        data,
        binary: Vec::new(),
    };
    let mut app = Vec::new();
    let mut sys = Vec::new();
    sys.push(ev(
        "Microsoft-Windows-WindowsUpdateClient",
        19,
        4,
        SU_MS - 3 * 24 * 60 * MINUTE,
        "System",
        vec![
            Datum::named(
                "updateTitle",
                "2026-10 Cumulative Update for Microsoft server operating system (KB5066835)",
            ),
            Datum::named("updateGuid", "{8d1a3b4c-2f6e-4a7b-9c0d-1e2f3a4b5c6d}"),
            Datum::named("updateRevisionNumber", "1"),
        ],
    ));
    let su = h.update.is_some();
    // Only the SU scripts of Exchange 2013 and later disable services while they run.
    let disabled = if h.line.is_2010() {
        Vec::new()
    } else {
        disabled_by_fault()
    };
    if su {
        let kb = h.update.map(|i| h.line.updates[i].2).unwrap_or("KB0000000");
        let package = match h.update {
            Some(i) if h.line.is_2010() => h.line.package_name(i),
            _ => format!("Security Update for Exchange Server ({kb})"),
        };
        app.push(ev(
            "MsiInstaller",
            1022,
            4,
            SU_MS + 20 * MINUTE,
            "Application",
            vec![
                Datum::positional("Microsoft Exchange Server"),
                Datum::positional(&package),
                Datum::positional("(NULL)"),
                Datum::positional("(NULL)"),
            ],
        ));
        for (i, (name, display, _)) in services(h)
            .iter()
            .filter(|(n, _, _)| disabled.contains(n))
            .enumerate()
        {
            let at = SU_MS + 30_000 + i as i64 * 1_000;
            sys.push(start_type(&ev, at, display, name, "auto start", "disabled"));
            sys.push(state(&ev, at + 500, display, name, "stopped", 1));
            if !h.has(Fault::ServicesDisabled) {
                let back = SU_MS + 22 * MINUTE + i as i64 * 1_000;
                sys.push(start_type(
                    &ev,
                    back,
                    display,
                    name,
                    "disabled",
                    "auto start",
                ));
                sys.push(state(&ev, back + 500, display, name, "running", 4));
            }
        }
    }
    // A 1309 every busy OWA logs now and then, which is not a failure.
    app.push(ev(
        "ASP.NET 4.0.30319.0",
        1309,
        3,
        SU_MS - 2 * 60 * MINUTE,
        "Application",
        vec![
            Datum::positional("3005"),
            Datum::positional("An unhandled exception has occurred."),
            Datum::positional("/LM/W3SVC/1/ROOT/owa-1-133410"),
            Datum::positional("Full"),
            Datum::positional("/owa"),
            Datum::positional(&h.name),
            Datum::positional("HttpException"),
            Datum::positional("The client disconnected."),
        ],
    ));
    if h.has(Fault::BackendCertMissing) || h.has(Fault::BackendCertExpired) {
        for i in 0..12 {
            sys.push(EventSpec {
                binary: vec![0x16, 0x03, 0x00, 0xc0],
                ..ev(
                    "Microsoft-Windows-HttpEvent",
                    15021,
                    2,
                    SU_MS + 40 * MINUTE + i * 5 * MINUTE,
                    "System",
                    vec![
                        Datum::positional("\\Device\\Http\\ReqQueue"),
                        Datum::positional("0.0.0.0:444"),
                    ],
                )
            });
        }
    }
    if h.has(Fault::OwaAssemblyLoad) {
        for i in 0..20 {
            let vdir = if i % 2 == 0 { "/owa" } else { "/ecp" };
            app.push(ev(
                "ASP.NET 4.0.30319.0",
                1309,
                3,
                SU_MS + 35 * MINUTE + i * MINUTE,
                "Application",
                vec![
                    Datum::positional("3005"),
                    Datum::positional("An unhandled exception has occurred."),
                    Datum::positional(&format!("/LM/W3SVC/1/ROOT{vdir}-1-133420")),
                    Datum::positional("Full"),
                    Datum::positional(vdir),
                    Datum::positional(&format!(
                        "{}FrontEnd\\HttpProxy{}\\",
                        h.install_path(),
                        vdir.replace('/', "\\")
                    )),
                    Datum::positional(&h.name),
                    Datum::positional("FileNotFoundException"),
                    Datum::positional(&format!(
                        "Could not load file or assembly '{MISSING_ASSEMBLY}, Version=15.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35' or one of its dependencies. The system cannot find the file specified."
                    )),
                ],
            ));
        }
    }
    for e in [&mut app, &mut sys] {
        e.sort_by_key(|e| e.time_ms);
    }
    (to_bytes(&app), to_bytes(&sys))
}

/// Service Control Manager 7040: start type of `name` changed.
fn start_type(
    ev: &impl Fn(&str, u16, u8, i64, &str, Vec<Datum>) -> EventSpec,
    at: i64,
    display: &str,
    name: &str,
    from: &str,
    to: &str,
) -> EventSpec {
    ev(
        "Service Control Manager",
        7040,
        4,
        at,
        "System",
        vec![
            Datum::named("param1", display),
            Datum::named("param2", from),
            Datum::named("param3", to),
            Datum::named("param4", name),
        ],
    )
}

/// Service Control Manager 7036: `name` entered a state; the binary data is
/// "<KeyName>/<state code>" in UTF-16 (collector/EVIDENCE.md).
fn state(
    ev: &impl Fn(&str, u16, u8, i64, &str, Vec<Datum>) -> EventSpec,
    at: i64,
    display: &str,
    name: &str,
    state: &str,
    code: u8,
) -> EventSpec {
    EventSpec {
        binary: utf16(&format!("{name}/{code}\0")),
        ..ev(
            "Service Control Manager",
            7036,
            4,
            at,
            "System",
            vec![
                Datum::named("param1", display),
                Datum::named("param2", state),
            ],
        )
    }
}
