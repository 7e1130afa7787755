#!/usr/bin/env bash
# Setting up a fresh jpkid in Debian's chromium, in Japanese, driven by
# playwright-core (tests/browser/setup.spec.mjs): the administrator logs
# in, follows the first-run steps (a municipality, a clerk, the residents'
# CSV import with its per-row errors), sees the audit check; the clerk
# logs in (a wrong password first), reads a resident in 和暦 and records a
# change of address after a confirmation; the supervisor reads the
# resident's history in JST.  Screenshots:
# ${JPKI_BUILD:-$T}/browser-screenshots/setup.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
B=$HERE/../browser

. "$HERE/lib/browser.sh"
browser_prepare setup
export WORK=$T

export JPKID_ADMIN_PASSWORD=admin-password-1
start_jpkid "$T/ca"
# the residents' files the administrator uploads: one with two wrong rows,
# then a good one
printf 'ext_id,name,kana,address,birth,sex,muni,adult_ward\nS1,清瀬　一郎,キヨセイチロウ,東京都清瀬市中里1-1,1980-12-31,1,132217,0\nS2,清瀬　二郎,キヨセジロウ,東京都清瀬市中里1-2,1982-13-01,1,132217,0\nS3,清瀬　三郎,キヨセサブロウ,東京都清瀬市中里1-3,1984-01-01,1,999999,0\n' >"$T/bad.csv"
printf 'ext_id,name,kana,address,birth,sex,muni,adult_ward\nS1,清瀬　一郎,キヨセイチロウ,東京都清瀬市中里1-1,1980-12-31,1,132217,0\nS2,清瀬　花子,キヨセハナコ,東京都清瀬市中里1-2,2019-05-01,2,132217,0\n' >"$T/good.csv"
BASE=$BASE node "$B/setup.spec.mjs" && ok "browser: setting up from a fresh start" || bad "browser: setting up"

# what the browser did, seen through the API
login admin admin admin-password-1
req admin GET /api/v1/operators
[ "$(jq -r '.operators[] | select(.name=="clerk1") | .role' <<<"$BODY")" = clerk ] && ok "the clerk made in the browser exists" || bad "operators: $BODY"
req admin GET /api/v1/municipalities
[ "$(jq -r '.municipalities[0].city' <<<"$BODY")" = 清瀬市 ] && ok "the municipality made in the browser exists" || bad "munis: $BODY"
req admin GET /api/v1/residents/1
[ "$(jq -r .address <<<"$BODY")" = "東京都清瀬市中里3-3" ] && ok "the change of address made in the browser is recorded" || bad "resident: $BODY"
req admin GET /api/v1/setup
[ "$(jq -r .done <<<"$BODY")" = true ] && ok "setup done" || bad "setup: $BODY"
stop_jpkid
n=$(find "$SHOTS" -name '*.png' -size +1k | wc -l)
[ "$n" -ge 10 ] && ok "$n screenshots in $SHOTS" || bad "screenshots: $n"
finish
