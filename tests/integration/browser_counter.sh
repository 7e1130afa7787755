#!/usr/bin/env bash
# The counter's web UI in Debian's chromium, driven by playwright-core
# (tests/browser/counter.spec.mjs): log-in, resident, a new card through
# an application completed onto a kept virtual card (preview, download),
# its renewal through an application, a loss report held on receipt, the
# language switch; an application from the list
# to approval (preview first) and the expiry-notice batch.  Renewal needs the
# certificates' renewal window: the second phase runs jpkid with
# --test-clock-offset (30 days before the authentication certificate's
# last day; a production CA would refuse it).  Screenshots:
# ${JPKI_BUILD:-$T}/browser-screenshots.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
B=$HERE/../browser

if [ ! -x /usr/bin/chromium ]; then
  echo "not ok - /usr/bin/chromium missing: run scripts/install-deps.sh"; exit 1
fi
if [ ! -d "$B/node_modules/playwright-core" ]; then
  (cd "$B" && npm ci --no-audit --no-fund >/dev/null 2>&1) || { echo "not ok - npm ci in tests/browser failed"; exit 1; }
fi
SHOTS=${JPKI_BUILD:-$T}/browser-screenshots
# only this test's own PNGs: other browser tests keep theirs in subfolders
mkdir -p "$SHOTS"; find "$SHOTS" -maxdepth 1 -name '*.png' -delete
export SHOTS STATE=$T/state.json

export JPKID_ADMIN_PASSWORD=admin-password-1
start_jpkid "$T/ca"
login admin admin admin-password-1
req admin POST /api/v1/operators '{"name":"clerk1","role":"clerk","password":"clerk-password-1"}'; check 201 "create clerk"
req admin POST /api/v1/municipalities '{"code":"132217","pref":"東京都","city":"清瀬市","pref_roman":"Tokyo-to","city_roman":"Kiyose-shi"}'
check 201 "record Kiyose"
BASE=$BASE node "$B/counter.spec.mjs" issue && ok "browser: issuance phase" || bad "browser: issuance phase"
RID=$(jq -r .rid "$STATE" 2>/dev/null || echo 0)
# 申請 and 有効期限通知書 screens: a supervisor, one open application
req admin POST /api/v1/operators '{"name":"sup1","role":"supervisor","password":"super-password-1"}'; check 201 "create supervisor"
req admin POST /api/v1/residents '{"ext_id":"AP1","name":"鈴木　花子","kana":"スズキハナコ","address":"東京都清瀬市中里1-1","birth":"1985-04-01","sex":2,"muni":"132217"}'
check 201 "resident for an application"
req admin POST /api/v1/applications "{\"resident\":$(jq -r .id <<<"$BODY"),\"kind\":\"new-card\",\"certs\":\"sign,auth\"}"
check 201 "open an application"
req admin POST /api/v1/residents '{"ext_id":"AP2","name":"鈴木　一郎","kana":"スズキイチロウ","address":"東京都清瀬市中里1-2","birth":"1982-06-01","sex":1,"muni":"132217"}'
check 201 "resident for an application opened in the browser"; export APP_RID2=$(jq -r .id <<<"$BODY")
# a proxy's application waiting for the 照会書 reply (its letter is printed
# in the browser)
req admin POST /api/v1/residents '{"ext_id":"AP3","name":"鈴木　三郎","kana":"スズキサブロウ","address":"東京都清瀬市中里1-3","birth":"1990-09-09","sex":1,"muni":"132217"}'
req admin POST /api/v1/applications "{\"resident\":$(jq -r .id <<<"$BODY"),\"kind\":\"new-card\",\"certs\":\"auth\",\"applicant\":\"proxy\",\"agent_name\":\"鈴木　代理\"}"
req admin POST "/api/v1/applications/$(jq -r .id <<<"$BODY")/inquiry" '{}'; check 200 "an inquiry sent"
BASE=$BASE node "$B/counter.spec.mjs" apps && ok "browser: applications and notices phase" || bad "browser: applications and notices phase"
req admin GET "/api/v1/residents/$RID"
LAST=$(jq -r '[.certificates[] | select(.kind=="auth") | .not_after][0] // empty' <<<"$BODY")
stop_jpkid

if [ -n "$LAST" ]; then
  days=$(( ( $(date -d "${LAST%%T*}" +%s) - $(date +%s) ) / 86400 - 30 ))
  start_jpkid "$T/ca" --test-clock-offset "$days"
  BASE=$BASE node "$B/counter.spec.mjs" renew && ok "browser: renewal phase (clock +$days days)" || bad "browser: renewal phase"
  stop_jpkid
else
  bad "no authentication certificate after the issuance phase"
fi
n=$(find "$SHOTS" -maxdepth 1 -name '*.png' -size +1k | wc -l)
[ "$n" -ge 10 ] && ok "$n screenshots in $SHOTS" || bad "screenshots: $n"
finish
