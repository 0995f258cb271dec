//! One compliance test over all readers: an empty directory, garbage bytes and truncated
//! files give collection errors (or nothing), never a panic, and every error says where.

use std::path::Path;

use exfleet_collector::readers::NAMES;
use exfleet_collector::{collect, ServerFiles};
use exfleet_proto::v1::{artifact_status::State, Snapshot};
use exfleet_tests::fleet::{self, FleetConfig};

/// Each reader's artifact in a simulated triage copy (system-drive mirror layout).
const ARTIFACTS: [(&str, &str); 6] = [
    ("system_hive", "Windows/System32/config/SYSTEM"),
    ("software_hive", "Windows/System32/config/SOFTWARE"),
    (
        "exsetup",
        "Program Files/Microsoft/Exchange Server/V15/Bin/ExSetup.exe",
    ),
    (
        "iis_config",
        "Windows/System32/inetsrv/config/applicationHost.config",
    ),
    ("setup_log", "ExchangeSetupLogs/ExchangeSetup.log"),
    ("service_control", "ExchangeSetupLogs/ServiceControl.log"),
];

/// A healthy host on C: in the mirror layout, with an SU installed (so a ServiceControl.log).
fn good_copy(dir: &Path) {
    let hosts = fleet::generate(&FleetConfig {
        seed: 7,
        servers: fleet::EXCHANGE_2010_FROM + 20,
        fault_rate: 0.0,
    });
    let h = hosts
        .iter()
        .find(|h| {
            h.faults.is_empty() && h.install_drive == 'C' && !h.drive_folders && h.update.is_some()
        })
        .expect("a healthy host on C:");
    fleet::render::write(h, 7, dir).unwrap();
}

fn run(dir: &Path) -> Snapshot {
    collect(&ServerFiles::new(dir), Default::default()).expect("collection never fails on content")
}

fn state(s: &Snapshot, reader: &str) -> State {
    let a = s
        .artifacts
        .iter()
        .find(|a| a.reader == reader)
        .expect("every reader reports its artifact");
    State::try_from(a.state).unwrap()
}

fn assert_errors_are_located(s: &Snapshot) {
    for e in &s.errors {
        assert!(NAMES.contains(&e.reader.as_str()), "{e:?}");
        assert!(!e.kind.is_empty() && !e.path.is_empty(), "{e:?}");
        assert!(
            e.kind.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "kind not snake_case: {e:?}"
        );
        assert!(
            e.message.contains(&e.path),
            "message must name the file: {e:?}"
        );
    }
}

#[test]
fn the_good_copy_reads_clean() {
    let tmp = tempfile::tempdir().unwrap();
    good_copy(tmp.path());
    let s = run(tmp.path());
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    for (reader, _) in ARTIFACTS {
        assert_eq!(state(&s, reader), State::Read, "{reader}");
    }
}

#[test]
fn empty_directory_reports_every_artifact_absent() {
    let tmp = tempfile::tempdir().unwrap();
    let s = run(tmp.path());
    assert!(
        s.errors.is_empty(),
        "absence is not an error: {:?}",
        s.errors
    );
    for reader in NAMES {
        assert_eq!(state(&s, reader), State::Absent, "{reader}");
    }
}

#[test]
fn garbage_and_empty_files_give_errors_not_panics() {
    for (reader, path) in ARTIFACTS {
        for content in [Vec::new(), garbage(4096, 1), garbage(70_000, 2)] {
            let tmp = tempfile::tempdir().unwrap();
            good_copy(tmp.path());
            std::fs::write(tmp.path().join(path), &content).unwrap();
            let s = run(tmp.path());
            assert_errors_are_located(&s);
            let mine: Vec<_> = s.errors.iter().filter(|e| e.reader == reader).collect();
            assert!(
                !mine.is_empty(),
                "{reader} with {} bytes of garbage gave no error",
                content.len()
            );
            assert!(
                matches!(state(&s, reader), State::Unreadable | State::Partial),
                "{reader}: {:?}",
                state(&s, reader)
            );
            // The other readers are not disturbed.
            for (other, _) in ARTIFACTS.iter().filter(|(r, _)| *r != reader) {
                if !(reader == "software_hive" && *other == "exsetup") {
                    assert_eq!(
                        state(&s, other),
                        State::Read,
                        "{other} after damaging {reader}"
                    );
                }
            }
        }
    }
}

#[test]
fn truncated_files_never_panic_and_errors_say_where() {
    for (reader, path) in ARTIFACTS {
        let tmp = tempfile::tempdir().unwrap();
        good_copy(tmp.path());
        let full = std::fs::read(tmp.path().join(path)).unwrap();
        let cuts: Vec<usize> = (1..24)
            .map(|i| full.len() * i / 24)
            .chain([1, 3, 511, 4095, 4097])
            .collect();
        for cut in cuts.into_iter().filter(|c| *c < full.len()) {
            std::fs::write(tmp.path().join(path), &full[..cut]).unwrap();
            let s = run(tmp.path());
            assert_errors_are_located(&s);
            let st = state(&s, reader);
            let mine = s.errors.iter().filter(|e| e.reader == reader).count();
            // A hive declares its length; a cut one must be reported.
            let must_report = reader.ends_with("_hive");
            assert!(
                (st == State::Read && !must_report) || mine > 0,
                "{reader} cut at {cut}: state {st:?} without an error"
            );
        }
    }
}

/// Deterministic pseudo-random bytes.
fn garbage(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

mod mutations {
    //! Random byte damage inside real-format artifacts: no panic, and errors say where.
    use super::*;
    use proptest::prelude::*;

    fn damaged_run(reader_path: &str, flips: &[(usize, u8)]) {
        let tmp = tempfile::tempdir().unwrap();
        good_copy(tmp.path());
        let file = tmp.path().join(reader_path);
        let mut bytes = std::fs::read(&file).unwrap();
        for (at, b) in flips {
            let i = at % bytes.len();
            bytes[i] ^= b | 1;
        }
        std::fs::write(&file, &bytes).unwrap();
        let s = run(tmp.path());
        assert_errors_are_located(&s);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn damaged_hives(flips in proptest::collection::vec((0usize..1 << 20, any::<u8>()), 1..40)) {
            damaged_run(ARTIFACTS[0].1, &flips);
            damaged_run(ARTIFACTS[1].1, &flips);
        }

        #[test]
        fn damaged_exsetup(flips in proptest::collection::vec((0usize..1 << 20, any::<u8>()), 1..20)) {
            damaged_run(ARTIFACTS[2].1, &flips);
        }
    }
}
