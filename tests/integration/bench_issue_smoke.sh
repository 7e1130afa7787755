#!/usr/bin/env bash
# bench_issue (the issuance benchmark of docs/benchmarks.md) keeps working on
# a clean machine: a one-second run must issue pairs with every thread,
# measure its limit and print the JSON line; so must one through
# jpki-signer (--keystore signer).  No speed is asserted (tests
# never assert wall-clock figures; the ratio is read from `make bench`).
. "$(dirname "$0")/lib.sh"
B="$JPKI_BUILD/bench/bench_issue"
[ -x "$B" ] || { bad "no $B"; finish; }
if out=$("$B" --seconds 1 2>&1); then ok "bench_issue ran"; else bad "bench_issue failed: $(tail -5 <<<"$out")"; fi
json=$(grep '^{"bench":"issue"' <<<"$out" | tail -1)
[ -n "$json" ] && ok "JSON line printed" || bad "no JSON line"
jq -e '.pairs_per_s > 0 and .ceiling_pairs_per_s > 0 and .ratio > 0 and (.threads == .cores + 1 or .threads == 8) and .batch == 32' <<<"$json" >/dev/null \
  && ok "pairs issued, limit measured, cores + 1 threads, batch 32" || bad "unexpected figures: $json"
# the keys behind jpki-signer: the signatures are made in the signer
if out=$("$B" --seconds 1 --keystore signer 2>&1); then ok "bench_issue --keystore signer ran"; else bad "bench_issue --keystore signer failed: $(tail -5 <<<"$out")"; fi
json=$(grep '^{"bench":"issue"' <<<"$out" | tail -1)
jq -e '.keystore == "signer" and .pairs_per_s > 0 and .signer_cpu_s > 0' <<<"$json" >/dev/null \
  && ok "pairs issued through the signer, which spent CPU signing" || bad "unexpected signer figures: $json"
# a bad option is refused with the usage line, nothing run
if "$B" --bogus >/dev/null 2>"$T/err"; then bad "bogus option accepted"; else grep -q "usage: bench_issue" "$T/err" && ok "usage on a bad option" || bad "no usage"; fi
finish
