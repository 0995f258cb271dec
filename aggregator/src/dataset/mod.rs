//! Writing the dataset: Parquet fact tables from stored snapshots, for the analyzer and any
//! engine that reads Parquet. The tables themselves are the `exfleet-dataset` contract
//! (schema: `dataset/DATASET.md`).

pub mod compact;
pub mod flush;
pub mod maintain;
mod objects;
pub mod retention;
pub mod writer;

pub use writer::Dataset;
