//! The simulated fleet: reproducible from its seed, every fault planted, and read back by the
//! real collector into exactly the facts that were written.

use std::collections::BTreeMap;
use std::path::Path;

use exfleet_collector::labels::LabelsFile;
use exfleet_collector::{collect, ServerFiles};
use exfleet_proto::v1::setup_run::Outcome;
use exfleet_tests::fleet::builds::text;
use exfleet_tests::fleet::{self, render, ArtifactSizes, Fault, FleetConfig};

fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn same_seed_same_bytes_other_seed_other_fleet() {
    let cfg = FleetConfig {
        seed: 42,
        servers: 12,
        ..Default::default()
    };
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    exfleet_tests::write_fleet(&cfg, a.path()).unwrap();
    exfleet_tests::write_fleet(&cfg, b.path()).unwrap();
    exfleet_tests::write_fleet(&FleetConfig { seed: 43, ..cfg }, c.path()).unwrap();
    let (ta, tb, tc) = (tree(a.path()), tree(b.path()), tree(c.path()));
    assert!(ta.len() > 12 * 5);
    assert_eq!(
        ta, tb,
        "the same seed must give the same files, byte for byte"
    );
    assert_ne!(ta, tc);
}

#[test]
fn every_fault_is_planted_and_in_the_ground_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let truth = exfleet_tests::write_fleet(&FleetConfig::default(), tmp.path()).unwrap();
    for f in Fault::ALL {
        let hosts: Vec<_> = truth
            .hosts
            .iter()
            .filter(|h| h.faults.contains(&f))
            .collect();
        assert!(!hosts.is_empty(), "{f:?} planted nowhere");
        for h in hosts {
            assert!(
                h.expected.iter().any(|e| e.id == f.finding_id()),
                "{} lacks {}",
                h.name,
                f.finding_id()
            );
        }
    }
    // The indicators of compromise, each on hosts of its own; the CVE-2021-26855 one on two.
    for f in Fault::IOC {
        assert!(
            truth.hosts.iter().any(|h| h.faults.contains(&f)),
            "{f:?} planted nowhere"
        );
    }
    assert!(truth
        .fleet
        .iter()
        .any(|e| e.id == "ioc.shared-source" && e.hosts.len() == 2));
    // Shared wrong-CU SUs add up to a fleet pattern; mixed builds in a DAG to drift.
    assert!(truth
        .fleet
        .iter()
        .any(|e| e.id == "fleet.mismatch-pattern" && e.hosts.len() >= 2));
    assert!(truth.fleet.iter().any(|e| e.id == "fleet.build-drift"));
    // The Exchange 2010 pair: a Japanese locale, and rollups in the wrong order.
    assert!(truth
        .hosts
        .iter()
        .any(|h| h.expected.iter().any(|e| e.id == "os.dbcs-locale")));
    assert!(truth
        .fleet
        .iter()
        .any(|e| e.id == "topology.cas-proxy-order" && e.hosts.len() == 2));
    // Products, CUs, sites and DAGs are mixed.
    let lines: std::collections::BTreeSet<_> =
        truth.hosts.iter().map(|h| h.line.as_str()).collect();
    let sites: std::collections::BTreeSet<_> =
        truth.hosts.iter().map(|h| h.site.as_str()).collect();
    assert!(lines.len() >= 3 && sites.len() >= 3, "{lines:?} {sites:?}");
}

#[test]
fn the_collector_reads_back_what_the_simulator_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = FleetConfig::default();
    exfleet_tests::write_fleet(&cfg, tmp.path()).unwrap();
    let specs = fleet::generate(&cfg);
    for h in &specs {
        let dir = tmp.path().join("hosts").join(&h.name);
        let labels = LabelsFile::load(&tmp.path().join("labels").join(format!("{}.toml", h.name)))
            .unwrap()
            .into_labels(None, None, None);
        let s = collect(&ServerFiles::new(&dir), labels).unwrap();
        let ctx = &h.name;
        assert!(s.errors.is_empty(), "{ctx}: {:?}", s.errors);
        let id = s.host.as_ref().unwrap();
        assert_eq!(id.computer_name, h.name);
        assert_eq!(id.dns_domain, h.domain);
        assert_eq!(id.ad_site, h.site);
        assert_eq!(
            s.labels.as_ref().unwrap().dag,
            h.dag.clone().unwrap_or_default()
        );
        let ex = s.exchange.as_ref().unwrap();
        assert_eq!(ex.install_path, h.install_path(), "{ctx}");
        assert_eq!(ex.msi_version, text(h.line.base), "{ctx}");
        let exsetup = s.exsetup.as_ref().unwrap();
        assert_eq!(exsetup.fixed_version, text(h.exsetup_build), "{ctx}");
        let b = h.exsetup_build;
        assert_eq!(
            exsetup.string_version,
            format!("{}.{:02}.{:04}.{:03}", b[0], b[1], b[2], b[3])
        );
        let p = s.platform.as_ref().unwrap();
        assert_eq!(p.dotnet_release, h.dotnet_release);
        assert_eq!(p.os_current_build, h.os.build);
        assert_eq!(p.os_ubr, h.os.ubr);
        assert_eq!(
            p.pending_reboot
                .iter()
                .any(|r| r.indicator == "PendingFileRenameOperations"),
            h.has(Fault::PendingReboot),
            "{ctx}"
        );
        let disabled: Vec<_> = s
            .services
            .iter()
            .filter(|x| x.start == 4)
            .map(|x| x.name.as_str())
            .collect();
        let mut expect_disabled = if h.has(Fault::ServicesDisabled) {
            render::disabled_by_fault()
        } else {
            vec![]
        };
        // Subkeys come back in registry order: sorted without regard to case.
        expect_disabled.sort_by_key(|n| n.to_ascii_uppercase());
        assert_eq!(disabled, expect_disabled, "{ctx}");
        // Exchange's services, and Microsoft Defender's (the settings the simulator writes).
        assert_eq!(s.services.len(), render::services(h).len() + 1, "{ctx}");
        assert!(s.services.iter().any(|x| x.name == "WinDefend"), "{ctx}");
        assert_eq!(ex.setup_key, h.setup_key(), "{ctx}");
        assert_eq!(p.ansi_code_page, h.code_page, "{ctx}");
        let kbs: Vec<_> = s.installed_updates.iter().map(|u| u.kb.as_str()).collect();
        let watermark = s
            .watermarks
            .iter()
            .any(|w| !w.watermark.is_empty() && w.action == "Install");
        assert_eq!(watermark, h.has(Fault::SetupInterrupted), "{ctx}");
        let runs = render::runs(h);
        assert_eq!(s.setup_runs.len(), runs.len(), "{ctx}");
        let last = s.setup_runs.last().unwrap();
        let want = if h.has(Fault::SetupInterrupted) {
            Outcome::CutOff
        } else if h.has(Fault::InstallFromBin)
            || h.has(Fault::SetupUnknownError)
            || h.has(Fault::DotnetUpgradeOrder)
        {
            Outcome::Failed
        } else {
            Outcome::Succeeded
        };
        assert_eq!(last.outcome, want as i32, "{ctx}");
        assert_eq!(last.setup_version, runs.last().unwrap().setup_version);
        // The event logs' update runs, starts and failures, typed.
        let su_ms = s
            .events
            .iter()
            .filter(|e| e.kind == "update_installed" && e.provider == "MsiInstaller")
            .map(|e| e.time_ms)
            .max();
        assert_eq!(su_ms.is_some(), h.update.is_some(), "{ctx}");
        if let Some(su) = su_ms {
            let booted = s.events.iter().any(|e| e.kind == "boot" && e.time_ms > su);
            assert_eq!(booted, !h.has(Fault::NotRebooted), "{ctx}");
            assert!(s
                .events
                .iter()
                .any(|e| e.event_id == 1036 && e.result_code == Some(3010)));
        }
        let transport = s
            .events
            .iter()
            .filter(|e| e.kind == "service_crashed" && e.subject == "MSExchangeTransport")
            .count();
        assert_eq!(
            transport > 0,
            h.has(Fault::ServiceCrashAfterUpdate),
            "{ctx}"
        );
        let failed: Vec<_> = s
            .events
            .iter()
            .filter(|e| e.kind == "update_failed")
            .map(|e| (e.event_id, e.result_code, e.kb.as_str()))
            .collect();
        if h.has(Fault::SuFailedNoLog) {
            let kb = h.line.updates[h.line.latest()].2;
            assert_eq!(failed, [(1024, Some(1603), kb)], "{ctx}");
        } else {
            assert!(failed.is_empty(), "{ctx}: {failed:?}");
        }
        let sites: Vec<_> = s.iis_sites.iter().map(|x| x.name.as_str()).collect();
        if h.line.is_2010() {
            // One web site, no back end on 444; the rollup is known by ExSetup.exe alone.
            assert_eq!(sites, ["Default Web Site"], "{ctx}");
            assert!(s.ssl_bindings.iter().all(|x| x.endpoint != "0.0.0.0:444"));
            assert!(kbs.is_empty(), "{ctx}: {kbs:?}");
            continue;
        }
        assert_eq!(sites, ["Default Web Site", "Exchange Back End"]);
        // The back-end binding's certificate is in the store unless it was planted missing.
        let certs = render::certs(h, cfg.seed);
        let back = s
            .ssl_bindings
            .iter()
            .find(|x| x.endpoint == "0.0.0.0:444")
            .unwrap();
        assert_eq!(back.cert_thumbprint, certs.back.thumbprint);
        assert_eq!(
            s.certificates
                .iter()
                .any(|c| c.thumbprint == back.cert_thumbprint),
            !h.has(Fault::BackendCertMissing),
            "{ctx}"
        );
        if h.has(Fault::BackendCertExpired) {
            let c = s
                .certificates
                .iter()
                .find(|c| c.thumbprint == back.cert_thumbprint)
                .unwrap();
            assert_eq!(c.not_after_ms, 1_780_272_000_000, "2026-06-01");
        }
        if let Some(i) = h.update {
            assert!(kbs.contains(&h.line.updates[i].2), "{ctx}: {kbs:?}");
        }
        assert_eq!(
            kbs.contains(&"KB5121575"),
            h.has(Fault::SuWrongCu),
            "{ctx}: {kbs:?}"
        );
    }
}

/// A snapshot with its locators taken out: what padding may move (line numbers of the setup
/// log, record ids of the event logs) and what differs between any two collections.
fn without_locators(mut s: exfleet_proto::v1::Snapshot) -> exfleet_proto::v1::Snapshot {
    s.snapshot_id.clear();
    s.collected_at_ms = 0;
    if let Some(src) = s.source.as_mut() {
        src.root.clear();
    }
    for run in &mut s.setup_runs {
        (run.start_line, run.end_line, run.line_count) = (0, 0, 0);
        run.provenance = None;
        for l in run.lines.iter_mut().chain(run.errors.iter_mut()) {
            l.line = 0;
            // Context lines are "<line number>: <text>".
            for c in &mut l.context {
                *c = c
                    .split_once(": ")
                    .map(|(_, t)| t.to_string())
                    .unwrap_or_default();
            }
        }
    }
    for e in &mut s.events {
        e.record_id = 0;
        e.provenance = None;
    }
    // The indicator scan of the Application log: its record ids, size and time span move with
    // the filler too.
    for m in s.ioc_matches.iter_mut().filter(|m| m.line == 0) {
        m.provenance = None;
    }
    for c in s
        .ioc_scans
        .iter_mut()
        .filter(|c| c.indicator == "cve_2021_26857")
    {
        (c.bytes, c.oldest_ms, c.newest_ms) = (0, 0, 0);
    }
    s
}

#[test]
fn a_host_padded_to_real_size_gives_the_same_evidence() {
    let cfg = FleetConfig::default();
    let specs = fleet::generate(&cfg);
    // Small targets (a few MB), enough for thousands of filler keys, records and lines.
    let sizes = ArtifactSizes {
        software_hive: 3 << 20,
        application_evtx: 2 << 20,
        system_evtx: 2 << 20,
        setup_log: 1 << 20,
    };
    // Hosts whose evidence padding could disturb most: events of interest in both logs, a
    // failed run with its error's context and task, a run cut off.
    for fault in [
        Fault::OwaAssemblyLoad,
        Fault::BackendCertMissing,
        Fault::SetupUnknownError,
        Fault::SetupInterrupted,
    ] {
        let h = specs.iter().find(|h| h.has(fault)).unwrap();
        let ctx = format!("{} ({fault:?})", h.name);
        let tmp = tempfile::tempdir().unwrap();
        let (plain, padded) = (tmp.path().join("plain"), tmp.path().join("padded"));
        render::write(h, cfg.seed, &plain).unwrap();
        // No sizes, or targets below the simulated sizes: the default bytes.
        let same = tmp.path().join("same");
        render::write_sized(h, cfg.seed, &ArtifactSizes::DEFAULT, &same).unwrap();
        assert_eq!(tree(&plain), tree(&same), "{ctx}");
        let tiny = ArtifactSizes {
            software_hive: 1,
            application_evtx: 1,
            system_evtx: 1,
            setup_log: 1,
        };
        render::write_sized(h, cfg.seed, &tiny, &same).unwrap();
        assert_eq!(tree(&plain), tree(&same), "{ctx}");
        render::write_sized(h, cfg.seed, &sizes, &padded).unwrap();
        let t = render::triage_of(h, cfg.seed);
        for (path, target, slack) in [
            (
                r"C:\Windows\System32\config\SOFTWARE",
                sizes.software_hive,
                sizes.software_hive / 50,
            ),
            (
                r"C:\Windows\System32\winevt\Logs\Application.evtx",
                sizes.application_evtx,
                65536,
            ),
            (
                r"C:\Windows\System32\winevt\Logs\System.evtx",
                sizes.system_evtx,
                65536,
            ),
            (
                r"C:\ExchangeSetupLogs\ExchangeSetup.log",
                sizes.setup_log,
                16 << 10,
            ),
        ] {
            let small = std::fs::metadata(t.host_path(&plain, path)).unwrap().len();
            let len = std::fs::metadata(t.host_path(&padded, path)).unwrap().len();
            assert!(
                len >= target && len <= target + slack && small < target / 10,
                "{ctx}: {path} is {len} bytes for a target of {target} (unpadded {small})"
            );
        }
        let a = collect(&ServerFiles::new(&plain), Default::default()).unwrap();
        let b = collect(&ServerFiles::new(&padded), Default::default()).unwrap();
        assert!(a.errors.is_empty(), "{ctx}: {:?}", a.errors);
        assert!(b.errors.is_empty(), "{ctx}: {:?}", b.errors);
        // The filler sits among the host's own events, before some of them.
        assert!(!b.events.is_empty(), "{ctx}");
        assert!(
            a.events
                .iter()
                .zip(&b.events)
                .any(|(x, y)| y.record_id > x.record_id + 1000),
            "{ctx}: no filler before the host's events"
        );
        let (a, b) = (without_locators(a), without_locators(b));
        // Piece by piece first, for a readable failure.
        assert_eq!(a.host, b.host, "{ctx}");
        assert_eq!(a.exchange, b.exchange, "{ctx}");
        assert_eq!(a.exsetup, b.exsetup, "{ctx}");
        assert_eq!(a.platform, b.platform, "{ctx}");
        assert_eq!(a.installed_updates, b.installed_updates, "{ctx}");
        assert_eq!(a.watermarks, b.watermarks, "{ctx}");
        assert_eq!(a.services, b.services, "{ctx}");
        assert_eq!(a.ssl_bindings, b.ssl_bindings, "{ctx}");
        assert_eq!(a.certificates, b.certificates, "{ctx}");
        assert_eq!(a.setup_runs, b.setup_runs, "{ctx}");
        assert_eq!(a.events, b.events, "{ctx}");
        assert_eq!(a, b, "{ctx}");
    }
}
