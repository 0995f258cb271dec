//! Errors of the collector library. Reading evidence never fails (problems become
//! collection errors in the snapshot); these are failures of the tool itself.

use std::path::PathBuf;

/// A failure of the collector itself (not of an artifact it read).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A configuration file is invalid.
    #[error("{}: {message}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its line.
        message: String,
    },
    /// The triage root is not a directory.
    #[error("{}: not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// The snapshot could not be encoded.
    #[error("encoding the snapshot: {0}")]
    Encode(String),
}
