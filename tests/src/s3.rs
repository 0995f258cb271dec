//! A real S3-compatible server on loopback for the tests of aggregators on a bucket:
//! `s3s-fs` (crates.io; tests/scripts/install-test-tools.sh installs it), which keeps each
//! object as a file under its root and answers `If-None-Match: *` on an existing key with 412.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const ACCESS_KEY: &str = "exfleet-test";
const SECRET_KEY: &str = "exfleet-test-secret";

/// The server, stopped when dropped.
pub struct S3Server {
    child: Child,
    endpoint: String,
    root: PathBuf,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Server {
    /// Starts `s3s_fs` on a loopback port, keeping its objects under `root`, with a bucket
    /// `bucket` (a folder of `root`).
    pub fn start(s3s_fs: &Path, root: &Path, bucket: &str) -> S3Server {
        std::fs::create_dir_all(root.join(bucket)).expect("the bucket's folder");
        let mut child = Command::new(s3s_fs)
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("s3s-fs starts");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let endpoint = loop {
            let line = lines
                .next()
                .expect("s3s-fs says where it listens")
                .expect("s3s-fs's output");
            if let Some((_, at)) = line.split_once("server is running at ") {
                break at.trim().to_string();
            }
        };
        // Drained, so that its log never fills the pipe.
        std::thread::spawn(move || lines.for_each(drop));
        S3Server {
            child,
            endpoint,
            root: root.to_path_buf(),
        }
    }

    /// Its URL (`http://127.0.0.1:<port>`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Where it keeps the objects: `<root>/<bucket>/<key>`, one file per object.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The standard AWS variables that point at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }
}
