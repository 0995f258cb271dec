//! The event logs of a simulated host (Application.evtx, System.evtx, written with
//! [`crate::evtx`]): what every server logs around its last SU install, and the events its
//! planted faults leave.
//!
//! Every host: a start weeks before, Windows Update 43 and 19 and the restart after it (User32
//! 1074, EventLog 6006/6005, Kernel-General 13/12), Health Manager terminating unexpectedly
//! (7031) before the SU and after it, an ASP.NET 1309 for a client that disconnected (not a
//! failure), and for hosts on an SU the MsiInstaller 1022 of the patch with its 1036 status
//! 3010 (reboot required), the restart after it, and ServiceControl.ps1's start-type changes
//! (7040: disabled, then back to automatic, with the 7036 state changes). ServicesDisabled: the
//! changes to disabled with no way back. BackendCertMissing/Expired: HttpEvent 15021 for
//! 0.0.0.0:444. OwaAssemblyLoad: ASP.NET 1309 "Could not load file or assembly
//! 'Microsoft.Exchange...'" for /owa and /ecp. NotRebooted: no restart after the SU.
//! ServiceCrashAfterUpdate: MSExchangeTransport terminating unexpectedly (7031, 7034) within the
//! hour after the SU. SuFailedNoLog: MsiInstaller 1024 (failed, no log) 1603 for the line's
//! newest SU two days after the installed one.

use super::builds::text;
use super::real_size::mix;
use super::render::{disabled_by_fault, services};
use super::{Fault, HostSpec};
use crate::evtx::{record_len, to_bytes, utf16, Datum, EventSpec, EvtxWriter, CHUNK_RECORD_BYTES};

/// The assembly the OwaAssemblyLoad fault's events name.
pub const MISSING_ASSEMBLY: &str = "Microsoft.Exchange.Data.Directory";

/// When the simulated SU was installed: 2026-10-21 09:30:00 UTC (as ServiceControl.log).
const SU_MS: i64 = 1_792_575_000_000;
const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;

/// (Application.evtx, System.evtx) of `h`.
pub fn logs(h: &HostSpec) -> (Vec<u8>, Vec<u8>) {
    let (app, sys) = specs(h);
    (to_bytes(&app), to_bytes(&sys))
}

/// The events of `h` that its logs hold, each log's in time order: (Application, System).
pub fn specs(h: &HostSpec) -> (Vec<EventSpec>, Vec<EventSpec>) {
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
    // The Windows update's install started, and the reboot it took.
    sys.push(ev(
        "Microsoft-Windows-WindowsUpdateClient",
        43,
        4,
        SU_MS - 3 * DAY - 40 * MINUTE,
        "System",
        vec![Datum::named(
            "updateTitle",
            "2026-10 Cumulative Update for Microsoft server operating system (KB5066835)",
        )],
    ));
    sys.extend(reboot(
        &ev,
        &h.name,
        SU_MS - 3 * DAY + 5 * MINUTE,
        r"C:\Windows\servicing\TrustedInstaller.exe",
        "Operating System: Service pack (Planned)",
        r"NT AUTHORITY\SYSTEM",
    ));
    // A start weeks before, and Health Manager restarting now and then (before the SU, and
    // after it: not the SU's doing).
    sys.extend(boot(&ev, SU_MS - 10 * DAY));
    sys.push(service_crash(
        &ev,
        SU_MS - 5 * DAY,
        "Microsoft Exchange Health Manager",
        "MSExchangeHM",
        7031,
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
        // The update's status: 3010, installed, a reboot is required to finish.
        app.push(ev(
            "MsiInstaller",
            1036,
            4,
            SU_MS + 20 * MINUTE + 1_000,
            "Application",
            vec![
                Datum::positional("Microsoft Exchange Server"),
                Datum::positional(&text(h.line.base)),
                Datum::positional("1033"),
                Datum::positional(&package),
                Datum::positional("3010"),
                Datum::positional("Microsoft Corporation"),
            ],
        ));
        if !h.has(Fault::NotRebooted) {
            sys.extend(reboot(
                &ev,
                &h.name,
                SU_MS + 25 * MINUTE,
                r"C:\Windows\System32\shutdown.exe",
                "Application: Installation (Planned)",
                r"CONTOSO\exadmin",
            ));
        }
        sys.push(service_crash(
            &ev,
            SU_MS + 40 * MINUTE,
            "Microsoft Exchange Health Manager",
            "MSExchangeHM",
            7031,
        ));
        if h.has(Fault::ServiceCrashAfterUpdate) {
            for (i, id) in [7031, 7031, 7034].into_iter().enumerate() {
                sys.push(service_crash(
                    &ev,
                    SU_MS + 45 * MINUTE + i as i64 * 20 * MINUTE,
                    CRASHING_SERVICE.1,
                    CRASHING_SERVICE.0,
                    id,
                ));
            }
        }
        if h.has(Fault::SuFailedNoLog) {
            // The newest SU of the line, tried two days later without a log: 1603.
            let newest = h.line.latest();
            let package = match h.update {
                Some(_) if h.line.is_2010() => h.line.package_name(newest),
                _ => format!(
                    "Security Update for Exchange Server ({})",
                    h.line.updates[newest].2
                ),
            };
            app.push(ev(
                "MsiInstaller",
                1024,
                2,
                SU_MS + 2 * DAY,
                "Application",
                vec![
                    Datum::positional("Microsoft Exchange Server"),
                    Datum::positional(&package),
                    Datum::positional("1603"),
                    Datum::positional("http://go.microsoft.com/fwlink/?LinkId=104764"),
                ],
            ));
        }
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
    // MSExchange Unified Messaging: the CVE-2021-26857 plant and its near misses.
    for (level, at, message) in super::ioc::um_events(h) {
        app.push(ev(
            super::ioc::UM_PROVIDER,
            1,
            level,
            at,
            "Application",
            vec![Datum::positional(&message)],
        ));
    }
    for e in [&mut app, &mut sys] {
        e.sort_by_key(|e| e.time_ms);
    }
    (app, sys)
}

/// The service the ServiceCrashAfterUpdate fault crashes: (key name, display name).
pub const CRASHING_SERVICE: (&str, &str) = ("MSExchangeTransport", "Microsoft Exchange Transport");

/// A start: EventLog 6005 and Kernel-General 12.
fn boot(
    ev: &impl Fn(&str, u16, u8, i64, &str, Vec<Datum>) -> EventSpec,
    at: i64,
) -> Vec<EventSpec> {
    vec![
        ev(
            "Microsoft-Windows-Kernel-General",
            12,
            4,
            at,
            "System",
            vec![
                Datum::named("MajorVersion", "10"),
                Datum::named("MinorVersion", "0"),
                Datum::named("StartTime", "2026-10-21T09:00:00.500000000Z"),
            ],
        ),
        ev("EventLog", 6005, 4, at + 20_000, "System", Vec::new()),
    ]
}

/// A restart of `computer` asked by `process` for `user`: User32 1074, EventLog 6006, Kernel-General 13,
/// then the start two minutes later.
fn reboot(
    ev: &impl Fn(&str, u16, u8, i64, &str, Vec<Datum>) -> EventSpec,
    computer: &str,
    at: i64,
    process: &str,
    reason: &str,
    user: &str,
) -> Vec<EventSpec> {
    let mut out = vec![
        ev(
            "User32",
            1074,
            4,
            at,
            "System",
            vec![
                Datum::named("param1", process),
                Datum::named("param2", computer),
                Datum::named("param3", reason),
                Datum::named("param4", "0x80020002"),
                Datum::named("param5", "restart"),
                Datum::named("param7", user),
            ],
        ),
        ev("EventLog", 6006, 4, at + 30_000, "System", Vec::new()),
        ev(
            "Microsoft-Windows-Kernel-General",
            13,
            4,
            at + 40_000,
            "System",
            vec![Datum::named("StopTime", "2026-10-21T09:00:00.500000000Z")],
        ),
    ];
    out.extend(boot(ev, at + 2 * MINUTE));
    out
}

/// Service Control Manager 7031 (terminated unexpectedly, restarted) or 7034 (terminated
/// unexpectedly): the binary data holds the key name in UTF-16.
fn service_crash(
    ev: &impl Fn(&str, u16, u8, i64, &str, Vec<Datum>) -> EventSpec,
    at: i64,
    display: &str,
    name: &str,
    id: u16,
) -> EventSpec {
    let data = if id == 7031 {
        vec![
            Datum::named("param1", display),
            Datum::named("param2", "1"),
            Datum::named("param3", "5000"),
            Datum::named("param4", "1"),
            Datum::named("param5", "Restart the service"),
        ]
    } else {
        vec![Datum::named("param1", display), Datum::named("param2", "1")]
    };
    EventSpec {
        binary: utf16(&format!("{name}\0")),
        ..ev("Service Control Manager", id, 2, at, "System", data)
    }
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

/// One of a host's event logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Log {
    /// Application.evtx.
    Application,
    /// System.evtx.
    System,
}

impl Log {
    /// The channel, which is also the file's stem.
    pub fn channel(self) -> &'static str {
        match self {
            Log::Application => "Application",
            Log::System => "System",
        }
    }

    /// Where the log lives on the server.
    pub fn windows_path(self) -> &'static str {
        match self {
            Log::Application => r"C:\Windows\System32\winevt\Logs\Application.evtx",
            Log::System => r"C:\Windows\System32\winevt\Logs\System.evtx",
        }
    }
}

/// A log of hundreds of MB on a busy server covers weeks: the filler reaches back this far
/// before the SU...
const FILLER_FROM_MS: i64 = SU_MS - 60 * DAY;
/// ...and ends an hour before the simulated collection.
const FILLER_TO_MS: i64 = crate::SIM_NOW_MS - 60 * MINUTE;

/// Writes `log` of `h` to `path` at real size: the host's own events ([`specs`]) in time order
/// among ordinary records of other providers and event ids, until the file is at least `target`
/// bytes (it ends with its last 64 KiB chunk, so at most one chunk more). Chunks are streamed to
/// the file as they fill, so a log of several hundred MB takes one chunk of memory. No filler
/// record is one the collector keeps (collector/EVIDENCE.md), so the snapshot's events are the
/// same as over [`logs`], record ids apart. Returns the number of filler records.
pub fn write_padded(
    h: &HostSpec,
    seed: u64,
    log: Log,
    target: u64,
    path: &std::path::Path,
) -> std::io::Result<u64> {
    use std::io::Write;
    let (app, sys) = specs(h);
    let ours = match log {
        Log::Application => app,
        Log::System => sys,
    };
    let plain = to_bytes(&ours);
    if plain.len() as u64 >= target {
        std::fs::write(path, plain)?;
        return Ok(0);
    }
    let filler = Filler::new(h, seed, log);
    // Spread the filler over its window: how many records fill the target follows from their
    // average size (a chunk wastes about half a record at its end).
    const SAMPLE: u64 = 512;
    let sample: usize = (0..SAMPLE)
        .map(|j| record_len(j + 1, &filler.event(j, FILLER_FROM_MS)))
        .sum();
    let average = sample as f64 / SAMPLE as f64;
    let per_chunk = (CHUNK_RECORD_BYTES as f64 - average / 2.0) / average;
    let chunks = target.saturating_sub(4096).div_ceil(65536);
    // A little more than needed, so that the filler does not run past its window.
    let planned = (chunks as f64 * per_chunk * 1.02) as u64 + 16;
    let step = ((FILLER_TO_MS - FILLER_FROM_MS) as f64 / planned as f64).max(1.0);
    let file = std::fs::File::create(path)?;
    let mut w = EvtxWriter::new(std::io::BufWriter::with_capacity(1 << 20, file))?;
    let mut ours = ours.iter().peekable();
    let mut written = 0u64;
    while w.file_len() < target {
        let jitter = (mix(filler.base ^ written) % 1000) as f64 / 1000.0;
        let at = FILLER_FROM_MS + ((written as f64 + jitter) * step) as i64;
        let at = at.min(FILLER_TO_MS);
        while let Some(e) = ours.next_if(|e| e.time_ms <= at) {
            w.push(e)?;
        }
        w.push(&filler.event(written, at))?;
        written += 1;
    }
    for e in ours {
        w.push(e)?;
    }
    w.finish()?.flush()?;
    Ok(written)
}

/// The ordinary records a busy Exchange server's logs are made of: Exchange's own chatter
/// (cmdlet logging, AD topology, ESE, performance counters), Windows' housekeeping, TLS and DNS
/// noise. None is a provider and id the collector keeps; some share a provider with one
/// (WindowsUpdateClient 44, MsiInstaller 1040/1042, EventLog 6013) or an id (Kernel-Boot 20),
/// as real logs do, so the filter is keyed on both.
struct Filler {
    base: u64,
    log: Log,
    computer: String,
    name: String,
    install: String,
}

const CMDLETS: [&str; 12] = [
    "Get-ExchangeServer",
    "Get-MailboxDatabase",
    "Get-MailboxDatabaseCopyStatus",
    "Get-ServerComponentState",
    "Get-TransportService",
    "Get-OwaVirtualDirectory",
    "Get-ClientAccessService",
    "Test-ServiceHealth",
    "Get-Queue",
    "Get-HealthReport",
    "Get-Mailbox",
    "Get-MonitoringItemIdentity",
];

const APP_POOLS: [&str; 8] = [
    "MSExchangeOWAAppPool",
    "MSExchangeECPAppPool",
    "MSExchangeRpcProxyAppPool",
    "MSExchangeSyncAppPool",
    "MSExchangeServicesAppPool",
    "MSExchangeAutodiscoverAppPool",
    "MSExchangePowerShellFrontEndAppPool",
    "MSExchangeMapiFrontEndAppPool",
];

impl Filler {
    fn new(h: &HostSpec, seed: u64, log: Log) -> Self {
        let salt = match log {
            Log::Application => 0xa,
            Log::System => 0x5,
        };
        Filler {
            base: mix(seed ^ super::render::hash(&h.name) ^ salt),
            log,
            computer: h.fqdn(),
            name: h.name.clone(),
            install: h.install_path(),
        }
    }

    /// Filler record `j`, written at `at`.
    fn event(&self, j: u64, at: i64) -> EventSpec {
        let r = mix(self.base.wrapping_add(j));
        let pick = |n: usize, shift: u32| ((r >> shift) % n as u64) as usize;
        let (provider, id, level, data) = match self.log {
            Log::Application => self.application(r, pick(100, 0), &pick),
            Log::System => self.system(r, pick(100, 0), &pick),
        };
        EventSpec {
            provider: provider.into(),
            event_id: id,
            level,
            time_ms: at,
            channel: self.log.channel().into(),
            computer: self.computer.clone(),
            data,
            binary: Vec::new(),
        }
    }

    fn application(
        &self,
        r: u64,
        roll: usize,
        pick: &dyn Fn(usize, u32) -> usize,
    ) -> (&'static str, u16, u8, Vec<Datum>) {
        let pid = format!("{}", 1000 + (r >> 20) % 30000);
        match roll {
            0..=34 => {
                let cmdlet = CMDLETS[pick(CMDLETS.len(), 8)];
                (
                    "MSExchange CmdletLogs",
                    1,
                    4,
                    positional(&[
                        cmdlet,
                        &format!("{{Identity={}}}", self.name),
                        "contoso.local/Microsoft Exchange System Objects/Monitoring Mailboxes/HealthMailbox7f3a",
                        "S-1-5-18",
                        "S-1-5-18",
                        "ServerManagement",
                        "Local",
                        &pid,
                        &format!("{}", 1 + (r >> 32) % 400),
                        &format!("00:00:00.{:07}", (r >> 12) % 9_999_999),
                        "View Entire Forest: 'False', ",
                    ]),
                )
            }
            35..=54 => (
                "MSExchange ADAccess",
                2080,
                4,
                positional(&[
                    "Microsoft.Exchange.Directory.TopologyService.exe",
                    &pid,
                    "DC01.contoso.local\tCDG 1 7 7 1 0 1 1 7 1\nDC02.contoso.local\tCDG 1 7 7 1 0 1 1 7 1\n Out-of-site:\nDC11.contoso.local\tCD- 1 6 6 0 0 1 1 6 1",
                ]),
            ),
            55..=64 => {
                let db = format!("DB{:02}", 1 + pick(8, 16));
                (
                    "ESE",
                    if r & 1 == 0 { 326 } else { 327 },
                    4,
                    positional(&[
                        "Microsoft.Exchange.Store.Worker",
                        &pid,
                        &format!("{db}: /Mount/"),
                        "1",
                        &format!(r"{}Mailbox\{db}\{db}.edb", self.install),
                        "-1",
                    ]),
                )
            }
            65..=74 => (
                "MSExchange Common",
                106,
                3,
                positional(&[
                    "Messages Queued For Delivery",
                    "MSExchangeTransport Queues",
                    "The Performance Counter Shared Memory segment is full.",
                    "Last worker process info : System.ArgumentException: Process with an Id of 4124 is not running.",
                ]),
            ),
            75..=84 => (
                "Microsoft-Windows-Security-SPP",
                16384,
                4,
                positional(&["2026-10-27T09:15:44Z", "RulesEngine"]),
            ),
            85..=89 => (
                "MsiInstaller",
                if r & 2 == 0 { 1040 } else { 1042 },
                4,
                positional(&[&format!(r"C:\Windows\Installer\{:x}.msi", r >> 40), &pid]),
            ),
            90..=94 => ("VSS", 8224, 4, positional(&["Idle timeout"])),
            _ => (
                "Microsoft-Windows-RestartManager",
                if r & 4 == 0 { 10000 } else { 10001 },
                4,
                positional(&[&pid, "2026-10-21T09:30:00.000000000Z"]),
            ),
        }
    }

    fn system(
        &self,
        r: u64,
        roll: usize,
        pick: &dyn Fn(usize, u32) -> usize,
    ) -> (&'static str, u16, u8, Vec<Datum>) {
        let pid = format!("{}", 1000 + (r >> 20) % 30000);
        match roll {
            0..=24 => (
                "Microsoft-Windows-Kernel-General",
                16,
                4,
                named(&[
                    ("HiveNameLength", "58"),
                    (
                        "HiveName",
                        &format!(
                            r"\??\C:\Users\HealthMailbox{:07x}\ntuser.dat",
                            (r >> 8) & 0xff_ffff
                        ),
                    ),
                    ("KeysUpdated", "0"),
                    ("DirtyPages", "0"),
                ]),
            ),
            25..=44 => (
                "Microsoft-Windows-WAS",
                5186,
                4,
                named(&[
                    ("ProcessID", &pid),
                    ("AppPoolID", APP_POOLS[pick(APP_POOLS.len(), 8)]),
                    ("Minutes", "20"),
                ]),
            ),
            45..=59 => (
                "Schannel",
                36887,
                2,
                named(&[("AlertDesc", if r & 1 == 0 { "46" } else { "48" })]),
            ),
            60..=69 => (
                "Microsoft-Windows-DNS-Client",
                1014,
                3,
                named(&[
                    ("QueryName", "wpad.contoso.local"),
                    ("AddressLength", "16"),
                    ("Address", "0200003501020304"),
                ]),
            ),
            70..=79 => (
                "Microsoft-Windows-Time-Service",
                if r & 1 == 0 { 37 } else { 158 },
                4,
                named(&[(
                    "TimeSource",
                    "DC01.contoso.local (ntp.d|10.0.0.21:123->10.0.0.10:123)",
                )]),
            ),
            80..=89 => (
                "Microsoft-Windows-GroupPolicy",
                if r & 2 == 0 { 1500 } else { 1502 },
                4,
                named(&[
                    ("SupportInfo1", "1"),
                    ("SupportInfo2", "5128"),
                    ("ProcessingMode", "0"),
                    ("ProcessingTimeInMilliseconds", &format!("{}", 300 + (r >> 24) % 4000)),
                    ("DCName", r"\\DC01.contoso.local"),
                    ("NumberOfGroupPolicyObjects", "7"),
                ]),
            ),
            90..=96 => (
                "Microsoft-Windows-WindowsUpdateClient",
                44,
                4,
                named(&[
                    (
                        "updateTitle",
                        "Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 (Version 1.421.1236.0)",
                    ),
                    ("updateGuid", "{6c7b1a2d-58f0-4d3e-9a41-8c2b7e0f5d13}"),
                    ("updateRevisionNumber", "200"),
                ]),
            ),
            97..=98 => (
                "Microsoft-Windows-Kernel-Boot",
                20,
                4,
                named(&[("LastShutdownGood", "true"), ("LastBootGood", "true")]),
            ),
            _ => (
                "EventLog",
                6013,
                4,
                positional(&[&format!("{}", (r >> 16) % 9_000_000), "60", "0 Coordinated Universal Time"]),
            ),
        }
    }
}

/// Positional data; an empty text leaves the item out (event data are never empty).
fn positional(values: &[&str]) -> Vec<Datum> {
    values
        .iter()
        .filter(|v| !v.is_empty())
        .map(|v| Datum::positional(v))
        .collect()
}

fn named(values: &[(&str, &str)]) -> Vec<Datum> {
    values.iter().map(|(n, v)| Datum::named(n, v)).collect()
}
