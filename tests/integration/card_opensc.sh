#!/usr/bin/env bash
# The virtual My Number Card against real PC/SC peers (spec §9): a card
# image personalised by our CA, served by `jpki card serve` to pcscd's
# vsmartcard reader, used by OpenSC 0.23 (opensc-tool, pkcs15-tool,
# pkcs11-tool) and by our own PC/SC transport.  Also: retried
# personalisation after a kill, PIN counters across a killed card process,
# corrupt images refused.
#
# pcscd + vpcd: lib/pcsc.sh (an existing pcscd is used as it is,
# otherwise one is started as root with a private vpcd port; one lock for
# every pcscd test).  Every process started here is stopped by its PID in
# the EXIT trap.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/pcsc.sh"
export JPKI_DIR=$T/ca
NOW=2026-11-25T01:00:00Z
J() { "$JPKI" --now "$NOW" "$@"; }
BG_PID=""

cleanup() {
  local rc=$?
  stop_pid "$BG_PID"
  stop_pid "$SERVE_PID"
  stop_pid "$PCSCD_PID"
  if [ $rc -ne 0 ] || [ "$FAIL" -ne 0 ]; then
    for f in serve.err pcscd.log; do
      [ -f "$T/$f" ] && { echo "# --- tail of $f"; tail -n 25 "$T/$f" | sed 's/^/# /'; }
    done
  fi
  rm -rf "$T"
}
trap cleanup EXIT
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ------------------------------------------------------------------
# CA, residents, cards
J ca init >/dev/null
J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
rid() { sed -n 's/^ *"id": \([0-9]*\),*/\1/p'; }
A=$(J --json resident add --ext-id A1 --name "山田　太郎" --kana ヤマダタロウ --address "東京都清瀬市上清戸１丁目" --birth 1980-12-31 --sex 1 --muni 132217 | rid)
C=$(J --json resident add --ext-id C1 --name "子供　一郎" --kana コドモイチロウ --address "東京都清瀬市" --birth 2011-11-26 --sex 1 --muni 132217 | rid)
W=$(J --json resident add --ext-id W1 --name "後見　二郎" --kana コウケンジロウ --address "東京都清瀬市" --birth 1950-01-01 --sex 1 --muni 132217 --adult-ward | rid)
echo "hello JPKI" > data

out=$(J --json card create --out card.img --serial OJ-TEST-0001)
grep -q '"tkey": "store"' <<<"$out" && [ ! -e card.img.tkey ] && ok "create: terminal key kept by the CA store" || bad "create: $out"
[ "$(stat -c %a card.img)" = 600 ] && ok "image mode 0600" || bad "image mode $(stat -c %a card.img)"
expect_fail "already exists" J card create --out card.img
expect_fail "already holds a card with serial OJ-TEST-0001" J card create --out other.img --serial OJ-TEST-0001
out=$(JPKI_DIR=$T/no-ca "$JPKI" --json card create --out loose.img)
grep -q '"tkey": "file"' <<<"$out" && [ "$(stat -c %a loose.img.tkey)" = 600 ] && ok "create without a CA: terminal key in CARD.img.tkey, 0600" || bad "loose: $out"

# refused before the card is touched: PIN formats, eligibility choice
expect_fail "authentication PIN must be exactly 4 digits" J card personalize card.img --resident "$A" --auth-pin 12345 --sign-pin ABC123
expect_fail "signature PIN must mix letters and digits" J card personalize card.img --resident "$A" --auth-pin 1234 --sign-pin abcdef
expect_fail "give --sign-pin" J card personalize card.img --resident "$A" --auth-pin 1234
expect_fail "resident 999 not found" J card personalize card.img --resident 999 --auth-pin 1234 --sign-pin ABC123
cp loose.img keyless.img
expect_fail "no terminal key for card" J card personalize keyless.img --resident "$A" --auth-pin 1234 --sign-pin ABC123
out=$(J --json card show card.img)
grep -q '"presence_auth": false' <<<"$out" && ok "refusals left the card blank" || bad "blank after refusals: $out"

out=$(J --json card personalize card.img --resident "$A" --auth-pin 1234 --sign-pin abc123 --my-number 123456789018)
grep -q '"serial": "OJ-TEST-0001"' <<<"$out" && grep -q '"cardinfo": true' <<<"$out" && ok "personalize: both certificates, card-information data" || bad "personalize: $out"
expect_fail "recorded for resident" J card personalize card.img --resident "$C" --auth-pin 1234
out=$(J --json card show card.img)
grep -q '"presence_sign": true' <<<"$out" && grep -q '"protected": true' <<<"$out" && ok "show: EF 0008 both, sign cert protected" || bad "show: $out"
grep -q '"tries_left": 5' <<<"$out" && ok "show: PIN tries without verifying" || bad "show pins: $out"

# a minor and an adult ward: the authentication certificate only
for who in C W; do
  J card create --out "$who.img" >/dev/null
  out=$(J --json card personalize "$who.img" --resident "${!who}" --auth-pin 2222)
  grep -q '"sign": null' <<<"$out" && grep -q '"no_sign_reason"' <<<"$out" && ok "$who: authentication certificate only" || bad "$who: $out"
  out=$(J --json card show "$who.img")
  grep -q '"presence_sign": false' <<<"$out" && grep -q '"presence_auth": true' <<<"$out" && ok "$who: EF 0008 says no signature certificate" || bad "$who show: $out"
done
expect_fail "holds no signature certificate" J card read-cert sign C.img --pin ABC123 --out x.pem

# in-process: certificates, signatures openssl verifies, PIN change
J card read-cert auth card.img --out auth.pem >/dev/null
J card read-cert auth-ca card.img --out auth-ca.pem >/dev/null
printf 'ABC123\n' | J card read-cert sign card.img --out sign.pem >/dev/null
openssl x509 -in auth.pem -pubkey -noout > authpub.pem
openssl x509 -in sign.pem -pubkey -noout > signpub.pem
expect_ok "auth cert chains to the card's CA cert" openssl verify -CAfile auth-ca.pem auth.pem
expect_ok "auth cert is the root's" openssl verify -CAfile "$JPKI_DIR/roots/auth-root.pem" auth.pem
J card sign card.img --key auth --pin 1234 --in data --out a.sig >/dev/null
expect_ok "auth signature (in-process) verifies" openssl dgst -sha256 -verify authpub.pem -signature a.sig data
printf 'abc123\n' > sign.pin
J card sign card.img --key sign --pin-file sign.pin --in data --out s.sig >/dev/null
expect_ok "sign signature (in-process) verifies" openssl dgst -sha256 -verify signpub.pem -signature s.sig data
printf '1234\n4321\n' | J card change-pin --pin auth card.img >/dev/null
expect_fail "wrong authentication PIN, 2 tries left" J card sign card.img --key auth --pin 1234 --in data --out x.sig
J card change-pin --pin auth card.img --old 4321 --new 1234 >/dev/null && ok "change-pin back (counter restored)" || bad "change-pin back"
grep -q "auth *3/3" <<<"$(J card pin-status card.img)" && ok "pin-status 3/3 after a correct VERIFY" || bad "pin-status"

# killed in the middle of personalisation: the same command finishes it
for i in 1 2 3; do
  R=$(J --json resident add --ext-id K$i --name "中断　$i" --kana チュウダン --address "東京都清瀬市" --birth 1990-0$i-15 --sex 2 --muni 132217 | rid)
  J card create --out k$i.img >/dev/null
  # not through J(): a function in the background is a subshell, and
  # its PID is not jpki's
  "$JPKI" --now "$NOW" card personalize k$i.img --resident "$R" --auth-pin 1234 --sign-pin ABC123 >/dev/null 2>&1 &
  BG_PID=$!
  sleep "0.$((i * 2))"
  kill -KILL "$BG_PID" 2>/dev/null || true
  wait "$BG_PID" 2>/dev/null || true
  BG_PID=""
  if { J card personalize k$i.img --resident "$R" --auth-pin 1234 --sign-pin ABC123 &&
       J card sign k$i.img --key sign --pin ABC123 --in data --out k.sig &&
       J card read-cert sign k$i.img --pin ABC123 --out k.pem &&
       openssl x509 -in k.pem -pubkey -noout > kpub.pem &&
       openssl dgst -sha256 -verify kpub.pem -signature k.sig data; } > retry.out 2>&1; then
    ok "personalize killed after 0.$((i * 2)) s, rerun completes it"
  else bad "personalize retry $i: $(cat retry.out)"; fi
done

# corrupt and truncated images: refused, the file left as it was
cp card.img bad.img
printf '\x5a' | dd of=bad.img bs=1 seek=200 conv=notrunc 2>/dev/null
head -c 100 card.img > short.img
for f in bad.img short.img; do
  sum=$(sha256sum < $f)
  expect_fail "$f: card image" J card show $f
  expect_fail "$f: card image" J card serve $f --port 9
  [ "$(sha256sum < $f)" = "$sum" ] && ok "$f untouched" || bad "$f modified"
done
expect_fail "not a loopback address" J card serve card.img --host 10.1.2.3

# ------------------------------------------------------------------
# pcscd + vpcd (lib/pcsc.sh)
pcsc_up || exit 1
start_serve || { bad "serve: the card never appeared in '$READER' (is vpcd on port $VPORT?)"; exit 1; }
grep -q "serving card OJ-TEST-0001 to vpcd at 127.0.0.1:$VPORT" serve.out && ok "serve announces itself" || bad "serve.out: $(cat serve.out)"

# OpenSC: ATR, driver, PKCS#15 objects
[ "$(opensc-tool -a 2>/dev/null | tail -1)" = "3b:e0:00:ff:81:31:fe:45:14" ] && ok "opensc-tool -a: JPKI ATR" || bad "ATR: $(opensc-tool -a 2>&1)"
[ "$(opensc-tool -n 2>/dev/null | tail -1)" = "jpki" ] && ok "opensc-tool -n: jpki" || bad "opensc-tool -n: $(opensc-tool -n 2>&1)"
d=$(pkcs15-tool -D 2>&1)
[ "$(grep -c '^X.509 Certificate' <<<"$d")" = 4 ] && [ "$(grep -c '^PIN \[' <<<"$d")" = 2 ] && [ "$(grep -c '^Private RSA Key' <<<"$d")" = 2 ] &&
  ok "pkcs15-tool -D: 4 certificates, 2 PINs, 2 private keys" || bad "pkcs15-tool -D: $d"
pkcs15-tool --read-certificate 01 2>/dev/null > p15auth.pem
cmp <(openssl x509 -in p15auth.pem -outform DER) <(openssl x509 -in auth.pem -outform DER) && ok "pkcs15-tool reads the card's auth certificate" || bad "pkcs15 cert"

# PKCS#11 signatures with both keys, checked by openssl
AUTH_TOKEN="JPKI (User Authentication PIN)"
SIGN_TOKEN="JPKI (Digital Signature PIN)"
p11() { pkcs11-tool --module /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so "$@"; }
[ -e /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so ] || p11() { pkcs11-tool "$@"; }
p11 --token-label "$AUTH_TOKEN" --login --pin 1234 --sign --id 01 -m SHA256-RSA-PKCS -i data -o p11a.sig >/dev/null 2>&1
expect_ok "pkcs11-tool auth-key signature verifies" openssl dgst -sha256 -verify authpub.pem -signature p11a.sig data
# after a log-in, two more OpenSC processes still bind (empty VERIFY = 63 Cx)
b1=$(pkcs15-tool -D 2>&1); b2=$(pkcs11-tool -L 2>&1)
grep -q "User Authentication Certificate" <<<"$b1" && grep -q "$SIGN_TOKEN" <<<"$b2" && ! grep -q "not recognized" <<<"$b2" &&
  ok "two consecutive OpenSC processes after a log-in both bind" || bad "rebind: $b1 $b2"
p11 --token-label "$SIGN_TOKEN" --login --pin ABC123 --sign --id 02 -m SHA256-RSA-PKCS -i data -o p11s.sig >/dev/null 2>&1
expect_ok "pkcs11-tool sign-key signature verifies" openssl dgst -sha256 -verify signpub.pem -signature p11s.sig data

# our PC/SC transport through the same reader
ncards=$(opensc-tool -l 2>/dev/null | grep -cE '^[0-9]+ +Yes ' || true)
SEL=(--reader "$READER")
[ "$ncards" = 1 ] && SEL=(--reader auto)
out=$(J --json card show "${SEL[@]}")
grep -q '"serial": "OJ-TEST-0001"' <<<"$out" && grep -q "\"reader\": \"$READER\"" <<<"$out" && ok "jpki card show ${SEL[*]} over PC/SC" || bad "pcsc show: $out"
J card sign "${SEL[@]}" --key auth --pin 1234 --in data --out pa.sig >/dev/null
expect_ok "jpki card sign over PC/SC verifies" openssl dgst -sha256 -verify authpub.pem -signature pa.sig data
J card read-cert sign --reader "$READER" --pin ABC123 --out psign.pem >/dev/null
cmp <(openssl x509 -in psign.pem -outform DER) <(openssl x509 -in sign.pem -outform DER) && ok "read-cert sign over PC/SC (after the PIN)" || bad "pcsc read-cert sign"
expect_fail "no reader named 'No Such Reader'; readers: " J card show --reader "No Such Reader"
expect_fail "is in use by another process" J card show card.img

# APDU round trip through pcscd + vpcd (informational, not asserted)
sel=00A4040C0AD392F00026010000000001
args=(); for i in $(seq 1 200); do args+=(-s "$sel"); done
t0=$(ms); opensc-tool -s "$sel" >/dev/null 2>&1; t1=$(ms); opensc-tool "${args[@]}" >/dev/null 2>&1; t2=$(ms)
echo "# timing: 199 extra APDUs in $(( (t2 - t1) - (t1 - t0) )) ms; opensc-tool -n $(t=$(ms); opensc-tool -n >/dev/null 2>&1; echo $(( $(ms) - t ))) ms; pkcs15-tool -D $(t=$(ms); pkcs15-tool -D >/dev/null 2>&1; echo $(( $(ms) - t ))) ms"

# killing the card process during a VERIFY never gives a try back
sign_left() { J card pin-status --reader "$READER" | awk '$1 == "sign" { split($2, a, "/"); print a[1] }'; }
for mode in persisted immediate; do
  before=$(sign_left)
  ino=$(stat -c %i card.img)
  "$JPKI" card read-cert sign --reader "$READER" --pin WRONG9 --out x.pem > verify.out 2>&1 &
  BG_PID=$!
  if [ $mode = persisted ]; then
    # the image is replaced once the decremented counter is on disk
    for i in $(seq 1 3000); do [ "$(stat -c %i card.img)" != "$ino" ] && break; sleep 0.001; done
  fi
  kill -KILL "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true; SERVE_PID=""
  wait "$BG_PID" 2>/dev/null || true; BG_PID=""
  wait_for "pcscd to see the card gone" no_card 100 || true
  start_serve || { bad "serve restart"; break; }
  after=$(sign_left)
  said_wrong=0; grep -q "wrong signature PIN" verify.out && said_wrong=1
  if [ $mode = persisted ] && [ "$after" -eq $((before - 1)) ]; then
    ok "card killed right after persisting a wrong VERIFY: $before -> $after tries"
  elif [ $mode = immediate ] && [ "$after" -le "$before" ] && [ "$after" -ge $((before - 1)) ] &&
       { [ $said_wrong = 0 ] || [ "$after" -eq $((before - 1)) ]; }; then
    ok "card killed during a VERIFY: $before -> $after tries (answer seen: $said_wrong)"
  else bad "$mode: tries $before -> $after, client said: $(cat verify.out)"; fi
done
J card read-cert sign --reader "$READER" --pin ABC123 --out x.pem >/dev/null && [ "$(sign_left)" = 5 ] && ok "correct sign PIN restores 5 tries" || bad "sign PIN restore"

# three wrong authentication PINs lock the token for OpenSC
for i in 1 2 3; do p11 --token-label "$AUTH_TOKEN" --login --pin 0000 --sign --id 01 -m SHA256-RSA-PKCS -i data -o x.sig >/dev/null 2>&1 || true; done
grep -q "user PIN locked" <<<"$(pkcs11-tool -L 2>&1)" && ok "pkcs11-tool -L: user PIN locked" || bad "not locked: $(pkcs11-tool -L 2>&1)"
if p11 --token-label "$AUTH_TOKEN" --login --pin 1234 --sign --id 01 -m SHA256-RSA-PKCS -i data -o x.sig >/dev/null 2>&1; then
  bad "correct PIN accepted on a blocked card"; else ok "correct PIN refused once blocked"; fi
grep -q "auth *0/3 tries left (blocked)" <<<"$(J card pin-status --reader "$READER")" && ok "jpki card pin-status: auth blocked" || bad "pin-status blocked"

# the counter unblocks by personalising again, through PC/SC this time
out=$(J --json card personalize --reader "$READER" --resident "$A" --auth-pin 5678 --sign-pin ABC123)
grep -q '"reused": true' <<<"$out" && ok "personalize over PC/SC reuses the issued certificates" || bad "pcsc personalize: $out"
p11 --token-label "$AUTH_TOKEN" --login --pin 5678 --sign --id 01 -m SHA256-RSA-PKCS -i data -o p11b.sig >/dev/null 2>&1
expect_ok "new authentication PIN works in OpenSC" openssl dgst -sha256 -verify authpub.pem -signature p11b.sig data

# SIGTERM stops serve cleanly; the reader empties
kill -TERM "$SERVE_PID"; rc=0; wait "$SERVE_PID" || rc=$?; SERVE_PID=""
[ $rc -eq 0 ] && grep -q "stopped:" serve.err && ok "serve stops on SIGTERM (exit 0)" || bad "serve exit $rc: $(tail -3 serve.err)"
wait_for "the reader to empty" no_card 100 && ok "card removed from '$READER'" || bad "card still present"
finish
