//! The aggregator's configuration: a TOML file, every field with a documented default;
//! command-line flags override it.
//!
//! ```toml
//! listen = "0.0.0.0:7443"
//! data-dir = "/var/lib/exfleet"
//! flush-interval-secs = 10
//! max-message-bytes = 33554432
//! tls-handshake-timeout-secs = 10
//! idle-timeout-secs = 300
//! max-connections = 1024
//! max-uploads-in-flight = 256
//! retry-after-secs = 5
//! enroll-listen = "0.0.0.0:7444"
//! enroll-ca-key = "/etc/exfleet/ca.key"
//! cert-validity-days = 90
//! bucket = "s3://exfleet/prod"
//! aggregator-id = "agg1"
//! enroll-refresh-secs = 5
//! compact-after-hours = 2
//! retention-days = 0
//! maintenance-interval-secs = 3600
//! group-commit = "fsync"
//! metrics-listen = "127.0.0.1:9464"
//! [tls]
//! cert = "/etc/exfleet/server.pem"
//! key = "/etc/exfleet/server.key"
//! client-ca = "/etc/exfleet/ca.pem"
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Aggregator configuration.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port). Default `127.0.0.1:7443`.
    pub listen: SocketAddr,
    /// Where snapshots and the dataset live. Default `./exfleet-data`.
    pub data_dir: PathBuf,
    /// Longest time between an ack and the snapshot's rows in the dataset. Default 10.
    pub flush_interval_secs: u64,
    /// Largest snapshot message accepted, in bytes. Default 32 MiB.
    pub max_message_bytes: usize,
    /// Longest time from accepting a connection to the end of its TLS handshake. Default 10.
    pub tls_handshake_timeout_secs: u64,
    /// A connection that sends nothing for this long is closed (collectors ping every 10 s).
    /// Default 300.
    pub idle_timeout_secs: u64,
    /// Connections open at once, handshakes included; at the limit the oldest connection
    /// that has not sent a byte is closed. Keep it below the file-descriptor limit minus 256
    /// (deploy/README.md). Default 1024.
    pub max_connections: usize,
    /// Upload streams open at once, each receiving or storing one snapshot at a time; a new
    /// upload beyond it is answered RESOURCE_EXHAUSTED with `retry-after` (ingest.proto).
    /// Default 256.
    pub max_uploads_in_flight: usize,
    /// The `retry-after` those answers carry, in seconds. Default 5.
    pub retry_after_secs: u64,
    /// Where collectors enroll (server-authenticated TLS: they have no certificate yet).
    /// Default none: enrollment off. Needs `enroll-ca-key`.
    pub enroll_listen: Option<SocketAddr>,
    /// The fleet CA's private key (the CA is `tls.client-ca`), to sign what collectors
    /// enroll and renew. Default none.
    pub enroll_ca_key: Option<PathBuf>,
    /// Days a certificate issued by enrollment is valid; collectors renew in the last third.
    /// Default 90.
    pub cert_validity_days: u32,
    /// Mutual TLS: the server's certificate and key, and the CA collectors' certificates must
    /// be signed by.
    pub tls: TlsFiles,
    /// An S3-compatible bucket and prefix, `s3://<bucket>/<prefix>`, where snapshots
    /// (`snapshots/`) and the dataset (`dataset/`) are kept instead of `data-dir`, shared by
    /// every aggregator configured with it; the endpoint and credentials come from the
    /// standard AWS environment variables (deploy/README.md). Needs `aggregator-id`.
    /// Default none: the local `data-dir`.
    pub bucket: Option<String>,
    /// This aggregator's id among those sharing `bucket` (1 to 32 letters, digits or '_',
    /// unique among them): its dataset batches carry it, and its start-up clean-up touches
    /// only its own. Default none.
    pub aggregator_id: Option<String>,
    /// With `bucket`: seconds the enrollment state shared in the bucket may be old when a
    /// collector's certificate is checked, i.e. the longest a revocation made through another
    /// aggregator (or `revoke`) goes unenforced here. Enrollment and renewal always read it
    /// afresh. Default 5.
    pub enroll_refresh_secs: u64,
    /// Compaction: a day's many small dataset files (one per flush) are rewritten as one
    /// batch this many hours after the day ended (UTC); snapshots of the day arriving later
    /// are compacted in again. 0: off. Default 2.
    pub compact_after_hours: u64,
    /// Retention: snapshots collected on a day (UTC) that ended more than this many days ago
    /// are deleted, from the store and from the dataset. 0: kept forever. Default 0.
    pub retention_days: u64,
    /// Seconds between two passes of compaction and retention. Default 3600.
    pub maintenance_interval_secs: u64,
    /// Certificates of triage workstations, which collect copies of other servers (README.md,
    /// "Security model"); every other certificate speaks for its own computer only. Default
    /// none.
    pub triage: Vec<crate::identity::TriageIdentity>,

    // Ingest at the disk's limit, and metrics.
    /// Group commit of the local store: uploads arriving together are made durable together,
    /// each acked once its batch is durable (aggregator/src/commit.rs, BENCHMARKS.md):
    /// `"fsync"` (every file, then every shard directory touched), `"syncfs"` (one `syncfs`
    /// after the writes and one after the links: Linux 5.8 or later, for a data directory on
    /// a file system of its own) or `"off"` (two fsyncs per upload). Ignored with `bucket` (a
    /// put there is one request). Default `"fsync"`.
    pub group_commit: crate::store::GroupCommit,
    /// Where Prometheus scrapes `GET /metrics`, plain HTTP on its own port (never the
    /// collectors' mutual-TLS port; keep it on a management network or loopback). Default
    /// none: no metrics listener.
    pub metrics_listen: Option<SocketAddr>,
}

/// PEM files of mutual TLS.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct TlsFiles {
    /// Server certificate. Default `certs/server.pem`.
    pub cert: PathBuf,
    /// Server private key. Default `certs/server.key`.
    pub key: PathBuf,
    /// CA that signs collector certificates. Default `certs/ca.pem`.
    pub client_ca: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:7443".parse().expect("a valid address"),
            data_dir: PathBuf::from("exfleet-data"),
            flush_interval_secs: 10,
            max_message_bytes: 32 << 20,
            tls_handshake_timeout_secs: 10,
            idle_timeout_secs: 300,
            max_connections: 1024,
            max_uploads_in_flight: 256,
            retry_after_secs: 5,
            enroll_listen: None,
            enroll_ca_key: None,
            cert_validity_days: 90,
            bucket: None,
            aggregator_id: None,
            enroll_refresh_secs: 5,
            compact_after_hours: 2,
            retention_days: 0,
            maintenance_interval_secs: 3600,
            tls: TlsFiles::default(),
            triage: Vec::new(),
            group_commit: crate::store::GroupCommit::Fsync,
            metrics_listen: None,
        }
    }
}

impl Default for TlsFiles {
    fn default() -> Self {
        TlsFiles {
            cert: PathBuf::from("certs/server.pem"),
            key: PathBuf::from("certs/server.key"),
            client_ca: PathBuf::from("certs/ca.pem"),
        }
    }
}

impl Config {
    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        toml::from_str(&text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_and_unknown_keys_are_refused() {
        let text = toml::to_string(&Config::default()).unwrap();
        assert_eq!(toml::from_str::<Config>(&text).unwrap(), Config::default());
        assert!(toml::from_str::<Config>("listne = \"1.2.3.4:1\"").is_err());
        let partial: Config = toml::from_str("flush-interval-secs = 2").unwrap();
        assert_eq!(partial.flush_interval_secs, 2);
        assert_eq!(partial.listen, Config::default().listen);
    }

    #[test]
    fn the_deployed_configuration_is_the_default_but_for_its_paths() {
        let text = include_str!("../../deploy/aggregator.toml");
        let deployed: Config = toml::from_str(text).unwrap();
        let d = Config::default();
        assert_eq!(
            deployed.tls_handshake_timeout_secs,
            d.tls_handshake_timeout_secs
        );
        assert_eq!(deployed.idle_timeout_secs, d.idle_timeout_secs);
        assert_eq!(deployed.max_connections, d.max_connections);
        assert_eq!(deployed.max_message_bytes, d.max_message_bytes);
        assert_eq!(deployed.max_uploads_in_flight, d.max_uploads_in_flight);
        assert_eq!(deployed.retry_after_secs, d.retry_after_secs);
        assert_eq!(deployed.cert_validity_days, d.cert_validity_days);
        assert_eq!(deployed.bucket, d.bucket);
        assert_eq!(deployed.enroll_refresh_secs, d.enroll_refresh_secs);
        assert_eq!(deployed.compact_after_hours, d.compact_after_hours);
        assert_eq!(deployed.retention_days, d.retention_days);
        assert_eq!(
            deployed.maintenance_interval_secs,
            d.maintenance_interval_secs
        );
        assert_eq!(deployed.group_commit, d.group_commit);
    }
}
