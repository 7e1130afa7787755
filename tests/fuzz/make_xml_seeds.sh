#!/usr/bin/env bash
# Regenerate the seed corpus of fuzz_xml_verify (tests/fuzz/corpus/
# fuzz_xml_verify): XML signatures made by `jpki xml sign` (enveloped, and
# an application whose parts are the fuzz target's fixed shinsei.xml and
# tenpu1.txt), and mutations: tampered content, a second signature, a
# weaker algorithm, a Reference outside the application, XXE, junk.
#   bash tests/fuzz/make_xml_seeds.sh BUILD/cmd
# The signer is a test CA made here (not the validation fixture's, whose
# keys are not kept): the seeds reach xmlsec and the chain check, which
# answers "untrusted".
set -euo pipefail
BIN=${1:?usage: make_xml_seeds.sh BUILD/cmd}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
JPKI=$BIN/jpki
T=$(mktemp -d /tmp/jpki-xml-seeds.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"
export JPKI_DIR=$T/ca
J() { "$JPKI" --now 2026-01-05T00:00:00Z "$@"; }
J ca init >/dev/null
J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
A=$(J --json resident add --ext-id A1 --name "山田　太郎" --kana ヤマダタロウ --address "東京都清瀬市上清戸１丁目" --birth 1980-12-31 --sex 1 --muni 132217 | sed -n 's/^ *"id": \([0-9]*\),*/\1/p')
J resident card "$A" --serial CARDA >/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out s.key 2>/dev/null
openssl pkey -in s.key -pubout -out s.pub
J issue --resident "$A" --card CARDA --sign-key s.pub --out-dir a >/dev/null

# the fuzz target's parts (FX_XML_SHINSEI, FX_XML_TENPU)
mkdir app
printf '<?xml version="1.0" encoding="UTF-8"?>\n<申請書><申請内容>転居届</申請内容></申請書>\n' >app/shinsei.xml
printf 'openjpki fuzz attachment\n' >app/tenpu1.txt

C=$SRC/tests/fuzz/corpus/fuzz_xml_verify
rm -rf "$C" && mkdir -p "$C"
S=(--key s.key --cert a/sign.pem)
J xml sign --in app/shinsei.xml --out "$C/enveloped" "${S[@]}" >/dev/null
J xml sign --application app/shinsei.xml --attach app/tenpu1.txt --out "$C/application" "${S[@]}" >/dev/null
sed 's/転居届/転出届/' "$C/enveloped" >"$C/mut_content"
sed 's#<ds:DigestValue>...#<ds:DigestValue>AAA#' "$C/application" >"$C/mut_digest"
sed 's#xmldsig-more\#rsa-sha256#xmldsig\#rsa-sha1#' "$C/enveloped" >"$C/mut_sha1"
sed 's#<ds:Reference URI="tenpu1.txt">#<ds:Reference URI="../etc/passwd">#' "$C/application" >"$C/mut_uri"
sed 's#<添付書類ファイル名>tenpu1.txt#<添付書類ファイル名>other.txt#' "$C/application" >"$C/mut_listing"
sig=$(sed -n '/<ds:Signature/,/<\/ds:Signature>/p' "$C/enveloped" | sed 's/.*<ds:Signature/<ds:Signature/; s#</ds:Signature>.*#</ds:Signature>#')
whole=$(cat "$C/enveloped")
printf '%s<x>%s</x></申請書>\n' "${whole%</申請書>*}" "$sig" >"$C/mut_two_signatures"
{ head -1 "$C/enveloped"; echo '<!DOCTYPE 申請書 [<!ENTITY x SYSTEM "file:///etc/passwd">]>'; tail -n +2 "$C/enveloped"; } >"$C/xxe"
iconv -f UTF-8 -t UTF-16 "$C/xxe" >"$C/xxe_utf16"
head -c 700 "$C/application" >"$C/mut_truncated"
printf '<a/>' >"$C/tiny"
echo "seeds in $C: $(ls "$C" | wc -l)"
