#!/usr/bin/env bash
# A keyboard-only run through one application in Debian's chromium
# (tests/browser/keyboard.spec.mjs): a clerk finishes a 新規交付 onto the
# virtual card the service keeps with Tab, Enter, Space, arrows and typing
# alone; then the outcome is checked over the API.
# Screenshots: ${JPKI_BUILD:-$T}/browser-screenshots/keyboard.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
B=$HERE/../browser

. "$HERE/lib/browser.sh"
browser_prepare keyboard

export JPKID_ADMIN_PASSWORD=admin-password-1
start_jpkid "$T/ca"
login admin admin admin-password-1
req admin POST /api/v1/operators '{"name":"clerk1","role":"clerk","password":"clerk-password-1"}'; check 201 "create clerk"
req admin POST /api/v1/municipalities '{"code":"132217","pref":"東京都","city":"清瀬市","pref_roman":"Tokyo-to","city_roman":"Kiyose-shi"}'
check 201 "record Kiyose"
req admin POST /api/v1/residents '{"ext_id":"KB1","name":"鈴木　健","kana":"スズキケン","address":"東京都清瀬市中里3-1","birth":"1980-02-01","sex":1,"muni":"132217"}'
check 201 "resident"; RID=$(jq -r .id <<<"$BODY")
rc=0; OUT=$(BASE=$BASE RID=$RID node "$B/keyboard.spec.mjs") || rc=$?
printf '%s\n' "$OUT"
[ $rc -eq 0 ] && ok "browser: keyboard-only 新規交付" || bad "browser: keyboard-only run"
APP=$(sed -n 's/^app-id //p' <<<"$OUT")
# the outcome over the API: the application completed, both certificates
# valid on the card handed over, the address untouched by the cancelled 異動
req admin GET "/api/v1/applications/$APP"; check 200 "application $APP"
[ "$(jq -r .state <<<"$BODY")" = completed ] && ok "application completed" || bad "application state: $(jq -r .state <<<"$BODY")"
req admin GET "/api/v1/residents/$RID"; check 200 "resident $RID"
n=$(jq '[.certificates[] | select(.card=="VK-1" and .status=="valid" and (.kind=="sign" or .kind=="auth"))] | length' <<<"$BODY")
[ "$n" = 2 ] && ok "署名用 and 利用者証明用 valid on VK-1" || bad "valid certificates on VK-1: $n"
[ "$(jq -r .address <<<"$BODY")" = "東京都清瀬市中里3-1" ] && ok "the address unchanged (異動 cancelled by Escape)" || bad "address: $(jq -r .address <<<"$BODY")"
stop_jpkid
n=$(find "$SHOTS" -name '*.png' -size +1k | wc -l)
[ "$n" -ge 6 ] && ok "$n screenshots in $SHOTS" || bad "screenshots: $n"
finish
