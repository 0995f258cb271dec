//! OAB generator logs (`<install>Logging\OABGeneratorLog\`, every file): CVE-2021-26858. A
//! line `Download failed and temporary file '<path>' needs to be removed` names a file the
//! generator wrote; the legitimate ones live under `<install>ClientAccess\OAB`, and any other
//! path is where a web shell may have been written.

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
pub const LITERAL: &str = "Download failed and temporary file";

static DOWNLOAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i-u)Download failed and temporary file (.*?) needs to be removed").unwrap()
});

/// The path a line names (with its quote, as the script captures it) when it is outside
/// `<install>ClientAccess\OAB` (`install` ends with `\`).
pub fn suspicious_path(line: &[u8], install: &str) -> Option<String> {
    let path = DOWNLOAD.captures(line)?.get(1)?.as_bytes();
    let path = String::from_utf8_lossy(path).into_owned();
    let legit = format!("'{install}ClientAccess\\OAB").to_ascii_lowercase();
    (!path.to_ascii_lowercase().starts_with(&legit)).then_some(path)
}

/// Scans the OAB generator logs.
pub fn scan(logs: &[LogFile], install: &str, scan: &mut Scan) {
    let literals = Literals::new(&[LITERAL]);
    let kind = IocKind::Cve2021_26858;
    scan.found.coverage_of(&kind);
    for f in logs {
        scan.read_log(
            f,
            std::slice::from_ref(&kind),
            "",
            &literals,
            false,
            |found, header, hit| {
                let Some(path) = suspicious_path(hit.text, install) else {
                    return Ok(());
                };
                let time = record_time(header, &fields(hit.text)).unwrap_or(0);
                found.found(
                    kind.clone(),
                    IocMatch {
                        file: f.display.clone(),
                        line: hit.line,
                        offset: hit.offset,
                        time_ms: time,
                        url: path,
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

    const INSTALL: &str = r"C:\Program Files\Microsoft\Exchange Server\V15\";

    #[test]
    fn record_times_are_read_from_the_datetime_column_wherever_it_is() {
        let tmp = tempfile::tempdir().unwrap();
        let text = "Level,DateTime,Message\r\n#Software: Microsoft Exchange Server\r\n\
            Info,2021-03-02T09:00:00.000Z,OABGeneratorAssistant started.\r\n\
            Warning,2021-03-03T10:00:00.000Z,\"Download failed and temporary file \
            'C:\\inetpub\\wwwroot\\aspnet_client\\s.aspx' needs to be removed.\"\r\n";
        std::fs::write(tmp.path().join("OABGeneratorLog-1.LOG"), text).unwrap();
        let dir = crate::files::ServerFiles::new(tmp.path());
        let logs = super::super::listed(&dir, tmp.path(), &["OABGeneratorLog-1.LOG"]);
        let mut s = Scan::new(&dir, 0, Default::default());
        scan(&logs, INSTALL, &mut s);
        let day = |d: &str| super::super::parse_time(d).unwrap();
        let c = &s.found.coverage[&("cve_2021_26858".to_string(), String::new())];
        assert_eq!(c.oldest_ms, day("2021-03-02T09:00:00Z"));
        let m = s.found.into_matches();
        assert_eq!(m.len(), 1, "{m:#?}");
        assert_eq!(m[0].time_ms, day("2021-03-03T10:00:00Z"));
        assert_eq!(m[0].url, r"'C:\inetpub\wwwroot\aspnet_client\s.aspx'");
    }

    #[test]
    fn a_temporary_file_outside_the_oab_folder() {
        let bad = br"2021-03-02T10:00:00.000Z,Download failed and temporary file 'C:\inetpub\wwwroot\aspnet_client\shell.aspx' needs to be removed";
        assert_eq!(
            suspicious_path(bad, INSTALL).as_deref(),
            Some(r"'C:\inetpub\wwwroot\aspnet_client\shell.aspx'")
        );
        let latin1 =
            b"Download failed and temporary file 'C:\\inetpub\\caf\xe9.aspx' needs to be removed";
        assert!(
            suspicious_path(latin1, INSTALL).is_some(),
            "a Latin-1 byte in the path"
        );
        let good = br"Download failed and temporary file 'C:\Program Files\Microsoft\Exchange Server\V15\ClientAccess\OAB\Temp\x.tmp' needs to be removed";
        assert_eq!(suspicious_path(good, INSTALL), None);
        // Case does not matter for the legitimate folder.
        let good = br"download FAILED and temporary file 'c:\program files\microsoft\exchange server\v15\clientaccess\oab\x' needs to be removed";
        assert_eq!(suspicious_path(good, INSTALL), None);
        assert_eq!(
            suspicious_path(b"Download failed and temporary file", INSTALL),
            None
        );
    }
}
