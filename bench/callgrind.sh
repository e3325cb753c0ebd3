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
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install -y valgrind" >&2; exit 1; }
CONNECTIONS=8
. bench/lib.sh
build_callgate

rm -f "$WORK/callgrind.out"
CALLGATE_RUNNER="valgrind --tool=callgrind --callgrind-out-file=$WORK/callgrind.out" CALLGATE_START_SECS=60 \
  start_callgate
read -r _ _ _ N < <(run_wrk $CALLGATE_PORT)
# SIGTERM, so that callgrind writes its counts.
stop_callgate
echo "requests: $N"
callgrind_annotate --inclusive=yes "$WORK/callgrind.out" 2>/dev/null \
  | grep -E 'webhooks::receive::\{\{closure\}\}::\{\{closure\}\} |Calls::ingest::\{\{closure\}\} |Adapter>::verify |Adapter>::parse |Form::parse |calls::batch::ingest_batch |calls::get_or_create_many |calls::write_many |written::after_write |Batcher::store_deliveries |Batcher::finish |Digest>::update |PROGRAM TOTALS' \
  | awk -v n="$N" '{name = $0; sub(/^ *[0-9,]+ \([^)]*\) +/, "", name); sub(/ \[.*\]$/, "", name);
           gsub(",", "", $1); printf "%8.0f Ir/request  %s\n", $1 / n, name}'
