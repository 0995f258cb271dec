//! `dotnet.unsupported`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
The installed .NET Framework (the Release DWORD, read as its family: 4.8 from 528040, 4.8.1 from 533320, ...) is older than the oldest family the running CU supports, or newer than any family validated for it (a warning either way: Microsoft has not validated the newer release).
## Evidence
The Release value and its family, the CU (from ExSetup.exe or the setup key), and the families the CU supports.
## Action
Older: install the newest .NET Framework the CU supports (see the Exchange supportability matrix), reboot, then install updates. Newer: leave the server as it is only if Microsoft has since validated that release for the CU; otherwise move to a CU that supports it, and do not install a newer .NET on other servers of that CU.
## Source
Exchange Server supportability matrix (Microsoft Learn), .NET Framework per Exchange CU; Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): .NET Framework check (aka.ms/HC-NetFrameworkSupport); the Release values of \"Determine which .NET Framework versions are installed\" (Microsoft Learn).";

/// `dotnet.unsupported`; its catalog entry is [`DOC`].
pub struct DotnetUnsupported;

/// .NET Framework families and the lowest Release DWORD of each.
const FAMILIES: [(&str, i64); 11] = [
    ("4.5", 378_389),
    ("4.5.1", 378_675),
    ("4.5.2", 379_893),
    ("4.6", 393_295),
    ("4.6.1", 394_254),
    ("4.6.2", 394_802),
    ("4.7", 460_798),
    ("4.7.1", 461_308),
    ("4.7.2", 461_808),
    ("4.8", 528_040),
    ("4.8.1", 533_320),
];

/// The family of a Release value (its index in `FAMILIES`).
pub fn family(release: i64) -> Option<usize> {
    FAMILIES.iter().rposition(|(_, min)| release >= *min)
}

/// The name of a family ("4.8").
pub fn name(i: usize) -> &'static str {
    FAMILIES[i].0
}

fn index(name: &str) -> usize {
    FAMILIES
        .iter()
        .position(|(n, _)| *n == name)
        .expect("a known family")
}

/// The families (oldest, newest) a CU supports: the recommended value of the reference
/// table, and 4.8 to 4.8.1 where 4.8.1 is validated (Exchange 2019 CU14 and later, 2016
/// CU23, SE).
pub fn supported(product: &str, cu: &str) -> Option<(usize, usize)> {
    let n: u32 = match cu {
        "RTM" => 0,
        c => c.strip_prefix("CU")?.parse().ok()?,
    };
    let one = |f: &str| Some((index(f), index(f)));
    let both = Some((index("4.8"), index("4.8.1")));
    match (product, n) {
        ("Exchange SE", _) => both,
        ("Exchange 2019", 14..) => both,
        ("Exchange 2019", 2..=13) => one("4.8"),
        ("Exchange 2019", _) => one("4.7.2"),
        ("Exchange 2016", 23) => both,
        ("Exchange 2016", 13..=22) => one("4.8"),
        ("Exchange 2016", 11..=12) => one("4.7.2"),
        ("Exchange 2016", 8..=10) => one("4.7.1"),
        ("Exchange 2016", 3..=7) => one("4.6.2"),
        ("Exchange 2016", 2) => one("4.6.1"),
        ("Exchange 2016", _) => one("4.5.2"),
        ("Exchange 2013", 21..) => one("4.8"),
        ("Exchange 2013", 19..=20) => one("4.7.1"),
        ("Exchange 2013", 15..=18) => one("4.6.2"),
        ("Exchange 2013", 13..=14) => one("4.6.1"),
        ("Exchange 2013", 4..=12) => one("4.5.2"),
        ("Exchange 2013", _) => one("4.5"),
        _ => None,
    }
}

impl Rule for DotnetUnsupported {
    fn id(&self) -> &'static str {
        "dotnet.unsupported"
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
    fn check(&self, h: &HostView, cx: &Context, out: &mut Sink) {
        let Some(cu) = h.exsetup.or(h.msi).and_then(|b| cx.catalog.cu_of(&b)) else {
            return;
        };
        let Some((lo, hi)) = supported(&cu.product, &cu.cu) else {
            return;
        };
        if h.dotnet_release == 0 {
            return;
        }
        let installed = family(h.dotnet_release);
        let (name, older) = match installed {
            Some(i) if i < lo => (FAMILIES[i].0, true),
            None => ("older than 4.5", true),
            Some(i) if i > hi => (FAMILIES[i].0, false),
            _ => return,
        };
        let range = if lo == hi {
            FAMILIES[lo].0.to_string()
        } else {
            format!("{} to {}", FAMILIES[lo].0, FAMILIES[hi].0)
        };
        let ev = vec![
            Evidence::new(
                format!("Release {} (.NET {name})", h.dotnet_release),
                &h.dotnet_provenance,
            ),
            Evidence::new(
                format!("{} supports .NET {range}", cu.friendly()),
                &h.exsetup_provenance,
            ),
        ];
        let title = if older {
            format!(
                ".NET {name} is older than {} supports ({range})",
                cu.friendly()
            )
        } else {
            format!(
                ".NET {name} is newer than any validated for {} ({range})",
                cu.friendly()
            )
        };
        let mut f = self.finding(h, title, ev, &action_of(DOC));
        f.signature = format!(".NET {name} on {}", cu.friendly());
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_and_support() {
        assert_eq!(family(528_040).map(|i| FAMILIES[i].0), Some("4.8"));
        assert_eq!(family(533_325).map(|i| FAMILIES[i].0), Some("4.8.1"));
        assert_eq!(family(461_814).map(|i| FAMILIES[i].0), Some("4.7.2"));
        assert_eq!(family(1), None);
        assert_eq!(supported("Exchange 2019", "CU14"), Some((9, 10)));
        assert_eq!(supported("Exchange 2019", "CU13"), Some((9, 9)));
        assert_eq!(supported("Exchange 2013", "CU3"), Some((0, 0)));
    }
}
