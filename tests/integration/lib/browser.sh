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
  if [ ! -d "$B/node_modules/playwright-core" ]; then
    (cd "$B" && npm ci --no-audit --no-fund >/dev/null 2>&1) || { echo "not ok - npm ci in tests/browser failed"; exit 1; }
  fi
  SHOTS=${JPKI_BUILD:-$T}/browser-screenshots/$1
  rm -rf "$SHOTS"; mkdir -p "$SHOTS"
  export SHOTS
}
