//! Suspicious files, listed on every run (they are few; the analyzer judges them, where
//! Test-ProxyLogon looks only after a log hit): LSASS dumps (`lsass.*dmp` under `C:\root` and
//! `%WINDIR%\Temp`), archives (`.7z`, `.zip`, `.rar` under `%ProgramData%`), and the files of
//! the web folders where web shells were found ([`WEB_FILES`]: every file below the
//! `aspnet_client` of each web site's root, as applicationHost.config names the roots, see
//! [`site_roots`]; the files IIS runs or that configure it,
//! [`WEB_EXTENSIONS`](crate::artifacts::WEB_EXTENSIONS), below the
//! front end's `owa\auth` and `ecp\auth`), each with its SHA-256, so that the analyzer can
//! tell a file no other server of the same build has.
//!
//! A web folder's file is labelled ([`IocMatch::url`]) the same way on every server, whatever
//! the drive of the install or of the site's root: `FrontEnd\HttpProxy\owa\auth\logon.aspx`,
//! `Default Web Site\aspnet_client\system_web\x.aspx` (the site's name, then the path below
//! its root). A file two sites reach (two sites with one root) is listed once.

use std::collections::BTreeSet;

use exfleet_proto::kinds::IocKind;
use exfleet_proto::v1::provenance::Locator;
use exfleet_proto::v1::{IisSite, IocMatch};
use sha2::{Digest, Sha256};

use super::iis_log::{expand, folder_key};
use super::{modified_ms, walk, windows_folder, Scan, MAX_FILES};
use crate::artifacts::{
    Artifact, ASPNET_CLIENT, DEFAULT_SITE_ROOT, IIS_CONFIG, IOC_FILES, WEB_FILES,
};
use crate::files::ServerFiles;
use crate::provenance;
use crate::readers::Reader;

/// Largest web file hashed (a page is a few KB; a larger one is listed without its hash).
const MAX_HASHED: u64 = 16 << 20;

/// The site whose root [`DEFAULT_SITE_ROOT`] is, used when applicationHost.config names none.
pub const DEFAULT_SITE: &str = "Default Web Site";

/// What a listed file is, by the artifact that found it.
fn kind_of(a: &Artifact) -> IocKind {
    if WEB_FILES.contains(a) {
        IocKind::AspxFile
    } else if a.name().to_ascii_lowercase().starts_with("lsass") {
        IocKind::LsassDump
    } else {
        IocKind::SuspiciousArchive
    }
}

/// A web site's root folder, below which its `aspnet_client` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRoot {
    /// The site's name (applicationHost.config's `<site name>`), which labels its files.
    pub site: String,
    /// The root folder, a Windows path (without a drive: on the system drive).
    pub folder: String,
}

/// The root folder of every site of applicationHost.config (read by the `iis_config` reader
/// before this one: `sites`): the physical path of the root virtual directory (`/`) of the
/// site's root application (`/`), with the variables IIS expands there expanded (see
/// [`super::iis_log::folders`]), in configuration order, each folder once (case ignored;
/// the first site names it). A root with another variable, or on a network share, is left out
/// with a collection error naming the file and line. When no site names a root (the file is
/// missing, unreadable or damaged before its sites), the default site's
/// `%SystemDrive%\inetpub\wwwroot`; with a collection error saying so when the file is there
/// (a missing one is recorded absent by its reader: absence is not an error).
pub fn site_roots(dir: &ServerFiles, sites: &[IisSite], scan: &mut Scan) -> Vec<SiteRoot> {
    let mut out: Vec<SiteRoot> = Vec::new();
    for site in sites {
        let root = site
            .applications
            .iter()
            .filter(|a| a.path == "/")
            .flat_map(|a| &a.virtual_directories)
            .find(|v| v.path == "/");
        let Some(vdir) = root else {
            continue;
        };
        let written = vdir.physical_path.trim();
        if written.is_empty() {
            continue;
        }
        let name = if site.name.is_empty() {
            format!("site {}", site.id)
        } else {
            site.name.clone()
        };
        let (path, line) = match &vdir.provenance {
            Some(p) => (
                p.path.clone(),
                match p.locator {
                    Some(Locator::Line(l)) => l,
                    _ => 0,
                },
            ),
            None => (dir.expected(IIS_CONFIG.path), 0),
        };
        let folder = match expand(written) {
            Some(f) if !f.starts_with(r"\\") => f.trim_end_matches('\\').to_string(),
            Some(_) => {
                scan.error(
                    "network_site_root",
                    &path,
                    format!(
                        "{path}: line {line}: the root folder '{written}' of site '{name}' is on \
                         a network share; its {ASPNET_CLIENT} is not listed"
                    ),
                );
                continue;
            }
            None => {
                scan.error(
                    "unexpanded_variable",
                    &path,
                    format!(
                        "{path}: line {line}: the root folder '{written}' of site '{name}' holds \
                         an environment variable the collector does not know; its \
                         {ASPNET_CLIENT} is not listed"
                    ),
                );
                continue;
            }
        };
        if out
            .iter()
            .all(|o| folder_key(&o.folder) != folder_key(&folder))
        {
            out.push(SiteRoot { site: name, folder });
        }
    }
    if out.is_empty() {
        if let Some(file) = dir.resolve(IIS_CONFIG.path) {
            let config = dir.display(&file);
            scan.error(
                "no_site_root",
                &config,
                format!(
                    "{config}: no web site's root folder read (the file is unreadable, damaged \
                     before its sites, or names none); {ASPNET_CLIENT} is listed below the \
                     default site's root, %SystemDrive%\\{DEFAULT_SITE_ROOT}, only"
                ),
            );
        }
        out.push(SiteRoot {
            site: DEFAULT_SITE.into(),
            folder: DEFAULT_SITE_ROOT.into(),
        });
    }
    out
}

/// A folder to list: its Windows path, the label its files' paths start with, and the
/// artifacts that pick its files.
struct Folder {
    windows: String,
    label: String,
    artifacts: Vec<&'static Artifact>,
}

/// Lists the suspicious files and the web folders' files: each folder walked once, its files
/// sorted by the artifacts of that folder; `sites` are applicationHost.config's (see
/// [`site_roots`]).
pub fn scan(dir: &ServerFiles, install: &str, sites: &[IisSite], scan: &mut Scan) {
    let mut folders: Vec<Folder> = Vec::new();
    let mut add = |windows: String, label: String, a: &'static Artifact| match folders
        .iter_mut()
        .find(|f| f.windows == windows)
    {
        Some(f) => f.artifacts.push(a),
        None => folders.push(Folder {
            windows,
            label,
            artifacts: vec![a],
        }),
    };
    for a in IOC_FILES.iter().chain(&WEB_FILES) {
        scan.found.coverage_of(&kind_of(a));
    }
    for a in &IOC_FILES {
        let folder = windows_folder(a, install);
        add(folder.clone(), folder, a);
    }
    let [aspnet_client, auth @ ..] = &WEB_FILES;
    for root in site_roots(dir, sites, scan) {
        add(
            format!(r"{}\{ASPNET_CLIENT}", root.folder),
            format!(r"{}\{ASPNET_CLIENT}", root.site),
            aspnet_client,
        );
    }
    for a in auth {
        let folder = windows_folder(a, install);
        // The install's folder from `FrontEnd\` on, whatever the install's drive and path.
        let label = folder
            .rsplit_once(r"\FrontEnd\")
            .map_or(folder.clone(), |(_, rest)| format!(r"FrontEnd\{rest}"));
        add(folder, label, a);
    }
    let mut listed = BTreeSet::new();
    for folder in folders {
        list(dir, scan, &folder, &mut listed);
    }
}

/// Lists the files below a folder that an artifact of it matches, each labelled
/// `<label>\<path below the folder>`; a file already `listed` (by its resolved path, case
/// ignored) is skipped.
fn list(dir: &ServerFiles, scan: &mut Scan, folder: &Folder, listed: &mut BTreeSet<String>) {
    let Some(root) = dir.resolve(&folder.windows) else {
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
        if let Some(a) = folder.artifacts.iter().find(|a| a.matches(&name)) {
            if listed.insert(path.to_string_lossy().to_lowercase()) {
                found.push((
                    kind_of(a),
                    path.to_path_buf(),
                    meta.len(),
                    modified_ms(meta),
                ));
            }
        }
        true
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
                url: format!(r"{}\{relative}", folder.label),
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
    use exfleet_proto::v1::{IisApplication, IisVirtualDirectory};

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
        assert_eq!(kind("shell.ASPX"), None);
        assert!(WEB_FILES.iter().all(|a| kind_of(a) == IocKind::AspxFile));
    }

    /// (site, folder) or (kind, message) pairs.
    type Pairs = Vec<(String, String)>;

    /// The roots and the collection errors of `sites`, on a copy that holds only an
    /// applicationHost.config (`config`) or nothing.
    fn roots_of(sites: &[IisSite], config: bool) -> (Pairs, Pairs) {
        let tmp = tempfile::tempdir().unwrap();
        if config {
            let path = tmp.path().join(IIS_CONFIG.path.replace('\\', "/"));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, "<configuration><system.applicationHost>").unwrap();
        }
        let dir = ServerFiles::new(tmp.path());
        let mut scan = Scan::new(&dir, 0, Default::default());
        let roots = site_roots(&dir, sites, &mut scan)
            .into_iter()
            .map(|r| (r.site, r.folder))
            .collect();
        let errors = scan
            .errors
            .into_iter()
            .map(|(kind, _, _, message)| (kind, message))
            .collect();
        (roots, errors)
    }

    /// The real Exchange 2019 applicationHost.config of tests/fixtures/iis: the front end's
    /// site is rooted at the default folder, the back end's at the install's ClientAccess.
    #[test]
    fn the_site_roots_of_the_real_file() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/iis/applicationHost.config"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let parsed = crate::readers::iis_config::parse(&text, "applicationHost.config");
        assert!(parsed.error.is_none(), "{:?}", parsed.error);
        let (roots, errors) = roots_of(&parsed.sites, true);
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(
            roots,
            [
                (
                    "Default Web Site".to_string(),
                    r"inetpub\wwwroot".to_string()
                ),
                (
                    "Exchange Back End".to_string(),
                    r"C:\Program Files\Microsoft\Exchange Server\V15\ClientAccess".to_string()
                ),
            ]
        );
    }

    fn site(name: &str, id: u32, root: &str, line: u32) -> IisSite {
        let vdir = |path: &str, physical: &str| IisVirtualDirectory {
            path: path.into(),
            physical_path: physical.into(),
            provenance: Some(provenance::line(
                "iis_config",
                "applicationHost.config",
                line,
            )),
        };
        IisSite {
            name: name.into(),
            id,
            applications: vec![
                // Another application's root is not the site's.
                IisApplication {
                    path: "/owa".into(),
                    virtual_directories: vec![vdir("/", r"E:\elsewhere")],
                    ..Default::default()
                },
                IisApplication {
                    path: "/".into(),
                    virtual_directories: vec![vdir("/images", r"F:\images"), vdir("/", root)],
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn each_root_once_moved_roots_kept_and_unknown_variables_said() {
        let (roots, errors) = roots_of(
            &[
                site("Default Web Site", 1, r"D:\wwwroot\", 3),
                site("Copy", 2, r"d:/WWWROOT", 9),
                site("Intranet", 3, r"%SITES%\intranet", 12),
                site("Share", 4, r"\\files\web", 15),
                site("Classic", 5, r"%SystemDrive%\inetpub\classic", 18),
            ],
            true,
        );
        assert_eq!(
            roots,
            [
                ("Default Web Site".to_string(), r"D:\wwwroot".to_string()),
                ("Classic".to_string(), r"inetpub\classic".to_string()),
            ]
        );
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert_eq!(errors[0].0, "unexpanded_variable");
        assert!(
            errors[0]
                .1
                .contains("applicationHost.config: line 12: the root folder '%SITES%\\intranet' of site 'Intranet'"),
            "{errors:#?}"
        );
        assert_eq!(errors[1].0, "network_site_root");
        assert!(errors[1].1.contains("line 15"), "{errors:#?}");
    }

    #[test]
    fn without_sites_the_default_root_with_an_error_saying_why() {
        // A damaged file that names no site: the default, and why.
        let (roots, errors) = roots_of(&[], true);
        let default = [(DEFAULT_SITE.to_string(), DEFAULT_SITE_ROOT.to_string())];
        assert_eq!(roots, default);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, "no_site_root");
        assert!(
            errors[0].1.contains(
                "Windows/System32/inetsrv/config/applicationHost.config: no web site's root \
                 folder read"
            ),
            "{errors:#?}"
        );
        // No file: the default; the file's absence is its reader's to record.
        let (roots, errors) = roots_of(&[], false);
        assert_eq!(roots, default);
        assert!(errors.is_empty(), "{errors:#?}");
    }

    proptest::proptest! {
        /// Whatever a site's root is written as: no panic, one root at least, each folder
        /// once, each error located by its file and line.
        #[test]
        fn any_written_root_gives_roots_once_and_located_errors(
            written in proptest::collection::vec("[%A-Za-z:\\\\/. _é]{0,30}", 0..5)
        ) {
            let sites: Vec<IisSite> = written
                .iter()
                .enumerate()
                .map(|(i, w)| site(&format!("s{i}"), i as u32, w, i as u32 + 1))
                .collect();
            let (roots, errors) = roots_of(&sites, true);
            proptest::prop_assert!(!roots.is_empty());
            let mut keys: Vec<String> = roots.iter().map(|(_, f)| folder_key(f)).collect();
            keys.sort();
            keys.dedup();
            proptest::prop_assert_eq!(keys.len(), roots.len());
            for (_, message) in errors {
                proptest::prop_assert!(
                    message.starts_with("Windows/System32/inetsrv/config/applicationHost.config")
                        || message.starts_with("applicationHost.config: line "),
                    "{}", message
                );
            }
        }
    }
}
