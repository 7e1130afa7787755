# pcscd + vsmartcard's vpcd for the integration tests that put a virtual
# card in a PC/SC reader (sourced after ../lib.sh; the caller's EXIT trap
# stops PCSCD_PID and SERVE_PID with stop_pid).
#
# pcscd: if one is already running (or socket-activated) on this machine it
# is used as it is (reader "Virtual PCD 00 00", port 35963).  Otherwise
# pcsc_up starts one, as root, with a private reader.conf.d whose vpcd
# listens on a free port.  pcscd is one per machine (/run/pcscd): every test
# using it holds one lock (fd 9) from pcsc_up to its exit, so that runs under
# ctest -j, or from other build trees, take turns.  Processes started here
# get `9>&-`, so only the test's shell holds the lock.
PCSC_LOCK=/tmp/openjpki-card-opensc.lock
READER="Virtual PCD 00 00"
PCSCD_PID=""
SERVE_PID=""
VPORT=""

stop_pid() { # PID: TERM, up to 5 s, then KILL; reaps our child
  local pid=$1 i
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null || true
}
has_card() { opensc-tool -l 2>/dev/null | grep -E "^[0-9]+ +Yes .*${READER}\$" >/dev/null; }
has_reader() { opensc-tool -l 2>/dev/null | grep -E "${READER}\$" >/dev/null; }
no_card() { ! has_card; }
wait_for() { # what test-function [tries of 0.1 s]
  local what=$1 fn=$2 n=${3:-150} i
  echo "# waiting for $what"
  for i in $(seq 1 "$n"); do "$fn" && return 0; sleep 0.1; done
  echo "# gave up waiting for $what"; return 1
}

# pcsc_up: the lock, then pcscd (found or started) listing an empty
# $READER.  Sets VPORT (and PCSCD_PID when it started pcscd).  Logs to
# pcscd.log in the current directory.
pcsc_up() {
  local i p
  exec 9> "$PCSC_LOCK"
  echo "# waiting for other runs of the pcscd tests to release pcscd"
  flock -w 240 9 || { bad "another run of a pcscd test held pcscd for 240 s"; return 1; }
  if [ -e /run/pcscd/pcscd.comm ] && { [ ! -s /run/pcscd/pcscd.pid ] || kill -0 "$(cat /run/pcscd/pcscd.pid)" 2>/dev/null; }; then
    echo "# using the pcscd already running on this machine"
    VPORT=35963
  else
    [ "$(id -u)" -eq 0 ] || { bad "no pcscd running and not root to start one"; return 1; }
    # vpcd's port below the kernel's ephemeral range (32768-60999), so that
    # no outgoing connection of a concurrent test can hold it; if vpcd
    # still finds it taken, try another port (at most 3 times).
    local attempt
    for attempt in 1 2 3; do
      VPORT=""
      for i in $(seq 1 50); do
        p=$(( 20000 + (RANDOM % 6383) * 2 ))
        if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && ! (exec 3<>/dev/tcp/127.0.0.1/$((p + 1))) 2>/dev/null; then VPORT=$p; break; fi
      done
      [ -n "$VPORT" ] || { bad "no free port pair for vpcd"; return 1; }
      mkdir -p rc
      printf 'FRIENDLYNAME "Virtual PCD"\nDEVICENAME   /dev/null:%d\nLIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID    0x%X\n' "$VPORT" "$VPORT" > rc/vpcd
      pcscd -f -a -c "$PWD/rc" > pcscd.log 2>&1 9>&- &
      PCSCD_PID=$!
      echo "# started pcscd (PID $PCSCD_PID), vpcd on port $VPORT"
      wait_for "pcscd to list '$READER'" has_reader 100 && break
      grep -q "Address already in use" pcscd.log || break
      echo "# vpcd port $VPORT was taken; trying another"
      stop_pid "$PCSCD_PID"
      PCSCD_PID=""
    done
  fi
  wait_for "pcscd to list '$READER'" has_reader || { bad "pcscd reader"; return 1; }
  if has_card; then bad "'$READER' already holds a card: another virtual card is connected"; return 1; fi
}

# start_serve [IMAGE]: `jpki card serve` (default card.img) to vpcd, until
# the card is in the reader.  Sets SERVE_PID; output in serve.out/serve.err.
# Under heavy load pcscd sometimes misses a vpcd reconnection (it polls the
# reader); a second connection is then noticed, so try twice.
start_serve() {
  local attempt
  for attempt in 1 2; do
    "$JPKI" card serve "${1:-card.img}" --port "$VPORT" >> serve.out 2>> serve.err 9>&- &
    SERVE_PID=$!
    wait_for "the card in '$READER'" has_card && return 0
    echo "# pcscd did not see the card; reconnecting"
    stop_pid "$SERVE_PID"
    SERVE_PID=""
  done
  return 1
}
