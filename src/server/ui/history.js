// An application's history in the operator's language.  The registry
// records each step's detail in English (for the audit log and curl);
// the known details are read here and worded again from i18n.js.  On a
// Japanese page a detail that is not known is shown only when it holds no
// English (a reason the clerk typed in Japanese); never an English sentence.
import { t, getLang } from '/ui/i18n.js';
import { fmtDate } from '/ui/fmt.js';

const KIND = { sign: 'sign', auth: 'auth', cardinfo: 'hd_pin_cardinfo' };
const kinds = (bits) => [bits & 1 ? t('sign') : null, bits & 2 ? t('auth') : null].filter(Boolean).join('・') || t('hd_nothing');
const cardOf = (c) => (c === '-' ? t('hd_nothing') : c);

const KNOWN = [
  [/^applicant=(\w+) certs=(\d+) pins=(\d+) card=(\S+)$/,
    (m) => t('hd_open', { ap: t('ap_' + m[1]), certs: kinds(Number(m[2])), card: cardOf(m[4]) })],
  [/^card (\S+) reported lost: (\d+) certificate\(s\) on hold$/, (m) => t('hd_lost', { card: m[1], n: m[2] })],
  [/^old card (\S+) retired \((lost|damaged)\), (\d+) certificate\(s\) revoked$/,
    (m) => t('hd_retired', { card: m[1], why: t('hd_why_' + m[2]), n: m[3] })],
  [/^card (\S+) handed over \(valid to (\d{4}-\d{2}-\d{2})\)$/, (m) => t('hd_handed', { card: m[1], d: fmtDate(m[2]) })],
  [/^card (\S+) found: (\d+) held certificate\(s\) revoked$/, (m) => t('hd_found', { card: m[1], n: m[2] })],
  [/^(\d+) certificate\(s\) revoked$/, (m) => t('hd_revoked', { n: m[1] })],
  [/^loss report closed: card (\S+) stays lost, (\d+) certificate\(s\) on hold since receipt$/,
    (m) => t('hd_loss_closed', { card: m[1], n: m[2] })],
  [/^PINs reset \(([a-z ]*)\); the holder set the new PINs at the card$/,
    (m) => t('hd_pins', { which: m[1].trim().split(/\s+/).filter((k) => KIND[k]).map((k) => t(KIND[k])).join('・') })],
  [/^card (\S+) produced$/, (m) => t('hd_produced', { card: m[1] })],
  [/^card (\S+) at the counter: 交付通知書 to the holder$/, (m) => t('hd_ready', { card: m[1] })],
  [/^document (\d+): (\w+) \((\w+)\)$/, (m) => t('hd_doc', { n: m[1], type: t('d_' + m[2]), role: t('role_' + m[3]) })],
  [/^issued sign=(\S+) auth=(\S+)$/, (m) => t('hd_issued', { sign: cardOf(m[1]), auth: cardOf(m[2]) })],
  [/^照会書兼回答書 mailed to the holder's address$/, () => t('hd_inquiry_sent')],
  [/^回答書 brought back by the 任意代理人$/, () => t('hd_inquiry_answered')],
];

function known(d) {
  for (const [re, f] of KNOWN) { const m = re.exec(d); if (m) return f(m); }
  return null;
}
// "what happened; issued sign=… auth=…": each part worded
export function historyDetail(detail) {
  const d = String(detail || '');
  const parts = d.split('; ').map(known);
  if (parts.every((p) => p !== null)) return parts.join(t('hd_sep'));
  if (getLang() === 'ja' && /[A-Za-z]{3,}/.test(d.replace(/\b[A-Z0-9]+(-[A-Z0-9]+)+\b/g, ''))) return '';
  return d;
}
