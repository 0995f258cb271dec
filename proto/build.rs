//! Generates `exfleet.v1` (messages, the Ingest and Enrollment services) with protox, so that no system
//! `protoc` is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "exfleet/v1/snapshot.proto",
        "exfleet/v1/ingest.proto",
        "exfleet/v1/enroll.proto",
    ];
    for p in protos {
        println!("cargo:rerun-if-changed={p}");
    }
    let fds = protox::compile(protos, ["."])?;
    tonic_prost_build::configure()
        // Snapshots are also written as JSON for people and for independent checkers.
        .type_attribute(".", "#[derive(serde::Serialize, serde::Deserialize)]")
        .message_attribute(".", "#[serde(default)]")
        // Ordered maps encode deterministically: the same snapshot gives the same bytes.
        .btree_map(".")
        .compile_fds(fds)?;
    Ok(())
}
