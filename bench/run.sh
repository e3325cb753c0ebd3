#!/usr/bin/env bash
# Throughput of verified, durable ingest of signed Twilio status callbacks, as a ratio to an
# axum server that only reads the body (the ceiling on this machine), measured in one run with
# the method of ../shared/bench: wrk, 32 connections, alternating runs A B C A B C ...
#
# The second server of each round, bench/durable-floor, is that axum server made durable and
# nothing more: it answers once the body is in a journal file and an fdatasync covering it
# has returned (or, with BENCH_POSTGRES, once a PostgreSQL commit holding it has). Its ratio
# shows what durability alone allows on this machine: a server that also does work before
# answering stays below it.
#
#   bench/run.sh [ROUNDS] [SECONDS]     (defaults: 3 rounds of 8 s)
#
# Needs wrk (apt-get install wrk) and python3. Builds callgate, the ceiling and the floor in
# release mode (the latter two outside the checkout). Each callgate run starts on a fresh
# store, so every request is a new delivery that is verified, parsed, folded and committed.
#
# BENCH_POSTGRES=postgres://USER@HOST:PORT measures callgate on PostgreSQL instead of the
# embedded store: each run gets a fresh database there (created and dropped with psql).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-8}
. bench/lib.sh

build_all
start_ceiling
start_floor
ratios=()
floors=()
for i in $(seq "$ROUNDS"); do
  start_callgate
  read -r base_rps base_non base_p99 _ < <(run_wrk $CEILING_PORT)
  read -r floor_rps floor_non floor_p99 _ < <(run_wrk $FLOOR_PORT)
  read -r cg_rps cg_non cg_p99 _ < <(run_wrk $CALLGATE_PORT)
  rss=$(awk '/VmHWM/ {print $2" "$3}' "/proc/$CG/status")
  stop_callgate
  floor=$(ratio "$floor_rps" "$base_rps")
  cg=$(ratio "$cg_rps" "$base_rps")
  floors+=("$floor")
  ratios+=("$cg")
  printf 'round %d: baseline %s req/s (non-2xx %s, p99 %s) | durable floor %s req/s (non-2xx %s, p99 %s) | callgate %s req/s (non-2xx %s, p99 %s, peak RSS %s) | ratios: floor %s, callgate %s\n' \
    "$i" "$base_rps" "$base_non" "$base_p99" "$floor_rps" "$floor_non" "$floor_p99" "$cg_rps" "$cg_non" "$cg_p99" "$rss" "$floor" "$cg"
done
echo "median ratio durable floor/baseline: $(median "${floors[@]}")"
echo "median ratio callgate/baseline: $(median "${ratios[@]}")"
