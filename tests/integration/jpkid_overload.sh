#!/usr/bin/env bash
# jpkid under far more load than its capacity, on loopback, bounded in
# count and time.  The shape is asserted, not wall-clock thresholds: only
# 2xx and 503 (each 503 with Retry-After), no timeouts, no other 5xx;
# nothing lost (every certificate handed out is in the store, every
# refused request succeeds when retried, no resident got two), the audit
# chain verifies.  Latencies of admitted requests are reported.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"

N=${JPKID_OVERLOAD_N:-240}   # issuance requests offered at once
SECS=${JPKID_OVERLOAD_SECS:-4}
command -v wrk >/dev/null || { echo "wrk missing: run scripts/install-deps.sh"; exit 1; }

export JPKID_ADMIN_PASSWORD=admin-password-1
# small capacities so that the offered load is many times over them
start_jpkid "$T/ca" --threads 2 --workers 1 --queue 8 --issue-batch 8 --deadline-ms 2000
login admin admin admin-password-1; check 200 "admin logs in"
req admin POST /api/v1/municipalities '{"code":"132217","pref":"東京都","city":"清瀬市","pref_roman":"Tokyo-to","city_roman":"Kiyose-shi"}'
check 201 "municipality"
req admin POST /api/v1/operators '{"name":"clerk1","role":"clerk","password":"clerk-password-1"}'; check 201 "clerk"
login clerk clerk1 clerk-password-1; check 200 "clerk logs in"

# one sequential curl per phase (keep-alive), driven by a config file
cfg_head() { printf 'silent\n'; }
cfg_req() { # cfg_req METHOD URL DATAFILE OUT HDR
  printf 'next\nsilent\nurl = "%s"\nrequest = "%s"\ncookie = "%s"\nheader = "X-CSRF-Token: %s"\nheader = "Content-Type: application/json"\n' \
    "$BASE$2" "$1" "$T/admin.jar" "$CSRF_admin"
  [ -n "$3" ] && printf 'data-binary = "@%s"\n' "$3"
  printf 'output = "%s"\n' "$4"
  [ -n "${5:-}" ] && printf 'dump-header = "%s"\n' "$5"
  printf 'write-out = "%%{http_code} %%{time_total} %s\\n"\n' "$(basename "$4")"
}
mkdir -p res card chal iss
{ cfg_head; for i in $(seq 1 "$N"); do
    printf '{"ext_id":"L%d","name":"負荷　%d","kana":"フカ","address":"東京都清瀬市","birth":"1985-04-01","sex":1,"muni":"132217"}' "$i" "$i" >res/$i.json
    cfg_req POST /api/v1/residents res/$i.json res/$i.out
  done; } >res.cfg
curl -K res.cfg >res.codes
[ "$(grep -c '^201 ' res.codes)" = "$N" ] && ok "$N residents" || bad "residents: $(sort res.codes | cut -d' ' -f1 | uniq -c)"
{ cfg_head; for i in $(seq 1 "$N"); do
    rid=$(jq -r .id res/$i.out); echo "$rid" >res/$i.id
    printf '{"serial":"LC%d","resident":%s}' "$i" "$rid" >card/$i.json
    cfg_req POST /api/v1/cards card/$i.json card/$i.out
    cfg_req POST /api/v1/issue/challenge "" chal/$i.out
  done; } >card.cfg
curl -K card.cfg >card.codes
chal_made=$SECONDS # challenges live SRV_CHALLENGE_TTL (300 s)
[ "$(grep -c '^201 ' card.codes)" = "$N" ] && [ "$(grep -c '^200 ' card.codes)" = "$N" ] && ok "$N cards and challenges" \
  || bad "cards: $(cut -d' ' -f1 card.codes | sort | uniq -c)"
newkey k
spki=$(spki_b64 k.key)
ksha=$(spki_sha k.key) # one key for all: its hash once (pop() hashes per call)
sign_req() { # I: iss/I.json, the request with its proof over chal/I.out
  local i=$1 rid ch p
  rid=$(cat res/$i.id); ch=$(jq -r .challenge chal/$i.out)
  p=$(printf 'openjpki-pop-v1\nchallenge=%s\nkind=auth\nresident=%s\ncard=LC%d\nspki-sha256=%s\n' \
    "$ch" "$rid" "$i" "$ksha" | openssl dgst -sha256 -sign k.key | base64 -w0)
  printf '{"resident":%s,"card":"LC%d","challenge":"%s","auth":{"spki":"%s","pop":"%s"}}' \
    "$rid" "$i" "$ch" "$spki" "$p" >iss/$i.json
}
for i in $(seq 1 "$N"); do sign_req "$i"; done
echo "# proofs signed $((SECONDS - chal_made)) s after the challenges were made"
{ cfg_head; for i in $(seq 1 "$N"); do cfg_req POST /api/v1/issue iss/$i.json iss/$i.out iss/$i.hdr; done; } >iss.cfg

# a certificate to ask OCSP about, issued before the storm: requests
# with a nonce are signed live, requests without are served pre-signed
newkey k0
req clerk POST /api/v1/residents '{"ext_id":"L0","name":"負荷","kana":"フカ","address":"東京都清瀬市","birth":"1985-04-01","sex":1,"muni":"132217"}'
rid0=$(jq -r .id <<<"$BODY")
req clerk POST /api/v1/cards "{\"serial\":\"LC0\",\"resident\":$rid0}"
req admin POST /api/v1/issue "$(issue_body admin "$rid0" LC0 - k0.key)"; check 201 "certificate for OCSP"
jq -r .auth.pem <<<"$BODY" >c0.pem
R=$T/ca/roots
openssl ocsp -issuer "$R/auth-root.pem" -cert c0.pem -reqout nonce.der 2>/dev/null
openssl ocsp -issuer "$R/auth-root.pem" -cert c0.pem -no_nonce -reqout plain.der 2>/dev/null
b64=$(base64 -w0 plain.der | tr '+/' '-_' | tr -d '=')
cat >count.lua <<'LUA'
-- counts answers by status (and 503s without Retry-After) across threads
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  counts = {}
  if args[1] then
    local f = assert(io.open(args[1], "rb")); wrk.body = f:read("*a"); f:close()
    wrk.method = "POST"; wrk.headers["Content-Type"] = "application/ocsp-request"
  end
end
function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  if status == 503 and headers["Retry-After"] == nil then counts["503-no-retry-after"] = (counts["503-no-retry-after"] or 0) + 1 end
end
function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do all[k] = (all[k] or 0) + v end
  end
  for k, v in pairs(all) do io.write(string.format("status %s %d\n", tostring(k), v)) end
  io.write(string.format("timeouts %d\n", summary.errors.timeout))
  io.write(string.format("p99_ms %.2f\n", latency:percentile(99) / 1000))
end
LUA

# ---- the storm: issuance burst + live OCSP flood + cached OCSP reads ----
wrk -t1 -c64 -d"${SECS}s" --timeout 10s -s count.lua "$BASE/ocsp" -- "$T/nonce.der" >wrk_live.txt 2>&1 &
W1=$!
wrk -t1 -c32 -d"${SECS}s" --timeout 10s -s count.lua "$BASE/ocsp/$b64" >wrk_cached.txt 2>&1 &
W2=$!
sleep 0.5
t0=$(date +%s.%N)
curl -s -Z --parallel-immediate --parallel-max "$N" --max-time 30 -K iss.cfg >iss.codes || true
t1=$(date +%s.%N)
wait $W1 || true
wait $W2 || true

# ---- the shape ----
codes=$(cut -d' ' -f1 iss.codes | sort | uniq -c | tr '\n' ' ')
echo "# issuance: $N offered at once, answered in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}') s: $codes"
n201=$(grep -c '^201 ' iss.codes || true); n503=$(grep -c '^503 ' iss.codes || true)
[ $((n201 + n503)) -eq "$N" ] && ok "issuance: only 201 and 503 ($n201 + $n503)" || bad "issuance codes: $codes"
[ "$n503" -gt 0 ] && ok "overload shed with 503" || bad "no 503 at $N concurrent issuance requests"
[ "$n201" -gt 0 ] && ok "work admitted under overload" || bad "nothing admitted"
noretry=0
for h in iss/*.hdr; do
  if head -1 "$h" | grep -q ' 503' && ! grep -qi '^Retry-After: [0-9]' "$h"; then noretry=$((noretry + 1)); fi
done
[ "$noretry" -eq 0 ] && ok "every 503 has Retry-After" || bad "$noretry 503s without Retry-After"
p99=$(grep '^201 ' iss.codes | cut -d' ' -f2 | sort -n | awk '{a[NR]=$1} END {i=int(NR*0.99); if (i<1) i=1; print a[i]}')
max=$(grep '^201 ' iss.codes | cut -d' ' -f2 | sort -n | tail -1)
echo "# issuance admitted: p99 ${p99}s, max ${max}s (client-side, includes the batch's signing)"
for f in wrk_live wrk_cached; do
  echo "# $f: $(grep -E '^(status|timeouts|p99_ms)' $f.txt | tr '\n' ' ')"
  others=$(grep '^status ' $f.txt | awk '$2 != 200 && $2 != 503 {print}')
  [ -z "$others" ] && grep -q '^status 200 ' $f.txt && ok "$f: only 200 and 503" || bad "$f: $(cat $f.txt)"
  grep -q '^timeouts 0$' $f.txt && ok "$f: no timeouts" || bad "$f timeouts: $(cat $f.txt)"
  ! grep -q 'no-retry-after' $f.txt && ok "$f: 503s carry Retry-After" || bad "$f: 503 without Retry-After"
done
grep -q '^status 503 ' wrk_cached.txt && bad "cached OCSP answers were refused" || ok "cached OCSP never refused"
grep -q '^status 503 ' wrk_live.txt && ok "live OCSP shed with 503" || echo "# live OCSP: no 503 (capacity was enough)"
m=$(curl -s "$BASE/metrics")
hist_p99() { # hist_p99 CLASS: upper bound of the bucket holding the 99th percentile
  grep "^jpkid_request_duration_seconds_bucket{class=\"$1\"" <<<"$m" | \
    sed 's/.*le="\([^"]*\)"} \(.*\)/\1 \2/' | awk '{le[NR]=$1; c[NR]=$2} END {t=c[NR]; for (i=1;i<=NR;i++) if (c[i] >= 0.99*t) {print le[i]; exit}}'
}
echo "# server-side p99 (bucket bound): issue $(hist_p99 issue)s, ocsp-live $(hist_p99 ocsp)s, inline $(hist_p99 inline)s"
echo "# $(grep -E '^jpkid_(rejected|deadline_exceeded)_total\{class="(issue|ocsp)"\}' <<<"$m" | tr '\n' ' ')"
grep -qE '^jpkid_rejected_total\{class="issue"\} [1-9]' <<<"$m" && ok "metrics count the rejections" || bad "metrics: rejections not counted"

# ---- nothing lost ----
{ cfg_head; for i in $(seq 1 "$N"); do
    if head -1 iss/$i.hdr 2>/dev/null | grep -q ' 201'; then
      s=$(jq -r .auth.serial iss/$i.out); echo "$s" >>issued.serials
      printf 'next\nurl = "%s/api/v1/certificates/%s"\ncookie = "%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' "$BASE" "$s" "$T/clerk.jar"
    fi
  done; } >get.cfg
touch issued.serials
got=$(curl -K get.cfg | grep -c '^200$' || true)
[ "$got" -eq "$n201" ] && ok "every certificate handed out ($n201) is in the store" || bad "store has $got of $n201"
[ "$(sort -u issued.serials | wc -l)" -eq "$n201" ] && ok "serials unique" || bad "duplicate serials"
# the refused ones, retried one by one with their unused challenges, succeed;
# on a machine so loaded that those would expire before the retry, the
# client does what a real one does first: fetches new challenges
if [ $((SECONDS - chal_made)) -gt "${OVERLOAD_RENEW_AFTER:-200}" ]; then
  { cfg_head; for i in $(seq 1 "$N"); do
      head -1 iss/$i.hdr 2>/dev/null | grep -q ' 201' || cfg_req POST /api/v1/issue/challenge "" chal/$i.out
    done; } >rechal.cfg
  curl -K rechal.cfg >/dev/null || true
  for i in $(seq 1 "$N"); do head -1 iss/$i.hdr 2>/dev/null | grep -q ' 201' || sign_req "$i"; done
  echo "# challenges renewed for the retry (the first ones were $((SECONDS - chal_made)) s old)"
fi
{ cfg_head; for i in $(seq 1 "$N"); do
    head -1 iss/$i.hdr 2>/dev/null | grep -q ' 201' || cfg_req POST /api/v1/issue iss/$i.json iss/$i.retry
  done; } >retry.cfg
nretry=$(grep -c '^next' retry.cfg || true)
echo "# retrying $nretry, $((SECONDS - chal_made)) s after their challenges were made"
if [ "$nretry" -gt 0 ]; then curl -K retry.cfg >retry.codes || true; else : >retry.codes; fi
nok=$(grep -c '^201 ' retry.codes || true)
[ "$nok" -eq "$nretry" ] && ok "the $nretry refused requests succeed when retried" \
  || bad "retry: $(cut -d' ' -f1 retry.codes | sort | uniq -c | tr '\n' ' ') first answer: $(cat $(ls iss/*.retry 2>/dev/null | head -1) 2>/dev/null | head -c 300)"
n_auth=$(sqlite3 "$T/ca/jpki.db" "SELECT count(*) FROM certificates WHERE kind = 2 AND status = 0")
[ "$n_auth" -eq $((N + 1)) ] && ok "exactly one certificate per resident ($n_auth)" || bad "store holds $n_auth auth certificates for $((N + 1)) residents"
req clerk GET /api/v1/residents/"$(cat res/1.id)"; check 200 "still answering"
login sup admin admin-password-1
req sup GET /api/v1/audit/verify; check_msg 200 '"ok":true' "audit chain verifies after the storm"
stop_jpkid
finish
