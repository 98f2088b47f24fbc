#!/usr/bin/env bash
# REST throughput and instructions: the generated greeter's transcoded
# `GET /v1/hello/{name}` (release, APP_ENV=production: JSON access line, all middleware)
# against a bare axum route doing the same work and answering the same JSON
# (bench/bare-greeter's `bare-rest`), same run, server on core 0, load on core 1,
# HTTP/1.1 (h2load --h1). Then instructions per request under callgrind (the count that
# does not vary from run to run). Needs h2load (Debian: nghttp2-client), taskset, valgrind.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK:-$(mktemp -d)}
duration=${DURATION:-10}
rounds=${ROUNDS:-5}
requests=${REQUESTS:-20000}
port=50099
source "$repo/bench/common.sh"
(cd "$repo/bench/bare-greeter" && cargo build --release --quiet --features mimalloc --bin bare-rest &&
  cp "$CARGO_TARGET_DIR/release/bare-rest" "$CARGO_TARGET_DIR/release/bare-rest-mimalloc" &&
  cargo build --release --quiet --bin bare-rest)
bare_rest="$CARGO_TARGET_DIR/release/bare-rest"
bare_rest_mimalloc="$CARGO_TARGET_DIR/release/bare-rest-mimalloc"
rest=(APP__SERVER__HTTP_ADDR=127.0.0.1:$port APP__SERVER__GRPC_ADDR=127.0.0.1:0)
url="http://127.0.0.1:$port/v1/hello/world"
[ "$(curl -s "$url" || true)" = "" ] || { echo "port $port is taken" >&2; exit 1; }

load() { taskset -c 1 h2load --h1 -c 8 "$@" "$url" < /dev/null; }

run() { # name, then the server command
  local name=$1; shift
  (cd "$work/demo" && exec taskset -c 0 "$@" < /dev/null > /dev/null 2>&1) & local server=$!
  wait_for_port || { echo "$name: the server did not start" >&2; exit 1; }
  [ "$(curl -s "$url")" = '{"message":"Hello, world!"}' ] || { echo "$name: wrong answer" >&2; exit 1; }
  load -D 2 > /dev/null
  local rps
  rps=$(load -D "$duration" | awk '/^finished in/ {print $4}')
  kill "$server"; wait "$server" 2>/dev/null || true
  echo "$name $rps"
}

configs_rest=(
  "off APP__TRACING__ENABLED=false"
  "ratio_0.01 APP__TRACING__ENABLED=true APP__TRACING__SAMPLE_RATIO=0.01"
  "ratio_1.0 APP__TRACING__ENABLED=true APP__TRACING__SAMPLE_RATIO=1.0"
)
for round in $(seq "$rounds"); do
  run bare "$bare_rest" "127.0.0.1:$port"
  printf '%s\n' "bare_mimalloc" "${configs_rest[@]}" | shuf | while read -r name settings; do
    if [ "$name" = bare_mimalloc ]; then
      run bare_mimalloc "$bare_rest_mimalloc" "127.0.0.1:$port"
    else
      # shellcheck disable=SC2086
      run "$name" env "${common[@]}" "${rest[@]}" $settings "$demo"
    fi
  done
done | tee "$work/rest.txt"
echo
summarize "$work/rest.txt" "req/s"

count() { # name, then env settings and the server command
  local name=$1; shift
  local out="$work/callgrind.rest.$name"
  rm -f "$out".*
  (cd "$work/demo" && exec env "$@" > /dev/null 2>&1) & local server=$!
  wait_for_port || { echo "$name: the server did not start" >&2; exit 1; }
  h2load --h1 -c 8 -n 2000 "$url" > /dev/null
  local pid
  pid=$(pgrep -n -f "callgrind-out-file=$out")
  callgrind_control -z "$pid" > /dev/null
  h2load --h1 -c 8 -n "$requests" "$url" > /dev/null
  callgrind_control -d "$pid" > /dev/null
  kill "$server"; wait "$server" 2>/dev/null || true
  local total
  total=$(callgrind_annotate "$(ls -t "$out".*.* | head -1)" 2>/dev/null |
          awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  echo "$name $(( total / requests ))"
}
callgrind=(valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.rest.NAME.%p")
{
  count bare "${callgrind[@]/NAME/bare}" "$bare_rest" "127.0.0.1:$port"
  count bare_mimalloc "${callgrind[@]/NAME/bare_mimalloc}" "$bare_rest_mimalloc" "127.0.0.1:$port"
  for config in "${configs_rest[@]}"; do
    read -r name settings <<< "$config"
    # shellcheck disable=SC2086
    count "$name" "${common[@]}" "${rest[@]}" $settings "${callgrind[@]/NAME/$name}" "$demo"
  done
} | tee "$work/rest-instructions.txt"
echo
summarize "$work/rest-instructions.txt" "instructions/request"
