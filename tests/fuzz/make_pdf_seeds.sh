#!/usr/bin/env bash
# Regenerate the seed corpus of fuzz_pdf_read (tests/fuzz/corpus/
# fuzz_pdf_read): a small PDF written here, signed by `jpki pdf sign`
# (invisible), co-signed (visible), and damaged or attacked copies: an
# incremental update over signed content, a ByteRange made to wrap a
# later update, a null ByteRange, zeroed Contents, a truncated file, a
# bad startxref, an xref stream, junk.  Inputs the fuzzer found
# (found_*) are kept.
#   bash tests/fuzz/make_pdf_seeds.sh BUILD/cmd
# The signers are a test CA made here (not the validation fixture's, whose
# keys are not kept): the seeds reach the CMS check, which answers
# "untrusted".  Signatures keep a small room (--reserve 4096) so the
# corpus stays small.
set -euo pipefail
BIN=$(cd "${1:?usage: make_pdf_seeds.sh BUILD/cmd}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
JPKI=$BIN/jpki
T=$(mktemp -d /tmp/jpki-pdf-seeds.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"
export JPKI_DIR=$T/ca
J() { "$JPKI" --now 2026-01-05T00:00:00Z "$@"; }

. "$SRC/tests/integration/lib/pdf.sh" # mkpdf, stream, update, br_of

J ca init >/dev/null
J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
rid() { sed -n 's/^ *"id": \([0-9]*\),*/\1/p'; }
A=$(J --json resident add --ext-id A1 --name "山田　太郎" --kana ヤマダタロウ --address "東京都清瀬市上清戸１丁目" --birth 1980-12-31 --sex 1 --muni 132217 | rid)
B=$(J --json resident add --ext-id B1 --name "鈴木　花子" --kana スズキハナコ --address "東京都清瀬市中清戸２丁目" --birth 1990-04-01 --sex 2 --muni 132217 | rid)
J resident card "$A" --serial CARDA >/dev/null
J resident card "$B" --serial CARDB >/dev/null
for p in a b; do
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $p.key 2>/dev/null
  openssl pkey -in $p.key -pubout -out $p.pub
done
J issue --resident "$A" --card CARDA --sign-key a.pub --out-dir ca-a >/dev/null
J issue --resident "$B" --card CARDB --sign-key b.pub --out-dir ca-b >/dev/null

mkpdf doc.pdf \
  '<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] >> >>' \
  '<< /Type /Pages /Kids [3 0 R] /Count 1 >>' \
  '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents [4 0 R 7 0 R] /Resources << /Font << /F1 5 0 R >> >> /Annots [6 0 R] >>' \
  "$(stream 'BT /F1 18 Tf 72 760 Td (Touki application) Tj ET')" \
  '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>' \
  '<< /Type /Annot /Subtype /Widget /FT /Tx /T (amount) /V (100 yen) /Rect [72 700 300 720] /P 3 0 R /F 4 >>' \
  "$(stream 'q 1 1 1 rg 72 600 400 40 re f Q')"

C=$SRC/tests/fuzz/corpus/fuzz_pdf_read
mkdir -p "$C" && find "$C" -maxdepth 1 -type f ! -name 'found_*' -delete
cp doc.pdf "$C/unsigned"
J pdf sign --in doc.pdf --out a.pdf --key a.key --cert ca-a/sign.pem --reserve 4096 >/dev/null
J pdf sign --in a.pdf --out ab.pdf --key b.key --cert ca-b/sign.pem --reserve 4096 --rect 300,40,240,50 >/dev/null
cp a.pdf "$C/signed"
cp ab.pdf "$C/cosigned"
# an incremental update over signed content
cp ab.pdf "$C/isa"
update "$C/isa" 4 "$(stream 'BT /F1 18 Tf 72 760 Td (Mallory) Tj ET')"
# the white box taken away (shadow hide) on the singly signed file
cp a.pdf "$C/shadow_hide"
update "$C/shadow_hide" 7 "$(stream ' ')"
# a later catalog with more keys than the comparison reads (it leaked
# them once)
cat1=$(awk '/^1 0 obj$/{getline; c=$0} END{print c}' a.pdf)
cp a.pdf "$C/catalog_300_keys"
update "$C/catalog_300_keys" 1 "${cat1%>>} $(for i in $(seq 300); do printf '/K%d 1 ' "$i"; done)>>"
# the second signature's ByteRange stretched over a later update
read -r a0 a1 a2 a3 <<<"$(br_of ab.pdf 2)"
end=$(stat -c %s ab.pdf)
cp ab.pdf "$C/wrapping"
update "$C/wrapping" 4 "$(stream 'BT /F1 18 Tf 72 760 Td (wrapped) Tj ET')"
newbr=$(printf '/ByteRange [0 %-10d %-10d %-10d]' "$a1" "$a2" "$((a3 + $(stat -c %s "$C/wrapping") - end))")
LC_ALL=C perl -pi -e 's{/ByteRange \[0 '"$a1"' +'"$a2"' +'"$a3"' *\]}{'"$newbr"'}' "$C/wrapping"
# universal signature forgery: a null ByteRange, zeroed Contents
cp a.pdf "$C/usf_null"
read -r a0 a1 a2 a3 <<<"$(br_of a.pdf 1)"
LC_ALL=C perl -pi -e 's{(/ByteRange \[0 '"$a1"' +'"$a2"' +'"$a3"' *\])}{"/ByteRange null" . (" " x (length($1) - 15))}e' "$C/usf_null"
cp a.pdf "$C/usf_zero"
LC_ALL=C perl -0pi -e 's{(/ByteRange \[0 '"$a1"' +'"$a2"' +'"$a3"' *\] /Contents <)([0-9A-F]+)>}{$1 . ("0" x length($2)) . ">"}e' "$C/usf_zero"
# damaged: cut inside the signature, a startxref pointing nowhere
head -c 2000 a.pdf >"$C/truncated"
printf '%%%%EOF\n' >>"$C/truncated"
LC_ALL=C sed -e "$(($(wc -l <doc.pdf)-1))s/.*/99999/" doc.pdf >"$C/bad_startxref"
# a cross-reference stream instead of a table (PDF 1.5)
python3 - "$C/xref_stream" <<'PY'
import sys, zlib
objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
out = bytearray(b"%PDF-1.5\n")
offs = []
for i, body in enumerate(objs, 1):
    offs.append(len(out))
    out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
x = len(out)
rows = b"\x00\x00\x00\xff\xff" + b"".join(b"\x01" + o.to_bytes(3, "big") + b"\x00" for o in offs)
rows += b"\x01" + x.to_bytes(3, "big") + b"\x00"
data = zlib.compress(rows)
out += (b"4 0 obj\n<< /Type /XRef /Size 5 /W [1 3 1] /Root 1 0 R /Filter /FlateDecode /Length %d >>\nstream\n" % len(data)) + data + b"\nendstream\nendobj\n"
out += b"startxref\n%d\n%%%%EOF\n" % x
open(sys.argv[1], "wb").write(out)
PY
printf '%%PDF-1.7\n%%%%EOF\n' >"$C/tiny"
echo "seeds in $C: $(ls "$C" | wc -l), $(du -sk "$C" | cut -f1) KB"
