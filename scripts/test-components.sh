#!/usr/bin/env bash
# Installs the real components the fencing tests run against, only those missing:
#   apt:  fence-agents (fence_redfish, fence_ipmilan), ipmitool, openssl
#   venv: sushy-tools (the Redfish BMC emulator), pyghmi (fakebmc, an IPMI BMC), bcrypt
#         (to write the emulator's htpasswd file)
# The venv lives at $VIGIL_TEST_VENV, default <package root>/.build-venv (ignored by git
# through `.build-*`). Safe to run repeatedly: when everything is present it only checks
# and prints nothing. It never fails the test run: a component that cannot be installed
# is reported here, and the tests that need it are skipped with a message saying which.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VIGIL_TEST_VENV:-$root/.build-venv}"
say() { echo "test-components: $*"; }

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# --- Debian packages -------------------------------------------------------------
missing=()
command -v fence_redfish >/dev/null 2>&1 && command -v fence_ipmilan >/dev/null 2>&1 \
    || missing+=(fence-agents)
command -v ipmitool >/dev/null 2>&1 || missing+=(ipmitool)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)

if ((${#missing[@]} > 0)); then
    if ! command -v apt-get >/dev/null 2>&1; then
        say "missing ${missing[*]} and no apt-get; install them with this system's package manager (tests needing them will be skipped)"
    else
        sudo=()
        if ((EUID != 0)); then
            if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else sudo=(false); fi
        fi
        say "installing ${missing[*]} (apt-get)"
        # An old package list may not know the packages: update once, then install.
        if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
            "${sudo[@]}" apt-get update -q >/dev/null 2>&1 || true
            "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
                apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
                || say "apt-get install ${missing[*]} failed; the tests that need them will be skipped"
        fi
    fi
fi

# --- Python venv ------------------------------------------------------------------
venv_ok() {
    [[ -x "$venv/bin/sushy-emulator" && -x "$venv/bin/fakebmc" ]] \
        && "$venv/bin/python" -c 'import bcrypt, sushy_tools, pyghmi' >/dev/null 2>&1
}

if ! venv_ok; then
    python="$(command -v python3 || true)"
    if [[ -z "$python" ]]; then
        say "python3 not found; cannot make $venv (the Redfish and IPMI emulator tests will be skipped)"
    else
        if [[ ! -x "$venv/bin/pip" ]]; then
            say "creating venv $venv"
            "$python" -m venv "$venv" || say "python3 -m venv $venv failed"
        fi
        if [[ -x "$venv/bin/pip" ]]; then
            say "installing sushy-tools, pyghmi, bcrypt into $venv (pip)"
            "$venv/bin/pip" install -q --disable-pip-version-check sushy-tools pyghmi bcrypt \
                || say "pip install failed; the Redfish and IPMI emulator tests will be skipped"
        fi
        venv_ok || say "$venv is incomplete; the tests that need it will be skipped"
    fi
fi
exit 0
