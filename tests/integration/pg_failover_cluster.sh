#!/usr/bin/env bash
# The failover cluster on its own (scripts/pg-cluster.sh): three PostgreSQL
# 15 members under Patroni and etcd on loopback, synchronous_mode_strict.
# A bounded writer inserts numbered rows through the multi-host URI
# (target_session_attrs=read-write), reconnecting after each failure, and
# records every id whose COMMIT was acknowledged.  The test kills -9 the
# primary (Patroni and PostgreSQL), measures the gap until writes succeed
# on the new primary (must be under 30 s), restarts the killed member (it
# rejoins as a replica, pg_rewind if needed), and checks that every
# acknowledged id is on the new primary exactly once.
# The cluster is a peer service: it runs on the real clock, as chromium
# does, even in the clock-ahead pass (nothing here depends on the date).
unset LD_PRELOAD FAKETIME FAKETIME_DONT_FAKE_MONOTONIC
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
SRC=${JPKI_SRC:-$(cd "$HERE/../.." && pwd)}
CLUSTER="$SRC/scripts/pg-cluster.sh"

# the cluster's directory must be reachable by its unprivileged user
C=$(mktemp -d /tmp/jpki-pgc.XXXXXX)
WRITER_PID=
cleanup() {
  [ -n "$WRITER_PID" ] && kill "$WRITER_PID" 2>/dev/null || true
  bash "$CLUSTER" stop "$C" || true
  rm -rf "$C" "$T"
}
trap cleanup EXIT

if ! timeout 180 bash "$CLUSTER" start "$C" 2>start.err; then
  bad "cluster did not start: $(tail -5 start.err)"
  finish; exit 1
fi
ok "cluster up: $(tail -1 start.err | sed 's/^pg-cluster: //')"
eval "$(bash "$CLUSTER" env "$C")"
export PGPASSFILE
URL=$(bash "$CLUSTER" url "$C")
sql() { timeout 10 psql -X -qAt "$URL" -v ON_ERROR_STOP=1 -c "$1"; }
sql "CREATE TABLE acks (id bigint PRIMARY KEY, at timestamptz DEFAULT now())" >/dev/null &&
  ok "table made through the multi-host URI" || bad "create table"
j=$(bash "$CLUSTER" status "$C")
[ "$(jq '[.members[] | select(.role=="sync_standby")] | length' <<<"$j")" -ge 1 ] &&
  ok "a synchronous standby is named (synchronous_mode_strict)" || bad "no sync standby: $j"

# the writer: ids 1, 2, ... until told to stop (at most N), one connection
# per statement, each outcome logged with the time (acknowledged ids only
# in acked.txt)
N=${PG_FAILOVER_WRITES:-3000}
: >acked.txt
(
  for i in $(seq 1 "$N"); do
    [ -e stop.writer ] && break
    if out=$(timeout 5 psql -X -qAt "$URL" -c "INSERT INTO acks(id) VALUES ($i) RETURNING id" 2>/dev/null) && [ "$out" = "$i" ]; then
      echo "$i $(date +%s.%N)" >>acked.txt
    else
      echo "$i $(date +%s.%N)" >>failed.txt
    fi
  done
) &
WRITER_PID=$!

# let some writes land, then kill the primary
for _ in $(seq 1 300); do [ "$(wc -l <acked.txt 2>/dev/null || echo 0)" -ge 100 ] && break; sleep 0.1; done
before=$(wc -l <acked.txt)
killed=$(bash "$CLUSTER" kill-primary "$C")
t_kill=$(date +%s.%N)
ok "killed -9 the primary ($killed) after $before acknowledged writes"

# wait (bounded) for the first acknowledged write after the kill
gap=
for _ in $(seq 1 600); do
  first=$(awk -v k="$t_kill" '$2 > k {print $2; exit}' acked.txt)
  if [ -n "$first" ]; then gap=$(awk -v a="$first" -v k="$t_kill" 'BEGIN{printf "%.1f", a-k}'); break; fi
  kill -0 "$WRITER_PID" 2>/dev/null || break
  sleep 0.1
done
echo "# failover gap: ${gap:-none} s (kill to the first acknowledged write on the new primary)"
[ -n "$gap" ] && awk -v g="$gap" 'BEGIN{exit !(g < 30)}' && ok "writes resumed after ${gap} s (< 30 s)" ||
  bad "writes did not resume within the run (gap ${gap:-none})"
newp=$(bash "$CLUSTER" status "$C" | jq -r '.members[] | select(.role=="leader") | .name')
[ -n "$newp" ] && [ "$newp" != "$killed" ] && ok "new primary: $newp" || bad "leader after the kill: '$newp'"

# the killed member comes back and rejoins
bash "$CLUSTER" start-member "$C" "$killed"
rejoined=
for _ in $(seq 1 120); do
  st=$(bash "$CLUSTER" status "$C" | jq -r --arg m "$killed" '.members[] | select(.name==$m) | "\(.role) \(.state)"')
  case "$st" in replica\ running|replica\ streaming|sync_standby\ running|sync_standby\ streaming) rejoined=$st; break ;; esac
  sleep 0.5
done
[ -n "$rejoined" ] && ok "$killed rejoined as $rejoined" || bad "$killed did not rejoin: $st"

# a few more writes with every member back, then the writer stops
sleep 2
touch stop.writer
for _ in $(seq 1 200); do kill -0 "$WRITER_PID" 2>/dev/null || break; sleep 0.1; done
kill "$WRITER_PID" 2>/dev/null || true
wait "$WRITER_PID" 2>/dev/null || true
WRITER_PID=
acked=$(wc -l <acked.txt)
failed=$(wc -l <failed.txt 2>/dev/null || echo 0)
echo "# writes: $acked acknowledged, $failed failed or unknown (retried by a real client)"
cut -d' ' -f1 acked.txt | sort -n >acked.ids
sql "SELECT id FROM acks ORDER BY id" >present.ids
missing=$(comm -23 acked.ids <(sort -n present.ids) | wc -l)
dups=$(sql "SELECT count(*) - count(DISTINCT id) FROM acks")
[ "$missing" = 0 ] && ok "every acknowledged write ($acked) is on the new primary" ||
  bad "$missing acknowledged writes lost: $(comm -23 acked.ids <(sort -n present.ids) | head -5 | tr '\n' ' ')"
[ "$dups" = 0 ] && ok "no id twice" || bad "$dups duplicate ids"
[ "$acked" -gt "$before" ] && ok "writes acknowledged after the failover: $((acked - before))" || bad "nothing written after the kill"

pids=$(cat "$C"/*.pid "$C"/m*/patroni.pid 2>/dev/null; for m in m1 m2 m3; do head -n1 "$C/$m/data/postmaster.pid" 2>/dev/null; done)
echo "# cluster processes: $(echo $pids)"
bash "$CLUSTER" stop "$C"
left=$(for p in $pids; do if kill -0 "$p" 2>/dev/null; then echo "$p"; fi; done)
[ -z "$left" ] && ok "every cluster process stopped by PID" || bad "still running: $left"
finish
