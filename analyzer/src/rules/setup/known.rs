//! Known setup failures recognised by their `[ERROR]` lines, the matching shared by the
//! `setup.*` rules that are a [`Known`]: each of those files (beside this one, in `setup/`)
//! gives the texts that identify its failure (alternatives of substrings that must all appear
//! in one error, its continuation lines included, or the task it must happen in), and its
//! catalog entry.

use super::{run_evidence, unsuccessful_last_run};
use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, line_of, section, Context, Rule, Sink};
use crate::view::HostView;
use exfleet_dataset::SetupLineRow as LogLine;
use exfleet_proto::kinds::SetupLineKind;

/// A known setup failure.
pub struct Known {
    /// Finding id.
    pub id: &'static str,
    /// Catalog entry.
    pub doc: &'static str,
    /// `module_path!()` of the file that defines the value (the registry checks the id's
    /// prefix against it).
    pub module_path: &'static str,
    /// Alternatives: each a set of substrings that must all appear in one error; a
    /// `task:<name>` entry requires the error to happen in that task instead.
    pub any_of: &'static [&'static [&'static str]],
    /// Cite the version whose installer cache setup needs (the backup copy).
    pub cite_backup_version: bool,
}

impl Known {
    fn matches(&self, l: &LogLine) -> bool {
        if l.kind != SetupLineKind::Error {
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
    fn module_path(&self) -> &'static str {
        self.module_path
    }
    fn check(&self, h: &HostView, _: &Context, out: &mut Sink) {
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
