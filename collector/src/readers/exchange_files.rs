//! The files of the Exchange install that OWA and ECP need after an update
//! (collector/EVIDENCE.md): SharedWebConfig.config in FrontEnd\HttpProxy and ClientAccess
//! (present, well-formed XML), the web.config of each virtual directory (well-formed, no
//! literal `%ExchangeInstallDir%`), and the per-version resource folders of OWA and ECP with
//! the ECP DLL's version that selects one; and the Unified Messaging folders setup of Exchange
//! 2013 and 2016 expects.
//!
//! A file is only called missing when its folder is in the copy; a copy without the install
//! tree says nothing about it.

use exfleet_proto::kinds::ConfigFileKind;
use exfleet_proto::v1::artifact_status::State;
use exfleet_proto::v1::{ConfigFile, ExchangeFiles as Files};
use quick_xml::events::Event;
use quick_xml::Reader as XmlReader;
use sha2::{Digest, Sha256};

use crate::artifacts::{
    Artifact, CLIENT_ACCESS_SHARED_WEB_CONFIG, DEFAULT_INSTALL_PATHS, ECP_DLL, ECP_VERSIONS,
    FRONT_END_SHARED_WEB_CONFIG, OWA_AUTH_VERSIONS, OWA_PREM_VERSIONS, UM_FOLDERS, WEB_CONFIGS,
};
use crate::files::ServerFiles;
use crate::provenance;
use crate::readers::Reader;
use crate::sink::Sink;
use crate::text::{decode, LineIndex};

/// Reads the install's OWA/ECP files.
pub struct ExchangeFiles;

const UNEXPANDED: &str = "%ExchangeInstallDir%";
/// Lines with a literal variable listed per file (a broken file has a handful).
const MAX_UNEXPANDED_LINES: usize = 1_000;

impl Reader for ExchangeFiles {
    const NAME: &'static str = "exchange_files";

    fn read(&self, dir: &ServerFiles, out: &mut Sink) {
        let exchange = out.evidence().exchange.as_ref();
        // SharedWebConfig.config came with Exchange 2013's front end: 2010 never has one.
        let exchange_2010 = exchange.is_some_and(|e| e.setup_key == "v14");
        let install = exchange
            .map(|e| e.install_path.clone())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| DEFAULT_INSTALL_PATHS[0].into());
        let root = install.trim_end_matches('\\').to_string();
        let at = |rel: &str| format!(r"{root}\{rel}");
        // The folders of the SharedWebConfig files are the front end's and the back end's.
        let front_folder = FRONT_END_SHARED_WEB_CONFIG.folder();
        let front = dir.resolve(&at(front_folder));
        let client = dir.resolve(&at(CLIENT_ACCESS_SHARED_WEB_CONFIG.folder()));
        if front.is_none() && client.is_none() {
            out.absent(Self::NAME, &dir.expected(&at(front_folder)));
            return;
        }
        let mut files = Files {
            front_end_present: front.is_some(),
            client_access_present: client.is_some(),
            install_path: install.clone(),
            ..Default::default()
        };
        files.unified_messaging_present = dir.resolve(&at("UnifiedMessaging")).is_some();
        for folder in UM_FOLDERS {
            if dir
                .resolve(&at(&format!(r"UnifiedMessaging\{folder}")))
                .is_some()
            {
                files.um_folders.push(folder.to_string());
            }
        }
        let mut damaged = false;
        let shared: &[Artifact] = if exchange_2010 {
            &[]
        } else {
            &[FRONT_END_SHARED_WEB_CONFIG, CLIENT_ACCESS_SHARED_WEB_CONFIG]
        };
        for a in shared {
            if dir.resolve(&at(a.folder())).is_none() {
                continue;
            }
            let rel = a.path;
            let f = config_file(dir, &at(rel), rel, ConfigFileKind::SharedWebConfig, out);
            damaged |= !f.xml_error.is_empty();
            files.config_files.push(f);
        }
        // A virtual directory's web.config is checked when its folder exists.
        for a in WEB_CONFIGS {
            if dir.resolve(&at(a.folder())).is_none() {
                continue;
            }
            let rel = a.path;
            let f = config_file(dir, &at(rel), rel, ConfigFileKind::WebConfig, out);
            damaged |= !f.xml_error.is_empty();
            files.config_files.push(f);
        }
        files.owa_prem_versions = versions(dir, &at(OWA_PREM_VERSIONS.path));
        files.owa_auth_versions = versions(dir, &at(OWA_AUTH_VERSIONS.path));
        files.ecp_versions = versions(dir, &at(ECP_VERSIONS.path));
        let dll = at(ECP_DLL.path);
        if let Some(file) = dir.resolve(&dll) {
            let path = dir.display(&file);
            match dir.read(&file, super::MAX_PE_BYTES) {
                Ok(bytes) => match super::exsetup::read_version(&bytes) {
                    Ok(v) => files.ecp_dll_version = v.fixed_version,
                    Err((kind, msg)) => {
                        damaged = true;
                        out.error(Self::NAME, kind, &path, None, format!("{path}: {msg}"));
                    }
                },
                Err(refusal) => {
                    damaged = true;
                    out.refused(Self::NAME, &refusal, false);
                }
            }
        }
        let shown = front.or(client).expect("one of them is present");
        let path = dir.display(&shown);
        files.provenance = Some(provenance::file(Self::NAME, &path));
        out.evidence_mut().exchange_files = Some(files);
        let state = if damaged { State::Partial } else { State::Read };
        out.artifact(Self::NAME, &path, state);
    }
}

/// Reads one config file: present, well-formed, unexpanded variables, its hash.
fn config_file(
    dir: &ServerFiles,
    windows: &str,
    rel: &str,
    kind: ConfigFileKind,
    out: &mut Sink,
) -> ConfigFile {
    let mut f = ConfigFile {
        path: rel.to_string(),
        kind: kind.as_str().to_string(),
        ..Default::default()
    };
    let Some(file) = dir.resolve(windows) else {
        f.provenance = Some(provenance::file(
            ExchangeFiles::NAME,
            &dir.expected(windows),
        ));
        return f;
    };
    f.exists = true;
    let path = dir.display(&file);
    f.provenance = Some(provenance::file(ExchangeFiles::NAME, &path));
    let text = match dir.read(&file, crate::readers::MAX_CONFIG_BYTES) {
        Ok(b) => {
            f.sha256 = Sha256::digest(&b)
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect();
            decode(&b)
        }
        Err(refusal) => {
            f.xml_error = format!("unreadable: {}", refusal.message);
            out.refused(ExchangeFiles::NAME, &refusal, false);
            return f;
        }
    };
    f.unexpanded_lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(UNEXPANDED))
        .map(|(i, _)| i as u32 + 1)
        .take(MAX_UNEXPANDED_LINES)
        .collect();
    if let Some((offset, message)) = xml_error(&text) {
        let line = LineIndex::new(&text).line(offset);
        f.xml_error = format!("line {line}: {message}");
        out.error(
            ExchangeFiles::NAME,
            "malformed_xml",
            &path,
            Some(provenance::line(ExchangeFiles::NAME, &path, line)),
            format!("{path}: line {line}: {message}"),
        );
    }
    f
}

/// The first well-formedness error of an XML text (byte offset, message); an empty file or one
/// without a root element is an error too.
pub fn xml_error(text: &str) -> Option<(usize, String)> {
    let mut reader = XmlReader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut depth = 0usize;
    let mut roots = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Start(_)) => {
                if depth == 0 {
                    roots += 1;
                }
                depth += 1;
            }
            Ok(Event::Empty(_)) if depth == 0 => roots += 1,
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Eof) => {
                return if depth > 0 {
                    Some((
                        text.len(),
                        format!("{depth} element(s) not closed at the end"),
                    ))
                } else if roots == 0 {
                    Some((0, "no root element".into()))
                } else {
                    None
                };
            }
            Err(e) => {
                let mut message = e.to_string();
                crate::text::cap_field(&mut message, crate::text::MAX_FIELD_BYTES);
                return Some((reader.error_position() as usize, message));
            }
            Ok(_) => {}
        }
    }
}

/// Names of the subfolders of a folder that are versions (digits and dots), sorted.
fn versions(dir: &ServerFiles, windows: &str) -> Vec<String> {
    let Some(folder) = dir.resolve(windows) else {
        return Vec::new();
    };
    let mut out: Vec<String> = std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains('.') && n.chars().all(|c| c.is_ascii_digit() || c == '.'))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn well_formed_or_located() {
        assert_eq!(xml_error("<configuration><a/></configuration>"), None);
        let (at, _) = xml_error("<configuration>\n<a>\n</b>\n</configuration>").unwrap();
        assert_eq!(
            LineIndex::new("<configuration>\n<a>\n</b>\n</configuration>").line(at),
            3
        );
        assert!(xml_error("").is_some());
        assert!(xml_error("<configuration>").is_some());
    }

    proptest! {
        #[test]
        fn never_panics(s in "(<a>|</a>|<b/>|<!--|-->|\\PC{0,8}){0,20}") {
            let _ = xml_error(&s);
        }
    }
}
