// Every application kind finished in chromium, in Japanese, onto the
// virtual cards the service keeps: 新規交付 (also declining the signature
// certificate), 発行 onto the held card, 紛失届 (confirmed; held on
// receipt), 発見届, 暗証番号の初期化 (the new PIN on the completion form),
// 失効 at the holder's request (confirmed), 再交付 with its fee, and after
// a change of address a new 署名用 certificate.  (更新 is finished in
// counter.spec.mjs, which moves the service's clock into the window.)
// Screenshots (PNG) go to $SHOTS.
// usage: BASE=... SHOTS=... RID_A=... RID_D=... node applications.spec.mjs
import { openSpec } from './spec.mjs';

const BASE = process.env.BASE;
const A = process.env.RID_A;
const D = process.env.RID_D;
const { page, ok, shot, confirmOk, run } = await openSpec({ prefix: 'applications-' });
const msg = () => page.locator('#msg').innerText();

// open: the 申請 form; returns the application's id
async function open(rid, kind, o = {}) {
  await page.goto(BASE + '/#apps');
  await page.locator('#open-app-form').waitFor();
  await page.locator('#o-res').fill(String(rid));
  await page.locator('#o-kind').selectOption(kind);
  if (o.card) await page.locator('#o-card').fill(o.card);
  if (o.sign === false) await page.locator('#o-sign').uncheck();
  if (o.auth === false) await page.locator('#o-auth').uncheck();
  if (o.pinAuth) await page.locator('#o-pin-auth').check();
  await page.getByRole('button', { name: '申請を受け付ける' }).click();
  if (o.confirm) await confirmOk(o.confirm);
  await page.locator('#app-info').waitFor();
  const id = (await page.locator('#app-info tbody tr').first().innerText()).match(/(\d+)/)[1];
  return id;
}
async function doc(type, number) {
  await page.locator('#d-type').selectOption(type);
  await page.locator('#d-number').fill(number);
  await page.locator('#d-expiry').fill('2099-12-31');
  await page.getByRole('button', { name: '書類を記録する' }).click();
  await page.locator('#app-docs-table tbody tr').first().waitFor();
}
async function approve() {
  await page.locator('#act-approve').click();
  await page.locator('#msg.info').waitFor();
}
async function produce(card) {
  await page.locator('#c-card').fill(card);
  await page.locator('#act-produced').click();
  await page.locator('#act-ready').click();
  await page.locator('#handover-form').waitFor();
}
// finish: the completion form with the PINs the plan asks for
async function finish(name, pins = {}, confirm = null) {
  const form = page.locator('#handover-form, #complete-form');
  await form.waitFor();
  if (pins.auth) await page.locator('#h-auth').fill(pins.auth);
  if (pins.sign) await page.locator('#h-sign').fill(pins.sign);
  await shot(name + '-form');
  await page.locator('#act-handover, #act-complete').click();
  if (confirm) await confirmOk(confirm);
  await page.locator('#msg.info', { hasText: '完了' }).or(page.locator('#msg.info', { hasText: '交付' })).waitFor();
  const info = await page.locator('#app-info').innerText();
  ok(info.includes('完了'), name + ': completed (' + (await msg()).split('\n')[0] + ')');
  await shot(name + '-done');
}
async function certsOf(rid) {
  await page.goto(BASE + '/#resident?id=' + rid);
  await page.locator('#certs tbody tr').first().waitFor();
  return page.locator('#certs').innerText();
}

await run('applications', async () => {
  await page.goto(BASE + '/');
  await page.getByLabel('職員名').fill('clerk1');
  await page.getByLabel('パスワード').fill('clerk-password-1');
  await page.getByRole('button', { name: 'ログインする' }).click();
  await page.locator('#count-issued').waitFor();

  // 新規交付, both certificates
  await open(A, 'new-card');
  await doc('drivers_license', 'DL1A');
  await approve();
  await produce('VB-A');
  await finish('new-card', { auth: '1234', sign: 'ABC123' });
  // 新規交付 declining the signature certificate, then 発行 onto that card
  await open(D, 'new-card', { sign: false });
  await doc('passport', 'TK1D');
  await approve();
  await produce('VB-D');
  await finish('new-card-auth-only', { auth: '1234' });
  await open(D, 'issue', { card: 'VB-D', auth: false });
  ok((await page.locator('#app-plan').innerText()).includes('署名用電子証明書を発行'), 'issue: the plan in Japanese');
  await doc('mynumber_card', 'VBD');
  await approve();
  await finish('issue', { sign: 'ABC123' });
  // 紛失届: a confirmation, held on receipt
  await open(A, 'loss', { card: 'VB-A', confirm: '一時保留' });
  ok((await page.locator('#app-preview').innerText()).includes('一時保留'), 'loss: held on receipt');
  await doc('drivers_license', 'DL2A');
  await approve();
  await finish('loss');
  ok((await certsOf(A)).includes('一時保留'), 'loss: the resident page shows the hold');
  // 発見届: held ones revoked, issued anew
  await open(A, 'found', { card: 'VB-A' });
  await doc('mynumber_card', 'VBA');
  await approve();
  await finish('found', { auth: '2345', sign: 'BCD234' }, '失効');
  // 暗証番号の初期化: the new PIN entered on the completion form
  await open(A, 'pin-reset', { card: 'VB-A', pinAuth: true });
  await doc('mynumber_card', 'VBA');
  await approve();
  ok(await page.locator('#h-auth').count() === 1 && await page.locator('#h-sign').count() === 0, 'PIN reset asks for the authentication PIN only');
  await finish('pin-reset', { auth: '9876' });
  // after a change of address: a new 署名用 certificate
  const moved = await page.evaluate(async (rid) => {
    const s = await (await fetch('/api/v1/session')).json();
    const r = await fetch('/api/v1/residents/' + rid, { method: 'PATCH', headers: { 'X-CSRF-Token': s.csrf_token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ address: '東京都清瀬市中清戸２丁目' }) });
    return r.status;
  }, A);
  ok(moved === 200, 'address changed (the signature certificate revoked)');
  await open(A, 'issue', { card: 'VB-A', auth: false });
  await doc('mynumber_card', 'VBA');
  await approve();
  await finish('issue-after-move', { sign: 'CDE345' });
  // 失効 at the holder's request: confirmed
  await open(D, 'revoke', { card: 'VB-D', auth: false });
  await doc('drivers_license', 'DL3D');
  await approve();
  await finish('revoke', {}, '失効');
  // 再交付 with its fee
  await open(D, 'reissue', { card: 'VB-D', sign: false });
  ok((await page.locator('#app-fee').innerText()).includes('1000円'), 'reissue: 1000円');
  await doc('drivers_license', 'DL4D');
  await approve();
  await produce('VB-D2');
  await finish('reissue', { auth: '1234' });
  ok((await certsOf(D)).includes('VB-D2'), 'reissue: the new card holds the certificate');
  await shot('99-resident');
}, { failureShot: 'failure' });
