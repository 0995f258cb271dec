//! The ground-truth test: a simulated fleet with every fault → collectors pushing over mutual
//! TLS → the aggregator's store and Parquet dataset → the analyzer. Every expected finding of
//! an implemented id is reported on every host (citing the evidence the simulator planted),
//! and no unexpected one; likewise the fleet findings. In the plan to the newest builds, each
//! host that needs an update is blocked on exactly its planted faults that are blockers.

use std::collections::BTreeSet;

use exfleet_aggregator::certs;
use exfleet_aggregator::server::{DatasetOptions, Loopback, ServeOptions, TlsPem};
use exfleet_aggregator::store::Store;
use exfleet_analyzer::catalog::Catalog;
use exfleet_analyzer::input::History;
use exfleet_analyzer::rollout::blockers::{mapping, When};
use exfleet_analyzer::rollout::plan::Status;
use exfleet_analyzer::rules::registry::implemented;
use exfleet_collector::client::{self, ClientTls};
use exfleet_tests::fleet::FleetConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_planted_fault_is_found_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let fleet_dir = tmp.path().join("fleet");
    let cfg = FleetConfig {
        seed: 17,
        servers: exfleet_tests::fleet::EXCHANGE_2010_FROM,
        fault_rate: 0.5,
    };
    let (truth, snapshots) = exfleet_tests::collected_fleet(&cfg, &fleet_dir).unwrap();

    let ca = certs::make_ca("gt CA").unwrap();
    let sc = certs::make_server(&ca, &["localhost".into()]).unwrap();
    let data = tmp.path().join("data");
    let store = Store::open(&data).unwrap();
    let opts = ServeOptions {
        dataset: Some(DatasetOptions {
            dir: data.join("dataset"),
            flush_interval: std::time::Duration::from_secs(1),
        }),
        ..Default::default()
    };
    let tls = TlsPem {
        cert: sc.cert,
        key: sc.key,
        client_ca: ca.cert.clone(),
    };
    let aggregator = Loopback::start(store, tls, opts).await.unwrap();
    let url = aggregator.url.clone();
    for (h, s) in truth.hosts.iter().zip(snapshots) {
        let c = certs::make_collector(&ca, &h.name).unwrap();
        let ctls = ClientTls {
            ca: ca.cert.clone(),
            cert: c.cert,
            key: c.key,
        };
        client::upload_with_retry(&url, &ctls, vec![s], 3)
            .await
            .unwrap();
    }
    aggregator.stop().await.unwrap();

    let history = History::open(&data.join("dataset")).unwrap();
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let catalog = Catalog::embedded();
    let analysis = exfleet_analyzer::analyze(&history, &catalog, as_of).unwrap();
    let findings = analysis.findings.clone();
    let ids: BTreeSet<&str> = implemented().into_iter().map(|(id, _)| id).collect();
    // The fleet holds servers exposed to a CVE and servers patched against all of them.
    let exposed = truth
        .hosts
        .iter()
        .filter(|h| h.expected.iter().any(|e| e.id == "security.cve-open"))
        .count();
    assert!(
        exposed > 0 && exposed < truth.hosts.len(),
        "{exposed} exposed"
    );

    // Every indicator of compromise is planted, and its fleet roll-ups are in the truth.
    for id in [
        "ioc.cve-2021-26855",
        "ioc.cve-2021-26857",
        "ioc.cve-2021-26858",
        "ioc.cve-2021-27065",
        "ioc.cve-2022-41040",
        "ioc.lsass-dump",
        "ioc.suspicious-archive",
    ] {
        assert!(
            truth
                .hosts
                .iter()
                .any(|h| h.expected.iter().any(|e| e.id == id)),
            "{id} planted nowhere"
        );
    }
    for id in ["ioc.shared-source", "ioc.aspx-outlier"] {
        assert!(
            truth.fleet.iter().any(|e| e.id == id),
            "{id} not in the truth"
        );
    }

    let expected: BTreeSet<(String, String)> = truth
        .hosts
        .iter()
        .flat_map(|h| {
            h.expected
                .iter()
                .map(move |e| (h.name.clone(), e.id.clone()))
        })
        .filter(|(_, id)| ids.contains(id.as_str()))
        .collect();
    let got: BTreeSet<(String, String)> = findings
        .iter()
        .filter(|f| f.host != "fleet")
        .map(|f| (f.host.clone(), f.id.clone()))
        .collect();
    let missing: Vec<_> = expected.difference(&got).collect();
    let unexpected: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "missing {missing:#?}\nunexpected {unexpected:#?}"
    );

    for h in &truth.hosts {
        for e in h.expected.iter().filter(|e| ids.contains(e.id.as_str())) {
            let f = findings
                .iter()
                .find(|f| f.host == h.name && f.id == e.id)
                .unwrap();
            let text = format!(
                "{} {}",
                f.title,
                serde_json::to_string(&f.evidence).unwrap()
            )
            .replace("\\\\", "\\");
            for s in &e.evidence {
                assert!(
                    text.contains(s.as_str()),
                    "{} {}: evidence lacks {s:?}: {text}",
                    h.name,
                    e.id
                );
            }
        }
    }

    let fleet_expected: BTreeSet<(String, String, Vec<String>)> = truth
        .fleet
        .iter()
        .map(|e| {
            let mut hosts = e.hosts.clone();
            hosts.sort();
            (e.id.clone(), e.group.clone().unwrap_or_default(), hosts)
        })
        .collect();
    let fleet_got: BTreeSet<(String, String, Vec<String>)> = findings
        .iter()
        .filter(|f| f.host == "fleet")
        .map(|f| (f.id.clone(), f.group.clone(), f.hosts.clone()))
        .collect();
    assert_eq!(fleet_got, fleet_expected);
    // The web shells' finding cites each planted file by the label every server shares (the
    // .aspx below a site root moved to D:, the handler in owa\auth).
    let mut shells_checked = 0;
    for e in truth.fleet.iter().filter(|e| e.id == "ioc.aspx-outlier") {
        shells_checked += 1;
        let group = e.group.clone().unwrap_or_default();
        let f = findings
            .iter()
            .find(|f| f.host == "fleet" && f.id == e.id && f.group == group)
            .unwrap();
        let text = serde_json::to_string(&f.evidence)
            .unwrap()
            .replace("\\\\", "\\");
        for s in &e.evidence {
            assert!(
                text.contains(s.as_str()),
                "{group}: evidence lacks {s:?}: {text}"
            );
        }
    }
    assert!(
        shells_checked >= 1,
        "the simulated fleet plants no web shell on a compared host: the evidence is not checked"
    );
    let planted: usize = truth.hosts.iter().map(|h| h.faults.len()).sum();
    eprintln!(
        "{} hosts, {planted} faults planted, {} findings, all as expected",
        truth.hosts.len(),
        findings.len()
    );

    // The plan to the newest builds: each host's blockers taken from findings are exactly the
    // planted faults (host and fleet) whose ids the blocker table maps, for its kind of update.
    let spec = exfleet_analyzer::rollout::target::parse("latest", &catalog).unwrap();
    let plan = exfleet_analyzer::rollout::plan(&analysis, &catalog, &spec, None);
    let mut planned = 0;
    for p in plan
        .hosts
        .iter()
        .filter(|p| matches!(p.status, Status::Scheduled | Status::Blocked))
    {
        let Some(h) = truth.hosts.iter().find(|h| h.name == p.host) else {
            continue;
        };
        let want: BTreeSet<String> = h
            .expected
            .iter()
            .map(|e| e.id.clone())
            .chain(
                truth
                    .fleet
                    .iter()
                    .filter(|e| e.hosts.contains(&h.name))
                    .map(|e| e.id.clone()),
            )
            .filter(|id| mapping(id).is_some_and(|m| m.when == When::Always || p.cu_upgrade))
            .collect();
        let got: BTreeSet<String> = p
            .blockers
            .iter()
            .chain(&p.prepare)
            .filter(|b| !b.against_target)
            .map(|b| b.id.clone())
            .collect();
        assert_eq!(got, want, "{}", p.host);
        planned += 1;
    }
    // Most of this fleet already runs the newest builds (the rollout simulator,
    // analyzer/tests/rollout.rs, plants blockers on hosts that need the update); the hosts
    // that need one are checked here.
    assert!(planned > 0, "no host needs an update");
}
