//! The identity model at the door: a server certificate's snapshot of another computer is
//! stored as evidence with its identity kind, a triage certificate submits for its hosts only.

use exfleet_aggregator::identity::{Policy, TriageIdentity};
use exfleet_aggregator::server::ServeOptions;
use exfleet_collector::client;
use exfleet_proto::v1::stored_snapshot::IdentityKind;
use exfleet_proto::v1::upload_ack::Status as AckStatus;

use crate::e2e::{fleet_snapshots, Harness};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_speak_for_what_they_may_and_the_store_records_which() {
    let h = Harness::start_with(|_| ServeOptions {
        identities: Policy::new(vec![TriageIdentity {
            cn: "IR-WS01".into(),
            hosts: vec!["EXKEPT".into()],
        }]),
        ..Default::default()
    })
    .await;
    let mut snaps = fleet_snapshots(3);
    let own = snaps.remove(0);
    let own_host = own.host.as_ref().unwrap().computer_name.clone();
    let mut forged = snaps.remove(0);
    forged.host.as_mut().unwrap().computer_name = own_host.clone();
    let mut triaged = snaps.remove(0);
    triaged.host.as_mut().unwrap().computer_name = "EXKEPT".into();

    // The server's own certificate, for itself: a server identity, no mismatch.
    let mut c = client::connect(&h.url(), &h.client_tls(&own_host))
        .await
        .unwrap();
    let acks = client::upload(&mut c, vec![own.clone()]).await.unwrap();
    assert_eq!(acks[0].status, AckStatus::Stored as i32);
    // Another server's certificate claiming that computer: stored, as a server identity whose
    // CN is not the host (the dataset flags it; the analysis never takes it as the host).
    let mut c = client::connect(&h.url(), &h.client_tls("EXOTHER01"))
        .await
        .unwrap();
    let acks = client::upload(&mut c, vec![forged.clone()]).await.unwrap();
    assert_eq!(acks[0].status, AckStatus::Stored as i32);
    // A triage certificate for one of its hosts, then for a host it may not submit.
    let tls = h.client_tls("IR-WS01");
    let mut c = client::connect(&h.url(), &tls).await.unwrap();
    let acks = client::upload(&mut c, vec![triaged.clone()]).await.unwrap();
    assert_eq!(acks[0].status, AckStatus::Stored as i32);
    let mut outside = fleet_snapshots(4).remove(3);
    outside.host.as_mut().unwrap().computer_name = "EXNOTLISTED".into();
    let mut c = client::connect(&h.url(), &tls).await.unwrap();
    let err = client::upload(&mut c, vec![outside.clone()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("EXNOTLISTED"), "{err}");
    assert!(!h.store.contains(&outside.snapshot_id));

    let kind = |id: &str| {
        let s = h.store.get(id).unwrap();
        (s.collector_id.clone(), s.identity_kind())
    };
    assert_eq!(
        kind(&own.snapshot_id),
        (own_host.clone(), IdentityKind::Server)
    );
    assert_eq!(
        kind(&forged.snapshot_id),
        ("EXOTHER01".into(), IdentityKind::Server)
    );
    assert_eq!(
        kind(&triaged.snapshot_id),
        ("IR-WS01".into(), IdentityKind::Triage)
    );
    h.stop().await;
}
