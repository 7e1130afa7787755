#!/usr/bin/env bash
# One door: every change to certificates, cards and PINs is an application
# completed over the API onto the virtual card the service keeps — new
# card, issue (also for someone who declined before, and a new signature
# certificate after a move), renewal inside the window and after expiry,
# reissue with its fees, revocation at the holder's request, loss (OCSP
# says certificateHold at once, on receipt), found (held ones revoked and
# issued anew, jpki-domain.md §2.1), PIN reset; a 委任状 proxy issuance; a
# 14-year-old without a 法定代理人 refused with the law's reason.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
cd "$T"
R=$T/ca/roots

export JPKID_ADMIN_PASSWORD=admin-password-1
start_jpkid "$T/ca"
login admin admin admin-password-1
req admin POST /api/v1/operators '{"name":"clerk1","role":"clerk","password":"clerk-password-1"}'; check 201 "create clerk"
req admin POST /api/v1/municipalities '{"code":"132217","pref":"東京都","city":"清瀬市","pref_roman":"Tokyo-to","city_roman":"Kiyose-shi"}'
check 201 "record Kiyose"
login clerk clerk1 clerk-password-1; check 200 "clerk logs in"
TODAY=$(TZ=Asia/Tokyo date +%F)
FUTURE=2099-12-31 # the clock runs years ahead below
resident() { # EXT NAME BIRTH
  req clerk POST /api/v1/residents "{\"ext_id\":\"$1\",\"name\":\"$2\",\"kana\":\"ヤマダ\",\"address\":\"東京都清瀬市中里1-1\",\"birth\":\"$3\",\"sex\":1,\"muni\":\"132217\"}"
  jq -r .id <<<"$BODY"
}
A=$(resident OD1 "山田 太郎" 1980-12-31)
D=$(resident OD2 "山田 次郎" 1985-04-01)
P=$(resident OD3 "山田 三郎" 1990-07-07)
# 15 tomorrow (JST): 14 today
K=$(resident OD4 "山田 四郎" "$(date -d "$TODAY -15 years +1 day" +%F)")
[ -n "$A" ] && [ -n "$K" ] && ok "residents" || bad "residents: $BODY"
PINS='{"auth_pin":"1234","sign_pin":"ABC123"}'

# app RESIDENT KIND [extra json]: opens an application, prints its id
app() {
  req clerk POST /api/v1/applications "{\"resident\":$1,\"kind\":\"$2\"${3:+,$3}}"
  [ "$CODE" = 201 ] || { bad "open $2 for $1: $CODE $BODY"; return; }
  jq -r .id <<<"$BODY"
}
idok() { # APP: the holder's photo ID and card, approved
  req clerk POST "/api/v1/applications/$1/documents" "{\"type\":\"drivers_license\",\"number\":\"D$1\",\"expiry\":\"$FUTURE\"}"
  req clerk POST "/api/v1/applications/$1/documents" "{\"type\":\"mynumber_card\",\"number\":\"C$1\",\"expiry\":\"$FUTURE\"}"
  req clerk POST "/api/v1/applications/$1/approve" '{}'
}
newcard() { # RESIDENT CARD CERTS: a new card completed onto a kept virtual card
  local id; id=$(app "$1" new-card "\"certs\":\"$3\"")
  idok "$id"; check_msg 200 '"card_ordered"' "new card $2 ordered"
  req clerk POST "/api/v1/applications/$id/card-produced" "{\"card\":\"$2\"}"
  req clerk POST "/api/v1/applications/$id/card-ready" '{}'
  req clerk POST "/api/v1/applications/$id/complete-virtual" "$PINS"; check 201 "新規交付 of $2 completes"
}
ocsp() { # CERT ROOT -> openssl's report, a fresh request to jpkid's /ocsp
  openssl ocsp -issuer "$2" -cert "$1" -url "$BASE/ocsp" -CAfile "$2" -no_nonce -timeout 20 2>&1
}
pem() { jq -r ".$1.pem" <<<"$BODY" >"$2"; }

# ---- no door around the applications ----
for p in cards/virtual cards/virtual/renew cards/virtual/preview; do
  req clerk POST "/api/v1/$p" '{}'
  [ "$CODE" = 404 ] || [ "$CODE" = 405 ] && ok "POST $p is gone ($CODE)" || bad "POST $p: $CODE $BODY"
done
req clerk POST /api/v1/issue '{}'; check 403 "a clerk cannot issue outside an application"
req clerk POST /api/v1/issue/preview '{}'; check 403 "nor preview such an issuance"

# ---- the law: a 14-year-old applies through a 法定代理人 ----
req clerk POST /api/v1/applications "{\"resident\":$K,\"kind\":\"new-card\",\"certs\":\"auth\"}"
check_msg 422 "法定代理人" "a 14-year-old without a 法定代理人 is refused"
grep -q "age 14" <<<"$BODY" && ok "the refusal gives the age" || bad "refusal: $BODY"
req clerk POST /api/v1/applications "{\"resident\":$K,\"kind\":\"new-card\",\"applicant\":\"legal\",\"agent_name\":\"山田 太郎\",\"certs\":\"sign,auth\"}"
check_msg 422 "under age 15" "no signature certificate under 15, even through a 法定代理人"
jq -e '.error.reason == "under-15" and (.error.message_ja | contains("15歳"))' <<<"$BODY" >/dev/null \
  && ok "the refusal carries the law's reason code and its Japanese text" || bad "refusal reason: $BODY"

# ---- 新規交付 ----
newcard "$A" VC-A "sign,auth"
jq -e '.sign.serial and .auth.serial and .fee.total_yen==0 and .download.url' <<<"$BODY" >/dev/null \
  && ok "new card: both certificates, free" || bad "new card: $BODY"
pem sign a_sign.pem; pem auth a_auth.pem
A_AUTH_LAST=$(jq -r .auth.validity.last_day <<<"$BODY")

# ---- 発行 for someone who declined the signature certificate before ----
newcard "$D" VC-D "auth"
jq -e '(.sign|not) and .auth.serial' <<<"$BODY" >/dev/null && ok "declined the signature certificate" || bad "declined: $BODY"
I=$(app "$D" issue '"card":"VC-D","certs":"sign"')
req clerk GET "/api/v1/applications/$I/preview"
jq -e '.plan.ok and .plan.sign.issue and (.plan.auth.issue|not) and .plan.auth.current=="keep"' <<<"$BODY" >/dev/null \
  && ok "preview shows the plan: the signature certificate onto the card" || bad "plan: $BODY"
idok "$I"; check 200 "issue approved"
req clerk POST "/api/v1/applications/$I/complete-virtual" '{"sign_pin":"ABC123"}'; check 201 "発行 onto the kept card"
jq -e '.sign.serial and (.auth|not)' <<<"$BODY" >/dev/null && ok "the signature certificate alone" || bad "issue: $BODY"
dl() { CODE=$(curl -s -o "$2" -w '%{http_code}' --max-time 60 -b "$T/clerk.jar" "$BASE$1") || CODE=000; }
dl "$(jq -r .download.url <<<"$BODY")" d.img; check 200 "the kept card's image"
out=$("$JPKI_BIN/jpki" card show d.img 2>&1) || true
grep -qi "sign" <<<"$out" && ok "jpki card show reads the card" || bad "card show: $out"

# ---- 紛失届: hold on receipt, OCSP at once ----
SER=$(openssl x509 -in a_sign.pem -noout -serial | cut -d= -f2)
req clerk POST "/api/v1/certificates/$SER/revoke" '{"reason":"certificateHold"}'
check_msg 409 "application_required" "no hold outside a 紛失届"
req clerk POST "/api/v1/certificates/$SER/revoke" '{"reason":"cessationOfOperation"}'
check_msg 409 "application_required" "no revocation at the holder's request outside an application"
req clerk POST "/api/v1/certificates/$SER/revoke" '{"reason":"keyCompromise"}'; check 403 "a clerk revokes nothing directly"
L=$(app "$A" loss '"card":"VC-A"')
out=$(ocsp a_sign.pem "$R/sign-root.pem")
grep -q "a_sign.pem: revoked" <<<"$out" && grep -q "Reason: certificateHold" <<<"$out" \
  && ok "OCSP says certificateHold as soon as the report is received" || bad "ocsp after loss: $out"
out=$(ocsp a_auth.pem "$R/auth-root.pem")
grep -q "Reason: certificateHold" <<<"$out" && ok "authentication certificate on hold too" || bad "ocsp auth: $out"
curl -s -o crl.der --max-time 20 "$BASE/crl/sign/132217.crl"
out=$(openssl crl -inform DER -in crl.der -noout -text 2>&1)
grep -A5 "$SER" <<<"$out" | grep -q "Certificate Hold" && ok "the municipality's CRL lists the hold at once" || bad "crl: $out"
req clerk POST "/api/v1/applications/$L/documents" "{\"type\":\"drivers_license\",\"number\":\"L1\",\"expiry\":\"$FUTURE\"}"
req clerk POST "/api/v1/applications/$L/approve" '{}'; check 200 "loss approved"
req clerk POST "/api/v1/applications/$L/complete-virtual" '{}'; check 201 "紛失届 completes (no card)"
req clerk POST /api/v1/applications "{\"resident\":$A,\"kind\":\"pin-reset\",\"card\":\"VC-A\",\"pins\":\"auth\"}"
check_msg 409 "reported lost" "nothing but found or reissue on a lost card"

# ---- 発見届: held ones revoked, issued anew (§2.1: a hold is never released) ----
F=$(app "$A" found '"card":"VC-A"')
req clerk GET "/api/v1/applications/$F/preview"
jq -e '.plan.sign.current=="revoke" and .plan.sign.reason=="cessationOfOperation" and .plan.sign.issue and .plan.auth.issue' <<<"$BODY" >/dev/null \
  && ok "found: the plan revokes and reissues" || bad "found plan: $BODY"
idok "$F"; check 200 "found approved"
req clerk POST "/api/v1/applications/$F/complete-virtual" "$PINS"; check 201 "発見届 completes onto the kept card"
jq -e '(.revoked_or_held|length)==2 and .sign.serial and .auth.serial' <<<"$BODY" >/dev/null && ok "two revoked, two new" || bad "found: $BODY"
pem sign a_sign2.pem; pem auth a_auth2.pem
out=$(ocsp a_sign.pem "$R/sign-root.pem")
grep -q "Reason: cessationOfOperation" <<<"$out" && ok "the held certificate is now revoked" || bad "ocsp after found: $out"
out=$(ocsp a_sign2.pem "$R/sign-root.pem")
grep -q "a_sign2.pem: good" <<<"$out" && ok "the new one is good" || bad "ocsp new: $out"

# ---- 異動 then a new 署名用 certificate ----
req clerk PATCH "/api/v1/residents/$A" '{"address":"東京都清瀬市中清戸２丁目"}'; check 200 "address changed"
out=$(ocsp a_sign2.pem "$R/sign-root.pem")
grep -q "Reason: affiliationChanged" <<<"$out" && ok "move revoked the signature certificate" || bad "ocsp move: $out"
M=$(app "$A" issue '"card":"VC-A","certs":"sign"')
idok "$M"; check 200 "issue after the move approved"
req clerk POST "/api/v1/applications/$M/complete-virtual" '{"sign_pin":"ABC123"}'; check 201 "a new 署名用 certificate after the move"
jq -e '.sign.validity.capped_by=="auth" or .sign.validity.capped_by=="birthday"' <<<"$BODY" >/dev/null && ok "capped by the authentication certificate" || bad "move issue: $BODY"

# ---- 暗証番号の初期化: the new PIN entered on the completion form ----
Q=$(app "$A" pin-reset '"card":"VC-A","pins":"auth"')
idok "$Q"; check 200 "PIN reset approved"
req clerk POST "/api/v1/applications/$Q/complete-virtual" '{}'; check_msg 400 "auth_pin_required" "the new PIN is required"
req clerk POST "/api/v1/applications/$Q/complete-virtual" '{"auth_pin":"9876"}'; check 201 "PIN reset onto the kept card"
dl "$(jq -r .download.url <<<"$BODY")" a.img; check 200 "card image"
echo hello >msg
"$JPKI_BIN/jpki" card sign --key auth --in msg --out sig a.img --pin 9876 >/dev/null 2>&1 \
  && ok "the new authentication PIN works on the card" || bad "new PIN refused"

# ---- 失効 at the holder's request ----
V=$(app "$D" revoke '"card":"VC-D","certs":"sign"')
req clerk POST "/api/v1/applications/$V/documents" "{\"type\":\"drivers_license\",\"number\":\"V1\",\"expiry\":\"$FUTURE\"}"
req clerk POST "/api/v1/applications/$V/approve" '{}'; check 200 "revocation approved"
req clerk POST "/api/v1/applications/$V/complete-virtual" '{}'; check 201 "失効 completes"
jq -e '(.revoked_or_held|length)==1' <<<"$BODY" >/dev/null && ok "one revoked" || bad "revoke: $BODY"

# ---- 再交付 with its fees ----
RI=$(app "$D" reissue '"card":"VC-D","certs":"auth"')
req clerk GET "/api/v1/applications/$RI/preview"
jq -e '.fee.cert_yen==200 and .fee.card_yen==800 and .fee.total_yen==1000' <<<"$BODY" >/dev/null && ok "reissue: 1000 yen" || bad "fee: $BODY"
req clerk POST "/api/v1/applications/$RI/documents" "{\"type\":\"drivers_license\",\"number\":\"R1\",\"expiry\":\"$FUTURE\"}"
req clerk POST "/api/v1/applications/$RI/approve" '{}'; check_msg 200 '"card_ordered"' "reissue approved"
req clerk POST "/api/v1/applications/$RI/card-produced" '{"card":"VC-D2"}'
req clerk POST "/api/v1/applications/$RI/card-ready" '{}'
req clerk POST "/api/v1/applications/$RI/complete-virtual" "$PINS"; check 201 "再交付 completes"
jq -e '.fee.total_yen==1000 and .auth.serial and .card=="VC-D2"' <<<"$BODY" >/dev/null && ok "reissued card with fee" || bad "reissue: $BODY"

# ---- a 委任状 proxy issuance ----
newcard "$P" VC-P "auth"
P_AUTH_LAST=$(jq -r .auth.validity.last_day <<<"$BODY")
X=$(app "$P" issue '"card":"VC-P","certs":"sign","applicant":"proxy","agent_name":"山田 花子"')
req clerk POST "/api/v1/applications/$X/documents" "{\"role\":\"agent\",\"type\":\"passport\",\"number\":\"TK1\",\"expiry\":\"2000-01-01\"}"
check_msg 400 "expired" "the agent's expired identity document is refused"
req clerk POST "/api/v1/applications/$X/documents" "{\"role\":\"agent\",\"type\":\"passport\",\"number\":\"TK1\",\"expiry\":\"$FUTURE\"}"
req clerk POST "/api/v1/applications/$X/documents" "{\"type\":\"mynumber_card\",\"number\":\"CP1\",\"expiry\":\"$FUTURE\"}"
req clerk POST "/api/v1/applications/$X/approve" '{}'; check_msg 409 "委任状" "no approval before the 委任状"
req clerk POST "/api/v1/applications/$X/documents" '{"type":"letter_of_attorney","number":"L-1"}'; check 201 "委任状 recorded"
req clerk POST "/api/v1/applications/$X/approve" '{}'; check 200 "proxy approved with the 委任状"
req clerk POST "/api/v1/applications/$X/complete-virtual" '{"sign_pin":"ABC123"}'; check 201 "委任状 proxy issuance completes"
stop_jpkid

# ---- 更新 after expiry (the card still valid), then inside the window ----
days_to() { echo $(( ( $(date -d "$1" +%s) - $(date -d "$TODAY" +%s) ) / 86400 )); }
renew() { # RESIDENT CARD what
  local id; id=$(app "$1" renewal "\"card\":\"$2\"")
  req clerk GET "/api/v1/applications/$id/preview"; PV=$BODY
  idok "$id"; check 200 "$3: approved"
  req clerk POST "/api/v1/applications/$id/complete-virtual" "$PINS"; check 201 "$3: completes"
}
start_jpkid "$T/ca" --test-clock-offset "$(( $(days_to "$P_AUTH_LAST") + 10 ))"
login clerk clerk1 clerk-password-1
renew "$P" VC-P "更新 after expiry"
jq -e '.plan.auth.validity.birthday_n==5' <<<"$PV" >/dev/null && ok "after expiry: a normal 5th birthday" || bad "plan: $PV"
stop_jpkid
start_jpkid "$T/ca" --test-clock-offset "$(( $(days_to "$A_AUTH_LAST") - 20 ))"
login clerk clerk1 clerk-password-1
renew "$A" VC-A "更新 inside the window"
jq -e '.plan.auth.validity.birthday_n==6 and .plan.auth.reason=="superseded"' <<<"$PV" >/dev/null \
  && ok "inside the window: 6th birthday, the old one superseded" || bad "plan: $PV"
jq -e '.sign.serial and .auth.serial' <<<"$BODY" >/dev/null && ok "both renewed" || bad "renewal: $BODY"
stop_jpkid
finish
