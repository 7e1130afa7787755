#!/usr/bin/env bash
# The RFC 3161 time-stamp authority (jpkid /tsa) and CAdES-T signatures:
# `openssl ts -verify` accepts our tokens (-data and -digest forms) under
# the TSA root with the timeStamping purpose; `jpki sign --tsa` adds the
# signature time-stamp, and `jpki verify` judges the signer at its time: a
# signature time-stamped before its certificate was revoked stays valid,
# one time-stamped after the revocation is refused; a malformed request
# gets a rejection (badDataFormat), a wrong media type 415, a body over
# the cap 413.  PAdES B-T: `jpki pdf sign --tsa` puts the token in the
# PDF's CMS (`openssl ts -verify` accepts it, pdfsig still reports the
# signature valid), `jpki pdf verify` shows it and judges the signer at
# its time; a tampered token is refused, a too small --reserve too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib/jpkid.sh"
export JPKI_DIR=$T/ca
# jpkid's clock is the real one: the CA's world starts two hours earlier,
# A's certificate is revoked an hour from now, B's an hour ago.
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
EARLY=$(date -u -d "$NOW - 2 hours" +%Y-%m-%dT%H:%M:%SZ)
HOURAGO=$(date -u -d "$NOW - 1 hour" +%Y-%m-%dT%H:%M:%SZ)
INHOUR=$(date -u -d "$NOW + 1 hour" +%Y-%m-%dT%H:%M:%SZ)
LATER=$(date -u -d "$NOW + 2 hours" +%Y-%m-%dT%H:%M:%SZ)
J() { "$JPKI" --now "$EARLY" "$@"; }

J ca init >/dev/null
expect_ok "jpki ca tsa-init" J ca tsa-init
expect_fail "already has a TSA" J ca tsa-init
TR=$T/ca/tsa/root.pem
TC=$T/ca/tsa/tsa.pem
ext=$(openssl x509 -in "$TC" -noout -ext extendedKeyUsage)
grep -q "critical" <<<"$ext" && grep -q "Time Stamping" <<<"$ext" &&
  ok "TSA certificate: extendedKeyUsage critical timeStamping" || bad "TSA EKU: $ext"
expect_ok "the TSA certificate chains to the TSA root (purpose timestampsign)" \
  at_time "$NOW" openssl verify -purpose timestampsign -CAfile "$TR" "$TC"
POLICY=$(sed -n 's/.*JPKI_TSA_POLICY_OID "\(.*\)"/\1/p' "${JPKI_SRC:?}/include/openjpki/tsa.h")
[ -n "$POLICY" ] || bad "no policy OID in tsa.h"

J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
rid() { sed -n 's/^ *"id": \([0-9]*\),*/\1/p'; }
A=$(J --json resident add --ext-id A1 --name "山田　太郎" --kana ヤマダタロウ --address "東京都清瀬市上清戸１丁目２番３号" --birth 1980-12-31 --sex 1 --muni 132217 | rid)
B=$(J --json resident add --ext-id B1 --name "佐藤　花子" --kana サトウハナコ --address "東京都清瀬市元町１丁目" --birth 1985-05-05 --sex 2 --muni 132217 | rid)
for r in $A $B; do J resident card "$r" --serial "CARD$r" >/dev/null; done
newkey a_s; newkey b_s
J issue --resident "$A" --card "CARD$A" --sign-key a_s.pub --out-dir a >/dev/null
J issue --resident "$B" --card "CARD$B" --sign-key b_s.pub --out-dir b >/dev/null

start_jpkid "$T/ca"
TSA=$BASE/tsa

# --- openssl as the client and the verifier -----------------------------
printf 'RFC 3161 token over this\n' >data.txt
openssl ts -query -data data.txt -sha256 -cert -out q.tsq 2>/dev/null
code=$(curl -s -o r.tsr -w '%{http_code}' -H 'Content-Type: application/timestamp-query' --data-binary @q.tsq "$TSA")
ctype=$(curl -s -o /dev/null -w '%{content_type}' -H 'Content-Type: application/timestamp-query' --data-binary @q.tsq "$TSA")
[ "$code" = 200 ] && [ "$ctype" = application/timestamp-reply ] && ok "/tsa answers application/timestamp-reply" || bad "/tsa: $code $ctype"
txt=$(openssl ts -reply -in r.tsr -text 2>&1)
grep -q "Status: Granted" <<<"$txt" && grep -q "Policy OID: $POLICY" <<<"$txt" && grep -q "Nonce: 0x" <<<"$txt" &&
  ok "granted, our policy OID, the nonce echoed" || bad "reply: $txt"
expect_ok "openssl ts -verify -data accepts our token" \
  at_time "$NOW" openssl ts -verify -data data.txt -in r.tsr -CAfile "$TR"
expect_ok "openssl ts -verify -queryfile accepts our token (nonce, imprint)" \
  at_time "$NOW" openssl ts -verify -queryfile q.tsq -in r.tsr -CAfile "$TR"
dig=$(openssl dgst -sha512 -r data.txt | cut -d' ' -f1)
openssl ts -query -digest "$dig" -sha512 -no_nonce -out q512.tsq 2>/dev/null
curl -s -o r512.tsr -H 'Content-Type: application/timestamp-query' --data-binary @q512.tsq "$TSA"
expect_ok "openssl ts -verify -digest accepts a SHA-512 token (no certReq: -untrusted)" \
  at_time "$NOW" openssl ts -verify -digest "$dig" -in r512.tsr -CAfile "$TR" -untrusted "$TC"
printf 'other\n' >other.txt
expect_fail "Verification: FAILED" at_time "$NOW" openssl ts -verify -data other.txt -in r.tsr -CAfile "$TR"
# the J-LIS roots do not vouch for the TSA
expect_fail "Verification: FAILED" at_time "$NOW" openssl ts -verify -data data.txt -in r.tsr -CAfile "$T/ca/roots/sign-root.pem"
# genTime is jpkid's clock (the real one here), to the second
gen=$(sed -n 's/^Time stamp: //p' <<<"$txt")
gs=$(date -u -d "$gen" +%s); ns=$(date -u -d "$NOW" +%s)
[ "$gs" -ge "$ns" ] && [ "$gs" -le $((ns + 300)) ] && ok "genTime is jpkid's clock ($gen)" || bad "genTime $gen vs $NOW"

# --- refusals -------------------------------------------------------------
printf 'not a request' >junk.tsq
curl -s -o junk.tsr -H 'Content-Type: application/timestamp-query' --data-binary @junk.tsq "$TSA"
txt=$(openssl ts -reply -in junk.tsr -text 2>&1)
grep -q "Status: Rejected" <<<"$txt" && grep -q "Bad request format" <<<"$txt" && grep -q "Failure info: the data submitted has the wrong format" <<<"$txt" &&
  ok "a malformed request: rejection, badDataFormat" || bad "junk: $txt"
{ cat q.tsq; printf '\0'; } >trail.tsq
curl -s -o trail.tsr -H 'Content-Type: application/timestamp-query' --data-binary @trail.tsq "$TSA"
grep -q "Status: Rejected" <<<"$(openssl ts -reply -in trail.tsr -text 2>&1)" && ok "a request with trailing bytes: rejection" || bad "trailing accepted"
openssl ts -query -data data.txt -sha1 -out q1.tsq 2>/dev/null
curl -s -o r1.tsr -H 'Content-Type: application/timestamp-query' --data-binary @q1.tsq "$TSA"
txt=$(openssl ts -reply -in r1.tsr -text 2>&1)
grep -q "Status: Rejected" <<<"$txt" && grep -qi "unrecognized or unsupported algorithm\|bad_alg\|badAlg" <<<"$txt" &&
  ok "SHA-1 imprint: rejection, badAlg" || bad "sha1: $txt"
openssl ts -query -data data.txt -sha256 -tspolicy 1.2.3.4 -out qp.tsq 2>/dev/null
curl -s -o rp.tsr -H 'Content-Type: application/timestamp-query' --data-binary @qp.tsq "$TSA"
grep -q "Status: Rejected" <<<"$(openssl ts -reply -in rp.tsr -text 2>&1)" && ok "another policy: rejection" || bad "policy accepted"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @q.tsq "$TSA")
[ "$code" = 415 ] && ok "wrong media type: 415" || bad "media type: $code"
head -c 5000 /dev/zero >big.tsq
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/timestamp-query' --data-binary @big.tsq "$TSA")
[ "$code" = 413 ] && ok "a body over 4096 bytes: 413" || bad "big body: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$TSA")
[ "$code" = 405 ] && ok "GET /tsa: 405" || bad "GET: $code"

# --- CAdES-T: jpki sign --tsa and jpki verify -----------------------------
printf '申請書: 登記 (CAdES-T)\n' >doc.txt
expect_ok "jpki sign --tsa (A)" J sign --in doc.txt --key a_s.key --cert a/sign.pem --tsa "$TSA" --out a.p7s
expect_ok "jpki sign --tsa --attached --pem (A)" J sign --in doc.txt --key a_s.key --cert a/sign.pem --tsa "$TSA" --attached --pem --out a-att.pem
st=$(openssl cms -cmsout -print -inform DER -in a.p7s)
grep -q "id-smime-aa-timeStampToken" <<<"$st" && ok "unsigned attribute id-aa-signatureTimeStampToken" || bad "no token attribute"
expect_ok "openssl cms -verify still accepts the time-stamped CMS" \
  at_time "$NOW" openssl cms -verify -binary -inform DER -in a.p7s -content doc.txt -CAfile "$T/ca/roots/sign-root.pem" -out /dev/null
# the token alone: openssl ts -verify over the signature value
python3 - a.p7s <<'PY'
import subprocess, sys
der = open(sys.argv[1], 'rb').read()
out = subprocess.run(['openssl', 'asn1parse', '-inform', 'DER', '-i'], input=der, capture_output=True, check=True).stdout.decode()
lines = out.splitlines()
# the SignerInfo's signature: the first OCTET STRING after an RSA
# AlgorithmIdentifier (the token's own SignerInfo comes later); the token:
# the SEQUENCE inside the SET after id-smime-aa-timeStampToken
sig = tok = None
for i, l in enumerate(lines):
    if 'id-smime-aa-timeStampToken' in l:
        nxt = lines[i + 2]
        off = int(nxt.split(':')[0]); hl = int(nxt.split('hl=')[1].split()[0]); ln = int(nxt.split('l=')[2].split()[0])
        tok = der[off:off + hl + ln]
for i, l in enumerate(lines):
    if 'rsaEncryption' in l or 'sha256WithRSAEncryption' in l:
        for j in range(i + 1, min(i + 4, len(lines))):
            if sig is None and 'OCTET STRING' in lines[j] and 'HEX DUMP' in lines[j]:
                sig = bytes.fromhex(lines[j].split('[HEX DUMP]:')[1])
open('tok.der', 'wb').write(tok)
open('sigval.bin', 'wb').write(sig)
PY
expect_ok "openssl ts -verify -token_in: the token is over the signature value" \
  at_time "$NOW" openssl ts -verify -token_in -in tok.der -data sigval.bin -CAfile "$TR" -untrusted "$TC"

# B signs, time-stamped now; B's certificate was revoked an hour ago
J --now "$HOURAGO" revoke "$(openssl x509 -in b/sign.pem -noout -serial | cut -d= -f2)" --reason keyCompromise >/dev/null
expect_ok "jpki sign --tsa (B, after B's revocation)" J sign --in doc.txt --key b_s.key --cert b/sign.pem --tsa "$TSA" --out b.p7s
# A's certificate is revoked an hour from now (key compromise)
J --now "$INHOUR" revoke "$(openssl x509 -in a/sign.pem -noout -serial | cut -d= -f2)" --reason keyCompromise >/dev/null
J --now "$INHOUR" crl --kind sign --muni 132217 --out kiyose.crl >/dev/null
DP="CN=Kiyose-shi CRLDP,OU=Tokyo-to,OU=CRL Distribution Points,OU=JPKI for digital signature,O=JPKI-TEST,C=JP"
V() { "$JPKI" --now "$LATER" verify "$@" --crl-map "$DP=kiyose.crl"; }
out=$(V a.p7s --content doc.txt 2>&1) || true
grep -q "^VALID" <<<"$out" && grep -q "time-stamp: .* by .*JPKI-TEST TSA 1 (policy $POLICY)" <<<"$out" &&
  grep -q "revocation: revoked at $INHOUR (keyCompromise)" <<<"$out" &&
  ok "time-stamped before the revocation (key compromise an hour later): VALID" || bad "A: $out"
out=$("$JPKI" --now "$LATER" --json verify a-att.pem --crl-map "$DP=kiyose.crl" 2>&1) || true
jq -e '.valid == true and (.timestamp.time | length) == 20 and .timestamp.policy == "'"$POLICY"'"' <<<"$out" >/dev/null &&
  ok "attached PEM, JSON: valid with its timestamp" || bad "A att: $out"
out=$(V b.p7s --content doc.txt 2>&1) || true
grep -q "^INVALID" <<<"$out" && grep -q "revoked: revoked $HOURAGO" <<<"$out" && grep -q "time-stamp: " <<<"$out" &&
  ok "time-stamped after the revocation: refused (revoked)" || bad "B: $out"
# without a time-stamp, A's signature is judged now: revoked
expect_ok "jpki sign without --tsa (A)" J sign --in doc.txt --key a_s.key --cert a/sign.pem --out a-plain.p7s
expect_fail "revoked" V a-plain.p7s --content doc.txt
# nor at an earlier --at: a key compromise taints what signingTime claims
expect_fail "revoked" V a-plain.p7s --content doc.txt --at "$NOW"
# a TSA root we do not trust: the time-stamp fails, and says so
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -subj "/CN=other TSA root" -days 30 -out other-root.pem 2>/dev/null
expect_fail "bad-timestamp" V a.p7s --content doc.txt --roots "$T/ca/roots" --tsa-roots other-root.pem
# B's token moved into A's signature: its imprint is over another
# signature value.  The swap keeps the lengths around it, so it needs a
# token of the same length: DER integers (serial, nonce) are a byte
# shorter now and then, so B signs again until one is (bounded).
cat >swap.py <<'PY'
import subprocess, sys
def token(path):
    der = open(path, 'rb').read()
    lines = subprocess.run(['openssl', 'asn1parse', '-inform', 'DER', '-i'], input=der,
                           capture_output=True, check=True).stdout.decode().splitlines()
    for i, l in enumerate(lines):
        if 'id-smime-aa-timeStampToken' in l:
            n = lines[i + 2]
            off = int(n.split(':')[0]); hl = int(n.split('hl=')[1].split()[0]); ln = int(n.split('l=')[2].split()[0])
            return der, off, der[off:off + hl + ln]
a, off, ta = token(sys.argv[1])
_, _, tb = token(sys.argv[2])
if len(ta) != len(tb):
    print('tokens of different lengths: %d %d' % (len(ta), len(tb)))
    sys.exit(3)
open(sys.argv[3], 'wb').write(a[:off] + tb + a[off + len(ta):])
PY
cp b.p7s other.p7s
for try in 1 2 3 4 5 6 7 8; do
  src=0; python3 swap.py a.p7s other.p7s swapped.p7s || src=$?
  [ "$src" = 3 ] || break
  J sign --in doc.txt --key b_s.key --cert b/sign.pem --tsa "$TSA" --out other.p7s >/dev/null 2>&1 || break
done
out=$(V swapped.p7s --content doc.txt 2>&1) || true
grep -q "^INVALID" <<<"$out" && grep -q "bad-timestamp: the signature time-stamp does not verify: message imprint mismatch" <<<"$out" &&
  grep -q "revoked: revoked $INHOUR" <<<"$out" &&
  ok "a token over another signature: bad-timestamp, and the signer judged now (revoked)" || bad "swapped: $out"
# altered content: the document signature fails, whatever the time-stamp
printf 'altered\n' >alt.txt
expect_fail "bad-signature" V a.p7s --content alt.txt
# a TSA that refuses: jpki sign says why and writes nothing
expect_fail "time-stamp from" J sign --in doc.txt --key a_s.key --cert a/sign.pem --tsa "$BASE/api/v1/nothing" --out nothing.p7s
[ ! -e nothing.p7s ] && ok "nothing written when the TSA fails" || bad "nothing.p7s written"

# --- PAdES B-T: jpki pdf sign --tsa and jpki pdf verify -------------------
python3 - doc.pdf <<'PY'
import sys
objs = [b'<< /Type /Catalog /Pages 2 0 R >>',
        b'<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
        b'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
        b'<< /Length 48 >>\nstream\nBT /F1 18 Tf 72 760 Td (Touki application) Tj ET\nendstream',
        b'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>']
out = bytearray(b'%PDF-1.7\n%\xe2\xe3\xcf\xd3\n'); offs = []
for i, o in enumerate(objs):
    offs.append(len(out)); out += b'%d 0 obj\n%s\nendobj\n' % (i + 1, o)
x = len(out)
out += b'xref\n0 %d\n0000000000 65535 f \n' % (len(objs) + 1)
out += b''.join(b'%010d 00000 n \n' % o for o in offs)
out += b'trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n' % (len(objs) + 1, x)
open(sys.argv[1], 'wb').write(out)
PY
expect_ok "jpki pdf sign --tsa (A)" J pdf sign --in doc.pdf --key a_s.key --cert a/sign.pem --tsa "$TSA" --out a-t.pdf
expect_ok "jpki pdf sign without --tsa (A)" J pdf sign --in doc.pdf --key a_s.key --cert a/sign.pem --out a-plain.pdf
# the CMS of the PDF's signature, its token and signature value; and a
# copy of the PDF whose token's last byte (the TSA's signature) is changed
python3 - a-t.pdf <<'PY'
import re, subprocess, sys
pdf = open(sys.argv[1], 'rb').read()
m = re.search(rb'/Contents\s*<([0-9A-Fa-f]+)>', pdf)
raw = bytes.fromhex(m.group(1).decode())
n = raw[1] & 0x7f if raw[1] & 0x80 else 0
der = raw[:2 + n + (int.from_bytes(raw[2:2 + n], 'big') if n else raw[1])]
open('pdf-cms.der', 'wb').write(der)
lines = subprocess.run(['openssl', 'asn1parse', '-inform', 'DER', '-i'], input=der,
                       capture_output=True, check=True).stdout.decode().splitlines()
sig = tok = None
for i, l in enumerate(lines):
    if 'id-smime-aa-timeStampToken' in l:
        nxt = lines[i + 2]
        off = int(nxt.split(':')[0]); hl = int(nxt.split('hl=')[1].split()[0]); ln = int(nxt.split('l=')[2].split()[0])
        tok = der[off:off + hl + ln]; end = off + hl + ln
for i, l in enumerate(lines):
    if 'rsaEncryption' in l or 'sha256WithRSAEncryption' in l:
        for j in range(i + 1, min(i + 4, len(lines))):
            if sig is None and 'OCTET STRING' in lines[j] and 'HEX DUMP' in lines[j]:
                sig = bytes.fromhex(lines[j].split('[HEX DUMP]:')[1])
open('pdf-tok.der', 'wb').write(tok)
open('pdf-sigval.bin', 'wb').write(sig)
pos = m.start(1) + 2 * (end - 1)
byte = bytes([der[end - 1] ^ 0x01]).hex().upper().encode()
open('a-t-tampered.pdf', 'wb').write(pdf[:pos] + byte + pdf[pos + 2:])
print('# PAdES B-T: CMS %d bytes, token %d bytes' % (len(der), len(tok)))
PY
st=$(openssl cms -cmsout -print -inform DER -in pdf-cms.der)
grep -q "id-smime-aa-timeStampToken" <<<"$st" && ok "the PDF's CMS: unsigned attribute id-aa-signatureTimeStampToken" || bad "no token in the PDF's CMS"
expect_ok "openssl ts -verify accepts the token from the PDF's CMS (over the signature value)" \
  at_time "$NOW" openssl ts -verify -token_in -in pdf-tok.der -data pdf-sigval.bin -CAfile "$TR" -untrusted "$TC"
if command -v pdfsig >/dev/null; then
  ps=$(pdfsig -nocert a-t.pdf 2>&1 || true)
  grep -q "Signature Validation: Signature is Valid." <<<"$ps" && ok "pdfsig: the time-stamped signature is valid" || bad "pdfsig: $ps"
else
  bad "pdfsig missing (apt-get install poppler-utils)"
fi
PV() { "$JPKI" --now "$LATER" pdf verify "$@" --crl-map "$DP=kiyose.crl"; }
out=$(PV a-t.pdf 2>&1) || true
grep -q "^VALID: 1 of 1" <<<"$out" && grep -q "time-stamp: .* by .*JPKI-TEST TSA 1 (policy $POLICY)" <<<"$out" &&
  grep -q "revocation: revoked" <<<"$out" &&
  ok "pdf verify: time-stamped before the revocation: VALID, the time-stamp shown" || bad "A pdf: $out"
out=$("$JPKI" --now "$LATER" --json pdf verify a-t.pdf --crl-map "$DP=kiyose.crl" 2>&1) || true
jq -e '.ok == true and (.signatures[0].cms.timestamp.time | length) == 20 and .signatures[0].cms.timestamp.policy == "'"$POLICY"'"' <<<"$out" >/dev/null &&
  ok "pdf verify --json: the time-stamp (time, policy)" || bad "A pdf json: $out"
# without a time-stamp A's PDF signature is judged now: revoked
expect_fail "revoked" PV a-plain.pdf
expect_fail "bad-timestamp" PV a-t.pdf --roots "$T/ca/roots" --tsa-roots other-root.pem
out=$(PV a-t-tampered.pdf 2>&1) || true
grep -q "^INVALID" <<<"$out" && grep -q "bad-timestamp: the signature time-stamp does not verify" <<<"$out" &&
  grep -q "revoked: revoked $INHOUR" <<<"$out" &&
  ok "pdf verify: a tampered time-stamp: bad-timestamp, the signer judged now (revoked)" || bad "tampered: $out"
# 3072 bytes hold the CMS, not the CMS with its token
expect_ok "pdf sign --reserve 3072 (no time-stamp)" J pdf sign --in doc.pdf --key a_s.key --cert a/sign.pem --reserve 3072 --out small-plain.pdf
expect_fail "reserve too small" J pdf sign --in doc.pdf --key a_s.key --cert a/sign.pem --tsa "$TSA" --reserve 3072 --out small.pdf
[ ! -e small.pdf ] && ok "nothing written when the time-stamped CMS does not fit" || bad "small.pdf written"

stop_jpkid
finish
