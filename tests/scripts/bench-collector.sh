#!/usr/bin/env bash
# The collector's footprint on a server of real size, offline: writes one simulated host at
# real size with `exfleet-sim` (SOFTWARE hive, Application.evtx and System.evtx, and
# ExchangeSetup.log padded with ordinary content that is not evidence), runs the release
# `exfleet-collector collect --root ... --out ...` over it under GNU time, and prints peak RSS,
# user+sys CPU seconds and wall time, beside the same host at the simulator's default size.
# Then the same host padded one artifact at a time (what each artifact costs), unless
# BREAKDOWN=0.
#
#   tests/scripts/bench-collector.sh [SOFTWARE_MIB [EVTX_MIB [SETUP_LOG_MIB]]]
#
# Defaults: SOFTWARE 100 MiB, each event log 200 MiB, setup log 30 MiB (a real server: 50 to
# 150 MB, 20 to several hundred MB, tens of MB). About 0.5 GB of disk per padded host
# (1.1 GB with the breakdown), in a temporary folder removed at the end (KEEP=1 keeps it;
# WORK=<dir> chooses it). Honours CARGO_TARGET_DIR. Needs GNU time (/usr/bin/time; installed
# with apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."

software_mib=${1:-100}
evtx_mib=${2:-200}
setup_log_mib=${3:-30}
breakdown=${BREAKDOWN:-1}
seed=${SEED:-1}

if [ ! -x /usr/bin/time ]; then
  echo "GNU time is missing: apt-get install -y time" >&2
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y time >&2 || { apt-get update >&2 && apt-get install -y time >&2; }
  else
    sudo apt-get install -y time >&2
  fi
fi

cargo build --locked --release -q -p exfleet-collector --bin exfleet-collector \
  -p exfleet-tests --bin exfleet-sim
bin=${CARGO_TARGET_DIR:-target}/release

if [ -n "${WORK:-}" ]; then
  work=$WORK
  mkdir -p "$work"
else
  work=$(mktemp -d)
fi
if [ "${KEEP:-0}" != 1 ]; then
  trap 'rm -rf "$work"' EXIT
fi

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
size_of() { find "$1" -ipath "*$2" -type f -printf '%s\n' | head -n1; }

# write NAME SIM-ARGS...: one host (the first of the seed's fleet) under $work/NAME.
write() {
  local name=$1
  shift
  rm -rf "${work:?}/$name"
  local start=$SECONDS
  "$bin"/exfleet-sim --out "$work/$name" --servers 1 --seed "$seed" "$@" >/dev/null
  echo "wrote $name in $((SECONDS - start)) s" >&2
}

# measure NAME: collects the host under GNU time and prints one table row.
measure() {
  local name=$1
  local root
  root=$(find "$work/$name/hosts" -mindepth 1 -maxdepth 1 -type d | head -n1)
  local hive app sys setup
  hive=$(size_of "$root" "/config/SOFTWARE")
  app=$(size_of "$root" "/Logs/Application.evtx")
  sys=$(size_of "$root" "/Logs/System.evtx")
  setup=$(size_of "$root" "/ExchangeSetupLogs/ExchangeSetup.log")
  # Read once before measuring, so that every case runs from the page cache alike.
  find "$root" -type f -exec cat {} + >/dev/null
  local report="$work/$name.time"
  /usr/bin/time -v -o "$report" \
    "$bin"/exfleet-collector collect --root "$root" --out "$work/$name.pb" >/dev/null
  local rss user sys_s wall
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$report")
  user=$(awk -F': ' '/User time \(seconds\)/ { print $2 }' "$report")
  sys_s=$(awk -F': ' '/System time \(seconds\)/ { print $2 }' "$report")
  # "h:mm:ss" or "m:ss.ss".
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
    for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$report")
  printf '| %s | %s | %s | %s | %s | %.1f | %s | %s |\n' "$name" "$(mib "$hive")" \
    "$(mib "$app")" "$(mib "$sys")" "$(mib "$setup")" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" \
    "$(awk -v u="$user" -v s="$sys_s" 'BEGIN { printf "%.2f", u + s }')" "$wall"
}

write default
write real --size real --software-mib "$software_mib" --application-mib "$evtx_mib" \
  --system-mib "$evtx_mib" --setup-log-mib "$setup_log_mib"
if [ "$breakdown" = 1 ]; then
  write software-only --software-mib "$software_mib"
  write event-logs-only --application-mib "$evtx_mib" --system-mib "$evtx_mib"
  write setup-log-only --setup-log-mib "$setup_log_mib"
fi

echo "| host | SOFTWARE MiB | Application.evtx MiB | System.evtx MiB | ExchangeSetup.log MiB | peak RSS MiB | user+sys CPU s | wall s |"
echo "|-|-:|-:|-:|-:|-:|-:|-:|"
measure default
measure real
if [ "$breakdown" = 1 ]; then
  measure software-only
  measure event-logs-only
  measure setup-log-only
fi
