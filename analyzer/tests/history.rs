//! The fleet over time: 40 servers with 90 days of daily snapshots, written as the
//! aggregator's Parquet dataset, analyzed with the history. Each planted pattern is reported
//! with the hosts it was planted on; the same fleet with the patterns shuffled away reports
//! none of the history findings; and an analysis as of a day before the update wave sees the
//! fleet as it was then.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use exfleet_aggregator::dataset::Dataset;
use exfleet_analyzer::catalog::Catalog;
use exfleet_analyzer::finding::Finding;
use exfleet_analyzer::input::History;
use exfleet_tests::history::{self, HistoryConfig, HistoryTruth, DOTNET_481};

const HISTORY_IDS: [&str; 4] = [
    "fleet.failure-correlate",
    "fleet.incident-window",
    "fleet.stale-collection",
    "config.customizations-overwritten",
];

/// Writes the history as the aggregator does (one batch per day) and opens it.
fn dataset(cfg: &HistoryConfig, dir: &std::path::Path) -> (History, HistoryTruth) {
    let (hosts, truth) = history::hosts(cfg);
    let (ds, _) = Dataset::open(dir).unwrap();
    for day in 0..cfg.days {
        ds.write_batch(&history::day(cfg, &hosts, day)).unwrap();
    }
    (History::open(dir).unwrap(), truth)
}

fn analyze(h: &History, as_of: NaiveDate) -> Vec<Finding> {
    exfleet_analyzer::analyze(h, &Catalog::embedded(), as_of)
        .unwrap()
        .findings
}

fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn hosts_of<'a>(findings: &'a [Finding], id: &str, group: &str) -> Option<&'a Finding> {
    findings.iter().find(|f| f.id == id && f.group == group)
}

fn set(v: &[String]) -> BTreeSet<String> {
    v.iter().cloned().collect()
}

#[test]
fn planted_patterns_are_reported_with_their_hosts() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = HistoryConfig::default();
    let (h, truth) = dataset(&cfg, tmp.path());
    let findings = analyze(&h, last_day());

    // A site stuck on CU13.
    let (site, stuck) = truth.stuck_site.clone().unwrap();
    let f = hosts_of(
        &findings,
        "fleet.failure-correlate",
        &format!("build.cu-out-of-support ~ AD site={site}"),
    )
    .unwrap_or_else(|| panic!("no site correlation: {:#?}", ids(&findings)));
    assert_eq!(set(&f.hosts), set(&stuck));
    assert!(f.evidence.iter().any(|e| e.fact.contains("lift")), "{f:#?}");

    // Aug26SU failing on every server with .NET 4.8.1.
    let f = hosts_of(
        &findings,
        "fleet.failure-correlate",
        &format!("build.su-behind ~ .NET release={DOTNET_481}"),
    )
    .unwrap_or_else(|| panic!("no .NET correlation: {:#?}", ids(&findings)));
    assert_eq!(set(&f.hosts), set(&truth.failed));

    // 1309s beginning right after the update wave.
    let f = hosts_of(&findings, "fleet.incident-window", "incident:ASP.NET")
        .unwrap_or_else(|| panic!("no incident: {:#?}", ids(&findings)));
    assert_eq!(set(&f.hosts), set(&truth.errors_after_update));
    assert!(f
        .evidence
        .iter()
        .all(|e| e.fact.contains("MsiInstaller 1022")));

    // The silent host.
    let f = hosts_of(&findings, "fleet.stale-collection", "collection").unwrap();
    assert_eq!(f.hosts, [truth.silent.clone().unwrap()]);

    // Customizations lost in the update, on those hosts only.
    let lost: BTreeSet<String> = findings
        .iter()
        .filter(|f| f.id == "config.customizations-overwritten")
        .map(|f| f.host.clone())
        .collect();
    assert_eq!(lost, set(&truth.customization_lost));

    // The compromise began on Jul26SU, five days before the update to Aug26SU: judged on the
    // build it ran then (behind Aug26SU), not on today's (current).
    let (host, from, then, now) = truth.compromised.clone().unwrap();
    let f = findings
        .iter()
        .find(|f| f.id == "ioc.cve-2022-41040" && f.host == host)
        .unwrap_or_else(|| panic!("no indicator on {host}: {:#?}", ids(&findings)));
    let facts: Vec<&str> = f.evidence.iter().map(|e| e.fact.as_str()).collect();
    assert!(
        facts.iter().any(|x| x.starts_with(&format!(
            "first seen {}",
            exfleet_analyzer::rules::utc(from)
        ))),
        "{facts:#?}"
    );
    assert!(
        facts.iter().any(|x| x.starts_with(&format!(
            "behind on SUs when it began: it ran {then} (Exchange 2019 CU15)"
        )) && x.contains(&format!("Aug26SU {now}"))),
        "{facts:#?}"
    );

    // The server that scans late reaches back to a day after the compromise began, but the
    // incident window only matters for the logs of a CVE a server was open to then: every
    // server ran an Exchange 2019 CU15 SU carrying the fixes of CVE-2022-41040 (IIS logs) and
    // CVE-2021-26855 (HttpProxy logs), and 2019 has no Unified Messaging (Application log):
    // no coverage gap (the open case is the rule's unit test).
    let late = truth.late_scan.clone().unwrap();
    assert!(
        !findings
            .iter()
            .any(|f| f.id == "ioc.coverage-gap" && f.hosts.contains(&late)),
        "{:#?}",
        findings
            .iter()
            .filter(|f| f.id == "ioc.coverage-gap")
            .collect::<Vec<_>>()
    );

    // Nothing else of the history ids.
    for f in findings
        .iter()
        .filter(|f| HISTORY_IDS.contains(&f.id.as_str()))
    {
        let expected = f.id == "config.customizations-overwritten"
            || f.group == "collection"
            || f.group == "incident:ASP.NET"
            || f.group.starts_with("build.cu-out-of-support ~ AD site=")
            || f.group.starts_with("build.su-behind ~ .NET release=")
            || f.group.starts_with("setup.unknown-error ~ .NET release=");
        assert!(expected, "unexpected: {} {} {:?}", f.id, f.group, f.hosts);
    }
}

#[test]
fn shuffled_history_reports_none_of_the_patterns() {
    for seed in [7, 8, 9] {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = HistoryConfig {
            seed,
            planted: false,
            ..Default::default()
        };
        let (h, _) = dataset(&cfg, tmp.path());
        let findings = analyze(&h, last_day());
        let got: Vec<_> = findings
            .iter()
            .filter(|f| HISTORY_IDS.contains(&f.id.as_str()))
            .map(|f| (f.id.clone(), f.group.clone(), f.hosts.clone()))
            .collect();
        assert!(got.is_empty(), "seed {seed}: {got:#?}");
        // The same failures are there, only not tied to anything.
        assert!(findings.iter().any(|f| f.id == "build.cu-out-of-support"));
        assert!(findings.iter().any(|f| f.id == "build.su-behind"));
    }
}

#[test]
fn the_history_answers_for_an_earlier_day_and_tells_what_changed_since() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = HistoryConfig::default();
    let (h, truth) = dataset(&cfg, tmp.path());
    // Six weeks before the end: before the wave and before the silence.
    let then = last_day() - chrono::Days::new(42);
    let findings = analyze(&h, then);
    assert!(!findings.iter().any(|f| f.id == "fleet.stale-collection"));
    assert!(!findings.iter().any(|f| f.id == "fleet.incident-window"));
    // Before the wave every CU15 server was still on Jul26SU, behind Aug26SU: the ones that
    // updated later too.
    let updated = &truth.errors_after_update[0];
    let behind = |fs: &[Finding]| {
        fs.iter()
            .any(|f| f.id == "build.su-behind" && &f.host == updated)
    };
    assert!(behind(&findings));
    assert!(!behind(&analyze(&h, last_day())));
    // The silent host was reporting then.
    let silent = truth.silent.clone().unwrap();
    assert!(findings.iter().any(|f| f.host == silent));

    // What changed since then: the build, the update, and the OWA web.config whose
    // customization was lost, on that host; nothing on a host whose update failed.
    let lost = &truth.customization_lost[0];
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_exfleet-analyzer"))
        .args(["changes", "--dataset"])
        .arg(tmp.path())
        .args(["--since", &then.to_string(), "--as-of", "2026-11-23"])
        .args(["--host", lost, "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let changes = v[0]["changes"].as_array().unwrap();
    let has = |kind: &str, item: &str, before: &str, after: &str| {
        changes.iter().any(|c| {
            c["kind"] == kind
                && c["item"].as_str().unwrap().contains(item)
                && c["before"].as_str().unwrap().contains(before)
                && c["after"].as_str().unwrap().contains(after)
        })
    };
    assert!(
        has("build", "ExSetup.exe", "15.2.1748.48", "15.2.1748.49"),
        "{v:#}"
    );
    assert!(
        has(
            "update",
            "KB5121574",
            "",
            "Exchange Server 2019 Cumulative Update 15"
        ),
        "{v:#}"
    );
    assert!(
        has("config_file", "ClientAccess\\Owa\\web.config", "", ""),
        "{v:#}"
    );
    // A period that ends before it starts is refused, with both dates.
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_exfleet-analyzer"))
        .args(["changes", "--dataset"])
        .arg(tmp.path())
        .args(["--since", "2026-11-23", "--as-of", "2026-11-01"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("2026-11-23"));
    let end = exfleet_analyzer::analyze::end_of_day;
    let all = exfleet_analyzer::changes::changes(&h, end(then), end(last_day())).unwrap();
    let failed = &truth.failed[0];
    assert!(!all.iter().any(|c| &c.host == failed), "{all:#?}");
}

fn ids(findings: &[Finding]) -> Vec<(String, String)> {
    findings
        .iter()
        .filter(|f| f.host == "fleet")
        .map(|f| (f.id.clone(), f.group.clone()))
        .collect()
}

/// `config.customized`: the customized OWA web.configs before the wave (fires), none once the
/// planted update overwrote them (near miss: the same hosts, the stock file again), and the
/// kept ones when the customization survives the update (shuffled).
#[test]
fn customized_files_are_named_while_they_differ_from_their_builds_stock() {
    let customized = |f: &[Finding]| -> BTreeSet<String> {
        f.iter()
            .filter(|f| f.id == "config.customized")
            .map(|f| f.host.clone())
            .collect()
    };
    let tmp = tempfile::tempdir().unwrap();
    let cfg = HistoryConfig::default();
    let (h, truth) = dataset(&cfg, tmp.path());
    assert_eq!(truth.customization_lost.len(), 2);
    let before_wave = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let before = analyze(&h, before_wave);
    assert_eq!(customized(&before), set(&truth.customization_lost));
    let f = before.iter().find(|f| f.id == "config.customized").unwrap();
    assert!(
        f.evidence[0]
            .fact
            .contains(r"ClientAccess\Owa\web.config on build 15.2.1748.48"),
        "{f:#?}"
    );
    assert!(customized(&analyze(&h, last_day())).is_empty());

    let tmp = tempfile::tempdir().unwrap();
    let cfg = HistoryConfig {
        planted: false,
        ..Default::default()
    };
    let (h, _) = dataset(&cfg, tmp.path());
    let (hosts, _) = history::hosts(&cfg);
    let kept: BTreeSet<String> = hosts
        .iter()
        .filter(|h| h.customized)
        .map(|h| h.name.clone())
        .collect();
    assert_eq!(kept.len(), 2);
    assert_eq!(customized(&analyze(&h, last_day())), kept);
}
