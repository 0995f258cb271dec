//! The aggregator's configuration: a TOML file, every field with a documented default;
//! command-line flags override it.
//!
//! ```toml
//! listen = "0.0.0.0:7443"
//! data-dir = "/var/lib/exfleet"
//! flush-interval-secs = 10
//! max-message-bytes = 33554432
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
    /// Mutual TLS: the server's certificate and key, and the CA collectors' certificates must
    /// be signed by.
    pub tls: TlsFiles,
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
            tls: TlsFiles::default(),
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
}
