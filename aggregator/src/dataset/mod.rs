//! Writing the dataset: Parquet fact tables from stored snapshots, for the analyzer and any
//! engine that reads Parquet. The tables themselves are the `exfleet-dataset` contract
//! (schema: `dataset/DATASET.md`).

pub mod flush;
pub mod writer;

pub use writer::Dataset;
