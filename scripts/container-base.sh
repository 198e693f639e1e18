#!/usr/bin/env bash
# Makes the Debian bookworm base image the container tests build on, from
# Debian's archive with debootstrap, where no image registry can be reached:
#   scripts/container-base.sh [IMAGE]     (default localhost/debian:bookworm-slim)
# Slimmed the way Debian's own -slim images are (no package lists, no cached
# .debs, no manuals, docs or translations, and dpkg told to leave them out of
# later installs too, and no .debs kept after them). Does nothing when podman already holds IMAGE; the root
# file system tarball is kept under build/container/ for the next import.
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:-localhost/debian:bookworm-slim}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=build/container
tarball=$cache/debian-bookworm-slim.tar

if podman image exists "$image"; then exit 0; fi
mkdir -p "$cache"
if [ ! -s "$tarball" ]; then
  root=$(mktemp -d "$PWD/$cache/rootfs-XXXXXX")
  trap 'rm -rf "$root"' EXIT
  echo "container-base: debootstrap bookworm from $mirror" >&2
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -20 "$cache/debootstrap.log" >&2; exit 1; }

  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
  # As Debian's images do: no downloaded .debs or package caches left behind.
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  cat >"$root/etc/apt/apt.conf.d/docker-slim" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/*
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/lintian
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  rm -rf "$root"/var/log/* "$root"/tmp/* "$root"/root/.cache
  : >"$root/etc/machine-id"
  tar --numeric-owner -C "$root" -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
fi
podman import -q --change 'CMD ["bash"]' "$tarball" "$image" >/dev/null
echo "container-base: imported $image ($(podman image inspect --format '{{.Size}}' "$image") bytes)" >&2
