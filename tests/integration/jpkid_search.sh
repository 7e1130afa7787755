#!/usr/bin/env bash
# Finding people and the application list over jpkid's API (issue #10
# items 7 and 10): residents carry a 個人番号 refused unless its check
# digit is right; /api/v1/residents?q= finds them by folded name and kana
# (width, spaces, hiragana/katakana, 異体字), birth date in 西暦 or 和暦,
# address and ids; /api/v1/applications lists with the residents' names,
# state filters (open, inquiry, finished, all) and received/closed days.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
cd "$T"

export JPKID_ADMIN_PASSWORD=admin-password-1
start_jpkid "$T/ca"
login admin admin admin-password-1
req admin POST /api/v1/operators '{"name":"clerk1","role":"clerk","password":"clerk-password-1"}'; check 201 "create clerk"
req admin POST /api/v1/municipalities '{"code":"132217","pref":"東京都","city":"清瀬市","pref_roman":"Tokyo-to","city_roman":"Kiyose-shi","office_name":"清瀬市役所 市民課","office_phone":"042-492-5111"}'
check 201 "record Kiyose with its office"
login clerk clerk1 clerk-password-1; check 200 "clerk logs in"
uri() { jq -rn --arg q "$1" '$q|@uri'; }
resident() { # EXT NAME KANA ADDRESS BIRTH [MYNUMBER]
  local mn=""
  [ -n "${6:-}" ] && mn=",\"my_number\":\"$6\""
  req clerk POST /api/v1/residents "{\"ext_id\":\"$1\",\"name\":\"$2\",\"kana\":\"$3\",\"address\":\"$4\",\"birth\":\"$5\",\"sex\":1,\"muni\":\"132217\"$mn}"
}

# ---- the 個人番号 on the record
resident S0 "髙橋 一郎" "タカハシ イチロウ" "東京都清瀬市中里１丁目２－３" 1980-12-31 123456789019
check_msg 400 "check digit" "a wrong check digit is refused"
resident S0 "髙橋 一郎" "タカハシ イチロウ" "東京都清瀬市中里１丁目２－３" 1980-12-31 12345678901
check 400 "11 digits refused"
resident S1 "髙橋 一郎" "タカハシ イチロウ" "東京都清瀬市中里１丁目２－３" 1980-12-31 123456789018
check_msg 201 '"my_number":"123456789018"' "resident with a 個人番号"; A=$(jq -r .id <<<"$BODY")
resident S2 "渡邊 さくら" "ワタナベ サクラ" "東京都清瀬市松山4-5-6" 1989-01-07
check_msg 201 '"my_number":null' "resident without one"; B=$(jq -r .id <<<"$BODY")
resident S3 "齋藤 ｹﾝ" "ｻｲﾄｳ ｹﾝ" "東京都清瀬市元町1-1" 2019-05-01
check 201 "a third resident"; C=$(jq -r .id <<<"$BODY")
req clerk PATCH "/api/v1/residents/$B" '{"my_number":"195173159141"}'; check_msg 400 "check digit" "a wrong number in a change"
req clerk PATCH "/api/v1/residents/$B" '{"my_number":"195173159140"}'; check_msg 200 '"my_number":"195173159140"' "a number added by a change"
jq -e '.revoked_count==0' <<<"$BODY" >/dev/null && ok "a 個人番号 change revokes nothing" || bad "change: $BODY"

# ---- search
one() { # QUERY ID
  req clerk GET "/api/v1/residents?q=$(uri "$1")&limit=50"
  if [ "$CODE" = 200 ] && jq -e --argjson id "$2" '(.residents|length)==1 and .residents[0].id==$id' <<<"$BODY" >/dev/null; then ok "search '$1'"
  else bad "search '$1': $CODE $BODY"; fi
}
one "高橋" "$A"
one "髙橋　一郎" "$A"
one "たかはし いちろう" "$A"
one "ﾀｶﾊｼ" "$A"
one "渡辺" "$B"
one "わたなべさくら" "$B"
one "斉藤" "$C"
one "サイトウ ケン" "$C"
one "1980-12-31" "$A"
one "1980/12/31" "$A"
one "19801231" "$A"
one "昭和55年12月31日" "$A"
one "S55.12.31" "$A"
one "昭和64年1月7日" "$B"
one "令和元年5月1日" "$C"
one "R1.5.1" "$C"
one "中里1丁目2-3" "$A"
one "松山４－５－６" "$B"
one "S2" "$B"
one "195173159140" "$B"
req clerk GET "/api/v1/residents?q=$(uri 平成31年5月1日)"; check_msg 400 "era" "a day outside its era"
req clerk GET "/api/v1/residents?q=$(uri 佐藤)"; jq -e '(.residents|length)==0' <<<"$BODY" >/dev/null && ok "no match, empty list" || bad "$BODY"

# ---- the application list
open_app() { # RESIDENT BODY-EXTRA
  req clerk POST /api/v1/applications "{\"resident\":$1$2}"; jq -r .id <<<"$BODY"
}
P1=$(open_app "$A" ',"kind":"new-card","certs":"auth"')
P2=$(open_app "$B" ',"kind":"new-card","certs":"auth","applicant":"proxy","agent_name":"代理 人"')
P3=$(open_app "$C" ',"kind":"new-card","certs":"auth","applicant":"legal","agent_name":"齋藤 親"')
req clerk POST "/api/v1/applications/$P2/inquiry" '{}'; check_msg 200 '"inquiry_sent"' "照会書 sent"
req clerk POST "/api/v1/applications/$P3/cancel" '{}'; check_msg 200 '"cancelled"' "one withdrawn"
TODAY=$(TZ=Asia/Tokyo date +%F)
req clerk GET "/api/v1/applications"
jq -e --argjson a "$P1" --argjson b "$P2" --argjson c "$P3" '([.applications[].id]|index($a)!=null and index($b)!=null and index($c)==null)' <<<"$BODY" >/dev/null \
  && ok "open list" || bad "open: $BODY"
jq -e --argjson a "$P1" '.applications[]|select(.id==$a)|.resident_name=="髙橋 一郎" and .resident_kana=="タカハシ イチロウ" and .closed==null' <<<"$BODY" >/dev/null \
  && ok "the list names the resident" || bad "names: $BODY"
jq -e --arg d "$TODAY" 'all(.applications[]; .received==$d)' <<<"$BODY" >/dev/null && ok "received day (JST)" || bad "received: $BODY"
req clerk GET "/api/v1/applications?q=inquiry"
jq -e --argjson b "$P2" '[.applications[].id]==[$b] and .applications[0].resident_name=="渡邊 さくら"' <<<"$BODY" >/dev/null \
  && ok "waiting for the 照会書 reply" || bad "inquiry: $BODY"
req clerk GET "/api/v1/applications?q=finished"
jq -e --argjson c "$P3" --arg d "$TODAY" '[.applications[].id]==[$c] and .applications[0].closed==$d' <<<"$BODY" >/dev/null \
  && ok "finished, with the day closed" || bad "finished: $BODY"
req clerk GET "/api/v1/applications?q=all"; jq -e '(.applications|length)==3' <<<"$BODY" >/dev/null && ok "all" || bad "all: $BODY"
req clerk GET "/api/v1/applications?q=all:$TODAY..$TODAY"; jq -e '(.applications|length)==3' <<<"$BODY" >/dev/null && ok "received today" || bad "today: $BODY"
req clerk GET "/api/v1/applications?q=all:2000-01-01..2000-12-31"; jq -e '(.applications|length)==0' <<<"$BODY" >/dev/null && ok "received in 2000: none" || bad "2000: $BODY"
req clerk GET "/api/v1/applications?q=all:$TODAY.."; jq -e '(.applications|length)==3' <<<"$BODY" >/dev/null && ok "open-ended range" || bad "from: $BODY"
req clerk GET "/api/v1/applications?q=$B"; jq -e --argjson b "$P2" '[.applications[].id]==[$b]' <<<"$BODY" >/dev/null && ok "by resident" || bad "by resident: $BODY"
req clerk GET "/api/v1/applications?q=cancelled"; jq -e --argjson c "$P3" '[.applications[].id]==[$c]' <<<"$BODY" >/dev/null && ok "by state name" || bad "state: $BODY"
req clerk GET "/api/v1/applications?q=bogus"; check 400 "unknown filter"
req clerk GET "/api/v1/applications?q=all:2026-13-01.."; check 400 "bad day"
req clerk GET "/api/v1/applications?q=all:2026-12-31..2026-01-01"; check 400 "reversed range"
req - GET "/api/v1/applications?q=all"; check 401 "no session"

# ---- the office the letters name
req clerk GET /api/v1/municipalities/132217/office
check_msg 200 '"name":"清瀬市役所 市民課"' "office recorded with the municipality"
req clerk POST /api/v1/municipalities/132217/office '{"office_address":"東京都清瀬市中里5-842"}'; check 403 "a clerk does not set the office"
req admin POST /api/v1/municipalities/132217/office '{"office_address":"東京都清瀬市中里5-842","office_hours":"平日 8時30分〜17時"}'
check 200 "office address and hours set"
jq -e '.name=="清瀬市役所 市民課" and .phone=="042-492-5111" and .hours=="平日 8時30分〜17時"' <<<"$BODY" >/dev/null && ok "the other fields kept" || bad "office: $BODY"
req admin POST /api/v1/municipalities/999999/office '{"office_name":"x"}'; check 404 "unknown municipality"
req admin POST /api/v1/municipalities/132217/office '{"bogus":"x"}'; check 400 "unknown field"

# ---- the 照会書兼回答書 (an application in inquiry_sent)
req clerk GET "/api/v1/applications/$P2/inquiry-letter"
if [ "$CODE" = 200 ] && grep -qi '^Content-Type: text/html; charset=utf-8' "$T/hdr" && grep -q '<h1>照会書</h1>' <<<"$BODY" && grep -q '<h1>回答書</h1>' <<<"$BODY" \
   && grep -q '代理 人' <<<"$BODY" && grep -q '渡邊 さくら 様' <<<"$BODY" && grep -q '電話 042-492-5111' <<<"$BODY" \
   && grep -q '受付時間 平日 8時30分〜17時' <<<"$BODY" && grep -q '東京都清瀬市中里5-842' <<<"$BODY" && grep -Eq '令和[0-9元]+年[0-9]+月[0-9]+日（[0-9]{4}年）' <<<"$BODY"; then
  ok "照会書兼回答書: holder, agent, office, 和暦 date"
else bad "inquiry letter: $CODE ${BODY:0:400}"; fi
req clerk GET "/api/v1/applications/$P1/inquiry-letter"; check 409 "no 照会書 before the inquiry is sent"
req clerk GET "/api/v1/applications/$P1/receipt"; check 409 "no receipt before completion"
req clerk GET "/api/v1/applications/99999/receipt"; check 404 "unknown application"
req - GET "/api/v1/applications/$P2/inquiry-letter"; check 401 "letters need a session"

# ---- a child's card through the 法定代理人, completed: receipt, and later
# the expiry notice worded for a minor
FUTURE=$(date -d '+3 years' +%F)
P4=$(open_app "$C" ',"kind":"new-card","certs":"auth","applicant":"legal","agent_name":"齋藤 親"')
req clerk POST "/api/v1/applications/$P4/documents" "{\"role\":\"agent\",\"type\":\"drivers_license\",\"number\":\"L1\",\"expiry\":\"$FUTURE\"}"; check 201 "agent's licence"
req clerk POST "/api/v1/applications/$P4/documents" '{"role":"agent","type":"family_register","number":"F1"}'; check 201 "戸籍謄本"
req clerk POST "/api/v1/applications/$P4/approve" '{}'; check_msg 200 '"card_ordered"' "child: approved"
req clerk POST "/api/v1/applications/$P4/card-produced" '{"card":"VCARD-C"}'; check 200 "child: card produced"
req clerk POST "/api/v1/applications/$P4/card-ready" '{}'; check 200 "child: card ready"
req clerk POST "/api/v1/applications/$P4/complete-virtual" '{"auth_pin":"1234"}'; check 201 "child: card handed over"
LAST=$(jq -r '.auth.validity.last_day // empty' <<<"$BODY")
req clerk GET "/api/v1/applications/$P4/receipt"
if [ "$CODE" = 200 ] && grep -q '<h1>領収書</h1>' <<<"$BODY" && grep -q '齋藤 ｹﾝ 様' <<<"$BODY" && grep -q '合計</th><td>0円' <<<"$BODY" \
   && grep -q '清瀬市役所 市民課' <<<"$BODY" && grep -q 'マイナンバーカードの交付' <<<"$BODY"; then ok "領収書 of the completed application"
else bad "receipt: $CODE ${BODY:0:500}"; fi
req clerk GET "/api/v1/applications?q=completed"; jq -e --argjson p "$P4" '[.applications[].id]==[$p] and (.applications[0].closed|length)==10' <<<"$BODY" >/dev/null \
  && ok "completed, with its day" || bad "completed: $BODY"
stop_jpkid

# the notice batch run 20 days before the certificate's last day: its
# 3-to-2-month window has passed, it is caught up all the same
[ -n "$LAST" ] && ok "the certificate's last day: $LAST" || bad "no last day in the completion"
OFF=$(( ( $(date -u -d "$LAST" +%s) - $(date -u -d "$(TZ=Asia/Tokyo date +%F)" +%s) ) / 86400 - 20 ))
# (with the clock moved, jpkid first re-signs what it publishes: under load
# /healthz may take a while to answer)
start_jpkid "$T/ca" --test-clock-offset "$OFF" || true
for _ in $(seq 1 150); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.2; done
curl -sf "$BASE/healthz" >/dev/null && ok "jpkid up $OFF days later" || bad "jpkid with the clock moved: $(tail -c 500 "$T/jpkid.err")"
login sup admin admin-password-1
req sup POST /api/v1/notices/run '{}'; check 200 "notice batch after the window"
jq -e '.sent==1' <<<"$BODY" >/dev/null && ok "the certificate past its window caught up" || bad "run: $BODY"
req sup GET "$(jq -r .letters <<<"$BODY")"
if grep -q '齋藤 ｹﾝ 様' <<<"$BODY" && grep -q '15歳未満の方の手続きは、法定代理人' <<<"$BODY" && ! grep -q 'ご本人がお越しください' <<<"$BODY" \
   && grep -q 'マイナポータルへのログイン' <<<"$BODY" && grep -q '電話 042-492-5111' <<<"$BODY" && grep -q '受付時間 平日 8時30分〜17時' <<<"$BODY" \
   && grep -Eq '<p class="date">令和[0-9元]+年[0-9]+月[0-9]+日（[0-9]{4}年）' <<<"$BODY"; then
  ok "letter: minor wording, what stops working, office, 和暦 date"
else bad "letter: ${BODY:0:800}"; fi
req sup POST /api/v1/notices/run '{}'; jq -e '.sent==0 and .already_sent==1' <<<"$BODY" >/dev/null && ok "noticed once" || bad "rerun: $BODY"
stop_jpkid
finish
