#!/usr/bin/env bash
# POST /api/v1/residents/import over HTTP: a residents CSV (text/csv) is
# imported whole (200) or not at all (422, bad rows by line); supervisor
# only, CSRF token, size cap, and JSON is refused on this route as CSV is
# everywhere else.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"

export JPKID_ADMIN_PASSWORD=admin-password-1
start_jpkid "$T/ca"
login admin admin admin-password-1
req admin POST /api/v1/operators '{"name":"clerk1","role":"clerk","password":"clerk-password-1"}'; check 201 "create clerk"
req admin POST /api/v1/operators '{"name":"sup1","role":"supervisor","password":"super-password-1"}'; check 201 "create supervisor"
req admin POST /api/v1/municipalities '{"code":"132217","pref":"東京都","city":"清瀬市","pref_roman":"Tokyo-to","city_roman":"Kiyose-shi"}'
check 201 "record Kiyose"
login clerk clerk1 clerk-password-1; check 200 "clerk logs in"
login sup sup1 super-password-1; check 200 "supervisor logs in"

csv() { req "$1" POST /api/v1/residents/import '' --data-binary "@$2" -H 'Content-Type: text/csv'; }
printf 'ext_id,name,kana,address,birth,sex,muni,adult_ward\r\nI1,山田　一郎,ヤマダイチロウ,東京都清瀬市中里1-1,1980-01-02,1,132217,0\r\nI2,"山田, 花子",ヤマダハナコ,東京都清瀬市中里1-1,1985-03-04,2,132217,\r\n' >good.csv
printf 'ext_id,name,kana,address,birth,sex,muni,adult_ward\nB1,正しい　行,タダシイ,東京都清瀬市中里1-1,1980-01-02,1,132217,0\nB2,誤り　生年,アヤマリ,東京都清瀬市中里1-1,1980-13-02,1,132217,0\nB3,誤り　市,アヤマリ,東京都清瀬市中里1-1,1980-01-02,1,999999,0\n' >bad.csv

# ---- refusals before anything is read ----
req - POST /api/v1/residents/import '' --data-binary @good.csv -H 'Content-Type: text/csv'; check 401 "import without a session"
NOCSRF=1 csv sup good.csv; check 403 "import without the CSRF token"
csv clerk good.csv; check_msg 403 "supervisor" "a clerk cannot import"
req sup POST /api/v1/residents/import '{"ext_id":"I1"}'; check_msg 415 "text/csv" "JSON refused on the import route"
req sup POST /api/v1/residents '' --data-binary @good.csv -H 'Content-Type: text/csv'
check_msg 415 "application/json" "CSV refused on every other route"
req sup POST /api/v1/residents/import '' -H 'Content-Type: text/csv' -H 'Content-Length: 0'; check 400 "empty body"
head -c $((16 * 1024 * 1024 + 1)) /dev/zero >big.csv
csv sup big.csv; check 413 "body above 16 MiB"

# ---- bad rows: reported by line, nothing imported ----
csv sup bad.csv
check 422 "a file with bad rows"
jq -e '.imported == 0 and .rows == 3 and .error_count == 2 and ([.errors[].line] == [3,4]) and (.errors[0].reason | test("birth")) and (.errors[1].reason | test("999999"))' <<<"$BODY" >/dev/null \
  && ok "bad rows named by line and reason" || bad "errors: $BODY"
req sup GET "/api/v1/residents?q=%E6%AD%A3%E3%81%97%E3%81%84"
jq -e '.residents == []' <<<"$BODY" >/dev/null && ok "nothing half-imported (the good row B1 is absent)" || bad "half import: $BODY"
printf 'name,ext_id\nx,y\n' >hdr.csv
csv sup hdr.csv; check_msg 422 '"line":1' "wrong header refused at line 1"

# ---- a good file ----
csv sup good.csv
check 200 "a good file imported"
jq -e '.imported == 2 and .rows == 2 and .errors == []' <<<"$BODY" >/dev/null && ok "two rows imported" || bad "import: $BODY"
req clerk GET "/api/v1/residents?q=%E5%B1%B1%E7%94%B0"
jq -e '[.residents[].ext_id] | sort == ["I1","I2"]' <<<"$BODY" >/dev/null && ok "both residents searchable" || bad "search: $BODY"
jq -e '.residents[] | select(.ext_id == "I2") | .name == "山田, 花子" and .sex == 2' <<<"$BODY" >/dev/null \
  && ok "quoted field with a comma" || bad "I2: $BODY"
csv sup good.csv; check 422 "the same file again: duplicate ext_id refused"
req admin GET /api/v1/audit/verify; check 200 "audit chain verifies"

stop_jpkid
finish
