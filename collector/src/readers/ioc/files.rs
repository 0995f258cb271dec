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
use super::{modified_ms, walk, windows_folder, Links, Scan, MAX_FILES};
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
/// [`super::iis_log::expand`]; `install` is the install folder, for `%ExchangeInstallPath%`),
/// in configuration order, each folder once (case ignored; named by the site of the lowest
/// id, 1 being the default site, or the first when the ids are not known). A root with
/// another variable, or on a network share, is left out with a collection error naming the
/// file and line. When no site was read at all (the file is missing, unreadable, or damaged
/// before its sites), the default site's `%SystemDrive%\inetpub\wwwroot`, with a collection
/// error saying so when the file is there (a missing one is recorded absent by its reader:
/// absence is not an error). When sites were read but none gave a root (each left out says
/// why), none: the default folder may be no site's root.
pub fn site_roots(
    dir: &ServerFiles,
    install: &str,
    sites: &[IisSite],
    scan: &mut Scan,
) -> Vec<SiteRoot> {
    let mut out: Vec<(u32, SiteRoot)> = Vec::new();
    let mut unrooted = true;
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
        unrooted = false;
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
        let folder = match expand(written, install) {
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
        match out
            .iter_mut()
            .find(|(_, o)| folder_key(&o.folder) == folder_key(&folder))
        {
            // Ids of 0 are not known: file order then.
            Some((id, o)) if site.id != 0 && (*id == 0 || site.id < *id) => {
                *id = site.id;
                o.site = name;
            }
            Some(_) => {}
            None => out.push((site.id, SiteRoot { site: name, folder })),
        }
    }
    let config = dir.resolve(IIS_CONFIG.path).map(|f| dir.display(&f));
    if sites.is_empty() {
        if let Some(config) = config {
            scan.error(
                "no_site_root",
                &config,
                format!(
                    "{config}: no web site read (the file is unreadable, damaged before its \
                     sites, or names none); {ASPNET_CLIENT} is listed below the default site's \
                     root, %SystemDrive%\\{DEFAULT_SITE_ROOT}, only"
                ),
            );
        }
        return vec![SiteRoot {
            site: DEFAULT_SITE.into(),
            folder: DEFAULT_SITE_ROOT.into(),
        }];
    }
    if unrooted {
        let config = config.unwrap_or_else(|| dir.expected(IIS_CONFIG.path));
        scan.error(
            "no_site_root",
            &config,
            format!(
                "{config}: no web site of the {} read names a root folder (a root application \
                 '/' with a virtual directory '/'); no {ASPNET_CLIENT} is listed",
                sites.len()
            ),
        );
    }
    out.into_iter().map(|(_, r)| r).collect()
}

/// Files listed per web folder (a folder's own bound: an `aspnet_client` crowded with a
/// runtime's files does not push another folder's out); the rest are counted in the folder's
/// [`IocScan::folder`](exfleet_proto::v1::IocScan::folder) record.
pub const MAX_WEB_FILES: usize = 1_000;

/// A folder to list: its Windows path, the label its files' paths start with, and the
/// artifacts that pick its files.
struct Folder {
    windows: String,
    label: String,
    artifacts: Vec<&'static Artifact>,
}

impl Folder {
    /// A web folder ([`WEB_FILES`]): bounded by [`MAX_WEB_FILES`], with its own coverage
    /// record, links listed.
    fn web(&self) -> bool {
        self.artifacts.iter().all(|a| WEB_FILES.contains(a))
    }
}

/// Lists the suspicious files and the web folders' files: each folder walked once, its files
/// sorted by the artifacts of that folder; the front end's `owa\auth` and `ecp\auth` before
/// the sites' `aspnet_client`; `sites` are applicationHost.config's (see [`site_roots`]).
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
    for a in auth {
        let folder = windows_folder(a, install);
        // The install's folder from `FrontEnd\` on, whatever the install's drive and path.
        let label = folder
            .rsplit_once(r"\FrontEnd\")
            .map_or(folder.clone(), |(_, rest)| format!(r"FrontEnd\{rest}"));
        add(folder, label, a);
    }
    for root in site_roots(dir, install, sites, scan) {
        add(
            format!(r"{}\{ASPNET_CLIENT}", root.folder),
            format!(r"{}\{ASPNET_CLIENT}", root.site),
            aspnet_client,
        );
    }
    let mut listed = BTreeSet::new();
    for folder in folders {
        list(dir, scan, &folder, &mut listed);
    }
}

/// A file to list: what it is, where, its size and time, and for a link not followed (to a
/// folder, or dangling) what it points to.
struct Listed {
    kind: IocKind,
    path: std::path::PathBuf,
    size: u64,
    modified: i64,
    link: Option<String>,
}

/// Lists the files below a folder that an artifact of it matches, each labelled
/// `<label>\<path below the folder>`; a file already `listed` (by its resolved path, case
/// ignored) is skipped. A web folder's files beyond [`MAX_WEB_FILES`] are counted, not read.
fn list(dir: &ServerFiles, scan: &mut Scan, folder: &Folder, listed: &mut BTreeSet<String>) {
    let web = folder.web();
    if web {
        // Looked in, whether or not it is there.
        scan.found.coverage_in(&IocKind::AspxFile, &folder.label);
    }
    let Some(root) = dir.resolve(&folder.windows) else {
        return;
    };
    let links = if web { Links::Show } else { Links::Skip };
    let mut seen = 0usize;
    let mut over = 0usize;
    let mut found: Vec<Listed> = Vec::new();
    walk(&root, links, &mut |path, meta| {
        seen += 1;
        if seen > MAX_FILES {
            return false;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // A link to a folder is listed whatever its name: IIS serves what is below it.
        let link = meta.is_symlink();
        let Some(a) = folder.artifacts.iter().find(|a| link || a.matches(&name)) else {
            return true;
        };
        let key = path.to_string_lossy().to_lowercase();
        if listed.contains(&key) {
            return true;
        }
        if web && found.len() >= MAX_WEB_FILES {
            over += 1;
            return true;
        }
        listed.insert(key);
        found.push(Listed {
            kind: kind_of(a),
            path: path.to_path_buf(),
            size: meta.len(),
            modified: modified_ms(meta),
            link: link.then(|| {
                std::fs::read_link(path).map_or_else(
                    |e| format!("link, its target unreadable: {e}"),
                    |t| format!("link to {}", t.display()),
                )
            }),
        });
        true
    });
    for f in found {
        let display = dir.display(&f.path);
        let relative = f
            .path
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
        if f.kind == IocKind::AspxFile && f.link.is_none() && f.size <= MAX_HASHED {
            match dir.read(&f.path, MAX_HASHED) {
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
        let m = IocMatch {
            file: display.clone(),
            time_ms: f.modified,
            url: format!(r"{}\{relative}", folder.label),
            detail: f.link.unwrap_or_else(|| format!("{} bytes", f.size)),
            sha256,
            provenance: Some(provenance::file(super::Ioc::NAME, &display)),
            ..Default::default()
        };
        let kinds = std::slice::from_ref(&f.kind);
        scan.found.covered(kinds, "", bytes, (0, 0));
        if web {
            scan.found.covered(kinds, &folder.label, bytes, (0, 0));
            scan.found.listed(f.kind, &folder.label, m);
        } else {
            scan.found.found(f.kind, m);
        }
    }
    if over > 0 {
        for label in ["", folder.label.as_str()] {
            scan.found.coverage_in(&IocKind::AspxFile, label).overflow += over as u64;
        }
        let shown = dir.display(&root);
        scan.error(
            "too_many_files",
            &shown,
            format!(
                "{shown}: more than {MAX_WEB_FILES} files of the web folder '{}'; {over} not \
                 listed",
                folder.label
            ),
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
    use std::collections::BTreeMap;
    use std::path::Path;

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

    const INSTALL: &str = r"C:\Program Files\Microsoft\Exchange Server\V15\";

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
        let roots = site_roots(&dir, INSTALL, sites, &mut scan)
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
                site("Back", 6, r"%ExchangeInstallPath%ClientAccess", 21),
                site("Old", 7, r"%ProgramFiles(x86)%\old\", 24),
            ],
            true,
        );
        assert_eq!(
            roots,
            [
                ("Default Web Site".to_string(), r"D:\wwwroot".to_string()),
                ("Classic".to_string(), r"inetpub\classic".to_string()),
                (
                    "Back".to_string(),
                    r"C:\Program Files\Microsoft\Exchange Server\V15\ClientAccess".to_string()
                ),
                ("Old".to_string(), r"Program Files (x86)\old".to_string()),
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
    fn a_shared_root_is_named_by_the_lowest_site_id_else_by_file_order() {
        let (roots, _) = roots_of(
            &[
                site("Copy", 7, r"D:\wwwroot", 3),
                site("Default Web Site", 1, r"d:\WWWROOT\", 9),
                site("Later", 9, r"D:\wwwroot", 12),
            ],
            true,
        );
        assert_eq!(
            roots,
            [("Default Web Site".to_string(), r"D:\wwwroot".to_string())]
        );
        let (roots, _) = roots_of(
            &[site("First", 0, r"D:\w", 3), site("Second", 0, r"D:\w", 9)],
            true,
        );
        assert_eq!(roots, [("First".to_string(), r"D:\w".to_string())]);
    }

    #[test]
    fn sites_whose_roots_are_all_left_out_list_no_default_root() {
        let (roots, errors) = roots_of(
            &[
                site("Default Web Site", 1, r"\\files\web", 3),
                site("Intranet", 2, r"%SITES%\intranet", 9),
            ],
            true,
        );
        assert!(roots.is_empty(), "{roots:#?}");
        let kinds: Vec<&str> = errors.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kinds, ["network_site_root", "unexpanded_variable"]);
        // Sites without a root application: none, and said so.
        let (roots, errors) = roots_of(&[site("Bare", 1, "", 3)], true);
        assert!(roots.is_empty(), "{roots:#?}");
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].0, "no_site_root");
        assert!(
            errors[0]
                .1
                .contains("no web site of the 1 read names a root folder"),
            "{errors:#?}"
        );
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
                "Windows/System32/inetsrv/config/applicationHost.config: no web site read"
            ),
            "{errors:#?}"
        );
        // No file: the default; the file's absence is its reader's to record.
        let (roots, errors) = roots_of(&[], false);
        assert_eq!(roots, default);
        assert!(errors.is_empty(), "{errors:#?}");
    }

    proptest::proptest! {
        /// Whatever a site's root is written as: no panic, a root or an error saying why
        /// there is none, each folder once, each error located by its file and line.
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
            proptest::prop_assert!(!roots.is_empty() || !errors.is_empty());
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

    /// A server copy (system drive layout) with `files` (path below the root, contents).
    fn copy(files: &[(&str, &str)]) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = tmp.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
        }
        tmp
    }

    /// The AspxFile matches (label, detail, sha256), coverage rows by folder (files, bytes,
    /// overflow) and the collection errors (kind, message) of a scan of `tmp` with no site.
    #[allow(clippy::type_complexity)]
    fn listed(
        tmp: &Path,
    ) -> (
        Vec<(String, String, String)>,
        BTreeMap<String, (u64, u64, u64)>,
        Pairs,
    ) {
        let dir = ServerFiles::new(tmp);
        let mut s = Scan::new(&dir, 0, Default::default());
        scan(&dir, INSTALL, &[], &mut s);
        let errors = s.errors.into_iter().map(|(k, _, _, m)| (k, m)).collect();
        let (matches, scans) = s.found.into_parts();
        let aspx = IocKind::AspxFile.as_str();
        let matches = matches
            .into_iter()
            .filter(|m| m.indicator == aspx)
            .map(|m| (m.url, m.detail, m.sha256))
            .collect();
        let rows = scans
            .into_iter()
            .filter(|c| c.indicator == aspx)
            .map(|c| (c.folder, (c.files, c.bytes, c.overflow)))
            .collect();
        (matches, rows, errors)
    }

    const OWA_AUTH: &str =
        "Program Files/Microsoft/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth";

    /// The Crystal Reports runtime fills aspnet_client past the bound: the auth folders,
    /// listed first and bounded on their own, keep every file; aspnet_client's rest is
    /// counted in its row, read for no hash, and said.
    #[test]
    fn each_web_folder_has_its_own_bound_and_its_own_row() {
        let runtime = "inetpub/wwwroot/aspnet_client/system_web/4_0_30319/crystalreportviewers13";
        let mut files: Vec<(String, &str)> = (0..MAX_WEB_FILES + 5)
            .map(|i| (format!("{runtime}/f{i:05}.js"), "x"))
            .collect();
        files.push((format!("{OWA_AUTH}/logon.aspx"), "<%@ Page %>"));
        let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), *t)).collect();
        let tmp = copy(&files);
        let (matches, rows, errors) = listed(tmp.path());
        assert!(
            matches.iter().any(|(url, detail, sha)| url
                == r"FrontEnd\HttpProxy\owa\auth\logon.aspx"
                && detail == "11 bytes"
                && sha.len() == 64),
            "{:?}",
            &matches[..3]
        );
        let client = r"Default Web Site\aspnet_client";
        assert_eq!(
            matches
                .iter()
                .filter(|(u, _, _)| u.starts_with(client))
                .count(),
            MAX_WEB_FILES
        );
        assert_eq!(
            rows[client],
            (MAX_WEB_FILES as u64, MAX_WEB_FILES as u64, 5)
        );
        assert_eq!(rows[r"FrontEnd\HttpProxy\owa\auth"], (1, 11, 0));
        // Looked in, not there: its row all the same.
        assert_eq!(rows[r"FrontEnd\HttpProxy\ecp\auth"], (0, 0, 0));
        // The all-folders row: the folders' totals (only the kept files were read).
        assert_eq!(
            rows[""],
            (MAX_WEB_FILES as u64 + 1, MAX_WEB_FILES as u64 + 11, 5)
        );
        assert_eq!(rows.len(), 4, "{rows:#?}");
        let cut: Vec<&(String, String)> = errors
            .iter()
            .filter(|(k, _)| k == "too_many_files")
            .collect();
        assert_eq!(cut.len(), 1, "{errors:#?}");
        assert!(
            cut[0].1.contains(&format!(
                "more than {MAX_WEB_FILES} files of the web folder '{client}'; 5 not listed"
            )),
            "{cut:#?}"
        );
    }

    /// IIS serves a page linked into owa\auth: listed as the file it points to, hashed; a
    /// link to a folder (here a loop) is listed as the link, not walked.
    #[cfg(unix)]
    #[test]
    fn links_in_a_web_folder_are_listed() {
        let tmp = copy(&[
            ("elsewhere/shell.aspx", "<%@ Page Language=\"C#\" %>"),
            (&format!("{OWA_AUTH}/logon.aspx"), "ok"),
        ]);
        let auth = tmp.path().join(OWA_AUTH);
        std::os::unix::fs::symlink(tmp.path().join("elsewhere/shell.aspx"), auth.join("x.aspx"))
            .unwrap();
        std::os::unix::fs::symlink(&auth, auth.join("loop")).unwrap();
        let (matches, rows, errors) = listed(tmp.path());
        assert!(errors.is_empty(), "{errors:#?}");
        let sha: String = Sha256::digest(b"<%@ Page Language=\"C#\" %>")
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect();
        let owa = |name: &str| {
            matches
                .iter()
                .find(|(u, _, _)| u == &format!(r"FrontEnd\HttpProxy\owa\auth\{name}"))
                .cloned()
        };
        assert_eq!(
            owa("x.aspx"),
            Some((
                r"FrontEnd\HttpProxy\owa\auth\x.aspx".into(),
                "25 bytes".into(),
                sha
            ))
        );
        let (_, detail, hash) = owa("loop").expect("the link to a folder is listed");
        assert_eq!(detail, format!("link to {}", auth.display()));
        assert!(hash.is_empty());
        assert_eq!(rows[r"FrontEnd\HttpProxy\owa\auth"].0, 3, "{matches:#?}");
    }
}
