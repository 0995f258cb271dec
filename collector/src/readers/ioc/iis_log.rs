//! IIS logs (every `*.log` below `%SystemDrive%\inetpub\logs\LogFiles`, as Microsoft's query
//! lists them: the W3SVC sites' `u_ex*.log` and whatever else IIS writes there; W3C extended
//! format: `#` directives, the columns named by the last `#Fields:` line, values separated by
//! spaces): Microsoft's hunting query for CVE-2022-41040 (ProxyNotShell, September 2022), the
//! regular expression `powershell.*autodiscover\.json.*\@.*200` on each line, case ignored.
//! A line can only match when it holds `autodiscover.json`: that literal picks the lines.

use std::sync::LazyLock;

use exfleet_proto::kinds::IocKind;
use exfleet_proto::v1::IocMatch;
use regex::bytes::Regex;

use super::csv::Header;
use super::scan::Literals;
use super::{detail, parse_time, LogFile, Scan};
use crate::provenance;
use crate::readers::Reader;

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
    fn fields_by_name() {
        let h =
            header(b"date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip");
        assert_eq!(h.column("c-ip"), Some(8));
        assert_eq!(h.column("cs-uri-stem"), Some(4));
    }
}
