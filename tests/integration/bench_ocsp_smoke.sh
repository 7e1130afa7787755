#!/usr/bin/env bash
# bench_ocsp at size (docs/benchmarks.md, "OCSP at size") keeps working on
# a clean machine: 1,000 certificates filled by the bulk path, 100 answers
# ready in memory and 900 in jpkid's spill file; every one is pre-signed
# during warm-up, and every uniformly random query is then answered
# pre-signed (ETag, no live signature) with no failure; --cache-memory
# fills both tiers of the cache in process.  No speed or
# memory is asserted (figures come from the full run in the docs).
. "$(dirname "$0")/lib.sh"
B="$JPKI_BUILD/bench/bench_ocsp"
[ -x "$B" ] || { bad "no $B"; finish; }
if out=$(TMPDIR="$T" JPKID="$JPKI_BIN/jpkid" timeout 300 "$B" --population 1000 --cache 100 --random --seconds 1 --connections 4 --warm 120 2>"$T/stderr"); then
  ok "bench_ocsp --population ran"
else
  bad "bench_ocsp failed: $(tail -5 "$T/stderr") $(tail -5 <<<"$out")"; finish
fi
json=$(grep '^{"bench":"ocsp_population"' <<<"$out" | tail -1)
jq -e '.population == 1000 and .cache_max == 100 and .presigned == 1000
       and .failed == 0 and .hot_get_rps > 0 and .random_get_rps > 0
       and .hot_post_rps > 0 and .random_post_rps > 0
       and .random_presigned_frac == 1 and .rss_start_kib > 0' <<<"$json" >/dev/null \
  && ok "every answer pre-signed, from memory and from the spill file" || bad "unexpected JSON: $json"
# memory per answer, in process: 2,000 ready, 20,000 in a spill file
if out=$(TMPDIR="$T" timeout 300 "$B" --cache-memory 20000 --cache 2000 2>"$T/stderr"); then
  json=$(grep '^{"bench":"ocsp_cache_memory"' <<<"$out" | tail -1)
  jq -e '.answers == 20000 and .hot == 2000 and .response_octets > 0 and .key_octets > 0' <<<"$json" >/dev/null \
    && ok "--cache-memory filled both tiers" || bad "unexpected JSON: $json"
else
  bad "bench_ocsp --cache-memory failed: $(tail -5 "$T/stderr")"
fi
ls "$T"/jpki-bench-ocsp-* >/dev/null 2>&1 && bad "work directory left behind" || ok "work directory removed"
finish
