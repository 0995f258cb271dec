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
    // `get`, not slicing: a target with a multi-byte character at the cut is no product name.
    let product = catalog
        .products
        .iter()
        .find(|p| {
            t.get(..p.name.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(&p.name))
        })
        .map(|p| p.name.clone());
    let rest = match &product {
        Some(p) => t.get(p.len()..).unwrap_or_default().trim(),
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
    if let (None, Some(c)) = (&product, &cu) {
        // A CU name alone means the host's product; when several products have that CU (and
        // the update named), which one is meant is the operator's to say.
        let mut sharing: Vec<&str> = catalog
            .releases
            .iter()
            .filter(|r| {
                r.cu == *c
                    && match &update {
                        Some(u) => r.name == *u,
                        None => r.kind == Kind::Cu,
                    }
            })
            .map(|r| r.product.as_str())
            .collect();
        sharing.dedup();
        if sharing.len() > 1 {
            return Err(format!(
                "target {t:?}: {c} is a CU of {}; name the product, e.g. \"{} {t}\"",
                sharing.join(", "),
                sharing[sharing.len() - 1]
            ));
        }
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

/// What `spec` means for a host running `build`, judged at `as_of`. A target of a product
/// that succeeds the host's in place (Exchange SE over Exchange 2019, as the catalog says) is a
/// CU upgrade for a host on a CU the upgrade starts from.
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
            Some(r) => match upgrade_path(catalog, &r.product, product.name.as_str(), host_cu) {
                Path::Upgrade => Some(r),
                Path::FromOtherCu(from) => return not_from_this_cu(r.friendly(), host_cu, from),
                Path::None => return ForHost::OtherProduct,
            },
            None => return ForHost::OtherProduct,
        },
        Spec::Named {
            product: p,
            cu,
            update,
        } => {
            let own = p.as_ref().is_none_or(|p| *p == product.name);
            let target_product = p.as_deref().unwrap_or(&product.name);
            if !own {
                match upgrade_path(catalog, target_product, &product.name, host_cu) {
                    Path::Upgrade => {}
                    Path::FromOtherCu(from) => {
                        return not_from_this_cu(spec.to_string(), host_cu, from)
                    }
                    Path::None => return ForHost::OtherProduct,
                }
            }
            // The host's CU is the default on its own product; on a successor, its newest CU.
            let newest_cu = || {
                catalog
                    .releases
                    .iter()
                    .filter(|r| {
                        r.product == target_product && r.kind == Kind::Cu && r.date <= as_of
                    })
                    .max_by_key(|r| r.build)
                    .map(|r| r.cu.as_str())
            };
            let Some(cu) = cu
                .as_deref()
                .or(if own { Some(host_cu.cu.as_str()) } else { None })
                .or_else(newest_cu)
            else {
                return ForHost::OtherProduct;
            };
            let found = catalog.releases.iter().find(|r| {
                r.product == target_product
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
                        .filter(|r| r.product == target_product && r.name == *u)
                        .map(|r| r.cu.clone())
                        .collect();
                    published_for.dedup();
                    if published_for.is_empty() {
                        return ForHost::OtherProduct;
                    }
                    return ForHost::NotForThisCu {
                        update: u.clone(),
                        host_cu: host_cu.cu.clone(),
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
    if reached(Some(build), target, catalog) {
        return ForHost::AlreadyThere(target);
    }
    if build > target.build && target.kind != Kind::Cu {
        // On a later CU line without the update's fix: the same update of its own line, if
        // it has one.
        return match catalog
            .line(&product.name, &host_cu.cu)
            .into_iter()
            .find(|r| r.name == target.name)
        {
            Some(own) if build >= own.build => ForHost::AlreadyThere(own),
            Some(own) => ForHost::Update {
                target: own,
                cu_upgrade: false,
            },
            None => ForHost::NotForThisCu {
                update: target.friendly(),
                host_cu: host_cu.cu.clone(),
                published_for: vec![target.cu.clone()],
            },
        };
    }
    ForHost::Update {
        target,
        cu_upgrade: host_cu.cu != target.cu || host_cu.product != target.product,
    }
}

/// How a host of `host_product` on `host_cu` gets to a release of `target_product`.
enum Path<'c> {
    /// The target's product succeeds the host's in place, from the host's CU.
    Upgrade,
    /// It does, from these CUs only.
    FromOtherCu(&'c [String]),
    /// It does not.
    None,
}

fn upgrade_path<'c>(
    catalog: &'c Catalog,
    target_product: &str,
    host_product: &str,
    host_cu: &Release,
) -> Path<'c> {
    match catalog.succeeds(target_product, host_product) {
        Some(p) if p.upgrade_from.contains(&host_cu.cu) => Path::Upgrade,
        Some(p) => Path::FromOtherCu(&p.upgrade_from),
        None => Path::None,
    }
}

/// An in-place upgrade from another CU of the host's product: the CUs are named with it
/// ("Exchange 2019 CU14"), since the target is of another product.
fn not_from_this_cu<'c>(target: String, host_cu: &Release, from: &[String]) -> ForHost<'c> {
    ForHost::NotForThisCu {
        update: target,
        host_cu: host_cu.cu.clone(),
        published_for: from
            .iter()
            .map(|cu| format!("{} {cu}", host_cu.product))
            .collect(),
    }
}

/// Whether a host running `build` has reached `target`. On the target's CU line: at or past
/// it. For an update target, a later CU line (or a product that succeeds the target's) counts
/// only with a release dated on or after the target's, since an older build of a later CU
/// lacks the update's fixes. For a CU target, any later CU of its product or a successor.
pub fn reached(build: Option<Build>, target: &Release, catalog: &Catalog) -> bool {
    let Some(b) = build else {
        return false;
    };
    let (Some(product), Some(cu)) = (catalog.product_of(&b), catalog.cu_of(&b)) else {
        return false;
    };
    let same = product.name == target.product;
    let successor = catalog.succeeds(&product.name, &target.product).is_some();
    if same && cu.cu == target.cu {
        return b >= target.build;
    }
    if !(successor || same && b > target.build) {
        return false;
    }
    if target.kind == Kind::Cu {
        return true;
    }
    // The host's release: the newest of its line at or below its build.
    catalog
        .line(&product.name, &cu.cu)
        .into_iter()
        .filter(|r| r.build <= b)
        .max_by_key(|r| r.build)
        .is_some_and(|r| r.date >= target.date)
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

    #[test]
    fn se_is_an_in_place_cu_upgrade_from_2019_cu14_and_cu15() {
        let c = Catalog::embedded();
        let as_of = c.as_of;
        let se = parse("Exchange SE RTM", &c).unwrap();
        match for_host(&se, &c, as_of, Some(b("15.2.1544.43"))) {
            ForHost::Update { target, cu_upgrade } => {
                assert_eq!(target.build, b("15.2.2562.17"));
                assert!(cu_upgrade);
            }
            other => panic!("{other:?}"),
        }
        // CU13 must move to CU14 or CU15 first.
        match for_host(&se, &c, as_of, Some(b("15.2.1258.39"))) {
            ForHost::NotForThisCu {
                host_cu,
                published_for,
                ..
            } => {
                assert_eq!(host_cu, "CU13");
                assert_eq!(published_for, ["Exchange 2019 CU14", "Exchange 2019 CU15"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            for_host(&se, &c, as_of, Some(b("15.1.2507.72"))),
            ForHost::OtherProduct
        ));
        // A build of SE as the target, from CU15.
        let build = parse("15.2.2562.37", &c).unwrap();
        match for_host(&build, &c, as_of, Some(b("15.2.1748.43"))) {
            ForHost::Update { target, cu_upgrade } => {
                assert_eq!(target.build, b("15.2.2562.37"));
                assert!(cu_upgrade);
            }
            other => panic!("{other:?}"),
        }
        let rtm = c.exact(&b("15.2.2562.17")).unwrap();
        assert!(reached(Some(b("15.2.2562.37")), rtm, &c));
        assert!(!reached(Some(b("15.2.1748.49")), rtm, &c));
    }

    #[test]
    fn a_later_cu_without_the_update_has_not_reached_it() {
        let c = Catalog::embedded();
        // 2019 CU14 Aug26SU, dated 2026-08-11.
        let target = c.exact(&b("15.2.1544.44")).unwrap();
        // CU15 Feb26SU: a higher build, but without August's fixes.
        assert!(!reached(Some(b("15.2.1748.43")), target, &c));
        assert!(reached(Some(b("15.2.1748.49")), target, &c));
        assert!(reached(Some(b("15.2.1544.44")), target, &c));
        assert!(!reached(Some(b("15.2.1544.43")), target, &c));
        // Planned, the CU15 Feb26SU host goes to its own line's Aug26SU, not "already there".
        let spec = Spec::Build(b("15.2.1544.44"));
        match for_host(&spec, &c, c.as_of, Some(b("15.2.1748.43"))) {
            ForHost::Update { target, cu_upgrade } => {
                assert_eq!(target.build, b("15.2.1748.49"));
                assert!(!cu_upgrade);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_cu_name_several_products_share_asks_for_the_product() {
        let c = Catalog::embedded();
        let e = parse("CU15", &c).unwrap_err();
        assert!(e.contains("name the product"), "{e}");
        assert!(
            e.contains("Exchange 2016") && e.contains("Exchange 2019"),
            "{e}"
        );
        assert!(parse("RTM", &c).is_err());
        // With the update, only Exchange 2019 has it.
        assert!(parse("CU15 Aug26SU", &c).is_ok());
        assert!(parse("Exchange 2016 CU15", &c).is_ok());
    }

    #[test]
    fn the_message_names_the_hosts_own_cu() {
        let c = Catalog::embedded();
        let spec = parse("Exchange 2019 CU15 Aug26SU", &c).unwrap();
        // CU14's Aug26SU exists, so pick an update CU13 never had through a named CU.
        let spec13 = parse("Aug26SU", &c).unwrap();
        match for_host(&spec13, &c, c.as_of, Some(b("15.2.1258.39"))) {
            ForHost::NotForThisCu { host_cu, .. } => assert_eq!(host_cu, "CU13"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            for_host(&spec, &c, c.as_of, Some(b("15.2.1258.39"))),
            ForHost::Update { .. }
        ));
    }

    #[test]
    fn a_multi_byte_character_at_the_cut_is_an_error_not_a_panic() {
        let c = Catalog::embedded();
        assert!(parse("Exchange 201\u{e9}", &c).is_err());
        assert!(parse("\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}", &c).is_err());
    }
}
