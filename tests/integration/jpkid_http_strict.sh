#!/usr/bin/env bash
# Strict HTTP in front of jpkid's router: a request whose framing could be
# read two ways (two Content-Lengths, Content-Length with
# Transfer-Encoding, a Transfer-Encoding other than chunked) gets 400 and
# its connection closed, so nothing after it is read as a next request;
# headers over 16 KiB get 431 and a URL over 4 KiB 414; sound requests
# are untouched.  Strict input: names, kana and addresses with control
# characters or direction overrides get 400; card serials have one syntax.
# Raw requests through bash's /dev/tcp, loopback only.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
export JPKID_ADMIN_PASSWORD=admin-password-1
start_jpkid "$T/ca"

# raw REQUEST: sends it, reads until the server closes (5 s at most);
# the answer in $T/raw.out
# (the server may close before the whole request is written: a write to
# the closed socket must fail quietly, not kill the test with SIGPIPE)
trap '' PIPE
raw() {
  exec 3<>"/dev/tcp/127.0.0.1/$PORT"
  printf '%b' "$1" >&3 2>/dev/null || true
  timeout 5 cat <&3 >"$T/raw.out" 2>/dev/null || true
  exec 3<&- 3>&-
  tr -d '\r' <"$T/raw.out" >"$T/raw.txt"
}
statuses() { grep -c '^HTTP/1.1 ' "$T/raw.txt" || true; }
first() { sed -n '1s|^HTTP/1.1 \([0-9]*\).*|\1|p' "$T/raw.txt"; }

raw 'POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhelloGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'
[ "$(first)" = 400 ] && [ "$(statuses)" = 1 ] && grep -q "more than one Content-Length" "$T/raw.txt" &&
  ok "two Content-Lengths: 400, closed, the smuggled request never read" || bad "two CL: $(cat "$T/raw.txt")"
raw 'POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello'
[ "$(first)" = 400 ] && ok "a repeated Content-Length: 400" || bad "same CL twice: $(cat "$T/raw.txt")"
raw 'POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
[ "$(first)" = 400 ] && grep -q "together with Transfer-Encoding" "$T/raw.txt" && ok "Content-Length with chunked: 400" || bad "CL+TE: $(cat "$T/raw.txt")"
t0=$(date +%s%N)
raw 'POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nhello'
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$(first)" = 400 ] && grep -q "other than chunked" "$T/raw.txt" && [ "$ms" -lt 4000 ] &&
  ok "unknown Transfer-Encoding: 400 at once (${ms} ms)" || bad "TE gzip (${ms} ms): $(cat "$T/raw.txt")"
raw 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
[ "$(first)" = 200 ] && ok "a sound request still answers 200" || bad "healthz: $(cat "$T/raw.txt")"
raw 'POST /ocsp HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
[ "$(first)" = 200 ] && ok "chunked alone is accepted (OCSP answers malformedRequest in 200)" || bad "chunked: $(cat "$T/raw.txt")"

big=$(head -c 20000 /dev/zero | tr '\0' a)
code=$(curl -s -o "$T/b" -w '%{http_code}' -H "X-Big: $big" "$BASE/healthz")
[ "$code" = 431 ] && ok "20 KB of headers: 431" || bad "big header: $code"
code=$(curl -s -o "$T/b" -w '%{http_code}' "$BASE/healthz?${big:0:5000}")
[ "$code" = 414 ] && ok "a 5 KB URL: 414" || bad "long URL: $code"
code=$(curl -s -o "$T/b" -w '%{http_code}' -H "X-Fine: ${big:0:8000}" "$BASE/healthz")
[ "$code" = 200 ] && ok "8 KB of headers still fine" || bad "8 KB header: $code"
m=$(curl -s "$BASE/metrics")
grep -q 'route="other"' <<<"$m" && ok "refusals counted in /metrics" || bad "metrics: $(grep -m3 route <<<"$m")"

# ---- strict input ----
login admin admin admin-password-1
req admin POST /api/v1/municipalities '{"code":"132217","pref":"東京都","city":"清瀬市","pref_roman":"Tokyo-to","city_roman":"Kiyose-shi"}'
check 201 "record Kiyose"
for bad in 'name:山田\n太郎' 'name:山田\u0007太郎' 'name:山田\u202e太郎' 'kana:ヤマダ\u0085' 'address:清瀬市\r\n中里' 'address:清瀬市\u2066中里'; do
  f=${bad%%:*} v=${bad#*:}
  body=$(jq -cn --arg f "$f" --argjson v "\"$v\"" '{"ext_id":"S1","name":"山田　太郎","kana":"ヤマダタロウ","address":"東京都清瀬市中里1-1","birth":"1980-01-02","sex":1,"muni":"132217"} + {($f): $v}')
  req admin POST /api/v1/residents "$body"
  [ "$CODE" = 400 ] && ok "resident $f with $v: 400" || bad "resident $f with $v: $CODE $BODY"
done
req admin POST /api/v1/residents '{"ext_id":"S1","name":"山田　太郎","kana":"ヤマダタロウ","address":"東京都清瀬市中里1-1","birth":"1980-01-02","sex":1,"muni":"132217"}'
check 201 "a clean resident is recorded"
RID=$(jq -r .id <<<"$BODY")
API_RES=$(jq -S . <<<"$BODY")
stop_jpkid
# one view of a resident for the CLI and the API (jpki_view_resident)
CLI_RES=$("$JPKI" --dir "$T/ca" --json resident show "$RID" | jq -S 'del(.certificates)')
[ "$CLI_RES" = "$(jq -S 'del(.certificates)' <<<"$API_RES")" ] && ok "jpki and jpkid show a resident with the same JSON" ||
  bad "views differ: $(diff <(echo "$CLI_RES") <(echo "$API_RES") | head -10)"
export JPKI_DIR=$T/ca
for s in " " "../../etc" $'a\nb' "あ" "-lead" "$(printf 'A%.0s' $(seq 1 40))"; do
  out=$("$JPKI" resident card "$RID" --serial "$s" 2>&1) && bad "card serial '$s' accepted" ||
    { grep -qE "card serial|serial too long" <<<"$out" && ok "card serial '$(printf %q "$s")' refused" || bad "serial '$s': $out"; }
done
expect_ok "a serial of the documented syntax" "$JPKI" resident card "$RID" --serial "MNC-0001_a"
finish
