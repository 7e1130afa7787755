#!/usr/bin/env bash
# Pre-signed OCSP answers kept fresh while jpkid runs (docs/decisions.md,
# "OCSP at national size", re-signing): jpkid runs under libfaketime with
# its clock read from a file the test moves.  After warm-up every answer
# is pre-signed; with the clock moved 13 h on (past half the answers' 24 h
# validity) warm-up's threads find them due and re-sign them by
# themselves: thisUpdate moves on, the ETag changes, nothing is signed
# live, and the new answers verify on the moved clock.  The clock is the
# test's own, so the clock-ahead pass's FAKETIME is left off.
unset LD_PRELOAD FAKETIME FAKETIME_DONT_FAKE_MONOTONIC
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
[ -n "$FAKETIME_LIB" ] || { echo "libfaketime missing (apt-get install faketime)" >&2; exit 1; }
export JPKI_DIR=$T/ca
J() { "$JPKI" "$@"; }
cd "$T"

J ca init >/dev/null
J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
A=$(J --json resident add --ext-id A1 --name "山田　太郎" --kana ヤマダタロウ --address "東京都清瀬市" \
  --birth 1980-12-31 --sex 1 --muni 132217 | sed -n 's/^ *"id": \([0-9]*\),*/\1/p')
J resident card "$A" --serial "CARD$A" >/dev/null
newkey s; newkey a
J issue --resident "$A" --card "CARD$A" --sign-key s.pub --auth-key a.pub --out-dir a >/dev/null
R=$T/ca/roots

# jpkid on a clock the test moves: "+0" now, "+13h" later
echo "+0" >"$T/clock"
cat >"$T/jpkid-ft" <<EOF
#!/bin/sh
LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$T/clock" FAKETIME_NO_CACHE=1 \
  FAKETIME_DONT_FAKE_MONOTONIC=1 exec "$JPKID" "\$@"
EOF
chmod +x "$T/jpkid-ft"
JPKID=$T/jpkid-ft start_jpkid "$T/ca"
metric() { curl -s "$BASE/metrics" | sed -n "s/^$1 //p"; }
for _ in $(seq 1 100); do [ "$(metric jpkid_ocsp_cache_entries)" = 2 ] && break; sleep 0.1; done
[ "$(metric jpkid_ocsp_cache_entries)" = 2 ] && ok "both answers pre-signed" \
  || bad "cache entries: $(metric jpkid_ocsp_cache_entries)"

openssl ocsp -issuer "$R/auth-root.pem" -cert a/auth.pem -no_nonce -reqout req.der 2>/dev/null
URL=$BASE/ocsp/$(base64 -w0 req.der | tr '+/' '-_' | tr -d '=')
this_update() { openssl ocsp -respin "$1" -resp_text -noverify 2>/dev/null | sed -n 's/^ *This Update: //p' | head -1; }
etag_of() { sed -n 's/^[Ee][Tt][Aa][Gg]: *\(.*\)\r$/\1/p' "$1"; }
curl -s -D h0 -o r0.der "$URL"
t0=$(date -u -d "$(this_update r0.der)" +%s)
e0=$(etag_of h0)
[ -n "$e0" ] && ok "answer pre-signed (ETag $e0, thisUpdate $(this_update r0.der))" || bad "first answer: $(cat h0)"
p0=$(metric jpkid_ocsp_presigned_total)
live0=$(metric jpkid_ocsp_live_signed_total)

echo "+13h" >"$T/clock"
moved=$(date -u -d '+13 hours' '+%Y-%m-%dT%H:%M:%SZ')
got=
for _ in $(seq 1 120); do
  p=$(metric jpkid_ocsp_presigned_total)
  [ "$p" -ge $((p0 + 2)) ] && { got=1; break; }
  sleep 0.25
done
[ -n "$got" ] && ok "both answers re-signed by themselves ($p0 -> $p pre-signed)" \
  || bad "no re-signing: presigned $p0 -> $(metric jpkid_ocsp_presigned_total); $(tail -5 "$T/jpkid.err")"
curl -s -D h1 -o r1.der "$URL"
t1=$(date -u -d "$(this_update r1.der)" +%s)
e1=$(etag_of h1)
[ $((t1 - t0)) -ge $((13 * 3600 - 60)) ] && [ -n "$e1" ] && [ "$e1" != "$e0" ] \
  && ok "the answer served is the new one (thisUpdate +$(((t1 - t0) / 60)) min, ETag $e1)" \
  || bad "served: thisUpdate $t0 -> $t1, ETag $e0 -> $e1"
out=$(at_time "$moved" openssl ocsp -respin r1.der -issuer "$R/auth-root.pem" -CAfile "$R/auth-root.pem" \
  -cert a/auth.pem -no_nonce 2>&1)
grep -q "a/auth.pem: good" <<<"$out" && grep -q "Response verify OK" <<<"$out" \
  && ok "openssl ocsp on the moved clock: good, verified" || bad "verify: $out"
live1=$(metric jpkid_ocsp_live_signed_total)
[ "$live0" = "$live1" ] && ok "nothing was signed live ($live1)" || bad "live signatures $live0 -> $live1"

stop_jpkid
finish
