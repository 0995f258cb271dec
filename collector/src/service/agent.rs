//! What the collector service does, whatever runs it: enroll on the first start when it has a
//! token and no identity, then collect on the schedule, each snapshot spooled and delivered,
//! remembering when it last ran so that a restart or a reboot keeps the rhythm.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::settings::{Paths, Settings};
use crate::deliver::Outcome;
use crate::enroll::IdentityDir;
use crate::files::ServerFiles;
use crate::schedule::{run_loop, Clock};

/// Seconds an attempt to reach the aggregator may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Events are read from a little before the last run, so that none falls between two runs.
const EVENTS_OVERLAP_MS: i64 = 3_600_000;

/// The service's memory between runs.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct State {
    last_run_ms: Option<i64>,
}

/// The collector service's work.
#[derive(Debug)]
pub struct Agent {
    paths: Paths,
    settings: Settings,
}

impl Agent {
    /// The service with these folders and settings.
    pub fn new(paths: Paths, settings: Settings) -> Agent {
        Agent { paths, settings }
    }

    /// Runs on the schedule until `clock` says stop; a run that fails is logged and tried
    /// again within the hour (its snapshot, if it got one, waits in the spool either way).
    pub fn serve(&self, clock: &mut impl Clock) {
        let last = self.state().last_run_ms;
        tracing::info!(?last, "collector service started");
        run_loop(
            &self.settings.schedule(),
            last,
            clock,
            rand::random::<f64>,
            |now| {
                let result = self.collect_once(self.state().last_run_ms);
                let ended = chrono::Utc::now().timestamp_millis().max(now);
                match result {
                    Ok(outcome) => {
                        tracing::info!(?outcome, "collection done");
                        // The start: the next run reads the events since then (and an hour
                        // before), however long this one's delivery took.
                        if let Err(e) = self.save_state(&State {
                            last_run_ms: Some(now),
                        }) {
                            tracing::error!("{e:#}");
                        }
                        Ok(ended)
                    }
                    Err(e) => {
                        tracing::error!("collection failed, tried again within the hour: {e:#}");
                        Err(ended)
                    }
                }
            },
        );
        tracing::info!("collector service stopped");
    }

    /// One run: enroll if needed, collect, spool, deliver.
    pub fn collect_once(&self, last_run_ms: Option<i64>) -> anyhow::Result<Outcome> {
        let Some(url) = self.settings.aggregator.clone() else {
            anyhow::bail!(
                "no aggregator: set `aggregator` in {} (or install with AGGREGATOR=...)",
                self.paths.dir.join(super::settings::FILE).display()
            );
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let identity = self.paths.identity();
        if IdentityDir::new(&identity).load().is_err() {
            self.enroll(&rt, &identity)?;
        }
        let files = match &self.settings.root {
            Some(root) => ServerFiles::new(root),
            None => crate::live::server_files()?,
        };
        let marks_file = self.paths.ioc_marks();
        let (ioc_marks, marks_error) =
            crate::readers::ioc::marks::Marks::load_or_empty(&marks_file);
        let options = crate::Options {
            events_since_ms: last_run_ms.map_or(0, |t| (t - EVENTS_OVERLAP_MS).max(0)),
            ioc_marks,
            ..Default::default()
        };
        let labels = crate::labels::LabelsFile::default().into_labels(
            self.settings.dag.clone(),
            self.settings.role_group.clone(),
            self.settings.owner.clone(),
        );
        let (mut snapshot, next_marks) = crate::collect_with_marks(&files, labels, &options)?;
        snapshot.errors.extend(marks_error);
        let policy = crate::retry::RetryPolicy::default();
        let outcome = crate::deliver::spool_and_deliver(
            &rt,
            &self.paths.spool(),
            &self.settings.limits(),
            snapshot,
            &url,
            || crate::deliver::identity_for_push(&rt, &url, &identity, TIMEOUT.as_secs()),
            &policy,
        )?;
        // Spooled at least: durable, so the indicator scans' marks may move.
        next_marks.save(&marks_file)?;
        Ok(outcome)
    }

    fn enroll(&self, rt: &tokio::runtime::Runtime, identity: &Path) -> anyhow::Result<()> {
        let (Some(token), Some(ca), Some(url)) = (
            &self.settings.token,
            &self.settings.ca,
            self.settings.enroll_url(),
        ) else {
            anyhow::bail!(
                "not enrolled ({} holds no identity) and no token and CA to enroll with: set \
                 `token` and `ca` in {}, or install with TOKEN=... CA=...",
                identity.display(),
                self.paths.dir.join(super::settings::FILE).display()
            );
        };
        let ca_pem = std::fs::read_to_string(ca)
            .map_err(|e| anyhow::anyhow!("the CA {}: {e}", ca.display()))?;
        let files = match &self.settings.root {
            Some(root) => ServerFiles::new(root),
            None => crate::live::server_files()?,
        };
        let name = crate::collect::computer_name(&files)?;
        let issued = rt.block_on(crate::enroll::enroll(
            &url,
            token,
            &ca_pem,
            &name,
            &IdentityDir::new(identity),
            TIMEOUT,
        ))?;
        tracing::info!(name = %issued.common_name, "enrolled");
        // The token has done its work; it is not left where it could be read again.
        let mut forgotten = self.settings.clone();
        forgotten.token = None;
        if let Err(e) = forgotten.save(&self.paths.dir) {
            tracing::warn!("could not remove the token from the settings: {e:#}");
        }
        super::forget_installed_token();
        Ok(())
    }

    fn state(&self) -> State {
        std::fs::read(self.paths.state())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn save_state(&self, s: &State) -> anyhow::Result<()> {
        let path = self.paths.state();
        let tmp = path.with_extension("json.new");
        std::fs::create_dir_all(&self.paths.dir)?;
        std::fs::write(&tmp, serde_json::to_vec(s)?)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }
}
