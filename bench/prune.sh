#!/usr/bin/env bash
# What pruning costs ingest: callgate on a loaded store while retention prunes it, against
# the same store with nothing due, in alternating runs.
#
#   bench/prune.sh [SCALE] [ROUNDS] [SECONDS]     (defaults: 0.1, 3 rounds of 8 s)
#
# 1. The store is loaded as bench/soak.sh loads it (bench/loaded.sh): the SCALE's calls
#    (SCALE 0.1: 100,000 calls, a million deliveries), spread over the 25 days before the load.
# 2. In each round, on that same store, two runs of callgate (the order alternates): one with
#    retention periods that make part of the store due, the other with the default periods
#    (nothing due). A pass starts a minute after callgate does (and then every ten minutes,
#    a constant), so each run waits for it: wrk starts once the pass has pruned its first rows
#    (or, with nothing due, once the pass is over) and replays 30,000 new signed calls, as
#    bench/run.sh does, with the durable floor measured in the same run. A pass empties old
#    bodies first, then deletes old calls. The pruning runs empty the bodies older than
#    PRUNE_BODIES_DAYS (default 24: the oldest day's, so the first pruning run starts with
#    them) and delete the calls older than PRUNE_CALLS_DAYS (default 18), lowered by
#    PRUNE_STEP_DAYS (default 7) at each run, so that each finds calls of its own: 7 days of
#    the 25, at SCALE 0.1 28,000 calls with their 280,000 deliveries.
# 3. Per run: requests per second, non-2xx, p99, the ratio to the floor, the rows pruned
#    while wrk ran (callgate_pruned_rows_total on /metrics) and whether the pass was still
#    going when wrk stopped (if it was not, the pruning did not fill the run: raise SCALE
#    or PRUNE_STEP_DAYS). Then the medians of pruning / not pruning, per round.
#
# BENCH_POSTGRES=postgres://USER@HOST:PORT runs it on PostgreSQL. Needs what soak.sh needs.
# PRUNE_STORE=DIR (embedded store only) keeps a copy of the loaded store there, and a later
# run with the same DIR starts from that copy instead of loading again.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-0.1}
ROUNDS=${2:-3}
SECS=${3:-8}
BODIES_DAYS=${PRUNE_BODIES_DAYS:-24}
CALLS_DAYS=${PRUNE_CALLS_DAYS:-18}
STEP_DAYS=${PRUNE_STEP_DAYS:-7}
. bench/lib.sh
. bench/loaded.sh

metrics() { curl -sf "$SOAK_BASE/metrics"; }
# Rows pruned so far: "deliveries calls audit refusals duplicate_deliveries total".
pruned() {
  metrics | awk -F'[{}" ]+' '$1 == "callgate_pruned_rows_total" {n[$3] = $NF}
    END {t = 0; for (k in n) t += n[k]; print n["deliveries"]+0, n["calls"]+0, n["audit"]+0, n["refusals"]+0, n["duplicate_deliveries"]+0, t}'
}
# Whether a pass has ended: it sets the gauge of the oldest call, 0 until then.
pass_over() {
  metrics | awk -F'[{}" ]+' '$1 == "callgate_oldest_row_seconds" && $3 == "calls" {over = $NF > 0} END {exit !over}'
}
# Waits (up to three minutes) for the first pass to prune a row ($1 = pruning) or to end.
await_pass() {
  for _ in $(seq 1800); do
    if [ "$1" = pruning ]; then
      [ "$(pruned | awk '{print $6}')" -gt 0 ] && return
    fi
    pass_over && return
    sleep 0.1
  done
  echo "no retention pass within three minutes" >&2
  exit 1
}
to_ms() { awk -v v="$1" 'BEGIN {u = v; sub(/[0-9.]+/, "", u); x = v + 0; print (u == "us" ? x / 1000 : u == "s" ? x * 1000 : x)}'; }

# One run on the loaded store: $1 pruning or idle, $2 the requests' seed, $3 the pruning
# run's number. Prints "rps non2xx p99_ms floor_rps pruned_rows pass_outlasted_wrk" to
# $WORK/run.txt and a line for the reader.
measure() {
  local retain=()
  if [ "$1" = pruning ]; then
    retain=(CALLGATE_RETAIN_DELIVERIES_SECS=$((BODIES_DAYS * 86400))
      CALLGATE_RETAIN_CALLS_SECS=$(((CALLS_DAYS - ($3 - 1) * STEP_DAYS) * 86400)))
  fi
  start_soak "${retain[@]}"
  CONN=$SOAK_CONN
  signed_reqs "$2" "$CONN"
  local floor_rps before after rps non p99 outlasted=no
  read -r floor_rps _ _ _ < <(run_wrk $FLOOR_PORT)
  await_pass "$1"
  read -r -a before < <(pruned)
  read -r rps non p99 _ < <(run_wrk $SOAK_PORT)
  read -r -a after < <(pruned)
  pass_over || outlasted=yes
  stop_soak
  local d=() k
  for k in 0 1 2 3 4 5; do d+=($((after[k] - before[k]))); done
  p99=$(to_ms "$p99")
  echo "$rps $non $p99 $floor_rps ${d[5]} $outlasted" > "$WORK/run.txt"
  say "  $1 ${retain[*]:-(default periods)}: $rps req/s (non-2xx $non, p99 $p99 ms), floor $floor_rps, ratio $(ratio "$rps" "$floor_rps"); pruned during the run: ${d[0]} bodies, ${d[1]} calls, ${d[2]} audit, ${d[3]} refusals, ${d[4]} duplicates ($((d[5] / SECS)) rows/s); pass still going at the end: $outlasted; $(load_avg)"
}

say "scale $SCALE: $TENANTS tenants, $NUMBERS numbers, $CALLS calls ($FACTOR copies of $TEMPLATE_CALLS), $(load_avg)"
build_callgate
build_floor
if [ -z "${BENCH_POSTGRES:-}" ] && [ -f "${PRUNE_STORE:-/nonexistent}/conn" ]; then
  say "the loaded store kept in $PRUNE_STORE"
  python3 bench/soak.py mock $MOCK_PORT & pids+=($!)
  rm -rf "$SOAK_DATA"
  cp -a "$PRUNE_STORE" "$SOAK_DATA"
  SOAK_CONN=$(cat "$SOAK_DATA/conn")
else
  put_template
  stop_soak
  load_copies
  if [ -z "${BENCH_POSTGRES:-}" ] && [ -n "${PRUNE_STORE:-}" ]; then
    rm -rf "$PRUNE_STORE"
    cp -a "$SOAK_DATA" "$PRUNE_STORE"
    echo "$SOAK_CONN" > "$PRUNE_STORE/conn"
  fi
fi
store_size "$WORK/tables-loaded.txt" > "$WORK/size.txt"
read -r bytes ncalls ndel < "$WORK/size.txt"
say "loaded store: $bytes bytes, $ncalls calls, $ndel deliveries"

start_floor
rps_ratios=()
floor_ratios=()
p99_ratios=()
rates=()
short=0
for i in $(seq "$ROUNDS"); do
  say "round $i"
  order=(pruning idle)
  [ $((i % 2)) -eq 0 ] && order=(idle pruning)
  for mode in "${order[@]}"; do
    seed=$((2000 + 2 * i))
    [ "$mode" = idle ] && seed=$((seed + 1))
    measure "$mode" "$seed" "$i"
    read -r "${mode}_rps" "${mode}_non" "${mode}_p99" "${mode}_floor" "${mode}_pruned" "${mode}_outlasted" < "$WORK/run.txt"
  done
  [ "$pruning_outlasted" = yes ] || short=$((short + 1))
  rps_ratios+=("$(ratio "$pruning_rps" "$idle_rps")")
  floor_ratios+=("$(ratio "$(ratio "$pruning_rps" "$pruning_floor")" "$(ratio "$idle_rps" "$idle_floor")")")
  p99_ratios+=("$(ratio "$pruning_p99" "$idle_p99")")
  rates+=("$((pruning_pruned / SECS))")
  say "round $i: pruning / not pruning: req/s ${rps_ratios[-1]} (each over its floor: ${floor_ratios[-1]}), p99 ${p99_ratios[-1]}"
done
say "median pruning / not pruning: req/s $(median "${rps_ratios[@]}") (${rps_ratios[*]}), over the floor $(median "${floor_ratios[@]}") (${floor_ratios[*]}), p99 $(median "${p99_ratios[@]}") (${p99_ratios[*]}); rows pruned per second $(median "${rates[@]}") (${rates[*]})"
[ "$short" -eq 0 ] || say "WARNING: in $short round(s) the pass ended before wrk did: raise SCALE or PRUNE_STEP_DAYS"
store_size "$WORK/tables-after.txt" > "$WORK/size.txt"
read -r bytes ncalls ndel < "$WORK/size.txt"
say "store after the rounds: $bytes bytes, $ncalls calls, $ndel deliveries; done, $(load_avg)"
