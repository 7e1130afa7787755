#!/usr/bin/env bash
# A relying party and a card in a real PC/SC reader: a virtual card
# personalised by the counter (CLI, beside a running jpkid, on jpkid's CA
# directory) is served by `jpki card serve` to pcscd's vsmartcard reader;
# `jpki sign --reader auto` signs a document through our PC/SC transport
# (verified by `jpki verify` with a CRL from `jpki crl`, by `openssl cms
# -verify` and by jpkid's POST /api/v1/verify), and `jpki login --reader
# auto` logs the same card in to jpkid.  pcscd/vpcd: lib/pcsc.sh (one lock
# with card_opensc.sh).  Every process is stopped by its PID in the EXIT trap.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
. "$HERE/lib/pcsc.sh"

cleanup() {
  local rc=$?
  stop_pid "$SERVE_PID"
  stop_jpkid
  stop_pid "$PCSCD_PID"
  if [ $rc -ne 0 ] || [ "$FAIL" -ne 0 ]; then
    for f in serve.err pcscd.log jpkid.err; do
      [ -f "$T/$f" ] && { echo "# --- tail of $f"; tail -n 25 "$T/$f" | sed 's/^/# /'; }
    done
  fi
  rm -rf "$T"
}
trap cleanup EXIT

export JPKID_ADMIN_PASSWORD=admin-password-1
export JPKI_DIR=$T/ca
J() { "$JPKI" "$@"; }
start_jpkid "$T/ca"

# ---- the counter, through the CLI, beside the running jpkid ----
J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
rid() { sed -n 's/^ *"id": \([0-9]*\),*/\1/p'; }
A=$(J --json resident add --ext-id P1 --name "山田　太郎" --kana ヤマダタロウ --address "東京都清瀬市上清戸１丁目" --birth 1980-12-31 --sex 1 --muni 132217 | rid)
J card create --out card.img --serial OJ-PCSC-0001 >/dev/null
expect_ok "card personalised by the CLI on jpkid's CA directory" J card personalize card.img --resident "$A" --auth-pin 1234 --sign-pin ABC123
J card read-cert auth card.img --out auth.pem >/dev/null
AUTH_SERIAL=$(openssl x509 -in auth.pem -noout -serial | cut -d= -f2)
printf '契約書: 口座開設\n' >doc.txt

# ---- the card in pcscd's reader ----
pcsc_up || exit 1
start_serve card.img || { bad "serve: the card never appeared in '$READER' (vpcd port $VPORT)"; exit 1; }
grep -q "serving card OJ-PCSC-0001" serve.out && ok "card served to vpcd" || bad "serve.out: $(cat serve.out)"

# ---- a document signed through PC/SC ----
expect_ok "jpki sign --reader auto (signature PIN over PC/SC)" J sign --reader auto --in doc.txt --out doc.p7s --pin ABC123
J card read-cert sign --reader auto --pin ABC123 --out sign.pem >/dev/null
SIGN_SERIAL=$(openssl x509 -in sign.pem -noout -serial | cut -d= -f2)
J crl --kind sign --muni 132217 --out sign.crl >/dev/null
out=$(J verify doc.p7s --content doc.txt --crl-map "*=sign.crl" 2>&1) || true
grep -q "^VALID" <<<"$out" && grep -q "山田　太郎" <<<"$out" && ok "jpki verify (CRL from jpki crl): valid, basic-4" || bad "verify: $out"
expect_ok "openssl cms -verify accepts the PC/SC signature" openssl cms -verify -binary -inform DER -in doc.p7s -content doc.txt -CAfile "$T/ca/roots/sign-root.pem" -out /dev/null
cmp -s <(openssl pkcs7 -inform DER -in doc.p7s -print_certs 2>/dev/null | openssl x509 -outform DER) <(openssl x509 -in sign.pem -outform DER) &&
  ok "the CMS carries the card's signature certificate (serial $SIGN_SERIAL)" || bad "signer certificate differs"
req - POST /api/v1/verify "{\"cms\":\"$(base64 -w0 doc.p7s)\",\"content\":\"$(base64 -w0 doc.txt)\"}"
check_msg 200 '"valid":true' "jpkid /api/v1/verify accepts the PC/SC signature"
expect_fail "wrong signature PIN" J sign --reader auto --in doc.txt --out bad.p7s --pin XYZ999

# ---- log-in with the same card ----
out=$(J login "$BASE" --reader auto --pin 1234 2>&1) || true
grep -q "^logged in to $BASE" <<<"$out" && grep -q "serial $AUTH_SERIAL" <<<"$out" &&
  ok "jpki login --reader auto names the card's authentication certificate" || bad "login: $out"
out=$(J --json login "$BASE" --origin https://portal.example --reader auto --pin 1234 2>&1) || true
jq -e --arg s "$AUTH_SERIAL" '.ok and .origin == "https://portal.example" and .certificate.serial == $s' <<<"$out" >/dev/null &&
  ok "login --json over PC/SC for another origin" || bad "login json: $out"
expect_fail "wrong authentication PIN: 2 tries left" J login "$BASE" --reader auto --pin 9999
J login "$BASE" --reader auto --pin 1234 >/dev/null && ok "the right PIN logs in again" || bad "login after a wrong PIN"
J revoke "$AUTH_SERIAL" --reason cessationOfOperation >/dev/null
expect_fail "login refused (HTTP 401, revoked)" J login "$BASE" --reader auto --pin 1234

# SIGTERM stops serve cleanly; the reader empties
kill -TERM "$SERVE_PID"; rc=0; wait "$SERVE_PID" || rc=$?; SERVE_PID=""
[ $rc -eq 0 ] && ok "serve stops on SIGTERM (exit 0)" || bad "serve exit $rc: $(tail -3 serve.err)"
wait_for "the reader to empty" no_card 100 && ok "card removed from '$READER'" || bad "card still present"
stop_jpkid
finish
