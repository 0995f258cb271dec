//! The exfleet dataset contract, in one place: the tables and their columns (defined once in
//! [`tables`], everything else generated), a stored snapshot flattened into rows
//! ([`Batch::add`]), the rows read back typed ([`Row::read`]), the on-disk layout, and
//! DATASET.md (generated from the definitions; a test keeps it in step).
//!
//! The aggregator writes the dataset, the analyzer reads it; neither depends on the other.

pub mod bucket;
pub mod copies;
mod flatten;
pub mod layout;
pub mod markdown;
pub mod schema;
pub mod tables;
pub mod value;

pub use flatten::provenance;
pub use schema::{ColumnDef, Key, Row};
pub use tables::*;
pub use value::{BindingKind, JsonList, List, Value};
