#!/usr/bin/env bash
# The card carries the record (issue #10 item 10) and finding residents
# (item 7), through the CLI: the 個人番号 with its check digit on the
# resident record (add, change, CSV import), a card personalised without
# --my-number carrying the record's number and basic four in its
# 券面事項入力補助AP (EF 0001/0002), and `jpki resident list` by folded
# name, kana, 異体字, birth date in 西暦 and 和暦, address and ids.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
export JPKI_DIR=$T/ca
NOW=2026-11-25T01:00:00Z
J() { "$JPKI" --now "$NOW" "$@"; }
rid() { sed -n 's/^ *"id": \([0-9]*\),*/\1/p'; }

J ca init >/dev/null
J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null

# ---- the 個人番号 on the record
expect_fail "check digit" J resident add --ext-id M0 --name "髙橋　一郎" --kana タカハシイチロウ --address "東京都清瀬市中里１丁目２－３" --birth 1980-12-31 --sex 1 --muni 132217 --my-number 123456789019
expect_fail "12 digits" J resident add --ext-id M0 --name "髙橋　一郎" --kana タカハシイチロウ --address "東京都清瀬市中里１丁目２－３" --birth 1980-12-31 --sex 1 --muni 132217 --my-number 12345678901
out=$(J --json resident list M0)
[ "$out" = "[]" ] && ok "nothing recorded by the refusals" || bad "after refusals: $out"
A=$(J --json resident add --ext-id M1 --name "髙橋　一郎" --kana タカハシイチロウ --address "東京都清瀬市中里１丁目２－３" --birth 1980-12-31 --sex 1 --muni 132217 --my-number 123456789018 | rid)
[ -n "$A" ] && ok "resident with a 個人番号 added" || bad "add with my number"
out=$(J --json resident show "$A")
grep -q '"my_number": "123456789018"' <<<"$out" && ok "show: the 個人番号 on the record" || bad "show: $out"
B=$(J --json resident add --ext-id M2 --name "渡邊 さくら" --kana "わたなべ さくら" --address "東京都清瀬市松山4-5-6" --birth 1989-01-07 --sex 2 --muni 132217 | rid)
expect_fail "check digit" J resident change "$B" --my-number 195173159141
out=$(J --json resident show "$B")
grep -q '"my_number": null' <<<"$out" && ok "a refused change leaves the record" || bad "after refused change: $out"

# ---- CSV import with the optional my_number column
cat > good.csv <<'CSV'
ext_id,name,kana,address,birth,sex,muni,adult_ward,my_number
C1,齋藤 健,サイトウ ケン,東京都清瀬市元町1-1,2019-05-01,1,132217,,195173159140
C2,濱田 花,ハマダ ハナ,東京都清瀬市竹丘3-3,1950-01-10,2,132217,0,
CSV
sed 's/195173159140/195173159149/' good.csv > bad.csv
out=$(J --json resident import bad.csv 2>&1 || true)
grep -q 'bad.csv:2: my_number' <<<"$out" && ok "import: a wrong check digit is refused by line" || bad "import bad: $out"
expect_ok "import: 9-column file" J resident import good.csv
out=$(J --json resident list C1)
grep -q '"my_number": "195173159140"' <<<"$out" && ok "import: 個人番号 recorded" || bad "import good: $out"

# ---- finding residents
one() { # one QUERY EXT: the list has exactly the resident with EXT
  local q=$1 want=$2 out
  out=$(J --json resident list "$q")
  if [ "$(grep -c '"ext_id"' <<<"$out")" = 1 ] && grep -q "\"ext_id\": \"$want\"" <<<"$out"; then ok "list '$q' finds $want"
  else bad "list '$q': $out"; fi
}
one "高橋" M1
one "高橋 一郎" M1
one "たかはし" M1
one "ﾀｶﾊｼ ｲﾁﾛｳ" M1
one "渡辺" M2
one "ワタナベ　サクラ" M2
one "斉藤" C1
one "浜田" C2
one "1980-12-31" M1
one "1980/12/31" M1
one "19801231" M1
one "昭和55年12月31日" M1
one "S55.12.31" M1
one "昭和64年1月7日" M2
one "令和元年5月1日" C1
one "R1.5.1" C1
one "中里1丁目2-3" M1
one "松山４－５－６" M2
one "m2" M2
one "123456789018" M1
expect_fail "not a day of that era" J resident list "平成31年5月1日"
expect_fail "no such day" J resident list "1980-02-30"

# ---- the card carries the record: no --my-number at the counter
J card create --out a.img >/dev/null
expect_fail "check digit" J card personalize a.img --resident "$A" --auth-pin 1234 --sign-pin ABC123 --my-number 123456789019
expect_fail "differs from the 個人番号" J card personalize a.img --resident "$A" --auth-pin 1234 --sign-pin ABC123 --my-number 195173159140
out=$(J --json card personalize a.img --resident "$A" --auth-pin 1234 --sign-pin ABC123)
grep -q '"cardinfo": true' <<<"$out" && ok "personalize without --my-number writes the card-information data" || bad "personalize: $out"
out=$(J --json card read-info a.img --pin 1234)
grep -q '"my_number": "123456789018"' <<<"$out" && ok "EF 0001: the record's 個人番号" || bad "read-info: $out"
grep -q '"name": "髙橋　一郎"' <<<"$out" && grep -q '"birth": "19801231"' <<<"$out" && grep -q '"address": "東京都清瀬市中里１丁目２－３"' <<<"$out" && ok "EF 0002: the record's basic four" || bad "read-info basic four: $out"
expect_fail "PIN" J card read-info a.img --pin 9999

# a record without a number: the basic four still, no EF 0001
J card create --out b.img >/dev/null
expect_ok "personalize a resident without a 個人番号" J card personalize b.img --resident "$B" --auth-pin 1234 --sign-pin ABC123
out=$(J --json card read-info b.img --pin 1234)
grep -q '"my_number": null' <<<"$out" && grep -q '"name": "渡邊 さくら"' <<<"$out" && ok "EF 0002 without EF 0001" || bad "read-info b: $out"

finish
