//! `setup.msi-installer-cache`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{pattern, Hit, Scope};
use crate::finding::Evidence;

/// The catalog entry.
pub const DOC: &str = "## Detects
An MSI or MSP of the previous build is missing from the Windows Installer cache (or invalid), so setup cannot remove or patch the installed product.
## Evidence
The run judged, the failing line within the first error's context (a product that could not be removed or installed from its source, with its product code or package), the version to repair the installer cache for (the backup copy's version, else the locally installed one) and the first error.
## Action
Repair the Windows Installer cache for the previously installed build named in the evidence (restore its .msi/.msp packages, e.g. with a cache-repair script and the matching CU and SU media), then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts): known MSI issues; CSS-Exchange FixInstallerCache.ps1 (aka.ms/ExInstallerCacheFix); CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts): \"Msi Cache File\".";

/// `setup.msi-installer-cache`.
pub static RULE: Known = Known {
    id: "setup.msi-installer-cache",
    doc: DOC,
    module_path: module_path!(),
};

/// In the first error of the run, the two prefixed lines before it and the kept lines up to
/// 200 after: a product setup could not remove or install from the installer cache, or an
/// MSI install whose next error is a null reference.
pub fn detect(s: &Scope) -> Option<Hit> {
    static CODE: LazyLock<[Regex; 2]> = LazyLock::new(|| {
        [
            pattern(
                r"Couldn't remove product with code (.+)\. The installation source for this product is not available",
            ),
            pattern(r"Unable to remove product with code (.+)\. Fatal error during installation"),
        ]
    });
    static PACKAGE: LazyLock<[Regex; 2]> = LazyLock::new(|| {
        [
            pattern(
                r"\[ERROR\] Installing product (.+) failed\. The installation source for this product is not available",
            ),
            pattern(
                r"\[ERROR\] Installing product (.+\.msi) failed\. Fatal error during installation\. Error code is 1603\.",
            ),
        ]
    });
    static NEW: LazyLock<Regex> = LazyLock::new(|| {
        pattern(r"Installing a new product\. Package: (.+\.msi)\. Property values")
    });
    static NULL: LazyLock<Regex> = LazyLock::new(|| {
        pattern(r"\[ERROR\] Object reference not set to an instance of an object\.")
    });
    let cx = s.error_context(None)?;
    let before: Vec<(i64, &str)> = cx
        .before
        .iter()
        .filter_map(|b| b.split_once(": "))
        .filter_map(|(n, t)| Some((n.parse::<i64>().ok()?, t)))
        .filter(|(n, _)| *n >= cx.first.line - 2)
        .collect();
    let texts: Vec<(i64, &str)> = before
        .into_iter()
        .chain(cx.lines.iter().map(|l| (l.row.line, l.text)))
        .collect();
    let find = |re: &Regex| {
        texts.iter().find_map(|(n, t)| {
            re.captures(t)
                .map(|c| (*n, *t, c.get(1).map_or("", |m| m.as_str())))
        })
    };
    let at = |n: i64| crate::rules::line_of(&s.run.provenance, n);
    let mut ev = Vec::new();
    if let Some((n, t, code)) = CODE.iter().find_map(find) {
        ev.push(Evidence::new(t.trim(), at(n)));
        ev.push(Evidence::new(
            format!("product code: {}", code.trim()),
            at(n),
        ));
    } else if let Some((n, t, package)) = PACKAGE.iter().find_map(find) {
        ev.push(Evidence::new(t.trim(), at(n)));
        ev.push(Evidence::new(format!("package: {}", package.trim()), at(n)));
    } else if let (Some((n, t, package)), Some((m, e, _))) = (find(&NEW), find(&NULL)) {
        ev.push(Evidence::new(t.trim(), at(n)));
        ev.push(Evidence::new(e.trim(), at(m)));
        ev.push(Evidence::new(format!("package: {}", package.trim()), at(n)));
    } else {
        return None;
    }
    let version = s.local_build();
    let title = match version {
        Some(v) => {
            ev.push(Evidence::new(
                format!("version to repair the installer cache for: {v} (Run FixInstallerCache.ps1 against {v})"),
                &s.run.provenance,
            ));
            format!("The Windows Installer cache of {v} is missing or broken: run FixInstallerCache.ps1 against {v}")
        }
        None => "The Windows Installer cache of the installed build is missing or broken".into(),
    };
    ev.push(s.cite(cx.first, format!("first error: {}", cx.first.text)));
    Some(s.hit(RULE.id, title, ev))
}
