//! A real S3-compatible server on loopback for the tests of aggregators sharing a bucket:
//! `s3s-fs` (crates.io; tests/scripts/install-test-tools.sh installs it), which keeps each
//! object as a file under its root and answers `If-None-Match: *` on an existing key with 412.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const ACCESS_KEY: &str = "exfleet-test";
const SECRET_KEY: &str = "exfleet-test-secret";

/// The server, stopped when dropped, with one bucket.
pub(crate) struct S3 {
    child: Child,
    endpoint: String,
    _root: tempfile::TempDir,
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3 {
    /// Starts `s3s-fs` with a bucket `bucket`, or `None` when it is not installed (see
    /// [`exfleet_tests::tools::tool`]).
    pub(crate) fn start(bucket: &str) -> Option<S3> {
        let s3s_fs = exfleet_tests::tools::tool("s3s-fs")?;
        Some(S3::start_with(&s3s_fs, bucket))
    }

    fn start_with(s3s_fs: &Path, bucket: &str) -> S3 {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join(bucket)).unwrap();
        let mut child = Command::new(s3s_fs)
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root.path())
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("s3s-fs starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let endpoint = loop {
            let line = lines.next().expect("s3s-fs says where it listens").unwrap();
            if let Some((_, at)) = line.split_once("server is running at ") {
                break at.trim().to_string();
            }
        };
        // Drained, so that its log never fills the pipe.
        std::thread::spawn(move || lines.for_each(drop));
        S3 {
            child,
            endpoint,
            _root: root,
        }
    }

    /// The standard AWS variables that point at this server.
    pub(crate) fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
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
