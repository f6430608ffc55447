#!/usr/bin/env bash
# Build trigc with profile-guided optimisation (PGO): the build to deploy and the one
# BENCHMARKS.md measures. `cargo build --release` stays the plain build.
#
#   scripts/pgo-build.sh            -> target/pgo/trigc
#
# 1. an instrumented build runs a training replay: `trigc gen` events (another seed
#    and size than the benchmark's) through the rules/ examples, plus every run case
#    under tests/cases/run (so rejects, lateness and schedules are not cold);
# 2. llvm-profdata merges what it counted;
# 3. the release build is redone with that profile: the compiler lays out hot code
#    together and inlines and orders branches by what ran (about 15% fewer
#    instructions per event, and fewer instruction-cache misses).
# The output is checked against the plain build's on a stream neither was trained on.
#
# Needs the `llvm-tools` rustup component (installed when missing). `--target` is
# given explicitly so that RUSTFLAGS reach only trigc, not build scripts and proc
# macros. Takes about two plain release builds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/target/pgo
host=$(rustc -vV | sed -n 's/^host: //p')

profdata=$(find "$(rustc --print sysroot)" -name llvm-profdata -type f 2>/dev/null | head -1)
if [ -z "$profdata" ]; then
  rustup component add llvm-tools
  profdata=$(find "$(rustc --print sysroot)" -name llvm-profdata -type f | head -1)
fi

rm -rf "$work/profiles"
mkdir -p "$work/profiles"

echo "pgo: 1/3 instrumented build" >&2
RUSTFLAGS="-Cprofile-generate=$work/profiles" \
  cargo build --release --locked --quiet --bin trigc --target "$host" --target-dir "$work/instrumented"
trained=$work/instrumented/$host/release/trigc

echo "pgo: 2/3 training replay" >&2
"$trained" gen --events 300000 --customers 30000 --seed 7 --out "$work/train.ndjson"
"$trained" run rules/ --input "$work/train.ndjson" > /dev/null 2>&1
for case in tests/cases/run/*/; do
  args=()
  if [ -f "$case/args.txt" ]; then read -r -a args < "$case/args.txt" || true; fi
  "$trained" run "$case/rules.trig" --input "$case/events.ndjson" "${args[@]}" > /dev/null 2>&1 || true
done
"$profdata" merge -o "$work/trigc.profdata" "$work"/profiles/*.profraw

echo "pgo: 3/3 optimised build" >&2
RUSTFLAGS="-Cprofile-use=$work/trigc.profdata" \
  cargo build --release --locked --quiet --bin trigc --target "$host" --target-dir "$work/optimised"
cp "$work/optimised/$host/release/trigc" "$work/trigc"

# Same output as the plain build, on events neither build was trained on.
cargo build --release --locked --quiet --bin trigc --target-dir "$root/target"
"$work/trigc" gen --events 100000 --customers 10000 --seed 11 --out "$work/check.ndjson"
target/release/trigc run rules/ --input "$work/check.ndjson" --stats 2>/dev/null > "$work/plain.out"
"$work/trigc" run rules/ --input "$work/check.ndjson" --stats 2>/dev/null > "$work/pgo.out"
cmp "$work/plain.out" "$work/pgo.out"
echo "pgo: built $work/trigc (same output as target/release/trigc on $(wc -l < "$work/check.ndjson") events)" >&2
