//! The CSS-Exchange setup logs of tests/fixtures through collector and analyzer: for each
//! row of EXPECTED.tsv, every listed finding id that is implemented is emitted for the last
//! run, and when all of a row's ids are implemented, the listed strings appear in their
//! evidence or text. Rows whose ids are still pending are counted, not hidden.

use std::path::{Path, PathBuf};

use exfleet_analyzer::catalog::Catalog;
use exfleet_analyzer::input::History;
use exfleet_analyzer::rules::registry::implemented;
use exfleet_collector::{collect, ServerFiles};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/css-exchange-setup-logs")
}

#[test]
fn every_expected_row_with_implemented_ids() {
    let root = fixtures();
    let expected = std::fs::read_to_string(root.join("EXPECTED.tsv")).unwrap();
    let ids: Vec<&str> = implemented().into_iter().map(|(id, _)| id).collect();
    let (mut full, mut partial, mut pending) = (0, 0, Vec::new());
    for row in expected
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = row.split('\t').collect();
        let file = cols[0];
        let want: Vec<&str> = cols[1].split_whitespace().collect();
        let strings: Vec<&str> = cols
            .get(2)
            .map(|s| s.split('\t').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        let ours: Vec<&str> = want.iter().copied().filter(|id| ids.contains(id)).collect();
        if ours.is_empty() {
            pending.push(file);
            continue;
        }
        let tmp = tempfile::tempdir().unwrap();
        let logs = tmp.path().join("triage/ExchangeSetupLogs");
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::copy(root.join(file), logs.join("ExchangeSetup.log")).unwrap();
        let s = exfleet_tests::at_sim_time(
            collect(
                &ServerFiles::new(tmp.path().join("triage")),
                Default::default(),
            )
            .unwrap(),
        );
        let snaps = tmp.path().join("snaps");
        std::fs::create_dir_all(&snaps).unwrap();
        exfleet_collector::output::write(&s, &snaps.join("host.json")).unwrap();
        let (history, _) = History::from_snapshots(&snaps).unwrap();
        let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let findings = exfleet_analyzer::analyze(&history, &Catalog::embedded(), as_of)
            .unwrap()
            .findings;
        let got: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
        for id in &ours {
            assert!(got.contains(id), "{file}: {id} not emitted; got {got:?}");
        }
        let mut setup: Vec<&str> = got
            .iter()
            .copied()
            .filter(|id| id.starts_with("setup."))
            .collect();
        setup.sort();
        setup.dedup();
        eprintln!("{file}: {setup:?}");
        assert!(
            !got.contains(&"setup.unknown-error"),
            "{file}: a known failure reported as unknown"
        );
        if ours.len() == want.len() {
            full += 1;
            let text: String = findings
                .iter()
                .filter(|f| ours.contains(&f.id.as_str()))
                .map(|f| {
                    format!(
                        "{} {} {}",
                        f.title,
                        f.action,
                        serde_json::to_string(&f.evidence).unwrap()
                    )
                })
                .collect();
            for s in &strings {
                assert!(
                    text.replace("\\\\", "\\").contains(s),
                    "{file}: {s:?} not cited"
                );
            }
        } else {
            partial += 1;
        }
    }
    eprintln!(
        "EXPECTED.tsv: {full} rows fully checked, {partial} partly, {} pending: {pending:?}",
        pending.len()
    );
    // The six PrerequisiteCheck rows: every id and every string.
    assert!(full >= 6, "{full}");
}

/// exfleet's own setup logs (tests/fixtures/setup-logs-own, written for exfleet): for each row
/// of its EXPECTED.tsv, through the collector (a triage copy holding only that log) and the
/// analyzer, the listed ids fire, the excluded ones do not, and the fired findings cite the
/// listed values; `review` over the same file prints the same ids and values.
#[test]
fn own_fixtures_fire_and_miss() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/setup-logs-own");
    let expected = std::fs::read_to_string(root.join("EXPECTED.tsv")).unwrap();
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let catalog = Catalog::embedded();
    let (mut rows, mut failures) = (0, Vec::new());
    for row in expected
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = row.split('\t').collect();
        let (file, fires, absent) = (cols[0], ids(cols[1]), ids(cols[2]));
        let strings: Vec<&str> = cols[3].split(" | ").filter(|s| !s.is_empty()).collect();
        let tmp = tempfile::tempdir().unwrap();
        let logs = tmp.path().join("triage/ExchangeSetupLogs");
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::copy(root.join(file), logs.join("ExchangeSetup.log")).unwrap();
        let s = exfleet_tests::at_sim_time(
            collect(
                &ServerFiles::new(tmp.path().join("triage")),
                Default::default(),
            )
            .unwrap(),
        );
        let snaps = tmp.path().join("snaps");
        std::fs::create_dir_all(&snaps).unwrap();
        exfleet_collector::output::write(&s, &snaps.join("host.json")).unwrap();
        let (history, _) = History::from_snapshots(&snaps).unwrap();
        let findings = exfleet_analyzer::analyze(&history, &catalog, as_of)
            .unwrap()
            .findings;
        let got: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
        for id in &fires {
            if !got.contains(id) {
                failures.push(format!("{file}: {id} not emitted; got {got:?}"));
            }
        }
        for id in &absent {
            if got.contains(id) {
                failures.push(format!("{file}: {id} emitted; got {got:?}"));
            }
        }
        let cited: String = findings
            .iter()
            .filter(|f| fires.contains(&f.id.as_str()))
            .map(|f| {
                format!(
                    "{} {}\n",
                    f.title,
                    serde_json::to_string(&f.evidence).unwrap()
                )
            })
            .collect::<String>()
            .replace("\\\\", "\\");
        let review = exfleet_analyzer::review::review(&root.join(file), &catalog, as_of).unwrap();
        let printed = exfleet_analyzer::review::text(&review);
        for s in &strings {
            if !cited.contains(s) {
                failures.push(format!("{file}: {s:?} not cited in {cited}"));
            }
            if !printed.contains(s) {
                failures.push(format!("{file}: {s:?} not printed by review"));
            }
        }
        for id in &fires {
            if !printed.contains(id) {
                failures.push(format!("{file}: review does not print {id}"));
            }
        }
        assert!(
            !printed.contains("-0,"),
            "{file}: a run shown as ending at line 0"
        );
        rows += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(rows >= 70, "{rows} rows");
}

fn ids(col: &str) -> Vec<&str> {
    col.split_whitespace().filter(|s| *s != "-").collect()
}
