//! The live collector's whole path: the Windows build, under Wine, collects a simulated server
//! loaded into a Wine prefix (`collect --live`) and pushes it over mutual TLS to an aggregator on
//! loopback; the host reaches the dataset with the build its registry and ExSetup.exe say, read
//! live.
//!
//! Skips (passes after a `skipped: ...` line) without Wine, MinGW or the Windows target, and
//! fails instead under `EXFLEET_REQUIRE_TOOLS=1` (see `exfleet_tests::wine`).

use exfleet_aggregator::certs;
use exfleet_aggregator::server::{DatasetOptions, ServeOptions};
use exfleet_tests::fleet::{self, builds, render, FleetConfig, HostSpec};
use exfleet_tests::wine::{self, windows_path, WinePrefix};

use crate::e2e::{table_rows, Harness};

/// A fresh prefix holding a simulated Exchange 2013-or-later server of the fleet of `seed`:
/// its registry imported, its files on the prefix's drives, services.exe restarted to see its
/// services.
pub(crate) fn prefix_with_host(wine: &'static wine::Wine, seed: u64) -> (WinePrefix, HostSpec) {
    let host = fleet::generate(&FleetConfig {
        seed,
        servers: 4,
        ..Default::default()
    })
    .into_iter()
    .find(|h| !h.line.is_2010())
    .expect("an Exchange 2013+ host");
    let builder = render::triage_of(&host, seed);
    let mut prefix = WinePrefix::new(wine);
    prefix.import_reg(&builder.to_reg());
    builder.install_into(&prefix.drive_c()).unwrap();
    prefix.restart();
    (prefix, host)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_collector_under_wine_pushes_and_the_host_reaches_the_dataset() {
    let Some(wine) = wine::wine() else { return };
    let Some(exe) = wine::collector_exe() else {
        return;
    };
    let (prefix, host) = prefix_with_host(wine, 11);

    let h = Harness::start_with(|dir| ServeOptions {
        dataset: Some(DatasetOptions {
            dir: dir.join("dataset"),
            flush_interval: std::time::Duration::from_millis(300),
        }),
        ..Default::default()
    })
    .await;
    // The server's own identity: its certificate's CN is its computer name.
    let me = certs::make_collector(&h.ca, &host.name).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        windows_path(&p)
    };
    let (ca, cert, key) = (
        file("ca.pem", &h.ca.cert),
        file("me.pem", &me.cert),
        file("me.key", &me.key),
    );
    let url = h.url();
    let run = tokio::task::spawn_blocking(move || {
        prefix.run(
            &exe,
            &[
                "collect",
                "--live",
                "--aggregator",
                &url,
                "--ca",
                &ca,
                "--cert",
                &cert,
                "--key",
                &key,
            ],
        )
    })
    .await
    .unwrap();
    assert!(
        run.status.success(),
        "collect --live --aggregator under Wine exited with {:?}: {}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );

    let dataset = h._dir.path().join("dataset");
    let mut hosts = None;
    // Polled, not timed: the loop only bounds a hung flusher.
    for _ in 0..200 {
        if dataset.join("hosts").exists() {
            hosts = Some(table_rows(&dataset, "hosts"));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let hosts = hosts.expect("the host's row in the dataset");
    assert_eq!(hosts.height(), 1);
    let text = |c: &str| {
        hosts
            .column(c)
            .unwrap()
            .str()
            .unwrap()
            .get(0)
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(text("host"), host.name);
    assert_eq!(text("source"), "live");
    assert_eq!(text("collector_kind"), "server");
    // The build as ExSetup.exe's version resource says it, read from the install path the
    // registry's setup key gives, and the setup key's own MSI version.
    assert_eq!(text("exsetup_version"), builds::text(host.exsetup_build));
    assert_eq!(text("install_path"), host.install_path());
    assert!(!text("msi_version").is_empty());
    h.stop().await;
}
