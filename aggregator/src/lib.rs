//! The exfleet aggregator: receives snapshots from collectors over gRPC with mutual TLS,
//! acknowledges each only once it is durable, keeps every snapshot, and writes the Parquet
//! fact tables ([`dataset`]) the analyzer reads.
#![deny(missing_docs)]

pub mod certs;
pub mod cli;
pub mod commit;
pub mod config;
pub mod dataset;
pub mod durable;
pub mod enroll;
pub mod error;
pub mod identity;
pub mod listen;
pub mod metrics;
pub mod server;
pub mod service;
pub mod store;
#[cfg(test)]
mod test_support;

pub use error::Error;
