//! Programs and Features: the entries of the 64-bit
//! `SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall` key (`InstalledProgram`). SetupAssist
//! and HealthChecker judge the Visual C++ runtimes Exchange needs on them, reading this view
//! only (a 32-bit package, under `WOW6432Node`, does not count).

use exfleet_proto::v1::InstalledProgram;

use crate::registry::Hive;
use crate::sink::Sink;

/// The key, below the SOFTWARE hive's root.
pub const KEY: &str = r"Microsoft\Windows\CurrentVersion\Uninstall";

/// At most this many entries are kept (a server has a few hundred); more are counted in a
/// collection error.
pub const MAX_PROGRAMS: usize = 5_000;

/// Reads every entry that has a display name (the others are not listed by Windows either).
pub fn read(hive: &mut Hive, reader: &str, out: &mut Sink) {
    let Some(parent) = hive.key(KEY, out) else {
        return;
    };
    let mut dropped = 0usize;
    for k in hive.subkeys(&parent, out) {
        let Some(name) = k.string("DisplayName").filter(|n| !n.trim().is_empty()) else {
            continue;
        };
        let programs = &out.evidence().installed_programs;
        if programs.len() >= MAX_PROGRAMS {
            dropped += 1;
            continue;
        }
        let program = InstalledProgram {
            key: k.name().to_string(),
            display_name: name,
            display_version: k.string("DisplayVersion").unwrap_or_default(),
            version: k.dword("Version").unwrap_or(0),
            install_date: k.string("InstallDate").unwrap_or_default(),
            provenance: Some(hive.at(&k, "DisplayName")),
        };
        out.evidence_mut().installed_programs.push(program);
    }
    if dropped > 0 {
        out.error(
            reader,
            "too_many",
            hive.path(),
            None,
            format!(
                "{}: {KEY}: {dropped} entries beyond the first {MAX_PROGRAMS} were not kept",
                hive.path()
            ),
        );
    }
}
