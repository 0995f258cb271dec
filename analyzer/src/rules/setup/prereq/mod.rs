//! Setup's own prerequisite checks: runs stopped by a prerequisite rule of setup
//! (`Failed [Rule:<Name>]`, or `Evaluated [Rule:<Name>] ... [Value:"True"]`), one finding id
//! per kind of check. Each file here (and `setup/ad_validation.rs`, a `setup.*` id) names the
//! setup rules of its id, the facts to cite, and its catalog entry; the matching is shared.

pub mod dc_out_of_site;
pub mod domain_prep_required;
pub mod enterprise_admin_required;
pub mod msdtc_stopped;
pub mod org_management_required;
pub mod process_open;
pub mod reboot_pending;
pub mod remote_registry;
pub mod schema_admin_required;
pub mod url_rewrite_missing;

use super::{run_evidence, unsuccessful_last_run};
use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, line_of, Context, Rule, Sink};
use crate::view::HostView;
use exfleet_dataset::SetupLineRow as LogLine;
use exfleet_proto::kinds::SetupLineKind;

/// A finding id fed by setup prerequisite rules.
pub struct Prereq {
    /// Finding id.
    pub id: &'static str,
    /// Catalog entry.
    pub doc: &'static str,
    /// `module_path!()` of the file that defines the value (the registry checks the id's
    /// prefix against it).
    pub module_path: &'static str,
    /// Setup's rule names (`PendingRebootWindowsComponents`), or texts that mark the failure.
    pub setup_rules: &'static [&'static str],
    /// Substrings of fact lines to cite (where to run /PrepareAD, which DC, which SID).
    pub facts: &'static [&'static str],
    /// The admin-group setting the account lacked, when the id depends on which one.
    pub lacking: Lacking,
}

/// Which admin-group setting (`Evaluated [Setting:<name>] ... [Value:"False"]`) must be false
/// for the id: one failed rule (SchemaUpdateRequired) needs Schema Admins and Enterprise
/// Admins, and the settings tell which one was missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lacking {
    /// The rule lines alone decide.
    Nothing,
    /// The setting is logged False, or not logged at all (older setup versions).
    FalseOrUnlogged(&'static str),
    /// The setting is logged False.
    False(&'static str),
}

impl Lacking {
    /// Whether the run's setting lines agree, and the line that shows it.
    fn holds<'a>(&self, lines: &'a [LogLine]) -> (bool, Option<&'a LogLine>) {
        let (name, unlogged_ok) = match *self {
            Lacking::Nothing => return (true, None),
            Lacking::FalseOrUnlogged(n) => (n, true),
            Lacking::False(n) => (n, false),
        };
        let tag = format!("[Setting:{name}]");
        let logged: Vec<&LogLine> = lines
            .iter()
            .filter(|l| l.kind == SetupLineKind::Setting && l.text.contains(&tag))
            .collect();
        match logged.iter().find(|l| l.text.contains("[Value:\"False\"]")) {
            Some(l) => (true, Some(l)),
            None => (logged.is_empty() && unlogged_ok, None),
        }
    }
}

impl Prereq {
    fn hits<'a>(&self, lines: &'a [LogLine]) -> Vec<&'a LogLine> {
        let mut hits: Vec<&LogLine> = Vec::new();
        for l in lines {
            let rule_line = matches!(
                l.kind,
                SetupLineKind::FailedRule
                    | SetupLineKind::RuleTrue
                    | SetupLineKind::Error
                    | SetupLineKind::Required
            );
            let named = self.setup_rules.iter().any(|r| {
                l.text.contains(&format!("[Rule:{r}]")) || (r.contains(' ') && l.text.contains(r))
            });
            // One line per setup rule: its Failed line when there is one.
            if rule_line && named && !hits.iter().any(|h| same_rule(h, l)) {
                hits.push(l);
            }
        }
        hits
    }
}

fn rule_name(text: &str) -> &str {
    text.split("[Rule:")
        .nth(1)
        .and_then(|r| r.split(']').next())
        .unwrap_or(text)
}

fn same_rule(a: &LogLine, b: &LogLine) -> bool {
    rule_name(&a.text) == rule_name(&b.text)
}

/// The `[Message:...]` of a Failed rule line, or the line itself.
fn message(text: &str) -> &str {
    text.split("[Message:")
        .nth(1)
        .map(|m| m.trim_end_matches(']'))
        .unwrap_or(text)
}

impl Rule for Prereq {
    fn id(&self) -> &'static str {
        self.id
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn doc(&self) -> &'static str {
        self.doc
    }
    fn module_path(&self) -> &'static str {
        self.module_path
    }
    fn check(&self, h: &HostView, _: &Context, out: &mut Sink) {
        let Some(r) = unsuccessful_last_run(h) else {
            return;
        };
        let hits = self.hits(&r.lines);
        let Some(first) = hits.first() else { return };
        let (holds, setting) = self.lacking.holds(&r.lines);
        if !holds {
            return;
        }
        let mut ev = vec![run_evidence(r)];
        ev.extend(
            hits.iter()
                .chain(setting.as_ref())
                .map(|l| Evidence::new(l.text.clone(), line_of(&r.provenance, l.line))),
        );
        for f in r.lines.iter().filter(|l| {
            l.kind == SetupLineKind::Fact && self.facts.iter().any(|x| l.text.contains(x))
        }) {
            ev.push(Evidence::new(
                f.text.clone(),
                line_of(&r.provenance, f.line),
            ));
        }
        let title = format!("Setup stopped: {}", message(&first.text));
        out.push(self.finding(h, title, ev, &action_of(self.doc)));
    }
}
