#!/usr/bin/env bash
# Setting up and supervising jpkid over HTTP and with `jpki operator`:
# operators created, disabled, reset and changing their own password (old
# sessions end at once; one's own change needs the current password),
# municipalities listed and edited, the first-run state, the error codes
# the UI words its headlines from, and the audit history of an operator,
# a resident and an application, with the chain check.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
JPKI=$JPKI_BIN/jpki

export JPKID_ADMIN_PASSWORD=admin-password-1
start_jpkid "$T/ca"
ecode() { jq -r '.error.code // empty' <<<"$BODY"; }
efield() { jq -r '.error.field // empty' <<<"$BODY"; }
check_code() { # STATUS CODE what
  if [ "$CODE" = "$1" ] && [ "$(ecode)" = "$2" ]; then ok "$3 ($1 $2)"
  else bad "$3: want $1 $2, got $CODE: ${BODY:0:300}"; fi
}

# ---- log-in and the first-run state ----
login x admin wrong-password-1; check_code 401 bad_credentials "wrong password: its own code"
login x nobody admin-password-1; check_code 401 bad_credentials "unknown operator: the same code"
login admin admin admin-password-1; check 200 "admin logs in"
req admin GET /api/v1/setup; check 200 "first-run state"
[ "$(jq -c '[.municipality,.clerk,.residents,.done]' <<<"$BODY")" = '[false,false,false,false]' ] \
  && ok "fresh: nothing set up" || bad "fresh setup state: $BODY"

# ---- operators ----
req admin POST /api/v1/operators '{"name":"clerk1","role":"clerk","password":"clerk-password-1"}'; check 201 "create clerk"
req admin POST /api/v1/operators '{"name":"sup1","role":"supervisor","password":"super-password-1"}'; check 201 "create supervisor"
req admin POST /api/v1/operators '{"name":"clerk1","role":"clerk","password":"clerk-password-1"}'; check_code 409 duplicate "operator exists"
req admin GET /api/v1/setup
[ "$(jq -c '[.municipality,.clerk]' <<<"$BODY")" = '[false,true]' ] && ok "setup: a clerk" || bad "setup after clerk: $BODY"
login ca clerk1 clerk-password-1; check 200 "clerk logs in (session A)"
login cb clerk1 clerk-password-1; check 200 "clerk logs in (session B)"
login sup sup1 super-password-1; check 200 "supervisor logs in"

# one's own password: the current one is required and must be right
req ca POST /api/v1/operators/clerk1/password '{"password":"clerk-password-2"}'
check_code 400 invalid_field "own change without the current password"
[ "$(efield)" = current ] && ok "the field named: current" || bad "field: $BODY"
req ca POST /api/v1/operators/clerk1/password '{"password":"clerk-password-2","current":"not-the-password"}'
check_code 403 wrong_current_password "own change with a wrong current password"
req cb GET /api/v1/session; check 200 "session B still alive after refusals"
req ca POST /api/v1/operators/clerk1/password '{"password":"short","current":"clerk-password-1"}'
check_code 400 invalid "own change to a short password"
NOCSRF=1 req ca POST /api/v1/operators/clerk1/password '{"password":"clerk-password-2","current":"clerk-password-1"}'
check_code 403 csrf "own change without the CSRF token"
req ca POST /api/v1/operators/clerk1/password '{"password":"clerk-password-2","current":"clerk-password-1"}'
check 200 "clerk changes own password"
[ "$(jq -r .sessions_ended <<<"$BODY")" = 1 ] && ok "one other session ended" || bad "sessions_ended: $BODY"
req ca GET /api/v1/session; check 200 "the changing session lives on"
req ca GET /api/v1/municipalities; check 200 "... and still works"
req cb GET /api/v1/session; check 401 "the other session died"
req cb GET /api/v1/municipalities; check 401 "... and cannot call the API"
login x clerk1 clerk-password-1; check_code 401 bad_credentials "old password refused"
login cb clerk1 clerk-password-2; check 200 "new password works"
req sup POST /api/v1/operators/clerk1/password '{"password":"clerk-password-9"}'; check 403 "a supervisor cannot reset a clerk"
req ca POST /api/v1/operators/sup1/password '{"password":"clerk-password-9"}'; check 403 "a clerk cannot reset another"

# a reset by a ca-admin ends every session of that operator
req admin POST /api/v1/operators/clerk1/password '{"password":"clerk-password-3"}'; check 200 "admin resets the clerk"
[ "$(jq -r .sessions_ended <<<"$BODY")" = 2 ] && ok "both clerk sessions ended" || bad "reset sessions_ended: $BODY"
req ca GET /api/v1/session; check 401 "session A died with the reset"
req cb GET /api/v1/residents; check 401 "session B died with the reset"
req admin GET /api/v1/session; check 200 "admin's own session unaffected"
login ca clerk1 clerk-password-3; check 200 "clerk logs in with the reset password"

# disable / enable
req ca POST /api/v1/operators/sup1/disable; check 403 "a clerk cannot disable"
req admin POST /api/v1/operators/admin/disable; check_code 409 state "nobody disables themself"
req admin POST /api/v1/operators/nobody/disable; check_code 404 not_found "disable an unknown operator"
NOCSRF=1 req admin POST /api/v1/operators/clerk1/disable; check_code 403 csrf "disable needs the CSRF token"
req admin POST /api/v1/operators/clerk1/disable; check 200 "admin disables the clerk"
[ "$(jq -c '[.disabled,.sessions_ended]' <<<"$BODY")" = '[true,1]' ] && ok "disabled, its session ended" || bad "disable: $BODY"
req ca GET /api/v1/session; check 401 "disabled clerk's session is gone"
login x clerk1 clerk-password-3; check_code 401 bad_credentials "disabled clerk cannot log in"
req admin POST /api/v1/operators/clerk1/disable; check_code 409 state "disable twice"
req admin GET /api/v1/operators
[ "$(jq -r '.operators[] | select(.name=="clerk1") | .disabled' <<<"$BODY")" = true ] && ok "list shows disabled" || bad "list: $BODY"
grep -q hash <<<"$BODY" && bad "operator list leaks the hash" || ok "no hash in the list"
req admin GET /api/v1/setup
[ "$(jq -r .clerk <<<"$BODY")" = false ] && ok "setup: a disabled clerk does not count" || bad "setup: $BODY"
req admin POST /api/v1/operators/clerk1/enable; check 200 "admin enables the clerk"
login ca clerk1 clerk-password-3; check 200 "enabled clerk logs in"

# ---- municipalities ----
req admin POST /api/v1/municipalities '{"code":"132217","pref":"東京都","city":"清瀬市","pref_roman":"Tokyo-to","city_roman":"Kiyose-shi"}'
check 201 "record Kiyose"
req admin POST /api/v1/municipalities '{"code":"132217","pref":"東京都","city":"清瀬市","pref_roman":"Tokyo-to","city_roman":"Kiyose-shi"}'
check_code 409 duplicate "a municipality twice"
req admin POST /api/v1/municipalities '{"code":"13221","pref":"東京都","city":"清瀬市","pref_roman":"Tokyo-to","city_roman":"Kiyose-shi"}'
check_code 400 invalid_field "a 5-digit code"
[ "$(efield)" = code ] && ok "field: code" || bad "field: $BODY"
req admin PATCH /api/v1/municipalities/132217 '{"city":"清瀬市役所"}'; check_msg 200 '"city":"清瀬市役所"' "edit the city's name"
req admin PATCH /api/v1/municipalities/132217 '{"city_roman":"Kiyose"}'; check_code 400 invalid_field "romanised names stay"
[ "$(efield)" = city_roman ] && ok "field: city_roman" || bad "field: $BODY"
req admin PATCH /api/v1/municipalities/132217 '{"city":""}'; check_code 400 invalid_field "an empty name"
req admin PATCH /api/v1/municipalities/999999 '{"city":"x"}'; check_code 404 not_found "edit an unknown municipality"
req ca PATCH /api/v1/municipalities/132217 '{"city":"x"}'; check 403 "a clerk cannot edit"
NOCSRF=1 req admin PATCH /api/v1/municipalities/132217 '{"city":"x"}'; check_code 403 csrf "edit needs the CSRF token"
req admin PATCH /api/v1/municipalities/132217 '{"city":"清瀬市"}'; check 200 "name back"
req ca GET /api/v1/municipalities
[ "$(jq -r '.municipalities[0].city' <<<"$BODY")" = 清瀬市 ] && ok "list shows the edited name" || bad "munis: $BODY"

# ---- error codes and the first-run state with residents ----
req ca POST /api/v1/residents '{"ext_id":"A1","name":"山田　太郎","kana":"ヤマダタロウ","address":"東京都清瀬市","birth":"1980-12-31","sex":1,"muni":132217}'
check_code 400 invalid_field "muni as a number"
[ "$(efield)" = muni ] && ok "field: muni" || bad "field: $BODY"
req ca POST /api/v1/residents '{"ext_id":"A1","name":"山田　太郎","kana":"ヤマダタロウ","address":"東京都清瀬市中里1-1","birth":"1980-12-31","sex":1,"muni":"132217"}'
check 201 "clerk registers a resident"; RID=$(jq -r .id <<<"$BODY")
req ca POST /api/v1/residents '{"ext_id":"A1","name":"山田　太郎","kana":"ヤマダタロウ","address":"東京都清瀬市中里1-1","birth":"1980-12-31","sex":1,"muni":"132217"}'
check_code 409 duplicate "the same resident twice"
req ca GET /api/v1/residents/999999; check_code 404 not_found "unknown resident"
req admin GET /api/v1/setup
[ "$(jq -c '[.municipality,.clerk,.residents,.done]' <<<"$BODY")" = '[true,true,true,true]' ] \
  && ok "setup done" || bad "setup: $BODY"
req ca PATCH "/api/v1/residents/$RID" '{"address":"東京都清瀬市中里2-2"}'; check 200 "a change of address"
req ca POST /api/v1/applications "{\"resident\":$RID,\"kind\":\"new-card\",\"certs\":\"sign,auth\",\"applicant\":\"proxy\",\"agent_name\":\"山田　花子\"}"
check 201 "open a proxy application"; AID=$(jq -r .id <<<"$BODY")
req ca POST "/api/v1/applications/$AID/approve"; check_code 409 documents_missing "approval without documents"
req ca POST "/api/v1/applications/$AID/inquiry"; check 200 "inquiry sent"
req ca POST "/api/v1/applications/$AID/inquiry/answer"; check_code 409 inquiry_same_day "inquiry answered the same day"

# ---- audit history ----
req sup GET '/api/v1/audit?q=operator:clerk1'; check 200 "operator history"
acts=$(jq -r '[.records[].action] | join(",")' <<<"$BODY")
for a in operator.create operator.password operator.disable operator.enable resident.add; do
  grep -q "$a" <<<"$acts" && ok "operator history has $a" || bad "operator history lacks $a: $acts"
done
req sup GET "/api/v1/audit?q=resident:$RID"; check 200 "resident history"
acts=$(jq -r '[.records[].action] | join(",")' <<<"$BODY")
grep -q resident.add <<<"$acts" && grep -q resident.change <<<"$acts" && grep -q application.open <<<"$acts" \
  && ok "resident history: add, change, application ($acts)" || bad "resident history: $acts"
jq -e "all(.records[]; .detail | test(\"resident=$RID( |\$)\"))" <<<"$BODY" >/dev/null \
  && ok "only this resident's records" || bad "foreign records: $BODY"
req sup GET "/api/v1/audit?q=application:$AID"; check 200 "application history"
jq -e '.matched >= 2 and (.records[0].action == "application.open")' <<<"$BODY" >/dev/null \
  && ok "application history from its opening" || bad "application history: $BODY"
req sup GET "/api/v1/audit?q=resident:$RID&limit=1"
[ "$(jq '.records | length' <<<"$BODY")" = 1 ] && ok "limit keeps the newest" || bad "limit: $BODY"
req sup GET '/api/v1/audit?q=card:1'; check_code 400 invalid_field "unknown subject"
req sup GET '/api/v1/audit?q=resident:abc'; check_code 400 invalid_field "resident id not a number"
req ca GET "/api/v1/audit?q=resident:$RID"; check 403 "a clerk cannot read the audit"
req sup GET /api/v1/audit/verify; check_msg 200 '"ok":true' "audit chain verifies"
jq -e '.passes == 1 and .certificates_checked > 0' <<<"$BODY" >/dev/null && ok "in one pass (a small log)" || bad "audit verify: $BODY"

# ---- the CLI on the same store; jpkid ends the sessions it condemns ----
"$JPKI" --dir "$T/ca" operator --help | grep -q "jpki operator add" && ok "operator --help" || bad "operator --help"
echo clerk-password-5 | "$JPKI" --dir "$T/ca" --json operator add clerk2 --role clerk --password-file - >"$T/op.json"
[ "$(jq -r '.name + " " + .role' "$T/op.json")" = "clerk2 clerk" ] && ok "jpki operator add --json" || bad "cli add: $(cat "$T/op.json")"
echo clerk-password-5 | "$JPKI" --dir "$T/ca" operator add clerk2 --role clerk --password-file - 2>/dev/null \
  && bad "cli add twice accepted" || ok "cli add twice refused"
rc=0; "$JPKI" --dir "$T/ca" operator add clerk3 --role king </dev/null 2>/dev/null || rc=$?
[ $rc = 2 ] && ok "cli: unknown role is a usage error" || bad "cli role: exit $rc"
echo short | "$JPKI" --dir "$T/ca" operator add clerk3 --role clerk 2>/dev/null && bad "cli short password accepted" || ok "cli short password refused"
"$JPKI" --dir "$T/ca" operator disable admin 2>/dev/null && bad "cli disabled the last ca-admin" || ok "cli keeps the last ca-admin"
login c2 clerk2 clerk-password-5; check 200 "CLI-made clerk logs in"
"$JPKI" --dir "$T/ca" operator disable clerk2 >/dev/null && ok "jpki operator disable" || bad "cli disable"
gone=0
for _ in $(seq 1 40); do req c2 GET /api/v1/session; [ "$CODE" = 401 ] && { gone=1; break; }; sleep 0.5; done
[ $gone = 1 ] && ok "jpkid ended the session of a clerk disabled by the CLI" || bad "session of a CLI-disabled clerk lives on"
login x clerk2 clerk-password-5; check_code 401 bad_credentials "CLI-disabled clerk cannot log in"
"$JPKI" --dir "$T/ca" operator enable clerk2 >/dev/null && ok "jpki operator enable" || bad "cli enable"
login c2 clerk2 clerk-password-5; check 200 "re-enabled clerk logs in"
echo clerk-password-6 > "$T/pw"
"$JPKI" --dir "$T/ca" operator password clerk2 --password-file "$T/pw" >/dev/null && ok "jpki operator password" || bad "cli reset"
gone=0
for _ in $(seq 1 40); do req c2 GET /api/v1/session; [ "$CODE" = 401 ] && { gone=1; break; }; sleep 0.5; done
[ $gone = 1 ] && ok "jpkid ended the session of a clerk reset by the CLI" || bad "session after a CLI reset lives on"
login c2 clerk2 clerk-password-6; check 200 "log-in with the CLI-reset password"
"$JPKI" --dir "$T/ca" --json operator list | jq -e '[.operators[].name] == ["admin","clerk1","sup1","clerk2"]' >/dev/null \
  && ok "jpki operator list --json" || bad "cli list"
req sup GET '/api/v1/audit?q=operator:clerk2'
[ "$(jq -r '[.records[] | select(.actor=="jpki") | .action] | join(",")' <<<"$BODY")" = \
  "operator.create,operator.disable,operator.enable,operator.password" ] && ok "CLI changes audited as jpki" || bad "cli audit: $BODY"
"$JPKI" --dir "$T/ca" audit verify >/dev/null && ok "jpki audit verify" || bad "audit verify"

stop_jpkid
finish
