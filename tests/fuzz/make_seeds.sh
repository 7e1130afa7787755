#!/usr/bin/env bash
# Regenerate the seed corpora of fuzz_csv_import, fuzz_json_body,
# fuzz_http, fuzz_vpcd and fuzz_crl (tests/fuzz/corpus/NAME/seed_*):
#   bash tests/fuzz/make_seeds.sh BUILD/cmd
# Inputs found while fuzzing (found_*) are kept.  The sources:
#  - CSV: the rows of tests/unit/test_registry_import.c and
#    tests/integration/jpkid_import.sh, one file per kind of bad row;
#  - JSON: bodies of tests/integration/jpkid_api.sh and the other API
#    tests (first byte: the handler's field table, see fuzz_json_body.c);
#  - HTTP: requests the API tests send, and the framing attacks of
#    tests/integration/jpkid_http_strict.sh;
#  - vpcd: the OpenSC exchanges of tests/data/traces as vpcd sends them
#    (get ATR, power on, each command APDU, power off);
#  - CRL: the fixture's partition CRL (validation_fixture.h, the only one
#    its roots signed) as DER and PEM with mutations, and the CRLs of a
#    fresh CA made by `jpki crl` (sign and auth partitions, full, ARL).
set -euo pipefail
BIN=${1:?usage: make_seeds.sh BUILD/cmd}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
C=$SRC/tests/fuzz/corpus
T=$(mktemp -d /tmp/jpki-seeds.XXXXXX)
trap 'rm -rf "$T"' EXIT
for d in fuzz_csv_import fuzz_json_body fuzz_http fuzz_vpcd fuzz_crl; do
  mkdir -p "$C/$d"
  rm -f "$C/$d"/seed_*
done

# --- CSV -----------------------------------------------------------------
D=$C/fuzz_csv_import
H='ext_id,name,kana,address,birth,sex,muni,adult_ward'
csv() { printf '%b' "$2" >"$D/seed_$1"; }
csv good_crlf "\xef\xbb\xbf$H\r\nG1,山田 太郎,ヤマダ タロウ,\"東京都清瀬市中里1-1, 201号\",1980-12-31,1,132217,\r\nG2,\"山田 \"\"花子\"\"\",ヤマダ ハナコ,\"東京都清瀬市　中里1-2\",2016-05-05,2,132217,0\r\nG3,山田 一郎,,東京都清瀬市中里1-3,1950-01-10,1,132217,true"
csv good_lf "$H\nI1,山田　一郎,ヤマダイチロウ,東京都清瀬市中里1-1,1980-01-02,1,132217,0\nI2,\"山田, 花子\",ヤマダハナコ,東京都清瀬市中里1-1,1985-03-04,2,132217,\n"
csv good_my_number "$H,my_number\nM1,山田　一郎,ヤマダイチロウ,東京都清瀬市中里1-1,1980-01-02,1,132217,false,123456789018\nM2,山田　二郎,ヤマダジロウ,東京都清瀬市中里1-1,1981-01-02,1,132217,1,\n"
csv header_only "$H\r\n"
csv bad_header "name,ext_id\nx,y\n"
csv bad_rows "$H\nB1,正しい　行,タダシイ,東京都清瀬市中里1-1,1980-01-02,1,132217,0\nB2,誤り　生年,アヤマリ,東京都清瀬市中里1-1,1980-13-02,1,132217,0\nB3,誤り　市,アヤマリ,東京都清瀬市中里1-1,1980-01-02,1,999999,0\n"
csv bad_each "$H\n,空,カラ,清瀬市,1980-01-02,1,132217,0\nE2,,カナ,清瀬市,1980-01-02,1,132217,0\nE3,名前,カナ,,1980-01-02,1,132217,0\nE4,名前,カナ,清瀬市,2999-01-02,1,132217,0\nE5,名前,カナ,清瀬市,1980-01-02,3,132217,0\nE6,名前,カナ,清瀬市,1980-01-02,1,13221,0\nE7,名前,カナ,清瀬市,1980-01-02,1,132217,maybe\nE8,名前,カナ,清瀬市,1980-01-02,1,132217\nE9,名前,カナ,清瀬市,1980-01-02,1,132217,0,extra\n"
csv bad_controls "$H\nC1,\"山田\n太郎\",ヤマダ,清瀬市,1980-01-02,1,132217,0\nC2,山田\x07太郎,ヤマダ,清瀬市,1980-01-02,1,132217,0\nC3,山田\xe2\x80\xae太郎,ヤマダ,清瀬市,1980-01-02,1,132217,0\nC4,山田\xc0\xaf,ヤマダ,清瀬市,1980-01-02,1,132217,0\n"
csv bad_my_number "$H,my_number\nN1,山田　一郎,ヤマダイチロウ,清瀬市,1980-01-02,1,132217,0,123456789012\n"
csv repeat_ext_id "$H\nR1,山田,ヤマダ,清瀬市,1980-01-02,1,132217,0\nR1,鈴木,スズキ,清瀬市,1980-01-02,2,132217,0\n"
csv stray_quote "$H\nQ1,山\"田,ヤマダ,清瀬市,1980-01-02,1,132217,0\n"
csv text_after_quote "$H\nQ2,\"山田\"x,ヤマダ,清瀬市,1980-01-02,1,132217,0\n"
csv open_quote "$H\nQ3,\"山田,ヤマダ,清瀬市,1980-01-02,1,132217,0\n"
csv cr_alone "$H\rQ4,山田,ヤマダ,清瀬市,1980-01-02,1,132217,0\r"
{ printf '%s\nL1,' "$H"; head -c 600 /dev/zero | tr '\0' a; printf ',ヤマダ,清瀬市,1980-01-02,1,132217,0\n'; } >"$D/seed_long_field"
{ printf '%s\nL2,' "$H"; for i in 1 2 3 4 5; do head -c 500 /dev/zero | tr '\0' b; printf ','; done; printf '1,132217,0\n'; } >"$D/seed_long_row"

# --- JSON bodies (first byte: table of fuzz_json_body.c) -----------------
D=$C/fuzz_json_body
# 0 resident 1 issue 2 password 3 muni 4 origin 5 verify 6 tauth 7 card 8 reason
js() { { printf "\\x$(printf %02x "$2")"; printf '%s' "$3"; } >"$D/seed_$1"; }
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/k.key" 2>/dev/null
SPKI=$(openssl pkey -in "$T/k.key" -pubout -outform DER | base64 -w0)
POP=$(printf 'openjpki-pop-v1\nchallenge=00\n' | openssl dgst -sha256 -sign "$T/k.key" | base64 -w0)
js resident 0 '{"ext_id":"A1","name":"山田　太郎","kana":"ヤマダタロウ","address":"東京都清瀬市上清戸１丁目","birth":"1980-12-31","sex":1,"muni":"132217","adult_ward":true,"my_number":"123456789018"}'
js resident_unknown 0 '{"ext_id":"A1","name":"x","kana":"x","address":"x","birth":"1980-12-31","sex":1,"muni":"132217","shoe":1}'
js resident_type 0 '{"ext_id":"A1","name":"x","kana":"x","address":"x","birth":"1980-12-31","sex":"1","muni":"132217"}'
js resident_missing 0 '{"ext_id":"A1","name":"x"}'
js resident_nul 0 '{"ext_id":"A\u0000","name":"x","kana":"x","address":"x","birth":"1980-12-31","sex":1,"muni":"132217"}'
js resident_controls 0 '{"ext_id":"S1","name":"山田\u202e太郎","kana":"ヤマダ\u0085","address":"清瀬市\r\n中里","birth":"1980-01-02","sex":1,"muni":"132217"}'
js malformed 0 '{"ext_id":"A1","name":'
js array 0 '[1,2]'
js duplicate 0 '{"ext_id":"A1","ext_id":"A2"}'
js trailing 0 '{"ext_id":"A1"} {}'
js deep 0 "$(printf '%.0s[' $(seq 1 300))"
js issue 1 "{\"resident\":1,\"card\":\"CARD1\",\"challenge\":\"0123456789abcdef0123456789abcdef\",\"sign\":{\"spki\":\"$SPKI\",\"pop\":\"$POP\"},\"auth\":{\"spki\":\"$SPKI\",\"pop\":\"$POP\"}}"
js issue_preview 1 '{"resident":1,"card":"CARD1","sign":{},"auth":{},"reissue":true,"renewal":false,"window":"2026-12"}'
js issue_nested_bad 1 '{"resident":1,"card":"CARD1","sign":{"spki":1},"auth":{"key":"x"}}'
js password 2 '{"password":"new-admin-pass-1","current":"admin-password-1"}'
js muni 3 '{"pref":"東京都","city":"清瀬市"}'
js origin 4 '{"origin":"https://rp.example"}'
js verify 5 "{\"cms\":\"$(head -c 300 "$C/fuzz_cms_verify/jpki_attached" | base64 -w0)\",\"content\":\"b3Blbmpwa2kK\"}"
js tauth 6 "{\"token\":\"$(printf '%064d' 0)\",\"card\":\"CARD000000000001\",\"challenge\":\"$(printf '%032d' 0)\",\"app\":1}"
js card 7 '{"card":"MNC-0001_a"}'
js reason 8 '{"reason":"keyCompromise"}'
js numbers 1 '{"resident":1e400,"card":"x"}'
js escapes 7 '{"card":"\ud800\udc00\ud800"}'

# --- HTTP ----------------------------------------------------------------
D=$C/fuzz_http
h() { printf '%b' "$2" >"$D/seed_$1"; }
h healthz 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'
h metrics 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
h crl 'GET /crl/sign/132217.crl HTTP/1.1\r\nHost: x\r\n\r\nGET /arl/auth.crl HTTP/1.1\r\nHost: x\r\n\r\n'
h ocsp_get 'GET /ocsp/MEMwQTA%2FMD0wOzAJBgUrDgMCGgUABBQ HTTP/1.1\r\nHost: x\r\n\r\n'
{ printf 'POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\nContent-Length: %d\r\n\r\n' "$(stat -c %s "$C/fuzz_server_ocsp_req/$(ls "$C/fuzz_server_ocsp_req" | head -1)")"; cat "$C/fuzz_server_ocsp_req/$(ls "$C/fuzz_server_ocsp_req" | head -1)"; } >"$D/seed_ocsp_post"
LOGIN='{"name":"admin","password":"fuzz-admin-password-1"}'
h login "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${#LOGIN}\r\n\r\n$LOGIN"
# a malformed body whose error message quotes half a character (was 500)
printf '{"name":"\\\xe5\xa4\xaa"}' >"$T/be"
{ printf 'POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n' "$(stat -c %s "$T/be")"; cat "$T/be"; } >"$D/seed_bad_escape"
h login_text 'POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}'
h api_noauth 'GET /api/v1/residents?q=%E5%B1%B1%E7%94%B0&limit=5 HTTP/1.1\r\nHost: x\r\nCookie: jpki_session=AAAA\r\n\r\n'
h challenge 'GET /api/v1/login/challenge?origin=https://rp.example HTTP/1.1\r\nHost: x\r\n\r\n'
V=$(head -c 200 "$C/fuzz_cms_verify/jpki_attached" | base64 -w0); VB="{\"cms\":\"$V\"}"
h verify "POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${#VB}\r\n\r\n$VB"
h two_cl 'POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhelloGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'
h same_cl 'POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello'
h cl_te 'POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
h te_gzip 'POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nhello'
h chunked 'POST /ocsp HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
h chunked_bad 'POST /ocsp HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nabc\r\n'
h pipelined 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\nPOST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n{'
h http10 'GET /healthz HTTP/1.0\r\n\r\n'
h bad_method 'BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n'
h bare_lf 'GET /healthz HTTP/1.1\nHost: x\n\n'
h obs_fold 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n'
big=$(head -c 20000 /dev/zero | tr '\0' a)
h big_header "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: $big\r\n\r\n"
h long_url "GET /healthz?${big:0:5000} HTTP/1.1\r\nHost: x\r\n\r\n"
h expect 'POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3000000\r\n\r\n'
h ui 'GET / HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n\r\n'

# --- vpcd: each trace as vpcd sends it ------------------------------------
D=$C/fuzz_vpcd
frame() { # hex bytes -> one vpcd frame
  local n=$#
  printf "\\x$(printf %02x $((n >> 8)))\\x$(printf %02x $((n & 255)))"
  for b in "$@"; do printf "\\x$b"; done
}
for f in "$SRC"/tests/data/traces/*.log; do
  name=$(basename "$f" .log)
  {
    frame 04; frame 01
    while read -r dir rest; do
      case $dir in
      '>') frame $rest ;;
      '#') [ "$(set -- $rest; echo "$1")" = ctrl ] && frame "$(set -- $rest; echo "$2")" ;;
      esac
    done <"$f"
    frame 00
  } >"$D/seed_$name"
done
{ frame 04; frame 02; frame 00 A4; frame 00 A4 04; frame 07; } >"$D/seed_controls_short"
printf '\x00\x00' >"$D/seed_zero_frame"
{ frame 01; printf '\x00\x10\x00\xa4'; } >"$D/seed_mid_frame"
{ printf '\x81'; frame 01; frame 00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01 00 00 00 00 00 00 00 00; } >"$D/seed_over_limit"

# --- CRL -----------------------------------------------------------------
D=$C/fuzz_crl
sed -n '/fx_crl_pem\[\]/,/;/p' "$SRC/tests/fuzz/validation_fixture.h" | sed -n 's/^[[:space:]]*"\(.*\)\\n";*$/\1/p' >"$T/fx.pem"
openssl crl -in "$T/fx.pem" -outform DER -out "$D/seed_fixture_der"
cp "$T/fx.pem" "$D/seed_fixture_pem"
{ printf '\n  '; cat "$T/fx.pem"; printf '\n\n'; } >"$D/seed_fixture_pem_space"
{ cat "$T/fx.pem"; printf 'x'; } >"$D/seed_fixture_pem_trailing"
{ cat "$D/seed_fixture_der"; printf '\0'; } >"$D/seed_fixture_der_trailing"
head -c 300 "$D/seed_fixture_der" >"$D/seed_fixture_der_truncated"
cp "$D/seed_fixture_der" "$D/seed_fixture_der_badsig"
size=$(stat -c %s "$D/seed_fixture_der")
printf '\x55' | dd of="$D/seed_fixture_der_badsig" bs=1 seek=$((size - 3)) conv=notrunc status=none
export JPKI_DIR=$T/ca
J() { "$BIN/jpki" --now 2026-01-05T00:00:00Z "$@"; }
J ca init >/dev/null
J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
A=$(J --json resident add --ext-id A1 --name "山田　太郎" --kana ヤマダタロウ --address "東京都清瀬市上清戸１丁目" --birth 1980-12-31 --sex 1 --muni 132217 | sed -n 's/^ *"id": \([0-9]*\),*/\1/p')
J resident card "$A" --serial CARDA >/dev/null
openssl pkey -in "$T/k.key" -pubout -out "$T/k.pub"
J issue --resident "$A" --card CARDA --sign-key "$T/k.pub" --auth-key "$T/k.pub" --out-dir "$T/a" >/dev/null
J revoke "$(openssl x509 -in "$T/a/sign.pem" -noout -serial | cut -d= -f2)" --reason keyCompromise >/dev/null
J revoke "$(openssl x509 -in "$T/a/auth.pem" -noout -serial | cut -d= -f2)" --reason affiliationChanged >/dev/null
J crl --kind sign --muni 132217 --out "$D/seed_other_ca_sign_partition" >/dev/null
J crl --kind auth --muni 132217 --out "$D/seed_other_ca_auth_partition" >/dev/null
J crl --kind sign --full --out "$D/seed_other_ca_sign_full" >/dev/null
J crl --kind auth --arl --out "$D/seed_other_ca_auth_arl" >/dev/null
for d in fuzz_csv_import fuzz_json_body fuzz_http fuzz_vpcd fuzz_crl; do
  echo "$d: $(ls "$C/$d" | wc -l) inputs"
done
