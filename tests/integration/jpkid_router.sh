#!/usr/bin/env bash
# jpkid's one route table, seen from outside: every /api/v1 call the
# counter's pages make (src/server/ui/*.js) reaches a route (401 without a
# session, never 404 or 405); an unknown path is 404; a known path with a
# wrong method is 405 with the path's methods in Allow, for the API and the
# public services alike.  Issuance challenges are bounded per session and
# per operator: one clerk's flood gets 429 with Retry-After while another
# clerk still gets challenges.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
export JPKID_ADMIN_PASSWORD=admin-password-1
start_jpkid "$T/ca"

# 1. the pages' calls, read from their sources: api('METHOD', 'path' + x
#    ...) with each non-literal part standing for "x1", both arms of a
#    ternary, the literal arguments of a helper that appends its own path
#    (post('approve')), and the fetch() and link paths written out.
python3 - "$JPKI_SRC/src/server/ui" >ui_calls <<'EOF'
import re, sys, glob, itertools
calls = set()
def expand(expr):
    expr = re.sub(r'encodeURIComponent\([^()]*(\([^()]*\))?[^()]*\)', 'V', expr)
    parts = []
    for term in re.split(r'\s*\+\s*', expr.strip()):
        t = term.strip()
        m = re.fullmatch(r"\(?[^?'()]*\?\s*'([^']*)'\s*:\s*'([^']*)'\)?", t)
        if m:
            parts.append([m.group(1), m.group(2)])
        elif re.fullmatch(r"'[^']*'", t):
            parts.append([t[1:-1]])
        else:
            parts.append(['x1'])
    for combo in itertools.product(*parts):
        yield ''.join(combo).split('?')[0]
for f in glob.glob(sys.argv[1] + '/*.js'):
    src = open(f, encoding='utf-8').read()
    helpers = {}
    for m in re.finditer(r"const (\w+) = \((\w+)[^)]*\) => api\('(\w+)', ([^,)]*(?:\([^)]*\))?[^,)]*)", src):
        name, param, meth, expr = m.groups()
        helpers[name] = (meth, expr, param)
    for m in re.finditer(r"\bapi\('(\w+)', ([^,()]*(?:\((?:[^()]|\([^()]*\))*\)[^,()]*)*)", src):
        meth, expr = m.groups()
        if re.search(r"\bp\s*$", expr) and any(h[1] == expr for h in helpers.values()):
            continue
        for p in expand(expr):
            calls.add((meth, p))
    for name, (meth, expr, param) in helpers.items():
        for a in re.finditer(r"\b%s\('([^']*)'" % name, src):
            for p in expand(re.sub(r"\b%s\s*$" % param, "'%s'" % a.group(1), expr)):
                calls.add((meth, p))
    for m in re.finditer(r"fetch\('/api/v1/([^']*)', \{ method: '(\w+)'", src):
        calls.add((m.group(2), m.group(1)))
    # links the pages open: '/api/v1/applications/' + a.id + '/' + path
    for m in re.finditer(r"const (\w+) = \((\w+)[^)]*\) => \[[^\n]*'/api/v1/([^']*)' \+ [\w.]+ \+ '/' \+ \2", src):
        name, _, base = m.groups()
        for a in re.finditer(r"\b%s\('([^']*)'" % name, src):
            calls.add(('GET', base + 'x1/' + a.group(1)))
for meth, p in sorted(calls):
    print(meth, p)
EOF
n=$(wc -l <ui_calls)
[ "$n" -ge 30 ] && ok "the pages make $n distinct API calls" || bad "only $n calls read: $(cat ui_calls)"
grep -q '^POST applications/x1/approve$' ui_calls && grep -q '^POST operators/x1/disable$' ui_calls && grep -q '^POST operators/x1/password$' ui_calls &&
  grep -q '^GET applications/x1/receipt$' ui_calls && grep -q '^POST residents/import$' ui_calls &&
  ok "helpers, ternaries, links and fetch() read" || bad "calls: $(tr '\n' ' ' <ui_calls)"
missing=
while read -r m p; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X "$m" -H 'Content-Type: application/json' --data-binary '{}' "$BASE/api/v1/$p")
  case $code in
    404 | 405 | 000) missing+=" $m $p ($code)" ;;
  esac
done <ui_calls
[ -z "$missing" ] && ok "every call of the pages reaches a route" || bad "not routed:$missing"

# 2. 404 and 405 in one place
for p in /api/v1/nope /api/v1/ /nope /api/v1/residents/1/2/3 /ocsp2 /healthz/x; do
  req - GET "$p"
  [ "$CODE" = 404 ] && jq -e '.error.code == "not_found"' <<<"$BODY" >/dev/null || bad "GET $p: $CODE $BODY"
done
ok "unknown paths: 404 not_found"
allow_of() { tr -d '\r' <"$T/hdr" | sed -n 's/^[Aa]llow: //p'; }
for t in "DELETE /api/v1/residents|GET, POST" "POST /healthz|GET" "PUT /metrics|GET" "GET /ocsp|POST" \
  "POST /crl/sign/132217.crl|GET" "DELETE /api/v1/residents/7|GET, PATCH" "POST /api/v1/stats|GET" "PATCH /|GET"; do
  mp=${t%%|*}; want=${t#*|}
  req - "${mp%% *}" "${mp#* }"
  [ "$CODE" = 405 ] && [ "$(allow_of)" = "$want" ] && jq -e '.error.code == "method_not_allowed"' <<<"$BODY" >/dev/null ||
    bad "$mp: want 405 with Allow: $want, got $CODE Allow: $(allow_of) $BODY"
done
ok "a wrong method: 405 with Allow listing the path's methods"
# the route is decided before the session: 405 without one, 401 with the
# right method and no session
req - POST /api/v1/stats; [ "$CODE" = 405 ] || bad "POST stats: $CODE"
req - GET /api/v1/stats; check 401 "GET stats without a session"
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz"); [ "$code" = 200 ] && ok "/healthz still 200" || bad "healthz $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/"); [ "$code" = 200 ] && ok "the UI still served" || bad "/ $code"

# 3. issuance challenges per session and per operator
login admin admin admin-password-1; check 200 "admin logs in"
for c in clerk1 clerk2; do
  req admin POST /api/v1/operators "{\"name\":\"$c\",\"role\":\"clerk\",\"password\":\"$c-password-1\"}"; check 201 "create $c"
done
# flood N challenges in session JAR with one keep-alive curl; the codes
# in flood.JAR
flood() {
  local jar=$1 n=$2 v="CSRF_$1"
  { for _ in $(seq 1 "$n"); do
      printf 'next\nsilent\nurl = "%s"\nrequest = "POST"\ncookie = "%s"\nheader = "X-CSRF-Token: %s"\n' \
        "$BASE/api/v1/issue/challenge" "$T/$jar.jar" "${!v}"
      printf 'header = "Content-Type: application/json"\ndata = "{}"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n'
    done; } >"flood.$jar.cfg"
  curl -K "flood.$jar.cfg" >"flood.$jar"
}
for s in a b c d e; do login "c1$s" clerk1 clerk1-password-1; done
login c2 clerk2 clerk2-password-1; check 200 "clerk2 logs in"
flood c1a 300
[ "$(grep -c '^200$' flood.c1a)" = 256 ] && [ "$(grep -c '^429$' flood.c1a)" = 44 ] &&
  ok "one session: 256 challenges, then 429" || bad "session flood: $(sort flood.c1a | uniq -c | tr '\n' ' ')"
req c1a POST /api/v1/issue/challenge '{}'
[ "$CODE" = 429 ] && grep -qi '^Retry-After: [1-9]' "$T/hdr" && jq -e '.error.code == "too_many_challenges"' <<<"$BODY" >/dev/null &&
  ok "the 429 carries Retry-After and its reason" || bad "429: $CODE $(cat "$T/hdr") $BODY"
ra=$(tr -d '\r' <"$T/hdr" | sed -n 's/^[Rr]etry-[Aa]fter: //p')
[ "$ra" -le 300 ] && ok "Retry-After ${ra}s: when the session's first challenge expires" || bad "Retry-After $ra"
req c2 POST /api/v1/issue/challenge '{}'
[ "$CODE" = 200 ] && jq -e '.challenge | length > 40' <<<"$BODY" >/dev/null && ok "another clerk still gets challenges" || bad "clerk2: $CODE $BODY"
for s in b c d; do flood "c1$s" 256; done
[ "$(cat flood.c1b flood.c1c flood.c1d | grep -c '^200$')" = 768 ] && ok "clerk1's other sessions fill their shares (1024 for the operator)" ||
  bad "sessions b-d: $(cat flood.c1b flood.c1c flood.c1d | sort | uniq -c | tr '\n' ' ')"
req c1e POST /api/v1/issue/challenge '{}'
[ "$CODE" = 429 ] && grep -qi '^Retry-After: [1-9]' "$T/hdr" && ok "a fresh session of the same clerk: 429 (the operator's share is used)" ||
  bad "clerk1 session e: $CODE $BODY"
req c2 POST /api/v1/issue/challenge '{}'; check 200 "clerk2 still gets a challenge"
# a challenge used gives its place back
ch=$(req c2 POST /api/v1/issue/challenge '{}'; jq -r .challenge <<<"$BODY")
[ -n "$ch" ] && [ "$ch" != null ] && ok "clerk2 keeps getting challenges" || bad "clerk2 later: $CODE"
# a session ended drops its challenges: clerk1's fresh session gets one
req c1a DELETE /api/v1/session; check 200 "clerk1's first session logs out"
req c1e POST /api/v1/issue/challenge '{}'; check 200 "then clerk1's fresh session gets a challenge"
stop_jpkid
finish
