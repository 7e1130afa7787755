// The card at the counter in chromium: the clerk's page pairs with
// `jpki terminal serve` (the code shown on the page is given to the helper,
// which this script starts, as the clerk would, and stops by its PID), the
// page shows the reader and the card, and an application is finished
// through the helper with the PINs typed on the page (they go to the helper
// and the card only).  One phase per run (each a fresh browser, so the page
// pairs the helper again, as a clerk does after a restart):
//   newcard   新規交付 (APP at card_ready) completed with new PINs;
//   pinreset  暗証番号の初期化 (APP received, documents on file): approved on
//             the page, the PINs reset through the helper's form;
//   renew     更新 (APP received, jpkid's clock in the renewal window):
//             approved on the page, completed 「カードリーダーで完了」 with
//             the holder's PINs.
// Screenshots (PNG) go to $SHOTS.
// usage: BASE=... SHOTS=... JPKI=... READER=... APP=... CARD=... [PINS...]
//        node terminal.spec.mjs newcard|pinreset|renew
import { spawn } from 'node:child_process';
import { openSpec } from './spec.mjs';

const { BASE, JPKI, READER, APP, CARD } = process.env;
const phase = process.argv[2] || 'newcard';
const prefix = { newcard: '', pinreset: 'pinreset-', renew: 'renew-' }[phase];
const { page, ok, shot, run } = await openSpec({ prefix, timeout: 30000, launch: { viewport: { width: 1100, height: 1000 } } });
const msg = () => page.locator('#msg').innerText();
const area = () => page.locator('#terminal-area').innerText();
let helper = null;

// Start the helper with the code; resolve with its --json object (port).
// The helper is a node child, on the suite's clock (as jpkid is).
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

async function login() {
  await page.goto(BASE + '/');
  await page.getByLabel('職員名').fill('clerk1');
  await page.getByLabel('パスワード').fill('clerk-password-1');
  await page.getByRole('button', { name: 'ログインする' }).click();
  await page.locator('#count-issued').waitFor();
}

// Pair the page with a new helper: the code on the page, the helper
// started with it, its port typed on the page.
async function pair(n) {
  await page.locator('#terminal-area #term-pair').waitFor();
  await shot(n + '-app-unpaired');
  await page.getByRole('button', { name: '端末ヘルパーと連携する' }).click();
  await page.locator('#term-code').waitFor();
  const code = (await page.locator('#term-code').innerText()).trim();
  ok(/^[0-9]{8}$/.test(code), 'the page shows an 8-digit pairing code');
  ok((await page.locator('#term-cmd').innerText()).includes('jpki terminal serve --pair ' + code + ' --jpkid ' + BASE),
    'the page shows the command for the helper');
  await shot((Number(n) + 1 + '').padStart(2, '0') + '-pairing-code');
  const h = await startHelper(code);
  ok(h.origin === BASE && h.operator === 'clerk1', 'the helper is paired with this page (' + h.url + ')');
  await page.getByLabel('端末ヘルパーのポート番号').fill(String(h.port));
  await page.getByRole('button', { name: '接続する' }).click();
  await page.locator('#term-status').waitFor();
  ok((await page.locator('#term-card').innerText()).trim() === CARD, 'the page shows card ' + CARD + ' in the reader');
}

// Approve the application on its page (documents are on file).
async function approve() {
  await page.locator('#act-approve').waitFor();
  await page.locator('#act-approve').click();
  await page.locator('#msg.error, #msg.info:has-text("承認")').waitFor();
  ok(!(await page.locator('#msg.error').count()), 'approved on the page: ' + (await msg()));
  ok((await page.locator('#app-info').innerText()).includes('承認'), 'the application reads 承認');
}

async function newcard() {
  await page.goto(BASE + '/#app?id=' + APP);
  await pair('01');
  ok((await area()).includes('英数字6〜16桁・英字は大文字・数字と英字を混在'), 'the signature PIN rule is stated');
  ok((await area()).includes('数字4桁'), 'the 4-digit PIN rule is stated');
  await shot('03-paired-card');
  await page.getByLabel('利用者証明用電子証明書の暗証番号').fill('2468');
  await page.getByLabel('署名用電子証明書の暗証番号').fill('KEY2468A');
  await shot('04-pins');
  await page.getByRole('button', { name: 'カードリーダーで完了' }).click();
  await page.locator('#msg.error, #msg.info:has-text("完了し")').waitFor({ timeout: 60000 });
  ok((await msg()).includes(CARD), 'completed: ' + (await msg()));
  ok((await page.locator('#app-info').innerText()).includes('完了'), 'the application reads 完了');
  await shot('05-completed');
}

// env: TRIES (the counters the page must show before, e.g. "利用者証明用 2／署名用 4"),
// NEW_AUTH, NEW_SIGN (typed lower case: the page sends the signature PIN in capitals)
async function pinreset() {
  await page.goto(BASE + '/#app?id=' + APP);
  await page.locator('#app-info').waitFor();
  ok((await page.locator('#app-info').innerText()).includes('暗証番号の初期化'), 'the page shows the 暗証番号の初期化 application');
  await shot('01-app-received');
  await approve();
  await pair('02'); // 02: approved, not yet paired
  ok((await page.locator('#term-tries').innerText()).includes(process.env.TRIES),
    'the page shows the tries left before the reset: ' + (await page.locator('#term-tries').innerText()));
  ok((await area()).includes('カードリーダーで暗証番号を初期化'), 'the reset form is offered');
  ok((await area()).includes('英数字6〜16桁・英字は大文字・数字と英字を混在') && (await area()).includes('数字4桁'),
    'the PIN rules are stated on the reset form');
  await shot('04-paired-card');
  await page.locator('#tr-auth').fill(process.env.NEW_AUTH);
  await page.locator('#tr-sign').fill(process.env.NEW_SIGN);
  await shot('05-new-pins');
  await page.getByRole('button', { name: 'カードリーダーで暗証番号を初期化' }).click();
  await page.locator('#msg.error, #msg.info:has-text("初期化しました")').waitFor({ timeout: 60000 });
  ok((await msg()).includes(CARD) && (await msg()).includes('初期化しました'), 'reset: ' + (await msg()));
  ok((await page.locator('#app-info').innerText()).includes('完了'), 'the application reads 完了');
  ok(!(await page.locator('#terminal-area').count()), 'the completed application offers no reader action');
  await shot('06-completed');
}

// env: AUTH_PIN, SIGN_PIN (the holder's PINs), OLD_AUTH (the serial on the card before)
async function renew() {
  await page.goto(BASE + '/#app?id=' + APP);
  await page.locator('#app-info').waitFor();
  ok((await page.locator('#app-info').innerText()).includes('更新'), 'the page shows the 更新 application');
  await shot('01-app-received');
  await approve();
  await pair('02'); // 02: approved, not yet paired
  const before = (await page.locator('#term-auth-cert').innerText()).trim();
  ok(before.replace(/^0+/, '').toUpperCase() === process.env.OLD_AUTH.replace(/^0+/, '').toUpperCase(),
    'the page shows the old authentication certificate ' + before + ' on the card');
  ok((await area()).includes('カードリーダーで完了'), 'the completion form is offered');
  await shot('04-paired-card');
  // a wrong signature PIN: the card refuses, the page says so, nothing changes
  await page.locator('#tc-auth').fill(process.env.AUTH_PIN);
  await page.locator('#tc-sign').fill('WRONG2PIN');
  await page.getByRole('button', { name: 'カードリーダーで完了' }).click();
  await page.locator('#msg.error').waitFor({ timeout: 60000 });
  const m = await msg();
  ok(m.includes('暗証番号が違います') && m.includes('残り 4 回です'), 'a wrong PIN: ' + m.replace(/\n/g, ' '));
  ok(!/[A-Za-z]{3,}/.test(m), 'no English in the Japanese error');
  ok((await page.locator('#app-info').innerText()).includes('承認'), 'the application still reads 承認');
  await page.locator('#term-tries:has-text("署名用 4")').waitFor({ timeout: 10000 }).catch(() => {});
  const tries = await page.locator('#term-tries').innerText();
  ok(tries.includes('署名用 4'), 'the page shows the tries left afresh: ' + tries);
  ok((await page.locator('#term-auth-cert').innerText()).trim() === before, 'the card keeps its certificate after the wrong PIN');
  await shot('05-wrong-pin');
  await page.locator('#tc-auth').fill(process.env.AUTH_PIN);
  await page.locator('#tc-sign').fill(process.env.SIGN_PIN);
  await shot('06-pins');
  await page.getByRole('button', { name: 'カードリーダーで完了' }).click();
  await page.locator('#msg.error, #msg.info:has-text("完了し")').waitFor({ timeout: 60000 });
  ok((await msg()).includes(CARD) && (await msg()).includes('完了し'), 'renewed: ' + (await msg()));
  ok((await page.locator('#app-info').innerText()).includes('完了'), 'the application reads 完了');
  await shot('07-completed');
}

// the helper is stopped by its PID
async function stopHelper() {
  if (helper && helper.exitCode === null) {
    const done = new Promise((r) => helper.on('exit', r));
    helper.kill('SIGTERM');
    await done;
  }
}

await run('terminal ' + phase, async () => {
  await login();
  if (phase === 'newcard') await newcard();
  else if (phase === 'pinreset') await pinreset();
  else if (phase === 'renew') await renew();
  else throw new Error('unknown phase ' + phase);
}, { cleanup: stopHelper });
