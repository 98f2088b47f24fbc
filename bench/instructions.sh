#!/usr/bin/env bash
# Instructions per unary SayHello request, user space, counted by valgrind's callgrind:
# the same configurations as throughput.sh, but a count that is the same from run to run
# whatever else the machine does (it leaves out the kernel's share: sockets, scheduling).
# Each server is warmed up with 2000 requests, then counted over REQUESTS more.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK:-$(mktemp -d)}
requests=${REQUESTS:-20000}
port=50099
source "$repo/bench/common.sh"

count() { # name, then env settings and the server command
  local name=$1; shift
  local out="$work/callgrind.$name"
  rm -f "$out".*
  (cd "$work/demo" && exec env "$@" > /dev/null 2>&1) & local server=$!
  wait_for_port || { echo "$name: the server did not start" >&2; exit 1; }
  h2load -c 8 -m 16 -n 2000 "${h2load_args[@]}" > /dev/null
  local pid
  pid=$(pgrep -n -f "callgrind-out-file=$out")
  callgrind_control -z "$pid" > /dev/null
  h2load -c 8 -m 16 -n "$requests" "${h2load_args[@]}" > /dev/null
  callgrind_control -d "$pid" > /dev/null
  kill "$server"; wait "$server" 2>/dev/null || true
  local total
  total=$(callgrind_annotate "$(ls -t "$out".*.* | head -1)" 2>/dev/null |
          awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  echo "$name $(( total / requests ))"
}

callgrind=(valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.NAME.%p")
{
  count bare "${callgrind[@]/NAME/bare}" "$bare" "127.0.0.1:$port"
  count bare_mimalloc "${callgrind[@]/NAME/bare_mimalloc}" "$bare_mimalloc" "127.0.0.1:$port"
  for config in "${configs[@]}"; do
    read -r name settings <<< "$config"
    # shellcheck disable=SC2086
    count "$name" "${common[@]}" $settings "${callgrind[@]/NAME/$name}" "$demo"
  done
} | tee "$work/instructions.txt"
echo
summarize "$work/instructions.txt" "instructions/request"
