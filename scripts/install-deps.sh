#!/usr/bin/env bash
# Install the Debian 12 packages openjpki needs, only those missing.
# Runs as root (CI, containers) or through sudo.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  libssl-dev openssl libsqlite3-dev sqlite3 libcmocka-dev
  postgresql-15 postgresql-client-15
  libjansson-dev libmicrohttpd-dev libgnutls28-dev libpq-dev libpcsclite-dev
  gnutls-bin pcscd vsmartcard-vpcd opensc opensc-pkcs11 pcsc-tools
  libp11-kit-dev softhsm2
  libqpdf-dev poppler-utils
  libxmlsec1-dev xmlsec1 libseccomp-dev
  patroni etcd-server etcd-client python3-psycopg2
  xxd procps faketime systemd groff-base man-db
  curl jq wrk nginx-light iproute2 util-linux
  chromium fonts-noto-cjk
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# Node.js runs pkijs, an independent CMS verifier (tests/interop), and
# playwright-core drives chromium for tests/browser; a node
# installed some other way (nvm, NodeSource) is fine, else Debian's.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
