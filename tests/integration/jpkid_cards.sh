#!/usr/bin/env bash
# jpkid's virtual cards: issuance onto a new card made in the service
# (terminal library over card_transmit), the one-time image download, the
# card read by `jpki card`, renewal of an uploaded image (the service run
# with --test-clock-offset into the renewal window), the refusals, and the
# dashboard's stats.
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

# ---- refusals ----
NOCSRF=1 req clerk POST /api/v1/cards/virtual "{\"resident\":$A,\"auth_pin\":\"1234\",\"sign_pin\":\"ABC123\"}"
check 403 "virtual card without CSRF token"
req - POST /api/v1/cards/virtual "{\"resident\":$A,\"auth_pin\":\"1234\"}"; check 401 "virtual card without a session"
req clerk POST /api/v1/cards/virtual "{\"resident\":$A,\"auth_pin\":\"123\",\"sign_pin\":\"ABC123\"}"
check_msg 400 "exactly 4 digits" "malformed authentication PIN"
req clerk POST /api/v1/cards/virtual "{\"resident\":$A,\"auth_pin\":\"1234\"}"
check_msg 400 "sign_pin_required" "eligible adult without a signature PIN"
req clerk POST /api/v1/cards/virtual "{\"resident\":999,\"auth_pin\":\"1234\",\"sign_pin\":\"ABC123\"}"
check 404 "unknown resident"

# ---- issuance ----
req clerk POST /api/v1/cards/virtual/preview "{\"resident\":$A}"
check_msg 200 '"total_yen":0' "preview of a new card: fee"
jq -e '.auth.eligible and .sign.eligible and (.auth.validity.last_day|length==10)' <<<"$BODY" >/dev/null \
  && ok "preview: both eligible, last day shown" || bad "preview: $BODY"
req clerk POST /api/v1/cards/virtual/preview "{\"resident\":$C}"
jq -e '.auth.eligible and (.sign.eligible|not) and .ok' <<<"$BODY" >/dev/null && ok "preview: a child gets auth only" || bad "child preview: $BODY"
req clerk POST /api/v1/cards/virtual "{\"resident\":$A,\"auth_pin\":\"1234\",\"sign_pin\":\"abc123\"}"
check 201 "issue onto a new virtual card"
SERIAL=$(jq -r .serial <<<"$BODY"); URL=$(jq -r .download.url <<<"$BODY")
AUTH1=$(jq -r .certificates.auth.serial <<<"$BODY"); SIGN1=$(jq -r .certificates.sign.serial <<<"$BODY")
LAST=$(jq -r .certificates.auth.last_day <<<"$BODY")
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

req clerk POST /api/v1/cards/virtual "{\"resident\":$C,\"auth_pin\":\"4321\"}"
check 201 "a child's card: authentication certificate only"
[ "$(jq -r .certificates.sign <<<"$BODY")" = null ] && jq -e .no_sign_reason <<<"$BODY" >/dev/null \
  && ok "child: no signature certificate, reason given" || bad "child: $BODY"

# ---- renewal: too early, then inside the window ----
IMG=$(base64 -w0 "$T/card.img")
printf '{"image":"%s","auth_pin":"1234","sign_pin":"ABC123"}' "$IMG" >"$T/renew.json"
req clerk POST /api/v1/cards/virtual/renew "@$T/renew.json"
[ "$CODE" != 200 ] && ok "renewal refused outside the window ($CODE)" || bad "early renewal: $BODY"
req clerk POST /api/v1/cards/virtual/renew '{"image":"AAAA","auth_pin":"1234"}'
check 400 "renewal of a bad image"
req clerk GET /api/v1/stats; check_msg 200 '"issued":3' "stats: three certificates issued today"

stop_jpkid
days=$(( ( $(date -d "$LAST" +%s) - $(date +%s) ) / 86400 - 30 ))
start_jpkid "$T/ca" --test-clock-offset "$days"
login clerk clerk1 clerk-password-1; check 200 "clerk logs in again (clock +$days days)"
printf '{"image":"%s"}' "$IMG" >"$T/preview.json"
req clerk POST /api/v1/cards/virtual/preview "@$T/preview.json"
jq -e '.renewal and .auth.eligible and .sign.eligible' <<<"$BODY" >/dev/null && ok "renewal preview of the uploaded card" || bad "renew preview: $BODY"
req clerk POST /api/v1/cards/virtual/renew "@$T/renew.json"
check 200 "renewal of the uploaded card inside the window"
[ "$(jq -r '.superseded | length' <<<"$BODY")" = 2 ] && ok "both old certificates superseded" || bad "superseded: $BODY"
AUTH2=$(jq -r .certificates.auth.serial <<<"$BODY"); URL=$(jq -r .download.url <<<"$BODY")
[ "$(jq -r .fee.total_yen <<<"$BODY")" = 0 ] && ok "renewal fee 0 yen" || bad "fee: $BODY"
dl clerk "$URL" "$T/card2.img"
[ -s "$T/card2.img" ] && ! cmp -s "$T/card.img" "$T/card2.img" && ok "new image downloaded" || bad "renewed image"
req clerk GET "/api/v1/certificates/$AUTH1"; check_msg 200 '"status":"revoked"' "old auth certificate superseded"
# the loss report: hold the new auth certificate
req clerk POST "/api/v1/certificates/$AUTH2/revoke" '{"reason":"certificateHold"}'; check_msg 200 '"status":"hold"' "loss report holds the certificate"
req clerk GET /api/v1/stats; check_msg 200 '"renewed":2' "stats count the renewal"
stop_jpkid
finish
