//! Errors of the aggregator library.

use std::path::PathBuf;

/// A failure of the aggregator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read or written: the message names both the path
    /// and the OS reason ("No space left on device"), since a log line shows only this one.
    #[error("{}: {reason}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        reason: std::io::Error,
    },
    /// The configuration is invalid.
    #[error("{}: {message}", path.display())]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong, with its line.
        message: String,
    },
    /// A stored snapshot file cannot be decoded.
    #[error("{}: {message}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        message: String,
    },
    /// Certificates could not be made or loaded.
    #[error("certificates: {0}")]
    Certs(String),
    /// The object store failed (the message names the object's URL).
    #[error(transparent)]
    Bucket(#[from] exfleet_dataset::bucket::BucketError),
    /// The gRPC server failed.
    #[error("server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |reason| Error::Io { path, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_error_names_the_path_and_the_os_reason() {
        // ENOSPC, as a full disk reports it.
        let e = Error::io("/var/lib/exfleet/dataset/_tmp/x.parquet")(
            std::io::Error::from_raw_os_error(28),
        );
        let text = e.to_string();
        assert!(
            text.contains("/var/lib/exfleet/dataset/_tmp/x.parquet"),
            "{text}"
        );
        assert!(text.contains("No space left on device"), "{text}");
        // Once only, through anyhow's chain as the CLI prints it.
        let chained = format!("{:#}", anyhow::Error::from(e));
        assert_eq!(chained.matches("No space left").count(), 1, "{chained}");
    }
}
