// The card at the counter in chromium: the clerk's page pairs with
// `jpki terminal serve` (the code shown on the page is given to the helper,
// which this script starts, as the clerk would, and stops by its PID), the
// page shows the reader and the card, and a 新規交付 application is
// completed through the helper with the PINs typed on the page (they go to
// the helper and the card only).  Screenshots (PNG) go to $SHOTS.
// usage: BASE=... SHOTS=... JPKI=... READER=... APP=... CARD=... node terminal.spec.mjs
import { launchChromium } from './chromium.mjs';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const { BASE, SHOTS, JPKI, READER, APP, CARD } = process.env;
let failed = 0;
const ok = (c, what) => { if (c) console.log('ok - ' + what); else { failed++; console.log('not ok - ' + what); } };

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'jpki-chromium-'));
const ctx = await launchChromium(profile, { viewport: { width: 1100, height: 1000 } });
const page = ctx.pages()[0] || await ctx.newPage();
page.setDefaultTimeout(30000);
const shot = (name) => page.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: true });
const msg = () => page.locator('#msg').innerText();
let helper = null;

// Start the helper with the code; resolve with its --json object (port).
function startHelper(code) {
  return new Promise((resolve, reject) => {
    helper = spawn(JPKI, ['--json', 'terminal', 'serve', '--port', '0', '--reader', READER, '--jpkid', BASE, '--pair', code],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    const timer = setTimeout(() => reject(new Error('helper did not start: ' + err)), 20000);
    helper.stdout.on('data', (d) => {
      out += d;
      try { const j = JSON.parse(out); clearTimeout(timer); resolve(j); } catch (e) { /* not yet whole */ }
    });
    helper.stderr.on('data', (d) => { err += d; });
    helper.on('exit', (c) => { clearTimeout(timer); reject(new Error('helper exited ' + c + ': ' + err)); });
  });
}

try {
  await page.goto(BASE + '/');
  await page.getByLabel('職員名').fill('clerk1');
  await page.getByLabel('パスワード').fill('clerk-password-1');
  await page.getByRole('button', { name: 'ログインする' }).click();
  await page.locator('#count-issued').waitFor();
  await page.goto(BASE + '/#app?id=' + APP);
  await page.locator('#terminal-area #term-pair').waitFor();
  await shot('01-app-unpaired');
  await page.getByRole('button', { name: '端末ヘルパーと連携する' }).click();
  await page.locator('#term-code').waitFor();
  const code = (await page.locator('#term-code').innerText()).trim();
  ok(/^[0-9]{8}$/.test(code), 'the page shows an 8-digit pairing code');
  ok((await page.locator('#term-cmd').innerText()).includes('jpki terminal serve --pair ' + code + ' --jpkid ' + BASE),
    'the page shows the command for the helper');
  await shot('02-pairing-code');
  const h = await startHelper(code);
  ok(h.origin === BASE && h.operator === 'clerk1', 'the helper is paired with this page (' + h.url + ')');
  await page.getByLabel('端末ヘルパーのポート番号').fill(String(h.port));
  await page.getByRole('button', { name: '接続する' }).click();
  await page.locator('#term-status').waitFor();
  ok((await page.locator('#term-card').innerText()).trim() === CARD, 'the page shows card ' + CARD + ' in the reader');
  ok((await page.locator('#terminal-area').innerText()).includes('英数字6〜16桁・英字は大文字・数字と英字を混在'),
    'the signature PIN rule is stated');
  ok((await page.locator('#terminal-area').innerText()).includes('数字4桁'), 'the 4-digit PIN rule is stated');
  await shot('03-paired-card');
  await page.getByLabel('利用者証明用電子証明書の暗証番号').fill('2468');
  await page.getByLabel('署名用電子証明書の暗証番号').fill('KEY2468A');
  await shot('04-pins');
  await page.getByRole('button', { name: 'カードリーダーで完了' }).click();
  await page.locator('#msg.error, #msg.info:has-text("完了し")').waitFor({ timeout: 60000 });
  ok((await msg()).includes(CARD), 'completed: ' + (await msg()));
  ok((await page.locator('#app-info').innerText()).includes('完了'), 'the application reads 完了');
  await shot('05-completed');
} catch (e) {
  failed++;
  console.log('not ok - terminal: ' + e.message.split('\n')[0]);
  await shot('failure').catch(() => {});
} finally {
  await ctx.close();
  fs.rmSync(profile, { recursive: true, force: true });
  if (helper && helper.exitCode === null) {
    const done = new Promise((r) => helper.on('exit', r));
    helper.kill('SIGTERM');
    await done;
  }
}
process.exit(failed === 0 ? 0 : 1);
