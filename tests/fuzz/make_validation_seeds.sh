#!/usr/bin/env bash
# Regenerate the fixed trust material of the validation fuzzers
# (tests/fuzz/validation_fixture.h) and their seed corpora
# (tests/fuzz/corpus/fuzz_cms_verify, fuzz_ocsp_resp): a test-profile CA
# with a fixed clock, one signature certificate, its partition CRL, CMS
# documents made by openssl and by `jpki sign`, OCSP responses made by
# `jpki ocsp`, and a few mutations of each.
#   bash tests/fuzz/make_validation_seeds.sh BUILD/cmd
# Run it only when the fixture must change: every seed is tied to it.
set -euo pipefail
BIN=${1:?usage: make_validation_seeds.sh BUILD/cmd}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
JPKI=$BIN/jpki
T=$(mktemp -d /tmp/jpki-seeds.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"
export JPKI_DIR=$T/ca
NOW=2026-01-05T00:00:00Z # the fuzzers judge at NOW + 1 h
J() { "$JPKI" --now "$NOW" "$@"; }
key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" 2>/dev/null; openssl pkey -in "$1.key" -pubout -out "$1.pub"; }

J ca init >/dev/null
J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
rid() { sed -n 's/^ *"id": \([0-9]*\),*/\1/p'; }
A=$(J --json resident add --ext-id A1 --name "山田　太郎" --kana ヤマダタロウ --address "東京都清瀬市上清戸１丁目" --birth 1980-12-31 --sex 1 --muni 132217 | rid)
B=$(J --json resident add --ext-id B1 --name "鈴木　一郎" --kana スズキイチロウ --address "東京都清瀬市" --birth 1990-01-01 --sex 1 --muni 132217 | rid)
J resident card "$A" --serial CARDA >/dev/null
J resident card "$B" --serial CARDB >/dev/null
key s; key a; key b
J issue --resident "$A" --card CARDA --sign-key s.pub --auth-key a.pub --out-dir a >/dev/null
J issue --resident "$B" --card CARDB --sign-key b.pub --out-dir b >/dev/null
J revoke "$(openssl x509 -in b/sign.pem -noout -serial | cut -d= -f2)" --reason keyCompromise >/dev/null
J crl --kind sign --muni 132217 --out kiyose.crl >/dev/null
R=$T/ca/roots

# --- the fixture header --------------------------------------------------
cstr() { # a file as a C string literal, one line per line
  sed 's/\\/\\\\/g; s/"/\\"/g; s/^/\t"/; s/$/\\n"/' "$1"
}
H=$SRC/tests/fuzz/validation_fixture.h
{
  echo "/* Fixed trust material of the validation fuzzers, made by"
  echo " * tests/fuzz/make_validation_seeds.sh (CA clock $NOW; the seed"
  echo " * corpora are tied to it).  Test profile; no private keys. */"
  echo "#ifndef OPENJPKI_FUZZ_VALIDATION_FIXTURE_H"
  echo "#define OPENJPKI_FUZZ_VALIDATION_FIXTURE_H"
  echo
  echo "/* the instant the fuzzers judge at: the CA's clock + 1 h */"
  echo "#define FX_NOW_TEXT \"2026-01-05T01:00:00Z\""
  echo "/* the detached content of the CMS seeds */"
  echo "#define FX_CONTENT \"openjpki fuzz document\\n\""
  echo
  echo "static const char fx_sign_root_pem[] ="
  cstr "$R/sign-root.pem"; echo "\t;"
  echo "static const char fx_auth_root_pem[] ="
  cstr "$R/auth-root.pem"; echo "\t;"
  echo "static const char fx_leaf_pem[] = /* A's signature certificate */"
  cstr a/sign.pem; echo "\t;"
  echo "static const char fx_revoked_pem[] = /* B's, revoked (keyCompromise) */"
  cstr b/sign.pem; echo "\t;"
  echo "static const char fx_crl_pem[] = /* the Kiyose-shi partition CRL */"
  openssl crl -inform DER -in kiyose.crl -out kiyose.crl.pem
  cstr kiyose.crl.pem; echo "\t;"
  echo
  echo "#endif"
} | sed 's/\\t/\t/' >"$H"

# --- CMS seeds -----------------------------------------------------------
C=$SRC/tests/fuzz/corpus/fuzz_cms_verify
rm -rf "$C" && mkdir -p "$C"
printf 'openjpki fuzz document\n' >doc.txt
sign() { openssl cms -sign -binary -in doc.txt -outform DER "$@"; }
sign -signer a/sign.pem -inkey s.key -out "$C/openssl_detached"
sign -nodetach -signer a/sign.pem -inkey s.key -out "$C/openssl_attached"
sign -nodetach -noattr -signer a/sign.pem -inkey s.key -out "$C/openssl_noattr"
sign -nodetach -md sha1 -signer a/sign.pem -inkey s.key -out "$C/openssl_sha1"
sign -nodetach -nocerts -signer a/sign.pem -inkey s.key -out "$C/openssl_nocerts"
sign -nodetach -signer a/sign.pem -inkey s.key -signer a/auth.pem -inkey a.key -out "$C/openssl_two_signers"
sign -nodetach -signer a/auth.pem -inkey a.key -out "$C/auth_cert"
sign -nodetach -signer b/sign.pem -inkey b.key -out "$C/revoked"
J sign --in doc.txt --key s.key --cert a/sign.pem --out "$C/jpki_detached" >/dev/null
J sign --in doc.txt --key s.key --cert a/sign.pem --attached --out "$C/jpki_attached" >/dev/null
mutate() { # file offset-from-end -> flipped copy
  local f=$1 back=$2 out=$3 size
  size=$(stat -c %s "$f")
  cp "$f" "$out"
  printf "$(printf '\\x%02x' $(( $(od -An -tu1 -j $((size - back)) -N1 "$f") ^ 0x55 )))" |
    dd of="$out" bs=1 seek=$((size - back)) conv=notrunc status=none
}
mutate "$C/jpki_attached" 3 "$C/mut_signature"
mutate "$C/jpki_attached" 300 "$C/mut_middle"
head -c 400 "$C/jpki_attached" >"$C/mut_truncated"
{ cat "$C/jpki_detached"; printf '\0\0'; } >"$C/mut_trailing"
printf '\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02\xa0\x80\x00\x00\x00\x00' >"$C/mut_indefinite"

# --- OCSP seeds ----------------------------------------------------------
O=$SRC/tests/fuzz/corpus/fuzz_ocsp_resp
rm -rf "$O" && mkdir -p "$O"
req() { openssl ocsp "$@" -reqout req.der 2>/dev/null; }
answer() { "$JPKI" --now "${2:-$NOW}" ocsp --req req.der --out "$O/$1" >/dev/null; }
req -issuer "$R/sign-root.pem" -cert a/sign.pem && answer good
req -issuer "$R/sign-root.pem" -cert b/sign.pem && answer revoked
req -sha256 -issuer "$R/sign-root.pem" -cert a/sign.pem && answer good_sha256
req -no_nonce -issuer "$R/sign-root.pem" -cert a/sign.pem -cert b/sign.pem && answer two_ids
req -issuer "$R/auth-root.pem" -cert a/auth.pem && answer other_cert
req -issuer "$R/sign-root.pem" -cert a/sign.pem && answer future 2026-01-07T00:00:00Z
printf 'garbage' >req.der && answer malformed_request
mutate "$O/good" 3 "$O/mut_signature"
mutate "$O/good" 120 "$O/mut_middle"
head -c 200 "$O/good" >"$O/mut_truncated"
echo "fixture: $H"
ls "$C" "$O" | wc -l
