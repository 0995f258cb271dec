//! Extended Protection as HealthChecker judges it (CSS-Exchange
//! `Shared/IISFunctions/ExtendedProtection/Get-ExtendedProtectionConfigurationResult.ps1`):
//! per virtual directory of its table, the tokenChecking in force (the location's, else its
//! parent location's, else None), the value expected for the build, and whether that is
//! *supported* and *properly secured*; plus Lsa `SuppressExtendedProtection`. Read by the
//! `iis.ep-*` rules and by the CVE exposure of the Extended Protection CVE group.
//!
//! One departure: HealthChecker evaluates every entry of its table; here an entry is judged
//! only when the file has its `<location>` or its application (Exchange 2013 has no API
//! virtual directory, which HealthChecker would count as not secured).

use std::fmt;

use exfleet_dataset::IisLocationRow;

use crate::catalog::Build;
use crate::view::HostView;

/// A tokenChecking value, ordered as HealthChecker compares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Token {
    /// No channel binding checked.
    None,
    /// Checked when the client offers it.
    Allow,
    /// Required.
    Require,
}

impl Token {
    /// Parses a written value, case-insensitively; anything else (empty, a typo) is `None`,
    /// as IIS runs it.
    pub fn parse(s: &str) -> Token {
        match s.trim().to_ascii_lowercase().as_str() {
            "require" => Token::Require,
            "allow" => Token::Allow,
            _ => Token::None,
        }
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Token::None => "None",
            Token::Allow => "Allow",
            Token::Require => "Require",
        })
    }
}

const FRONT: &str = "Default Web Site";
const BACK: &str = "Exchange Back End";

/// The reference's table: (site, vdir, expected value on an EP-capable build).
pub const EXPECTED: [(&str, &str, Token); 25] = [
    (FRONT, "API", Token::Require),
    (FRONT, "Autodiscover", Token::None),
    (FRONT, "ECP", Token::Require),
    (FRONT, "EWS", Token::Allow),
    (FRONT, "Microsoft-Server-ActiveSync", Token::Allow),
    (FRONT, "Microsoft-Server-ActiveSync/Proxy", Token::Allow),
    (FRONT, "OAB", Token::Allow),
    (FRONT, "Powershell", Token::None),
    (FRONT, "OWA", Token::Require),
    (FRONT, "RPC", Token::Require),
    (FRONT, "MAPI", Token::Require),
    (BACK, "API", Token::Require),
    (BACK, "Autodiscover", Token::None),
    (BACK, "ECP", Token::Require),
    (BACK, "EWS", Token::Require),
    (BACK, "Microsoft-Server-ActiveSync", Token::Require),
    (BACK, "Microsoft-Server-ActiveSync/Proxy", Token::Require),
    (BACK, "OAB", Token::Require),
    (BACK, "Powershell", Token::Require),
    (BACK, "OWA", Token::Require),
    (BACK, "RPC", Token::Require),
    (BACK, "PushNotifications", Token::Require),
    (BACK, "RPCWithCert", Token::Require),
    (BACK, "MAPI/emsmdb", Token::Require),
    (BACK, "MAPI/nspi", Token::Require),
];

/// Whether the build supports Extended Protection (the Aug22SU builds and later): 15.0
/// above 1497 or 1497.38+; 15.1 above 2507, 2507.11+ or 2375.30+; 15.2 above 1118,
/// 1118.11+ or 986.28+. Older products never do.
pub fn capable(b: Build) -> bool {
    let [major, minor, build, rev] = b.0;
    if major != 15 {
        return major > 15;
    }
    match minor {
        0 => build > 1497 || (build == 1497 && rev >= 38),
        1 => build > 2507 || (build == 2507 && rev >= 11) || (build == 2375 && rev >= 30),
        2 => build > 1118 || (build == 1118 && rev >= 11) || (build == 986 && rev >= 28),
        _ => minor > 2,
    }
}

/// One virtual directory judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Vdir {
    /// `Default Web Site/OWA` (the table's spelling).
    pub path: String,
    /// tokenChecking in force.
    pub current: Token,
    /// Where that value was written (the location, or its parent's); empty when nowhere.
    pub written_at: String,
    /// The value expected for this build.
    pub expected: Token,
    /// sslFlags in force (the location's, else the site root location's).
    pub ssl_flags: String,
    /// IP filtering on (allowUnlisted false) at the location.
    pub ip_filtering: bool,
    /// Entries of its IP filter list.
    pub ip_entries: i64,
    /// The vdir's own `<location>` (or its application's line when it has none).
    pub provenance: String,
    /// HealthChecker's ConfigSupported.
    pub supported: bool,
    /// HealthChecker's ConfigSecure.
    pub secure: bool,
}

impl Vdir {
    /// sslFlags names `Ssl`: the vdir requires SSL.
    pub fn requires_ssl(&self) -> bool {
        self.ssl_flags
            .split(',')
            .any(|f| f.trim().eq_ignore_ascii_case("Ssl"))
    }

    /// Counts as not supported (HealthChecker's Yellow): `Default Web Site/Powershell` only
    /// when it requires SSL.
    pub fn reported_unsupported(&self) -> bool {
        !self.supported && (self.path != format!("{FRONT}/Powershell") || self.requires_ssl())
    }
}

/// Extended Protection on one host.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// The ExSetup build supports it.
    pub capable: bool,
    /// The table's virtual directories the file has, in the table's order.
    pub vdirs: Vec<Vdir>,
    /// Lsa SuppressExtendedProtection when non-zero, with where it was read.
    pub suppressed: Option<(i64, String)>,
}

impl State {
    /// The vdirs not properly secured.
    pub fn insecure(&self) -> impl Iterator<Item = &Vdir> {
        self.vdirs.iter().filter(|v| !v.secure)
    }

    /// Every vdir properly secured and nothing suppresses it: the CVE group is closed (the
    /// build test aside).
    pub fn properly_secured(&self) -> bool {
        self.suppressed.is_none() && self.insecure().next().is_none()
    }

    /// What keeps the CVE group open, in HealthChecker's words, with the vdirs concerned.
    pub fn shortfall(&self) -> Option<String> {
        let insecure: Vec<String> = self
            .insecure()
            .map(|v| format!("{} is {}, expected {}", v.path, v.current, v.expected))
            .collect();
        if !insecure.is_empty() {
            let head = if self.vdirs.iter().all(|v| v.current == Token::None) {
                "Extended Protection is not configured"
            } else {
                "Extended Protection isn't configured as expected"
            };
            return Some(format!("{head}: {}", insecure.join("; ")));
        }
        self.suppressed.as_ref().map(|(v, _)| {
            format!("SuppressExtendedProtection is {v}: Extended Protection is turned off")
        })
    }
}

/// Judges `h`; `None` when applicationHost.config gave none of the table's virtual
/// directories (not collected: nothing to judge) or the build is unknown.
pub fn judge(h: &HostView) -> Option<State> {
    let capable = capable(h.exsetup?);
    let find = |path: &str| -> Option<&IisLocationRow> {
        h.iis_locations
            .iter()
            .find(|l| l.path.eq_ignore_ascii_case(path))
    };
    let mut vdirs = Vec::new();
    for (site, vdir, when_capable) in EXPECTED {
        let path = format!("{site}/{vdir}");
        let own = find(&path);
        let app = h.vdirs.iter().find(|v| {
            v.site.eq_ignore_ascii_case(site)
                && v.vdir_path == "/"
                && v.app_path
                    .trim_start_matches('/')
                    .eq_ignore_ascii_case(vdir)
        });
        let provenance = match (own, app) {
            (Some(l), _) => l.provenance.clone(),
            (None, Some(a)) => a.provenance.clone(),
            (None, None) => continue,
        };
        let parent = path.rsplit_once('/').and_then(|(p, _)| find(p));
        let (current, written_at) = match (own, parent) {
            (Some(l), _) if !l.token_checking.trim().is_empty() => {
                (Token::parse(&l.token_checking), l.provenance.clone())
            }
            (_, Some(p)) if !p.token_checking.trim().is_empty() => {
                (Token::parse(&p.token_checking), p.provenance.clone())
            }
            _ => (Token::None, String::new()),
        };
        let ssl_flags = own
            .map(|l| l.ssl_flags.trim())
            .filter(|f| !f.is_empty())
            .or_else(|| find(site).map(|r| r.ssl_flags.trim()))
            .unwrap_or_default()
            .to_string();
        let ip_filtering =
            own.is_some_and(|l| l.ip_allow_unlisted.trim().eq_ignore_ascii_case("false"));
        let expected = if capable { when_capable } else { Token::None };
        let supported = current == expected
            || expected == Token::Require
            || (expected == Token::Allow && current == Token::None);
        let secure = current == expected
            || (expected == Token::Allow && current == Token::Require)
            || expected == Token::None
            || (expected == Token::Require && path == format!("{BACK}/EWS") && ip_filtering);
        vdirs.push(Vdir {
            path,
            current,
            written_at,
            expected,
            ssl_flags,
            ip_filtering,
            ip_entries: own.map_or(0, |l| l.ip_filter_entries),
            provenance,
            supported,
            secure,
        });
    }
    if vdirs.is_empty() {
        return None;
    }
    let suppressed = h.suppress_extended_protection();
    Some(State {
        capable,
        vdirs,
        suppressed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(path: &str, token: &str, ssl: &str, allow_unlisted: &str) -> IisLocationRow {
        IisLocationRow {
            path: path.into(),
            token_checking: token.into(),
            ssl_flags: ssl.into(),
            ip_allow_unlisted: allow_unlisted.into(),
            provenance: format!("applicationHost.config ({path})"),
            ..Default::default()
        }
    }

    fn host(build: &str, locations: Vec<IisLocationRow>) -> HostView {
        HostView {
            exsetup: Build::parse(build),
            iis_locations: locations,
            ..Default::default()
        }
    }

    fn vdir<'a>(s: &'a State, path: &str) -> &'a Vdir {
        s.vdirs.iter().find(|v| v.path == path).unwrap()
    }

    #[test]
    fn the_capable_builds_are_the_references() {
        for (b, yes) in [
            ("15.0.1497.37", false),
            ("15.0.1497.38", true),
            ("15.1.2375.29", false),
            ("15.1.2375.30", true),
            ("15.1.2507.10", false),
            ("15.1.2507.11", true),
            ("15.1.2508.0", true),
            ("15.2.986.27", false),
            ("15.2.986.28", true),
            ("15.2.1118.10", false),
            ("15.2.1118.11", true),
            ("15.2.2562.17", true),
            ("14.3.513.0", false),
        ] {
            assert_eq!(capable(Build::parse(b).unwrap()), yes, "{b}");
        }
    }

    #[test]
    fn supported_and_secure_follow_the_reference() {
        let s = judge(&host(
            "15.2.1748.39",
            vec![
                loc("Default Web Site", "", "Ssl, Ssl128", ""),
                // Allow expected, Require set: supported? no (above); secure yes.
                loc("Default Web Site/EWS", "Require", "", ""),
                // Require expected, None set: supported, not secure.
                loc("Default Web Site/ecp", "None", "", ""),
                // None expected, Require set: not supported, secure.
                loc("Default Web Site/Autodiscover", "Require", "", ""),
                // Not set: the parent location's value.
                loc("Exchange Back End", "Require", "", ""),
                loc("Exchange Back End/OWA", "", "", ""),
                // IP filtering makes None secure on the back end's EWS only.
                loc("Exchange Back End/EWS", "None", "", "false"),
                loc("Exchange Back End/ecp", "None", "", "false"),
            ],
        ))
        .unwrap();
        assert!(s.capable);
        let ews = vdir(&s, "Default Web Site/EWS");
        assert_eq!((ews.supported, ews.secure), (false, true));
        let ecp = vdir(&s, "Default Web Site/ECP");
        assert_eq!((ecp.supported, ecp.secure), (true, false));
        let ad = vdir(&s, "Default Web Site/Autodiscover");
        assert_eq!((ad.supported, ad.secure), (false, true));
        assert_eq!(ecp.ssl_flags, "Ssl, Ssl128", "the site root's sslFlags");
        let owa = vdir(&s, "Exchange Back End/OWA");
        assert_eq!(owa.current, Token::Require);
        assert!(owa.secure);
        assert!(vdir(&s, "Exchange Back End/EWS").secure);
        assert!(!vdir(&s, "Exchange Back End/ECP").secure);
        assert!(!s.properly_secured());
        assert!(s
            .shortfall()
            .unwrap()
            .contains("isn't configured as expected"));
    }

    #[test]
    fn below_the_capable_build_none_is_expected_everywhere() {
        let s = judge(&host(
            "15.2.1118.9",
            vec![
                loc("Default Web Site/owa", "None", "", ""),
                loc("Default Web Site/ecp", "Require", "", ""),
            ],
        ))
        .unwrap();
        assert!(!s.capable);
        assert!(s.properly_secured());
        let ecp = vdir(&s, "Default Web Site/ECP");
        assert_eq!(ecp.expected, Token::None);
        assert!(ecp.reported_unsupported());
    }

    #[test]
    fn front_end_powershell_is_reported_unsupported_only_when_it_requires_ssl() {
        let s = |ssl: &str| {
            judge(&host(
                "15.2.1748.39",
                vec![loc("Default Web Site/PowerShell", "Require", ssl, "")],
            ))
            .unwrap()
        };
        let ps = |st: &State| vdir(st, "Default Web Site/Powershell").reported_unsupported();
        assert!(!ps(&s("SslNegotiateCert")));
        assert!(ps(&s("Ssl, SslNegotiateCert")));
    }

    #[test]
    fn suppression_and_absence() {
        let mut h = host(
            "15.2.1748.39",
            vec![loc("Default Web Site/Autodiscover", "None", "", "")],
        );
        assert!(judge(&h).unwrap().properly_secured());
        h.settings.push(crate::view::test_settings::lsa_suppress(1));
        let s = judge(&h).unwrap();
        assert!(!s.properly_secured());
        assert!(s
            .shortfall()
            .unwrap()
            .contains("SuppressExtendedProtection is 1"));
        h.iis_locations.clear();
        assert_eq!(judge(&h), None, "nothing collected: nothing judged");
    }
}
