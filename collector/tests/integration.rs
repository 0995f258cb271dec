//! The collector's integration tests, one binary: compliance of the snapshot writer, the
//! event log reader against evtxexport, the readers on real fixtures, and the hardening
//! cases (confinement, caps, timeouts).
mod compliance;
mod evtx;
mod fixtures;
mod hardening;
