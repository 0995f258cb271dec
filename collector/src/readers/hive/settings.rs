//! The registry values the settings checks read, kept as they are (`RegistrySetting`): the
//! keys below, every value of each, and of their subkeys to the depth given. The analyzer
//! judges them (TLS, server component states, Defender exclusions, ...); the collector only
//! says what is there, so that a new check of these keys needs no new collector.

use exfleet_proto::v1::RegistrySetting;

use crate::registry::{Hive, Key, Mount, Value};
use crate::sink::Sink;
use crate::text::{cap_field, MAX_FIELD_BYTES};

/// A key the settings checks read.
pub struct SettingKey {
    /// Its hive.
    pub mount: Mount,
    /// Its path below the hive's root; `CurrentControlSet\` stands for the control set in use.
    pub path: &'static str,
    /// How many levels of subkeys are read too.
    pub depth: usize,
}

const fn key(mount: Mount, path: &'static str, depth: usize) -> SettingKey {
    SettingKey { mount, path, depth }
}

/// The keys, with the check that reads each (analyzer/SETTINGS.md, collector/EVIDENCE.md).
pub const KEYS: &[SettingKey] = &[
    // TLS: each protocol version's Server and Client Enabled/DisabledByDefault; renegotiation.
    key(
        Mount::System,
        r"CurrentControlSet\Control\SecurityProviders\SCHANNEL",
        3,
    ),
    // Extended Protection's LSA switch (SuppressExtendedProtection), LmCompatibilityLevel.
    key(Mount::System, r"CurrentControlSet\Control\Lsa", 0),
    // CVE-2020-0796's workaround (DisableCompression).
    key(
        Mount::System,
        r"CurrentControlSet\Services\LanmanServer\Parameters",
        0,
    ),
    // .NET strong crypto and system-default TLS versions, 64-bit and 32-bit.
    key(Mount::Software, r"Microsoft\.NETFramework\v2.0.50727", 0),
    key(Mount::Software, r"Microsoft\.NETFramework\v4.0.30319", 0),
    key(
        Mount::Software,
        r"WOW6432Node\Microsoft\.NETFramework\v2.0.50727",
        0,
    ),
    key(
        Mount::Software,
        r"WOW6432Node\Microsoft\.NETFramework\v4.0.30319",
        0,
    ),
    // Server component states: maintenance mode left on.
    key(
        Mount::Software,
        r"Microsoft\ExchangeServer\v15\ServerComponentStates",
        1,
    ),
    // Serialized data signing on Exchange 2013 (EnableSerializationDataSigning).
    key(
        Mount::Software,
        r"Microsoft\ExchangeServer\v15\Diagnostics",
        0,
    ),
    // Microsoft Defender: whether it runs, and its exclusions (local and by policy).
    key(Mount::Software, r"Microsoft\Windows Defender", 0),
    key(Mount::Software, r"Microsoft\Windows Defender\Exclusions", 1),
    key(Mount::Software, r"Policies\Microsoft\Windows Defender", 0),
    key(
        Mount::Software,
        r"Policies\Microsoft\Windows Defender\Exclusions",
        1,
    ),
    // Setup's prerequisites SetupAssist reads: IIS URL Rewrite and UCMA 4.0 (their `Version`).
    key(Mount::Software, r"Microsoft\IIS Extensions\URL Rewrite", 0),
    key(
        Mount::Software,
        r"Microsoft\UCMA\{902F4F35-D5DC-4363-8671-D5EF0D26C21D}",
        0,
    ),
];

/// At most this many values are kept per snapshot; more are counted in a collection error.
pub const MAX_SETTINGS: usize = 5_000;

/// Binary data is kept up to this many bytes (as hex).
const MAX_BINARY_BYTES: usize = 256;

/// Reads the keys of `mount`; `ccs` is the control set the hive's `CurrentControlSet` is.
pub fn read(hive: &mut Hive, mount: Mount, ccs: &str, reader: &'static str, out: &mut Sink) {
    let mut dropped = 0usize;
    for k in KEYS.iter().filter(|k| k.mount == mount) {
        let path = match k.path.strip_prefix(r"CurrentControlSet\") {
            Some(rest) => format!(r"{ccs}\{rest}"),
            None => k.path.to_string(),
        };
        if let Some(key) = hive.key(&path, out) {
            walk(hive, &key, k.depth, ccs, &mut dropped, out);
        }
    }
    if dropped > 0 {
        let path = hive.path().to_string();
        out.error(
            reader,
            "limit_reached",
            &path,
            None,
            format!(
                "{path}: {dropped} settings values beyond the first {MAX_SETTINGS} were not kept"
            ),
        );
    }
}

fn walk(hive: &mut Hive, key: &Key, depth: usize, ccs: &str, dropped: &mut usize, out: &mut Sink) {
    // The key as Windows names it for the running system, whichever set the copy holds.
    let name = key.path.replacen(ccs, "CurrentControlSet", 1);
    // In name order: the live registry and a hive file list values in different orders.
    let mut values: Vec<_> = key.values().collect();
    values.sort_by_key(|(n, _)| n.to_ascii_lowercase());
    for (value, data) in values {
        if out.evidence_mut().settings.len() >= MAX_SETTINGS {
            *dropped += 1;
            continue;
        }
        let (kind, mut text) = describe(data);
        let mut value_name = value.to_string();
        // Strings as long as a text line at most, the cut marked, as every collected field.
        cap_field(&mut text, MAX_FIELD_BYTES);
        cap_field(&mut value_name, MAX_FIELD_BYTES);
        let setting = RegistrySetting {
            key: name.clone(),
            name: value_name,
            kind: kind.to_string(),
            data: text,
            provenance: Some(hive.at(key, value)),
        };
        out.evidence_mut().settings.push(setting);
    }
    if depth > 0 {
        let mut subs = hive.subkeys(key, out);
        subs.sort_by_key(|k| k.name().to_ascii_lowercase());
        for sub in subs {
            walk(hive, &sub, depth - 1, ccs, dropped, out);
        }
    }
}

/// A value's type name and its data as text.
fn describe(v: &Value) -> (&'static str, String) {
    match v {
        Value::String(s) => ("REG_SZ", s.clone()),
        Value::MultiString(l) => ("REG_MULTI_SZ", l.join("\n")),
        Value::Dword(n) => ("REG_DWORD", n.to_string()),
        Value::Qword(n) => ("REG_QWORD", n.to_string()),
        Value::Binary(b) => {
            let mut hex: String = b
                .iter()
                .take(MAX_BINARY_BYTES)
                .map(|x| format!("{x:02x}"))
                .collect();
            if b.len() > MAX_BINARY_BYTES {
                hex.push_str(&format!("... ({} bytes)", b.len()));
            }
            ("REG_BINARY", hex)
        }
        Value::None => ("REG_NONE", String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_described_as_windows_tools_show_them() {
        assert_eq!(describe(&Value::Dword(1)), ("REG_DWORD", "1".into()));
        assert_eq!(
            describe(&Value::MultiString(vec!["a".into(), "b".into()])),
            ("REG_MULTI_SZ", "a\nb".into())
        );
        assert_eq!(
            describe(&Value::Binary(vec![0, 255])),
            ("REG_BINARY", "00ff".into())
        );
        let long = describe(&Value::Binary(vec![1; 300])).1;
        assert!(long.ends_with("... (300 bytes)"), "{long}");
    }
}
