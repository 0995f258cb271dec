//! The live collector's footprint under Wine: one simulated server (the first of seed 1's
//! fleet, the host `tests/scripts/bench-collector.sh` measures offline) loaded into a fresh Wine
//! prefix (its registry imported, its files on the prefix's drive), then the Windows build's
//! `collect --live` measured with GNU time: peak resident set, CPU seconds, wall time. Beside
//! it, in the same run, the same `.exe` printing its version: what Wine itself costs a process,
//! to subtract. Rows: the host as simulated, then with its logs at real size, then (unless
//! `SOFTWARE_MIB=0`) with its SOFTWARE hive padded too.
//!
//! ```sh
//! cargo bench -p exfleet-collector --bench live_wine
//! # sizes in MiB: EVTX_MIB=200 SETUP_LOG_MIB=30 SOFTWARE_MIB=100 (0 leaves one as simulated)
//! ```
//!
//! Needs Wine, MinGW and the Windows target (`tests/scripts/install-test-tools.sh`); without
//! them it prints `skipped: ...` and measures nothing.

use std::time::Instant;

use exfleet_tests::fleet::{self, render, ArtifactSizes, FleetConfig};
use exfleet_tests::measure::{timed, Measured};
use exfleet_tests::triage::TriageBuilder;
use exfleet_tests::wine::{self, windows_path, WinePrefix};

const SEED: u64 = 1;
const MIB: u64 = 1 << 20;

fn mib_var(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn main() {
    let Some(wine) = wine::wine() else { return };
    let Some(exe) = wine::collector_exe() else {
        return;
    };
    let evtx = mib_var("EVTX_MIB", 200) * MIB;
    let logs = ArtifactSizes {
        application_evtx: evtx,
        system_evtx: evtx,
        setup_log: mib_var("SETUP_LOG_MIB", 30) * MIB,
        ..ArtifactSizes::DEFAULT
    };
    let mut cases = vec![
        ("as simulated", ArtifactSizes::DEFAULT),
        ("logs real", logs),
    ];
    let software = mib_var("SOFTWARE_MIB", 100) * MIB;
    if software > 0 {
        cases.push((
            "logs and SOFTWARE real",
            ArtifactSizes {
                software_hive: software,
                ..logs
            },
        ));
    }
    let host = fleet::generate(&FleetConfig {
        seed: SEED,
        servers: 1,
        fault_rate: 0.4,
    })
    .remove(0);
    let tmp = tempfile::tempdir().unwrap();

    println!("Wine {}; host {}", wine.version(), host.name);
    println!(
        "| case | SOFTWARE in the registry MiB | evtx MiB (each) | setup log MiB | command | \
         peak RSS MiB | CPU s | wall s |"
    );
    println!("|-|-:|-:|-:|-|-:|-:|-:|");
    for (name, sizes) in cases {
        let t = Instant::now();
        let builder = render::sized_triage_of(&host, SEED, &sizes);
        let reg = builder.to_reg();
        let mut prefix = WinePrefix::new(wine);
        prefix.import_reg(&reg);
        builder.install_into(&prefix.drive_c()).unwrap();
        let drive_c = prefix.drive_c();
        render::write_padded_logs(&host, SEED, &sizes, |p| {
            TriageBuilder::wine_file(&drive_c, p)
        })
        .unwrap();
        // services.exe registers the imported services when it starts.
        prefix.restart();
        eprintln!(
            "{name}: prefix loaded in {:.1} s ({} KiB of .reg imported)",
            t.elapsed().as_secs_f64(),
            reg.len() / 1024
        );

        let version = timed(prefix.program(&exe).arg("--version"));
        let out = tmp.path().join(format!("{}.pb", name.replace(' ', "-")));
        let live =
            timed(
                prefix
                    .program(&exe)
                    .args(["collect", "--live", "--out", &windows_path(&out)]),
            );
        let snapshot = exfleet_collector::output::read(&out).unwrap();
        eprintln!(
            "{name}: {} setup runs, {} events, {} installed updates, {} errors, CU build {}",
            snapshot.setup_runs.len(),
            snapshot.events.len(),
            snapshot.installed_updates.len(),
            snapshot.errors.len(),
            snapshot.exchange.unwrap_or_default().msi_version,
        );
        let sizes_cols = format!(
            "{} | {} | {}",
            mib_of(sizes.software_hive),
            mib_of(sizes.application_evtx),
            mib_of(sizes.setup_log)
        );
        row(name, &sizes_cols, "`--version` (Wine alone)", &version);
        row(name, &sizes_cols, "`collect --live`", &live);
    }
}

fn mib_of(bytes: u64) -> String {
    match bytes {
        0 => "as simulated".into(),
        b => format!("{}", b / MIB),
    }
}

fn row(case: &str, sizes: &str, command: &str, m: &Measured) {
    println!(
        "| {case} | {sizes} | {command} | {:.1} | {:.2} | {:.2} |",
        m.peak_rss_kib as f64 / 1024.0,
        m.cpu_secs,
        m.secs
    );
}
