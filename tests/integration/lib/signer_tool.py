#!/usr/bin/env python3
"""Helpers of tests/integration/signer.sh (stdlib only).

tbs CERT.pem OUT          the TBSCertificate of a PEM certificate
crltbs CRL.der OUT        the TBSCertList of a DER CRL
ocsptbs RESP.der OUT      the ResponseData of a DER OCSPResponse
patch IN OUT HEXOLD HEXNEW  replace the one occurrence of HEXOLD (same length)
scan PID KEYTEXT          count, in the readable mappings of PID, 24-octet
                          pieces of the RSA private key's d, p and q (from
                          `openssl rsa -text`), big- and little-endian
"""
import base64
import re
import sys


def der_len(b, i):
    n = b[i]
    if n < 0x80:
        return n, i + 1
    k = n & 0x7F
    return int.from_bytes(b[i + 1:i + 1 + k], "big"), i + 1 + k


def first_elem(b, i):
    """(start, end) of the element at i."""
    n, j = der_len(b, i + 1)
    return i, j + n


def inner(b):
    """the content of the outer SEQUENCE"""
    n, j = der_len(b, 1)
    return j


def pem_der(path):
    t = open(path).read()
    m = re.search(r"-----BEGIN [A-Z ]+-----(.*?)-----END", t, re.S)
    return base64.b64decode("".join(m.group(1).split()))


def main():
    cmd = sys.argv[1]
    if cmd in ("tbs", "crltbs"):
        b = pem_der(sys.argv[2]) if cmd == "tbs" else open(sys.argv[2], "rb").read()
        s, e = first_elem(b, inner(b))
        open(sys.argv[3], "wb").write(b[s:e])
    elif cmd == "ocsptbs":
        b = open(sys.argv[2], "rb").read()
        # OCSPResponse { status, [0] { SEQ { oid, OCTET STRING { Basic } } } }
        i = inner(b)
        _, i = first_elem(b, i)  # responseStatus
        i = der_len(b, i + 1)[1]  # [0]
        i = der_len(b, i + 1)[1]  # ResponseBytes SEQ
        _, i = first_elem(b, i)  # responseType
        i = der_len(b, i + 1)[1]  # OCTET STRING content = BasicOCSPResponse
        j = der_len(b, i + 1)[1]
        s, e = first_elem(b, j)
        open(sys.argv[3], "wb").write(b[s:e])
    elif cmd == "patch":
        b = open(sys.argv[2], "rb").read()
        old, new = bytes.fromhex(sys.argv[4]), bytes.fromhex(sys.argv[5])
        assert len(old) == len(new) and b.count(old) == 1, (b.count(old), sys.argv[4])
        open(sys.argv[3], "wb").write(b.replace(old, new))
    elif cmd == "scan":
        pid, text = sys.argv[2], open(sys.argv[3]).read()
        needles = []
        for name in ("privateExponent", "prime1", "prime2"):
            m = re.search(name + r":\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
            v = bytes.fromhex(re.sub(r"[\s:]", "", m.group(1))).lstrip(b"\0")
            mid = len(v) // 2
            piece = v[mid:mid + 24]
            needles += [piece, piece[::-1]]
        found = 0
        chunk, keep = 64 << 20, max(len(n) for n in needles) - 1
        with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb", 0) as mem:
            for line in maps:
                f = line.split()
                if "r" not in f[1] or (len(f) > 5 and f[5] in ("[vvar]", "[vsyscall]")):
                    continue
                lo, hi = (int(x, 16) for x in f[0].split("-"))
                # a ThreadSanitizer build reserves terabytes of shadow
                # (metadata, never the program's bytes); a program's own
                # heap and stack mappings here are far below 4 GiB
                if hi - lo > 4 << 30:
                    continue
                # read in pieces, each overlapping the last by a needle
                tail = b""
                at = lo
                while at < hi:
                    try:
                        mem.seek(at)
                        data = mem.read(min(chunk, hi - at))
                    except (OSError, ValueError, OverflowError):
                        break
                    if not data:
                        break
                    data = tail + data
                    found += sum(data.count(n) for n in needles)
                    tail = data[-keep:]
                    at += chunk
        print(found)
    else:
        sys.exit("unknown command " + cmd)


main()
