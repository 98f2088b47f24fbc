#!/usr/bin/env bash
# Measures `svcgen new` and `svcgen add-rpc` on a service with 200 rpcs and 400 messages
# (release build of svcgen), and the cold and incremental `cargo build` of the generated
# project around the add-rpc. Results go to stdout; BENCHMARKS.md records them.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK:-$(mktemp -d)}
runs=${RUNS:-10}
# SVCGEN=<binary> times another svcgen build (e.g. an older one) instead of this checkout's.
if [ -n "${SVCGEN:-}" ]; then svcgen=$SVCGEN; else
  (cd "$repo" && cargo build --release --quiet); svcgen="$repo/target/release/svcgen"; fi

mkdir -p "$work/api/big/v1"
{
  printf 'syntax = "proto3";\n\npackage big.v1;\n\nservice Big {\n'
  for i in $(seq 1 200); do printf '  rpc Call%03d(Call%03dRequest) returns (Call%03dResponse);\n' "$i" "$i" "$i"; done
  printf '}\n'
  for i in $(seq 1 200); do printf '\nmessage Call%03dRequest {\n  string id = 1;\n}\n\nmessage Call%03dResponse {\n  string id = 1;\n}\n' "$i" "$i"; done
} > "$work/api/big/v1/big.proto"
median() { sort -n | awk '{a[NR]=$1} END {printf "  min %d  median %d  max %d\n", a[1], a[int((NR+1)/2)], a[NR]}'; }

echo "new on a 200-rpc service, $runs runs (ms):"
times=()
for run in $(seq 1 "$runs"); do
  rm -rf "$work/big"
  start=$(date +%s%N)
  (cd "$work" && "$svcgen" new big --proto api/big/v1/big.proto --include api > /dev/null)
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000000 )))
done
printf '%s\n' "${times[@]}" | median
rm -rf "$work/pristine"
cp -r "$work/big" "$work/pristine"

echo "add-rpc on a 200-rpc service, $runs runs (ms):"
times=()
for run in $(seq 1 "$runs"); do
  rm -rf "$work/big" && cp -r "$work/pristine" "$work/big"
  start=$(date +%s%N)
  "$svcgen" add-rpc Big.Extra --project "$work/big" > /dev/null
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000000 )))
done
printf '%s\n' "${times[@]}" | median

export CARGO_TARGET_DIR="$work/target"
rm -rf "$work/big" && cp -r "$work/pristine" "$work/big"
cd "$work/big"
start=$(date +%s%N); cargo build --quiet; end=$(date +%s%N)
echo "cold cargo build of the 200-rpc project: $(( (end - start) / 1000000 )) ms"
"$svcgen" add-rpc Big.Extra > /dev/null
start=$(date +%s%N); cargo build --quiet; end=$(date +%s%N)
echo "incremental cargo build after add-rpc: $(( (end - start) / 1000000 )) ms"
