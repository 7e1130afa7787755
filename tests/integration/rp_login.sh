#!/usr/bin/env bash
# Relying parties against jpkid: log-in with the card's authentication
# certificate (`jpki login`, and hand-made requests for every refusal:
# replay, expired nonce, another origin, unknown nonce, bad signature,
# revoked, foreign root, a signature certificate) and the verification
# service POST /api/v1/verify (valid with basic-4, then revoked
# affiliationChanged after a change of address).  The CLI sets the CA up
# in the same directory while jpkid holds its store open.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"

export JPKID_ADMIN_PASSWORD=admin-password-1
export JPKI_DIR=$T/ca
J() { "$JPKI" "$@"; }
ORIGIN=https://portal.example
# --trust-jlis: the real J-LIS roots from the project's data folder are
# trusted beside this CA's own (every check below still passes)
start_jpkid "$T/ca" --trust-jlis
grep -q "J-LIS roots of .*/jpki-roots (fingerprints checked)" "$T/jpkid.out" && ok "jpkid --trust-jlis loaded the pinned J-LIS roots" || bad "jlis: $(cat "$T/jpkid.out")"

# ---- the counter, through the CLI, beside the running jpkid ----
J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
rid() { sed -n 's/^ *"id": \([0-9]*\),*/\1/p'; }
B=$(J --json resident add --ext-id B1 --name "髙橋　花子" --kana タカハシハナコ --address "東京都清瀬市中清戸２丁目" --birth 1992-02-29 --sex 2 --muni 132217 | rid)
A=$(J --json resident add --ext-id A1 --name "山田　太郎" --kana ヤマダタロウ --address "東京都清瀬市上清戸１丁目" --birth 1980-12-31 --sex 1 --muni 132217 | rid)
[ -n "$B" ] && [ -n "$A" ] && ok "residents recorded by the CLI while jpkid runs" || bad "residents: '$A' '$B'"
J card create --out card.img >/dev/null
expect_ok "card personalised by the CLI while jpkid runs" J card personalize card.img --resident "$B" --auth-pin 1234 --sign-pin ABC123
J card read-cert auth card.img --out b-auth.pem >/dev/null
AUTH_SERIAL=$(openssl x509 -in b-auth.pem -noout -serial | cut -d= -f2)
# software keys for the hand-made requests
J resident card "$A" --serial CARDA1 >/dev/null
newkey a_s; newkey a_a
J issue --resident "$A" --card CARDA1 --sign-key a_s.pub --auth-key a_a.pub --out-dir a >/dev/null
[ -f a/auth.pem ] && [ -f a/sign.pem ] && ok "software-key certificates" || bad "issue: $(ls a)"

# ---- log-in with the card ----
out=$(J login "$BASE" --origin "$ORIGIN" card.img --pin 1234 2>&1) || true
grep -q "^logged in to $ORIGIN" <<<"$out" && grep -q "serial $AUTH_SERIAL" <<<"$out" &&
  ok "jpki login with the card names the authentication certificate" || bad "login: $out"
echo 1234 >pin.txt
out=$(J --json login "$BASE" --origin "$ORIGIN" --card card.img --pin-file pin.txt 2>&1) || true
jq -e --arg s "$AUTH_SERIAL" '.ok and .certificate.serial == $s and (.certificate.subject_cn | length > 0)
  and (.certificate | has("basic4") | not) and (.session.id | length == 32)' <<<"$out" >/dev/null &&
  ok "login --json: serial, CN, no personal data" || bad "login json: $out"
grep -q '髙橋' <<<"$out" && bad "personal data in the log-in answer" || ok "no name in the log-in answer"
expect_fail "wrong authentication PIN: 2 tries left" J login "$BASE" --origin "$ORIGIN" card.img --pin 9999
expect_fail "authentication PIN (not sent to the card)" J login "$BASE" --origin "$ORIGIN" card.img --pin 12a4
J login "$BASE" --origin "$ORIGIN" card.img --pin 1234 >/dev/null && ok "the right PIN resets the tries" || bad "login after a wrong PIN"

# ---- hand-made requests: every refusal ----
challenge() { curl -s "$BASE/api/v1/login/challenge?origin=$1" | jq -r .nonce; }
# body ORIGIN NONCE CERT.pem KEY [signed-origin]
body() {
  local sig
  sig=$(printf 'openjpki-login-v1\norigin=%s\nnonce=%s\n' "${5:-$1}" "$2" | openssl dgst -sha256 -sign "$4" | base64 -w0)
  printf '{"origin":"%s","nonce":"%s","certificate":"%s","signature":"%s"}' \
    "$1" "$2" "$(openssl x509 -in "$3" -outform DER | base64 -w0)" "$sig"
}
post() { req - POST /api/v1/login "$1"; }
code() { jq -r '.error.code // empty' <<<"$BODY"; }
refusal() { # refusal CODE what
  if [ "$CODE" = 401 ] && [ "$(code)" = "$1" ]; then ok "refused $1: $2"; else bad "$2: want 401 $1, got $CODE ${BODY:0:300}"; fi
}
n=$(challenge "$ORIGIN"); [ ${#n} -eq 43 ] && ok "nonce: 43 base64url characters (256 bits)" || bad "nonce '$n'"
n2=$(challenge "$ORIGIN"); [ "$n" != "$n2" ] && ok "nonces differ" || bad "same nonce twice"
req - POST /api/v1/login/challenge "{\"origin\":\"$ORIGIN\"}"; check_msg 200 '"expires_in":120' "challenge by POST, 2-minute expiry"
req - GET "/api/v1/login/challenge?origin=https://Portal.example/"; check_msg 400 bad_origin "origin not in canonical form"
req - GET /api/v1/login/challenge; check_msg 400 bad_origin "challenge without origin"
good=$(body "$ORIGIN" "$n" a/auth.pem a_a.key)
post "$good"; check_msg 200 '"ok":true' "hand-made log-in with a software-key auth certificate"
post "$good"; refusal nonce_replayed "the same signed request again"
n=$(challenge "$ORIGIN")
post "$(body https://evil.example "$n" a/auth.pem a_a.key)"; refusal origin_mismatch "nonce for another origin"
post "$(body "$ORIGIN" "$n" a/auth.pem a_a.key)"; refusal nonce_replayed "a nonce presented once is used up"
n=$(challenge "$ORIGIN")
post "$(body "$ORIGIN" "$n" a/auth.pem a_a.key https://evil.example)"; refusal bad_signature "signature over another origin"
n=$(challenge "$ORIGIN")
post "$(body "$ORIGIN" "$n" a/auth.pem a_s.key)"; refusal bad_signature "signed with another key"
post "$(body "$ORIGIN" AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA a/auth.pem a_a.key)"; refusal nonce_unknown "a nonce never issued"
n=$(challenge "$ORIGIN")
post "$(body "$ORIGIN" "$n" a/sign.pem a_s.key)"; refusal wrong_certificate "a signature certificate instead of the authentication one"
post '{"origin":"https://portal.example","nonce":"x"}'; check 400 "missing fields"
post "{\"origin\":\"$ORIGIN\",\"nonce\":\"$n\",\"certificate\":\"AAAA\",\"signature\":\"AAAA\"}"; check_msg 400 malformed "certificate not DER"
post "{\"origin\":\"$ORIGIN\",\"nonce\":\"$n\",\"certificate\":\"AAAA\",\"signature\":\"AAAA\",\"x\":1}"; check_msg 400 "unknown field" "unknown field"
head -c 40000 /dev/zero | tr '\0' 'A' >big
post "{\"origin\":\"$ORIGIN\",\"nonce\":\"$n\",\"certificate\":\"$(cat big)\",\"signature\":\"AAAA\"}"; check 413 "body size capped"
req - POST /api/v1/login '' --data-binary 'origin=x' -H 'Content-Type: text/plain'; check 415 "log-in body must be JSON"

# revoked: the software auth certificate through the API, the card's by the CLI
SA=$(openssl x509 -in a/auth.pem -noout -serial | cut -d= -f2)
login admin admin admin-password-1
req admin POST "/api/v1/certificates/$SA/revoke" '{"reason":"keyCompromise"}'; check 200 "revoke the software auth certificate (API)"
n=$(challenge "$ORIGIN")
post "$(body "$ORIGIN" "$n" a/auth.pem a_a.key)"; refusal revoked "revoked certificate"
grep -q keyCompromise <<<"$BODY" && ok "the refusal names the reason" || bad "reason: $BODY"
J revoke "$AUTH_SERIAL" --reason cessationOfOperation >/dev/null
expect_fail "login refused (HTTP 401, revoked)" J login "$BASE" --origin "$ORIGIN" card.img --pin 1234

# foreign root: a card personalised by another CA
(
  export JPKI_DIR=$T/ca2
  J ca init >/dev/null
  J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
  F=$(J --json resident add --ext-id F1 --name "外部　一郎" --kana ガイブイチロウ --address "東京都清瀬市元町１丁目" --birth 1970-01-01 --sex 1 --muni 132217 | rid)
  J card create --out foreign.img >/dev/null
  J card personalize foreign.img --resident "$F" --auth-pin 4321 --sign-pin XYZ789 >/dev/null
)
expect_fail "login refused (HTTP 401, foreign_root)" J login "$BASE" --origin "$ORIGIN" foreign.img --pin 4321

# ---- POST /api/v1/verify ----
printf '申込書: 口座開設 (eKYC)\n' >doc.txt
D=$(J --json resident add --ext-id D1 --name "山田　太郎" --kana ヤマダタロウ --address "東京都清瀬市上清戸１丁目" --birth 1980-12-31 --sex 1 --muni 132217 | rid)
J card create --out card2.img >/dev/null
J card personalize card2.img --resident "$D" --auth-pin 5678 --sign-pin DEF456 >/dev/null
J sign card2.img --in doc.txt --out doc.p7s --pin DEF456 >/dev/null
vbody() { printf '{"cms":"%s","content":"%s"}' "$(base64 -w0 "$1")" "$(base64 -w0 "$2")"; }
req - POST /api/v1/verify "$(vbody doc.p7s doc.txt)"
check_msg 200 '"valid":true' "verify: the card's CMS is valid"
jq -e '.basic4.name == "山田　太郎" and .basic4.birth_japanese == "昭和55年12月31日" and .revocation.status == "good"
  and .revocation.source == "ocsp"' <<<"$BODY" >/dev/null && ok "verify: basic-4 and OCSP status from jpkid's store" || bad "verify: $BODY"
J --json verify doc.p7s --content doc.txt --ocsp "$BASE/ocsp" >cli.json || true
[ "$(jq -S 'del(.revocation.where, .revocation.this_update, .revocation.next_update, .revocation.cached)' cli.json)" = \
  "$(jq -S 'del(.revocation.where, .revocation.this_update, .revocation.next_update, .revocation.cached)' <<<"$BODY")" ] &&
  ok "verify answers the same JSON as jpki verify --json" || bad "differs: $(diff <(jq -S . cli.json) <(jq -S . <<<"$BODY") | head -20)"
printf 'tampered\n' >other.txt
req - POST /api/v1/verify "$(vbody doc.p7s other.txt)"; check_msg 200 '"bad-signature"' "verify: other content refused"
req - POST /api/v1/verify '{"cms":"not base64!"}'; check_msg 400 malformed "verify: malformed"
req - POST /api/v1/verify '{"cms":"MAA="}'; check_msg 200 '"bad-document"' "verify: not a CMS is a verdict"
J resident change "$D" --address "東京都清瀬市松山３丁目" >/dev/null
req - POST /api/v1/verify "$(vbody doc.p7s doc.txt)"
jq -e '.valid == false and .revocation.status == "revoked" and .revocation.reason == "affiliationChanged"' <<<"$BODY" >/dev/null &&
  ok "verify after a change of address: revoked, affiliationChanged" || bad "after change: $BODY"

# ---- an expired nonce: jpkid again, with a 1-second nonce lifetime ----
stop_jpkid
start_jpkid "$T/ca" --login-nonce-ttl 1
n=$(challenge "$ORIGIN")
sleep 2
post "$(body "$ORIGIN" "$n" a/auth.pem a_a.key)"; refusal nonce_expired "nonce past its lifetime"
m=$(curl -s "$BASE/metrics"); grep -q 'route="login"' <<<"$m" && ok "log-in requests counted in /metrics" || bad "metrics"
stop_jpkid

# ---- --trust-jlis refuses a data folder whose roots are not the pinned ones
mkdir -p bad/jpki-roots
cp "$JPKI_SRC"/data/jpki-roots/*.pem bad/jpki-roots/
cp "$JPKI_SRC"/data/jpki-roots/sign_ca_2015.pem bad/jpki-roots/sign_ca_2023.pem
rc=0; JPKI_DATA_DIR=$T/bad timeout 20 "$JPKID" --dir "$T/ca" --listen 127.0.0.1:0 --trust-jlis >jb.out 2>jb.err || rc=$?
[ "$rc" -ne 0 ] && grep -q "not the pinned fingerprint" jb.err && ok "jpkid refuses a J-LIS root that is not the pinned one (exit $rc)" || bad "tampered roots: rc=$rc $(cat jb.err jb.out)"
finish
