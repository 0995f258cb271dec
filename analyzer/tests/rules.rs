//! Every rule through the real pipeline (simulated triage dir → collector → analyzer): a case
//! that fires, snapshotted, and a near-miss that must not.

use std::path::Path;

use chrono::NaiveDate;
use exfleet_analyzer::catalog::Catalog;
use exfleet_analyzer::finding::Finding;
use exfleet_analyzer::input::History;
use exfleet_collector::labels::LabelsFile;
use exfleet_collector::{collect, ServerFiles};
use exfleet_tests::fleet::{self, builds, Fault, FleetConfig, HostSpec};

/// A healthy Exchange SE host on the newest SU, in DAG01.
fn healthy(name: &str) -> HostSpec {
    let mut h = fleet::generate(&FleetConfig {
        seed: 1,
        servers: 1,
        fault_rate: 0.0,
    })
    .remove(0);
    h.name = name.to_string();
    h.faults.clear();
    h.line = &builds::SE_RTM;
    h.update = Some(builds::SE_RTM.latest());
    h.exsetup_build = builds::SE_RTM.build(h.update);
    h.dag = Some("DAG01".into());
    h.dotnet_release = 533320;
    h
}

fn with(mut h: HostSpec, f: impl FnOnce(&mut HostSpec)) -> HostSpec {
    f(&mut h);
    h
}

/// Runs hosts through collector and analyzer; returns the findings.
fn pipeline(hosts: &[HostSpec], as_of: NaiveDate) -> Vec<Finding> {
    let tmp = tempfile::tempdir().unwrap();
    let snaps = tmp.path().join("snapshots");
    std::fs::create_dir_all(&snaps).unwrap();
    for h in hosts {
        let dir = tmp.path().join("hosts").join(&h.name);
        fleet::render::write(h, 1, &dir).unwrap();
        let labels =
            LabelsFile::default().into_labels(h.dag.clone(), Some(h.role_group.clone()), None);
        let s = exfleet_tests::at_sim_time(collect(&ServerFiles::new(&dir), labels).unwrap());
        exfleet_collector::output::write(&s, &snaps.join(format!("{}.json", h.name))).unwrap();
    }
    analyze(&snaps, as_of)
}

fn analyze(snaps: &Path, as_of: NaiveDate) -> Vec<Finding> {
    let (history, skipped) = History::from_snapshots(snaps).unwrap();
    assert!(skipped.is_empty());
    exfleet_analyzer::analyze(&history, &Catalog::embedded(), as_of)
        .unwrap()
        .findings
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn of<'a>(fs: &'a [Finding], id: &str) -> Vec<&'a Finding> {
    fs.iter().filter(|f| f.id == id).collect()
}

/// Asserts `id` fires in `fires` (and snapshots it) and not in `near_miss`.
fn case(id: &str, fires: &[HostSpec], near_miss: &[HostSpec], as_of: NaiveDate) {
    let got = pipeline(fires, as_of);
    let hits = of(&got, id);
    assert!(
        !hits.is_empty(),
        "{id} did not fire: {:#?}",
        got.iter().map(|f| &f.id).collect::<Vec<_>>()
    );
    for f in &hits {
        assert!(!f.evidence.is_empty(), "{id}: a finding without evidence");
        assert!(!f.action.is_empty(), "{id}: a finding without an action");
    }
    insta::with_settings!({ snapshot_suffix => id.to_string() }, {
        insta::assert_json_snapshot!(hits, { "[].snapshot_id" => "[snapshot]" });
    });
    let miss = pipeline(near_miss, as_of);
    assert!(
        of(&miss, id).is_empty(),
        "{id} fired on its near-miss: {:#?}",
        of(&miss, id)
    );
}

#[test]
fn build_unknown() {
    let fires = with(healthy("EX01"), |h| h.exsetup_build[3] = 990);
    case("build.unknown", &[fires], &[healthy("EX01")], today());
}

#[test]
fn build_cu_out_of_support() {
    let cu13 = with(healthy("EX01"), |h| {
        h.line = &builds::EX2019_CU13;
        h.update = Some(builds::EX2019_CU13.latest());
        h.exsetup_build = builds::EX2019_CU13.build(h.update);
    });
    // CU14, the oldest CU still updated, is the near-miss.
    let cu14 = with(healthy("EX01"), |h| {
        h.line = &builds::EX2019_CU14;
        h.update = Some(builds::EX2019_CU14.latest());
        h.exsetup_build = builds::EX2019_CU14.build(h.update);
    });
    case("build.cu-out-of-support", &[cu13], &[cu14], today());
}

#[test]
fn build_product_eol() {
    let ex2019 = with(healthy("EX01"), |h| {
        h.line = &builds::EX2019_CU15;
        h.update = Some(builds::EX2019_CU15.latest());
        h.exsetup_build = builds::EX2019_CU15.build(h.update);
    });
    case(
        "build.product-eol",
        std::slice::from_ref(&ex2019),
        &[healthy("EX01")],
        today(),
    );
    // The same 2019 server, judged the day before its end of support.
    let before = NaiveDate::from_ymd_opt(2025, 10, 13).unwrap();
    assert!(of(&pipeline(&[ex2019], before), "build.product-eol").is_empty());
}

#[test]
fn build_su_behind() {
    let behind = with(healthy("EX01"), |h| {
        h.update = Some(builds::SE_RTM.latest() - 1);
        h.exsetup_build = builds::SE_RTM.build(h.update);
    });
    case(
        "build.su-behind",
        std::slice::from_ref(&behind),
        &[healthy("EX01")],
        today(),
    );
    // Jul26SU was the newest before Aug26SU came out on 2026-08-11.
    let then = NaiveDate::from_ymd_opt(2026, 8, 10).unwrap();
    assert!(of(&pipeline(&[behind], then), "build.su-behind").is_empty());
}

#[test]
fn build_file_registry_mismatch() {
    let rolled_back = with(healthy("EX01"), |h| {
        h.faults.push(Fault::FileRegistryMismatch)
    })
    .pipe_line_cu15();
    // The file on a newer SU of the registry's CU is normal: Msi* record the CU only.
    let same_cu = with(healthy("EX01"), |_| {}).pipe_line_cu15();
    case(
        "build.file-registry-mismatch",
        &[rolled_back],
        &[same_cu],
        today(),
    );
}

#[test]
fn build_su_wrong_cu() {
    let wrong = with(healthy("EX01"), |h| h.faults.push(Fault::SuWrongCu)).pipe_line_cu15();
    case(
        "build.su-wrong-cu",
        &[wrong],
        &[healthy("EX01").pipe_line_cu15()],
        today(),
    );
}

/// `healthy` moved to another line and update.
fn on(name: &str, line: &'static builds::Line, update: Option<usize>) -> HostSpec {
    with(healthy(name), |h| {
        h.line = line;
        h.update = update;
        h.exsetup_build = line.build(update);
    })
}

fn update_named(line: &builds::Line, name: &str) -> Option<usize> {
    line.updates.iter().position(|u| u.0 == name)
}

#[test]
fn security_cve_open() {
    let line = &builds::EX2019_CU15;
    // Dec25SU: below Feb26SU, which fixes CVE-2026-21527; Feb26SU itself is the near miss.
    let dec25 = on("EXD01", line, update_named(line, "Dec25SU"));
    let feb26 = on("EXF01", line, update_named(line, "Feb26SU"));
    case(
        "security.cve-open",
        std::slice::from_ref(&dec25),
        &[feb26],
        today(),
    );
    let f = pipeline(&[dec25], today());
    let open = of(&f, "security.cve-open");
    let text = serde_json::to_string(&open[0].evidence).unwrap();
    assert!(
        text.contains("Feb26SU fixes CVE-2026-21527: install Aug26SU for CU15 (15.2.1748.49, 2026-08-11), which carries Feb26SU"),
        "{text}"
    );
    // Exchange 2019 CU13 never got Feb26SU: the finding names the CUs that did.
    let cu13 = on(
        "EXC01",
        &builds::EX2019_CU13,
        Some(builds::EX2019_CU13.latest()),
    );
    let f = pipeline(&[cu13], today());
    let text = serde_json::to_string(&of(&f, "security.cve-open")[0].evidence).unwrap();
    assert!(
        text.contains("CU13 never got Feb26SU: move to a supported CU of Exchange 2019 (CU14, CU15) and its newest SU"),
        "{text}"
    );
}

#[test]
fn security_cve_unverified() {
    // The .NET files of CVE-2020-1147 are not in the evidence: it waits on them on every
    // Exchange 2013 or later server (Extended Protection, once waiting too, is now judged
    // from applicationHost.config: properly configured on this host, its CVEs are closed);
    // Exchange 2010 is not in the CVE table.
    let ex2010 = on(
        "EXO01",
        &builds::EX2010_SP3,
        Some(builds::EX2010_SP3.latest()),
    );
    case(
        "security.cve-unverified",
        &[healthy("EXU01")],
        &[ex2010],
        today(),
    );
}

#[test]
fn security_march_2021_su_unsupported_cu() {
    let line = &builds::EX2016_CU17;
    // KB5000871 on the CU's base build fires; the same build without it does not.
    case(
        "security.march-2021-su-unsupported-cu",
        &[on("EXM01", line, Some(0))],
        &[on("EXN01", line, None)],
        today(),
    );
}

/// `healthy` with one fault planted.
fn faulty(name: &str, fault: Fault) -> HostSpec {
    with(healthy(name), |h| h.faults.push(fault))
}

#[test]
fn settings_rules_fire_on_their_fault_and_not_on_a_healthy_server() {
    for (id, fault) in [
        ("tls.misconfigured", Fault::TlsMisconfigured),
        ("tls.legacy-enabled", Fault::TlsLegacyEnabled),
        ("tls.values-missing", Fault::TlsValuesMissing),
        ("services.maintenance-mode", Fault::MaintenanceMode),
        ("os.defender-exclusions", Fault::DefenderExclusionsMissing),
        ("iis.web-config-missing", Fault::WebConfigMissing),
    ] {
        case(id, &[faulty("EXS01", fault)], &[healthy("EXS02")], today());
    }
}

#[test]
fn setup_success() {
    let failed_last = with(healthy("EX01"), |h| h.faults.push(Fault::SetupUnknownError));
    case("setup.success", &[healthy("EX01")], &[failed_last], today());
}

#[test]
fn setup_interrupted() {
    let cut = with(healthy("EX01"), |h| h.faults.push(Fault::SetupInterrupted));
    // A failed run that reached End of Setup is not an interruption.
    let ended = with(healthy("EX01"), |h| h.faults.push(Fault::SetupUnknownError));
    case("setup.interrupted", &[cut], &[ended], today());
}

#[test]
fn setup_install_from_bin() {
    let bin = with(healthy("EX01"), |h| h.faults.push(Fault::InstallFromBin));
    let media = with(healthy("EX01"), |h| h.faults.push(Fault::SetupUnknownError));
    case("setup.install-from-bin", &[bin], &[media], today());
}

#[test]
fn services_disabled_after_update() {
    // On an SU: ServiceControl.log disabled them, no restore ran, and the registry agrees.
    let su = with(healthy("EX01"), |h| h.faults.push(Fault::ServicesDisabled));
    // On a CU without SU (no ServiceControl.log): the start types alone.
    let cu_only = with(healthy("EX02"), |h| {
        h.faults.push(Fault::ServicesDisabled);
        h.update = None;
        h.exsetup_build = h.line.build(None);
    });
    // The near miss installed the SU and its restore step ran.
    case(
        "services.disabled-after-update",
        &[su, cu_only],
        &[healthy("EX01")],
        today(),
    );
}

#[test]
fn services_not_running() {
    let stopped = with(healthy("EX01"), |h| h.faults.push(Fault::ServicesDisabled));
    case(
        "services.not-running",
        &[stopped],
        &[healthy("EX01")],
        today(),
    );
}

#[test]
fn services_state_cache_left() {
    let left = with(healthy("EX01"), |h| h.faults.push(Fault::ServicesDisabled));
    case(
        "services.state-cache-left",
        &[left],
        &[healthy("EX01")],
        today(),
    );
}

#[test]
fn owa_assembly_load_500() {
    // The near miss logs a 1309 too, for a client that disconnected.
    let broken = with(healthy("EX01"), |h| h.faults.push(Fault::OwaAssemblyLoad));
    case(
        "owa.assembly-load-500",
        &[broken],
        &[healthy("EX01")],
        today(),
    );
}

#[test]
fn iis_vdir_path_wrong() {
    let wrong = with(healthy("EX01"), |h| h.faults.push(Fault::VdirPathWrong));
    case("iis.vdir-path-wrong", &[wrong], &[healthy("EX01")], today());
}

/// The real Exchange 2019 applicationHost.config of tests/fixtures/iis, on a host installed
/// where that file's paths say: no virtual directory is wrong.
#[test]
fn the_real_iis_layout_has_no_wrong_vdir() {
    let h = with(healthy("EX01"), |h| {
        h.install_drive = 'C';
        h.drive_folders = false;
    });
    assert_eq!(
        h.install_path(),
        r"C:\Program Files\Microsoft\Exchange Server\V15\"
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("EX01");
    fleet::render::write(&h, 1, &dir).unwrap();
    let real =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/iis/applicationHost.config");
    std::fs::copy(
        real,
        dir.join("Windows/System32/inetsrv/config/applicationHost.config"),
    )
    .unwrap();
    let s =
        exfleet_tests::at_sim_time(collect(&ServerFiles::new(&dir), Default::default()).unwrap());
    assert!(
        s.iis_sites
            .iter()
            .map(|x| x.applications.len())
            .sum::<usize>()
            > 20
    );
    let snaps = tmp.path().join("snaps");
    std::fs::create_dir_all(&snaps).unwrap();
    exfleet_collector::output::write(&s, &snaps.join("EX01.json")).unwrap();
    let got = analyze(&snaps, today());
    assert!(
        of(&got, "iis.vdir-path-wrong").is_empty(),
        "{:#?}",
        of(&got, "iis.vdir-path-wrong")
    );
}

#[test]
fn iis_shared_web_config_missing() {
    let missing = with(healthy("EX01"), |h| {
        h.faults.push(Fault::SharedWebConfigMissing)
    });
    case(
        "iis.shared-web-config-missing",
        &[missing],
        &[healthy("EX01")],
        today(),
    );
}

#[test]
fn iis_config_variable_unexpanded() {
    let unexpanded = with(healthy("EX01"), |h| {
        h.faults.push(Fault::ConfigVariableUnexpanded)
    });
    case(
        "iis.config-variable-unexpanded",
        &[unexpanded],
        &[healthy("EX01")],
        today(),
    );
}

#[test]
fn owa_missing_images() {
    let missing = with(healthy("EX01"), |h| h.faults.push(Fault::OwaMissingImages));
    case(
        "owa.missing-images",
        &[missing],
        &[healthy("EX01")],
        today(),
    );
}

#[test]
fn build_known_bad() {
    // Exchange SE RTM itself (15.2.2562.17) has the hybrid online archiving issue.
    let rtm = with(healthy("EX01"), |h| {
        h.update = None;
        h.exsetup_build = h.line.build(None);
    });
    case("build.known-bad", &[rtm], &[healthy("EX01")], today());
}

#[test]
fn build_iu_blocks_su() {
    let iu = with(healthy("EX01"), |h| h.faults.push(Fault::IuInstalled));
    case("build.iu-blocks-su", &[iu], &[healthy("EX01")], today());
}

/// An Exchange 2010 server on Windows Server 2012 R2, its ANSI code page `acp`, written with
/// the triage builder: the smallest copy that shows the rule (the simulated fleet's Exchange
/// 2010 pair carries the same faults among everything else).
fn exchange_2010(acp: &str, dir: &Path) {
    exchange_2010_on(acp, [14, 3, 513, 0], "EX2010", dir);
}

/// [`exchange_2010`] with ExSetup.exe at `build` and the computer name `name`.
fn exchange_2010_on(acp: &str, build: [u16; 4], name: &str, dir: &Path) {
    use exfleet_tests::pe::{image_with_version, VersionInfo};
    use exfleet_tests::regf::RegData;
    exfleet_tests::triage::triage()
        .system(|s| {
            s.set("Select", "Current", RegData::Dword(1));
            s.set(
                r"ControlSet001\Control\ComputerName\ComputerName",
                "ComputerName",
                RegData::Sz(name.into()),
            );
            s.set(
                r"ControlSet001\Control\Nls\CodePage",
                "ACP",
                RegData::Sz(acp.into()),
            );
        })
        .software(|s| {
            let setup = r"Microsoft\ExchangeServer\v14\Setup";
            s.set(
                setup,
                "MsiInstallPath",
                RegData::Sz(r"C:\Program Files\Microsoft\Exchange Server\V14\".into()),
            );
            for (name, v) in [
                ("MsiProductMajor", 14),
                ("MsiProductMinor", 3),
                ("MsiBuildMajor", 123),
                ("MsiBuildMinor", 4),
            ] {
                s.set(setup, name, RegData::Dword(v));
            }
            let nt = r"Microsoft\Windows NT\CurrentVersion";
            s.set(
                nt,
                "ProductName",
                RegData::Sz("Windows Server 2012 R2 Standard".into()),
            );
            s.set(nt, "CurrentBuild", RegData::Sz("9600".into()));
        })
        .file(
            r"C:\Program Files\Microsoft\Exchange Server\V14\Bin\ExSetup.exe",
            image_with_version(&VersionInfo::exchange(build)),
        )
        .build(dir)
        .unwrap();
}

#[test]
fn topology_cas_proxy_order() {
    // (name, role group, rollup build)
    let run = |fleet: &[(&str, &str, [u16; 4])]| {
        let tmp = tempfile::tempdir().unwrap();
        let snaps = tmp.path().join("snaps");
        std::fs::create_dir_all(&snaps).unwrap();
        for (name, group, build) in fleet {
            let dir = tmp.path().join(name);
            exchange_2010_on("1252", *build, name, &dir);
            let labels = LabelsFile::default().into_labels(None, Some(group.to_string()), None);
            let s = exfleet_tests::at_sim_time(collect(&ServerFiles::new(&dir), labels).unwrap());
            exfleet_collector::output::write(&s, &snaps.join(format!("{name}.json"))).unwrap();
        }
        analyze(&snaps, today())
    };
    let (ru31, ru32) = ([14, 3, 509, 0], [14, 3, 513, 0]);
    // The internal CAS got Rollup 32 while the Internet-facing one is still on 31.
    let wrong = run(&[("CASNET1", "cas-internet", ru31), ("CASINT1", "cas", ru32)]);
    let hits = of(&wrong, "topology.cas-proxy-order");
    assert_eq!(hits.len(), 1, "{wrong:#?}");
    assert_eq!(hits[0].hosts, ["CASINT1", "CASNET1"]);
    insta::with_settings!({ snapshot_suffix => "topology.cas-proxy-order" }, {
        insta::assert_json_snapshot!("case", hits);
    });
    // The right order: Internet-facing first.
    let right = run(&[("CASNET1", "cas-internet", ru32), ("CASINT1", "cas", ru31)]);
    assert!(of(&right, "topology.cas-proxy-order").is_empty());
}

#[test]
fn os_dbcs_locale() {
    let run = |acp: &str| {
        let tmp = tempfile::tempdir().unwrap();
        exchange_2010(acp, &tmp.path().join("EX2010"));
        let s = exfleet_tests::at_sim_time(
            collect(
                &ServerFiles::new(tmp.path().join("EX2010")),
                Default::default(),
            )
            .unwrap(),
        );
        let snaps = tmp.path().join("snaps");
        std::fs::create_dir_all(&snaps).unwrap();
        exfleet_collector::output::write(&s, &snaps.join("EX2010.json")).unwrap();
        analyze(&snaps, today())
    };
    let japanese = run("932");
    let hits = of(&japanese, "os.dbcs-locale");
    assert_eq!(hits.len(), 1, "{japanese:#?}");
    insta::with_settings!({ snapshot_suffix => "os.dbcs-locale" }, {
        insta::assert_json_snapshot!("case", hits, { "[].snapshot_id" => "[snapshot]" });
    });
    assert!(of(&run("1252"), "os.dbcs-locale").is_empty());
}

#[test]
fn dotnet_upgrade_order() {
    use exfleet_tests::fleet::setup_log::{self, RunEnd};
    // A 2019 CU14 server on .NET `release` whose last setup run, an upgrade to CU15, failed.
    let run = |release: u32| {
        let h = with(healthy("EX01"), |h| {
            h.line = &builds::EX2019_CU14;
            h.update = Some(builds::EX2019_CU14.latest());
            h.exsetup_build = builds::EX2019_CU14.build(h.update);
            h.dotnet_release = release;
        });
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("EX01");
        fleet::render::write(&h, 1, &dir).unwrap();
        let mut runs = fleet::render::runs(&h);
        let mut upgrade = runs[0].clone();
        upgrade.setup_version = builds::text(builds::EX2019_CU15.base);
        upgrade.previous = Some(builds::text(builds::EX2019_CU14.base));
        upgrade.start = chrono::NaiveDate::from_ymd_opt(2026, 11, 16)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        upgrade.end = RunEnd::FailedUnknown;
        runs.push(upgrade);
        let log = ServerFiles::new(&dir)
            .resolve(r"C:\ExchangeSetupLogs\ExchangeSetup.log")
            .unwrap();
        std::fs::write(log, setup_log::render(&runs, '/')).unwrap();
        let s = exfleet_tests::at_sim_time(
            collect(&ServerFiles::new(&dir), Default::default()).unwrap(),
        );
        let snaps = tmp.path().join("snaps");
        std::fs::create_dir_all(&snaps).unwrap();
        exfleet_collector::output::write(&s, &snaps.join("EX01.json")).unwrap();
        analyze(&snaps, today())
    };
    let old = run(461_808);
    let hits = of(&old, "dotnet.upgrade-order");
    assert_eq!(hits.len(), 1, "{old:#?}");
    // It explains the failed run: no setup.unknown-error beside it.
    assert!(of(&old, "setup.unknown-error").is_empty());
    insta::with_settings!({ snapshot_suffix => "dotnet.upgrade-order" }, {
        insta::assert_json_snapshot!("case", hits, { "[].snapshot_id" => "[snapshot]" });
    });
    // On .NET 4.8 the same failure is not about the order.
    let fine = run(528_040);
    assert!(of(&fine, "dotnet.upgrade-order").is_empty());
    assert_eq!(of(&fine, "setup.unknown-error").len(), 1);
}

#[test]
fn os_pending_reboot() {
    let pending = with(healthy("EX01"), |h| h.faults.push(Fault::PendingReboot));
    case("os.pending-reboot", &[pending], &[healthy("EX01")], today());
}

#[test]
fn dotnet_unsupported() {
    let old = with(healthy("EX01"), |h| {
        h.faults.push(Fault::DotnetUnsupported);
        h.dotnet_release = 461_808;
    });
    // 4.8.1 is validated for SE; on a 2019 CU13 it would not be.
    let newer = with(healthy("EX02"), |h| {
        h.line = &builds::EX2019_CU13;
        h.update = Some(builds::EX2019_CU13.latest());
        h.exsetup_build = builds::EX2019_CU13.build(h.update);
        h.dotnet_release = 533_320;
    });
    let fine = with(healthy("EX01"), |h| h.dotnet_release = 533_320);
    case("dotnet.unsupported", &[old, newer], &[fine], today());
}

#[test]
fn setup_unknown_error() {
    let unknown = with(healthy("EX01"), |h| h.faults.push(Fault::SetupUnknownError));
    // A failure another rule explains is not unknown.
    let explained = with(healthy("EX01"), |h| h.faults.push(Fault::InstallFromBin));
    case("setup.unknown-error", &[unknown], &[explained], today());
}

#[test]
fn iis_backend_binding_cert() {
    let missing = with(healthy("EX01"), |h| {
        h.faults.push(Fault::BackendCertMissing)
    });
    let expired = with(healthy("EX02"), |h| {
        h.faults.push(Fault::BackendCertExpired)
    });
    case(
        "iis.backend-binding-cert",
        &[missing, expired.clone()],
        &[healthy("EX01")],
        today(),
    );
    // Judged before it expired (2026-06-01), the certificate was fine.
    let before = NaiveDate::from_ymd_opt(2026, 5, 31).unwrap();
    assert!(of(&pipeline(&[expired], before), "iis.backend-binding-cert").is_empty());
}

/// An SU that failed according to the Application log (MsiInstaller 1024, 1603)
/// with no MSI log; the near miss is as far behind, with no failed install in its logs.
#[test]
fn setup_su_failed_no_log() {
    let failed = with(healthy("EX01"), |h| {
        h.faults.push(Fault::SuFailedNoLog);
        h.update = builds::behind_choices(h.line).last().copied();
        h.exsetup_build = h.line.build(h.update);
    });
    let behind = with(healthy("EX01"), |h| {
        h.update = builds::behind_choices(h.line).last().copied();
        h.exsetup_build = h.line.build(h.update);
    });
    case("setup.su-failed-no-log", &[failed], &[behind], today());
}

/// The SU's 1036 says 3010 and no start follows; the near miss restarted after it.
#[test]
fn os_not_rebooted_after_update() {
    let not_rebooted = with(healthy("EX01"), |h| h.faults.push(Fault::NotRebooted));
    case(
        "os.not-rebooted-after-update",
        &[not_rebooted],
        &[healthy("EX01")],
        today(),
    );
}

/// MSExchangeTransport terminates right after the SU; the near miss has only Health
/// Manager's restarts, which it had before the SU as well.
#[test]
fn services_crash_after_update() {
    let crashing = with(healthy("EX01"), |h| {
        h.faults.push(Fault::ServiceCrashAfterUpdate)
    });
    case(
        "services.crash-after-update",
        &[crashing],
        &[healthy("EX01")],
        today(),
    );
}

#[test]
fn fleet_build_drift() {
    let behind = |n: &str| {
        with(healthy(n), |h| {
            h.update = Some(builds::SE_RTM.latest() - 1);
            h.exsetup_build = builds::SE_RTM.build(h.update);
        })
    };
    let fires = [healthy("EX01"), behind("EX02")];
    // Two builds of two products in one site and role group, each alone in its DAG.
    let near = [
        healthy("EX01"),
        with(healthy("EX02"), |h| h.dag = Some("DAG02".into())).pipe_line_cu15(),
    ];
    case("fleet.build-drift", &fires, &near, today());
}

#[test]
fn fleet_mismatch_pattern() {
    let wrong = |n: &str| with(healthy(n), |h| h.faults.push(Fault::SuWrongCu)).pipe_line_cu15();
    // One host alone is not a pattern.
    case(
        "fleet.mismatch-pattern",
        &[wrong("EX01"), wrong("EX02")],
        &[wrong("EX01"), healthy("EX02")],
        today(),
    );
}

trait OnCu15 {
    fn pipe_line_cu15(self) -> Self;
}

impl OnCu15 for HostSpec {
    /// Moves a host to Exchange 2019 CU15's newest SU (keeping a planted rollback).
    fn pipe_line_cu15(mut self) -> Self {
        self.line = &builds::EX2019_CU15;
        self.update = Some(builds::EX2019_CU15.latest());
        self.exsetup_build = if self.has(Fault::FileRegistryMismatch) {
            builds::EX2019_CU14.build(Some(builds::EX2019_CU14.latest()))
        } else {
            builds::EX2019_CU15.build(self.update)
        };
        self
    }
}

fn evidence_text(f: &Finding) -> String {
    serde_json::to_string(&f.evidence).unwrap()
}

#[test]
fn iis_ep_not_secured() {
    // Autodiscover set above what it supports is still secure: the near miss.
    case(
        "iis.ep-not-secured",
        &[faulty("EX01", Fault::EpNotSecured)],
        &[healthy("EX02"), faulty("EX03", Fault::EpUnsupported)],
        today(),
    );
    let f = pipeline(&[faulty("EX01", Fault::EpNotSecured)], today());
    let text = evidence_text(of(&f, "iis.ep-not-secured")[0]);
    assert!(
        text.contains("Default Web Site/ECP - Current Value: 'None' Expected Value: 'Require'"),
        "{text}"
    );
    assert!(text.contains("applicationHost.config:"), "{text}");
    // Its CVE group is open, with what keeps it so.
    let open = evidence_text(of(&f, "security.cve-open")[0]);
    assert!(
        open.contains("CVE-2022-24516") && open.contains("Default Web Site/ECP is None"),
        "{open}"
    );
    // Properly configured: the group is neither open nor waiting.
    let f = pipeline(&[healthy("EX02")], today());
    let all = serde_json::to_string(&f).unwrap();
    assert!(!all.contains("CVE-2022-24516"), "{all}");
}

#[test]
fn iis_ep_unsupported() {
    // /ecp left at None is below what is expected but supported: the near miss.
    case(
        "iis.ep-unsupported",
        &[faulty("EX01", Fault::EpUnsupported)],
        &[healthy("EX02"), faulty("EX03", Fault::EpNotSecured)],
        today(),
    );
}

#[test]
fn iis_ep_suppressed() {
    case(
        "iis.ep-suppressed",
        &[faulty("EX01", Fault::EpSuppressed)],
        &[healthy("EX02")],
        today(),
    );
    let f = pipeline(&[faulty("EX01", Fault::EpSuppressed)], today());
    let open = evidence_text(of(&f, "security.cve-open")[0]);
    assert!(open.contains("SuppressExtendedProtection is 1"), "{open}");
}

/// The real Exchange 2019 applicationHost.config of tests/fixtures/iis never had Extended
/// Protection configured: on a build that supports it, every vdir expecting Allow or Require
/// is reported; on the file's own build (15.2.922.7, CU11 before its Aug22SU) nothing is
/// expected, and the CVE group is open by the build.
#[test]
fn the_real_iis_file_has_no_extended_protection() {
    let run = |build: [u16; 4]| {
        let h = with(healthy("EX01"), |h| {
            h.install_drive = 'C';
            h.drive_folders = false;
            h.exsetup_build = build;
        });
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("EX01");
        fleet::render::write(&h, 1, &dir).unwrap();
        let real = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/iis/applicationHost.config");
        std::fs::copy(
            real,
            dir.join("Windows/System32/inetsrv/config/applicationHost.config"),
        )
        .unwrap();
        let s = exfleet_tests::at_sim_time(
            collect(&ServerFiles::new(&dir), Default::default()).unwrap(),
        );
        let snaps = tmp.path().join("snaps");
        std::fs::create_dir_all(&snaps).unwrap();
        exfleet_collector::output::write(&s, &snaps.join("EX01.json")).unwrap();
        analyze(&snaps, today())
    };
    let got = run([15, 2, 2562, 37]);
    let ep = of(&got, "iis.ep-not-secured");
    assert_eq!(ep.len(), 1);
    assert_eq!(ep[0].title, "Extended Protection is not configured");
    let text = evidence_text(ep[0]);
    for vdir in [
        "Default Web Site/OWA - Current Value: None (not set)",
        "Exchange Back End/EWS - Current Value: 'None' Expected Value: 'Require'",
        "Exchange Back End/MAPI/nspi",
        "Exchange Back End/RPCWithCert",
    ] {
        assert!(text.contains(vdir), "{vdir}: {text}");
    }
    // Autodiscover expects None and the front end's EWS, ActiveSync and OAB only Allow:
    // None is secure for the first, not for the others.
    assert!(!text.contains("Autodiscover"), "{text}");
    assert!(
        text.contains("Default Web Site/EWS - Current Value: 'None'"),
        "{text}"
    );
    assert!(of(&got, "iis.ep-unsupported").is_empty());
    let got = run([15, 2, 922, 7]);
    assert!(of(&got, "iis.ep-not-secured").is_empty());
    assert!(of(&got, "iis.ep-unsupported").is_empty());
    let open = evidence_text(of(&got, "security.cve-open")[0]);
    assert!(open.contains("CVE-2022-24516"), "{open}");
}

#[test]
fn iis_binding_cert() {
    // A missing certificate on 0.0.0.0:444 is iis.backend-binding-cert's, not this rule's.
    case(
        "iis.binding-cert",
        &[faulty("EX01", Fault::SniBindingCertMissing)],
        &[healthy("EX02"), faulty("EX03", Fault::BackendCertMissing)],
        today(),
    );
    let f = pipeline(&[faulty("EX01", Fault::SniBindingCertMissing)], today());
    let text = evidence_text(of(&f, "iis.binding-cert")[0]);
    assert!(
        text.contains("mail.contoso.com:443 is bound to certificate"),
        "{text}"
    );
    assert!(text.contains("SslSniBindingInfo"), "{text}");
}

#[test]
fn iis_backend_binding_ip() {
    case(
        "iis.backend-binding-ip",
        &[faulty("EX01", Fault::BackendBindingIp)],
        &[healthy("EX02")],
        today(),
    );
}

#[test]
fn cert_expiring() {
    // 43 days left at the analysis date; 60 days before NotAfter it is not yet a warning.
    let h = faulty("EX01", Fault::CertExpiring);
    case(
        "cert.expiring",
        std::slice::from_ref(&h),
        &[healthy("EX02")],
        today(),
    );
    let sixty_days_before = NaiveDate::from_ymd_opt(2026, 11, 6).unwrap();
    assert!(of(
        &pipeline(std::slice::from_ref(&h), sixty_days_before),
        "cert.expiring"
    )
    .is_empty());
    let f = pipeline(
        std::slice::from_ref(&h),
        NaiveDate::from_ymd_opt(2026, 12, 6).unwrap(),
    );
    assert!(
        !of(&f, "cert.expiring").is_empty(),
        "30 days left: still a warning"
    );
    assert!(of(&f, "cert.expiring-soon").is_empty());
}

#[test]
fn cert_expiring_soon() {
    // An expired certificate in the store fires; one with 43 days left does not.
    case(
        "cert.expiring-soon",
        &[faulty("EX01", Fault::BackendCertExpired)],
        &[faulty("EX02", Fault::CertExpiring)],
        today(),
    );
    let f = pipeline(
        &[faulty("EX02", Fault::CertExpiring)],
        NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
    );
    let soon = of(&f, "cert.expiring-soon");
    assert_eq!(soon.len(), 1, "29 days left is an error");
    assert!(evidence_text(soon[0]).contains("(29 days left)"));
    assert!(of(&f, "cert.expiring").is_empty());
}

#[test]
fn cert_weak_key() {
    // Every simulated host holds the 2048-bit RSA namespace certificate: the near miss.
    case(
        "cert.weak-key",
        &[faulty("EX01", Fault::CertWeak)],
        &[healthy("EX02")],
        today(),
    );
}

#[test]
fn cert_weak_signature() {
    case(
        "cert.weak-signature",
        &[faulty("EX01", Fault::CertWeak)],
        &[healthy("EX02")],
        today(),
    );
}

/// The triage copy's file named `name` (a stock page of the simulator).
fn find(dir: &Path, name: &str) -> Option<std::path::PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

/// Like [`pipeline`], with a page written into `host`'s owa\auth at `modified`.
fn pipeline_with_page(
    hosts: &[HostSpec],
    host: &str,
    modified: std::time::SystemTime,
) -> Vec<Finding> {
    let tmp = tempfile::tempdir().unwrap();
    let snaps = tmp.path().join("snapshots");
    std::fs::create_dir_all(&snaps).unwrap();
    for h in hosts {
        let dir = tmp.path().join("hosts").join(&h.name);
        fleet::render::write(h, 1, &dir).unwrap();
        if h.name == host {
            let logon = find(&dir, "logon.aspx").unwrap();
            let page = logon.with_file_name("health.aspx");
            std::fs::write(
                &page,
                "<%@ Page Language=\"Jscript\"%><%eval(Request.Item[\"k\"],\"unsafe\");%>",
            )
            .unwrap();
            std::fs::File::options()
                .write(true)
                .open(&page)
                .unwrap()
                .set_modified(modified)
                .unwrap();
        }
        let labels =
            LabelsFile::default().into_labels(h.dag.clone(), Some(h.role_group.clone()), None);
        let s = exfleet_tests::at_sim_time(collect(&ServerFiles::new(&dir), labels).unwrap());
        exfleet_collector::output::write(&s, &snaps.join(format!("{}.json", h.name))).unwrap();
    }
    analyze(&snaps, today())
}

#[test]
fn aspx_files_of_small_builds_are_compared_across_their_line_or_listed() {
    // Two servers on the newest SE SU (one with a web shell), two on the SU before: each
    // build too small, the CU line of four compares them; the stock pages, whose content
    // differs between the SUs, are no outliers across the line.
    let prev = Some(builds::SE_RTM.latest() - 1);
    let older = |name: &str| {
        with(healthy(name), |h| {
            h.update = prev;
            h.exsetup_build = builds::SE_RTM.build(prev);
        })
    };
    let shell = with(healthy("EX01"), |h| h.faults.push(Fault::IocWebShell));
    let got = pipeline(
        &[shell, healthy("EX02"), older("EX03"), older("EX04")],
        today(),
    );
    let f = of(&got, "ioc.aspx-outlier");
    assert_eq!(f.len(), 1, "{f:#?}");
    let [a, b, c, _] = builds::SE_RTM.build(None);
    assert_eq!(f[0].group, format!("line:{a}.{b}.{c}"));
    assert_eq!(f[0].hosts, ["EX01"]);
    let text = serde_json::to_string(&f[0].evidence).unwrap();
    assert!(
        text.contains("too few to compare: compared across its CU line"),
        "{text}"
    );
    assert!(text.contains("x5kqk2vc.aspx"), "{text}");
    assert!(!text.contains("logon.aspx"), "{text}");
    assert!(of(&got, "ioc.aspx-uncompared").is_empty());

    // A server alone on its line: nothing compares it. A page written into owa\auth after
    // its SU's install is listed; the stock pages written by that install are not. A fleet of
    // two cannot compare aspnet_client either: its files are listed on both.
    let alone = with(healthy("EX05"), |h| {
        h.line = &builds::EX2019_CU15;
        h.update = Some(builds::EX2019_CU15.latest());
        h.exsetup_build = builds::EX2019_CU15.build(h.update);
    });
    let planted = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_794_300_000_000);
    let got = pipeline_with_page(&[alone.clone(), healthy("EX06")], "EX05", planted);
    assert!(of(&got, "ioc.aspx-outlier").is_empty());
    let f = of(&got, "ioc.aspx-uncompared");
    assert_eq!(f.len(), 2, "{f:#?}");
    assert_eq!(f[0].hosts, ["EX05"]);
    let text = serde_json::to_string(&f[0].evidence).unwrap();
    assert!(text.contains("health.aspx"), "{text}");
    assert!(text.contains("KB5121574 installed on"), "{text}");
    assert!(!text.contains("logon.aspx"), "{text}");
    assert!(text.contains("readme.txt"), "{text}");
    assert_eq!(f[1].hosts, ["EX06"]);
    let text = serde_json::to_string(&f[1].evidence).unwrap();
    assert!(
        text.contains("could list these aspnet_client files: not compared")
            && text.contains("readme.txt"),
        "{text}"
    );
    // Near miss: the same server with its stock pages only: no auth-folder page listed.
    let got = pipeline(&[alone, healthy("EX06")], today());
    let text = serde_json::to_string(&of(&got, "ioc.aspx-uncompared")).unwrap();
    assert!(
        !text.contains("health.aspx") && !text.contains("logon.aspx"),
        "{text}"
    );
}

#[test]
fn web_shells_below_a_moved_site_root_and_handlers_in_owa_auth_are_outliers() {
    // Four servers of one build; EX01's Default Web Site is rooted at D:\wwwroot (its
    // applicationHost.config says so). Its stock aspnet_client file carries the label the
    // others' do, and each server's own script in owa\auth is not listed: no outlier.
    let at = |name: &str, moved: bool| with(healthy(name), |h| h.web_root_moved = moved);
    let others = [at("EX02", false), at("EX03", false), at("EX04", false)];
    let fleet_of = |first: HostSpec| {
        let mut hosts = vec![first];
        hosts.extend(others.iter().cloned());
        hosts
    };
    let got = pipeline(&fleet_of(at("EX01", true)), today());
    assert!(of(&got, "ioc.aspx-outlier").is_empty(), "{got:#?}");

    // The shells planted on EX01: an .aspx below the moved root's aspnet_client and an
    // .ashx handler in owa\auth, both found, cited by their labels.
    let shell = with(at("EX01", true), |h| h.faults.push(Fault::IocWebShell));
    let got = pipeline(&fleet_of(shell), today());
    let f = of(&got, "ioc.aspx-outlier");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].hosts, ["EX01"]);
    let text = evidence_text(f[0]).replace("\\\\", "\\");
    assert!(
        text.contains(r"EX01: Default Web Site\aspnet_client\system_web\x5kqk2vc.aspx ("),
        "{text}"
    );
    assert!(
        text.contains(r"EX01: FrontEnd\HttpProxy\owa\auth\h4vzq0ms.ashx ("),
        "{text}"
    );
    assert!(text.contains("on no other server of the build"), "{text}");
    // The provenance names the file where it is, below D:\wwwroot.
    assert!(
        f[0].evidence.iter().any(|e| e
            .provenance
            .contains("wwwroot/aspnet_client/system_web/x5kqk2vc.aspx")
            && !e.provenance.contains("inetpub")),
        "{:#?}",
        f[0].evidence
    );
    assert!(
        !text.contains("readme.txt") && !text.contains(".js"),
        "{text}"
    );
}

#[test]
fn ioc_coverage_gap_lists_a_server_whose_logs_miss_its_exposure_window() {
    // Exchange 2016 CU17 without the March 2021 SU: open to ProxyLogon since its fix was
    // released (2021-03-02), its logs (the simulator's) reach back to November 2026 only.
    let open = with(healthy("EX01"), |h| {
        h.line = &builds::EX2016_CU17;
        h.update = None;
        h.exsetup_build = builds::EX2016_CU17.build(None);
    });
    let got = pipeline(&[open.clone(), healthy("EX02")], today());
    let f = of(&got, "ioc.coverage-gap");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].hosts, ["EX01"]);
    let text = serde_json::to_string(&f[0].evidence).unwrap();
    assert!(
        text.contains("EX01: its HttpProxy logs of folder ")
            && text.contains("(the one reaching back least) scanned reach back to 2026-")
            && text.contains("it was exposed to CVE-2021-26855: it ran 15.1.2044.4")
            && text.contains("below Mar21SU released on 2021-03-02"),
        "{text}"
    );
    // Near miss: the same server with KB5000871, the March 2021 SU for its CU: closed to
    // ProxyLogon, so its HttpProxy logs are no gap; it never got Nov22SU, so its IIS logs
    // still are (CVE-2022-41040).
    let fixed = with(open, |h| h.update = Some(0));
    let got = pipeline(&[fixed, healthy("EX02")], today());
    let f = of(&got, "ioc.coverage-gap");
    assert_eq!(f.len(), 1, "{f:#?}");
    let text = serde_json::to_string(&f[0].evidence).unwrap();
    assert!(!text.contains("CVE-2021-26855"), "{text}");
    assert!(
        text.contains("EX01: its IIS logs scanned reach back to 2026-")
            && text.contains("it was exposed to CVE-2022-41040"),
        "{text}"
    );
}
