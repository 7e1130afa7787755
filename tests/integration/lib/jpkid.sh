# Helpers of the jpkid integration tests (sourced after ../lib.sh).
JPKID=${JPKI_BIN:?}/jpkid
JPKID_PID=
# stop_jpkid: SIGTERM by PID; a clean stop exits 0 (and under ASan shows
# no leak report).
stop_jpkid() {
  if [ -n "${JPKID_PID:-}" ]; then
    local rc=0
    kill "$JPKID_PID" 2>/dev/null || true
    wait "$JPKID_PID" 2>/dev/null || rc=$?
    JPKID_PID=
    if [ "$rc" -ne 0 ] || grep -q "Sanitizer" "$T/jpkid.err" 2>/dev/null; then
      bad "jpkid stopped with status $rc: $(head -c 3000 "$T/jpkid.err")"
    fi
  fi
}
trap 'stop_jpkid; rm -rf "$T"' EXIT

# start_jpkid DIR [flags...]: jpkid on 127.0.0.1 and a free port; sets
# JPKID_PID, PORT, BASE once it answers /healthz.
start_jpkid() {
  local dir=$1; shift
  # the files exist before the child opens them: a slow fork must not
  # make the first sed below fail (set -e) and end the test
  : >"$T/jpkid.out"; : >"$T/jpkid.err"
  "$JPKID" --dir "$dir" --listen 127.0.0.1:0 "$@" >"$T/jpkid.out" 2>"$T/jpkid.err" &
  JPKID_PID=$!
  PORT=
  for _ in $(seq 1 300); do
    PORT=$(sed -n 's|^jpkid: listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$T/jpkid.out" 2>/dev/null || true)
    [ -n "$PORT" ] && break
    kill -0 "$JPKID_PID" 2>/dev/null || { cat "$T/jpkid.err" >&2; return 1; }
    sleep 0.1
  done
  [ -n "$PORT" ] || { echo "jpkid did not start" >&2; return 1; }
  BASE=http://127.0.0.1:$PORT
  curl -sf "$BASE/healthz" >/dev/null
}

# req JAR METHOD PATH [BODY [curl args...]]: one API call with the cookie
# jar JAR ("-" for none) and its CSRF token (CSRF_JAR) unless NOCSRF=1.
# Sets CODE and BODY; headers in $T/hdr.
req() {
  local jar=$1 m=$2 p=$3 d=${4-}
  shift 3; [ $# -gt 0 ] && shift
  local args=(-s -D "$T/hdr" -o "$T/resp" -w '%{http_code}' -X "$m" --max-time 60)
  if [ "$jar" != - ]; then
    args+=(-b "$T/$jar.jar" -c "$T/$jar.jar")
    local v="CSRF_$jar"
    if [ -n "${!v:-}" ] && [ "${NOCSRF:-0}" != 1 ]; then args+=(-H "X-CSRF-Token: ${!v}"); fi
  fi
  [ -n "$d" ] && args+=(-H 'Content-Type: application/json' --data-binary "$d")
  CODE=$(curl "${args[@]}" "$@" "$BASE$p") || CODE=000
  BODY=$(cat "$T/resp" 2>/dev/null || true)
}
# check STATUS what: the last req answered STATUS.
check() {
  if [ "$CODE" = "$1" ]; then ok "$2 ($1)"; else bad "$2: want $1, got $CODE: ${BODY:0:300}"; fi
}
# check_msg STATUS substring what
check_msg() {
  if [ "$CODE" = "$1" ] && grep -qF -- "$2" <<<"$BODY"; then ok "$3 ($1)"
  else bad "$3: want $1 with '$2', got $CODE: ${BODY:0:300}"; fi
}
# login JAR NAME PASSWORD: a session in jar JAR, its token in CSRF_JAR.
login() {
  rm -f "$T/$1.jar"
  req "$1" POST /api/v1/session "{\"name\":\"$2\",\"password\":\"$3\"}"
  local tok
  tok=$(jq -r '.csrf_token // empty' <<<"$BODY" 2>/dev/null || true)
  printf -v "CSRF_$1" '%s' "$tok"
}
spki_b64() { openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | base64 -w0; }
spki_sha() { openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1 | tr a-f A-F; }
# pop KEY CHALLENGE KIND RESIDENT CARD: the proof of possession (base64).
pop() {
  printf 'openjpki-pop-v1\nchallenge=%s\nkind=%s\nresident=%s\ncard=%s\nspki-sha256=%s\n' \
    "$2" "$3" "$4" "$5" "$(spki_sha "$1")" | openssl dgst -sha256 -sign "$1" | base64 -w0
}
# issue_body JAR RESIDENT CARD SIGNKEY|- AUTHKEY|- [extra json]: asks for a
# challenge and prints an issuance body with proofs.
issue_body() {
  local jar=$1 rid=$2 card=$3 sk=$4 ak=$5 extra=${6-}
  req "$jar" POST /api/v1/issue/challenge
  local ch; ch=$(jq -r .challenge <<<"$BODY")
  local j="{\"resident\":$rid,\"card\":\"$card\",\"challenge\":\"$ch\""
  [ "$sk" != - ] && j+=",\"sign\":{\"spki\":\"$(spki_b64 "$sk")\",\"pop\":\"$(pop "$sk" "$ch" sign "$rid" "$card")\"}"
  [ "$ak" != - ] && j+=",\"auth\":{\"spki\":\"$(spki_b64 "$ak")\",\"pop\":\"$(pop "$ak" "$ch" auth "$rid" "$card")\"}"
  printf '%s%s}' "$j" "$extra"
}
