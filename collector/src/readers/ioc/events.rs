//! The Application event log (`Windows\System32\winevt\Logs\Application.evtx`, read with the
//! event log reader's scan): CVE-2021-26857, an error (level 2) of the provider `MSExchange
//! Unified Messaging` whose message holds `System.InvalidCastException`, whatever its id.
//! Offline the provider's message text is not in the file: the literal is looked for in every
//! datum of the record, as the reference says.

use exfleet_proto::kinds::IocKind;
use exfleet_proto::v1::IocMatch;

use super::Scan;
use crate::provenance;
use crate::readers::event_log::{record, scan_file};
use crate::readers::Reader;

/// The provider.
pub const PROVIDER: &str = "MSExchange Unified Messaging";
/// The literal of the message.
pub const LITERAL: &str = "System.InvalidCastException";

/// Damaged places of the log reported one by one; the rest are counted.
const MAX_DAMAGE: usize = 20;

/// Whether a datum holds the literal, case ignored (PowerShell's `-match`/`-like`).
pub fn holds_literal(value: &str) -> bool {
    value
        .to_ascii_lowercase()
        .contains(&LITERAL.to_ascii_lowercase())
}

/// Scans the Application log.
pub fn scan(dir: &crate::files::ServerFiles, scan: &mut Scan) {
    let kind = IocKind::Cve2021_26857;
    scan.found.coverage_of(&kind);
    let windows_path = crate::artifacts::EVENT_LOGS[0].path;
    let Some(file) = dir.resolve(windows_path) else {
        scan.artifact(
            &dir.expected(windows_path),
            exfleet_proto::v1::artifact_status::State::Absent,
        );
        return;
    };
    let path = dir.display(&file);
    let (opened, size) = match dir.open(&file) {
        Ok(x) => x,
        Err(r) => {
            scan.error(r.kind, &r.path, r.message);
            return;
        }
    };
    let since = scan.since_ms;
    let (mut oldest, mut newest) = (0i64, 0i64);
    let found = &mut scan.found;
    let scanned = scan_file(opened, |r| {
        if oldest == 0 || r.time_ms < oldest {
            oldest = r.time_ms;
        }
        newest = newest.max(r.time_ms);
        let ours =
            r.provider.eq_ignore_ascii_case(PROVIDER) || r.source.eq_ignore_ascii_case(PROVIDER);
        if !ours || r.time_ms < since {
            return;
        }
        let e = record::event("Application", r.record_id, r.time_ms, r.value);
        let message = e
            .data
            .iter()
            .map(|d| d.value.as_str())
            .find(|v| holds_literal(v));
        let (2, Some(message)) = (e.level, message) else {
            return;
        };
        found.found(
            kind.clone(),
            IocMatch {
                file: path.clone(),
                time_ms: r.time_ms,
                detail: super::detail(format!("event {}: {message}", r.event_id).as_bytes()),
                provenance: Some(provenance::record(super::Ioc::NAME, &path, r.record_id)),
                ..Default::default()
            },
        );
    });
    match scanned {
        Ok(damage) => {
            for d in damage.iter().take(MAX_DAMAGE) {
                let at = match (d.offset, d.record_id) {
                    (Some(o), _) => format!(" at offset {o:#x}"),
                    (None, Some(id)) => format!(" at record {id}"),
                    _ => String::new(),
                };
                scan.error("damaged_evtx", &path, format!("{path}{at}: {}", d.message));
            }
            if damage.len() > MAX_DAMAGE {
                let more = damage.len() - MAX_DAMAGE;
                scan.error(
                    "damaged_evtx",
                    &path,
                    format!("{path}: {more} more damaged places"),
                );
            }
            scan.found.covered(&[kind], "", size, (oldest, newest));
            scan.artifact(&path, exfleet_proto::v1::artifact_status::State::Read);
        }
        Err(message) => scan.error("not_an_event_log", &path, format!("{path}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_literal_whatever_its_case() {
        assert!(holds_literal("at x: System.InvalidCastException: Unable"));
        assert!(holds_literal("system.invalidcastexception"));
        assert!(!holds_literal("System.InvalidOperationException"));
    }
}
