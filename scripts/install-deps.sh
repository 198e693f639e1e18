#!/usr/bin/env bash
# Installs the Debian packages Parley needs to build, test and run.
# Idempotent: installs only what is missing; safe to run on every build.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libsqlite3-dev sqlite3 libsodium-dev zlib1g-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev
  python3 curl procps
  postgresql-15 libpq-dev redis-server libhiredis-dev nginx openssl faketime
  chromium prometheus
  podman runc netavark aardvark-dns podman-compose python3-yaml debootstrap
  protobuf-compiler libprotobuf-dev python3-protobuf
  iptables  # netavark (podman's networks) needs it; not pulled in without Recommends
)

# The web app and SDK build with Node 18+ and npm (Debian's nodejs and npm
# unless a newer Node is already installed).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
# Server packages (PostgreSQL, Redis, nginx) must not start system services:
# tests and local clusters start their own on loopback (scripts/services.sh).
policy=/usr/sbin/policy-rc.d
added_policy=false
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
  "${sudo_cmd[@]}" chmod +x "$policy"
  added_policy=true
fi
trap 'if [ "$added_policy" = true ]; then "${sudo_cmd[@]}" rm -f "$policy"; fi' EXIT
"${sudo_cmd[@]}" apt-get update -q >/dev/null
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
