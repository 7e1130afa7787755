// The counter's web UI in chromium: log-in, a resident, issuance onto a
// virtual card (preview: validity and 0 yen), the image download, renewal
// of that image (a second jpkid run with --test-clock-offset), revocation,
// the language switch; as a supervisor, an application from the list to
// approval (its preview first) and the expiry-notice batch.  Screenshots
// (PNG) go to $SHOTS.
// usage: node counter.spec.mjs PHASE   (PHASE: issue | renew | apps)
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const BASE = process.env.BASE;
const SHOTS = process.env.SHOTS;
const STATE = process.env.STATE; // a JSON file carried between the phases
const phase = process.argv[2];
let failed = 0;
const ok = (c, what) => { if (c) console.log('ok - ' + what); else { failed++; console.log('not ok - ' + what); } };

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'jpki-chromium-'));
// a fresh user-data-dir each run
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  acceptDownloads: true, locale: 'ja-JP', viewport: { width: 1100, height: 900 },
});
const page = ctx.pages()[0] || await ctx.newPage();
page.setDefaultTimeout(20000);
const shot = (name) => page.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: true });
const msg = () => page.locator('#msg').innerText();

async function login() {
  await page.goto(BASE + '/');
  const sup = phase === 'apps';
  await page.getByLabel('職員名').fill(sup ? 'sup1' : 'clerk1');
  await page.getByLabel('パスワード').fill(sup ? 'super-password-1' : 'clerk-password-1');
  await shot(phase + '-01-login');
  await page.getByRole('button', { name: 'ログインする' }).click();
  await page.locator('#count-issued').waitFor();
  ok(true, 'log-in shows the dashboard');
}

try {
  await login();
  if (phase === 'issue') {
    await page.locator('svg[role=img]').waitFor();
    await shot('issue-02-dashboard');
    // 住民登録
    await page.getByRole('link', { name: '住民登録' }).click();
    await page.getByLabel('住民票コード等').fill('B1');
    await page.getByLabel('氏名').fill('佐藤 一郎');
    await page.getByLabel('フリガナ').fill('サトウ イチロウ');
    await page.getByLabel('住所').fill('東京都清瀬市上清戸2-6-41');
    await page.getByLabel('生年月日').fill('1979-08-31');
    await page.getByRole('button', { name: '登録する' }).click();
    await page.locator('#new-resident').waitFor();
    const m = (await msg()).match(/番号 (\d+)/);
    ok(m !== null, 'resident registered: ' + (await msg()));
    const rid = m ? m[1] : '0';
    await shot('issue-03-registered');
    // 住民検索
    await page.getByRole('link', { name: '住民検索' }).click();
    await page.getByLabel('氏名・カナ・住民番号').fill('佐藤');
    await page.getByRole('button', { name: '検索する' }).click();
    await page.locator('#results table').waitFor();
    ok((await page.locator('#results').innerText()).includes('佐藤 一郎'), 'search finds the resident');
    // 発行: preview first
    await page.goto(BASE + '/#issue?r=' + rid);
    await page.getByLabel('利用者証明用暗証番号（数字4桁）').fill('1234');
    await page.getByLabel('署名用暗証番号（英数字6〜16桁）').fill('ABC123');
    await page.getByRole('button', { name: '内容を確認する' }).click();
    await page.locator('#preview').waitFor();
    const pv = await page.locator('#preview').innerText();
    ok(/令和\d+年\d+月\d+日 \(\d{4}年\)/.test(pv), 'preview shows the last valid day in 和暦');
    ok((await page.locator('#fee').innerText()).includes('0円'), 'preview shows the fee 0円');
    await shot('issue-04-preview');
    await page.getByRole('button', { name: 'この内容で発行する' }).click();
    await page.locator('#download').waitFor();
    await shot('issue-05-issued');
    const [dl] = await Promise.all([page.waitForEvent('download'), page.locator('#download').click()]);
    const img = path.join(path.dirname(STATE), 'card.img'); // keys: not beside the screenshots
    await dl.saveAs(img);
    const size = fs.statSync(img).size;
    ok(size > 0, 'card image downloaded (' + size + ' bytes)');
    // the resident page lists the certificates
    await page.goto(BASE + '/#resident?id=' + rid);
    await page.locator('#certs tbody tr').first().waitFor();
    const serials = await page.locator('#certs tbody tr td:first-child').allInnerTexts();
    ok(serials.length === 2, 'resident shows two certificates');
    await shot('issue-06-resident');
    // language switch, once
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Certificates' }).waitFor();
    ok(await page.evaluate(() => document.documentElement.lang) === 'en', 'English switch');
    await shot('issue-07-english');
    await page.getByRole('button', { name: '日本語' }).click();
    await page.getByRole('heading', { name: '電子証明書' }).waitFor();
    ok(true, 'back to Japanese');
    fs.writeFileSync(STATE, JSON.stringify({ rid, img }));
  } else if (phase === 'apps') {
    // 申請: the open applications, one of them, its preview before approval
    await page.getByRole('link', { name: '申請', exact: true }).click();
    await page.locator('#apps tbody tr').first().waitFor();
    ok((await page.locator('#apps').innerText()).includes('新規交付'), 'applications list shows the open application');
    await shot('apps-01-list');
    await page.locator('#apps a', { hasText: '表示' }).first().click();
    await page.locator('#app-preview').waitFor();
    const pv = await page.locator('#app-preview').innerText();
    ok(/令和\d+年\d+月\d+日 \(\d{4}年\)/.test(pv) && pv.includes('円'), 'preview before approval: validity and fee');
    ok(pv.includes('不足'), 'preview names the missing identity document');
    await page.getByLabel('書類').selectOption('drivers_license');
    await page.getByLabel('番号', { exact: true }).fill('123456789012A');
    await page.getByLabel('有効期限').fill(new Date(Date.now() + 3 * 365 * 86400e3).toISOString().slice(0, 10));
    await page.getByRole('button', { name: '書類を記録する' }).click();
    await page.locator('#app-docs-table tbody tr').first().waitFor();
    ok((await page.locator('#app-docs').innerText()).includes('確認済み'), 'document recorded: identity complete');
    await shot('apps-02-application');
    await page.getByRole('button', { name: '承認する' }).click();
    await page.locator('#msg.info').waitFor();
    ok((await msg()).includes('カード発注'), 'approved: card ordered (' + (await msg()) + ')');
    ok((await page.locator('#app-history tbody tr').count()) >= 3, 'history lists open, document, approval');
    await shot('apps-03-approved');
    // the card's production, its arrival, 交付 onto a virtual card
    await page.getByLabel('作成されたカードのシリアル番号').fill('BCARD-1');
    await page.getByRole('button', { name: 'カード作成済' }).click();
    await page.locator('#msg', { hasText: 'カード作成済み' }).waitFor();
    ok(await page.locator('#act-ready').count() === 1, 'card produced');
    await page.locator('#act-ready').click();
    await page.locator('#msg', { hasText: '交付準備完了' }).waitFor();
    ok(await page.locator('#handover-form').count() === 1, 'card at the counter');
    await page.getByLabel('利用者証明用暗証番号（数字4桁）').fill('1234');
    await page.getByLabel('署名用暗証番号（英数字6〜16桁）').fill('ABC123');
    await page.locator('#act-handover').click();
    await page.locator('#download').waitFor();
    ok((await page.locator('#app-info').innerText()).includes('完了'), 'handed over: application completed');
    const img = await page.evaluate(async () => (await fetch(document.getElementById('download').getAttribute('href'))).status);
    ok(img === 200, 'the virtual card image downloads');
    await shot('apps-03b-handed-over');
    // a new application through the form
    await page.getByRole('link', { name: '申請', exact: true }).click();
    await page.locator('#open-app-form').waitFor();
    await page.getByLabel('住民番号').fill(String(process.env.APP_RID2));
    await page.getByLabel('申請の種類').selectOption('new-card');
    await page.getByRole('button', { name: '申請を受け付ける' }).click();
    await page.locator('#app-info').waitFor();
    const info = await page.locator('#app-info').innerText();
    ok(info.includes('新規交付') && info.includes('受付'), 'application opened through the form');
    await shot('apps-03c-opened');
    // 有効期限通知書 (supervisor)
    await page.getByRole('link', { name: '有効期限通知書' }).click();
    await page.getByRole('button', { name: '通知書を作成する' }).click();
    await page.locator('#notices-sent').waitFor();
    ok(await page.locator('#letters').count() === 1 && await page.locator('#mailroom').count() === 1, 'notice run links letters and mail-room list');
    const csv = await page.evaluate(async () => (await fetch(document.getElementById('mailroom').getAttribute('href'))).status);
    ok(csv === 200, 'mail-room list downloads');
    await shot('apps-04-notices');
  } else {
    const st = JSON.parse(fs.readFileSync(STATE, 'utf8'));
    // 更新: upload, preview, confirm, download
    await page.getByRole('link', { name: '更新' }).click();
    await page.getByLabel('カードイメージ（ファイル）').setInputFiles(st.img);
    await page.getByLabel('利用者証明用暗証番号（数字4桁）').fill('1234');
    await page.getByLabel('署名用暗証番号（英数字6〜16桁）').fill('ABC123');
    await page.getByRole('button', { name: '内容を確認する' }).click();
    await page.locator('#preview').waitFor();
    ok((await page.locator('#fee').innerText()).includes('0円'), 'renewal preview: fee 0円');
    await shot('renew-02-preview');
    await page.getByRole('button', { name: 'この内容で更新する' }).click();
    await page.locator('#download').waitFor();
    ok((await page.locator('#done').innerText()).includes('2'), 'renewal superseded the old certificates');
    await shot('renew-03-renewed');
    const [dl] = await Promise.all([page.waitForEvent('download'), page.locator('#download').click()]);
    const img2 = path.join(path.dirname(STATE), 'card-renewed.img');
    await dl.saveAs(img2);
    ok(fs.statSync(img2).size > 0, 'renewed card image downloaded');
    // 失効: the new auth certificate, from the resident page
    await page.goto(BASE + '/#resident?id=' + st.rid);
    await page.locator('#certs tbody tr').first().waitFor();
    await shot('renew-04-resident');
    await page.locator('#certs a', { hasText: '失効・一時保留' }).first().click();
    await page.getByLabel('理由').selectOption('certificateHold');
    await page.getByRole('button', { name: '失効させる' }).click();
    await page.locator('dialog#confirm').waitFor(); // asked first
    await page.locator('#confirm-ok').click();
    await page.locator('#revoke-result table').waitFor();
    ok((await msg()).includes('一時保留'), 'loss report: certificate on hold');
    await shot('renew-05-hold');
    // an API error shown in Japanese: revoke an unknown serial
    await page.getByLabel('シリアル番号').fill('0123');
    await page.getByRole('button', { name: '失効させる' }).click();
    await page.locator('#confirm-ok').click();
    await page.locator('#msg.error').waitFor();
    ok((await msg()).includes('見つかりません'), 'API error shown in Japanese');
    await shot('renew-06-error');
    await page.getByRole('link', { name: 'ダッシュボード' }).click();
    await page.locator('#count-renewed').waitFor();
    ok((await page.locator('#count-renewed').innerText()) === '2', 'dashboard counts the renewal');
    await page.getByRole('link', { name: '暗証番号の初期化' }).click();
    await shot('renew-07-pin');
  }
} catch (e) {
  failed++;
  console.log('not ok - ' + phase + ': ' + e.message.split('\n')[0]);
  await shot(phase + '-failure').catch(() => {});
} finally {
  await ctx.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
process.exit(failed === 0 ? 0 : 1);
