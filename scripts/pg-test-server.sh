#!/usr/bin/env bash
# A throw-away PostgreSQL 15 server for tests, on loopback.
#
#   scripts/pg-test-server.sh start DIR   initdb into DIR and start the server
#                                         on 127.0.0.1 at a free port; prints
#                                         the store URI
#   scripts/pg-test-server.sh url DIR     prints the URI again
#   scripts/pg-test-server.sh stop DIR    stops the server by its PID (fast
#                                         shutdown) and removes DIR
#
# PostgreSQL refuses to run as root: as root the server runs as the
# unprivileged system user openjpki-test (created when missing), its files
# in a directory of its own under /tmp (DIR, say a CI clone's build tree,
# may sit under a 0700 directory that user cannot enter; DIR/home names
# it); otherwise as the current user, in DIR.  The Unix socket lives there
# too.  Nothing is stopped by name.
set -euo pipefail

PGBIN=${PGBIN:-}
if [ -z "$PGBIN" ]; then
	for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
		if [ -x "$d/initdb" ]; then PGBIN=$d; break; fi
	done
fi
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || {
	echo "pg-test-server: no PostgreSQL server (install postgresql-15)" >&2
	exit 1
}
TEST_USER=openjpki-test

usage() {
	echo "usage: $0 start|url|stop DIR" >&2
	exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$TEST_USER" -- "$@"
	else
		"$@"
	fi
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

url() {
	local port
	port=$(cat "$dir/port")
	echo "postgresql://jpki@127.0.0.1:$port/jpki?connect_timeout=10"
}

# where the server's files are: DIR, or the directory DIR/home names
home_of() {
	if [ -f "$dir/home" ]; then cat "$dir/home"; else echo "$dir"; fi
}

stop_server() {
	local home
	home=$(home_of)
	if [ -f "$home/data/postmaster.pid" ]; then
		pid=$(head -1 "$home/data/postmaster.pid")
		as_owner "$PGBIN/pg_ctl" -D "$home/data" -m fast -w -t 30 stop \
			>/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	case $home in /tmp/jpki-pgtest.*) rm -rf "$home" ;; esac
	rm -rf "$dir"
}

case $cmd in
start)
	# what an interrupted run left behind
	[ ! -e "$dir" ] || stop_server
	if [ "$(id -u)" -eq 0 ] && ! id "$TEST_USER" >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin \
			"$TEST_USER"
	fi
	mkdir -p "$dir"
	chmod 700 "$dir"
	home=$dir
	if [ "$(id -u)" -eq 0 ]; then
		home=$(mktemp -d /tmp/jpki-pgtest.XXXXXX)
		chown "$TEST_USER" "$home"
		echo "$home" >"$dir/home"
	fi
	[ ! -e "$home/data" ] || {
		echo "pg-test-server: $home/data exists" >&2
		exit 1
	}
	as_owner "$PGBIN/initdb" -D "$home/data" -U jpki -A trust -E UTF8 \
		--locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		exit 1
	}
	# a port taken between free_port and the bind: try again
	for _ in 1 2 3 4 5; do
		port=$(free_port)
		echo "$port" >"$dir/port"
		if as_owner "$PGBIN/pg_ctl" -D "$home/data" -l "$home/server.log" \
			-w -t 60 -o "-h 127.0.0.1 -p $port -k $home \
			-c fsync=off -c full_page_writes=off \
			-c synchronous_commit=off -c max_connections=100" \
			start >/dev/null; then
			as_owner "$PGBIN/createdb" -h 127.0.0.1 -p "$port" \
				-U jpki jpki
			url
			exit 0
		fi
	done
	cat "$home/server.log" >&2
	exit 1
	;;
url)
	url
	;;
stop)
	stop_server
	;;
*) usage ;;
esac
