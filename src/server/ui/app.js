// The counter's web UI: plain ES modules, no build step.  Every value from
// the API reaches the page through textContent (el() below); every
// mutation carries the session's CSRF token.
import { t, getLang, setLang } from '/ui/i18n.js';
import { adminViews } from '/ui/admin.js';
import { fmtDate, fmtDateTime, fmtReason, fmtCertStatus, fmtEnum, fmtDateHint, pinRule } from '/ui/fmt.js';
import { terminalActions } from '/ui/terminal.js';
import { historyDetail } from '/ui/history.js';

const main = document.getElementById('main');
const msg = document.getElementById('msg');
let session = null; // {operator, role, csrf_token}
let keepMsg = false; // the next navigation keeps the message shown

// el('tag', {attr: value}, child...): strings become text nodes.
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'onclick' || k === 'onsubmit' || k === 'onchange') e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  for (const c of kids.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
function field(id, label, input) {
  input.id = id;
  return [el('label', { for: id }, label), input];
}
// A date input with its 和暦 shown beside it.
function dateField(id, label, attrs) {
  const i = el('input', { type: 'date', ...attrs });
  i.id = id;
  return [el('label', { for: id }, label), el('span', {}, i, ' ', fmtDateHint(i))];
}
function say(kind, ...parts) {
  msg.className = kind;
  msg.replaceChildren(...parts);
  if (kind === 'error') msg.focus?.();
}
function clearMsg() { msg.className = ''; msg.replaceChildren(); }

class ApiError extends Error {
  constructor(status, code, message, extra) {
    super(message); this.status = status; this.code = code;
    const x = extra || {};
    this.field = x.field; this.message_ja = x.message_ja || x.reason_ja; this.message_en = x.message_en;
  }
}

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && session) headers['X-CSRF-Token'] = session.csrf_token;
  let r;
  try {
    r = await fetch('/api/v1/' + path, { method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, 'net', String(e));
  }
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    const er = data.error || {};
    throw new ApiError(r.status, er.code || '', er.message || r.statusText, er);
  }
  return data;
}

// An API error in the operator's language: one headline per kind of
// refusal (from the service's stable code), then what the service said
// about it in the same language.  A Japanese page never shows the English
// message: when the service gave none in Japanese, the detail is worded
// from the field or the known refusal (DETAIL_JA), or left out.
const DETAIL_JA = [
  [/under age (\d+): age (\d+)/, (m) => t('dt_under_age', { min: m[1], age: m[2] })],
  [/adult ward/, () => t('dt_adult_ward')],
  [/renewal opens on (\d{4}-\d{2}-\d{2})/, (m) => t('dt_renewal_opens', { d: fmtDate(m[1]) })],
  [/photo identity document is not\s+recorded/, () => t('dt_photo_id')],
  [/マイナンバーカード must be\s+presented/, () => t('dt_mynumber_card')],
  [/proof of legal representation/, () => t('dt_legal_proof')],
  [/needs the 照会書兼回答書/, () => t('dt_inquiry_needed')],
  [/never the same day/, () => t('dt_inquiry_same_day')],
  [/already holds a valid/, () => t('dt_already_holds')],
  [/already has an open/, () => t('dt_open_app')],
  [/is already revoked/, () => t('dt_already_revoked')],
  [/the current password is wrong/, () => t('err_wrong_current_password')],
  [/a password has (\d+) to (\d+) bytes/, (m) => t('dt_password_len', { min: m[1], max: m[2] })],
];
function errorText(e) {
  const keys = ['err_' + e.code, 'err_' + e.status];
  let head = t('err_400');
  for (const k of keys) if (t(k) !== k) { head = t(k); break; }
  if (e.status === 0) head = t('err_net');
  if (e.code === 'invalid_field' && e.field && fieldName(e.field) !== e.field) head = t('err_invalid_field_named', { f: fieldName(e.field) });
  let detail = '';
  if (getLang() === 'ja') {
    if (e.message_ja) detail = e.message_ja;
    else for (const [re, f] of DETAIL_JA) { const m = re.exec(e.message || ''); if (m) { detail = f(m); break; } }
  } else {
    detail = e.message_en || e.message || '';
  }
  if (detail === head) detail = '';
  return { head, detail };
}
function fieldName(f) {
  const k = 'fld_' + f;
  return t(k) !== k ? t(k) : t(f) !== f ? t(f) : f;
}
function showError(e) {
  if (!(e instanceof ApiError)) { say('error', el('strong', {}, t('err_500'))); console.error(e); return; }
  const { head, detail } = errorText(e);
  say('error', el('strong', { id: 'err-head' }, head),
    ...(detail ? [el('br'), el('span', { class: 'note', id: 'err-detail' }, detail)] : []));
  if (e.status === 401 && e.code !== 'bad_credentials' && session !== null) {
    // the session ended (changed password, disabled, expired): log in again
    session = null; chrome();
    if (location.hash !== '#login') { keepMsg = true; go('login'); }
  }
}

// A modal question before anything that revokes, holds or changes a
// record: resolves true when the operator confirms.
function confirmDialog(text, okKey) {
  return new Promise((resolve) => {
    const d = el('dialog', { id: 'confirm', 'aria-labelledby': 'confirm-text' },
      el('p', { id: 'confirm-text' }, text),
      el('p', { class: 'buttons' },
        el('button', { type: 'button', id: 'confirm-ok' }, t(okKey || 'confirm_ok')), ' ',
        el('button', { type: 'button', id: 'confirm-cancel', class: 'sec' }, t('confirm_cancel'))));
    // closing gives the focus back to what opened the question
    const back = document.activeElement;
    const done = (v) => { d.close(); d.remove(); resolve(v);
      setTimeout(() => { if (back && back.isConnected) back.focus(); }, 0); };
    d.querySelector('#confirm-ok').addEventListener('click', () => done(true));
    d.querySelector('#confirm-cancel').addEventListener('click', () => done(false));
    d.addEventListener('cancel', (ev) => { ev.preventDefault(); done(false); });
    // Tab and Shift+Tab go round the two buttons, never out of the question
    d.addEventListener('keydown', (ev) => {
      if (ev.key !== 'Tab') return;
      const b = [...d.querySelectorAll('button')];
      const i = b.indexOf(document.activeElement);
      ev.preventDefault();
      b[(i + (ev.shiftKey ? b.length - 1 : 1)) % b.length].focus();
    });
    document.body.append(d);
    d.showModal();
    d.querySelector('#confirm-cancel').focus();
  });
}
class Cancelled extends Error {}

function busy(form, on) {
  for (const b of form.querySelectorAll('button')) b.disabled = on;
  if (on) say('info', t('working'));
}

// Run an async action from a form; errors are shown, never thrown.
function submit(form, fn) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    busy(form, true);
    try { clearMsg(); await fn(new FormData(form), form); } catch (e) { if (!(e instanceof Cancelled)) showError(e); else clearMsg(); }
    finally { busy(form, false); }
  });
  return form;
}

function page(titleKey, ...kids) {
  main.replaceChildren(el('h2', { tabindex: '-1' }, t(titleKey)),
    ...kids.flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false));
  main.firstChild.focus();
}

// ---- log-in ----
function viewLogin() {
  page('login', submit(el('form', {},
    field('l-name', t('name'), el('input', { name: 'name', required: true, autocomplete: 'username' })),
    field('l-pass', t('password'), el('input', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' })),
    el('div', { class: 'full' }, el('button', { type: 'submit', id: 'login-btn' }, t('login_btn')))),
  async (fd, form) => {
    try {
      session = await api('POST', 'session', { name: fd.get('name'), password: fd.get('password') });
    } catch (e) {
      form.elements.password.value = '';
      form.elements.password.focus();
      throw e;
    }
    clearMsg();
    chrome();
    if (location.hash === '#dashboard') route(); else location.hash = '#dashboard';
  }));
}

// ---- dashboard ----
function latencyChart(stats) {
  const NS = 'http://www.w3.org/2000/svg';
  const mk = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const classes = stats.latency.filter((c) => c.count > 0);
  const nb = stats.latency[0] ? stats.latency[0].buckets.length : 0;
  const W = 640, H = 220, L = 40, B = 40, bw = (W - L - 10) / Math.max(nb, 1);
  const colors = ['#0b4f9c', '#d9822b', '#1d6b2a', '#8e44ad', '#a40000', '#555'];
  let max = 1;
  const sums = [];
  for (let i = 0; i < nb; i++) {
    let s = 0;
    for (const c of classes) s += c.buckets[i].count;
    sums.push(s); max = Math.max(max, s);
  }
  const svg = mk('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': t('latency') });
  svg.append(mk('line', { x1: L, y1: H - B, x2: W - 5, y2: H - B, stroke: '#333' }));
  svg.append(mk('text', { x: 2, y: 12 }, String(max)));
  for (let i = 0; i < nb; i++) {
    let y = H - B;
    classes.forEach((c, ci) => {
      const h = (c.buckets[i].count / max) * (H - B - 20);
      if (h <= 0) return;
      y -= h;
      const r = mk('rect', { x: L + i * bw + 2, y, width: bw - 4, height: h, fill: colors[ci % colors.length] });
      r.append(mk('title', {}, `${fmtEnum('cls_', c.class)} ≤ ${c.buckets[i].le}s: ${c.buckets[i].count}`));
      svg.append(r);
    });
    const le = stats.latency[0].buckets[i].le;
    const lab = le < 0 ? '+∞' : le < 0.001 ? (le * 1e6) + 'µs' : le < 1 ? (le * 1e3) + 'ms' : le + 's';
    svg.append(mk('text', { x: L + i * bw + 2, y: H - B + 14 + (i % 2) * 12 }, lab));
  }
  classes.forEach((c, ci) => {
    svg.append(mk('rect', { x: L + ci * 90, y: H - 12, width: 10, height: 10, fill: colors[ci % colors.length] }));
    svg.append(mk('text', { x: L + ci * 90 + 14, y: H - 3 }, fmtEnum('cls_', c.class)));
  });
  return svg;
}

async function viewDashboard() {
  const s = await api('GET', 'stats');
  const n = (k) => el('div', { class: 'card' }, el('div', {}, t(k)), el('div', { class: 'n', id: 'count-' + k }, s.today[k]));
  const extra = await admin.dashboardParts(session);
  page('nav_dashboard', extra,
    el('h3', {}, t('today') + ' (' + fmtDate(s.day) + ')'),
    el('div', { class: 'cards' }, n('issued'), n('renewed'), n('revoked')),
    el('h3', {}, t('queue')),
    el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, t('klass')), el('th', {}, t('length')), el('th', {}, t('capacity')))),
      el('tbody', {}, s.queues.map((q) => el('tr', {}, el('td', {}, fmtEnum('cls_', q.class)), el('td', {}, q.length), el('td', {}, q.capacity))))),
    el('h3', {}, t('latency')),
    latencyChart(s));
}

// ---- residents ----
function certStatus(c) {
  return el('span', { class: 'st-' + c.status }, fmtCertStatus(c));
}
function certTable(certs) {
  return el('table', { id: 'certs' },
    el('thead', {}, el('tr', {}, ['serial', 'kind', 'card', 'not_after', 'status'].map((k) => el('th', {}, t(k))))),
    el('tbody', {}, certs.filter((c) => c.kind === 'sign' || c.kind === 'auth').map((c) => el('tr', {},
      el('td', { class: 'mono' }, c.serial), el('td', {}, t(c.kind)), el('td', { class: 'mono' }, c.card),
      el('td', {}, fmtDate(c.not_after)), el('td', {}, certStatus(c),
        c.status === 'valid' ? [' ', el('a', { href: '#revoke?r=' + encodeURIComponent(c.resident || '') + '&c=' + encodeURIComponent(c.card || '') }, t('nav_revoke'))] : null)))));
}

function viewSearch(params) {
  const results = el('div', { id: 'results' });
  const form = submit(el('form', { role: 'search' },
    field('q', t('search_q'), el('input', { name: 'q', value: params.get('q') || '', 'aria-describedby': 'q-hint' })),
    el('p', { id: 'q-hint', class: 'full hint' }, t('search_hint')),
    el('div', { class: 'full' }, el('button', { type: 'submit' }, t('search_btn')))),
  async (fd) => {
    const d = await api('GET', 'residents?q=' + encodeURIComponent(fd.get('q')) + '&limit=50');
    results.replaceChildren(el('h3', {}, t('results')), d.residents.length === 0 ? el('p', {}, t('none')) :
      el('table', { id: 'search-results' }, el('thead', {}, el('tr', {}, ['id', 'ext_id', 'res_name', 'kana', 'birth', 'address', 'status', ''].map((k) => el('th', {}, k ? t(k) : '')))),
        el('tbody', {}, d.residents.map((r) => el('tr', {}, el('td', {}, r.id), el('td', { class: 'mono' }, r.ext_id), el('td', {}, r.name), el('td', {}, r.kana),
          el('td', {}, fmtDate(r.birth)), el('td', {}, r.address), el('td', {}, t(r.status)),
          el('td', {}, el('a', { href: '#resident?id=' + r.id }, t('show'))))))));
  });
  page('nav_search', form, results);
}

function residentFields(r) {
  return [
    field('r-name', t('res_name'), el('input', { name: 'name', required: true, value: r.name || '' })),
    field('r-kana', t('kana'), el('input', { name: 'kana', required: true, value: r.kana || '' })),
    field('r-address', t('address'), el('input', { name: 'address', required: true, value: r.address || '', size: 40 })),
    dateField('r-birth', t('birth'), { name: 'birth', required: true, value: r.birth || '' }),
    field('r-ward', t('adult_ward'), el('input', { name: 'adult_ward', type: 'checkbox', checked: !!r.adult_ward })),
    field('r-mynumber', t('my_number'), el('input', { name: 'my_number', value: r.my_number || '', inputmode: 'numeric',
      pattern: '[0-9]{12}', maxlength: 12, autocomplete: 'off', class: 'mono' })),
  ];
}

async function viewResident(params, after) {
  const r = await api('GET', 'residents/' + encodeURIComponent(params.get('id')));
  const out = el('div', { id: 'change-result' });
  const show = (k) => k === 'status' ? t(r[k]) : k === 'birth' ? fmtDate(r[k]) : r[k];
  const dl = el('table', { id: 'resident-info' }, el('tbody', {}, ['id', 'ext_id', 'name', 'kana', 'birth', 'address', 'muni', 'status'].map((k) =>
    el('tr', {}, el('th', {}, t(k === 'name' ? 'res_name' : k)), el('td', { id: 'res-' + k }, show(k))))));
  const form = submit(el('form', { id: 'change-form' }, residentFields(r),
    el('div', { class: 'full' }, el('button', { type: 'submit' }, t('change_btn')))),
  async (fd) => {
    const body = {};
    for (const k of ['name', 'kana', 'address', 'birth']) if (fd.get(k) !== r[k]) body[k] = fd.get(k);
    if (fd.get('my_number') !== (r.my_number || '')) body.my_number = fd.get('my_number');
    if ((fd.get('adult_ward') === 'on') !== !!r.adult_ward) body.adult_ward = fd.get('adult_ward') === 'on';
    if (Object.keys(body).length === 0) { say('info', t('change_nothing')); return; }
    // 異動 may revoke certificates (記載事項変更): ask first
    const what = Object.keys(body).map((k) => fieldName(k === 'name' ? 'res_name' : k)).join('・');
    if (!await confirmDialog(t('confirm_change', { what }), 'change_btn')) throw new Cancelled();
    const d = await api('PATCH', 'residents/' + r.id, body);
    // the page again from the service: the new record, the new states
    await viewResident(params, el('div', { id: 'change-result' }, el('h3', {}, t('change_revoked')),
      d.revoked.length === 0 ? el('p', {}, t('change_none')) : el('ul', {}, d.revoked.map((s) => el('li', { class: 'mono' }, s)))));
    say('info', t('changed_ok'));
  });
  if (after) out.replaceChildren(after);
  page('show', dl, el('p', {},
    el('a', { href: '#issue?r=' + r.id }, t('nav_issue')), ' ・ ', el('a', { href: '#renew' }, t('nav_renew')),
    session && session.role !== 'clerk' ? [' ・ ', el('a', { href: '#audit?q=resident:' + r.id, id: 'res-audit' }, t('audit_history'))] : null),
  el('h3', {}, t('certs')), certTable(r.certificates), el('h3', {}, t('change')), form, out);
}

async function viewRegister() {
  const m = await api('GET', 'municipalities');
  const form = submit(el('form', {},
    field('r-ext', t('ext_id'), el('input', { name: 'ext_id', required: true })),
    residentFields({}),
    field('r-sex', t('sex'), el('select', { name: 'sex' }, el('option', { value: '1' }, t('male')), el('option', { value: '2' }, t('female')))),
    field('r-muni', t('muni'), el('select', { name: 'muni' }, m.municipalities.map((x) => el('option', { value: x.code }, x.code + ' ' + x.pref + x.city)))),
    el('div', { class: 'full' }, el('button', { type: 'submit' }, t('register_btn')))),
  async (fd) => {
    const r = await api('POST', 'residents', { ext_id: fd.get('ext_id'), name: fd.get('name'), kana: fd.get('kana'),
      address: fd.get('address'), birth: fd.get('birth'), sex: Number(fd.get('sex')), muni: fd.get('muni'),
      adult_ward: fd.get('adult_ward') === 'on', ...(fd.get('my_number') ? { my_number: fd.get('my_number') } : {}) });
    say('info', t('registered', { id: r.id }), ' ', el('a', { href: '#resident?id=' + r.id, id: 'new-resident' }, t('show')));
  });
  page('nav_register', m.municipalities.length === 0
    ? el('p', { class: 'note', id: 'no-muni' }, t('no_muni_yet'), ' ', el('a', { href: '#munis' }, t('nav_munis'))) : null, form);
}

// ---- the former direct screens: the first step of an application ----
// 発行, 更新, 失効・一時保留 and 暗証番号の初期化 change certificates, cards
// or PINs, so they open an application of their kind (one door).
function viewOpenKind(kind, titleKey) {
  // 暗証番号の初期化: the rules of the new PINs, before the resident sets them
  const rules = kind !== 'pin-reset' ? null : [el('h3', {}, t('pin_rules')),
    el('ul', { id: 'pin-rules' }, ['sign', 'auth', 'cardinfo'].map((k) => el('li', {}, pinLabel(k))))];
  return (params) => page(titleKey, el('p', { class: 'note' }, t('one_door_note')),
    openAppForm({ kind, resident: params.get('r') || '', card: params.get('c') || '' }), rules);
}

// A PIN's label with its rule (英数字6〜16桁・英字は大文字・数字と英字を混在;
// 数字4桁), read out with the field.
function pinLabel(kind) {
  return [t(kind === 'sign' ? 'sign_pin' : kind === 'cardinfo' ? 'cardinfo_pin' : 'auth_pin'), el('br'),
    el('span', { class: 'note pin-rule' }, pinRule(kind))];
}

// ---- applications (申請): list, one application, its transitions ----
const DOC_TYPES = ['mynumber_card', 'drivers_license', 'passport', 'special_permanent_resident', 'residence_card',
  'disability_certificate', 'letter_of_attorney', 'inquiry_answer', 'family_register', 'guardianship_certificate'];
const VCARD_LINK = /^\/api\/v1\/cards\/virtual\/[A-Za-z0-9_-]+\/image$/;
const kindName = (k) => t('k_' + String(k).replace(/-/g, '_'));
const stateName = (s) => t('s_' + s);

const APP_KINDS = ['new-card', 'issue', 'renewal', 'reissue', 'revoke', 'pin-reset', 'loss', 'found'];

// Open an application: who, what, by whom, which certificates.
function openAppForm(pre = {}) {
  return submit(el('form', { id: 'open-app-form' },
    field('o-res', t('resident'), el('input', { name: 'resident', required: true, inputmode: 'numeric', pattern: '[0-9]{1,18}', value: pre.resident || '' })),
    field('o-kind', t('app_kind'), el('select', { name: 'kind' }, APP_KINDS.map((k) => el('option', { value: k, selected: k === pre.kind }, kindName(k))))),
    field('o-applicant', t('applicant'), el('select', { name: 'applicant' },
      ['self', 'proxy', 'legal'].map((k) => el('option', { value: k }, t('ap_' + k))))),
    field('o-agent', t('agent_name'), el('input', { name: 'agent_name', maxlength: 255 })),
    field('o-sign', t('want_sign'), el('input', { name: 'want_sign', type: 'checkbox', checked: true })),
    field('o-auth', t('want_auth'), el('input', { name: 'want_auth', type: 'checkbox', checked: true })),
    field('o-card', t('held_card'), el('input', { name: 'card', maxlength: 39, class: 'mono', value: pre.card || '' })),
    field('o-pin-sign', t('reset_sign'), el('input', { name: 'reset_sign', type: 'checkbox' })),
    field('o-pin-auth', t('reset_auth'), el('input', { name: 'reset_auth', type: 'checkbox' })),
    field('o-pin-info', t('reset_cardinfo'), el('input', { name: 'reset_cardinfo', type: 'checkbox' })),
    el('div', { class: 'full' }, el('button', { type: 'submit' }, t('open_app_btn')))),
  async (fd) => {
    const body = { resident: Number(fd.get('resident')), kind: fd.get('kind'), applicant: fd.get('applicant') };
    if (fd.get('agent_name')) body.agent_name = fd.get('agent_name');
    if (fd.get('card')) body.card = fd.get('card');
    const certs = [fd.get('want_sign') === 'on' ? 'sign' : null, fd.get('want_auth') === 'on' ? 'auth' : null].filter(Boolean);
    if (certs.length > 0) body.certs = certs.join(',');
    // 暗証番号の初期化: which PINs the citizen will set anew
    const pins = ['sign', 'auth', 'cardinfo'].filter((k) => fd.get('reset_' + k) === 'on');
    if (body.kind === 'pin-reset' && pins.length > 0) body.pins = pins.join(',');
    // a loss report holds the card's certificates as soon as it is received
    if (body.kind === 'loss' && !await confirmDialog(t('confirm_hold'))) return;
    const a = await api('POST', 'applications', body);
    location.hash = '#app?id=' + a.id;
  });
}

// 申請一覧: which applications (open, waiting for the 照会書 reply,
// finished, all), received between two days; with the residents' names.
const APP_FILTERS = ['open', 'inquiry', 'finished', 'all'];
// The letter an application has to print: its 照会書兼回答書 while the
// reply is awaited, its 領収書 once completed.
function letterLink(a) {
  const open = (path, cls, key) => [' ・ ', el('a', { href: '/api/v1/applications/' + a.id + '/' + path, class: cls,
    target: '_blank', rel: 'noopener' }, t(key))];
  if (a.state === 'inquiry_sent') return open('inquiry-letter', 'inquiry-letter', 'print_inquiry');
  if (a.state === 'completed') return open('receipt', 'receipt', 'print_receipt');
  return null;
}
async function viewApps(params) {
  const f = APP_FILTERS.includes(params.get('f')) ? params.get('f') : 'open';
  const from = params.get('from') || '', to = params.get('to') || '';
  const q = f + (from || to ? ':' + from + '..' + to : '');
  const d = await api('GET', 'applications?q=' + encodeURIComponent(q) + '&limit=200');
  const filter = el('form', { id: 'apps-filter' },
    field('af-f', t('apps_filter'), el('select', { name: 'f' },
      APP_FILTERS.map((k) => el('option', { value: k, selected: k === f }, t('af_' + k))))),
    field('af-from', t('received_from'), el('input', { name: 'from', type: 'date', value: from })),
    field('af-to', t('received_to'), el('input', { name: 'to', type: 'date', value: to })),
    el('div', { class: 'full' }, el('button', { type: 'submit' }, t('filter_btn'))));
  filter.addEventListener('submit', (e) => {
    e.preventDefault();
    const fd = new FormData(filter);
    const p = new URLSearchParams({ f: fd.get('f') });
    if (fd.get('from')) p.set('from', fd.get('from'));
    if (fd.get('to')) p.set('to', fd.get('to'));
    location.hash = '#apps?' + p.toString();
  });
  page(f === 'open' ? 'apps_open' : 'apps_title', filter,
    el('p', { id: 'apps-count' }, t('apps_count', { n: d.applications.length })),
    d.applications.length === 0 ? el('p', {}, t('none')) :
      el('table', { id: 'apps' },
        el('thead', {}, el('tr', {}, ['app_id', 'res_name', 'app_kind', 'app_state', 'applicant', 'received', 'closed', ''].map((k) => el('th', {}, k ? t(k) : '')))),
        el('tbody', {}, d.applications.map((a) => el('tr', {},
          el('td', {}, a.id),
          el('td', {}, el('a', { href: '#resident?id=' + a.resident }, a.resident_name), el('br'), el('small', {}, a.resident_kana)),
          el('td', {}, kindName(a.kind)), el('td', {}, stateName(a.state)),
          el('td', {}, t('ap_' + a.applicant) + (a.agent_name ? ' (' + a.agent_name + ')' : '')),
          el('td', {}, fmtDate(a.received)), el('td', {}, a.closed ? fmtDate(a.closed) : ''),
          el('td', {}, el('a', { href: '#app?id=' + a.id }, t('show')), letterLink(a)))))),
    el('h3', {}, t('open_app')), openAppForm());
}

// What approval would give, shown before the approve button.
function appPreviewBox(pv) {
  const row = (kind) => {
    const k = pv[kind];
    if (!k) return null;
    const v = k.validity;
    return el('tr', {}, el('th', {}, t(kind)), el('td', {}, k.eligible ? t('eligible') : t('ineligible')),
      el('td', { class: 'last-day' }, v ? fmtDate(v.last_day) : ''), el('td', {}, v ? t('cap_' + v.capped_by) : ''),
      el('td', { class: 'refused' }, k.reason_ja || k.message_ja || (k.refused && getLang() === 'ja' ? t('ineligible') : k.refused) || ''));
  };
  return el('div', { class: 'preview', id: 'app-preview' },
    el('h3', {}, t('app_preview')),
    el('table', {}, el('thead', {}, el('tr', {}, ['kind', 'status', 'last_day', 'capped_by', 'refused'].map((k) => el('th', {}, t(k))))),
      el('tbody', {}, row('auth'), row('sign'))),
    el('p', {}, t('age') + ': ' + pv.age + ' ・ ' + t('new_card') + ': ' + (pv.new_card ? t('yes') : t('no')) +
      (pv.card_expiry ? ' ・ ' + t('card_expiry') + ': ' + fmtDate(pv.card_expiry) : '')),
    el('p', { id: 'app-fee' }, t('fee') + ': ' + pv.fee.total_yen + t('yen') +
      ' (' + t('certs') + ' ' + pv.fee.cert_yen + t('yen') + ' + ' + t('card') + ' ' + pv.fee.card_yen + t('yen') + ')'),
    el('p', { id: 'app-docs' }, t('documents_ok') + ': ' + (pv.documents_ok ? t('docs_ok') : t('docs_missing', { m: pv.documents_missing }))),
    planBox(pv.plan),
    pv.hold ? el('p', {}, t('hold_note')) : null,
    pv.affected_count > 0 ? el('p', {}, t('affected') + ': ', pv.affected.map((s) => el('span', { class: 'mono' }, s + ' '))) : null);
}

// The law's plan (rules_plan) for each kind, in the page's language.
function planBox(plan) {
  if (!plan) return null;
  const txt = (o) => (getLang() === 'ja' ? o.ja : o.en) || '';
  const rows = ['sign', 'auth'].filter((k) => plan[k] && plan[k].asked).map((k) => {
    const c = plan[k];
    return el('tr', {}, el('th', {}, t(k)), el('td', { class: 'plan-code mono' }, c.code), el('td', {}, txt(c)),
      el('td', {}, c.current === 'keep' ? '' : t('plan_current_' + c.current) + (c.reason_ja ? '（' + (getLang() === 'ja' ? c.reason_ja : c.reason) + '）' : '')));
  });
  return el('div', { id: 'app-plan' },
    plan.ok ? null : el('p', { class: 'refused', id: 'plan-refusal' }, t('plan_refused') + ': ' + txt(plan)),
    rows.length === 0 ? null : el('table', {}, el('thead', {}, el('tr', {}, ['kind', 'plan_code', 'plan_law', 'plan_current'].map((k) => el('th', {}, t(k))))),
      el('tbody', {}, rows)));
}

// A button that runs one transition and shows the application again.
function actButton(id, key, fn) {
  const b = el('button', { type: 'button', id: 'act-' + key.replace(/^act_/, '') }, t(key));
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      clearMsg();
      const a = await fn();
      await viewApp(new URLSearchParams('id=' + id));
      say('info', t('app_done', { id, state: stateName(a.state) }));
    } catch (e) { showError(e); } finally { b.disabled = false; }
  });
  return b;
}

function appActions(a, pv) {
  const id = a.id;
  const post = (p, body) => api('POST', 'applications/' + id + '/' + p, body || {});
  const early = ['received', 'inquiry_sent', 'inquiry_answered'].includes(a.state);
  const doc = submit(el('form', { id: 'doc-form' },
    field('d-role', t('doc_role'), el('select', { name: 'role' },
      el('option', { value: 'holder' }, t('role_holder')), el('option', { value: 'agent' }, t('role_agent')))),
    field('d-type', t('doc_type'), el('select', { name: 'type' }, DOC_TYPES.map((d) => el('option', { value: d }, t('d_' + d))))),
    field('d-number', t('doc_number'), el('input', { name: 'number', required: true, maxlength: 63 })),
    field('d-expiry', t('doc_expiry'), el('input', { name: 'expiry', type: 'date' })),
    el('div', { class: 'full' }, el('button', { type: 'submit' }, t('add_doc')))),
  async (fd) => {
    const body = { role: fd.get('role'), type: fd.get('type'), number: fd.get('number') };
    if (fd.get('expiry')) body.expiry = fd.get('expiry');
    const r = await post('documents', body);
    await viewApp(new URLSearchParams('id=' + id));
    say('info', t('app_done', { id, state: stateName(r.state) }));
  });
  const reject = submit(el('form', { id: 'reject-form' },
    field('j-reason', t('reject_reason'), el('input', { name: 'reason', required: true, maxlength: 255 })),
    el('div', { class: 'full' }, el('button', { type: 'submit', class: 'sec' }, t('act_reject')))),
  async (fd) => {
    const r = await post('reject', { reason: fd.get('reason') });
    await viewApp(new URLSearchParams('id=' + id));
    say('info', t('app_done', { id, state: stateName(r.state) }));
  });
  const produced = a.state !== 'card_ordered' ? null : submit(el('form', { id: 'produced-form' },
    field('c-card', t('produced_card'), el('input', { name: 'card', required: true, maxlength: 39, class: 'mono' })),
    el('div', { class: 'full' }, el('button', { type: 'submit', id: 'act-produced' }, t('act_produced')))),
  async (fd) => {
    const r = await post('card-produced', { card: fd.get('card') });
    await viewApp(new URLSearchParams('id=' + id));
    say('info', t('app_done', { id, state: stateName(r.state) }));
  });
  // Completion, every kind, onto the virtual card the service keeps: a
  // new card or a reissue is made here; issue, renewal, found and PIN reset
  // write onto the kept card; the resident enters the PINs the plan needs.
  const cardKind = ['new-card', 'reissue'].includes(a.kind);
  const plan = pv && pv.plan;
  const pinsBits = Number(a.pins || 0);
  const want = (k) => plan && plan[k] ? plan[k].issue : a[k];
  const needAuth = cardKind || (a.kind === 'pin-reset' ? (pinsBits & 2) !== 0 : a.kind !== 'revoke' && a.kind !== 'loss' && want('auth'));
  const needSign = a.kind === 'pin-reset' ? (pinsBits & 1) !== 0 : a.kind !== 'revoke' && a.kind !== 'loss' && want('sign');
  const needInfo = cardKind || (a.kind === 'pin-reset' && (pinsBits & 4) !== 0);
  const ready = cardKind ? a.state === 'card_ready' : a.state === 'approved';
  const fid = cardKind ? 'handover' : 'complete';
  const handOver = !ready ? null :
    submit(el('form', { id: fid + '-form' },
      needAuth ? [field('h-auth', t('auth_pin'), el('input', { name: 'auth_pin', type: 'password', required: true, inputmode: 'numeric', pattern: '[0-9]{4}', autocomplete: 'off', 'aria-describedby': 'h-auth-rule' })),
        el('p', { class: 'note full', id: 'h-auth-rule' }, t('pin_rule_4'))] : null,
      needSign ? [field('h-sign', t('sign_pin'), el('input', { name: 'sign_pin', type: 'password', required: true, autocomplete: 'off', pattern: '[A-Za-z0-9]{6,16}', 'aria-describedby': 'h-sign-rule' })),
        el('p', { class: 'note full', id: 'h-sign-rule' }, t('pin_rule_sign'))] : null,
      needInfo ? field('h-info', t('cardinfo_pin'), el('input', { name: 'cardinfo_pin', type: 'password', required: a.kind === 'pin-reset', inputmode: 'numeric', pattern: '[0-9]{4}', autocomplete: 'off' })) : null,
      el('div', { class: 'full' }, el('button', { type: 'submit', id: 'act-' + fid }, cardKind ? t('act_handover') : t('act_complete', { kind: kindName(a.kind) })))),
    async (fd, form) => {
      if ((a.kind === 'revoke' || a.kind === 'found') && !await confirmDialog(t('confirm_revoke'))) return;
      const body = {};
      for (const k of ['auth_pin', 'sign_pin', 'cardinfo_pin']) if (fd.get(k)) body[k] = fd.get(k);
      form.reset();
      const r = await post('complete-virtual', body);
      await viewApp(new URLSearchParams('id=' + id));
      const url = r.download && r.download.url;
      say('info', cardKind ? t('handover_ok', { id, card: r.card, ttl: r.download ? r.download.expires_in : 0 })
        : t('complete_ok', { id, kind: kindName(a.kind), n: (r.revoked_or_held || []).length, fee: r.fee ? r.fee.total_yen : 0 }),
        ...(VCARD_LINK.test(url || '') ? [' ', el('a', { href: url, download: 'card-' + r.card + '.img', id: 'download', class: 'button' }, t('download'))] : []));
    });
  return el('div', { id: 'app-actions' },
    el('h3', {}, t('actions')),
    el('p', { class: 'buttons' },
      a.state === 'received' ? actButton(id, 'act_inquiry', () => post('inquiry')) : null, ' ',
      a.state === 'inquiry_sent' ? actButton(id, 'act_answer', () => post('inquiry/answer')) : null, ' ',
      a.state === 'received' || a.state === 'inquiry_answered' ? actButton(id, 'act_approve', () => post('approve')) : null, ' ',
      a.state === 'card_produced' ? actButton(id, 'act_ready', () => post('card-ready')) : null, ' ',
      actButton(id, 'act_cancel', () => post('cancel'))),
    produced ? [el('h3', {}, t('act_produced')), produced] : null,
    handOver ? [el('h3', {}, cardKind ? t('act_handover') : t('act_complete', { kind: kindName(a.kind) })), el('p', { class: 'note' }, t('handover_note')), handOver] : null,
    terminalActions(a, { api, el, say, showError, reload: () => viewApp(new URLSearchParams('id=' + id)) }),
    early ? [el('h3', {}, t('add_doc')), doc] : null,
    el('h3', {}, t('act_reject')), reject);
}

async function viewApp(params) {
  const id = Number(params.get('id'));
  const a = await api('GET', 'applications/' + id);
  let pv = null;
  if (a.open) {
    try { pv = await api('GET', 'applications/' + id + '/preview'); } catch (e) { pv = { error: errorText(e) }; }
  }
  const info = el('table', { id: 'app-info' }, el('tbody', {},
    ['id', 'resident', 'kind', 'state', 'applicant', 'agent_name', 'card', 'inquiry_sent', 'inquiry_answered', 'note', 'opened_at', 'updated_at']
      .filter((k) => a[k] !== undefined && a[k] !== '')
      .map((k) => el('tr', {}, el('th', {}, t({ id: 'app_id', kind: 'app_kind', state: 'app_state' }[k] || k)),
        el('td', {}, k === 'kind' ? kindName(a[k]) : k === 'state' ? stateName(a[k]) : k === 'applicant' ? t('ap_' + a[k])
          : ['opened_at', 'updated_at'].includes(k) ? fmtDateTime(a[k]) : ['inquiry_sent', 'inquiry_answered'].includes(k) ? fmtDate(a[k]) : a[k])))));
  const docs = el('table', { id: 'app-docs-table' },
    el('thead', {}, el('tr', {}, ['doc_role', 'doc_type', 'doc_number', 'doc_expiry', 'added_at'].map((k) => el('th', {}, t(k))))),
    el('tbody', {}, a.documents.map((d) => el('tr', {}, el('td', {}, t('role_' + d.role)), el('td', {}, t('d_' + d.type)),
      el('td', { class: 'mono' }, d.number), el('td', {}, fmtDate(d.expiry)), el('td', {}, fmtDateTime(d.added_at))))));
  const hist = el('table', { id: 'app-history' },
    el('thead', {}, el('tr', {}, ['at', 'actor', 'event', 'from', 'to', 'detail'].map((k) => el('th', {}, t(k))))),
    el('tbody', {}, a.history.map((h) => el('tr', {}, el('td', {}, fmtDateTime(h.at)), el('td', {}, h.actor), el('td', {}, fmtEnum('ev_', h.event)),
      el('td', {}, stateName(h.from)), el('td', {}, stateName(h.to)), el('td', {}, historyDetail(h.detail))))));
  page('app', info,
    pv === null ? null : pv.error !== undefined
      ? el('div', { class: 'preview', id: 'app-preview' }, el('h3', {}, t('app_preview')), el('p', {}, t('preview_unavailable') + ': ' + pv.error.head + (pv.error.detail ? ' ' + pv.error.detail : '')))
      : appPreviewBox(pv),
    a.open ? appActions(a, pv && pv.error === undefined ? pv : null) : null,
    el('h3', {}, t('documents')), docs, el('h3', {}, t('history')), hist,
    session && session.role !== 'clerk' ? el('p', {}, el('a', { href: '#audit?q=application:' + id, id: 'app-audit' }, t('audit_history'))) : null);
}

// ---- 有効期限通知書 (supervisor) ----
const NOTICE_LINK = /^\/api\/v1\/notices\/[0-9TZ-]+\/(letters\.html|mailroom\.csv)$/;
function viewNotices() {
  const out = el('div', { id: 'notices-result' });
  const form = submit(el('form', { id: 'notices-form' }, el('div', { class: 'full' }, el('button', { type: 'submit' }, t('notices_run')))),
    async () => {
      const d = await api('POST', 'notices/run');
      const link = (href, attrs, key) => NOTICE_LINK.test(href) ? el('li', {}, el('a', { href, ...attrs }, t(key))) : null;
      out.replaceChildren(el('p', { id: 'notices-sent' }, t('notices_sent', { n: d.sent, a: d.already_sent, b: d.batch })),
        el('ul', {}, link(d.letters, { id: 'letters', target: '_blank', rel: 'noopener' }, 'letters'),
          link(d.mailroom, { id: 'mailroom', download: 'mailroom.csv' }, 'mailroom')));
    });
  page('notices_title', el('p', {}, t('notices_text')), form, out);
}

// ---- frame ----
// Setting up and supervising (admin.js): operators, municipalities, the
// residents' CSV import, one's own password, the audit history.
const admin = adminViews({ el, field, submit, page, api, say, clearMsg, showError, confirmDialog, Cancelled, ApiError,
  fieldName, getSession: () => session, endSession: () => { session = null; chrome(); } });
const views = { login: viewLogin, dashboard: viewDashboard, search: viewSearch, resident: viewResident,
  register: viewRegister, issue: viewOpenKind('issue', 'nav_issue'), renew: viewOpenKind('renewal', 'nav_renew'),
  revoke: viewOpenKind('revoke', 'nav_revoke'), pin: viewOpenKind('pin-reset', 'pin_title'),
  apps: viewApps, app: viewApp, notices: viewNotices, ...admin.views };

function translateStatic() {
  document.documentElement.lang = getLang();
  for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
  document.title = t('title');
}
function chrome() {
  document.getElementById('nav').hidden = !session;
  document.getElementById('logout').hidden = !session;
  document.getElementById('nav-notices').hidden = !session || session.role === 'clerk';
  for (const a of document.querySelectorAll('nav [data-role]')) {
    const need = { clerk: 1, supervisor: 2, 'ca-admin': 3 };
    a.hidden = !session || (need[session.role] || 0) < need[a.dataset.role];
  }
  const who = document.getElementById('who');
  who.replaceChildren();
  if (session) {
    who.append(session.operator + '（' + fmtEnum('role_', session.role) + '） ',
      el('a', { href: '#password', id: 'nav-password', class: 'who-link' }, t('nav_password')));
  }
}
function go(name) { location.hash = '#' + name; }

async function route() {
  const [name, q] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(q || '');
  const v = session ? (views[name] && name !== 'login' ? name : 'dashboard') : 'login';
  for (const a of document.querySelectorAll('nav a'))
    a.toggleAttribute('aria-current', a.getAttribute('href') === '#' + v) && a.setAttribute('aria-current', 'page');
  try { await views[v](params); } catch (e) { showError(e); }
}

document.getElementById('lang').addEventListener('click', () => {
  setLang(getLang() === 'ja' ? 'en' : 'ja');
  translateStatic();
  route();
});
document.getElementById('logout').addEventListener('click', async () => {
  try { await api('DELETE', 'session'); } catch (e) { /* gone already */ }
  session = null; chrome(); clearMsg(); go('login');
});
window.addEventListener('hashchange', () => { if (!keepMsg) clearMsg(); keepMsg = false; route(); });

translateStatic();
try { session = await api('GET', 'session'); } catch (e) { session = null; }
chrome();
route();
