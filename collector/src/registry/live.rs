//! The running server's registry, read through the Windows registry API (`RegOpenKeyEx` with
//! `KEY_READ` only: the collector never asks for a right to change a key).
//!
//! Live hives are read where Windows keeps them, so there is no file to copy and no
//! transaction log to replay: what the API returns is what the server runs with.

use std::io;

use winreg::enums::{HKEY_LOCAL_MACHINE, KEY_READ};
use winreg::RegKey;

use super::{Damage, Mount, RawKey, Source, Value};

/// One hive of the live registry (`HKLM\SYSTEM` or `HKLM\SOFTWARE`).
pub struct LiveHive {
    root: RegKey,
    mount: Mount,
}

impl LiveHive {
    /// Opens the hive's root for reading.
    pub fn open(mount: Mount) -> io::Result<LiveHive> {
        let name = match mount {
            Mount::System => "SYSTEM",
            Mount::Software => "SOFTWARE",
        };
        let root = RegKey::predef(HKEY_LOCAL_MACHINE).open_subkey_with_flags(name, KEY_READ)?;
        Ok(LiveHive { root, mount })
    }

    /// The key at `path`, `None` when it does not exist; any other failure is damage.
    fn open_key(&self, path: &str, damage: &mut Vec<Damage>) -> Option<RegKey> {
        match self.root.open_subkey_with_flags(path, KEY_READ) {
            Ok(k) => Some(k),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                damage.push(failure(&format!("{}\\{path}", self.mount.name()), &e));
                None
            }
        }
    }
}

impl Source for LiveHive {
    fn key(&mut self, path: &str, damage: &mut Vec<Damage>) -> Option<RawKey> {
        let key = self.open_key(path, damage)?;
        let name = path.rsplit('\\').next().unwrap_or(path).to_string();
        let display = format!("{}\\{path}", self.mount.name());
        Some(raw(name, &key, &display, damage))
    }

    fn subkeys(&mut self, path: &str, damage: &mut Vec<Damage>) -> Vec<RawKey> {
        let Some(parent) = self.open_key(path, damage) else {
            return Vec::new();
        };
        let display = format!("{}\\{path}", self.mount.name());
        let mut subs = Vec::new();
        for name in parent.enum_keys() {
            let name = match name {
                Ok(n) => n,
                Err(e) => {
                    damage.push(failure(&display, &e));
                    continue;
                }
            };
            match parent.open_subkey_with_flags(&name, KEY_READ) {
                Ok(k) => subs.push(raw(name.clone(), &k, &format!("{display}\\{name}"), damage)),
                // Deleted since it was listed: a live registry changes while it is read.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => damage.push(failure(&format!("{display}\\{name}"), &e)),
            }
        }
        subs
    }
}

/// A key's values, decoded as the hive files' are.
fn raw(name: String, key: &RegKey, display: &str, damage: &mut Vec<Damage>) -> RawKey {
    let mut values = Vec::new();
    for v in key.enum_values() {
        match v {
            Ok((n, data)) => values.push((n, Value::from_raw(data.vtype as u32, &data.bytes))),
            Err(e) => damage.push(failure(display, &e)),
        }
    }
    RawKey { name, values }
}

fn failure(key: &str, e: &io::Error) -> Damage {
    let kind = if e.kind() == io::ErrorKind::PermissionDenied {
        "access_denied"
    } else {
        "unreadable_key"
    };
    Damage {
        kind,
        offset: None,
        message: format!("{key}: {e}"),
    }
}
