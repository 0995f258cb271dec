//! The dataset: Parquet fact tables written from stored snapshots, for the analyzer and any
//! engine that reads Parquet. Schema: `aggregator/DATASET.md`.

pub mod flush;
pub mod tables;
pub mod writer;

pub use tables::{Tables, TABLES};
pub use writer::Dataset;
