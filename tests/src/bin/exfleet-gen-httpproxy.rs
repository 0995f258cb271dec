//! Writes a generated set of HttpProxy logs for the indicator-scan benchmark
//! (tests/scripts/bench-ioc.sh): `exfleet-gen-httpproxy <triage root> <MB>` fills
//! `<root>/Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/<protocol>/` with
//! rotated logs in the simulator's format (tests/src/fleet/ioc.rs) until they hold MB
//! megabytes: benign traffic, the near misses the reference excludes (one line in 50), and one
//! CVE-2021-26855 match per file. Prints the number of matches planted.

use std::io::Write;

use exfleet_tests::fleet::ioc::{self, ProxyRow};
use rand::SeedableRng;

/// Bytes per log file (Exchange rotates its logs at about 10 MB).
const FILE_BYTES: u64 = 10 << 20;
const PROTOCOLS: [&str; 5] = ["Owa", "Ecp", "Ews", "Mapi", "Autodiscover"];

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(root), Some(mb)) = (args.get(1), args.get(2).and_then(|m| m.parse::<u64>().ok()))
    else {
        eprintln!("usage: exfleet-gen-httpproxy <triage root> <MB>");
        std::process::exit(2);
    };
    let total = mb * 1_000_000;
    let base = std::path::Path::new(root)
        .join("Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy");
    let host = "ex01.contoso.com";
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(19);
    let (mut written, mut n, mut file_no, mut planted) = (0u64, 0u64, 0u64, 0u64);
    let mut t = ioc::INCIDENT_MS - 30 * 86_400_000;
    while written < total {
        let protocol = PROTOCOLS[(file_no % PROTOCOLS.len() as u64) as usize];
        let dir = base.join(protocol);
        std::fs::create_dir_all(&dir)?;
        let name = format!("HttpProxy_{}-{}.LOG", t / 3_600_000, file_no + 1);
        let mut out =
            std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join(name))?);
        let head = ioc::csv_head(&ioc::PROXY_FIELDS, "HttpProxy Logs", t);
        out.write_all(head.as_bytes())?;
        let mut in_file = head.len() as u64;
        let mut i = 0u64;
        while in_file < FILE_BYTES && written + in_file < total {
            n += 1;
            i += 1;
            t += 50;
            let near = if n % 50 == 0 {
                (n / 50 % 3 + 1) as u8
            } else {
                0
            };
            let mut row = ioc::benign_row(&mut rng, protocol, host, t, near);
            if i == 1000 {
                row = ProxyRow {
                    anchor: ioc::SSRF_ANCHOR.replace("{host}", host),
                    client_ip: ioc::ATTACKER_SSRF.into(),
                    ..row
                };
                planted += 1;
            }
            let line = ioc::proxy_line(&row, host, n);
            out.write_all(line.as_bytes())?;
            in_file += line.len() as u64;
        }
        out.flush()?;
        written += in_file;
        file_no += 1;
    }
    println!("{planted}");
    Ok(())
}
