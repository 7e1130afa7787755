#!/usr/bin/env bash
# Root generations (issue #13 item 3): issue under generation 1, roll the
# signature root over, issue under generation 2.  openssl accepts each leaf
# under its own root and, through the link certificate, under the other
# generation's; a revoked certificate of each generation shows in that
# generation's CRL and OCSP answer, signed by that generation's key; jpki
# verify accepts both with the roots directory holding both roots.
. "$(dirname "$0")/lib.sh"
export JPKI_DIR=$T/ca
NOW=2026-11-25T01:00:00Z
J() { "$JPKI" --now "$NOW" "$@"; }
P() { at_time "$NOW" "$@"; }

J ca init >/dev/null
J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
rid() { sed -n 's/^ *"id": \([0-9]*\),*/\1/p'; }
person() { J --json resident add --ext-id "$1" --name "山田　$1" --kana ヤマダ --address "東京都清瀬市上清戸１丁目" --birth 1980-12-31 --sex 1 --muni 132217 | rid; }
A=$(person A); B=$(person B); C=$(person C); D=$(person D)
for r in $A $B $C $D; do J resident card "$r" --serial "CARD$r" >/dev/null; done
for k in a b c d; do newkey $k; done
R=$T/ca/roots
L=$T/ca/links

# generation 1: A and B
J issue --resident "$A" --card "CARD$A" --sign-key a.pub --out-dir a >/dev/null
J issue --resident "$B" --card "CARD$B" --sign-key b.pub --out-dir b >/dev/null
ski1=$(openssl x509 -in $R/sign-root.pem -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' ')

# a rollover that fails after its key was made (a directory where the
# NewWithOld link goes) leaves nothing: no key, no root, no generation
mkdir -p "$L/sign-root-2-with-1.pem"
expect_fail "Is a directory" J ca rollover --kind sign
[ ! -e "$T/ca/keys/sign-root-2.key.pem" ] && [ ! -e "$R/sign-root-2.pem" ] && [ ! -e "$L/sign-root-with-2.pem" ] &&
  ok "failed rollover left no key, root or link" || bad "left: $(ls "$T/ca/keys" "$R" "$L")"
J --json ca show | grep -q '"generation": 2' && bad "failed rollover recorded generation 2" || ok "failed rollover recorded no generation"
rmdir "$L/sign-root-2-with-1.pem"

# the rollover
out=$(J --json ca rollover --kind sign)
grep -q '"generation": 2' <<<"$out" && ok "rollover made generation 2" || bad "rollover: $out"
fp=$(openssl x509 -in $R/sign-root-2.pem -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)
grep -q "\"sha256\": \"$fp\"" <<<"$out" && ok "rollover reports the new root's fingerprint" || bad "fingerprint $fp: $out"
[ "$(openssl x509 -in $R/sign-root.pem -noout -subject)" = "$(openssl x509 -in $R/sign-root-2.pem -noout -subject)" ] &&
  ok "same DN" || bad "DN changed"
ski2=$(openssl x509 -in $R/sign-root-2.pem -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' ')
[ -n "$ski1" ] && [ -n "$ski2" ] && [ "$ski1" != "$ski2" ] && ok "new SKI" || bad "SKI $ski1 vs $ski2"
[ -f "$T/ca/keys/sign-root-2.pem" ] || ls "$T/ca/keys" | grep -q "sign-root-2" && ok "generation 2 key under its own label" || bad "keys: $(ls "$T/ca/keys")"
NWO=$L/sign-root-2-with-1.pem
OWN=$L/sign-root-with-2.pem
[ -f "$NWO" ] && [ -f "$OWN" ] && ok "both link certificates written" || bad "links: $(ls "$L")"
show=$(J --json ca show)
grep -q '"sign_generations"' <<<"$show" && [ "$(grep -c '"generation"' <<<"$show")" -eq 3 ] && ok "ca show lists the generations" || bad "show: $show"
expect_fail "sign, auth or both" J ca rollover --kind bogus

# generation 2: C and D (a fresh handle: the store knows the newest)
J issue --resident "$C" --card "CARD$C" --sign-key c.pub --out-dir c >/dev/null
J issue --resident "$D" --card "CARD$D" --sign-key d.pub --out-dir d >/dev/null
aki() { openssl x509 -in "$1" -noout -ext authorityKeyIdentifier | tail -1 | tr -d ' ' | sed 's/^keyid://'; }
[ "$(aki c/sign.pem)" = "$ski2" ] && ok "new leaves under generation 2" || bad "AKI of c: $(aki c/sign.pem) vs $ski2"
[ "$(aki a/sign.pem)" = "$ski1" ] && ok "old leaves under generation 1" || bad "AKI of a"

# openssl: each leaf with its own root, and not with the other alone
expect_ok "gen-1 leaf under gen-1 root" P openssl verify -CAfile $R/sign-root.pem a/sign.pem
expect_ok "gen-2 leaf under gen-2 root" P openssl verify -CAfile $R/sign-root-2.pem c/sign.pem
expect_fail "error" P openssl verify -CAfile $R/sign-root-2.pem a/sign.pem
expect_fail "error" P openssl verify -CAfile $R/sign-root.pem c/sign.pem
# through the link certificates, with the other generation's root
expect_ok "gen-2 leaf under gen-1 root via NewWithOld" P openssl verify -CAfile $R/sign-root.pem -untrusted "$NWO" c/sign.pem
expect_ok "gen-1 leaf under gen-2 root via OldWithNew" P openssl verify -CAfile $R/sign-root-2.pem -untrusted "$OWN" a/sign.pem
expect_ok "certtool: gen-2 leaf under gen-1 root via NewWithOld" P bash -c "cat c/sign.pem $NWO >chain-c.pem && certtool --verify --load-ca-certificate $R/sign-root.pem --infile chain-c.pem"
expect_ok "link NewWithOld signed by gen 1" P openssl verify -CAfile $R/sign-root.pem "$NWO"
expect_ok "link OldWithNew signed by gen 2" P openssl verify -CAfile $R/sign-root-2.pem "$OWN"

# revoke one of each generation
sa=$(openssl x509 -in a/sign.pem -noout -serial | cut -d= -f2)
sc=$(openssl x509 -in c/sign.pem -noout -serial | cut -d= -f2)
J revoke "$sa" --reason keyCompromise >/dev/null
J revoke "$sc" --reason affiliationChanged >/dev/null
J crl --kind sign --muni 132217 --gen 1 --out g1.crl >/dev/null
J crl --kind sign --muni 132217 --out g2.crl >/dev/null
J crl --kind sign --full --gen 1 --out g1-full.crl >/dev/null
J crl --kind sign --arl --out arl.crl >/dev/null
crl_ok() { # what crl root: openssl says "verify OK" (its exit code does not tell)
  local out; out=$(P openssl crl -inform DER -in "$2" -CAfile "$3" -noout 2>&1 || true)
  grep -q "verify OK" <<<"$out" && ok "$1" || bad "$1: $out"
}
crl_ok "gen-1 CRL signed by gen-1 key" g1.crl $R/sign-root.pem
crl_ok "gen-2 CRL signed by gen-2 key" g2.crl $R/sign-root-2.pem
# (openssl crl exits 0 on a bad signature: its words are read)
for x in "g1.crl $R/sign-root-2.pem" "g2.crl $R/sign-root.pem"; do
  set -- $x
  out=$(P openssl crl -inform DER -in "$1" -CAfile "$2" -noout 2>&1 || true)
  grep -q "verify failure" <<<"$out" && ! grep -q "verify OK" <<<"$out" && ok "$1 not signed by $(basename "$2")" || bad "crl cross $1: $out"
done
c1=$(openssl crl -inform DER -in g1.crl -noout -text); c2=$(openssl crl -inform DER -in g2.crl -noout -text)
grep -q "$sa" <<<"$c1" && ! grep -q "$sc" <<<"$c1" && ok "gen-1 CRL lists the gen-1 revocation only" || bad "g1 crl: $c1"
grep -q "$sc" <<<"$c2" && ! grep -q "$sa" <<<"$c2" && ok "gen-2 CRL lists the gen-2 revocation only" || bad "g2 crl: $c2"
grep -q "$sa" <<<"$(openssl crl -inform DER -in g1-full.crl -noout -text)" && ok "gen-1 full CRL" || bad "g1 full"
crl_ok "ARL signed by the newest key" arl.crl $R/sign-root-2.pem
for g in 1 2; do openssl crl -inform DER -in g$g.crl -out g$g.pem; done
out=$(P openssl verify -crl_check -CRLfile g1.pem -CAfile $R/sign-root.pem a/sign.pem 2>&1 || true)
grep -q "certificate revoked" <<<"$out" && ok "crl_check: gen-1 leaf revoked" || bad "crl_check a: $out"
out=$(P openssl verify -crl_check -CRLfile g2.pem -CAfile $R/sign-root-2.pem c/sign.pem 2>&1 || true)
grep -q "certificate revoked" <<<"$out" && ok "crl_check: gen-2 leaf revoked" || bad "crl_check c: $out"
expect_ok "crl_check: gen-1 B still good" P openssl verify -crl_check -CRLfile g1.pem -CAfile $R/sign-root.pem b/sign.pem
expect_ok "crl_check: gen-2 D still good" P openssl verify -crl_check -CRLfile g2.pem -CAfile $R/sign-root-2.pem d/sign.pem

# OCSP: each generation's key answers for its own certificates
ocsp_status() { # cert issuer-root -> openssl's reading
  openssl ocsp -issuer "$2" -cert "$1" -reqout req.der 2>/dev/null
  J ocsp --req req.der --out resp.der >/dev/null
  P openssl ocsp -respin resp.der -no_nonce -issuer "$2" -CAfile "$2" -cert "$1" 2>&1
}
out=$(ocsp_status a/sign.pem $R/sign-root.pem)
grep -q "a/sign.pem: revoked" <<<"$out" && grep -q "Response verify OK" <<<"$out" && ok "OCSP gen 1: revoked, signed by gen 1" || bad "ocsp a: $out"
out=$(ocsp_status c/sign.pem $R/sign-root-2.pem)
grep -q "c/sign.pem: revoked" <<<"$out" && grep -q "Response verify OK" <<<"$out" && ok "OCSP gen 2: revoked, signed by gen 2" || bad "ocsp c: $out"
out=$(ocsp_status b/sign.pem $R/sign-root.pem)
grep -q "b/sign.pem: good" <<<"$out" && grep -q "Response verify OK" <<<"$out" && ok "OCSP gen 1: good" || bad "ocsp b: $out"
out=$(ocsp_status d/sign.pem $R/sign-root-2.pem)
grep -q "d/sign.pem: good" <<<"$out" && grep -q "Response verify OK" <<<"$out" && ok "OCSP gen 2: good" || bad "ocsp d: $out"
# a gen-1 answer does not verify under the gen-2 root
openssl ocsp -issuer $R/sign-root.pem -cert b/sign.pem -reqout req.der 2>/dev/null
J ocsp --req req.der --out resp.der >/dev/null
out=$(P openssl ocsp -respin resp.der -no_nonce -CAfile $R/sign-root-2.pem -issuer $R/sign-root-2.pem -cert b/sign.pem 2>&1 || true)
! grep -q "Response verify OK" <<<"$out" && ok "gen-1 OCSP answer not signed by gen 2" || bad "ocsp cross: $out"

# jpki verify with the roots directory holding both generations
printf 'rollover\n' >doc.txt
for w in b d; do
  openssl cms -sign -binary -in doc.txt -signer $w/sign.pem -inkey $w.key -outform DER -out $w.p7s
  openssl ocsp -issuer $([ $w = b ] && echo $R/sign-root.pem || echo $R/sign-root-2.pem) -cert $w/sign.pem -reqout req.der 2>/dev/null
  J ocsp --req req.der --out $w-ocsp.der >/dev/null
  out=$(J verify $w.p7s --content doc.txt --ocsp-response $w-ocsp.der 2>&1 || true)
  grep -q "^VALID" <<<"$out" && ok "jpki verify accepts $w (gen $([ $w = b ] && echo 1 || echo 2)) with OCSP" || bad "verify $w: $out"
done
out=$(J verify b.p7s --content doc.txt --crl-map "*=g1.crl" 2>&1 || true)
grep -q "^VALID" <<<"$out" && ok "jpki verify accepts gen 1 with its CRL" || bad "verify b crl: $out"
out=$(J verify d.p7s --content doc.txt --crl-map "*=g2.crl" 2>&1 || true)
grep -q "^VALID" <<<"$out" && ok "jpki verify accepts gen 2 with its CRL" || bad "verify d crl: $out"
for w in a c; do
  openssl cms -sign -binary -in doc.txt -signer $w/sign.pem -inkey $w.key -outform DER -out $w.p7s
done
out=$(J verify a.p7s --content doc.txt --crl-map "*=g1.crl" 2>&1 || true)
grep -q "revoked" <<<"$out" && ! grep -q "^VALID" <<<"$out" && ok "jpki verify: gen-1 revoked by its CRL" || bad "verify a: $out"
out=$(J verify c.p7s --content doc.txt --crl-map "*=g2.crl" 2>&1 || true)
grep -q "revoked" <<<"$out" && ! grep -q "^VALID" <<<"$out" && ok "jpki verify: gen-2 revoked by its CRL" || bad "verify c: $out"

expect_ok "audit chain intact after rollover" J audit verify
# a second rollover of both hierarchies
out=$(J --json ca rollover --kind both)
grep -q '"kind": "sign"' <<<"$out" && grep -q '"kind": "auth"' <<<"$out" && [ -f $R/sign-root-3.pem ] && [ -f $R/auth-root-2.pem ] &&
  [ -f $L/sign-root-3-with-2.pem ] && [ -f $L/sign-root-2-with-3.pem ] && ok "rollover of both" || bad "both: $out"
expect_ok "gen-2 leaf under gen-3 root via sign-root-2-with-3" P openssl verify -CAfile $R/sign-root-3.pem -untrusted $L/sign-root-2-with-3.pem d/sign.pem
out=$(ocsp_status d/sign.pem $R/sign-root-2.pem)
grep -q "d/sign.pem: good" <<<"$out" && grep -q "Response verify OK" <<<"$out" && ok "OCSP gen 2 still answered after gen 3" || bad "ocsp d gen3: $out"
# the ARL covers every generation: a revoked link certificate of generation
# 2 is on the ARL the newest key (generation 3) signs
sl=$(openssl x509 -in $L/sign-root-with-2.pem -noout -serial | cut -d= -f2)
J revoke "$sl" --reason superseded >/dev/null
J crl --kind sign --arl --out arl3.crl >/dev/null
crl_ok "ARL signed by generation 3" arl3.crl $R/sign-root-3.pem
grep -q "$sl" <<<"$(openssl crl -inform DER -in arl3.crl -noout -text)" && ok "ARL lists the revoked gen-2 link" || bad "arl3"
grep -q "ca.rollover" <<<"$(J --json audit list 2>/dev/null || J audit list 2>/dev/null || true)" && ok "rollover in the audit log" || bad "audit list"
finish
