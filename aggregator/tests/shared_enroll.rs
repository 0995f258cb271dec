//! Enrollment shared by two aggregators on one bucket of a real S3 server (`s3s-fs`, [`S3`]):
//! a single-use token is used once whichever aggregator is asked (also when both are asked
//! at the same moment), a revocation made with the operator's command is enforced by both
//! within their refresh interval, and both list the same enrollments.

use std::process::Command;
use std::time::{Duration, Instant};

use exfleet_aggregator::certs::{self, Pem};
use exfleet_aggregator::enroll::ledger::Ledger;
use exfleet_aggregator::enroll::now_ms;
use exfleet_aggregator::server::{EnrollOptions, Loopback, ServeOptions, TlsPem};
use exfleet_aggregator::store::Store;
use exfleet_collector::client;
use exfleet_collector::enroll::{self, EnrollError, IdentityDir};
use exfleet_proto::v1::upload_ack::Status as AckStatus;
use exfleet_proto::v1::Snapshot;

use crate::s3::{self, S3};

const TIMEOUT: Duration = Duration::from_secs(10);
const BUCKET: &str = "exfleet";
/// The gate's refresh interval in this test.
const REFRESH: Duration = Duration::from_secs(1);

struct Two {
    dir: tempfile::TempDir,
    ca: Pem,
    url: String,
    a: Loopback,
    b: Loopback,
    s3: S3,
}

impl Two {
    async fn start(s3: S3) -> Two {
        let dir = tempfile::tempdir().unwrap();
        let ca = certs::make_ca("fleet CA").unwrap();
        let server = certs::make_server(&ca, &["localhost".into()]).unwrap();
        let url = format!("s3://{BUCKET}/shared");
        let bucket = s3.open(&url);
        let start = |id: &str| {
            let tls = TlsPem {
                cert: server.cert.clone(),
                key: server.key.clone(),
                client_ca: ca.cert.clone(),
            };
            let opts = ServeOptions {
                // Only turns the ledger on: on a bucket it is the one shared there.
                ledger_dir: Some(dir.path().join(id).join("enroll")),
                ledger_refresh: REFRESH,
                enrollment: Some(EnrollOptions {
                    ca: ca.clone(),
                    validity_days: 90,
                }),
                ..Default::default()
            };
            let store = Store::open_bucket(&bucket, id).unwrap();
            Loopback::start(store, tls, opts)
        };
        let a = start("agg_a").await.unwrap();
        let b = start("agg_b").await.unwrap();
        Two {
            dir,
            ca,
            url,
            a,
            b,
            s3,
        }
    }

    /// `exfleet-aggregator <args> --bucket <url>` (the operator's commands on the shared
    /// ledger), its standard output.
    fn admin(&self, args: &[&str]) -> String {
        let o = Command::new(env!("CARGO_BIN_EXE_exfleet-aggregator"))
            .args(args)
            .args(["--bucket", &self.url])
            .envs(self.s3.env())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    }

    fn token(&self, fleet_wide: bool) -> String {
        let mut args = vec!["tokens", "create"];
        if fleet_wide {
            args.push("--fleet");
        }
        self.admin(&args).trim().to_string()
    }

    async fn enroll(
        &self,
        on: &Loopback,
        token: &str,
        name: &str,
    ) -> Result<IdentityDir, EnrollError> {
        let id = IdentityDir::new(&self.dir.path().join("identities").join(name));
        let at = on.enroll_url.clone().unwrap();
        enroll::enroll(&at, token, &self.ca.cert, name, &id, TIMEOUT).await?;
        Ok(id)
    }

    async fn push(
        &self,
        on: &Loopback,
        id: &IdentityDir,
        host: &str,
    ) -> Result<(), client::UploadError> {
        let tls = id.load().unwrap();
        let mut c = client::connect(&on.url, &tls).await?;
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

fn refused(r: Result<IdentityDir, EnrollError>) -> String {
    match r {
        Err(EnrollError::Refused(m)) => m,
        Err(e) => panic!("not a refusal: {e}"),
        Ok(_) => panic!("enrolled"),
    }
}

/// The enrollments a fresh reader of the shared ledger lists, as `writer`: name, key and
/// serials.
fn listed(s3: &S3, url: &str, writer: &str) -> Vec<(String, String, Vec<String>)> {
    let bucket = s3.open(url).child("enroll");
    let ledger = Ledger::open_bucket(&bucket, writer, Duration::ZERO).unwrap();
    let mut out: Vec<_> = ledger
        .state()
        .unwrap()
        .claims
        .values()
        .map(|c| (c.cn.clone(), c.key_sha256.clone(), c.serials.clone()))
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_aggregators_on_one_bucket_share_tokens_revocations_and_enrollments() {
    let _one = s3::serial().await;
    let Some(s3) = S3::start(BUCKET) else {
        return;
    };
    let two = Two::start(s3).await;
    let (a, b) = (&two.a, &two.b);

    // A single-use token used on A is used up on B.
    let once = two.token(false);
    let ex01 = two.enroll(a, &once, "EX01").await.unwrap();
    let e = refused(two.enroll(b, &once, "EX02").await);
    assert!(
        e.contains("single-use") && e.to_lowercase().contains("ex01"),
        "{e}"
    );

    // Asked on both at the same moment, one enrollment wins, the other is refused.
    for round in 0..4 {
        let token = two.token(false);
        let (n1, n2) = (format!("RACE{round}A"), format!("RACE{round}B"));
        let (r1, r2) = tokio::join!(two.enroll(a, &token, &n1), two.enroll(b, &token, &n2));
        let won = usize::from(r1.is_ok()) + usize::from(r2.is_ok());
        assert_eq!(won, 1, "round {round}: {:?} {:?}", r1.is_ok(), r2.is_ok());
        let e = refused(if r1.is_ok() { r2 } else { r1 });
        assert!(e.contains("single-use"), "round {round}: {e}");
    }

    // A name taken through A cannot be taken with another key through B.
    let fleet = two.token(true);
    let e = refused(two.enroll(b, &fleet, "EX01").await);
    assert!(e.contains("EX01") && e.contains("release"), "{e}");
    let ex03 = two.enroll(b, &fleet, "EX03").await.unwrap();

    // Revoked with the operator's command: refused by both within the refresh interval.
    two.push(b, &ex01, "EX01").await.unwrap();
    two.push(a, &ex03, "EX03").await.unwrap();
    assert!(two.admin(&["revoke", "EX01"]).contains("EX01"));
    let revoked_at = Instant::now();
    for (on, name) in [(b, "B"), (a, "A")] {
        loop {
            match two.push(on, &ex01, "EX01").await {
                Err(e) => {
                    let e = e.to_string();
                    assert!(e.contains("revoked") && e.contains("EX01"), "{name}: {e}");
                    break;
                }
                Ok(()) => {
                    assert!(
                        revoked_at.elapsed() < REFRESH + Duration::from_secs(3),
                        "{name} still takes a revoked certificate {:?} after the revocation",
                        revoked_at.elapsed()
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    // Renewal reads the ledger afresh: refused at once.
    let e = enroll::renew(&b.url, &ex01, TIMEOUT).await.unwrap_err();
    assert!(e.to_string().contains("revoked"), "{e}");
    two.push(b, &ex03, "EX03").await.unwrap();

    // Both list the same enrollments, and the operator's command lists them.
    let from_a = listed(&two.s3, &two.url, "agg_a");
    let from_b = listed(&two.s3, &two.url, "agg_b");
    assert_eq!(from_a, from_b);
    let names: Vec<&str> = from_a.iter().map(|(cn, _, _)| cn.as_str()).collect();
    assert!(
        names.contains(&"EX01") && names.contains(&"EX03"),
        "{names:?}"
    );
    assert_eq!(names.len(), 2 + 4, "EX01, EX03 and one per race: {names:?}");
    let text = two.admin(&["enrollments"]);
    for n in &names {
        assert!(text.contains(n), "{n} not listed:\n{text}");
    }
    // Released through the operator's command, the name enrolls again with another key.
    two.admin(&["release", "EX01"]);
    std::fs::remove_dir_all(two.dir.path().join("identities/EX01")).unwrap();
    let again = two.enroll(a, &fleet, "EX01").await.unwrap();
    two.push(a, &again, "EX01").await.unwrap();
    let Two { a, b, .. } = two;
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

/// A bucket without conditional puts (`AWS_CONDITIONAL_PUT=disabled`) cannot hold exclusive
/// claims: the shared enrollment refuses it, with an error saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_without_conditional_puts_is_refused_for_shared_enrollment() {
    let _one = s3::serial().await;
    let Some(s3) = S3::start(BUCKET) else {
        return;
    };
    let url = format!("s3://{BUCKET}/noclaims");
    let conditional = s3.open(&url).child("enroll");
    let ledger = Ledger::open_bucket(&conditional, "agg1", Duration::ZERO).unwrap();
    ledger
        .check_claims()
        .expect("a bucket with conditional puts");
    std::env::set_var("AWS_CONDITIONAL_PUT", "disabled");
    let plain = s3.open(&url).child("enroll");
    std::env::remove_var("AWS_CONDITIONAL_PUT");
    let ledger = Ledger::open_bucket(&plain, "agg1", Duration::ZERO).unwrap();
    let e = ledger.check_claims().unwrap_err().to_string();
    assert!(e.contains("conditional") && e.contains("noclaims"), "{e}");
}
