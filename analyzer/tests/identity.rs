//! The identity model in the analysis: a server certificate's snapshot of another computer
//! never becomes that computer's state, and is reported naming both.

use chrono::NaiveDate;
use exfleet_analyzer::catalog::Catalog;
use exfleet_analyzer::input::History;
use exfleet_dataset::Batch;
use exfleet_proto::v1::stored_snapshot::IdentityKind;
use exfleet_proto::v1::StoredSnapshot;
use exfleet_tests::fleet::FleetConfig;

#[test]
fn a_server_certificate_cannot_replace_another_servers_record() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = FleetConfig {
        seed: 8,
        servers: 3,
        fault_rate: 0.0,
    };
    let (truth, snapshots) =
        exfleet_tests::collected_fleet(&cfg, &tmp.path().join("fleet")).unwrap();
    let (victim, attacker) = (&truth.hosts[0].name, &truth.hosts[1].name);
    let mut rows = Batch::default();
    for s in &snapshots {
        let name = s.host.as_ref().unwrap().computer_name.clone();
        rows.add(&StoredSnapshot {
            snapshot: Some(s.clone()),
            collector_id: name,
            received_at_ms: s.collected_at_ms + 1_000,
            identity_kind: IdentityKind::Server as i32,
        });
    }
    // The attacker's certificate sends its own server's snapshot, renamed, and later.
    let mut forged = snapshots[1].clone();
    forged.snapshot_id = "forged-0001".into();
    forged.collected_at_ms += 3_600_000;
    forged.host.as_mut().unwrap().computer_name = victim.clone();
    rows.add(&StoredSnapshot {
        snapshot: Some(forged),
        collector_id: attacker.clone(),
        received_at_ms: snapshots[1].collected_at_ms + 3_601_000,
        identity_kind: IdentityKind::Server as i32,
    });
    let history = History::from_batch(&rows).unwrap();
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let a = exfleet_analyzer::analyze(&history, &Catalog::embedded(), as_of).unwrap();

    let view = a.hosts.iter().find(|h| &h.host == victim).unwrap();
    assert_eq!(
        view.snapshot_id, snapshots[0].snapshot_id,
        "the victim keeps its record"
    );
    assert_eq!(a.hosts.len(), 3);
    let f = a
        .findings
        .iter()
        .find(|f| f.id == "security.identity-mismatch")
        .expect("the forgery is reported");
    assert_eq!(f.hosts.as_slice(), std::slice::from_ref(victim));
    assert!(f.title.contains(attacker.as_str()), "{}", f.title);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.fact.contains("forged-0001") && e.fact.contains(victim.as_str())),
        "{:?}",
        f.evidence
    );
}
