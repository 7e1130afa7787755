#!/usr/bin/env bash
# Two jpkid nodes on the failover cluster (scripts/pg-cluster.sh: Patroni,
# etcd, three PostgreSQL 15 members, synchronous_mode_strict), both on the
# same multi-host URI (target_session_attrs=read-write), under a bounded
# issuance load: clients on both nodes issue one certificate per resident,
# retrying a 503 after its Retry-After (bounded).  The test kills -9 the
# primary, then restarts it (it rejoins as a replica).  Then: every
# certificate a client received is in the store exactly once (serial and
# DER hash), no serial twice, every resident's work finished, no answer
# other than 2xx and 503 (each 503 with Retry-After), and `jpki audit
# verify` passes on the new primary.  The gap (kill to the first
# certificate issued after it) is printed and must be under 30 s.
# JPKID_PG_FAILOVER_KILL=0 runs the same load and checks without killing
# anything (a quick check of the two nodes on the cluster).
# The cluster is a peer service on the real clock (as in
# pg_failover_cluster.sh): nothing here depends on the date.
unset LD_PRELOAD FAKETIME FAKETIME_DONT_FAKE_MONOTONIC
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
SRC=${JPKI_SRC:-$(cd "$HERE/../.." && pwd)}
CLUSTER="$SRC/scripts/pg-cluster.sh"
JPKI=${JPKI_BIN:?}/jpki

NRES=${JPKID_PG_FAILOVER_RESIDENTS:-32} # residents, one issuance each
NCLI=4                                  # clients: two per node
LOAD_SECS=${JPKID_PG_FAILOVER_SECS:-100} # a client gives up after this
KILL=${JPKID_PG_FAILOVER_KILL:-1}       # 0: no failover (quick mode)

C=$(mktemp -d /tmp/jpki-pgc.XXXXXX)
NODE_PIDS=()
CLIENT_PIDS=()
cleanup() {
  for p in "${CLIENT_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${NODE_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${NODE_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
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
sql() { timeout 20 psql -X -qAt "$URL" -v ON_ERROR_STOP=1 -c "$1"; }

# node N: jpkid on a free port, the CA's keys in one directory shared by
# both nodes (the store is the cluster); sets BASE_N
export JPKID_ADMIN_PASSWORD=admin-password-1
start_node() {
  local n=$1 port=
  : >"$T/node$n.out"; : >"$T/node$n.err"
  "$JPKID" --dir "$T/ca" --store "$URL" --listen 127.0.0.1:0 --queue 64 \
    >"$T/node$n.out" 2>"$T/node$n.err" &
  NODE_PIDS+=($!)
  local pid=$!
  for _ in $(seq 1 300); do
    port=$(sed -n 's|^jpkid: listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$T/node$n.out" 2>/dev/null || true)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] || { bad "node $n did not start: $(tail -5 "$T/node$n.err")"; return 1; }
  printf -v "BASE_$n" '%s' "http://127.0.0.1:$port"
}
start_node 1 && ok "node 1 up on the cluster (CA created in the store)" || { finish; exit 1; }
start_node 2 && ok "node 2 up on the same store" || { finish; exit 1; }

# set-up through node 1: a municipality, a clerk, residents and cards
BASE=$BASE_1
login admin admin admin-password-1; check 200 "admin logs in on node 1"
req admin POST /api/v1/municipalities '{"code":"132217","pref":"東京都","city":"清瀬市","pref_roman":"Tokyo-to","city_roman":"Kiyose-shi"}'
check 201 "municipality"
# issuance needs the ca-admin role; one operator per client (each holds
# its own share of the open challenges)
for c in $(seq 1 "$NCLI"); do
  req admin POST /api/v1/operators "{\"name\":\"issuer$c\",\"role\":\"ca-admin\",\"password\":\"issuer-password-$c\"}"
  check 201 "issuing operator $c"
done
made=0
for i in $(seq 1 "$NRES"); do
  req admin POST /api/v1/residents "{\"ext_id\":\"F$i\",\"name\":\"移行　$i\",\"kana\":\"イコウ\",\"address\":\"東京都清瀬市\",\"birth\":\"1985-04-01\",\"sex\":1,\"muni\":\"132217\"}"
  [ "$CODE" = 201 ] || continue
  rid=$(jq -r .id <<<"$BODY"); echo "$rid" >"res$i.id"
  req admin POST /api/v1/cards "{\"serial\":\"FC$i\",\"resident\":$rid}"
  [ "$CODE" = 201 ] && made=$((made + 1))
done
[ "$made" = "$NRES" ] && ok "$NRES residents with cards" || bad "only $made of $NRES residents with cards"
req admin GET /api/v1/certificates/00; check 404 "node 1 reads the store"
newkey k
SPKI=$(spki_b64 k.key)

# ---- the load: client c uses node (c % 2) + 1 and residents c, c + NCLI, ...
# Each line of cC.log: "<event> <resident> <unix time> [serial sha256
# start]" (start: when that attempt asked for its challenge).
# Each client logs in on its own node (its session lives in the store).
c_req() { # c_req C METHOD PATH [BODY]: sets CODE, BODY; headers in cC.hdr
  local c=$1 m=$2 p=$3 d=${4-}
  local args=(-s -D "c$c.hdr" -o "c$c.resp" -w '%{http_code}' -X "$m" --max-time 40
    -b "c$c.jar" -c "c$c.jar" -H "X-CSRF-Token: $(cat "c$c.tok" 2>/dev/null)")
  [ -n "$d" ] && args+=(-H 'Content-Type: application/json' --data-binary "$d")
  CODE=$(curl "${args[@]}" "$NB$p") || CODE=000
  BODY=$(cat "c$c.resp" 2>/dev/null || true)
}
c_login() {
  rm -f "c$1.jar" "c$1.tok"
  c_req "$1" POST /api/v1/session "{\"name\":\"issuer$1\",\"password\":\"issuer-password-$1\"}"
  if [ "$CODE" = 200 ]; then jq -r '.csrf_token // empty' <<<"$BODY" >"c$1.tok" || rm -f "c$1.tok"; fi
}
now() { date +%s.%N; }
# after a 503: note whether it carried Retry-After, then wait that long
c_wait() {
  local ra
  ra=$(sed -n 's/^[Rr]etry-[Aa]fter: *\([0-9]*\).*/\1/p' "c$1.hdr" | head -1)
  if [ -z "$ra" ]; then echo "noretry $2 $(now) $3" >>"c$1.log"; ra=1; fi
  sleep "$ra"
}
client() {
  local c=$1 end i rid ch body t0
  local var="BASE_$((c % 2 + 1))"; NB=${!var}
  end=$(awk -v s="$(now)" -v d="$LOAD_SECS" 'BEGIN{printf "%d", s + d}')
  for ((i = c; i <= NRES; i += NCLI)); do
    rid=$(cat "res$i.id")
    while :; do
      if [ "$(date +%s)" -ge "$end" ]; then echo "gaveup $i $(now)" >>"c$c.log"; break; fi
      [ -s "c$c.tok" ] || { c_login "$c"; [ "$CODE" = 200 ] || { echo "s$CODE $i $(now)" >>"c$c.log"; [ "$CODE" = 503 ] && c_wait "$c" "$i" login || sleep 1; continue; }; }
      t0=$(now)
      c_req "$c" POST /api/v1/issue/challenge
      if [ "$CODE" = 200 ]; then
        ch=$(jq -r .challenge <<<"$BODY" || true)
        body=$(printf '{"resident":%s,"card":"FC%d","challenge":"%s","auth":{"spki":"%s","pop":"%s"}}' \
          "$rid" "$i" "$ch" "$SPKI" "$(pop k.key "$ch" auth "$rid" "FC$i")")
        c_req "$c" POST /api/v1/issue "$body"
      fi
      case $CODE in
        201)
          local serial sha
          serial=$(jq -r .auth.serial <<<"$BODY" || true)
          sha=$(jq -r .auth.pem <<<"$BODY" | openssl x509 -outform DER | sha256sum | cut -d' ' -f1 || true)
          echo "ok $i $(now) $serial $sha $t0" >>"c$c.log"
          break ;;
        503) echo "busy $i $(now) $(jq -r .error.code <<<"$BODY" 2>/dev/null | head -1)" >>"c$c.log"; c_wait "$c" "$i" issue ;;
        401) echo "relogin $i $(now)" >>"c$c.log"; rm -f "c$c.tok" ;;
        409) # an earlier attempt's outcome was unknown to us and it had
             # committed: the certificate is in the store, not in hand
             echo "held $i $(now) $(head -c 200 <<<"$BODY" | tr ' ' _)" >>"c$c.log"; break ;;
        *) echo "other$CODE $i $(now) $(head -c 200 <<<"$BODY" | tr ' ' _)" >>"c$c.log"; sleep 1 ;;
      esac
    done
  done
  echo "done - $(now)" >>"c$c.log"
}
t_load=$(now)
for c in $(seq 1 "$NCLI"); do : >"c$c.log"; client "$c" & CLIENT_PIDS+=($!); done

# let a quarter of the work land, then kill the primary
oks() { cat c*.log | grep -c '^ok ' || true; }
dl=$(($(date +%s) + 60))
while [ "$(date +%s)" -lt "$dl" ]; do [ "$(oks)" -ge $((NRES / 4)) ] && break; sleep 0.2; done
before=$(oks)
if [ "$before" -ge $((NRES / 4)) ]; then ok "$before certificates issued through both nodes before any failure"
else bad "only $before certificates after 60 s of load (want $((NRES / 4))): $(tail -n 3 c*.log | tr '\n' ' ')"; fi
if [ "$KILL" = 1 ]; then
  killed=$(bash "$CLUSTER" kill-primary "$C")
  t_kill=$(now)
  ok "killed -9 the primary ($killed) after $before certificates"

  gap=
  dl=$(($(date +%s) + 60))
  while [ "$(date +%s)" -lt "$dl" ]; do
    # an attempt begun after the kill (not one in flight at it)
    first=$(cat c*.log | awk -v k="$t_kill" '$1 == "ok" && $6 > k {print $3}' | sort -n | head -1)
    if [ -n "$first" ]; then gap=$(awk -v a="$first" -v k="$t_kill" 'BEGIN{printf "%.1f", a - k}'); break; fi
    sleep 0.2
  done
  echo "# failover gap: ${gap:-none} s (kill -9 of the primary to the first certificate received by an attempt begun after it, either node)"
  [ -n "$gap" ] && awk -v g="$gap" 'BEGIN{exit !(g < 30)}' && ok "issuance resumed after ${gap} s (< 30 s)" ||
    bad "issuance did not resume within 60 s (gap ${gap:-none})"
  newp=
  for _ in $(seq 1 60); do
    newp=$(bash "$CLUSTER" status "$C" | jq -r '.members[] | select(.role=="leader") | .name' || true)
    [ -n "$newp" ] && [ "$newp" != "$killed" ] && break
    sleep 0.5
  done
  [ -n "$newp" ] && [ "$newp" != "$killed" ] && ok "new primary: $newp" || bad "leader after the kill: '$newp'"

  bash "$CLUSTER" start-member "$C" "$killed"
  rejoined=
  for _ in $(seq 1 120); do
    st=$(bash "$CLUSTER" status "$C" | jq -r --arg m "$killed" '.members[] | select(.name==$m) | "\(.role) \(.state)"')
    case "$st" in replica\ running|replica\ streaming|sync_standby\ running|sync_standby\ streaming) rejoined=$st; break ;; esac
    sleep 0.5
  done
  [ -n "$rejoined" ] && ok "$killed restarted and rejoined as $rejoined" || bad "$killed did not rejoin: $st"
fi

# the clients finish (bounded by LOAD_SECS each)
for p in "${CLIENT_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
CLIENT_PIDS=()
echo "# load ran $(awk -v a="$t_load" -v b="$(now)" 'BEGIN{printf "%.0f", b - a}') s"
cat c*.log >all.log
n_ok=$(grep -c '^ok ' all.log || true)
n_busy=$(grep -c '^busy ' all.log || true)
n_held=$(grep -c '^held ' all.log || true)
echo "# load: $NRES residents on 2 nodes, $n_ok certificates received, $n_busy 503s retried, $n_held found already issued on retry"
[ "$(grep -c '^done ' all.log)" = "$NCLI" ] && ok "every client finished" || bad "clients did not finish"
grep -q '^gaveup ' all.log && bad "work not finished in ${LOAD_SECS}s: $(grep '^gaveup ' all.log | head -3 | tr '\n' ' ')" ||
  ok "every resident's issuance finished"
[ $((n_ok + n_held)) -eq "$NRES" ] && ok "every resident has a certificate ($n_ok received, $n_held held)" ||
  bad "$n_ok received + $n_held held != $NRES"
grep -q '^other' all.log && bad "answers other than 201/503/409: $(grep '^other' all.log | head -3 | tr '\n' ' ')" ||
  ok "no answer but 201 and 503 (no 500, no storage_fault) across the failover"
grep -q '^noretry ' all.log && bad "503 without Retry-After: $(grep '^noretry ' all.log | head -3 | tr '\n' ' ')" ||
  ok "every 503 had Retry-After"
if [ "$KILL" = 1 ]; then
  [ "$n_busy" -gt 0 ] && ok "the failover was seen as 503 busy ($n_busy)" || bad "no 503 during the failover"
fi
codes=$(awk '$1 == "busy" {print $4}' all.log | sort | uniq -c | tr '\n' ' ')
echo "# 503 codes: $codes"

# ---- on the new primary: every certificate received, exactly once
grep '^ok ' all.log | awk '{print $4, $5}' | sort >received.txt
sql "SELECT serial || ' ' || encode(sha256(der), 'hex') FROM certificates WHERE kind = 2 ORDER BY 1" | sort >stored.txt
missing=$(comm -23 received.txt stored.txt | wc -l)
[ "$missing" = 0 ] && ok "every certificate received ($n_ok) is in the store with the same DER" ||
  bad "$missing received certificates not in the store: $(comm -23 received.txt stored.txt | head -3 | tr '\n' ' ')"
[ "$(cut -d' ' -f1 received.txt | sort | uniq -d | wc -l)" = 0 ] && ok "no serial received twice" || bad "a serial was received twice"
dups=$(sql "SELECT count(*) FROM (SELECT encode(sha256(der), 'hex') FROM certificates GROUP BY 1 HAVING count(*) > 1) d")
[ "$dups" = 0 ] && ok "no certificate stored twice" || bad "$dups certificates stored twice"
# the serial inside each stored DER, not only the key column
sql "SELECT encode(der, 'hex') FROM certificates" | while read -r h; do
  tr a-f A-F <<<"$h" | basenc --base16 -d | openssl x509 -inform DER -noout -serial
done | sort | uniq -d >dupserials.txt
[ ! -s dupserials.txt ] && ok "no serial appears twice among the stored certificates" || bad "duplicate serials: $(head -3 dupserials.txt)"
per=$(sql "SELECT count(*) FROM (SELECT resident_id FROM certificates WHERE kind = 2 AND status = 0 GROUP BY 1 HAVING count(*) > 1) d")
[ "$per" = 0 ] && ok "no resident holds two certificates" || bad "$per residents hold two"
nst=$(wc -l <stored.txt)
[ "$nst" -eq "$NRES" ] && ok "the store holds exactly $NRES issued certificates" || bad "the store holds $nst for $NRES residents"

if out=$("$JPKI" --dir "$T/ca" --store "$URL" --json audit verify 2>&1) && jq -e '.ok == true' <<<"$out" >/dev/null; then
  ok "jpki audit verify passes on the new primary"
else
  bad "jpki audit verify: $out"
fi
BASE=$BASE_2
login sup admin admin-password-1
req sup GET /api/v1/audit/verify; check_msg 200 '"ok":true' "node 2 verifies the audit chain after the failover"
grep -h "storage fault" "$T"/node*.err | head -3 | sed 's/^/# /' || true
grep -qh "storage fault" "$T"/node*.err && bad "a node logged a storage fault" || ok "no storage fault logged"

for p in "${NODE_PIDS[@]}"; do
  kill "$p" 2>/dev/null || true
  rc=0; wait "$p" 2>/dev/null || rc=$?
  # 66: a sanitizer's report (TSan in CI) -- print it whole
  [ "$rc" = 0 ] && ok "node (pid $p) stopped cleanly" || bad "node $p exit $rc: $(grep -h -A60 'WARNING: \|ERROR: ' "$T"/node*.err | head -120; tail -3 "$T"/node*.err)"
done
NODE_PIDS=()
finish
