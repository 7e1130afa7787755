#!/usr/bin/env bash
# The counter's application workflow over jpkid's JSON API: a new card
# from application to hand-over with keys and proofs of possession, the
# refusals the law and the registry make (under 15, adult ward, legal
# representative, 照会書兼回答書 never the same day, expired or unfit
# documents, renewal too early, PIN reset without identity, double
# submission), reissue fees and rejection, a loss report, the expiry-notice
# batch with its letters and mail-room CSV, and 401/403 on every mutation.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
cd "$T"
newkey s1; newkey a1

export JPKID_ADMIN_PASSWORD=admin-password-1
start_jpkid "$T/ca"
login admin admin admin-password-1
req admin POST /api/v1/operators '{"name":"clerk1","role":"clerk","password":"clerk-password-1"}'; check 201 "create clerk"
req admin POST /api/v1/operators '{"name":"sup1","role":"supervisor","password":"super-password-1"}'; check 201 "create supervisor"
req admin POST /api/v1/municipalities '{"code":"132217","pref":"東京都","city":"清瀬市","pref_roman":"Tokyo-to","city_roman":"Kiyose-shi"}'
check 201 "record Kiyose"
login clerk clerk1 clerk-password-1; check 200 "clerk logs in"
login sup sup1 super-password-1; check 200 "supervisor logs in"
resident() { # EXT NAME BIRTH [WARD]
  req clerk POST /api/v1/residents "{\"ext_id\":\"$1\",\"name\":\"$2\",\"kana\":\"ヤマダ\",\"address\":\"東京都清瀬市中里1-1\",\"birth\":\"$3\",\"sex\":1,\"muni\":\"132217\",\"adult_ward\":${4:-false}}"
  jq -r .id <<<"$BODY"
}
A=$(resident AP1 "山田 太郎" 1980-12-31); K=$(resident AP2 "山田 次郎" 2016-05-05)
W=$(resident AP3 "山田 一郎" 1950-01-10 true)
[ -n "$A" ] && [ -n "$W" ] && ok "residents $A $K $W" || bad "residents"
FUTURE=$(date -d '+3 years' +%F)
dl() { # JAR PATH FILE: a one-time card image download
  CODE=$(curl -s -D "$T/hdr" -o "$3" -w '%{http_code}' --max-time 60 -b "$T/$1.jar" "$BASE$2") || CODE=000
}

# ---- no session, no CSRF token, wrong role: on every new mutation ----
for p in applications applications/1/documents applications/1/inquiry applications/1/inquiry/answer \
         applications/1/preview applications/1/approve applications/1/card-produced applications/1/card-ready \
         applications/1/complete applications/1/complete-virtual applications/1/reject applications/1/cancel notices/run; do
  req - POST "/api/v1/$p" '{}'; check 401 "$p without a session"
  NOCSRF=1 req clerk POST "/api/v1/$p" '{}'; check 403 "$p without the CSRF token"
done
req clerk POST /api/v1/notices/run '{}'; check 403 "notices run needs a supervisor"
req - GET /api/v1/applications; check 401 "list without a session"
req clerk GET /api/v1/notices/20260101T000000Z/letters.html; check 403 "letters need a supervisor"

# ---- a new card: application to hand-over ----
req clerk POST /api/v1/applications "{\"resident\":$A,\"kind\":\"new-card\",\"certs\":\"sign,auth\"}"
check 201 "open a new-card application"; APP=$(jq -r .id <<<"$BODY")
req clerk POST /api/v1/applications "{\"resident\":$A,\"kind\":\"new-card\",\"certs\":\"sign,auth\"}"
check 409 "double submission"
req clerk POST /api/v1/applications "{\"resident\":$A,\"kind\":\"new-card\",\"bogus\":1}"
check 400 "unknown field refused"
req clerk POST /api/v1/applications "{\"resident\":$A,\"kind\":\"teleport\"}"; check 400 "unknown kind"
req clerk POST "/api/v1/applications/$APP/documents" '{"type":"drivers_license","number":"1234","expiry":"2020-01-01"}'
check_msg 400 "expired" "expired document refused"
req clerk POST "/api/v1/applications/$APP/documents" '{"type":"library_card","number":"1"}'
check 400 "unknown document type refused"
req clerk POST "/api/v1/applications/$APP/approve" '{}'; check_msg 409 "photo" "approval without identity"
req clerk POST "/api/v1/applications/$APP/documents" "{\"type\":\"drivers_license\",\"number\":\"123456789012A\",\"expiry\":\"$FUTURE\"}"
check 201 "document recorded"
req clerk GET "/api/v1/applications/$APP/preview"
jq -e '.documents_ok and .fee.total_yen==0 and .sign.eligible and (.auth.validity.last_day|length==10) and .new_card' <<<"$BODY" >/dev/null \
  && ok "preview: documents, fees, validity" || bad "preview: $BODY"
req clerk POST "/api/v1/applications/$APP/approve" '{}'; check_msg 200 '"state":"card_ordered"' "approved: card ordered"
req clerk POST "/api/v1/applications/$APP/complete" '{}'; check 409 "complete before the card is ready"
req clerk POST "/api/v1/applications/$APP/card-produced" '{"card":""}'; check 400 "card serial required"
req clerk POST "/api/v1/applications/$APP/card-produced" '{"card":"HCARD-A"}'; check_msg 200 '"card_produced"' "card produced"
req clerk POST "/api/v1/applications/$APP/card-ready" '{}'; check_msg 200 '"card_ready"' "card at the counter"
# proofs bound to another card are refused, and do not spend the challenge
req clerk POST /api/v1/issue/challenge; CH=$(jq -r .challenge <<<"$BODY")
req clerk POST "/api/v1/applications/$APP/complete" "{\"challenge\":\"$CH\",\"auth\":{\"spki\":\"$(spki_b64 a1.key)\",\"pop\":\"$(pop a1.key "$CH" auth "$A" OTHER)\"}}"
check_msg 400 "bad_pop" "proof of possession for another card"
req clerk POST "/api/v1/applications/$APP/complete" "{\"auth\":{\"spki\":\"$(spki_b64 a1.key)\",\"pop\":\"AAAA\"}}"
check_msg 400 "challenge" "keys without a challenge"
body="{\"challenge\":\"$CH\",\"sign\":{\"spki\":\"$(spki_b64 s1.key)\",\"pop\":\"$(pop s1.key "$CH" sign "$A" HCARD-A)\"},\"auth\":{\"spki\":\"$(spki_b64 a1.key)\",\"pop\":\"$(pop a1.key "$CH" auth "$A" HCARD-A)\"}}"
req clerk POST "/api/v1/applications/$APP/complete" "$body"; check 200 "handed over with both certificates"
jq -e '.sign.serial and .auth.serial and (.auth.pem|startswith("-----BEGIN CERTIFICATE")) and .card=="HCARD-A" and .fee.total_yen==0' <<<"$BODY" >/dev/null \
  && ok "completion answers the certificates" || bad "complete: $BODY"
AUTH1=$(jq -r .auth.serial <<<"$BODY")
req clerk POST "/api/v1/applications/$APP/complete" "$body"; check 409 "double completion"
req clerk GET "/api/v1/applications/$APP"
jq -e '(.history|length)==6 and (.documents|length)==1 and .state=="completed" and (.history[0].actor=="clerk1")' <<<"$BODY" >/dev/null \
  && ok "application with documents and history, operator as actor" || bad "show: $BODY"
req clerk GET "/api/v1/applications/x1"; check 400 "bad id"
req clerk GET "/api/v1/applications/99999"; check 404 "unknown application"

# ---- a new card completed onto a virtual card the service makes ----
V=$(resident AP4 "山田 四郎" 1985-04-04)
req clerk POST /api/v1/applications "{\"resident\":$V,\"kind\":\"new-card\",\"certs\":\"sign,auth\"}"
check 201 "open a new-card application (virtual)"; VAPP=$(jq -r .id <<<"$BODY")
req clerk POST "/api/v1/applications/$VAPP/documents" "{\"type\":\"drivers_license\",\"number\":\"223456789012A\",\"expiry\":\"$FUTURE\"}"
check 201 "virtual: document recorded"
req clerk POST "/api/v1/applications/$VAPP/approve" '{}'; check_msg 200 '"card_ordered"' "virtual: approved"
VPINS='{"auth_pin":"1234","sign_pin":"abc123"}'
req clerk POST "/api/v1/applications/$VAPP/complete-virtual" "$VPINS"; check 409 "complete-virtual before the card is ready"
req clerk POST "/api/v1/applications/$VAPP/card-produced" '{"card":"VCARD-V"}'; check 200 "virtual: card produced"
req clerk POST "/api/v1/applications/$VAPP/card-ready" '{}'; check_msg 200 '"card_ready"' "virtual: card at the counter"
NOCSRF=1 req clerk POST "/api/v1/applications/$VAPP/complete-virtual" "$VPINS"; check 403 "complete-virtual without the CSRF token"
req clerk POST "/api/v1/applications/$VAPP/complete-virtual" '{"auth_pin":"1234"}'; check_msg 400 "sign_pin_required" "complete-virtual without the signature PIN"
req clerk POST "/api/v1/applications/$VAPP/complete-virtual" '{"auth_pin":"12","sign_pin":"abc123"}'; check 400 "complete-virtual with a malformed PIN"
req clerk POST "/api/v1/applications/$VAPP/complete-virtual" "$VPINS"; check 201 "completed onto a virtual card"
jq -e '.state=="completed" and .card=="VCARD-V" and .sign.serial and .auth.serial and .fee.total_yen==0 and (.download.url|endswith("/VCARD-V/image"))' <<<"$BODY" >/dev/null \
  && ok "complete-virtual answers the certificates and the download" || bad "complete-virtual: $BODY"
VURL=$(jq -r .download.url <<<"$BODY"); VS=$(jq -r .sign.serial <<<"$BODY"); VA=$(jq -r .auth.serial <<<"$BODY")
req clerk POST "/api/v1/applications/$VAPP/complete-virtual" "$VPINS"; check 409 "complete-virtual twice"
dl clerk "$VURL" "$T/vcard.img"
[ "$CODE" = 200 ] && [ -s "$T/vcard.img" ] && ok "virtual card image downloaded" || bad "download: $CODE"
out=$("$JPKI" card show "$T/vcard.img" 2>&1) && grep -q VCARD-V <<<"$out" && grep -Eq '^ +sign +present' <<<"$out" && grep -qi "serial $VA" <<<"$out" \
  && ok "jpki card show: the card holds both certificates" || bad "show: $out"
req clerk GET "/api/v1/applications/$VAPP"; check_msg 200 '"state":"completed"' "virtual: application completed"

# ---- the law's refusals ----
req clerk POST /api/v1/applications "{\"resident\":$K,\"kind\":\"new-card\",\"applicant\":\"legal\",\"agent_name\":\"山田 太郎\",\"certs\":\"sign,auth\"}"
check 422 "under 15: no signature certificate (legal representative auth only)"
req clerk POST /api/v1/applications "{\"resident\":$K,\"kind\":\"new-card\",\"certs\":\"auth\"}"
check 422 "under 15 applies through a legal representative"
req clerk POST /api/v1/applications "{\"resident\":$K,\"kind\":\"new-card\",\"applicant\":\"legal\",\"agent_name\":\"山田 太郎\",\"certs\":\"auth\"}"
check 201 "minor through a legal representative: authentication only"; KAPP=$(jq -r .id <<<"$BODY")
req clerk POST /api/v1/applications "{\"resident\":$W,\"kind\":\"new-card\",\"applicant\":\"legal\",\"agent_name\":\"後見 人\",\"certs\":\"sign,auth\"}"
check 422 "adult ward: no signature certificate"
req clerk POST /api/v1/applications "{\"resident\":$W,\"kind\":\"new-card\",\"certs\":\"auth\"}"
check 422 "adult ward applies through a legal representative"
req clerk POST /api/v1/applications "{\"resident\":$A,\"kind\":\"renewal\",\"card\":\"HCARD-A\"}"
check 422 "renewal too early"
req clerk POST "/api/v1/applications/$KAPP/cancel" '{}'; check_msg 200 '"cancelled"' "cancelled"
req clerk POST "/api/v1/applications/$KAPP/approve" '{}'; check 409 "a cancelled application is closed"

# PIN reset without identity
req clerk POST /api/v1/applications "{\"resident\":$A,\"kind\":\"pin-reset\",\"pins\":\"auth\",\"card\":\"HCARD-A\"}"
check 201 "PIN reset opened"; PR=$(jq -r .id <<<"$BODY")
req clerk POST "/api/v1/applications/$PR/approve" '{}'; check 409 "PIN reset without identity"
req clerk POST "/api/v1/applications/$PR/cancel" '{}'; check 200 "PIN reset withdrawn"

# a proxy: the 照会書兼回答書, never the same day
req clerk POST /api/v1/applications "{\"resident\":$A,\"kind\":\"pin-reset\",\"pins\":\"auth\",\"card\":\"HCARD-A\",\"applicant\":\"proxy\"}"
check 400 "proxy without the agent's name"
req clerk POST /api/v1/applications "{\"resident\":$A,\"kind\":\"pin-reset\",\"pins\":\"auth\",\"card\":\"HCARD-A\",\"applicant\":\"proxy\",\"agent_name\":\"山田 花子\"}"
check 201 "proxy PIN reset"; P=$(jq -r .id <<<"$BODY")
req clerk POST "/api/v1/applications/$P/documents" "{\"role\":\"agent\",\"type\":\"passport\",\"number\":\"TK123\",\"expiry\":\"$FUTURE\"}"; check 201 "agent's passport"
req clerk POST "/api/v1/applications/$P/documents" "{\"type\":\"mynumber_card\",\"number\":\"HCARDA\",\"expiry\":\"$FUTURE\"}"; check 201 "holder's card"
req clerk POST "/api/v1/applications/$P/approve" '{}'; check 409 "proxy not approved before the inquiry"
req clerk POST "/api/v1/applications/$P/inquiry" '{}'; check_msg 200 '"inquiry_sent"' "照会書 mailed"
req clerk POST "/api/v1/applications/$P/inquiry/answer" '{}'; check 409 "回答書 not the same day"

# reissue: fees, then rejected
req clerk POST /api/v1/applications "{\"resident\":$A,\"kind\":\"reissue\",\"card\":\"HCARD-A\"}"; check 201 "reissue opened"; R=$(jq -r .id <<<"$BODY")
req clerk POST "/api/v1/applications/$R/complete-virtual" "$VPINS"; check 409 "complete-virtual of an unapproved reissue"
req clerk POST "/api/v1/applications/$PR/complete-virtual" "$VPINS"; check 409 "complete-virtual of a PIN reset (keeps the held card)"
req clerk POST "/api/v1/applications/$R/preview" '{}'
jq -e '.fee.cert_yen==200 and .fee.card_yen==800 and .fee.total_yen==1000' <<<"$BODY" >/dev/null && ok "reissue fee 1000 yen" || bad "fee: $BODY"
req clerk POST "/api/v1/applications/$R/reject" '{}'; check 400 "rejection needs a reason"
req clerk POST "/api/v1/applications/$R/reject" '{"reason":"本人確認書類なし"}'; check_msg 200 '"rejected"' "rejected"
req clerk GET "/api/v1/applications?q=rejected"; jq -e "[.applications[].id]|index($R)" <<<"$BODY" >/dev/null && ok "list by state" || bad "list: $BODY"
req clerk GET "/api/v1/applications?q=$A"; jq -e '(.applications|length)==4' <<<"$BODY" >/dev/null && ok "list by resident" || bad "list: $BODY"
req clerk GET "/api/v1/applications"; jq -e "[.applications[].id]|index($P)" <<<"$BODY" >/dev/null && ok "open list" || bad "open: $BODY"
req clerk GET "/api/v1/applications?q=bogus"; check 400 "bad filter"
stop_jpkid

# ---- the next day ----
start_jpkid "$T/ca" --test-clock-offset 1
login clerk clerk1 clerk-password-1; login sup sup1 super-password-1
req clerk POST "/api/v1/applications/$P/inquiry/answer" '{}'; check_msg 200 '"inquiry_answered"' "回答書 brought back the next day"
req clerk POST "/api/v1/applications/$P/approve" '{}'; check_msg 200 '"approved"' "proxy approved"
req clerk POST "/api/v1/applications/$P/complete" '{}'; check 200 "PIN reset recorded"
# loss report: both certificates on hold
req clerk POST /api/v1/applications "{\"resident\":$A,\"kind\":\"loss\",\"card\":\"HCARD-A\"}"; L=$(jq -r .id <<<"$BODY")
req clerk GET "/api/v1/certificates/$AUTH1"; check_msg 200 '"status":"hold"' "held on receipt of the report"
req clerk POST "/api/v1/applications/$L/documents" "{\"type\":\"drivers_license\",\"number\":\"555\",\"expiry\":\"$FUTURE\"}"; check 201 "loss: identity"
req clerk POST "/api/v1/applications/$L/approve" '{}'; check 200 "loss approved"
req clerk POST "/api/v1/applications/$L/complete" '{}'
[ "$CODE" = 200 ] && [ "$(jq '.revoked_or_held|length' <<<"$BODY")" = 0 ] && ok "loss report closed: the hold came on receipt" || bad "loss: $CODE $BODY"
req clerk GET "/api/v1/certificates/$AUTH1"; check_msg 200 '"status":"hold"' "held"

# ---- expiry notices ----
req sup POST /api/v1/notices/run '{}'; check 200 "notice batch"
LET=$(jq -r .letters <<<"$BODY"); CSV=$(jq -r .mailroom <<<"$BODY")
req sup GET "$LET"; [ "$CODE" = 200 ] && grep -qi '^Content-Type: text/html; charset=utf-8' "$T/hdr" && ok "letters HTML" || bad "letters: $CODE"
req sup GET "$CSV"
[ "$CODE" = 200 ] && grep -qi '^Content-Type: text/csv; charset=utf-8' "$T/hdr" && head -1 <<<"$BODY" | grep -q '"batch","cert_serial"' \
  && ok "mail-room CSV" || bad "csv: $CODE $(head -c 300 <<<"$BODY")"
req sup GET "/api/v1/notices/..%2F..%2Fetc/letters.html"; [ "$CODE" = 400 ] || [ "$CODE" = 404 ] && ok "no path traversal ($CODE)" || bad "traversal: $CODE"
req sup GET "/api/v1/notices/20000101T000000Z/letters.html"; check 404 "unknown run"
req sup GET /api/v1/audit/verify; check_msg 200 '"ok":true' "audit chain intact"
stop_jpkid

# ---- residents in bulk from CSV (the CLI): all rows or none ----
printf '\xef\xbb\xbfext_id,name,kana,address,birth,sex,muni,adult_ward\r\nI1,佐藤 一,サトウ,"清瀬市, 1",1990-01-01,1,132217,\r\nI2,佐藤 二,サトウ,清瀬市,1990-02-30,1,132217,\r\n' >bad.csv
out=$(JPKI_DIR="$T/ca" "$JPKI" resident import bad.csv 2>&1) && bad "bad CSV imported: $out" || \
  { grep -q 'bad.csv:3: birth' <<<"$out" && ok "bad row reported by line" || bad "import: $out"; }
head -c -"$(tail -1 bad.csv | wc -c)" bad.csv >good.csv
out=$(JPKI_DIR="$T/ca" "$JPKI" resident import good.csv 2>&1) && grep -q 'imported 1 residents' <<<"$out" \
  && grep -q '100%' <<<"$out" && ok "CSV imported with progress" || bad "import: $out"
finish
