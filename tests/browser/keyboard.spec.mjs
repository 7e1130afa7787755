// A keyboard-only run through one application (issue #10 acceptance): a
// clerk logs in, finds the resident, opens a 新規交付, records the
// identity document, approves it, records the produced card, marks it
// arrived and hands it over onto the virtual card the service keeps, with
// page.keyboard alone (Tab, Shift+Tab, Enter, Space, arrow keys, typing):
// no mouse, no locator.click/fill/selectOption.  Along the way it checks
// that focus lands on the page heading after every navigation, that the
// focused element is drawn with a visible outline, and that the 異動
// confirmation takes the focus, closes on Escape and gives the focus back.
// Screenshots (PNG) go to $SHOTS.  Prints the application's id as
// "app-id N" for the driver to check over the API.
// usage: BASE=... SHOTS=... RID=... node keyboard.spec.mjs
import { openSpec } from './spec.mjs';

const BASE = process.env.BASE;
const RID = process.env.RID;
const { page, ok, shot, run } = await openSpec({ prefix: 'keyboard-' });
const kb = page.keyboard;

// what has the focus: tag, id, text, and whether its outline is drawn
const focused = () => page.evaluate(() => {
  const e = document.activeElement;
  if (!e || e === document.body) return { tag: 'BODY', id: '', text: '', outline: false, inDialog: false };
  const cs = getComputedStyle(e);
  return { tag: e.tagName, id: e.id, text: (e.innerText || e.value || '').trim().slice(0, 80),
    outline: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0, inDialog: !!e.closest('dialog[open]') };
});
// Tab (or Shift+Tab) until the focused element matches; fails after max keys
async function tabTo(match, what, { back = false, max = 60 } = {}) {
  for (let i = 0; i < max; i++) {
    await kb.press(back ? 'Shift+Tab' : 'Tab');
    const f = await focused();
    if (match(f)) return f;
  }
  throw new Error('Tab never reached ' + what);
}
// page.waitForFunction evaluates a string, which the UI's CSP refuses:
// poll page.evaluate instead (bounded)
async function until(fn, arg, what) {
  for (let i = 0; i < 200; i++) {
    if (await page.evaluate(fn, arg)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out waiting for ' + what);
}
const byId = (id) => (f) => f.id === id;
const byText = (tag, text) => (f) => f.tag === tag && f.text === text;
// after a navigation the heading has the focus
async function headingFocused(text, what) {
  await until((t) => document.activeElement && document.activeElement.tagName === 'H2' &&
    document.activeElement.textContent === t, text, 'the heading ' + text);
  const f = await focused();
  ok(f.tag === 'H2' && f.text === text && f.outline, what + ': focus on the heading 「' + text + '」, outlined');
}
async function waitInfo() { await page.locator('#msg.info').waitFor(); }
const state = () => page.evaluate(() => {
  const rows = [...document.querySelectorAll('#app-info tr')];
  const r = rows.find((tr) => tr.querySelector('th').textContent === '状態');
  return r ? r.querySelector('td').textContent : '';
});

await run('keyboard', async () => {
  await page.goto(BASE + '/');
  await headingFocused('ログイン', 'log-in page');
  let f = await tabTo(byId('l-name'), 'the operator name');
  ok(f.outline, 'the name field shows its focus');
  await kb.type('clerk1');
  await kb.press('Tab');
  await kb.type('clerk-password-1');
  await shot('login');
  await kb.press('Enter');
  await headingFocused('ダッシュボード', 'after log-in');

  // 住民検索 from the menu: Tab to the link, Enter
  f = await tabTo(byText('A', '住民検索'), 'the 住民検索 link', { back: true });
  ok(f.outline, 'the menu link shows its focus');
  await kb.press('Enter');
  await headingFocused('住民検索', 'search page');
  await tabTo(byId('q'), 'the search field');
  await kb.type('スズキ ケン');
  await kb.press('Enter');
  await page.locator('#search-results').waitFor();
  await shot('search');
  f = await tabTo((x) => x.tag === 'A' && x.text === '表示', 'the result link');
  ok(f.outline, 'the result link shows its focus');
  await kb.press('Enter');
  await headingFocused('表示', 'resident page');
  ok((await page.locator('#res-id').innerText()) === RID, 'the resident found is ' + RID);

  // 異動: the confirmation takes the focus, Escape closes it, nothing changes
  const addr = await page.locator('#res-address').innerText();
  await tabTo(byId('r-address'), 'the address field');
  await kb.press('End');
  await kb.type('の2');
  await kb.press('Enter');
  await page.locator('dialog#confirm[open]').waitFor();
  f = await focused();
  ok(f.inDialog && f.id === 'confirm-cancel' && f.outline, 'the confirmation has the focus (on やめる), outlined');
  await kb.press('Tab');
  ok((await focused()).id === 'confirm-ok', 'Tab goes round to 実行する');
  await kb.press('Tab');
  ok((await focused()).id === 'confirm-cancel', 'Tab stays inside the confirmation');
  await kb.press('Shift+Tab');
  ok((await focused()).id === 'confirm-ok', 'Shift+Tab stays inside the confirmation');
  await kb.press('Shift+Tab');
  await shot('confirm');
  await kb.press('Escape');
  await page.locator('dialog#confirm').waitFor({ state: 'detached' });
  await until(() => document.activeElement && document.activeElement.id === 'r-address', null, 'the focus back');
  ok(true, 'Escape closed the confirmation and gave the focus back to the address field');
  const cur = await page.evaluate(async (rid) => (await (await fetch('/api/v1/residents/' + rid)).json()).address, RID);
  ok(cur === addr, 'Escape changed nothing (' + cur + ')');

  // the 電子証明書の発行 link of the resident page opens the application form
  await tabTo(byText('A', '電子証明書の発行'), 'the 発行 link', { back: true });
  await kb.press('Enter');
  await headingFocused('電子証明書の発行', 'application form');
  f = await tabTo(byId('o-res'), 'the resident field');
  ok(f.text === RID, 'the form carries the resident');
  await tabTo(byId('o-kind'), 'the kind');
  // 発行 is preselected: the first kind, 新規交付, is one up
  await kb.press('ArrowUp');
  ok((await page.locator('#o-kind').inputValue()) === 'new-card', 'ArrowUp chose 新規交付');
  await shot('open');
  await tabTo((x) => x.tag === 'BUTTON' && x.text === '申請を受け付ける', 'the submit button');
  await kb.press('Enter');
  await headingFocused('申請', 'the application page');
  const appId = await page.locator('#app-info tbody tr td').first().innerText();
  console.log('app-id ' + appId);
  ok((await state()) === '受付', 'received');

  // the identity document: type from the list by arrow keys, the expiry
  // typed.  The order of a date input's parts (年月日 or month/day/year)
  // follows chromium's own locale, not the page's: try each order, the page
  // drawn again between tries
  const ORDERS = [['2099', '12', '31'], ['12', '31', '2099'], ['31', '12', '2099']];
  let exp = '';
  for (const parts of ORDERS) {
    await tabTo(byId('d-type'), 'the document type');
    await kb.press('ArrowDown');
    ok((await page.locator('#d-type').inputValue()) === 'drivers_license', 'ArrowDown chose 運転免許証');
    await kb.press('Tab');
    await kb.type('KB1');
    await kb.press('Tab');
    ok((await focused()).id === 'd-expiry', 'Tab goes on to the expiry');
    // a 4-digit year may take more digits: ArrowRight moves on
    for (const p of parts) { await kb.type(p); if (p.length === 4) await kb.press('ArrowRight'); }
    exp = await page.locator('#d-expiry').inputValue();
    if (exp === '2099-12-31') break;
    await page.reload();
    await headingFocused('申請', 'the application page again');
  }
  ok(exp === '2099-12-31', 'the expiry typed: 2099-12-31 (' + exp + ')');
  await kb.press('Enter');
  await page.locator('#app-docs-table tbody tr').first().waitFor();
  await headingFocused('申請', 'after the document');

  // 承認する with Enter
  f = await tabTo(byId('act-approve'), 'the approve button');
  ok(f.outline, 'the approve button shows its focus');
  await kb.press('Enter');
  await waitInfo();
  await headingFocused('申請', 'after approval');
  ok((await state()) === 'カード発注', 'approved: the card ordered');
  // the card produced: its serial typed, Enter
  await tabTo(byId('c-card'), 'the produced card field');
  await kb.type('VK-1');
  await kb.press('Enter');
  await waitInfo();
  await headingFocused('申請', 'after the card produced');
  // 窓口到着 with Space
  await tabTo(byId('act-ready'), 'the card-ready button');
  await kb.press('Space');
  await page.locator('#handover-form').waitFor();
  await headingFocused('申請', 'after the card arrived');
  // the resident's PINs, then 交付 with Enter
  await tabTo(byId('h-auth'), 'the authentication PIN');
  await kb.type('1234');
  await kb.press('Tab');
  ok((await focused()).id === 'h-sign', 'Tab goes on to the signature PIN');
  await kb.type('ABC123');
  await shot('handover');
  await tabTo(byId('act-handover'), 'the hand-over button');
  await kb.press('Enter');
  await page.locator('#msg.info', { hasText: '交付' }).waitFor();
  await headingFocused('申請', 'after the hand-over');
  ok((await state()) === '完了', 'completed');
  // the history in Japanese: each step's detail worded again, no English
  const hist = (await page.locator('#app-history tbody td:nth-child(6)').allInnerTexts()).join(' / ');
  ok(hist.includes('カード VK-1 を交付（有効期限') && hist.includes('書類 1: 運転免許証（本人）') &&
    hist.includes('申請者: 本人・電子証明書: 署名用'), 'history details in Japanese');
  ok(!/[a-z]{3,}/.test(hist), 'no English in the history (' + hist.slice(0, 400) + ')');
  await shot('done');
}, { failureShot: 'failure' });
