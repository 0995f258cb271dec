//! The Windows Installer cache (`%WINDIR%\Installer`): for each product and patch the
//! SOFTWARE hive says Windows Installer installed (`installer_packages`, from
//! [`super::hive::installer`]), whether its cached package is there and which revision it
//! carries. A missing or replaced package is what makes a CU or SU fail halfway through setup
//! ("the Windows Installer cache is missing files"), and what SetupAssist's `Msi Cache File`
//! test looks for; the analyzer judges it (`setup.ready.installer-cache`).
//!
//! A package is only called missing when its folder is in the copy: most triage copies do
//! not carry the cache, and say nothing of it.

pub mod summary;

use std::io::BufReader;

use exfleet_proto::kinds::CachedFileState;
use exfleet_proto::v1::artifact_status::State;

use crate::files::ServerFiles;
use crate::readers::Reader;
use crate::sink::Sink;

/// Where Windows keeps the cache (`%WINDIR%\Installer`); packages name their own paths.
pub const DEFAULT_CACHE: &str = r"C:\Windows\Installer";

/// Checks the cached package of every installed product and patch.
pub struct InstallerCache;

impl Reader for InstallerCache {
    const NAME: &'static str = "installer_cache";

    fn read(&self, dir: &ServerFiles, out: &mut Sink) {
        let mut packages = std::mem::take(&mut out.evidence_mut().installer_packages);
        // (folder as Windows names it, in the copy, any package unreadable)
        let mut folders: Vec<(String, bool, bool)> = Vec::new();
        for p in &mut packages {
            let local = p.local_package.trim().to_string();
            // A LocalPackage that names no file (empty, damaged) is judged against the default
            // cache: the package is as lost as a missing file.
            let (folder, name) = local
                .rsplit_once('\\')
                .filter(|(f, n)| !f.is_empty() && !n.is_empty())
                .map_or((DEFAULT_CACHE.to_string(), ""), |(f, n)| (f.to_string(), n));
            let at = match folders
                .iter()
                .position(|f| f.0.eq_ignore_ascii_case(&folder))
            {
                Some(i) => i,
                None => {
                    let present = dir.resolve(&folder).is_some();
                    folders.push((folder, present, false));
                    folders.len() - 1
                }
            };
            let file = if name.is_empty() {
                p.file_error = format!("LocalPackage {local:?} names no file");
                None
            } else {
                dir.resolve(&local)
            };
            let state = match file {
                None if folders[at].1 => CachedFileState::Missing,
                None => CachedFileState::NotCollected,
                Some(file) => match dir.open(&file) {
                    Err(refusal) => {
                        p.file_error = refusal.message.clone();
                        out.refused(Self::NAME, &refusal, false);
                        CachedFileState::Unreadable
                    }
                    Ok((f, _)) => match summary::revision_number(BufReader::new(f)) {
                        Ok(revision) => {
                            p.file_revision = revision.unwrap_or_default();
                            CachedFileState::Present
                        }
                        Err(e) => {
                            let shown = dir.display(&file);
                            p.file_error = format!("{shown}: {e}");
                            out.error(Self::NAME, "malformed", &shown, None, p.file_error.clone());
                            CachedFileState::Unreadable
                        }
                    },
                },
            };
            folders[at].2 |= state == CachedFileState::Unreadable;
            p.file_state = state.as_str().to_string();
        }
        if packages.is_empty() {
            // Nothing to check: say whether the cache is in the copy all the same.
            let folder = DEFAULT_CACHE.to_string();
            folders.push((folder.clone(), dir.resolve(&folder).is_some(), false));
        }
        for (folder, present, damaged) in &folders {
            match (present, damaged) {
                (false, _) => out.absent(Self::NAME, &dir.expected(folder)),
                (true, false) => out.artifact(Self::NAME, &dir.expected(folder), State::Read),
                (true, true) => out.artifact(Self::NAME, &dir.expected(folder), State::Partial),
            }
        }
        out.evidence_mut().installer_packages = packages;
    }
}
