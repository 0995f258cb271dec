//! A server's TLS configuration as HealthChecker judges it (readiness-checks.md, section 6;
//! CSS-Exchange `Shared/TLS/Get-AllTlsSettingsFromRegistry.ps1` and
//! `Analyzer/Security/Invoke-AnalyzerSecuritySettings.ps1`), from the registry values the
//! collector keeps (`registry_settings`): SCHANNEL's protocol keys and .NET's strong-crypto
//! values. The `tls.*` rules report its problems; `fleet.tls-drift` compares its
//! [`Tls::signature`] across servers.

use exfleet_dataset::SettingRow;

use crate::catalog::Build;
use crate::finding::{Evidence, Severity};

/// The protocol versions HealthChecker reads.
pub const VERSIONS: [&str; 4] = ["1.0", "1.1", "1.2", "1.3"];

/// SCHANNEL's protocol keys.
pub const PROTOCOLS: &str =
    r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols";

/// The .NET values HealthChecker tests (v4, 64-bit and 32-bit), each of which should be 1.
pub const DOTNET: [(&str, &str); 4] = [
    (
        r"HKLM\SOFTWARE\Microsoft\.NETFramework\v4.0.30319",
        "SystemDefaultTlsVersions",
    ),
    (
        r"HKLM\SOFTWARE\Microsoft\.NETFramework\v4.0.30319",
        "SchUseStrongCrypto",
    ),
    (
        r"HKLM\SOFTWARE\WOW6432Node\Microsoft\.NETFramework\v4.0.30319",
        "SystemDefaultTlsVersions",
    ),
    (
        r"HKLM\SOFTWARE\WOW6432Node\Microsoft\.NETFramework\v4.0.30319",
        "SchUseStrongCrypto",
    ),
];

/// One side (Server or Client) of a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    /// `Enabled` as read (`None`: absent).
    pub enabled_value: Option<i64>,
    /// `DisabledByDefault` as read.
    pub disabled_by_default_value: Option<i64>,
    /// Where the key is.
    pub provenance: String,
}

impl Side {
    /// Enabled: the value present and non-zero, or absent for 1.0 to 1.2 (absent means
    /// enabled there; for 1.3 it means not enabled).
    fn enabled(&self, version: &str) -> bool {
        match self.enabled_value {
            Some(v) => v != 0,
            None => version != "1.3",
        }
    }

    /// Disabled by default: the value present and non-zero.
    fn disabled_by_default(&self) -> bool {
        self.disabled_by_default_value.is_some_and(|v| v != 0)
    }
}

/// How a version is configured (HealthChecker's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// Enabled (the default).
    Enabled,
    /// Off on both sides.
    Disabled,
    /// The server side half off.
    HalfDisabled,
    /// Server and client disagree.
    Misconfigured,
}

impl State {
    /// The name HealthChecker prints.
    pub fn name(self) -> &'static str {
        match self {
            State::Enabled => "Enabled",
            State::Disabled => "Disabled",
            State::HalfDisabled => "Half Disabled",
            State::Misconfigured => "Misconfigured",
        }
    }
}

/// One protocol version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// "1.2".
    pub version: &'static str,
    /// The Server key.
    pub server: Side,
    /// The Client key.
    pub client: Side,
}

impl Version {
    /// The version's state; later rows of the reference's table override earlier ones.
    pub fn state(&self) -> State {
        let v = self.version;
        let (s, c) = (&self.server, &self.client);
        let mut state = State::Enabled;
        let off_by_default = |x: &Side| x.disabled_by_default_value.is_none_or(|d| d != 0);
        if !s.enabled(v) && !c.enabled(v) && off_by_default(s) && off_by_default(c) {
            state = State::Disabled;
        }
        if (!s.enabled(v) && s.disabled_by_default_value == Some(0))
            || (s.enabled(v) && s.disabled_by_default())
        {
            state = State::HalfDisabled;
        }
        if s.enabled(v) != c.enabled(v) || s.disabled_by_default() != c.disabled_by_default() {
            state = State::Misconfigured;
        }
        state
    }
}

/// Which rule a problem belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `tls.misconfigured`: a version misconfigured or half disabled, TLS 1.2 off, TLS 1.3 on.
    Misconfigured,
    /// `tls.values-missing`: registry values not defined, or .NET not set as TLS 1.0/1.1 off
    /// requires.
    ValuesMissing,
    /// `tls.legacy-enabled`: TLS 1.0 or 1.1 on.
    LegacyEnabled,
}

/// One thing wrong, as evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Its rule.
    pub kind: Kind,
    /// HealthChecker's colour as a severity.
    pub severity: Severity,
    /// The fact and where it was read.
    pub evidence: Evidence,
}

/// A server's TLS configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    /// The four versions.
    pub versions: Vec<Version>,
    /// The four .NET values (`None`: absent), with where each is.
    pub dotnet: Vec<(String, Option<i64>, String)>,
}

fn number(row: &SettingRow) -> Option<i64> {
    match row.reg_type.as_str() {
        "REG_DWORD" | "REG_QWORD" | "REG_SZ" => row.data.trim().parse().ok(),
        _ => None,
    }
}

impl Tls {
    /// The configuration, when the snapshot holds the SYSTEM and SOFTWARE hives' settings
    /// (a collector older than the settings reader, or a copy without a hive, cannot say).
    pub fn from_settings(settings: &[SettingRow]) -> Option<Tls> {
        let has = |root: &str| {
            settings
                .iter()
                .any(|s| s.reg_key.to_ascii_uppercase().starts_with(root))
        };
        if !has(r"HKLM\SYSTEM\") || !has(r"HKLM\SOFTWARE\") {
            return None;
        }
        let find = |key: &str, name: &str| {
            settings
                .iter()
                .find(|s| s.reg_key.eq_ignore_ascii_case(key) && s.name.eq_ignore_ascii_case(name))
        };
        let side = |version: &str, side: &str| {
            let key = format!(r"{PROTOCOLS}\TLS {version}\{side}");
            let enabled = find(&key, "Enabled");
            let dbd = find(&key, "DisabledByDefault");
            Side {
                enabled_value: enabled.and_then(number),
                disabled_by_default_value: dbd.and_then(number),
                provenance: enabled
                    .or(dbd)
                    .map_or_else(|| key.clone(), |r| r.provenance.clone()),
            }
        };
        let versions = VERSIONS
            .iter()
            .map(|&v| Version {
                version: v,
                server: side(v, "Server"),
                client: side(v, "Client"),
            })
            .collect();
        let dotnet = DOTNET
            .iter()
            .map(|(key, name)| {
                let row = find(key, name);
                (
                    format!(r"{key}\{name}"),
                    row.and_then(number),
                    row.map_or_else(|| format!(r"{key}\{name}"), |r| r.provenance.clone()),
                )
            })
            .collect();
        Some(Tls { versions, dotnet })
    }

    /// The state of a version.
    pub fn state(&self, version: &str) -> Option<State> {
        self.versions
            .iter()
            .find(|v| v.version == version)
            .map(Version::state)
    }

    /// What the configuration comes to, field by field, for comparing servers: each
    /// version's state and each .NET value.
    pub fn fields(&self) -> Vec<(String, String)> {
        let versions = self
            .versions
            .iter()
            .map(|v| (format!("TLS {}", v.version), v.state().name().to_string()));
        let dotnet = self.dotnet.iter().map(|(name, v, _)| {
            let short = name.trim_start_matches(r"HKLM\SOFTWARE\");
            (
                short.to_string(),
                v.map_or_else(|| "absent".to_string(), |n| n.to_string()),
            )
        });
        versions.chain(dotnet).collect()
    }

    /// [`Tls::fields`] in one line.
    pub fn signature(&self) -> String {
        self.fields()
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Every problem HealthChecker flags. `os_build` is Windows' CurrentBuild; `exchange` the
    /// server's build (TLS 1.3 is supported on Exchange 2019 CU15 and later and SE only).
    pub fn problems(&self, os_build: &str, exchange: Option<Build>) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut push = |kind, severity, fact: String, provenance: &str| {
            out.push(Problem {
                kind,
                severity,
                evidence: Evidence::new(fact, provenance),
            })
        };
        for v in &self.versions {
            let state = v.state();
            let prov = v.server.provenance.as_str();
            let sides = format!(
                "Server Enabled={} DisabledByDefault={}, Client Enabled={} DisabledByDefault={}",
                shown(v.server.enabled_value),
                shown(v.server.disabled_by_default_value),
                shown(v.client.enabled_value),
                shown(v.client.disabled_by_default_value)
            );
            match state {
                State::Misconfigured => push(
                    Kind::Misconfigured,
                    Severity::Error,
                    format!("TLS {} is Misconfigured: client and server differ ({sides}); Exchange is both client and server", v.version),
                    prov,
                ),
                State::HalfDisabled => push(
                    Kind::Misconfigured,
                    Severity::Error,
                    format!("TLS {} is Half Disabled ({sides})", v.version),
                    prov,
                ),
                _ => {}
            }
            if v.version == "1.2" && state == State::Disabled {
                push(
                    Kind::Misconfigured,
                    Severity::Error,
                    format!("TLS 1.2 is Disabled ({sides})"),
                    prov,
                );
            }
            if v.version == "1.3" && state != State::Disabled {
                let old_os = matches!(os_build.trim(), "9200" | "9600" | "14393" | "17763");
                let supported = exchange.is_some_and(|b| b.0[..2] == [15, 2] && b.0[2] >= 1748);
                let why = if old_os {
                    format!("Windows build {os_build} does not support it")
                } else if !supported {
                    "only Exchange 2019 CU15 and later and SE support it".to_string()
                } else {
                    "HealthChecker flags TLS 1.3 not disabled as known to cause issues within the cluster".to_string()
                };
                push(
                    Kind::Misconfigured,
                    Severity::Error,
                    format!("TLS 1.3 is {} ({sides}): {why}", state.name()),
                    prov,
                );
            }
            if matches!(v.version, "1.0" | "1.1") && state == State::Enabled {
                push(
                    Kind::LegacyEnabled,
                    Severity::Warning,
                    format!("TLS {} is Enabled ({sides})", v.version),
                    prov,
                );
            }
            if v.version != "1.3" {
                for (side, name, value) in [
                    ("Server", "Enabled", v.server.enabled_value),
                    (
                        "Server",
                        "DisabledByDefault",
                        v.server.disabled_by_default_value,
                    ),
                    ("Client", "Enabled", v.client.enabled_value),
                    (
                        "Client",
                        "DisabledByDefault",
                        v.client.disabled_by_default_value,
                    ),
                ] {
                    if value.is_none() {
                        push(
                            Kind::ValuesMissing,
                            Severity::Error,
                            format!(
                                r"TLS {} {side}\{name} is not defined: it should be, for consistent results",
                                v.version
                            ),
                            &format!(r"{PROTOCOLS}\TLS {}\{side}", v.version),
                        );
                    }
                }
            }
        }
        for (name, value, prov) in &self.dotnet {
            if value.is_none() {
                push(
                    Kind::ValuesMissing,
                    Severity::Error,
                    format!("{name} is not defined"),
                    prov,
                );
            }
        }
        let legacy_off = ["1.0", "1.1"]
            .iter()
            .any(|v| self.state(v) == Some(State::Disabled));
        let not_one: Vec<&str> = self
            .dotnet
            .iter()
            .filter(|(_, v, _)| *v != Some(1))
            .map(|(n, _, _)| n.as_str())
            .collect();
        if legacy_off && !not_one.is_empty() {
            push(
                Kind::ValuesMissing,
                Severity::Error,
                format!(
                    "TLS 1.0 or 1.1 is Disabled but SystemDefaultTlsVersions or SchUseStrongCrypto is not set to 1: {}",
                    not_one.join(", ")
                ),
                &self.dotnet[0].2,
            );
        }
        out
    }
}

fn shown(v: Option<i64>) -> String {
    v.map_or_else(|| "absent".to_string(), |n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, name: &str, data: &str) -> SettingRow {
        SettingRow {
            reg_key: key.into(),
            name: name.into(),
            reg_type: "REG_DWORD".into(),
            data: data.into(),
            provenance: format!("{key}\\{name}"),
            ..Default::default()
        }
    }

    /// The configuration Microsoft's TLS guidance gives: 1.0 and 1.1 off, 1.2 on, every
    /// value defined, .NET values 1.
    pub(crate) fn hardened() -> Vec<SettingRow> {
        let mut rows = vec![row(
            r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa",
            "LmCompatibilityLevel",
            "5",
        )];
        for (v, on) in [("1.0", false), ("1.1", false), ("1.2", true)] {
            for side in ["Server", "Client"] {
                let key = format!(r"{PROTOCOLS}\TLS {v}\{side}");
                rows.push(row(&key, "Enabled", if on { "1" } else { "0" }));
                rows.push(row(&key, "DisabledByDefault", if on { "0" } else { "1" }));
            }
        }
        for (key, name) in DOTNET {
            rows.push(row(key, name, "1"));
        }
        rows
    }

    fn set(rows: &mut Vec<SettingRow>, key: &str, name: &str, data: &str) {
        rows.retain(|r| !(r.reg_key == key && r.name == name));
        rows.push(row(key, name, data));
    }

    #[test]
    fn the_hardened_configuration_has_no_problem() {
        let t = Tls::from_settings(&hardened()).unwrap();
        assert_eq!(t.problems("20348", Build::parse("15.2.2562.46")), vec![]);
        assert_eq!(t.state("1.0"), Some(State::Disabled));
        assert_eq!(t.state("1.2"), Some(State::Enabled));
        // Absent 1.3 values mean not enabled: Disabled.
        assert_eq!(t.state("1.3"), Some(State::Disabled));
    }

    #[test]
    fn states_follow_the_reference_table() {
        let k = |side| format!(r"{PROTOCOLS}\TLS 1.2\{side}");
        let mut rows = hardened();
        set(&mut rows, &k("Client"), "Enabled", "0");
        let t = Tls::from_settings(&rows).unwrap();
        assert_eq!(t.state("1.2"), Some(State::Misconfigured));
        let mut rows = hardened();
        set(&mut rows, &k("Server"), "DisabledByDefault", "1");
        set(&mut rows, &k("Client"), "DisabledByDefault", "1");
        assert_eq!(
            Tls::from_settings(&rows).unwrap().state("1.2"),
            Some(State::HalfDisabled)
        );
        let mut rows = hardened();
        for side in ["Server", "Client"] {
            set(&mut rows, &k(side), "Enabled", "0");
            set(&mut rows, &k(side), "DisabledByDefault", "1");
        }
        let t = Tls::from_settings(&rows).unwrap();
        assert_eq!(t.state("1.2"), Some(State::Disabled));
        let p = t.problems("20348", None);
        assert!(
            p.iter().any(|p| p.kind == Kind::Misconfigured
                && p.evidence.fact.starts_with("TLS 1.2 is Disabled")),
            "{p:?}"
        );
    }

    #[test]
    fn missing_values_and_dotnet_not_set_are_reported() {
        let mut rows = hardened();
        rows.retain(|r| r.name != "SchUseStrongCrypto");
        let p = Tls::from_settings(&rows).unwrap().problems("20348", None);
        let facts: Vec<&str> = p
            .iter()
            .filter(|p| p.kind == Kind::ValuesMissing)
            .map(|p| p.evidence.fact.as_str())
            .collect();
        assert_eq!(facts.len(), 3, "{facts:?}");
        assert!(facts[2].contains("not set to 1"), "{facts:?}");
        // A default Windows: no SCHANNEL value at all. Every 1.0 to 1.2 value is missing and
        // 1.0 and 1.1 are enabled.
        let rows: Vec<SettingRow> = hardened()
            .into_iter()
            .filter(|r| !r.reg_key.starts_with(PROTOCOLS))
            .collect();
        let p = Tls::from_settings(&rows).unwrap().problems("20348", None);
        assert_eq!(
            p.iter().filter(|p| p.kind == Kind::ValuesMissing).count(),
            12
        );
        assert_eq!(
            p.iter().filter(|p| p.kind == Kind::LegacyEnabled).count(),
            2
        );
    }

    #[test]
    fn tls_1_3_on_an_old_windows_or_exchange_is_misconfigured() {
        let mut rows = hardened();
        for side in ["Server", "Client"] {
            set(
                &mut rows,
                &format!(r"{PROTOCOLS}\TLS 1.3\{side}"),
                "Enabled",
                "1",
            );
            set(
                &mut rows,
                &format!(r"{PROTOCOLS}\TLS 1.3\{side}"),
                "DisabledByDefault",
                "0",
            );
        }
        let t = Tls::from_settings(&rows).unwrap();
        let fact = |os, b| {
            t.problems(os, Build::parse(b))
                .into_iter()
                .find(|p| p.evidence.fact.starts_with("TLS 1.3"))
                .unwrap()
                .evidence
                .fact
        };
        assert!(fact("17763", "15.2.2562.46").contains("Windows build 17763"));
        assert!(fact("20348", "15.1.2507.72").contains("only Exchange 2019 CU15"));
    }

    #[test]
    fn no_settings_means_not_judged() {
        assert!(Tls::from_settings(&[]).is_none());
    }
}
