//! The aggregator's integration tests, one binary: durability under SIGKILL, the
//! end-to-end path over mutual TLS, the hardening probes (issue 13), the identity model, and
//! the live collector under Wine pushing over mutual TLS, the collector's spool, enrollment,
//! the collector's MSI and service under Wine, the metrics listener, and aggregators sharing a
//! bucket of a real S3 server (the shared enrollment ledger, a commit whose answer is lost).
mod crash;
mod e2e;
mod enroll;
mod hardening;
mod identity;
mod lost_answer;
mod metrics;
mod msi;
mod s3;
mod shared_enroll;
mod spool;
mod wine;
