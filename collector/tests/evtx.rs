//! The event log reader on the real .evtx files of tests/fixtures/evtx: on the clean ones,
//! the same records (record id, provider, event id) as libevtx's `evtxexport` reads in the
//! same run (skipped when `evtxexport` is not installed, see `exfleet_tests::tools`); on the
//! damaged ones, exact counts of records read and damage met, snapshotted; and through a triage
//! copy, the events that matter with their data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use exfleet_collector::readers::event_log::{counts, scan};
use exfleet_collector::{collect, collect_with, ServerFiles};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/evtx")
}

/// (record id, provider, event id) of every record, as libevtx (`evtxexport`) reads them.
fn libevtx(evtxexport: &Path, path: &Path) -> Vec<(u64, String, u32)> {
    libevtx_with(evtxexport, path, &[])
}

/// [`libevtx`] with more arguments for `evtxexport`.
fn libevtx_with(evtxexport: &Path, path: &Path, args: &[&str]) -> Vec<(u64, String, u32)> {
    let out = Command::new(evtxexport)
        .args(args)
        .arg(path)
        .output()
        .expect("evtxexport runs");
    assert!(out.status.success(), "evtxexport {}", path.display());
    let text = String::from_utf8_lossy(&out.stdout);
    let mut records = Vec::new();
    let (mut id, mut provider) = (0u64, String::new());
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "Event number" => id = value.parse().unwrap(),
            "Source name" => provider = value.to_string(),
            "Event identifier" => {
                // "0x00001779 (6009)"
                let n = value.split('(').nth(1).unwrap().trim_end_matches(')');
                records.push((id, std::mem::take(&mut provider), n.parse().unwrap()));
            }
            _ => {}
        }
    }
    records
}

fn ours(path: &Path) -> Vec<(u64, String, u32)> {
    let mut records = Vec::new();
    let damage = scan(path, |r| {
        records.push((r.record_id, r.source.to_string(), r.event_id))
    })
    .unwrap();
    assert!(damage.is_empty(), "{}: {damage:?}", path.display());
    records
}

#[test]
fn clean_files_read_the_same_records_as_libevtx() {
    let Some(evtxexport) = exfleet_tests::tools::tool("evtxexport") else {
        return;
    };
    for name in ["system.evtx", "2-vss_7-System.evtx"] {
        let path = fixtures().join(name);
        let mut mine = ours(&path);
        let mut theirs = libevtx(&evtxexport, &path);
        mine.sort();
        theirs.sort();
        assert!(!mine.is_empty());
        assert_eq!(mine.len(), theirs.len(), "{name}: record count");
        let differ: Vec<_> = mine
            .iter()
            .zip(&theirs)
            .filter(|(a, b)| a != b)
            .take(5)
            .collect();
        assert!(differ.is_empty(), "{name}: records differ: {differ:?}");
        let mut by_id: BTreeMap<(String, u32), u64> = BTreeMap::new();
        for (_, p, id) in &theirs {
            *by_id.entry((p.clone(), *id)).or_default() += 1;
        }
        assert_eq!(
            counts(&path).unwrap(),
            by_id,
            "{name}: counts per provider and id"
        );
    }
}

/// Counts per (source, event id) of the records libevtx (`evtxexport -m all`) reads: its
/// allocated records and those it recovers, which is where it puts the records of a chunk
/// whose checksum is bad (the `evtx` crate reads them too, and says the chunk is damaged).
fn libevtx_counts(evtxexport: &Path, path: &Path) -> BTreeMap<(String, u32), usize> {
    let mut out = BTreeMap::new();
    for (_, source, id) in libevtx_with(evtxexport, path, &["-m", "all"]) {
        *out.entry((source, id)).or_default() += 1;
    }
    out
}

/// The events the collector keeps from the real System logs, counted per provider
/// and id, are every event of those providers and ids that libevtx reads in the same files,
/// and only those; ids that other providers reuse (Kernel-Boot 20, Hyper-V-Netvsc 12 and 13,
/// UserModePowerService 12) are not kept.
#[test]
fn the_events_kept_are_those_evtxexport_counts() {
    let Some(evtxexport) = exfleet_tests::tools::tool("evtxexport") else {
        return;
    };
    let mut new_ids_seen = std::collections::BTreeSet::new();
    for name in [
        "system.evtx",
        "2-vss_7-System.evtx",
        "sample-with-zero-data-size-event.evtx",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let logs = tmp.path().join("Windows/System32/winevt/Logs");
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::copy(fixtures().join(name), logs.join("System.evtx")).unwrap();
        let s = collect(&ServerFiles::new(tmp.path()), Default::default()).unwrap();
        let mut ours: BTreeMap<(String, u32), usize> = BTreeMap::new();
        for e in &s.events {
            *ours.entry((e.provider.clone(), e.event_id)).or_default() += 1;
        }
        let all = libevtx_counts(&evtxexport, &logs.join("System.evtx"));
        let theirs: BTreeMap<(String, u32), usize> = all
            .iter()
            .filter(|((source, id), _)| {
                exfleet_collector::readers::event_log::filter::matters(source, *id)
            })
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        assert_eq!(ours, theirs, "{name}: events kept per provider and id");
        // The ids reused by other providers are in the file and were left out.
        let reused = all.keys().filter(|(source, id)| {
            matches!(*id, 12 | 13 | 20) && !theirs.contains_key(&(source.clone(), *id))
        });
        assert!(reused.count() > 0, "{name}");
        new_ids_seen.extend(ours.keys().cloned());
    }
    for (source, id) in [
        ("Service Control Manager", 7000),
        ("Service Control Manager", 7009),
        ("Service Control Manager", 7023),
        ("Service Control Manager", 7031),
        ("Microsoft-Windows-WindowsUpdateClient", 43),
        ("EventLog", 6005),
        ("EventLog", 6006),
        ("User32", 1074),
        ("Microsoft-Windows-Kernel-General", 12),
        ("Microsoft-Windows-Kernel-General", 13),
    ] {
        assert!(
            new_ids_seen.contains(&(source.to_string(), id)),
            "{source} {id} is in none of the real logs compared"
        );
    }
}

#[test]
fn damaged_files_keep_what_is_readable_and_say_where() {
    let mut report = BTreeMap::new();
    for name in [
        "Application_no_crc32.evtx",
        "sample_with_a_bad_chunk_magic.evtx",
        "sample-with-zero-data-size-event.evtx",
        // libevtx 20181227 cannot read this forwarded event (binary XML token 0x05); the
        // evtx crate can.
        "MSExchange_Management_wec.evtx",
    ] {
        let path = fixtures().join(name);
        let mut records = 0u64;
        let damage = scan(&path, |_| records += 1).unwrap();
        let located: Vec<String> = damage
            .iter()
            .map(|d| {
                format!(
                    "{} {}: {}",
                    d.offset.map(|o| format!("@{o:#x}")).unwrap_or_default(),
                    d.record_id.map(|r| format!("#{r}")).unwrap_or_default(),
                    d.message
                )
            })
            .collect();
        report.insert(name, (records, located));
    }
    insta::assert_json_snapshot!(report);
}

#[test]
fn a_triage_copy_yields_the_events_that_matter() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("Windows/System32/winevt/Logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::copy(fixtures().join("system.evtx"), logs.join("System.evtx")).unwrap();
    std::fs::copy(
        fixtures().join("sample_with_a_bad_chunk_magic.evtx"),
        logs.join("Application.evtx"),
    )
    .unwrap();
    let s = collect(&ServerFiles::new(tmp.path()), Default::default()).unwrap();
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for e in &s.events {
        *by.entry(format!("{} {} {}", e.log, e.provider, e.event_id))
            .or_default() += 1;
    }
    // Every 7040, 7000 and 7023, WindowsUpdateClient 19, 20 and 43, EventLog 6005 and 6006,
    // User32 1074 and Kernel-General 12 and 13 of the file, nothing else of it (7045, 7026,
    // WindowsUpdateClient 44, Kernel-Boot 20, Kernel-General 16, EventLog 6009, and the rest
    // do not matter).
    let all = counts(&logs.join("System.evtx")).unwrap();
    let n = |source: &str, id| all.get(&(source.to_string(), id)).copied().unwrap_or(0) as usize;
    let scm = "Service Control Manager";
    let wu = "Microsoft-Windows-WindowsUpdateClient";
    let general = "Microsoft-Windows-Kernel-General";
    let kept = [
        (scm, 7040),
        (scm, 7000),
        (scm, 7023),
        (wu, 19),
        (wu, 20),
        (wu, 43),
        ("EventLog", 6005),
        ("EventLog", 6006),
        ("User32", 1074),
        (general, 12),
        (general, 13),
    ];
    for (source, id) in kept {
        assert!(n(source, id) > 0, "{source} {id}");
        assert_eq!(
            by.get(&format!("System {source} {id}")),
            Some(&n(source, id)),
            "{source} {id}"
        );
    }
    assert!(n("Microsoft-Windows-Kernel-Boot", 20) > 0 && n(general, 16) > 0);
    let system: usize = by
        .iter()
        .filter(|(k, _)| k.starts_with("System "))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(system, kept.iter().map(|(s, id)| n(s, *id)).sum::<usize>());
    // What they say, typed.
    let kinds: std::collections::BTreeSet<&str> = s
        .events
        .iter()
        .filter(|e| e.log == "System")
        .map(|e| e.kind.as_str())
        .collect();
    for k in [
        "boot",
        "shutdown",
        "update_installed",
        "update_failed",
        "update_started",
        "service_start_failed",
        "service_crashed",
        "start_type_changed",
    ] {
        assert!(kinds.contains(k), "{k}: {kinds:?}");
    }
    let failed = s.events.iter().find(|e| e.kind == "update_failed").unwrap();
    assert!(
        failed.result_code.is_some() && failed.kb.starts_with("KB"),
        "{failed:?}"
    );
    let e7040 = s
        .events
        .iter()
        .find(|e| e.event_id == 7040)
        .expect("a 7040");
    assert!(e7040.data.iter().any(|d| d.name == "param4"), "{e7040:?}");
    assert!(matches!(
        e7040.provenance.as_ref().unwrap().locator,
        Some(exfleet_proto::v1::provenance::Locator::EventRecordId(_))
    ));
    // The damaged Application log: read, partial, and its damage located.
    let damage: Vec<_> = s
        .errors
        .iter()
        .filter(|e| e.reader == "event_log" && e.kind == "damaged_evtx")
        .collect();
    assert!(!damage.is_empty());
    assert!(damage
        .iter()
        .all(|e| e.message.contains("Application.evtx") && e.location.is_some()));
    // The IoC scan of the same log says what it could not read too.
    assert!(
        s.errors.iter().any(|e| e.reader == "ioc"
            && e.kind == "damaged_evtx"
            && e.message.contains("Application.evtx")),
        "{:#?}",
        s.errors
    );
    insta::assert_json_snapshot!("events_that_matter", by);

    // A window: only the events written since a time, and the window is recorded.
    let mut times: Vec<i64> = s.events.iter().map(|e| e.time_ms).collect();
    times.sort();
    let since = times[times.len() / 2];
    let options = exfleet_collector::Options {
        events_since_ms: since,
        ..Default::default()
    };
    let w = collect_with(&ServerFiles::new(tmp.path()), Default::default(), &options).unwrap();
    assert_eq!(w.events_since_ms, since);
    assert!(w.events.iter().all(|e| e.time_ms >= since));
    assert_eq!(
        w.events.len(),
        times.iter().filter(|t| **t >= since).count()
    );
}

mod writer {
    //! The test-support .evtx writer (tests/src/evtx.rs): its files read back identically by
    //! the `evtx` crate (through this reader) and by libevtx.
    use super::*;
    use exfleet_tests::evtx::{to_bytes, Datum, EventSpec};

    fn events(n: usize) -> Vec<EventSpec> {
        let base = 1_792_575_000_000i64;
        (0..n)
            .map(|i| {
                let time_ms = base + i as i64 * 1_000;
                let e = |provider: &str, id, level, channel: &str, data| EventSpec {
                    provider: provider.into(),
                    event_id: id,
                    level,
                    time_ms,
                    channel: channel.into(),
                    computer: "EX01.contoso.com".into(),
                    data,
                    binary: Vec::new(),
                };
                match i % 4 {
                    0 => e(
                        "Service Control Manager",
                        7040,
                        4,
                        "System",
                        vec![
                            Datum::named("param1", "World Wide Web Publishing Service"),
                            Datum::named("param2", "auto start"),
                            Datum::named("param3", "disabled"),
                            Datum::named("param4", "W3SVC"),
                        ],
                    ),
                    1 => e(
                        "ASP.NET 4.0.30319.0",
                        1309,
                        3,
                        "Application",
                        vec![
                            Datum::positional("3005"),
                            Datum::positional("An unhandled exception has occurred."),
                            Datum::positional("/LM/W3SVC/1/ROOT/owa-1-133"),
                            Datum::positional(&format!("/owa request {i}")),
                        ],
                    ),
                    2 => EventSpec {
                        binary: exfleet_tests::evtx::utf16("W3SVC/1\0"),
                        ..e(
                            "Service Control Manager",
                            7036,
                            4,
                            "System",
                            vec![
                                Datum::named("param1", "World Wide Web Publishing Service"),
                                Datum::named("param2", "stopped"),
                            ],
                        )
                    },
                    _ => e(
                        "Microsoft-Windows-HttpEvent",
                        15021,
                        2,
                        "System",
                        vec![Datum::positional("0.0.0.0:444")],
                    ),
                }
            })
            .collect()
    }

    /// (record id, source, event id, data values) as libevtx (`evtxexport`) reads them.
    fn libevtx_records(evtxexport: &Path, path: &Path) -> Vec<(u64, String, u32, Vec<String>)> {
        let out = Command::new(evtxexport).arg(path).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut records = Vec::new();
        for block in String::from_utf8_lossy(&out.stdout).split("\n\n") {
            let mut r = (0u64, String::new(), 0u32, Vec::new());
            let mut seen = false;
            for line in block.lines() {
                if line.starts_with("String: ") {
                    let value = line.split_once("\t: ").map_or("", |(_, v)| v);
                    r.3.push(value.to_string());
                    continue;
                }
                let Some((key, value)) = line.split_once(':') else {
                    continue;
                };
                let value = value.trim_start_matches('\t').trim_start();
                match key.trim() {
                    "Event number" => {
                        r.0 = value.trim().parse().unwrap();
                        seen = true;
                    }
                    "Source name" => r.1 = value.trim().to_string(),
                    "Event identifier" => {
                        r.2 = value
                            .split('(')
                            .nth(1)
                            .unwrap()
                            .trim_end_matches(')')
                            .parse()
                            .unwrap()
                    }
                    _ => {}
                }
            }
            if seen {
                records.push(r);
            }
        }
        records
    }

    #[test]
    fn written_files_read_back_identically_with_both_readers() {
        let events = events(1_500);
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("written.evtx");
        std::fs::write(&path, to_bytes(&events)).unwrap();
        // More than one chunk.
        assert!(std::fs::metadata(&path).unwrap().len() > 4096 + 2 * 65536);

        let mut mine = Vec::new();
        let damage = scan(&path, |r| {
            let e = exfleet_collector::readers::event_log::record::event(
                "x",
                r.record_id,
                r.time_ms,
                r.value,
            );
            // libevtx lists EventData/Binary as one more string, in hex.
            let values: Vec<String> = e
                .data
                .iter()
                .map(|d| d.value.clone())
                .chain((!e.binary.is_empty()).then(|| e.binary.clone()))
                .collect();
            mine.push((
                r.record_id,
                r.source.to_string(),
                r.event_id,
                values,
                e,
                r.time_ms,
            ));
        })
        .unwrap();
        assert!(damage.is_empty(), "{damage:?}");
        assert_eq!(mine.len(), events.len());
        for ((id, provider, event_id, _, e, time), spec) in mine.iter().zip(&events) {
            assert_eq!(*provider, spec.provider, "record {id}");
            assert_eq!(*event_id, u32::from(spec.event_id));
            assert_eq!(*time, spec.time_ms);
            assert_eq!(e.level, u32::from(spec.level));
            let written: Vec<(String, String)> = spec
                .data
                .iter()
                .map(|d| (d.name.clone().unwrap_or_default(), d.value.clone()))
                .collect();
            let read: Vec<(String, String)> = e
                .data
                .iter()
                .map(|d| (d.name.clone(), d.value.clone()))
                .collect();
            assert_eq!(read, written, "record {id}");
            let hex: String = spec.binary.iter().map(|b| format!("{b:02X}")).collect();
            assert_eq!(e.binary, hex);
        }
        // The same file through libevtx, when it is installed.
        let Some(evtxexport) = exfleet_tests::tools::tool("evtxexport") else {
            return;
        };
        let theirs = libevtx_records(&evtxexport, &path);
        let ours: Vec<(u64, String, u32, Vec<String>)> = mine
            .into_iter()
            .map(|(id, p, e, v, _, _)| (id, p, e, v))
            .collect();
        assert_eq!(theirs.len(), ours.len(), "libevtx record count");
        let differ: Vec<_> = ours
            .iter()
            .zip(&theirs)
            .filter(|(a, b)| a != b)
            .take(3)
            .collect();
        assert!(differ.is_empty(), "evtx crate vs libevtx: {differ:?}");
    }
}
