//! The enrollment ledger of aggregators sharing a bucket (`<prefix>/enroll`), on what an
//! S3-compatible store gives: immutable objects and create-only puts (`If-None-Match: *`).
//!
//! - Each append is one object, `events/<ms>-<writer>-<random>.jsonl` (its events one a line),
//!   put create-only: never overwritten, never edited. The state is the fold of every event
//!   object, in key order (time, then writer: the writers' clocks order them).
//! - The state is listed again when it is older than the refresh interval (the identity gate
//!   asks on every call) and always before a decision ([`Shared::update`]): a revocation or a
//!   release written through any aggregator or the operator's commands is seen by every
//!   aggregator's gate within one refresh interval, and by every enrollment and renewal at
//!   once. Only the objects not seen before are read.
//! - What two aggregators must not both grant (a single-use token, a name) is claimed by a
//!   create-only put of `claims/<what>.json`: the server lets one put create it and answers
//!   412 to the others, which then read whose it is; the claim is read back after a settle
//!   time for servers whose check is not atomic with the write ([`Shared::claim`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use exfleet_dataset::bucket::{Bucket, Created};

use super::ledger::{Claimed, Event, State};
use crate::error::Error;

/// The folder of the event objects.
const EVENTS: &str = "events";
/// The folder of the claims.
const CLAIMS: &str = "claims";
/// How long a claim just put waits before it is read back ([`Shared::claim`]).
const SETTLE: Duration = Duration::from_millis(500);

/// The shared ledger, and what was last listed of it.
#[derive(Debug)]
pub(super) struct Shared {
    bucket: Bucket,
    writer: String,
    refresh: Duration,
    seq: AtomicU64,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    /// When the events were last listed.
    listed_at: Option<Instant>,
    /// The events of each object read, by key.
    objects: BTreeMap<String, Vec<Event>>,
    state: Arc<State>,
}

impl Shared {
    /// The ledger under `bucket`, as `writer`; its events listed once now.
    pub(super) fn open(bucket: &Bucket, writer: &str, refresh: Duration) -> Result<Shared, Error> {
        let shared = Shared {
            bucket: bucket.clone(),
            writer: writer.to_string(),
            refresh,
            seq: AtomicU64::new(0),
            cache: Mutex::default(),
        };
        shared.list()?;
        Ok(shared)
    }

    /// The state as last listed, listed again first if that is older than the interval.
    pub(super) fn state(&self) -> Result<Arc<State>, Error> {
        {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if cache
                .listed_at
                .is_some_and(|at| at.elapsed() < self.refresh)
            {
                return Ok(Arc::clone(&cache.state));
            }
        }
        self.list()
    }

    /// The state listed now. Junk from the unauthenticated listener costs a listing each:
    /// the enrollment listener's connection limits bound how many.
    pub(super) fn fresh_state(&self) -> Result<Arc<State>, Error> {
        self.list()
    }

    /// Lists the events, reads the objects not read before, folds them all in key order.
    fn list(&self) -> Result<Arc<State>, Error> {
        let started = Instant::now();
        let listed = self.bucket.list(EVENTS)?;
        let mut new = Vec::new();
        {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            for o in &listed {
                if !cache.objects.contains_key(&o.key) {
                    new.push(o.key.clone());
                }
            }
        }
        let mut read = Vec::with_capacity(new.len());
        for key in new {
            // Listed, so written whole (a put is atomic); gone since only if someone deleted it.
            let Some(bytes) = self.bucket.get(&key)? else {
                continue;
            };
            read.push((key.clone(), self.parse(&key, &bytes)?));
        }
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let grew = !read.is_empty();
        cache.objects.extend(read);
        if grew || cache.listed_at.is_none() {
            let mut state = State::default();
            for e in cache.objects.values().flatten() {
                state.apply(e);
            }
            cache.state = Arc::new(state);
        }
        cache.listed_at = Some(started);
        Ok(Arc::clone(&cache.state))
    }

    fn parse(&self, key: &str, bytes: &[u8]) -> Result<Vec<Event>, Error> {
        let corrupt = |message: String| Error::Corrupt {
            path: PathBuf::from(self.bucket.url_of(key)),
            message,
        };
        let text = std::str::from_utf8(bytes).map_err(|e| corrupt(format!("not UTF-8: {e}")))?;
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| corrupt(format!("line {}: {e}", i + 1)))
            })
            .collect()
    }

    /// Decides on the state listed now, and writes the events decided on as one object.
    pub(super) fn update<T, E: From<Error>>(
        &self,
        decide: impl FnOnce(&State) -> Result<(Vec<Event>, T), E>,
    ) -> Result<T, E> {
        let state = self.list()?;
        let (events, out) = decide(&state)?;
        if !events.is_empty() {
            self.write(events)?;
        }
        Ok(out)
    }

    /// Puts `events` as a new object (create-only: a name already taken, which the random
    /// part makes all but impossible, is never overwritten; another name is tried), then
    /// lists, so that this aggregator's next call sees them.
    fn write(&self, events: Vec<Event>) -> Result<(), Error> {
        let mut text = String::new();
        for e in &events {
            text.push_str(&serde_json::to_string(e).expect("events serialize"));
            text.push('\n');
        }
        loop {
            let key = format!(
                "{EVENTS}/{:013}-{}-{:06}-{:016x}.jsonl",
                super::now_ms().max(0),
                self.writer,
                self.seq.fetch_add(1, Ordering::Relaxed),
                rand::random::<u64>()
            );
            if self.bucket.create(&key, text.clone().into_bytes())? == Created::New {
                break;
            }
        }
        self.list()?;
        Ok(())
    }

    /// An error unless the bucket takes create-only puts (`If-None-Match: *`): without them
    /// two aggregators may both make the same claim, and a single-use token or a name be
    /// given twice.
    pub(super) fn require_conditional_put(&self) -> Result<(), Error> {
        if self.bucket.conditional_put() {
            return Ok(());
        }
        Err(Error::Config {
            path: PathBuf::from(self.bucket.url()),
            message: "the shared enrollment needs an object store that takes conditional \
                      puts (If-None-Match: *), and this one does not (AWS_CONDITIONAL_PUT is \
                      disabled, or the server refused the condition): claims would not be \
                      exclusive; enroll on one aggregator with a local --ledger-dir instead"
                .into(),
        })
    }

    /// Claims `what` for `holder`: ours if the claim there names the same holder (made now,
    /// or before by the same host asking again).
    ///
    /// A claim this call made is read back after [`SETTLE`] before it counts: a server may
    /// check `If-None-Match` apart from the write (s3s-fs 0.14 tests that the object exists,
    /// then writes a temporary file and renames it), so that two puts at once may both be
    /// answered 200, the later rename winning; the settle time outlasts that window, and the
    /// loser reads the winner's claim back.
    pub(super) fn claim(&self, what: &str, holder: &str) -> Result<Claimed, Error> {
        let key = format!("{CLAIMS}/{what}.json");
        let body =
            serde_json::json!({ "holder": holder, "by": self.writer, "at_ms": super::now_ms() });
        self.require_conditional_put()?;
        self.bucket.create(&key, body.to_string().into_bytes())?;
        // Made without the condition (the server refused it just now): not exclusive.
        self.require_conditional_put()?;
        // Settled on the Exists path too: the winner's write may be within that window.
        std::thread::sleep(SETTLE);
        let there = self.bucket.get(&key)?.unwrap_or_default();
        let theirs = serde_json::from_slice::<serde_json::Value>(&there)
            .ok()
            .and_then(|v| v.get("holder")?.as_str().map(str::to_string))
            .ok_or_else(|| Error::Corrupt {
                path: PathBuf::from(self.bucket.url_of(&key)),
                message: "not a claim (no holder)".into(),
            })?;
        Ok(if theirs == holder {
            Claimed::Ours
        } else {
            Claimed::Theirs(theirs)
        })
    }
}
