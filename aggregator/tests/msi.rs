//! The collector's MSI under Wine: built with wixl from the Windows build
//! (`deploy/windows/build-msi.sh`), installed with `msiexec /i ... /qn AGGREGATOR= TOKEN= CA=`
//! into a prefix holding a simulated Exchange server; the service registered, started, enrolled
//! with the token and delivering a live collection to an aggregator on loopback; an upgrade in
//! place that keeps the identity, settings and spool; an uninstall that removes the service and
//! keeps them.
//!
//! Built with `START_ON_INSTALL=no`: Wine starts an automatic service as soon as it is
//! registered, so msiexec's own StartServices meets "already running" and rolls the install
//! back; on Windows the shipped MSI starts the service at install. The `ProcessPrng` shim
//! (test support, see `exfleet_tests::wine`) is put in the install folder first.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use exfleet_aggregator::store::Store;
use exfleet_tests::tools;
use exfleet_tests::wine::{self, windows_path, WinePrefix};

use crate::enroll::Fleet;

/// Builds the MSI of `exe` at `version` into `out` (for Wine: not started by msiexec).
fn build_msi(exe: &Path, version: &str, out: &Path) {
    build_msi_starting(exe, version, out, false)
}

fn build_msi_starting(exe: &Path, version: &str, out: &Path, start: bool) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/windows/build-msi.sh");
    let o = Command::new("bash")
        .arg(script)
        .arg(exe)
        .arg(version)
        .arg(out)
        .env("START_ON_INSTALL", if start { "yes" } else { "no" })
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Puts the `ProcessPrng` shim in the prefix's install folder (the MSI does not carry test
/// support) and returns the folder.
fn with_shim(prefix: &WinePrefix, exe: &Path) -> PathBuf {
    let dir = prefix.drive_c().join("Program Files").join("exfleet");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        exe.with_file_name("bcryptprimitives.dll"),
        dir.join("bcryptprimitives.dll"),
    )
    .unwrap();
    dir
}

/// `msiexec` with `args` in the prefix; its exit code.
fn msiexec(prefix: &WinePrefix, args: &[&str]) -> i32 {
    let o = prefix.run("msiexec", args);
    o.status.code().unwrap_or(-1)
}

/// The prefix's `%ProgramData%` as a Linux path (Wine 8 puts it at `C:\users\Public`).
fn program_data(prefix: &WinePrefix) -> PathBuf {
    let o = prefix.run("cmd", &["/c", "echo", "%ProgramData%"]);
    let win = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let rest = win
        .strip_prefix("C:\\")
        .or_else(|| win.strip_prefix("c:\\"))
        .unwrap_or_else(|| panic!("ProgramData is {win:?}"));
    let mut p = prefix.drive_c();
    for part in rest.split('\\') {
        p.push(part);
    }
    p
}

/// Waits up to `limit` for `ready`.
fn wait_for(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    ready()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_msi_installs_the_service_which_enrolls_collects_and_delivers_and_upgrades_keep_its_data(
) {
    let Some(wine) = wine::wine() else { return };
    let Some(exe) = wine::collector_exe() else {
        return;
    };
    if tools::tool("wixl").is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (v1, v2) = (tmp.path().join("v1.msi"), tmp.path().join("v2.msi"));
    build_msi(&exe, "0.1.0", &v1);
    build_msi(&exe, "0.1.1", &v2);
    // The MSI as shipped starts the service at install; its ServiceControl event says so
    // (msidbServiceControlEvent: 1 start, 2 stop at install, 0x20 stop and 0x80 delete at
    // uninstall).
    if let Some(msiinfo) = tools::tool("msiinfo") {
        let shipped = tmp.path().join("shipped.msi");
        build_msi_starting(&exe, "0.1.0", &shipped, true);
        for (msi, event) in [(&shipped, "163"), (&v1, "162")] {
            let o = Command::new(&msiinfo)
                .args(["export"])
                .arg(msi)
                .arg("ServiceControl")
                .output()
                .unwrap();
            let table = String::from_utf8_lossy(&o.stdout);
            let row = table
                .lines()
                .find(|l| l.starts_with("CollectorServiceControl"))
                .unwrap_or_else(|| panic!("{table}"));
            assert_eq!(row.split('\t').nth(2), Some(event), "{row}");
        }
    }

    let f = Fleet::start().await;
    let token = f.token(true);
    let ca = tmp.path().join("ca.pem");
    std::fs::write(&ca, &f.ca.cert).unwrap();

    let (prefix, host) = crate::wine::prefix_with_host(wine, 13);

    let install_dir = with_shim(&prefix, &exe);
    let data = program_data(&prefix).join("exfleet");
    std::fs::create_dir_all(&data).unwrap();
    let url = f.url();
    let enroll_url = f.enroll_url();
    // The first collection at once rather than up to an hour after the start; the enrollment
    // listener is the aggregator's host on port 7444 by default, here on another port.
    let settings = data.join("collector.toml");
    std::fs::write(
        &settings,
        format!("jitter-minutes = 0\nenroll-aggregator = \"{enroll_url}\"\n"),
    )
    .unwrap();
    let aggregator = format!("AGGREGATOR={url}");
    let token_arg = format!("TOKEN={token}");
    let ca_arg = format!("CA={}", windows_path(&ca));
    let msi1 = windows_path(&v1);
    let code = msiexec(
        &prefix,
        &["/i", &msi1, "/qn", &aggregator, &token_arg, &ca_arg],
    );
    assert_eq!(code, 0, "msiexec /i");
    assert!(install_dir.join("exfleet-collector.exe").is_file());
    let service = r"HKLM\System\CurrentControlSet\Services\exfleet-collector";
    let image = prefix
        .query_value(service, "ImagePath")
        .expect("the service is registered");
    assert!(
        image.contains("exfleet-collector.exe") && image.ends_with("service run"),
        "{image}"
    );
    assert_eq!(
        prefix.query_value(service, "Start").as_deref(),
        Some("0x2"),
        "automatic"
    );
    let props = r"HKLM\SOFTWARE\exfleet\Collector";
    assert_eq!(
        prefix.query_value(props, "Aggregator").as_deref(),
        Some(url.as_str())
    );

    // Wine starts an automatic service when it is registered; start it in case it did not
    // (already running is fine).
    let _ = prefix.run("sc", &["start", "exfleet-collector"]);
    let store_dir = f.data();
    let delivered = wait_for(Duration::from_secs(90), || {
        let store = Store::open(&store_dir).unwrap();
        store
            .ids()
            .iter()
            .any(|id| store.get(id).is_ok_and(|s| s.collector_id == host.name))
    });
    let log = std::fs::read_to_string(data.join("logs").join("collector.log")).unwrap_or_default();
    assert!(delivered, "no snapshot from the service; its log:\n{log}");
    let identity = data.join("identity").join("identity.pem");
    let enrolled = std::fs::read(&identity).expect("the service enrolled");
    assert!(log.contains("enrolled"), "{log}");
    // The service records its run once delivery returns, a moment after the store has it.
    assert!(
        wait_for(Duration::from_secs(30), || data
            .join("state.json")
            .is_file()),
        "no state.json after the run; its log:\n{log}"
    );
    let written = std::fs::read_to_string(&settings).unwrap();
    assert!(
        written.contains(&url),
        "the installer's settings kept: {written}"
    );
    // The token did its work and is forgotten, in the file and in the registry; the folder
    // was restricted to SYSTEM and Administrators without error.
    assert!(!written.contains(&token), "{written}");
    assert_eq!(prefix.query_value(props, "Token"), None);
    assert!(!log.contains("could not restrict"), "{log}");
    // collect-now: the running service collects again at once (its schedule says a day).
    let from_host = |store: &Store| {
        store
            .ids()
            .iter()
            .filter(|id| store.get(id).is_ok_and(|s| s.collector_id == host.name))
            .count()
    };
    let installed_exe = r"C:\Program Files\exfleet\exfleet-collector.exe";
    let asked = prefix.run(installed_exe, &["service", "collect-now"]);
    assert!(
        asked.status.success(),
        "{}",
        String::from_utf8_lossy(&asked.stderr)
    );
    let again = wait_for(Duration::from_secs(60), || {
        from_host(&Store::open(&store_dir).unwrap()) >= 2
    });
    assert!(again, "collect-now did not collect");
    // A stop is answered well within the Service Control Manager's time-out.
    let t = Instant::now();
    let _ = prefix.run("sc", &["stop", "exfleet-collector"]);
    let stopped = wait_for(Duration::from_secs(20), || {
        let q = prefix.run("sc", &["query", "exfleet-collector"]);
        String::from_utf8_lossy(&q.stdout).contains("STOPPED")
    });
    assert!(stopped, "not stopped 20 s after the stop");
    eprintln!("the service stopped in {:?}", t.elapsed());
    std::fs::create_dir_all(data.join("spool").join("pending")).unwrap();
    let kept = data
        .join("spool")
        .join("pending")
        .join("0000000000001-keptkept.pb");
    std::fs::write(&kept, b"").unwrap();

    // An upgrade in place, given no properties: identity, settings and spool stay.
    let msi2 = windows_path(&v2);
    assert_eq!(
        msiexec(&prefix, &["/i", &msi2, "/qn"]),
        0,
        "msiexec upgrade"
    );
    // One product installed, the newer one: the upgrade removed the older.
    let listed = prefix.run(
        "reg",
        &[
            "query",
            r"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall",
            "/s",
        ],
    );
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    // The prefix holds the simulated server's own programs too (its Visual C++ runtimes):
    // only exfleet's entries count.
    let versions: Vec<&str> = listed
        .split("HKEY_LOCAL_MACHINE")
        .filter(|entry| entry.to_ascii_lowercase().contains("exfleet"))
        .flat_map(|entry| entry.lines().filter(|l| l.contains("DisplayVersion")))
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    assert_eq!(versions, ["0.1.1"], "{listed}");
    assert!(install_dir.join("exfleet-collector.exe").is_file());
    assert!(
        prefix.query_value(service, "ImagePath").is_some(),
        "still registered"
    );
    assert_eq!(
        std::fs::read(&identity).unwrap(),
        enrolled,
        "the same identity"
    );
    assert!(std::fs::read_to_string(&settings).unwrap().contains(&url));
    assert!(kept.is_file() || data.join("spool").join("rejected").read_dir().is_ok());

    // Uninstall: the service goes, the data stays.
    assert_eq!(msiexec(&prefix, &["/x", &msi2, "/qn"]), 0, "msiexec /x");
    assert!(
        prefix.query_value(service, "ImagePath").is_none(),
        "service removed"
    );
    assert!(!install_dir.join("exfleet-collector.exe").exists());
    assert_eq!(std::fs::read(&identity).unwrap(), enrolled);
    assert!(settings.is_file());

    // A downgrade is refused (its launch condition), in a prefix that never had the older
    // version: Wine keeps some registration of a product an upgrade removed, which makes
    // reinstalling that same package look like maintenance of it.
    let fresh = WinePrefix::new(wine);
    with_shim(&fresh, &exe);
    assert_eq!(msiexec(&fresh, &["/i", &msi2, "/qn"]), 0);
    assert_ne!(
        msiexec(&fresh, &["/i", &msi1, "/qn"]),
        0,
        "a downgrade is refused"
    );
}
