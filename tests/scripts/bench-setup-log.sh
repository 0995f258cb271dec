#!/usr/bin/env bash
# ExchangeSetup.log at grep's pace, in bounded memory: builds a 200 MB log (the largest shared
# log, KnownIssues/OrganizationPreparation/ExchangeSetup_AccessDenied.log, repeated until the file
# is 200 MB, as a long-lived server accumulates runs), then, with every file in the page cache:
#   - `grep -c '\[ERROR\]'` over it (the floor: one pass that only counts a marker), and the
#     release `exfleet-analyzer review` over it, alternated, RUNS times each (default 5): wall
#     time of each (median) and review's peak RSS;
#   - the release `exfleet-collector collect` over a triage copy holding only that log: peak RSS,
#     CPU and wall time.
#
#   tests/scripts/bench-setup-log.sh [MB]      (default 200)
#
# Needs GNU time (/usr/bin/time). Honours CARGO_TARGET_DIR. Numbers in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

mb=${1:-200}
runs=${RUNS:-5}
cargo build --locked --release -q -p exfleet-analyzer --bin exfleet-analyzer \
  -p exfleet-collector --bin exfleet-collector
bin=${CARGO_TARGET_DIR:-target}/release

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=tests/fixtures/css-exchange-setup-logs/KnownIssues/OrganizationPreparation/ExchangeSetup_AccessDenied.log
mkdir -p "$work/triage/ExchangeSetupLogs"
log=$work/triage/ExchangeSetupLogs/ExchangeSetup.log
while [ "$(stat -c %s "$log" 2>/dev/null || echo 0)" -lt $((mb * 1000000)) ]; do
  cat "$src" >>"$log"
done
cat "$log" >/dev/null
size=$(stat -c %s "$log")

# secs CMD...: wall seconds of one run. The output goes to a file, not /dev/null: GNU grep
# stops at the first match when its output is /dev/null.
secs() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >"$work/out"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$work/grep" ; : >"$work/review"
for _ in $(seq "$runs"); do
  secs grep -c '\[ERROR\]' "$log" >>"$work/grep"; echo >>"$work/grep"
  secs "$bin"/exfleet-analyzer review "$log" >>"$work/review"; echo >>"$work/review"
done
g=$(median <"$work/grep")
r=$(median <"$work/review")
/usr/bin/time -v -o "$work/review.time" "$bin"/exfleet-analyzer review "$log" >"$work/review.txt"
review_rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$work/review.time")
/usr/bin/time -v -o "$work/collect.time" \
  "$bin"/exfleet-collector collect --root "$work/triage" --out "$work/host.pb" >/dev/null 2>&1
collect_rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$work/collect.time")
collect_cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.2f", u + s }' "$work/collect.time")
collect_wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
  for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$work/collect.time")

echo "| log MB | grep -c s | review s | review / grep | review MB/s | review peak RSS MiB | collector peak RSS MiB | collector CPU s | collector wall s |"
echo "|-:|-:|-:|-:|-:|-:|-:|-:|-:|"
awk -v b="$size" -v g="$g" -v r="$r" -v rr="$review_rss" -v cr="$collect_rss" -v cc="$collect_cpu" -v cw="$collect_wall" \
  'BEGIN { printf "| %.1f | %.3f | %.3f | %.2f | %.0f | %s | %s | %s | %s |\n", b / 1e6, g, r, r / g, b / 1e6 / r, rr, cr, cc, cw }'
echo
echo "review's first lines:"
head -n 4 "$work/review.txt"
