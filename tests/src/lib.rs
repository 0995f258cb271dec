//! Test support for exfleet: writers of Windows formats (registry hives, PE images), a
//! builder of triage directories, and the fleet simulator with its ground truth.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod evtx;
pub mod fleet;
pub mod history;
pub mod measure;
pub mod msi;
pub mod pe;
pub mod regf;
pub mod rollout;
pub mod s3;
pub mod tls;
pub mod tools;
pub mod triage;
pub mod wine;

use std::path::Path;

use fleet::{truth::GroundTruth, FleetConfig};

/// Writes a whole simulated fleet under `out`: `hosts/<NAME>/` triage copies,
/// `labels/<NAME>.toml` host labels and `ground-truth.json`.
pub fn write_fleet(cfg: &FleetConfig, out: &Path) -> std::io::Result<GroundTruth> {
    let hosts = fleet::generate(cfg);
    std::fs::create_dir_all(out.join("labels"))?;
    for h in &hosts {
        fleet::render::write(h, cfg.seed, &out.join("hosts").join(&h.name))?;
        let labels = format!(
            "dag = \"{}\"\nrole-group = \"{}\"\nowner = \"{}\"\n",
            h.dag.as_deref().unwrap_or(""),
            h.role_group,
            h.owner
        );
        std::fs::write(out.join("labels").join(format!("{}.toml", h.name)), labels)?;
    }
    let truth = fleet::truth::ground_truth(cfg.seed, &hosts);
    let json = serde_json::to_vec_pretty(&truth).map_err(std::io::Error::other)?;
    std::fs::write(out.join("ground-truth.json"), json)?;
    Ok(truth)
}

/// The simulated clock: when tests say their snapshots were collected (2026-11-23 12:00 UTC),
/// so that an analysis "as of" a fixed date sees them whatever day the tests run.
pub const SIM_NOW_MS: i64 = 1_795_435_200_000;

/// A snapshot collected at [`SIM_NOW_MS`].
pub fn at_sim_time(mut s: exfleet_proto::v1::Snapshot) -> exfleet_proto::v1::Snapshot {
    s.collected_at_ms = SIM_NOW_MS;
    s
}

/// Writes a fleet under `out` and collects every host with the real collector (labels
/// included), at the simulated clock: the ground truth, and one snapshot per host in the
/// ground truth's order.
pub fn collected_fleet(
    cfg: &FleetConfig,
    out: &Path,
) -> anyhow::Result<(GroundTruth, Vec<exfleet_proto::v1::Snapshot>)> {
    use exfleet_collector::{collect, labels::LabelsFile, ServerFiles};
    let truth = write_fleet(cfg, out)?;
    let snapshots = truth
        .hosts
        .iter()
        .map(|h| {
            let labels = LabelsFile::load(&out.join(&h.labels_file))?.into_labels(None, None, None);
            Ok(at_sim_time(collect(
                &ServerFiles::new(out.join(&h.triage_dir)),
                labels,
            )?))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok((truth, snapshots))
}
