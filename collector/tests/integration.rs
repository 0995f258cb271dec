//! The collector's integration tests, one binary: compliance of the snapshot writer, the
//! event log reader against evtxexport, the readers on real fixtures, and the hardening
//! cases (confinement, caps, timeouts).
//! `windows`: the Windows build under Wine, against the Linux build; `live`: its live
//! collection of a simulated server loaded into Wine, against the offline collection.
mod compliance;
mod evtx;
mod fixtures;
mod hardening;
mod installer_cache;
mod ioc;
mod live;
mod stager;
mod windows;
