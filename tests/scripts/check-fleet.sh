#!/usr/bin/env bash
# Writes a simulated fleet, collects every host with the real collector, and compares each
# snapshot with independent readers (tests/scripts/independent_check.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
servers=${SERVERS:-40}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --locked -q -p exfleet-collector -p exfleet-tests
bin=${CARGO_TARGET_DIR:-target}/debug
"$bin"/exfleet-sim --out "$work/fleet" --servers "$servers" --seed "${SEED:-11}"
mkdir -p "$work/snapshots"
for dir in "$work"/fleet/hosts/*/; do
  host=$(basename "$dir")
  "$bin"/exfleet-collector collect --root "$dir" \
    --labels "$work/fleet/labels/$host.toml" --out "$work/snapshots/$host.json"
done
python3 tests/scripts/independent_check.py "$work/fleet" "$work/snapshots"
