#!/usr/bin/env bash
# Raw signatures for log-in bridges: `jpki card sign-digests` signs SHA-256
# digests with the card's auth or sign key (through the openjpki provider)
# and prints {certificate, signatures[{digest, signature}]}; openssl checks
# each signature with the certificate's key, and jpkid's POST
# /api/v1/verify takes one bundle (digest, signature, certificate): valid
# with revocation from jpkid's store, refused for another digest, a
# foreign certificate, and revoked after the certificate is revoked.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"

export JPKID_ADMIN_PASSWORD=admin-password-1
export JPKI_DIR=$T/ca
J() { "$JPKI" "$@"; }
start_jpkid "$T/ca"

J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
rid() { sed -n 's/^ *"id": \([0-9]*\),*/\1/p'; }
A=$(J --json resident add --ext-id A1 --name "山田　太郎" --kana ヤマダタロウ --address "東京都清瀬市上清戸１丁目" --birth 1980-12-31 --sex 1 --muni 132217 | rid)
J card create --out card.img >/dev/null
J card personalize card.img --resident "$A" --auth-pin 1234 --sign-pin ABC123 >/dev/null

d1=$(printf 'challenge one' | sha256sum | cut -c1-64)
d2=$(printf 'challenge two' | sha256sum | cut -c1-64)
out=$(J card sign-digests --key auth --card card.img --pin 1234 "$d1" "$d2")
[ "$(jq -r '.signatures | length' <<<"$out")" = 2 ] && [ "$(jq -r '.signatures[1].digest' <<<"$out")" = "$d2" ] &&
  jq -r .certificate <<<"$out" | grep -q "BEGIN CERTIFICATE" && ok "sign-digests: two signatures and the certificate" || bad "sign-digests: $out"
jq -r .certificate <<<"$out" >auth.pem
openssl x509 -in auth.pem -pubkey -noout >auth.pub
for i in 0 1; do
  jq -r ".signatures[$i].signature" <<<"$out" | base64 -d >s$i.sig
  jq -r ".signatures[$i].digest" <<<"$out" | xxd -r -p >h$i.bin
  expect_ok "openssl verifies signature $i with the certificate's key" \
    openssl pkeyutl -verify -pubin -inkey auth.pub -in h$i.bin -sigfile s$i.sig -pkeyopt digest:sha256
done
# digests on standard input, the sign key with a PIN file
printf 'ABC123\n' >pin
sout=$(printf '%s\n%s\n' "$d1" "$d2" | J card sign-digests --key sign --card card.img --pin-file pin)
[ "$(jq -r '.key' <<<"$sout")" = sign ] && [ "$(jq -r '.signatures | length' <<<"$sout")" = 2 ] &&
  ok "sign-digests: digests on standard input, the sign key" || bad "stdin: $sout"
expect_fail "not 64 hex digits" J card sign-digests --key auth --card card.img --pin 1234 abcd
expect_fail "wrong signature PIN: 4 tries left" J card sign-digests --key sign --card card.img --pin XYZ999 "$d1"
expect_fail "need --pin or --pin-file" J card sign-digests --key auth --card card.img </dev/null
J card sign-digests --help | grep -q "api/v1/verify" && ok "sign-digests --help" || bad "help"

# ---- POST /api/v1/verify with a bundle ----
bundle() { jq -c --argjson i "$2" '{digest: .signatures[$i].digest, signature: .signatures[$i].signature, certificate: .certificate}' <<<"$1"; }
req - POST /api/v1/verify "$(bundle "$out" 0)"
check_msg 200 '"valid":true' "verify: the auth bundle is valid"
jq -e '.signature_valid == true and .revocation.status == "good" and .revocation.source == "ocsp"' <<<"$BODY" >/dev/null &&
  ok "verify: signature good, OCSP status from jpkid's store" || bad "verify: $BODY"
req - POST /api/v1/verify "$(bundle "$sout" 1)"
check_msg 200 '"valid":true' "verify: the sign-key bundle is valid"
# another digest
req - POST /api/v1/verify "$(jq -c --arg d "$d2" '{digest: $d, signature: .signatures[0].signature, certificate: .certificate}' <<<"$out")"
jq -e '.valid == false and .signature_valid == false' <<<"$BODY" >/dev/null && grep -q '"bad-signature"' <<<"$BODY" &&
  ok "verify: a signature over another digest is refused" || bad "other digest: $CODE $BODY"
# a certificate of another CA (a software key, openssl-made)
newkey foreign
openssl req -x509 -key foreign.key -subj /CN=foreign -days 2 -out foreign.pem 2>/dev/null
printf '%s' "$d1" | xxd -r -p >fh.bin
fsig=$(openssl pkeyutl -sign -inkey foreign.key -in fh.bin -pkeyopt digest:sha256 | base64 -w0)
req - POST /api/v1/verify "$(jq -nc --arg d "$d1" --arg s "$fsig" --rawfile c foreign.pem '{digest: $d, signature: $s, certificate: $c}')"
jq -e '.valid == false and .signature_valid == true' <<<"$BODY" >/dev/null && grep -q 'untrusted' <<<"$BODY" &&
  ok "verify: a good signature by a foreign certificate is untrusted" || bad "foreign: $CODE $BODY"
# malformed bundles
req - POST /api/v1/verify "{\"digest\":\"abc\",\"signature\":\"AA==\",\"certificate\":\"x\"}"; check_msg 400 "64 hex" "verify: malformed digest"
req - POST /api/v1/verify "$(jq -c '{digest: .signatures[0].digest, signature: .signatures[0].signature, certificate: "bm90IGEgY2VydA=="}' <<<"$out")"
check_msg 400 "certificate" "verify: not a certificate"
req - POST /api/v1/verify "$(jq -c '{digest: .signatures[0].digest, signature: .signatures[0].signature, certificate: .certificate, cms: "MAA="}' <<<"$out")"
check_msg 400 "malformed" "verify: a bundle and a CMS together"
# revoked after the certificate is revoked
serial=$(openssl x509 -in auth.pem -noout -serial | cut -d= -f2)
J revoke "$serial" --reason keyCompromise >/dev/null
req - POST /api/v1/verify "$(bundle "$out" 0)"
jq -e '.valid == false and .revocation.status == "revoked"' <<<"$BODY" >/dev/null &&
  ok "verify: revoked after the auth certificate is revoked" || bad "revoked: $BODY"

stop_jpkid
finish
