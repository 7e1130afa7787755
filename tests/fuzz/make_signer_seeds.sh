#!/usr/bin/env bash
# Regenerate the seed corpus of fuzz_signer_req (tests/fuzz/corpus/
# fuzz_signer_req/seed_*) from the fixture's seeds of the other targets:
#   bash tests/fuzz/make_signer_seeds.sh
# cert: fuzz_x509_tbs/valid_sign and valid_auth; crl: the TBSCertList of
# fuzz_crl/seed_fixture_der; ocsp: the ResponseData of fuzz_ocsp_resp/good
# and good_sha256; audit: a checkpoint; and near misses of each (other
# root, bad version, op, label, lengths).  Found inputs (found_*) are kept.
set -euo pipefail
C=$(cd "$(dirname "$0")" && pwd)/corpus
mkdir -p "$C/fuzz_signer_req"
rm -f "$C/fuzz_signer_req"/seed_*
python3 - "$C" <<'PY'
import sys, os
C = sys.argv[1]
D = os.path.join(C, "fuzz_signer_req")

def dlen(b, i):
    n = b[i]
    if n < 0x80:
        return n, i + 1
    k = n & 0x7f
    return int.from_bytes(b[i + 1:i + 1 + k], "big"), i + 1 + k

def elem(b, i):
    n, j = dlen(b, i + 1)
    return b[i:j + n], j + n

def content(b, i=0):
    return dlen(b, i + 1)[1]

def req(op, label, payload, ver=1):
    l = label.encode()
    return bytes([ver, op, len(l)]) + l + len(payload).to_bytes(4, "big") + payload

def put(name, data):
    open(os.path.join(D, "seed_" + name), "wb").write(data)

rd = lambda *p: open(os.path.join(C, *p), "rb").read()
sign_tbs, auth_tbs = rd("fuzz_x509_tbs", "valid_sign"), rd("fuzz_x509_tbs", "valid_auth")
crl = rd("fuzz_crl", "seed_fixture_der")
crl_tbs, _ = elem(crl, content(crl))
def ocsp_tbs(b):
    i = content(b)
    _, i = elem(b, i)            # responseStatus
    i = dlen(b, i + 1)[1]        # [0]
    i = dlen(b, i + 1)[1]        # ResponseBytes
    _, i = elem(b, i)            # responseType
    i = dlen(b, i + 1)[1]        # OCTET STRING
    t, _ = elem(b, content(b, i))
    return t
o1, o2 = ocsp_tbs(rd("fuzz_ocsp_resp", "good")), ocsp_tbs(rd("fuzz_ocsp_resp", "good_sha256"))
cp = b"openjpki audit checkpoint v1\n42\n" + b"ab" * 32 + b"\n2026-11-25T01:00:00Z\n"
put("cert_sign", req(3, "sign-root", sign_tbs))
put("cert_auth", req(3, "auth-root", auth_tbs))
put("cert_other_root", req(3, "sign-root", auth_tbs))
put("cert_audit_label", req(3, "audit", sign_tbs))
put("cert_truncated", req(3, "sign-root", sign_tbs[:-7]))
put("crl_sign", req(4, "sign-root", crl_tbs))
put("crl_other_root", req(4, "auth-root", crl_tbs))
put("ocsp_good", req(5, "sign-root", o1))
put("ocsp_good_sha256", req(5, "sign-root", o2))
put("ocsp_other_root", req(5, "auth-root", o1))
put("audit", req(6, "audit", cp))
put("audit_bad_time", req(6, "audit", cp.replace(b"T01", b"X01")))
put("pubkey", req(1, "sign-root", b""))
put("generate", req(2, "audit", b""))
put("bad_version", req(3, "sign-root", sign_tbs, ver=2))
put("bad_op", bytes([1, 9]) + req(3, "sign-root", b"\x30")[2:])
put("bad_label", req(3, "Sign/root", sign_tbs))
put("long_payload_len", req(3, "sign-root", sign_tbs)[:-1])
put("trailing", req(3, "sign-root", sign_tbs) + b"\0")
PY
ls "$C/fuzz_signer_req" | wc -l
