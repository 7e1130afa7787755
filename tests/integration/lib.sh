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

# at_time INSTANT cmd...: run a peer tool (openssl, certtool, ...) on the
# instant our tools were given with --now (ISO 8601, e.g.
# 2026-11-25T01:00:00Z), so that a test that fixes our clock hands the same
# instant to every peer and passes on any real date.  Uses libfaketime
# (Debian faketime) with an absolute start time; it overrides an outer
# FAKETIME (the clock-ahead CI pass) for this command only.
FAKETIME_LIB=
for _f in /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 \
          /usr/lib/*/faketime/libfaketimeMT.so.1; do
  [ -e "$_f" ] && { FAKETIME_LIB=$_f; break; }
done
at_time() {
  local when=$1; shift
  [ -n "$FAKETIME_LIB" ] || { echo "at_time: libfaketime missing (apt-get install faketime)" >&2; return 127; }
  local stamp
  stamp=$(date -u -d "$when" '+%Y-%m-%d %H:%M:%S') || return 2
  TZ=UTC LD_PRELOAD="$FAKETIME_LIB" FAKETIME="@$stamp" FAKETIME_DONT_FAKE_MONOTONIC=1 \
    FAKETIME_DONT_RESET=1 "$@"
}
