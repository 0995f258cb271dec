//! Enrollment end to end on loopback: tokens made with the aggregator's command line, a
//! collector enrolling (its own command line, as a process) and pushing with what it was
//! issued, tokens used up or expired, a name already taken, renewal, and revocation that
//! survives a restart.

use std::path::{Path, PathBuf};
use std::process::Command;

use exfleet_aggregator::certs::{self, Pem};
use exfleet_aggregator::enroll::ledger::Ledger;
use exfleet_aggregator::enroll::{now_ms, tokens};
use exfleet_aggregator::server::{EnrollOptions, Loopback, ServeOptions, TlsPem};
use exfleet_aggregator::store::Store;
use exfleet_collector::client;
use exfleet_collector::enroll::{self, EnrollError, IdentityDir};
use exfleet_proto::v1::stored_snapshot::IdentityKind;
use exfleet_proto::v1::upload_ack::Status as AckStatus;
use exfleet_proto::v1::Snapshot;
use exfleet_tests::fleet::{self, render, FleetConfig};

use crate::spool::collector_process;

const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// An aggregator with enrollment on, that can be restarted over the same data.
pub(crate) struct Fleet {
    dir: tempfile::TempDir,
    pub(crate) ca: Pem,
    server: Pem,
    aggregator: Option<Loopback>,
}

impl Fleet {
    pub(crate) async fn start() -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        let ca = certs::make_ca("fleet CA").unwrap();
        let server = certs::make_server(&ca, &["localhost".into()]).unwrap();
        std::fs::write(dir.path().join("ca.pem"), &ca.cert).unwrap();
        let mut f = Fleet {
            dir,
            ca,
            server,
            aggregator: None,
        };
        f.restart().await;
        f
    }

    async fn restart(&mut self) {
        if let Some(a) = self.aggregator.take() {
            a.stop().await.unwrap();
        }
        let tls = TlsPem {
            cert: self.server.cert.clone(),
            key: self.server.key.clone(),
            client_ca: self.ca.cert.clone(),
        };
        let opts = ServeOptions {
            ledger_dir: Some(self.data().join("enroll")),
            enrollment: Some(EnrollOptions {
                ca: self.ca.clone(),
                validity_days: 90,
            }),
            ..Default::default()
        };
        let store = Store::open(&self.data()).unwrap();
        self.aggregator = Some(Loopback::start(store, tls, opts).await.unwrap());
    }

    pub(crate) fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub(crate) fn url(&self) -> String {
        self.aggregator.as_ref().unwrap().url.clone()
    }

    pub(crate) fn enroll_url(&self) -> String {
        self.aggregator
            .as_ref()
            .unwrap()
            .enroll_url
            .clone()
            .unwrap()
    }

    /// `exfleet-aggregator <args> --data-dir <data>`, its standard output.
    fn admin(&self, args: &[&str]) -> String {
        let o = Command::new(env!("CARGO_BIN_EXE_exfleet-aggregator"))
            .args(args)
            .arg("--data-dir")
            .arg(self.data())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    }

    pub(crate) fn token(&self, fleet_wide: bool) -> String {
        let mut args = vec!["tokens", "create"];
        if fleet_wide {
            args.push("--fleet");
        }
        self.admin(&args).trim().to_string()
    }

    /// Enrolls `name` with `token` into `<tmp>/<dir>` (the library's call, as `enroll` makes it).
    async fn enroll(&self, token: &str, name: &str, dir: &str) -> Result<IdentityDir, EnrollError> {
        let id = IdentityDir::new(&self.dir.path().join(dir));
        enroll::enroll(&self.enroll_url(), token, &self.ca.cert, name, &id, TIMEOUT).await?;
        Ok(id)
    }

    async fn push(&self, id: &IdentityDir, host: &str) -> Result<(), client::UploadError> {
        let tls = id.load().unwrap();
        let mut c = client::connect(&self.url(), &tls).await?;
        let acks = client::upload(&mut c, vec![snapshot(host)]).await?;
        assert_eq!(acks[0].status, AckStatus::Stored as i32);
        Ok(())
    }
}

fn snapshot(host: &str) -> Snapshot {
    Snapshot {
        snapshot_id: uuid::Uuid::new_v4().to_string(),
        collected_at_ms: now_ms(),
        host: Some(exfleet_proto::v1::HostIdentity {
            computer_name: host.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn serial(id: &IdentityDir) -> String {
    let pem = id.load().unwrap().cert;
    let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
    exfleet_aggregator::enroll::issue::serial_hex(&p.contents).unwrap()
}

fn refused(r: Result<IdentityDir, EnrollError>) -> String {
    match r {
        Err(EnrollError::Refused(m)) => m,
        Err(e) => panic!("not a refusal: {e}"),
        Ok(_) => panic!("enrolled"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_enrolls_with_a_token_and_pushes_with_what_it_was_issued() {
    let f = Fleet::start().await;
    let token = f.token(false);
    let host = fleet::generate(&FleetConfig {
        seed: 3,
        servers: 1,
        fault_rate: 0.0,
    })
    .remove(0);
    let root = f.dir.path().join("root");
    render::write(&host, 3, &root).unwrap();
    let identity = f.dir.path().join("identity");
    let arg = |p: &Path| p.display().to_string();
    let o = collector_process(&[
        "enroll".into(),
        "--aggregator".into(),
        f.enroll_url(),
        "--token".into(),
        token.clone(),
        "--ca".into(),
        arg(&f.dir.path().join("ca.pem")),
        "--identity".into(),
        arg(&identity),
        "--root".into(),
        arg(&root),
    ])
    .output()
    .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains(&format!("enrolled {}", host.name)), "{out}");
    // The certificate names the computer; the key was made here and is the owner's alone.
    let id = IdentityDir::new(&identity);
    assert_eq!(
        enroll::common_name(&id.load().unwrap().cert).unwrap(),
        host.name
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(identity.join("identity.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
    // The ledger says who enrolled, when and from where.
    let listed = f.admin(&["enrollments"]);
    assert!(
        listed.contains(&host.name) && listed.contains("127.0.0.1:"),
        "{listed}"
    );

    let o = collector_process(&[
        "collect".into(),
        "--root".into(),
        arg(&root),
        "--aggregator".into(),
        f.url(),
        "--identity".into(),
        arg(&identity),
    ])
    .output()
    .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let store = Store::open(&f.data()).unwrap();
    let ids = store.ids();
    assert_eq!(ids.len(), 1);
    let stored = store.get(&ids[0]).unwrap();
    assert_eq!(stored.collector_id, host.name);
    assert_eq!(stored.identity_kind, IdentityKind::Server as i32);

    // Used once: refused for another host.
    let e = refused(f.enroll(&token, "EX99", "other").await);
    assert!(e.contains("single-use") && e.contains(&host.name), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_and_a_taken_name_are_refused_until_released() {
    let f = Fleet::start().await;
    let ledger = Ledger::open(&f.data().join("enroll")).unwrap();
    let old = tokens::create(false, now_ms() - 7_200_000, now_ms() - 3_600_000);
    ledger.append(vec![old.event]).unwrap();
    let e = refused(f.enroll(&old.text, "EX01", "a").await);
    assert!(
        e.contains("Unauthenticated") && e.contains("expired"),
        "{e}"
    );

    let token = f.token(true);
    f.enroll(&token, "EX01", "a").await.unwrap();
    let e = refused(f.enroll(&token, "ex01", "b").await);
    assert!(
        e.contains("AlreadyExists") && e.contains("release EX01"),
        "{e}"
    );
    assert!(f.admin(&["release", "EX01"]).contains("released EX01"));
    let b = f.enroll(&token, "ex01", "b").await.unwrap();
    f.push(&b, "ex01").await.unwrap();
    // A host whose answer was lost asks again with the same key (kept before the first ask):
    // issued again, and its single-use token counts it once.
    let once = f.token(false);
    let lost = IdentityDir::new(&f.dir.path().join("lost"));
    let pending_key = rcgen::KeyPair::generate().unwrap();
    std::fs::create_dir_all(f.dir.path().join("lost")).unwrap();
    std::fs::write(
        f.dir.path().join("lost").join("pending-key.pem"),
        pending_key.serialize_pem(),
    )
    .unwrap();
    enroll::enroll(&f.enroll_url(), &once, &f.ca.cert, "EX03", &lost, TIMEOUT)
        .await
        .unwrap();
    std::fs::write(
        f.dir.path().join("lost").join("pending-key.pem"),
        pending_key.serialize_pem(),
    )
    .unwrap();
    enroll::enroll(&f.enroll_url(), &once, &f.ca.cert, "EX03", &lost, TIMEOUT)
        .await
        .expect("the same key is issued again");
    assert!(!f.dir.path().join("lost").join("pending-key.pem").exists());
    f.push(&lost, "EX03").await.unwrap();
    // Another key for the name is still refused.
    let e = refused(f.enroll(&token, "EX03", "thief").await);
    assert!(e.contains("AlreadyExists"), "{e}");
    // Not a computer name, and not a request at all.
    let e = refused(f.enroll(&token, "../EX02", "c").await);
    assert!(
        e.contains("InvalidArgument") && e.contains("not a computer name"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_replaces_the_certificate_and_pushes_keep_working() {
    let f = Fleet::start().await;
    let id = f.enroll(&f.token(false), "EX07", "id").await.unwrap();
    // 90 days: due in the last 30.
    let day = 86_400_000;
    assert!(!id.needs_renewal(now_ms() + 59 * day).unwrap());
    assert!(id.needs_renewal(now_ms() + 61 * day).unwrap());
    let before = serial(&id);
    f.push(&id, "EX07").await.unwrap();
    let issued = enroll::renew(&f.url(), &id, TIMEOUT).await.unwrap();
    assert_eq!(issued.common_name, "EX07");
    let after = serial(&id);
    assert_ne!(before, after, "a new certificate");
    f.push(&id, "EX07").await.unwrap();
    // A renewal asks for its own name only.
    let ledger = Ledger::open(&f.data().join("enroll")).unwrap();
    let serials = &ledger.state().unwrap().serials["ex07"];
    assert_eq!(serials, &[before, after]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_collector_is_refused_at_connect_also_after_a_restart() {
    let mut f = Fleet::start().await;
    let token = f.token(true);
    let revoked = f.enroll(&token, "EX05", "revoked").await.unwrap();
    let other = f.enroll(&token, "EX06", "other").await.unwrap();
    f.push(&revoked, "EX05").await.unwrap();
    assert!(f.admin(&["revoke", "EX05"]).contains("EX05"));
    // A revoked collector's spool is kept whole: the refusal is about the certificate, not
    // about its snapshots.
    let spool_dir = tempfile::tempdir().unwrap();
    let spool = exfleet_collector::spool::Spool::open(spool_dir.path()).unwrap();
    spool.put(&snapshot("EX05")).unwrap();
    spool.put(&snapshot("EX05")).unwrap();
    let policy = exfleet_collector::retry::RetryPolicy {
        attempts: 1,
        ..Default::default()
    };
    let d =
        exfleet_collector::deliver::deliver(&spool, &f.url(), &revoked.load().unwrap(), &policy)
            .await
            .unwrap();
    assert!(d.rejected.is_empty(), "{d:?}");
    assert_eq!(d.left, 2);
    assert!(
        matches!(d.gave_up, Some(client::UploadError::Denied(ref m)) if m.contains("revoked")),
        "{d:?}"
    );
    for round in ["running", "restarted"] {
        let e = f.push(&revoked, "EX05").await.unwrap_err().to_string();
        assert!(e.contains("revoked") && e.contains("EX05"), "{round}: {e}");
        let e = enroll::renew(&f.url(), &revoked, TIMEOUT)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("revoked"), "{round}: {e}");
        f.push(&other, "EX06").await.unwrap();
        f.restart().await;
    }
    // Released, the name enrolls again, and the new certificate is not revoked.
    f.admin(&["release", "EX05"]);
    let again = f.enroll(&token, "EX05", "again").await.unwrap();
    f.push(&again, "EX05").await.unwrap();
}
