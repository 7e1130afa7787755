// The counter's web UI: plain ES modules, no build step.  Every value from
// the API reaches the page through textContent (el() below); every
// mutation carries the session's CSRF token.
import { t, getLang, setLang } from '/ui/i18n.js';
import { terminalActions } from '/ui/terminal.js';

const IMAGE_MAX = 256 * 1024; // the service's card image cap
const main = document.getElementById('main');
const msg = document.getElementById('msg');
let session = null; // {operator, role, csrf_token}

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
function say(kind, ...parts) {
  msg.className = kind;
  msg.replaceChildren(...parts);
  if (kind === 'error') msg.focus?.();
}
function clearMsg() { msg.className = ''; msg.replaceChildren(); }

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
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
    throw new ApiError(r.status, er.code || '', er.message || r.statusText);
  }
  return data;
}

// An API error in the operator's language, the service's own words below.
function showError(e) {
  if (!(e instanceof ApiError)) { say('error', String(e)); return; }
  const keys = ['err_' + e.code, 'err_' + e.status];
  let text = t('err_400');
  for (const k of keys) if (t(k) !== k) { text = t(k); break; }
  if (e.status === 0) text = t('err_net');
  say('error', el('strong', {}, text), el('br'),
    el('span', { class: 'note' }, t('err_detail') + ': ' + e.message));
  if (e.status === 401) { session = null; go('login'); }
}

function busy(form, on) {
  for (const b of form.querySelectorAll('button')) b.disabled = on;
  if (on) say('info', t('working'));
}

// Run an async action from a form; errors are shown, never thrown.
function submit(form, fn) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    busy(form, true);
    try { clearMsg(); await fn(new FormData(form), form); } catch (e) { showError(e); }
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
  async (fd) => {
    session = await api('POST', 'session', { name: fd.get('name'), password: fd.get('password') });
    clearMsg();
    chrome();
    location.hash = '#dashboard';
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
      r.append(mk('title', {}, `${c.class} ≤ ${c.buckets[i].le}s: ${c.buckets[i].count}`));
      svg.append(r);
    });
    const le = stats.latency[0].buckets[i].le;
    const lab = le < 0 ? '+∞' : le < 0.001 ? (le * 1e6) + 'µs' : le < 1 ? (le * 1e3) + 'ms' : le + 's';
    svg.append(mk('text', { x: L + i * bw + 2, y: H - B + 14 + (i % 2) * 12 }, lab));
  }
  classes.forEach((c, ci) => {
    svg.append(mk('rect', { x: L + ci * 90, y: H - 12, width: 10, height: 10, fill: colors[ci % colors.length] }));
    svg.append(mk('text', { x: L + ci * 90 + 14, y: H - 3 }, c.class));
  });
  return svg;
}

async function viewDashboard() {
  const s = await api('GET', 'stats');
  const n = (k) => el('div', { class: 'card' }, el('div', {}, t(k)), el('div', { class: 'n', id: 'count-' + k }, s.today[k]));
  page('nav_dashboard',
    el('h3', {}, t('today') + ' (' + s.day + ')'),
    el('div', { class: 'cards' }, n('issued'), n('renewed'), n('revoked')),
    el('h3', {}, t('queue')),
    el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, t('klass')), el('th', {}, t('length')), el('th', {}, t('capacity')))),
      el('tbody', {}, s.queues.map((q) => el('tr', {}, el('td', {}, q.class), el('td', {}, q.length), el('td', {}, q.capacity))))),
    el('h3', {}, t('latency')),
    latencyChart(s));
}

// ---- residents ----
function certStatus(c) {
  const k = c.status === 'valid' ? 'valid' : c.status === 'hold' ? 'hold' : 'revoked_st';
  return el('span', { class: 'st-' + c.status }, t(k) + (c.reason ? ' (' + c.reason + ')' : ''));
}
function certTable(certs) {
  return el('table', { id: 'certs' },
    el('thead', {}, el('tr', {}, ['serial', 'kind', 'card', 'not_after', 'status'].map((k) => el('th', {}, t(k))))),
    el('tbody', {}, certs.filter((c) => c.kind === 'sign' || c.kind === 'auth').map((c) => el('tr', {},
      el('td', { class: 'mono' }, c.serial), el('td', {}, t(c.kind)), el('td', { class: 'mono' }, c.card),
      el('td', {}, c.not_after), el('td', {}, certStatus(c),
        c.status === 'valid' ? [' ', el('a', { href: '#revoke?s=' + encodeURIComponent(c.serial) }, t('nav_revoke'))] : null)))));
}

function viewSearch(params) {
  const results = el('div', { id: 'results' });
  const form = submit(el('form', { role: 'search' },
    field('q', t('search_q'), el('input', { name: 'q', value: params.get('q') || '' })),
    el('div', { class: 'full' }, el('button', { type: 'submit' }, t('search_btn')))),
  async (fd) => {
    const d = await api('GET', 'residents?q=' + encodeURIComponent(fd.get('q')) + '&limit=50');
    results.replaceChildren(el('h3', {}, t('results')), d.residents.length === 0 ? el('p', {}, t('none')) :
      el('table', {}, el('thead', {}, el('tr', {}, ['id', 'res_name', 'kana', 'birth', 'address', 'status', ''].map((k) => el('th', {}, k ? t(k) : '')))),
        el('tbody', {}, d.residents.map((r) => el('tr', {}, el('td', {}, r.id), el('td', {}, r.name), el('td', {}, r.kana),
          el('td', {}, r.birth), el('td', {}, r.address), el('td', {}, t(r.status)),
          el('td', {}, el('a', { href: '#resident?id=' + r.id }, t('show'))))))));
  });
  page('nav_search', form, results);
}

function residentFields(r) {
  return [
    field('r-name', t('res_name'), el('input', { name: 'name', required: true, value: r.name || '' })),
    field('r-kana', t('kana'), el('input', { name: 'kana', required: true, value: r.kana || '' })),
    field('r-address', t('address'), el('input', { name: 'address', required: true, value: r.address || '', size: 40 })),
    field('r-birth', t('birth'), el('input', { name: 'birth', type: 'date', required: true, value: r.birth || '' })),
    field('r-ward', t('adult_ward'), el('input', { name: 'adult_ward', type: 'checkbox', checked: !!r.adult_ward })),
  ];
}

async function viewResident(params) {
  const r = await api('GET', 'residents/' + encodeURIComponent(params.get('id')));
  const out = el('div', { id: 'change-result' });
  const dl = el('table', {}, el('tbody', {}, ['id', 'ext_id', 'name', 'kana', 'birth', 'address', 'muni', 'status'].map((k) =>
    el('tr', {}, el('th', {}, t(k === 'name' ? 'res_name' : k)), el('td', {}, k === 'status' ? t(r[k]) : r[k])))));
  const form = submit(el('form', { id: 'change-form' }, residentFields(r),
    el('div', { class: 'full' }, el('button', { type: 'submit' }, t('change_btn')))),
  async (fd) => {
    const body = {};
    for (const k of ['name', 'kana', 'address', 'birth']) if (fd.get(k) !== r[k]) body[k] = fd.get(k);
    if ((fd.get('adult_ward') === 'on') !== !!r.adult_ward) body.adult_ward = fd.get('adult_ward') === 'on';
    const d = await api('PATCH', 'residents/' + r.id, body);
    out.replaceChildren(el('h3', {}, t('change_revoked')),
      d.revoked.length === 0 ? el('p', {}, t('change_none')) : el('ul', {}, d.revoked.map((s) => el('li', { class: 'mono' }, s))),
      certTable(d.certificates));
  });
  page('show', dl, el('p', {},
    el('a', { href: '#issue?r=' + r.id }, t('nav_issue')), ' ・ ', el('a', { href: '#renew' }, t('nav_renew'))),
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
      adult_ward: fd.get('adult_ward') === 'on' });
    say('info', t('registered', { id: r.id }), ' ', el('a', { href: '#resident?id=' + r.id, id: 'new-resident' }, t('show')));
  });
  page('nav_register', form);
}

// ---- issuance and renewal onto a virtual card ----
function previewBox(p) {
  const row = (kind) => {
    const k = p[kind];
    if (!k) return null;
    const v = k.validity;
    return el('tr', {}, el('th', {}, t(kind)),
      el('td', {}, k.declined ? t('declined') : k.eligible ? t('eligible') : t('ineligible')),
      el('td', { class: 'last-day' }, v ? v.last_day : (k.refusal ? k.refusal.message : '')),
      el('td', {}, v ? t('cap_' + v.capped_by) : ''));
  };
  return el('div', { class: 'preview', id: 'preview' },
    el('h3', {}, t('preview')),
    el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, t('kind')), el('th', {}, t('status')), el('th', {}, t('last_day')), el('th', {}, t('capped_by')))),
      el('tbody', {}, row('auth'), row('sign'))),
    p.card_expiry ? el('p', {}, t('card_expiry') + ': ' + p.card_expiry) : null,
    el('p', { id: 'fee' }, t('fee') + ': ' + p.fee.total_yen + t('yen')));
}

function downloadLink(d) {
  return el('a', { href: d.download.url, download: 'card-' + d.serial + '.img', id: 'download', class: 'button' }, t('download'));
}

function pinFields() {
  return [
    field('p-auth', t('auth_pin'), el('input', { name: 'auth_pin', type: 'password', required: true, inputmode: 'numeric', pattern: '[0-9]{4}', autocomplete: 'off' })),
    field('p-sign', t('sign_pin'), el('input', { name: 'sign_pin', type: 'password', autocomplete: 'off' })),
    field('p-nosign', t('no_sign'), el('input', { name: 'no_sign', type: 'checkbox' })),
  ];
}
function pinBody(fd) {
  const b = { auth_pin: fd.get('auth_pin') };
  if (fd.get('no_sign') === 'on') b.no_sign = true;
  else if (fd.get('sign_pin')) b.sign_pin = fd.get('sign_pin');
  return b;
}

// Two steps: check (preview), then confirm.  A change to the form hides
// a preview that no longer matches it.
function twoStep(form, area, previewFn, confirmKey, doFn) {
  let checked = false;
  form.addEventListener('input', () => { checked = false; area.replaceChildren(); });
  return submit(form, async (fd) => {
    if (!checked) {
      const p = await previewFn(fd);
      area.replaceChildren(previewBox(p));
      if (p.ok) {
        checked = true;
        form.querySelector('button[type=submit]').textContent = t(confirmKey);
      }
      return;
    }
    const d = await doFn(fd);
    checked = false;
    form.reset();
    form.querySelector('button[type=submit]').textContent = t('preview_btn');
    area.replaceChildren(el('div', { class: 'preview', id: 'done' }, el('p', {}, d.message),
      certTable(Object.values(d.res.certificates).filter(Boolean).map((c) => ({ ...c, kind: c === d.res.certificates.sign ? 'sign' : 'auth', card: d.res.serial, status: 'valid' }))),
      el('p', {}, downloadLink(d.res))));
  });
}

function viewIssue(params) {
  const area = el('div', { id: 'issue-area' });
  const form = el('form', { id: 'issue-form' },
    field('i-res', t('resident'), el('input', { name: 'resident', required: true, inputmode: 'numeric', value: params.get('r') || '' })),
    pinFields(),
    el('div', { class: 'full' }, el('button', { type: 'submit' }, t('preview_btn'))));
  page('nav_issue', twoStep(form, area,
    (fd) => api('POST', 'cards/virtual/preview', { resident: Number(fd.get('resident')), no_sign: fd.get('no_sign') === 'on' }),
    'confirm_issue',
    async (fd) => {
      const res = await api('POST', 'cards/virtual', { resident: Number(fd.get('resident')), ...pinBody(fd) });
      return { res, message: t('issued_ok', { serial: res.serial, ttl: res.download.expires_in }) };
    }), area);
}

function readImage(file) {
  return new Promise((resolve, reject) => {
    if (!file || file.size === 0) { reject(new ApiError(400, '', 'no file')); return; }
    if (file.size > IMAGE_MAX) { reject(new ApiError(413, '', file.size + ' bytes')); return; }
    const fr = new FileReader();
    fr.onload = () => resolve(String(fr.result).replace(/^data:[^,]*,/, ''));
    fr.onerror = () => reject(fr.error);
    fr.readAsDataURL(file);
  });
}

function viewRenew() {
  const area = el('div', { id: 'renew-area' });
  const form = el('form', { id: 'renew-form' },
    field('n-img', t('image'), el('input', { name: 'image', type: 'file', required: true, accept: '.img,application/octet-stream' })),
    pinFields(),
    el('div', { class: 'full' }, el('button', { type: 'submit' }, t('preview_btn'))));
  page('nav_renew', twoStep(form, area,
    async (fd) => api('POST', 'cards/virtual/preview', { image: await readImage(fd.get('image')), no_sign: fd.get('no_sign') === 'on' }),
    'confirm_renew',
    async (fd) => {
      const res = await api('POST', 'cards/virtual/renew', { image: await readImage(fd.get('image')), ...pinBody(fd) });
      return { res, message: t('renewed_ok', { n: res.superseded.length }) };
    }), area);
}

// ---- revocation and loss report ----
function viewRevoke(params) {
  const out = el('div', { id: 'revoke-result' });
  const form = submit(el('form', { id: 'revoke-form' },
    field('v-serial', t('serial'), el('input', { name: 'serial', required: true, pattern: '[0-9A-Fa-f]{2,40}', value: params.get('s') || '', class: 'mono' })),
    field('v-reason', t('reason'), el('select', { name: 'reason' },
      el('option', { value: 'cessationOfOperation' }, t('reason_cessation')),
      el('option', { value: 'certificateHold' }, t('reason_hold')),
      el('option', { value: 'unspecified' }, t('reason_unspecified')))),
    el('div', { class: 'full' }, el('button', { type: 'submit' }, t('revoke_btn')))),
  async (fd) => {
    const c = await api('POST', 'certificates/' + encodeURIComponent(fd.get('serial')) + '/revoke', { reason: fd.get('reason') });
    const st = c.status === 'hold' ? t('hold') : t('revoked_st');
    say('info', t('revoke_ok', { serial: c.serial, status: st }));
    out.replaceChildren(certTable([c]));
  });
  page('nav_revoke', form, out);
}

function viewPin() {
  page('pin_title', el('p', {}, t('pin_text')),
    el('pre', {}, el('code', {},
      'jpki application open --resident RID --kind pin-reset --pins auth,sign\n' +
      'jpki card personalize --reader auto --resident RID \\\n    --auth-pin-file - --sign-pin-file -')),
    el('p', { class: 'note' }, t('pin_note')));
}


// ---- applications (申請): list, one application, its transitions ----
const DOC_TYPES = ['mynumber_card', 'drivers_license', 'passport', 'special_permanent_resident', 'residence_card',
  'disability_certificate', 'letter_of_attorney', 'inquiry_answer', 'family_register', 'guardianship_certificate'];
const VCARD_LINK = /^\/api\/v1\/cards\/virtual\/[A-Za-z0-9_-]+\/image$/;
const kindName = (k) => t('k_' + String(k).replace(/-/g, '_'));
const stateName = (s) => t('s_' + s);

const APP_KINDS = ['new-card', 'issue', 'renewal', 'reissue', 'revoke', 'pin-reset', 'loss', 'found'];

// Open an application: who, what, by whom, which certificates.
function openAppForm() {
  return submit(el('form', { id: 'open-app-form' },
    field('o-res', t('resident'), el('input', { name: 'resident', required: true, inputmode: 'numeric', pattern: '[0-9]{1,18}' })),
    field('o-kind', t('app_kind'), el('select', { name: 'kind' }, APP_KINDS.map((k) => el('option', { value: k }, kindName(k))))),
    field('o-applicant', t('applicant'), el('select', { name: 'applicant' },
      ['self', 'proxy', 'legal'].map((k) => el('option', { value: k }, t('ap_' + k))))),
    field('o-agent', t('agent_name'), el('input', { name: 'agent_name', maxlength: 255 })),
    field('o-sign', t('want_sign'), el('input', { name: 'want_sign', type: 'checkbox', checked: true })),
    field('o-auth', t('want_auth'), el('input', { name: 'want_auth', type: 'checkbox', checked: true })),
    field('o-card', t('held_card'), el('input', { name: 'card', maxlength: 39, class: 'mono' })),
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
    const a = await api('POST', 'applications', body);
    location.hash = '#app?id=' + a.id;
  });
}

async function viewApps() {
  const d = await api('GET', 'applications?q=open&limit=200');
  page('apps_open', d.applications.length === 0 ? el('p', {}, t('none')) :
    el('table', { id: 'apps' },
      el('thead', {}, el('tr', {}, ['app_id', 'resident', 'app_kind', 'app_state', 'applicant', 'opened_at', ''].map((k) => el('th', {}, k ? t(k) : '')))),
      el('tbody', {}, d.applications.map((a) => el('tr', {},
        el('td', {}, a.id), el('td', {}, el('a', { href: '#resident?id=' + a.resident }, a.resident)),
        el('td', {}, kindName(a.kind)), el('td', {}, stateName(a.state)),
        el('td', {}, t('ap_' + a.applicant) + (a.agent_name ? ' (' + a.agent_name + ')' : '')), el('td', {}, a.opened_at),
        el('td', {}, el('a', { href: '#app?id=' + a.id }, t('show'))))))),
  el('h3', {}, t('open_app')), openAppForm());
}

// What approval would give, shown before the approve button.
function appPreviewBox(pv) {
  const row = (kind) => {
    const k = pv[kind];
    if (!k) return null;
    const v = k.validity;
    return el('tr', {}, el('th', {}, t(kind)), el('td', {}, k.eligible ? t('eligible') : t('ineligible')),
      el('td', { class: 'last-day' }, v ? v.last_day : ''), el('td', {}, v ? t('cap_' + v.capped_by) : ''),
      el('td', { class: 'refused' }, k.refused || ''));
  };
  return el('div', { class: 'preview', id: 'app-preview' },
    el('h3', {}, t('app_preview')),
    el('table', {}, el('thead', {}, el('tr', {}, ['kind', 'status', 'last_day', 'capped_by', 'refused'].map((k) => el('th', {}, t(k))))),
      el('tbody', {}, row('auth'), row('sign'))),
    el('p', {}, t('age') + ': ' + pv.age + ' ・ ' + t('new_card') + ': ' + (pv.new_card ? t('yes') : t('no')) +
      (pv.card_expiry ? ' ・ ' + t('card_expiry') + ': ' + pv.card_expiry : '')),
    el('p', { id: 'app-fee' }, t('fee') + ': ' + pv.fee.total_yen + t('yen') +
      ' (' + t('certs') + ' ' + pv.fee.cert_yen + t('yen') + ' + ' + t('card') + ' ' + pv.fee.card_yen + t('yen') + ')'),
    el('p', { id: 'app-docs' }, t('documents_ok') + ': ' + (pv.documents_ok ? t('docs_ok') : t('docs_missing', { m: pv.documents_missing }))),
    pv.hold ? el('p', {}, t('hold_note')) : null,
    pv.affected_count > 0 ? el('p', {}, t('affected') + ': ', pv.affected.map((s) => el('span', { class: 'mono' }, s + ' '))) : null);
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

function appActions(a) {
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
  // 交付: the card is made here as a virtual card, with the PINs the
  // citizen chose; its image is downloadable once.
  const handOver = a.state !== 'card_ready' || !['new-card', 'reissue'].includes(a.kind) ? null :
    submit(el('form', { id: 'handover-form' },
      field('h-auth', t('auth_pin'), el('input', { name: 'auth_pin', type: 'password', required: true, inputmode: 'numeric', pattern: '[0-9]{4}', autocomplete: 'off' })),
      a.sign ? field('h-sign', t('sign_pin'), el('input', { name: 'sign_pin', type: 'password', required: true, autocomplete: 'off' })) : null,
      field('h-info', t('cardinfo_pin'), el('input', { name: 'cardinfo_pin', type: 'password', inputmode: 'numeric', pattern: '[0-9]{4}', autocomplete: 'off' })),
      el('div', { class: 'full' }, el('button', { type: 'submit', id: 'act-handover' }, t('act_handover')))),
    async (fd, form) => {
      const body = { auth_pin: fd.get('auth_pin') };
      if (fd.get('sign_pin')) body.sign_pin = fd.get('sign_pin');
      if (fd.get('cardinfo_pin')) body.cardinfo_pin = fd.get('cardinfo_pin');
      form.reset();
      const r = await post('complete-virtual', body);
      await viewApp(new URLSearchParams('id=' + id));
      const url = r.download && r.download.url;
      say('info', t('handover_ok', { id, card: r.card, ttl: r.download ? r.download.expires_in : 0 }), ' ',
        VCARD_LINK.test(url || '') ? el('a', { href: url, download: 'card-' + r.card + '.img', id: 'download', class: 'button' }, t('download')) : null);
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
    handOver ? [el('h3', {}, t('act_handover')), el('p', { class: 'note' }, t('handover_note')), handOver] : null,
    terminalActions(a, { api, el, say, showError, reload: () => viewApp(new URLSearchParams('id=' + id)) }),
    early ? [el('h3', {}, t('add_doc')), doc] : null,
    el('h3', {}, t('act_reject')), reject);
}

async function viewApp(params) {
  const id = Number(params.get('id'));
  const a = await api('GET', 'applications/' + id);
  let pv = null;
  if (a.open) {
    try { pv = await api('GET', 'applications/' + id + '/preview'); } catch (e) { pv = { error: e.message }; }
  }
  const info = el('table', { id: 'app-info' }, el('tbody', {},
    ['id', 'resident', 'kind', 'state', 'applicant', 'agent_name', 'card', 'inquiry_sent', 'inquiry_answered', 'note', 'opened_at', 'updated_at']
      .filter((k) => a[k] !== undefined && a[k] !== '')
      .map((k) => el('tr', {}, el('th', {}, t({ id: 'app_id', kind: 'app_kind', state: 'app_state' }[k] || k)),
        el('td', {}, k === 'kind' ? kindName(a[k]) : k === 'state' ? stateName(a[k]) : k === 'applicant' ? t('ap_' + a[k]) : a[k])))));
  const docs = el('table', { id: 'app-docs-table' },
    el('thead', {}, el('tr', {}, ['doc_role', 'doc_type', 'doc_number', 'doc_expiry', 'added_at'].map((k) => el('th', {}, t(k))))),
    el('tbody', {}, a.documents.map((d) => el('tr', {}, el('td', {}, t('role_' + d.role)), el('td', {}, t('d_' + d.type)),
      el('td', { class: 'mono' }, d.number), el('td', {}, d.expiry), el('td', {}, d.added_at)))));
  const hist = el('table', { id: 'app-history' },
    el('thead', {}, el('tr', {}, ['at', 'actor', 'event', 'from', 'to', 'detail'].map((k) => el('th', {}, t(k))))),
    el('tbody', {}, a.history.map((h) => el('tr', {}, el('td', {}, h.at), el('td', {}, h.actor), el('td', {}, h.event),
      el('td', {}, stateName(h.from)), el('td', {}, stateName(h.to)), el('td', {}, h.detail)))));
  page('app', info,
    pv === null ? null : pv.error !== undefined
      ? el('div', { class: 'preview', id: 'app-preview' }, el('h3', {}, t('app_preview')), el('p', {}, t('preview_unavailable') + ': ' + pv.error))
      : appPreviewBox(pv),
    a.open ? appActions(a) : null,
    el('h3', {}, t('documents')), docs, el('h3', {}, t('history')), hist);
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
const views = { login: viewLogin, dashboard: viewDashboard, search: viewSearch, resident: viewResident,
  register: viewRegister, issue: viewIssue, renew: viewRenew, revoke: viewRevoke, pin: viewPin,
  apps: viewApps, app: viewApp, notices: viewNotices };

function translateStatic() {
  document.documentElement.lang = getLang();
  for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
  document.title = t('title');
}
function chrome() {
  document.getElementById('nav').hidden = !session;
  document.getElementById('logout').hidden = !session;
  document.getElementById('nav-notices').hidden = !session || session.role === 'clerk';
  document.getElementById('who').textContent = session ? session.operator + ' (' + session.role + ')' : '';
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
window.addEventListener('hashchange', () => { clearMsg(); route(); });

translateStatic();
try { session = await api('GET', 'session'); } catch (e) { session = null; }
chrome();
route();
