#!/usr/bin/env bash
# Every application kind finished in Debian's chromium through the web UI
# (tests/browser/applications.spec.mjs) onto the virtual cards the service
# keeps.  Screenshots: ${JPKI_BUILD:-$T}/browser-screenshots/applications.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
B=$HERE/../browser

. "$HERE/lib/browser.sh"
browser_prepare applications

export JPKID_ADMIN_PASSWORD=admin-password-1
start_jpkid "$T/ca"
login admin admin admin-password-1
req admin POST /api/v1/operators '{"name":"clerk1","role":"clerk","password":"clerk-password-1"}'; check 201 "create clerk"
req admin POST /api/v1/municipalities '{"code":"132217","pref":"東京都","city":"清瀬市","pref_roman":"Tokyo-to","city_roman":"Kiyose-shi"}'
check 201 "record Kiyose"
req admin POST /api/v1/residents '{"ext_id":"BA1","name":"鈴木　花子","kana":"スズキハナコ","address":"東京都清瀬市中里1-1","birth":"1985-04-01","sex":2,"muni":"132217"}'
check 201 "resident A"; RID_A=$(jq -r .id <<<"$BODY")
req admin POST /api/v1/residents '{"ext_id":"BA2","name":"鈴木　一郎","kana":"スズキイチロウ","address":"東京都清瀬市中里1-2","birth":"1982-06-01","sex":1,"muni":"132217"}'
check 201 "resident D"; RID_D=$(jq -r .id <<<"$BODY")
BASE=$BASE RID_A=$RID_A RID_D=$RID_D node "$B/applications.spec.mjs" && ok "browser: every kind finished" || bad "browser: applications"
stop_jpkid
n=$(find "$SHOTS" -name '*.png' -size +1k | wc -l)
[ "$n" -ge 10 ] && ok "$n screenshots in $SHOTS" || bad "screenshots: $n"
finish
