//! `setup.ready.vcredist-missing`.

use super::{exchange_15, software_read};
use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
A Visual C++ redistributable Exchange needs is not installed at the version setup requires, as SetupAssist's \"Microsoft Visual C++ 2012 / 2013\" tests read it: among the 64-bit Programs and Features entries (`HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall`; a 32-bit package, under WOW6432Node, does not count) whose DisplayName starts with `Microsoft Visual C++ 2012` (or `2013`), none has the DWORD `Version` 184610406 (11.0.61030; for 2013, 201367256 = 12.0.40664). Judged on Exchange 2013 and later, from a SOFTWARE hive read whole; the 2013 runtime is not required on Edge Transport servers (HealthChecker neither shows nor requires it there).
## Evidence
Per runtime, the entries found with their DisplayVersion (an outdated one), or that none is installed.
## Action
Install the Visual C++ 2012 Redistributable (x64) 11.0.61030 and the Visual C++ 2013 Redistributable (x64) 12.0.40664 (\"Update for Visual C++ 2013 Redistributable Package\") before the next CU.
## Source
CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts), Test-PrerequisiteInstalled (Visual C++ 2012 / 2013); Exchange Health Checker (aka.ms/HC-LatestVC).";

/// The runtimes: (DisplayName prefix, required `Version` DWORD, that version in words,
/// required on Edge Transport).
pub const RUNTIMES: [(&str, u32, &str, bool); 2] = [
    ("Microsoft Visual C++ 2012", 184_610_406, "11.0.61030", true),
    (
        "Microsoft Visual C++ 2013",
        201_367_256,
        "12.0.40664",
        false,
    ),
];

/// `setup.ready.vcredist-missing`; its catalog entry is [`DOC`].
pub struct VcredistMissing;

impl Rule for VcredistMissing {
    fn id(&self) -> &'static str {
        "setup.ready.vcredist-missing"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, h: &HostView, _: &Context, out: &mut Sink) {
        if !exchange_15(h) || !software_read(h) {
            return;
        }
        let edge = h.is_edge();
        let mut ev = Vec::new();
        let mut missing = Vec::new();
        for (prefix, version, words, on_edge) in RUNTIMES {
            if edge && !on_edge {
                continue;
            }
            let found: Vec<_> = h
                .programs
                .iter()
                .filter(|p| {
                    p.display_name
                        .get(..prefix.len())
                        .is_some_and(|n| n.eq_ignore_ascii_case(prefix))
                })
                .collect();
            if found.iter().any(|p| p.version == i64::from(version)) {
                continue;
            }
            let year = &prefix[prefix.len() - 4..];
            if found.is_empty() {
                ev.push(Evidence::new(
                    format!("Visual C++ {year} x64: not installed (needs {words})"),
                    "",
                ));
                missing.push(format!("{year} {words} (none installed)"));
            } else {
                for p in &found {
                    ev.push(Evidence::new(
                        format!(
                            "Visual C++ {year} x64: {} {} is outdated (needs {words})",
                            p.display_name, p.display_version
                        ),
                        &p.provenance,
                    ));
                }
                let have: Vec<&str> = found.iter().map(|p| p.display_version.as_str()).collect();
                missing.push(format!("{year} {words} ({} installed)", have.join(", ")));
            }
        }
        if ev.is_empty() {
            return;
        }
        let title = format!(
            "Visual C++ redistributable not at the version setup needs: {}",
            missing.join("; ")
        );
        let mut f = self.finding(h, title, ev, &action_of(DOC));
        f.signature = "Visual C++ runtime missing".into();
        out.push(f);
    }
}
