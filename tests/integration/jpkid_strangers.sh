#!/usr/bin/env bash
# What strangers may hold in jpkid (no session, no key): request bodies
# count against a per-client and a global byte budget (503 at once past
# them), a body that trickles in is cut after --body-seconds, and one
# client's flood of log-in challenges gets 429 with Retry-After while other
# clients still log in.  Clients are loopback addresses (127.0.0.2, ...).
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
export JPKID_ADMIN_PASSWORD=admin-password-1
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$JPKID_PID/status"; }
metric() { curl -s "$BASE/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# 1. 200 trickling connections from one client, each announcing a 2 MB
#    body (verify's cap), sending 256 KiB of it, then a byte a second.  The
#    client's budget (8 MiB) admits 4 of them at a time (the declared length
#    is reserved at the headers); the rest get 503 before their body; the
#    admitted ones are cut after 4 s.
start_jpkid "$T/ca" --client-body-budget-mb 8 --body-budget-mb 64 --body-seconds 4
before=$(rss_kb)
node "$HERE/lib/trickle.mjs" "$PORT" 127.0.0.2 200 262144 12 >trickle.json &
TPID=$!
peak=$before
for _ in $(seq 1 60); do
  kill -0 "$TPID" 2>/dev/null || break
  r=$(rss_kb); [ "$r" -gt "$peak" ] && peak=$r
  sleep 0.2
done
wait "$TPID" || true
res=$(cat trickle.json)
echo "# trickle: $res; RSS ${before} kB before, ${peak} kB at the peak"
refused=$(jq -r '.status["503"] // 0' <<<"$res")
cut=$(jq -r '.closed_without_answer' <<<"$res")
[ "$refused" -ge 150 ] && ok "bodies past the client's budget refused with 503 at once ($refused of 200)" || bad "503s: $res"
[ "$cut" -ge 1 ] && [ "$(metric jpkid_body_timeouts_total)" -ge 1 ] && ok "trickling bodies cut after --body-seconds ($cut)" || bad "cuts: $res"
grow=$(( (peak - before) / 1024 ))
[ "$grow" -lt 48 ] && ok "memory bounded: RSS grew ${grow} MiB under 200 trickling connections (budget 8 MiB)" || bad "RSS grew ${grow} MiB"
[ "$(metric jpkid_body_bytes)" = 0 ] && ok "every reserved byte given back" || bad "body bytes left: $(metric jpkid_body_bytes)"
code=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.3 -H 'Content-Type: application/json' --data '{"cms":"AA=="}' "$BASE/api/v1/verify")
[ "$code" = 200 ] || [ "$code" = 400 ] && ok "another client's verify still answered ($code)" || bad "other client: $code"
stop_jpkid

# 2. a challenge flood from 127.0.0.2: its burst (64) passes, then 429 with
#    Retry-After; 127.0.0.1 still gets challenges and its table room.
start_jpkid "$T/ca"
#    One curl process sends the 100 on one connection, so that a loaded
#    machine spawning processes slowly does not let the bucket refill
#    (2 a second) between them.
for i in $(seq 1 100); do
  printf 'url = "%s"\noutput = "body.%d"\n' "$BASE/api/v1/login/challenge?origin=https://flood.example" "$i"
done >flood.cfg
curl -s --interface 127.0.0.2 -w '%{http_code} %header{retry-after}\n' -K flood.cfg >answers
cut -d' ' -f1 answers >codes
codes=$(sort codes | uniq -c | tr '\n' ' ')
echo "# flood: $codes"
first=$(grep -n '^429$' codes | head -1 | cut -d: -f1)
[ -n "$first" ] && [ "$first" -ge 60 ] && grep -q '^200$' codes && ok "one client's flood: its burst ($((first - 1)) answered), then 429" || bad "flood: $codes"
[ -n "$first" ] && sed -n "${first}p" answers | grep -q '^429 [0-9]' && grep -q '"too_many_challenges"' "body.$first" &&
  ok "429 carries Retry-After and its reason" || bad "429: $(sed -n "${first:-1}p" answers) $(cat "body.${first:-1}")"
code=$(curl -s -o body -w '%{http_code}' --interface 127.0.0.1 "$BASE/api/v1/login/challenge?origin=https://portal.example")
[ "$code" = 200 ] && jq -e '.nonce | length == 43' body >/dev/null && ok "another client's log-in challenge still answered" || bad "other client: $code $(cat body)"

# 3. wrong passwords: clerk1 locked after 5 (even the right password then
#    gets 429), its lockout audited; a client trying 20 names is locked;
#    the administrator from another address still logs in.
login admin admin admin-password-1
req admin POST /api/v1/operators '{"name":"clerk1","role":"clerk","password":"clerk-password-1"}'; check 201 "create clerk1"
for i in 1 2 3 4 5; do login c clerk1 "wrong-password-$i"; done
[ "$CODE" = 401 ] && ok "five wrong passwords: 401 each" || bad "5th: $CODE $BODY"
login c clerk1 clerk-password-1
[ "$CODE" = 429 ] && grep -qi "^Retry-After: [0-9]" "$T/hdr" && grep -q '"too_many_attempts"' <<<"$BODY" &&
  ok "account locked: the right password gets 429 with Retry-After" || bad "locked: $CODE $BODY"
req admin GET "/api/v1/audit?q=operator:clerk1"
jq -e '[.. | strings | select(test("operator.lockout"))] | length > 0' <<<"$BODY" >/dev/null 2>&1 ||
  grep -q "operator.lockout" <<<"$BODY" && ok "the lockout is in the audit log" || bad "audit: ${BODY:0:300}"
codes=$(for i in $(seq 1 21); do curl -s -o /dev/null -w '%{http_code}\n' --interface 127.0.0.4 -H 'Content-Type: application/json' \
  --data "{\"name\":\"guess$i\",\"password\":\"guess-password-$i\"}" "$BASE/api/v1/session"; done | sort | uniq -c | tr '\n' ' ')
grep -q " 429" <<<"$codes" && ok "a client guessing 21 names is locked: $codes" || bad "client lock: $codes"
login admin2 admin admin-password-1
[ "$CODE" = 200 ] && ok "the administrator still logs in from another address" || bad "admin: $CODE"
stop_jpkid
finish
