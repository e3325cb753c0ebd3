#!/usr/bin/env bash
# The soak: callgate against a store holding a long history, compared with an empty one, in
# one run. SCALE 1.0 is 10,000 tenants, 100,000 numbers, 1 million calls and 10 million
# deliveries (SCALE 0.01 a hundredth of each).
#
#   bench/soak.sh [SCALE] [ROUNDS] [SECONDS]     (defaults: 1.0, 3 rounds of 8 s)
#
# 1. The directory goes in through the API, and 100 template calls through the webhook
#    endpoint (ten signed Twilio deliveries each: every table a call writes gets real rows).
#    Reads are timed on this store: the "empty" figures.
# 2. callgate stopped, bench/soak.py copies the template calls' rows until the store holds
#    the scale's calls, each copy with its own ids, numbers, tenants and times (the 25 days
#    before now, within the default retention), then callgate starts on it again.
# 3. Reads are timed again (GET /api/v1/calls first page and a deep cursor, for a reader of
#    every tenant and for an agent of three; tenant search), store bytes per call are counted,
#    per table and index.
# 4. Ingest rounds as bench/run.sh's: in each, the ceiling, the durable floor, callgate on a
#    fresh store and callgate on the loaded one, each replaying the same round's new calls.
#    Printed: each callgate's ratio to the floor of its round, the loaded store's ratio to
#    the empty one's in each round and their median, and callgate's RSS.
#
# BENCH_POSTGRES=postgres://USER@HOST:PORT runs it on PostgreSQL (databases created here and
# dropped at the end). BENCH_DIR, CALLGATE_BIN and the ports are bench/lib.sh's, with
# MOCK_PORT and SOAK_PORT (18084, 18085) for the REST mock and the loaded store's callgate.
# Needs wrk, python3, curl, and sqlite3 or psql. Disk: about 1.3 KB per
# delivery on SQLite, 1.4 KB on PostgreSQL (13-14 GB at SCALE 1.0).
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-1.0}
ROUNDS=${2:-3}
SECS=${3:-8}
. bench/lib.sh

. bench/loaded.sh

say "scale $SCALE: $TENANTS tenants, $NUMBERS numbers, $CALLS calls ($FACTOR copies of $TEMPLATE_CALLS), $(load_avg)"
build_all

# Timed reads: "name p50 p99 max count" lines (ms), 1000 GETs each after 100 as a warm-up
# (fewer when they take over a minute: bench/soak.py latency).
reads() {
  local top deep zip trade
  top=$(api "$SOAK_BASE/api/v1/calls?limit=1" | json '["next_cursor"]')
  deep=$(( top / 100 + 2 ))
  zip=$(python3 -c 'import sys; sys.path.insert(0, "bench"); import soak; print(soak.tenant_zips(1)[0], soak.tenant_trades(1)[0])')
  read -r zip trade <<< "$zip"
  local paths=("/api/v1/calls" "/api/v1/calls?cursor=$deep" "/api/v1/tenants/search?zip=$zip&trade=$trade")
  local names=(calls_first calls_deep tenant_search calls_first_agent calls_deep_agent)
  for p in "${paths[@]}"; do python3 bench/soak.py latency "$SOAK_BASE" "$TOKEN" 100 "$p" > /dev/null; done
  {
    python3 bench/soak.py latency "$SOAK_BASE" "$TOKEN" 1000 "${paths[@]}"
    python3 bench/soak.py latency "$SOAK_BASE" "$AGENT" 1000 "${paths[@]:0:2}"
  } | paste -d' ' <(printf '%s\n' "${names[@]}") -
}
rss() { awk '/VmRSS|VmHWM/ {printf "%s %s ", $1, $2/1024 " MiB"}' "/proc/$1/status"; }

# 1. The directory and the template calls; the empty store's figures.
put_template
say "reads on the empty store (name p50 p99 max in ms, requests):"
reads | tee "$WORK/reads-empty.txt"
say "callgate on the empty store: $(rss "$SOAK_CG")"
stop_soak
store_size "$WORK/tables-empty.txt" > "$WORK/size.txt"
read -r bytes ncalls ndel < "$WORK/size.txt"
say "empty store: $bytes bytes, $ncalls calls, $ndel deliveries"

# 2. The load.
load_copies
store_size "$WORK/tables-loaded.txt" > "$WORK/size.txt"
read -r bytes ncalls ndel < "$WORK/size.txt"
say "loaded store: $bytes bytes, $ncalls calls, $ndel deliveries: $((bytes / ncalls)) bytes per call, $((bytes / ndel)) per delivery"
say "largest tables and indexes (bytes):"
cat "$WORK/tables-loaded.txt"

# 3. Reads on the loaded store.
start_soak
say "reads on the loaded store (name p50 p99 max in ms, requests):"
reads | tee "$WORK/reads-loaded.txt"
say "callgate on the loaded store: $(rss "$SOAK_CG")"

# 4. Ingest rounds.
start_ceiling
start_floor
empty_ratios=()
loaded_ratios=()
paired=()
for i in $(seq "$ROUNDS"); do
  start_callgate
  signed_reqs "$((1000 + i))" "$CONN"
  read -r base_rps _ _ _ < <(run_wrk $CEILING_PORT)
  read -r floor_rps floor_non floor_p99 _ < <(run_wrk $FLOOR_PORT)
  read -r e_rps e_non e_p99 _ < <(run_wrk $CALLGATE_PORT)
  e_rss=$(awk '/VmHWM/ {print $2/1024}' "/proc/$CG/status")
  stop_callgate
  fresh_conn=$CONN
  CONN=$SOAK_CONN
  signed_reqs "$((1000 + i))" "$CONN"
  read -r l_rps l_non l_p99 _ < <(run_wrk $SOAK_PORT)
  CONN=$fresh_conn
  e=$(ratio "$e_rps" "$floor_rps")
  l=$(ratio "$l_rps" "$floor_rps")
  empty_ratios+=("$e")
  loaded_ratios+=("$l")
  paired+=("$(ratio "$l" "$e")")
  say "round $i: ceiling $base_rps req/s | floor $floor_rps (non-2xx $floor_non, p99 $floor_p99) | empty $e_rps (non-2xx $e_non, p99 $e_p99, peak RSS $e_rss MiB) | loaded $l_rps (non-2xx $l_non, p99 $l_p99) | ratios to the floor: empty $e, loaded $l"
done
em=$(median "${empty_ratios[@]}")
lm=$(median "${loaded_ratios[@]}")
say "median ratio to the floor: empty $em, loaded $lm; loaded/empty in each round: ${paired[*]} (median $(median "${paired[@]}"))"
say "callgate on the loaded store after ingest: $(rss "$SOAK_CG")"
stop_soak
store_size "$WORK/tables-after.txt" > "$WORK/size.txt"
read -r bytes ncalls ndel < "$WORK/size.txt"
say "store after ingest: $bytes bytes, $ncalls calls, $ndel deliveries"
say "done, $(load_avg)"
