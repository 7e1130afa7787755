#!/usr/bin/env bash
# The CA with its keys in a PKCS#11 token (SoftHSM2 in a private token
# directory): `jpki ca init --pkcs11` generates both roots inside the
# token; issuance, CRLs and OCSP pass the same peers as with file keys;
# the audit checkpoints are signed by the token's audit key; no key can be
# read or wrapped out of the token (tests/pkcs11/p11_extract.c).
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
MODULE=${JPKI_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
[ -r "$MODULE" ] || { bad "no PKCS#11 module $MODULE (scripts/install-deps.sh installs softhsm2)"; finish; }
EXTRACT=${JPKI_BUILD:?}/tests/p11_extract
mkdir -p "$T/tokens"
export SOFTHSM2_CONF=$T/softhsm2.conf
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$T" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label jpki-ca --so-pin 87654321 --pin 2468 >/dev/null
printf '2468\n' >"$T/pin"; chmod 600 "$T/pin"

export JPKI_DIR=$T/ca
NOW=2026-11-25T01:00:00Z
J() { "$JPKI" --now "$NOW" "$@"; }
P() { at_time "$NOW" "$@"; }

# the PIN never goes on the command line: a wrong one is refused by the token
printf '1111\n' >"$T/badpin"
expect_fail "C_Login" env JPKI_DIR=$T/bad "$JPKI" --now "$NOW" ca init --pkcs11 "$MODULE" --token jpki-ca --pin-file "$T/badpin"
expect_fail "no token labelled" env JPKI_DIR=$T/bad2 "$JPKI" --now "$NOW" ca init --pkcs11 "$MODULE" --token nosuch --pin-file "$T/pin"
expect_fail "no token PIN" env -u JPKI_PKCS11_PIN JPKI_DIR=$T/bad3 "$JPKI" --now "$NOW" ca init --pkcs11 "$MODULE" --token jpki-ca
expect_ok "ca init --pkcs11" J ca init --pkcs11 "$MODULE" --token jpki-ca --pin-file "$T/pin"
[ ! -e "$T/ca/keys" ] && ! grep -rlq "PRIVATE KEY" "$T/ca" && ok "no private key file in the CA directory" || bad "key files: $(ls -R "$T/ca")"
grep -q "^pkcs11:module=$MODULE;token=jpki-ca;pin-source=file:$T/pin$" "$T/ca/keystore" && ok "keystore location kept, no PIN in it" || bad "keystore: $(cat "$T/ca/keystore")"
expect_fail "already exists" J ca init --pkcs11 "$MODULE" --token jpki-ca --pin-file "$T/pin"
R=$T/ca/roots
# the roots' public keys are the token's public key objects
for k in sign auth; do
  expect_ok "$k root self-signature" P openssl verify -CAfile $R/$k-root.pem $R/$k-root.pem
  pkcs11-tool --module "$MODULE" --token-label jpki-ca --read-object --type pubkey --label $k-root -o $k.tok.der >/dev/null 2>&1
  [ "$(openssl pkey -pubin -inform DER -in $k.tok.der -outform DER | sha256sum)" = "$(openssl x509 -in $R/$k-root.pem -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)" ] \
    && ok "$k root key is the token's" || bad "$k root public key differs from the token's"
  # pkcs11-tool cannot read the private key object either
  out=$(pkcs11-tool --module "$MODULE" --token-label jpki-ca --login --pin 2468 --read-object --type privkey --label $k-root -o $k.priv 2>&1 || true)
  [ ! -s $k.priv ] && ok "pkcs11-tool --read-object privkey $k-root refused" || bad "pkcs11-tool read the private key: $out"
done
# the audit key is made in the token at init, once (not by the first of
# several nodes to checkpoint)
n=$(pkcs11-tool --module "$MODULE" --token-label jpki-ca --list-objects --type pubkey 2>/dev/null | grep -c "label: *audit$" || true)
[ "$n" = 1 ] && ok "ca init made one audit key in the token" || bad "audit key objects in the token: $n"
[ "$(openssl pkey -pubin -in "$T/ca/audit/key.pub.pem" -outform DER 2>/dev/null | sha256sum)" = \
  "$(pkcs11-tool --module "$MODULE" --token-label jpki-ca --read-object --type pubkey --label audit 2>/dev/null | openssl pkey -pubin -inform DER -outform DER | sha256sum)" ] \
  && ok "audit/key.pub.pem is the token's audit key" || bad "audit/key.pub.pem differs from the token's"

J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
rid() { sed -n 's/^ *"id": \([0-9]*\),*/\1/p'; }
A=$(J --json resident add --ext-id A1 --name "山田　太郎" --kana ヤマダタロウ --address "東京都清瀬市上清戸１丁目" --birth 1980-12-31 --sex 1 --muni 132217 | rid)
B=$(J --json resident add --ext-id B1 --name "髙橋　花子" --kana タカハシハナコ --address "東京都清瀬市中里１丁目" --birth 1992-02-29 --sex 2 --muni 132217 | rid)
for r in $A $B; do J resident card "$r" --serial "CARD$r" >/dev/null; done
newkey a_s; newkey a_a; newkey b_s; newkey b_a
expect_ok "issue A under token keys" J issue --resident "$A" --card "CARD$A" --sign-key a_s.pub --auth-key a_a.pub --out-dir a
expect_ok "issue B under token keys" J issue --resident "$B" --card "CARD$B" --sign-key b_s.pub --auth-key b_a.pub --out-dir b
for who in a b; do
  expect_ok "openssl verify $who sign" P openssl verify -CAfile $R/sign-root.pem $who/sign.pem
  expect_ok "openssl verify $who auth" P openssl verify -CAfile $R/auth-root.pem $who/auth.pem
  expect_fail "error" P openssl verify -CAfile $R/auth-root.pem $who/sign.pem
  expect_ok "certtool verify $who sign" P certtool --verify --load-ca-certificate $R/sign-root.pem --infile $who/sign.pem
  expect_ok "certtool verify $who auth" P certtool --verify --load-ca-certificate $R/auth-root.pem --infile $who/auth.pem
  expect_fail "Not verified" P certtool --verify --load-ca-certificate $R/sign-root.pem --infile $who/auth.pem
done

# revocation, CRLs and OCSP signed in the token
sa=$(openssl x509 -in a/sign.pem -noout -serial | cut -d= -f2)
sb=$(openssl x509 -in b/sign.pem -noout -serial | cut -d= -f2)
expect_ok "revoke A sign" J revoke "$sa" --reason keyCompromise
J crl --kind sign --muni 132217 --out kiyose.crl >/dev/null
J crl --kind sign --arl --out sign.arl >/dev/null
J crl --kind auth --muni 132217 --out kiyose-auth.crl >/dev/null
expect_ok "openssl crl verifies the CRL" P openssl crl -inform DER -in kiyose.crl -CAfile $R/sign-root.pem -noout
expect_ok "openssl crl verifies the ARL" P openssl crl -inform DER -in sign.arl -CAfile $R/sign-root.pem -noout
expect_ok "openssl crl verifies the auth CRL" P openssl crl -inform DER -in kiyose-auth.crl -CAfile $R/auth-root.pem -noout
expect_fail "Error getting CRL issuer certificate" P openssl crl -inform DER -in kiyose.crl -CAfile $R/auth-root.pem -noout
crl=$(openssl crl -inform DER -in kiyose.crl -noout -text)
grep -q "$sa" <<<"$crl" && grep -q "Key Compromise" <<<"$crl" && ! grep -q "$sb" <<<"$crl" && ok "CRL lists the revocation only" || bad "crl: $crl"
openssl crl -inform DER -in kiyose.crl -out kiyose.crl.pem
out=$(P openssl verify -crl_check -CRLfile kiyose.crl.pem -CAfile $R/sign-root.pem a/sign.pem 2>&1 || true)
grep -q "certificate revoked" <<<"$out" && ok "openssl verify -crl_check sees the revocation" || bad "crl_check: $out"
expect_ok "crl_check passes B" P openssl verify -crl_check -CRLfile kiyose.crl.pem -CAfile $R/sign-root.pem b/sign.pem
ocsp_status() { # cert issuer -> status line
  openssl ocsp -issuer "$2" -cert "$1" -reqout req.der 2>/dev/null
  J ocsp --req req.der --out resp.der >/dev/null
  P openssl ocsp -respin resp.der -no_nonce -issuer "$2" -CAfile "$2" -cert "$1" 2>&1
}
out=$(ocsp_status a/sign.pem $R/sign-root.pem)
grep -q "a/sign.pem: revoked" <<<"$out" && grep -q "Reason: keyCompromise" <<<"$out" && grep -q "Response verify OK" <<<"$out" && ok "OCSP revoked, signed by the token" || bad "ocsp a: $out"
out=$(ocsp_status b/auth.pem $R/auth-root.pem)
grep -q "b/auth.pem: good" <<<"$out" && grep -q "Response verify OK" <<<"$out" && ok "OCSP good, signed by the token" || bad "ocsp b: $out"

# audit checkpoints signed by the audit key in the token
n0=$(wc -l <"$T/ca/audit/checkpoints" 2>/dev/null || echo 0)
expect_ok "audit checkpoint" J audit checkpoint
expect_ok "audit checkpoint again" J audit checkpoint
out=$(J --json audit verify)
grep -q "\"checkpoints\": $((n0 + 2))," <<<"$out" && grep -q '"ok": true' <<<"$out" && ok "audit verify with the token's key" || bad "audit verify: $out"
# a checkpoint line with a forged signature is caught
cp "$T/ca/audit/checkpoints" cps.orig
sed -i '$ s/ [A-Za-z0-9+\/]\{20\}/ AAAAAAAAAAAAAAAAAAAA/' "$T/ca/audit/checkpoints"
cmp -s cps.orig "$T/ca/audit/checkpoints" && bad "checkpoint line not altered"
out=$(J audit verify 2>&1) && bad "forged checkpoint accepted: $out" || ok "forged checkpoint refused"
cp cps.orig "$T/ca/audit/checkpoints"
pkcs11-tool --module "$MODULE" --token-label jpki-ca --read-object --type pubkey --label audit -o audit.tok.der >/dev/null 2>&1
[ "$(openssl pkey -pubin -inform DER -in audit.tok.der -outform DER | sha256sum)" = "$(openssl pkey -pubin -in "$T/ca/audit/key.pub.pem" -outform DER | sha256sum)" ] \
  && ok "audit key is the token's" || bad "audit key differs from the token's"
# one checkpoint checked by openssl alone
read -r _ seq hash at sig < <(tail -1 "$T/ca/audit/checkpoints")
printf 'openjpki audit checkpoint v1\n%s\n%s\n%s\n' "$seq" "$hash" "$at" >cp.tbs
base64 -d <<<"$sig" >cp.sig
expect_ok "openssl dgst verifies the checkpoint" openssl dgst -sha256 -verify "$T/ca/audit/key.pub.pem" -signature cp.sig cp.tbs
printf 'openjpki audit checkpoint v1\n%s\n%s\n%s\n' "$seq" "0000" "$at" >cp.bad
expect_fail "Verification failure" openssl dgst -sha256 -verify "$T/ca/audit/key.pub.pem" -signature cp.sig cp.bad

# jpkid on the same CA signs its OCSP responses in the token
start_jpkid "$T/ca"
out=$(openssl ocsp -issuer $R/sign-root.pem -cert a/sign.pem -url "$BASE/ocsp" -CAfile $R/sign-root.pem -timeout 20 2>&1)
grep -q "a/sign.pem: revoked" <<<"$out" && grep -q "Response verify OK" <<<"$out" && ok "jpkid OCSP revoked, signed by the token" || bad "jpkid ocsp a: $out"
out=$(openssl ocsp -issuer $R/auth-root.pem -cert b/auth.pem -url "$BASE/ocsp" -CAfile $R/auth-root.pem -timeout 20 2>&1)
grep -q "b/auth.pem: good" <<<"$out" && grep -q "Response verify OK" <<<"$out" && ok "jpkid OCSP good, signed by the token" || bad "jpkid ocsp b: $out"
stop_jpkid && ok "jpkid stopped cleanly" || bad "jpkid stop: $(tail -5 "$T/jpkid.err")"
expect_ok "audit verify after jpkid" J audit verify

# none of the three keys leaves the token
out=$(JPKI_PKCS11_PIN=2468 "$EXTRACT" "$MODULE" jpki-ca 3 2>&1) && ok "no key extractable (3 keys: C_GetAttributeValue, C_WrapKey refused)" || bad "p11_extract: $out"
for l in sign-root auth-root audit; do
  grep -q "ok - C_WrapKey refused: $l" <<<"$out" && ok "wrap refused for $l" || bad "wrap of $l: $out"
done
# a root rollover inside the token (issue #13 item 3): generation 2 of
# the signature root is generated there too, issues, and is not extractable
# first one that fails after its key was made (a directory where the
# NewWithOld link goes): the key leaves the token again, the label is free
privkeys() { pkcs11-tool --module "$MODULE" --token-label jpki-ca --login --pin 2468 --list-objects --type privkey 2>/dev/null | sed -n 's/^ *label: *//p' | sort | tr '\n' ' '; }
mkdir -p "$T/ca/links/sign-root-2-with-1.pem"
expect_fail "Is a directory" J ca rollover --kind sign
[ "$(privkeys)" = "audit auth-root sign-root " ] && ok "failed rollover left no key in the token" || bad "token keys after a failed rollover: $(privkeys)"
[ ! -e "$R/sign-root-2.pem" ] && ok "failed rollover left no root PEM" || bad "sign-root-2.pem left"
rmdir "$T/ca/links/sign-root-2-with-1.pem"
expect_ok "ca rollover --kind sign in the token" J ca rollover --kind sign
[ "$(privkeys)" = "audit auth-root sign-root sign-root-2 " ] && ok "the token holds generation 2's key" || bad "token keys: $(privkeys)"
C=$(J --json resident add --ext-id C1 --name "佐藤　次郎" --kana サトウジロウ --address "東京都清瀬市元町１丁目" --birth 1975-05-05 --sex 1 --muni 132217 | rid)
J resident card "$C" --serial "CARD$C" >/dev/null
newkey c_s
expect_ok "issue C under the token's generation 2" J issue --resident "$C" --card "CARD$C" --sign-key c_s.pub --out-dir c
expect_ok "openssl verify C under sign-root-2" P openssl verify -CAfile $R/sign-root-2.pem c/sign.pem
expect_ok "openssl verify C under sign-root via the link" P openssl verify -CAfile $R/sign-root.pem -untrusted "$T/ca/links/sign-root-2-with-1.pem" c/sign.pem
out=$(ocsp_status a/sign.pem $R/sign-root.pem)
grep -q "a/sign.pem: revoked" <<<"$out" && grep -q "Response verify OK" <<<"$out" && ok "OCSP for generation 1 still signed by its token key" || bad "ocsp a gen1: $out"
out=$(JPKI_PKCS11_PIN=2468 "$EXTRACT" "$MODULE" jpki-ca 4 2>&1) && grep -q "ok - C_WrapKey refused: sign-root-2" <<<"$out" &&
  ok "generation 2 key not extractable" || bad "p11_extract after rollover: $out"
# the benchmark's PKCS#11 mode keeps working (figures: docs/benchmarks.md)
out=$("$JPKI_BUILD/bench/bench_issue" --seconds 1 --keystore pkcs11 2>&1 | tail -1)
grep -q '"keystore":"pkcs11"' <<<"$out" && grep -q '"pairs_per_s":[1-9]' <<<"$out" && ok "bench_issue --keystore pkcs11 issues" || bad "bench_issue pkcs11: $out"
# a file-keystore CA is unchanged by all this
expect_ok "file keystore CA still the default" env JPKI_DIR=$T/fileca "$JPKI" --now "$NOW" ca init
[ -f "$T/fileca/keys/sign-root.key.pem" ] && [ ! -e "$T/fileca/keystore" ] && ok "file keystore in DIR/keys" || bad "file keystore"
finish
