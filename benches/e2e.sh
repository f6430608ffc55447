#!/usr/bin/env bash
# End-to-end figures of `trigc run` for BENCHMARKS.md: throughput on one core over
# the rules/ examples, and runtime memory per customer with a pending timer.
# Usage: benches/e2e.sh [RUNS]   (default 5; medians are printed)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release --quiet
bin=target/release/trigc
tmp=${TMPDIR:-/tmp}/trigc-e2e
mkdir -p "$tmp"

median() { sort -n | awk '{a[NR]=$1} END {m=int((NR+1)/2); print a[m]}'; }

# 1. Throughput: 1M generated events, 100k customers, every example rule.
events=$tmp/1m.ndjson
[ -s "$events" ] || $bin gen --events 1000000 --customers 100000 --seed 1 --out "$events"
: > "$tmp/run.txt"
for _ in $(seq "$runs"); do
  /usr/bin/time -f "%U %e %M" -a -o "$tmp/run.txt" $bin run rules/ --input "$events" > "$tmp/out.ndjson" 2>/dev/null
done
user=$(cut -d' ' -f1 "$tmp/run.txt" | median)
wall=$(cut -d' ' -f2 "$tmp/run.txt" | median)
rss=$(cut -d' ' -f3 "$tmp/run.txt" | median)
echo "run rules/ on 1M events: median user ${user}s (= $(awk "BEGIN{printf \"%.0f\", 1000000/$user}") events/s on one core), wall ${wall}s, peak RSS ${rss} KB, $(wc -l < "$tmp/out.ndjson") actions"

# 2. Memory per customer with one pending timer: N customers each with one VISIT
#    and a 30-day timer; the RSS difference between N=101000 and N=1000.
cat > "$tmp/pending.trig" <<'TRIG'
event VISIT { page: string? }
trigger we_miss_you
  cooldown 30d
  on VISIT
  wait 30d
  then email "we-miss-you"
TRIG
visits() { awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "{\"type\":\"VISIT\",\"user\":\"c%07d\",\"ts\":%d}\n", i, 1767225600000 + i }'; }
visits 1000 > "$tmp/v1k.ndjson"
visits 101000 > "$tmp/v101k.ndjson"
: > "$tmp/mem.txt"
for _ in $(seq "$runs"); do
  small=$(/usr/bin/time -f "%M" $bin run "$tmp/pending.trig" --input "$tmp/v1k.ndjson" 2>&1 >/dev/null | tail -1)
  large=$(/usr/bin/time -f "%M" $bin run "$tmp/pending.trig" --input "$tmp/v101k.ndjson" 2>&1 >/dev/null | tail -1)
  echo $(( (large - small) * 1024 / 100000 )) >> "$tmp/mem.txt"
done
echo "runtime memory per customer with a pending timer: median $(median < "$tmp/mem.txt") bytes (peak RSS difference, 101k vs 1k customers)"
