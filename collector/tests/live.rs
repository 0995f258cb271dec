//! Live equals offline: a simulated server's registry imported into a fresh Wine prefix, its
//! files put on the prefix's drives, `collect --live` run there by the Windows build, and the
//! snapshot compared with `collect --root` over the same server's triage copy.
//!
//! Equal field for field except where the evidence was read: the source, and provenance paths
//! (`HKLM\SYSTEM` and `CurrentControlSet` live; the hive file and `ControlSet00N` offline; a
//! file's Windows path live, its path in the copy offline), which are mapped onto each other
//! before comparing. Three things cannot be the same under Wine, and are compared apart:
//! - the time zone's key name, which Wine rewrites from the Linux host's zone whenever a
//!   process starts (its bias is compared);
//! - the prefix's own keys and services (Wine's `BITS`, `Eventlog`, its own SOFTWARE keys):
//!   live lists hold them too, so an element live has and offline has not must be in a
//!   collection of the same prefix made before the host was imported;
//! - the running state of services: offline it is the simulated `sc queryex` capture
//!   (RUNNING, with PIDs), live it is what Wine's Service Control Manager says of services
//!   whose binaries do not exist (STOPPED, no PID, an exit code). Names and display names
//!   must be equal, and the start type the SCM reports must be the one the registry's `Start`
//!   value says; state, PID and exit code cannot be compared under Wine.

use std::collections::BTreeMap;
use std::path::Path;

use exfleet_collector::{collect, output, ServerFiles};
use exfleet_proto::v1::Snapshot;
use exfleet_tests::fleet::render;
use exfleet_tests::wine::{self, windows_path, WinePrefix};
use serde_json::Value;

use crate::windows::{differences, hosts, SEED};

/// A live collection in `prefix`, read back.
fn collect_live(prefix: &WinePrefix, exe: &Path, out: &Path, extra: &[&str]) -> Snapshot {
    let mut args = vec!["collect", "--live", "--allow-empty"];
    args.extend_from_slice(extra);
    let out_arg = windows_path(out);
    args.extend_from_slice(&["--out", &out_arg]);
    let run = prefix.run(exe, &args);
    assert!(
        run.status.success(),
        "collect --live under Wine exited with {:?}: {}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    output::read(out).unwrap()
}

/// A provenance or artifact path as Windows would name it, in lower case: offline paths are
/// relative to the copy (`ExchangeSetupLogs/x.log`, `D/Exchange/...` in the drive-folder
/// layout), live ones are Windows paths; the hive files are the live hives.
fn windows_name(path: &str, drive_folders: bool) -> String {
    let p = path.replace('/', "\\").to_ascii_lowercase();
    match p.as_str() {
        r"windows\system32\config\system" | r"c\windows\system32\config\system" => {
            return r"hklm\system".into()
        }
        r"windows\system32\config\software" | r"c\windows\system32\config\software" => {
            return r"hklm\software".into()
        }
        _ => {}
    }
    if p.starts_with("hklm\\")
        || p == "service control manager"
        || p.as_bytes().get(1) == Some(&b':')
    {
        return p;
    }
    if drive_folders {
        if let Some((drive, rest)) = p.split_once('\\') {
            if drive.len() == 1 {
                return format!("{drive}:\\{rest}");
            }
        }
    }
    format!("c:\\{p}")
}

/// The snapshot as JSON with what differs by where it was read mapped onto one form.
fn normalized(s: &Snapshot, drive_folders: bool) -> Value {
    let mut s = s.clone();
    s.snapshot_id.clear();
    s.collected_at_ms = 0;
    s.source = None;
    // Compared apart (see the module's doc).
    s.service_states.clear();
    s.artifacts.retain(|a| a.reader != "sc_queryex");
    let mut v = serde_json::to_value(&s).unwrap();
    map_paths(&mut v, drive_folders);
    v
}

fn map_paths(v: &mut Value, drive_folders: bool) {
    match v {
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                match (k.as_str(), &mut *x) {
                    // A provenance path, or the file of an indicator match.
                    ("path" | "file", Value::String(p)) => *p = windows_name(p, drive_folders),
                    // A registry key: live reads the running set through its link.
                    ("key", Value::String(key)) => {
                        *key = control_set(&key.to_ascii_lowercase());
                    }
                    ("message", Value::String(m)) => *m = control_set(&m.to_ascii_lowercase()),
                    _ => map_paths(x, drive_folders),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|x| map_paths(x, drive_folders)),
        _ => {}
    }
}

fn control_set(key: &str) -> String {
    key.replace(
        r"hklm\system\controlset001\",
        r"hklm\system\currentcontrolset\",
    )
}

/// Removes from `live`'s lists the elements the prefix had before the host was imported
/// (`baseline`) and the copy has not: Wine's own services and keys.
fn without_prefix_own(live: &mut Value, offline: &Value, baseline: &Value) {
    match (live, offline, baseline) {
        (Value::Object(l), Value::Object(o), Value::Object(b)) => {
            for (k, lv) in l.iter_mut() {
                if let (Some(ov), Some(bv)) = (o.get(k), b.get(k)) {
                    without_prefix_own(lv, ov, bv);
                }
            }
        }
        (Value::Array(l), Value::Array(o), Value::Array(b)) => {
            l.retain(|x| o.contains(x) || !b.contains(x));
        }
        (Value::Array(l), Value::Null, Value::Array(b)) => l.retain(|x| !b.contains(x)),
        _ => {}
    }
}

/// START_TYPE as the SCM names it, for a `Start` value.
fn start_type(start: i32) -> &'static str {
    match start {
        0 => "BOOT_START",
        1 => "SYSTEM_START",
        2 => "AUTO_START",
        3 => "DEMAND_START",
        _ => "DISABLED",
    }
}

#[test]
fn live_collection_under_wine_equals_the_offline_collection() {
    let Some(wine) = wine::wine() else { return };
    let Some(exe) = wine::collector_exe() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for h in hosts() {
        let ctx = &h.name;
        let builder = render::triage_of(&h, SEED);
        let root = builder.build(&tmp.path().join(ctx)).unwrap();
        let offline = collect(&ServerFiles::new(&root), Default::default()).unwrap();

        let mut prefix = WinePrefix::new(wine);
        let baseline = collect_live(
            &prefix,
            &exe,
            &tmp.path().join(format!("{ctx}-baseline.json")),
            &[],
        );
        prefix.import_reg(&builder.to_reg());
        builder.install_into(&prefix.drive_c()).unwrap();
        // services.exe reads the services from the registry when it starts.
        prefix.restart();
        let live = collect_live(
            &prefix,
            &exe,
            &tmp.path().join(format!("{ctx}-live.json")),
            &[],
        );

        // Wine writes TimeZoneKeyName from the Linux host's zone at every process start (UTC
        // becomes "Greenwich Standard Time"): the one registry value that cannot be compared
        // under Wine. The bias beside it is compared.
        let mut live = live;
        if let (Some(l), Some(o)) = (live.platform.as_mut(), offline.platform.as_ref()) {
            assert!(!l.time_zone.is_empty(), "{ctx}: no time zone read live");
            l.time_zone.clone_from(&o.time_zone);
        }
        let source = live.source.clone().unwrap_or_default();
        assert_eq!(
            source.kind,
            exfleet_proto::v1::collection_source::Kind::Live as i32,
            "{ctx}"
        );
        let build = |s: &Snapshot| s.exsetup.as_ref().map(|e| e.fixed_version.clone());
        assert!(
            build(&live).is_some_and(|b| !b.is_empty()),
            "{ctx}: no build"
        );
        assert_eq!(build(&live), build(&offline), "{ctx}");

        // The running state, apart: the capture's services, each known to the SCM with the
        // start type its registry key says.
        let starts: BTreeMap<&str, i32> = offline
            .services
            .iter()
            .map(|s| (s.name.as_str(), s.start))
            .collect();
        let live_states: BTreeMap<&str, _> = live
            .service_states
            .iter()
            .map(|s| (s.name.as_str(), s))
            .collect();
        assert!(!offline.service_states.is_empty(), "{ctx}");
        for s in &offline.service_states {
            let l = live_states
                .get(s.name.as_str())
                .unwrap_or_else(|| panic!("{ctx}: {} not known to the SCM", s.name));
            assert_eq!(l.display_name, s.display_name, "{ctx}: {}", s.name);
            let start = starts[s.name.as_str()];
            assert_eq!(l.start_type, start_type(start), "{ctx}: {}", s.name);
            let prov = l.provenance.as_ref().unwrap();
            assert_eq!(
                (prov.reader.as_str(), prov.path.as_str()),
                ("sc_queryex", "Service Control Manager")
            );
        }

        let drive_folders = h.drive_folders;
        let offline_json = normalized(&offline, drive_folders);
        let mut live_json = normalized(&live, drive_folders);
        without_prefix_own(
            &mut live_json,
            &offline_json,
            &normalized(&baseline, drive_folders),
        );
        if live_json != offline_json {
            let mut diffs = Vec::new();
            differences(&offline_json, &live_json, "", &mut diffs);
            panic!(
                "{ctx}: the live snapshot differs from the offline one (offline / live):\n{}",
                diffs.join("\n")
            );
        }
        eprintln!(
            "live: {ctx}: {} services, {} events, {} setup runs equal live and offline",
            live.services.len(),
            live.events.len(),
            live.setup_runs.len()
        );
    }
}

#[test]
fn paths_map_onto_their_windows_names() {
    assert_eq!(
        windows_name("Windows/System32/config/SYSTEM", false),
        r"hklm\system"
    );
    assert_eq!(
        windows_name("ExchangeSetupLogs/ExchangeSetup.log", false),
        r"c:\exchangesetuplogs\exchangesetup.log"
    );
    assert_eq!(
        windows_name("D/Exchange/Bin/ExSetup.exe", true),
        r"d:\exchange\bin\exsetup.exe"
    );
    assert_eq!(
        windows_name(r"C:\ExchangeSetupLogs\ExchangeSetup.log", true),
        r"c:\exchangesetuplogs\exchangesetup.log"
    );
    assert_eq!(
        control_set(r"hklm\system\controlset001\services\w3svc"),
        r"hklm\system\currentcontrolset\services\w3svc"
    );
}
