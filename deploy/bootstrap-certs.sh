#!/usr/bin/env bash
# Makes a CA, the aggregator's certificate and one certificate per collector.
# Usage: bootstrap-certs.sh <out dir> <aggregator DNS name> [collector id ...]
set -euo pipefail
out=${1:?out dir}
server=${2:?aggregator DNS name}
shift 2
bin=${EXFLEET_AGGREGATOR:-exfleet-aggregator}
[ -f "$out/ca.pem" ] || "$bin" certs ca --out "$out"
"$bin" certs server --ca "$out" --out "$out" --name "$server" --name localhost --name 127.0.0.1
for id in "$@"; do
  "$bin" certs collector --ca "$out" --out "$out" --id "$id"
done
echo "certificates in $out"
