#!/usr/bin/env bash
# The README walkthrough (what `make run` runs) must keep working.
. "$(dirname "$0")/lib.sh"
if out=$(bash "$JPKI_SRC/scripts/walkthrough.sh" "$JPKI" "$T/wt" 2>&1); then
  ok "walkthrough ran"
else
  bad "walkthrough failed: $(tail -20 <<<"$out")"
fi
grep -q "CMS Verification successful" <<<"$out" && ok "openssl verifies the card's CMS" || bad "no openssl verification"
grep -q "^VALID signature" <<<"$out" && ok "jpki verify accepts before the move" || bad "no VALID"
grep -q "^VALID: 1 of 1 signature(s) valid" <<<"$out" && ok "jpki pdf verify accepts the card's PDF signature" || bad "no VALID PDF"
grep -q "Signature Validation: Signature is Valid." <<<"$out" && ok "pdfsig accepts it" || bad "pdfsig"
grep -q "^VALID XML signature" <<<"$out" && ok "jpki xml verify accepts the card's XML signature" || bad "no VALID XML"
grep -q "SignedInfo References (ok/all): 1/1" <<<"$out" && ok "xmlsec1 --verify accepts it" || bad "xmlsec1"
grep -q "revoked: revoked .* reason affiliationChanged" <<<"$out" && ok "jpki verify refuses after the move" || bad "no revoked verdict"
grep -q "Reason: affiliationChanged" <<<"$out" && ok "OCSP shows the revocation" || bad "no revocation"
grep -q "no signature certificate: signature certificate (署名用電子証明書) not issued under age 15" <<<"$out" && ok "child gets no signature certificate" || bad "child"
grep -q "audit log intact" <<<"$out" && ok "audit intact" || bad "audit"
finish
