//! Rollout readiness: `plan` (which hosts the next CU or SU will fail on and why, and in
//! what order to patch the others) and `verify` (after the rollout, which hosts did not come
//! back healthy). Both read an analysis: a blocker is a finding of the host rules judged
//! against the target ([`blockers`], the one table), or a judgement of the catalog against
//! the target (.NET, the update's CU, a known-bad build, AD preparation); nothing here reads
//! evidence the rules do not already read.
//!
//! - [`target`]: what `--target` means for each host.
//! - [`blockers`]: finding ids to blockers, and the target-dependent judgements.
//! - [`ad`]: the fleet's Active Directory preparation line.
//! - [`waves`]: the order (DAG members one at a time, Exchange 2010 Internet-facing CAS
//!   first, site by site).
//! - [`expected`]: the servers that should report (`--expected FILE`).
//! - [`plan()`], [`verify()`]: the two answers; [`render`]: text, CSV and the report's section.

pub mod ad;
pub mod blockers;
pub mod expected;
pub mod plan;
pub mod render;
pub mod target;
pub mod verify;
pub mod waves;

pub use plan::{plan, Plan};
pub use verify::{verify, Verification};
