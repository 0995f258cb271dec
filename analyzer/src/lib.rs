//! The exfleet analyzer: reads the fleet's snapshots (the aggregator's Parquet dataset, or
//! snapshot files), judges every host against the build catalog and the rules of
//! analyzer/FINDINGS.md, finds the patterns across the fleet, and writes the findings.
#![deny(missing_docs)]

pub mod analyze;
pub mod catalog;
pub mod changes;
pub mod cli;
pub mod cve;
pub mod error;
pub mod export;
pub mod exposure;
pub mod extended_protection;
pub mod finding;
pub mod html;
pub mod input;
pub mod queries;
pub mod report;
pub mod review;
pub mod rollout;
pub mod rules;
pub mod spreadsheet;
pub mod summary;
pub mod tls;
pub mod view;

pub use analyze::{analyze, Analysis};
pub use error::Error;
