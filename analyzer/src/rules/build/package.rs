//! What an installed-update key's PackageName says about the CU the update targets:
//! "Security Update for Exchange Server 2019 Cumulative Update 14 (KB5121575)" targets
//! Exchange 2019 CU14; "... Exchange Server Subscription Edition RTM (KB...)" Exchange SE RTM;
//! "Update Rollup 32 for Exchange Server 2010 Service Pack 3 (KB5000978)" Exchange 2010 SP3.

/// (product, CU) an update targets, as the catalog names them.
pub fn target(package_name: &str) -> Option<(String, String)> {
    let lower = package_name.to_ascii_lowercase();
    let rest = &lower[lower.find("exchange server ")? + "exchange server ".len()..];
    let (product, rest) = if let Some(r) = rest.strip_prefix("subscription edition") {
        ("Exchange SE".to_string(), r)
    } else {
        let year: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if year.len() != 4 {
            return None;
        }
        (format!("Exchange {year}"), &rest[4..])
    };
    let rest = rest.trim_start();
    let digits = |r: &str| {
        r.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
    };
    let cu = if let Some(r) = rest
        .strip_prefix("service pack ")
        .or_else(|| rest.strip_prefix("sp"))
    {
        format!("SP{}", digits(r))
    } else if let Some(r) = rest.strip_prefix("cumulative update ") {
        format!("CU{}", digits(r))
    } else if let Some(r) = rest.strip_prefix("cu") {
        format!("CU{}", digits(r))
    } else if rest.starts_with("rtm") {
        "RTM".to_string()
    } else {
        return None;
    };
    (cu.len() > 2 || cu == "RTM").then_some((product, cu))
}

#[cfg(test)]
mod tests {
    use super::target;

    #[test]
    fn package_names_name_their_cu() {
        let t = |s| target(s).map(|(p, c)| format!("{p} {c}"));
        assert_eq!(
            t("Security Update for Exchange Server 2019 Cumulative Update 14 (KB5121575)")
                .as_deref(),
            Some("Exchange 2019 CU14")
        );
        assert_eq!(
            t("Hotfix Update for Exchange Server Subscription Edition RTM (KB5081755)").as_deref(),
            Some("Exchange SE RTM")
        );
        assert_eq!(
            t("Security Update For Exchange Server 2016 CU23 (KB5014261)").as_deref(),
            Some("Exchange 2016 CU23")
        );
        assert_eq!(
            t("Update Rollup 32 for Exchange Server 2010 Service Pack 3 (KB5000978)").as_deref(),
            Some("Exchange 2010 SP3")
        );
        assert_eq!(
            t("Update Rollup 32 for Exchange Server 2010 SP3").as_deref(),
            Some("Exchange 2010 SP3")
        );
        assert_eq!(t("Update Rollup 1 for Exchange Server 2010 SP"), None);
        assert_eq!(t(""), None);
    }
}
