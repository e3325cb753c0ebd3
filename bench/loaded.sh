# The loaded store of bench/soak.sh and bench/prune.sh (sourced after bench/lib.sh, with
# SCALE set): the directory and 100 template calls put in through callgate, then copied by
# bench/soak.py until the store holds the scale's calls (bench/README.md, "The soak").
# SCALE 1.0 is 10,000 tenants, 100,000 numbers, 1 million calls and 10 million deliveries.
#
# MOCK_PORT and SOAK_PORT (18084, 18085): the provider's REST mock and the loaded store's
# callgate. With BENCH_POSTGRES the store is a database of that server, dropped on exit.

TEMPLATE_CALLS=100
read -r TENANTS NUMBERS CALLS <<< "$(python3 -c "
s = $SCALE
t = max(10, round(10000 * s)); n = max(100, round(100000 * s) // 10 * 10); c = max($TEMPLATE_CALLS, round(1e6 * s))
print(t, n, c)")"
FACTOR=$((CALLS / TEMPLATE_CALLS))
SPAN_SECS=$((25 * 86400))
MOCK_PORT=${MOCK_PORT:-18084}
SOAK_PORT=${SOAK_PORT:-18085}
SOAK_DATA="$WORK/soak-data"
SOAK_DB="callgate_soak_$$"
SOAK_BASE="http://127.0.0.1:$SOAK_PORT"
soak_cleanup() {
  stop_all
  drop_db "$SOAK_DB"
  rm -rf "$SOAK_DATA" "$WORK/data"
}
trap soak_cleanup EXIT
say() { echo "[$(date -u +%H:%M:%S)] $*"; }
load_avg() { uptime | sed 's/.*load average/load average/'; }

# callgate on the store to load (sets SOAK_CG); its recordings are deleted at the mock.
# Arguments are more VARIABLE=VALUE settings for it.
start_soak() {
  local store=()
  if [ -n "${BENCH_POSTGRES:-}" ]; then
    store=(CALLGATE_DATABASE_URL="$BENCH_POSTGRES/$SOAK_DB" CALLGATE_MASTER_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=)
  fi
  env "${store[@]}" CALLGATE_LISTEN=127.0.0.1:$SOAK_PORT CALLGATE_DATA_DIR="$SOAK_DATA" CALLGATE_PUBLIC_URL=$PUBLIC \
    CALLGATE_BOOTSTRAP_TOKEN=$TOKEN CALLGATE_EGRESS_ALLOW_PRIVATE=true RUST_LOG=warn "$@" \
    "${CALLGATE_BIN:-./target/release/callgate}" serve > "$WORK/soak.out" 2>"$WORK/soak.err" &
  SOAK_CG=$!
  pids+=($SOAK_CG)
  await_listening "$WORK/soak.out" 120
}
stop_soak() {
  kill "$SOAK_CG"
  wait "$SOAK_CG" 2>/dev/null || true
}
api() { curl -sf -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' "$@"; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# Step 1: a new store, the mock, the directory and the template calls, callgate left running
# on it (SOAK_CONN: the connection the template came through; AGENT: a token of an agent of
# three tenants).
put_template() {
  python3 bench/soak.py mock $MOCK_PORT & pids+=($!)
  rm -rf "$SOAK_DATA"
  if [ -n "${BENCH_POSTGRES:-}" ]; then
    drop_db "$SOAK_DB"
    psql "$BENCH_POSTGRES/postgres" -qc "CREATE DATABASE $SOAK_DB"
  fi
  start_soak
  SOAK_CONN=$(api -X POST -d "{\"provider\":\"twilio\",\"name\":\"soak\",\"secrets\":{\"auth_token\":\"$AUTH\",\"account_sid\":\"AC00000000000000000000000000000000\"},\"options\":{\"api_base_url\":\"http://127.0.0.1:$MOCK_PORT\"}}" \
    "$SOAK_BASE/api/v1/connections" | json '["id"]')
  say "directory: $TENANTS tenants, $NUMBERS numbers"
  python3 bench/soak.py directory "$SOAK_BASE" "$TOKEN" "$TENANTS" "$NUMBERS"
  api -X PUT -d '{"name":"Agent","permissions":["contact_center.view"],"tenant_ids":["t00001","t00002","t00003"]}' "$SOAK_BASE/api/v1/users/agent1" > /dev/null
  AGENT=$(api -X POST "$SOAK_BASE/api/v1/users/agent1/tokens" | json '["token"]')
  say "template: $TEMPLATE_CALLS calls, $((TEMPLATE_CALLS * 10)) deliveries"
  python3 bench/soak.py template "$SOAK_BASE" "$PUBLIC" "$SOAK_CONN" "$AUTH" "$TEMPLATE_CALLS" "$NUMBERS"
  sleep 2
}

# Step 2, callgate stopped: the copies, spread over the SPAN_SECS before the template.
load_copies() {
  say "loading: $FACTOR copies"
  if [ -n "${BENCH_POSTGRES:-}" ]; then
    python3 bench/soak.py clone postgres "$BENCH_POSTGRES/$SOAK_DB" "$FACTOR" "$NUMBERS" "$TENANTS" "$SPAN_SECS"
    say "VACUUM ANALYZE (what autovacuum does after such a load)"
    psql "$BENCH_POSTGRES/$SOAK_DB" -Xqc "VACUUM ANALYZE"
  else
    python3 bench/soak.py clone sqlite "$SOAK_DATA/callgate.db" "$FACTOR" "$NUMBERS" "$TENANTS" "$SPAN_SECS"
  fi
}

# Store size: "bytes calls deliveries", and the largest tables and indexes to $1.
store_size() {
  if [ -n "${BENCH_POSTGRES:-}" ]; then
    local url="$BENCH_POSTGRES/$SOAK_DB"
    psql "$url" -XAtqF' ' -c "SELECT pg_database_size(current_database()), (SELECT count(*) FROM calls), (SELECT count(*) FROM deliveries)"
    psql "$url" -XAtqF' ' -c "SELECT c.relname, pg_relation_size(c.oid) + COALESCE(pg_total_relation_size(c.reltoastrelid), 0)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i') ORDER BY 2 DESC LIMIT 16" > "$1"
  else
    local db="$SOAK_DATA/callgate.db"
    sqlite3 "$db" 'PRAGMA wal_checkpoint(TRUNCATE)' > /dev/null
    echo "$(($(stat -c %s "$db") + $(stat -c %s "$db-wal" 2>/dev/null || echo 0))) $(sqlite3 "$db" 'SELECT (SELECT count(*) FROM calls), (SELECT count(*) FROM deliveries)' | tr '|' ' ')"
    sqlite3 -separator ' ' "$db" "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 16" > "$1"
  fi
}

# Signed requests of 30,000 new calls for connection $2, drawn from seed $1 (one seed a run:
# none of the calls is in the store), to $WORK/reqs.txt.
signed_reqs() {
  python3 bench/soak.py reqs "$1" 30000 "$PUBLIC/webhooks/twilio/$2" "$AUTH" "$SHARED" > "$WORK/reqs.txt"
}
