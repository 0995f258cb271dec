//! HttpProxy logs (`<install>Logging\HttpProxy\`, every protocol's folder, `*.log`): CSV with a
//! header row, `#` metadata lines, quoted values. Two indicators:
//!
//! - CVE-2021-26855: `AnchorMailbox` matches `ServerInfo~*/*` and neither
//!   `ServerInfo~*/autodiscover*` nor `ServerInfo~localhost*/*` (case ignored, whole value);
//! - CVE-2021-27065 (a), in the `Ecp` folder only: `AnchorMailbox` matches
//!   `ServerInfo~*/*Reset*VirtualDirectory#` and `HttpStatus` is `200`.
//!
//! Test-ProxyLogon parses a file as CSV only when it holds `ServerInfo~`; here that literal
//! picks the lines (a row can only match when its line holds it), and only those are parsed.

use std::sync::LazyLock;

use exfleet_proto::kinds::IocKind;
use exfleet_proto::v1::IocMatch;
use regex::Regex;

use super::csv::{fields, Header};
use super::scan::{Hit, Literals};
use super::{detail, parse_time, Found, LogFile, Scan};
use crate::provenance;
use crate::readers::Reader;

/// The pre-filter literal of both indicators.
pub const LITERAL: &str = "ServerInfo~";

static SSRF: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)^ServerInfo~.*/").unwrap());
static SSRF_AUTODISCOVER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^ServerInfo~.*/autodiscover").unwrap());
static SSRF_LOCALHOST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^ServerInfo~localhost.*/").unwrap());
static RESET_VDIR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^ServerInfo~.*/.*Reset.*VirtualDirectory#$").unwrap());

/// Whether an `AnchorMailbox` value is the CVE-2021-26855 indicator.
pub fn is_ssrf(anchor: &str) -> bool {
    SSRF.is_match(anchor) && !SSRF_AUTODISCOVER.is_match(anchor) && !SSRF_LOCALHOST.is_match(anchor)
}

/// Whether an `AnchorMailbox` value and status are the CVE-2021-27065 (a) indicator.
pub fn is_reset_vdir(anchor: &str, status: &str) -> bool {
    RESET_VDIR.is_match(anchor) && status.trim() == "200"
}

/// Scans the HttpProxy logs (the bulk of the logs: on several threads).
pub fn scan(logs: &[LogFile], scan: &mut Scan) {
    let literals = Literals::new(&[LITERAL]);
    scan.found.coverage_of(&IocKind::Cve2021_26855);
    scan.found.coverage_of(&IocKind::Cve2021_27065Proxy);
    let kinds = |f: &LogFile| {
        if is_ecp(f) {
            vec![IocKind::Cve2021_26855, IocKind::Cve2021_27065Proxy]
        } else {
            vec![IocKind::Cve2021_26855]
        }
    };
    let judge = |found: &mut Found, header: &Header, hit: Hit, f: &LogFile| {
        row(found, header, hit, &f.display, is_ecp(f))
    };
    scan.read_logs(logs, &kinds, &literals, false, &judge);
}

/// Whether a log is in the `Ecp` folder of the HttpProxy logs.
fn is_ecp(f: &LogFile) -> bool {
    f.relative
        .split('\\')
        .next()
        .is_some_and(|top| top.eq_ignore_ascii_case("Ecp"))
        && f.relative.contains('\\')
}

/// Judges one line holding the literal.
pub fn row(found: &mut Found, header: &Header, hit: Hit, path: &str, ecp: bool) {
    if hit.text.first() == Some(&b'#') {
        return;
    }
    let values = fields(hit.text);
    let col = |name: &str| {
        header
            .column(name)
            .and_then(|i| values.get(i))
            .map_or("", |v| v.as_ref())
    };
    let anchor = col("AnchorMailbox");
    let status = col("HttpStatus");
    let mut kinds = Vec::new();
    if is_ssrf(anchor) {
        kinds.push(IocKind::Cve2021_26855);
    }
    if ecp && is_reset_vdir(anchor, status) {
        kinds.push(IocKind::Cve2021_27065Proxy);
    }
    if kinds.is_empty() {
        return;
    }
    let reported = [
        "RequestId",
        "UrlHost",
        "RoutingHint",
        "UserAgent",
        "AnchorMailbox",
    ]
    .iter()
    .map(|c| format!("{c}={}", col(c)))
    .collect::<Vec<_>>()
    .join("; ");
    let m = IocMatch {
        file: path.to_string(),
        line: hit.line,
        offset: hit.offset,
        time_ms: parse_time(col("DateTime")).unwrap_or(0),
        client_ip: col("ClientIpAddress").to_string(),
        user: col("AuthenticatedUser").to_string(),
        url: col("UrlStem").to_string(),
        status: status.to_string(),
        detail: detail(reported.as_bytes()),
        provenance: Some(provenance::line(super::Ioc::NAME, path, hit.line)),
        ..Default::default()
    };
    for k in kinds {
        found.found(k, m.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEADER: &[u8] = b"DateTime,ClientIpAddress,UrlStem,AnchorMailbox,HttpStatus";

    fn judge(line: &[u8], ecp: bool) -> Vec<IocMatch> {
        let mut found = Found::default();
        let hit = Hit {
            line: 7,
            offset: 100,
            text: line,
        };
        row(
            &mut found,
            &Header::parse(HEADER),
            hit,
            "HttpProxy/Ecp/x.LOG",
            ecp,
        );
        found.into_matches()
    }

    #[test]
    fn a_row_is_judged_on_its_columns_by_name() {
        let m = judge(
            b"2021-03-03T04:05:06.123Z,203.0.113.5,/ecp/y.js,\"ServerInfo~a]@ex:444/ecp/x?schema=ResetOABVirtualDirectory#\",200",
            true,
        );
        let kinds: Vec<&str> = m.iter().map(|m| m.indicator.as_str()).collect();
        assert_eq!(kinds, ["cve_2021_26855", "cve_2021_27065_proxy"]);
        assert_eq!(m[0].client_ip, "203.0.113.5");
        assert_eq!(m[0].time_ms, 1614744306123);
        assert_eq!((m[0].line, m[0].offset), (7, 100));
        // Outside the Ecp folder only the first; a comment line never.
        assert_eq!(
            judge(
                b"2021-03-03T04:05:06Z,1,/,ServerInfo~a/ecp/ResetXVirtualDirectory#,200",
                false
            )
            .len(),
            1
        );
        assert!(judge(b"#Fields: ServerInfo~a/b", true).is_empty());
    }

    proptest! {
        // Any line holding the literal: judged without a panic, and a match only when its
        // AnchorMailbox column says so.
        #[test]
        fn any_line_is_judged_without_panic(
            before in proptest::collection::vec(any::<u8>(), 0..60),
            after in proptest::collection::vec(any::<u8>(), 0..60),
        ) {
            let mut line = before;
            line.extend_from_slice(b"ServerInfo~");
            line.extend_from_slice(&after);
            for m in judge(&line, true) {
                let anchor = crate::readers::ioc::csv::fields(&line).get(3).map(|c| c.to_string()).unwrap_or_default();
                prop_assert!(is_ssrf(&anchor) || is_reset_vdir(&anchor, &m.status));
            }
        }
    }

    #[test]
    fn the_26855_condition_as_the_reference_states_it() {
        assert!(is_ssrf(
            "ServerInfo~a]@mail.contoso.com:444/ecp/proxyLogon.ecp#"
        ));
        assert!(is_ssrf("serverinfo~X/y"));
        // Autodiscover and localhost are the server's own traffic.
        assert!(!is_ssrf("ServerInfo~host/autodiscover/autodiscover.xml"));
        assert!(!is_ssrf("ServerInfo~host/AutoDiscover"));
        assert!(!is_ssrf("ServerInfo~localhost:444/ecp"));
        assert!(!is_ssrf("ServerInfo~LOCALHOST/x"));
        // No path: not a match; not at the start: not a match.
        assert!(!is_ssrf("ServerInfo~host"));
        assert!(!is_ssrf("Smtp~ServerInfo~host/x"));
        assert!(!is_ssrf(""));
    }

    #[test]
    fn the_27065_proxy_condition_needs_the_end_and_200() {
        let a = "ServerInfo~a]@ex01:444/ecp/DDI/DDIService.svc/SetObject?msExchEcpCanary=x&schema=ResetOABVirtualDirectory#";
        assert!(is_reset_vdir(a, "200"));
        assert!(!is_reset_vdir(a, "500"));
        assert!(!is_reset_vdir(&a[..a.len() - 1], "200"));
        assert!(!is_reset_vdir(
            "ServerInfo~ex01/ecp/SetOABVirtualDirectory#",
            "200"
        ));
    }
}
