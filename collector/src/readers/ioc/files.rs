//! Suspicious files, listed on every run (they are few; the analyzer judges them, where
//! Test-ProxyLogon looks only after a log hit): LSASS dumps (`lsass.*dmp` under `C:\root` and
//! `%WINDIR%\Temp`), archives (`.7z`, `.zip`, `.rar` under `%ProgramData%`), and every `.aspx`
//! file of the folders where web shells were found (`inetpub\wwwroot\aspnet_client`, the front
//! end's `owa\auth` and `ecp\auth`) with its SHA-256, so that the analyzer can tell a file no
//! other server of the same build has.

use exfleet_proto::kinds::IocKind;
use exfleet_proto::v1::IocMatch;
use sha2::{Digest, Sha256};

use super::{modified_ms, walk, windows_folder, Scan, MAX_FILES};
use crate::artifacts::{Artifact, IOC_FILES};
use crate::files::ServerFiles;
use crate::provenance;
use crate::readers::Reader;

/// Largest .aspx file hashed (a page is a few KB; a larger one is listed without its hash).
const MAX_HASHED: u64 = 16 << 20;

/// What a listed file is, by the artifact that found it.
fn kind_of(a: &Artifact) -> IocKind {
    let name = a.name().to_ascii_lowercase();
    if name.starts_with("lsass") {
        IocKind::LsassDump
    } else if name.ends_with(".aspx") {
        IocKind::AspxFile
    } else {
        IocKind::SuspiciousArchive
    }
}

/// Lists the suspicious files and the web folders' .aspx files: each folder of the table
/// walked once, its files sorted by the artifacts of that folder.
pub fn scan(dir: &ServerFiles, install: &str, scan: &mut Scan) {
    let mut folders: Vec<(String, Vec<&Artifact>)> = Vec::new();
    for a in &IOC_FILES {
        scan.found.coverage_of(&kind_of(a));
        let folder = windows_folder(a, install);
        match folders.iter_mut().find(|(f, _)| *f == folder) {
            Some((_, list)) => list.push(a),
            None => folders.push((folder, vec![a])),
        }
    }
    for (folder, artifacts) in folders {
        list(dir, scan, &folder, &artifacts);
    }
}

/// Lists the files below `windows_folder` that an artifact of it matches. [`IocMatch::url`]
/// names a web folder's file the same way on every server (`FrontEnd\HttpProxy\owa\auth\x.aspx`,
/// whatever the install's drive), so that the analyzer can compare servers.
fn list(dir: &ServerFiles, scan: &mut Scan, windows_folder: &str, artifacts: &[&Artifact]) {
    let Some(root) = dir.resolve(windows_folder) else {
        return;
    };
    let mut seen = 0usize;
    let mut found = Vec::new();
    walk(&root, &mut |path, meta| {
        seen += 1;
        if seen > MAX_FILES {
            return false;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(a) = artifacts.iter().find(|a| a.matches(&name)) {
            found.push((
                kind_of(a),
                path.to_path_buf(),
                meta.len(),
                modified_ms(meta),
            ));
        }
        true
    });
    let folder_label = windows_folder
        .rsplit_once(r"\FrontEnd\")
        .map_or(windows_folder.to_string(), |(_, rest)| {
            format!(r"FrontEnd\{rest}")
        });
    for (kind, path, size, modified) in found {
        let display = dir.display(&path);
        let relative = path
            .strip_prefix(&root)
            .map(|p| {
                p.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("\\")
            })
            .unwrap_or_default();
        let mut sha256 = String::new();
        let mut bytes = 0;
        if kind == IocKind::AspxFile && size <= MAX_HASHED {
            match dir.read(&path, MAX_HASHED) {
                Ok(b) => {
                    bytes = b.len() as u64;
                    sha256 = Sha256::digest(&b)
                        .iter()
                        .map(|x| format!("{x:02x}"))
                        .collect();
                }
                Err(r) => scan.error(r.kind, &r.path, r.message),
            }
        }
        scan.found
            .covered(std::slice::from_ref(&kind), "", bytes, (0, 0));
        scan.found.found(
            kind,
            IocMatch {
                file: display.clone(),
                time_ms: modified,
                url: format!("{folder_label}\\{relative}"),
                detail: format!("{size} bytes"),
                sha256,
                provenance: Some(provenance::file(super::Ioc::NAME, &display)),
                ..Default::default()
            },
        );
    }
    if seen > MAX_FILES {
        let shown = dir.display(&root);
        scan.error(
            "too_many_files",
            &shown,
            format!("{shown}: more than {MAX_FILES} files; the rest are not listed"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str) -> Option<IocKind> {
        IOC_FILES.iter().find(|a| a.matches(name)).map(kind_of)
    }

    #[test]
    fn names_as_the_reference_matches_them() {
        assert_eq!(kind("lsass.dmp"), Some(IocKind::LsassDump));
        assert_eq!(kind("LSASS.exe_230301.DMP"), Some(IocKind::LsassDump));
        assert_eq!(kind("lsass.txt"), None);
        assert_eq!(kind("mylsass.dmp"), None);
        assert_eq!(kind("out.ZIP"), Some(IocKind::SuspiciousArchive));
        assert_eq!(kind("a.7z"), Some(IocKind::SuspiciousArchive));
        assert_eq!(kind("x.rar"), Some(IocKind::SuspiciousArchive));
        assert_eq!(kind("x.zipx"), None);
        assert_eq!(kind("shell.ASPX"), Some(IocKind::AspxFile));
    }
}
