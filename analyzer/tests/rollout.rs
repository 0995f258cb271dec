//! `plan` and `verify` on a simulated rollout (tests/src/rollout.rs): fifteen servers with
//! daily snapshots written as the aggregator's Parquet dataset, blockers planted before the
//! plan day, a rollout of Aug26SU the day after in which three hosts fail. The plan lists
//! exactly the planted blockers and orders the waves; verify names exactly the failed hosts
//! and the finding that says why; both compared with the simulator's ground truth.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use exfleet_aggregator::dataset::Dataset;
use exfleet_analyzer::catalog::Catalog;
use exfleet_analyzer::input::History;
use exfleet_analyzer::rollout::plan::Status;
use exfleet_analyzer::rollout::target::parse;
use exfleet_analyzer::rollout::verify::Outcome;
use exfleet_analyzer::rollout::{expected, plan, verify};
use exfleet_tests::rollout::{self, RolloutTruth};

fn dataset(dir: &Path) -> (History, RolloutTruth, expected::ExpectedList) {
    let (hosts, truth) = rollout::fleet();
    let (ds, _) = Dataset::open(dir).unwrap();
    for day in 0..rollout::DAYS {
        ds.write_batch(&rollout::day(&hosts, day)).unwrap();
    }
    let list = expected::parse(&rollout::expected_csv(&hosts), Path::new("servers.csv")).unwrap();
    assert!(list.bad.is_empty(), "{:?}", list.bad);
    (History::open(dir).unwrap(), truth, list)
}

fn date(day: usize) -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(rollout::day_ms(day))
        .unwrap()
        .date_naive()
}

#[test]
fn the_plan_lists_exactly_the_planted_blockers_and_orders_the_waves() {
    let tmp = tempfile::tempdir().unwrap();
    let (h, truth, list) = dataset(tmp.path());
    let catalog = Catalog::embedded();
    let a = exfleet_analyzer::analyze(&h, &catalog, date(rollout::PLAN_DAY)).unwrap();

    let p = plan(
        &a,
        &catalog,
        &parse("latest", &catalog).unwrap(),
        Some(&list),
    );
    // The whole plan as an administrator reads it, for review.
    insta::assert_snapshot!(
        "plan-latest",
        exfleet_analyzer::rollout::render::plan_text(&p).replace("servers.csv", "[expected]")
    );
    let blocked: BTreeMap<String, Vec<String>> = p
        .hosts
        .iter()
        .filter(|h| h.status == Status::Blocked)
        .map(|h| {
            (
                h.host.clone(),
                h.blockers.iter().map(|b| b.id.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(blocked, truth.blockers_latest);
    // Each blocker keeps the evidence of its finding, or cites what the target judgement read.
    let of = |host: &str| p.hosts.iter().find(|h| h.host == host).unwrap();
    let iu = &of("EXPAR02").blockers[0];
    assert!(
        iu.evidence.iter().any(|e| e.fact.contains("KB5099001")),
        "{iu:?}"
    );
    let dotnet = &of("EXSEA05").blockers[0];
    assert!(dotnet.against_target, "{dotnet:?}");
    assert!(
        dotnet
            .title
            .contains("4.7.2 is below what Exchange 2019 CU15 needs"),
        "{dotnet:?}"
    );
    assert!(
        dotnet.evidence[0].provenance.contains("Release"),
        "{dotnet:?}"
    );
    let mm = &of("EXSEA02").blockers[0];
    assert!(mm.evidence[0].fact.contains("HubTransport"), "{mm:?}");

    let waves: Vec<Vec<String>> = p.waves.iter().map(|w| w.hosts.clone()).collect();
    assert_eq!(waves, truth.waves_latest);
    assert_eq!(p.waves[1].site, "Seattle");
    // The Get-ExchangeServer export has no DAG column: the Mailbox servers without a DAG
    // label are named in a warning, and the CAS order is judged (CASNET01 is labelled).
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert!(
        p.warnings[0].contains("EXOSA01, EXOSA02, EXPAR05"),
        "{:?}",
        p.warnings
    );

    let backups: Vec<String> = p
        .hosts
        .iter()
        .filter(|h| !h.prepare.is_empty())
        .map(|h| h.host.clone())
        .collect();
    assert_eq!(backups, truth.back_up_first);
    let backup = &of("EXPAR05").prepare[0];
    assert_eq!(backup.id, "config.customized");
    assert!(
        backup.evidence[0].fact.contains(r"Owa\web.config"),
        "{backup:?}"
    );
    assert_eq!(of("EXPAR05").status, Status::Scheduled);

    let mut not_collected: Vec<String> = p.not_collected.iter().map(|n| n.host.clone()).collect();
    not_collected.sort();
    assert_eq!(not_collected, truth.not_collected);
    // The CU15 install on EXPAR01 recorded AD prepared for CU15.
    assert_eq!(p.ad.status, "prepared", "{}", p.ad.text);
    assert!(p.ad.text.contains("EXPAR01"), "{}", p.ad.text);

    // Aug26SU is not published for CU13: EXOSA01 is blocked; Exchange 2010 is out of it.
    let p = plan(
        &a,
        &catalog,
        &parse("Aug26SU", &catalog).unwrap(),
        Some(&list),
    );
    let blocked: BTreeMap<String, Vec<String>> = p
        .hosts
        .iter()
        .filter(|h| h.status == Status::Blocked)
        .map(|h| {
            (
                h.host.clone(),
                h.blockers.iter().map(|b| b.id.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(blocked, truth.blockers_aug26su);
    assert_eq!(of_status(&p, "CASNET01"), Status::OtherProduct);
    // An SU on each host's own CU asks nothing more of AD.
    assert_eq!(p.ad.status, "not needed", "{}", p.ad.text);
}

#[test]
fn exchange_se_is_planned_as_a_cu_upgrade_of_the_2019_cu15_servers() {
    let tmp = tempfile::tempdir().unwrap();
    let (h, truth, list) = dataset(tmp.path());
    let catalog = Catalog::embedded();
    let a = exfleet_analyzer::analyze(&h, &catalog, date(rollout::PLAN_DAY)).unwrap();
    let p = plan(
        &a,
        &catalog,
        &parse("Exchange SE Feb26SU", &catalog).unwrap(),
        Some(&list),
    );
    let se = |host: &str| p.hosts.iter().find(|h| h.host == host).unwrap();
    // CU15 servers nothing blocks go to SE RTM as a CU upgrade.
    for host in ["EXSEA01", "EXPAR01", "EXOSA02"] {
        assert_eq!(
            se(host).status,
            Status::Scheduled,
            "{host}: {:?}",
            se(host).blockers
        );
        assert!(se(host).cu_upgrade, "{host}");
        assert_eq!(se(host).target_build, "15.2.2562.37");
    }
    // The planted blockers still hold them back.
    for host in truth.blockers_latest.keys() {
        assert_eq!(se(host).status, Status::Blocked, "{host}");
    }
    // CU13 must move to CU14 or CU15 first; Exchange 2010 is another product.
    let cu13 = se("EXOSA01");
    assert_eq!(cu13.status, Status::Blocked);
    assert_eq!(
        cu13.blockers[0].id, "build.su-wrong-cu",
        "{:?}",
        cu13.blockers
    );
    assert_eq!(of_status(&p, "CASNET01"), Status::OtherProduct);
    assert!(!p.waves.is_empty());
    // SE RTM itself has the hybrid online archiving issue: the target is blocked.
    let rtm = plan(
        &a,
        &catalog,
        &parse("Exchange SE RTM", &catalog).unwrap(),
        Some(&list),
    );
    assert_eq!(rtm.target_blockers[0].id, "build.known-bad");
    assert_eq!(of_status(&rtm, "EXSEA01"), Status::Blocked);
}

fn of_status(p: &exfleet_analyzer::rollout::Plan, host: &str) -> Status {
    p.hosts.iter().find(|h| h.host == host).unwrap().status
}

#[test]
fn verify_names_exactly_the_failed_hosts_and_why() {
    let tmp = tempfile::tempdir().unwrap();
    let (h, truth, list) = dataset(tmp.path());
    let catalog = Catalog::embedded();
    let before = exfleet_analyzer::analyze(&h, &catalog, date(rollout::PLAN_DAY)).unwrap();
    let now = exfleet_analyzer::analyze(&h, &catalog, date(rollout::DAYS - 1)).unwrap();
    let spec = parse("Aug26SU", &catalog).unwrap();
    let v = verify(&before, &now, &h, &catalog, Some(&spec), Some(&list)).unwrap();
    insta::assert_snapshot!(
        "verify-aug26su",
        exfleet_analyzer::rollout::render::verify_text(&v)
    );

    let with = |o: Outcome| -> Vec<String> {
        v.hosts
            .iter()
            .filter(|h| h.outcome == o)
            .map(|h| h.host.clone())
            .collect()
    };
    let failed: BTreeMap<String, String> = v
        .hosts
        .iter()
        .filter(|h| h.outcome == Outcome::Failed)
        .map(|h| {
            (
                h.host.clone(),
                h.why.as_ref().map(|w| w.id.clone()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(failed, truth.failed, "{:#?}", v.hosts);
    assert_eq!(with(Outcome::Done), truth.done);
    assert_eq!(with(Outcome::NotStarted), truth.not_started);
    let mut not_collected: Vec<String> = v.not_collected.iter().map(|n| n.host.clone()).collect();
    not_collected.sort();
    assert_eq!(not_collected, truth.not_collected);
    assert_eq!(v.summary.failed, truth.failed.len());
    assert_eq!(v.summary.done, truth.done.len());

    let host = |n: &str| v.hosts.iter().find(|h| h.host == n).unwrap();
    // The hosts not started are the ones the plan blocked, on the same blockers.
    for n in &truth.not_started {
        assert_eq!(
            Some(&host(n).blocked_by),
            truth.blockers_aug26su.get(n),
            "{n}"
        );
    }
    // The new errors are ADAccess 2142, not the DCOM 10016 every host logged before.
    let expar01 = host("EXPAR01");
    assert!(expar01.reached && expar01.services_back);
    let kinds: Vec<(&str, i64)> = expar01
        .new_error_events
        .iter()
        .map(|e| (e.provider.as_str(), e.event_id))
        .collect();
    assert_eq!(kinds, [("MSExchange ADAccess", 2142)]);
    let expar03 = host("EXPAR03");
    assert!(!expar03.reached);
    assert!(
        expar03
            .why
            .as_ref()
            .unwrap()
            .evidence
            .iter()
            .any(|e| e.fact.contains("1603")),
        "{expar03:#?}"
    );
    let exsea04 = host("EXSEA04");
    assert!(exsea04.reached && !exsea04.services_back);
    // The customization EXPAR05 lost is a new warning, not a failure.
    let expar05 = host("EXPAR05");
    assert!(expar05
        .new_findings
        .iter()
        .any(|f| f.id == "config.customizations-overwritten"));
}

fn analyzer(args: &[&str]) -> (Option<i32>, String, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_exfleet-analyzer"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn the_command_line_writes_the_plan_and_the_verification_in_text_json_csv_and_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("dataset");
    let (hosts, truth) = rollout::fleet();
    let (ds, _) = Dataset::open(&data).unwrap();
    for day in 0..rollout::DAYS {
        ds.write_batch(&rollout::day(&hosts, day)).unwrap();
    }
    // One bad row: named by file and line, the others kept.
    let servers = tmp.path().join("servers.csv");
    let mut csv = rollout::expected_csv(&hosts);
    csv.push_str("\"EXBAD01\",\"x\"\r\n");
    std::fs::write(&servers, csv).unwrap();
    let (d, s, e) = (
        data.to_str().unwrap(),
        servers.to_str().unwrap(),
        tmp.path().join("out"),
    );
    let plan_day = date(rollout::PLAN_DAY).to_string();
    let (code, out, err) = analyzer(&[
        "plan",
        "--dataset",
        d,
        "--as-of",
        &plan_day,
        "--target",
        "latest",
        "--expected",
        s,
        "--out",
        e.to_str().unwrap(),
    ]);
    // Hosts are blocked and servers not collected: the plan is not clear to run (exit 1).
    assert_eq!(code, Some(1), "{out}{err}");
    eprintln!("{out}");
    assert!(
        err.contains("servers.csv:19: 2 fields where the header has 6"),
        "{err}"
    );
    assert!(
        out.contains("Wave 1 (all sites): Exchange 2010 Internet-facing"),
        "{out}"
    );
    assert!(
        out.contains("[build.iu-blocks-su] Interim Update installed"),
        "{out}"
    );
    assert!(out.contains("EXPAR09          never reported"), "{out}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(e.join("plan.json")).unwrap()).unwrap();
    assert_eq!(
        json["waves"].as_array().unwrap().len(),
        truth.waves_latest.len()
    );
    let csv = std::fs::read_to_string(e.join("plan.csv")).unwrap();
    assert!(
        csv.lines()
            .any(|l| l.starts_with("EXSEA06,Seattle,DAG-SEA2")
                && l.contains("blocked")
                && l.contains("services.not-running")),
        "{csv}"
    );

    let last = date(rollout::DAYS - 1).to_string();
    let (code, out, err) = analyzer(&[
        "verify",
        "--dataset",
        d,
        "--as-of",
        &last,
        "--since",
        &plan_day,
        "--target",
        "Aug26SU",
        "--expected",
        s,
        "--out",
        e.to_str().unwrap(),
    ]);
    // Hosts failed: exit 1.
    assert_eq!(code, Some(1), "{out}{err}");
    eprintln!("{out}");
    assert!(out.contains("done 3, failed 3, not started 6"), "{out}");
    assert!(out.contains("FAILED EXSEA04"), "{out}");
    let csv = std::fs::read_to_string(e.join("verify.csv")).unwrap();
    assert!(
        csv.lines()
            .any(|l| l.starts_with("EXPAR03,Paris,failed") && l.contains("setup.unknown-error")),
        "{csv}"
    );

    let report = tmp.path().join("report");
    let (code, out, err) = analyzer(&[
        "analyze",
        "--dataset",
        d,
        "--as-of",
        &plan_day,
        "--target",
        "latest",
        "--expected",
        s,
        "--out",
        report.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("Not collected: 2 servers that should report"),
        "{out}"
    );
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(
        html.contains("<section id=\"rollout\">"),
        "no rollout section"
    );
    assert!(
        html.contains("<section id=\"not-collected\">"),
        "no not-collected section"
    );

    let (code, _, err) = analyzer(&["plan", "--dataset", d, "--target", "CU15 Agu26SU"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("\"Agu26SU\" is neither a CU nor an update name"),
        "{err}"
    );
    eprintln!("{out}");
}

/// The AD line from real setup logs (CSS-Exchange's, tests/fixtures): a 2019 CU8 run that
/// logged the schema, organization and domain updates required and stopped, and one that
/// logged none required.
#[test]
fn real_setup_logs_record_the_ad_preparation_they_saw() {
    use exfleet_analyzer::rollout::ad;
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/css-exchange-setup-logs");
    let catalog = Catalog::embedded();
    let table = ad::Table::embedded();
    let recorded = |log: &str| {
        let tmp = tempfile::tempdir().unwrap();
        let logs = tmp.path().join("triage/ExchangeSetupLogs");
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::copy(root.join(log), logs.join("ExchangeSetup.log")).unwrap();
        let s = exfleet_tests::at_sim_time(
            exfleet_collector::collect(
                &exfleet_collector::ServerFiles::new(tmp.path().join("triage")),
                Default::default(),
            )
            .unwrap(),
        );
        let snaps = tmp.path().join("snaps");
        std::fs::create_dir_all(&snaps).unwrap();
        exfleet_collector::output::write(&s, &snaps.join("host.json")).unwrap();
        let (history, _) = History::from_snapshots(&snaps).unwrap();
        let a = exfleet_analyzer::analyze(&history, &catalog, date(rollout::DAYS - 1)).unwrap();
        ad::recorded(&a.hosts, &catalog, &table)
    };
    let release = |b: &str| {
        catalog
            .exact(&exfleet_analyzer::catalog::Build::parse(b).unwrap())
            .unwrap()
    };
    let cu8 = release("15.2.792.3");
    let cu15 = release("15.2.1748.49");

    let needed = recorded("PrerequisiteCheck/ExchangeSetup_SchemaAdmin_PrepareSchema.log");
    let l = ad::line(Some(cu8), needed.clone(), &table);
    assert_eq!(l.status, "needs /PrepareSchema", "{}", l.text);
    assert!(
        l.text.contains("Schema Update Required Status : 'True'"),
        "{}",
        l.text
    );

    let prepared = recorded("PrerequisiteCheck/ExchangeSetup_ADUpdated_NoOrgMan.log");
    let l = ad::line(Some(cu8), prepared.clone(), &table);
    assert_eq!(l.status, "prepared", "{}", l.text);
    assert!(l.text.contains("ExchangeSetup.log:"), "{}", l.text);
    // CU15 needs schema 17003; CU8 prepared 17002.
    let l = ad::line(Some(cu15), prepared, &table);
    assert_eq!(l.status, "needs /PrepareSchema", "{}", l.text);
    assert!(l.text.contains("schema 17002"), "{}", l.text);
    // Nothing recorded: unknown, never a guess.
    assert_eq!(ad::line(Some(cu15), Vec::new(), &table).status, "unknown");
}
