#!/usr/bin/env bash
# Regenerate the seed corpus of fuzz_tsa_req (tests/fuzz/corpus/fuzz_tsa_req/
# seed_*): TimeStampReqs as `openssl ts -query` makes them (SHA-256, -384,
# -512, SHA-1, with and without nonce, certReq, a policy), and broken ones
# (truncated, trailing bytes, BER lengths, an extension).
#   bash tests/fuzz/make_tsa_seeds.sh
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
D=$SRC/tests/fuzz/corpus/fuzz_tsa_req
mkdir -p "$D"
rm -f "$D"/seed_*
T=$(mktemp -d /tmp/jpki-seeds.XXXXXX)
trap 'rm -rf "$T"' EXIT
printf 'seed data\n' >"$T/data"
q() { local name=$1; shift; openssl ts -query -data "$T/data" "$@" -out "$D/seed_$name" 2>/dev/null; }
q sha256_cert -sha256 -cert
q sha256_nonce -sha256
q sha384 -sha384 -no_nonce
q sha512_cert -sha512 -cert
q sha1 -sha1 -cert
q policy_ours -sha256 -tspolicy "$(sed -n 's/.*JPKI_TSA_POLICY_OID "\(.*\)"/\1/p' "$SRC/include/openjpki/tsa.h")"
q policy_other -sha256 -tspolicy 1.2.3.4
head -c 20 "$D/seed_sha256_cert" >"$D/seed_truncated"
{ cat "$D/seed_sha256_cert"; printf '\0\0'; } >"$D/seed_trailing"
# the outer SEQUENCE with a long-form length (BER, not DER)
python3 - "$D/seed_sha256_nonce" "$D/seed_ber_length" <<'PY'
import sys
b = open(sys.argv[1], 'rb').read()
assert b[0] == 0x30 and b[1] < 0x80
open(sys.argv[2], 'wb').write(bytes([0x30, 0x81, b[1]]) + b[2:])
PY
# an extension (refused: unacceptedExtension): [0] Extensions appended
python3 - "$D/seed_sha384" "$D/seed_extension" <<'PY'
import sys
b = open(sys.argv[1], 'rb').read()
# extensions [0] IMPLICIT SEQUENCE OF Extension { 1.2.3.4, OCTET STRING }
e = bytes.fromhex('06032a0304') + bytes.fromhex('0403010203')
e = bytes([0x30, len(e)]) + e
ext = bytes([0xa0, len(e)]) + e
body = b[2:] + ext
open(sys.argv[2], 'wb').write(bytes([0x30, len(body)]) + body)
PY
printf '' >"$D/seed_empty"
printf '\x30\x00' >"$D/seed_empty_sequence"
ls "$D" | wc -l
