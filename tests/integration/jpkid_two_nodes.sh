#!/usr/bin/env bash
# Two jpkid nodes on one store (issue #12 item 3).  On a PostgreSQL 15 of
# the test's own (scripts/pg-test-server.sh): a session made on node A
# works on node B (cookie and CSRF token), an issuance challenge opened on
# one node is spent on the other, a log-out or a disabled operator on one
# node ends the session on both; a certificate issued on A and revoked on
# B is answered revoked by A's OCSP (`openssl ocsp`, the pre-signed
# answer) within a second -- the measured delay is printed -- and is on
# A's CRL; the same after the listeners' connections were cut.  Then two nodes on one SQLite file share sessions too.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
SRC=${JPKI_SRC:-$(cd "$HERE/../.." && pwd)}
PGS=$SRC/scripts/pg-test-server.sh
# outside $T: the server runs as an unprivileged user when we are root
PGDIR=/tmp/jpki-two-nodes-pg.$$
PIDS=()
stop_nodes() {
  local p
  for p in "${PIDS[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  PIDS=()
}
cleanup() {
  stop_nodes
  (cd / && bash "$PGS" stop "$PGDIR") >/dev/null 2>&1 || true
  rm -rf "$T"
}
trap cleanup EXIT

# start_node NAME DIR [flags...]: sets PORT_NAME once /healthz answers.
start_node() {
  local name=$1 dir=$2 port=
  shift 2
  : >"$T/$name.out"; : >"$T/$name.err"
  "$JPKID" --dir "$dir" --listen 127.0.0.1:0 "$@" >"$T/$name.out" 2>"$T/$name.err" &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 300); do
    port=$(sed -n 's|^jpkid: listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$T/$name.out" 2>/dev/null || true)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$T/$name.err" >&2; return 1; }
    sleep 0.1
  done
  [ -n "$port" ] || { echo "jpkid $name did not start" >&2; return 1; }
  printf -v "PORT_$name" '%s' "$port"
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null
}
on() { BASE=http://127.0.0.1:$1; }
now_ms() { date +%s%3N; }

export JPKID_ADMIN_PASSWORD=admin-password-1
URL=$(cd / && timeout 120 bash "$PGS" start "$PGDIR")
[ -n "$URL" ] && ok "PostgreSQL 15 started" || { bad "PostgreSQL did not start"; finish; }
start_node A "$T/ca" --store "$URL"
start_node B "$T/ca" --store "$URL"
A=$PORT_A; B=$PORT_B
[ "$A" != "$B" ] && ok "two nodes on one PostgreSQL store (:$A, :$B)" || bad "ports $A $B"
R=$T/ca/roots

# ---- a session made on A works on B ----
on "$A"; login admin admin admin-password-1; check 200 "admin logs in on A"
on "$B"; req admin GET /api/v1/session; check_msg 200 '"role":"ca-admin"' "A's session cookie works on B"
jq -e --arg c "$CSRF_admin" '.csrf_token == $c' <<<"$BODY" >/dev/null \
  && ok "B hands back A's CSRF token" || bad "csrf on B: $BODY"
req admin POST /api/v1/municipalities '{"code":"132217","pref":"東京都","city":"清瀬市","pref_roman":"Tokyo-to","city_roman":"Kiyose-shi"}'
check 201 "a mutation on B with A's session and CSRF token"
NOCSRF=1 req admin POST /api/v1/municipalities '{"code":"131016","pref":"東京都","city":"千代田区","pref_roman":"Tokyo-to","city_roman":"Chiyoda-ku"}'
check 403 "B refuses a mutation without the CSRF token"
CSRF_admin_saved=$CSRF_admin; CSRF_admin=$(printf '%064d' 0)
req admin POST /api/v1/municipalities '{"code":"131016","pref":"東京都","city":"千代田区","pref_roman":"Tokyo-to","city_roman":"Chiyoda-ku"}'
check 403 "B refuses a wrong CSRF token"
CSRF_admin=$CSRF_admin_saved
req admin POST /api/v1/operators '{"name":"clerk1","role":"clerk","password":"clerk-password-1"}'; check 201 "operator created on B"

# ---- issue on A (challenge opened on B), revoke on B ----
req admin POST /api/v1/residents '{"ext_id":"A1","name":"山田　太郎","kana":"ヤマダ　タロウ","address":"東京都清瀬市上清戸１丁目","birth":"1980-12-31","sex":1,"muni":"132217"}'
check 201 "resident on B"; RID=$(jq -r .id <<<"$BODY")
req admin POST /api/v1/cards "{\"serial\":\"CARD$RID\",\"resident\":$RID}"; check 201 "card on B"
newkey k1; newkey k2
on "$B"; body=$(issue_body admin "$RID" "CARD$RID" k1.key k2.key)
on "$A"; req admin POST /api/v1/issue "$body"; check 201 "issued on A with a challenge from B"
SER=$(jq -r .sign.serial <<<"$BODY"); jq -r .sign.pem <<<"$BODY" >a_sign.pem
ASER=$(jq -r .auth.serial <<<"$BODY"); jq -r .auth.pem <<<"$BODY" >a_auth.pem
req admin POST /api/v1/issue "$body"; check_msg 409 "challenge" "the challenge is spent on every node"
ocsp_a() { openssl ocsp -issuer "$R/sign-root.pem" -cert a_sign.pem -url "http://127.0.0.1:$A/ocsp" -CAfile "$R/sign-root.pem" -no_nonce -timeout 5 2>&1; }
out=$(ocsp_a)
grep -q "a_sign.pem: good" <<<"$out" && grep -q "Response verify OK" <<<"$out" \
  && ok "A's OCSP: good before the revocation" || bad "ocsp before: $out"

on "$B"; req admin POST "/api/v1/certificates/$SER/revoke" '{"reason":"keyCompromise"}'
t0=$(now_ms); check 200 "revoked on B"
seen=
for _ in $(seq 1 100); do # bounded: 100 tries, well over 5 s
  out=$(ocsp_a)
  if grep -q "a_sign.pem: revoked" <<<"$out"; then seen=$(now_ms); break; fi
  [ $(( $(now_ms) - t0 )) -gt 5000 ] && break
  sleep 0.02
done
if [ -n "$seen" ]; then
  delay=$((seen - t0))
  echo "# revocation on B seen by A's OCSP after ${delay} ms"
  grep -q "Response verify OK" <<<"$out" && grep -q "Reason: keyCompromise" <<<"$out" \
    && ok "A's OCSP: revoked (keyCompromise), signed" || bad "ocsp after: $out"
  [ "$delay" -le 1000 ] && ok "A answered revoked within 1 s (${delay} ms)" \
    || bad "A answered revoked after ${delay} ms (> 1 s)"
else
  bad "A's OCSP never said revoked within 5 s: $out"
fi
curl -s -o full.crl "http://127.0.0.1:$A/crl/sign/full.crl"
openssl crl -inform DER -in full.crl -noout -text 2>/dev/null | tr -d ' :' | grep -qi "SerialNumber$SER\$" \
  && ok "A's full CRL lists the serial revoked on B" || bad "A's CRL lacks $SER"

grep -q "listening for revocations\|revocation listener" "$T/A.err" "$T/B.err" \
  && bad "a node could not listen: $(cat "$T/A.err" "$T/B.err")" || ok "both nodes listened without a fault"

# ---- a listener whose connection is lost connects again ----
PSQL=
for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
  [ -x "$d/psql" ] && { PSQL=$d/psql; break; }
done
killed=$("$PSQL" -X -q -t -A "$URL" -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = 'LISTEN jpki_revoked'" 2>&1)
[ "$killed" = 2 ] && ok "both nodes' listening connections cut" || bad "listeners cut: $killed"
ocsp_auth() { openssl ocsp -issuer "$R/auth-root.pem" -cert a_auth.pem -url "http://127.0.0.1:$A/ocsp" -CAfile "$R/auth-root.pem" -no_nonce -timeout 5 2>&1; }
out=$(ocsp_auth); grep -q "a_auth.pem: good" <<<"$out" && ok "A's OCSP: auth certificate good" || bad "ocsp auth: $out"
on "$B"; req admin POST "/api/v1/certificates/$ASER/revoke" '{"reason":"keyCompromise"}'
t0=$(now_ms); check 200 "auth certificate revoked on B"
seen=
for _ in $(seq 1 100); do
  out=$(ocsp_auth)
  if grep -q "a_auth.pem: revoked" <<<"$out"; then seen=$(now_ms); break; fi
  [ $(( $(now_ms) - t0 )) -gt 5000 ] && break
  sleep 0.02
done
if [ -n "$seen" ]; then
  echo "# after the listener reconnected: seen by A after $((seen - t0)) ms"
  [ $((seen - t0)) -le 1000 ] && ok "A's listener reconnected: revoked within 1 s ($((seen - t0)) ms)" \
    || bad "after reconnecting, A saw the revocation after $((seen - t0)) ms"
else
  bad "after its listener was cut, A's OCSP never said revoked within 5 s: $out"
fi
[ "$("$PSQL" -X -q -t -A "$URL" -c "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN jpki_revoked'")" = 2 ] \
  && ok "both nodes listen again" || bad "listeners after the cut"

# ---- ending sessions on one node ends them on both ----
on "$B"; login clerk clerk1 clerk-password-1; check 200 "clerk logs in on B"
on "$A"; req clerk GET /api/v1/session; check 200 "clerk's session works on A"
req admin POST /api/v1/operators/clerk1/disable; check 200 "clerk disabled on A"
on "$B"; req clerk GET /api/v1/session; check 401 "clerk's session ended on B too"
on "$A"; req admin DELETE /api/v1/session; check 200 "admin logs out on A"
on "$B"; req admin GET /api/v1/session; check 401 "admin's session ended on B too"
stop_nodes

# ---- two nodes on one SQLite file ----
start_node C "$T/ca2"
start_node D "$T/ca2"
on "$PORT_C"; login admin admin admin-password-1; check 200 "admin logs in on SQLite node C"
on "$PORT_D"; req admin GET /api/v1/session; check_msg 200 '"role":"ca-admin"' "C's session works on SQLite node D"
req admin POST /api/v1/municipalities '{"code":"132217","pref":"東京都","city":"清瀬市","pref_roman":"Tokyo-to","city_roman":"Kiyose-shi"}'
check 201 "a mutation on D with C's session"
req admin DELETE /api/v1/session; check 200 "log out on D"
on "$PORT_C"; req admin GET /api/v1/session; check 401 "the session ended on C too"
stop_nodes
finish
