# Shared by throughput.sh and instructions.sh: builds the generated greeter (release,
# with the bare greeter's SayHello body) and the bare tonic greeter, starts a fake Zipkin
# collector that accepts every batch, and names the configurations compared.
# Needs: repo, work, port. SVCGEN=<binary> generates the greeter with another svcgen build
# (e.g. an older one, for a before/after comparison) instead of this checkout's.

if [ -n "${SVCGEN:-}" ]; then svcgen=$SVCGEN; else
  (cd "$repo" && cargo build --release --quiet); svcgen="$repo/target/release/svcgen"; fi
export CARGO_TARGET_DIR="$work/target"
rm -rf "$work/demo" && (cd "$work" && "$svcgen" new demo > /dev/null)
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
# The bare greeter twice: with the system allocator (the baseline), and with mimalloc
# like a generated service (to tell the middleware's cost from the allocator's gain).
(cd "$repo/bench/bare-greeter" && cargo build --release --quiet --features mimalloc &&
  cp "$CARGO_TARGET_DIR/release/bare-greeter" "$CARGO_TARGET_DIR/release/bare-greeter-mimalloc" &&
  cargo build --release --quiet)

# A Zipkin collector that accepts every batch.
cat > "$work/collector.py" <<'PY'
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(202); self.end_headers()
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", 9411), H).serve_forever()
PY
taskset -c 1 python3 "$work/collector.py" & collector=$!
trap 'kill $collector 2>/dev/null || true' EXIT

# SayHello(name: "world") in gRPC framing.
printf '\x00\x00\x00\x00\x07\x0a\x05world' > "$work/hello.bin"
h2load_args=(-d "$work/hello.bin" -H content-type:application/grpc -H te:trailers
             "http://127.0.0.1:$port/greeter.v1.Greeter/SayHello")

wait_for_port() {
  for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# name, then the environment of the generated greeter (APP_ENV=production: JSON access
# line per request, all middleware on). `no_access_log` is tracing off at log level
# warn: the middleware without its log line.
demo="$CARGO_TARGET_DIR/release/demo"
bare="$CARGO_TARGET_DIR/release/bare-greeter"
bare_mimalloc="$CARGO_TARGET_DIR/release/bare-greeter-mimalloc"
common=(APP_ENV=production APP__SERVER__GRPC_ADDR=127.0.0.1:$port APP__SERVER__HTTP_ADDR=127.0.0.1:0
        APP__TRACING__ZIPKIN_ENDPOINT=http://127.0.0.1:9411/api/v2/spans)
configs=(
  "no_access_log APP__TRACING__ENABLED=false APP__LOG__LEVEL=warn"
  "off APP__TRACING__ENABLED=false"
  "ratio_0.01 APP__TRACING__ENABLED=true APP__TRACING__SAMPLE_RATIO=0.01"
  "ratio_1.0 APP__TRACING__ENABLED=true APP__TRACING__SAMPLE_RATIO=1.0"
)

# This machine is a VM whose host takes its cores now and then (the `st` of vmstat, up
# to 45% at times): a run during which it took them measures the host, not the server.
# `quietly <command>` runs a measuring command until the host took under 3% of the
# cores' time during it (at most 5 tries; the last stands), and prints its output.
steal_and_total() { awk '/^cpu / {total = 0; for (i = 2; i <= NF; i++) total += $i; print $9, total}' /proc/stat; }
quietly() {
  local try output before after
  for try in 1 2 3 4 5; do
    before=$(steal_and_total)
    output=$("$@")
    after=$(steal_and_total)
    if awk -v b="$before" -v a="$after" 'BEGIN {split(b, x, " "); split(a, y, " ");
        exit !((y[1] - x[1]) * 100 <= 3 * (y[2] - x[2]))}'; then break; fi
    echo "the host took the cores during a run (try $try): measured again" >&2
  done
  printf '%s\n' "$output"
}

# Medians per name of "name value" lines in $1, and their ratio to `bare`. For
# throughput, also the median of each round's own ratio to that round's bare run: the
# machine's speed drifts over minutes, and a ratio within a round cancels the drift.
# Each further argument `a/b` also compares the runs named a with those named b.
summarize() {
  python3 - "$@" <<'PY'
import statistics, sys
runs, rounds = {}, []
for line in open(sys.argv[1]):
    name, value = line.split()
    runs.setdefault(name, []).append(float(value))
    if name == "bare":
        rounds.append({})
    if rounds:
        rounds[-1][name] = float(value)
bare = statistics.median(runs["bare"])
unit = sys.argv[2]
# Interference from other machines only ever slows a run down: the best run of each is
# the other estimate worth reading for throughput.
best = max(runs["bare"]) if unit == "req/s" else None
for name, values in runs.items():
    median = statistics.median(values)
    line = f"{name:<14} median {median:9.0f} {unit}  {median / bare:.3f}x bare"
    if best:
        line += f"  best {max(values):9.0f}  {max(values) / best:.3f}x"
        paired = [r[name] / r["bare"] for r in rounds if name in r]
        line += f"  paired {statistics.median(paired):.3f}x"
    if "bare_mimalloc" in runs:
        # Like with like: the middleware's own cost, both on mimalloc.
        line += f"  {median / statistics.median(runs['bare_mimalloc']):.3f}x bare_mimalloc"
    print(f"{line}  (runs: {', '.join(f'{v:.0f}' for v in values)})")
for pair in sys.argv[3:]:
    a, b = pair.split("/")
    line = f"{a} / {b}: {statistics.median(runs[a]) / statistics.median(runs[b]):.3f}x by the medians"
    paired = [r[a] / r[b] for r in rounds if a in r and b in r]
    if paired:
        line += f", {statistics.median(paired):.3f}x paired ({', '.join(f'{p:.2f}' for p in paired)})"
    print(line)
PY
}
