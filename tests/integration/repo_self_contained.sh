#!/usr/bin/env bash
# The repository carries everything its build, tests and programs read: a
# newcomer's clone has no ../shared (the steering team's reference folder)
# beside it.  Nothing tracked may read it: no ../shared path and no
# JPKI_SHARED variable anywhere (this file names them only in patterns, and
# .ci/run only to check that its clone has no ../shared beside it).
# The data it used to take from there lives in the project: the J-LIS
# roots in data/jpki-roots, the OpenSC traces in tests/data/traces.
. "$(dirname "$0")/lib.sh"
SRC=${JPKI_SRC:?}
self=tests/integration/$(basename "$0")
pat='\.\./shared|JPKI_SHARED'
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  hits=$(git -C "$SRC" grep -nE "$pat" -- . ":(exclude)$self" ":(exclude).ci/run" || true)
else
  hits=$(cd "$SRC" && grep -rnE "$pat" --exclude-dir=build --exclude-dir=build-asan \
    --exclude-dir=build-fuzz --exclude-dir=node_modules --exclude-dir=var . | grep -v -e "^./$self:" -e "^./.ci/run:" || true)
fi
[ -z "$hits" ] && ok "nothing in the repository reads ../shared" || bad "reads ../shared: $hits"
for f in sign_ca_2015 sign_ca_2023 auth_ca_2015 auth_ca_2023; do
  [ -s "$SRC/data/jpki-roots/$f.pem" ] && ok "data/jpki-roots/$f.pem" || bad "missing data/jpki-roots/$f.pem"
done
n=$(ls "$SRC"/tests/data/traces/*.log 2>/dev/null | wc -l)
[ "$n" -eq 6 ] && ok "six OpenSC traces in tests/data/traces" || bad "traces: $n"
# the calls the style guide bans (unbounded or not thread-safe): use
# snprintf, jpki_strlcpy, strtok_r, gmtime_r/localtime_r instead
banned=$(cd "$SRC" && grep -rnE '\b(sprintf|vsprintf|strcpy|strcat|strtok|gets|gmtime|localtime|asctime|ctime)[[:space:]]*\(' \
  --include='*.c' --include='*.h' src cmd bench tests/unit tests/fuzz || true)
[ -z "$banned" ] && ok "no banned C library calls" || bad "banned calls: $banned"
# every browser test starts chromium through tests/browser/chromium.mjs
# (on the real clock even when the suite runs under libfaketime)
direct=$(grep -ln "launchPersistentContext\|chromium\.launch" "$SRC"/tests/browser/*.mjs | grep -v "/chromium.mjs$" || true)
[ -z "$direct" ] && ok "browser tests start chromium only through chromium.mjs" || bad "chromium started directly in: $direct"
finish
