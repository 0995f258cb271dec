//! The aggregator's integration tests, one binary: durability under SIGKILL, the
//! end-to-end path over mutual TLS, the hardening probes (issue 13), the identity model, and
//! the live collector under Wine pushing over mutual TLS, the collector's spool, and
//! enrollment.
mod crash;
mod e2e;
mod enroll;
mod hardening;
mod identity;
mod spool;
mod wine;
