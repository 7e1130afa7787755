#!/usr/bin/env bash
# The CA against real peers: openssl and GnuTLS certtool check our
# certificates, CRLs and OCSP responses; every CLI refusal says why.
. "$(dirname "$0")/lib.sh"
export JPKI_DIR=$T/ca
NOW=2026-11-25T01:00:00Z
J() { "$JPKI" --now "$NOW" "$@"; }

J ca init >/dev/null
J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
J muni add 131016 --pref 東京都 --city 千代田区 --pref-roman Tokyo-to --city-roman Chiyoda-ku >/dev/null
rid() { sed -n 's/^ *"id": \([0-9]*\),*/\1/p'; }
A=$(J --json resident add --ext-id A1 --name "山田　太郎" --kana ヤマダタロウ --address "東京都清瀬市上清戸１丁目" --birth 1980-12-31 --sex 1 --muni 132217 | rid)
B=$(J --json resident add --ext-id B1 --name "髙橋　𠮷子" --kana タカハシヨシコ --address "東京都千代田区外神田１丁目" --birth 1992-02-29 --sex 2 --muni 131016 | rid)
C=$(J --json resident add --ext-id C1 --name "子供　一郎" --kana コドモイチロウ --address "東京都清瀬市" --birth 2011-11-26 --sex 1 --muni 132217 | rid)
W=$(J --json resident add --ext-id W1 --name "後見　二郎" --kana コウケンジロウ --address "東京都清瀬市" --birth 1950-01-01 --sex 1 --muni 132217 --adult-ward | rid)
for r in $A $B $C $W; do J resident card "$r" --serial "CARD$r" >/dev/null; done
newkey a_s; newkey a_a; newkey b_s; newkey b_a; newkey c_s; newkey weak 1024

expect_ok "issue both certificates" J issue --resident "$A" --card "CARD$A" --sign-key a_s.pub --auth-key a_a.pub --out-dir a
expect_ok "issue for a non-JIS name" J issue --resident "$B" --card "CARD$B" --sign-key b_s.pub --auth-key b_a.pub --out-dir b
R=$T/ca/roots

# openssl and certtool accept each leaf under its own root only
for who in a b; do
  expect_ok "openssl verify $who sign" openssl verify -CAfile $R/sign-root.pem $who/sign.pem
  expect_ok "openssl verify $who auth" openssl verify -CAfile $R/auth-root.pem $who/auth.pem
  expect_fail "error" openssl verify -CAfile $R/auth-root.pem $who/sign.pem
  expect_fail "error" openssl verify -CAfile $R/sign-root.pem $who/auth.pem
  expect_ok "certtool verify $who sign" certtool --verify --load-ca-certificate $R/sign-root.pem --infile $who/sign.pem
  expect_ok "certtool verify $who auth" certtool --verify --load-ca-certificate $R/auth-root.pem --infile $who/auth.pem
  expect_fail "Not verified" certtool --verify --load-ca-certificate $R/auth-root.pem --infile $who/sign.pem
  expect_fail "Not verified" certtool --verify --load-ca-certificate $R/sign-root.pem --infile $who/auth.pem
done

# the profile as openssl sees it
txt=$(openssl x509 -in a/sign.pem -noout -text)
grep -q "Digital Signature, Non Repudiation" <<<"$txt" && ok "sign keyUsage" || bad "sign keyUsage"
grep -q "1.2.392.200149.8.5.1.0.20" <<<"$txt" && ok "test-profile policy" || bad "policy: $txt"
grep -q "Kiyose-shi" <<<"$(openssl x509 -in a/sign.pem -noout -subject)" && ok "subject L=city" || bad "subject"
! grep -q "Kiyose" <<<"$(openssl x509 -in a/auth.pem -noout -subject)" && ok "auth subject has no locality" || bad "auth subject"
show=$(J --json show a/sign.pem)
grep -q '"name": "山田　太郎"' <<<"$show" && grep -q '"birth_era_coded": "319801231"' <<<"$show" && ok "basic-4 decoded" || bad "basic-4: $show"
showb=$(J --json show b/sign.pem)
grep -q '"name_substitute": "..*"' <<<"$showb" && ok "substitute name for 𠮷" || bad "substitute: $showb"

# real J-LIS roots are read and classified as production roots
for f in "$JPKI_SHARED"/data/jpki-roots/*.pem; do
  out=$(J --json show "$f")
  grep -q '"profile": "production"' <<<"$out" && ok "real root $(basename "$f")" || bad "real root $f: $out"
done

# refusals, each with its reason
expect_fail "under age 15" J issue --resident "$C" --card "CARD$C" --sign-key c_s.pub
expect_fail "成年被後見人" J issue --resident "$W" --card "CARD$W" --sign-key c_s.pub
expect_fail "2048" J issue --resident "$C" --card "CARD$C" --auth-key weak.pub
expect_fail "unknown resident" J issue --resident 999 --card X --auth-key c_s.pub
expect_fail "unknown card" J issue --resident "$C" --card NOPE --auth-key c_s.pub
expect_fail "already holds a valid" J issue --resident "$A" --card "CARD$A" --auth-key c_s.pub
expect_fail "renew" J issue --resident "$A" --card "CARD$A" --auth-key c_s.pub --renew
expect_fail "no public key" J issue --resident "$A" --card "CARD$A" --auth-key /etc/hostname
expect_fail "unknown reason" J revoke 01 --reason bogus
expect_fail "no certificate with serial" J revoke 0123 --reason keyCompromise
expect_fail "production CA refuses a fixed clock" env JPKI_DIR=$T/prod "$JPKI" --now 2026-01-01 ca init --profile production
expect_fail "already exists" J ca init
expect_ok "auth-only issuance for a minor" J issue --resident "$C" --card "CARD$C" --auth-key c_s.pub

# revocation: a change of address revokes the signature certificate only
sa=$(openssl x509 -in a/sign.pem -noout -serial | cut -d= -f2)
aa=$(openssl x509 -in a/auth.pem -noout -serial | cut -d= -f2)
out=$(J resident change "$A" --address "東京都清瀬市中清戸２丁目")
grep -q "revoked certificate $sa" <<<"$out" && ! grep -q "$aa" <<<"$out" && ok "address change revoked sign only" || bad "change: $out"
expect_fail "already revoked" J revoke "$sa" --reason keyCompromise
sb=$(openssl x509 -in b/sign.pem -noout -serial | cut -d= -f2)
expect_ok "hold" J revoke "$sb" --reason certificateHold
expect_fail "already on hold" J revoke "$sb" --reason certificateHold

# CRLs: per municipality, signature checked by openssl, entries and reasons
J crl --kind sign --muni 132217 --out kiyose.crl >/dev/null
J crl --kind sign --muni 131016 --out chiyoda.crl >/dev/null
J crl --kind sign --arl --out sign.arl >/dev/null
expect_ok "openssl crl verifies partition CRL" openssl crl -inform DER -in kiyose.crl -CAfile $R/sign-root.pem -noout
expect_ok "openssl crl verifies ARL" openssl crl -inform DER -in sign.arl -CAfile $R/sign-root.pem -noout
crl=$(openssl crl -inform DER -in kiyose.crl -noout -text)
grep -q "$sa" <<<"$crl" && grep -q "Affiliation Changed" <<<"$crl" && ! grep -q "$sb" <<<"$crl" && ok "Kiyose CRL lists its revocation only" || bad "kiyose crl: $crl"
crl2=$(openssl crl -inform DER -in chiyoda.crl -noout -text)
grep -q "$sb" <<<"$crl2" && grep -q "Certificate Hold" <<<"$crl2" && ok "Chiyoda CRL lists the hold" || bad "chiyoda crl: $crl2"
openssl crl -inform DER -in kiyose.crl -out kiyose.crl.pem
out=$(openssl verify -crl_check -CRLfile kiyose.crl.pem -CAfile $R/sign-root.pem a/sign.pem 2>&1 || true)
grep -q "certificate revoked" <<<"$out" && ok "openssl verify -crl_check sees the revocation" || bad "crl_check: $out"

# OCSP answered by our responder, read by openssl
ocsp_status() { # cert issuer -> status line
  openssl ocsp -issuer "$2" -cert "$1" -reqout req.der 2>/dev/null
  J ocsp --req req.der --out resp.der >/dev/null
  openssl ocsp -respin resp.der -no_nonce -validity_period 315360000 -issuer "$2" -CAfile "$2" -cert "$1" 2>&1
}
out=$(ocsp_status a/sign.pem $R/sign-root.pem)
grep -q "a/sign.pem: revoked" <<<"$out" && grep -q "Reason: affiliationChanged" <<<"$out" && grep -q "Response verify OK" <<<"$out" && ok "OCSP revoked affiliationChanged" || bad "ocsp sign: $out"
out=$(ocsp_status a/auth.pem $R/auth-root.pem)
n_req=$(openssl ocsp -reqin req.der -req_text | grep -A1 "OCSP Nonce" | tail -1 | tr -d ' ')
n_resp=$(openssl ocsp -respin resp.der -resp_text -noverify | grep -A1 "OCSP Nonce" | tail -1 | tr -d ' ')
[ -n "$n_req" ] && [ "$n_req" = "$n_resp" ] && ok "OCSP nonce echoed" || bad "nonce: '$n_req' vs '$n_resp'"
grep -q "a/auth.pem: good" <<<"$out" && grep -q "Response verify OK" <<<"$out" && ok "OCSP good for auth" || bad "ocsp auth: $out"
out=$(ocsp_status b/sign.pem $R/sign-root.pem)
grep -q "Reason: certificateHold" <<<"$out" && ok "OCSP hold" || bad "ocsp hold: $out"

# removal from the register revokes both
out=$(J resident remove "$B")
grep -q "$(openssl x509 -in b/auth.pem -noout -serial | cut -d= -f2)" <<<"$out" && ok "removal revoked auth" || bad "remove: $out"
out=$(ocsp_status b/sign.pem $R/sign-root.pem)
grep -q "Reason: cessationOfOperation" <<<"$out" && ok "hold turned into revocation on removal" || bad "ocsp after removal: $out"
expect_fail "removed from the register" J issue --resident "$B" --card "CARD$B" --auth-key b_a.pub

# renewal of A's authentication certificate (born 1980-12-31, issued
# 2026-11-25, valid to the 5th birthday 2030-12-31): the window opens
# 2030-09-30; one day earlier is refused; inside it the new certificate
# runs to the 6th birthday (2035-12-31) and the old one is superseded.
newkey a_a2
expect_fail "renewal" "$JPKI" --now 2030-09-29T14:59:59Z issue --resident "$A" --card "CARD$A" --auth-key a_a2.pub --renew
out=$("$JPKI" --json --now 2030-09-29T15:00:00Z issue --resident "$A" --card "CARD$A" --auth-key a_a2.pub --renew --out-dir a2)
grep -q '"last_day": "2035-12-31"' <<<"$out" && grep -q "\"$aa\"" <<<"$out" && ok "renewal to the 6th birthday, old superseded" || bad "renewal: $out"
grep -q "Not After : Dec 31 14:59:59 2035 GMT" <<<"$(openssl x509 -in a2/auth.pem -noout -text)" && ok "notAfter 23:59:59 JST" || bad "notAfter"
NOW=2030-10-01T00:00:00Z
out=$(ocsp_status a/auth.pem $R/auth-root.pem)
grep -q "Reason: superseded" <<<"$out" && ok "OCSP superseded" || bad "ocsp superseded: $out"
expect_ok "audit chain intact" J audit verify
finish
