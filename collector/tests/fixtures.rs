//! Readers on the real-world fixtures copied into tests/fixtures (see its README), snapshotted.

use std::path::{Path, PathBuf};

use exfleet_collector::readers::iis_config;
use exfleet_collector::readers::setup_log::parser;
use exfleet_collector::{collect, ServerFiles};
use exfleet_proto::v1::{artifact_status::State, setup_run::Outcome, Snapshot};
use serde_json::json;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn setup_logs() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "log") {
                out.push(p);
            }
        }
    }
    let mut v = Vec::new();
    walk(&fixtures().join("css-exchange-setup-logs"), &mut v);
    v.sort();
    v
}

fn outcome_name(o: i32) -> &'static str {
    match Outcome::try_from(o).unwrap_or(Outcome::Unspecified) {
        Outcome::Succeeded => "succeeded",
        Outcome::Failed => "failed",
        Outcome::EndedUnknown => "ended_unknown",
        Outcome::CutOff => "cut_off",
        Outcome::Unspecified => "unspecified",
    }
}

/// Lines that matter kept for a run, counted by kind.
fn kinds(r: &exfleet_proto::v1::SetupRun) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for l in &r.lines {
        *m.entry(l.kind.clone()).or_default() += 1;
    }
    m
}

#[test]
fn every_css_exchange_setup_log() {
    let root = fixtures().join("css-exchange-setup-logs");
    let logs = setup_logs();
    assert_eq!(logs.len(), 28, "the fixture set has 28 logs");
    let summary: Vec<_> = logs
        .iter()
        .map(|p| {
            let text = exfleet_collector::text::decode(&std::fs::read(p).unwrap());
            let parsed = parser::parse(&text);
            assert!(
                parsed.issues.is_empty(),
                "{}: {:?}",
                p.display(),
                parsed.issues
            );
            let runs: Vec<_> = parsed
                .runs
                .iter()
                .map(|r| {
                    json!({
                        "product": r.product,
                        "setup_version": r.setup_version,
                        "mode": r.mode,
                        "previous_version": r.previous_version,
                        "source_dir": r.source_dir,
                        "user": r.logged_on_user,
                        "lines": [r.start_line, r.end_line],
                        "outcome": outcome_name(r.outcome),
                        "errors": r.errors.len(),
                        "first_error_line": r.errors.first().map(|e| e.line),
                        "first_error_component": r.errors.first().map(|e| e.component.clone()),
                        "kept_lines": kinds(r),
                    })
                })
                .collect();
            json!({
                "file": p.strip_prefix(&root).unwrap().display().to_string(),
                "runs": runs,
            })
        })
        .collect();
    insta::assert_json_snapshot!(summary);
}

#[test]
fn service_disabled_log_checked_by_hand() {
    // Read off the file: one run, 15.1.2106.2 upgrading 15.1.2106.2, four [ERROR] lines
    // (115, 125-127), "didn't complete" at 136, End of Setup at 139.
    let p =
        fixtures().join("css-exchange-setup-logs/KnownIssues/ExchangeSetup_Service_Disabled.log");
    let parsed = parser::parse(&std::fs::read_to_string(p).unwrap());
    assert_eq!(parsed.runs.len(), 1);
    let r = &parsed.runs[0];
    assert_eq!(r.setup_version, "15.1.2106.2");
    assert_eq!(r.mode, "BuildToBuildUpgrade");
    assert_eq!(r.previous_version, "15.1.2106.2");
    assert_eq!(r.source_dir, r"f:\");
    assert_eq!(r.logged_on_user, r"SOLO\Han");
    assert_eq!(r.outcome, Outcome::Failed as i32);
    let lines: Vec<u32> = r.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [115, 125, 126, 127]);
    assert_eq!((r.start_line, r.end_line), (2, 139));
}

fn site_summary(sites: &[exfleet_proto::v1::IisSite]) -> serde_json::Value {
    json!(sites
        .iter()
        .map(|s| json!({
            "name": s.name,
            "id": s.id,
            "bindings": s.bindings.iter().map(|b| format!("{} {}", b.protocol, b.binding_information)).collect::<Vec<_>>(),
            "applications": s.applications.iter().map(|a| json!({
                "path": a.path,
                "pool": a.application_pool,
                "vdirs": a.virtual_directories.iter().map(|v| format!("{} -> {}", v.path, v.physical_path)).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }))
        .collect::<Vec<_>>())
}

#[test]
fn iis_application_host_config() {
    let text = std::fs::read_to_string(fixtures().join("iis/applicationHost.config")).unwrap();
    let p = iis_config::parse(&text, "applicationHost.config");
    assert!(p.error.is_none(), "{:?}", p.error);
    let names: Vec<_> = p.sites.iter().map(|s| (s.name.as_str(), s.id)).collect();
    assert_eq!(names, [("Default Web Site", 1), ("Exchange Back End", 2)]);
    let backend: Vec<_> = p.sites[1]
        .bindings
        .iter()
        .map(|b| (b.protocol.as_str(), b.binding_information.as_str()))
        .collect();
    assert!(backend.contains(&("https", "*:444:")), "{backend:?}");
    insta::assert_json_snapshot!(site_summary(&p.sites));
}

#[test]
fn bad_iis_config_gives_a_located_error_and_keeps_what_it_read() {
    let text = std::fs::read_to_string(fixtures().join("iis/BadApplicationHost.config")).unwrap();
    let p = iis_config::parse(&text, "BadApplicationHost.config");
    let err = p.error.as_ref().expect("the bad file is malformed");
    insta::assert_json_snapshot!(json!({
        "error_line": err.line,
        "error": err.message,
        "sites_read": site_summary(&p.sites),
    }));
}

/// Builds a triage dir holding one SYSTEM hive (xz-compressed fixture) and collects it.
fn collect_system_hive(xz_name: Option<&str>, raw_name: Option<&str>) -> Snapshot {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("Windows/System32/config");
    std::fs::create_dir_all(&config).unwrap();
    let bytes = match (xz_name, raw_name) {
        (Some(x), _) => {
            let compressed = std::fs::read(fixtures().join("registry").join(x)).unwrap();
            let mut out = Vec::new();
            lzma_rs::xz_decompress(&mut compressed.as_slice(), &mut out).unwrap();
            out
        }
        (_, Some(r)) => std::fs::read(fixtures().join("registry").join(r)).unwrap(),
        _ => unreachable!(),
    };
    std::fs::write(config.join("SYSTEM"), bytes).unwrap();
    collect(&ServerFiles::new(tmp.path()), Default::default()).unwrap()
}

fn system_state(s: &Snapshot) -> i32 {
    s.artifacts
        .iter()
        .find(|a| a.reader == "system_hive")
        .unwrap()
        .state
}

#[test]
fn system_2_hive_values_and_dirty_state() {
    let s = collect_system_hive(Some("SYSTEM_2.xz"), None);
    // Dirty, no transaction logs: reported, and the artifact is only partly trusted.
    let dirty: Vec<_> = s.errors.iter().filter(|e| e.kind == "dirty_hive").collect();
    assert_eq!(dirty.len(), 1, "{:?}", s.errors);
    assert_eq!(system_state(&s), State::Partial as i32);
    let rr = s
        .services
        .iter()
        .find(|x| x.name == "RemoteRegistry")
        .unwrap();
    assert_eq!(rr.start, 4, "RemoteRegistry is disabled in this hive");
    let platform = s.platform.as_ref().unwrap();
    assert!(platform
        .pending_reboot
        .iter()
        .any(|p| p.indicator == "PendingFileRenameOperations"));
    let host = s.host.as_ref().unwrap();
    insta::assert_json_snapshot!(json!({
        "computer_name": host.computer_name,
        "dns_hostname": host.dns_hostname,
        "dns_domain": host.dns_domain,
        "ad_site": host.ad_site,
        "current_control_set": platform.current_control_set,
        "time_zone": platform.time_zone,
        "ansi_code_page": platform.ansi_code_page,
        "pending_reboot": platform.pending_reboot.iter().map(|p| &p.indicator).collect::<Vec<_>>(),
        "services": s.services.len(),
        "disabled_services": s.services.iter().filter(|x| x.start == 4).map(|x| &x.name).collect::<Vec<_>>(),
        "ssl_bindings": s.ssl_bindings.len(),
        "errors": s.errors.iter().map(|e| format!("{}: {}", e.kind, e.message)).collect::<Vec<_>>(),
    }));
}

#[test]
fn corrupted_hive_damage_is_located_and_reading_goes_on() {
    let s = collect_system_hive(Some("corrupted_system_hive.xz"), None);
    let damage: Vec<_> = s
        .errors
        .iter()
        .filter(|e| e.kind == "damaged_hive")
        .collect();
    insta::assert_json_snapshot!(json!({
        "state": system_state(&s),
        "services_read": s.services.len(),
        "errors": s.errors.iter().map(|e| json!({
            "kind": e.kind,
            "located": e.location.is_some(),
            "message": e.message,
        })).collect::<Vec<_>>(),
    }));
    for e in &damage {
        assert!(
            e.message.contains("offset") || e.location.is_some(),
            "unlocated: {e:?}"
        );
    }
}

#[test]
fn minimal_hive_reads_clean_and_empty() {
    let s = collect_system_hive(None, Some("minimal"));
    let hive_errors: Vec<_> = s
        .errors
        .iter()
        .filter(|e| e.reader == "system_hive" && e.kind != "missing_value")
        .collect();
    assert!(hive_errors.is_empty(), "{hive_errors:?}");
    assert_eq!(system_state(&s), State::Read as i32);
    assert!(s.services.is_empty());
}

#[test]
fn the_lines_shipped_hold_what_each_known_failure_needs() {
    // EXPECTED.tsv's third column: strings a finding about the last run must cite. The
    // collector ships only the lines that matter; they (with the run's header facts) must hold
    // every such string the log contains, or no analyzer rule could cite it.
    let root = fixtures().join("css-exchange-setup-logs");
    let expected = std::fs::read_to_string(root.join("EXPECTED.tsv")).unwrap();
    let mut checked = 0;
    for row in expected
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = row.split('\t').collect();
        let (file, needed) = (cols[0], cols.get(2).copied().unwrap_or(""));
        if needed.trim().is_empty() {
            continue;
        }
        let text = exfleet_collector::text::decode(&std::fs::read(root.join(file)).unwrap());
        let run = parser::parse(&text).runs.pop().unwrap();
        let mut shipped = format!(
            "{} {} {} {} {} {}",
            run.setup_version,
            run.mode,
            run.previous_version,
            run.backup_version,
            run.logged_on_user,
            run.source_dir
        );
        for l in &run.lines {
            shipped.push_str(&l.text);
            shipped.push_str(&l.continuation.join("\n"));
            shipped.push_str(&l.context.join("\n"));
        }
        for s in needed.split('\t').filter(|s| !s.is_empty()) {
            // Some strings are the rule's own words (the log never names the deleted OU).
            if text.contains(s) {
                assert!(
                    shipped.contains(s),
                    "{file}: {s:?} is not in the lines shipped"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 12, "{checked}");
}
