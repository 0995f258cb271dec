//! Errors of the analyzer library.

use std::path::PathBuf;

/// A failure of the analyzer.
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
    /// A catalog file is invalid.
    #[error("{}: {message}", path.display())]
    Catalog {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The input (dataset or snapshots) could not be read.
    #[error("{}: {message}", path.display())]
    Input {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }

    /// A polars error while reading or writing `path`.
    pub fn polars(path: &std::path::Path, e: polars::prelude::PolarsError) -> Error {
        Error::Input {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}
