//! Findings: what the analyzer reports, with the evidence it rests on and what to do.

use serde::{Deserialize, Serialize};

/// How urgent a finding is (analyzer/FINDINGS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A fact (a successful run).
    Info,
    /// Risk and lag.
    Warning,
    /// An update failed or is half-applied.
    Error,
    /// Broken for users now.
    Critical,
}

impl Severity {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(s: &str) -> Option<Severity> {
        [
            Severity::Info,
            Severity::Warning,
            Severity::Error,
            Severity::Critical,
        ]
        .into_iter()
        .find(|v| v.name() == s)
    }
}

/// One fact a finding rests on, and where an administrator can check it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The fact, in words.
    pub fact: String,
    /// Where it was read: `path:line`, `path#HKLM\...\Value`, ... (empty when derived).
    pub provenance: String,
}

impl Evidence {
    /// A fact with its provenance.
    pub fn new(fact: impl Into<String>, provenance: impl Into<String>) -> Self {
        Evidence {
            fact: fact.into(),
            provenance: provenance.into(),
        }
    }
}

/// A finding about a host or a group of hosts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id (analyzer/FINDINGS.md).
    pub id: String,
    /// Severity.
    pub severity: Severity,
    /// The host, or `fleet`.
    pub host: String,
    /// Snapshot the finding was computed from (empty for fleet findings).
    pub snapshot_id: String,
    /// One line saying what is wrong.
    pub title: String,
    /// The facts it rests on.
    pub evidence: Vec<Evidence>,
    /// What to do.
    pub action: String,
    /// Fleet findings: the group (`dag:DAG01`, or the shared signature's finding id).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// Fleet findings: the hosts concerned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// What makes two hosts' findings "the same" for fleet patterns (empty when it does not apply).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signature: String,
}
