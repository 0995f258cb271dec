//! `build.known-bad`.

use crate::catalog::Build;
use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
The running build (ExSetup.exe) is in the range of a published known issue: on the CU (same major, minor and build part) of the issue build, at or above it and below the later build of that CU that fixes it (the known build issues Exchange Health Checker reports: the OWA redirect of November 2021, the ServiceHost crash of March 2022, the January and February 2023 SU issues, March 2024, the pulled November 2024 SU, hybrid online archiving). Entries without a fixing build on the same line, and the open-ended pickup-folder ranges, are not judged.
## Evidence
ExSetup.exe's build, the issue and its KB where there is one, and the build that fixes it.
## Action
Install the build that fixes the issue (or the newest SU of the CU, which includes it) from an elevated prompt.
## Source
Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): \"Known Issue Detected\", with KB 5008997 (OWA redirection after the November 2021 SU), KB 5013118 (MSExchangeServiceHost crash after the March 2022 SU), KB 5037171 (March 2024 SU known issues), and the known issues listed in the Exchange Team Blog announcements of the January and February 2023 and November 2024 SUs; Exchange Server build numbers and release dates (Microsoft Learn).";

/// `build.known-bad`; its catalog entry is [`DOC`].
pub struct KnownBad;

/// (issue build, fixing revision on the same line, the issue): every revision of the line
/// from the issue build up to, not including, the fix has it.
const KNOWN: [([u16; 4], u16, &str); 27] = [
    ([15, 2, 986, 14], 15, "OWA redirection issue (KB5008997)"),
    ([15, 2, 922, 19], 20, "OWA redirection issue (KB5008997)"),
    ([15, 1, 2375, 17], 18, "OWA redirection issue (KB5008997)"),
    ([15, 1, 2308, 20], 21, "OWA redirection issue (KB5008997)"),
    ([15, 0, 1497, 26], 28, "OWA redirection issue (KB5008997)"),
    (
        [15, 2, 1118, 7],
        9,
        "Exchange Service Host crash (KB5013118)",
    ),
    (
        [15, 2, 986, 22],
        26,
        "Exchange Service Host crash (KB5013118)",
    ),
    (
        [15, 1, 2507, 6],
        9,
        "Exchange Service Host crash (KB5013118)",
    ),
    (
        [15, 1, 2375, 24],
        28,
        "Exchange Service Host crash (KB5013118)",
    ),
    (
        [15, 0, 1497, 33],
        36,
        "Exchange Service Host crash (KB5013118)",
    ),
    (
        [15, 0, 1497, 45],
        47,
        "January 2023 SU issue (serialized data signing, Exchange 2013)",
    ),
    ([15, 1, 2507, 17], 21, "January 2023 SU known issues"),
    ([15, 2, 986, 37], 41, "January 2023 SU known issues"),
    ([15, 2, 1118, 21], 25, "January 2023 SU known issues"),
    ([15, 2, 1118, 25], 26, "February 2023 SU known issues"),
    ([15, 2, 986, 41], 42, "February 2023 SU known issues"),
    ([15, 1, 2507, 21], 23, "February 2023 SU known issues"),
    (
        [15, 2, 1544, 9],
        11,
        "March 2024 SU known issues (KB5037171)",
    ),
    (
        [15, 2, 1258, 32],
        34,
        "March 2024 SU known issues (KB5037171)",
    ),
    (
        [15, 1, 2507, 37],
        39,
        "March 2024 SU known issues (KB5037171)",
    ),
    ([15, 2, 1544, 13], 14, "November 2024 SU, pulled"),
    ([15, 2, 1258, 38], 39, "November 2024 SU, pulled"),
    ([15, 1, 2507, 43], 44, "November 2024 SU, pulled"),
    ([15, 2, 2562, 17], 27, "hybrid online archiving issue"),
    ([15, 2, 1748, 24], 37, "hybrid online archiving issue"),
    ([15, 2, 1544, 25], 34, "hybrid online archiving issue"),
    ([15, 1, 2507, 55], 59, "hybrid online archiving issue"),
];

/// The known issue of a build and the revision that fixes it: Health Checker's match, the
/// same major, minor and build part (the entries are build-bound), the revision at or above
/// the issue build's and below the fix.
pub fn issue(b: &Build) -> Option<(u16, &'static str)> {
    KNOWN
        .iter()
        .find(|(bad, fix, _)| {
            bad[..3]
                .iter()
                .zip(&b.0[..3])
                .all(|(x, y)| u32::from(*x) == *y)
                && b.0[3] >= u32::from(bad[3])
                && b.0[3] < u32::from(*fix)
        })
        .map(|(_, fix, what)| (*fix, *what))
}

impl Rule for KnownBad {
    fn id(&self) -> &'static str {
        "build.known-bad"
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
        let Some(b) = h.exsetup else { return };
        let Some((fix, what)) = issue(&b) else { return };
        let fixed = format!("{}.{}.{}.{fix}", b.0[0], b.0[1], b.0[2]);
        let ev = vec![
            Evidence::new(format!("ExSetup.exe is {b}: {what}"), &h.exsetup_provenance),
            Evidence::new(format!("fixed in {fixed}"), ""),
        ];
        let title = format!("Build {b} has a known issue ({what}); {fixed} fixes it");
        let mut f = self.finding(h, title, ev, &action_of(DOC));
        f.signature = format!("{b}: {what}");
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Build {
        Build::parse(s).unwrap()
    }

    #[test]
    fn the_issue_covers_its_range_up_to_not_including_the_fix() {
        // MSExchangeServiceHost crash: 15.2.986.22 up to .26.
        assert_eq!(issue(&b("15.2.986.22")).unwrap().0, 26);
        assert_eq!(issue(&b("15.2.986.25")).unwrap().0, 26);
        assert!(issue(&b("15.2.986.26")).is_none());
        assert!(issue(&b("15.2.986.21")).is_none());
        // Hybrid online archiving: 15.2.1748.24 up to .37, not on another CU.
        assert!(issue(&b("15.2.1748.36")).is_some());
        assert!(issue(&b("15.2.1748.37")).is_none());
        assert!(issue(&b("15.2.1749.30")).is_none());
        // Adjacent entries: .25 is February's issue, not January's.
        assert_eq!(
            issue(&b("15.2.1118.25")).unwrap().1,
            "February 2023 SU known issues"
        );
    }
}
