//! The aggregator's integration tests, one binary: durability under SIGKILL, and the
//! end-to-end path over mutual TLS.
mod crash;
mod e2e;
