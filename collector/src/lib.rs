//! The exfleet collector: reads an Exchange server's evidence from a triage copy (its files,
//! copied into a directory) into a typed [`Snapshot`](exfleet_proto::v1::Snapshot).
//!
//! Everything that parses lives here and is tested on Linux; readers of Windows artifacts are
//! in [`readers`], one module per artifact behind one trait.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod cli;
pub mod client;
pub mod collect;
pub mod error;
pub mod files;
pub mod labels;
pub mod local_time;
pub mod output;
pub mod provenance;
pub mod readers;
pub mod sink;
pub mod text;

pub use collect::{collect, collect_with, Options};
pub use error::Error;
pub use files::ServerFiles;
