#!/usr/bin/env bash
# The counter's application workflow through the CLI: a new card with both
# certificates, a proxy through the 照会書兼回答書 (never the same day),
# refusals, loss -> hold -> found, card reissue fees, expiry notices once.
. "$(dirname "$0")/lib.sh"
export JPKI_DIR="$T/ca"
J() { "$JPKI" --now "${NOW:-2026-11-25T01:00:00Z}" "$@"; }
jid() { sed -n 's/^ *"id": \([0-9]*\),*/\1/p' | head -1; }

expect_ok "ca init" J ca init
expect_ok "muni" J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi
RID=$(J --json resident add --ext-id 100000000001 --name "山田　太郎" --kana "ヤマダ　タロウ" \
      --address "東京都清瀬市上清戸１丁目" --birth 1980-12-31 --sex 1 --muni 132217 | jid)
KID=$(J --json resident add --ext-id 100000000002 --name "山田　花子" --kana "ヤマダ　ハナコ" \
      --address "東京都清瀬市上清戸１丁目" --birth 2015-04-01 --sex 2 --muni 132217 | jid)
newkey s1; newkey a1; newkey s2; newkey a2; newkey a3

# help and usage
J application --help | grep -q "send-inquiry" && ok "application --help" || bad "application --help"
J notices --help | grep -q "有効期限通知書" && ok "notices --help" || bad "notices --help"

# new card with both certificates
APP=$(J --json application open --resident "$RID" --kind new-card --certs sign,auth | jid)
[ -n "$APP" ] && ok "opened $APP" || bad "open"
expect_fail "already has an open new-card" J application open --resident "$RID" --kind new-card
expect_fail "expired on 2026-01-01" J application add-document "$APP" --type drivers_license --number 1234 --expiry 2026-01-01
expect_fail "unknown document type" J application add-document "$APP" --type library_card --number 1
expect_fail "photo identity" J application approve "$APP"
expect_ok "document" J application add-document "$APP" --type drivers_license --number 123456789012A --expiry 2029-01-01
out=$(J --json application preview "$APP")
grep -q '"documents_ok": true' <<<"$out" && grep -q '"total": 0' <<<"$out" && ok "preview" || bad "preview: $out"
expect_ok "approve" J application approve "$APP"
expect_fail "card_ordered: complete is not allowed" J application complete "$APP" --sign-key s1.pub --auth-key a1.pub
NOW=2026-12-20T01:00:00Z expect_ok "card produced" J application card-produced "$APP" --card NEWCARD-1
NOW=2026-12-22T01:00:00Z expect_ok "card ready" J application card-ready "$APP"
out=$(NOW=2026-12-25T01:00:00Z J --json application issue "$APP" --sign-key s1.pub --auth-key a1.pub --out-dir certs)
grep -q '"card": "NEWCARD-1"' <<<"$out" && [ -s certs/sign.pem ] && [ -s certs/auth.pem ] \
  && ok "handed over, both certificates" || bad "complete: $out"
out=$(J --json application show "$APP")
[ "$(grep -c '"event":' <<<"$out")" -eq 6 ] && ! grep -q "123456789012A" <<<"$(J application show "$APP" | grep history -A20)" \
  && ok "history of 6 events" || bad "show: $out"

# a minor: through a 法定代理人, authentication only
expect_fail "applies through a 法定代理人" J application open --resident "$KID" --kind new-card --certs auth
expect_fail "not issued under age 15" J application open --resident "$KID" --kind new-card --applicant legal --agent "山田　太郎" --certs sign,auth
expect_ok "minor by legal representative" J application open --resident "$KID" --kind new-card --applicant legal --agent "山田　太郎" --certs auth

# a proxy: PIN reset through the 照会書兼回答書
P=$(NOW=2027-01-05T01:00:00Z J --json application open --resident "$RID" --kind pin-reset --pins auth --card NEWCARD-1 --applicant proxy --agent "山田　次郎" | jid)
NOW=2027-01-05T01:00:00Z expect_ok "agent ID" J application add-document "$P" --role agent --type passport --number TK123 --expiry 2030-01-01
NOW=2027-01-05T01:00:00Z expect_ok "holder card" J application add-document "$P" --type mynumber_card --number NEWCARD1 --expiry 2035-12-31
NOW=2027-01-05T01:00:00Z expect_fail "照会書兼回答書 answered" J application approve "$P"
NOW=2027-01-05T01:00:00Z expect_ok "inquiry sent" J application send-inquiry "$P"
NOW=2027-01-05T05:00:00Z expect_fail "never the same day" J application answer-inquiry "$P"
NOW=2027-01-12T01:00:00Z expect_ok "inquiry answered" J application answer-inquiry "$P"
NOW=2027-01-12T01:00:00Z expect_ok "approve" J application approve "$P"
NOW=2027-01-12T01:00:00Z expect_ok "PIN reset recorded" J application complete "$P"

# renewal too early
expect_fail "renewal of the" J application open --resident "$RID" --kind renewal --card NEWCARD-1

# loss -> hold -> found -> revoke + reissue
L=$(NOW=2027-02-01T01:00:00Z J --json application open --resident "$RID" --kind loss --card NEWCARD-1 | jid)
# the hold takes effect when the report is received
out=$(NOW=2027-02-01T01:00:00Z J --json application preview "$L")
[ "$(grep -c '"[0-9A-F]\{32\}"' <<<"$out")" -eq 2 ] && ok "two certificates on hold on receipt" || bad "loss: $out"
NOW=2027-02-01T01:00:00Z expect_ok "loss document" J application add-document "$L" --type drivers_license --number 555 --expiry 2029-01-01
NOW=2027-02-01T01:00:00Z expect_ok "loss approve" J application approve "$L"
NOW=2027-02-01T01:00:00Z expect_ok "loss report closed" J application complete "$L"
F=$(NOW=2027-02-03T01:00:00Z J --json application open --resident "$RID" --kind found --card NEWCARD-1 | jid)
NOW=2027-02-03T01:00:00Z expect_ok "found card shown" J application add-document "$F" --type mynumber_card --number NEWCARD1 --expiry 2035-12-31
NOW=2027-02-03T01:00:00Z expect_ok "found approve" J application approve "$F"
NOW=2027-02-03T01:00:00Z expect_ok "found: revoke + reissue" J application complete "$F" --sign-key s2.pub --auth-key a2.pub

# card reissue: 200 + 800 yen
R=$(NOW=2027-03-01T01:00:00Z J --json application open --resident "$RID" --kind reissue --card NEWCARD-1 | jid)
out=$(NOW=2027-03-01T01:00:00Z J --json application preview "$R")
grep -q '"cert_yen": 200' <<<"$out" && grep -q '"card_yen": 800' <<<"$out" && grep -q '"total": 1000' <<<"$out" \
  && ok "reissue fee 1000 yen" || bad "reissue preview: $out"
expect_ok "reject" J application reject "$R" --reason "本人確認書類なし"
expect_fail "closed" J application approve "$R"
J --json application list --resident "$RID" | grep -q '"state": "rejected"' && ok "list" || bad "list"

# expiry notices: due 3 to 2 months before 2031-12-31 (the found card's certificates)
NOW=2031-10-15T01:00:00Z expect_ok "notices run" J notices run --out notices
grep -q "有効期限通知書" notices/letters.html && grep -q "山田　太郎 様" notices/letters.html \
  && ok "letters" || bad "letters: $(head -c 400 notices/letters.html)"
head -1 notices/mailroom.csv | grep -q '"batch","cert_serial"' && [ "$(wc -l < notices/mailroom.csv)" -ge 2 ] \
  && ok "mail room csv" || bad "csv: $(cat notices/mailroom.csv)"
out=$(NOW=2031-10-20T01:00:00Z J --json notices run --out notices2)
grep -q '"sent": 0' <<<"$out" && ok "each notice once" || bad "second run: $out"
expect_ok "audit intact" J audit verify
finish
