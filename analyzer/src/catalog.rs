//! The build catalog: every CU, SU and HU of Exchange 2013, 2016, 2019 and SE, and every
//! service pack and update rollup of Exchange 2010, with KB, release date and the products'
//! end of support, and the CVEs each update fixes ([`crate::cve`]), loaded at run time from a
//! data file (`catalog/exchange-builds.toml`, embedded as the default; `--catalog FILE`
//! replaces it). Knowledge is data: a new SU needs a new file, not a new build of exfleet.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::cve;
use crate::error::Error;

/// The catalog shipped with exfleet.
pub const EMBEDDED: &str = include_str!("../catalog/exchange-builds.toml");

/// An Exchange build number `major.minor.build.revision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Build(pub [u32; 4]);

impl Build {
    /// Parses `15.2.1748.39` or the zero-padded `15.02.1748.039`.
    pub fn parse(s: &str) -> Option<Build> {
        let mut parts = s.trim().split('.').map(|p| p.parse::<u32>().ok());
        let b = [
            parts.next()??,
            parts.next()??,
            parts.next()??,
            parts.next()??,
        ];
        parts.next().is_none().then_some(Build(b))
    }

    /// The same major, minor and build number (the CU line).
    pub fn same_line(&self, other: &Build) -> bool {
        self.0[..3] == other.0[..3]
    }
}

impl fmt::Display for Build {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let b = self.0;
        write!(f, "{}.{}.{}.{}", b[0], b[1], b[2], b[3])
    }
}

/// A product line and its support.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Product {
    /// "Exchange 2019", "Exchange SE".
    pub name: String,
    /// Version prefix: "15.2", or "14" for every service pack of Exchange 2010 (14.0 to 14.3).
    pub version_prefix: String,
    /// First build number of the product within its prefix (SE starts at 2562).
    pub first_build: u32,
    /// End of (extended) support.
    pub end_of_support: NaiveDate,
    /// The product this one succeeds in place: setup of its first CU on a server of that
    /// product is a CU upgrade (Exchange SE over Exchange 2019).
    #[serde(default)]
    pub succeeds: Option<String>,
    /// The CUs of [`Product::succeeds`] the in-place upgrade starts from (Exchange 2019 CU14
    /// and CU15 for SE); a server on another CU must move to one of them first.
    #[serde(default)]
    pub upgrade_from: Vec<String>,
}

/// What kind of release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Cumulative update (or RTM; for Exchange 2010, a service pack).
    Cu,
    /// Security update.
    Su,
    /// Hotfix update.
    Hu,
    /// Update rollup of an Exchange 2010 service pack: an update of its line like an SU.
    Ru,
}

/// One release.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Release {
    /// Product name.
    pub product: String,
    /// "CU15", "RTM", "SP3".
    pub cu: String,
    /// Update name ("Aug26SU", "RU32"); empty for the CU itself.
    #[serde(default)]
    pub name: String,
    /// CU, SU or HU.
    pub kind: Kind,
    /// Build number, as text in the file.
    #[serde(deserialize_with = "build_de")]
    pub build: Build,
    /// Release date.
    pub date: NaiveDate,
    /// KB article, when known.
    #[serde(default)]
    pub kb: String,
    /// The date was inferred from the update's name.
    #[serde(default)]
    pub date_approximate: bool,
}

impl Release {
    /// "Exchange 2019 CU15 Aug26SU".
    pub fn friendly(&self) -> String {
        if self.name.is_empty() {
            format!("{} {}", self.product, self.cu)
        } else {
            format!("{} {} {}", self.product, self.cu, self.name)
        }
    }
}

fn build_de<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Build, D::Error> {
    let s = String::deserialize(d)?;
    Build::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not a build number: {s}")))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct File {
    as_of: NaiveDate,
    #[serde(default)]
    cve_as_of: Option<NaiveDate>,
    #[serde(default)]
    cve: Vec<cve::Row>,
    product: Vec<Product>,
    release: Vec<Release>,
}

/// How old a catalog may be, in days before the analysis date, before the analysis warns
/// that new builds and CVEs are missing from it.
pub const STALE_AFTER_DAYS: i64 = 60;

/// The loaded catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Date of the newest release the catalog knows: findings about "behind" and "unknown"
    /// say it, since a stale catalog makes new builds look unknown.
    pub as_of: NaiveDate,
    /// Products.
    pub products: Vec<Product>,
    /// Releases sorted by build.
    pub releases: Vec<Release>,
    /// Date of the CVE table's source (none: the file has no CVE table).
    pub cve_as_of: Option<NaiveDate>,
    /// The CVE table, in file order.
    pub cves: Vec<cve::Row>,
    by_build: BTreeMap<Build, usize>,
}

impl Catalog {
    /// The embedded catalog.
    pub fn embedded() -> Catalog {
        Catalog::parse(EMBEDDED, Path::new("<embedded>")).expect("the embedded catalog is valid")
    }

    /// Loads a catalog file.
    pub fn load(path: &Path) -> Result<Catalog, Error> {
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        Catalog::parse(&text, path)
    }

    /// Parses and checks catalog text; errors name the file and what is wrong.
    pub fn parse(text: &str, path: &Path) -> Result<Catalog, Error> {
        let bad = |message: String| Error::Catalog {
            path: path.to_path_buf(),
            message,
        };
        let f: File = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut releases = f.release;
        releases.sort_by_key(|r| r.build);
        let mut by_build = BTreeMap::new();
        for (i, r) in releases.iter().enumerate() {
            if by_build.insert(r.build, i).is_some() {
                return Err(bad(format!("build {} is listed twice", r.build)));
            }
            if !f.product.iter().any(|p| p.name == r.product) {
                return Err(bad(format!(
                    "build {} names unknown product {:?}",
                    r.build, r.product
                )));
            }
            if r.date > f.as_of {
                return Err(bad(format!(
                    "build {} is dated {} after the as-of date {}",
                    r.build, r.date, f.as_of
                )));
            }
        }
        for r in &releases {
            if r.kind != Kind::Cu
                && !releases
                    .iter()
                    .any(|c| c.kind == Kind::Cu && c.product == r.product && c.cu == r.cu)
            {
                return Err(bad(format!(
                    "update {} ({}) has no {} {} base build",
                    r.build, r.name, r.product, r.cu
                )));
            }
        }
        if releases.is_empty() {
            return Err(bad("no releases".into()));
        }
        for p in &f.product {
            let Some(old) = &p.succeeds else { continue };
            for cu in &p.upgrade_from {
                if !releases
                    .iter()
                    .any(|r| r.kind == Kind::Cu && r.product == *old && r.cu == *cu)
                {
                    return Err(bad(format!(
                        "product {} upgrades from {old} {cu}, which is not a CU of the catalog",
                        p.name
                    )));
                }
            }
        }
        for (i, row) in f.cve.iter().enumerate() {
            if let Some(problem) = row.problem() {
                return Err(bad(format!("cve entry {}: {problem}", i + 1)));
            }
            if row.product != "any" && !f.product.iter().any(|p| p.name == row.product) {
                return Err(bad(format!(
                    "cve entry {} ({}) names unknown product {:?}",
                    i + 1,
                    row.id,
                    row.product
                )));
            }
        }
        if !f.cve.is_empty() && f.cve_as_of.is_none() {
            return Err(bad("a cve table needs its cve-as-of date".into()));
        }
        Ok(Catalog {
            as_of: f.as_of,
            products: f.product,
            releases,
            cve_as_of: f.cve_as_of,
            cves: f.cve,
            by_build,
        })
    }

    /// The release with exactly this build.
    pub fn exact(&self, b: &Build) -> Option<&Release> {
        self.by_build.get(b).map(|&i| &self.releases[i])
    }

    /// Whether `successor` succeeds `product` in place (a CU upgrade, from the CUs its
    /// catalog entry lists).
    pub fn succeeds(&self, successor: &str, product: &str) -> Option<&Product> {
        self.product(successor)
            .filter(|p| p.succeeds.as_deref() == Some(product))
    }

    /// The product a build belongs to (by prefix and first build).
    pub fn product_of(&self, b: &Build) -> Option<&Product> {
        let text = b.to_string();
        self.products
            .iter()
            .filter(|p| {
                text.strip_prefix(p.version_prefix.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
                    && b.0[2] >= p.first_build
            })
            .max_by_key(|p| p.first_build)
    }

    /// The CU a build belongs to: the highest CU base build of its product at or below it.
    pub fn cu_of(&self, b: &Build) -> Option<&Release> {
        let product = self.product_of(b)?;
        self.releases
            .iter()
            .filter(|r| r.kind == Kind::Cu && r.product == product.name && r.build <= *b)
            .max_by_key(|r| r.build)
    }

    /// Releases of one CU line (the CU and its updates), oldest first.
    pub fn line(&self, product: &str, cu: &str) -> Vec<&Release> {
        self.releases
            .iter()
            .filter(|r| r.product == product && r.cu == cu)
            .collect()
    }

    /// The newest release of a CU line published on or before `as_of`.
    pub fn newest_in_line(&self, product: &str, cu: &str, as_of: NaiveDate) -> Option<&Release> {
        self.line(product, cu)
            .into_iter()
            .filter(|r| r.date <= as_of)
            .max_by(|a, b| cmp(a, b))
    }

    /// CUs of a product that received its most recent update (on or before `as_of`): the
    /// CUs the product still gets updates for.
    pub fn supported_cus(&self, product: &str, as_of: NaiveDate) -> Vec<&str> {
        let latest = self
            .releases
            .iter()
            .filter(|r| r.product == product && r.kind != Kind::Cu && r.date <= as_of)
            .map(|r| r.date)
            .max();
        let Some(latest) = latest else {
            // A product with no update yet: its newest CU is the supported one.
            return self
                .releases
                .iter()
                .filter(|r| r.product == product && r.date <= as_of)
                .max_by_key(|r| r.build)
                .map(|r| vec![r.cu.as_str()])
                .unwrap_or_default();
        };
        let mut cus: Vec<&str> = self
            .releases
            .iter()
            .filter(|r| r.product == product && r.kind != Kind::Cu && r.date == latest)
            .map(|r| r.cu.as_str())
            .collect();
        cus.sort();
        cus.dedup();
        cus
    }

    /// How reports name a build: "Exchange 2019 CU15 Aug26SU", or its CU and "unknown build
    /// 15.2.1748.990" for a build the catalog does not list.
    pub fn describe(&self, b: &Build) -> String {
        match self.exact(b) {
            Some(r) => r.friendly(),
            None => format!(
                "{} + unknown build {b}",
                self.cu_of(b)
                    .map(|c| c.friendly())
                    .unwrap_or_else(|| "?".into())
            ),
        }
    }

    /// Product by name.
    pub fn product(&self, name: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.name == name)
    }

    /// The release date of an update of a product, by its name ("Feb26SU"): the earliest
    /// date it was published for any CU.
    pub fn update_date(&self, product: &str, name: &str) -> Option<NaiveDate> {
        self.releases
            .iter()
            .filter(|r| r.product == product && r.name == name)
            .map(|r| r.date)
            .min()
    }

    /// The release date of an update by its name, whatever the product: the earliest.
    pub fn update_date_any(&self, name: &str) -> Option<NaiveDate> {
        self.releases
            .iter()
            .filter(|r| r.name == name)
            .map(|r| r.date)
            .min()
    }

    /// Why judging at `as_of` with this catalog may miss what is new: the build list or the
    /// CVE table older than [`STALE_AFTER_DAYS`] before it, or no CVE table at all.
    pub fn staleness(&self, as_of: NaiveDate) -> Vec<String> {
        let old = |date: NaiveDate| (as_of - date).num_days() > STALE_AFTER_DAYS;
        let mut warnings = Vec::new();
        if old(self.as_of) {
            warnings.push(format!(
                "the build catalog is as of {}, {} days before the analysis date {as_of}: builds released since are reported as unknown; import a newer list (analyzer/CVE.md, \"Keeping the catalog current\")",
                self.as_of,
                (as_of - self.as_of).num_days()
            ));
        }
        match self.cve_as_of {
            Some(d) if old(d) => warnings.push(format!(
                "the CVE table is as of {d}, {} days before the analysis date {as_of}: CVEs fixed by updates released since are not reported; import a newer table (analyzer/CVE.md, \"Keeping the catalog current\")",
                (as_of - d).num_days()
            )),
            Some(_) => {}
            None => warnings.push(
                "the build catalog has no CVE table: exposure is not judged".to_string(),
            ),
        }
        warnings
    }
}

fn cmp(a: &Release, b: &Release) -> Ordering {
    a.date.cmp(&b.date).then(a.build.cmp(&b.build))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Build {
        Build::parse(s).unwrap()
    }

    #[test]
    fn the_embedded_catalog_knows_the_lines_it_must() {
        let c = Catalog::embedded();
        assert_eq!(c.as_of, NaiveDate::from_ymd_opt(2026, 8, 11).unwrap());
        assert_eq!(
            c.exact(&b("15.2.1748.49")).unwrap().friendly(),
            "Exchange 2019 CU15 Aug26SU"
        );
        assert_eq!(c.exact(&b("15.02.2562.046")).unwrap().kb, "KB5121573");
        assert_eq!(
            c.cu_of(&b("15.2.2562.99")).unwrap().friendly(),
            "Exchange SE RTM"
        );
        assert_eq!(c.cu_of(&b("15.2.1258.39")).unwrap().cu, "CU13");
        assert_eq!(
            c.product_of(&b("15.1.2507.72")).unwrap().name,
            "Exchange 2016"
        );
        assert_eq!(c.supported_cus("Exchange 2019", c.as_of), ["CU14", "CU15"]);
        assert_eq!(c.supported_cus("Exchange SE", c.as_of), ["RTM"]);
        // Exchange 2010: service packs are its CUs, update rollups its updates.
        assert_eq!(
            c.exact(&b("14.03.0513.000")).unwrap().friendly(),
            "Exchange 2010 SP3 RU32"
        );
        assert_eq!(c.exact(&b("14.3.513.0")).unwrap().kind, Kind::Ru);
        assert_eq!(c.cu_of(&b("14.3.509.0")).unwrap().build, b("14.3.123.4"));
        assert_eq!(c.cu_of(&b("14.2.390.3")).unwrap().cu, "SP2");
        assert_eq!(c.supported_cus("Exchange 2010", c.as_of), ["SP3"]);
        assert!(c.product_of(&b("14.3.123.4")).is_some());
        assert!(c.product_of(&b("1.4.3.1")).is_none());
        let newest = c.newest_in_line("Exchange 2019", "CU15", c.as_of).unwrap();
        assert_eq!(newest.build, b("15.2.1748.49"));
        // Judged at an earlier date, an earlier SU was the newest.
        let then = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(
            c.newest_in_line("Exchange 2019", "CU15", then)
                .unwrap()
                .name,
            "Feb26SU"
        );
    }

    #[test]
    fn the_embedded_catalog_carries_every_row_of_the_cve_table() {
        let c = Catalog::embedded();
        assert_eq!(c.cve_as_of, NaiveDate::from_ymd_opt(2026, 4, 2));
        assert_eq!(c.cves.len(), 759);
        let classes = |k: cve::Class| c.cves.iter().filter(|r| r.class == k).count();
        // The reference's row groups: 553 SU-table rows and 27 override-aware rows, judged on
        // the build (su, su-ad), and 179 special rows.
        assert_eq!(
            classes(cve::Class::Su) + classes(cve::Class::SuAd),
            553 + 27 + 12 + 1
        );
        assert_eq!(classes(cve::Class::Advisory), 95);
        assert_eq!(classes(cve::Class::Ad), 10);
        assert_eq!(
            c.update_date("Exchange 2019", "Feb26SU"),
            NaiveDate::from_ymd_opt(2026, 2, 10)
        );
    }

    #[test]
    fn a_catalog_older_than_sixty_days_is_said_to_be_stale() {
        let c = Catalog::embedded();
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        // The CVE table (2026-04-02) is stale 61 days on, the build list (2026-08-11) is not.
        let w = c.staleness(day(2026, 6, 2));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("CVE table is as of 2026-04-02, 61 days"),
            "{w:?}"
        );
        assert!(c.staleness(day(2026, 6, 1)).is_empty());
        assert_eq!(c.staleness(day(2026, 11, 24)).len(), 2);
    }

    #[test]
    fn a_bad_catalog_is_refused_with_its_reason() {
        let e = Catalog::parse(
            "as-of = \"2026-01-01\"\nproduct = []\nrelease = []",
            Path::new("x.toml"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("x.toml"), "{e}");
        let bad_upgrade = EMBEDDED.replace(
            "upgrade-from = [\"CU14\", \"CU15\"]",
            "upgrade-from = [\"CU99\"]",
        );
        let e = Catalog::parse(&bad_upgrade, Path::new("u.toml")).unwrap_err();
        assert!(e.to_string().contains("Exchange 2019 CU99"), "{e}");
        let dup = format!("{}\n[[release]]\nproduct = \"Exchange SE\"\ncu = \"RTM\"\nkind = \"cu\"\nbuild = \"15.2.2562.17\"\ndate = \"2025-07-01\"\n", EMBEDDED);
        assert!(Catalog::parse(&dup, Path::new("d.toml"))
            .unwrap_err()
            .to_string()
            .contains("twice"));
    }
}
