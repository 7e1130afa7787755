#!/usr/bin/env bash
# jpkid end to end over HTTP: log-in, every API route and its refusals, the
# role matrix and CSRF on every mutation, issuance with proof of
# possession, and revocation published to OCSP (read by `openssl ocsp`) and
# to CRLs (checked by `openssl crl`).
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"

export JPKID_ADMIN_PASSWORD=admin-password-1
start_jpkid "$T/ca"
# the admin password is read once and wiped from the process environment
if tr '\0' '\n' </proc/"$JPKID_PID"/environ | grep -q "admin-password-1"; then bad "JPKID_ADMIN_PASSWORD still readable in /proc/PID/environ"
else ok "JPKID_ADMIN_PASSWORD wiped from /proc/PID/environ"; fi
R=$T/ca/roots
grep -q "password" "$T/jpkid.out" && bad "a given admin password is not printed" || ok "admin password not printed"

# ---- sessions ----
login admin admin nope-nope-nope
check 401 "wrong password"
login admin nobody admin-password-1
check 401 "unknown operator"
login admin admin admin-password-1
check 200 "admin logs in"
cookie=$(grep -i '^Set-Cookie:' "$T/hdr")
grep -q "HttpOnly" <<<"$cookie" && grep -q "SameSite=Strict" <<<"$cookie" && ! grep -q "Secure" <<<"$cookie" \
  && ok "session cookie HttpOnly, SameSite=Strict, no Secure on loopback" || bad "cookie: $cookie"
[ ${#CSRF_admin} -eq 64 ] && ok "CSRF token" || bad "csrf: $CSRF_admin"
req admin GET /api/v1/session; check_msg 200 '"role":"ca-admin"' "session shows the role"
req - POST /api/v1/session '{"name":"admin"}'; check_msg 400 "password" "log-in without password"
req - POST /api/v1/session '' --data-binary '{"name":"admin","password":"x"}' -H 'Content-Type: text/plain'
check 415 "log-in needs application/json"

# ---- operators (ca-admin) ----
req admin POST /api/v1/operators '{"name":"clerk1","role":"clerk","password":"clerk-password-1"}'; check 201 "create clerk"
req admin POST /api/v1/operators '{"name":"sup1","role":"supervisor","password":"super-password-1"}'; check 201 "create supervisor"
req admin POST /api/v1/operators '{"name":"clerk1","role":"clerk","password":"clerk-password-1"}'; check 409 "operator exists"
req admin POST /api/v1/operators '{"name":"x1","role":"king","password":"clerk-password-1"}'; check 400 "unknown role"
req admin POST /api/v1/operators '{"name":"x2","role":"clerk","password":"short"}'; check 400 "short password"
req admin GET /api/v1/operators; check_msg 200 '"name":"sup1"' "list operators"
login clerk clerk1 clerk-password-1; check 200 "clerk logs in"
login sup sup1 super-password-1; check 200 "supervisor logs in"
req clerk POST /api/v1/operators '{"name":"x3","role":"clerk","password":"clerk-password-1"}'; check 403 "clerk cannot create operators"
req clerk GET /api/v1/operators; check 403 "clerk cannot list operators"
req clerk POST /api/v1/operators/admin/password '{"password":"new-admin-pass-1"}'; check 403 "clerk cannot set admin's password"

# ---- municipalities ----
req admin POST /api/v1/municipalities '{"code":"132217","pref":"東京都","city":"清瀬市","pref_roman":"Tokyo-to","city_roman":"Kiyose-shi"}'
check 201 "record Kiyose"
req admin POST /api/v1/municipalities '{"code":"131016","pref":"東京都","city":"千代田区","pref_roman":"Tokyo-to","city_roman":"Chiyoda-ku"}'
check 201 "record Chiyoda"
req admin POST /api/v1/municipalities '{"code":"131016","pref":"東京都","city":"千代田区","pref_roman":"Tokyo-to","city_roman":"Chiyoda-xx"}'
check 409 "a municipality is recorded once"
req clerk POST /api/v1/municipalities '{"code":"131024","pref":"東京都","city":"中央区","pref_roman":"Tokyo-to","city_roman":"Chuo-ku"}'
check 403 "clerk cannot record municipalities"
req clerk GET /api/v1/municipalities; check_msg 200 "Kiyose-shi" "list municipalities"

# ---- residents: malformed input ----
req clerk POST /api/v1/residents '{"ext_id":"A1","name":'; check_msg 400 "malformed JSON" "malformed JSON"
req clerk POST /api/v1/residents '{"ext_id":"A1","name":"x","kana":"x","address":"x","birth":"1980-12-31","sex":1,"muni":"132217","shoe":1}'
check_msg 400 "unknown field 'shoe'" "unknown field"
req clerk POST /api/v1/residents '{"ext_id":"A1","name":"x","kana":"x","address":"x","birth":"1980-12-31","sex":"1","muni":"132217"}'
check_msg 400 "'sex' must be an integer" "wrong type"
req clerk POST /api/v1/residents '{"ext_id":"A1","name":"x","kana":"x","address":"x","birth":"1980-13-31","sex":1,"muni":"132217"}'
check_msg 400 "birth" "impossible date"
req clerk POST /api/v1/residents '{"ext_id":"A1","name":"x","kana":"x","address":"x","birth":"1980-12-31","sex":1,"muni":"999999"}'
check_msg 404 "999999" "unknown municipality"
req clerk POST /api/v1/residents '[1,2]'; check_msg 400 "object" "array body"
req clerk POST /api/v1/residents '{"ext_id":"A1","ext_id":"A2"}'; check_msg 400 "duplicate" "duplicate key"
head -c 20000 /dev/zero | tr '\0' 'a' >"$T/big"
req clerk POST /api/v1/residents "{\"name\":\"$(cat "$T/big")\"}"; check 413 "body too big"
req clerk POST /api/v1/residents '' --data-binary 'ext_id=A1' -H 'Content-Type: application/x-www-form-urlencoded'
check 415 "form body refused"

# ---- residents and cards ----
mk() { # mk EXT NAME BIRTH MUNI [adult_ward]: sets RID
  req clerk POST /api/v1/residents "{\"ext_id\":\"$1\",\"name\":\"$2\",\"kana\":\"カナ\",\"address\":\"東京都清瀬市上清戸１丁目\",\"birth\":\"$3\",\"sex\":1,\"muni\":\"$4\"${5:+,\"adult_ward\":true}}"
  RID=$(jq -r .id <<<"$BODY")
}
mk A1 "山田　太郎" 1980-12-31 132217; A=$RID; check 201 "resident A"
req clerk POST /api/v1/residents '{"ext_id":"A1","name":"x","kana":"x","address":"x","birth":"1980-12-31","sex":1,"muni":"132217"}'
check 409 "duplicate ext_id"
mk B1 "髙橋　花子" 1992-02-29 131016; B=$RID; check 201 "resident B"
mk C1 "子供　一郎" 2016-05-05 132217; C=$RID; check 201 "resident C (under 15)"
mk W1 "後見　二郎" 1950-01-01 132217 ward; W=$RID; check 201 "resident W (adult ward)"
for r in $A $B $C $W; do
  req clerk POST /api/v1/cards "{\"serial\":\"CARD$r\",\"resident\":$r}"; check 201 "card of $r"
done
req clerk POST /api/v1/cards '{"serial":"CARDX","resident":999999}'; check 404 "card of an unknown resident"
req clerk POST /api/v1/cards "{\"serial\":\"CARD$A\",\"resident\":$B}"; check 409 "a card cannot move to another resident"
req clerk GET "/api/v1/residents?q=%E5%B1%B1%E7%94%B0"; check_msg 200 '"ext_id":"A1"' "search by name"
req clerk GET /api/v1/residents/$A; check_msg 200 '"name":"山田　太郎"' "get resident" -H 'Accept: application/json'
req clerk GET /api/v1/residents/999999; check 404 "unknown resident"
req clerk GET /api/v1/residents/abc; check 400 "bad resident id"
req clerk GET /api/v1/nothing; check 404 "unknown route"
req clerk DELETE /api/v1/residents/$A; check 405 "method not allowed"

# ---- preview ----
req admin POST /api/v1/issue/preview "{\"resident\":$A,\"card\":\"CARD$A\",\"sign\":{},\"auth\":{}}"
check_msg 200 '"ok":true' "preview for an adult"
grep -q '"fee":{"cert_yen":0' <<<"$BODY" && ok "preview shows the fee" || bad "fee: $BODY"
jq -e '.sign.validity.last_day and .auth.validity.last_day' <<<"$BODY" >/dev/null && ok "preview shows validity" || bad "validity: $BODY"
req admin POST /api/v1/issue/preview "{\"resident\":$C,\"card\":\"CARD$C\",\"sign\":{},\"auth\":{}}"
jq -e '.ok == false and .sign.eligible == false and .auth.eligible == true' <<<"$BODY" >/dev/null \
  && grep -q "under" <<<"$BODY" && ok "preview: no signature certificate under 15" || bad "preview C: $BODY"
req admin POST /api/v1/issue/preview "{\"resident\":$A,\"card\":\"CARD$A\",\"sign\":{},\"reissue\":true}"
jq -e '.fee.cert_yen == 200 and .fee.card_yen == 800' <<<"$BODY" >/dev/null && ok "reissue fee 200+800 yen" || bad "reissue fee: $BODY"

# ---- issuance ----
newkey k1; newkey k2; newkey k3
req admin POST /api/v1/issue "$(issue_body admin "$A" "CARD$A" k1.key k2.key)"
check 201 "issue A's two certificates"
SA=$(jq -r .sign.serial <<<"$BODY"); AA=$(jq -r .auth.serial <<<"$BODY")
jq -r .sign.pem <<<"$BODY" >a_sign.pem; jq -r .auth.pem <<<"$BODY" >a_auth.pem
expect_ok "A's sign certificate verifies" openssl verify -CAfile "$R/sign-root.pem" a_sign.pem
expect_ok "A's auth certificate verifies" openssl verify -CAfile "$R/auth-root.pem" a_auth.pem
body=$(issue_body admin "$B" "CARD$B" k1.key k2.key)
req admin POST /api/v1/issue "$body"; check 201 "issue B's certificates"
SB=$(jq -r .sign.serial <<<"$BODY"); AB=$(jq -r .auth.serial <<<"$BODY")
req admin POST /api/v1/issue "$body"; check_msg 409 "challenge" "double submission (same challenge)"
req admin POST /api/v1/issue "$(issue_body admin "$B" "CARD$B" - k2.key)"
check_msg 409 "already holds a valid" "double submission (new challenge)"
req admin POST /api/v1/issue "$(issue_body admin "$C" "CARD$C" k1.key -)"; check_msg 422 "under" "signature certificate under 15"
req admin POST /api/v1/issue "$(issue_body admin "$W" "CARD$W" k1.key -)"; check_msg 422 "成年被後見人" "signature certificate for an adult ward"
req admin POST /api/v1/issue "$(issue_body admin "$A" "CARD$A" - k2.key ',"renewal":true')"
check_msg 422 "renewal" "renewal too early"
req admin POST /api/v1/issue "$(issue_body admin "$C" "CARD$C" - k2.key)" ; AC=$(jq -r .auth.serial <<<"$BODY")
check 201 "auth-only issuance for a minor"
# a proof made with another key, a missing proof, no challenge
ch=$(req admin POST /api/v1/issue/challenge; jq -r .challenge <<<"$BODY")
req admin POST /api/v1/issue "{\"resident\":$W,\"card\":\"CARD$W\",\"challenge\":\"$ch\",\"auth\":{\"spki\":\"$(spki_b64 k2.key)\",\"pop\":\"$(pop k3.key "$ch" auth "$W" "CARD$W")\"}}"
check_msg 400 "does not verify" "proof of possession by another key"
req admin POST /api/v1/issue "{\"resident\":$W,\"card\":\"CARD$W\",\"challenge\":\"$ch\",\"auth\":{\"spki\":\"$(spki_b64 k2.key)\"}}"
check_msg 400 "pop" "missing proof of possession"
req admin POST /api/v1/issue "{\"resident\":$W,\"card\":\"CARD$W\",\"auth\":{\"spki\":\"$(spki_b64 k2.key)\"}}"
check_msg 400 "challenge" "missing challenge"
req admin POST /api/v1/issue "{\"resident\":$W,\"card\":\"CARD$W\",\"challenge\":\"$ch\",\"auth\":{\"spki\":\"AAAA\",\"pop\":\"AAAA\"}}"
check_msg 400 "spki" "garbage key"
req admin POST /api/v1/issue "$(issue_body clerk "$W" "CARD$W" - k2.key)"; check_msg 409 "challenge" "another session's challenge"

# ---- OCSP: openssl against the responder ----
ocsp() { # ocsp CERT ROOT [extra] -> openssl's report
  openssl ocsp -issuer "$2" -cert "$1" -url "$BASE/ocsp" -CAfile "$2" -timeout 20 "${@:3}" 2>&1
}
out=$(ocsp a_sign.pem "$R/sign-root.pem")
grep -q "a_sign.pem: good" <<<"$out" && grep -q "Response verify OK" <<<"$out" && ok "OCSP (nonce) good" || bad "ocsp: $out"
out=$(ocsp a_sign.pem "$R/sign-root.pem" -no_nonce)
grep -q "a_sign.pem: good" <<<"$out" && ok "OCSP without nonce good" || bad "ocsp no nonce: $out"
# GET with the request in the URL (RFC 6960 A.1), caching headers, 304
openssl ocsp -issuer "$R/sign-root.pem" -cert a_sign.pem -no_nonce -reqout req.der 2>/dev/null
b64=$(base64 -w0 req.der | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
code=$(curl -s -D get.hdr -o get.der -w '%{http_code}' "$BASE/ocsp/$b64")
[ "$code" = 200 ] && grep -qi '^Content-Type: application/ocsp-response' get.hdr \
  && grep -qi '^Cache-Control: max-age=[0-9]*, public, no-transform, must-revalidate' get.hdr \
  && grep -qi '^ETag: "' get.hdr && grep -qi '^Last-Modified: ' get.hdr && grep -qi '^Expires: ' get.hdr \
  && ok "OCSP GET with RFC 5019 headers" || bad "OCSP GET $code: $(cat get.hdr)"
out=$(openssl ocsp -respin get.der -issuer "$R/sign-root.pem" -CAfile "$R/sign-root.pem" -cert a_sign.pem -no_nonce 2>&1)
grep -q "a_sign.pem: good" <<<"$out" && grep -q "Response verify OK" <<<"$out" && ok "OCSP GET answer verifies" || bad "get: $out"
etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *\(.*\)\r$/\1/p' get.hdr)
code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$BASE/ocsp/$b64")
[ "$code" = 304 ] && ok "OCSP If-None-Match -> 304" || bad "304: $code"
b64url=$(base64 -w0 req.der | tr '+/' '-_' | tr -d '=')
code=$(curl -s -o get2.der -w '%{http_code}' "$BASE/ocsp/$b64url")
cmp -s get.der get2.der && ok "OCSP GET with base64url is the same cached answer" || bad "base64url: $code"
code=$(curl -s -o post.der -w '%{http_code}' -H 'Content-Type: application/ocsp-request' --data-binary @req.der "$BASE/ocsp")
cmp -s get.der post.der && ok "OCSP POST without nonce is served from the cache" || bad "post: $code"
code=$(curl -s -o bad.der -w '%{http_code}' --data-binary 'garbage' "$BASE/ocsp")
out=$(openssl ocsp -respin bad.der -resp_text -noverify 2>&1 || true)
grep -q "malformedrequest" <<<"$out" && ok "garbage -> malformedRequest" || bad "garbage: $code $out"
head -c 5000 /dev/zero >big.der
code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @big.der "$BASE/ocsp"); [ "$code" = 413 ] && ok "OCSP request too big (413)" || bad "ocsp 413: $code"
# a certificate of another CA: unauthorized, unsigned
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -subj /CN=other -days 1 -out other.pem 2>/dev/null
out=$(openssl ocsp -issuer other.pem -cert other.pem -url "$BASE/ocsp" -no_nonce 2>&1 || true)
grep -qi "unauthorized" <<<"$out" && ok "foreign issuer -> unauthorized" || bad "foreign: $out"

# ---- a resident-record change revokes exactly the signature certificate ----
req clerk PATCH /api/v1/residents/$A '{"address":"東京都清瀬市中清戸２丁目"}'
check 200 "address change"
jq -e --arg s "$SA" --arg a "$AA" '.revoked == [$s] and (.revoked | index($a)) == null' <<<"$BODY" >/dev/null \
  && ok "the change revoked A's signature certificate only" || bad "change: $BODY"
out=$(ocsp a_sign.pem "$R/sign-root.pem")
grep -q "a_sign.pem: revoked" <<<"$out" && grep -q "Reason: affiliationChanged" <<<"$out" && grep -q "Response verify OK" <<<"$out" \
  && ok "openssl ocsp: A's sign revoked (affiliationChanged)" || bad "ocsp after change: $out"
out=$(ocsp a_auth.pem "$R/auth-root.pem")
grep -q "a_auth.pem: good" <<<"$out" && ok "openssl ocsp: A's auth still good" || bad "ocsp auth: $out"
curl -s -o get3.der "$BASE/ocsp/$b64"
out=$(openssl ocsp -respin get3.der -issuer "$R/sign-root.pem" -CAfile "$R/sign-root.pem" -cert a_sign.pem -no_nonce 2>&1)
grep -q "a_sign.pem: revoked" <<<"$out" && ok "the cached OCSP answer was re-signed on revocation" || bad "cache after revoke: $out"
req clerk PATCH /api/v1/residents/$A '{"kana":"ヤマダタロウ"}'
jq -e '.revoked == []' <<<"$BODY" >/dev/null && ok "a kana change revokes nothing" || bad "kana: $BODY"
req clerk PATCH /api/v1/residents/$A '{"muni":"131016"}'; check_msg 400 "cannot change" "municipality cannot change"
req clerk PATCH /api/v1/residents/$A '{}'; check 400 "empty change"

# ---- CRLs over HTTP ----
for f in crl/sign/132217 crl/auth/132217 crl/sign/131016 crl/sign/full crl/auth/full arl/sign arl/auth; do
  root=$R/sign-root.pem; case $f in *auth*) root=$R/auth-root.pem;; esac
  code=$(curl -s -D crl.hdr -o crl.der -w '%{http_code}' "$BASE/$f.crl")
  if [ "$code" = 200 ] && grep -qi '^Content-Type: application/pkix-crl' crl.hdr && \
     openssl crl -inform DER -in crl.der -CAfile "$root" -noout 2>&1 | grep -q "verify OK"; then
    ok "GET /$f.crl verifies"
  else bad "/$f.crl: $code $(openssl crl -inform DER -in crl.der -CAfile "$root" -noout 2>&1)"; fi
done
curl -s -o k.der "$BASE/crl/sign/132217.crl"
txt=$(openssl crl -inform DER -in k.der -noout -text)
grep -q "$SA" <<<"$txt" && grep -q "Affiliation Changed" <<<"$txt" && ok "Kiyose CRL lists A's signature certificate" || bad "crl: $txt"
curl -s -o c.der "$BASE/crl/sign/131016.crl"
! grep -q "$SA" <<<"$(openssl crl -inform DER -in c.der -noout -text)" && ok "Chiyoda CRL does not" || bad "chiyoda lists A"
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/crl/sign/999999.crl"); [ "$code" = 404 ] && ok "unknown CRL 404" || bad "crl 404: $code"
openssl crl -inform DER -in k.der -out k.pem
out=$(openssl verify -crl_check -CRLfile k.pem -CAfile "$R/sign-root.pem" a_sign.pem 2>&1 || true)
grep -q "certificate revoked" <<<"$out" && ok "openssl verify -crl_check sees the revocation" || bad "crl_check: $out"

# ---- revocation through the API, by role ----
req clerk POST /api/v1/certificates/$SB/revoke '{"reason":"keyCompromise"}'; check 403 "clerk cannot revoke as keyCompromise"
req sup POST /api/v1/certificates/$SB/revoke '{"reason":"keyCompromise"}'; check 403 "supervisor cannot either"
req clerk POST /api/v1/certificates/$SB/revoke '{"reason":"superseded"}'; check_msg 409 "application_required" "superseded only by a renewal application"
req clerk POST /api/v1/certificates/$SB/revoke '{"reason":"bogus"}'; check 400 "unknown reason"
req clerk POST /api/v1/certificates/$SB/revoke '{"reason":"certificateHold"}'; check_msg 409 "application_required" "no hold outside a loss report"
req clerk POST /api/v1/applications "{\"resident\":$B,\"kind\":\"loss\",\"card\":\"CARD$B\"}"; check 201 "clerk receives a loss report: the hold"
req clerk POST /api/v1/applications "{\"resident\":$B,\"kind\":\"loss\",\"card\":\"CARD$B\"}"; check 409 "already reported"
req clerk GET /api/v1/certificates/$SB; check_msg 200 '"status":"hold"' "certificate shows the hold"
jq -r .pem <<<"$BODY" >b_sign.pem
out=$(ocsp b_sign.pem "$R/sign-root.pem")
grep -q "Reason: certificateHold" <<<"$out" && ok "openssl ocsp: hold" || bad "ocsp hold: $out"
req admin POST /api/v1/certificates/$AB/revoke '{"reason":"keyCompromise"}'; check 200 "ca-admin revokes as keyCompromise"
req admin POST /api/v1/certificates/$AB/revoke '{"reason":"keyCompromise"}'; check 409 "already revoked"
req admin POST /api/v1/certificates/0123/revoke '{"reason":"keyCompromise"}'; check 404 "unknown serial"
req admin POST /api/v1/certificates/xyz/revoke '{"reason":"keyCompromise"}'; check 400 "bad serial"

# ---- removal from the register ----
req clerk POST /api/v1/residents/$C/remove '{}'; check 403 "clerk cannot remove"
req sup POST /api/v1/residents/$C/remove '{}'; check 200 "supervisor removes C"
jq -e --arg a "$AC" '.revoked == [$a] and .status == "removed"' <<<"$BODY" >/dev/null && ok "removal revoked C's auth certificate" || bad "remove: $BODY"
req clerk GET /api/v1/certificates/$AC; jq -r .pem <<<"$BODY" >c_auth.pem
out=$(ocsp c_auth.pem "$R/auth-root.pem")
grep -q "Reason: cessationOfOperation" <<<"$out" && ok "openssl ocsp: cessationOfOperation" || bad "ocsp removal: $out"
req sup POST /api/v1/residents/$C/remove '{}'; check 409 "already removed"
req admin POST /api/v1/issue "$(issue_body admin "$C" "CARD$C" - k2.key)"; check_msg 409 "removed" "nothing issued after removal"

# ---- 401 without a session, 403 without CSRF, on every mutation ----
muts=(
  "POST /api/v1/operators {\"name\":\"zz\",\"role\":\"clerk\",\"password\":\"zzzzzzzzzzzzzz\"}"
  "POST /api/v1/operators/clerk1/password {\"password\":\"zzzzzzzzzzzzzz\"}"
  "POST /api/v1/municipalities {\"code\":\"131024\",\"pref\":\"a\",\"city\":\"b\",\"pref_roman\":\"a\",\"city_roman\":\"b\"}"
  "POST /api/v1/residents {\"ext_id\":\"Z1\",\"name\":\"z\",\"kana\":\"z\",\"address\":\"z\",\"birth\":\"1990-01-01\",\"sex\":1,\"muni\":\"132217\"}"
  "PATCH /api/v1/residents/$B {\"address\":\"z\"}"
  "POST /api/v1/residents/$B/remove {}"
  "POST /api/v1/cards {\"serial\":\"CZ\",\"resident\":$B}"
  "POST /api/v1/issue/challenge {}"
  "POST /api/v1/issue/preview {\"resident\":$B,\"card\":\"CARD$B\",\"auth\":{}}"
  "POST /api/v1/issue {\"resident\":$B,\"card\":\"CARD$B\"}"
  "POST /api/v1/certificates/$AA/revoke {\"reason\":\"certificateHold\"}"
  "DELETE /api/v1/session "
)
for m in "${muts[@]}"; do
  read -r meth path body <<<"$m"
  req - "$meth" "$path" "$body"; check 401 "no session: $meth $path"
  NOCSRF=1 req admin "$meth" "$path" "$body"; check_msg 403 "CSRF" "no CSRF token: $meth $path"
  CSRF_admin_saved=$CSRF_admin; CSRF_admin=$(printf '%064d' 0)
  req admin "$meth" "$path" "$body"; check_msg 403 "CSRF" "wrong CSRF token: $meth $path"
  CSRF_admin=$CSRF_admin_saved
done
req clerk POST /api/v1/residents/$B/remove '{}'; check 403 "wrong role: clerk removes"
req sup POST /api/v1/municipalities '{"code":"131024","pref":"a","city":"b","pref_roman":"a","city_roman":"b"}'; check 403 "wrong role: supervisor records a municipality"
req clerk GET /api/v1/audit/verify; check 403 "wrong role: clerk verifies the audit log"
req - GET /api/v1/residents; check 401 "no session: read"

# ---- the audit log: every mutation, by its operator, chain intact ----
req sup GET /api/v1/audit/verify; check_msg 200 '"ok":true' "audit chain verifies"
audit=$(sqlite3 "$T/ca/jpki.db" "SELECT actor || ' ' || action FROM audit")
for want in "admin operator.create" "admin muni.put" "clerk1 resident.add" "clerk1 card.record" \
            "admin cert.issue" "clerk1 resident.change" "clerk1 cert.hold" "admin cert.revoke" "sup1 resident.remove"; do
  grep -qx "$want" <<<"$audit" && ok "audit: $want" || bad "audit lacks '$want'"
done

# ---- metrics, password change, log-out ----
m=$(curl -s "$BASE/metrics")
grep -q 'jpkid_requests_total{route="ocsp",code="200"}' <<<"$m" && grep -q '^jpkid_ocsp_cache_entries [1-9]' <<<"$m" \
  && grep -q 'jpkid_request_duration_seconds_bucket{class="issue",le="+Inf"} [1-9]' <<<"$m" && ok "metrics" || bad "metrics: $m"
req clerk POST /api/v1/operators/clerk1/password '{"password":"clerk-password-2"}'; check 400 "own password change needs the current one"
req clerk POST /api/v1/operators/clerk1/password '{"password":"clerk-password-2","current":"clerk-password-1"}'; check 200 "clerk changes own password"
login clerk2 clerk1 clerk-password-2; check 200 "log in with the new password"
req clerk DELETE /api/v1/session; check 200 "log out"
req clerk GET /api/v1/session; check 401 "session gone after log-out"

# a restart keeps everything, and asks for no new admin
stop_jpkid
unset JPKID_ADMIN_PASSWORD
start_jpkid "$T/ca"
grep -q "created operator" "$T/jpkid.out" && bad "restart created an operator" || ok "restart: no new operator"
login admin admin admin-password-1; check 200 "admin logs in after restart"
out=$(ocsp a_sign.pem "$R/sign-root.pem" -no_nonce)
grep -q "a_sign.pem: revoked" <<<"$out" && ok "after restart: still revoked" || bad "restart ocsp: $out"
stop_jpkid
finish
