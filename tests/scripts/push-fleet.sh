#!/usr/bin/env bash
# The operator's path, command by command: the CA and the aggregator's certificate from
# deploy/bootstrap-certs.sh, an aggregator started from its CLI on free ports with enrollment
# on, a fleet token, every host of a simulated fleet enrolling (its key made by the collector)
# then collected and pushed with its identity (half of them through a spool), a graceful
# stop; then the stored snapshots and the dataset's host rows are counted.
set -euo pipefail
cd "$(dirname "$0")/../.."
servers=${SERVERS:-12}
work=$(mktemp -d)
agg_pid=
cleanup() { [ -n "$agg_pid" ] && kill "$agg_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cargo build --locked -q -p exfleet-collector -p exfleet-tests -p exfleet-aggregator
bin=${CARGO_TARGET_DIR:-$PWD/target}/debug
"$bin/exfleet-sim" --out "$work/fleet" --servers "$servers" --seed 21 >/dev/null
hosts=$(ls "$work/fleet/hosts")
EXFLEET_AGGREGATOR=$bin/exfleet-aggregator deploy/bootstrap-certs.sh "$work/certs" localhost >/dev/null
"$bin/exfleet-aggregator" serve --listen 127.0.0.1:0 --data-dir "$work/data" \
  --tls-cert "$work/certs/server.pem" --tls-key "$work/certs/server.key" \
  --client-ca "$work/certs/ca.pem" --flush-interval-secs 1 \
  --enroll-listen 127.0.0.1:0 --enroll-ca-key "$work/certs/ca.key" >"$work/agg.out" 2>"$work/agg.err" &
agg_pid=$!
for _ in $(seq 100); do grep -q "^enrollment listening on" "$work/agg.out" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's/^listening on //p' "$work/agg.out")
enroll_addr=$(sed -n 's/^enrollment listening on //p' "$work/agg.out")
[ -n "$addr" ] && [ -n "$enroll_addr" ] || { cat "$work/agg.err"; echo "aggregator did not start"; exit 1; }
token=$("$bin/exfleet-aggregator" tokens create --fleet --valid-hours 1 --data-dir "$work/data")
n=0
for h in $hosts; do
  "$bin/exfleet-collector" enroll --root "$work/fleet/hosts/$h" --aggregator "https://localhost:${enroll_addr##*:}" \
    --token "$token" --ca "$work/certs/ca.pem" --identity "$work/identity/$h" >/dev/null
  spool=()
  [ $((n % 2)) = 0 ] && spool=(--spool "$work/spool/$h")
  n=$((n + 1))
  "$bin/exfleet-collector" collect --root "$work/fleet/hosts/$h" --labels "$work/fleet/labels/$h.toml" \
    --aggregator "https://localhost:${addr##*:}" --identity "$work/identity/$h" "${spool[@]}"
done
enrolled=$("$bin/exfleet-aggregator" enrollments --data-dir "$work/data" | tail -n +2 | wc -l)
[ "$enrolled" = "$servers" ] || { echo "$enrolled hosts enrolled, expected $servers"; exit 1; }
# A collector whose certificate comes from another CA is refused, and says so with exit 2.
EXFLEET_AGGREGATOR=$bin/exfleet-aggregator deploy/bootstrap-certs.sh "$work/other" localhost INTRUDER >/dev/null
set +e
"$bin/exfleet-collector" collect --root "$work/fleet/hosts/$(echo $hosts | cut -d' ' -f1)" --attempts 1 \
  --aggregator "https://localhost:${addr##*:}" \
  --ca "$work/certs/ca.pem" --cert "$work/other/INTRUDER.pem" --key "$work/other/INTRUDER.key" 2>/dev/null
rc=$?
set -e
[ "$rc" = 2 ] || { echo "intruder collector exited $rc, expected 2"; exit 1; }
kill -TERM "$agg_pid"; wait "$agg_pid"; agg_pid=
stored=$(find "$work/data/snapshots" -name '*.pb' | wc -l)
flushed=$(cat "$work/data/dataset/_flushed/"*.ids | sort -u | wc -l)
echo "push-fleet: $servers hosts pushed, $stored snapshots stored, $flushed in the dataset"
[ "$stored" = "$servers" ] && [ "$flushed" = "$servers" ]
