//! IIS `applicationHost.config` (`Windows\System32\inetsrv\config`): sites, bindings,
//! applications and virtual directories with their physical paths, each with its line.
//!
//! The `<location path="<site>/<vdir>">` elements give the settings Extended Protection is
//! judged on (tokenChecking, sslFlags, ipSecurity), each as written: inheritance is the
//! analyzer's. Certificate hashes are not here (they live in HTTP.sys, see the SYSTEM hive). A malformed
//! file keeps the sites read before the damage and records a located `malformed_xml` error.

use exfleet_proto::v1::artifact_status::State;
use exfleet_proto::v1::{IisApplication, IisBinding, IisLocation, IisSite, IisVirtualDirectory};
use quick_xml::events::{BytesStart, Event};

use crate::artifacts::IIS_CONFIG;
use crate::files::ServerFiles;
use crate::provenance;
use crate::readers::{text_artifact_capped, Reader, MAX_CONFIG_BYTES};
use crate::sink::Sink;
use crate::text::{cap_field, LineIndex, MAX_FIELD_BYTES};

/// Reads applicationHost.config.
pub struct IisConfig;

impl Reader for IisConfig {
    const NAME: &'static str = "iis_config";

    fn read(&self, dir: &ServerFiles, out: &mut Sink) {
        // No line cap: a cut line would make the XML malformed; the fields kept are capped.
        let caps = (MAX_CONFIG_BYTES, usize::MAX);
        let Some((path, text)) = text_artifact_capped(dir, out, Self::NAME, IIS_CONFIG.path, caps)
        else {
            return;
        };
        let parsed = parse(&text, &path);
        let state = match (&parsed.error, parsed.sites.is_empty()) {
            (None, _) => State::Read,
            (Some(_), false) => State::Partial,
            (Some(_), true) => State::Unreadable,
        };
        out.evidence_mut().iis_sites.extend(parsed.sites);
        out.evidence_mut().iis_locations.extend(parsed.locations);
        for cut in parsed.cut_fields.iter().take(crate::sink::MAX_LINE_ERRORS) {
            let loc = provenance::line(Self::NAME, &path, cut.line);
            out.error(
                Self::NAME,
                "field_truncated",
                &path,
                Some(loc),
                format!("{path}: line {}: {}", cut.line, cut.message),
            );
        }
        if parsed.cut_fields.len() > crate::sink::MAX_LINE_ERRORS {
            out.error(
                Self::NAME,
                "field_truncated",
                &path,
                None,
                format!(
                    "{path}: {} more attributes cut",
                    parsed.cut_fields.len() - crate::sink::MAX_LINE_ERRORS
                ),
            );
        }
        if let Some(e) = parsed.error {
            let loc = provenance::line(Self::NAME, &path, e.line);
            out.error(
                Self::NAME,
                "malformed_xml",
                &path,
                Some(loc),
                format!("{path}: line {}: {}", e.line, e.message),
            );
        }
        out.artifact(Self::NAME, &path, state);
    }
}

/// What was read from an applicationHost.config, and where it stopped if it was damaged.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Sites read, in file order.
    pub sites: Vec<IisSite>,
    /// `<location>` elements read, in file order.
    pub locations: Vec<IisLocation>,
    /// The first error; reading stops there.
    pub error: Option<XmlError>,
    /// Attributes longer than [`MAX_FIELD_BYTES`], cut: where and which.
    pub cut_fields: Vec<XmlError>,
}

/// A located XML error.
#[derive(Debug, PartialEq)]
pub struct XmlError {
    /// 1-based line.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

/// Parses the text of an applicationHost.config; `path` goes into provenance.
pub fn parse(text: &str, path: &str) -> Parsed {
    let lines = LineIndex::new(text);
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<(String, u32)> = Vec::new();
    let mut out = Parsed::default();
    let mut saw_root = false;
    let at = |line: u32| Some(provenance::line(IisConfig::NAME, path, line));
    loop {
        let before = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                let line = lines.line(reader.error_position() as usize);
                let mut message = e.to_string();
                cap_field(&mut message, MAX_FIELD_BYTES);
                out.error = Some(XmlError { line, message });
                break;
            }
        };
        // The element starts at the first '<' after the previous event.
        let start = text[before.min(text.len())..]
            .find('<')
            .map_or(before, |i| before + i);
        let line = lines.line(start);
        let (element, empty) = match &event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                stack.pop();
                continue;
            }
            Event::Eof => {
                if !saw_root && out.error.is_none() {
                    out.error = Some(XmlError {
                        line: 1,
                        message: "no <configuration> element: not an IIS configuration file".into(),
                    });
                } else if let Some((name, opened)) = stack.last() {
                    out.error = Some(XmlError {
                        line: lines.line(text.len()),
                        message: format!("file ends inside <{name}> opened at line {opened}"),
                    });
                }
                break;
            }
            _ => continue,
        };
        let name = String::from_utf8_lossy(element.local_name().as_ref()).into_owned();
        saw_root |= stack.is_empty() && name == "configuration";
        let parent = stack.last().map(|(n, _)| n.as_str()).unwrap_or("");
        let grandparent = stack
            .len()
            .checked_sub(2)
            .map(|i| stack[i].0.as_str())
            .unwrap_or("");
        let cuts = &mut out.cut_fields;
        let mut attr = |key: &str| {
            let mut value = attribute(element, key);
            if let Some(len) = cap_field(&mut value, MAX_FIELD_BYTES) {
                cuts.push(XmlError {
                    line,
                    message: format!(
                        "attribute {key} of <{name}> is {len} bytes long; its first \
                         {MAX_FIELD_BYTES} bytes are kept"
                    ),
                });
            }
            value
        };
        match (name.as_str(), parent, grandparent) {
            ("site", "sites", _) => out.sites.push(IisSite {
                name: attr("name"),
                id: attr("id").parse().unwrap_or(0),
                provenance: at(line),
                ..Default::default()
            }),
            ("binding", "bindings", "site") => {
                if let Some(site) = out.sites.last_mut() {
                    site.bindings.push(IisBinding {
                        protocol: attr("protocol"),
                        binding_information: attr("bindingInformation"),
                        provenance: at(line),
                    });
                }
            }
            ("application", "site", _) => {
                if let Some(site) = out.sites.last_mut() {
                    site.applications.push(IisApplication {
                        path: attr("path"),
                        application_pool: attr("applicationPool"),
                        provenance: at(line),
                        ..Default::default()
                    });
                }
            }
            ("virtualDirectory", "application", "site") => {
                if let Some(app) = out.sites.last_mut().and_then(|s| s.applications.last_mut()) {
                    app.virtual_directories.push(IisVirtualDirectory {
                        path: attr("path"),
                        physical_path: attr("physicalPath"),
                        provenance: at(line),
                    });
                }
            }
            ("location", "configuration", _) => out.locations.push(IisLocation {
                path: attr("path"),
                provenance: at(line),
                ..Default::default()
            }),
            _ if stack.len() > 2 && stack[1].0 == "location" => {
                if let Some(loc) = out.locations.last_mut() {
                    let within: Vec<&str> = stack[2..].iter().map(|(n, _)| n.as_str()).collect();
                    match (within.join("/").as_str(), name.as_str()) {
                        (
                            "system.webServer/security/authentication/windowsAuthentication",
                            "extendedProtection",
                        ) => loc.token_checking = attr("tokenChecking"),
                        ("system.webServer/security", "access") => loc.ssl_flags = attr("sslFlags"),
                        ("system.webServer/security", "ipSecurity") => {
                            loc.ip_allow_unlisted = attr("allowUnlisted")
                        }
                        ("system.webServer/security/ipSecurity", "add") => {
                            loc.ip_filter_entries += 1
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        if !empty {
            stack.push((name, line));
        }
    }
    out
}

/// A log folder applicationHost.config names, as written (environment variables unexpanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDirectory {
    /// The `directory` attribute.
    pub directory: String,
    /// 1-based line of its element.
    pub line: u32,
}

/// The folders IIS writes its logs to, by applicationHost.config: the `directory` of
/// `<siteDefaults><logFile>`, of each `<site><logFile>`, and of the central W3C log
/// (`<log><centralW3CLogFile>`), in file order. A damaged file gives those read before the
/// damage.
pub fn log_directories(text: &str) -> Vec<LogDirectory> {
    let mut out = Vec::new();
    log_elements(text, |name, _, element, line| {
        if name == "log" {
            return;
        }
        let directory = attribute(element, "directory");
        if !directory.trim().is_empty() {
            out.push(LogDirectory {
                directory: directory.trim().to_string(),
                line,
            });
        }
    });
    out
}

/// A logging setting of applicationHost.config under which IIS writes no W3C text log where
/// [`log_directories`] points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogMode {
    /// The setting as written, with where (`centralLogFileMode="CentralBinary"`).
    pub setting: String,
    /// What it does to the logs.
    pub effect: &'static str,
    /// 1-based line of its element.
    pub line: u32,
}

/// The settings that keep IIS from writing W3C text logs, in file order: central binary
/// logging (`<log centralLogFileMode="CentralBinary">`: one binary log for all sites), W3C
/// logging to ETW only (`logTargetW3C="ETW"` on a `logFile` or `centralW3CLogFile`), and a
/// site's or the site defaults' logging turned off (`<logFile enabled="false">`).
pub fn log_modes(text: &str) -> Vec<LogMode> {
    let mut out = Vec::new();
    log_elements(text, |name, parent, element, line| {
        let mut push = |setting: String, effect| {
            out.push(LogMode {
                setting,
                effect,
                line,
            })
        };
        if name == "log" {
            let mode = attribute(element, "centralLogFileMode");
            if mode.trim().eq_ignore_ascii_case("CentralBinary") {
                push(
                    format!("<log centralLogFileMode=\"{}\">", mode.trim()),
                    "IIS writes one binary log for all sites, no W3C text log",
                );
            }
            return;
        }
        let target = attribute(element, "logTargetW3C");
        if target.trim().eq_ignore_ascii_case("ETW") {
            push(
                format!("<{name} logTargetW3C=\"{}\"> in <{parent}>", target.trim()),
                "W3C logging goes to Event Tracing for Windows only, no log file",
            );
        }
        if name == "logFile"
            && attribute(element, "enabled")
                .trim()
                .eq_ignore_ascii_case("false")
        {
            let site = if parent == "site" {
                " of a <site>".to_string()
            } else {
                format!(" in <{parent}>")
            };
            push(
                format!("<logFile enabled=\"false\">{site}"),
                "logging is off, no log file",
            );
        }
    });
    out
}

/// Calls `visit(name, parent, element, line)` for each logging element of
/// applicationHost.config: `<log>`, `<log><centralW3CLogFile>`, `<siteDefaults><logFile>` and
/// `<site><logFile>`, in file order (those before any damage).
fn log_elements(text: &str, mut visit: impl FnMut(&str, &str, &BytesStart, u32)) {
    let lines = LineIndex::new(text);
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<String> = Vec::new();
    loop {
        let before = reader.buffer_position() as usize;
        let (element, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(_)) => {
                stack.pop();
                continue;
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => continue,
        };
        let name = String::from_utf8_lossy(element.local_name().as_ref()).into_owned();
        let parent = stack.last().map(String::as_str).unwrap_or("");
        let logs = matches!(
            (name.as_str(), parent),
            ("logFile", "siteDefaults")
                | ("logFile", "site")
                | ("centralW3CLogFile", "log")
                | ("log", "system.applicationHost")
        );
        if logs {
            let start = text[before.min(text.len())..]
                .find('<')
                .map_or(before, |i| before + i);
            visit(&name, parent, &element, lines.line(start));
        }
        if !empty {
            stack.push(name);
        }
    }
}

fn attribute(e: &BytesStart, key: &str) -> String {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == key.as_bytes())
        .map(|a| {
            a.unescape_value()
                .map(|v| v.into_owned())
                .unwrap_or_else(|_| String::from_utf8_lossy(&a.value).into_owned())
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SMALL: &str = r#"<configuration><system.applicationHost><sites>
  <site name="Default Web Site" id="1">
    <application path="/" applicationPool="DefaultAppPool">
      <virtualDirectory path="/" physicalPath="%SystemDrive%\inetpub\wwwroot" />
    </application>
    <bindings>
      <binding protocol="https" bindingInformation="*:443:" />
    </bindings>
  </site>
  <siteDefaults><bindings><binding protocol="http" bindingInformation="*:1:" /></bindings></siteDefaults>
</sites></system.applicationHost></configuration>"#;

    #[test]
    fn names_the_log_folders_of_the_defaults_the_sites_and_central_logging() {
        let text = r#"<configuration><system.applicationHost>
  <log><centralW3CLogFile enabled="false" directory="D:\CentralLogs" /></log>
  <sites>
    <site name="Default Web Site" id="1">
      <logFile directory="E:\IIS\Front" />
    </site>
    <site name="Exchange Back End" id="2"><logFile logFormat="W3C" /></site>
    <siteDefaults>
      <logFile logFormat="W3C" directory="%SystemDrive%\Logs\IIS" />
    </siteDefaults>
  </sites>
  <location path="x"><system.webServer><logFile directory="F:\not-a-site" /></system.webServer></location>
</system.applicationHost></configuration>"#;
        let dirs: Vec<(String, u32)> = log_directories(text)
            .into_iter()
            .map(|d| (d.directory, d.line))
            .collect();
        assert_eq!(
            dirs,
            [
                (r"D:\CentralLogs".to_string(), 2),
                (r"E:\IIS\Front".to_string(), 5),
                (r"%SystemDrive%\Logs\IIS".to_string(), 9),
            ]
        );
        // Damaged after the first site: what was read before stays.
        let cut = &text[..text.find("<site name=\"Exchange").unwrap()];
        assert_eq!(log_directories(&format!("{cut}<site <<")).len(), 2);
    }

    #[test]
    fn reads_sites_bindings_and_paths_with_lines() {
        let p = parse(SMALL, "x");
        assert!(p.error.is_none());
        assert_eq!(p.sites.len(), 1);
        let s = &p.sites[0];
        assert_eq!((s.name.as_str(), s.id), ("Default Web Site", 1));
        assert_eq!(
            s.bindings.len(),
            1,
            "siteDefaults bindings are not a site's"
        );
        assert_eq!(s.bindings[0].binding_information, "*:443:");
        let vd = &s.applications[0].virtual_directories[0];
        assert_eq!(vd.physical_path, r"%SystemDrive%\inetpub\wwwroot");
        let line = |p: &Option<exfleet_proto::v1::Provenance>| match p.as_ref().unwrap().locator {
            Some(exfleet_proto::v1::provenance::Locator::Line(l)) => l,
            _ => 0,
        };
        assert_eq!(line(&s.provenance), 2);
        assert_eq!(line(&vd.provenance), 4);
        assert_eq!(line(&s.bindings[0].provenance), 7);
    }

    const LOCATIONS: &str = r#"<configuration>
  <location path="Exchange Back End/EWS">
    <system.webServer>
      <security>
        <access sslFlags="Ssl, Ssl128" />
        <authentication>
          <windowsAuthentication enabled="true">
            <extendedProtection tokenChecking="Require" flags="None" />
          </windowsAuthentication>
        </authentication>
        <ipSecurity allowUnlisted="false">
          <add ipAddress="10.0.0.1" allowed="true" />
          <add ipAddress="10.0.0.2" allowed="true" />
        </ipSecurity>
      </security>
    </system.webServer>
  </location>
  <location path="Default Web Site/owa" />
  <system.webServer><security><access sslFlags="Ssl" /></security></system.webServer>
</configuration>"#;

    #[test]
    fn reads_the_security_settings_of_each_location() {
        let p = parse(LOCATIONS, "x");
        assert!(p.error.is_none());
        assert_eq!(p.locations.len(), 2);
        let ews = &p.locations[0];
        assert_eq!(ews.path, "Exchange Back End/EWS");
        assert_eq!(ews.token_checking, "Require");
        assert_eq!(ews.ssl_flags, "Ssl, Ssl128");
        assert_eq!(ews.ip_allow_unlisted, "false");
        assert_eq!(ews.ip_filter_entries, 2);
        let owa = &p.locations[1];
        assert_eq!(owa.path, "Default Web Site/owa");
        // Nothing set there; the server-level sslFlags outside any location is not its own.
        assert_eq!(
            (owa.token_checking.as_str(), owa.ssl_flags.as_str()),
            ("", "")
        );
    }

    /// The real Exchange 2019 file of tests/fixtures/iis: Extended Protection was never
    /// configured there (tokenChecking None where it is written at all).
    #[test]
    fn the_real_file_holds_its_locations_and_ep_values() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/iis/applicationHost.config"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let p = parse(&text, "x");
        assert!(p.error.is_none(), "{:?}", p.error);
        let find = |path: &str| p.locations.iter().find(|l| l.path == path).unwrap();
        assert_eq!(find("Exchange Back End/EWS").token_checking, "None");
        assert_eq!(find("Default Web Site/Autodiscover").token_checking, "None");
        assert_eq!(find("Default Web Site/owa").token_checking, "");
        assert_eq!(
            find("Default Web Site/PowerShell").ssl_flags,
            "SslNegotiateCert"
        );
        assert_eq!(
            find("Exchange Back End/PowerShell").ssl_flags,
            "Ssl, SslNegotiateCert, Ssl128"
        );
        assert_eq!(find("Default Web Site").ssl_flags, "Ssl, Ssl128");
        let written: Vec<&str> = p
            .locations
            .iter()
            .filter(|l| !l.token_checking.is_empty())
            .map(|l| l.token_checking.as_str())
            .collect();
        assert_eq!(written, ["None"; 4]);
    }

    #[test]
    fn unclosed_element_is_located_and_earlier_sites_kept() {
        let bad = SMALL.replace("</configuration>", "");
        let p = parse(&bad, "x");
        assert_eq!(p.sites.len(), 1);
        assert!(p.error.unwrap().message.contains("<configuration>"));
    }

    proptest! {
        #[test]
        fn never_panics_and_errors_have_a_line(s in "\\PC{0,300}") {
            let p = parse(&s, "x");
            if let Some(e) = p.error { prop_assert!(e.line >= 1); }
            for d in log_directories(&s) {
                prop_assert!(d.line >= 1 && !d.directory.is_empty());
            }
            for m in log_modes(&s) {
                prop_assert!(m.line >= 1 && !m.setting.is_empty());
            }
        }

        #[test]
        fn truncations_never_panic(cut in 0usize..1200) {
            let cut = cut.min(SMALL.len());
            let cut = (0..=cut).rev().find(|c| SMALL.is_char_boundary(*c)).unwrap();
            let _ = parse(&SMALL[..cut], "x");
        }
    }
}
