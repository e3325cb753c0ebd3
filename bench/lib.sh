# Shared by bench/run.sh, bench/cpu.sh and bench/callgrind.sh (sourced, from the repository
# root): building the three servers, starting them, and measuring one wrk run against one.
#
#   the ceiling       ../shared/bench/axum-baseline: reads the body, answers 200
#   the durable floor bench/durable-floor: the same, once the body is durable
#   callgate          verified, parsed, folded and committed before answering
#
# BENCH_POSTGRES=postgres://USER@HOST:PORT puts callgate's store, and the floor's bodies, on
# that PostgreSQL server (a database each, created here and dropped on exit).
# CALLGATE_RUNNER (words put before callgate's command, such as valgrind's) and
# CALLGATE_START_SECS (how long it may take to listen, default 10) change how it is started;
# CONNECTIONS (default 32) is wrk's connection count. BENCH_DIR (default /tmp/callgate-bench)
# and CALLGATE_PORT, CEILING_PORT, FLOOR_PORT (18081-18083) let two benches run side by side.
# CALLGATE_BIN runs that callgate binary instead of building this checkout's (to compare two
# builds: copy one aside, then run the other).

SHARED=${SHARED:-../shared/bench}
WORK=${BENCH_DIR:-/tmp/callgate-bench}
SECS=${SECS:-8}
CONNECTIONS=${CONNECTIONS:-32}
TOKEN=bench-bootstrap-token
AUTH=bench-auth-token
PUBLIC=https://hooks.example.test
CEILING_PORT=${CEILING_PORT:-18082}
FLOOR_PORT=${FLOOR_PORT:-18083}
CALLGATE_PORT=${CALLGATE_PORT:-18081}
BENCH_DB="callgate_bench_$$"
FLOOR_DB="callgate_floor_$$"
mkdir -p "$WORK"

pids=()
drop_db() {
  if [ -n "${BENCH_POSTGRES:-}" ]; then
    psql "$BENCH_POSTGRES/postgres" -qc "DROP DATABASE IF EXISTS $1" >/dev/null 2>&1 || true
  fi
}
stop_all() {
  for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done
  drop_db "$BENCH_DB"
  drop_db "$FLOOR_DB"
}
trap stop_all EXIT

build_callgate() {
  command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
  if [ -z "${CALLGATE_BIN:-}" ]; then
    cargo build --release --quiet
  fi
}

build_floor() {
  CARGO_TARGET_DIR="$WORK/target" cargo build --release --quiet --manifest-path bench/durable-floor/Cargo.toml
}

build_all() {
  build_callgate
  CARGO_TARGET_DIR="$WORK/target" cargo build --release --quiet --manifest-path "$SHARED/axum-baseline/Cargo.toml"
  build_floor
}

# Waits until the server writing to FILE says it listens, for up to SECONDS (default 10).
await_listening() {
  for _ in $(seq $((${2:-10} * 10))); do grep -q "listening on" "$1" 2>/dev/null && return; sleep 0.1; done
  echo "a server did not start (see $1)" >&2
  exit 1
}

start_ceiling() {
  "$WORK/target/release/axum-baseline" limit $CEILING_PORT & CEILING=$!
  pids+=($CEILING)
  sleep 0.3
}

# The floor keeps the bodies where callgate keeps its deliveries: a file beside callgate's
# data, or a database of the same PostgreSQL server.
start_floor() {
  local target="$WORK/durable-floor.journal"
  if [ -n "${BENCH_POSTGRES:-}" ]; then
    drop_db "$FLOOR_DB"
    psql "$BENCH_POSTGRES/postgres" -qc "CREATE DATABASE $FLOOR_DB"
    target="$BENCH_POSTGRES/$FLOOR_DB"
  fi
  "$WORK/target/release/durable-floor" $FLOOR_PORT "$target" > "$WORK/floor.out" & FLOOR=$!
  pids+=($FLOOR)
  await_listening "$WORK/floor.out"
}

# Starts callgate on a fresh store (sets CG), creates the Twilio connection the requests are
# signed for (sets CONN) and signs the requests for it ($WORK/reqs.txt).
start_callgate() {
  local data="$WORK/data"
  rm -rf "$data"
  local store=()
  if [ -n "${BENCH_POSTGRES:-}" ]; then
    drop_db "$BENCH_DB"
    psql "$BENCH_POSTGRES/postgres" -qc "CREATE DATABASE $BENCH_DB"
    store=(CALLGATE_DATABASE_URL="$BENCH_POSTGRES/$BENCH_DB" CALLGATE_MASTER_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=)
  fi
  local runner=()
  read -r -a runner <<< "${CALLGATE_RUNNER:-}"
  env "${store[@]}" CALLGATE_LISTEN=127.0.0.1:$CALLGATE_PORT CALLGATE_DATA_DIR="$data" CALLGATE_PUBLIC_URL=$PUBLIC \
    CALLGATE_BOOTSTRAP_TOKEN=$TOKEN RUST_LOG=warn "${runner[@]}" "${CALLGATE_BIN:-./target/release/callgate}" serve > "$WORK/callgate.out" 2>"$WORK/callgate.err" &
  CG=$!
  pids+=($CG)
  await_listening "$WORK/callgate.out" "${CALLGATE_START_SECS:-10}"
  CONN=$(curl -sf -X POST -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -d "{\"provider\":\"twilio\",\"name\":\"bench\",\"secrets\":{\"auth_token\":\"$AUTH\"}}" \
    http://127.0.0.1:$CALLGATE_PORT/api/v1/connections | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  python3 "$SHARED/gen_twilio.py" 30000 "$PUBLIC/webhooks/twilio/$CONN" "$AUTH" > "$WORK/reqs.txt"
}

stop_callgate() {
  kill "$CG"
  wait "$CG" 2>/dev/null || true
}

# One wrk run of SECS seconds against PORT -> "rps non2xx p99 requests"
run_wrk() {
  REQS="$WORK/reqs.txt" WRK_PATH="/webhooks/twilio/$CONN" wrk -t1 -c"$CONNECTIONS" -d"${SECS}s" --latency \
    -s "$SHARED/replay.lua" "http://127.0.0.1:$1" > "$WORK/wrk.out"
  local rps non p99 n
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out")
  non=$(awk '/Non-2xx/ {print $5}' "$WORK/wrk.out"); non=${non:-0}
  p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.out")
  n=$(awk '/requests in/ {print $1}' "$WORK/wrk.out")
  echo "$rps $non $p99 $n"
}

ratio() { python3 -c "print(f'{$1/$2:.3f}')"; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
