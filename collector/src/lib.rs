//! The exfleet collector: reads an Exchange server's evidence into a typed
//! [`Snapshot`](exfleet_proto::v1::Snapshot), from a triage copy (its files, copied into a
//! directory) or from the running server itself (Windows).
//!
//! Everything that parses lives here and is tested on Linux; readers of Windows artifacts are
//! in [`readers`], one module per artifact behind one trait, over the server's files
//! ([`files`]) and registry ([`registry`]), each a copy or the live server.
#![deny(missing_docs)]
// Unsafe only where Windows has no safe binding: the live collector's own priority
// (`live::lower_priority`) and the ProgramData known folder (`service::windows`).
#![deny(unsafe_code)]

pub mod artifacts;
pub mod cli;
pub mod client;
pub mod collect;
pub mod deliver;
pub mod enroll;
pub mod error;
pub mod files;
pub mod labels;
pub mod live;
pub mod local_time;
pub mod output;
pub mod provenance;
pub mod readers;
pub mod registry;
pub mod retry;
pub mod schedule;
pub mod service;
pub mod sink;
pub mod spool;
pub mod text;

pub use collect::{collect, collect_with, collect_with_marks, Options};
pub use error::Error;
pub use files::ServerFiles;
