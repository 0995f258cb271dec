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
use crate::readers::iis_config::{log_directories, log_modes};
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
/// expands there (see [`expand`]) expanded as on a default install, on the system drive
/// without naming it (the live layout's driveless paths), `/` read as `\`; in configuration
/// order, each once (case ignored), none inside another. A folder with another variable is left out with a
/// collection error naming the file and line; so is each setting under which IIS writes no
/// W3C text log (central binary logging, W3C to ETW only, a site's logging off: see
/// [`crate::readers::iis_config::log_modes`]), which explains a scan that read nothing.
pub fn folders(dir: &ServerFiles, install: &str, scan: &mut Scan) -> Vec<String> {
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
        for m in log_modes(&text) {
            scan.error(
                "iis_logging_mode",
                &display,
                format!(
                    "{display}: line {}: {}: {}; those IIS logs cannot be scanned for \
                     CVE-2022-41040",
                    m.line, m.setting, m.effect
                ),
            );
        }
        for d in log_directories(&text) {
            match expand(&d.directory, install) {
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
    let key = folder_key;
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

/// A folder as [`expand`] gives it, compared: lower case, a path without a drive on the
/// system drive (`c:`), ending with `\` (so that a folder's key starts another's only when it
/// holds it).
pub fn folder_key(folder: &str) -> String {
    let f = folder.trim_end_matches('\\').to_ascii_lowercase();
    if f.as_bytes().get(1) == Some(&b':') {
        format!("{f}\\")
    } else {
        format!("c:\\{f}\\")
    }
}

/// A folder of applicationHost.config with the variables IIS expands replaced, `/` as `\`, on
/// the system drive without naming it (`%SystemDrive%\inetpub` is `inetpub`, as [`LOG_ROOT`]:
/// the system drive need not be `C:`). `%ExchangeInstallPath%`, the system variable Exchange
/// setup creates, is `install` (the install folder with its trailing `\`, as setup sets it;
/// a `\` written after it is not doubled); `%ProgramFiles(x86)%` is `\Program Files (x86)` on
/// the system drive. `None`: another `%...%` is left.
pub fn expand(folder: &str, install: &str) -> Option<String> {
    let mut s = folder.replace('/', "\\");
    let install = format!("{}\\", install.trim_end_matches('\\'));
    for (var, value) in [
        ("%ExchangeInstallPath%", install.as_str()),
        ("%SystemDrive%", ""),
        ("%SystemRoot%", r"\Windows"),
        ("%windir%", r"\Windows"),
        ("%ProgramData%", r"\ProgramData"),
        ("%ProgramFiles(x86)%", r"\Program Files (x86)"),
        ("%ProgramFiles%", r"\Program Files"),
    ] {
        // Searched after each value put in: a value holding its own variable ends.
        let mut from = 0;
        while let Some(found) = s[from..]
            .to_ascii_lowercase()
            .find(&var.to_ascii_lowercase())
        {
            let at = from + found;
            let mut end = at + var.len();
            // `%ExchangeInstallPath%\ClientAccess`: the value's `\` is the one written.
            if value.ends_with('\\') && s[end..].starts_with('\\') {
                end += 1;
            }
            s.replace_range(at..end, value);
            from = at + value.len();
        }
    }
    if s.contains('%') {
        return None;
    }
    // A path rooted without a drive is on the system drive.
    Some(match s.strip_prefix('\\') {
        Some(rest) if !rest.starts_with('\\') => rest.to_string(),
        _ => s,
    })
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
            "",
            &literals,
            true,
            |found, header, hit| {
                if hit.text.first() == Some(&b'#') || !is_hit(hit.text) {
                    return Ok(());
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
                Ok(())
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

    const INSTALL: &str = r"E:\Exchange\V15\";

    fn expand(folder: &str) -> Option<String> {
        super::expand(folder, INSTALL)
    }

    #[test]
    fn exchange_s_variable_and_the_32_bit_program_files_expand() {
        assert_eq!(
            expand(r"%ExchangeInstallPath%FrontEnd\HttpProxy").as_deref(),
            Some(r"E:\Exchange\V15\FrontEnd\HttpProxy")
        );
        // Written with its own `\`: one, as Windows reads it.
        assert_eq!(
            expand(r"%EXCHANGEINSTALLPATH%\ClientAccess").as_deref(),
            Some(r"E:\Exchange\V15\ClientAccess")
        );
        // The install path given without its trailing `\`: setup's value has one.
        assert_eq!(
            super::expand(r"%ExchangeInstallPath%Logging", r"C:\Exchange").as_deref(),
            Some(r"C:\Exchange\Logging")
        );
        assert_eq!(
            expand(r"%ProgramFiles(x86)%\Crystal\wwwroot").as_deref(),
            Some(r"Program Files (x86)\Crystal\wwwroot")
        );
        assert_eq!(
            expand(r"%ProgramFiles%\web").as_deref(),
            Some(r"Program Files\web")
        );
    }

    #[test]
    fn log_folders_expand_as_iis_does() {
        assert_eq!(
            expand(r"%SystemDrive%\inetpub\logs\LogFiles").as_deref(),
            Some(LOG_ROOT)
        );
        assert_eq!(
            expand(r"%systemroot%\System32\LogFiles").as_deref(),
            Some(r"Windows\System32\LogFiles")
        );
        assert_eq!(
            expand("%SystemDrive%/inetpub/logs/LogFiles/").as_deref(),
            Some(r"inetpub\logs\LogFiles\")
        );
        assert_eq!(expand(r"D:\IISLogs").as_deref(), Some(r"D:\IISLogs"));
        assert_eq!(expand(r"%LOGROOT%\IIS"), None);
    }

    /// The folders and errors of a server copy whose applicationHost.config holds `config`.
    fn folders_of(config: &str) -> (Vec<String>, Vec<(String, String, String)>) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(IIS_CONFIG.path.replace('\\', "/"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, config).unwrap();
        let dir = ServerFiles::new(tmp.path());
        let mut scan = Scan::new(&dir, 0, Default::default());
        let folders = folders(&dir, INSTALL, &mut scan);
        let errors = scan
            .errors
            .into_iter()
            .map(|(kind, path, _, message)| (kind, path, message))
            .collect();
        (folders, errors)
    }

    #[test]
    fn the_default_folder_written_with_slashes_is_the_default_once() {
        let (folders, errors) = folders_of(
            r#"<configuration><system.applicationHost><sites>
<siteDefaults><logFile directory="%SystemDrive%/inetpub/logs/LogFiles/" /></siteDefaults>
<site name="Exchange Back End" id="2"><logFile directory="%SystemDrive%\Logs\IIS" /></site>
</sites></system.applicationHost></configuration>"#,
        );
        assert_eq!(folders, [LOG_ROOT, r"Logs\IIS"]);
        assert!(errors.is_empty(), "{errors:#?}");
    }

    #[test]
    fn logging_that_writes_no_w3c_file_is_a_collection_error_naming_the_mode() {
        let (_, errors) = folders_of(
            r#"<configuration><system.applicationHost>
<log centralLogFileMode="CentralBinary" />
<sites>
<site name="Default Web Site" id="1"><logFile logTargetW3C="ETW" /></site>
<site name="Exchange Back End" id="2"><logFile enabled="false" /></site>
<siteDefaults><logFile logTargetW3C="File,ETW" /></siteDefaults>
</sites></system.applicationHost></configuration>"#,
        );
        let messages: Vec<&str> = errors.iter().map(|(_, _, m)| m.as_str()).collect();
        assert!(
            errors.iter().all(|(kind, _, _)| kind == "iis_logging_mode"),
            "{errors:#?}"
        );
        assert_eq!(messages.len(), 3, "{messages:#?}");
        assert!(
            messages[0].contains("line 2: <log centralLogFileMode=\"CentralBinary\">")
                && messages[0].contains("one binary log"),
            "{messages:#?}"
        );
        assert!(
            messages[1].contains("line 4: <logFile logTargetW3C=\"ETW\"> in <site>"),
            "{messages:#?}"
        );
        assert!(
            messages[2].contains("line 5: <logFile enabled=\"false\"> of a <site>")
                && messages[2].contains("logging is off"),
            "{messages:#?}"
        );
        // The default mode (one log per site, to a file): no error.
        let (_, errors) = folders_of(
            r#"<configuration><system.applicationHost><log centralLogFileMode="Site" />
<sites><siteDefaults><logFile directory="%SystemDrive%\inetpub\logs\LogFiles" /></siteDefaults></sites>
</system.applicationHost></configuration>"#,
        );
        assert!(errors.is_empty(), "{errors:#?}");
    }

    #[test]
    fn fields_by_name() {
        let h =
            header(b"date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip");
        assert_eq!(h.column("c-ip"), Some(8));
        assert_eq!(h.column("cs-uri-stem"), Some(4));
    }
}
