//! The enrollment ledger: one append-only file of events (tokens made and used, names enrolled,
//! renewed, released, revoked), written under a lock by the server and by the operator's
//! commands alike, and folded into the current [`State`]. Appends are fsynced before they count;
//! the server reloads the file when it has grown, so a `revoke` takes effect on the next call
//! without a restart, and survives restarts.
//!
//! For aggregators sharing a bucket the same events live there instead (`enroll::shared`),
//! one object per append, so that every aggregator folds the same state.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exfleet_dataset::bucket::Bucket;
use serde::{Deserialize, Serialize};

use super::shared::Shared;
use crate::error::Error;

/// One line of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// `tokens create`: a token, known by its id and the SHA-256 of its secret.
    TokenCreated {
        /// Public id (the token's first part).
        id: String,
        /// SHA-256 of the secret, hex.
        sha256: String,
        /// Whether one enrollment uses it up.
        single_use: bool,
        /// When it stops working, UTC ms.
        expires_at_ms: i64,
        /// When it was made.
        at_ms: i64,
    },
    /// A certificate issued for a token.
    Enrolled {
        /// The name (subject CN).
        cn: String,
        /// The certificate's serial, hex.
        serial: String,
        /// The token's id.
        token: String,
        /// The peer address the request came from.
        from: String,
        /// When.
        at_ms: i64,
        /// The certificate's end of validity, UTC ms.
        not_after_ms: i64,
        /// SHA-256 of the certified public key (SubjectPublicKeyInfo), hex: the same host
        /// asking again with the same key (its answer lost) is issued again, not refused.
        #[serde(default)]
        key_sha256: String,
        /// How many revocations of the name the state held when the certificate was decided
        /// on: the certificate is covered by every later one (the name's revocations past
        /// this count), whatever order the events are folded in (a shared ledger folds by
        /// key, and a renewal decided before a revocation may be written after it). `None`
        /// in events written before it existed: the revocations folded before it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        revocations_seen: Option<u32>,
    },
    /// A certificate issued to replace a valid one of the same name.
    Renewed {
        /// The name.
        cn: String,
        /// The new certificate's serial, hex.
        serial: String,
        /// The peer address.
        from: String,
        /// When.
        at_ms: i64,
        /// The new certificate's end of validity.
        not_after_ms: i64,
        /// How many revocations of the name the state held when the certificate was decided
        /// on: the certificate is covered by every later one (the name's revocations past
        /// this count), whatever order the events are folded in (a shared ledger folds by
        /// key, and a renewal decided before a revocation may be written after it). `None`
        /// in events written before it existed: the revocations folded before it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        revocations_seen: Option<u32>,
    },
    /// `release`: another host may enroll the name.
    Released {
        /// The name.
        cn: String,
        /// When.
        at_ms: i64,
    },
    /// `revoke`: every certificate of the name issued so far is refused.
    Revoked {
        /// The name.
        cn: String,
        /// When.
        at_ms: i64,
    },
}

/// A token as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// SHA-256 of the secret, hex.
    pub sha256: String,
    /// Used up by one enrollment.
    pub single_use: bool,
    /// End of validity, UTC ms.
    pub expires_at_ms: i64,
    /// Names enrolled with it.
    pub used_by: Vec<String>,
}

/// Who holds a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The name as enrolled.
    pub cn: String,
    /// Where the enrollment came from.
    pub from: String,
    /// When.
    pub at_ms: i64,
    /// The enrolled key's SHA-256.
    pub key_sha256: String,
    /// Serials issued under this claim (the enrollment's, then each renewal's): only these
    /// renew.
    pub serials: Vec<String>,
}

/// The ledger folded: what holds now.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// Tokens by id.
    pub tokens: HashMap<String, Token>,
    /// Names enrolled and not released, by lower-case name.
    pub claims: HashMap<String, Claim>,
    /// Serials issued, by lower-case name.
    pub serials: HashMap<String, Vec<String>>,
    /// The revocations of each name seen when each serial was issued, by serial
    /// ([`Event::Enrolled`]'s `revocations_seen`).
    pub revocations_seen: HashMap<String, u32>,
    /// When each name was revoked, one entry per revocation, by lower-case name.
    pub revocations: HashMap<String, Vec<i64>>,
    /// Names revoked, and when (the latest): a certificate of the name the ledger did not
    /// issue (made by hand, `certs collector`) is refused too.
    pub revoked_names: HashMap<String, i64>,
    /// Times each name was released, by lower-case name: the generation of its claim on a
    /// shared ledger (`enroll::shared`).
    pub releases: HashMap<String, u32>,
}

impl State {
    /// Folds one more event in.
    pub(super) fn apply(&mut self, e: &Event) {
        match e {
            Event::TokenCreated {
                id,
                sha256,
                single_use,
                expires_at_ms,
                ..
            } => {
                self.tokens.insert(
                    id.clone(),
                    Token {
                        sha256: sha256.clone(),
                        single_use: *single_use,
                        expires_at_ms: *expires_at_ms,
                        used_by: Vec::new(),
                    },
                );
            }
            Event::Enrolled {
                cn,
                serial,
                token,
                from,
                at_ms,
                key_sha256,
                revocations_seen,
                ..
            } => {
                if let Some(t) = self.tokens.get_mut(token) {
                    if !t.used_by.iter().any(|u| u.eq_ignore_ascii_case(cn)) {
                        t.used_by.push(cn.clone());
                    }
                }
                let key = cn.to_ascii_lowercase();
                // The same key asking again keeps its claim and its serials.
                let mut serials = match self.claims.get(&key) {
                    Some(c) if c.key_sha256 == *key_sha256 && !key_sha256.is_empty() => {
                        c.serials.clone()
                    }
                    _ => Vec::new(),
                };
                serials.push(serial.clone());
                self.claims.insert(
                    key,
                    Claim {
                        cn: cn.clone(),
                        from: from.clone(),
                        at_ms: *at_ms,
                        key_sha256: key_sha256.clone(),
                        serials,
                    },
                );
                self.issued(cn, serial, *revocations_seen);
            }
            Event::Renewed {
                cn,
                serial,
                revocations_seen,
                ..
            } => {
                if let Some(c) = self.claims.get_mut(&cn.to_ascii_lowercase()) {
                    c.serials.push(serial.clone());
                }
                self.issued(cn, serial, *revocations_seen)
            }
            Event::Released { cn, .. } => {
                let key = cn.to_ascii_lowercase();
                self.claims.remove(&key);
                *self.releases.entry(key).or_default() += 1;
            }
            Event::Revoked { cn, at_ms } => {
                let key = cn.to_ascii_lowercase();
                self.revocations
                    .entry(key.clone())
                    .or_default()
                    .push(*at_ms);
                let latest = self.revoked_names.entry(key).or_insert(*at_ms);
                *latest = (*latest).max(*at_ms);
            }
        }
    }

    fn issued(&mut self, cn: &str, serial: &str, revocations_seen: Option<u32>) {
        let seen = revocations_seen.unwrap_or_else(|| self.revocations_of(cn));
        self.revocations_seen.insert(serial.to_string(), seen);
        self.serials
            .entry(cn.to_ascii_lowercase())
            .or_default()
            .push(serial.to_string());
    }

    /// How many times `cn` was revoked: what a certificate issued now records
    /// (`revocations_seen`), so that any revocation past these covers it.
    pub fn revocations_of(&self, cn: &str) -> u32 {
        self.revocations
            .get(&cn.to_ascii_lowercase())
            .map_or(0, |r| r.len() as u32)
    }

    /// Whether the ledger issued the certificate of `cn` with `serial`.
    pub fn issued_here(&self, cn: &str, serial: &str) -> bool {
        self.serials
            .get(&cn.to_ascii_lowercase())
            .is_some_and(|s| s.iter().any(|x| x == serial))
    }

    /// Why a certificate (its CN and serial, hex) is refused, if it is revoked (when): a
    /// serial the ledger issued is revoked when its name has more revocations than it saw
    /// when it was decided on (whatever the order the events were folded in); one it did not
    /// issue, whenever its name was revoked.
    pub fn revoked(&self, cn: &str, serial: &str) -> Option<i64> {
        if self.issued_here(cn, serial) {
            let seen = self.revocations_seen.get(serial).copied().unwrap_or(0) as usize;
            let revocations = self.revocations.get(&cn.to_ascii_lowercase())?;
            (revocations.len() > seen)
                .then(|| revocations.iter().copied().max())
                .flatten()
        } else {
            self.revoked_names.get(&cn.to_ascii_lowercase()).copied()
        }
    }
}

/// The ledger: a file in a folder, or events shared on a bucket.
#[derive(Debug)]
pub struct Ledger {
    at: At,
}

#[derive(Debug)]
enum At {
    File(FileLedger),
    Bucket(Shared),
}

/// What a claim ([`Ledger::claim`]) found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// Ours: made now, or made before by the same holder.
    Ours,
    /// Another holder's (named).
    Theirs(String),
}

impl Ledger {
    /// The ledger in `dir` (created when missing).
    pub fn open(dir: &Path) -> Result<Ledger, Error> {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let ledger = FileLedger {
            path: dir.join("ledger.jsonl"),
            lock: dir.join("ledger.lock"),
            cache: Mutex::new((u64::MAX, Arc::default())),
        };
        ledger.state()?;
        Ok(Ledger {
            at: At::File(ledger),
        })
    }

    /// The ledger shared by the aggregators of a bucket, under `bucket` (their
    /// `<prefix>/enroll`), written as `writer` (an aggregator's id, or the operator's
    /// commands'), its state listed again when older than `refresh` (`enroll::shared`).
    pub fn open_bucket(bucket: &Bucket, writer: &str, refresh: Duration) -> Result<Ledger, Error> {
        Ok(Ledger {
            at: At::Bucket(Shared::open(bucket, writer, refresh)?),
        })
    }

    /// An error unless enrollment can run on this ledger: a shared one needs a bucket that
    /// takes conditional puts, for its claims (`enroll::shared`).
    pub fn check_claims(&self) -> Result<(), Error> {
        match &self.at {
            At::File(_) => Ok(()),
            At::Bucket(b) => b.require_conditional_put(),
        }
    }

    /// The state now; shared, not copied, since the identity gate asks for it on every call.
    /// A file is read again when it has grown; a bucket's events are listed again when the
    /// state is older than its refresh interval.
    pub fn state(&self) -> Result<Arc<State>, Error> {
        match &self.at {
            At::File(f) => f.state(),
            At::Bucket(b) => b.state(),
        }
    }

    /// The state now, on a bucket listed again (`enroll::shared`): for a refusal that the cached state may be too old to make (a
    /// token made a moment ago through the operator's command).
    pub fn fresh_state(&self) -> Result<Arc<State>, Error> {
        match &self.at {
            At::File(f) => f.state(),
            At::Bucket(b) => b.fresh_state(),
        }
    }

    /// Decides on the state now and records the events decided on before returning: on a
    /// file, under its lock (two enrollments of one name, or of one single-use token, cannot
    /// both pass); on a bucket, on the state listed afresh, the race between aggregators
    /// settled by [`Ledger::claim`] within `decide`.
    pub fn update<T, E: From<Error>>(
        &self,
        decide: impl FnOnce(&State) -> Result<(Vec<Event>, T), E>,
    ) -> Result<T, E> {
        match &self.at {
            At::File(f) => f.update(decide),
            At::Bucket(b) => b.update(decide),
        }
    }

    /// Appends events unconditionally (the operator's commands).
    pub fn append(&self, events: Vec<Event>) -> Result<(), Error> {
        self.update(|_| Ok::<_, Error>((events, ())))
    }

    /// Claims `what` (`token-<id>`, `name-<cn>-<generation>`) for `holder`, once and for all:
    /// on a bucket, a create-only object, so that of two aggregators deciding at once only
    /// one wins; on a file, always ours (the file's lock already orders the decisions).
    pub fn claim(&self, what: &str, holder: &str) -> Result<Claimed, Error> {
        match &self.at {
            At::File(_) => Ok(Claimed::Ours),
            At::Bucket(b) => b.claim(what, holder),
        }
    }
}

/// The ledger file, and its state as last read.
#[derive(Debug)]
struct FileLedger {
    path: PathBuf,
    lock: PathBuf,
    cache: Mutex<(u64, Arc<State>)>,
}

impl FileLedger {
    fn state(&self) -> Result<Arc<State>, Error> {
        let len = match std::fs::metadata(&self.path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(Error::io(&self.path)(e)),
        };
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.0 != len {
            *cache = (len, Arc::new(self.read()?));
        }
        Ok(Arc::clone(&cache.1))
    }

    fn read(&self) -> Result<State, Error> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io(&self.path)(e)),
        };
        let mut state = State::default();
        // A crash in the middle of an append leaves a last line without its newline: it never
        // counted (the append was not acknowledged), and the next append cuts it off.
        let whole = match text.rfind('\n') {
            Some(end) => &text[..=end],
            None => "",
        };
        if whole.len() < text.len() {
            tracing::warn!(
                ledger = %self.path.display(),
                "ignoring an unfinished last line ({} bytes)",
                text.len() - whole.len()
            );
        }
        for (i, line) in whole.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let e: Event = serde_json::from_str(line).map_err(|e| Error::Corrupt {
                path: self.path.clone(),
                message: format!("line {}: {e}", i + 1),
            })?;
            state.apply(&e);
        }
        Ok(state)
    }

    /// Decides on the state read under the ledger's lock and appends the events decided on,
    /// fsynced, before the lock is released.
    fn update<T, E: From<Error>>(
        &self,
        decide: impl FnOnce(&State) -> Result<(Vec<Event>, T), E>,
    ) -> Result<T, E> {
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock)
            .map_err(Error::io(&self.lock))?;
        lock.lock().map_err(Error::io(&self.lock))?;
        let state = self.read()?;
        let (events, out) = decide(&state)?;
        if !events.is_empty() {
            self.cut_unfinished_line()?;
            let mut f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(Error::io(&self.path))?;
            let mut text = String::new();
            for e in &events {
                text.push_str(&serde_json::to_string(e).expect("events serialize"));
                text.push('\n');
            }
            f.write_all(text.as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(Error::io(&self.path))?;
            if let Some(dir) = self.path.parent() {
                File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(Error::io(dir))?;
            }
        }
        drop(lock);
        Ok(out)
    }

    /// Cuts an unfinished last line (see [`Ledger::read`]) so that the next event starts a
    /// line of its own.
    fn cut_unfinished_line(&self) -> Result<(), Error> {
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(&self.path)(e)),
        };
        let keep = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        if keep < text.len() {
            let f = OpenOptions::new()
                .write(true)
                .open(&self.path)
                .map_err(Error::io(&self.path))?;
            f.set_len(keep as u64)
                .and_then(|()| f.sync_all())
                .map_err(Error::io(&self.path))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enrolled(cn: &str, serial: &str, at_ms: i64) -> Event {
        Event::Enrolled {
            cn: cn.into(),
            serial: serial.into(),
            token: "t1".into(),
            from: "127.0.0.1:5000".into(),
            at_ms,
            not_after_ms: at_ms + 1000,
            key_sha256: format!("key-{serial}"),
            revocations_seen: None,
        }
    }

    /// A renewal decided before a revocation but written after it (its key sorting later on
    /// a shared ledger, or a writer's clock behind) is still covered by that revocation; a
    /// certificate decided after the revocation is not.
    #[test]
    fn a_revocation_covers_a_renewal_decided_before_it_whatever_the_order_written() {
        let renewed = |serial: &str, seen: u32, at_ms: i64| Event::Renewed {
            cn: "EX01".into(),
            serial: serial.into(),
            from: "127.0.0.1:5000".into(),
            at_ms,
            not_after_ms: at_ms + 1000,
            revocations_seen: Some(seen),
        };
        let decided = |e: Event| match e {
            Event::Enrolled {
                cn,
                serial,
                token,
                from,
                at_ms,
                not_after_ms,
                key_sha256,
                ..
            } => Event::Enrolled {
                cn,
                serial,
                token,
                from,
                at_ms,
                not_after_ms,
                key_sha256,
                revocations_seen: Some(0),
            },
            e => e,
        };
        let revoked = Event::Revoked {
            cn: "ex01".into(),
            at_ms: 5,
        };
        // Racing order: the revocation folded before the renewal that did not see it.
        let mut s = State::default();
        for e in [
            decided(enrolled("EX01", "aa", 1)),
            revoked.clone(),
            renewed("bb", 0, 4),
        ] {
            s.apply(&e);
        }
        assert_eq!(s.revoked("EX01", "aa"), Some(5));
        assert_eq!(
            s.revoked("EX01", "bb"),
            Some(5),
            "decided before the revocation"
        );
        // In the order decided: the same.
        let mut t = State::default();
        for e in [
            decided(enrolled("EX01", "aa", 1)),
            renewed("bb", 0, 4),
            revoked.clone(),
        ] {
            t.apply(&e);
        }
        assert_eq!(t.revoked("EX01", "bb"), Some(5));
        // Decided having seen the revocation (a new enrollment after it): not covered, until
        // a second revocation, wherever that one is folded.
        let mut u = State::default();
        for e in [
            decided(enrolled("EX01", "aa", 1)),
            revoked.clone(),
            renewed("cc", 1, 6),
        ] {
            u.apply(&e);
        }
        assert_eq!(u.revoked("EX01", "cc"), None);
        u.apply(&Event::Revoked {
            cn: "EX01".into(),
            at_ms: 3,
        });
        assert_eq!(u.revoked("EX01", "cc"), Some(5));
    }

    #[test]
    fn a_revocation_covers_what_was_issued_before_it_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path()).unwrap();
        ledger
            .append(vec![
                enrolled("EX01", "aa", 1),
                Event::Revoked {
                    cn: "ex01".into(),
                    at_ms: 2,
                },
                Event::Released {
                    cn: "EX01".into(),
                    at_ms: 3,
                },
                enrolled("EX01", "bb", 4),
            ])
            .unwrap();
        let reopened = Ledger::open(dir.path()).unwrap();
        let s = reopened.state().unwrap();
        assert_eq!(s.revoked("EX01", "aa"), Some(2));
        assert_eq!(s.revoked("EX01", "bb"), None, "issued after the revocation");
        assert_eq!(
            s.revoked("EX01", "cc"),
            Some(2),
            "a certificate not issued here"
        );
        assert_eq!(s.revoked("EX02", "dd"), None);
        assert_eq!(s.claims["ex01"].at_ms, 4);
    }

    #[test]
    fn an_unfinished_last_line_is_ignored_and_cut_before_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path()).unwrap();
        ledger.append(vec![enrolled("EX01", "aa", 1)]).unwrap();
        let path = dir.path().join("ledger.jsonl");
        let mut text = std::fs::read(&path).unwrap();
        text.extend_from_slice(b"{\"event\":\"revoked\",\"cn\":\"EX0");
        std::fs::write(&path, &text).unwrap();
        let reopened = Ledger::open(dir.path()).unwrap();
        assert!(reopened.state().unwrap().revoked_names.is_empty());
        reopened
            .append(vec![Event::Revoked {
                cn: "EX01".into(),
                at_ms: 2,
            }])
            .unwrap();
        let s = Ledger::open(dir.path()).unwrap().state().unwrap();
        assert_eq!(s.revoked("EX01", "aa"), Some(2));
    }

    #[test]
    fn a_damaged_line_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("ledger.jsonl"),
            "{\"event\":\"released\"}\n",
        )
        .unwrap();
        let e = Ledger::open(dir.path()).unwrap_err().to_string();
        assert!(e.contains("ledger.jsonl") && e.contains("line 1"), "{e}");
    }
}
