//! The `exfleet.v1` contract: the snapshot a collector sends and the aggregator stores.
//!
//! Generated from `proto/exfleet/v1/*.proto`; the evolution rule is written there.
#![allow(missing_docs, clippy::all)]

/// Messages of package `exfleet.v1`.
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/exfleet.v1.rs"));
}
