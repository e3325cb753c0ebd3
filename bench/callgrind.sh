#!/usr/bin/env bash
# Instructions per request on the ingest path, by function: callgate (release) under
# valgrind's callgrind, fed signed Twilio status callbacks by wrk for a fixed time. Counts are
# instructions, not seconds, so they repeat whatever else the machine is doing: use them to
# compare two builds, and bench/run.sh for throughput.
#
#   bench/callgrind.sh [SECONDS]        (default 25)
#
# Prints the request count and the heaviest functions (inclusive), each also per request.
# Needs valgrind, wrk and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-25}
SHARED=${SHARED:-../shared/bench}
WORK=${BENCH_DIR:-/tmp/callgate-bench}
PORT=18093
mkdir -p "$WORK"
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install -y valgrind" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --quiet

rm -rf "$WORK/cg-data" "$WORK/callgrind.out"
CALLGATE_LISTEN=127.0.0.1:$PORT CALLGATE_DATA_DIR="$WORK/cg-data" CALLGATE_PUBLIC_URL=https://hooks.example.test \
  CALLGATE_BOOTSTRAP_TOKEN=bench RUST_LOG=warn \
  valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" ./target/release/callgate serve \
  > "$WORK/cg.out" 2> "$WORK/cg.err" &
CG=$!
trap 'kill $CG 2>/dev/null || true' EXIT
for _ in $(seq 300); do grep -q "listening on" "$WORK/cg.out" 2>/dev/null && break; sleep 0.2; done
CONN=$(curl -sf -X POST -H "authorization: Bearer bench" -H 'content-type: application/json' \
  -d '{"provider":"twilio","name":"bench","secrets":{"auth_token":"bench-auth-token"}}' \
  http://127.0.0.1:$PORT/api/v1/connections | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
python3 "$SHARED/gen_twilio.py" 30000 "https://hooks.example.test/webhooks/twilio/$CONN" bench-auth-token > "$WORK/cg-reqs.txt"
REQS="$WORK/cg-reqs.txt" WRK_PATH="/webhooks/twilio/$CONN" wrk -t1 -c8 -d"${SECS}s" -s "$SHARED/replay.lua" \
  "http://127.0.0.1:$PORT" > "$WORK/cg-wrk.out"
N=$(awk '/requests in/ {print $1}' "$WORK/cg-wrk.out")
kill -TERM $CG; wait $CG 2>/dev/null || true
echo "requests: $N"
callgrind_annotate --inclusive=yes "$WORK/callgrind.out" 2>/dev/null \
  | grep -E 'webhooks::receive::\{\{closure\}\}::\{\{closure\}\} |Adapter>::verify |Adapter>::parse |Form::parse |store::ingest::ingest_batch |calls::get_or_create_many |calls::write_many |calls::after_write |Batcher::store_deliveries |Batcher::finish |Digest>::update |PROGRAM TOTALS' \
  | awk -v n="$N" '{name = $0; sub(/^ *[0-9,]+ \([^)]*\) +/, "", name); sub(/ \[.*\]$/, "", name);
           gsub(",", "", $1); printf "%8.0f Ir/request  %s\n", $1 / n, name}'
