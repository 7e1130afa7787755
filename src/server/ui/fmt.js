// The counter's conventions, in one place: dates in 和暦 with the 西暦 year
// (令和8年12月6日 (2026年)), times in JST (the service answers UTC, e.g.
// "2031-12-06T14:59:59Z", which is 23:59:59 on 12月6日 in Japan), the
// revocation reasons and statuses in Japanese, and the PIN rules stated
// where a PIN is entered.  English pages get ISO dates with "JST".
import { t, getLang } from '/ui/i18n.js';

const JST_MS = 9 * 3600 * 1000;

// 元号: first day of each era (proclamation dates).
const ERAS = [
  { name: '令和', y: 2019, m: 5, d: 1 },
  { name: '平成', y: 1989, m: 1, d: 8 },
  { name: '昭和', y: 1926, m: 12, d: 25 },
  { name: '大正', y: 1912, m: 7, d: 30 },
  { name: '明治', y: 1868, m: 1, d: 25 },
];

// {era, year} of a Gregorian day, or null before 明治.
export function wareki(y, m, d) {
  const key = y * 10000 + m * 100 + d;
  for (const e of ERAS) {
    if (key >= e.y * 10000 + e.m * 100 + e.d) return { era: e.name, year: y - e.y + 1 };
  }
  return null;
}

// {y, m, d, hh, mm, ss} in JST of "YYYY-MM-DD" (a calendar day, taken as
// is) or an ISO instant ("…T…Z" or with an offset); null if neither.
export function parseJst(v) {
  if (typeof v !== 'string') return null;
  let m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (m) return { y: +m[1], m: +m[2], d: +m[3], time: false };
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/.test(v)) return null;
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) return null;
  const j = new Date(ms + JST_MS);
  return { y: j.getUTCFullYear(), m: j.getUTCMonth() + 1, d: j.getUTCDate(),
    hh: j.getUTCHours(), mm: j.getUTCMinutes(), ss: j.getUTCSeconds(), time: true };
}

const pad = (n) => String(n).padStart(2, '0');

function dayText(p) {
  if (getLang() !== 'ja') return `${p.y}-${pad(p.m)}-${pad(p.d)}`;
  const w = wareki(p.y, p.m, p.d);
  if (!w) return `${p.y}年${p.m}月${p.d}日`;
  return `${w.era}${w.year === 1 ? '元' : w.year}年${p.m}月${p.d}日 (${p.y}年)`;
}

// A day: 令和8年12月6日 (2026年).  An instant is shown as its JST day.
// Anything else is shown as given ('' for nothing).
export function fmtDate(v) {
  if (v === null || v === undefined || v === '') return '';
  const p = parseJst(v);
  return p ? dayText(p) : String(v);
}

// An instant in JST: 令和8年12月6日 (2026年) 23:59 (JST 日本時間); a bare day
// is shown as a day.
export function fmtDateTime(v, withSeconds) {
  if (v === null || v === undefined || v === '') return '';
  const p = parseJst(v);
  if (!p) return String(v);
  if (!p.time) return dayText(p);
  const hm = `${pad(p.hh)}:${pad(p.mm)}` + (withSeconds ? ':' + pad(p.ss) : '');
  return dayText(p) + ' ' + hm + ' ' + t('jst');
}

// A date input's value (YYYY-MM-DD) shown beside the input as 和暦.
export function fmtDateHint(input) {
  const out = document.createElement('span');
  out.className = 'note date-hint';
  const upd = () => { out.textContent = input.value ? fmtDate(input.value) : ''; };
  input.addEventListener('input', upd);
  input.addEventListener('change', upd);
  upd();
  return out;
}

// RFC 5280 reasons (as the service names them) in words.
export function fmtReason(r) {
  if (!r) return '';
  const k = 'rsn_' + r;
  return t(k) !== k ? t(k) : String(r);
}

// A certificate's status (valid, hold, revoked) in words, with its reason.
export function fmtCertStatus(c) {
  const k = c.status === 'valid' ? 'valid' : c.status === 'hold' ? 'hold' : 'revoked_st';
  const reason = c.reason && c.reason !== 'certificateHold' ? fmtReason(c.reason) : '';
  return t(k) + (reason ? '（' + reason + '）' : '');
}

// Any enum from the service through a key prefix, never the raw English
// in a Japanese page: fmtEnum('k_', 'new-card').
export function fmtEnum(prefix, v) {
  if (v === null || v === undefined || v === '') return '';
  const k = prefix + String(v).replace(/-/g, '_');
  return t(k) !== k ? t(k) : String(v);
}

// The rule of a PIN, to show where it is entered.
export function pinRule(kind) {
  return t(kind === 'sign' ? 'pin_rule_sign' : 'pin_rule_4');
}

// Money: 1,000円.
export function fmtYen(n) {
  return Number(n).toLocaleString('ja-JP') + t('yen');
}
