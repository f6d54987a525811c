#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Vigil's build needs (libsodium-dev, libsqlite3-dev,
# pkg-config), only those missing, and checks for a Swift toolchain. Safe to run repeatedly: it
# prints nothing and changes nothing when everything is present.
set -euo pipefail

say() { echo "install-deps: $*"; }
fail() { echo "install-deps: $*" >&2; exit 1; }

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
# Newer Debian ships pkg-config as pkgconf; either provides the command.
if ! command -v pkg-config >/dev/null 2>&1 && ! installed pkg-config; then
    missing+=(pkg-config)
fi
# A libsodium built from source also counts, as long as pkg-config finds it.
if ! installed libsodium-dev \
    && ! { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libsodium; }; then
    missing+=(libsodium-dev)
fi

# The HA journal's SQLite (GRDB links the system's libsqlite3): its header and library.
if ! installed libsqlite3-dev \
    && ! { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists sqlite3; }; then
    missing+=(libsqlite3-dev)
fi

if ((${#missing[@]} > 0)); then
    command -v apt-get >/dev/null 2>&1 \
        || fail "missing ${missing[*]}, and apt-get is not available; install libsodium and" \
            "SQLite 3 (with their headers) and pkg-config with this system's package manager"
    if ((EUID == 0)); then
        sudo=()
    elif command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        fail "need root to install ${missing[*]}, and sudo is not available; run this script as root"
    fi
    say "installing ${missing[*]}"
    say "running: ${sudo[*]:+${sudo[*]} }apt-get update"
    "${sudo[@]}" apt-get update
    say "running: ${sudo[*]:+${sudo[*]} }apt-get install -y ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
    pkg-config --exists libsodium \
        || fail "installed ${missing[*]}, but pkg-config still cannot find libsodium; check PKG_CONFIG_PATH"
    pkg-config --exists sqlite3 \
        || fail "installed ${missing[*]}, but pkg-config still cannot find sqlite3; check PKG_CONFIG_PATH"
fi

if ! command -v swift >/dev/null 2>&1; then
    if [[ -d /opt/swift/usr/bin ]]; then
        # Usable, but `swift build` needs it on PATH.
        say "swift is in /opt/swift/usr/bin but not on PATH; add it with: export PATH=/opt/swift/usr/bin:\$PATH"
    else
        fail "swift not found on PATH or in /opt/swift/usr/bin; install a Swift 6.1 or newer toolchain" \
            "(https://www.swift.org/install/linux/) and put its usr/bin on PATH"
    fi
fi
