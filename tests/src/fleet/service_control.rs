//! ServiceControl.log and the saved service-state file of a simulated host: one SU install
//! as ServiceControl.ps1 logs it (collector/EVIDENCE.md), a run before patching that saves,
//! stops and disables the services, and a run after it that restores them. A host with the
//! ServicesDisabled fault has only the first run, and its ServiceState.xml is left behind.
//! Also the `sc queryex` capture an administrator saves into the copy (`exfleet\sc-queryex.txt`).

use std::fmt::Write;

use super::render::disabled_by_fault;
use super::{Fault, HostSpec};

/// Services the before-patch run disables besides those the fault leaves Disabled: POP/IMAP
/// are disabled too (they are Manual or Disabled by default anyway).
const ALSO: [&str; 2] = ["MSExchangeIMAP4", "MSExchangePOP3"];

/// The header date of the SU install, in the day-first format of an en-GB server (21 > 12,
/// so the order is not ambiguous).
const DATE: &str = "21/10/2026";

/// When the before-patch run saved ServiceState.xml: 2026-10-21 09:30:03 UTC (the hosts'
/// time zone is UTC).
pub const STATE_SAVED_MS: i64 = 1_792_575_003_000;

/// ServiceControl.log of `h`, `None` for a host that never installed an SU.
pub fn log(h: &HostSpec) -> Option<String> {
    h.update?;
    let mut out = String::new();
    let services: Vec<&str> = disabled_by_fault().into_iter().chain(ALSO).collect();
    run_header(&mut out, "09:30:02");
    let mut t = Ticker::new(9, 30, 2);
    line(
        &mut out,
        &t.tick(0),
        "Performing service control with options: ",
    );
    line(&mut out, &t.tick(0), "Saving service and registry data");
    line(
        &mut out,
        &t.tick(1),
        r"Saving service state to 'C:\ExchangeSetupLogs\ServiceState.xml'...",
    );
    for s in &services {
        line(&mut out, &t.tick(2), &format!("Stopping service '{s}'."));
    }
    line(&mut out, &t.tick(1), "Disabling services for 'Mailbox'...");
    for s in &services {
        line(&mut out, &t.tick(0), &format!("Disabling service '{s}'."));
    }
    line(&mut out, &t.tick(1), "Script completed succesfully.");
    if !h.has(Fault::ServicesDisabled) {
        run_header(&mut out, "09:52:40");
        let mut t = Ticker::new(9, 52, 40);
        line(
            &mut out,
            &t.tick(0),
            "Performing service control with options: ",
        );
        line(
            &mut out,
            &t.tick(0),
            "Enabling services for the following roles 'Mailbox'...",
        );
        line(
            &mut out,
            &t.tick(3),
            r"Removing service state from 'C:\ExchangeSetupLogs\ServiceState.xml'...",
        );
        line(&mut out, &t.tick(1), "Script completed succesfully.");
    }
    Some(out)
}

/// The ServiceState.xml a ServicesDisabled host keeps (CLIXML of the saved services).
pub fn state_file(h: &HostSpec) -> Option<String> {
    if !h.has(Fault::ServicesDisabled) || h.update.is_none() {
        return None;
    }
    let mut out = String::from(
        "<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">\n",
    );
    for (i, s) in disabled_by_fault().into_iter().enumerate() {
        let _ = writeln!(
            out,
            "  <Obj RefId=\"{i}\"><Props><S N=\"Name\">{s}</S><S N=\"StartMode\">Auto</S><S N=\"State\">Running</S></Props></Obj>"
        );
    }
    out.push_str("</Objs>\n");
    Some(out)
}

fn run_header(out: &mut String, time: &str) {
    out.push_str("------------------------------------------------------------------\n");
    let _ = writeln!(out, "* ServiceControl.ps1: {DATE} {time}");
}

fn line(out: &mut String, time: &str, text: &str) {
    let _ = writeln!(out, "[{time}] {text}");
}

/// Times of day that move forward.
struct Ticker(u32);

impl Ticker {
    fn new(h: u32, m: u32, s: u32) -> Self {
        Ticker(h * 3600 + m * 60 + s)
    }

    fn tick(&mut self, secs: u32) -> String {
        self.0 += secs;
        format!(
            "{:02}:{:02}:{:02}",
            self.0 / 3600,
            self.0 / 60 % 60,
            self.0 % 60
        )
    }
}

/// The `sc queryex type= service state= all` capture an administrator saves into the copy
/// (exfleet/sc-queryex.txt): automatic services running, manual ones stopped, and the
/// services the ServicesDisabled fault disabled stopped.
pub fn sc_queryex(h: &HostSpec) -> String {
    let disabled = if h.has(Fault::ServicesDisabled) {
        disabled_by_fault()
    } else {
        Vec::new()
    };
    let mut out = String::new();
    for (i, (name, display, start)) in super::render::services(h).iter().enumerate() {
        let running = *start == 2 && !disabled.contains(name);
        let (state, pid, exit) = if running {
            ("4  RUNNING", 3000 + i * 4, "0  (0x0)")
        } else {
            ("1  STOPPED", 0, "1077  (0x435)")
        };
        let _ = write!(
            out,
            "\r\nSERVICE_NAME: {name}\r\nDISPLAY_NAME: {display}\r\n        TYPE               : 10  WIN32_OWN_PROCESS  \r\n        STATE              : {state}\r\n                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)\r\n        WIN32_EXIT_CODE    : {exit}\r\n        SERVICE_EXIT_CODE  : 0  (0x0)\r\n        CHECKPOINT         : 0x0\r\n        WAIT_HINT          : 0x0\r\n        PID                : {pid}\r\n        FLAGS              :\r\n"
        );
    }
    out
}
