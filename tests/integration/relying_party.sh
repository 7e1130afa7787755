#!/usr/bin/env bash
# The relying party: documents signed with openssl (our CA's certificates
# and openssl-made keys), with `jpki sign` (a software key, and the virtual
# card after its PIN) are verified by `jpki verify`, and ours by `openssl
# cms -verify` and pkijs; every refusal names its own reason; revocation
# by CRL and OCSP (files and over loopback HTTP); J-LIS's real roots load
# and are picked by key.
. "$(dirname "$0")/lib.sh"
export JPKI_DIR=$T/ca
# The CA's clock is the real one (to the second): certificates openssl
# makes below start now.
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
LATER=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
J() { "$JPKI" --now "$NOW" "$@"; }
INTEROP=${JPKI_SRC:?}/tests/interop
STUB=""
trap '[ -n "$STUB" ] && kill "$STUB" 2>/dev/null; rm -rf "$T"' EXIT

J ca init >/dev/null
J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
rid() { sed -n 's/^ *"id": \([0-9]*\),*/\1/p'; }
A=$(J --json resident add --ext-id A1 --name "山田　太郎" --kana ヤマダタロウ --address "東京都清瀬市上清戸１丁目２番３号" --birth 1980-12-31 --sex 1 --muni 132217 | rid)
B=$(J --json resident add --ext-id B1 --name "髙橋　𠮷子" --kana タカハシヨシコ --address "東京都清瀬市中清戸２丁目" --birth 1992-02-29 --sex 2 --muni 132217 | rid)
C=$(J --json resident add --ext-id C1 --name "佐藤　次郎" --kana サトウジロウ --address "東京都清瀬市元町１丁目" --birth 1975-05-05 --sex 1 --muni 132217 | rid)
for r in $A $C; do J resident card "$r" --serial "CARD$r" >/dev/null; done
newkey a_s; newkey a_a; newkey c_s
J issue --resident "$A" --card "CARD$A" --sign-key a_s.pub --auth-key a_a.pub --out-dir a >/dev/null
J issue --resident "$C" --card "CARD$C" --sign-key c_s.pub --out-dir c >/dev/null
R=$T/ca/roots
DP="CN=Kiyose-shi CRLDP,OU=Tokyo-to,OU=CRL Distribution Points,OU=JPKI for digital signature,O=JPKI-TEST,C=JP"
crls() {
  J crl --kind sign --muni 132217 --out crl/kiyose.crl >/dev/null
  J crl --kind auth --muni 132217 --out crl/kiyose-auth.crl >/dev/null
}
mkdir crl && crls
MAP=(--crl-map "$DP=crl/kiyose.crl" --crl-map "*=crl/kiyose-auth.crl")
V() { J verify "$@"; }
VJ() { J --json verify "$@"; }

printf '申込書: 本人確認 (eKYC)\n' >doc.txt

# --- documents signed by openssl with our certificates ----------------
openssl cms -sign -binary -in doc.txt -signer a/sign.pem -inkey a_s.key -outform DER -out a.p7s
openssl cms -sign -binary -nodetach -in doc.txt -signer a/sign.pem -inkey a_s.key -outform PEM -out a-att.pem
out=$(V a.p7s --content doc.txt "${MAP[@]}" --at "$LATER")
grep -q "^VALID" <<<"$out" && grep -q "生年月日 birth: 1980-12-31 (昭和55年12月31日)" <<<"$out" &&
  grep -q "氏名 name:     山田　太郎" <<<"$out" && grep -q "性別 sex:      1 男" <<<"$out" &&
  ok "openssl-signed detached CMS verified, basic-4 shown" || bad "openssl CMS: $out"
out=$(VJ a-att.pem "${MAP[@]}" --at "$LATER")
grep -q '"valid": true' <<<"$out" && grep -q '"birth_era": "昭和"' <<<"$out" &&
  grep -q '"birth_era_year": 55' <<<"$out" && grep -q '"address": "東京都清瀬市上清戸１丁目２番３号"' <<<"$out" &&
  grep -q '"status": "good"' <<<"$out" && ok "openssl-signed attached PEM CMS verified (JSON)" || bad "attached: $out"

# --- ours, with a software key: openssl and pkijs accept it -------------
expect_ok "jpki sign --key/--cert" J sign --in doc.txt --key a_s.key --cert a/sign.pem --out ours.p7s
expect_ok "jpki sign --attached --pem" J sign --in doc.txt --key a_s.key --cert a/sign.pem --attached --pem --out ours-att.pem
expect_ok "openssl cms -verify accepts ours (detached)" openssl cms -verify -binary -inform DER -in ours.p7s -content doc.txt -CAfile "$R/sign-root.pem" -out /dev/null
expect_ok "openssl cms -verify accepts ours (attached PEM)" openssl cms -verify -binary -inform PEM -in ours-att.pem -CAfile "$R/sign-root.pem" -out /dev/null
st=$(openssl cms -cmsout -print -inform DER -in ours.p7s)
grep -q "signingTime" <<<"$st" && grep -q "sha256" <<<"$st" && ok "signingTime and SHA-256 in our CMS" || bad "our CMS: $st"
out=$(V ours.p7s --content doc.txt "${MAP[@]}")
grep -q "^VALID" <<<"$out" && grep -q "signed at:  $NOW" <<<"$out" && ok "jpki verify accepts ours, signingTime = the clock" || bad "ours: $out"

# pkijs (JavaScript, WebCrypto) as an independent verifier
if [ ! -d "$INTEROP/node_modules/pkijs" ]; then
  (cd "$INTEROP" && npm ci --no-audit --no-fund >/dev/null 2>&1 || npm install --no-audit --no-fund >/dev/null 2>&1)
fi
PK() { node "$INTEROP/pkijs_verify.mjs" "$@"; }
expect_ok "pkijs verifies ours (detached)" PK ours.p7s doc.txt
expect_ok "pkijs verifies ours (attached PEM)" PK ours-att.pem
printf 'altered\n' >other.txt
expect_fail "digest" PK ours.p7s other.txt

# --- the card: jpki sign after the signature PIN ------------------------
J card create --out card.img >/dev/null
J card personalize card.img --resident "$B" --auth-pin 1234 --sign-pin ABC123 >/dev/null
expect_fail "wrong signature PIN: 4 tries left" J sign card.img --in doc.txt --out card.p7s --pin XYZ999
expect_fail "signature PIN must mix letters and digits" J sign card.img --in doc.txt --out card.p7s --pin 123456
out=$(printf 'abc123\n' | J --json sign --card card.img --in doc.txt --out card.p7s --pin-file -)
grep -q '"key": "card"' <<<"$out" && ok "jpki sign with the card (PIN from stdin, lower case normalised)" || bad "card sign: $out"
J card read-cert sign card.img --out b-sign.pem --pin ABC123 >/dev/null
expect_ok "openssl cms -verify accepts the card's CMS" openssl cms -verify -binary -inform DER -in card.p7s -content doc.txt -CAfile "$R/sign-root.pem" -out /dev/null
expect_ok "pkijs verifies the card's CMS" PK card.p7s doc.txt
# what the card signed is exactly a SHA-256 DigestInfo (it padded it)
sighex=$(openssl asn1parse -inform DER -in card.p7s | tail -1 | sed -n 's/.*\[HEX DUMP\]://p')
echo "$sighex" | xxd -r -p >card.sig
openssl x509 -in b-sign.pem -pubkey -noout >b.pub
di=$(openssl pkeyutl -verifyrecover -pubin -inkey b.pub -in card.sig | xxd -p | tr -d '\n')
[ ${#di} -eq 102 ] && [ "${di:0:38}" = "3031300d060960864801650304020105000420" ] &&
  ok "the card received a 51-byte SHA-256 DigestInfo" || bad "recovered: $di"
out=$(V card.p7s --content doc.txt "${MAP[@]}")
grep -q "^VALID" <<<"$out" && grep -q "平成4年2月29日" <<<"$out" && grep -q "氏名代替文字" <<<"$out" &&
  ok "jpki verify accepts the card's CMS (平成, substitute characters)" || bad "card verify: $out"
J sign card.img --in doc.txt --out card-att.p7s --pin ABC123 --attached >/dev/null
out=$(VJ card-att.p7s "${MAP[@]}")
grep -q '"valid": true' <<<"$out" && grep -q '"attached": true' <<<"$out" && ok "attached card CMS" || bad "card attached: $out"

# --- refusals, each with its own reason --------------------------------
expect_fail "bad-signature" V a.p7s --content other.txt "${MAP[@]}" --at "$LATER"
# a day after the certificate's own last day (whatever today is)
EXPIRED=$(date -u -d "$(openssl x509 -in a/sign.pem -noout -enddate | cut -d= -f2) + 1 day" +%Y-%m-%dT%H:%M:%SZ)
expect_fail "expired" V a.p7s --content doc.txt "${MAP[@]}" --at "$EXPIRED"
expect_fail "not-yet-valid" V ours.p7s --content doc.txt "${MAP[@]}" --at 2020-01-01
# the authentication certificate used to sign a document
openssl cms -sign -binary -in doc.txt -signer a/auth.pem -inkey a_a.key -outform DER -out auth.p7s
out=$(VJ auth.p7s --content doc.txt "${MAP[@]}" --at "$LATER" || true)
grep -q '"wrong-key-usage"' <<<"$out" && grep -q '"failures": \[\s*"wrong-key-usage"\s*\]' <<<"$(tr -d '\n' <<<"$out")" &&
  ok "refused: wrong-key-usage only (auth certificate signing)" || bad "auth signing: $out"
expect_ok "the same certificate passes as a log-in certificate" V auth.p7s --content doc.txt "${MAP[@]}" --at "$LATER" --purpose auth
# a signature-policy certificate issued by the authentication root
openssl req -new -key a_s.key -subj "/C=JP/CN=cross" -out cross.csr
cat >cross.cnf <<'EOF'
[v3]
keyUsage = critical, digitalSignature, nonRepudiation
certificatePolicies = critical, 1.2.392.200149.8.5.1.0.20
authorityKeyIdentifier = keyid:always
subjectKeyIdentifier = hash
EOF
openssl x509 -req -in cross.csr -CA "$R/auth-root.pem" -CAkey "$T/ca/keys/auth-root.key.pem" -set_serial 0x4242 -days 30 -extfile cross.cnf -extensions v3 -out cross.pem 2>/dev/null
openssl cms -sign -binary -in doc.txt -signer cross.pem -inkey a_s.key -outform DER -out cross.p7s
expect_fail "other-hierarchy" V cross.p7s --content doc.txt "${MAP[@]}" --at "$LATER"
# trusted roots of the other hierarchy only: no issuer at all
expect_fail "untrusted-issuer" V a.p7s --content doc.txt --roots "$R/auth-root.pem" "${MAP[@]}" --at "$LATER"
expect_fail "revocation-unknown" V a.p7s --content doc.txt --at "$LATER"
expect_fail "no CRL mapped for partition \"$DP\"" V a.p7s --content doc.txt --at "$LATER"

# --- revocation: CRL and OCSP responses --------------------------------
openssl cms -sign -binary -in doc.txt -signer c/sign.pem -inkey c_s.key -outform DER -out c.p7s
expect_ok "C's document is valid before the change" V c.p7s --content doc.txt "${MAP[@]}" --at "$LATER"
J resident change "$C" --address "東京都清瀬市中清戸３丁目" >/dev/null
crls
out=$(V c.p7s --content doc.txt "${MAP[@]}" --at "$LATER" 2>&1 || true)
grep -q "revoked: revoked .*reason affiliationChanged (CRL crl/kiyose.crl)" <<<"$out" && ok "refused: revoked (CRL, affiliationChanged)" || bad "revoked crl: $out"
ocsp_resp() { # cert -> resp file
  openssl ocsp -issuer "$R/sign-root.pem" -cert "$1" -reqout req.der 2>/dev/null
  J ocsp --req req.der --out "$2" >/dev/null
}
ocsp_resp c/sign.pem c-ocsp.der
ocsp_resp a/sign.pem a-ocsp.der
out=$(VJ c.p7s --content doc.txt --ocsp-response c-ocsp.der --ocsp-response a-ocsp.der || true)
grep -q '"revoked"' <<<"$out" && grep -q '"source": "ocsp"' <<<"$out" && grep -q '"reason": "affiliationChanged"' <<<"$out" &&
  ok "refused: revoked (OCSP response file)" || bad "revoked ocsp: $out"
expect_ok "A is good by its OCSP response" V a.p7s --content doc.txt --ocsp-response c-ocsp.der --ocsp-response a-ocsp.der
expect_fail "stale" "$JPKI" --now "$(date -u -d '+2 days' +%Y-%m-%dT%H:%M:%SZ)" verify a.p7s --content doc.txt --ocsp-response a-ocsp.der

# --- over loopback HTTP: CRL download and an OCSP responder -------------
node "$INTEROP/http_stub.mjs" port.txt crl "$JPKI" --now "$NOW" ocsp &
STUB=$!
for _ in $(seq 50); do [ -s port.txt ] && break; sleep 0.1; done
PORT=$(cat port.txt)
out=$(V a.p7s --content doc.txt --crl-map "$DP=http://127.0.0.1:$PORT/kiyose.crl" --at "$LATER")
grep -q "^VALID" <<<"$out" && grep -q "CRL http://127.0.0.1:$PORT/kiyose.crl" <<<"$out" && ok "CRL over HTTP" || bad "crl http: $out"
expect_fail "revoked" V c.p7s --content doc.txt --crl-map "$DP=http://127.0.0.1:$PORT/kiyose.crl"
out=$(VJ a.p7s --content doc.txt --ocsp "http://127.0.0.1:$PORT/ocsp" --at "$LATER")
grep -q '"valid": true' <<<"$out" && grep -q '"source": "ocsp"' <<<"$out" && ok "OCSP responder over HTTP (nonce)" || bad "ocsp http: $out"
expect_fail "reason affiliationChanged (OCSP http://127.0.0.1:$PORT/ocsp)" V c.p7s --content doc.txt --ocsp "http://127.0.0.1:$PORT/ocsp"
expect_fail "GET http://127.0.0.1:$PORT/missing.crl failed" V a.p7s --content doc.txt --crl-map "$DP=http://127.0.0.1:$PORT/missing.crl"
kill "$STUB" && wait "$STUB" 2>/dev/null || true
STUB=""

# --- J-LIS's real roots: two generations per DN, picked by key -----------
JR=$JPKI_SRC/data/jpki-roots
out=$(V a.p7s --content doc.txt --roots "$JR" 2>&1 || true)
grep -q "untrusted-issuer" <<<"$out" && ok "real roots load; a test certificate is not under them" || bad "real roots: $out"
# --trust-jlis: the same roots from the project's data folder, pinned
J verify --help | grep -q -- "--trust-jlis" && ok "jpki verify --help documents --trust-jlis" || bad "verify --help"
out=$(V a.p7s --content doc.txt --trust-jlis "${MAP[@]}" --at "$LATER" 2>&1 || true)
grep -q "untrusted-issuer" <<<"$out" && ok "--trust-jlis alone: J-LIS roots only, ours untrusted" || bad "trust-jlis: $out"
expect_ok "--trust-jlis beside --roots: ours still valid" V a.p7s --content doc.txt --trust-jlis --roots "$R" "${MAP[@]}" --at "$LATER"
mkdir -p bad/jpki-roots && cp "$JR"/*.pem bad/jpki-roots/ && cp "$JR/auth_ca_2015.pem" bad/jpki-roots/auth_ca_2023.pem
JPKI_DATA_DIR=$T/bad expect_fail "not the pinned fingerprint" V a.p7s --content doc.txt --trust-jlis
# make install puts the data folder under <prefix>/share/openjpki
if cmake --install "${JPKI_BUILD:?}" --prefix "$T/prefix" >install.log 2>&1; then
  ( cd "$T/prefix/share/openjpki/jpki-roots" && for f in sign_ca_2015 sign_ca_2023 auth_ca_2015 auth_ca_2023; do
      cmp -s "$f.pem" "$JR/$f.pem" || exit 1; done ) && [ -x "$T/prefix/bin/jpki" ] && ok "install: jpki and the J-LIS roots under the prefix" || bad "install layout: $(ls -R "$T/prefix" | head)"
  out=$(JPKI_DATA_DIR=$T/prefix/share/openjpki "$T/prefix/bin/jpki" --now "$NOW" verify a.p7s --content doc.txt --trust-jlis 2>&1 || true)
  grep -q "untrusted-issuer" <<<"$out" && ok "the installed jpki reads the installed roots" || bad "installed: $out"
else
  bad "cmake --install: $(tail -5 install.log)"
fi
newkey fake
for gen in 2015 2023; do
  ski=$(openssl x509 -in "$JR/sign_ca_$gen.pem" -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' ')
  # our key under J-LIS's DN and this generation's key id
  openssl req -x509 -new -key fake.key -days 30 -out fake-root.pem \
    -subj "/C=JP/O=JPKI/OU=JPKI for digital signature/OU=Japan Agency for Local Authority Information Systems" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=$ski" 2>/dev/null
  openssl req -new -key a_s.key -subj "/C=JP/CN=gen$gen" -out g.csr
  sed 's/1\.2\.392\.200149\.8\.5\.1\.0\.20/1.2.392.200149.8.5.1.1.20/' cross.cnf >g.cnf
  openssl x509 -req -in g.csr -CA fake-root.pem -CAkey fake.key -set_serial 7 -days 30 -extfile g.cnf -extensions v3 -out g.pem 2>/dev/null
  openssl cms -sign -binary -in doc.txt -signer g.pem -inkey a_s.key -outform DER -out g.p7s
  want=$([ $gen = 2015 ] && echo 2015-10-20 || echo 2023-07-16)
  expect_fail "verify with the key of the production sign root of $want" V g.p7s --content doc.txt --roots "$JR" --at "$LATER"
done

# --- exit codes and usage -----------------------------------------------
rc=0; V a.p7s --content other.txt "${MAP[@]}" >/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] && ok "invalid document exits 1" || bad "exit $rc"
rc=0; V >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] && ok "usage error exits 2" || bad "usage exit $rc"
expect_fail "detached signature: give the signed content" V a.p7s "${MAP[@]}"
expect_fail "bad-document" V doc.txt --content doc.txt "${MAP[@]}"
expect_fail "only files and http:// URLs" V a.p7s --content doc.txt --crl-map "*=https://x/y.crl"
expect_fail "not a root" V a.p7s --content doc.txt --roots a/sign.pem
finish
