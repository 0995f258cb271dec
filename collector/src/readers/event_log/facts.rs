//! What an event that matters says, as typed fields of its [`Event`]: its kind, what it is
//! about (the update, the service, the crashed process), the MSI product, the KB, the result
//! code and a few words more. Read from the event's data as each provider writes it
//! (collector/EVIDENCE.md): named values where the provider names them, else by position
//! (MsiInstaller's items are positional: 1022/1023/1024 product, update, error code, log;
//! 1033 product, version, language, status, manufacturer; 1036 product, version, language,
//! update, status, manufacturer). Nothing here fails: a value that is missing or unreadable
//! leaves its field empty.

use exfleet_proto::kinds::EventKind;
use exfleet_proto::v1::Event;

/// MSI status: success, a reboot is required to finish.
pub const REBOOT_REQUIRED: i64 = 3010;

/// Fills the typed fields of `e` from its provider, id and data.
pub fn fill(e: &mut Event) {
    let provider = e.provider.to_ascii_lowercase();
    let id = e.event_id;
    let kind = match (provider.as_str(), id) {
        ("asp.net 4.0.30319.0", _) | ("msexchange front end http proxy", _) => EventKind::WebError,
        ("httpevent" | "microsoft-windows-httpevent", _) => EventKind::TlsError,
        ("service control manager", _) => service(e),
        ("msiinstaller", _) => msi(e),
        ("microsoft-windows-windowsupdateclient", _) => windows_update(e),
        ("eventlog", 6005) | ("microsoft-windows-kernel-general", 12) => EventKind::Boot,
        ("eventlog", 6006) | ("microsoft-windows-kernel-general", 13) => EventKind::Shutdown,
        ("eventlog", 6008) => {
            let at = [value(e, "", 0), value(e, "", 1)];
            if !at[0].is_empty() {
                e.detail = format!("the previous shutdown, at {} on {}", at[0], at[1]);
            }
            EventKind::UnexpectedShutdown
        }
        ("user32", 1074) => {
            // Process, computer, reason, reason code, shutdown type, comment, user.
            e.subject = value(e, "param1", 0);
            let (reason, how, user) = (
                value(e, "param3", 2),
                value(e, "param5", 4),
                value(e, "param7", 6),
            );
            e.detail = format!("{how} by {user}: {reason}");
            EventKind::Shutdown
        }
        ("application error", _) => {
            // Named on newer Windows, positional before: application, its version and time
            // stamp, module, its version and time stamp, exception code, offset, ...
            e.subject = value(e, "AppName", 0);
            let module = value(e, "ModuleName", 3);
            let exception = value(e, "ExceptionCode", 6);
            // Written in hex without its 0x ("c0000005").
            e.result_code = i64::from_str_radix(exception.trim_start_matches("0x"), 16).ok();
            e.detail = format!("faulting module {module}, exception code {exception}");
            EventKind::ProcessCrashed
        }
        (".net runtime", _) => {
            // One text: "Application: X.exe", "Framework Version: ...", "Description: ...",
            // "Exception Info: ...", one per line.
            let text = value(e, "", 0);
            let line = |key: &str| {
                text.lines()
                    .find_map(|l| l.trim().strip_prefix(key))
                    .map(|v| v.trim().to_string())
                    .unwrap_or_default()
            };
            e.subject = line("Application:");
            e.detail = line("Exception Info:");
            EventKind::ProcessCrashed
        }
        ("msexchange common", _) => {
            // Watson report: process id, then the parameters (E12IIS, c-RTL-AMD64, version,
            // process, module, method, exception, hash, version).
            e.subject = value(e, "", 4);
            e.detail = format!("{} in {}", value(e, "", 7), value(e, "", 5));
            EventKind::ProcessCrashed
        }
        _ => return,
    };
    e.kind = kind.as_str().to_string();
    e.kb = kb(&e.subject);
}

/// Service Control Manager events: the key name from the binary data (UTF-16), else a
/// parameter; the display name and the error in `detail`.
fn service(e: &mut Event) -> EventKind {
    let key = key_name(&e.binary);
    let display = |e: &Event, name: &str, i| value(e, name, i);
    let (kind, shown, error) = match e.event_id {
        7040 => {
            let k = value(e, "param4", 3);
            e.subject = k;
            return EventKind::StartTypeChanged;
        }
        7036 => {
            e.subject = key
                .map(|k| k.split('/').next().unwrap_or_default().to_string())
                .unwrap_or_else(|| display(e, "param1", 0));
            return EventKind::StateChanged;
        }
        7000 => (
            EventKind::ServiceStartFailed,
            display(e, "param1", 0),
            value(e, "param2", 1),
        ),
        7009 => (
            EventKind::ServiceStartFailed,
            display(e, "param2", 1),
            format!("no connection within {} ms", value(e, "param1", 0)),
        ),
        7011 => (
            EventKind::ServiceHung,
            display(e, "param2", 1),
            format!("no answer within {} ms", value(e, "param1", 0)),
        ),
        7023 => (
            EventKind::ServiceCrashed,
            display(e, "param1", 0),
            value(e, "param2", 1),
        ),
        7031 => (
            EventKind::ServiceCrashed,
            display(e, "param1", 0),
            format!(
                "terminated unexpectedly ({} times); recovery: {}",
                value(e, "param2", 1),
                value(e, "param5", 4)
            ),
        ),
        7034 => (
            EventKind::ServiceCrashed,
            display(e, "param1", 0),
            format!("terminated unexpectedly ({} times)", value(e, "param2", 1)),
        ),
        _ => return EventKind::Other(String::new()),
    };
    if matches!(e.event_id, 7000 | 7023) {
        e.result_code = code(&error);
    }
    e.subject = key.unwrap_or_else(|| shown.clone());
    e.detail = format!("{shown}: {error}");
    kind
}

/// MsiInstaller events: product, update and result.
fn msi(e: &mut Event) -> EventKind {
    let status = |e: &Event, i| code(&value(e, "", i));
    let (update, result) = match e.event_id {
        1022 => (value(e, "", 1), Some(0)),
        1023 | 1024 => (value(e, "", 1), status(e, 2).or(Some(1603))),
        1033 => (String::new(), status(e, 3)),
        1036 => (value(e, "", 3), status(e, 4)),
        11707 | 11708 => {
            // One text: "Product: <name> -- Installation completed successfully." / "failed."
            let text = value(e, "", 0);
            let product = text
                .strip_prefix("Product: ")
                .and_then(|t| t.split(" -- ").next())
                .unwrap_or_default();
            e.product = product.to_string();
            e.subject = e.product.clone();
            e.detail = text;
            return if e.event_id == 11707 {
                EventKind::UpdateInstalled
            } else {
                EventKind::UpdateFailed
            };
        }
        _ => return EventKind::Other(String::new()),
    };
    e.product = value(e, "", 0);
    e.subject = if update.is_empty() || update == "(NULL)" {
        e.product.clone()
    } else {
        update
    };
    if e.event_id == 1024 {
        e.detail = "no log was written (Windows Installer logging is off)".into();
    } else if e.event_id == 1023 {
        e.detail = value(e, "", 3);
    }
    e.result_code = result;
    match result {
        Some(0 | REBOOT_REQUIRED) | None if e.event_id != 1023 && e.event_id != 1024 => {
            EventKind::UpdateInstalled
        }
        _ => EventKind::UpdateFailed,
    }
}

/// WindowsUpdateClient events: the update's title, and 20's error code.
fn windows_update(e: &mut Event) -> EventKind {
    let title = ["updateTitle", "updatelist"]
        .iter()
        .map(|n| named(e, n))
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| value(e, "", 0));
    e.subject = title;
    match e.event_id {
        19 => {
            e.result_code = Some(0);
            EventKind::UpdateInstalled
        }
        20 => {
            let error = named(e, "errorCode");
            e.result_code = code(&error);
            e.detail = format!("error {error}");
            EventKind::UpdateFailed
        }
        21 => EventKind::RebootRequired,
        43 => EventKind::UpdateStarted,
        _ => EventKind::Other(String::new()),
    }
}

/// The value named `name`, or else the `i`th value; empty when there is neither.
fn value(e: &Event, name: &str, i: usize) -> String {
    let by_name = if name.is_empty() {
        String::new()
    } else {
        named(e, name)
    };
    if !by_name.is_empty() {
        return by_name;
    }
    e.data
        .get(i)
        .map(|d| d.value.trim().to_string())
        .unwrap_or_default()
}

fn named(e: &Event, name: &str) -> String {
    e.data
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(name))
        .map(|d| d.value.trim().to_string())
        .unwrap_or_default()
}

/// A result code written as a decimal number, `0x` hex, or an insertion string `%%1053`.
pub fn code(text: &str) -> Option<i64> {
    let t = text.trim().trim_start_matches("%%");
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16).ok();
    }
    t.parse().ok()
}

/// The KB number a text holds ("KB5041552"), upper case; empty when none.
pub fn kb(text: &str) -> String {
    let upper = text.to_ascii_uppercase();
    let mut from = 0;
    while let Some(i) = upper[from..].find("KB") {
        let start = from + i + 2;
        let digits: String = upper[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if digits.len() >= 6 {
            return format!("KB{digits}");
        }
        from = start;
    }
    String::new()
}

/// The service key name the binary data of a Service Control Manager event holds: UTF-16LE
/// text up to its NUL, written as hex.
fn key_name(hex: &str) -> Option<String> {
    if hex.is_empty() || !hex.len().is_multiple_of(4) {
        return None;
    }
    let units: Vec<u16> = (0..hex.len() / 4)
        .map(|i| {
            let b = |j: usize| u8::from_str_radix(hex.get(j..j + 2).unwrap_or("zz"), 16).ok();
            Some(u16::from_le_bytes([b(i * 4)?, b(i * 4 + 2)?]))
        })
        .collect::<Option<Vec<u16>>>()?;
    let end = units.iter().position(|u| *u == 0).unwrap_or(units.len());
    let text = String::from_utf16(&units[..end]).ok()?;
    let plain = !text.is_empty() && text.chars().all(|c| !c.is_control());
    plain.then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use exfleet_proto::v1::EventDatum;
    use proptest::prelude::*;

    proptest! {
        /// Event data comes from the server: whatever it holds, naming an event never panics,
        /// and a kept event always gets its kind.
        #[test]
        fn any_data_of_a_kept_event_is_named(
            which in 0usize..12,
            data in proptest::collection::vec(("(param[0-9]|updateTitle|errorCode|AppName|)", "\\PC{0,40}|%%[0-9]{1,12}|0x[0-9a-fA-F]{0,18}|[0-9]{0,22}|Product: \\PC{0,20} -- \\PC{0,10}"), 0..9),
            binary in "[0-9A-F]{0,64}",
        ) {
            let (providers, ids) = super::super::filter::MATTER[which];
            for p in providers {
                for id in ids {
                    let data: Vec<(&str, &str)> =
                        data.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                    let e = event(p, *id, &data, &binary);
                    prop_assert!(!e.kind.is_empty());
                    prop_assert!(e.kb.is_empty() || e.kb.starts_with("KB"));
                }
            }
        }
    }

    fn event(provider: &str, id: u32, data: &[(&str, &str)], binary: &str) -> Event {
        let mut e = Event {
            provider: provider.into(),
            event_id: id,
            data: data
                .iter()
                .map(|(n, v)| EventDatum {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect(),
            binary: binary.into(),
            ..Default::default()
        };
        fill(&mut e);
        e
    }

    /// One table decides what is kept ([`super::super::filter::MATTER`]): each event it
    /// keeps is named here, and none it drops is.
    #[test]
    fn every_event_kept_has_a_kind() {
        for (providers, ids) in super::super::filter::MATTER {
            for p in providers {
                for id in ids {
                    assert!(!event(p, *id, &[], "").kind.is_empty(), "{p} {id}");
                }
            }
        }
        assert!(event("Microsoft-Windows-Kernel-General", 16, &[], "")
            .kind
            .is_empty());
        assert!(event("EventLog", 6013, &[], "").kind.is_empty());
    }

    #[test]
    fn msi_results_and_kb() {
        let e = event(
            "MsiInstaller",
            1023,
            &[
                ("", "Microsoft Exchange Server"),
                (
                    "",
                    "Security Update for Exchange Server 2019 CU14 SU3 (KB5041552)",
                ),
                ("", "1603"),
                ("", r"C:\Windows\Temp\MSI1a2b3.LOG"),
            ],
            "",
        );
        assert_eq!(e.kind, "update_failed");
        assert_eq!(e.result_code, Some(1603));
        assert_eq!(e.kb, "KB5041552");
        assert_eq!(e.product, "Microsoft Exchange Server");
        let e = event(
            "MsiInstaller",
            1036,
            &[
                ("", "Microsoft Exchange Server"),
                ("", "15.2.1544.4"),
                ("", "1033"),
                (
                    "",
                    "Security Update for Exchange Server 2019 CU14 SU3 (KB5041552)",
                ),
                ("", "3010"),
                ("", "Microsoft Corporation"),
            ],
            "",
        );
        assert_eq!(
            (e.kind.as_str(), e.result_code, e.kb.as_str()),
            ("update_installed", Some(3010), "KB5041552")
        );
        let e = event(
            "MsiInstaller",
            1036,
            &[
                ("", "P"),
                ("", "1"),
                ("", "1033"),
                ("", "U"),
                ("", "1642"),
                ("", "M"),
            ],
            "",
        );
        assert_eq!(
            (e.kind.as_str(), e.result_code),
            ("update_failed", Some(1642))
        );
        let e = event(
            "MsiInstaller",
            11708,
            &[(
                "",
                "Product: Microsoft Exchange Server -- Installation failed.",
            )],
            "",
        );
        assert_eq!(
            (e.kind.as_str(), e.product.as_str()),
            ("update_failed", "Microsoft Exchange Server")
        );
    }

    #[test]
    fn windows_update_boot_and_shutdown() {
        let e = event(
            "Microsoft-Windows-WindowsUpdateClient",
            20,
            &[
                ("errorCode", "0x80240022"),
                ("updateTitle", "2026-10 Cumulative Update (KB5066835)"),
            ],
            "",
        );
        assert_eq!(e.kind, "update_failed");
        assert_eq!(e.result_code, Some(0x80240022));
        assert_eq!(e.kb, "KB5066835");
        assert_eq!(event("EventLog", 6005, &[], "").kind, "boot");
        assert_eq!(
            event("Microsoft-Windows-Kernel-General", 13, &[], "").kind,
            "shutdown"
        );
        let e = event(
            "User32",
            1074,
            &[
                ("param1", r"C:\Windows\system32\winlogon.exe (EX01)"),
                ("param2", "EX01"),
                ("param3", "No title for this reason could be found"),
                ("param4", "0x500ff"),
                ("param5", "restart"),
                ("param6", ""),
                ("param7", r"CONTOSO\admin"),
            ],
            "",
        );
        assert_eq!(e.kind, "shutdown");
        assert!(
            e.detail.starts_with(r"restart by CONTOSO\admin"),
            "{}",
            e.detail
        );
    }

    #[test]
    fn services_and_crashes() {
        // "OneSyncSvc_Session2" in UTF-16LE, as the real fixture holds it.
        let bin =
            "4F006E006500530079006E0063005300760063005F00530065007300730069006F006E0032000000";
        let e = event(
            "Service Control Manager",
            7031,
            &[
                ("param1", "Sync Host_Session2"),
                ("param2", "1"),
                ("param3", "10000"),
                ("param4", "1"),
                ("param5", "Restart the service"),
            ],
            bin,
        );
        assert_eq!(
            (e.kind.as_str(), e.subject.as_str()),
            ("service_crashed", "OneSyncSvc_Session2")
        );
        assert!(e.detail.starts_with("Sync Host_Session2: terminated"));
        let e = event(
            "Service Control Manager",
            7000,
            &[
                ("param1", "Microsoft Exchange Transport"),
                ("param2", "%%1053"),
            ],
            "",
        );
        assert_eq!(
            (e.kind.as_str(), e.subject.as_str(), e.result_code),
            (
                "service_start_failed",
                "Microsoft Exchange Transport",
                Some(1053)
            )
        );
        let e = event(
            "Application Error",
            1000,
            &[
                ("", "w3wp.exe"),
                ("", "10.0.17763.1"),
                ("", "cfc9c8b6"),
                ("", "KERNELBASE.dll"),
                ("", "10.0.17763.6414"),
                ("", "1e7a1a5d"),
                ("", "e0434352"),
            ],
            "",
        );
        assert_eq!(
            (e.kind.as_str(), e.subject.as_str()),
            ("process_crashed", "w3wp.exe")
        );
        assert_eq!(e.result_code, Some(0xe0434352));
        let e = event(
            ".NET Runtime",
            1026,
            &[("", "Application: MSExchangeHMWorker.exe\r\nFramework Version: v4.0.30319\r\nDescription: The process was terminated due to an unhandled exception.\r\nException Info: System.InvalidOperationException\r\n")],
            "",
        );
        assert_eq!(e.subject, "MSExchangeHMWorker.exe");
        assert_eq!(e.detail, "System.InvalidOperationException");
        assert_eq!(kb("no kb here, KB12"), "");
        assert_eq!(key_name("41"), None);
    }
}
