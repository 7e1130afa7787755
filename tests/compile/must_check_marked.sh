#!/usr/bin/env bash
# Every function a header declares returning int is JPKI_MUST_CHECK unless
# its int is a value rather than a 0-or-negative jpki_rc (the list below,
# docs/design.md "One error model").  A new unmarked one fails here: mark
# it, or add it to the list if its result is not a code.
set -u
src=${JPKI_SRC:?JPKI_SRC: the source tree}
cd "$src" || exit 1
values='jpki_days_in_month|jpki_date_cmp|jpki_ct_memcmp|jpki_fail|jpki_wrap'
values+='|jpki_provider_init|rules_age|rules_era_year|rules_change_revokes'
values+='|rules_reason_role|rules_mynumber_check_digit|srv_role_parse'
values+='|srv_rp_nonce_ttl|srv_reply_nonce|srv_throttle_check'
values+='|srv_throttle_failed|srv_status_of_rc|srv_route_apply|x509i_ext_nid'
values+='|card_sign_digests_cmd|cli_usage_error|cli_want_help|cmd_[a-z_]+'
values+='|keystore_signer_pid|keystore_signs_messages|signer_status_rc'
values+='|cli_family_help|doc_key_usage|doc_val_option'
values+='|ca_root_gen|ca_row_gen|signer_root_label|cli_ca_rollover'
headers=$(ls include/openjpki/*.h src/*/*.h cmd/*/*.h)
[ -n "$headers" ] || { echo "FAIL: no headers under $src"; exit 1; }
marked=$(grep -hE '^(static inline )?JPKI_MUST_CHECK (int|jpki_rc)( |$)' \
	$headers | wc -l)
if [ "${marked:-0}" -lt 300 ]; then
	echo "FAIL: only ${marked:-0} JPKI_MUST_CHECK declarations found"
	exit 1
fi
bad=$(grep -nE '^(static inline )?(int|jpki_rc|enum jpki_rc)[[:space:]]+[A-Za-z_0-9]+\(' \
	$headers | grep -vE "^[^:]+:[0-9]+:(static inline )?int ($values)\(")
if [ -n "$bad" ]; then
	echo "FAIL: functions returning int without JPKI_MUST_CHECK:"
	echo "$bad"
	exit 1
fi
echo "ok: $marked declarations marked; none unmarked outside the value list"
