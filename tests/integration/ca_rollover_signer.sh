#!/usr/bin/env bash
# Root generations through jpki-signer (issue #13 item 3): a CA rolled over
# to generation 2, then jpkid --signer with its file keys.  The signer
# loads both generations: it signs new certificates under sign-root-2
# (their issuer checked against generation 2's root) and OCSP answers of
# each generation with that generation's key.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
export JPKID_ADMIN_PASSWORD=admin-password-1
AS_USER=()
if [ "$(id -u)" = 0 ]; then
  AS_USER=(--signer-arg --user --signer-arg nobody)
  chmod 711 "$T"
fi
D=$T/ca
R=$D/roots
export JPKI_DIR=$D
"$JPKI" ca init >/dev/null
"$JPKI" muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
"$JPKI" audit checkpoint >/dev/null
rid() { sed -n 's/^ *"id": \([0-9]*\),*/\1/p'; }
X=$("$JPKI" --json resident add --ext-id X1 --name "山田　太郎" --kana ヤマダタロウ --address "東京都清瀬市上清戸１丁目" --birth 1980-12-31 --sex 1 --muni 132217 | rid)
"$JPKI" resident card "$X" --serial "CARDX" >/dev/null
newkey x
"$JPKI" issue --resident "$X" --card CARDX --sign-key x.pub --out-dir x >/dev/null
"$JPKI" ca rollover --kind sign >/dev/null
[ -f "$R/sign-root-2.pem" ] && ok "rolled over to generation 2" || bad "no sign-root-2.pem"

start_jpkid "$D" --signer "${AS_USER[@]}" || { bad "jpkid --signer did not start: $(tail -3 "$T/jpkid.err")"; finish; }
login admin admin admin-password-1; check 200 "admin logs in"
req admin POST /api/v1/residents '{"ext_id":"Y1","name":"山田　花子","kana":"ヤマダハナコ","address":"東京都清瀬市上清戸１丁目","birth":"1985-01-01","sex":2,"muni":"132217"}'
Y=$(jq -r .id <<<"$BODY")
req admin POST /api/v1/cards "{\"serial\":\"CARDY\",\"resident\":$Y}"
newkey y_s; newkey y_a
req admin POST /api/v1/issue "$(issue_body admin "$Y" CARDY y_s.key y_a.key)"
check 201 "issuance through the signer after the rollover"
jq -r .sign.pem <<<"$BODY" >y_sign.pem 2>/dev/null || true
expect_ok "new leaf under generation 2" openssl verify -CAfile "$R/sign-root-2.pem" y_sign.pem
expect_fail "error" openssl verify -CAfile "$R/sign-root.pem" y_sign.pem
sy=$(openssl x509 -in y_sign.pem -noout -serial | cut -d= -f2)
grep -q "cert sign-root-2 serial=$sy " "$D/signer/signer.log" && ok "the signer signed it with sign-root-2" || bad "log: $(tail -3 "$D/signer/signer.log")"
grep -q "cert auth-root serial=" "$D/signer/signer.log" && ok "auth still generation 1" || bad "auth log"

# OCSP through jpkid and the signer, each generation with its key
out=$(openssl ocsp -issuer "$R/sign-root.pem" -cert x/sign.pem -url "$BASE/ocsp" -CAfile "$R/sign-root.pem" -timeout 20 2>&1)
grep -q "x/sign.pem: good" <<<"$out" && grep -q "Response verify OK" <<<"$out" && ok "OCSP for generation 1 signed by sign-root" || bad "ocsp x: $out"
out=$(openssl ocsp -issuer "$R/sign-root-2.pem" -cert y_sign.pem -url "$BASE/ocsp" -CAfile "$R/sign-root-2.pem" -timeout 20 2>&1)
grep -q "y_sign.pem: good" <<<"$out" && grep -q "Response verify OK" <<<"$out" && ok "OCSP for generation 2 signed by sign-root-2" || bad "ocsp y: $out"
grep -q " ocsp sign-root sha256=" "$D/signer/signer.log" && grep -q " ocsp sign-root-2 sha256=" "$D/signer/signer.log" &&
  ok "the signer logged OCSP answers of both generations" || bad "ocsp log: $(grep ocsp "$D/signer/signer.log" | tail -3)"
# jpkid's verification service trusts both generations
printf 'rollover\n' >doc.txt
for w in x y; do
  [ $w = x ] && c=x/sign.pem || c=y_sign.pem
  openssl cms -sign -binary -nodetach -in doc.txt -signer $c -inkey ${w/y/y_s}.key -outform DER -out $w.p7s
  req - POST /api/v1/verify "{\"cms\":\"$(base64 -w0 $w.p7s)\"}"
  [ "$CODE" = 200 ] && grep -q '"valid": *true' <<<"$BODY" && ok "/api/v1/verify accepts generation $([ $w = x ] && echo 1 || echo 2)" || bad "api verify $w: $CODE ${BODY:0:400}"
done
# jpkid serves every generation's CRLs: the newest under today's URLs,
# generation 1's as "-g1" (the names `jpki crl` publishes), each signed by
# its own root's key; auth was not rolled over: no "-g1" for it
sx=$(openssl x509 -in x/sign.pem -noout -serial | cut -d= -f2)
crl_of() { # URL FILE ROOT -> ok when served and verifying with ROOT only
  curl -sf "$BASE$1" -o "$2" || { echo "not served"; return; }
  openssl crl -inform DER -in "$2" -CAfile "$3" -noout 2>&1 || true
}
for u in /crl/sign/132217-g1.crl /crl/sign/full-g1.crl; do
  out=$(crl_of "$u" g1.crl "$R/sign-root.pem")
  grep -q "verify OK" <<<"$out" && ok "jpkid serves $u, signed by generation 1" || bad "$u: $out"
  grep -q "Serial Number: $sx\$" <<<"$(openssl crl -inform DER -in g1.crl -noout -text 2>&1)" &&
    bad "$u lists X before its revocation" || ok "$u does not list X yet"
  out=$(crl_of "$u" g1.crl "$R/sign-root-2.pem")
  grep -q "verify OK" <<<"$out" && bad "$u verifies with generation 2's root" || ok "$u does not verify with generation 2's root"
done
for u in /crl/sign/132217.crl /crl/sign/full.crl; do
  out=$(crl_of "$u" g2.crl "$R/sign-root-2.pem")
  grep -q "verify OK" <<<"$out" && ok "jpkid serves $u, signed by generation 2" || bad "$u: $out"
done
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/crl/auth/132217-g1.crl")
[ "$code" = 404 ] && ok "no generation-1 name for a hierarchy not rolled over" || bad "auth -g1: $code"
# revoke the generation-1 certificate: its OCSP answer says so, gen 1's key
req admin POST "/api/v1/certificates/$sx/revoke" '{"reason":"keyCompromise"}'
check 200 "revoke the generation-1 certificate"
# pre-signed at the revocation under generation 1's CertID: no live signing
live() { curl -s "$BASE/metrics" | sed -n 's/^jpkid_ocsp_live_signed_total \([0-9]*\)$/\1/p'; }
l0=$(live)
out=$(openssl ocsp -no_nonce -issuer "$R/sign-root.pem" -cert x/sign.pem -url "$BASE/ocsp" -CAfile "$R/sign-root.pem" -timeout 20 2>&1)
l1=$(live)
grep -q "x/sign.pem: revoked" <<<"$out" && [ -n "$l0" ] && [ "$l0" = "$l1" ] &&
  ok "generation 1's revoked answer was pre-signed (live signed $l0 -> $l1)" || bad "presign x: live $l0 -> $l1: $out"
out=$(openssl ocsp -issuer "$R/sign-root.pem" -cert x/sign.pem -url "$BASE/ocsp" -CAfile "$R/sign-root.pem" -timeout 20 2>&1)
grep -q "x/sign.pem: revoked" <<<"$out" && grep -q "Response verify OK" <<<"$out" && ok "OCSP: generation 1 revoked, signed by sign-root" || bad "ocsp x revoked: $out"
# generation 1's CRLs from jpkid list it, generation 2's do not
for u in /crl/sign/132217-g1.crl /crl/sign/full-g1.crl; do
  out=$(crl_of "$u" g1.crl "$R/sign-root.pem")
  t=$(openssl crl -inform DER -in g1.crl -noout -text 2>&1 || true)
  grep -q "verify OK" <<<"$out" && grep -q "Serial Number: $sx\$" <<<"$t" &&
    ok "$u from jpkid lists the revoked generation-1 certificate" || bad "$u after revoke: $out $(grep -c 'Serial Number' <<<"$t")"
done
for u in /crl/sign/132217.crl /crl/sign/full.crl; do
  out=$(crl_of "$u" g2.crl "$R/sign-root-2.pem")
  t=$(openssl crl -inform DER -in g2.crl -noout -text 2>&1 || true)
  grep -q "verify OK" <<<"$out" && ! grep -q "Serial Number: $sx\$" <<<"$t" &&
    ok "jpkid's $u (generation 2, through the signer) does not list it" || bad "$u after revoke: $out"
done
stop_jpkid
expect_ok "audit chain intact" "$JPKI" audit verify
finish
