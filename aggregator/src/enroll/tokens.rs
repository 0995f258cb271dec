//! Enrollment tokens: `exf1.<id>.<secret>`, the id public, the secret 32 random bytes in hex of
//! which the ledger keeps only the SHA-256. Single-use (one enrollment) or fleet-wide (any
//! number until it expires); both expire.

use sha2::{Digest, Sha256};

use super::hex;
use super::ledger::{Event, State};

const PREFIX: &str = "exf1";

/// A token just made: the text to hand out (shown once) and its ledger event.
#[derive(Debug)]
pub struct NewToken {
    /// The token as the collector takes it (`--token`).
    pub text: String,
    /// What the ledger records.
    pub event: Event,
}

/// Makes a token valid until `expires_at_ms`.
pub fn create(single_use: bool, now_ms: i64, expires_at_ms: i64) -> NewToken {
    let id = hex(&rand::random::<[u8; 4]>());
    let secret = hex(&rand::random::<[u8; 32]>());
    NewToken {
        text: format!("{PREFIX}.{id}.{secret}"),
        event: Event::TokenCreated {
            id,
            sha256: sha256_hex(&secret),
            single_use,
            expires_at_ms,
            at_ms: now_ms,
        },
    }
}

/// Checks a token against the ledger: its id, if it may enroll `cn` now (a single-use token
/// already used for `cn` itself may be used again: the same host asking again).
pub fn check(state: &State, token: &str, cn: &str, now_ms: i64) -> Result<String, String> {
    let mut parts = token.trim().split('.');
    let (Some(PREFIX), Some(id), Some(secret), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not an exfleet enrollment token (exf1.<id>.<secret>)".into());
    };
    let Some(t) = state.tokens.get(id) else {
        return Err(format!("token {id} is unknown"));
    };
    if t.sha256 != sha256_hex(secret) {
        return Err(format!("token {id}: wrong secret"));
    }
    if now_ms >= t.expires_at_ms {
        return Err(format!(
            "token {id} expired at {}",
            super::show_time(t.expires_at_ms)
        ));
    }
    if t.single_use && t.used_by.iter().any(|u| !u.eq_ignore_ascii_case(cn)) {
        return Err(format!(
            "token {id} is single-use and was used by {}",
            t.used_by.join(", ")
        ));
    }
    Ok(id.to_string())
}

fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enroll::ledger::Ledger;

    #[test]
    fn tokens_work_until_they_expire_and_single_use_ones_once() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path()).unwrap();
        let once = create(true, 0, 1_000);
        let fleet = create(false, 0, 1_000);
        ledger
            .append(vec![once.event.clone(), fleet.event.clone()])
            .unwrap();
        let s = ledger.state().unwrap();
        let id = check(&s, &once.text, "EX01", 10).unwrap();
        let e = check(&s, &once.text, "EX01", 1_000).unwrap_err();
        assert!(e.contains("expired"), "{e}");
        // The last hex digit changed (whatever it was).
        let last = if once.text.ends_with('0') { '1' } else { '0' };
        let wrong = format!("{}{last}", &once.text[..once.text.len() - 1]);
        let e = check(&s, &wrong, "EX01", 10).unwrap_err();
        assert!(e.contains("wrong secret"), "{e}");
        let e = check(&s, "hello", "EX01", 10).unwrap_err();
        assert!(e.contains("not an exfleet"), "{e}");
        let enrolled = |cn: &str, token: &str| Event::Enrolled {
            cn: cn.into(),
            serial: "01".into(),
            token: token.into(),
            from: "x".into(),
            at_ms: 10,
            not_after_ms: 20,
            key_sha256: "k".into(),
            revocations_seen: None,
        };
        let fleet_id = check(&s, &fleet.text, "EX02", 10).unwrap();
        ledger
            .append(vec![enrolled("EX01", &id), enrolled("EX02", &fleet_id)])
            .unwrap();
        let s = ledger.state().unwrap();
        let e = check(&s, &once.text, "EX03", 10).unwrap_err();
        assert!(e.contains("single-use") && e.contains("EX01"), "{e}");
        assert_eq!(
            check(&s, &once.text, "ex01", 10).unwrap(),
            id,
            "the same host again"
        );
        assert_eq!(check(&s, &fleet.text, "EX03", 10).unwrap(), fleet_id);
    }
}
