//! The own fixture cases of `tests/fixtures/cases` (see its README): each triage copy through
//! the collector, a snapshot file and the analyzer; the ids its `expect.toml` lists fire,
//! the ones it excludes do not, and the findings cite the listed strings.

use std::path::{Path, PathBuf};

use exfleet_analyzer::catalog::Catalog;
use exfleet_analyzer::finding::Finding;
use exfleet_analyzer::input::History;
use exfleet_collector::{collect, ServerFiles};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    fires: Vec<String>,
    absent: Vec<String>,
    only: Option<Vec<String>>,
    strings: Vec<String>,
}

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cases");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("expect.toml").is_file())
        .collect();
    out.sort();
    out
}

fn findings(case: &Path) -> Vec<Finding> {
    let s =
        exfleet_tests::at_sim_time(collect(&ServerFiles::new(case), Default::default()).unwrap());
    let tmp = tempfile::tempdir().unwrap();
    exfleet_collector::output::write(&s, &tmp.path().join("host.pb")).unwrap();
    let (history, skipped) = History::from_snapshots(tmp.path()).unwrap();
    assert!(skipped.is_empty());
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    exfleet_analyzer::analyze(&history, &Catalog::embedded(), as_of)
        .unwrap()
        .findings
}

#[test]
fn every_case_and_its_twin() {
    let cases = cases();
    assert!(cases.len() >= 20, "{} cases", cases.len());
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let expect: Expect =
            toml::from_str(&std::fs::read_to_string(case.join("expect.toml")).unwrap()).unwrap();
        let found = findings(&case);
        let mut ids: Vec<&str> = found.iter().map(|f| f.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        eprintln!("{name}: {ids:?}");
        for id in &expect.fires {
            assert!(
                ids.contains(&id.as_str()),
                "{name}: {id} not emitted; got {ids:?}"
            );
        }
        for id in &expect.absent {
            assert!(
                !ids.contains(&id.as_str()),
                "{name}: {id} emitted; got {ids:?}"
            );
        }
        if let Some(only) = &expect.only {
            assert_eq!(&ids, only, "{name}");
        }
        let text: String = found
            .iter()
            .map(|f| {
                format!(
                    "{} {} {}\n",
                    f.title,
                    f.action,
                    serde_json::to_string(&f.evidence).unwrap()
                )
            })
            .collect::<String>()
            .replace("\\\\", "\\")
            .replace("\\\"", "\"");
        for s in &expect.strings {
            assert!(text.contains(s), "{name}: {s:?} not cited in\n{text}");
        }
    }
}
