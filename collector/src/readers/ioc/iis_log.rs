//! IIS logs (every `*.log` below `%SystemDrive%\inetpub\logs\LogFiles`, as Microsoft's query
//! lists them, and below every log folder applicationHost.config names instead, see
//! [`folders`]: the W3SVC sites' `u_ex*.log` and whatever else IIS writes there; W3C extended
//! format: `#` directives, the columns named by the last `#Fields:` line, values separated by
//! spaces): Microsoft's hunting query for CVE-2022-41040 (ProxyNotShell, September 2022), the
//! regular expression `powershell.*autodiscover\.json.*\@.*200` on each line, case ignored.
//! A line can only match when it holds `autodiscover.json`: that literal picks the lines.

use std::sync::LazyLock;

use exfleet_proto::kinds::IocKind;
use exfleet_proto::v1::IocMatch;
use regex::bytes::Regex;

use std::io::Read;

use super::csv::Header;
use super::scan::Literals;
use super::{detail, parse_time, LogFile, Scan};
use crate::artifacts::IIS_CONFIG;
use crate::files::ServerFiles;
use crate::provenance;
use crate::readers::iis_config::log_directories;
use crate::readers::{Reader, MAX_CONFIG_BYTES};

/// Where IIS writes its logs by default.
pub const LOG_ROOT: &str = r"inetpub\logs\LogFiles";
/// The pre-filter literal.
pub const LITERAL: &str = "autodiscover.json";

static HUNT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i-u)powershell.*autodiscover\.json.*@.*200").unwrap());

/// Whether a log line matches the hunting query.
pub fn is_hit(line: &[u8]) -> bool {
    HUNT.is_match(line)
}

/// The columns of a `#Fields:` directive (what follows `#Fields:`).
pub fn header(fields: &[u8]) -> Header {
    let names: Vec<u8> = fields
        .split(|b| *b == b' ')
        .filter(|f| !f.is_empty())
        .collect::<Vec<_>>()
        .join(&b","[..]);
    Header::parse(&names)
}

/// The folders whose `*.log` files the scan reads: the default, and each log folder
/// applicationHost.config names (site defaults, sites, central W3C logging; see
/// [`crate::readers::iis_config::log_directories`]), with the environment variables IIS
/// expands there (`%SystemDrive%`, `%SystemRoot%`, `%windir%`, `%ProgramData%`,
/// `%ProgramFiles%`) expanded as on a default install; in configuration order, each once (case
/// ignored), none inside another. A folder with another variable is left out with a
/// collection error naming the file and line.
pub fn folders(dir: &ServerFiles, scan: &mut Scan) -> Vec<String> {
    let mut wanted = vec![LOG_ROOT.to_string()];
    let config = dir.resolve(IIS_CONFIG.path).and_then(|path| {
        let mut bytes = Vec::new();
        std::fs::File::open(&path)
            .ok()?
            .take(MAX_CONFIG_BYTES)
            .read_to_end(&mut bytes)
            .ok()?;
        Some((dir.display(&path), crate::text::decode(&bytes)))
    });
    if let Some((display, text)) = config {
        for d in log_directories(&text) {
            match expand(&d.directory) {
                Some(folder) => wanted.push(folder),
                None => scan.error(
                    "unexpanded_variable",
                    &display,
                    format!(
                        "{display}: line {}: log folder '{}' holds an environment variable the \
                         collector does not know; its IIS logs are not scanned",
                        d.line, d.directory
                    ),
                ),
            }
        }
    }
    // A path without a drive is on the system drive.
    let key = |f: &str| {
        let f = f.trim_end_matches('\\').to_ascii_lowercase();
        if f.as_bytes().get(1) == Some(&b':') {
            format!("{f}\\")
        } else {
            format!("c:\\{f}\\")
        }
    };
    let mut out: Vec<String> = Vec::new();
    for f in wanted {
        let k = key(&f);
        if out.iter().any(|o| k.starts_with(&key(o))) {
            continue;
        }
        out.retain(|o| !key(o).starts_with(&k));
        out.push(f);
    }
    out
}

/// A log folder with the variables IIS expands replaced (`None`: another `%...%` is left).
fn expand(folder: &str) -> Option<String> {
    let mut s = folder.to_string();
    for (var, value) in [
        ("%SystemDrive%", "C:"),
        ("%SystemRoot%", r"C:\Windows"),
        ("%windir%", r"C:\Windows"),
        ("%ProgramData%", r"C:\ProgramData"),
        ("%ProgramFiles%", r"C:\Program Files"),
    ] {
        while let Some(at) = s.to_ascii_lowercase().find(&var.to_ascii_lowercase()) {
            s.replace_range(at..at + var.len(), value);
        }
    }
    (!s.contains('%')).then_some(s)
}

/// Scans the IIS logs.
pub fn scan(logs: &[LogFile], scan: &mut Scan) {
    let literals = Literals::new(&[LITERAL, "#Fields:"]);
    let kind = IocKind::Cve2022_41040;
    scan.found.coverage_of(&kind);
    for f in logs {
        scan.read_log(
            f,
            std::slice::from_ref(&kind),
            &literals,
            true,
            |found, header, hit| {
                if hit.text.first() == Some(&b'#') || !is_hit(hit.text) {
                    return;
                }
                let text = String::from_utf8_lossy(hit.text);
                let values: Vec<&str> = text.split(' ').collect();
                let col = |name: &str| {
                    header
                        .column(name)
                        .and_then(|i| values.get(i))
                        .copied()
                        .unwrap_or("")
                };
                let user = match col("cs-username") {
                    "-" => "",
                    u => u,
                };
                let time = parse_time(&format!("{} {}", col("date"), col("time"))).unwrap_or(0);
                found.found(
                    kind.clone(),
                    IocMatch {
                        file: f.display.clone(),
                        line: hit.line,
                        offset: hit.offset,
                        time_ms: time,
                        client_ip: col("c-ip").to_string(),
                        user: user.to_string(),
                        url: format!("{}?{}", col("cs-uri-stem"), col("cs-uri-query")),
                        status: col("sc-status").to_string(),
                        detail: detail(hit.text),
                        provenance: Some(provenance::line(super::Ioc::NAME, &f.display, hit.line)),
                        ..Default::default()
                    },
                );
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hunting_query() {
        let hit = b"2022-09-29 03:04:05 10.0.0.5 GET /autodiscover/autodiscover.json @evil.com/powershell/?X-Rps-CAT=x&Email=autodiscover/autodiscover.json%3F@evil.com 443 - 203.0.113.7 python-requests/2.26.0 - 200 0 0 12";
        assert!(is_hit(hit));
        // The same request refused (the EOMTv2 rewrite rule aborts it): no 200 after the @.
        assert!(!is_hit(b"2022-09-29 03:04:05 10.0.0.5 GET /autodiscover/autodiscover.json @evil.com/powershell/?Email=autodiscover/autodiscover.json%3F@evil.com 443 - 203.0.113.7 python - 403 0 0 15"));
        // Ordinary Autodiscover v2 traffic: no powershell before it.
        assert!(!is_hit(b"2022-09-29 03:04:05 10.0.0.5 GET /autodiscover/autodiscover.json Email=a@contoso.com&Protocol=ActiveSync 443 - 10.1.1.1 Outlook - 200 0 0 5"));
    }

    #[test]
    fn a_latin_1_byte_between_the_anchors_still_matches() {
        // .NET decodes a stray byte as a replacement character, which its `.` matches.
        let hit = b"2022-09-29 03:04:05 10.0.0.5 GET /autodiscover/autodiscover.json @evil.com/powershell/?Email=autodiscover/autodiscover.json%3F@evil.com 443 - 203.0.113.7 caf\xe9-agent - 200 0 0 12";
        assert!(is_hit(hit));
    }

    #[test]
    fn log_folders_expand_as_iis_does() {
        assert_eq!(
            expand(r"%SystemDrive%\inetpub\logs\LogFiles").as_deref(),
            Some(r"C:\inetpub\logs\LogFiles")
        );
        assert_eq!(
            expand(r"%systemroot%\System32\LogFiles").as_deref(),
            Some(r"C:\Windows\System32\LogFiles")
        );
        assert_eq!(expand(r"D:\IISLogs").as_deref(), Some(r"D:\IISLogs"));
        assert_eq!(expand(r"%LOGROOT%\IIS"), None);
    }

    #[test]
    fn fields_by_name() {
        let h =
            header(b"date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip");
        assert_eq!(h.column("c-ip"), Some(8));
        assert_eq!(h.column("cs-uri-stem"), Some(4));
    }
}
