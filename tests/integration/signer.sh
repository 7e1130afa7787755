#!/usr/bin/env bash
# jpkid with the CA's keys in jpki-signer (docs/design.md, "The signer
# process"), once over file keys and once over a SoftHSM2 token:
# issuance, CRLs and OCSP through the signer pass openssl; jpkid's memory
# holds none of the file root key's private components (the signer's
# does: the scan is shown to work) and jpkid maps no PKCS#11 module; a
# signer killed with SIGKILL is started again and jpkid keeps issuing;
# every signature is in the signer's log.  Then a signer on a Unix socket
# refuses a used serial, a wrong issuer, policy, keyUsage, validity past
# the root, a CRL or OCSP answer for the other root, malformed requests,
# and requests over its rate; and jpkid answers 503 when its signer is
# over its rate.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
SIGNER=$JPKI_BIN/jpki-signer
TOOL="python3 $HERE/lib/signer_tool.py"
MODULE=${JPKI_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
[ -r "$MODULE" ] || { bad "no PKCS#11 module $MODULE (scripts/install-deps.sh installs softhsm2)"; finish; }
mkdir -p "$T/tokens"
export SOFTHSM2_CONF=$T/softhsm2.conf
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$T" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label jpki-signer --so-pin 87654321 --pin 2468 >/dev/null
printf '2468\n' >"$T/pin"; chmod 600 "$T/pin"
export JPKID_ADMIN_PASSWORD=admin-password-1
# as root the signer must drop to a user of its own: nobody here, who
# then needs the token's files (read at each signature)
AS_USER=() USER_ARG=()
if [ "$(id -u)" = 0 ]; then
  AS_USER=(--signer-arg --user --signer-arg nobody) USER_ARG=(--user nobody)
  chmod 711 "$T"
fi

signer_pid() { cat /proc/"$JPKID_PID"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -m1 .; }
setup_ca() { # DIR [init flags...]
  local dir=$1; shift
  JPKI_DIR=$dir "$JPKI" ca init "$@" >/dev/null
  JPKI_DIR=$dir "$JPKI" muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
  # the audit key exists before jpkid runs (the signer may make it too)
  JPKI_DIR=$dir "$JPKI" audit checkpoint >/dev/null
}
issue_one() { # EXT-ID OUTPREFIX: a resident, a card, both certificates over the API
  req admin POST /api/v1/residents "{\"ext_id\":\"$1\",\"name\":\"山田　太郎\",\"kana\":\"ヤマダタロウ\",\"address\":\"東京都清瀬市上清戸１丁目\",\"birth\":\"1980-12-31\",\"sex\":1,\"muni\":\"132217\"}"
  local rid; rid=$(jq -r .id <<<"$BODY")
  req admin POST /api/v1/cards "{\"serial\":\"CARD$1\",\"resident\":$rid}"
  newkey "$2_s"; newkey "$2_a"
  req admin POST /api/v1/issue "$(issue_body admin "$rid" "CARD$1" "$2_s.key" "$2_a.key")"
  jq -r .sign.pem <<<"$BODY" >"$2_sign.pem" 2>/dev/null || true
  jq -r .auth.pem <<<"$BODY" >"$2_auth.pem" 2>/dev/null || true
}

run_kind() { # KIND DIR
  local kind=$1 dir=$2 R=$2/roots
  start_jpkid "$dir" --signer "${AS_USER[@]}" || { bad "$kind: jpkid --signer did not start: $(tail -3 "$T/jpkid.err")"; return; }
  local sp; sp=$(signer_pid)
  [ -n "$sp" ] && grep -q "jpki-signer" /proc/"$sp"/cmdline && ok "$kind: jpki-signer runs as jpkid's child" || bad "$kind: no signer child"
  login admin admin admin-password-1; check 200 "$kind: admin logs in"
  issue_one "${kind}1" "${kind}1"; check 201 "$kind: issuance through the signer"
  expect_ok "$kind: openssl verify sign" openssl verify -CAfile "$R/sign-root.pem" "${kind}1_sign.pem"
  expect_ok "$kind: openssl verify auth" openssl verify -CAfile "$R/auth-root.pem" "${kind}1_auth.pem"
  local sn; sn=$(openssl x509 -in "${kind}1_sign.pem" -noout -serial | cut -d= -f2)
  grep -q "cert sign-root serial=$sn " "$dir/signer/signer.log" && ok "$kind: the signer logged the certificate" || bad "$kind: log: $(tail -3 "$dir/signer/signer.log")"
  # OCSP with a nonce: signed live through the signer
  out=$(openssl ocsp -issuer "$R/sign-root.pem" -cert "${kind}1_sign.pem" -url "$BASE/ocsp" -CAfile "$R/sign-root.pem" -timeout 20 2>&1)
  grep -q "${kind}1_sign.pem: good" <<<"$out" && grep -q "Response verify OK" <<<"$out" && ok "$kind: OCSP through the signer" || bad "$kind: ocsp: $out"
  # revocation, then the CRL the refresher signs
  req admin POST "/api/v1/certificates/$sn/revoke" '{"reason":"keyCompromise"}'
  curl -sf "$BASE/crl/sign/132217.crl" -o "$kind.crl" || true
  expect_ok "$kind: openssl crl verifies jpkid's CRL" openssl crl -inform DER -in "$kind.crl" -CAfile "$R/sign-root.pem" -noout
  grep -q " crl sign-root number=" "$dir/signer/signer.log" && ok "$kind: the signer logged a CRL" || bad "$kind: no crl in the log"
  if [ "$kind" = file ]; then
    openssl rsa -in "$dir/keys/sign-root.key.pem" -noout -text >key.txt 2>/dev/null
    n=$($TOOL scan "$JPKID_PID" key.txt)
    [ "$n" = 0 ] && ok "file: jpkid's memory holds no piece of the root's d, p, q" || bad "file: $n pieces of the root key in jpkid's memory"
    n=$($TOOL scan "$sp" key.txt)
    [ "$n" -gt 0 ] && ok "file: the scan finds the key in the signer ($n pieces)" || bad "file: the scan found nothing in the signer: it proves nothing"
  else
    ! grep -q softhsm /proc/"$JPKID_PID"/maps && ok "token: no PKCS#11 module mapped in jpkid" || bad "token: jpkid maps $(grep -m1 softhsm /proc/"$JPKID_PID"/maps)"
    grep -q softhsm /proc/"$sp"/maps && ok "token: the signer maps the module" || bad "token: the signer does not map softhsm"
  fi
  grep -q "^NoNewPrivs:[[:space:]]*1" /proc/"$sp"/status && grep -q "^Seccomp:[[:space:]]*2" /proc/"$sp"/status \
    && ok "$kind: the signer runs with no_new_privs under a seccomp filter" || bad "$kind: signer status: $(grep -E 'NoNewPrivs|Seccomp' /proc/"$sp"/status)"
  if [ "$(id -u)" = 0 ]; then
    [ "$(stat -c %U /proc/"$sp")" = nobody ] && ok "$kind: the signer dropped to nobody" || bad "$kind: signer runs as $(stat -c %U /proc/"$sp")"
  fi
  # one worker (and one link from jpkid) per CPU, each signing at once
  local want; want=$(nproc); [ "$want" -gt 16 ] && want=16
  [ "$(ls /proc/"$sp"/task | wc -l)" -ge "$want" ] && grep -q -- "--workers.$want" <(tr '\0' ' ' </proc/"$sp"/cmdline) \
    && ok "$kind: the signer serves $want requests at once (threads under the filter)" || bad "$kind: signer threads $(ls /proc/"$sp"/task | wc -l), cmdline $(tr '\0' ' ' </proc/"$sp"/cmdline)"
  # the signer dies: jpkid starts another and keeps issuing
  kill -9 "$sp"
  issue_one "${kind}2" "${kind}2"; check 201 "$kind: issuance after kill -9 of the signer"
  expect_ok "$kind: openssl verify after the restart" openssl verify -CAfile "$R/sign-root.pem" "${kind}2_sign.pem"
  local sp2; sp2=$(signer_pid)
  [ -n "$sp2" ] && [ "$sp2" != "$sp" ] && ok "$kind: a new signer ($sp2 after $sp)" || bad "$kind: signer pid $sp2 after $sp"
  out=$(openssl ocsp -issuer "$R/auth-root.pem" -cert "${kind}2_auth.pem" -url "$BASE/ocsp" -CAfile "$R/auth-root.pem" -timeout 20 2>&1)
  grep -q "${kind}2_auth.pem: good" <<<"$out" && grep -q "Response verify OK" <<<"$out" && ok "$kind: OCSP after the restart" || bad "$kind: ocsp 2: $out"
  stop_jpkid
  sleep 0.2
  ! kill -0 "$sp2" 2>/dev/null && ok "$kind: the signer stops with jpkid" || bad "$kind: signer $sp2 outlived jpkid"
  expect_ok "$kind: audit verify after jpkid" env JPKI_DIR="$dir" "$JPKI" audit verify
}

setup_ca "$T/fca"
run_kind file "$T/fca"
setup_ca "$T/pca" --pkcs11 "$MODULE" --token jpki-signer --pin-file "$T/pin"
[ "$(id -u)" = 0 ] && chown -R nobody "$T/tokens"
run_kind token "$T/pca"
expect_fail "jpki ca init" "$JPKI_BIN/jpkid" --dir "$T/none" --listen 127.0.0.1:0 --signer "${AS_USER[@]}"
# jpkid stopping at once sends SIGTERM to a signer child that may not
# have reached exec yet: it must die of it, not hang (seen once in CI)
hung=0
for _ in $(seq 1 20); do
  rc=0
  timeout -k 2 20 "$JPKI_BIN/jpkid" --dir "$T/none" --listen 127.0.0.1:0 --signer "${AS_USER[@]}" >/dev/null 2>&1 || rc=$?
  [ $rc -lt 124 ] || hung=$((hung + 1))
done
[ $hung = 0 ] && ok "20 starts without a CA all end" || bad "$hung of 20 starts without a CA hung"

# ---- refusals, by a signer on a Unix socket over the file CA ----
"$SIGNER" --dir "$T/fca" --listen "$T/s.sock" --rate 1000 --burst 1000 "${USER_ARG[@]}" 2>"$T/signer.err" &
SPID=$!
for _ in $(seq 1 100); do [ -S "$T/s.sock" ] && break; sleep 0.05; done
S() { "$SIGNER" request --connect "$T/s.sock" "$@" 2>&1 || true; }
R=$T/fca/roots
$TOOL tbs file1_sign.pem used.tbs
$TOOL tbs file1_auth.pem auth.tbs
out=$(S --op cert --label sign-root --in used.tbs)
grep -q "^refused: .*serial number already used" <<<"$out" && ok "refused: a serial already used (from the log)" || bad "used serial: $out"
out=$(S --op cert --label sign-root --in auth.tbs)
grep -q "^refused: .*issuer must be" <<<"$out" && ok "refused: the other root as issuer" || bad "wrong issuer: $out"
# the authentication certificates' test policy OID in a signature certificate
oid_hex() { openssl asn1parse -genstr "OID:$1" -out /dev/stdout -noout 2>/dev/null | xxd -p | tr -d '\n'; }
$TOOL patch used.tbs policy.tbs "$(oid_hex 1.2.392.200149.8.5.1.0.20)" "$(oid_hex 1.2.392.200149.8.5.1.0.30)"
out=$(S --op cert --label sign-root --in policy.tbs)
grep -q "^refused: .*polic" <<<"$out" && ok "refused: a wrong certificate policy" || bad "policy: $out"
# keyUsage: digitalSignature + nonRepudiation (c0) becomes + keyEncipherment (e0)
kuhex=$(xxd -p used.tbs | tr -d '\n' | grep -o '0603551d0f0101ff0404030206[0-9a-f][0-9a-f]')
$TOOL patch used.tbs ku.tbs "$kuhex" "${kuhex:0:${#kuhex}-2}e0"
out=$(S --op cert --label sign-root --in ku.tbs)
grep -q "^refused: .*keyUsage" <<<"$out" && ok "refused: a wrong keyUsage" || bad "keyUsage: $out"
# notAfter one year past the root's (same encoding, same 14:59:59Z)
rna=$(openssl x509 -in "$R/sign-root.pem" -noout -enddate | cut -d= -f2)
lna=$(openssl x509 -in file1_sign.pem -noout -enddate | cut -d= -f2)
ly=$(date -u -d "$lna" +%y%m%d); ny=$(( $(date -u -d "$rna" +%y) + 1 ))$(date -u -d "$lna" +%m%d)
$TOOL patch used.tbs late.tbs "$(printf '%s145959Z' "$ly" | xxd -p)" "$(printf '%s145959Z' "$ny" | xxd -p)"
out=$(S --op cert --label sign-root --in late.tbs)
grep -q "^refused: .*past the root" <<<"$out" && ok "refused: validity past the root ($ny)" || bad "validity: $out"
# CRL and OCSP answers go to their own root only
$TOOL crltbs file.crl sign.crltbs
out=$(S --op crl --label auth-root --in sign.crltbs)
grep -q "^refused: .*CRL issuer is not the root" <<<"$out" && ok "refused: a sign CRL for auth-root" || bad "crl: $out"
out=$(S --op crl --label sign-root --in sign.crltbs); grep -q "^ok 256 octets" <<<"$out" && ok "the same CRL for sign-root is signed" || bad "crl ok: $out"
openssl ocsp -issuer "$R/sign-root.pem" -cert file2_sign.pem -reqout oreq.der 2>/dev/null
JPKI_DIR=$T/fca "$JPKI" ocsp --req oreq.der --out oresp.der >/dev/null
$TOOL ocsptbs oresp.der resp.tbs
out=$(S --op ocsp --label auth-root --in resp.tbs)
grep -q "^refused: .*OCSP responder is not the root" <<<"$out" && ok "refused: a sign OCSP answer for auth-root" || bad "ocsp: $out"
out=$(S --op ocsp --label sign-root --in resp.tbs); grep -q "^ok 256 octets" <<<"$out" && ok "the same OCSP answer for sign-root is signed" || bad "ocsp ok: $out"
out=$(S --op cert --label audit --in used.tbs); grep -q "^refused: " <<<"$out" && ok "refused: a certificate for the audit key" || bad "audit label: $out"
printf 'openjpki audit checkpoint v2\n1\n' >cp2.txt
out=$(S --op audit --label audit --in cp2.txt); grep -q "^refused: .*not an audit checkpoint" <<<"$out" && ok "refused: a checkpoint of another shape" || bad "audit shape: $out"
# malformed: garbage as a TBS, a bad version, an unknown op, a bad label, a zero-length frame
printf '\x30\x03\x02\x01' >junk.der
out=$(S --op cert --label sign-root --in junk.der); grep -q "^malformed: \|^refused: " <<<"$out" && ok "refused: garbage as a TBSCertificate" || bad "junk: $out"
printf '\x02\x03\x09sign-root\x00\x00\x00\x01\x30' >v2.bin
out=$(S --raw --in v2.bin); grep -q "^malformed: .*version" <<<"$out" && ok "refused: protocol version 2" || bad "version: $out"
printf '\x01\x09\x09sign-root\x00\x00\x00\x01\x30' >op9.bin
out=$(S --raw --in op9.bin); grep -q "^malformed: .*unknown request" <<<"$out" && ok "refused: an unknown request" || bad "op: $out"
printf '\x01\x03\x09Sign/root\x00\x00\x00\x01\x30' >label.bin
out=$(S --raw --in label.bin); grep -q "^malformed: .*label" <<<"$out" && ok "refused: a bad key label" || bad "label: $out"
printf '\x01\x03\x09sign-root\x00\x00\x00\x09\x30' >len.bin
out=$(S --raw --in len.bin); grep -q "^malformed: .*payload length" <<<"$out" && ok "refused: a payload length past the frame" || bad "length: $out"
out=$(python3 -c '
import socket,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"\0\0\0\0")
d=s.recv(4096); print(d[10:].decode(errors="replace"), "| closed" if s.recv(1)==b"" else "")' "$T/s.sock" 2>&1 || true)
grep -q "frame of 0 octets.*closed" <<<"$out" && ok "refused: a zero-length frame, connection closed" || bad "frame: $out"
out=$(S --op pubkey --label sign-root); grep -q "^ok " <<<"$out" && ok "the signer still serves after all that" || bad "after refusals: $out"
kill "$SPID"; wait "$SPID" 2>/dev/null || true

# ---- several requests at once: a serial is signed once ----
# 6 clients at once send one TBSCertificate (a serial never used) to 4
# workers, 40 rounds: each round exactly one signature, 5 refusals as
# used, one log line.  A check and a mark of the serial that were not one
# step would let two workers both sign it.
"$SIGNER" --dir "$T/fca" --listen "$T/c.sock" --workers 4 --rate 1000000 --burst 1000000 "${USER_ARG[@]}" 2>"$T/signer-c.err" &
SPID=$!
# a ThreadSanitizer build runs one thread of its own besides the workers
NT=4
grep -q '^JPKI_TSAN:BOOL=ON' "$JPKI_BUILD/CMakeCache.txt" 2>/dev/null && NT=5
for _ in $(seq 1 100); do [ -S "$T/c.sock" ] && [ "$(ls /proc/"$SPID"/task | wc -l)" = $NT ] && break; sleep 0.05; done
[ "$(ls /proc/"$SPID"/task | wc -l)" = $NT ] && grep -q "4 requests at once" "$T/signer-c.err" \
  && ok "a signer with --workers 4 runs 4 threads under its filter" || bad "workers: $(ls /proc/"$SPID"/task | wc -l) threads; $(cat "$T/signer-c.err")"
oldsn=$(openssl x509 -in file1_sign.pem -noout -serial | cut -d= -f2)
once=0 report=
for r in $(seq 16 55); do
  newsn=${oldsn:0:${#oldsn}-2}$(printf %02X "$r")
  [ "$newsn" = "$oldsn" ] && newsn=${oldsn:0:${#oldsn}-2}FF
  $TOOL patch used.tbs "c$r.tbs" "$oldsn" "$newsn"
  pids=()
  for k in 1 2 3 4 5 6; do
    "$SIGNER" request --connect "$T/c.sock" --op cert --label sign-root --in "c$r.tbs" >"c$r.$k.out" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  nok=$(cat "c$r".*.out | grep -c '^ok 256 octets' || true)
  nused=$(cat "c$r".*.out | grep -c '^refused: .*serial number already used' || true)
  nlog=$(grep -c "cert sign-root serial=$newsn " "$T/fca/signer/signer.log" || true)
  if [ "$nok" = 1 ] && [ "$nused" = 5 ] && [ "$nlog" = 1 ]; then once=$((once + 1)); else report="$report [$newsn: $nok ok, $nused used, $nlog logged]"; fi
done
[ "$once" = 40 ] && ok "6 requests at once for one serial: one signature, 5 refused, 1 log line (40 rounds)" || bad "concurrent serial:$report"
kill "$SPID"; wait "$SPID" 2>/dev/null || true

# ---- the rate: 3 at once, then 1 a second ----
"$SIGNER" --dir "$T/fca" --listen "$T/r.sock" --rate 1 --burst 3 "${USER_ARG[@]}" 2>"$T/signer-r.err" &
SPID=$!
for _ in $(seq 1 100); do [ -S "$T/r.sock" ] && break; sleep 0.05; done
printf 'openjpki audit checkpoint v1\n7\n%s\n%s\n' "$(printf x | sha256sum | cut -c1-64)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >cp.txt
out=$("$SIGNER" request --connect "$T/r.sock" --op audit --label audit --in cp.txt --count 8 2>&1 || true)
[ "$(head -3 <<<"$out" | grep -c '^ok 256 octets')" = 3 ] && grep -q "^busy: .*rate" <<<"$out" && ok "refused: requests over the rate (busy)" || bad "rate: $out"
grep -q " audit audit number=7 " "$T/fca/signer/signer.log" && ok "checkpoints logged" || bad "audit log"
kill "$SPID"; wait "$SPID" 2>/dev/null || true

# ---- jpkid answers 503 when its signer is over its rate ----
# (its start-up signing, OCSP pre-signing and CRLs, uses the burst up)
start_jpkid "$T/fca" --signer "${AS_USER[@]}" --signer-arg --rate --signer-arg 0.001 --signer-arg --burst --signer-arg 2
login admin admin admin-password-1
issue_one rate1 rate1; check 503 "issuance over the signer's rate: 503"
grep -qi "^Retry-After:" "$T/hdr" && grep -q '"busy"' <<<"$BODY" && ok "503 with Retry-After and code busy" || bad "busy answer: $(cat "$T/hdr") $BODY"
stop_jpkid
# a sanitizer build's report in any signer's own log fails the test
# (jpkid's, with the signers it started, is checked by stop_jpkid)
san=$(grep -l "Sanitizer" "$T"/signer*.err 2>/dev/null || true)
[ -z "$san" ] && ok "no sanitizer report from the standalone signers" || bad "sanitizer report: $(head -c 3000 $san)"
finish
