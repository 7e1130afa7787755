#!/usr/bin/env bash
# The README walkthrough, end to end and non-interactive: a CA, a
# municipality, a resident, a card, certificates, a signature (CMS, PDF,
# XML), its verification, a change of address that revokes, CRL and OCSP.
# usage: scripts/walkthrough.sh JPKI_BINARY OUTPUT_DIR
set -euo pipefail
JPKI=$(realpath "${1:?jpki binary}")
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${2:?output directory}
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
cd "$OUT"
export JPKI_DIR="$OUT/ca"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run()  { printf '$ %s\n' "$*"; "$@"; }

step "1. Set up the CA: both J-LIS hierarchies (test profile, O=JPKI-TEST)"
run "$JPKI" ca init

step "2. The issuing municipality (千代田区) and a resident (住民基本台帳)"
run "$JPKI" muni add 131016 --pref 東京都 --city 千代田区 --pref-roman Tokyo-to --city-roman Chiyoda-ku
RID=$("$JPKI" --json resident add --ext-id 000000000001 --name "山田　太郎" --kana "ヤマダ　タロウ" \
      --address "東京都千代田区外神田１丁目２番３号" --birth 1980-12-31 --sex 1 --muni 131016 \
      | sed -n 's/^ *"id": \([0-9]*\),*/\1/p')
echo "resident id $RID"

step "3. The counter checks the law before issuing (年齢, 有効期限, 手数料)"
run "$JPKI" rules person --birth 1980-12-31

step "4. The card (マイナンバーカード): a virtual card, keys generated on it"
run "$JPKI" card create --out yamada.card

step "5. At the counter: the citizen sets the PINs, both certificates are issued onto the card"
run "$JPKI" card personalize yamada.card --resident "$RID" --auth-pin 1234 --sign-pin ABC123 --my-number 123456789018
run "$JPKI" card show yamada.card
mkdir -p certs
run "$JPKI" card read-cert sign yamada.card --pin ABC123 --out certs/sign.pem
run "$JPKI" card read-cert auth yamada.card --out certs/auth.pem
run "$JPKI" show certs/sign.pem

step "6. Independent check: openssl verifies each against its own root only"
run openssl verify -CAfile ca/roots/sign-root.pem certs/sign.pem
run openssl verify -CAfile ca/roots/auth-root.pem certs/auth.pem
if openssl verify -CAfile ca/roots/auth-root.pem certs/sign.pem >/dev/null 2>&1; then
  echo "UNEXPECTED: signature certificate verified under the authentication root" >&2; exit 1
fi
echo "signature certificate under the authentication root: refused (as it must be)"

step "7. The card signs a document (CMS, 署名用 key after its PIN); a relying party verifies it"
echo "確定申告書 2026 — e-Tax filing" > document.txt
run "$JPKI" sign yamada.card --in document.txt --pin ABC123
run openssl cms -verify -binary -inform DER -in document.txt.p7s -content document.txt -CAfile ca/roots/sign-root.pem -purpose any -out /dev/null
run "$JPKI" crl --kind sign --muni 131016 --out chiyoda-before.crl
run "$JPKI" verify document.txt.p7s --content document.txt --crl-map '*=chiyoda-before.crl'

step "7b. The same card signs a PDF (co-signable incremental update) and an XML document"
run "$JPKI" pdf sign yamada.card --in "$SRC/docs/examples/application.pdf" --out app-signed.pdf --pin ABC123
run "$JPKI" pdf verify app-signed.pdf --crl-map '*=chiyoda-before.crl'
run pdfsig -nocert app-signed.pdf
echo '<申請書><申請内容>転居届</申請内容></申請書>' > shinsei.xml
run "$JPKI" xml sign yamada.card --in shinsei.xml --out shinsei-signed.xml --pin ABC123
run "$JPKI" xml verify shinsei-signed.xml --crl-map '*=chiyoda-before.crl'
run xmlsec1 --verify --trusted-pem ca/roots/sign-root.pem shinsei-signed.xml

step "8. A move (住所変更) revokes the signature certificate only"
run "$JPKI" resident change "$RID" --address "東京都千代田区神田駿河台１丁目１番"

step "9. Revocation is published: the municipality's CRL and OCSP"
run "$JPKI" crl --kind sign --muni 131016 --out chiyoda-sign.crl
run openssl crl -inform DER -in chiyoda-sign.crl -CAfile ca/roots/sign-root.pem -noout -text | head -30
openssl ocsp -issuer ca/roots/sign-root.pem -cert certs/sign.pem -reqout sign-ocsp.req -no_nonce 2>/dev/null
run "$JPKI" ocsp --req sign-ocsp.req --out sign-ocsp.resp
run openssl ocsp -respin sign-ocsp.resp -no_nonce -issuer ca/roots/sign-root.pem -CAfile ca/roots/sign-root.pem -cert certs/sign.pem
echo "the same document now fails verification, naming the reason:"
if "$JPKI" verify document.txt.p7s --content document.txt --crl-map '*=chiyoda-sign.crl'; then
  echo "UNEXPECTED: a revoked signature certificate verified" >&2; exit 1
fi
openssl ocsp -issuer ca/roots/auth-root.pem -cert certs/auth.pem -reqout auth-ocsp.req 2>/dev/null
run "$JPKI" ocsp --req auth-ocsp.req --out auth-ocsp.resp
run openssl ocsp -respin auth-ocsp.resp -no_nonce -issuer ca/roots/auth-root.pem -CAfile ca/roots/auth-root.pem -cert certs/auth.pem

step "10. The law refuses: no signature certificate for a child under 15"
KID=$("$JPKI" --json resident add --ext-id 000000000002 --name "山田　花子" --kana "ヤマダ　ハナコ" \
      --address "東京都千代田区外神田１丁目２番３号" --birth 2015-04-01 --sex 2 --muni 131016 \
      | sed -n 's/^ *"id": \([0-9]*\),*/\1/p')
run "$JPKI" rules person --birth 2015-04-01
"$JPKI" card create --out hanako.card >/dev/null
run "$JPKI" card personalize hanako.card --resident "$KID" --auth-pin 5678
run "$JPKI" card show hanako.card

step "11. Every step is in the hash-chained audit log"
run "$JPKI" audit verify

printf '\nAll outputs are in %s\n' "$OUT"
