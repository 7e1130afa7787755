# Helpers of the browser tests (sourced after ../lib.sh): Debian's chromium
# and playwright-core (npm ci in tests/browser on first use), and a fresh
# screenshot folder.  Specs start chromium through tests/browser/chromium.mjs.
B=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../browser" && pwd)

# browser_prepare SUBDIR: exits the test when chromium or playwright-core
# cannot be had; sets and exports SHOTS=${JPKI_BUILD:-$T}/browser-screenshots/SUBDIR
# (emptied first).
browser_prepare() {
  if [ ! -x /usr/bin/chromium ]; then
    echo "not ok - /usr/bin/chromium missing: run scripts/install-deps.sh"; exit 1
  fi
  # one npm ci at a time, and nobody using node_modules before it is whole:
  # ctest -j starts several browser tests at once (a half-extracted
  # playwright-core fails with "Cannot find module")
  (cd "$B" && flock 9 && { [ -e node_modules/.openjpki-ready ] \
      || { npm ci --no-audit --no-fund >/dev/null 2>&1 && touch node_modules/.openjpki-ready; }; }) 9>"$B/.npm-ci.lock" \
    || { echo "not ok - npm ci in tests/browser failed"; exit 1; }
  SHOTS=${JPKI_BUILD:-$T}/browser-screenshots/$1
  rm -rf "$SHOTS"; mkdir -p "$SHOTS"
  export SHOTS
}
