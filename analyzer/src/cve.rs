//! The CVE table of the build catalog: which update fixes which CVE for which CU, and how
//! exfleet judges each row (its [`Class`], explained in `analyzer/CVE.md`). Loaded with the
//! rest of the catalog ([`crate::catalog`]); judged per host by [`crate::exposure`].

use serde::{Deserialize, Serialize};

use crate::catalog::Build;

/// How a row is judged, from the evidence a server's disk holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// The build decides (HealthChecker's build test against the SU).
    Su,
    /// The build decides; an Active Directory setting (a setting override, the schema) can
    /// reopen it, which a server's disk does not show.
    SuAd,
    /// The build, then a setting on the server's disk: open until the evidence shows it.
    Setting,
    /// The Windows build and its update revision (UBR).
    Os,
    /// The March 2021 SU installed on an unsupported CU: the CU's older CVEs stay open.
    Advisory,
    /// Active Directory alone: out of reach of a server's disk, never judged.
    Ad,
}

impl Class {
    /// The name the catalog file and the exports use.
    pub fn name(self) -> &'static str {
        match self {
            Class::Su => "su",
            Class::SuAd => "su-ad",
            Class::Setting => "setting",
            Class::Os => "os",
            Class::Advisory => "advisory",
            Class::Ad => "ad",
        }
    }
}

/// One row of the CVE table.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Row {
    /// CVE or advisory id as HealthChecker displays it.
    pub id: String,
    /// Product name as the catalog's products name it, or `any`.
    pub product: String,
    /// The CU ("CU23", "RTM") or, for special rows, the family the row covers.
    pub cu: String,
    /// The update that fixes it ("Feb26SU", "Nov24SUv2"), or a KB, a Windows update or a
    /// configuration for special rows.
    pub fixed_by: String,
    /// The build of that CU carrying the fix, or the threshold a special row tests.
    #[serde(default)]
    pub fixed_build: String,
    /// How exfleet judges the row.
    pub class: Class,
    /// `Advisory` rows: the exact CU base build the advisory applies to.
    #[serde(default)]
    pub on_build: String,
    /// `Os` rows, and `Setting` rows of one Windows build: the Windows builds concerned,
    /// comma-separated.
    #[serde(default)]
    pub os_builds: String,
    /// `Os` rows, and `Setting` rows of one Windows build: the first update revision (UBR) of
    /// those builds that carries the fix (0: the UBR does not decide).
    #[serde(default)]
    pub min_ubr: u32,
    /// The id HealthChecker reports this row's issue under (empty: its own).
    #[serde(default)]
    pub alias_of: String,
    /// A .NET Framework release (NDP v4 `Release`) from which the row's setting is known
    /// fixed (0: the release does not decide).
    #[serde(default)]
    pub closed_from_dotnet_release: u32,
    /// Windows builds from this one on are not affected (0: every build is).
    #[serde(default)]
    pub os_unaffected_from: u32,
    /// `Setting` rows: what the evidence must show beside the build.
    #[serde(default)]
    pub needs: String,
}

impl Row {
    /// A row of the Extended Protection CVE group: a `setting` row whose need is Extended
    /// Protection, judged from applicationHost.config and Lsa ([`crate::extended_protection`]).
    pub fn is_extended_protection(&self) -> bool {
        self.class == Class::Setting && self.needs.contains("Extended Protection")
    }

    /// The fixing build, when the row names one.
    pub fn build(&self) -> Option<Build> {
        Build::parse(&self.fixed_build)
    }

    /// Whether the row concerns a product.
    pub fn applies_to(&self, product: &str) -> bool {
        self.product == "any" || self.product == product
    }

    /// The two-digit year of an update named like `Mar21SU`, `Nov24SUv2` or `Apr25HU`.
    pub fn update_year(&self) -> Option<u32> {
        let name = self.fixed_by.as_bytes();
        let month = name.get(..3)?;
        let year = name.get(3..5)?;
        let kind = name.get(5..7)?;
        (month.iter().all(u8::is_ascii_alphabetic)
            && year.iter().all(u8::is_ascii_digit)
            && (kind == b"SU" || kind == b"HU"))
            .then(|| u32::from(year[0] - b'0') * 10 + u32::from(year[1] - b'0'))
    }

    /// What makes the row wrong, for the catalog's checks.
    pub fn problem(&self) -> Option<String> {
        let needs_build = matches!(self.class, Class::Su | Class::SuAd);
        if needs_build && self.build().is_none() {
            return Some(format!(
                "{} ({}): class {} needs a build, not {:?}",
                self.id,
                self.fixed_by,
                self.class.name(),
                self.fixed_build
            ));
        }
        if self.class == Class::Advisory && Build::parse(&self.on_build).is_none() {
            return Some(format!("{}: advisory without its on-build", self.id));
        }
        if self.class == Class::Os && (self.os_builds.is_empty() || self.min_ubr == 0) {
            return Some(format!("{}: os row without os-builds and min-ubr", self.id));
        }
        if self.class == Class::Setting && self.needs.is_empty() {
            return Some(format!("{}: setting row without what it needs", self.id));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(fixed_by: &str) -> Row {
        Row {
            id: "CVE-1".into(),
            product: "Exchange 2019".into(),
            cu: "CU15".into(),
            fixed_by: fixed_by.into(),
            fixed_build: "15.2.1748.43".into(),
            class: Class::Su,
            on_build: String::new(),
            os_builds: String::new(),
            min_ubr: 0,
            alias_of: String::new(),
            closed_from_dotnet_release: 0,
            os_unaffected_from: 0,
            needs: String::new(),
        }
    }

    #[test]
    fn update_years_are_read_from_the_names_the_scripts_write() {
        assert_eq!(row("Mar21SU").update_year(), Some(21));
        assert_eq!(row("Nov24SUv2").update_year(), Some(24));
        assert_eq!(row("Apr25HU").update_year(), Some(25));
        assert_eq!(row("KB4551762 (Windows)").update_year(), None);
        assert_eq!(row("CU21 or /PrepareSchema").update_year(), None);
    }
}
