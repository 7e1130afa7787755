// Setting up and supervising the counter: operators (職員), municipalities
// (市区町村), the residents' CSV import with its per-row errors, one's own
// password, the audit history (監査ログ) of a resident, an application or an
// operator, and the dashboard's first-run steps and audit-chain check.
// app.js hands in its helpers (el, api, page, ...): adminViews(ctx).
import { t, getLang } from '/ui/i18n.js';
import { fmtDateTime, fmtEnum } from '/ui/fmt.js';

const ROLES = ['clerk', 'supervisor', 'ca-admin'];
const RANK = { clerk: 1, supervisor: 2, 'ca-admin': 3 };

export function adminViews(ctx) {
  const { el, field, submit, page, api, say, showError, confirmDialog, Cancelled, fieldName } = ctx;
  const me = () => ctx.getSession();
  const atLeast = (role) => me() && RANK[me().role] >= RANK[role];
  const roleName = (r) => fmtEnum('role_', r);

  // ---- the dashboard: first-run steps (ca-admin), audit chain (supervisor+)
  async function dashboardParts() {
    const parts = [];
    if (atLeast('ca-admin')) {
      const s = await api('GET', 'setup');
      if (!s.done) {
        const step = (done, key, href, id) => el('li', { class: done ? 'step done' : 'step', id },
          el('span', { class: 'check', 'aria-hidden': 'true' }, done ? '✔' : '□'), ' ',
          el('a', { href }, t(key)), ' ', el('span', { class: 'note' }, done ? t('step_done') : t('step_todo')));
        parts.push(el('section', { class: 'preview', id: 'first-run', 'aria-labelledby': 'first-run-h' },
          el('h3', { id: 'first-run-h' }, t('first_run')),
          el('p', {}, t('first_run_text')),
          el('ol', { class: 'steps' },
            step(s.municipality, 'step_muni', '#munis', 'step-muni'),
            step(s.clerk, 'step_clerk', '#operators', 'step-clerk'),
            step(s.residents, 'step_import', '#import', 'step-import'))));
      }
    }
    if (atLeast('supervisor')) {
      let box;
      try {
        const v = await api('GET', 'audit/verify');
        box = v.ok
          ? el('p', { class: 'st-valid', id: 'audit-ok' }, t('audit_ok', { n: v.records }))
          : el('p', { class: 'st-revoked', id: 'audit-bad' }, t('audit_bad'),
            getLang() === 'ja' ? null : [' ', el('span', { class: 'note' }, v.message)]);
      } catch (e) {
        box = el('p', { class: 'st-revoked', id: 'audit-bad' }, t('audit_unavailable'));
      }
      parts.push(el('section', { id: 'audit-check' }, el('h3', {}, t('audit_chain')), box,
        el('p', {}, el('a', { href: '#audit' }, t('nav_audit')))));
    }
    return parts;
  }

  // ---- operators (ca-admin) ----
  async function viewOperators() {
    const d = await api('GET', 'operators');
    const reload = async (text) => { await viewOperators(); say('info', text); };
    const row = (o) => {
      const reset = submit(el('form', { class: 'inline', id: 'reset-' + o.name },
        el('label', { for: 'rp-' + o.name }, t('new_password')),
        el('input', { id: 'rp-' + o.name, name: 'password', type: 'password', required: true, maxlength: 128, autocomplete: 'new-password' }),
        el('button', { type: 'submit', class: 'sec' }, t('reset_password'))),
      async (fd) => {
        if (!await confirmDialog(t('confirm_reset', { name: o.name }), 'reset_password')) throw new Cancelled();
        const r = await api('POST', 'operators/' + encodeURIComponent(o.name) + '/password', { password: fd.get('password') });
        await reload(t('reset_ok', { name: o.name, n: r.sessions_ended }));
      });
      const toggle = el('button', { type: 'button', class: 'sec', id: (o.disabled ? 'enable-' : 'disable-') + o.name },
        t(o.disabled ? 'enable_op' : 'disable_op'));
      toggle.addEventListener('click', async () => {
        try {
          if (!o.disabled && !await confirmDialog(t('confirm_disable', { name: o.name }), 'disable_op')) return;
          const r = await api('POST', 'operators/' + encodeURIComponent(o.name) + (o.disabled ? '/enable' : '/disable'));
          await reload(t(o.disabled ? 'enabled_ok' : 'disabled_ok', { name: o.name, n: r.sessions_ended }));
        } catch (e) { showError(e); }
      });
      return el('tr', {}, el('td', { class: 'mono' }, o.name), el('td', {}, roleName(o.role)),
        el('td', { class: o.disabled ? 'st-revoked' : 'st-valid' }, t(o.disabled ? 'op_disabled' : 'op_enabled')),
        el('td', {}, fmtDateTime(o.changed)),
        el('td', {}, o.name === me().operator ? el('a', { href: '#password' }, t('nav_password')) : [reset, ' ', toggle], ' ',
          el('a', { href: '#audit?q=operator:' + encodeURIComponent(o.name) }, t('audit_history'))));
    };
    const form = submit(el('form', { id: 'operator-form' },
      field('op-name', t('op_name'), el('input', { name: 'name', required: true, maxlength: 32, pattern: '[a-z0-9][a-z0-9._-]{0,31}', autocomplete: 'off' })),
      el('p', { class: 'note full' }, t('op_name_rule')),
      field('op-role', t('op_role'), el('select', { name: 'role' }, ROLES.map((r) => el('option', { value: r }, roleName(r))))),
      field('op-pass', t('password'), el('input', { name: 'password', type: 'password', required: true, maxlength: 128, autocomplete: 'new-password' })),
      el('p', { class: 'note full' }, t('password_rule')),
      el('div', { class: 'full' }, el('button', { type: 'submit', id: 'op-create' }, t('op_create')))),
    async (fd) => {
      const o = await api('POST', 'operators', { name: fd.get('name'), role: fd.get('role'), password: fd.get('password') });
      await reload(t('op_created', { name: o.name, role: roleName(o.role) }));
    });
    page('nav_operators',
      el('table', { id: 'operators' },
        el('thead', {}, el('tr', {}, ['op_name', 'op_role', 'status', 'changed_at', 'actions'].map((k) => el('th', {}, t(k))))),
        el('tbody', {}, d.operators.map(row))),
      el('h3', {}, t('op_new')), form);
  }

  // ---- municipalities: list (everyone), add and edit (ca-admin) ----
  async function viewMunis() {
    const d = await api('GET', 'municipalities');
    const admin = atLeast('ca-admin');
    const reload = async (text) => { await viewMunis(); say('info', text); };
    const row = (m) => {
      const edit = !admin ? null : submit(el('form', { class: 'inline', id: 'edit-' + m.code },
        el('label', { for: 'ep-' + m.code }, t('pref')), el('input', { id: 'ep-' + m.code, name: 'pref', value: m.pref, required: true, maxlength: 63, size: 8 }),
        el('label', { for: 'ec-' + m.code }, t('city')), el('input', { id: 'ec-' + m.code, name: 'city', value: m.city, required: true, maxlength: 63, size: 10 }),
        el('button', { type: 'submit', class: 'sec' }, t('save'))),
      async (fd) => {
        const r = await api('PATCH', 'municipalities/' + m.code, { pref: fd.get('pref'), city: fd.get('city') });
        await reload(t('muni_saved', { code: r.code, name: r.pref + r.city }));
      });
      return el('tr', {}, el('td', { class: 'mono' }, m.code), el('td', {}, m.pref + m.city),
        el('td', {}, m.pref_roman + ' ' + m.city_roman), admin ? el('td', {}, edit) : null);
    };
    const form = !admin ? null : submit(el('form', { id: 'muni-form' },
      field('m-code', t('muni_code'), el('input', { name: 'code', required: true, pattern: '[0-9]{6}', inputmode: 'numeric', maxlength: 6 })),
      el('p', { class: 'note full' }, t('muni_code_rule')),
      field('m-pref', t('pref'), el('input', { name: 'pref', required: true, maxlength: 63 })),
      field('m-city', t('city'), el('input', { name: 'city', required: true, maxlength: 63 })),
      field('m-pref-roman', t('pref_roman'), el('input', { name: 'pref_roman', required: true, maxlength: 63, pattern: '[A-Za-z0-9 -]+' })),
      field('m-city-roman', t('city_roman'), el('input', { name: 'city_roman', required: true, maxlength: 63, pattern: '[A-Za-z0-9 -]+' })),
      el('p', { class: 'note full' }, t('roman_rule')),
      el('div', { class: 'full' }, el('button', { type: 'submit', id: 'muni-create' }, t('muni_create')))),
    async (fd) => {
      const body = {};
      for (const k of ['code', 'pref', 'city', 'pref_roman', 'city_roman']) body[k] = fd.get(k);
      const m = await api('POST', 'municipalities', body);
      await reload(t('muni_created', { code: m.code, name: m.pref + m.city }));
    });
    page('nav_munis',
      d.municipalities.length === 0 ? el('p', { id: 'munis-none' }, t('munis_none')) :
        el('table', { id: 'munis' },
          el('thead', {}, el('tr', {}, ['muni_code', 'muni_name', 'muni_roman', admin ? 'actions' : null].filter(Boolean).map((k) => el('th', {}, t(k))))),
          el('tbody', {}, d.municipalities.map(row))),
      form ? [el('h3', {}, t('muni_new')), form] : null);
  }

  // ---- residents' CSV import (supervisor+), per-row errors shown ----
  // The import's row reasons (English from the service) in Japanese;
  // the most specific first.
  const ROW_JA = [
    [/^muni: (\d+) is not on record/, (m) => t('row_muni_unknown', { code: m[1] })],
    [/^ext_id (\S+) is already on record \(resident (\d+)\)/, (m) => t('row_ext_dup', { id: m[1], rid: m[2] })],
    [/^ext_id (\S+) repeats line (\d+)/, (m) => t('row_ext_repeat', { id: m[1], line: m[2] })],
    [/^birth: in the future/, () => t('row_birth_future')],
    [/^(\w+): (non-empty )?UTF-8 text under/, (m) => t('row_text', { f: fieldName(m[1]) })],
    [/^ext_id: 1 to/, () => t('row_text', { f: fieldName('ext_id') })],
    [/^(\w+): /, (m) => t('row_field', { f: fieldName(m[1]) })],
    [/(\d+) fields, not (\d+)/, (m) => t('row_columns', { n: m[1], want: m[2] })],
    [/over \d+ bytes/, () => t('row_too_long')],
    [/quote|CR without LF/, () => t('row_csv')],
  ];
  const rowReason = (why) => {
    if (getLang() !== 'ja') return why;
    for (const [re, f] of ROW_JA) { const m = re.exec(why); if (m) return f(m); }
    return t('row_other');
  };
  function viewImport() {
    const out = el('div', { id: 'import-result' });
    const form = submit(el('form', { id: 'import-form' },
      field('imp-file', t('import_file'), el('input', { name: 'file', type: 'file', required: true, accept: '.csv,text/csv' })),
      el('p', { class: 'note full' }, t('import_rule')),
      el('pre', { class: 'full' }, 'ext_id,name,kana,address,birth,sex,muni,adult_ward\nA0001,山田　太郎,ヤマダタロウ,東京都清瀬市中里1-1,1980-12-31,1,132217,0'),
      el('div', { class: 'full' }, el('button', { type: 'submit', id: 'import-btn' }, t('import_btn')))),
    async (fd) => {
      const file = fd.get('file');
      const r = await fetch('/api/v1/residents/import', { method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'text/csv', 'X-CSRF-Token': me().csrf_token }, body: await file.arrayBuffer() });
      const d = await r.json().catch(() => ({}));
      if (!r.ok && !(r.status === 422 && d.errors)) {
        const er = d.error || {};
        throw new ctx.ApiError(r.status, er.code || '', er.message || r.statusText, er);
      }
      out.replaceChildren(
        el('p', { id: 'import-summary', class: d.error_count ? 'st-revoked' : 'st-valid' },
          d.error_count ? t('import_failed', { n: d.error_count, rows: d.rows }) : t('import_ok', { n: d.imported, rows: d.rows })),
        d.errors.length === 0 ? null : el('table', { id: 'import-errors' },
          el('thead', {}, el('tr', {}, el('th', {}, t('line')), el('th', {}, t('row_error')))),
          el('tbody', {}, d.errors.map((e) => el('tr', {}, el('td', {}, e.line), el('td', {}, rowReason(e.reason)))))));
      if (!d.error_count) say('info', t('import_ok', { n: d.imported, rows: d.rows }));
    });
    page('nav_import', el('p', {}, t('import_text')), form, out);
  }

  // ---- one's own password ----
  function viewPassword() {
    const form = submit(el('form', { id: 'password-form' },
      field('pw-current', t('current_password'), el('input', { name: 'current', type: 'password', required: true, autocomplete: 'current-password' })),
      field('pw-new', t('new_password'), el('input', { name: 'password', type: 'password', required: true, maxlength: 128, autocomplete: 'new-password' })),
      field('pw-again', t('new_password_again'), el('input', { name: 'again', type: 'password', required: true, autocomplete: 'new-password' })),
      el('p', { class: 'note full' }, t('password_rule')),
      el('div', { class: 'full' }, el('button', { type: 'submit', id: 'pw-change' }, t('change_password')))),
    async (fd, f) => {
      if (fd.get('password') !== fd.get('again')) { say('error', el('strong', {}, t('password_mismatch'))); return; }
      const r = await api('POST', 'operators/' + encodeURIComponent(me().operator) + '/password',
        { current: fd.get('current'), password: fd.get('password') });
      f.reset();
      say('info', t('password_changed', { n: r.sessions_ended }));
    });
    page('nav_password', el('p', {}, t('password_text')), form);
  }

  // ---- audit history (supervisor+) ----
  const DETAIL_KEYS = { resident: 'resident', app: 'app_id', operator: 'op_name', kind: 'app_kind', from: 'from', to: 'to',
    serial: 'serial', reason: 'reason', card: 'card', muni: 'muni', role: 'op_role', ext: 'ext_id',
    basic4: 'dk_basic4', ward: 'dk_ward', revoked: 'dk_revoked', batch: 'dk_batch', sent: 'dk_sent' };
  const detailText = (d) => getLang() !== 'ja' ? d : d.split(' ').map((tok) => {
    const m = /^([a-z_]+)=(.*)$/.exec(tok);
    if (!m || !DETAIL_KEYS[m[1]]) return tok;
    const v = m[1] === 'kind' ? fmtEnum('k_', m[2]) : ['from', 'to'].includes(m[1]) ? fmtEnum('s_', m[2])
      : m[1] === 'reason' ? fmtEnum('rsn_', m[2]) : m[1] === 'role' ? fmtEnum('role_', m[2]) : m[2];
    return t(DETAIL_KEYS[m[1]]) + '=' + v;
  }).join(' ');
  async function viewAudit(params) {
    const q = params.get('q') || '';
    const [kind, id] = q.includes(':') ? q.split(/:(.*)/s) : ['resident', ''];
    const out = el('div', { id: 'audit-result' });
    const form = submit(el('form', { id: 'audit-form', role: 'search' },
      field('au-kind', t('audit_subject'), el('select', { name: 'kind' },
        ['resident', 'application', 'operator'].map((k) => el('option', { value: k, selected: k === kind }, t('subj_' + k))))),
      field('au-id', t('audit_id'), el('input', { name: 'id', required: true, value: id, maxlength: 32 })),
      el('div', { class: 'full' }, el('button', { type: 'submit' }, t('audit_show')))),
    async (fd) => { location.hash = '#audit?q=' + encodeURIComponent(fd.get('kind') + ':' + fd.get('id')); });
    if (id) {
      const d = await api('GET', 'audit?q=' + encodeURIComponent(q) + '&limit=500');
      out.replaceChildren(el('h3', {}, t('audit_records', { n: d.matched })),
        d.records.length === 0 ? el('p', {}, t('none')) : el('table', { id: 'audit-records' },
          el('thead', {}, el('tr', {}, ['seq', 'at', 'actor', 'event', 'detail'].map((k) => el('th', {}, t(k))))),
          el('tbody', {}, d.records.slice().reverse().map((r) => el('tr', {}, el('td', {}, r.seq), el('td', {}, fmtDateTime(r.at, true)),
            el('td', {}, r.actor), el('td', {}, fmtEnum('act_', r.action.replace(/\./g, '_'))), el('td', { class: 'mono' }, detailText(r.detail)))))));
    }
    page('nav_audit', form, out);
  }

  const guard = (role, fn) => async (params) => {
    if (!atLeast(role)) { say('error', el('strong', {}, t('err_403'))); return; }
    await fn(params);
  };
  return {
    dashboardParts,
    views: { operators: guard('ca-admin', viewOperators), munis: guard('clerk', viewMunis),
      import: guard('supervisor', viewImport), password: guard('clerk', viewPassword), audit: guard('supervisor', viewAudit) },
  };
}
