// The UI's words: Japanese first, English on request (kept in localStorage).
const dict = {
  ja: {
    title: '公的個人認証サービス 窓口端末', lang_switch: 'English', logout: 'ログアウト',
    nav_dashboard: 'ダッシュボード', nav_search: '住民検索', nav_register: '住民登録',
    nav_issue: '電子証明書の発行', nav_renew: '更新', nav_revoke: '失効・一時保留', nav_pin: '暗証番号の初期化',
    login: 'ログイン', name: '職員名', res_name: '氏名', password: 'パスワード', login_btn: 'ログインする',
    today: '本日の処理件数', issued: '発行', renewed: '更新', revoked: '失効', queue: '待ち行列',
    latency: '応答時間の分布（処理区分別、件数）', klass: '区分', length: '待ち件数', capacity: '上限',
    search_q: '氏名・カナ・住民番号', search_btn: '検索する', results: '検索結果', none: '該当なし',
    id: '番号', ext_id: '住民票コード等', kana: 'フリガナ', address: '住所', birth: '生年月日', sex: '性別',
    male: '男', female: '女', muni: '市区町村コード', adult_ward: '成年被後見人', status: '状態',
    living: '在籍', removed: '消除', show: '表示', certs: '電子証明書', serial: 'シリアル番号',
    kind: '種別', sign: '署名用', auth: '利用者証明用', card: 'カード', not_after: '有効期限',
    valid: '有効', hold: '一時保留', revoked_st: '失効', register_btn: '登録する',
    change: '異動（記載事項の変更）', change_btn: '異動を届け出る', change_revoked: '異動により失効した電子証明書',
    change_none: '失効した電子証明書はありません', registered: '住民を登録しました（番号 {id}）',
    resident: '住民番号', auth_pin: '利用者証明用暗証番号（数字4桁）', sign_pin: '署名用暗証番号（英数字6〜16桁）',
    no_sign: '署名用電子証明書を希望しない', preview_btn: '内容を確認する', confirm_issue: 'この内容で発行する',
    preview: '発行内容の確認', eligible: '発行可', ineligible: '発行不可', last_day: '有効期限の末日',
    capped_by: '期限の根拠', cap_birthday: '誕生日', cap_card: 'カードの有効期限', cap_auth: '利用者証明用の期限',
    fee: '手数料', yen: '円', card_expiry: 'カードの有効期限', declined: '希望しない',
    issued_ok: '発行しました。カード {serial} のイメージを一度だけダウンロードできます（{ttl}秒以内）。',
    download: 'カードイメージをダウンロード', image: 'カードイメージ（ファイル）', confirm_renew: 'この内容で更新する',
    renewed_ok: '更新しました。旧証明書 {n} 件は失効しました。新しいカードイメージをダウンロードしてください。',
    reason: '理由', revoke_btn: '失効させる', reason_cessation: '本人の申請による失効',
    reason_hold: '紛失の届出（一時保留）', reason_unspecified: '交付前の廃棄',
    revoke_ok: '証明書 {serial} は「{status}」になりました。',
    pin_title: '暗証番号の初期化（再設定）',
    pin_text: '暗証番号の初期化・再設定は、本人確認のうえ窓口端末で行います。カードを読み取り機に置き、次のコマンドを実行してください（暗証番号は標準入力から読み取られ、画面に表示されません）。',
    pin_note: 'この画面からは暗証番号を扱いません。申請の受付は申請ワークフローの画面で行います。',
    err_401: 'ログインしてください（セッションが切れています）。', err_403: 'この操作の権限がありません。',
    err_csrf: 'セッション確認（CSRF）に失敗しました。再度ログインしてください。', err_404: '見つかりません。',
    err_409: '既に登録されているか、状態が競合しています。', err_400: '入力内容に誤りがあります。',
    err_413: 'ファイルが大きすぎます。', err_422: '法令上、この処理はできません。',
    err_503: '混雑しています。しばらくしてから再度お試しください。', err_net: 'サーバーに接続できません。',
    err_sign_pin_required: '署名用電子証明書を発行できます。署名用暗証番号を入力するか、「希望しない」を選んでください。',
    err_detail: '詳細', working: '処理中…'
  },
  en: {
    title: 'JPKI counter terminal', lang_switch: '日本語', logout: 'Log out',
    nav_dashboard: 'Dashboard', nav_search: 'Residents', nav_register: 'Register',
    nav_issue: 'Issue certificates', nav_renew: 'Renew', nav_revoke: 'Revoke / hold', nav_pin: 'PIN reset',
    login: 'Log in', name: 'Operator', res_name: 'Name', password: 'Password', login_btn: 'Log in',
    today: "Today's work", issued: 'Issued', renewed: 'Renewed', revoked: 'Revoked', queue: 'Queues',
    latency: 'Latency distribution by class (requests)', klass: 'Class', length: 'Queued', capacity: 'Capacity',
    search_q: 'Name, kana or id', search_btn: 'Search', results: 'Results', none: 'Nothing found',
    id: 'Id', ext_id: 'Resident code', kana: 'Kana', address: 'Address', birth: 'Date of birth', sex: 'Sex',
    male: 'male', female: 'female', muni: 'Municipality code', adult_ward: 'Adult ward', status: 'Status',
    living: 'living', removed: 'removed', show: 'Show', certs: 'Certificates', serial: 'Serial',
    kind: 'Kind', sign: 'Signature', auth: 'Authentication', card: 'Card', not_after: 'Expires',
    valid: 'valid', hold: 'on hold', revoked_st: 'revoked', register_btn: 'Register',
    change: 'Change of record', change_btn: 'Record the change', change_revoked: 'Certificates revoked by the change',
    change_none: 'No certificate was revoked', registered: 'Resident registered (id {id})',
    resident: 'Resident id', auth_pin: 'Authentication PIN (4 digits)', sign_pin: 'Signature PIN (6-16 letters and digits)',
    no_sign: 'No signature certificate wanted', preview_btn: 'Check', confirm_issue: 'Issue',
    preview: 'What will be issued', eligible: 'eligible', ineligible: 'not eligible', last_day: 'Last valid day',
    capped_by: 'Limited by', cap_birthday: 'birthday', cap_card: 'card expiry', cap_auth: 'authentication certificate',
    fee: 'Fee', yen: ' yen', card_expiry: 'Card expiry', declined: 'declined',
    issued_ok: 'Issued. The image of card {serial} can be downloaded once (within {ttl} s).',
    download: 'Download the card image', image: 'Card image (file)', confirm_renew: 'Renew',
    renewed_ok: 'Renewed. {n} old certificate(s) revoked. Download the new card image.',
    reason: 'Reason', revoke_btn: 'Revoke', reason_cessation: 'At the holder\'s request',
    reason_hold: 'Card reported lost (hold)', reason_unspecified: 'Discarded before delivery',
    revoke_ok: 'Certificate {serial} is now "{status}".',
    pin_title: 'Resetting a PIN',
    pin_text: 'PINs are reset at the counter terminal after checking the holder\'s identity. Put the card on the reader and run (the PIN is read from standard input, not shown):',
    pin_note: 'This UI never handles PINs for a reset; applications are taken in the application workflow screens.',
    err_401: 'Please log in (the session has ended).', err_403: 'You may not do this.',
    err_csrf: 'Session check (CSRF) failed. Please log in again.', err_404: 'Not found.',
    err_409: 'Already on record, or a conflicting state.', err_400: 'Please check the input.',
    err_413: 'The file is too large.', err_422: 'The law does not allow this.',
    err_503: 'Busy; please try again shortly.', err_net: 'Cannot reach the server.',
    err_sign_pin_required: 'A signature certificate can be issued: give a signature PIN or tick "No signature certificate wanted".',
    err_detail: 'Details', working: 'Working…'
  }
};

let lang = localStorage.getItem('jpki.lang') === 'en' ? 'en' : 'ja';

export function getLang() { return lang; }
export function setLang(l) {
  lang = l === 'en' ? 'en' : 'ja';
  localStorage.setItem('jpki.lang', lang);
  document.documentElement.lang = lang;
}
// t('key', {name: value}): the word in the current language.
export function t(key, vars) {
  let s = dict[lang][key] ?? dict.ja[key] ?? key;
  for (const [k, v] of Object.entries(vars || {})) s = s.split('{' + k + '}').join(String(v));
  return s;
}
