# Shared helpers of the integration tests (sourced, not run by ctest:
# ctest runs tests/integration/*.sh except this file, see CMakeLists).
set -euo pipefail
JPKI=${JPKI_BIN:?}/jpki
T=$(mktemp -d /tmp/jpki-it.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"
PASS=0
FAIL=0
ok()   { PASS=$((PASS+1)); echo "ok - $*"; }
bad()  { FAIL=$((FAIL+1)); echo "not ok - $*"; }
# expect_fail "message substring" cmd...: the command must fail and say so
expect_fail() {
  local want=$1; shift
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  if [ $rc -ne 0 ] && grep -qF -- "$want" <<<"$out"; then ok "refused: $want"
  else bad "expected refusal containing '$want' (rc=$rc): $out"; fi
}
expect_ok() {
  local what=$1; shift
  local out
  if out=$("$@" 2>&1); then ok "$what"; else bad "$what: $out"; fi
}
finish() {
  echo "$PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ]
}
newkey() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:${2:-2048} -out "$1.key" 2>/dev/null; openssl pkey -in "$1.key" -pubout -out "$1.pub"; }
