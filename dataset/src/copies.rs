//! Which rows of the dataset count: the one rule every reader and the compaction apply.
//!
//! A snapshot may be in two committed batches (a compaction committed before the batches it
//! replaces were removed; two aggregators on one bucket both flushed it): its rows are its
//! first batch's, batch names sorting by time. A part of a batch never committed (its writer
//! killed mid-write, kept until the roll-back) may hold rows of committed snapshots too.

use std::collections::{BTreeSet, HashMap, HashSet};

/// What the committed batches' ids files say about copies of a snapshot's rows.
#[derive(Debug, Clone, Default)]
pub struct Copies {
    /// The committed batches.
    batches: HashSet<String>,
    /// The snapshot ids each committed batch holds that an earlier batch holds too.
    later: HashMap<String, Vec<String>>,
    /// Every id a committed batch with parts holds.
    ids: Vec<String>,
}

impl Copies {
    /// From each committed batch's ids file's text (`None`: unreadable, its snapshots not
    /// deduplicated), in batch order. Only batches `with_parts` holds contribute rows, so
    /// only their ids mark a later batch's as copies (an ids file left without its parts,
    /// e.g. by a compaction whose commit was applied after it gave up, must not empty a
    /// day).
    pub fn new<'a>(
        commits: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
        with_parts: impl Fn(&str) -> bool,
    ) -> Copies {
        let mut batches = HashSet::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut later: HashMap<String, Vec<String>> = HashMap::new();
        for (batch, text) in commits {
            batches.insert(batch.to_string());
            let Some(text) = text.filter(|_| with_parts(batch)) else {
                continue;
            };
            // Only an id an earlier batch holds is a later copy: one listed twice in this
            // batch is still this batch's.
            let ids: BTreeSet<&str> = text.lines().filter(|l| !l.is_empty()).collect();
            for id in &ids {
                if seen.contains(*id) {
                    later
                        .entry(batch.to_string())
                        .or_default()
                        .push(id.to_string());
                }
            }
            seen.extend(ids.into_iter().map(str::to_string));
        }
        Copies {
            batches,
            later,
            ids: seen.into_iter().collect(),
        }
    }

    /// The snapshot ids whose rows a part of `batch` must leave out; `None` when all its rows
    /// count. A committed batch leaves out what an earlier one holds; an uncommitted one
    /// everything a committed batch holds (its other rows stay: a dataset written before
    /// batches were committed has no ids at all).
    pub fn left_out(&self, batch: &str) -> Option<&[String]> {
        match self.later.get(batch) {
            Some(later) => Some(later),
            None if self.batches.is_empty() || self.batches.contains(batch) => None,
            None => Some(&self.ids),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_counts_in_its_first_batch_and_an_uncommitted_part_adds_only_new_ones() {
        let commits = [
            ("1000-c20261118", Some("a\nb\n")),
            ("1001-0001", Some("a\nb\nc\n")),
            ("1002-0002", Some("d\nd\n")),
            ("1003-0003", Some("e\n")),
        ];
        let with_parts = |b: &str| b != "1003-0003";
        let c = Copies::new(commits, with_parts);
        assert_eq!(c.left_out("1000-c20261118"), None);
        assert_eq!(
            c.left_out("1001-0001"),
            Some(&["a".to_string(), "b".to_string()][..])
        );
        // Listed twice in its own batch: still its own.
        assert_eq!(c.left_out("1002-0002"), None);
        let mut uncommitted = c.left_out("1004-0004").unwrap().to_vec();
        uncommitted.sort();
        // "e" is in a batch with no part: it contributes no rows, so it is no copy.
        assert_eq!(uncommitted, ["a", "b", "c", "d"]);
        assert_eq!(Copies::new([], |_| true).left_out("1004-0004"), None);
    }
}
