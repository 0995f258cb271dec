//! The analyzer's command line: exit codes scripts rely on, catalog checking, explain and
//! rules, and bad input named and skipped.

use std::path::Path;
use std::process::{Command, Output};

fn analyzer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_exfleet-analyzer"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn catalog_check_accepts_the_shipped_file_and_names_what_is_wrong_in_a_bad_one() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog/exchange-builds.toml");
    let o = analyzer(&["catalog", "--check", shipped.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("as of 2026-08-11"), "{}", text(&o));
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        "as-of = \"2026-01-01\"\n[[product]]\nname = \"Exchange SE\"\n",
    )
    .unwrap();
    let o = analyzer(&["catalog", "--check", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("bad.toml"), "{}", text(&o));
}

#[test]
fn explain_prints_the_catalog_entry_and_rules_lists_implemented_and_pending() {
    let o = analyzer(&["explain", "build.su-behind"]);
    assert!(o.status.success());
    for h in ["## Detects", "## Evidence", "## Action", "## Source"] {
        assert!(text(&o).contains(h));
    }
    let o = analyzer(&["explain", "os.pending-reboot"]);
    assert!(o.status.success() && text(&o).contains("not implemented yet"));
    assert_eq!(analyzer(&["explain", "no.such-id"]).status.code(), Some(2));
    let o = analyzer(&["rules"]);
    assert!(text(&o).contains("setup.interrupted") && text(&o).contains("pending"));
}

#[test]
fn a_bad_snapshot_file_is_named_and_skipped_and_fail_on_sets_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let fleet = tmp.path().join("fleet");
    let snaps = tmp.path().join("snaps");
    std::fs::create_dir_all(&snaps).unwrap();
    let cfg = exfleet_tests::fleet::FleetConfig {
        seed: 4,
        servers: 3,
        fault_rate: 0.0,
    };
    let (truth, snapshots) = exfleet_tests::collected_fleet(&cfg, &fleet).unwrap();
    for (h, s) in truth.hosts.iter().zip(&snapshots) {
        exfleet_collector::output::write(s, &snaps.join(format!("{}.pb", h.name))).unwrap();
    }
    std::fs::write(snaps.join("broken.json"), b"{ not json").unwrap();
    let out = tmp.path().join("out");
    let o = analyzer(&[
        "analyze",
        "--snapshots",
        snaps.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--as-of",
        "2026-11-23",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("broken.json"),
        "the bad file is named: {}",
        text(&o)
    );
    assert!(text(&o).contains("3 servers"), "{}", text(&o));
    for f in ["findings.json", "findings.csv", "findings.parquet"] {
        assert!(out.join(f).exists(), "{f}");
    }
    // Three hosts with planted faults (each of the first three carries one kind): warnings or worse.
    let o = analyzer(&[
        "analyze",
        "--snapshots",
        snaps.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--fail-on",
        "warning",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let o = analyzer(&[
        "analyze",
        "--dataset",
        "/nonexistent",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("/nonexistent"));
}
