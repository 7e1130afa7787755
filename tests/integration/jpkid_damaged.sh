#!/usr/bin/env bash
# Damage is loud: a store whose pages are overwritten is refused at start
# (quick check; --check-full for the whole check) with a message saying
# what to do, and damage met while serving answers 500 (never 503, which
# means only "busy"), is logged, counted in /metrics, and turns /healthz
# unhealthy.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
export JPKID_ADMIN_PASSWORD=admin-password-1
DB=$T/ca/jpki.db

start_jpkid "$T/ca"
login admin admin admin-password-1
req admin POST /api/v1/municipalities '{"code":"132217","pref":"東京都","city":"清瀬市","pref_roman":"Tokyo-to","city_roman":"Kiyose-shi"}'
check 201 "record Kiyose"
{ printf 'ext_id,name,kana,address,birth,sex,muni,adult_ward\n'
  for i in $(seq 1 400); do printf 'D%d,損傷　太郎%d,ソンショウタロウ,東京都清瀬市中里%d-1,1980-01-02,1,132217,0\n' "$i" "$i" "$i"; done; } >many.csv
req admin POST /api/v1/residents/import '' --data-binary @many.csv -H 'Content-Type: text/csv'
check 200 "400 residents imported"
stop_jpkid
sqlite3 "$DB" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
cp "$DB" healthy.db

# overwrite_page DB TABLE N: 4 KiB of random bytes over the N-th page of
# TABLE's b-tree (0 = its root; leaves follow it in a freshly filled table)
overwrite_page() {
  local ps root
  ps=$(sqlite3 "$1" 'PRAGMA page_size;')
  root=$(sqlite3 "$1" "SELECT rootpage FROM sqlite_master WHERE name='$2';")
  head -c "$ps" /dev/urandom | dd of="$1" bs="$ps" seek=$((root - 1 + $3)) conv=notrunc status=none
}

# 1. at start: refused, and the message says what to do
overwrite_page "$DB" residents 0
rc=0; timeout 60 "$JPKID" --dir "$T/ca" --listen 127.0.0.1:0 >start.out 2>start.err || rc=$?
[ "$rc" -ne 0 ] && grep -q "refusing to serve a damaged store" start.err && grep -q "restore the database from a backup" start.err &&
  ok "a damaged store is refused at start (exit $rc): $(head -c 200 start.err)" || bad "start on damage: rc=$rc $(cat start.out start.err)"
rc=0; timeout 60 "$JPKID" --dir "$T/ca" --listen 127.0.0.1:0 --check-full >full.out 2>full.err || rc=$?
[ "$rc" -ne 0 ] && grep -q "damaged" full.err && ok "--check-full refuses it too" || bad "check-full: rc=$rc $(cat full.err)"

# 2. while serving: a healthy store damaged under a running jpkid
cp healthy.db "$DB"; rm -f "$DB-wal" "$DB-shm"
start_jpkid "$T/ca"
curl -sf "$BASE/healthz" >/dev/null && ok "healthy store: /healthz ok" || bad "healthz before"
login admin admin admin-password-1
for n in 1 2 3; do overwrite_page "$DB" residents "$n"; done
overwrite_page "$DB" residents 0
codes=""; faults=""
for q in 損傷 太郎 ソンショウ 清瀬 1980-01-02; do
  req admin GET "/api/v1/residents?q=$(jq -rn --arg q "$q" '$q|@uri')"; codes="$codes $CODE"
  [ "$CODE" = 500 ] && faults="$faults $(jq -r .error.code <<<"$BODY" 2>/dev/null)"
done
echo "# residents searches on the damaged store answered:$codes"
grep -q 500 <<<"$codes" && ! grep -q 503 <<<"$codes" && ok "damage met while serving: 500, never 503" || bad "codes:$codes ($BODY)"
[ -n "$faults" ] && ! grep -qv storage_fault <<<"$(tr ' ' '\n' <<<"$faults" | sed '/^$/d')" && ok "each 500 says storage_fault, not busy:$faults" || bad "500 codes:$faults"
code=$(curl -s -o hz.txt -w '%{http_code}' "$BASE/healthz")
[ "$code" = 500 ] && grep -q "damaged" hz.txt && ok "/healthz unhealthy after damage ($code)" || bad "healthz: $code $(cat hz.txt)"
m=$(curl -s "$BASE/metrics")
grep -q '^jpkid_store_damaged 1' <<<"$m" && grep -Eq '^jpkid_storage_faults_total [1-9]' <<<"$m" && ok "counted in /metrics" || bad "metrics: $(grep storage <<<"$m")"
grep -q "storage fault (damaged)" "$T/jpkid.err" && ok "logged: $(grep -m1 'storage fault' "$T/jpkid.err" | head -c 160)" || bad "no log line: $(tail -5 "$T/jpkid.err")"
stop_jpkid
finish
