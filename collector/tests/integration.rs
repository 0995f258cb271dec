//! The collector's integration tests, one binary: compliance of the snapshot writer, the
//! event log reader against evtxexport, and the readers on real fixtures.
mod compliance;
mod evtx;
mod fixtures;
