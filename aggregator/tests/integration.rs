//! The aggregator's integration tests, one binary: durability under SIGKILL, the
//! end-to-end path over mutual TLS, the hardening probes (issue 13), the identity model, and
//! the live collector under Wine pushing over mutual TLS, the collector's spool, enrollment,
//! the collector's MSI and service under Wine, and the metrics listener.
mod crash;
mod e2e;
mod enroll;
mod hardening;
mod identity;
mod metrics;
mod msi;
mod spool;
mod wine;
