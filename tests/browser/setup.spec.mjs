// Setting up a fresh jpkid in chromium, in Japanese: the administrator
// logs in and follows the first-run steps (a municipality, a clerk, the
// residents' CSV import: a file with wrong rows first, each row's error in
// Japanese, then a good one), and sees the audit log's check; the clerk
// logs in (a wrong password first, twice: the same Japanese message each
// time), reads a resident with dates in 和暦, and records a change of
// address after a confirmation (the page shows the new address at once);
// a wrong current password is refused on the password screen; the
// administrator reads the resident's history with JST times.
// Screenshots (PNG) go to $SHOTS; the CSV files are in $WORK.
// usage: BASE=http://127.0.0.1:PORT node setup.spec.mjs
import { openSpec } from './spec.mjs';
import path from 'node:path';

const BASE = process.env.BASE;
const WORK = process.env.WORK;
const { page, ok, shot, run } = await openSpec({ launch: { timezoneId: 'UTC' } });
const jsErrors = [];
page.on('pageerror', (e) => jsErrors.push(e.message));
const msg = () => page.locator('#msg').innerText();
// Japanese pages: no raw ISO instant, no English error text
const noIso = async (where) => {
  const text = await page.locator('main').innerText();
  ok(!/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(text) && !/\d{2}:\d{2}:\d{2}Z/.test(text), where + ': no UTC ISO times');
};

async function login(name, password) {
  await page.getByLabel('職員名').fill(name);
  await page.getByLabel('パスワード').fill(password);
  await page.getByRole('button', { name: 'ログインする' }).click();
}
async function logout() {
  await page.getByRole('button', { name: 'ログアウト' }).click();
  await page.getByRole('button', { name: 'ログインする' }).waitFor();
}

await run('setup', async () => {
  // ---- the conventions themselves (fmt.js), at the era and day edges ----
  await page.goto(BASE + '/');
  const f = await page.evaluate(async () => {
    const m = await import('/ui/fmt.js');
    return [m.fmtDate('1989-01-07'), m.fmtDate('1989-01-08'), m.fmtDate('2019-04-30'), m.fmtDate('2019-05-01'),
      m.fmtDate('2026-12-06'), m.fmtDate('2031-12-06T14:59:59Z'), m.fmtDate('2031-12-06T15:00:00Z'),
      m.fmtDateTime('2031-12-06T14:59:59Z', true), m.fmtDateTime('2026-01-01T00:00:00+09:00'),
      m.fmtReason('affiliationChanged'), m.fmtReason('certificateHold'), m.fmtReason('superseded'),
      m.fmtReason('cessationOfOperation'), m.fmtReason('keyCompromise'), m.fmtCertStatus({ status: 'hold', reason: 'certificateHold' }),
      m.fmtCertStatus({ status: 'revoked', reason: 'affiliationChanged' }), m.pinRule('sign'), m.pinRule('auth'), m.fmtDate('not a date')];
  });
  const want = ['昭和64年1月7日 (1989年)', '平成元年1月8日 (1989年)', '平成31年4月30日 (2019年)', '令和元年5月1日 (2019年)',
    '令和8年12月6日 (2026年)', '令和13年12月6日 (2031年)', '令和13年12月7日 (2031年)',
    '令和13年12月6日 (2031年) 23:59:59 (日本時間)', '令和8年1月1日 (2026年) 00:00 (日本時間)',
    '記載事項変更', '一時保留', '更新', '失効(住民票消除等)', '鍵の危殆化', '一時保留', '失効（記載事項変更）',
    '英数字6〜16桁・英字は大文字・数字と英字を混在', '数字4桁', 'not a date'];
  want.forEach((w, i) => ok(f[i] === w, 'fmt: ' + w + (f[i] === w ? '' : ' (got ' + f[i] + ')')));

  // ---- the administrator: first-run steps ----
  await login('admin', 'admin-password-1');
  await page.locator('#first-run').waitFor();
  const steps = await page.locator('#first-run li').allInnerTexts();
  ok(steps.length === 3 && steps.every((s) => s.includes('未了')), 'first run: three steps to do');
  ok((await page.locator('#first-run').innerText()).includes('市区町村を登録する'), 'first run names the municipality step');
  await shot('01-first-run');

  // 1. a municipality
  await page.getByRole('link', { name: '市区町村を登録する' }).click();
  await page.locator('#munis-none').waitFor();
  await page.getByLabel('全国地方公共団体コード（6桁）').fill('132217');
  await page.locator('#m-pref').fill('東京都');
  await page.locator('#m-city').fill('清瀬市');
  await page.getByLabel('都道府県（ローマ字）').fill('Tokyo-to');
  await page.getByLabel('市区町村（ローマ字）').fill('Kiyose-shi');
  await shot('02-municipality-form');
  await page.getByRole('button', { name: '市区町村を登録する' }).click();
  await page.locator('#munis tbody tr').first().waitFor();
  ok((await msg()).includes('132217') && (await msg()).includes('清瀬市'), 'municipality recorded: ' + (await msg()));
  // the same code again: a distinct Japanese headline, no English
  await page.getByLabel('全国地方公共団体コード（6桁）').fill('132217');
  await page.locator('#m-pref').fill('東京都');
  await page.locator('#m-city').fill('清瀬市');
  await page.getByLabel('都道府県（ローマ字）').fill('Tokyo-to');
  await page.getByLabel('市区町村（ローマ字）').fill('Kiyose-shi');
  await page.getByRole('button', { name: '市区町村を登録する' }).click();
  await page.locator('#msg.error').waitFor();
  const dup = await msg();
  ok(dup.includes('既に登録されています') && !/[a-z]{4,}/.test(dup), 'duplicate municipality: Japanese headline only (' + dup + ')');
  await shot('03-municipality-duplicate');
  // an edit of the name in kanji
  await page.locator('#ec-132217').fill('清瀬市');
  await page.locator('#edit-132217 button').click();
  await page.locator('#msg.info').waitFor();
  ok((await msg()).includes('保存しました'), 'municipality edited');

  // 2. a clerk
  await page.getByRole('link', { name: 'ダッシュボード' }).click();
  await page.locator('#step-muni.done').waitFor();
  ok((await page.locator('#step-muni').innerText()).includes('完了'), 'first run: municipality step done');
  await shot('04-first-run-muni-done');
  await page.getByRole('link', { name: '窓口職員を登録する' }).click();
  await page.locator('#operator-form').waitFor();
  await page.getByLabel('職員名（ログイン名）').fill('clerk1');
  await page.getByLabel('権限').selectOption('clerk');
  await page.locator('#op-pass').fill('short');
  await page.getByRole('button', { name: '職員を登録する' }).click();
  await page.locator('#msg.error').waitFor();
  ok((await msg()).includes('パスワード'), 'a short password refused in Japanese: ' + (await msg()));
  await page.locator('#op-pass').fill('clerk-password-1');
  await page.getByRole('button', { name: '職員を登録する' }).click();
  await page.locator('#msg.info').waitFor();
  ok((await msg()).includes('clerk1') && (await msg()).includes('窓口職員'), 'clerk created: ' + (await msg()));
  ok((await page.locator('#operators').innerText()).includes('窓口職員'), 'operators list: roles in Japanese');
  await noIso('operators');
  await shot('05-operators');

  // 3. residents from CSV: the bad file first
  await page.getByRole('link', { name: 'ダッシュボード' }).click();
  await page.locator('#step-clerk.done').waitFor();
  await page.getByRole('link', { name: '住民データを取り込む' }).click();
  await page.getByLabel('CSVファイル').setInputFiles(path.join(WORK, 'bad.csv'));
  await page.getByRole('button', { name: '取り込む' }).click();
  await page.locator('#import-errors tbody tr').first().waitFor();
  const errs = await page.locator('#import-errors tbody tr').allInnerTexts();
  ok(errs.length === 2, 'two wrong rows listed: ' + errs.join(' / '));
  ok(errs.some((e) => e.startsWith('3') && e.includes('生年月日')), 'line 3: the birth date, in Japanese');
  ok(errs.some((e) => e.startsWith('4') && e.includes('999999') && e.includes('登録されていません')), 'line 4: the unknown municipality, in Japanese');
  ok(!/[a-z]{4,}/.test(errs.join(' ')), 'row errors without English');
  ok((await page.locator('#import-summary').innerText()).includes('取り込みませんでした'), 'nothing imported from a bad file');
  await shot('06-import-errors');
  await page.getByLabel('CSVファイル').setInputFiles(path.join(WORK, 'good.csv'));
  await page.getByRole('button', { name: '取り込む' }).click();
  await page.locator('#msg.info').waitFor();
  ok((await msg()).includes('2 人を取り込みました'), 'good file imported: ' + (await msg()));
  await shot('07-import-ok');

  // the dashboard: set up, the audit log checked
  await page.getByRole('link', { name: 'ダッシュボード' }).click();
  await page.locator('#audit-ok').waitFor();
  ok(await page.locator('#first-run').count() === 0, 'first run gone once everything is set up');
  ok((await page.locator('#audit-ok').innerText()).includes('改ざんはありません'), 'dashboard: audit log intact');
  await shot('08-dashboard-done');
  await logout();

  // ---- the clerk: a wrong password, twice, then in ----
  await login('clerk1', 'wrong-password-1');
  await page.locator('#msg.error').waitFor();
  ok((await msg()).trim() === 'ユーザー名またはパスワードが違います', 'wrong password, first try: ' + (await msg()));
  await shot('09-login-wrong');
  await login('clerk1', 'wrong-password-2');
  await page.locator('#msg.error').waitFor();
  ok((await msg()).trim() === 'ユーザー名またはパスワードが違います', 'wrong password, second try: ' + (await msg()));
  await login('clerk1', 'clerk-password-1');
  await page.locator('#count-issued').waitFor();
  ok(await page.locator('#first-run').count() === 0 && await page.locator('#nav-operators').isHidden(), 'clerk: no set-up screens');

  // a resident in 和暦
  await page.goto(BASE + '/#resident?id=1');
  await page.locator('#res-birth').waitFor();
  const birth = await page.locator('#res-birth').innerText();
  ok(birth === '昭和55年12月31日 (1980年)', 'birth in 和暦 with 西暦: ' + birth);
  await page.goto(BASE + '/#resident?id=2');
  await page.locator('#res-birth', { hasText: '令和' }).waitFor();
  ok((await page.locator('#res-birth').innerText()) === '令和元年5月1日 (2019年)', 'first year of an era: 元年');
  ok((await page.locator('.date-hint').innerText()) === '令和元年5月1日 (2019年)', 'the date input shows its 和暦');
  await noIso('resident');
  // 異動 with a confirmation; "やめる" leaves the record alone
  await page.goto(BASE + '/#resident?id=1');
  await page.locator('#res-id', { hasText: /^1$/ }).waitFor();
  await page.locator('#r-address').fill('東京都清瀬市中里3-3');
  await page.getByRole('button', { name: '異動を届け出る' }).click();
  await page.locator('dialog#confirm').waitFor();
  ok((await page.locator('#confirm-text').innerText()).includes('住所'), 'confirmation names what changes');
  await shot('10-change-confirm');
  await page.locator('#confirm-cancel').click();
  ok((await page.locator('#res-address').innerText()) === '東京都清瀬市中里1-1', 'cancelled: the address unchanged');
  await page.getByRole('button', { name: '異動を届け出る' }).click();
  await page.locator('#confirm-ok').click();
  await page.locator('#msg.info').waitFor();
  ok((await page.locator('#res-address').innerText()) === '東京都清瀬市中里3-3', 'after 異動 the page shows the new address');
  ok((await page.locator('#r-address').inputValue()) === '東京都清瀬市中里3-3', '... and the form holds it');
  await shot('11-changed');
  // one's own password: the current one must be right
  await page.locator('#nav-password').click();
  await page.getByLabel('現在のパスワード').fill('not-my-password');
  await page.getByLabel('新しいパスワード', { exact: true }).fill('clerk-password-2');
  await page.getByLabel('新しいパスワード（確認）').fill('clerk-password-2');
  await page.getByRole('button', { name: 'パスワードを変更する' }).click();
  await page.locator('#msg.error').waitFor();
  ok((await msg()).includes('現在のパスワードが違います'), 'wrong current password: ' + (await msg()));
  ok(await page.locator('#password-form').count() === 1, 'still logged in after the refusal');
  await shot('12-password-wrong-current');
  // the PIN screen states the rules
  await page.getByRole('link', { name: '暗証番号の初期化' }).click();
  const rules = await page.locator('#pin-rules').innerText();
  ok(rules.includes('英数字6〜16桁・英字は大文字・数字と英字を混在') && rules.includes('数字4桁'), 'PIN rules on the PIN screen');
  await logout();

  // ---- the administrator: the resident's history in JST ----
  await login('admin', 'admin-password-1');
  await page.locator('#count-issued').waitFor();
  await page.goto(BASE + '/#resident?id=1');
  await page.locator('#res-audit').click();
  await page.locator('#audit-records tbody tr').first().waitFor();
  const hist = await page.locator('#audit-records').innerText();
  ok(hist.includes('異動（記載事項の変更）') && hist.includes('住民の登録'), 'history: registration and change, in Japanese');
  ok(/令和\d+年\d+月\d+日 \(\d{4}年\) \d{2}:\d{2}:\d{2} \(日本時間\)/.test(hist), 'history times in JST');
  await noIso('audit');
  await shot('13-resident-history');
  await page.getByLabel('対象').selectOption('operator');
  await page.getByLabel('番号・職員名').fill('clerk1');
  await page.getByRole('button', { name: '履歴を表示する' }).click();
  await page.locator('#audit-records', { hasText: '職員の登録' }).waitFor();
  ok((await page.locator('#audit-records').innerText()).includes('clerk1'), 'operator history');
  await shot('14-operator-history');
  // the English UI: the same refusal with the service's own detail
  await page.getByRole('button', { name: 'English' }).click();
  await page.goto(BASE + '/#operators');
  await page.locator('#operator-form').waitFor();
  await page.getByLabel('Operator (log-in name)').fill('clerk1');
  await page.locator('#op-pass').fill('clerk-password-1');
  await page.getByRole('button', { name: 'Create the operator' }).click();
  await page.locator('#msg.error').waitFor();
  const en = await msg();
  ok(en.includes('Already on record.') && en.includes('operator clerk1 exists'), 'English UI: headline and the service\'s detail (' + en + ')');
  await shot('15-english-error');
  await page.getByRole('button', { name: '日本語' }).click();
  ok(jsErrors.length === 0, 'no script errors' + (jsErrors.length ? ': ' + jsErrors.join('; ') : ''));
}, { failureShot: 'failure' });
