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
    for (id, _) in exfleet_analyzer::rules::registry::PENDING {
        let o = analyzer(&["explain", id]);
        assert!(o.status.success() && text(&o).contains("not implemented yet"));
    }
    assert_eq!(analyzer(&["explain", "no.such-id"]).status.code(), Some(2));
    let o = analyzer(&["rules"]);
    assert!(text(&o).contains("setup.interrupted") && text(&o).contains("fleet.stale-collection"));
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
    for f in [
        "report.html",
        "findings.json",
        "findings.csv",
        "findings.parquet",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    // What to do first comes first.
    let t = text(&o);
    let (first, builds) = (
        t.find("Do first:").unwrap(),
        t.find("Servers by build:").unwrap(),
    );
    assert!(first < builds, "{t}");
    // The same for scripts, as JSON on stdout.
    let o = analyzer(&[
        "analyze",
        "--snapshots",
        snaps.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--as-of",
        "2026-11-23",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["servers"], 3);
    assert!(Path::new(v["files"]["report"].as_str().unwrap()).exists());
    let rank = |s: &str| {
        ["info", "warning", "error", "critical"]
            .iter()
            .position(|x| *x == s)
    };
    let plan = v["plan"].as_array().unwrap();
    assert!(!plan.is_empty());
    for w in plan.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let (ra, rb) = (
            rank(a["severity"].as_str().unwrap()),
            rank(b["severity"].as_str().unwrap()),
        );
        assert!(
            ra > rb
                || (ra == rb
                    && a["hosts"].as_array().unwrap().len()
                        >= b["hosts"].as_array().unwrap().len()),
            "{a} before {b}"
        );
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

#[test]
fn review_tells_what_went_wrong_in_one_log() {
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/css-exchange-setup-logs");
    let log = fixtures.join("KnownIssues/MsiIssues/ExchangeSetup_MSI_2.log");
    let o = analyzer(&["review", log.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("setup.msi-installer-cache") && text(&o).contains("15.0.1367.3"),
        "{}",
        text(&o)
    );
    let o = analyzer(&["review", log.to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["runs"].as_array().unwrap().len(), 1);
    assert_eq!(v["findings"][0]["id"], "setup.msi-installer-cache");
    // A successful run: setup.success and nothing else.
    let tmp = tempfile::tempdir().unwrap();
    // Every fault kind is planted once on the first servers: a fleet larger than the fault
    // list leaves some without one.
    let h = exfleet_tests::fleet::generate(&exfleet_tests::fleet::FleetConfig {
        seed: 2,
        servers: exfleet_tests::fleet::EXCHANGE_2010_FROM + 8,
        fault_rate: 0.0,
    })
    .into_iter()
    .find(|h| h.faults.is_empty())
    .unwrap();
    let ok = tmp.path().join("ExchangeSetup.log");
    std::fs::write(
        &ok,
        exfleet_tests::fleet::setup_log::render(&exfleet_tests::fleet::render::runs(&h), '/'),
    )
    .unwrap();
    let o = analyzer(&["review", ok.to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["setup.success"]);
    assert_eq!(
        analyzer(&["review", "/nonexistent.log"]).status.code(),
        Some(2)
    );
}

#[test]
fn review_reads_service_control_and_msi_logs_too() {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cases");
    let sc = cases.join("services-stop-failed/ExchangeSetupLogs/ServiceControl.log");
    let o = analyzer(&["review", sc.to_str().unwrap(), "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["kind"], "ServiceControl.log");
    assert_eq!(v["runs"].as_array().unwrap().len(), 2);
    assert_eq!(v["runs"][0]["outcome"], "errors");
    assert_eq!(v["findings"][0]["id"], "setup.services-stop-failed");
    let msi = cases.join("msp-1642/ExchangeSetupLogs/KB5019758.log");
    let o = analyzer(&["review", msi.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("(MSI log)"), "{out}");
    assert!(
        out.contains("build.su-wrong-cu") && out.contains("15.2.1118.7") && out.contains("1642"),
        "{out}"
    );
}

/// What the collector writes, the analyzer reads, whatever the files are called; a folder
/// with no snapshot is an error (exit 2) that says what it found.
#[test]
fn snapshots_are_read_whatever_their_names_and_none_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let fleet = tmp.path().join("fleet");
    let cfg = exfleet_tests::fleet::FleetConfig {
        seed: 5,
        servers: 2,
        fault_rate: 0.0,
    };
    let (truth, snapshots) = exfleet_tests::collected_fleet(&cfg, &fleet).unwrap();
    let snaps = tmp.path().join("snap");
    std::fs::create_dir_all(&snaps).unwrap();
    // As `exfleet-collector collect --out` writes them: JSON for `.json`, protobuf otherwise.
    for ((h, s), name) in truth
        .hosts
        .iter()
        .zip(&snapshots)
        .zip(["a.snapshot", "b.json"])
    {
        let path = snaps.join(format!("{}-{name}", h.name));
        exfleet_collector::output::write(s, &path).unwrap();
    }
    let out = tmp.path().join("rep");
    let analyze = |dir: &Path| {
        analyzer(&[
            "analyze",
            "--snapshots",
            dir.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let o = analyze(&snaps);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("2 servers"), "{}", text(&o));

    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), "not a snapshot").unwrap();
    let o = analyze(&empty);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no readable snapshot"), "{}", text(&o));
    assert!(text(&o).contains("notes.txt"), "{}", text(&o));
}

#[test]
fn a_newer_cve_table_is_imported_with_catalog_and_a_stale_one_is_warned_about() {
    let tmp = tempfile::tempdir().unwrap();
    let snaps = tmp.path().join("snaps");
    std::fs::create_dir_all(&snaps).unwrap();
    let cfg = exfleet_tests::fleet::FleetConfig {
        seed: 4,
        servers: 3,
        fault_rate: 0.0,
    };
    let (truth, snapshots) =
        exfleet_tests::collected_fleet(&cfg, &tmp.path().join("fleet")).unwrap();
    for (h, s) in truth.hosts.iter().zip(&snapshots) {
        exfleet_collector::output::write(s, &snaps.join(format!("{}.pb", h.name))).unwrap();
    }
    let summary = |catalog: Option<&Path>| -> serde_json::Value {
        let out = tmp.path().join("out");
        let mut args = vec![
            "analyze",
            "--snapshots",
            snaps.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--as-of",
            "2026-11-23",
            "--format",
            "json",
        ];
        if let Some(c) = catalog {
            args.extend(["--catalog", c.to_str().unwrap()]);
        }
        let o = analyzer(&args);
        assert!(o.status.success(), "{}", text(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let cves = |v: &serde_json::Value| -> Vec<String> {
        v["exposure"]["per_cve"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["cve"].as_str().unwrap().to_string())
            .collect()
    };
    let shipped = summary(None);
    let warnings = shipped["catalog_warnings"].to_string();
    assert!(
        warnings.contains("CVE table is as of 2026-04-02, 235 days"),
        "{warnings}"
    );
    assert!(
        warnings.contains("build catalog is as of 2026-08-11"),
        "{warnings}"
    );
    assert!(!cves(&shipped).contains(&"CVE-2026-99001".to_string()));

    // A newer table: a CVE fixed by a build above every host's, dated a month ago.
    let text_of = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog/exchange-builds.toml"),
    )
    .unwrap()
    .replace("cve-as-of = \"2026-04-02\"", "cve-as-of = \"2026-11-01\"")
    .replace(
        "cve = [\n",
        "cve = [\n  { id = \"CVE-2026-99001\", product = \"Exchange SE\", cu = \"RTM\", fixed-by = \"Aug26SU\", fixed-build = \"15.2.2562.99\", class = \"su\" },\n",
    );
    let newer = tmp.path().join("newer.toml");
    std::fs::write(&newer, text_of).unwrap();
    let o = analyzer(&["catalog", "--check", newer.to_str().unwrap()]);
    assert!(
        text(&o).contains("760 CVE rows, as of 2026-11-01"),
        "{}",
        text(&o)
    );
    let imported = summary(Some(&newer));
    assert!(cves(&imported).contains(&"CVE-2026-99001".to_string()));
    let warnings = imported["catalog_warnings"].to_string();
    assert!(!warnings.contains("CVE table"), "{warnings}");

    // A CVE row that cannot be judged is refused, naming the file and the entry.
    let bad = tmp.path().join("bad-cve.toml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&newer)
            .unwrap()
            .replace("fixed-build = \"15.2.2562.99\"", "fixed-build = \"soon\""),
    )
    .unwrap();
    let o = analyzer(&["catalog", "--check", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("bad-cve.toml"), "{}", text(&o));
    assert!(
        text(&o).contains("cve entry 1: CVE-2026-99001"),
        "{}",
        text(&o)
    );
}
