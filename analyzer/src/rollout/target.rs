//! The rollout target as the operator writes it (`latest`, a build number, or a CU and/or
//! update name: `Exchange 2019 CU15 Aug26SU`, `CU15`, `Aug26SU`, `RU32`), and what it means
//! for one host: the release that host should end on, judged in the build catalog. An update
//! name alone means that update on the host's own CU; `latest` means the newest CU of the
//! host's product and the newest update of it.

use chrono::NaiveDate;

use crate::catalog::{Build, Catalog, Kind, Release};

/// A parsed `--target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// The newest CU of each host's product, with its newest update.
    Latest,
    /// One build number.
    Build(Build),
    /// A product, CU and update by name; what is left out is the host's own.
    Named {
        /// "Exchange 2019".
        product: Option<String>,
        /// "CU15", "RTM", "SP3".
        cu: Option<String>,
        /// "Aug26SU", "RU32".
        update: Option<String>,
    },
}

impl std::fmt::Display for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Spec::Latest => f.write_str("latest"),
            Spec::Build(b) => write!(f, "{b}"),
            Spec::Named {
                product,
                cu,
                update,
            } => {
                let parts: Vec<&str> = [product, cu, update]
                    .into_iter()
                    .filter_map(|p| p.as_deref())
                    .collect();
                f.write_str(&parts.join(" "))
            }
        }
    }
}

/// Parses `--target`, checking names against the catalog so that a typo is an error, not an
/// empty plan.
pub fn parse(text: &str, catalog: &Catalog) -> Result<Spec, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("latest") {
        return Ok(Spec::Latest);
    }
    if let Some(b) = Build::parse(t) {
        return match catalog.exact(&b) {
            Some(_) => Ok(Spec::Build(b)),
            None => Err(format!(
                "target build {b} is not in the build catalog (as of {}); give a listed build, a CU or update name, or latest",
                catalog.as_of
            )),
        };
    }
    let product = catalog
        .products
        .iter()
        .find(|p| t.len() >= p.name.len() && t[..p.name.len()].eq_ignore_ascii_case(&p.name))
        .map(|p| p.name.clone());
    let rest = match &product {
        Some(p) => t[p.len()..].trim(),
        None => t,
    };
    let (mut cu, mut update) = (None, None);
    for word in rest.split_whitespace() {
        let known_cu = catalog
            .releases
            .iter()
            .find(|r| r.kind == Kind::Cu && r.cu.eq_ignore_ascii_case(word));
        let known_update = catalog
            .releases
            .iter()
            .find(|r| !r.name.is_empty() && r.name.eq_ignore_ascii_case(word));
        match (known_cu, known_update) {
            (Some(r), _) if cu.is_none() => cu = Some(r.cu.clone()),
            (_, Some(r)) if update.is_none() => update = Some(r.name.clone()),
            _ => {
                return Err(format!(
                    "target {t:?}: {word:?} is neither a CU nor an update name of the build catalog (as of {})",
                    catalog.as_of
                ))
            }
        }
    }
    if product.is_none() && cu.is_none() && update.is_none() {
        return Err(format!(
            "target {t:?}: give latest, a build number, or a CU and/or update name"
        ));
    }
    Ok(Spec::Named {
        product,
        cu,
        update,
    })
}

/// What the target means for one host.
#[derive(Debug, Clone)]
pub enum ForHost<'c> {
    /// The host should end on this release.
    Update {
        /// The release.
        target: &'c Release,
        /// A CU upgrade (the host's CU is another), not an update of its CU.
        cu_upgrade: bool,
    },
    /// The host already runs this release or a later one of its product.
    AlreadyThere(&'c Release),
    /// The update named is not published for the host's CU.
    NotForThisCu {
        /// The update's name.
        update: String,
        /// The host's CU.
        host_cu: String,
        /// The CUs it is published for.
        published_for: Vec<String>,
    },
    /// The target is of another product than the host's.
    OtherProduct,
    /// The host's build is not known (not collected, or not in the catalog).
    UnknownBuild,
}

/// What `spec` means for a host running `build`, judged at `as_of`.
pub fn for_host<'c>(
    spec: &Spec,
    catalog: &'c Catalog,
    as_of: NaiveDate,
    build: Option<Build>,
) -> ForHost<'c> {
    let Some(build) = build else {
        return ForHost::UnknownBuild;
    };
    let (Some(product), Some(host_cu)) = (catalog.product_of(&build), catalog.cu_of(&build)) else {
        return ForHost::UnknownBuild;
    };
    let target = match spec {
        Spec::Latest => catalog
            .releases
            .iter()
            .filter(|r| r.product == product.name && r.kind == Kind::Cu && r.date <= as_of)
            .max_by_key(|r| r.build)
            .and_then(|cu| catalog.newest_in_line(&cu.product, &cu.cu, as_of)),
        Spec::Build(b) => match catalog.exact(b) {
            Some(r) if r.product == product.name => Some(r),
            _ => return ForHost::OtherProduct,
        },
        Spec::Named {
            product: p,
            cu,
            update,
        } => {
            if p.as_ref().is_some_and(|p| *p != product.name) {
                return ForHost::OtherProduct;
            }
            let cu = cu.as_deref().unwrap_or(&host_cu.cu);
            let found = catalog.releases.iter().find(|r| {
                r.product == product.name
                    && r.cu == cu
                    && match update {
                        Some(u) => r.name == *u,
                        None => r.kind == Kind::Cu,
                    }
            });
            match (found, update) {
                (Some(r), _) => Some(r),
                (None, Some(u)) => {
                    let mut published_for: Vec<String> = catalog
                        .releases
                        .iter()
                        .filter(|r| r.product == product.name && r.name == *u)
                        .map(|r| r.cu.clone())
                        .collect();
                    published_for.dedup();
                    if published_for.is_empty() {
                        return ForHost::OtherProduct;
                    }
                    return ForHost::NotForThisCu {
                        update: u.clone(),
                        host_cu: cu.to_string(),
                        published_for,
                    };
                }
                (None, None) => None,
            }
        }
    };
    let Some(target) = target else {
        return ForHost::OtherProduct;
    };
    if build >= target.build {
        return ForHost::AlreadyThere(target);
    }
    ForHost::Update {
        target,
        cu_upgrade: host_cu.cu != target.cu,
    }
}

/// Whether a host running `build` has reached `target`: the same product and a build at or
/// past it.
pub fn reached(build: Option<Build>, target: &Release, catalog: &Catalog) -> bool {
    build.is_some_and(|b| {
        b >= target.build
            && catalog
                .product_of(&b)
                .is_some_and(|p| p.name == target.product)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Build {
        Build::parse(s).unwrap()
    }

    #[test]
    fn names_resolve_against_each_hosts_cu() {
        let c = Catalog::embedded();
        let as_of = c.as_of;
        let spec = parse("Aug26SU", &c).unwrap();
        // A CU14 host gets CU14's Aug26SU.
        match for_host(&spec, &c, as_of, Some(b("15.2.1544.43"))) {
            ForHost::Update { target, cu_upgrade } => {
                assert_eq!(target.build, b("15.2.1544.44"));
                assert!(!cu_upgrade);
            }
            other => panic!("{other:?}"),
        }
        // CU13 has no Aug26SU: the host must change CU first.
        match for_host(&spec, &c, as_of, Some(b("15.2.1258.39"))) {
            ForHost::NotForThisCu { published_for, .. } => {
                assert!(
                    published_for.contains(&"CU15".to_string()),
                    "{published_for:?}"
                );
            }
            other => panic!("{other:?}"),
        }
        let latest = parse("latest", &c).unwrap();
        match for_host(&latest, &c, as_of, Some(b("14.3.509.0"))) {
            ForHost::Update { target, .. } => {
                assert_eq!(target.friendly(), "Exchange 2010 SP3 RU32")
            }
            other => panic!("{other:?}"),
        }
        let cu15 = parse("Exchange 2019 CU15 Aug26SU", &c).unwrap();
        match for_host(&cu15, &c, as_of, Some(b("15.2.1544.44"))) {
            ForHost::Update { target, cu_upgrade } => {
                assert_eq!(target.build, b("15.2.1748.49"));
                assert!(cu_upgrade);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            for_host(&cu15, &c, as_of, Some(b("15.2.1748.49"))),
            ForHost::AlreadyThere(_)
        ));
        assert!(matches!(
            for_host(&cu15, &c, as_of, Some(b("15.1.2507.72"))),
            ForHost::OtherProduct
        ));
    }

    #[test]
    fn a_typo_is_an_error_naming_the_word() {
        let c = Catalog::embedded();
        let e = parse("CU15 Agu26SU", &c).unwrap_err();
        assert!(e.contains("Agu26SU"), "{e}");
        assert!(parse("15.2.1748.999", &c)
            .unwrap_err()
            .contains("not in the build catalog"));
    }
}
