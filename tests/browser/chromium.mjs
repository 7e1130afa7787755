// One way to start Debian's chromium for every browser test.  Chromium runs
// on the real clock even when the suite runs under libfaketime (the
// clock-ahead CI pass): its zygote and timers break under LD_PRELOAD'd
// time.  The pages show the server's times (jpkid runs on the suite's
// clock), never the browser's; node, which drives the pages and computes
// any date it types, keeps the suite's clock.
import { chromium } from 'playwright-core';

export function browserEnv() {
  const env = { ...process.env };
  delete env.LD_PRELOAD;
  delete env.FAKETIME;
  delete env.FAKETIME_DONT_FAKE_MONOTONIC;
  return env;
}

// launchChromium(profileDir, extra): a persistent context, headless, ja-JP
export function launchChromium(profile, extra = {}) {
  return chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    acceptDownloads: true, locale: 'ja-JP', viewport: { width: 1100, height: 900 },
    env: browserEnv(),
    ...extra,
  });
}
