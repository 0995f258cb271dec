//! Event extraction throughput: a large System.evtx (hundreds of MB, written chunk by chunk by
//! the test-support writer, one event in fifteen of the kinds that matter) read by the collector
//! (`exfleet-collector collect` over a triage copy holding it), beside libevtx's `evtxexport`
//! over the same file in the same run. Reports records/s, MB/s, events kept, and both
//! processes' peak resident memory (GNU time). Run:
//!
//! ```sh
//! cargo bench -p exfleet-collector --bench evtx            # EVTX_MB=300 by default
//! ```

use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use exfleet_tests::evtx::{Datum, EventSpec, EvtxWriter};
use exfleet_tests::measure::timed;

fn main() {
    let mb: u64 = std::env::var("EVTX_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("copy/Windows/System32/winevt/Logs");
    std::fs::create_dir_all(&logs).unwrap();
    let file = logs.join("System.evtx");
    let t = Instant::now();
    let records = write(&file, mb * 1024 * 1024);
    let size = std::fs::metadata(&file).unwrap().len();
    eprintln!(
        "wrote {} records, {:.1} MB in {:.1} s",
        records,
        size as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let collector = collector_binary();
    let out = tmp.path().join("snapshot.pb");
    let mut rows = Vec::new();
    for run in 0..3 {
        let ours = timed(
            Command::new(&collector)
                .args(["collect", "--root"])
                .arg(tmp.path().join("copy"))
                .arg("--out")
                .arg(&out),
        );
        let (secs, rss) = (ours.secs, ours.peak_rss_kib);
        let kept = kept_events(&out);
        let peer = timed(Command::new("evtxexport").arg(&file));
        let (peer_secs, peer_rss) = (peer.secs, peer.peak_rss_kib);
        rows.push((secs, rss, kept, peer_secs, peer_rss));
        eprintln!("run {run}: collector {secs:.2} s {rss} KiB, kept {kept}; evtxexport {peer_secs:.2} s {peer_rss} KiB");
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (secs, rss, kept, _, _) = rows[1];
    let mut peers: Vec<(f64, u64)> = rows.iter().map(|r| (r.3, r.4)).collect();
    peers.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (peer_secs, peer_rss) = peers[1];
    println!("| file | MB | records | collector s | records/s | MB/s | events kept | collector peak RSS MiB | evtxexport s | evtxexport peak RSS MiB | collector time / evtxexport time |");
    println!("|-|-:|-:|-:|-:|-:|-:|-:|-:|-:|-:|");
    println!(
        "| written System.evtx | {:.0} | {records} | {secs:.2} | {:.0} | {:.0} | {kept} | {:.0} | {peer_secs:.2} | {:.0} | {:.2} |",
        size as f64 / 1e6,
        records as f64 / secs,
        size as f64 / 1e6 / secs,
        rss as f64 / 1024.0,
        peer_rss as f64 / 1024.0,
        secs / peer_secs
    );
}

/// Writes events until the file reaches `bytes`; returns how many.
fn write(path: &Path, bytes: u64) -> u64 {
    let f = std::fs::File::create(path).unwrap();
    let mut w = EvtxWriter::new(BufWriter::new(f)).unwrap();
    let base = 1_792_575_000_000i64;
    let mut n = 0u64;
    // Chunks are 64 KiB: stop when the records written fill `bytes` worth of chunks.
    let mut approx = 4096u64;
    while approx < bytes {
        let e = event(n, base + n as i64 * 250);
        let size = 600 + e.data.iter().map(|d| d.value.len() * 2 + 40).sum::<usize>() as u64;
        w.push(&e).unwrap();
        approx += size;
        n += 1;
    }
    w.finish().unwrap();
    n
}

/// One event in fifteen matters (7036, 7040, 15021), below the collector's cap of 50,000
/// kept per log; the rest are the kernel and DNS client noise a System log is made of.
fn event(i: u64, time_ms: i64) -> EventSpec {
    let e = |provider: &str, id: u16, data: Vec<Datum>| EventSpec {
        provider: provider.into(),
        event_id: id,
        level: 4,
        time_ms,
        channel: "System".into(),
        computer: "EX01.contoso.com".into(),
        data,
        binary: Vec::new(),
    };
    match i % 20 {
        0 => e(
            "Service Control Manager",
            if i.is_multiple_of(40) { 7036 } else { 7040 },
            vec![
                Datum::named("param1", "Microsoft Exchange Transport"),
                Datum::named("param2", "running"),
            ],
        ),
        5 if i % 60 == 5 => e(
            "Microsoft-Windows-HttpEvent",
            15021,
            vec![
                Datum::positional("\\Device\\Http\\ReqQueue"),
                Datum::positional("0.0.0.0:444"),
            ],
        ),
        1..=9 => e(
            "Microsoft-Windows-Kernel-General",
            16,
            vec![
                Datum::named(
                    "HiveName",
                    "\\??\\C:\\Windows\\ServiceProfiles\\NetworkService\\NTUSER.DAT",
                ),
                Datum::named("KeysUpdated", &(i % 97).to_string()),
                Datum::named("DirtyPages", &(i % 13).to_string()),
            ],
        ),
        _ => e(
            "Microsoft-Windows-DNS-Client",
            1014,
            vec![
                Datum::named("QueryName", &format!("host{}.contoso.com", i % 1000)),
                Datum::named("AddressLength", "128"),
            ],
        ),
    }
}

fn kept_events(snapshot: &Path) -> usize {
    use prost::Message;
    let bytes = std::fs::read(snapshot).unwrap();
    exfleet_proto::v1::Snapshot::decode(bytes.as_slice())
        .unwrap()
        .events
        .len()
}

/// The collector binary cargo built for this bench.
fn collector_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_exfleet-collector"))
}
