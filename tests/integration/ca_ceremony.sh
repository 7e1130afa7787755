#!/usr/bin/env bash
# jpki ca ceremony (issue #13 item 4): root creation and rollover as a
# scripted procedure.  Each step is confirmed on stdin (or --yes); a step
# refused before the keys are made stops it with nothing made; the
# transcript names the witnesses and the new roots' fingerprints, its
# SHA-256 is in the audit log, and a checkpoint signed by the audit key
# covers that record.
. "$(dirname "$0")/lib.sh"
export JPKI_DIR=$T/ca
NOW=2026-11-25T01:00:00Z
J() { "$JPKI" --now "$NOW" "$@"; }
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f; }

expect_fail "at least one --witness" J ca ceremony --init --yes
out=$(J --json ca ceremony --init --witness "Sato Hanako" --witness "Suzuki Ichiro" --operator ops1 --yes)
tr=$(jq -r .transcript <<<"$out")
[ -f "$tr" ] && ok "init: transcript written" || bad "init: $out"
grep -q "^witness: Sato Hanako$" "$tr" && grep -q "^witness: Suzuki Ichiro$" "$tr" && grep -q "^operator: ops1$" "$tr" &&
  ok "transcript names operator and witnesses" || bad "transcript: $(cat "$tr")"
for k in sign auth; do
  f=$(fp "$T/ca/roots/$k-root.pem")
  grep -q "root: $k generation 1 sha256=$f" "$tr" && ok "transcript has the $k root's fingerprint" || bad "$k fp $f: $(cat "$tr")"
done
[ "$(grep -c '^step [0-9]* .* confirmed (--yes): ' "$tr")" -eq 5 ] && ok "five steps, each confirmed" || bad "steps: $(cat "$tr")"
h=$(sha256sum "$tr" | cut -d' ' -f1)
J audit list | grep "ca.ceremony" | grep -q "transcript_sha256=$h" && ok "audit record holds the transcript's SHA-256" || bad "audit: $(J audit list)"

# a rollover refused at its second step: nothing made, nothing recorded
n0=$(J audit list | grep -c .)
out=$(printf 'yes\nno\n' | J ca ceremony --rollover --kind sign --witness W1 2>&1) && bad "refused ceremony succeeded" || ok "refused ceremony fails"
grep -q "stopped at step 2" <<<"$out" && ok "says where it stopped" || bad "refusal: $out"
[ ! -e "$T/ca/roots/sign-root-2.pem" ] && [ "$(J audit list | grep -c .)" -eq "$n0" ] && ok "nothing made or recorded" || bad "made something"

# a rollover confirmed on stdin, step by step
out=$(printf 'yes\nyes\nyes\nyes\n' | J --json ca ceremony --rollover --kind sign --witness "Takahashi Jiro")
tr=$(jq -r .transcript <<<"$out")
f=$(fp "$T/ca/roots/sign-root-2.pem")
grep -q "root: sign generation 2 sha256=$f" "$tr" && ok "rollover transcript has generation 2's fingerprint" || bad "rollover: $out"
[ "$(grep -c '^step [0-9]* .* confirmed: ' "$tr")" -eq 4 ] && ok "four steps confirmed on stdin" || bad "steps: $(cat "$tr")"
h=$(sha256sum "$tr" | cut -d' ' -f1)
seq=$(J audit list | grep "transcript_sha256=$h" | awk '{print $1}')
[ -n "$seq" ] && [ "$(jq -r .checkpoint_seq <<<"$out")" = "$seq" ] && ok "the checkpoint covers the ceremony record ($seq)" || bad "checkpoint: $out"
read -r _ cseq chash cat csig < <(tail -1 "$T/ca/audit/checkpoints")
printf 'openjpki audit checkpoint v1\n%s\n%s\n%s\n' "$cseq" "$chash" "$cat" >cp.tbs
base64 -d <<<"$csig" >cp.sig
[ "$cseq" = "$seq" ] && openssl dgst -sha256 -verify "$T/ca/audit/key.pub.pem" -signature cp.sig cp.tbs >/dev/null &&
  ok "openssl verifies the checkpoint signed over it" || bad "checkpoint $cseq: $(tail -1 "$T/ca/audit/checkpoints")"
J audit list | grep "ca.ceremony" | tail -1 | grep -q "witnesses=Takahashi Jiro" && ok "witness in the audit record" || bad "audit witness"
expect_ok "audit verify" J audit verify
finish
