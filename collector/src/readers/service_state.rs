//! Saved service-state files in `ExchangeSetupLogs`: `ServiceState.xml` (SU installs),
//! `ServiceState<version>.xml` (CU setup) and `ServiceStartupMode.xml`. Setup writes them
//! before it stops services and deletes them when it restores them, so a file left behind
//! means a run did not finish, and the file says what the services were.
//!
//! The files are PowerShell CLIXML. The reader takes, from each object or dictionary entry,
//! the service name and start mode it saved; a damaged file keeps what was read before the
//! damage, with the offset of the damage recorded.

use exfleet_proto::v1::artifact_status::State;
use exfleet_proto::v1::{SavedService, ServiceStateFile};
use quick_xml::events::Event;
use quick_xml::Reader as XmlReader;

use crate::artifacts::SERVICE_STATE;
use crate::files::ServerFiles;
use crate::provenance;
use crate::readers::Reader;
use crate::sink::Sink;
use crate::text::{cap_field, MAX_FIELD_BYTES};

/// Reads the saved service-state files.
pub struct ServiceState;

/// Names of properties that hold the service name and the saved start mode, in CLIXML
/// objects (`<S N="Name">`) and hashtable entries (`<S N="Key">`).
const NAME_PROPS: [&str; 3] = ["Name", "ServiceName", "Key"];
const MODE_PROPS: [&str; 4] = ["StartMode", "StartType", "StartupType", "Value"];

/// Whether a file name is one of the state files.
pub fn is_state_file(name: &str) -> bool {
    SERVICE_STATE.iter().any(|a| a.matches(name))
}

impl Reader for ServiceState {
    const NAME: &'static str = "service_state";

    fn read(&self, dir: &ServerFiles, out: &mut Sink) {
        // Every pattern is of the same folder.
        let folder = SERVICE_STATE[0].folder();
        let Some(logs) = dir.resolve(folder) else {
            out.absent(Self::NAME, &dir.expected(folder));
            return;
        };
        let mut files: Vec<_> = std::fs::read_dir(&logs)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| is_state_file(&e.file_name().to_string_lossy()))
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        if files.is_empty() {
            out.absent(Self::NAME, &dir.expected(SERVICE_STATE[0].path));
        }
        for file in files {
            let path = dir.display(&file);
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let meta = std::fs::metadata(&file).ok();
            let modified_at_ms = meta
                .as_ref()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis() as i64);
            let bytes = match dir.read(&file, crate::readers::MAX_CONFIG_BYTES) {
                Ok(b) => b,
                Err(refusal) => {
                    out.refused(Self::NAME, &refusal, true);
                    continue;
                }
            };
            let text = crate::text::decode(&bytes);
            let (services, damage, dropped) = saved_services_capped(&text);
            if dropped > 0 {
                out.error(
                    Self::NAME,
                    "kept_truncated",
                    &path,
                    None,
                    format!("{path}: {dropped} more saved services than the {MAX_SERVICES} kept"),
                );
            }
            let state = match damage {
                None => State::Read,
                Some((offset, message)) => {
                    let loc = provenance::offset(Self::NAME, &path, offset);
                    out.error(
                        Self::NAME,
                        "malformed_xml",
                        &path,
                        Some(loc),
                        format!("{path}: at byte {offset}: {message}"),
                    );
                    State::Partial
                }
            };
            out.evidence_mut()
                .service_state_files
                .push(ServiceStateFile {
                    name,
                    modified_at_ms,
                    size: bytes.len() as u64,
                    services,
                    provenance: Some(provenance::file(Self::NAME, &path)),
                });
            out.artifact(Self::NAME, &path, state);
        }
    }
}

/// Services kept per file (a server has a few hundred); the rest are counted.
pub const MAX_SERVICES: usize = 2_000;

/// The services a CLIXML state file saved, and the first damage met (offset in the decoded
/// text, message).
pub fn saved_services(text: &str) -> (Vec<SavedService>, Option<(u64, String)>) {
    let (services, damage, _) = saved_services_capped(text);
    (services, damage)
}

/// [`saved_services`], at most [`MAX_SERVICES`] of them with names and modes cut at
/// [`MAX_FIELD_BYTES`], and how many more there were.
pub fn saved_services_capped(text: &str) -> (Vec<SavedService>, Option<(u64, String)>, u64) {
    let mut reader = XmlReader::from_str(text);
    let mut out: Vec<SavedService> = Vec::new();
    let mut seen: std::collections::HashSet<String> = Default::default();
    let mut dropped = 0u64;
    // One record per open <Obj> or <En>: (name, start mode).
    let mut records: Vec<(String, String)> = Vec::new();
    // The N attribute of the open <S>/<ToString>-holding element, and its text.
    let mut prop: Option<String> = None;
    let mut value = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let tag = e.local_name();
                match tag.as_ref() {
                    b"Obj" | b"En" => records.push(Default::default()),
                    b"S" | b"ToString" | b"I32" => {
                        prop = e
                            .try_get_attribute("N")
                            .ok()
                            .flatten()
                            .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
                            .or_else(|| (tag.as_ref() == b"ToString").then(|| "ToString".into()));
                        value.clear();
                    }
                    _ => {}
                }
            }
            Ok(Event::Text(t)) => {
                if prop.is_some() {
                    if let Ok(t) = t.decode() {
                        value.push_str(&t);
                    }
                }
            }
            Ok(Event::End(e)) => match e.local_name().as_ref() {
                b"Obj" | b"En" => {
                    if let Some((name, mode)) = records.pop() {
                        if name.is_empty() || seen.contains(&name) {
                        } else if out.len() >= MAX_SERVICES {
                            dropped += 1;
                        } else {
                            seen.insert(name.clone());
                            out.push(SavedService {
                                name,
                                start_mode: mode,
                            });
                        }
                    }
                }
                b"S" | b"ToString" | b"I32" => {
                    if let (Some(p), Some(rec)) = (prop.take(), records.last_mut()) {
                        let mut v = value.trim().to_string();
                        cap_field(&mut v, MAX_FIELD_BYTES);
                        if NAME_PROPS.contains(&p.as_str()) && rec.0.is_empty() {
                            rec.0 = v;
                        } else if MODE_PROPS.contains(&p.as_str()) && rec.1.is_empty() {
                            rec.1 = v;
                        }
                    }
                }
                _ => {}
            },
            Ok(Event::Eof) => return (out, None, dropped),
            Err(e) => {
                let mut message = e.to_string();
                cap_field(&mut message, MAX_FIELD_BYTES);
                return (out, Some((reader.error_position(), message)), dropped);
            }
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn objects_and_hashtable_entries() {
        let xml = r#"<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">
  <Obj RefId="0"><TN RefId="0"><T>System.Management.ManagementObject</T></TN>
    <Props><S N="Name">MSExchangeADTopology</S><S N="StartMode">Auto</S><S N="State">Running</S></Props>
  </Obj>
  <Obj RefId="1"><DCT>
    <En><S N="Key">W3SVC</S><S N="Value">Automatic</S></En>
    <En><S N="Key">MSExchangeIMAP4</S><S N="Value">Manual</S></En>
  </DCT></Obj>
</Objs>"#;
        let (s, damage) = saved_services(xml);
        assert!(damage.is_none());
        let got: Vec<(&str, &str)> = s
            .iter()
            .map(|s| (s.name.as_str(), s.start_mode.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("MSExchangeADTopology", "Auto"),
                ("W3SVC", "Automatic"),
                ("MSExchangeIMAP4", "Manual")
            ]
        );
    }

    #[test]
    fn damage_keeps_what_came_before_and_says_where() {
        let xml = "<Objs><Obj><En><S N=\"Key\">W3SVC</S></En><En><S N=\"Key\">X</S></Oops>";
        let (s, damage) = saved_services(xml);
        assert_eq!(s.len(), 1);
        let (offset, _) = damage.unwrap();
        assert!(offset > 40, "{offset}");
    }

    #[test]
    fn state_file_names() {
        assert!(is_state_file("ServiceState.xml"));
        assert!(is_state_file("servicestate15.2.1544.4.xml"));
        assert!(is_state_file("ServiceStartupMode.xml"));
        assert!(!is_state_file("ServiceControl.log"));
    }

    proptest! {
        #[test]
        fn never_panics(s in "(<Obj>|<En>|</Obj>|</En>|<S N=\"Key\">|<S N=\"Value\">|</S>|\\PC{0,10}){0,30}") {
            let _ = saved_services(&s);
        }
    }
}
