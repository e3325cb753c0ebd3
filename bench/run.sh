#!/usr/bin/env bash
# Throughput of verified, durable ingest of signed Twilio status callbacks, as a ratio to an
# axum server that only reads the body (the ceiling on this machine), measured in one run with
# the method of ../shared/bench: wrk, 32 connections, alternating runs A B C A B C ...
#
# The third server of each round, bench/durable-floor, is that axum server made durable and
# nothing more: it appends the body to a journal file and answers once an fdatasync covering
# it returns (group commit). Its ratio is the most that any server acknowledging only durable
# deliveries reaches on this machine, whatever else it does.
#
#   bench/run.sh [ROUNDS] [SECONDS]     (defaults: 3 rounds of 8 s)
#
# Needs wrk (apt-get install wrk) and python3. Builds callgate and the baseline in release
# mode (the baseline outside the checkout). Each callgate run starts on a fresh store, so
# every request is a new delivery that is verified, parsed, folded and committed.
#
# BENCH_POSTGRES=postgres://USER@HOST:PORT measures callgate on PostgreSQL instead of the
# embedded store: each run gets a fresh database there (created and dropped with psql).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-8}
SHARED=${SHARED:-../shared/bench}
WORK=${BENCH_DIR:-/tmp/callgate-bench}
mkdir -p "$WORK"
TOKEN=bench-bootstrap-token
AUTH=bench-auth-token
PUBLIC=https://hooks.example.test

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --quiet
CARGO_TARGET_DIR="$WORK/target" cargo build --release --quiet --manifest-path "$SHARED/axum-baseline/Cargo.toml"
CARGO_TARGET_DIR="$WORK/target" cargo build --release --quiet --manifest-path bench/durable-floor/Cargo.toml

pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

"$WORK/target/release/axum-baseline" limit 18082 & pids+=($!)

BENCH_DB="callgate_bench_$$"
FLOOR_DB="callgate_floor_$$"
drop_bench_db() {
  if [ -n "${BENCH_POSTGRES:-}" ]; then
    psql "$BENCH_POSTGRES/postgres" -qc "DROP DATABASE IF EXISTS $BENCH_DB" >/dev/null 2>&1 || true
  fi
}
drop_floor_db() {
  if [ -n "${BENCH_POSTGRES:-}" ]; then
    psql "$BENCH_POSTGRES/postgres" -qc "DROP DATABASE IF EXISTS $FLOOR_DB" >/dev/null 2>&1 || true
  fi
}
trap 'cleanup; drop_bench_db; drop_floor_db' EXIT

# The durable floor keeps the bodies where callgate keeps its deliveries: a file beside it,
# or a database of the same PostgreSQL server.
FLOOR_TARGET="$WORK/durable-floor.journal"
if [ -n "${BENCH_POSTGRES:-}" ]; then
  psql "$BENCH_POSTGRES/postgres" -qc "CREATE DATABASE $FLOOR_DB"
  FLOOR_TARGET="$BENCH_POSTGRES/$FLOOR_DB"
fi
"$WORK/target/release/durable-floor" 18083 "$FLOOR_TARGET" > "$WORK/floor.out" & pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$WORK/floor.out" 2>/dev/null && break; sleep 0.1; done

start_callgate() {
  local data="$WORK/data-$1"
  rm -rf "$data"
  local store=()
  if [ -n "${BENCH_POSTGRES:-}" ]; then
    drop_bench_db
    psql "$BENCH_POSTGRES/postgres" -qc "CREATE DATABASE $BENCH_DB"
    store=(CALLGATE_DATABASE_URL="$BENCH_POSTGRES/$BENCH_DB" CALLGATE_MASTER_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=)
  fi
  env "${store[@]}" CALLGATE_LISTEN=127.0.0.1:18081 CALLGATE_DATA_DIR="$data" CALLGATE_PUBLIC_URL=$PUBLIC \
    CALLGATE_BOOTSTRAP_TOKEN=$TOKEN RUST_LOG=warn ./target/release/callgate serve > "$WORK/callgate.out" 2>"$WORK/callgate.err" &
  CG=$!
  pids+=($CG)
  for _ in $(seq 100); do grep -q "listening on" "$WORK/callgate.out" 2>/dev/null && break; sleep 0.1; done
  # The connection id is fixed per store by creating it first; requests are signed for it.
  CONN=$(curl -sf -X POST -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -d "{\"provider\":\"twilio\",\"name\":\"bench\",\"secrets\":{\"auth_token\":\"$AUTH\"}}" \
    http://127.0.0.1:18081/api/v1/connections | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
}

run_wrk() { # url path reqs -> "rps non2xx p99"
  REQS="$3" WRK_PATH="$2" wrk -t1 -c32 -d"${SECS}s" --latency -s "$SHARED/replay.lua" "$1" > "$WORK/wrk.out"
  local rps non p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out")
  non=$(awk '/Non-2xx/ {print $5}' "$WORK/wrk.out"); non=${non:-0}
  p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.out")
  echo "$rps $non $p99"
}

ratios=()
floors=()
for i in $(seq "$ROUNDS"); do
  start_callgate "$i"
  python3 "$SHARED/gen_twilio.py" 30000 "$PUBLIC/webhooks/twilio/$CONN" "$AUTH" > "$WORK/reqs.txt"
  read -r base_rps base_non base_p99 < <(run_wrk http://127.0.0.1:18082 "/webhooks/twilio/$CONN" "$WORK/reqs.txt")
  read -r floor_rps floor_non floor_p99 < <(run_wrk http://127.0.0.1:18083 "/webhooks/twilio/$CONN" "$WORK/reqs.txt")
  read -r cg_rps cg_non cg_p99 < <(run_wrk http://127.0.0.1:18081 "/webhooks/twilio/$CONN" "$WORK/reqs.txt")
  rss=$(awk '/VmHWM/ {print $2" "$3}' "/proc/$CG/status")
  stored=$(curl -sf -H "authorization: Bearer $TOKEN" "http://127.0.0.1:18081/api/v1/calls?limit=1" >/dev/null && echo ok)
  kill "$CG"; wait "$CG" 2>/dev/null || true
  ratio=$(python3 -c "print(f'{$cg_rps/$base_rps:.3f}')")
  floor=$(python3 -c "print(f'{$floor_rps/$base_rps:.3f}')")
  ratios+=("$ratio")
  floors+=("$floor")
  printf 'round %d: baseline %s req/s (non-2xx %s, p99 %s) | durable floor %s req/s (non-2xx %s, p99 %s) | callgate %s req/s (non-2xx %s, p99 %s, peak RSS %s) | ratios: floor %s, callgate %s\n' \
    "$i" "$base_rps" "$base_non" "$base_p99" "$floor_rps" "$floor_non" "$floor_p99" "$cg_rps" "$cg_non" "$cg_p99" "$rss" "$floor" "$ratio"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "median ratio durable floor/baseline: $(median "${floors[@]}")"
echo "median ratio callgate/baseline: $(median "${ratios[@]}")"
