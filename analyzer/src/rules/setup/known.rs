//! The setup rules whose finding is what the reference reviewer's chain reports
//! ([`reviewer`](super::reviewer)): each file beside this one (and in `prereq/`) gives its
//! catalog entry, a [`Known`] value, and its check (`detect`); the chain decides which one
//! reports.

use super::reviewer::review;
use crate::finding::Severity;
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// A setup failure the reviewer's chain recognises.
pub struct Known {
    /// Finding id.
    pub id: &'static str,
    /// Catalog entry.
    pub doc: &'static str,
    /// `module_path!()` of the file that defines the value (the registry checks the id's
    /// prefix against it).
    pub module_path: &'static str,
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
        let Some(r) = review(h) else { return };
        for hit in r.of(self.id) {
            out.push(self.finding(
                h,
                hit.title.clone(),
                hit.evidence.clone(),
                &action_of(self.doc),
            ));
        }
    }
}
