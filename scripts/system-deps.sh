#!/usr/bin/env bash
# Debian packages MediaParser uses when present:
#   ffmpeg                 video details and poster-frame thumbnails (without it: hachoir, no video thumbnails)
#   libimage-exiftool-perl exiftool: writes dates and tags into exported copies, reads them back in tests
#   chromium               the real browser the page tests drive (tests only)
# Usage: scripts/system-deps.sh [run|test]. Installs what is missing when root (or sudo) is there.
set -euo pipefail
want=(ffmpeg libimage-exiftool-perl)
[ "${1:-run}" = "test" ] && want+=(chromium)
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "Not a Debian system: please install ${missing[*]} yourself." >&2; exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "Missing Debian packages: ${missing[*]} (run as root: apt-get install ${missing[*]})" >&2
    [ "${1:-run}" = "test" ] && exit 1 || exit 0
  fi
fi
echo "Installing Debian packages: ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
