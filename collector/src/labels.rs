//! Host labels (DAG, role group, owner, free-form extras) that the operator gives a host:
//! they are not on the server, so they come from flags or a TOML file.

use std::collections::BTreeMap;
use std::path::Path;

use exfleet_proto::v1::HostLabels;
use serde::Deserialize;

use crate::error::Error;

/// The labels file: flags given on the command line win over it.
///
/// ```toml
/// dag = "DAG01"
/// role-group = "mailbox"
/// owner = "messaging-team"
/// [extra]
/// datacenter = "east"
/// ```
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LabelsFile {
    /// Database availability group the host belongs to.
    #[serde(default)]
    pub dag: Option<String>,
    /// Role group (e.g. "mailbox", "edge").
    #[serde(default)]
    pub role_group: Option<String>,
    /// Team or person responsible for the host.
    #[serde(default)]
    pub owner: Option<String>,
    /// Further labels.
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
}

impl LabelsFile {
    /// Reads a labels file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Merges flags over the file into the snapshot's labels.
    pub fn into_labels(
        self,
        dag: Option<String>,
        role_group: Option<String>,
        owner: Option<String>,
    ) -> HostLabels {
        HostLabels {
            dag: dag.or(self.dag).unwrap_or_default(),
            role_group: role_group.or(self.role_group).unwrap_or_default(),
            owner: owner.or(self.owner).unwrap_or_default(),
            extra: self.extra,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_unknown_keys_are_refused() {
        let f: LabelsFile = toml::from_str("dag = \"D1\"\nowner = \"ops\"").unwrap();
        let l = f.into_labels(Some("D2".into()), None, None);
        assert_eq!((l.dag.as_str(), l.owner.as_str()), ("D2", "ops"));
        assert!(toml::from_str::<LabelsFile>("dga = \"x\"").is_err());
    }
}
