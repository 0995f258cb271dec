//! `<MsiInstallPath>\Bin\ExSetup.exe`: the authoritative build of the server, from the PE
//! version resource (reference/evidence.md). Both the fixed file info and the
//! `StringFileInfo` FileVersion string (written zero-padded, `15.02.1748.039`) are kept.
//!
//! The install path comes from the SOFTWARE hive (read before this reader); without it the
//! default V15 and V14 locations are tried. A file that is not a PE, or a PE without a
//! version resource, is a located collection error.

use exfleet_proto::v1::artifact_status::State;
use exfleet_proto::v1::FileVersion;

use crate::provenance;
use crate::readers::Reader;
use crate::sink::Sink;
use crate::triage::TriageDir;

/// Reads ExSetup.exe's version resource.
pub struct ExSetup;

const DEFAULT_INSTALL_PATHS: [&str; 2] = [
    r"C:\Program Files\Microsoft\Exchange Server\V15\",
    r"C:\Program Files\Microsoft\Exchange Server\V14\",
];

impl Reader for ExSetup {
    const NAME: &'static str = "exsetup";

    fn read(&self, dir: &TriageDir, out: &mut Sink) {
        let from_registry = out
            .evidence()
            .exchange
            .as_ref()
            .map(|e| e.install_path.clone())
            .filter(|p| !p.is_empty());
        let candidates: Vec<String> = match &from_registry {
            Some(p) => vec![p.clone()],
            None => DEFAULT_INSTALL_PATHS
                .iter()
                .map(|p| p.to_string())
                .collect(),
        };
        let found = candidates.iter().find_map(|root| {
            let win = format!(r"{}\Bin\ExSetup.exe", root.trim_end_matches('\\'));
            dir.resolve(&win)
        });
        let Some(file) = found else {
            let first = format!(r"{}\Bin\ExSetup.exe", candidates[0].trim_end_matches('\\'));
            out.absent(Self::NAME, &dir.expected(&first));
            return;
        };
        let path = dir.display(&file);
        let bytes = match std::fs::read(&file) {
            Ok(b) => b,
            Err(e) => {
                out.artifact(Self::NAME, &path, State::Unreadable);
                out.error(Self::NAME, "io", &path, None, format!("{path}: {e}"));
                return;
            }
        };
        match read_version(&bytes) {
            Ok(mut v) => {
                v.path = path.clone();
                v.provenance = Some(provenance::file(Self::NAME, &path));
                out.evidence_mut().exsetup = Some(v);
                out.artifact(Self::NAME, &path, State::Read);
            }
            Err((kind, msg)) => {
                out.artifact(Self::NAME, &path, State::Unreadable);
                out.error(Self::NAME, kind, &path, None, format!("{path}: {msg}"));
            }
        }
    }
}

/// Reads the version resource of a PE image. Errors carry a stable kind and a message.
pub fn read_version(bytes: &[u8]) -> Result<FileVersion, (&'static str, String)> {
    let pe = pelite::PeFile::from_bytes(bytes).map_err(|e| ("malformed_pe", e.to_string()))?;
    let resources = pe
        .resources()
        .map_err(|e| ("missing_version_resource", format!("no resources: {e}")))?;
    let info = resources.version_info().map_err(|e| {
        (
            "missing_version_resource",
            format!("no version resource: {e}"),
        )
    })?;
    let fixed = info.fixed();
    let lang = info.translation().first().copied();
    let string = |key: &str| lang.and_then(|l| info.value(l, key)).unwrap_or_default();
    let string_version = string("FileVersion");
    let fixed_version = fixed
        .map(|f| f.dwFileVersion.to_string())
        .unwrap_or_default();
    if fixed_version.is_empty() && string_version.is_empty() {
        return Err((
            "missing_version_resource",
            "version resource has neither a fixed file info nor a FileVersion string".into(),
        ));
    }
    Ok(FileVersion {
        path: String::new(),
        fixed_version,
        string_version: string_version.trim_end_matches('\0').to_string(),
        product_version: string("ProductVersion").trim_end_matches('\0').to_string(),
        provenance: None,
    })
}
