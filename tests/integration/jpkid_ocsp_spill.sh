#!/usr/bin/env bash
# Pre-signed OCSP answers past the in-memory cache (docs/decisions.md,
# "OCSP at national size"): jpkid keeps one answer ready in memory
# (--ocsp-cache-max 1) and the others' DER in its spill file
# (--ocsp-presigned).  Every certificate is answered pre-signed (ETag, no
# live signature) with bytes `openssl ocsp` verifies, by GET and POST, 304
# on If-None-Match; a revocation made by the CLI while jpkid runs replaces
# the cold answer; the spill file leaves nothing in the directory.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
export JPKI_DIR=$T/ca
J() { "$JPKI" "$@"; }
cd "$T"

J ca init >/dev/null
J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
rid() { sed -n 's/^ *"id": \([0-9]*\),*/\1/p'; }
A=$(J --json resident add --ext-id A1 --name "山田　太郎" --kana ヤマダタロウ --address "東京都清瀬市" --birth 1980-12-31 --sex 1 --muni 132217 | rid)
B=$(J --json resident add --ext-id B1 --name "山田　花子" --kana ヤマダハナコ --address "東京都清瀬市" --birth 1982-01-31 --sex 2 --muni 132217 | rid)
for r in $A $B; do J resident card "$r" --serial "CARD$r" >/dev/null; done
newkey a_s; newkey a_a; newkey b_s; newkey b_a
J issue --resident "$A" --card "CARD$A" --sign-key a_s.pub --auth-key a_a.pub --out-dir a >/dev/null
J issue --resident "$B" --card "CARD$B" --sign-key b_s.pub --auth-key b_a.pub --out-dir b >/dev/null
R=$T/ca/roots

start_jpkid "$T/ca" --ocsp-cache-max 1 --ocsp-presigned 1000
metric() { curl -s "$BASE/metrics" | sed -n "s/^$1 //p"; }
for _ in $(seq 1 100); do [ "$(metric jpkid_ocsp_cache_entries)" = 4 ] && break; sleep 0.1; done
n=$(metric jpkid_ocsp_cache_entries)
[ "$n" = 4 ] && ok "4 answers pre-signed, 1 of them ready in memory" || bad "cache entries: $n"
# the spill file: open in jpkid, in the CA directory, with no name there
spill=$(for f in /proc/"$JPKID_PID"/fd/*; do readlink "$f"; done | grep -F "$T/ca/" | grep -F '(deleted)' || true)
[ -n "$spill" ] && ! ls -A "$T/ca" | grep -qi spill && ok "spill file open and unlinked ($spill)" || bad "spill file: '$spill' $(ls -A "$T/ca")"

root_of() { case $1 in */sign.pem) echo "$R/sign-root.pem" ;; *) echo "$R/auth-root.pem" ;; esac; }
live0=$(metric jpkid_ocsp_live_signed_total)
i=0
for c in a/sign.pem a/auth.pem b/sign.pem b/auth.pem; do
  i=$((i + 1)); root=$(root_of "$c")
  openssl ocsp -issuer "$root" -cert "$c" -no_nonce -reqout "req$i.der" 2>/dev/null
  b64=$(base64 -w0 "req$i.der" | tr '+/' '-_' | tr -d '=')
  code=$(curl -s -D "get$i.hdr" -o "get$i.der" -w '%{http_code}' "$BASE/ocsp/$b64")
  out=$(openssl ocsp -respin "get$i.der" -issuer "$root" -CAfile "$root" -cert "$c" -no_nonce 2>&1)
  [ "$code" = 200 ] && grep -qi '^ETag: "' "get$i.hdr" && grep -qi '^Cache-Control: max-age=' "get$i.hdr" \
    && grep -q "$c: good" <<<"$out" && grep -q "Response verify OK" <<<"$out" \
    && ok "$c: GET answered pre-signed, good, verified" || bad "$c GET $code: $(cat "get$i.hdr") $out"
  curl -s -o "post$i.der" -H 'Content-Type: application/ocsp-request' --data-binary "@req$i.der" "$BASE/ocsp"
  cmp -s "get$i.der" "post$i.der" && ok "$c: POST gives the same bytes" || bad "$c: POST differs"
  etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *\(.*\)\r$/\1/p' "get$i.hdr")
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$BASE/ocsp/$b64")
  [ "$code" = 304 ] && ok "$c: If-None-Match -> 304" || bad "$c: 304: $code"
done
live1=$(metric jpkid_ocsp_live_signed_total)
[ "$live0" = "$live1" ] && ok "no answer was signed live ($live1)" || bad "live signatures $live0 -> $live1"

# revoked by the CLI while jpkid runs: found by the refresher's scan (10 s)
sa=$(openssl x509 -in b/sign.pem -noout -serial | cut -d= -f2)
J revoke "$sa" --reason keyCompromise >/dev/null
root=$(root_of b/sign.pem)
got=
for _ in $(seq 1 60); do
  curl -s -o rev.der "$BASE/ocsp/$(base64 -w0 req3.der | tr '+/' '-_' | tr -d '=')"
  out=$(openssl ocsp -respin rev.der -issuer "$root" -CAfile "$root" -cert b/sign.pem -no_nonce 2>&1)
  grep -q "b/sign.pem: revoked" <<<"$out" && { got=1; break; }
  sleep 0.5
done
[ -n "$got" ] && grep -q "Response verify OK" <<<"$out" && grep -q "Reason: keyCompromise" <<<"$out" \
  && ok "the revocation replaced the pre-signed answer" || bad "after revoke: $out"
out=$(openssl ocsp -issuer "$(root_of b/auth.pem)" -cert b/auth.pem -url "$BASE/ocsp" -CAfile "$(root_of b/auth.pem)" -no_nonce -timeout 20 2>&1)
grep -q "b/auth.pem: good" <<<"$out" && ok "B's auth still good" || bad "b auth: $out"
stop_jpkid
finish
