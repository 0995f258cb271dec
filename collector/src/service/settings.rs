//! The service's settings: `collector.toml` in its data folder (`%ProgramData%\exfleet`),
//! every field with a default but the aggregator. What the MSI was given (`AGGREGATOR`,
//! `TOKEN`, `CA`, kept in the registry under `HKLM\SOFTWARE\exfleet\Collector`) fills what
//! the file leaves out or says otherwise (a reinstall with new properties takes effect), and is
//! written into the file, so that an upgrade installed without them keeps them. The token is
//! forgotten (file and registry) once the service has enrolled.
//!
//! ```toml
//! aggregator = "https://aggregator.example.org:7443"
//! enroll-aggregator = "https://aggregator.example.org:7444"  # default: the aggregator's host, port 7444
//! token = "exf1...."          # enrolls on the first start, when there is no identity yet
//! ca = 'C:\ProgramData\exfleet\ca.pem'
//! interval-hours = 24
//! jitter-minutes = 60
//! spool-max-count = 100
//! spool-max-mib = 512
//! spool-max-age-days = 30
//! log-max-mib = 10            # the log file rotates past this, 5 files kept
//! dag = "DAG01"               # labels, as collect --labels
//! role-group = "mailbox"
//! owner = "messaging-team"
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::schedule::Schedule;
use crate::spool::Limits;

/// The settings file's name in the data folder.
pub const FILE: &str = "collector.toml";

/// `collector.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Settings {
    /// The aggregator (`https://host:7443`). Required (here or from the MSI).
    pub aggregator: Option<String>,
    /// Its enrollment listener; default the aggregator's host, port 7444.
    pub enroll_aggregator: Option<String>,
    /// An enrollment token, used on the first start (no identity yet).
    pub token: Option<String>,
    /// The fleet CA (PEM file) that enrollment trusts.
    pub ca: Option<PathBuf>,
    /// Hours between collections. Default 24.
    pub interval_hours: u64,
    /// The largest random delay of a collection, in minutes. Default 60.
    pub jitter_minutes: u64,
    /// The spool's bounds (see `collect --spool-max-*`).
    pub spool_max_count: u64,
    /// MiB.
    pub spool_max_mib: u64,
    /// Days.
    pub spool_max_age_days: u64,
    /// MiB the log file grows to before it rotates (5 files kept). Default 10.
    pub log_max_mib: u64,
    /// Read a triage copy at this folder instead of the running server (a staging machine
    /// collecting a server it cannot run on; tests).
    pub root: Option<PathBuf>,
    /// Host labels.
    pub dag: Option<String>,
    /// Role group label.
    pub role_group: Option<String>,
    /// Owner label.
    pub owner: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            aggregator: None,
            enroll_aggregator: None,
            token: None,
            ca: None,
            interval_hours: 24,
            jitter_minutes: 60,
            spool_max_count: 100,
            spool_max_mib: 512,
            spool_max_age_days: 30,
            log_max_mib: 10,
            root: None,
            dag: None,
            role_group: None,
            owner: None,
        }
    }
}

/// What the installer was given (the MSI's public properties), non-empty values only counting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Installed {
    /// `AGGREGATOR`.
    pub aggregator: Option<String>,
    /// `TOKEN`.
    pub token: Option<String>,
    /// `CA`: a PEM file's path.
    pub ca: Option<String>,
}

impl Settings {
    /// Reads `<dir>/collector.toml` (defaults when there is none), fills what it leaves out
    /// from `installed`, and writes the file back when that added something.
    pub fn load(dir: &Path, installed: &Installed) -> Result<Settings, Error> {
        let path = dir.join(FILE);
        let mut s = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| Error::Config {
                path: path.clone(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Settings::default(),
            Err(source) => return Err(Error::Io { path, source }),
        };
        let before = s.clone();
        // What the installer was given last wins (a reinstall with new properties takes
        // effect); an upgrade without properties leaves the file's values.
        let given = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        if let Some(v) = given(&installed.aggregator) {
            s.aggregator = Some(v);
        }
        if let Some(v) = given(&installed.token) {
            s.token = Some(v);
        }
        if let Some(v) = given(&installed.ca) {
            s.ca = Some(PathBuf::from(v));
        }
        if s != before {
            s.save(dir)?;
        }
        Ok(s)
    }

    /// Writes the settings to `<dir>/collector.toml` (through a temporary file, fsynced).
    pub fn save(&self, dir: &Path) -> Result<(), Error> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(FILE);
        let tmp = dir.join(format!("{FILE}.new"));
        let text = toml::to_string(self).map_err(|e| Error::Encode(e.to_string()))?;
        std::fs::write(&tmp, text)
            .and_then(|()| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&tmp)?
                    .sync_all()
            })
            .map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))
    }

    /// The schedule.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            interval: Duration::from_secs(self.interval_hours.max(1) * 3_600),
            jitter: Duration::from_secs(self.jitter_minutes * 60),
            ..Schedule::default()
        }
    }

    /// The spool's bounds.
    pub fn limits(&self) -> Limits {
        Limits {
            max_count: usize::try_from(self.spool_max_count.max(1)).unwrap_or(usize::MAX),
            max_bytes: self.spool_max_mib.max(1).saturating_mul(1 << 20),
            max_age: Duration::from_secs(self.spool_max_age_days.max(1) * 86_400),
        }
    }

    /// Where to enroll: `enroll-aggregator`, or the aggregator's host on port 7444.
    pub fn enroll_url(&self) -> Option<String> {
        if let Some(u) = &self.enroll_aggregator {
            return Some(u.clone());
        }
        let a = self.aggregator.as_deref()?;
        let rest = a.strip_prefix("https://")?;
        let host_port = rest.split('/').next()?;
        let host = match host_port.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
            _ => host_port,
        };
        Some(format!("https://{host}:7444"))
    }
}

/// Where the service keeps what it keeps, under its data folder: none of it is the
/// installer's, so an upgrade or an uninstall leaves it.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The data folder (`%ProgramData%\exfleet`).
    pub dir: PathBuf,
}

impl Paths {
    /// The service's folder on this machine: `<ProgramData>\exfleet` (the shell's known
    /// folder on Windows, `%ProgramData%` elsewhere).
    pub fn system() -> Paths {
        let base = super::program_data()
            .or_else(|| std::env::var_os("ProgramData").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"));
        Paths {
            dir: base.join("exfleet"),
        }
    }

    /// The enrolled identity.
    pub fn identity(&self) -> PathBuf {
        self.dir.join("identity")
    }

    /// The spool.
    pub fn spool(&self) -> PathBuf {
        self.dir.join("spool")
    }

    /// The log file.
    pub fn log(&self) -> PathBuf {
        self.dir.join("logs").join("collector.log")
    }

    /// When the last collection ran.
    pub fn state(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// How far the indicator scans read each log (moved once a snapshot is spooled).
    pub fn ioc_marks(&self) -> PathBuf {
        self.dir.join("ioc-marks.json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_installer_gave_is_kept_in_the_file_and_wins_when_given_again() {
        let dir = tempfile::tempdir().unwrap();
        let installed = Installed {
            aggregator: Some("https://agg.example.org:7443".into()),
            token: Some("exf1.a.b".into()),
            ca: Some(r"C:\certs\ca.pem".into()),
        };
        let s = Settings::load(dir.path(), &installed).unwrap();
        assert_eq!(
            s.aggregator.as_deref(),
            Some("https://agg.example.org:7443")
        );
        assert_eq!(
            s.enroll_url().as_deref(),
            Some("https://agg.example.org:7444")
        );
        // An upgrade without properties keeps them; the file's own values win.
        let again = Settings::load(dir.path(), &Installed::default()).unwrap();
        assert_eq!(again, s);
        std::fs::write(
            dir.path().join(FILE),
            "aggregator = \"https://other:1\"\ninterval-hours = 6\n",
        )
        .unwrap();
        let edited = Settings::load(dir.path(), &Installed::default()).unwrap();
        assert_eq!(edited.aggregator.as_deref(), Some("https://other:1"));
        // A reinstall with properties: they win.
        let reinstalled = Settings::load(dir.path(), &installed).unwrap();
        assert_eq!(
            reinstalled.aggregator.as_deref(),
            Some("https://agg.example.org:7443")
        );
        assert_eq!(edited.schedule().interval, Duration::from_secs(6 * 3600));
        assert_eq!(edited.token, None);
        let bad = std::fs::write(dir.path().join(FILE), "intervall-hours = 6\n");
        bad.unwrap();
        let e = Settings::load(dir.path(), &installed)
            .unwrap_err()
            .to_string();
        assert!(e.contains(FILE) && e.contains("intervall-hours"), "{e}");
    }
}
