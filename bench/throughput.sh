#!/usr/bin/env bash
# Unary SayHello throughput of the generated greeter (release, APP_ENV=production: JSON
# access logs, all middleware on) with tracing off, at 0.01 and at 1.0 sampling, against
# a bare tonic greeter (bench/bare-greeter), in the same run with the same load tool.
# `no_access_log` is tracing off at log level warn: the middleware without its log line.
# The server gets core 0, h2load and a fake Zipkin collector core 1. Needs h2load
# (Debian: nghttp2-client) and taskset.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK:-$(mktemp -d)}
duration=${DURATION:-10}
rounds=${ROUNDS:-3}
port=50099
cd "$repo" && cargo build --release --quiet
export CARGO_TARGET_DIR="$work/target"
rm -rf "$work/demo" && (cd "$work" && "$repo/target/release/svcgen" new demo > /dev/null)
# The same handler body as the bare greeter (the generated example also opens a child
# span and logs a line, which is the application's work, not the framework's).
cat > "$work/demo/src/handlers/greeter/say_hello.rs" <<'RS'
//! `greeter.v1.Greeter/SayHello`, exactly as bench/bare-greeter answers it.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::app::AppState;
use crate::proto::greeter::v1::{HelloReply, HelloRequest};

/// Handles `SayHello`.
pub async fn say_hello(
    _state: Arc<AppState>,
    request: Request<HelloRequest>,
) -> Result<Response<HelloReply>, Status> {
    let name = request.into_inner().name;
    Ok(Response::new(HelloReply {
        message: format!("Hello, {name}!"),
    }))
}
RS
(cd "$work/demo" && cargo build --release --quiet)
(cd "$repo/bench/bare-greeter" && cargo build --release --quiet)

# A Zipkin collector that accepts every batch.
python3 - "$work/collector.py" <<'PY'
import sys
open(sys.argv[1], "w").write('''
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(202); self.end_headers()
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", 9411), H).serve_forever()
''')
PY
taskset -c 1 python3 "$work/collector.py" & collector=$!
trap 'kill $collector 2>/dev/null || true' EXIT

# SayHello(name: "world") in gRPC framing.
printf '\x00\x00\x00\x00\x07\x0a\x05world' > "$work/hello.bin"

run() { # name, then the server command
  local name=$1; shift
  (cd "$work/demo" && exec taskset -c 0 "$@" > /dev/null 2>&1) & local server=$!
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  kill -0 "$server" 2>/dev/null || { echo "$name: the server did not start" >&2; exit 1; }
  local h2="taskset -c 1 h2load -c 8 -m 16 -d $work/hello.bin -H content-type:application/grpc -H te:trailers http://127.0.0.1:$port/greeter.v1.Greeter/SayHello"
  $h2 -D 2 > /dev/null
  local rps
  rps=$($h2 -D "$duration" | awk '/^finished in/ {print $4}')
  kill "$server"; wait "$server" 2>/dev/null || true
  echo "$name $rps"
}

demo="$CARGO_TARGET_DIR/release/demo"
common=(env APP_ENV=production APP__SERVER__GRPC_ADDR=127.0.0.1:$port APP__SERVER__HTTP_ADDR=127.0.0.1:0
        APP__TRACING__ZIPKIN_ENDPOINT=http://127.0.0.1:9411/api/v2/spans)
for round in $(seq "$rounds"); do
  run bare "$CARGO_TARGET_DIR/release/bare-greeter" "127.0.0.1:$port"
  run no_access_log "${common[@]}" APP__TRACING__ENABLED=false APP__LOG__LEVEL=warn "$demo"
  run off "${common[@]}" APP__TRACING__ENABLED=false "$demo"
  run ratio_0.01 "${common[@]}" APP__TRACING__ENABLED=true APP__TRACING__SAMPLE_RATIO=0.01 "$demo"
  run ratio_1.0 "${common[@]}" APP__TRACING__ENABLED=true APP__TRACING__SAMPLE_RATIO=1.0 "$demo"
done | tee "$work/results.txt"
echo
python3 - "$work/results.txt" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, rps = line.split()
    runs.setdefault(name, []).append(float(rps))
bare = statistics.median(runs["bare"])
for name, values in runs.items():
    median = statistics.median(values)
    print(f"{name:<14} median {median:9.0f} req/s  {median / bare:.3f}x bare  (runs: {', '.join(f'{v:.0f}' for v in values)})")
PY
