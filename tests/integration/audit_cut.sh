#!/usr/bin/env bash
# An audit log that cannot be cut unseen: every revocation is checkpointed
# (the chain's head signed with the CA's audit key, appended to
# DIR/audit/checkpoints outside the database), and `jpki audit verify`
# reports each cut the attack made: records deleted from the end with the
# append-only trigger dropped (a keyCompromise revocation among them) and
# the revoked certificate's row deleted; the row alone; a forged or
# removed checkpoint.  jpkid checkpoints after the revocations it makes.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
export JPKI_DIR=$T/ca
NOW=2026-11-25T01:00:00Z
J() { "$JPKI" --now "$NOW" "$@"; }
DB=$T/ca/jpki.db

J ca init >/dev/null
J muni add 132217 --pref 東京都 --city 清瀬市 --pref-roman Tokyo-to --city-roman Kiyose-shi >/dev/null
A=$(J --json resident add --ext-id A1 --name "山田　太郎" --kana ヤマダタロウ --address "東京都清瀬市上清戸１丁目" --birth 1980-12-31 --sex 1 --muni 132217 | jq -r .id)
J resident card "$A" --serial "CARD$A" >/dev/null
newkey a_s; newkey a_a
J issue --resident "$A" --card "CARD$A" --sign-key a_s.pub --auth-key a_a.pub --out-dir a >/dev/null
S=$(openssl x509 -in a/sign.pem -noout -serial | cut -d= -f2)
SA=$(openssl x509 -in a/auth.pem -noout -serial | cut -d= -f2)
expect_ok "keyCompromise revocation" J revoke "$S" --reason keyCompromise
[ -s "$T/ca/audit/checkpoints" ] && [ -s "$T/ca/audit/key.pub.pem" ] && ok "the revocation was checkpointed outside the database" || bad "no checkpoint file"
out=$(J --json audit verify)
jq -e '.ok and .checkpoints >= 1 and .revocations_checked == 1' <<<"$out" >/dev/null && ok "intact: $(jq -c . <<<"$out")" || bad "verify: $out"
# the checkpoint verifies with openssl and the published public key
line=$(tail -1 "$T/ca/audit/checkpoints")
read -r _ seq hash at sig <<<"$line"
printf 'openjpki audit checkpoint v1\n%s\n%s\n%s\n' "$seq" "$hash" "$at" >tbs
base64 -d <<<"$sig" >sig.bin
openssl dgst -sha256 -verify "$T/ca/audit/key.pub.pem" -signature sig.bin tbs >/dev/null 2>&1 && ok "openssl verifies the checkpoint's signature" || bad "openssl dgst -verify"

cp -a "$T/ca" "$T/clean"
# 1. the attack: drop the trigger, delete the last records (the revocation
#    among them) and the revoked certificate's row
sqlite3 "$DB" "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq >= (SELECT MAX(seq) - 1 FROM audit); DELETE FROM certificates WHERE serial = '$S';"
out=$(J audit verify 2>&1) && bad "cut accepted: $out" || { grep -q "records were cut from its end" <<<"$out" && ok "cut from the end reported: $out" || bad "cut: $out"; }
# 2. only the revoked certificate's row (gone from the CRL, OCSP unknown)
rm -rf "$T/ca"; cp -a "$T/clean" "$T/ca"
sqlite3 "$DB" "DELETE FROM certificates WHERE serial = '$S';"
out=$(J audit verify 2>&1) && bad "row deletion accepted: $out" || { grep -q "revokes certificate $S, but the certificates table has no such certificate" <<<"$out" && ok "deleted certificate row reported" || bad "row: $out"; }
# 3. the revocation undone in the table (status back to valid)
rm -rf "$T/ca"; cp -a "$T/clean" "$T/ca"
sqlite3 "$DB" "UPDATE certificates SET status = 0, reason = NULL, revoked_at = NULL WHERE serial = '$S';"
out=$(J audit verify 2>&1) && bad "un-revocation accepted: $out" || { grep -q "does not show it revoked" <<<"$out" && ok "revocation undone in the table reported" || bad "unrevoke: $out"; }
# 4. a checkpoint edited to hide the cut (its signature no longer holds)
rm -rf "$T/ca"; cp -a "$T/clean" "$T/ca"
sed -i "\$s/^v1 $seq /v1 1 /" "$T/ca/audit/checkpoints"
out=$(J audit verify 2>&1) && bad "forged checkpoint accepted: $out" || { grep -q "signature does not verify" <<<"$out" && ok "forged checkpoint reported" || bad "forged: $out"; }
# 5. the checkpoints removed altogether
rm -rf "$T/ca"; cp -a "$T/clean" "$T/ca"
rm "$T/ca/audit/checkpoints"
out=$(J audit verify 2>&1) && bad "missing checkpoints accepted: $out" || { grep -q "checkpoints were removed" <<<"$out" && ok "removed checkpoints reported" || bad "removed: $out"; }
# the certificates table edited behind the CA's back, the log untouched:
# each change reported by serial
vbad() { # vbad WHAT SQL PATTERN...: after SQL, verify fails naming each PATTERN
  local what=$1 sql=$2; shift 2
  rm -rf "$T/ca"; cp -a "$T/clean" "$T/ca"
  sqlite3 "$DB" "$sql"
  # in one pass, and in three (each over a share of the serials)
  for passes in 1 3; do
    if out=$(J audit verify --passes $passes 2>&1); then bad "$what accepted ($passes passes): $out"; return; fi
    for pat in "$@"; do grep -qF -- "$pat" <<<"$out" || { bad "$what ($passes passes): no '$pat' in: $out"; return; }; done
  done
  ok "$what reported, in one pass and in three"
}
COLS="kind, resident_id, card_serial, muni_code, subject, not_before, not_after"
# 6. a certificate row inserted (a copy of a real one under a new serial)
vbad "an inserted certificate row" \
  "INSERT INTO certificates (serial, $COLS, status, der) SELECT 'DEADBEEF01', $COLS, 0, der FROM certificates WHERE serial = '$SA';" \
  "certificate DEADBEEF01 is in the certificates table but no issue record"
# 7. a valid certificate's row deleted (no revocation involved)
vbad "a deleted valid certificate row" "DELETE FROM certificates WHERE serial = '$SA';" \
  "the audit log issued certificate $SA (record" "but the certificates table has no such certificate"
# 8. a status changed in the table: a hold nobody recorded
vbad "a hold set in the table" "UPDATE certificates SET status = 1, reason = 6, revoked_at = 1 WHERE serial = '$SA';" \
  "shows certificate $SA revoked (certificateHold), but the audit log has no revocation"
# 9. a revocation's reason rewritten (keyCompromise -> unspecified)
vbad "a revocation reason rewritten" "UPDATE certificates SET reason = 0 WHERE serial = '$S';" \
  "certificate $S: the certificates table says unspecified, its last audit record"
# 10. another certificate's bytes under a recorded serial
vbad "a swapped DER" "UPDATE certificates SET der = (SELECT der FROM certificates WHERE serial = '$S') WHERE serial = '$SA';" \
  "certificate $SA: the DER in the certificates table is not the one its issue record"
# 11. several at once: each by its serial
vbad "an insertion and a deletion together" \
  "INSERT INTO certificates (serial, $COLS, status, der) SELECT 'DEADBEEF02', $COLS, 0, der FROM certificates WHERE serial = '$SA'; DELETE FROM certificates WHERE serial = '$SA';" \
  "mismatch: certificate DEADBEEF02 is in" "mismatch: the audit log issued certificate $SA" "disagree on 2 certificate(s)"
rm -rf "$T/ca"; cp -a "$T/clean" "$T/ca"
expect_ok "the clean copy still verifies" J audit verify
one=$(J --json audit verify) three=$(J --json audit verify --passes 3)
jq -e --argjson a "$one" '.ok and .passes == 3 and $a.passes == 1 and .certificates_checked == $a.certificates_checked and .revocations_checked == $a.revocations_checked and .certificates_checked > 0' <<<"$three" >/dev/null \
  && ok "three passes check what one does: $(jq -c . <<<"$three")" || bad "passes: $one / $three"
expect_fail "--passes takes a number from 1 to 1024, not 0" J audit verify --passes 0
expect_fail "not 1025" J audit verify --passes 1025
expect_fail "audit verify: unexpected --passes" J audit verify --passes
expect_fail "not 3x" env JPKI_DIR=$T/nothing-here "$JPKI" audit verify --passes 3x
# a renewal's superseded certificates are named by its issue record: the
# table's superseded revocations match the log
NOW2=2031-10-15T01:00:00Z
newkey r_a
expect_ok "renewal (3 months before the 5th birthday)" "$JPKI" --now "$NOW2" issue --resident "$A" --card "CARD$A" --renew --auth-key r_a.pub --out-dir r
out=$("$JPKI" --now "$NOW2" --json audit verify 2>&1)
jq -e '.ok and .revocations_checked == 2' <<<"$out" >/dev/null && ok "the superseded certificate matches its renewal record: $(jq -c . <<<"$out")" || bad "after renewal: $out"
out3=$("$JPKI" --now "$NOW2" --json audit verify --passes 3 2>&1)
jq -e --argjson a "$out" '.ok and .revocations_checked == 2 and .certificates_checked == $a.certificates_checked' <<<"$out3" >/dev/null && ok "and in three passes" || bad "after renewal, three passes: $out3"
"$JPKI" --now "$NOW2" audit list | grep -q "superseded=$SA" && ok "the renewal record names the superseded serial" || bad "no superseded= in: $("$JPKI" --now "$NOW2" audit list | tail -3)"
rm -rf "$T/ca"; cp -a "$T/clean" "$T/ca"
# jpkid checkpoints the head it finds when it starts (then every minute
# while the log grows, and after every revocation it publishes)
. "$HERE/lib/jpkid.sh"
before=$(wc -l <"$T/ca/audit/checkpoints")
export JPKID_ADMIN_PASSWORD=admin-password-1
start_jpkid "$T/ca"
for _ in $(seq 1 50); do [ "$(wc -l <"$T/ca/audit/checkpoints")" -gt "$before" ] && break; sleep 0.2; done
stop_jpkid
[ "$(wc -l <"$T/ca/audit/checkpoints")" -gt "$before" ] && ok "jpkid wrote a checkpoint" || bad "jpkid: no new checkpoint"
expect_ok "and it verifies" "$JPKI" audit verify
finish
