#!/usr/bin/env bash
# REST throughput and instructions: the generated greeter's transcoded
# `GET /v1/hello/{name}` (release, APP_ENV=production: JSON access line, all middleware)
# against the same answer from a hand-written axum route of the same service
# (`/bench/hello/{name}` in its `app::http_routes()`, behind the same middleware: the
# cost of transcoding alone) and from a bare axum route doing the same work
# (bench/bare-greeter's `bare-rest`: no middleware at all), same run, server on core 0,
# load on core 1, HTTP/1.1 (h2load --h1). Then instructions per request under callgrind
# (the count that does not vary from run to run). Needs h2load (Debian: nghttp2-client),
# taskset, valgrind.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK:-$(mktemp -d)}
duration=${DURATION:-10}
rounds=${ROUNDS:-5}
requests=${REQUESTS:-20000}
port=50099
source "$repo/bench/common.sh"
# The hand-written route: the same reply by axum's `Json`, served by the same stack.
sed -i 's/^axum = { version = "\([^"]*\)", default-features = false }$/axum = { version = "\1", default-features = false, features = ["json"] }/' \
  "$work/demo/Cargo.toml"
grep -q 'features = \["json"\]' "$work/demo/Cargo.toml" || { echo "axum's entry not found" >&2; exit 1; }
python3 - "$work/demo/src/app.rs" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
old = "pub fn http_routes() -> Router<Arc<AppState>> {\n    Router::new()\n}"
new = '''pub fn http_routes() -> Router<Arc<AppState>> {
    #[derive(Serialize)]
    struct HelloReply {
        message: String,
    }
    async fn say_hello(
        axum::extract::Path(name): axum::extract::Path<String>,
    ) -> axum::Json<HelloReply> {
        axum::Json(HelloReply {
            message: format!("Hello, {name}!"),
        })
    }
    Router::new().route("/bench/hello/{name}", axum::routing::get(say_hello))
}'''
assert old in text, "http_routes() as svcgen writes it"
open(path, "w").write(text.replace(old, new))
PY
(cd "$work/demo" && cargo build --release --quiet)
(cd "$repo/bench/bare-greeter" && cargo build --release --quiet --features mimalloc --bin bare-rest &&
  cp "$CARGO_TARGET_DIR/release/bare-rest" "$CARGO_TARGET_DIR/release/bare-rest-mimalloc" &&
  cargo build --release --quiet --bin bare-rest)
bare_rest="$CARGO_TARGET_DIR/release/bare-rest"
bare_rest_mimalloc="$CARGO_TARGET_DIR/release/bare-rest-mimalloc"
rest=(APP__SERVER__HTTP_ADDR=127.0.0.1:$port APP__SERVER__GRPC_ADDR=127.0.0.1:0)
base="http://127.0.0.1:$port"
transcoded="$base/v1/hello/world"
url=$transcoded
[ "$(curl -s "$url" || true)" = "" ] || { echo "port $port is taken" >&2; exit 1; }

load() { taskset -c 1 h2load --h1 -c 8 "$@" "$url" < /dev/null; }

run() { # name, path, then the server command
  local name=$1; url=$base$2; shift 2
  (cd "$work/demo" && exec taskset -c 0 "$@" < /dev/null > /dev/null 2>&1) & local server=$!
  wait_for_port || { echo "$name: the server did not start" >&2; exit 1; }
  [ "$(curl -s "$url")" = '{"message":"Hello, world!"}' ] || { echo "$name: wrong answer" >&2; exit 1; }
  load -D 2 > /dev/null
  local rps
  rps=$(quietly load -D "$duration" | awk '/^finished in/ {print $4}')
  kill "$server"; wait "$server" 2>/dev/null || true
  echo "$name $rps"
}

# name, path, settings: the transcoded route, and the hand-written one (`route_`).
configs_rest=(
  "off /v1/hello/world APP__TRACING__ENABLED=false"
  "ratio_0.01 /v1/hello/world APP__TRACING__ENABLED=true APP__TRACING__SAMPLE_RATIO=0.01"
  "ratio_1.0 /v1/hello/world APP__TRACING__ENABLED=true APP__TRACING__SAMPLE_RATIO=1.0"
  "route_0.01 /bench/hello/world APP__TRACING__ENABLED=true APP__TRACING__SAMPLE_RATIO=0.01"
)
for round in $(seq "$rounds"); do
  run bare /v1/hello/world "$bare_rest" "127.0.0.1:$port"
  printf '%s\n' "bare_mimalloc /v1/hello/world" "${configs_rest[@]}" | shuf |
      while read -r name path settings; do
    if [ "$name" = bare_mimalloc ]; then
      run bare_mimalloc "$path" "$bare_rest_mimalloc" "127.0.0.1:$port"
    else
      # shellcheck disable=SC2086
      run "$name" "$path" env "${common[@]}" "${rest[@]}" $settings "$demo"
    fi
  done
done | tee "$work/rest.txt"
echo
# Transcoding alone: the transcoded route against the hand-written one, both at 0.01.
summarize "$work/rest.txt" "req/s" ratio_0.01/route_0.01

count() { # name, path, then env settings and the server command
  local name=$1; url=$base$2; shift 2
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
  count bare /v1/hello/world "${callgrind[@]/NAME/bare}" "$bare_rest" "127.0.0.1:$port"
  count bare_mimalloc /v1/hello/world "${callgrind[@]/NAME/bare_mimalloc}" "$bare_rest_mimalloc" \
    "127.0.0.1:$port"
  for config in "${configs_rest[@]}"; do
    read -r name path settings <<< "$config"
    # shellcheck disable=SC2086
    count "$name" "$path" "${common[@]}" "${rest[@]}" $settings "${callgrind[@]/NAME/$name}" \
      "$demo"
  done
} | tee "$work/rest-instructions.txt"
echo
summarize "$work/rest-instructions.txt" "instructions/request" ratio_0.01/route_0.01
