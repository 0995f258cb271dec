//! Known setup failures recognised by their [ERROR] lines: each file here gives the texts
//! that identify its failure (alternatives of substrings that must all appear in one error,
//! its continuation lines included, or the task it must happen in), and its catalog entry;
//! the matching is shared.

pub mod ad_access_denied;
pub mod ad_object_exists;
pub mod arbitration_upn;
pub mod delegated_rights;
pub mod disabled_service;
pub mod expired_certificate;
pub mod fips_access_denied;
pub mod firewall_endpoint_mapper;
pub mod hybrid_object;
pub mod ldif_error;
pub mod missing_directory;
pub mod missing_homemdb;
pub mod mount_database;
pub mod msi_installer_cache;
pub mod multi_eas_vdir;
pub mod search_foundation;
pub mod security_groups_ou_deleted;
pub mod servicecontrol_reverse;
pub mod shared_config_dc;
pub mod vdir_failure;
pub mod wk_object_invalid;
pub mod wk_object_wrong_group_type;

use super::{run_evidence, unsuccessful_last_run};
use crate::finding::{Evidence, Finding, Severity};
use crate::rules::{action_of, line_of, section, Context, Rule};
use crate::view::{HostView, LogLine};

/// A known setup failure.
pub struct Known {
    /// Finding id.
    pub id: &'static str,
    /// Catalog entry.
    pub doc: &'static str,
    /// Alternatives: each a set of substrings that must all appear in one error; a
    /// `task:<name>` entry requires the error to happen in that task instead.
    pub any_of: &'static [&'static [&'static str]],
    /// Cite the version whose installer cache setup needs (the backup copy).
    pub cite_backup_version: bool,
}

impl Known {
    fn matches(&self, l: &LogLine) -> bool {
        if l.kind != "error" {
            return false;
        }
        let text = format!("{}\n{}", l.text, l.continuation);
        self.any_of.iter().any(|all| {
            all.iter().all(|s| match s.strip_prefix("task:") {
                Some(task) => l.task.eq_ignore_ascii_case(task),
                None => text.contains(s),
            })
        })
    }
}

impl Rule for Known {
    fn id(&self) -> &'static str {
        self.id
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn doc(&self) -> &'static str {
        self.doc
    }
    fn check(&self, h: &HostView, _: &Context, out: &mut Vec<Finding>) {
        let Some(r) = unsuccessful_last_run(h) else {
            return;
        };
        let hits: Vec<&LogLine> = r.lines.iter().filter(|l| self.matches(l)).collect();
        let Some(first) = hits.first() else { return };
        let mut ev = vec![run_evidence(r)];
        for l in hits.iter().take(3) {
            let mut fact = l.text.clone();
            if !l.continuation.is_empty() {
                fact = format!("{fact}\n{}", l.continuation);
            }
            if !l.task.is_empty() {
                fact = format!("{fact} (task {})", l.task);
            }
            ev.push(Evidence::new(fact, line_of(&r.provenance, l.line)));
        }
        if self.cite_backup_version && !r.backup_version.is_empty() {
            ev.push(Evidence::new(
                format!("previously installed build {}: its installer packages must be in the Windows Installer cache", r.backup_version),
                &r.provenance,
            ));
        }
        let detects = section(self.doc, "Detects");
        let title = format!(
            "{} (line {})",
            detects.split(". ").next().unwrap_or(&detects),
            first.line
        );
        out.push(self.finding(h, title, ev, &action_of(self.doc)));
    }
}
