//! ECP server logs (`<install>Logging\ECP\Server\`, `*.log`): CVE-2021-27065 (b), a
//! `Set-<X>VirtualDirectory` call whose `...Url` parameter carries an HTML or script element
//! (the web-shell planting technique). Test-ProxyLogon's .NET expression has look-aheads; for a
//! yes/no test per line the reference gives the equivalent without them, used here. As the
//! script does, only the first match of a file is reported (of those within `--ioc-since`).

use std::sync::LazyLock;

use exfleet_proto::kinds::IocKind;
use exfleet_proto::v1::IocMatch;
use regex::bytes::Regex;

use super::csv::fields;
use super::scan::Literals;
use super::{detail, record_time, LogFile, Scan};
use crate::provenance;
use crate::readers::Reader;

/// The pre-filter literal.
pub const LITERAL: &str = "VirtualDirectory";

static SET_VDIR_MARKUP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i-u)Set-.+VirtualDirectory.+?Url.*<\w+.*>.*?</\w+>.+?VirtualDirectory").unwrap()
});

/// Whether a line of an ECP server log is the CVE-2021-27065 (b) indicator.
pub fn is_markup_url(line: &[u8]) -> bool {
    SET_VDIR_MARKUP.is_match(line)
}

/// Scans the ECP server logs.
pub fn scan(logs: &[LogFile], scan: &mut Scan) {
    let literals = Literals::new(&[LITERAL]);
    let kind = IocKind::Cve2021_27065Ecp;
    scan.found.coverage_of(&kind);
    for f in logs {
        let mut first = true;
        scan.read_log(
            f,
            std::slice::from_ref(&kind),
            "",
            &literals,
            false,
            |found, header, hit| {
                if !first || !is_markup_url(hit.text) {
                    return Ok(());
                }
                let time = record_time(header, &fields(hit.text)).unwrap_or(0);
                // The first match the window keeps (one older than `--ioc-since` is dropped).
                first = !found.found(
                    kind.clone(),
                    IocMatch {
                        file: f.display.clone(),
                        line: hit.line,
                        offset: hit.offset,
                        time_ms: time,
                        detail: detail(hit.text),
                        provenance: Some(provenance::line(super::Ioc::NAME, &f.display, hit.line)),
                        ..Default::default()
                    },
                );
                Ok(())
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The matches of a scan of an ECP server log holding `text`, within `since_ms`.
    fn scan_text(text: &str, since_ms: i64) -> Vec<IocMatch> {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("ECPServer-1.LOG"), text).unwrap();
        let dir = crate::files::ServerFiles::new(tmp.path());
        let logs = super::super::listed(&dir, tmp.path(), &["ECPServer-1.LOG"]);
        let mut s = Scan::new(&dir, since_ms, Default::default());
        scan(&logs, &mut s);
        s.found.into_matches()
    }

    fn set_call(time: &str, url: &str) -> String {
        format!("{time},1,EX01,CONTOSO\\admin,Cmdlet,S:CMD=Set-OabVirtualDirectory.ExternalUrl=''{url}''.Identity=''OAB'';S:TYPE=OabVirtualDirectory\r\n")
    }

    #[test]
    fn the_first_match_of_a_file_is_the_first_within_the_window() {
        let shell = "http://f/<script>eval(1)</script>";
        let text = format!(
            "DateTime,RequestId,ServerName,User,EventType,GenericInfo\r\n{}{}",
            set_call("2021-03-01T00:00:00.000Z", shell),
            set_call("2021-03-03T00:00:00.000Z", shell),
        );
        let since = super::super::parse_time("2021-03-02T00:00:00Z").unwrap();
        let m = scan_text(&text, since);
        assert_eq!(m.len(), 1, "{m:#?}");
        assert_eq!((m[0].line, m[0].time_ms), (3, since + 86_400_000));
        // Without a window, the first of the file only.
        let m = scan_text(&text, 0);
        assert_eq!(m.len(), 1, "{m:#?}");
        assert_eq!(m[0].line, 2);
    }

    #[test]
    fn markup_in_a_url_parameter_of_a_set_vdir_call() {
        let hit = br#"2021-03-03T01:02:03.000Z,S:CMD=Set-OabVirtualDirectory.ExternalUrl=''http://f/<script language="JScript" runat="server">function Page_Load(){eval(Request["x"],"unsafe");}</script>''.Identity=''a'' ...OabVirtualDirectory"#;
        assert!(is_markup_url(hit));
        let latin1 = b"S:CMD=Set-OabVirtualDirectory.ExternalUrl=''http://f/<script>caf\xe9</script>''.Identity=''a\xe9'' OabVirtualDirectory";
        assert!(is_markup_url(latin1), "a Latin-1 byte between the anchors");
        // A plain URL, or markup outside a Set- call: not the indicator.
        assert!(!is_markup_url(
            b"S:CMD=Set-OabVirtualDirectory.ExternalUrl=''https://mail.contoso.com/OAB''.Identity=''OAB (Default Web Site)'' OabVirtualDirectory"
        ));
        assert!(!is_markup_url(
            b"S:CMD=Get-OabVirtualDirectory.Url=<b>x</b> x VirtualDirectory"
        ));
    }
}
