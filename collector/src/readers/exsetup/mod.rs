//! `<MsiInstallPath>\Bin\ExSetup.exe`: the authoritative build of the server, from the PE
//! version resource (collector/EVIDENCE.md). Both the fixed file info and the
//! `StringFileInfo` FileVersion string (written zero-padded, `15.02.1748.039`) are kept.
//!
//! The install path comes from the SOFTWARE hive (read before this reader); without it the
//! default V15 and V14 locations are tried. A file that is not a PE, or a PE without a
//! version resource, is a located collection error.

use exfleet_proto::v1::artifact_status::State;
use exfleet_proto::v1::FileVersion;

use object::pe::{ImageNtHeaders32, ImageNtHeaders64};
use object::read::pe::{ImageNtHeaders, PeFile};
use object::LittleEndian as LE;

use crate::artifacts::{DEFAULT_INSTALL_PATHS, EXSETUP};
use crate::files::ServerFiles;
use crate::provenance;
use crate::readers::Reader;
use crate::sink::Sink;

pub mod version_info;

/// Reads ExSetup.exe's version resource.
pub struct ExSetup;

/// Resource type of version information.
const RT_VERSION: u16 = 16;

impl Reader for ExSetup {
    const NAME: &'static str = "exsetup";

    fn read(&self, dir: &ServerFiles, out: &mut Sink) {
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
            let win = format!(r"{}\{}", root.trim_end_matches('\\'), EXSETUP.path);
            dir.resolve(&win)
        });
        let Some(file) = found else {
            let first = format!(r"{}\{}", candidates[0].trim_end_matches('\\'), EXSETUP.path);
            out.absent(Self::NAME, &dir.expected(&first));
            return;
        };
        let path = dir.display(&file);
        let bytes = match dir.read(&file, super::MAX_PE_BYTES) {
            Ok(b) => b,
            Err(refusal) => {
                out.refused(Self::NAME, &refusal, true);
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

/// Reads the version resource of a PE image. Errors carry a stable kind and a message with
/// the file offset where the damage is.
pub fn read_version(bytes: &[u8]) -> Result<FileVersion, (&'static str, String)> {
    let resource = version_resource(bytes)?;
    let file_offset = resource.as_ptr() as usize - bytes.as_ptr() as usize;
    let info = version_info::parse(resource).map_err(|e| {
        let at = file_offset + e.offset;
        (
            "malformed_version_resource",
            format!("offset 0x{at:08x}: {}", e.what),
        )
    })?;
    let fixed_version = info
        .fixed_file_version
        .map(|v| format!("{}.{}.{}.{}", v[0], v[1], v[2], v[3]))
        .unwrap_or_default();
    let string_version = info.string("FileVersion").unwrap_or_default().to_string();
    if fixed_version.is_empty() && string_version.is_empty() {
        return Err((
            "missing_version_resource",
            format!(
                "offset 0x{file_offset:08x}: version resource has neither a fixed file info nor a FileVersion string"
            ),
        ));
    }
    Ok(FileVersion {
        path: String::new(),
        fixed_version,
        string_version,
        product_version: info
            .string("ProductVersion")
            .unwrap_or_default()
            .to_string(),
        provenance: None,
    })
}

/// The bytes of the first `RT_VERSION` resource.
fn version_resource(bytes: &[u8]) -> Result<&[u8], (&'static str, String)> {
    let malformed = |e: object::read::Error| ("malformed_pe", e.to_string());
    match object::FileKind::parse(bytes).map_err(malformed)? {
        object::FileKind::Pe32 => resource_of::<ImageNtHeaders32>(bytes),
        object::FileKind::Pe64 => resource_of::<ImageNtHeaders64>(bytes),
        _ => Err(("malformed_pe", "not a PE image".into())),
    }
}

fn resource_of<H: ImageNtHeaders>(bytes: &[u8]) -> Result<&[u8], (&'static str, String)> {
    let malformed = |e: object::read::Error| ("malformed_pe", e.to_string());
    let missing = |what: &str| ("missing_version_resource", what.to_string());
    let file = PeFile::<H>::parse(bytes).map_err(malformed)?;
    let sections = file.section_table();
    let dir = file
        .data_directories()
        .resource_directory(bytes, &sections)
        .map_err(malformed)?
        .ok_or_else(|| missing("no resource directory"))?;
    let root = dir.root().map_err(malformed)?;
    let version = root
        .entries
        .iter()
        .find(|e| e.name_or_id().id() == Some(RT_VERSION))
        .ok_or_else(|| missing("no version resource"))?;
    // type -> name -> language -> data: take the first entry at each level.
    let mut entry = version.data(dir).map_err(malformed)?;
    for _ in 0..2 {
        let table = entry
            .table()
            .ok_or_else(|| missing("version resource tree is malformed"))?;
        let first = table
            .entries
            .first()
            .ok_or_else(|| missing("empty version resource table"))?;
        entry = first.data(dir).map_err(malformed)?;
    }
    let data = entry
        .data()
        .ok_or_else(|| missing("version resource tree is malformed"))?;
    let (rva, size) = (data.offset_to_data.get(LE), data.size.get(LE) as usize);
    sections
        .pe_data_at(bytes, rva)
        .and_then(|d| d.get(..size))
        .ok_or_else(|| {
            (
                "malformed_pe",
                format!("version resource at RVA 0x{rva:08x} is outside the file"),
            )
        })
}
