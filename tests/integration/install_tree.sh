#!/usr/bin/env bash
# `make install` as an operator or a packager runs it (issue #12, item 5),
# from the build tree the suite was built in (nothing is rebuilt):
#  1. staged: PREFIX=/opt/openjpki-it DESTDIR=$T/stage.  Everything lands
#     under DESTDIR, the files that name paths name PREFIX, the staged
#     jpki and jpkid run, the staged jpki reads the J-LIS roots of its own
#     tree (a copy with a damaged root is refused by that path), and a
#     program compiles and links against the staged library through
#     `pkg-config --cflags --libs openjpki` (PKG_CONFIG_SYSROOT_DIR).
#  2. real: PREFIX=$T/prefix, no DESTDIR.  pkg-config as is; the installed
#     jpkid serves /healthz; `systemd-analyze verify` accepts jpkid.service
#     as installed (its Documentation=man:jpkid(8) found in the installed
#     man pages) and objects to a broken copy; `systemd-analyze security`
#     rates its sandbox, and the cluster's Debian units with the sandbox
#     drop-ins we install; a reinstall (cmake --install) keeps an edited
#     jpkid.conf.
#  3. man pages: jpki(1) and jpkid(8) render with man and groff without a
#     warning; jpki(1) has every command of `jpki --help` with its current
#     help text (man/gen.sh --check), jpkid(8) every option of
#     `jpkid --help`.
# Without systemd-analyze (a CI image without systemd) only the systemd
# checks are skipped, with a message.
# make, cmake, cc and systemd-analyze are the toolchain, not our clock: they
# run on the real clock even in the clock-ahead pass (as the PostgreSQL
# cluster does); nothing here depends on the date.
unset LD_PRELOAD FAKETIME FAKETIME_DONT_FAKE_MONOTONIC
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/lib/jpkid.sh"
SRC=${JPKI_SRC:-$(cd "$HERE/../.." && pwd)}
BUILD=${JPKI_BUILD:?}
export LC_ALL=C.UTF-8

# the library's directory under the prefix, as the build was configured
# (lib, or lib/<multiarch> when configured for /usr)
LIB=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$BUILD/CMakeCache.txt")
LIB=${LIB:-lib}
OPT=/opt/openjpki-it
STAGE=$T/stage
SR=$STAGE$OPT # the staged tree
if [ -e "$OPT" ]; then
  bad "$OPT exists on this machine: the staged install could not show it writes only under DESTDIR"
  finish; exit 1
fi

# ---- 1. staged: DESTDIR and PREFIX ----
if timeout 300 make -s -C "$SRC" install BUILD="$BUILD" PREFIX="$OPT" DESTDIR="$STAGE" >install1.log 2>&1; then
  ok "make install PREFIX=$OPT DESTDIR=\$T/stage"
else
  bad "make install (staged): $(tail -20 install1.log)"
  finish; exit 1
fi
[ ! -e "$OPT" ] && ok "nothing written to $OPT itself (only under DESTDIR)" || bad "$OPT was written"
missing=
for f in bin/jpki bin/jpkid "$LIB/libopenjpki.a" "$LIB/pkgconfig/openjpki.pc" \
  include/openjpki/store.h include/openjpki/validation.h \
  share/openjpki/systemd/etcd.service.d/openjpki-sandbox.conf \
  share/openjpki/systemd/patroni@.service.d/openjpki-sandbox.conf \
  share/openjpki/jpki-roots/sign_ca_2015.pem share/openjpki/jpki-roots/sign_ca_2023.pem \
  share/openjpki/jpki-roots/auth_ca_2015.pem share/openjpki/jpki-roots/auth_ca_2023.pem \
  share/man/man1/jpki.1 share/man/man8/jpkid.8 lib/systemd/system/jpkid.service \
  etc/openjpki/jpkid.conf "$LIB/ossl-modules/openjpki.so"; do
  [ -s "$SR/$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && ok "the staged tree has the programs, library, headers, .pc, roots, man pages and unit" ||
  bad "missing from the staged tree:$missing"
[ "$(stat -c %a "$SR/etc/openjpki/jpkid.conf")" = 600 ] && ok "jpkid.conf is root-only (0600)" ||
  bad "jpkid.conf mode $(stat -c %a "$SR/etc/openjpki/jpkid.conf")"
grep -qx "prefix=$OPT" "$SR/$LIB/pkgconfig/openjpki.pc" && grep -qx "libdir=$OPT/$LIB" "$SR/$LIB/pkgconfig/openjpki.pc" &&
  ok "openjpki.pc names PREFIX, not DESTDIR nor the configured prefix" || bad "openjpki.pc: $(head -5 "$SR/$LIB/pkgconfig/openjpki.pc")"
grep -qx "ExecStart=$OPT/bin/jpkid .*" "$SR/lib/systemd/system/jpkid.service" &&
  grep -qx "EnvironmentFile=-$OPT/etc/openjpki/jpkid.conf" "$SR/lib/systemd/system/jpkid.service" &&
  ok "jpkid.service runs $OPT/bin/jpkid with $OPT/etc/openjpki/jpkid.conf" ||
  bad "jpkid.service paths: $(grep -E '^(ExecStart|EnvironmentFile)=' "$SR/lib/systemd/system/jpkid.service")"
! grep -rqF "$STAGE" "$SR/$LIB/pkgconfig" "$SR/lib/systemd" "$SR/etc" && ok "no installed file names the staging directory" ||
  bad "DESTDIR leaked into: $(grep -rlF "$STAGE" "$SR/$LIB/pkgconfig" "$SR/lib/systemd" "$SR/etc")"

out=$("$SR/bin/jpki" --help 2>&1) && grep -q '^usage: jpki' <<<"$out" && ok "staged jpki --help" || bad "staged jpki --help: ${out:0:300}"
out=$("$SR/bin/jpkid" --help 2>&1) && grep -q '^usage: jpkid' <<<"$out" && ok "staged jpkid --help" || bad "staged jpkid --help: ${out:0:300}"

# The staged jpki reads the roots of its own tree (PREFIX/share/openjpki
# next to PREFIX/bin), checked against the pins: the intact tree passes the
# pin check, and a copy with one damaged root is refused by that root's path.
unset JPKI_DATA_DIR
echo "not a CMS" >doc.txt
out=$("$SR/bin/jpki" verify --trust-jlis doc.txt 2>&1 || true)
if grep -q "bad-document" <<<"$out" && ! grep -q "J-LIS root" <<<"$out"; then
  ok "staged jpki --trust-jlis loads the installed roots (pins hold), then judges the document"
else bad "staged jpki verify --trust-jlis: ${out:0:300}"; fi
cp -a "$STAGE" "$T/copy"
echo junk >"$T/copy$OPT/share/openjpki/jpki-roots/auth_ca_2023.pem"
out=$("$T/copy$OPT/bin/jpki" verify --trust-jlis doc.txt 2>&1 || true)
grep -qF "J-LIS root $T/copy$OPT/share/openjpki/jpki-roots/auth_ca_2023.pem" <<<"$out" &&
  ok "a copied tree's jpki reads its own share/openjpki (damaged root refused there)" ||
  bad "damaged root in the copy not noticed by path: ${out:0:300}"
rm -rf "$T/copy"

# a program against the installed library, headers and .pc
cat >prog.c <<'EOF'
#include <openjpki/error.h>
#include <openjpki/store.h>
#include <openjpki/validation.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	jpki_err err = {0};
	jpki_validator *v = NULL;
	store *s = NULL;
	size_t added = 0;
	int rc;
	if (argc != 3)
		return 2;
	if ((rc = val_new(&v, &err)) != 0 ||
	    (rc = val_load_jlis_roots(v, argv[1], &added, &err)) != 0 ||
	    (rc = store_open(argv[2], &s, &err)) != 0) {
		fprintf(stderr, "prog: %s\n", jpki_err_msg(&err, rc));
		val_free(v);
		return 1;
	}
	printf("jlis-roots=%zu store=open\n", added);
	store_close(s);
	val_free(v);
	return 0;
}
EOF
# build_prog NAME: compile and link prog.c with pkg-config's flags (the
# caller sets PKG_CONFIG_PATH and maybe PKG_CONFIG_SYSROOT_DIR), then run it
# on the installed roots DATA and a new SQLite store.
build_prog() {
  local name=$1 data=$2 flags out
  if ! flags=$(pkg-config --cflags --libs openjpki 2>&1); then
    bad "$name: pkg-config --cflags --libs openjpki: $flags"; return
  fi
  ok "$name: pkg-config --cflags --libs openjpki: $flags"
  # shellcheck disable=SC2086
  if ! out=$(cc -std=c17 -Wall -Werror prog.c $flags -o "prog-$name" 2>&1); then
    bad "$name: compile and link against the installed library: ${out:0:600}"; return
  fi
  out=$("./prog-$name" "$data" "sqlite:$T/prog-$name.db" 2>&1) && [ "$out" = "jlis-roots=4 store=open" ] &&
    ok "$name: the program links and runs ($out)" || bad "$name: the program: $out"
}
PKG_CONFIG_SYSROOT_DIR=$STAGE PKG_CONFIG_PATH=$SR/$LIB/pkgconfig build_prog staged "$SR/share/openjpki/jpki-roots"

# ---- 2. a real prefix, no DESTDIR ----
P=$T/prefix
if timeout 300 make -s -C "$SRC" install BUILD="$BUILD" PREFIX="$P" >install2.log 2>&1; then
  ok "make install PREFIX=\$T/prefix"
else
  bad "make install (prefix): $(tail -20 install2.log)"
  finish; exit 1
fi
PKG_CONFIG_PATH=$P/$LIB/pkgconfig build_prog prefix "$P/share/openjpki/jpki-roots"
[ "$(PKG_CONFIG_PATH=$P/$LIB/pkgconfig pkg-config --variable=datadir openjpki)" = "$P/share/openjpki" ] &&
  ok "pkg-config --variable=datadir names the installed data folder" || bad "datadir variable"

# the installed jpkid starts as the unit starts it (a state directory, a
# loopback port) and answers
JPKID=$P/bin/jpkid
if JPKID_ADMIN_PASSWORD=install-tree-pw-1 start_jpkid "$T/state"; then
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$BASE/healthz")
  [ "$code" = 200 ] && ok "installed jpkid serves /healthz" || bad "installed jpkid /healthz: $code"
  stop_jpkid
else
  bad "installed jpkid did not start: $(head -c 500 "$T/jpkid.err")"
fi

UNIT=$P/lib/systemd/system/jpkid.service
if command -v systemd-analyze >/dev/null; then
  # verify exits 0 on a setting it ignores (it only says so): accepted
  # means status 0 and not a word
  if out=$(MANPATH=$P/share/man timeout 60 systemd-analyze verify "$UNIT" 2>&1) && [ -z "$out" ]; then
    ok "systemd-analyze verify accepts jpkid.service, silently (man:jpkid(8) found among the installed pages)"
  else
    bad "systemd-analyze verify jpkid.service: $out"
  fi
  # the same check refuses a unit it should refuse
  mkdir -p broken
  sed 's/^ProtectSystem=strict$/ProtectSystem=stricter/' "$UNIT" >broken/jpkid.service
  out=$(MANPATH=$P/share/man timeout 60 systemd-analyze verify broken/jpkid.service 2>&1 || true)
  if grep -q "ProtectSystem\|protect system" <<<"$out"; then
    ok "systemd-analyze verify objects to a copy with ProtectSystem=stricter"
  else
    bad "a broken unit passed verify unremarked: $out"
  fi
  sec=$(timeout 60 systemd-analyze security --offline=yes "$UNIT" 2>&1 | grep 'Overall exposure level' || true)
  echo "# $sec"
  if grep -qE 'level for jpkid.service: [0-9.]+ (OK|SAFE)' <<<"$sec"; then ok "sandbox rated OK or SAFE by systemd-analyze security"
  else bad "systemd-analyze security: ${sec:-no rating}"; fi
  # the cluster's units (Debian's etcd.service, patroni@.service) with
  # the sandbox drop-ins we install for them
  for u in etcd.service patroni@.service; do
    if [ ! -f "/lib/systemd/system/$u" ]; then
      echo "# SKIP $u: not installed here (Debian etcd-server, patroni)"; continue
    fi
    inst=${u/@/@15-main}
    rm -rf units; mkdir -p units
    cp "/lib/systemd/system/$u" units/
    cp -r "$P/share/openjpki/systemd/$u.d" units/
    # --man=no: their Documentation= pages are Debian's, not what is checked
    # here (a container image may strip man pages)
    out=$(SYSTEMD_UNIT_PATH=$T/units: timeout 60 systemd-analyze verify --man=no "$inst" 2>&1)
    [ -z "$out" ] && ok "$inst with our sandbox drop-in: systemd-analyze verify is silent" ||
      bad "$inst with the drop-in: $out"
    sec=$(SYSTEMD_UNIT_PATH=$T/units: timeout 60 systemd-analyze security --offline=yes "$inst" 2>&1 | grep 'Overall exposure level' || true)
    bare=$(timeout 60 systemd-analyze security --offline=yes "/lib/systemd/system/$u" 2>&1 | grep -oE 'level for [^:]*: [0-9.]+ [A-Z]+' || true)
    echo "# with the drop-in: $sec (Debian's unit alone: ${bare#level for })"
    grep -qE ': [0-9.]+ (OK|SAFE)' <<<"$sec" && ok "$inst sandboxed: rated OK or SAFE" || bad "$inst: ${sec:-no rating}"
  done
else
  echo "# SKIP systemd checks: systemd-analyze is not installed (Debian package systemd)"
fi

# a reinstall keeps the operator's jpkid.conf (the packager's way this
# time: cmake --install --prefix, which is what make install runs)
echo "JPKID_LISTEN=127.0.0.1:9443" >>"$P/etc/openjpki/jpkid.conf"
if timeout 300 cmake --install "$BUILD" --prefix "$P" >install3.log 2>&1 &&
  grep -qx "JPKID_LISTEN=127.0.0.1:9443" "$P/etc/openjpki/jpkid.conf" && [ -s "$P/etc/openjpki/jpkid.conf.new" ]; then
  ok "a reinstall keeps an edited jpkid.conf (the new one as jpkid.conf.new)"
else
  bad "reinstall and jpkid.conf: $(tail -5 install3.log)"
fi

# ---- 3. man pages ----
for page in "$P/share/man/man1/jpki.1" "$P/share/man/man8/jpkid.8"; do
  n=$(basename "$page")
  MANWIDTH=80 man --warnings=w,all -l "$page" >"$n.txt" 2>"$n.man.err" || true
  groff -k -man -Tutf8 -ww -z "$page" >/dev/null 2>"$n.groff.err" || true
  if [ -s "$n.txt" ] && [ ! -s "$n.man.err" ] && [ ! -s "$n.groff.err" ]; then
    ok "$n renders with man -l and groff -ww without a warning ($(wc -l <"$n.txt") lines)"
  else
    bad "$n: man: $(head -c 400 "$n.man.err") groff: $(head -c 400 "$n.groff.err")"
  fi
done
[ "$(MANPATH=$P/share/man man -w jpkid 2>/dev/null)" = "$P/share/man/man8/jpkid.8" ] &&
  ok "man finds jpkid(8) in the installed tree" || bad "man -w jpkid under MANPATH=$P/share/man"

# jpki(1): a section per command, each the installed program's own help
cmds=$("$P/bin/jpki" --help | sed -n '/^commands:/,/^$/p' | awk 'NR>1 && NF {print $1}')
nomiss=
for c in $cmds; do grep -qx ".SS \"jpki $c\"" "$P/share/man/man1/jpki.1" || nomiss="$nomiss $c"; done
[ -n "$cmds" ] && [ -z "$nomiss" ] && ok "jpki(1) has a section for each of the $(wc -w <<<"$cmds") commands" ||
  bad "jpki(1) lacks:$nomiss"
if out=$(bash "$SRC/man/gen.sh" --check "$P/bin/jpki" "$SRC/man/jpki.1" "$P/share/man/man1/jpki.1" 2>&1); then
  ok "jpki(1)'s COMMANDS are the installed jpki's --help, word for word"
else
  bad "jpki(1) is stale: ${out:0:600}"
fi
grep -q 'jpki ca init' jpki.1.txt && ok "the rendered jpki(1) shows the commands' usage" || bad "rendered jpki(1) has no 'jpki ca init'"

# jpkid(8): every option jpkid --help names is described (as .BI/.B \-\-opt)
opts=$("$P/bin/jpkid" --help | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u)
undoc=
for o in $opts; do
  pat=$(sed 's/-/\\\\-/g' <<<"$o") # --a-b as roff writes it: \-\-a\-b
  grep -qE "^\.(B|BI|BR) $pat( |$)" "$P/share/man/man8/jpkid.8" || undoc="$undoc $o"
done
[ -n "$opts" ] && [ -z "$undoc" ] && ok "jpkid(8) describes all $(wc -w <<<"$opts") options of jpkid --help" ||
  bad "jpkid(8) does not describe:$undoc"

finish
