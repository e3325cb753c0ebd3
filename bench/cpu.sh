#!/usr/bin/env bash
# Where the CPU goes, per request: one wrk run against each of the three servers of
# bench/run.sh (ceiling, durable floor, callgate), and for each, the CPU time of each of its
# threads (by name, from /proc) divided by the requests served, the CPU time of everything
# else on the machine (mostly wrk) likewise, and how idle the two cores stayed.
#
#   bench/cpu.sh [SECONDS]              (default 8)
#
# The sum of the per-request figures, against the cores' capacity, is the budget a request
# has: at N requests per second, two cores give 2,000,000 / N µs per request in all.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-8}
. bench/lib.sh

# CPU ticks of each thread name of process $1 ("name ticks" lines), and of the whole machine
# ("=busy ticks" and "=idle ticks"). "The rest of the machine" is mostly wrk, and the
# kernel's own threads: jbd2 commits ext4's journal for every fdatasync.
ticks() {
  for t in /proc/"$1"/task/*; do
    printf '%s %s\n' "$(tr ' ' _ < "$t/comm")" "$(awk '{print $14 + $15}' "$t/stat")"
  done | awk '{a[$1] += $2} END {for (k in a) print k, a[k]}'
  awk '/^cpu / {print "=busy", $2 + $3 + $4 + $7 + $8 + $9; print "=idle", $5 + $6}' /proc/stat
}

# Measures server $2 (pid $3, port $4), labelled $1.
measure() {
  local before after
  before=$(ticks "$3")
  read -r rps non _ n < <(run_wrk "$4")
  after=$(ticks "$3")
  echo "== $1: $rps req/s, non-2xx $non"
  awk -v n="$n" -v hz="$(getconf CLK_TCK)" '
    NR == FNR { b[$1] = $2; next }
    { d[$1] = $2 - b[$1] }
    END {
      us = 1e6 / hz / n
      for (k in d) if (k !~ /^=/ && d[k] > 0) { printf "1 %-18s %6.2f us/request\n", k, d[k] * us; own += d[k] }
      printf "2 %-18s %6.2f us/request\n", "(rest of machine)", (d["=busy"] - own) * us
      printf "3 %-18s %6.2f us/request, %.0f%% of the cores idle\n", "(all busy)", d["=busy"] * us, 100 * d["=idle"] / (d["=busy"] + d["=idle"])
    }' <(echo "$before") <(echo "$after") | sort | sed 's/^[0-9] /  /'
}

build_all
start_ceiling
start_floor
start_callgate
measure "ceiling (axum-baseline)" ceiling "$CEILING" $CEILING_PORT
measure "durable floor" floor "$FLOOR" $FLOOR_PORT
measure "callgate" callgate "$CG" $CALLGATE_PORT
