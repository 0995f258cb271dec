//! The aggregator: receives snapshots over gRPC with mutual TLS, stores them durably and
//! writes the Parquet dataset. Built by the issue "Transport and the durable store".
#![deny(missing_docs)]
