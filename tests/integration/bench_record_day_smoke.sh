#!/usr/bin/env bash
# bench_record_day (the record-day benchmark of docs/benchmarks.md) keeps
# working: a tiny day (40 issuances in 6 s, on a PostgreSQL 15 of the
# test's own, scripts/pg-test-server.sh), with small jpkid queues so that
# bursts may be refused with 503 + Retry-After, must complete every
# issuance, lose nothing (every offered resident holds exactly one
# certificate of each kind in the store, every serial received is
# stored) and print the JSON line.  No latency or rate is asserted.
# The bench and PostgreSQL run on the real clock.
unset LD_PRELOAD FAKETIME FAKETIME_DONT_FAKE_MONOTONIC
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
SRC=${JPKI_SRC:-$(cd "$HERE/../.." && pwd)}
PGS=$SRC/scripts/pg-test-server.sh
B="$JPKI_BUILD/bench/bench_record_day"
[ -x "$B" ] || { bad "no $B"; finish; }
PGDIR=/tmp/jpki-rday-smoke-pg.$$
cleanup() {
  (cd / && bash "$PGS" stop "$PGDIR") >/dev/null 2>&1 || true
  rm -rf "$T"
}
trap cleanup EXIT
URL=$(cd / && timeout 120 bash "$PGS" start "$PGDIR")
[ -n "$URL" ] && ok "PostgreSQL 15 started" || { bad "PostgreSQL did not start"; finish; }
if out=$(timeout 300 "$B" --store "$URL" --jpkid "$JPKI_BIN/jpkid" --total 40 --minutes 0.1 \
  --workers 6 --grace 120 --jpkid-arg --queue --jpkid-arg 4 2>&1); then
  ok "bench_record_day ran"
else
  bad "bench_record_day failed: $(tail -12 <<<"$out")"
fi
grep '^  \|^record day' <<<"$out" | sed 's/^/# /'
json=$(grep '^{"bench":"record_day"' <<<"$out" | tail -1)
[ -n "$json" ] && ok "JSON line printed" || bad "no JSON line"
jq -e '.offered == 40 and .completed == 40 and .gave_up == 0 and .unfinished == 0 and .other == 0' <<<"$json" >/dev/null \
  && ok "every offered issuance completed (503s retried: $(jq .busy_503 <<<"$json"))" || bad "not all completed: $json"
jq -e '.lost == 0 and .store_complete == 40 and .store_certs == 80 and .store_distinct_serials == 80 and .store_over == 0 and .received_missing == 0' <<<"$json" >/dev/null \
  && ok "nothing lost: 40 residents with one certificate of each kind, 80 distinct serials, all received ones stored" \
  || bad "the store disagrees: $json"
jq -e '.issue_p50_ms > 0 and .issue_p99_ms >= .issue_p50_ms' <<<"$json" >/dev/null \
  && ok "latencies of admitted requests reported" || bad "latencies: $json"
if "$B" --bogus >/dev/null 2>"$T/err"; then bad "bogus option accepted"; else grep -q "usage: bench_record_day" "$T/err" && ok "usage on a bad option" || bad "no usage"; fi
finish
