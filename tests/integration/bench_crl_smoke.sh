#!/usr/bin/env bash
# bench_crl (docs/benchmarks.md, "CRLs at national size") keeps working on a
# clean machine: 10,000 revoked certificates over 1,741 municipalities are
# published as one generation, and 10,000 are compared with
# `openssl ca -gencrl`.  Checked here, independently of the program's own
# flags: the JSON shape, the published set behind the `current` symlink,
# `openssl crl -verify` of the full CRL, and that the partitions add up to
# the full CRL.  No speed or memory is asserted (figures come from
# `make bench`).
. "$(dirname "$0")/lib.sh"
B="$JPKI_BUILD/bench/bench_crl"
[ -x "$B" ] || { bad "no $B"; finish; }
if out=$(TMPDIR="$T" timeout 300 "$B" --entries 10000 --compare 10000 --keep 2>"$T/stderr"); then
  ok "bench_crl ran"
else
  bad "bench_crl failed: $(tail -5 "$T/stderr")"; finish
fi
json=$(grep '^{"bench":"bench_crl"' <<<"$out" | tail -1)
jq -e '.a.entries == 10000 and .a.municipalities == 1741 and .a.publish_s > 0
       and .a.publish_peak_rss_mb > 0 and .a.openssl_verify_full == true
       and .b.entries == 10000 and .b.ours_s > 0 and .b.openssl_s > 0
       and .b.speedup > 0 and .b.memory_ratio > 0
       and .b.openssl_verify_ours == true and .b.openssl_verify_openssl == true' \
  <<<"$json" >/dev/null && ok "JSON figures present, every CRL verified" || bad "unexpected JSON: $json"
W=$(ls -d "$T"/bench_crl.* | head -1)
P="$W/a-pub"
[ -L "$P/current" ] && [ "$(readlink "$P/current")" = gen-1 ] && ok "current -> gen-1" || bad "no current symlink"
n=$(ls "$P/current" | wc -l)
[ "$n" -eq $((1741 * 2 + 4)) ] && ok "$n files in the generation" || bad "$n files in the generation"
openssl crl -inform DER -in "$P/current/crl-sign-full.crl" -CAfile "$W/a-root.pem" -noout 2>&1 | grep -qx 'verify OK' \
  && ok "openssl crl -verify accepts the full CRL" || bad "full CRL not verified"
count() { openssl crl -inform DER -in "$1" -noout -text | grep -c 'Serial Number:' || true; }
full=$(count "$P/current/crl-sign-full.crl")
[ "$full" -eq 10000 ] && ok "10000 entries in the full CRL" || bad "$full entries in the full CRL"
sum=0
for f in "$P"/current/crl-sign-1000[0-4]?.crl; do sum=$((sum + $(count "$f"))); done
# municipalities 100000..100049 hold entries i with i % 1741 < 50
want=0; for ((i = 0; i < 10000; i++)); do [ $((i % 1741)) -lt 50 ] && want=$((want + 1)); done
[ "$sum" -eq "$want" ] && ok "partitions hold their share ($sum)" || bad "partitions hold $sum, want $want"
p=$(openssl crl -inform DER -in "$P/current/crl-sign-100007.crl" -noout -text)
grep -q 'Issuing Distribution Point: critical' <<<"$p" && grep -q 'Only User Certificates' <<<"$p" \
  && ok "a partition CRL names its distribution point" || bad "partition CRL without IDP"
# a bad option is refused with the usage line, nothing run
if "$B" --bogus >/dev/null 2>"$T/err"; then bad "bogus option accepted"; else grep -q "usage: bench_crl" "$T/err" && ok "usage on a bad option" || bad "no usage"; fi
finish
