//! The probe's cases of issue 13 against the collector: a collection stays inside its triage
//! root (links, `..` install paths, FIFOs and devices are refused with a located error), what
//! it keeps is capped with the cut recorded, an empty root is an error, a cut .evtx keeps the
//! records of its last chunk, and a stopped aggregator is a timeout and exit 2.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use exfleet_collector::readers::event_log::scan;
use exfleet_collector::{collect, ServerFiles};
use exfleet_proto::v1::artifact_status::State;
use exfleet_proto::v1::provenance::Locator;
use exfleet_proto::v1::{CollectionError, Snapshot};
use exfleet_tests::regf::RegData;
use exfleet_tests::triage::triage;
use prost::Message;

const SETUP_LOG: &str = r"C:\ExchangeSetupLogs\ExchangeSetup.log";
const RUN: &str = "\
[04-17-2021 10:00:00.0000] [0] Starting Microsoft Exchange Server 2019 Setup
[04-17-2021 10:00:00.0001] [0] Setup version: 15.2.858.5.
";

/// Collects in a thread, so that a collector that blocks (on a FIFO) fails the test instead of
/// hanging it.
fn collect_within(root: &Path, limit: Duration) -> Snapshot {
    let dir = ServerFiles::new(root);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(collect(&dir, Default::default()).unwrap());
    });
    rx.recv_timeout(limit)
        .expect("the collection ends: nothing it opens can block it")
}

fn errors<'a>(s: &'a Snapshot, reader: &str, kind: &str) -> Vec<&'a CollectionError> {
    s.errors
        .iter()
        .filter(|e| e.reader == reader && e.kind == kind)
        .collect()
}

fn state(s: &Snapshot, reader: &str, path: &str) -> Option<State> {
    s.artifacts
        .iter()
        .find(|a| a.reader == reader && a.path == path)
        .map(|a| State::try_from(a.state).unwrap())
}

#[cfg(unix)]
#[test]
fn a_log_linked_to_a_file_outside_the_root_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside.log");
    std::fs::write(
        &outside,
        format!("{RUN}[04-17-2021 10:00:01.0000] [0] OUTSIDE-SECRET\n"),
    )
    .unwrap();
    let root = triage().build(&tmp.path().join("root")).unwrap();
    let log = triage().host_path(&root, SETUP_LOG);
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&outside, &log).unwrap();
    let s = collect_within(&root, Duration::from_secs(60));
    assert!(s.setup_runs.is_empty(), "the outside file was read");
    assert!(!serde_json::to_string(&s)
        .unwrap()
        .contains("OUTSIDE-SECRET"));
    let refused = errors(&s, "setup_log", "outside_root");
    assert_eq!(refused.len(), 1, "{:?}", s.errors);
    assert_eq!(refused[0].path, "ExchangeSetupLogs/ExchangeSetup.log");
    assert!(refused[0].message.contains("outside the triage root"));
    assert_eq!(
        state(&s, "setup_log", "ExchangeSetupLogs/ExchangeSetup.log"),
        Some(State::Unreadable)
    );
}

#[test]
fn an_install_path_climbing_out_of_the_root_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    // What the `..` would reach: an Exchange install beside the copy.
    let pe = exfleet_tests::pe::image_with_version(&exfleet_tests::pe::VersionInfo::exchange([
        15, 2, 1544, 4,
    ]));
    let fake = tmp.path().join("elsewhere/Exchange");
    std::fs::create_dir_all(fake.join("Bin")).unwrap();
    std::fs::write(fake.join("Bin/ExSetup.exe"), pe).unwrap();
    let web = fake.join("FrontEnd/HttpProxy/owa");
    std::fs::create_dir_all(&web).unwrap();
    std::fs::write(web.join("web.config"), "<configuration/>").unwrap();
    let root = triage()
        .software(|s| {
            s.set(
                r"Microsoft\ExchangeServer\v15\Setup",
                "MsiInstallPath",
                RegData::Sz(r"C:\Program Files\..\..\elsewhere\Exchange\".into()),
            );
        })
        .build(&tmp.path().join("root"))
        .unwrap();
    let s = collect_within(&root, Duration::from_secs(60));
    assert!(s.exsetup.is_none(), "ExSetup.exe outside the root was read");
    assert!(
        s.exchange_files.is_none(),
        "install files outside the root were read"
    );
    for reader in ["exsetup", "exchange_files"] {
        let refused = errors(&s, reader, "outside_root");
        assert!(!refused.is_empty(), "{reader}: {:?}", s.errors);
        assert!(
            refused[0].message.contains(r"..\..\elsewhere"),
            "{}",
            refused[0].message
        );
    }
    let exsetup = "Program Files/../../elsewhere/Exchange/Bin/ExSetup.exe";
    assert_eq!(state(&s, "exsetup", exsetup), Some(State::Unreadable));
}

#[cfg(unix)]
#[test]
fn a_fifo_and_a_link_to_dev_zero_are_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let root = triage().build(tmp.path()).unwrap();
    let log = triage().host_path(&root, SETUP_LOG);
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    let made = Command::new("mkfifo").arg(&log).status();
    let fifo = made.is_ok_and(|s| s.success());
    if !fifo {
        eprintln!("skipped the FIFO: mkfifo not found");
    }
    let sc = triage().host_path(&root, r"C:\ExchangeSetupLogs\ServiceControl.log");
    std::os::unix::fs::symlink("/dev/zero", &sc).unwrap();
    let started = Instant::now();
    let s = collect_within(&root, Duration::from_secs(60));
    assert!(started.elapsed() < Duration::from_secs(30));
    if fifo {
        let e = errors(&s, "setup_log", "not_a_regular_file");
        assert_eq!(e.len(), 1, "{:?}", s.errors);
        assert!(e[0].message.contains("FIFO"), "{}", e[0].message);
    }
    let e = errors(&s, "service_control", "outside_root");
    assert_eq!(e.len(), 1, "{:?}", s.errors);
    assert!(e[0].message.contains("/dev/zero"), "{}", e[0].message);
    assert!(s.service_control_runs.is_empty());
}

#[test]
fn a_50_mb_error_line_is_cut_and_the_cut_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = RUN.as_bytes().to_vec();
    log.extend(b"[04-17-2021 10:00:01.0000] [1] [ERROR] ");
    log.resize(log.len() + 50_000_000, b'A');
    log.extend(b"\n[04-17-2021 10:00:02.0000] [1] [ERROR] The next one.\n");
    log.extend(b"[04-17-2021 10:00:03.0000] [0] End of Setup\n");
    let root = triage().file(SETUP_LOG, log).build(tmp.path()).unwrap();
    let s = collect_within(&root, Duration::from_secs(120));
    let bytes = s.encoded_len();
    assert!(bytes < 1 << 20, "a {bytes}-byte snapshot");
    let run = &s.setup_runs[0];
    assert_eq!(run.errors.len(), 2);
    let cut = &run.errors[0];
    assert_eq!(cut.line, 3);
    assert!(cut.text.starts_with("[ERROR] AAAA"));
    assert!(cut.text.len() <= exfleet_collector::text::MAX_LINE_BYTES + 100);
    assert!(
        cut.text.ends_with("bytes in the file]"),
        "the kept text says it was cut"
    );
    // The next error's context holds the cut line, no more of it.
    let next = run.lines.iter().find(|l| l.line == 4).unwrap();
    assert!(next.context.iter().map(String::len).sum::<usize>() < 3 * 9 * 1024);
    let e = errors(&s, "setup_log", "line_truncated");
    assert_eq!(e.len(), 1, "{:?}", s.errors);
    assert_eq!(
        e[0].location.as_ref().unwrap().locator,
        Some(Locator::Line(3))
    );
    assert!(
        e[0].message.contains("line 3: 50000039 bytes long"),
        "{}",
        e[0].message
    );
}

fn collector() -> Command {
    Command::new(env!("CARGO_BIN_EXE_exfleet-collector"))
}

#[test]
fn an_empty_root_is_an_error_unless_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("empty");
    std::fs::create_dir_all(&root).unwrap();
    let out = tmp.path().join("snapshot.pb");
    let run = |extra: &[&str]| {
        collector()
            .args(["collect", "--root"])
            .arg(&root)
            .arg("--out")
            .arg(&out)
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = run(&[]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("nothing was found under the root"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-empty"), "{stderr}");
    assert!(!out.exists());
    let allowed = run(&["--allow-empty"]);
    assert_eq!(
        allowed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
    let s = exfleet_collector::output::read(&out).unwrap();
    assert!(exfleet_collector::collect::found_nothing(&s));
}

/// An Application log of `n` ASP.NET 1309 events (they matter), several chunks long, written
/// by the test-support writer.
fn application_log(n: usize) -> Vec<u8> {
    use exfleet_tests::evtx::{to_bytes, Datum, EventSpec};
    let events: Vec<EventSpec> = (0..n)
        .map(|i| EventSpec {
            provider: "ASP.NET 4.0.30319.0".into(),
            event_id: 1309,
            level: 3,
            time_ms: 1_792_575_000_000 + i as i64 * 1_000,
            channel: "Application".into(),
            computer: "EX01.contoso.com".into(),
            data: vec![
                Datum::positional("3005"),
                Datum::positional("An unhandled exception has occurred."),
                Datum::positional(&format!("/owa request {i} {}", "x".repeat(i % 300))),
            ],
            binary: Vec::new(),
        })
        .collect();
    to_bytes(&events)
}

fn records(path: &Path) -> (u64, Vec<exfleet_collector::readers::event_log::Damage>) {
    let mut n = 0;
    let damage = scan(path, |_| n += 1).unwrap();
    (n, damage)
}

#[test]
fn an_evtx_cut_short_keeps_the_records_of_its_last_chunk() {
    let full = application_log(400);
    let chunks = (full.len() - 4096) / 65536;
    assert!(
        chunks >= 2 && (full.len() - 4096).is_multiple_of(65536),
        "{chunks} chunks"
    );
    let tmp = tempfile::tempdir().unwrap();
    let at = |len: usize| {
        let p = tmp.path().join(format!("cut-{len}.evtx"));
        std::fs::write(&p, &full[..len]).unwrap();
        p
    };
    let (whole, damage) = records(&at(full.len()));
    assert_eq!((whole, damage.len()), (400, 0));
    let last = 4096 + (chunks - 1) * 65536;
    let (before_last, _) = records(&at(last));
    assert!(before_last < whole, "the last chunk has records");

    // One byte short (the probe's case): before, the whole last chunk was lost without a word;
    // now every record is read (the last byte is the chunk's free space), and the cut is
    // damage located at the file's end.
    let (n, damage) = records(&at(full.len() - 1));
    assert_eq!(n, whole);
    assert_eq!(damage.len(), 1, "{damage:?}");
    assert_eq!(damage[0].offset, Some(full.len() as u64 - 1));
    assert!(
        damage[0].message.contains("cut short"),
        "{}",
        damage[0].message
    );

    // Cut halfway through the last chunk's records: the first are read, the rest counted.
    let free = u32::from_le_bytes(full[last + 48..last + 52].try_into().unwrap()) as usize;
    let half = last + (512 + free) / 2;
    let (n, damage) = records(&at(half));
    assert!(
        before_last < n && n < whole,
        "{before_last} < {n} < {whole}"
    );
    assert_eq!(damage.len(), 1, "{damage:?}");
    assert_eq!(damage[0].offset, Some(half as u64));
    let lost = format!("{} cut records are lost", whole - n);
    assert!(damage[0].message.contains(&lost), "{}", damage[0].message);

    // Through a triage copy: the events of the last chunk, and a located collection error.
    let root = tmp.path().join("root");
    let logs = root.join("Windows/System32/winevt/Logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(logs.join("Application.evtx"), &full[..full.len() - 1]).unwrap();
    let s = collect_within(&root, Duration::from_secs(60));
    assert_eq!(s.events.len(), 400);
    let e = errors(&s, "event_log", "damaged_evtx");
    assert_eq!(e.len(), 1, "{:?}", s.errors);
    assert_eq!(
        e[0].location.as_ref().unwrap().locator,
        Some(Locator::Offset(full.len() as u64 - 1))
    );
    assert_eq!(
        state(
            &s,
            "event_log",
            "Windows/System32/winevt/Logs/Application.evtx"
        ),
        Some(State::Partial)
    );
}

#[test]
fn a_stopped_aggregator_is_a_timeout_a_retry_then_exit_2() {
    // An aggregator that accepts connections and never answers, as a stopped (SIGSTOP) one.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            held.push(conn);
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = exfleet_tests::tls::self_signed_pem("EX01");
    for (name, pem) in [("ca.pem", &cert), ("EX01.pem", &cert), ("EX01.key", &key)] {
        std::fs::write(tmp.path().join(name), pem).unwrap();
    }
    let root = tmp.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let started = Instant::now();
    let out = collector()
        .args(["collect", "--allow-empty", "--root"])
        .arg(&root)
        .args(["--aggregator", &format!("https://127.0.0.1:{port}")])
        .arg("--ca")
        .arg(tmp.path().join("ca.pem"))
        .arg("--cert")
        .arg(tmp.path().join("EX01.pem"))
        .arg("--key")
        .arg(tmp.path().join("EX01.key"))
        .args(["--timeout-secs", "1", "--attempts", "2"])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("within 1 s"), "{stderr}");
    assert!(stderr.contains("gave up after 2 attempts"), "{stderr}");
    // Two attempts of a second and a pause of a second between them, not a silent wait.
    assert_eq!(stderr.matches("upload failed").count(), 2, "{stderr}");
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
}
