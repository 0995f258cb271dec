//! The collector's Windows build, run under Wine (`exfleet_tests::wine`): over the same triage
//! copies it writes the snapshots the Linux build writes, and a simulated server's registry
//! loads into a Wine prefix (`.reg` import, read back; a service the Service Control Manager
//! knows after a restart), the ground the live collection's tests stand on.
//!
//! Each test skips (passes after a `skipped: ...` line) without Wine, MinGW or the Windows
//! target, and fails instead under `EXFLEET_REQUIRE_TOOLS=1` (see `exfleet_tests::wine`).

use std::time::Instant;

use exfleet_collector::{collect, output, ServerFiles};
use exfleet_proto::v1::Snapshot;
use exfleet_tests::fleet::{self, FleetConfig, HostSpec};
use exfleet_tests::regf::RegData;
use exfleet_tests::triage::triage;
use exfleet_tests::wine::{self, windows_path, WinePrefix};

pub(crate) const SEED: u64 = 7;

/// Three hosts that read differently: an Exchange 2019/2016 one with faults on C: (a system
/// drive mirror), one copied with drive folders (`C/`, `D/`), and an Exchange 2010 one.
pub(crate) fn hosts() -> Vec<HostSpec> {
    let all = fleet::generate(&FleetConfig {
        seed: SEED,
        servers: fleet::EXCHANGE_2010_FROM,
        fault_rate: 0.4,
    });
    let faulty_on_c = all
        .iter()
        .find(|h| !h.line.is_2010() && !h.drive_folders && h.faults.len() > 1)
        .or_else(|| all.iter().find(|h| !h.line.is_2010() && !h.drive_folders))
        .expect("a host on C:");
    let drive_folders = all
        .iter()
        .find(|h| h.drive_folders)
        .expect("a host copied with drive folders");
    let ex2010 = all
        .iter()
        .find(|h| h.line.is_2010())
        .expect("an Exchange 2010 host");
    vec![faulty_on_c.clone(), drive_folders.clone(), ex2010.clone()]
}

/// What differs between two collections of the same copy by design: the id, the time, and
/// the root as each system names it.
fn comparable(mut s: Snapshot) -> Snapshot {
    s.snapshot_id.clear();
    s.collected_at_ms = 0;
    if let Some(source) = s.source.as_mut() {
        source.root.clear();
    }
    s
}

/// The JSON paths at which two values differ (the first 20), for a readable failure.
pub(crate) fn differences(
    a: &serde_json::Value,
    b: &serde_json::Value,
    at: &str,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    if out.len() >= 20 {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let null = Value::Null;
                let (l, r) = (x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null));
                differences(l, r, &format!("{at}/{k}"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (l, r)) in x.iter().zip(y).enumerate() {
                differences(l, r, &format!("{at}/{i}"), out);
            }
        }
        _ if a != b => {
            let short = |v: &Value| {
                let s = v.to_string();
                if s.chars().count() > 200 {
                    format!("{}...", s.chars().take(200).collect::<String>())
                } else {
                    s
                }
            };
            out.push(format!("{at}: linux {} / windows {}", short(a), short(b)));
        }
        _ => {}
    }
}

#[test]
fn the_windows_exe_under_wine_writes_the_linux_snapshot() {
    let Some(wine) = wine::wine() else { return };
    let t = Instant::now();
    let Some(exe) = wine::collector_exe() else {
        return;
    };
    eprintln!("windows: exe ready in {:.1?}", t.elapsed());
    let t = Instant::now();
    let prefix = WinePrefix::new(wine);
    eprintln!("windows: prefix ready in {:.1?}", t.elapsed());
    let tmp = tempfile::tempdir().unwrap();
    for h in hosts() {
        let root = tmp.path().join(&h.name);
        fleet::render::write(&h, SEED, &root).unwrap();
        let linux = collect(&ServerFiles::new(&root), Default::default()).unwrap();

        let out_file = tmp.path().join(format!("{}.json", h.name));
        let t = Instant::now();
        let run = prefix.run(
            &exe,
            &[
                "collect",
                "--root",
                &windows_path(&root),
                "--out",
                &windows_path(&out_file),
            ],
        );
        eprintln!(
            "windows: {} collected under Wine in {:.1?}",
            h.name,
            t.elapsed()
        );
        assert!(
            run.status.success(),
            "{}: the .exe under Wine exited with {:?}: {}",
            h.name,
            run.status,
            String::from_utf8_lossy(&run.stderr)
        );
        let windows = output::read(&out_file).unwrap();
        assert!(
            windows
                .source
                .as_ref()
                .is_some_and(|s| s.root.starts_with("Z:\\")),
            "the Windows build names its root as Windows does: {:?}",
            windows.source
        );
        assert!(!linux.artifacts.is_empty());
        let (linux, windows) = (comparable(linux), comparable(windows));
        if linux != windows {
            let mut diffs = Vec::new();
            differences(
                &serde_json::to_value(&linux).unwrap(),
                &serde_json::to_value(&windows).unwrap(),
                "",
                &mut diffs,
            );
            panic!(
                "{}: the Windows build's snapshot differs from the Linux build's:\n{}",
                h.name,
                diffs.join("\n")
            );
        }
    }
}

#[test]
fn a_hosts_reg_file_imports_into_a_wine_prefix() {
    let Some(wine) = wine::wine() else { return };
    let h = &hosts()[0];
    // The host's registry, plus one key holding every kind of value and the characters the
    // .reg text escapes.
    let t = fleet::render::triage_of(h, SEED).software(|s| {
        let k = r"exfleet\Escapes";
        s.set(k, "Quoted", RegData::Sz(r#"say "hi" C:\dir\"#.into()));
        s.set(k, "Lines", RegData::Sz("one\r\ntwo".into()));
        s.set(k, "Expand", RegData::ExpandSz(r"%SystemRoot%\x".into()));
        s.set(k, "Multi", RegData::MultiSz(vec!["a".into(), "b".into()]));
        s.set(k, "Dword", RegData::Dword(0xDEAD_BEEF));
        s.set(k, "Binary", RegData::Binary((0..64).collect()));
    });
    let t0 = Instant::now();
    let mut prefix = WinePrefix::new(wine);
    eprintln!("windows: prefix ready in {:.1?}", t0.elapsed());
    let reg = t.to_reg();
    let t0 = Instant::now();
    prefix.import_reg(&reg);
    eprintln!(
        "windows: {} KiB .reg imported in {:.1?}",
        reg.len() / 1024,
        t0.elapsed()
    );

    let setup = format!(
        r"HKLM\SOFTWARE\Microsoft\ExchangeServer\{}\Setup",
        h.setup_key()
    );
    assert_eq!(
        prefix.query_value(&setup, "MsiInstallPath"),
        Some(h.install_path())
    );
    // The current control set went in as CurrentControlSet, where Wine and a live
    // collector read it; Wine's boot does not rewrite the AD site.
    assert_eq!(
        prefix.query_value(
            r"HKLM\SYSTEM\CurrentControlSet\Services\Netlogon\Parameters",
            "DynamicSiteName"
        ),
        Some(h.site.clone())
    );
    let k = r"HKLM\SOFTWARE\exfleet\Escapes";
    let q = |name| prefix.query_value(k, name);
    assert_eq!(q("Quoted").as_deref(), Some(r#"say "hi" C:\dir\"#));
    assert_eq!(q("Expand").as_deref(), Some(r"%SystemRoot%\x"));
    assert_eq!(q("Multi").as_deref(), Some(r"a\0b"));
    assert_eq!(q("Dword").as_deref(), Some("0xdeadbeef"));
    let hex: String = (0..64u8).map(|b| format!("{b:02X}")).collect();
    assert_eq!(q("Binary"), Some(hex));
    // A line break cannot be shown on one line of `reg query`: that it exists is enough here.
    assert!(q("Lines").is_some());
}

#[test]
fn a_restart_makes_an_imported_service_visible_to_the_scm() {
    let Some(wine) = wine::wine() else { return };
    let name = "ExfleetTestSvc";
    let key = format!(r"ControlSet001\Services\{name}");
    let t = triage().without_software().system(|s| {
        s.set("Select", "Current", RegData::Dword(1));
        s.set(&key, "Type", RegData::Dword(16));
        s.set(&key, "Start", RegData::Dword(3));
        s.set(
            &key,
            "DisplayName",
            RegData::Sz("exfleet test service".into()),
        );
        s.set(
            &key,
            "ImagePath",
            RegData::ExpandSz(r"C:\exfleet\ExfleetTestSvc.exe".into()),
        );
        s.set(
            r"ControlSet001\Control\ComputerName\ComputerName",
            "ComputerName",
            RegData::Sz("EXTEST01".into()),
        );
    });
    let mut prefix = WinePrefix::new(wine);
    prefix.import_reg(&t.to_reg());
    let before = prefix.run("sc", &["query", name]);
    eprintln!(
        "windows: before the restart, sc query {name} exits {:?}:\n{}",
        before.status.code(),
        String::from_utf8_lossy(&before.stdout)
    );

    let t0 = Instant::now();
    prefix.restart();
    eprintln!("windows: restart in {:.1?}", t0.elapsed());
    let query = prefix.run("sc", &["query", name]);
    let shown = String::from_utf8_lossy(&query.stdout).into_owned();
    eprintln!("windows: after the restart, sc query {name}:\n{shown}");
    assert!(query.status.success(), "{shown}");
    assert!(shown.contains(&format!("SERVICE_NAME: {name}")), "{shown}");
    assert!(shown.contains("WIN32_OWN_PROCESS"), "{shown}");
    assert!(shown.contains("STOPPED"), "{shown}");
    // Wine's sc has no `qc`: the configuration as the SCM gives it, through WMI.
    let services = prefix.services();
    eprintln!("windows: Wine's SCM lists {} services", services.len());
    let svc = services
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("{name} in {services:#?}"));
    eprintln!("windows: {svc:?}");
    assert_eq!(svc.display_name, "exfleet test service");
    assert_eq!(svc.start_mode, "Manual");
    assert_eq!(svc.service_type, "Own Process");
    assert_eq!(svc.state, "Stopped");
    // The restart imported the file again after the boot's rewrite of the computer name.
    assert_eq!(
        prefix
            .query_value(
                r"HKLM\SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName",
                "ComputerName"
            )
            .as_deref(),
        Some("EXTEST01")
    );
}

/// The snapshot comparison names what differs, path by path.
#[test]
fn differences_are_named_by_path() {
    let a = serde_json::json!({"x": {"y": [1, 2]}, "z": "a"});
    let b = serde_json::json!({"x": {"y": [1, 3]}, "w": true, "z": "a"});
    let mut out = Vec::new();
    differences(&a, &b, "", &mut out);
    assert_eq!(
        out,
        [
            "/x/y/1: linux 2 / windows 3",
            "/w: linux null / windows true"
        ]
    );
}
