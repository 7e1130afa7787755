#!/usr/bin/env bash
# Pre-signed OCSP answers past the in-memory cache (docs/decisions.md,
# "OCSP at national size"): jpkid keeps one answer ready in memory
# (--ocsp-cache-max 1) and the others' DER in its spill file
# (--ocsp-presigned).  Every certificate is answered pre-signed (ETag, no
# live signature) with bytes `openssl ocsp` verifies, by GET and POST, 304
# on If-None-Match; a revocation made by the CLI while jpkid runs replaces
# the cold answer; the spill file leaves nothing in the directory.
# Over a restart: the answers saved at the stop are reused (the same
# bytes, no signature), a certificate revoked while jpkid was down is
# answered revoked (its saved "good" is not reused), and a damaged saved
# file is refused, every answer signed again and the file written anew.
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
SAVED=$T/ca/ocsp-answers.saved
[ -s "$SAVED" ] && grep -q "4 pre-signed OCSP answers saved" "$T/jpkid.err" \
  && ok "the 4 answers saved at the stop" || bad "saved: $(ls -l "$SAVED" 2>&1) $(cat "$T/jpkid.err")"

# A's auth revoked while jpkid is down
aa=$(openssl x509 -in a/auth.pem -noout -serial | cut -d= -f2)
J revoke "$aa" --reason keyCompromise >/dev/null
warmed() {
  for _ in $(seq 1 200); do [ "$(metric jpkid_ocsp_warmup_done)" = 1 ] && return 0; sleep 0.1; done
  return 1
}
# ask FILE-INDEX CERT: GET the answer to req$1.der into $2; openssl's verdict in $out
ask() {
  curl -s -o "$2" "$BASE/ocsp/$(base64 -w0 "req$1.der" | tr '+/' '-_' | tr -d '=')"
  out=$(openssl ocsp -respin "$2" -issuer "$(root_of "$3")" -CAfile "$(root_of "$3")" -cert "$3" -no_nonce 2>&1)
}
start_jpkid "$T/ca" --ocsp-cache-max 1 --ocsp-presigned 1000
warmed && ok "warm-up done after the restart" || bad "warm-up: $(cat "$T/jpkid.err")"
r=$(metric jpkid_ocsp_restored_total); p=$(metric jpkid_ocsp_presigned_total)
[ "$r" = 3 ] && [ "$p" = 1 ] && grep -q "3 saved OCSP answers reused.*1 whose status changed" "$T/jpkid.err" \
  && ok "3 saved answers reused, 1 signed again (A's auth, revoked meanwhile)" \
  || bad "restored $r, presigned $p: $(cat "$T/jpkid.err")"
live0=$(metric jpkid_ocsp_live_signed_total)
ask 1 r1.der a/sign.pem
cmp -s get1.der r1.der && grep -q "a/sign.pem: good" <<<"$out" && grep -q "Response verify OK" <<<"$out" \
  && ok "A's sign: the very bytes answered before the restart" || bad "A sign after restart: $out"
ask 2 r2.der a/auth.pem
grep -q "a/auth.pem: revoked" <<<"$out" && grep -q "Reason: keyCompromise" <<<"$out" && grep -q "Response verify OK" <<<"$out" \
  && ok "A's auth, revoked while jpkid was down: answered revoked" || bad "A auth after restart: $out"
ask 3 r3.der b/sign.pem
grep -q "b/sign.pem: revoked" <<<"$out" && ok "B's sign: its saved revoked answer reused" || bad "B sign after restart: $out"
[ "$live0" = "$(metric jpkid_ocsp_live_signed_total)" ] && ok "nothing signed live after the restart" || bad "live signatures after restart"
stop_jpkid

# a damaged saved file: one octet in the middle inverted
size=$(stat -c %s "$SAVED")
b=$(od -An -tu1 -j $((size / 2)) -N1 "$SAVED" | tr -d ' ')
printf "\\$(printf %03o $((b ^ 255)))" | dd of="$SAVED" bs=1 seek=$((size / 2)) conv=notrunc status=none
start_jpkid "$T/ca" --ocsp-cache-max 1 --ocsp-presigned 1000
warmed || bad "warm-up after the damaged file: $(cat "$T/jpkid.err")"
r=$(metric jpkid_ocsp_restored_total); p=$(metric jpkid_ocsp_presigned_total)
grep -q "ocsp-answers.saved REFUSED: damaged" "$T/jpkid.err" && [ "$r" = 0 ] && [ "$p" = 4 ] && [ ! -e "$SAVED" ] \
  && ok "the damaged file refused and removed, all 4 answers signed again" \
  || bad "damaged file: restored $r, presigned $p: $(cat "$T/jpkid.err")"
ask 2 d2.der a/auth.pem
grep -q "a/auth.pem: revoked" <<<"$out" && grep -q "Response verify OK" <<<"$out" && ok "A's auth still revoked" || bad "A auth: $out"
stop_jpkid
[ -s "$SAVED" ] && grep -q "4 pre-signed OCSP answers saved" "$T/jpkid.err" && ok "the file written anew at the stop" || bad "not saved again"
finish
