//! `setup.install-from-bin`.

use std::sync::LazyLock;

use regex::Regex;

use super::reviewer::{context_hit, pattern, review, Context, Hit, Scope};
use super::run_evidence;
use crate::catalog::Build;
use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, line_of, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
The last upgrade run started the installed setup.exe from the installation's own Bin folder (found on PATH) instead of the new media's, so nothing was upgraded (it may still have stopped and disabled services): its source dir is `...\\V15\\Bin` and its setup version the installed build's line; or, as the reference reviewer infers it (\"Same build number detected\"), the setup version is the locally installed build (or the same line) in an upgrade run (mode Upgrade or none given) whose source dir is not logged; or setup's own scripts were not found under `V15\\Bin` (the reviewer's context check).
## Evidence
The run's sourcedir, its setup version and the locally installed version (the mode when the same build alone decides), or the lines of the context check.
## Action
Start setup.exe from the mounted media by its full path (e.g. `D:\\Setup.exe /m:upgrade ...`) in an elevated prompt; check the services it left stopped or disabled.
## Source
\"Exchange Server 2019 setup does not run as expected if started from PowerShell using Setup.exe\" (Microsoft Learn), also in Repair failed installations of Exchange cumulative and security updates (Microsoft Learn); CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts): same build number detected (\"make sure you do '.\\setup.exe'\").";

/// `setup.install-from-bin`; its catalog entry is [`DOC`].
pub struct InstallFromBin;

/// Whether a run started setup.exe from an installation's Bin folder.
pub fn from_bin(source_dir: &str, setup_version: &str, previous: &str, install_path: &str) -> bool {
    let src = source_dir
        .trim_end_matches(['\\', '/'])
        .to_ascii_lowercase();
    let install_bin = format!(
        "{}\\bin",
        install_path.trim_end_matches('\\').to_ascii_lowercase()
    );
    let in_bin = src.ends_with("\\v15\\bin")
        || src.ends_with("\\v14\\bin")
        || (!install_path.is_empty() && src == install_bin);
    let same_build = match (Build::parse(setup_version), Build::parse(previous)) {
        (Some(a), Some(b)) => a.same_line(&b),
        _ => true,
    };
    in_bin && same_build
}

impl Rule for InstallFromBin {
    fn id(&self) -> &'static str {
        "setup.install-from-bin"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, h: &HostView, _: &crate::rules::Context, out: &mut Sink) {
        let signature = "setup.exe started from the installation's Bin folder";
        // The chain's check first, then the run's own sourcedir, then the reviewer's
        // same-build inference (the header), which cites least.
        let review = review(h);
        if let Some(hit) = review.and_then(|r| r.hits.iter().find(|x| x.id == self.id())) {
            out.push(self.finding(h, hit.title.clone(), hit.evidence.clone(), &action_of(DOC)));
            return;
        }
        let Some(r) = h.last_run() else { return };
        if !from_bin(
            &r.source_dir,
            &r.setup_version,
            &r.previous_version,
            &h.install_path,
        ) {
            if let Some(hit) = review.and_then(|r| r.header.iter().find(|x| x.id == self.id())) {
                let mut f =
                    self.finding(h, hit.title.clone(), hit.evidence.clone(), &action_of(DOC));
                f.signature = signature.into();
                out.push(f);
            }
            return;
        }
        let mut ev = vec![
            run_evidence(r),
            Evidence::new(
                format!(
                    "sourcedir {} is the installation's Bin folder",
                    r.source_dir
                ),
                &r.provenance,
            ),
            Evidence::new(
                format!(
                    "setup version {} against the installed {}",
                    r.setup_version, r.previous_version
                ),
                &r.provenance,
            ),
        ];
        if r.first_error_line > 0 {
            ev.push(Evidence::new(
                r.first_error.clone(),
                line_of(&r.provenance, r.first_error_line),
            ));
        }
        let mut f = self.finding(
            h,
            format!(
                "Setup was started from {} instead of the media",
                r.source_dir
            ),
            ev,
            &action_of(DOC),
        );
        f.signature = signature.into();
        out.push(f);
    }
}

/// In the first error's context: setup's scripts not found because setup.exe was started from
/// the Bin folder by PowerShell (the reference's context check).
pub fn detect(s: &Scope, cx: &Context) -> Option<Hit> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"The term '.+\\V15\\Bin\\ManageScheduledTask\.ps1' is not recognized as the name of a cmdlet, function, script file, or operable program",
        )
    });
    context_hit(
        s,
        cx,
        &RE,
        "setup.install-from-bin",
        "Setup's ManageScheduledTask.ps1 was not found: run setup again with '.\\setup.exe' from the media",
    )
}

/// The reviewer's header check: the installed build (`LocalBuildNumber`) is the setup build, or
/// the same line, and the mode is not Install: setup.exe was the installed one, found on PATH
/// ("Same build number detected"). Reported beside the chain, as the reviewer prints it before
/// it. The reviewer infers the Bin folder from the builds alone; where the run names its
/// source folder and that is not a Bin folder (the same CU run again from its media), the
/// inference is refuted and nothing is reported.
pub fn same_build(s: &Scope) -> Option<Hit> {
    let local = s.local_build()?;
    let setup = s.setup_build()?;
    let mode = s.mode();
    let source = s.run.source_dir.trim();
    let media = !source.is_empty() && !from_bin(source, setup, local, &s.h.install_path);
    // The reviewer excludes Install only; an uninstall (started from Programs and Features,
    // which runs the installed Bin\Setup.exe by design) or a recovery is no upgrade either.
    let upgrade = ["upgrade", "buildtobuildupgrade", "unknown"]
        .iter()
        .any(|m| mode.eq_ignore_ascii_case(m));
    if !upgrade || media {
        return None;
    }
    let same = local.trim() == setup.trim()
        || matches!((Build::parse(local), Build::parse(setup)), (Some(a), Some(b)) if a.same_line(&b));
    if !same {
        return None;
    }
    Some(s.hit(
        "setup.install-from-bin",
        format!(
            "Same build number detected: setup {setup} (mode {mode}) is the installed build {local}: setup.exe was started from the install's Bin folder on PATH; run '.\\setup.exe' from the media"
        ),
        vec![Evidence::new(
            format!(
                "setup version {setup}, locally installed version {local}, mode {mode}, sourcedir {}",
                if source.is_empty() { "not logged" } else { source }
            ),
            &s.run.provenance,
        )],
    ))
}

#[cfg(test)]
mod tests {
    use super::from_bin;

    #[test]
    fn bin_folder_and_same_build_make_a_from_bin_run() {
        let install = r"C:\Program Files\Microsoft\Exchange Server\V15\";
        assert!(from_bin(
            r"C:\Program Files\Microsoft\Exchange Server\V15\bin",
            "15.2.1544.14",
            "15.2.1544.4",
            install
        ));
        assert!(
            !from_bin(r"E:\", "15.2.1748.10", "15.2.1544.4", install),
            "the media"
        );
        assert!(
            !from_bin(r"D:\V15\Bin", "15.2.1748.10", "15.2.1544.4", install),
            "a new build is not the installed one"
        );
    }
}
