#!/usr/bin/env bash
# jpkid's virtual cards, made and changed only by completing applications:
# a new card made in the service (terminal library over card_transmit),
# the one-time image download, the card read by `jpki card`, renewal of the
# card the service keeps (the service run with --test-clock-offset into the
# renewal window), a loss report's hold, the refusals, and the dashboard's
# stats.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"

export JPKID_ADMIN_PASSWORD=admin-password-1
start_jpkid "$T/ca"
login admin admin admin-password-1
req admin POST /api/v1/operators '{"name":"clerk1","role":"clerk","password":"clerk-password-1"}'; check 201 "create clerk"
req admin POST /api/v1/municipalities '{"code":"132217","pref":"東京都","city":"清瀬市","pref_roman":"Tokyo-to","city_roman":"Kiyose-shi"}'
check 201 "record Kiyose"
login clerk clerk1 clerk-password-1; check 200 "clerk logs in"
req clerk POST /api/v1/residents '{"ext_id":"V1","name":"山田 花子","kana":"ヤマダ ハナコ","address":"東京都清瀬市中里1-1","birth":"1985-04-02","sex":2,"muni":"132217"}'
check 201 "resident"; A=$(jq -r .id <<<"$BODY")
req clerk POST /api/v1/residents '{"ext_id":"V2","name":"山田 太郎","kana":"ヤマダ タロウ","address":"東京都清瀬市中里1-1","birth":"2016-05-05","sex":1,"muni":"132217"}'
check 201 "child resident"; C=$(jq -r .id <<<"$BODY")

# dl JAR PATH FILE: GET a binary body into FILE; CODE, headers in $T/hdr.
dl() {
  CODE=$(curl -s -D "$T/hdr" -o "$3" -w '%{http_code}' --max-time 60 -b "$T/$1.jar" "$BASE$2") || CODE=000
}

FUTURE=2099-12-31
# newcard RESIDENT CARD CERTS [applicant json]: an approved new-card
# application whose card is at the counter; prints its id
newcard() {
  req clerk POST /api/v1/applications "{\"resident\":$1,\"kind\":\"new-card\",\"certs\":\"$3\"${4:+,$4}}"
  local id; id=$(jq -r .id <<<"$BODY")
  if [ -n "${4:-}" ]; then
    req clerk POST "/api/v1/applications/$id/documents" "{\"role\":\"agent\",\"type\":\"passport\",\"number\":\"TK$id\",\"expiry\":\"$FUTURE\"}"
    req clerk POST "/api/v1/applications/$id/documents" "{\"role\":\"agent\",\"type\":\"family_register\",\"number\":\"F$id\"}"
  else
    req clerk POST "/api/v1/applications/$id/documents" "{\"type\":\"drivers_license\",\"number\":\"D$id\",\"expiry\":\"$FUTURE\"}"
  fi
  req clerk POST "/api/v1/applications/$id/approve" '{}'
  req clerk POST "/api/v1/applications/$id/card-produced" "{\"card\":\"$2\"}"
  req clerk POST "/api/v1/applications/$id/card-ready" '{}'
  echo "$id"
}

# ---- refusals ----
V=$(newcard "$A" VC-1 "sign,auth")
NOCSRF=1 req clerk POST "/api/v1/applications/$V/complete-virtual" '{"auth_pin":"1234","sign_pin":"ABC123"}'
check 403 "virtual card without CSRF token"
req - POST "/api/v1/applications/$V/complete-virtual" '{"auth_pin":"1234"}'; check 401 "virtual card without a session"
req clerk POST "/api/v1/applications/$V/complete-virtual" '{"auth_pin":"123","sign_pin":"ABC123"}'
check_msg 400 "exactly 4 digits" "malformed authentication PIN"
req clerk POST "/api/v1/applications/$V/complete-virtual" '{"auth_pin":"1234"}'
check_msg 400 "sign_pin_required" "eligible adult without a signature PIN"
req clerk POST "/api/v1/applications/999/complete-virtual" '{"auth_pin":"1234","sign_pin":"ABC123"}'
check 404 "unknown application"

# ---- issuance ----
req clerk GET "/api/v1/applications/$V/preview"
check_msg 200 '"total_yen":0' "preview of a new card: fee"
jq -e '.plan.auth.issue and .plan.sign.issue and (.plan.auth.validity.last_day|length==10)' <<<"$BODY" >/dev/null \
  && ok "preview: both issued, last day shown" || bad "preview: $BODY"
req clerk POST "/api/v1/applications/$V/complete-virtual" '{"auth_pin":"1234","sign_pin":"abc123"}'
check 201 "issue onto a new virtual card"
SERIAL=$(jq -r .card <<<"$BODY"); URL=$(jq -r .download.url <<<"$BODY")
AUTH1=$(jq -r .auth.serial <<<"$BODY"); SIGN1=$(jq -r .sign.serial <<<"$BODY")
LAST=$(jq -r .auth.validity.last_day <<<"$BODY")
[ "$(jq -r .fee.total_yen <<<"$BODY")" = 0 ] && ok "issuance fee 0 yen" || bad "fee: $BODY"
[ -n "$AUTH1" ] && [ "$AUTH1" != null ] && [ "$SIGN1" != null ] && ok "both certificates" || bad "certs: $BODY"
dl admin "$URL" "$T/x.img"; check 404 "another session cannot download the image"
dl clerk "$URL" "$T/card.img"
[ "$CODE" = 200 ] && [ -s "$T/card.img" ] && ok "image downloaded ($(stat -c %s "$T/card.img") bytes)" || bad "download: $CODE"
grep -qi '^Content-Disposition: attachment' "$T/hdr" && grep -qi '^Content-Type: application/octet-stream' "$T/hdr" \
  && ok "download headers" || bad "headers: $(cat "$T/hdr")"
dl clerk "$URL" "$T/y.img"; check 404 "the image is downloadable once"
out=$("$JPKI" card show "$T/card.img" 2>&1) && grep -q "$SERIAL" <<<"$out" && ok "jpki card show reads the downloaded card" || bad "show: $out"
out=$("$JPKI" card read-cert auth --out "$T/auth.pem" "$T/card.img" 2>&1 && openssl x509 -in "$T/auth.pem" -noout -serial 2>&1 || true)
grep -qi "$AUTH1" <<<"$out" && ok "the card holds the issued auth certificate" || bad "read-cert: $out"
req clerk GET "/api/v1/residents/$A"; check_msg 200 "$SERIAL" "the resident's certificates name the card"

CV=$(newcard "$C" VC-2 "auth" '"applicant":"legal","agent_name":"山田 一郎"')
req clerk POST "/api/v1/applications/$CV/complete-virtual" '{"auth_pin":"4321"}'
check 201 "a child's card: authentication certificate only"
jq -e '(.sign|not) and .auth.serial' <<<"$BODY" >/dev/null && ok "child: no signature certificate" || bad "child: $BODY"

# ---- renewal: too early, then inside the window ----
req clerk POST /api/v1/applications "{\"resident\":$A,\"kind\":\"renewal\",\"card\":\"VC-1\"}"
check_msg 422 "renewal opens on" "renewal refused outside the window"
req clerk GET /api/v1/stats; check_msg 200 '"issued":3' "stats: three certificates issued today"

stop_jpkid
days=$(( ( $(date -d "$LAST" +%s) - $(date +%s) ) / 86400 - 30 ))
start_jpkid "$T/ca" --test-clock-offset "$days"
login clerk clerk1 clerk-password-1; check 200 "clerk logs in again (clock +$days days)"
req clerk POST /api/v1/applications "{\"resident\":$A,\"kind\":\"renewal\",\"card\":\"VC-1\"}"; check 201 "renewal opened"
RN=$(jq -r .id <<<"$BODY")
req clerk GET "/api/v1/applications/$RN/preview"
jq -e '.plan.auth.issue and .plan.sign.issue and .plan.auth.validity.birthday_n==6' <<<"$BODY" >/dev/null && ok "renewal preview of the kept card" || bad "renew preview: $BODY"
req clerk POST "/api/v1/applications/$RN/documents" "{\"type\":\"mynumber_card\",\"number\":\"VC1\",\"expiry\":\"$FUTURE\"}"
req clerk POST "/api/v1/applications/$RN/documents" "{\"type\":\"drivers_license\",\"number\":\"D1\",\"expiry\":\"$FUTURE\"}"
req clerk POST "/api/v1/applications/$RN/approve" '{}'; check 200 "renewal approved"
req clerk POST "/api/v1/applications/$RN/complete-virtual" '{"auth_pin":"1234","sign_pin":"ABC123"}'
check 201 "renewal of the kept card inside the window"
AUTH2=$(jq -r .auth.serial <<<"$BODY"); URL=$(jq -r .download.url <<<"$BODY")
[ "$(jq -r .fee.total_yen <<<"$BODY")" = 0 ] && ok "renewal fee 0 yen" || bad "fee: $BODY"
dl clerk "$URL" "$T/card2.img"
[ -s "$T/card2.img" ] && ! cmp -s "$T/card.img" "$T/card2.img" && ok "new image downloaded" || bad "renewed image"
req clerk GET "/api/v1/certificates/$AUTH1"; check_msg 200 '"status":"revoked"' "old auth certificate superseded"
# the loss report holds the new certificates on receipt
req clerk POST /api/v1/applications "{\"resident\":$A,\"kind\":\"loss\",\"card\":\"VC-1\"}"; check 201 "loss report received"
req clerk GET "/api/v1/certificates/$AUTH2"; check_msg 200 '"status":"hold"' "loss report holds the certificate"
req clerk GET /api/v1/stats; check_msg 200 '"renewed":2' "stats count the renewal"
stop_jpkid
finish
