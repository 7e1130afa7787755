#!/usr/bin/env bash
# The card at the counter: `jpki terminal serve` (the helper on the
# clerk's PC) paired with jpkid's page through a one-time code, driving a
# virtual card that `jpki card serve` puts into pcscd's vpcd reader.
# Checked: pairing (clerk, CSRF; the code single use), only the paired
# Origin is answered (others 403 without CORS headers), Chromium's Private
# Network Access preflight for that origin alone, the token and the
# loopback Host; a 新規交付 application completed through the helper
# (prepare: keys + proofs of possession on the card; complete at jpkid;
# write) with the certificates read back off the card by `jpki card` and
# pkcs15-tool; the PINs never reach jpkid; a PIN reset through a
# 暗証番号の初期化 application (only the PINs it names); a renewal (更新,
# jpkid's clock moved into the window, the helper paired again) with the
# holder's PINs checked before the card's keys are replaced.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
. "$HERE/lib/pcsc.sh"
HELPER_PID=""

cleanup() {
  local rc=$?
  stop_pid "$HELPER_PID"
  stop_pid "$SERVE_PID"
  stop_jpkid
  stop_pid "$PCSCD_PID"
  if [ $rc -ne 0 ] || [ "$FAIL" -ne 0 ]; then
    for f in helper.err serve.err pcscd.log jpkid.err; do
      [ -f "$T/$f" ] && { echo "# --- tail of $f"; tail -n 25 "$T/$f" | sed 's/^/# /'; }
    done
  fi
  rm -rf "$T"
}
trap cleanup EXIT

export JPKID_ADMIN_PASSWORD=admin-password-1
export JPKI_DIR=$T/ca
start_jpkid "$T/ca"
login admin admin admin-password-1
req admin POST /api/v1/operators '{"name":"clerk1","role":"clerk","password":"clerk-password-1"}'; check 201 "create clerk"
req admin POST /api/v1/municipalities '{"code":"132217","pref":"東京都","city":"清瀬市","pref_roman":"Tokyo-to","city_roman":"Kiyose-shi"}'
check 201 "record Kiyose"
login clerk clerk1 clerk-password-1; check 200 "clerk logs in"
req clerk POST /api/v1/residents '{"ext_id":"TS1","name":"山田　花子","kana":"ヤマダハナコ","address":"東京都清瀬市中里1-1","birth":"1985-04-04","sex":2,"muni":"132217"}'
check 201 "resident"; A=$(jq -r .id <<<"$BODY")
FUTURE=$(date -d '+3 years' +%F)

# ---- the produced card: a blank virtual card, its terminal key with the CA ----
"$JPKI" card create --out card.img --serial OJT-TERM-0001 >/dev/null && ok "blank card made (terminal key recorded)" || bad "card create"

# ---- a 新規交付 application up to the counter ----
req clerk POST /api/v1/applications "{\"resident\":$A,\"kind\":\"new-card\",\"certs\":\"sign,auth\"}"
check 201 "new-card application"; APP=$(jq -r .id <<<"$BODY")
req clerk POST "/api/v1/applications/$APP/documents" "{\"type\":\"drivers_license\",\"number\":\"123456789012A\",\"expiry\":\"$FUTURE\"}"
check 201 "identity document"
req clerk POST "/api/v1/applications/$APP/approve" '{}'; check_msg 200 '"card_ordered"' "approved"
req clerk POST "/api/v1/applications/$APP/card-produced" '{"card":"OJT-TERM-0001"}'; check 200 "card produced"
req clerk POST "/api/v1/applications/$APP/card-ready" '{}'; check_msg 200 '"card_ready"' "card at the counter"

# ---- pairing ----
req - POST /api/v1/terminal/pair '{}' -H "Origin: $BASE"; check 401 "pair without a session"
NOCSRF=1 req clerk POST /api/v1/terminal/pair '{}' -H "Origin: $BASE"; check 403 "pair without the CSRF token"
req clerk POST /api/v1/terminal/pair '{}' -H "Origin: $BASE"; check 201 "pairing code for the page"
CODE6=$(jq -r .code <<<"$BODY"); TOKEN=$(jq -r .token <<<"$BODY")
[[ "$CODE6" =~ ^[0-9]{8}$ ]] && [[ "$TOKEN" =~ ^[0-9A-F]{64}$ ]] && [ "$(jq -r .origin <<<"$BODY")" = "$BASE" ] \
  && ok "code: 8 digits, token, origin $BASE" || bad "pair: $BODY"
CHX=00112233445566778899AABBCCDDEEFF
req - POST /api/v1/terminal/tauth "{\"token\":\"$TOKEN\",\"card\":\"OJT-TERM-0001\",\"challenge\":\"$CHX\",\"app\":$APP}"
check 401 "the token works only once the code is redeemed"
expect_fail "unknown, expired or used pairing code" "$JPKI" terminal serve --jpkid "$BASE" --pair 00000000
expect_fail "loopback" "$JPKI" terminal serve --jpkid "http://192.0.2.1:80" --pair "$CODE6"

pcsc_up || exit 1
start_serve card.img || { bad "serve: the card never appeared in '$READER'"; exit 1; }

"$JPKI" --json terminal serve --port 0 --reader "$READER" --jpkid "$BASE" --pair "$CODE6" >helper.out 2>helper.err 9>&- &
HELPER_PID=$!
HP=""
for _ in $(seq 1 100); do
  HP=$(jq -r '.port // empty' helper.out 2>/dev/null || true); [ -n "$HP" ] && break
  kill -0 "$HELPER_PID" 2>/dev/null || break; sleep 0.1
done
[ -n "$HP" ] && ok "helper listening on 127.0.0.1:$HP" || { bad "helper did not start: $(cat helper.err)"; exit 1; }
jq -e --arg o "$BASE" '.origin == $o and .operator == "clerk1"' helper.out >/dev/null && ok "helper paired with $BASE (clerk1)" || bad "helper: $(cat helper.out)"
HB=http://127.0.0.1:$HP
expect_fail "unknown, expired or used pairing code" "$JPKI" terminal serve --jpkid "$BASE" --pair "$CODE6"
req - POST /api/v1/terminal/tauth "{\"token\":\"$(printf 'A%.0s' $(seq 64))\",\"card\":\"OJT-TERM-0001\",\"challenge\":\"$CHX\",\"app\":$APP}"
check 401 "jpkid: terminal authentication with a wrong token"
req - POST /api/v1/terminal/tauth "{\"token\":\"$TOKEN\",\"card\":\"NOSUCHCARD\",\"challenge\":\"$CHX\",\"app\":$APP}"
check 409 "jpkid: no MAC for a card its application does not name"
req - POST /api/v1/terminal/tauth "{\"token\":\"$TOKEN\",\"card\":\"OJT-TERM-0001\",\"challenge\":\"$CHX\"}"
check 400 "jpkid: no MAC without the application"
req - POST /api/v1/terminal/tauth "{\"token\":\"$TOKEN\",\"card\":\"OJT-TERM-0001\",\"challenge\":\"$CHX\",\"app\":$APP}"
check 200 "jpkid: the MAC for the application's card at the counter"
jq -e '(.mac|test("^[0-9A-F]{64}$")) and .kind == "new-card" and .state == "card_ready"' <<<"$BODY" >/dev/null \
  && ok "the MAC names the application's kind and state" || bad "tauth: $BODY"

# h METHOD PATH [BODY [curl args]]: one call to the helper (paired Origin and token unless overridden)
h() {
  local m=$1 p=$2 d=${3-}; shift 2; [ $# -gt 0 ] && shift
  local args=(-s -D "$T/hhdr" -o "$T/hresp" -w '%{http_code}' -X "$m" --max-time 60)
  [ -n "$d" ] && args+=(-H 'Content-Type: application/json' --data-binary "$d")
  CODE=$(curl "${args[@]}" "$@" "$HB$p") || CODE=000
  BODY=$(cat "$T/hresp" 2>/dev/null || true)
}
hdr() { grep -i "^$1:" "$T/hhdr" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
AUTHZ="Authorization: Bearer $TOKEN"

# ---- who the helper answers ----
h GET /v1/status "" -H "Origin: http://evil.example" -H "$AUTHZ"; check 403 "another origin is refused"
[ -z "$(hdr Access-Control-Allow-Origin)" ] && ok "no CORS headers for another origin" || bad "ACAO for evil: $(hdr Access-Control-Allow-Origin)"
h GET /v1/status "" -H "$AUTHZ"; check 403 "no Origin is refused"
h OPTIONS /v1/prepare "" -H "Origin: $BASE" -H "Access-Control-Request-Method: POST" -H "Access-Control-Request-Private-Network: true"
check 204 "PNA preflight for the paired origin"
[ "$(hdr Access-Control-Allow-Private-Network)" = true ] && [ "$(hdr Access-Control-Allow-Origin)" = "$BASE" ] \
  && ok "preflight: Allow-Private-Network true, Allow-Origin $BASE" || bad "preflight headers: $(cat "$T/hhdr")"
h OPTIONS /v1/prepare "" -H "Origin: http://evil.example" -H "Access-Control-Request-Method: POST" -H "Access-Control-Request-Private-Network: true"
check 403 "PNA preflight for another origin refused"
[ -z "$(hdr Access-Control-Allow-Private-Network)$(hdr Access-Control-Allow-Origin)" ] && ok "no CORS/PNA headers for it" || bad "evil preflight: $(cat "$T/hhdr")"
h OPTIONS /v1/prepare "" -H "Origin: http://127.0.0.1:1" -H "Access-Control-Request-Private-Network: true"
check 403 "another port of the same host is another origin"
h GET /v1/status "" -H "Origin: $BASE" -H "Authorization: Bearer $(printf '0%.0s' $(seq 64))"; check 401 "wrong token refused"
[ "$(hdr Access-Control-Allow-Origin)" = "$BASE" ] && ok "the paired page can read the refusal" || bad "401 without ACAO"
h GET /v1/status "" -H "Origin: $BASE"; check 401 "missing token refused"
h GET /v1/status "" -H "Origin: $BASE" -H "$AUTHZ" -H "Host: rebind.example:$HP"; check 403 "a foreign Host (DNS rebinding) refused"
h GET /v1/status "" -H "Origin: $BASE" -H "$AUTHZ"; check 200 "status for the paired page"
jq -e '.card and .serial == "OJT-TERM-0001" and .auth_cert_serial == null' <<<"$BODY" >/dev/null \
  && ok "status: the blank card OJT-TERM-0001 in the reader" || bad "status: $BODY"
H=(-H "Origin: $BASE" -H "$AUTHZ")

# ---- 新規交付 through the helper ----
req clerk POST /api/v1/issue/challenge; CH=$(jq -r .challenge <<<"$BODY")
h POST /v1/prepare "{\"app\":$APP,\"card\":\"OTHER-CARD\",\"resident\":$A,\"challenge\":\"$CH\",\"kinds\":\"sign,auth\",\"auth_pin\":\"1234\",\"sign_pin\":\"abc123\"}" "${H[@]}"
check_msg 409 "OJT-TERM-0001" "prepare refuses a card other than the application's"
h POST /v1/prepare "{\"app\":$APP,\"card\":\"OJT-TERM-0001\",\"resident\":$A,\"challenge\":\"$CH\",\"kinds\":\"sign,auth\",\"auth_pin\":\"12\",\"sign_pin\":\"abc123\"}" "${H[@]}"
check 400 "malformed PIN refused before the card"
h POST /v1/prepare "{\"card\":\"OJT-TERM-0001\",\"resident\":$A,\"challenge\":\"$CH\",\"kinds\":\"sign,auth\",\"auth_pin\":\"1234\",\"sign_pin\":\"abc123\"}" "${H[@]}"
check 400 "prepare without the application refused"
h POST /v1/prepare "{\"app\":$APP,\"card\":\"OJT-TERM-0001\",\"resident\":$A,\"challenge\":\"$CH\",\"kinds\":\"sign,auth\",\"auth_pin\":\"1234\",\"sign_pin\":\"abc123\"}" "${H[@]}"
check 200 "prepare: keys generated on the card, PINs set, proofs signed"
PREP=$BODY
jq -e '.card == "OJT-TERM-0001" and (.sign.spki|length) > 300 and (.auth.pop|length) > 300' <<<"$PREP" >/dev/null \
  && ok "prepare answers both public keys and proofs" || bad "prepare: $PREP"
cbody=$(jq -c --arg ch "$CH" '{challenge:$ch, sign:.sign, auth:.auth}' <<<"$PREP")
grep -q "1234\|ABC123\|abc123" <<<"$cbody" && bad "a PIN in the body for jpkid" || ok "the body for jpkid holds no PIN"
req clerk POST "/api/v1/applications/$APP/complete" "$cbody"; check 200 "application completed at jpkid with the card's keys"
DONE=$BODY
SS=$(jq -r .sign.serial <<<"$DONE"); AS=$(jq -r .auth.serial <<<"$DONE")
wbody=$(jq -c --argjson app "$APP" '{app:$app, card:"OJT-TERM-0001", sign:.sign.pem, auth:.auth.pem}' <<<"$DONE")
h POST /v1/write "$(jq -c --argjson app "$APP" '{app:$app, card:"OJT-TERM-0001", sign:.sign.pem, auth:.sign.pem}' <<<"$DONE")" "${H[@]}"
check 400 "write refuses a certificate under the wrong root"
h POST /v1/write "$wbody" "${H[@]}"; check 200 "certificates written onto the card"
h GET /v1/status "" "${H[@]}"
jq -e --arg a "$AS" '(.auth_cert_serial|ascii_upcase|ltrimstr("0")) == ($a|ascii_upcase|ltrimstr("0")) and .pins.auth == 3 and .pins.sign == 5 and .pins.cardinfo == 3' <<<"$BODY" >/dev/null \
  && ok "status: authentication certificate $AS, PINs full" || bad "status after write: $BODY"

# ---- read back off the card by other clients ----
norm() { tr a-f A-F | sed 's/^0*//'; }
"$JPKI" card read-cert auth --reader "$READER" --out auth.pem >/dev/null 2>&1 || bad "read-cert auth"
[ "$(openssl x509 -in auth.pem -noout -serial | cut -d= -f2 | norm)" = "$(norm <<<"$AS")" ] \
  && ok "jpki card reads the authentication certificate, serial = jpkid's record" || bad "auth serial on the card"
"$JPKI" card read-cert sign --reader "$READER" --pin ABC123 --out sign.pem >/dev/null 2>&1 || bad "read-cert sign"
[ "$(openssl x509 -in sign.pem -noout -serial | cut -d= -f2 | norm)" = "$(norm <<<"$SS")" ] \
  && ok "jpki card reads the signature certificate (new PIN), serial = jpkid's record" || bad "sign serial on the card"
req clerk GET "/api/v1/certificates/$AS"; check_msg 200 "OJT-TERM-0001" "jpkid records the certificate for card OJT-TERM-0001"
if command -v pkcs15-tool >/dev/null; then
  pkcs15-tool --read-certificate 01 2>/dev/null >p15auth.pem || true
  cmp -s <(openssl x509 -in p15auth.pem -outform DER 2>/dev/null) <(openssl x509 -in auth.pem -outform DER) \
    && ok "pkcs15-tool (OpenSC) reads the same authentication certificate" || bad "pkcs15-tool: $(head -c 300 p15auth.pem)"
fi
printf 'terminal test\n' >doc.txt
expect_ok "the card signs with its new signature key" "$JPKI" card sign --key sign --in doc.txt --out doc.sig --reader "$READER" --pin ABC123
openssl x509 -in sign.pem -pubkey -noout >sign.pub
expect_ok "the signature verifies with the issued certificate" openssl dgst -sha256 -verify sign.pub -signature doc.sig doc.txt
grep -q "1234\|ABC123" "$T/jpkid.err" "$T/jpkid.out" && bad "a PIN in jpkid's output" || ok "no PIN in jpkid's output"

# ---- PIN reset through the helper ----
expect_fail "4 tries left" "$JPKI" card sign --key sign --in doc.txt --out x.sig --reader "$READER" --pin WRONG1
expect_fail "2 tries left" "$JPKI" card sign --key auth --in doc.txt --out x.sig --reader "$READER" --pin 9999
h GET /v1/status "" "${H[@]}"
jq -e '.pins.sign == 4 and .pins.auth == 2' <<<"$BODY" >/dev/null && ok "wrong PINs counted (sign 4, auth 2)" || bad "retries: $BODY"
h POST /v1/pin-reset "{\"app\":$APP,\"card\":\"OJT-TERM-0001\",\"sign_pin\":\"new2pin9\"}" "${H[@]}"
check_msg 409 "does not reset" "no PIN reset under the completed 新規交付 application"
req clerk POST /api/v1/applications "{\"resident\":$A,\"kind\":\"pin-reset\",\"pins\":\"sign,auth\",\"card\":\"OJT-TERM-0001\"}"
check 201 "暗証番号の初期化 application"; PR=$(jq -r .id <<<"$BODY")
h POST /v1/pin-reset "{\"app\":$PR,\"card\":\"OJT-TERM-0001\",\"sign_pin\":\"new2pin9\"}" "${H[@]}"
check_msg 409 "received" "no PIN reset before approval"
req clerk POST "/api/v1/applications/$PR/documents" "{\"type\":\"drivers_license\",\"number\":\"123456789012A\",\"expiry\":\"$FUTURE\"}"; check 201 "identity document"
req clerk POST "/api/v1/applications/$PR/documents" "{\"type\":\"mynumber_card\",\"number\":\"OJTTERM0001\",\"expiry\":\"$FUTURE\"}"; check 201 "the card itself"
req clerk POST "/api/v1/applications/$PR/approve" '{}'; check_msg 200 '"approved"' "PIN reset approved"
h POST /v1/pin-reset "{\"app\":$PR,\"card\":\"OJT-TERM-0001\"}" "${H[@]}"; check 400 "pin-reset needs a PIN"
h POST /v1/pin-reset "{\"app\":$PR,\"card\":\"OJT-TERM-0001\",\"sign_pin\":\"abcdef\"}" "${H[@]}"; check 400 "pin-reset: the signature PIN must mix letters and digits"
h POST /v1/pin-reset "{\"app\":$PR,\"card\":\"OJT-TERM-0001\",\"cardinfo_pin\":\"1111\"}" "${H[@]}"; check 409 "pin-reset: only the PINs the application names"
h POST /v1/pin-reset "{\"app\":$PR,\"card\":\"OJT-TERM-0001\",\"sign_pin\":\"new2pin9\",\"auth_pin\":\"5678\"}" "${H[@]}"
check 200 "PINs reset through the helper"
jq -e '.pins.sign == 5 and .pins.auth == 3' <<<"$BODY" >/dev/null && ok "retry counters full again" || bad "pin-reset: $BODY"
req clerk POST "/api/v1/applications/$PR/complete" '{}'; check_msg 200 '"completed"' "PIN reset application completed"
st=$("$JPKI" card pin-status --reader "$READER" 2>&1) || true
echo "$st" | sed 's/^/# /'
expect_ok "the new signature PIN works" "$JPKI" card sign --key sign --in doc.txt --out y.sig --reader "$READER" --pin NEW2PIN9
expect_ok "the new authentication PIN works" "$JPKI" card sign --key auth --in doc.txt --out z.sig --reader "$READER" --pin 5678
expect_fail "4 tries left" "$JPKI" card sign --key sign --in doc.txt --out w.sig --reader "$READER" --pin ABC123

# ---- the helper stops cleanly ----
kill -TERM "$HELPER_PID"; rc=0; wait "$HELPER_PID" || rc=$?; HELPER_PID=""
[ $rc -eq 0 ] && ok "helper stops on SIGTERM (exit 0)" || bad "helper exit $rc: $(tail -3 helper.err)"

# ---- 更新 (renewal) through the helper, inside the renewal window ----
# jpkid again with its clock 30 days before the authentication
# certificate's last day (--test-clock-offset; a production CA refuses
# it); pairings live in memory, so the page pairs the helper again.
req clerk GET "/api/v1/certificates/$AS"; LAST=$(jq -r .not_after <<<"$BODY")
stop_jpkid
days=$(( ( $(date -d "${LAST%%T*}" +%s) - $(date +%s) ) / 86400 - 30 ))
start_jpkid "$T/ca" --test-clock-offset "$days"
login clerk clerk1 clerk-password-1; check 200 "clerk logs in again (clock +$days days)"
req clerk POST /api/v1/terminal/pair '{}' -H "Origin: $BASE"; check 201 "pairing code again"
CODE6=$(jq -r .code <<<"$BODY"); TOKEN=$(jq -r .token <<<"$BODY"); AUTHZ="Authorization: Bearer $TOKEN"
"$JPKI" --json terminal serve --port 0 --reader "$READER" --jpkid "$BASE" --pair "$CODE6" >helper.out 2>helper.err 9>&- &
HELPER_PID=$!
HP=""
for _ in $(seq 1 100); do
  HP=$(jq -r '.port // empty' helper.out 2>/dev/null || true); [ -n "$HP" ] && break
  kill -0 "$HELPER_PID" 2>/dev/null || break; sleep 0.1
done
[ -n "$HP" ] && ok "helper paired again on port $HP" || { bad "helper did not start: $(cat helper.err)"; exit 1; }
HB=http://127.0.0.1:$HP; H=(-H "Origin: $BASE" -H "$AUTHZ")
FAR=$(date -d '+12 years' +%F)
req clerk POST /api/v1/applications "{\"resident\":$A,\"kind\":\"renewal\",\"certs\":\"sign,auth\",\"card\":\"OJT-TERM-0001\"}"
check 201 "更新 application"; RN=$(jq -r .id <<<"$BODY")
req clerk POST "/api/v1/applications/$RN/documents" "{\"type\":\"drivers_license\",\"number\":\"123456789012A\",\"expiry\":\"$FAR\"}"; check 201 "identity document"
req clerk POST "/api/v1/applications/$RN/documents" "{\"type\":\"mynumber_card\",\"number\":\"OJTTERM0001\",\"expiry\":\"$FAR\"}"; check 201 "the card itself"
req clerk POST "/api/v1/applications/$RN/approve" '{}'; check_msg 200 '"approved"' "renewal approved"
req clerk POST /api/v1/issue/challenge; CH=$(jq -r .challenge <<<"$BODY")
h POST /v1/prepare "{\"app\":$RN,\"card\":\"OJT-TERM-0001\",\"resident\":$A,\"challenge\":\"$CH\",\"kinds\":\"sign,auth\",\"auth_pin\":\"5678\",\"sign_pin\":\"NEW2PIN8\"}" "${H[@]}"
check_msg 403 "pin_wrong" "renewal: a wrong signature PIN is refused by the card"
h GET /v1/status "" "${H[@]}"
jq -e --arg a "$AS" '(.auth_cert_serial|ascii_upcase|ltrimstr("0")) == ($a|ascii_upcase|ltrimstr("0")) and .pins.sign == 3' <<<"$BODY" >/dev/null \
  && ok "after the wrong PIN the card keeps its keys and certificate $AS" || bad "status after a wrong renewal PIN: $BODY"
h POST /v1/prepare "{\"app\":$RN,\"card\":\"OJT-TERM-0001\",\"resident\":$A,\"challenge\":\"$CH\",\"kinds\":\"sign,auth\",\"auth_pin\":\"5678\",\"sign_pin\":\"NEW2PIN9\"}" "${H[@]}"
check 200 "renewal: new keys on the card, proofs signed with the holder's PINs"
cbody=$(jq -c --arg ch "$CH" '{challenge:$ch, sign:.sign, auth:.auth}' <<<"$BODY")
req clerk POST "/api/v1/applications/$RN/complete" "$cbody"; check 200 "renewal completed at jpkid"
DONE=$BODY; AS2=$(jq -r .auth.serial <<<"$DONE"); SS2=$(jq -r .sign.serial <<<"$DONE")
h POST /v1/write "$(jq -c --argjson app "$RN" '{app:$app, card:"OJT-TERM-0001", sign:.sign.pem, auth:.auth.pem}' <<<"$DONE")" "${H[@]}"
check 200 "renewed certificates written onto the card"
"$JPKI" card read-cert auth --reader "$READER" --out auth2.pem >/dev/null 2>&1 || bad "read-cert auth (renewed)"
[ "$(openssl x509 -in auth2.pem -noout -serial | cut -d= -f2 | norm)" = "$(norm <<<"$AS2")" ] && [ "$AS2" != "$AS" ] \
  && ok "the card holds the renewed authentication certificate $AS2" || bad "renewed auth on the card"
"$JPKI" card read-cert sign --reader "$READER" --pin NEW2PIN9 --out sign2.pem >/dev/null 2>&1 || bad "read-cert sign (renewed)"
[ "$(openssl x509 -in sign2.pem -noout -serial | cut -d= -f2 | norm)" = "$(norm <<<"$SS2")" ] \
  && ok "the card holds the renewed signature certificate $SS2 (PINs kept)" || bad "renewed sign on the card"
req clerk GET "/api/v1/certificates/$AS"
jq -e '.status == "revoked" and .reason == "superseded"' <<<"$BODY" >/dev/null && ok "the old authentication certificate is superseded" || bad "old cert: $BODY"
h POST /v1/write "$(jq -c --argjson app "$APP" '{app:$app, card:"OJT-TERM-0001", auth:.auth.pem}' <<<"$DONE")" "${H[@]}"
check 409 "the 新規交付 application no longer opens the card"
kill -TERM "$HELPER_PID"; rc=0; wait "$HELPER_PID" || rc=$?; HELPER_PID=""
[ $rc -eq 0 ] && ok "helper stops on SIGTERM (exit 0)" || bad "helper exit $rc: $(tail -3 helper.err)"
stop_pid "$SERVE_PID"; SERVE_PID=""
stop_jpkid
finish
