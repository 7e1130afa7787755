#!/usr/bin/env bash
# A PostgreSQL 15 cluster with automatic failover on loopback, for tests and
# a local demo: one etcd member and three PostgreSQL members run by Patroni,
# with synchronous_mode and synchronous_mode_strict, so that no transaction
# acknowledged to a client is lost when the primary dies (docs/cluster.md).
#
# usage: scripts/pg-cluster.sh COMMAND DIR
#   start        create (first time) or start the cluster under DIR; waits,
#                bounded, until a leader and a synchronous standby stream
#   stop         stop every process the cluster started, by PID
#   status       the members as JSON (Patroni's /cluster)
#   url          a libpq multi-host URI that always reaches the primary
#   env          shell assignments: PGPASSFILE, the ports, the member names
#   kill-primary kill -9 the primary member's Patroni and PostgreSQL;
#                prints its name (a test's failover)
#   start-member NAME   start one member again (after kill-primary)
#
# PostgreSQL refuses to run as root: run as root, the cluster runs as the
# unprivileged system user openjpki-pg (created when missing); DIR and its
# parents must then be reachable by that user (a fresh `mktemp -d` under
# /tmp is).  Ports are picked free on 127.0.0.1 when DIR is created.
set -euo pipefail

cmd=${1:-}
DIR=${2:-}
if [ -z "$cmd" ] || [ -z "$DIR" ] || [ "$cmd" = --help ] || [ "$cmd" = -h ]; then
  sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
  [ "$cmd" = --help ] || [ "$cmd" = -h ] && exit 0
  exit 2
fi
DIR=$(realpath -m "$DIR")
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
SCOPE=openjpki
MEMBERS=(m1 m2 m3)
START_TIMEOUT=${PG_CLUSTER_START_TIMEOUT:-120}

die() { echo "pg-cluster: $*" >&2; exit 1; }

for t in patroni etcd curl jq; do
  command -v "$t" >/dev/null || die "$t is missing (make deps installs patroni, etcd-server, curl, jq)"
done
[ -x "$PGBIN/postgres" ] || die "no PostgreSQL 15 server in $PGBIN (make deps installs postgresql-15)"

# who runs the servers
RUN=()
OWNER=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
  OWNER=openjpki-pg
  id "$OWNER" >/dev/null 2>&1 ||
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$OWNER"
  RUN=(setpriv --reuid="$OWNER" --regid="$(id -g "$OWNER")" --init-groups --)
fi

pick_ports() { # N free TCP ports on 127.0.0.1
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

secret() { head -c 18 /dev/urandom | base64 | tr '+/' '-_'; }

# spawn PIDFILE LOG CWD PROGRAM ARGS...: start PROGRAM in a session of its
# own (a closed terminal does not stop the cluster) as the servers' user;
# the process writes its own PID before it becomes PROGRAM, so PIDFILE
# names the server itself whatever setsid does
spawn() {
  local pidf=$1 log=$2 cwd=$3; shift 3
  rm -f "$pidf"
  (cd "$cwd" && setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidf" "${RUN[@]}" "$@" >>"$log" 2>&1 </dev/null &)
  for _ in $(seq 1 50); do [ -s "$pidf" ] && return 0; sleep 0.1; done
  die "could not start $1"
}

pidalive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pid FILE: TERM, a bounded wait, then KILL; by PID only
stop_pid() {
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$f"
}

# the postmaster of a member, from its postmaster.pid (first line)
pm_pid() { head -n1 "$DIR/$1/data/postmaster.pid" 2>/dev/null || true; }

create() {
  mkdir -p "$DIR"
  # the servers' user must reach DIR
  if [ ${#RUN[@]} -gt 0 ] && ! "${RUN[@]}" test -x "$(dirname "$DIR")"; then
    die "$OWNER cannot reach $(dirname "$DIR"): use a directory such as \$(mktemp -d /tmp/pgc.XXXXXX)"
  fi
  read -r ETCD_CLIENT ETCD_PEER P1 P2 P3 R1 R2 R3 <<<"$(pick_ports 8)"
  local su_pw repl_pw rew_pw app_pw
  su_pw=$(secret); repl_pw=$(secret); rew_pw=$(secret); app_pw=$(secret)
  umask 077
  cat >"$DIR/ports" <<EOF
ETCD_CLIENT=$ETCD_CLIENT
ETCD_PEER=$ETCD_PEER
PG_PORTS="$P1 $P2 $P3"
REST_PORTS="$R1 $R2 $R3"
EOF
  printf '%s\n' "$su_pw" >"$DIR/superuser.pw"
  printf '%s\n' "$app_pw" >"$DIR/app.pw"
  # the client side: the application role on every member
  printf '127.0.0.1:*:*:openjpki:%s\n127.0.0.1:*:*:postgres:%s\n' "$app_pw" "$su_pw" >"$DIR/pgpass"
  local i=0
  local pgp=($P1 $P2 $P3) rp=($R1 $R2 $R3)
  for m in "${MEMBERS[@]}"; do
    mkdir -p "$DIR/$m"
    cat >"$DIR/$m/patroni.yml" <<EOF
scope: $SCOPE
name: $m
log:
  dir: $DIR/$m
  file_num: 2
restapi:
  listen: 127.0.0.1:${rp[$i]}
  connect_address: 127.0.0.1:${rp[$i]}
etcd3:
  hosts: 127.0.0.1:$ETCD_CLIENT
bootstrap:
  dcs:
    ttl: 12
    loop_wait: 2
    retry_timeout: 5
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    synchronous_mode_strict: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        max_connections: 200
        synchronous_commit: "on"
        password_encryption: scram-sha-256
  initdb:
    - encoding: UTF8
    - locale: C
    - data-checksums
  pg_hba:
    - local all all scram-sha-256
    - host replication replicator 127.0.0.1/32 scram-sha-256
    - host all all 127.0.0.1/32 scram-sha-256
postgresql:
  listen: 127.0.0.1:${pgp[$i]}
  connect_address: 127.0.0.1:${pgp[$i]}
  data_dir: $DIR/$m/data
  bin_dir: $PGBIN
  pgpass: $DIR/$m/pgpass.patroni
  authentication:
    superuser: {username: postgres, password: "$su_pw"}
    replication: {username: replicator, password: "$repl_pw"}
    rewind: {username: rewinder, password: "$rew_pw"}
  parameters:
    unix_socket_directories: $DIR/$m
    shared_buffers: 64MB
EOF
    i=$((i + 1))
  done
  mkdir -p "$DIR/etcd"
  if [ ${#RUN[@]} -gt 0 ]; then chown -R "$OWNER:" "$DIR"; chown root: "$DIR/pgpass"; fi
}

load() {
  [ -f "$DIR/ports" ] || die "$DIR holds no cluster (start creates one)"
  # shellcheck disable=SC1091
  . "$DIR/ports"
  read -r -a PGP <<<"$PG_PORTS"
  read -r -a RP <<<"$REST_PORTS"
}

rest() { curl -s --max-time 2 "http://127.0.0.1:$1$2"; }

cluster_json() {
  local p
  for p in "${RP[@]}"; do
    if rest "$p" /cluster 2>/dev/null | jq -e .members >/dev/null 2>&1; then rest "$p" /cluster; return 0; fi
  done
  return 1
}

# ready: a leader running, and a synchronous standby streaming from it
ready() {
  local j
  j=$(cluster_json) || return 1
  jq -e '([.members[] | select(.role=="leader" and .state=="running")] | length == 1) and
         ([.members[] | select(.role=="sync_standby" and (.state=="running" or .state=="streaming"))] | length >= 1)' \
    <<<"$j" >/dev/null
}

start_member() {
  local m=$1
  pidalive "$DIR/$m/patroni.pid" && return 0
  spawn "$DIR/$m/patroni.pid" "$DIR/$m/patroni.out" "$DIR/$m" patroni "$DIR/$m/patroni.yml"
}

start() {
  [ -f "$DIR/ports" ] || create
  load
  if ! pidalive "$DIR/etcd.pid"; then
    spawn "$DIR/etcd.pid" "$DIR/etcd.out" "$DIR" etcd --name etcd0 --data-dir "$DIR/etcd" \
      --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT" \
      --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
      --initial-cluster "etcd0=http://127.0.0.1:$ETCD_PEER" --initial-cluster-state new
    for _ in $(seq 1 100); do
      curl -s --max-time 1 "http://127.0.0.1:$ETCD_CLIENT/health" | grep -q true && break
      sleep 0.1
    done
    curl -s --max-time 1 "http://127.0.0.1:$ETCD_CLIENT/health" | grep -q true ||
      die "etcd did not start (see $DIR/etcd.out)"
  fi
  # the first member bootstraps; the others copy it
  start_member m1
  local t0=$SECONDS
  until [ -n "$(leader_port 2>/dev/null)" ]; do
    [ $((SECONDS - t0)) -lt "$START_TIMEOUT" ] || die "no leader after ${START_TIMEOUT}s (see $DIR/m1/patroni.out)"
    pidalive "$DIR/m1/patroni.pid" || die "patroni m1 exited (see $DIR/m1/patroni.out)"
    sleep 0.5
  done
  start_member m2
  start_member m3
  until ready; do
    [ $((SECONDS - t0)) -lt "$START_TIMEOUT" ] || die "no synchronous standby after ${START_TIMEOUT}s (status: $(cluster_json | jq -c '[.members[]|{name,role,state}]' 2>/dev/null))"
    sleep 0.5
  done
  app_role
  echo "pg-cluster: up in $((SECONDS - t0))s: $(cluster_json | jq -c '[.members[] | {name, role, state}]')" >&2
}

# the primary's PostgreSQL port (from Patroni)
leader_port() {
  cluster_json | jq -r '.members[] | select(.role=="leader" and .state=="running") | .port' | head -n1 | grep .
}

psql_su() { # SQL on the primary as the superuser
  PGPASSFILE="$DIR/pgpass" psql -X -qAt "postgresql://postgres@127.0.0.1:$(leader_port)/postgres" -v ON_ERROR_STOP=1 -c "$1"
}

# the application's role and database, made once on the primary
app_role() {
  local pw
  pw=$(cat "$DIR/app.pw")
  if [ "$(psql_su "SELECT count(*) FROM pg_roles WHERE rolname='openjpki'")" = 0 ]; then
    psql_su "CREATE ROLE openjpki LOGIN PASSWORD '$pw'" >/dev/null
    psql_su "CREATE DATABASE openjpki OWNER openjpki" >/dev/null
  fi
}

stop() {
  load 2>/dev/null || return 0
  local m pm
  for m in "${MEMBERS[@]}"; do
    pm=$(pm_pid "$m")
    stop_pid "$DIR/$m/patroni.pid"
    # Patroni stops its PostgreSQL; one left by a killed Patroni is
    # stopped here, by its postmaster's PID
    if [ -n "$pm" ] && kill -0 "$pm" 2>/dev/null; then
      echo "$pm" >"$DIR/$m/pm.pid"; stop_pid "$DIR/$m/pm.pid"
    fi
  done
  stop_pid "$DIR/etcd.pid"
}

url() {
  load
  local hosts="" p
  for p in "${PGP[@]}"; do hosts="$hosts${hosts:+,}127.0.0.1:$p"; done
  echo "postgresql://openjpki@$hosts/openjpki?target_session_attrs=read-write&connect_timeout=2"
}

kill_primary() {
  load
  local lp m i=0
  lp=$(leader_port) || die "no primary"
  for m in "${MEMBERS[@]}"; do
    if [ "${PGP[$i]}" = "$lp" ]; then
      local pm
      pm=$(pm_pid "$m")
      kill -KILL "$(cat "$DIR/$m/patroni.pid")" 2>/dev/null || true
      [ -n "$pm" ] && kill -KILL "$pm" 2>/dev/null || true
      # the postmaster's children go with it
      for _ in $(seq 1 50); do [ -n "$pm" ] && kill -0 "$pm" 2>/dev/null || break; sleep 0.1; done
      rm -f "$DIR/$m/patroni.pid"
      echo "$m"
      return 0
    fi
    i=$((i + 1))
  done
  die "primary on port $lp is not one of ours"
}

case "$cmd" in
start) start ;;
stop) stop ;;
status) load; cluster_json | jq . ;;
url) url ;;
env) load; echo "PGPASSFILE=$DIR/pgpass"; echo "PG_CLUSTER_PORTS=\"$PG_PORTS\"" ;;
kill-primary) kill_primary ;;
start-member) load; [ -n "${3:-}" ] || die "start-member NAME"; start_member "$3" ;;
*) die "unknown command '$cmd' (try --help)" ;;
esac
