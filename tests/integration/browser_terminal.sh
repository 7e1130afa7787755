#!/usr/bin/env bash
# The card at the counter in Debian's chromium (tests/browser/terminal.spec.mjs):
# a 新規交付 application at the counter (prepared over the API up to
# card_ready, the produced card a virtual card in pcscd's vpcd reader) is
# paired, shown and completed on the page through `jpki terminal serve`;
# then `jpki card` reads the new certificates off that card (the PINs typed
# on the page) and their serials match jpkid's record.  Screenshots:
# ${JPKI_BUILD:-$T}/browser-screenshots/terminal.
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

if [ ! -x /usr/bin/chromium ]; then
  echo "not ok - /usr/bin/chromium missing: run scripts/install-deps.sh"; exit 1
fi
if [ ! -d "$B/node_modules/playwright-core" ]; then
  (cd "$B" && npm ci --no-audit --no-fund >/dev/null 2>&1) || { echo "not ok - npm ci in tests/browser failed"; exit 1; }
fi
SHOTS=${JPKI_BUILD:-$T}/browser-screenshots/terminal
rm -rf "$SHOTS"; mkdir -p "$SHOTS"

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
BASE=$BASE SHOTS=$SHOTS JPKI=$JPKI READER=$READER APP=$APP CARD=$CARD node "$B/terminal.spec.mjs" 9>&- \
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
n=$(find "$SHOTS" -name '*.png' -size +1k | wc -l)
[ "$n" -ge 5 ] && ok "$n screenshots in $SHOTS" || bad "screenshots: $n"
stop_pid "$SERVE_PID"; SERVE_PID=""
stop_jpkid
finish
