#!/usr/bin/env bash
# 最新の基本4情報 through jpkid (POST /api/v1/basic4/challenge and
# /latest): a holder signs with the card, moves (the change of address
# revokes the signature certificate, affiliationChanged), gets a new
# signature certificate by re-personalising the card, and signs the
# consent text (`jpki consent`) with the new card key; the relying party
# (API key from `jpki rp add`) gets the NEW address.  Refusals: no or a
# wrong key, consent naming another relying party, a replayed nonce, a
# stale date, a consent by another resident's certificate, an old
# certificate not revoked for a change, a tampered consent.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"

export JPKID_ADMIN_PASSWORD=admin-password-1
export JPKI_DIR=$T/ca
J() { "$JPKI" "$@"; }
start_jpkid "$T/ca"

J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
rid() { sed -n 's/^ *"id": \([0-9]*\),*/\1/p'; }
A=$(J --json resident add --ext-id A1 --name "山田　太郎" --kana ヤマダタロウ --address "東京都清瀬市上清戸１丁目" --birth 1980-12-31 --sex 1 --muni 132217 | rid)
B=$(J --json resident add --ext-id B1 --name "髙橋　花子" --kana タカハシハナコ --address "東京都清瀬市中清戸２丁目" --birth 1992-02-29 --sex 2 --muni 132217 | rid)
J card create --out card.img >/dev/null
J card personalize card.img --resident "$A" --auth-pin 1234 --sign-pin ABC123 >/dev/null
J card read-cert sign card.img --pin ABC123 --out old.pem >/dev/null
OLD=$(openssl x509 -in old.pem -noout -serial | cut -d= -f2)
printf '契約書\n' >doc.txt
expect_ok "the holder signs with the first signature certificate" J sign card.img --in doc.txt --out doc.p7s --pin ABC123

# the move: the signature certificate is revoked, a new one on the card
J resident change "$A" --address "東京都清瀬市松山３丁目４番５号" >/dev/null
login admin admin admin-password-1
req admin GET "/api/v1/certificates/$OLD"
check_msg 200 affiliationChanged "the change of address revoked $OLD (affiliationChanged)"
expect_ok "re-personalising the card gives a new signature certificate" J card personalize card.img --resident "$A" --auth-pin 1234 --sign-pin ABC123
J card read-cert sign card.img --pin ABC123 --out new.pem >/dev/null
NEW=$(openssl x509 -in new.pem -noout -serial | cut -d= -f2)
[ "$NEW" != "$OLD" ] && ok "new signature certificate $NEW" || bad "same serial $NEW"
# another resident, software keys
J resident card "$B" --serial CARDB1 >/dev/null
newkey b_s
J issue --resident "$B" --card CARDB1 --sign-key b_s.pub --out-dir b >/dev/null
BSER=$(openssl x509 -in b/sign.pem -noout -serial | cut -d= -f2)

# relying parties and their keys
KEY=$(J --json rp add bank-a | jq -r .key)
KEY2=$(J --json rp add shop-b | jq -r .key)
[[ "$KEY" =~ ^bank-a\.[A-Za-z0-9_-]{43}$ ]] && ok "jpki rp add prints NAME.SECRET once" || bad "key '$KEY'"
J rp add evil >/dev/null; J rp remove evil >/dev/null
AUTH=(-H "Authorization: Bearer $KEY")
# challenge [KEY]: sets N (and CODE, BODY)
challenge() { req - POST /api/v1/basic4/challenge '' -H "Authorization: Bearer ${1:-$KEY}"; N=$(jq -r '.nonce // empty' <<<"$BODY"); }
latest() { # consent.txt consent.p7s [key]
  req - POST /api/v1/basic4/latest "{\"consent\":\"$(base64 -w0 "$1")\",\"cms\":\"$(base64 -w0 "$2")\"}" \
    -H "Authorization: Bearer ${3:-$KEY}"
}
ecode() { jq -r '.error.code // empty' <<<"$BODY"; }
refusal() { # STATUS CODE what
  if [ "$CODE" = "$1" ] && [ "$(ecode)" = "$2" ]; then ok "refused $2: $3"; else bad "$3: want $1 $2, got $CODE ${BODY:0:300}"; fi
}
card_consent() { # OLD RP NONCE [date] -> c.txt, c.p7s signed by the card
  J consent --old-serial "$1" --rp "$2" --nonce "$3" ${4:+--date "$4"} --out c.txt &&
    J sign card.img --in c.txt --out c.p7s --pin ABC123 >/dev/null
}

# ---- the latest basic-4 ----
challenge
[ "$CODE" = 200 ] && [ ${#N} -eq 43 ] && [ "$(jq -r .date <<<"$BODY")" = "$(TZ=Asia/Tokyo date +%F)" ] &&
  ok "challenge: a 43-character nonce and today's JST date" || bad "challenge: $CODE $BODY"
card_consent "$OLD" bank-a "$N"
grep -qx "nonce=$N" c.txt && head -1 c.txt | grep -qx openjpki-basic4-consent-v1 && ok "jpki consent: the canonical text" || bad "consent: $(cat c.txt)"
latest c.txt c.p7s
check_msg 200 '"address":"東京都清瀬市松山３丁目４番５号"' "the relying party gets the NEW address"
jq -e --arg o "$OLD" --arg n "$NEW" '.basic4.name == "山田　太郎" and .basic4.birth_japanese == "昭和55年12月31日"
  and .basic4.birth == "1980-12-31" and .basic4.sex_label == "男" and .old_certificate.serial == $o
  and .old_certificate.reason == "affiliationChanged" and .current_certificate.serial == $n
  and .relying_party == "bank-a"' <<<"$BODY" >/dev/null && ok "basic-4: name, era birth date, sex; both certificates named" || bad "answer: $BODY"
latest c.txt c.p7s; refusal 401 nonce_replayed "the same consent again"

# ---- refusals ----
req - POST /api/v1/basic4/challenge ''; refusal 401 unauthenticated "challenge without a key"
challenge "bank-a.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; refusal 401 unauthenticated "a wrong key"
challenge "evil.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; refusal 401 unauthenticated "a withdrawn relying party"
challenge; card_consent "$OLD" bank-a "$N"
req - POST /api/v1/basic4/latest "{\"consent\":\"$(base64 -w0 c.txt)\",\"cms\":\"$(base64 -w0 c.p7s)\"}"
refusal 401 unauthenticated "latest without a key"
latest c.txt c.p7s "$KEY2"; refusal 403 wrong_relying_party "shop-b presents bank-a's consent"
challenge; card_consent "$OLD" shop-b "$N"
latest c.txt c.p7s; refusal 403 wrong_relying_party "a consent naming another relying party"
challenge "$KEY2"; card_consent "$OLD" bank-a "$N"
latest c.txt c.p7s; refusal 401 nonce_unknown "a nonce issued to another relying party"
challenge; card_consent "$OLD" bank-a "$N" "$(TZ=Asia/Tokyo date -d yesterday +%F)"
latest c.txt c.p7s; refusal 401 consent_stale "a consent dated yesterday"
challenge; J consent --old-serial "$OLD" --rp bank-a --nonce "$N" --out c.txt
J sign --in c.txt --key b_s.key --cert b/sign.pem --out c.p7s >/dev/null
latest c.txt c.p7s; refusal 403 other_resident "consent signed by another resident's certificate"
challenge; J consent --old-serial "$BSER" --rp bank-a --nonce "$N" --out c.txt
J sign --in c.txt --key b_s.key --cert b/sign.pem --out c.p7s >/dev/null
latest c.txt c.p7s; refusal 409 not_changed "old certificate not revoked for a change"
J revoke "$BSER" --reason keyCompromise >/dev/null
challenge; card_consent "$BSER" bank-a "$N"
latest c.txt c.p7s; refusal 403 other_resident "B's revoked certificate, A's consent"
challenge; card_consent "$OLD" bank-a "$N"
challenge; sed "s/^nonce=.*/nonce=$N/" c.txt > t.txt
latest t.txt c.p7s; refusal 401 invalid_consent "the signed consent with a fresh nonce swapped in"
challenge; card_consent "$OLD" bank-a "$N"
J sign --in doc.txt --key b_s.key --cert b/sign.pem --out other.p7s >/dev/null
latest c.txt other.p7s; refusal 401 invalid_consent "a signature over another text"
challenge; card_consent "$OLD" bank-a "$N"
printf 'openjpki-basic4-consent-v1\nold-serial=%s\nrelying-party=bank-a\ndate=%s\nnonce=%s\n\n' "$OLD" "$(TZ=Asia/Tokyo date +%F)" "$N" > t.txt
latest t.txt c.p7s; check_msg 400 malformed "a consent text not in the canonical form"
req - POST /api/v1/basic4/latest '{"consent":"AAAA","cms":"AAAA","x":1}' -H "Authorization: Bearer $KEY"; check 400 "unknown field"
m=$(curl -s "$BASE/metrics"); grep -q 'route="basic4"' <<<"$m" && ok "basic-4 requests counted in /metrics" || bad "metrics"
stop_jpkid
finish
