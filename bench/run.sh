#!/usr/bin/env bash
# make bench: every benchmark program, bounded in time, loopback only.
set -euo pipefail
B=${1:-build}/bench
for b in "$B"/bench_*; do
  [ -x "$b" ] || continue
  # needs PostgreSQL and runs 10 minutes: bench/record_day.sh
  [ "$(basename "$b")" = bench_record_day ] && continue
  echo "== $(basename "$b")"
  "$b"
done
