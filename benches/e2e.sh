#!/usr/bin/env bash
# End-to-end figures of `trigc run` for BENCHMARKS.md: throughput on one core over
# the rules/ examples, and runtime memory per customer with a pending timer.
# Usage: benches/e2e.sh [RUNS]   (default 5; medians are printed)
#
# Throughput is measured for the plain `cargo build --release` binary and for the
# PGO build of scripts/pgo-build.sh, alternating runs so that both see the same
# moments of a shared machine. `E2E_NO_PGO=1` skips the PGO build.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release --quiet --target-dir target
bin=target/release/trigc
bins=("$bin")
if [ -z "${E2E_NO_PGO:-}" ]; then
  scripts/pgo-build.sh
  bins+=(target/pgo/trigc)
fi
tmp=${TMPDIR:-/tmp}/trigc-e2e
mkdir -p "$tmp"

median() { sort -n | awk '{a[NR]=$1} END {m=int((NR+1)/2); print a[m]}'; }

# 1. Throughput: 1M generated events, 100k customers, every example rule. The rate
#    is trigc's own (events over the time from the first line to the last record).
events=$tmp/1m.ndjson
[ -s "$events" ] || $bin gen --events 1000000 --customers 100000 --seed 1 --out "$events"
for b in "${bins[@]}"; do : > "$tmp/run.$(basename "$(dirname "$b")").txt"; done
for _ in $(seq "$runs"); do
  for b in "${bins[@]}"; do
    log=$tmp/run.$(basename "$(dirname "$b")").txt
    rate=$( { /usr/bin/time -f "TIME %U %e %M" $b run rules/ --engine interp --input "$events" --stats > "$tmp/out.ndjson"; } 2>&1 |
      sed -n 's/.*"events_per_sec":\([0-9]*\).*/\1/p; s/^TIME //p' | tr '\n' ' ')
    echo "$rate" >> "$log"
  done
done
for b in "${bins[@]}"; do
  log=$tmp/run.$(basename "$(dirname "$b")").txt
  rate=$(cut -d' ' -f1 "$log" | median)
  user=$(cut -d' ' -f2 "$log" | median)
  wall=$(cut -d' ' -f3 "$log" | median)
  rss=$(cut -d' ' -f4 "$log" | median)
  echo "$b: run rules/ on 1M events: median ${rate} events/s (trigc's rate; all: $(cut -d' ' -f1 "$log" | sort -n | tr '\n' ' ')), user ${user}s, wall ${wall}s, peak RSS ${rss} KB, $(wc -l < "$tmp/out.ndjson") actions"
done

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
