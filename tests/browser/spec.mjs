// The frame every browser spec shares: a fresh Chromium profile and page
// (started through chromium.mjs, on the real clock), TAP-style "ok" lines,
// screenshots into $SHOTS, the page's own confirmation (dialog#confirm)
// answered 実行する, and one way to end: an exception is one failure with a
// screenshot, the browser is closed, the profile removed, and the exit
// status says whether every check passed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchChromium } from './chromium.mjs';

// openSpec({ prefix, timeout, launch }): launch is passed to launchChromium
export async function openSpec({ prefix = '', timeout = 20000, launch = {} } = {}) {
  const shots = process.env.SHOTS;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'jpki-chromium-'));
  const ctx = await launchChromium(profile, launch);
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(timeout);
  let failed = 0;
  const ok = (c, what) => {
    if (c) console.log('ok - ' + what);
    else { failed++; console.log('not ok - ' + what); }
  };
  const shot = (name) => page.screenshot({ path: path.join(shots, prefix + name + '.png'), fullPage: true });

  // The confirmation before a hold, a revocation or a change: it must
  // appear, say `expect`, and go away when answered.
  async function confirmOk(expect) {
    await page.locator('dialog#confirm[open]').waitFor();
    ok((await page.locator('#confirm-text').innerText()).includes(expect), 'the confirmation says ' + expect);
    await page.locator('#confirm-ok').click();
    await page.locator('dialog#confirm').waitFor({ state: 'detached' });
  }

  // run(label, body, { failureShot, cleanup }): never returns
  async function run(label, body, { failureShot = 'failure', cleanup = null } = {}) {
    try {
      await body();
    } catch (e) {
      failed++;
      console.log('not ok - ' + label + ': ' + e.message.split('\n')[0]);
      await shot(failureShot).catch(() => {});
    } finally {
      if (cleanup) await cleanup();
      await ctx.close();
      fs.rmSync(profile, { recursive: true, force: true });
    }
    process.exit(failed === 0 ? 0 : 1);
  }
  return { ctx, page, ok, shot, confirmOk, run };
}
