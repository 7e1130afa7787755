// The card reader at the counter: the page talks to `jpki terminal serve`
// (the helper on this PC, http://127.0.0.1:PORT) after pairing it with a
// one-time code.  PINs go from this page to the helper and the card only,
// never to jpkid.  The helper's address and token live in sessionStorage
// (this tab, this session).
import { t, getLang } from '/ui/i18n.js';

const KEY = 'jpki.terminal';
const PORT_RE = /^[0-9]{1,5}$/;

function load() {
  try {
    const v = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    return v && typeof v.url === 'string' && typeof v.token === 'string' ? v : null;
  } catch (e) { return null; }
}
function save(v) {
  if (v) sessionStorage.setItem(KEY, JSON.stringify(v)); else sessionStorage.removeItem(KEY);
}

class HelperError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

// One call to the helper, with the pairing token.
async function helper(method, path, body) {
  const p = load();
  if (!p) throw new HelperError(0, 'unpaired', t('term_unpaired'));
  const headers = { Authorization: 'Bearer ' + p.token };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let r;
  try {
    r = await fetch(p.url + path, { method, headers, mode: 'cors', credentials: 'omit',
      body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new HelperError(0, 'net', t('term_unreachable', { url: p.url }));
  }
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    const er = data.error || {};
    throw new HelperError(r.status, er.code || '', er.message || r.statusText);
  }
  return data;
}

// The PIN fields with the rules stated (new PINs: set; else: verified).
function pinFields(ctx, prefix, opts) {
  const { el } = ctx;
  const f = (id, label, rule, attrs) => [el('label', { for: id }, label),
    el('div', {}, el('input', { id, type: 'password', autocomplete: 'off', ...attrs }), el('div', { class: 'note' }, rule))];
  return [
    opts.auth ? f(prefix + '-auth', t('term_auth_pin'), t('term_rule_auth'),
      { name: 'auth_pin', required: true, inputmode: 'numeric', pattern: '[0-9]{4}', maxlength: 4 }) : null,
    opts.sign ? f(prefix + '-sign', t('term_sign_pin'), t('term_rule_sign'),
      { name: 'sign_pin', required: true, pattern: '(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9]{6,16}', maxlength: 16 }) : null,
    opts.cardinfo ? f(prefix + '-info', t('term_cardinfo_pin'), t('term_rule_cardinfo'),
      { name: 'cardinfo_pin', inputmode: 'numeric', pattern: '[0-9]{4}', maxlength: 4 }) : null
  ];
}

function pinsOf(fd) {
  const b = {};
  for (const k of ['auth_pin', 'sign_pin', 'cardinfo_pin']) {
    const v = fd.get(k);
    if (v) b[k] = k === 'sign_pin' ? String(v).toUpperCase() : String(v);
  }
  return b;
}

function statusBox(ctx, s) {
  const { el } = ctx;
  const pin = (k) => s.pins && s.pins[k] !== null && s.pins[k] !== undefined ? String(s.pins[k]) : '—';
  return el('table', { id: 'term-status' }, el('tbody', {},
    el('tr', {}, el('th', {}, t('term_reader')), el('td', {}, s.reader || '—')),
    el('tr', {}, el('th', {}, t('term_card')), el('td', { id: 'term-card' }, s.card ? s.serial : t('term_no_card'))),
    s.card ? el('tr', {}, el('th', {}, t('term_auth_cert')), el('td', { class: 'mono', id: 'term-auth-cert' }, s.auth_cert_serial || '—')) : null,
    s.card ? el('tr', {}, el('th', {}, t('term_tries')), el('td', { id: 'term-tries' },
      t('term_tries_v', { auth: pin('auth'), sign: pin('sign'), info: pin('cardinfo') }))) : null));
}

// The helper's messages are English: a Japanese page shows the headline
// and, for a wrong PIN, the tries left, never the English text.
function helperError(ctx, e) {
  const { el, say } = ctx;
  if (!(e instanceof HelperError)) { ctx.showError(e); return; }
  const k = 'term_err_' + (e.code || e.status);
  const tries = /([0-9]+) tries? left/.exec(e.message || '');
  const detail = getLang() !== 'ja' ? e.message : tries ? t('term_tries_left', { n: tries[1] }) : '';
  say('error', el('strong', {}, t(k) !== k ? t(k) : t('term_err')),
    ...(detail ? [el('br'), el('span', { class: 'note', id: 'term-err-detail' }, t('err_detail') + ': ' + detail)] : []));
}

// Pairing: a code from jpkid, shown for `jpki terminal serve`; then the
// helper's port, typed by the clerk.
function pairBox(ctx, area, redraw) {
  const { el, api } = ctx;
  const out = el('div', { id: 'term-pairing' });
  const btn = el('button', { type: 'button', id: 'term-pair', class: 'sec' }, t('term_pair'));
  btn.addEventListener('click', async () => {
    try {
      const r = await api('POST', 'terminal/pair', {});
      const cmd = 'jpki terminal serve --pair ' + r.code + ' --jpkid ' + r.origin;
      const form = el('form', { id: 'term-port-form' },
        el('label', { for: 'term-port' }, t('term_port')),
        el('input', { id: 'term-port', name: 'port', required: true, inputmode: 'numeric', pattern: '[0-9]{1,5}' }),
        el('div', { class: 'full' }, el('button', { type: 'submit', id: 'term-connect' }, t('term_connect'))));
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const port = new FormData(form).get('port');
        if (!PORT_RE.test(String(port))) return;
        save({ url: 'http://127.0.0.1:' + Number(port), token: r.token });
        await redraw();
      });
      out.replaceChildren(
        el('p', {}, t('term_code_is')), el('p', { class: 'code-big mono', id: 'term-code' }, r.code),
        el('p', {}, t('term_code_help', { ttl: Math.round(r.expires_in / 60) })), el('pre', { class: 'mono', id: 'term-cmd' }, cmd),
        form);
    } catch (e) { ctx.showError(e); }
  });
  return el('div', {}, el('p', { class: 'note' }, t('term_pair_note')), btn, out);
}

// What the reader can do for this application, or null.
function plan(a) {
  if (['new-card', 'reissue'].includes(a.kind) && a.state === 'card_ready' && a.new_card)
    return { card: a.new_card, set: true, sign: a.sign, auth: a.auth };
  if (a.kind === 'issue' && a.state === 'approved' && a.card)
    return { card: a.card, set: false, sign: a.sign, auth: a.auth };
  if (a.kind === 'renewal' && a.state === 'approved' && a.card)
    return { card: a.card, set: false, sign: a.sign, auth: a.auth };
  if (a.kind === 'pin-reset' && a.state === 'approved' && a.card)
    return { card: a.card, reset: true };
  return null;
}

function completeForm(ctx, a, p, redraw) {
  const { el, api, say } = ctx;
  const form = el('form', { id: 'term-complete-form' },
    pinFields(ctx, 'tc', { auth: p.set || p.auth, sign: p.sign, cardinfo: p.set }),
    el('div', { class: 'full' }, el('button', { type: 'submit', id: 'term-complete' }, t('term_complete'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const pins = pinsOf(new FormData(form));
    form.reset();
    for (const b of form.querySelectorAll('button')) b.disabled = true;
    say('info', t('term_working'));
    try {
      const ch = await api('POST', 'issue/challenge', {});
      const kinds = [p.sign ? 'sign' : null, p.auth ? 'auth' : null].filter(Boolean).join(',');
      const keys = await helper('POST', '/v1/prepare', { app: a.id, card: p.card, resident: a.resident,
        challenge: ch.challenge, kinds, ...pins });
      const body = { challenge: ch.challenge };
      if (keys.sign) body.sign = keys.sign;
      if (keys.auth) body.auth = keys.auth;
      const done = await api('POST', 'applications/' + a.id + '/complete', body);
      const w = { app: a.id, card: p.card };
      if (done.sign) w.sign = done.sign.pem;
      if (done.auth) w.auth = done.auth.pem;
      await helper('POST', '/v1/write', w);
      await ctx.reload();
      say('info', t('term_done', { id: a.id, card: p.card }));
    } catch (e) {
      if (e instanceof HelperError) helperError(ctx, e); else ctx.showError(e);
      await redraw();
    } finally {
      for (const b of form.querySelectorAll('button')) b.disabled = false;
    }
  });
  return form;
}

function resetForm(ctx, a, p, redraw) {
  const { el, api, say } = ctx;
  const form = el('form', { id: 'term-reset-form' },
    pinFields(ctx, 'tr', { auth: (a.pins & 2) !== 0, sign: (a.pins & 1) !== 0, cardinfo: (a.pins & 4) !== 0 }),
    el('div', { class: 'full' }, el('button', { type: 'submit', id: 'term-reset' }, t('term_reset'))));
  for (const i of form.querySelectorAll('input')) i.required = true;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const pins = pinsOf(new FormData(form));
    form.reset();
    try {
      await helper('POST', '/v1/pin-reset', { app: a.id, card: p.card, ...pins });
      await api('POST', 'applications/' + a.id + '/complete', {});
      await ctx.reload();
      say('info', t('term_reset_done', { id: a.id, card: p.card }));
    } catch (e) {
      if (e instanceof HelperError) helperError(ctx, e); else ctx.showError(e);
      await redraw();
    }
  });
  return form;
}

// The hook app.js calls where an application's actions are shown:
// ctx = {api, el, say, showError, reload}.  Returns the reader's area.
export function terminalActions(a, ctx) {
  const { el } = ctx;
  const area = el('div', { id: 'terminal-area' });
  const redraw = async () => {
    const paired = load();
    const head = el('h3', {}, t('term_title'));
    if (!paired) { area.replaceChildren(head, pairBox(ctx, area, redraw)); return; }
    const unpair = el('button', { type: 'button', class: 'sec', id: 'term-unpair' }, t('term_unpair'));
    unpair.addEventListener('click', () => { save(null); redraw(); });
    const refresh = el('button', { type: 'button', class: 'sec', id: 'term-refresh' }, t('term_refresh'));
    refresh.addEventListener('click', () => redraw());
    let s = null;
    try { s = await helper('GET', '/v1/status'); } catch (e) {
      area.replaceChildren(head, el('p', { class: 'st-revoked', id: 'term-down' },
        e.status === 401 || e.status === 403 ? t('term_err_token') : t('term_unreachable', { url: paired.url })),
      el('p', { class: 'buttons' }, refresh, ' ', unpair));
      return;
    }
    const p = plan(a);
    const want = p && s.card && s.serial === p.card;
    area.replaceChildren(...[head, el('p', { class: 'note' }, t('term_paired', { url: paired.url, op: s.operator || '' })),
      statusBox(ctx, s), el('p', { class: 'buttons' }, refresh, ' ', unpair),
      p && !want ? el('p', { class: 'note', id: 'term-wrong-card' }, t('term_put_card', { card: p.card })) : null,
      want && !p.reset ? [el('h4', {}, t('term_complete')), el('p', { class: 'note' }, t('term_pin_note')), completeForm(ctx, a, p, redraw)] : null,
      want && p.reset ? [el('h4', {}, t('term_reset')), el('p', { class: 'note' }, t('term_pin_note')), resetForm(ctx, a, p, redraw)] : null]
      .flat().filter((k) => k !== null && k !== false));
  };
  redraw();
  return area;
}
