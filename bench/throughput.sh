#!/usr/bin/env bash
# Unary SayHello throughput of the generated greeter (release, APP_ENV=production: JSON
# access logs, all middleware on) with tracing off, at 0.01 and at 1.0 sampling, against
# a bare tonic greeter (bench/bare-greeter), in the same run with the same load tool.
# The server gets core 0, h2load and a fake Zipkin collector core 1. Needs h2load
# (Debian: nghttp2-client) and taskset. Throughput on a shared virtual machine varies
# by ±10–30% between runs: take the medians of several rounds, and see instructions.sh
# for a measure that does not vary.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK:-$(mktemp -d)}
duration=${DURATION:-10}
rounds=${ROUNDS:-5}
port=50099
source "$repo/bench/common.sh"

run() { # name, then the server command
  local name=$1; shift
  (cd "$work/demo" && exec taskset -c 0 "$@" < /dev/null > /dev/null 2>&1) & local server=$!
  wait_for_port || { echo "$name: the server did not start" >&2; exit 1; }
  taskset -c 1 h2load -c 8 -m 16 -D 2 "${h2load_args[@]}" < /dev/null > /dev/null
  local rps
  rps=$(quietly taskset -c 1 h2load -c 8 -m 16 -D "$duration" "${h2load_args[@]}" < /dev/null | awk '/^finished in/ {print $4}')
  kill "$server"; wait "$server" 2>/dev/null || true
  echo "$name $rps"
}

# Each round starts with bare (the round's reference) and runs the others in a random
# order, so that no configuration always runs at the same point of a round.
for round in $(seq "$rounds"); do
  run bare "$bare" "127.0.0.1:$port"
  printf '%s\n' "bare_mimalloc" "${configs[@]}" | shuf | while read -r name settings; do
    if [ "$name" = bare_mimalloc ]; then
      run bare_mimalloc "$bare_mimalloc" "127.0.0.1:$port"
    else
      # shellcheck disable=SC2086
      run "$name" env "${common[@]}" $settings "$demo"
    fi
  done
done | tee "$work/results.txt"
echo
summarize "$work/results.txt" "req/s"
