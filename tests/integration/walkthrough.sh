#!/usr/bin/env bash
# The README walkthrough (what `make run` runs) must keep working.
. "$(dirname "$0")/lib.sh"
if out=$(bash "$JPKI_SRC/scripts/walkthrough.sh" "$JPKI" "$T/wt" 2>&1); then
  ok "walkthrough ran"
else
  bad "walkthrough failed: $(tail -20 <<<"$out")"
fi
grep -q "Verified OK" <<<"$out" && ok "card signature verified" || bad "no verified signature"
grep -q "Reason: affiliationChanged" <<<"$out" && ok "OCSP shows the revocation" || bad "no revocation"
grep -q "no signature certificate: signature certificate (署名用電子証明書) not issued under age 15" <<<"$out" && ok "child gets no signature certificate" || bad "child"
grep -q "audit log intact" <<<"$out" && ok "audit intact" || bad "audit"
finish
