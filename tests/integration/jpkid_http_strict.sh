#!/usr/bin/env bash
# Strict HTTP in front of jpkid's router: a request whose framing could be
# read two ways (two Content-Lengths, Content-Length with
# Transfer-Encoding, a Transfer-Encoding other than chunked) gets 400 and
# its connection closed, so nothing after it is read as a next request;
# headers over 16 KiB get 431 and a URL over 4 KiB 414; sound requests
# are untouched.  Raw requests through bash's /dev/tcp, loopback only.
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
stop_jpkid
finish
