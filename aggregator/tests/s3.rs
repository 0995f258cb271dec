//! A real S3-compatible server on loopback for the tests of aggregators sharing a bucket:
//! `s3s-fs` (crates.io; tests/scripts/install-test-tools.sh installs it), which keeps each
//! object as a file under its root and answers `If-None-Match: *` on an existing key with 412.

use exfleet_tests::s3::S3Server;

/// The server, stopped when dropped, with one bucket, its objects in a temporary folder.
pub(crate) struct S3 {
    server: S3Server,
    _root: tempfile::TempDir,
}

impl S3 {
    /// Starts `s3s-fs` with a bucket `bucket`, or `None` when it is not installed (see
    /// [`exfleet_tests::tools::tool`]).
    pub(crate) fn start(bucket: &str) -> Option<S3> {
        let s3s_fs = exfleet_tests::tools::tool("s3s-fs")?;
        let root = tempfile::tempdir().unwrap();
        Some(S3 {
            server: S3Server::start(&s3s_fs, root.path(), bucket),
            _root: root,
        })
    }

    /// The standard AWS variables that point at this server.
    pub(crate) fn env(&self) -> Vec<(&'static str, String)> {
        self.server.env()
    }

    /// A bucket handle on `url` (`s3://<bucket>/<prefix>`) of this server. The object store
    /// takes its endpoint from the environment: this process's is pointed at this server
    /// (the tests of this binary that use a bucket run one at a time, [`serial`]).
    pub(crate) fn open(&self, url: &str) -> exfleet_dataset::bucket::Bucket {
        for (k, v) in self.env() {
            std::env::set_var(k, v);
        }
        exfleet_dataset::bucket::Bucket::open(url).unwrap()
    }
}

/// Held by a test that points this process's AWS variables at its server.
pub(crate) async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static ONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    ONE.lock().await
}
