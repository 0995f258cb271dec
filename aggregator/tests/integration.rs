//! The aggregator's integration tests, one binary: durability under SIGKILL, the
//! end-to-end path over mutual TLS, and the hardening probes (issue 13), and the identity model.
mod crash;
mod e2e;
mod hardening;
mod identity;
