//! The `exfleet.v1` contract: the snapshot a collector sends, the Ingest service that
//! carries it, and the envelope the aggregator stores it in.
//!
//! Generated from `proto/exfleet/v1/*.proto`; the evolution rule is written there. The values
//! of its string-typed `kind` fields are in [`kinds`].
#![allow(missing_docs, clippy::all)]

pub mod kinds;

/// Messages and services of package `exfleet.v1`.
// The proto comments name placeholders as `<name>`, as proto readers expect; rustdoc would
// take them for HTML tags.
#[allow(rustdoc::invalid_html_tags)]
pub mod v1 {
    tonic::include_proto!("exfleet.v1");
}
