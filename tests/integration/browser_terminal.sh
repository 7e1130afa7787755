#!/usr/bin/env bash
# The card at the counter in Debian's chromium (tests/browser/terminal.spec.mjs),
# one virtual card in pcscd's vpcd reader and `jpki terminal serve` paired
# with the page (again in each phase, as the clerk would):
#  1. 新規交付: the application (prepared over the API up to card_ready) is
#     completed on the page through the helper; `jpki card` reads the new
#     certificates off the card (the PINs typed on the page) and their
#     serials match jpkid's record;
#  2. 暗証番号の初期化: after wrong PINs, the application is approved on the
#     page and the PINs are reset through the helper's form; `jpki card
#     pin-status` reads the counters full and the new PINs work;
#  3. 更新: jpkid again with its clock 30 days before the authentication
#     certificate's last day (--test-clock-offset, relative to today); the
#     application is approved on the page and completed 「カードリーダーで完了」
#     (a wrong PIN first changes nothing); the renewed certificates read
#     off the card are jpkid's, the old ones superseded.
# Screenshots: ${JPKI_BUILD:-$T}/browser-screenshots/terminal.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
. "$HERE/lib/pcsc.sh"
B=$HERE/../browser

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

. "$HERE/lib/browser.sh"
browser_prepare terminal

export JPKID_ADMIN_PASSWORD=admin-password-1
export JPKI_DIR=$T/ca
start_jpkid "$T/ca"
login admin admin admin-password-1
req admin POST /api/v1/operators '{"name":"clerk1","role":"clerk","password":"clerk-password-1"}'; check 201 "create clerk"
req admin POST /api/v1/municipalities '{"code":"132217","pref":"東京都","city":"清瀬市","pref_roman":"Tokyo-to","city_roman":"Kiyose-shi"}'
check 201 "record Kiyose"
login clerk clerk1 clerk-password-1
req clerk POST /api/v1/residents '{"ext_id":"BT1","name":"高橋　真理","kana":"タカハシマリ","address":"東京都清瀬市中里2-2","birth":"1990-02-02","sex":2,"muni":"132217"}'
check 201 "resident"; A=$(jq -r .id <<<"$BODY")
CARD=OJT-BROWSER-01
"$JPKI" card create --out card.img --serial "$CARD" >/dev/null && ok "blank card $CARD made" || bad "card create"
req clerk POST /api/v1/applications "{\"resident\":$A,\"kind\":\"new-card\",\"certs\":\"sign,auth\"}"
check 201 "new-card application"; APP=$(jq -r .id <<<"$BODY")
req clerk POST "/api/v1/applications/$APP/documents" "{\"type\":\"drivers_license\",\"number\":\"123456789012A\",\"expiry\":\"$(date -d '+3 years' +%F)\"}"
check 201 "identity document"
req clerk POST "/api/v1/applications/$APP/approve" '{}'; check 200 "approved"
req clerk POST "/api/v1/applications/$APP/card-produced" "{\"card\":\"$CARD\"}"; check 200 "card produced"
req clerk POST "/api/v1/applications/$APP/card-ready" '{}'; check 200 "card at the counter"

pcsc_up || exit 1
start_serve card.img || { bad "serve: the card never appeared in '$READER'"; exit 1; }
export BASE SHOTS JPKI READER CARD
APP=$APP node "$B/terminal.spec.mjs" newcard 9>&- \
  && ok "browser: 新規交付 through the card reader" || bad "browser: 新規交付 through the card reader"

req clerk GET "/api/v1/residents/$A"
AS=$(jq -r --arg c "$CARD" '[.certificates[] | select(.kind=="auth" and .status=="valid")][0].serial // empty' <<<"$BODY")
SS=$(jq -r --arg c "$CARD" '[.certificates[] | select(.kind=="sign" and .status=="valid")][0].serial // empty' <<<"$BODY")
norm() { tr a-f A-F | sed 's/^0*//'; }
"$JPKI" card read-cert auth --reader "$READER" --out auth.pem >/dev/null 2>&1 || bad "read-cert auth"
[ -n "$AS" ] && [ "$(openssl x509 -in auth.pem -noout -serial 2>/dev/null | cut -d= -f2 | norm)" = "$(norm <<<"$AS")" ] \
  && ok "jpki card: the card's authentication certificate is jpkid's $AS" || bad "auth on the card vs $AS: $BODY"
"$JPKI" card read-cert sign --reader "$READER" --pin KEY2468A --out sign.pem >/dev/null 2>&1 || bad "read-cert sign with the page's PIN"
[ -n "$SS" ] && [ "$(openssl x509 -in sign.pem -noout -serial 2>/dev/null | cut -d= -f2 | norm)" = "$(norm <<<"$SS")" ] \
  && ok "jpki card: the signature certificate (PIN typed on the page) is jpkid's $SS" || bad "sign on the card vs $SS"
grep -q "2468" "$T/jpkid.err" "$T/jpkid.out" && bad "a PIN in jpkid's output" || ok "no PIN in jpkid's output"

# ---- 2. 暗証番号の初期化 through the helper, on the page ----
printf 'terminal browser test\n' >doc.txt
pins() { "$JPKI" --json card pin-status --reader "$READER" 2>/dev/null; }
expect_fail "wrong signature PIN, 4 tries left" "$JPKI" card sign --key sign --in doc.txt --out x.sig --reader "$READER" --pin WRONG1
expect_fail "wrong authentication PIN, 2 tries left" "$JPKI" card sign --key auth --in doc.txt --out x.sig --reader "$READER" --pin 9999
pins | jq -e '.pins.sign.tries_left == 4 and .pins.auth.tries_left == 2' >/dev/null \
  && ok "jpki card pin-status: sign 4, auth 2 before the reset" || bad "pin-status before: $(pins)"
FUTURE=$(date -d '+3 years' +%F)
req clerk POST /api/v1/applications "{\"resident\":$A,\"kind\":\"pin-reset\",\"pins\":\"sign,auth\",\"card\":\"$CARD\"}"
check 201 "暗証番号の初期化 application"; PR=$(jq -r .id <<<"$BODY")
req clerk POST "/api/v1/applications/$PR/documents" "{\"type\":\"drivers_license\",\"number\":\"123456789012A\",\"expiry\":\"$FUTURE\"}"; check 201 "identity document"
req clerk POST "/api/v1/applications/$PR/documents" "{\"type\":\"mynumber_card\",\"number\":\"${CARD//-/}\",\"expiry\":\"$FUTURE\"}"; check 201 "the card itself"
APP=$PR TRIES='利用者証明用 2／署名用 4' NEW_AUTH=5678 NEW_SIGN=new2pin9 node "$B/terminal.spec.mjs" pinreset 9>&- \
  && ok "browser: 暗証番号の初期化 through the card reader" || bad "browser: 暗証番号の初期化 through the card reader"
req clerk GET "/api/v1/applications/$PR"
jq -e '.state == "completed"' <<<"$BODY" >/dev/null && ok "jpkid: the PIN reset application is completed" || bad "pin-reset app: $BODY"
st=$(pins); echo "$st" | jq -c .pins | sed 's/^/# /'
jq -e '.pins.sign.tries_left == .pins.sign.max and .pins.auth.tries_left == .pins.auth.max and .pins.sign.max == 5 and .pins.auth.max == 3' <<<"$st" >/dev/null \
  && ok "jpki card pin-status: the retry counters are full (sign 5, auth 3)" || bad "pin-status after: $st"
expect_ok "the new signature PIN (typed on the page) works" "$JPKI" card sign --key sign --in doc.txt --out y.sig --reader "$READER" --pin NEW2PIN9
expect_ok "the new authentication PIN (typed on the page) works" "$JPKI" card sign --key auth --in doc.txt --out z.sig --reader "$READER" --pin 5678
expect_fail "wrong signature PIN, 4 tries left" "$JPKI" card sign --key sign --in doc.txt --out w.sig --reader "$READER" --pin KEY2468A
expect_ok "the signature PIN works again (counter back to full)" "$JPKI" card sign --key sign --in doc.txt --out y.sig --reader "$READER" --pin NEW2PIN9
grep -q "5678\|NEW2PIN9\|new2pin9" "$T/jpkid.err" "$T/jpkid.out" && bad "a new PIN in jpkid's output" || ok "no new PIN in jpkid's output"

# ---- 3. 更新 through the helper, on the page, inside the renewal window ----
# jpkid again with its clock 30 days before the authentication
# certificate's last day (a production CA refuses --test-clock-offset);
# pairings live in memory, so the page pairs the helper again.
req clerk GET "/api/v1/certificates/$AS"; LAST=$(jq -r .not_after <<<"$BODY")
stop_jpkid
days=$(( ( $(date -d "${LAST%%T*}" +%s) - $(date +%s) ) / 86400 - 30 ))
start_jpkid "$T/ca" --test-clock-offset "$days"
export BASE
login clerk clerk1 clerk-password-1; check 200 "clerk logs in again (clock +$days days)"
FAR=$(date -d '+12 years' +%F)
req clerk POST /api/v1/applications "{\"resident\":$A,\"kind\":\"renewal\",\"certs\":\"sign,auth\",\"card\":\"$CARD\"}"
check 201 "更新 application"; RN=$(jq -r .id <<<"$BODY")
req clerk POST "/api/v1/applications/$RN/documents" "{\"type\":\"drivers_license\",\"number\":\"123456789012A\",\"expiry\":\"$FAR\"}"; check 201 "identity document"
req clerk POST "/api/v1/applications/$RN/documents" "{\"type\":\"mynumber_card\",\"number\":\"${CARD//-/}\",\"expiry\":\"$FAR\"}"; check 201 "the card itself"
APP=$RN AUTH_PIN=5678 SIGN_PIN=new2pin9 OLD_AUTH=$AS node "$B/terminal.spec.mjs" renew 9>&- \
  && ok "browser: 更新 through the card reader" || bad "browser: 更新 through the card reader"
req clerk GET "/api/v1/applications/$RN"
jq -e '.state == "completed"' <<<"$BODY" >/dev/null && ok "jpkid: the renewal application is completed" || bad "renewal app: $BODY"
req clerk GET "/api/v1/residents/$A"
AS2=$(jq -r '[.certificates[] | select(.kind=="auth" and .status=="valid")][0].serial // empty' <<<"$BODY")
SS2=$(jq -r '[.certificates[] | select(.kind=="sign" and .status=="valid")][0].serial // empty' <<<"$BODY")
nvalid=$(jq '[.certificates[] | select(.status=="valid")] | length' <<<"$BODY")
[ "$nvalid" = 2 ] && ok "jpkid: two valid certificates after the renewal" || bad "valid certificates: $nvalid"
"$JPKI" card read-cert auth --reader "$READER" --out auth2.pem >/dev/null 2>&1 || bad "read-cert auth (renewed)"
[ -n "$AS2" ] && [ "$(norm <<<"$AS2")" != "$(norm <<<"$AS")" ] && [ "$(openssl x509 -in auth2.pem -noout -serial 2>/dev/null | cut -d= -f2 | norm)" = "$(norm <<<"$AS2")" ] \
  && ok "jpki card: the card holds the renewed authentication certificate $AS2 (jpkid's)" || bad "renewed auth on the card vs $AS2"
"$JPKI" card read-cert sign --reader "$READER" --pin NEW2PIN9 --out sign2.pem >/dev/null 2>&1 || bad "read-cert sign (renewed)"
[ -n "$SS2" ] && [ "$(norm <<<"$SS2")" != "$(norm <<<"$SS")" ] && [ "$(openssl x509 -in sign2.pem -noout -serial 2>/dev/null | cut -d= -f2 | norm)" = "$(norm <<<"$SS2")" ] \
  && ok "jpki card: the card holds the renewed signature certificate $SS2 (PINs kept)" || bad "renewed sign on the card vs $SS2"
if command -v pkcs15-tool >/dev/null; then
  pkcs15-tool --read-certificate 01 2>/dev/null >p15auth.pem || true
  cmp -s <(openssl x509 -in p15auth.pem -outform DER 2>/dev/null) <(openssl x509 -in auth2.pem -outform DER) \
    && ok "pkcs15-tool (OpenSC) reads the renewed authentication certificate" || bad "pkcs15-tool: $(head -c 300 p15auth.pem)"
fi
for s in "$AS" "$SS"; do
  req clerk GET "/api/v1/certificates/$s"
  jq -e '.status == "revoked" and .reason == "superseded"' <<<"$BODY" >/dev/null && ok "the old certificate $s is superseded" || bad "old cert $s: $BODY"
done
expect_ok "the card signs with its renewed signature key" "$JPKI" card sign --key sign --in doc.txt --out r.sig --reader "$READER" --pin NEW2PIN9
openssl x509 -in sign2.pem -pubkey -noout >sign2.pub
expect_ok "the signature verifies with the renewed certificate" openssl dgst -sha256 -verify sign2.pub -signature r.sig doc.txt

n=$(find "$SHOTS" -name '*.png' -size +1k | wc -l)
[ "$n" -ge 18 ] && ok "$n screenshots in $SHOTS" || bad "screenshots: $n"
stop_pid "$SERVE_PID"; SERVE_PID=""
stop_jpkid
finish
