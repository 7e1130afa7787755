#!/usr/bin/env bash
# XML signatures (issue #14 item 3): `jpki xml sign` with the virtual
# card's signature key through the openjpki provider (and with a software
# key), enveloped and as an e-Gov 電子申請-shaped application (kousei.xml
# signing the 申請書 and 添付書類 by file name);
#   - `xmlsec1 --verify` (our sign root as the only trusted certificate)
#     accepts both shapes, and refuses what we refuse for tampering;
#   - `jpki xml verify` checks the signature, every Reference (tampering
#     with any part is refused and the part named), the chain, revocation
#     (CRL) and shows the basic-4 data; --json;
#   - the profile: one ds:Signature, exclusive C14N, RSA-SHA256, no
#     References outside the application, every listed part signed;
#   - XXE: a DOCTYPE with an external entity is refused when signing and
#     when verifying (the document or a part), and nothing is read.
# The CA runs on the real clock (no --now): xmlsec1 checks the same instant.
. "$(dirname "$0")/lib.sh"
export JPKI_DIR=$T/ca
J() { "$JPKI" "$@"; }
X() { xmlsec1 --verify --trusted-pem "$R/sign-root.pem" "$@"; }

J ca init >/dev/null
J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
rid() { sed -n 's/^ *"id": \([0-9]*\),*/\1/p'; }
A=$(J --json resident add --ext-id A1 --name "山田　太郎" --kana ヤマダタロウ --address "東京都清瀬市上清戸１丁目" --birth 1980-12-31 --sex 1 --muni 132217 | rid)
B=$(J --json resident add --ext-id B1 --name "鈴木　花子" --kana スズキハナコ --address "東京都清瀬市中清戸２丁目" --birth 1992-02-29 --sex 2 --muni 132217 | rid)
J card create --out card.img >/dev/null
J card personalize card.img --resident "$A" --auth-pin 1234 --sign-pin ABC123 >/dev/null
J resident card "$B" --serial CARDB >/dev/null
newkey b
J issue --resident "$B" --card CARDB --sign-key b.pub --out-dir b >/dev/null
R=$T/ca/roots
DP="CN=Kiyose-shi CRLDP,OU=Tokyo-to,OU=CRL Distribution Points,OU=JPKI for digital signature,O=JPKI-TEST,C=JP"
J crl --kind sign --muni 132217 --out kiyose.crl >/dev/null
MAP=(--crl-map "$DP=kiyose.crl")
V() { J xml verify "$@" "${MAP[@]}"; }

# --- the application's parts -----------------------------------------
mkdir app
cat >app/shinsei.xml <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<申請書>
  <様式ID>950A102800000000</様式ID>
  <申請者><氏名>山田　太郎</氏名><住所>東京都清瀬市上清戸１丁目</住所></申請者>
  <申請内容>転居届</申請内容>
</申請書>
EOF
printf '%%PDF-1.4\n委任状 (添付書類)\n' >app/inin.pdf
head -c 4096 /dev/urandom >app/scan_1.bin
cp app/shinsei.xml doc.xml

# --- enveloped, with the card ------------------------------------------
expect_ok "xml sign --in with the card (PIN by --pin-file)" \
  sh -c "printf 'ABC123\n' >pin && J=$JPKI && exec \$J xml sign --in doc.xml --out doc.signed.xml card.img --pin-file pin"
out=$(V doc.signed.xml) && rc=0 || rc=$?
[ $rc -eq 0 ] && grep -q "^VALID XML signature" <<<"$out" && grep -q "氏名 name:     山田　太郎" <<<"$out" &&
  grep -q "生年月日 birth: 昭和55年12月31日" <<<"$out" && grep -q "revocation: good" <<<"$out" &&
  ok "jpki xml verify: enveloped card signature valid, basic-4 shown" || bad "enveloped: rc=$rc $out"
expect_ok "xmlsec1 --verify accepts our enveloped signature" X doc.signed.xml
grep -q '<ds:Reference URI="">' doc.signed.xml && grep -q 'xml-exc-c14n#' doc.signed.xml &&
  grep -q 'xmldsig-more#rsa-sha256' doc.signed.xml && grep -q '<ds:X509Certificate>' doc.signed.xml &&
  ok "profile: URI=\"\", exclusive C14N, RSA-SHA256, X509Certificate" || bad "profile: $(cat doc.signed.xml)"

# --- the application (kousei.xml), with the card -------------------------
out=$(J --json xml sign --application app/shinsei.xml --attach app/inin.pdf --attach app/scan_1.bin card.img --pin ABC123) && rc=0 || rc=$?
[ $rc -eq 0 ] && [ "$(jq -r .shape <<<"$out")" = application ] && [ "$(jq -r .key <<<"$out")" = card ] &&
  [ "$(jq -r '.parts|length' <<<"$out")" = 3 ] && [ -f app/kousei.xml ] &&
  ok "xml sign --application with the card: app/kousei.xml" || bad "application sign: rc=$rc $out"
grep -q "<申請書ファイル名>shinsei.xml</申請書ファイル名>" app/kousei.xml &&
  grep -q "<添付書類ファイル名>inin.pdf</添付書類ファイル名>" app/kousei.xml &&
  grep -q '<ds:Reference URI="scan_1.bin">' app/kousei.xml && grep -q "<署名情報><ds:Signature" app/kousei.xml &&
  ok "kousei.xml lists the 申請書 and 添付書類 and references each" || bad "kousei: $(cat app/kousei.xml)"
out=$(J --json xml verify app/kousei.xml "${MAP[@]}") && rc=0 || rc=$?
[ $rc -eq 0 ] && [ "$(jq -r .valid <<<"$out")" = true ] && [ "$(jq -r .shape <<<"$out")" = application ] &&
  [ "$(jq -r '[.references[]|select(.status=="ok")]|length' <<<"$out")" = 4 ] &&
  [ "$(jq -r '.references[]|select(.uri=="inin.pdf")|.role' <<<"$out")" = 添付書類 ] &&
  [ "$(jq -r .basic4.name <<<"$out")" = "山田　太郎" ] &&
  ok "jpki xml verify --json: application valid, 4 references ok, basic-4" || bad "application verify: rc=$rc $out"
expect_ok "xmlsec1 --verify accepts our application (detached parts)" sh -c "cd app && xmlsec1 --verify --trusted-pem '$R/sign-root.pem' kousei.xml"

# --- a software key (resident B) ---------------------------------------
expect_ok "xml sign with --key/--cert" J xml sign --in doc.xml --out b.signed.xml --key b.key --cert b/sign.pem
expect_ok "xmlsec1 --verify accepts it" X b.signed.xml
out=$(V b.signed.xml) && grep -q "氏名 name:     鈴木　花子" <<<"$out" && ok "software-key signature valid" || bad "software: $out"

# --- tampering with any referenced part is refused ---------------------
tamper() { # tamper NAME FILE SED-EXPR
  local what=$1 f=$2 e=$3
  rm -rf tam && cp -r app tam
  if [ -n "$e" ]; then sed -i "$e" "tam/$f"; else printf 'x' >>"tam/$f"; fi
  out=$(J --json xml verify tam/kousei.xml "${MAP[@]}") && rc=0 || rc=$?
  if [ $rc -eq 1 ] && [ "$(jq -r .valid <<<"$out")" = false ] && grep -q "bad-signature" <<<"$out"; then
    ok "tampered $what refused: $(jq -r '.messages[0].message' <<<"$out")"
  else bad "tampered $what: rc=$rc $out"; fi
  (cd tam && ! xmlsec1 --verify --trusted-pem "$R/sign-root.pem" kousei.xml >/dev/null 2>&1) &&
    ok "xmlsec1 refuses it too" || bad "xmlsec1 accepted tampered $what"
}
tamper "申請書 (content)" shinsei.xml 's/転居届/転出届/'
tamper "申請書 (whitespace only)" shinsei.xml 's/^  <申請内容>/   <申請内容>/'
tamper "添付書類 inin.pdf" inin.pdf ""
tamper "添付書類 scan_1.bin" scan_1.bin ""
tamper "kousei.xml (構成情報)" kousei.xml 's#<構成情報>#<構成情報><備考>追加</備考>#'
sed 's/転居届/転出届/' doc.signed.xml >doc.bad.xml
expect_fail "does not match its digest" V doc.bad.xml
sed 's#<ds:SignatureValue>....#<ds:SignatureValue>AAAA#' doc.signed.xml >doc.badsig.xml
expect_fail "does not verify" V doc.badsig.xml
rm -rf tam && cp -r app tam && rm tam/inin.pdf
expect_fail "Reference inin.pdf: the part is missing" V tam/kousei.xml

# --- the profile --------------------------------------------------------
sed 's#xmldsig-more\#rsa-sha256#xmldsig\#rsa-sha1#' doc.signed.xml >alg.xml
expect_fail "SignatureMethod is not RSA-SHA256" V alg.xml
sed 's#<ds:Reference URI="inin.pdf">#<ds:Reference URI="file:///etc/passwd">#' app/kousei.xml >app/k2.xml
expect_fail 'Reference URI "file:///etc/passwd" refused' V app/k2.xml
sed 's#<ds:Reference URI="inin.pdf">#<ds:Reference URI="../b.key">#' app/kousei.xml >app/k2.xml
expect_fail 'Reference URI "../b.key" refused' V app/k2.xml
# a file the application does not list (wrapping of the file set)
rm -rf tam && cp -r app tam && cp app/scan_1.bin tam/other.bin
sed -i 's#<ds:Reference URI="scan_1.bin">#<ds:Reference URI="other.bin">#' tam/kousei.xml
expect_fail "Reference other.bin: not a part listed" V tam/kousei.xml
# a second signature (wrapping)
sig=$(sed -n '/<ds:Signature/,/<\/ds:Signature>/p' b.signed.xml | sed 's/.*<ds:Signature/<ds:Signature/; s#</ds:Signature>.*#</ds:Signature>#')
whole=$(cat doc.signed.xml)
printf '%s<x>%s</x></申請書>\n' "${whole%</申請書>*}" "$sig" >two.xml
expect_fail "2 ds:Signature elements" V two.xml
rm -f app/k2.xml

# --- XXE and DTDs -------------------------------------------------------
echo "CANARY-$$-SECRET" >secret.txt
cat >xxe.xml <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE 申請書 [<!ENTITY xxe SYSTEM "file://$T/secret.txt">]>
<申請書><氏名>&xxe;</氏名></申請書>
EOF
expect_fail "DOCTYPE or entity declaration is refused" J xml sign --in xxe.xml --key b.key --cert b/sign.pem
# the DOCTYPE slipped into a signed document, and into a signed part
{ head -1 doc.signed.xml; echo "<!DOCTYPE 申請書 [<!ENTITY xxe SYSTEM \"file://$T/secret.txt\">]>"; tail -n +2 doc.signed.xml; } >xxe.signed.xml
out=$(V xxe.signed.xml 2>&1) && rc=0 || rc=$?
[ $rc -ne 0 ] && grep -q "DOCTYPE" <<<"$out" && ! grep -q "CANARY" <<<"$out" &&
  ok "XXE in a signed document refused, nothing read" || bad "XXE document: rc=$rc $out"
rm -rf tam && cp -r app tam
{ head -1 app/shinsei.xml; echo "<!DOCTYPE 申請書 SYSTEM \"file://$T/secret.txt\">"; tail -n +2 app/shinsei.xml; } >tam/shinsei.xml
out=$(V tam/kousei.xml 2>&1) && rc=0 || rc=$?
[ $rc -ne 0 ] && grep -q "shinsei.xml: a DOCTYPE" <<<"$out" && ! grep -q "CANARY" <<<"$out" &&
  ok "XXE in the 申請書 refused, nothing read" || bad "XXE part: rc=$rc $out"
# a UTF-16 document hides the DOCTYPE from a byte scan: refused after parsing
iconv -f UTF-8 -t UTF-16 xxe.xml >xxe16.xml
expect_fail "a DOCTYPE is refused (DTDs" V xxe16.xml

# --- the certificate: revocation, trust, PIN ----------------------------
J revoke "$(openssl x509 -in b/sign.pem -noout -serial | cut -d= -f2)" --reason keyCompromise >/dev/null
J crl --kind sign --muni 132217 --out kiyose.crl >/dev/null
out=$(V b.signed.xml) && rc=0 || rc=$?
[ $rc -eq 1 ] && grep -q "revoked" <<<"$out" && ok "revoked signer refused" || bad "revoked: rc=$rc $out"
mkdir other && (JPKI_DIR=$T/other/ca "$JPKI" ca init >/dev/null)
expect_fail "untrusted" J xml verify doc.signed.xml --roots other/ca/roots "${MAP[@]}"
t0=$(J --json card show card.img | jq -r .pins.sign.tries_left)
expect_fail "PIN" J xml sign --in doc.xml --out w.xml card.img --pin ZZZ999
t1=$(J --json card show card.img | jq -r .pins.sign.tries_left)
[ "$t1" -eq $((t0 - 1)) ] && [ ! -e w.xml ] && ok "a wrong PIN costs a try, nothing written" || bad "tries $t0 -> $t1"
expect_fail "no PIN given" J xml sign --in doc.xml --out w.xml card.img </dev/null

finish
