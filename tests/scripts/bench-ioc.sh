#!/usr/bin/env bash
# The indicator scan of the HttpProxy logs beside ripgrep, on a generated set (default 2000 MB,
# written under /tmp, never committed: exfleet-gen-httpproxy, the simulator's format, one
# CVE-2021-26855 match per 10 MB file and a near miss every 50 lines), with every file in the
# page cache, alternated RUNS times each (default 3), median wall time:
#   - ripgrep doing what the scan does, over the same files: every pattern of the HttpProxy
#     scan (the pre-filter literal, CVE-2021-26855's expression and its two exclusions,
#     CVE-2021-27065 (a)'s expression; the scan anchors them on the AnchorMailbox column, rg on
#     the line), case ignored, each matching line printed with its number (-n) to /dev/null;
#     on both cores (-j2) and on one (-j1);
#   - the release `exfleet-collector collect` over the triage root holding only those logs
#     (every reader runs; the others find nothing; the HttpProxy files shared out between as
#     many threads as there are cores, at most 4): wall time, MB/s, and peak RSS
#     (/usr/bin/time -v).
# Records the load average before and after the runs. Checks that the collector found every
# planted match.
#
#   tests/scripts/bench-ioc.sh [MB]      (default 2000)
#
# Needs ripgrep (apt-get install -y ripgrep) and GNU time. Honours CARGO_TARGET_DIR. Numbers in
# BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v rg >/dev/null || { echo "bench-ioc.sh needs ripgrep (apt-get install -y ripgrep)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-ioc.sh needs GNU time (/usr/bin/time)" >&2; exit 1; }

mb=${1:-2000}
runs=${RUNS:-3}
cargo build --locked --release -q -p exfleet-collector --bin exfleet-collector \
  -p exfleet-tests --bin exfleet-gen-httpproxy
bin=${CARGO_TARGET_DIR:-target}/release

work=$(mktemp -d /tmp/exfleet-bench-ioc.XXXXXX)
trap 'rm -rf "$work"' EXIT
planted=$("$bin"/exfleet-gen-httpproxy "$work/triage" "$mb")
logs="$work/triage/Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy"
size=$(du -sb "$logs" | cut -f1)
files=$(find "$logs" -type f | wc -l)
find "$logs" -type f -exec cat {} + >/dev/null

# The wall time of a command; a failure ends the bench (a failed run is no time).
secs() {
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  "$@" >"$work/out" 2>"$work/err" || rc=$?
  t1=$(date +%s.%N)
  if [ "$rc" -ne 0 ]; then
    echo "failed (exit $rc): $*" >&2
    cat "$work/err" >&2
    exit 1
  fi
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$work/rg2"; : >"$work/rg1"; : >"$work/col"
# The HttpProxy scan's patterns (collector/src/readers/ioc/http_proxy.rs), unanchored.
patterns=(-e 'ServerInfo~' -e 'ServerInfo~.*/' -e 'ServerInfo~.*/autodiscover'
  -e 'ServerInfo~localhost.*/' -e 'ServerInfo~.*/.*Reset.*VirtualDirectory#')
# rg exits 0 with matches, 1 without, 2 on an error: only 2 fails.
rg_scan() {
  local rc=0
  rg -i -n "$1" "${patterns[@]}" "$logs" >/dev/null || rc=$?
  [ "$rc" -le 1 ] || return "$rc"
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for _ in $(seq "$runs"); do
  secs rg_scan -j2 >>"$work/rg2"; echo >>"$work/rg2"
  secs rg_scan -j1 >>"$work/rg1"; echo >>"$work/rg1"
  secs "$bin"/exfleet-collector collect --root "$work/triage" --out "$work/host.json" --allow-empty \
    >>"$work/col"; echo >>"$work/col"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
rg2=$(median <"$work/rg2"); rg1=$(median <"$work/rg1"); col=$(median <"$work/col")
/usr/bin/time -v -o "$work/collect.time" \
  "$bin"/exfleet-collector collect --root "$work/triage" --out "$work/host.json" --allow-empty >/dev/null 2>&1
rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$work/collect.time")
found=$(python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(sum(1 for m in s.get('ioc_matches',[]) if m['indicator']=='cve_2021_26855'))" "$work/host.json")
overflow=$(python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(sum(c.get('overflow',0) for c in s.get('ioc_scans',[]) if c['indicator']=='cve_2021_26855'))" "$work/host.json")
mbs() { awk -v b="$size" -v s="$1" 'BEGIN { printf "%.0f", b / 1e6 / s }'; }
ratio() { awk -v a="$col" -v b="$1" 'BEGIN { printf "%.2f", a / b }'; }
echo "HttpProxy logs: $((size / 1000000)) MB in $files files, $planted CVE-2021-26855 matches planted"
echo "load average before: $load_before   after: $load_after"
echo "rg -i -n -j2 (5 patterns)    ${rg2} s  $(mbs "$rg2") MB/s"
echo "rg -i -n -j1 (5 patterns)    ${rg1} s  $(mbs "$rg1") MB/s"
echo "exfleet-collector collect    ${col} s  $(mbs "$col") MB/s  peak RSS ${rss} MiB"
echo "collector / rg -j2: $(ratio "$rg2")x   collector / rg -j1: $(ratio "$rg1")x"
echo "matches shipped: $found (+ $overflow counted beyond the bound of 1000), planted: $planted"
if [ "$((found + overflow))" -ne "$planted" ]; then
  echo "the collector did not find every planted match" >&2
  exit 1
fi
