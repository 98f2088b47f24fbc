#!/usr/bin/env bash
# What svcgen-runtime's client stack costs per call: instructions of bench/client-cost's
# client (user space, callgrind) calling the bare tonic greeter through a bare tonic
# Channel, through the stack to one replica (without and with the B3 and W3C headers it
# writes into every call), and through the stack balancing over three replicas
# (127.0.0.1, .2, .3). Two runs of each (CALLS and 2 × CALLS calls after the
# same warm-up); the difference of their counts over the difference of their calls is
# the per-call cost, start-up excluded. Needs valgrind.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK:-$(mktemp -d)}
calls=${CALLS:-10000}
port=50097
export CARGO_TARGET_DIR="$work/target"
(cd "$repo/bench/bare-greeter" && cargo build --release --quiet)
(cd "$repo/bench/client-cost" && cargo build --release --quiet)
bare="$CARGO_TARGET_DIR/release/bare-greeter"
client="$CARGO_TARGET_DIR/release/client-cost"

servers=()
for host in 127.0.0.1 127.0.0.2 127.0.0.3; do
  "$bare" "$host:$port" > /dev/null 2>&1 & servers+=($!)
done
trap 'kill "${servers[@]}" 2>/dev/null || true' EXIT
sleep 1
one=(http://127.0.0.1:$port)
three=(http://127.0.0.1:$port http://127.0.0.2:$port http://127.0.0.3:$port)

instructions() { # calls, then the client's arguments
  local calls=$1; shift
  local out="$work/callgrind.client.$$"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$client" "$1" "$calls" "${@:2}" \
    > /dev/null 2>&1
  callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
  rm -f "$out"
}

per_call() { # name, then the client's arguments
  local name=$1; shift
  local small large
  small=$(instructions "$calls" "$@")
  large=$(instructions $(( 2 * calls )) "$@")
  echo "$name $(( (large - small) / calls ))"
}

{
  per_call bare bare "${one[@]}"
  per_call stack_one_replica_no_trace_headers stack-no-headers "${one[@]}"
  per_call stack_one_replica stack "${one[@]}"
  per_call stack_three_replicas stack "${three[@]}"
} | tee "$work/clients.txt"
