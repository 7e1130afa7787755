// The counter's web UI in chromium, every change through an application
// (one door): log-in, a resident, a new card opened from 電子証明書の発行
// and completed onto a virtual card the service keeps (preview: validity
// and 0 yen), the image download, renewal of that card (a second jpkid run
// with --test-clock-offset), a loss report (confirmed, held on receipt),
// the language switch; as a supervisor, an application from the list to
// approval (its preview first) and the expiry-notice batch.  Screenshots
// (PNG) go to $SHOTS.
// usage: node counter.spec.mjs PHASE   (PHASE: issue | renew | apps)
import { openSpec } from './spec.mjs';
import fs from 'node:fs';
import path from 'node:path';

const BASE = process.env.BASE;
const STATE = process.env.STATE; // a JSON file carried between the phases
const phase = process.argv[2];
const { page, ok, shot, confirmOk, run } = await openSpec();
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

await run(phase, async () => {
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
    // folded: hiragana with a full-width space, and the birth date in 和暦
    for (const q of ['さとう　いちろう', '昭和54年8月31日']) {
      await page.getByLabel('氏名・カナ・住民番号').fill(q);
      await page.getByRole('button', { name: '検索する' }).click();
      await page.locator('#search-results').waitFor();
      ok((await page.locator('#results').innerText()).includes('佐藤 一郎'), 'search by ' + q);
    }
    await shot('issue-02b-search-wareki');
    // 電子証明書の発行: the first step of an application (新規交付 here)
    await page.goto(BASE + '/#issue?r=' + rid);
    await page.locator('#open-app-form').waitFor();
    ok(await page.getByLabel('住民番号').inputValue() === rid, 'the issue screen opens an application for the resident');
    await page.getByLabel('申請の種類').selectOption('new-card');
    await page.getByRole('button', { name: '申請を受け付ける' }).click();
    await page.locator('#app-preview').waitFor();
    const pv = await page.locator('#app-preview').innerText();
    ok(/\d{4}-\d{2}-\d{2}/.test(pv), 'preview shows the last valid day');
    ok((await page.locator('#app-fee').innerText()).includes('0円'), 'preview shows the fee 0円');
    ok((await page.locator('#app-plan').innerText()).includes('5回目の誕生日'), 'preview shows the law\'s plan in Japanese');
    await shot('issue-04-preview');
    await page.getByLabel('書類').selectOption('drivers_license');
    await page.getByLabel('番号', { exact: true }).fill('123456789012B');
    await page.getByLabel('有効期限').fill('2099-12-31');
    await page.getByRole('button', { name: '書類を記録する' }).click();
    await page.locator('#app-docs-table tbody tr').first().waitFor();
    await page.getByRole('button', { name: '承認する' }).click();
    await page.locator('#msg', { hasText: 'カード発注' }).waitFor();
    await page.getByLabel('作成されたカードのシリアル番号').fill('BCARD-0');
    await page.getByRole('button', { name: 'カード作成済' }).click();
    await page.locator('#act-ready').click();
    await page.locator('#handover-form').waitFor();
    await page.getByLabel('利用者証明用暗証番号（数字4桁）').fill('1234');
    await page.getByLabel('署名用暗証番号（英数字6〜16桁）').fill('ABC123');
    ok((await page.locator('#handover-form').innerText()).includes('英字は大文字'), 'the PIN rules are stated');
    await page.locator('#act-handover').click();
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
    fs.writeFileSync(STATE, JSON.stringify({ rid, img, card: 'BCARD-0' }));
  } else if (phase === 'apps') {
    // 申請: the open applications, one of them, its preview before approval
    await page.getByRole('link', { name: '申請', exact: true }).click();
    await page.locator('#apps tbody tr').first().waitFor();
    ok((await page.locator('#apps').innerText()).includes('新規交付'), 'applications list shows the open application');
    ok((await page.locator('#apps thead').innerText()).includes('氏名') &&
      (await page.locator('#apps thead').innerText()).includes('受付日'), 'the list has names and dates');
    await shot('apps-01-list');
    // the filter: every application, then back to the open ones
    await page.getByLabel('表示する申請').selectOption('all');
    await page.getByRole('button', { name: '表示する', exact: true }).click();
    await page.waitForURL(/#apps\?f=all/);
    await page.locator('#apps tbody tr').first().waitFor();
    ok(/\d+ 件/.test(await page.locator('#apps-count').innerText()), 'all applications listed');
    await shot('apps-01b-all');
    await page.getByRole('link', { name: '申請', exact: true }).click();
    await page.locator('#apps tbody tr').first().waitFor();
    await page.locator('#apps tbody tr', { hasText: '鈴木　花子' }).locator('a', { hasText: '表示' }).click();
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
    // the 領収書 of the finished application, and the 照会書兼回答書 of the
    // one waiting for its reply, as printed
    await page.goto(BASE + '/#apps?f=finished');
    await page.locator('#apps a.receipt').first().waitFor();
    await page.goto(BASE + await page.locator('#apps a.receipt').first().getAttribute('href'));
    ok((await page.locator('h1').innerText()) === '領収書' && (await page.content()).includes('様'), 'receipt page');
    await shot('apps-03d-receipt');
    await page.goto(BASE + '/#apps?f=inquiry');
    await page.locator('#apps a.inquiry-letter').first().waitFor();
    await page.goto(BASE + await page.locator('#apps a.inquiry-letter').first().getAttribute('href'));
    ok((await page.content()).includes('回答書') && (await page.content()).includes('鈴木　代理'), 'inquiry letter page');
    await shot('apps-03e-inquiry-letter');
    await page.goto(BASE + '/#apps');
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
    // 更新: an application for the kept card, completed with the PINs
    await page.goto(BASE + '/#renew?r=' + st.rid + '&c=' + st.card);
    await page.locator('#open-app-form').waitFor();
    ok(await page.getByLabel('申請の種類').inputValue() === 'renewal', 'the renewal screen opens a renewal application');
    await page.getByRole('button', { name: '申請を受け付ける' }).click();
    await page.locator('#app-preview').waitFor();
    ok((await page.locator('#app-fee').innerText()).includes('0円'), 'renewal preview: fee 0円');
    ok((await page.locator('#app-plan').innerText()).includes('6回目の誕生日'), 'renewal inside the window: the 6th birthday');
    await shot('renew-02-preview');
    await page.getByLabel('書類').selectOption('mynumber_card');
    await page.getByLabel('番号', { exact: true }).fill('BCARD0');
    await page.getByLabel('有効期限').fill('2099-12-31');
    await page.getByRole('button', { name: '書類を記録する' }).click();
    await page.locator('#app-docs-table tbody tr').first().waitFor();
    await page.getByRole('button', { name: '承認する' }).click();
    await page.locator('#complete-form').waitFor();
    await page.getByLabel('利用者証明用暗証番号（数字4桁）').fill('1234');
    await page.getByLabel('署名用暗証番号（英数字6〜16桁）').fill('ABC123');
    await page.locator('#act-complete').click();
    await page.locator('#download').waitFor();
    ok((await msg()).includes('失効・一時保留 2件'), 'renewal superseded the old certificates (' + (await msg()) + ')');
    await shot('renew-03-renewed');
    const [dl] = await Promise.all([page.waitForEvent('download'), page.locator('#download').click()]);
    const img2 = path.join(path.dirname(STATE), 'card-renewed.img');
    await dl.saveAs(img2);
    ok(fs.statSync(img2).size > 0, 'renewed card image downloaded');
    // 紛失届 from the resident page: confirmed, held on receipt
    await page.goto(BASE + '/#resident?id=' + st.rid);
    await page.locator('#certs tbody tr').first().waitFor();
    await shot('renew-04-resident');
    await page.locator('#certs a', { hasText: '失効・一時保留' }).first().click();
    await page.locator('#open-app-form').waitFor();
    await page.getByLabel('申請の種類').selectOption('loss');
    await page.getByRole('button', { name: '申請を受け付ける' }).click();
    await confirmOk('一時保留');
    await page.locator('#app-info').waitFor();
    await page.goto(BASE + '/#resident?id=' + st.rid);
    await page.locator('#certs tbody tr').first().waitFor();
    ok((await page.locator('#certs').innerText()).includes('一時保留'), 'loss report: certificates on hold at once');
    await shot('renew-05-hold');
    // an API error shown in Japanese: an application for an unknown resident
    await page.goto(BASE + '/#revoke?r=999999');
    await page.locator('#open-app-form').waitFor();
    await page.getByRole('button', { name: '申請を受け付ける' }).click();
    await page.locator('#msg.error').waitFor();
    ok((await msg()).includes('見つかりません'), 'API error shown in Japanese');
    await shot('renew-06-error');
    await page.getByRole('link', { name: 'ダッシュボード' }).click();
    await page.locator('#count-renewed').waitFor();
    ok((await page.locator('#count-renewed').innerText()) === '2', 'dashboard counts the renewal');
    await page.getByRole('link', { name: '暗証番号の初期化' }).click();
    await shot('renew-07-pin');
  }
}, { failureShot: phase + '-failure' });
