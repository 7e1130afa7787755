#!/usr/bin/env bash
# The record-day benchmark (issue #12) end to end, on loopback:
#   bench/record_day.sh [BENCH_ARGS...]      e.g. --scale 0.1
# starts a fresh PostgreSQL cluster (scripts/pg-cluster.sh: etcd, three
# PostgreSQL 15 members under Patroni, synchronous_mode_strict) in a
# temporary directory, runs build/bench/bench_record_day on its read-write
# URI (the program starts its two jpkid nodes and stops them by PID), then
# stops the cluster by PID and removes the directory.
# RECORD_DAY_PG=single uses one throw-away PostgreSQL 15
# (scripts/pg-test-server.sh) instead of the cluster.  BUILD=DIR picks the
# build tree (default: build).
set -euo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${BUILD:-$SRC/build}" && pwd)
MODE=${RECORD_DAY_PG:-cluster}
D=$(mktemp -d /tmp/jpki-rday-pg.XXXXXX)
chmod 755 "$D"
cleanup() {
  if [ "$MODE" = single ]; then
    (cd / && bash "$SRC/scripts/pg-test-server.sh" stop "$D/pg") >/dev/null 2>&1 || true
  else
    bash "$SRC/scripts/pg-cluster.sh" stop "$D/pg" >/dev/null 2>&1 || true
  fi
  rm -rf "$D"
}
trap cleanup EXIT
if [ "$MODE" = single ]; then
  URL=$(cd / && timeout 120 bash "$SRC/scripts/pg-test-server.sh" start "$D/pg")
else
  timeout 180 bash "$SRC/scripts/pg-cluster.sh" start "$D/pg"
  eval "$(bash "$SRC/scripts/pg-cluster.sh" env "$D/pg")"
  export PGPASSFILE
  URL=$(bash "$SRC/scripts/pg-cluster.sh" url "$D/pg")
fi
echo "record_day: PostgreSQL ($MODE) at $URL; load average $(cut -d' ' -f1-3 /proc/loadavg)"
rc=0
"$BUILD/bench/bench_record_day" --store "$URL" --jpkid "$BUILD/cmd/jpkid" "$@" || rc=$?
echo "record_day: load average $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$rc"
