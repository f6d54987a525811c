#!/usr/bin/env bash
# Installs the real components that the recovery tests run against: the Masakari API
# (PyPI `masakari`) in a virtualenv at <package root>/.build-venv-masakari. Idempotent
# and fast when the venv is already complete (a marker file records the version).
# The tests skip, saying why, when the venv is missing; this script never fails the
# suite on its own: a failed install is reported and the tests then say they skipped.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.build-venv-masakari"
version="22.0.0"
marker="$venv/.vigil-masakari-$version"

if [[ -f "$marker" && -x "$venv/bin/masakari-api" && -x "$venv/bin/masakari-manage" ]]; then
    exit 0
fi

if ! command -v python3 >/dev/null 2>&1; then
    echo "test-components-recovery: python3 is missing; the Masakari tests will skip (apt-get install python3 python3-venv)" >&2
    exit 0
fi
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "test-components-recovery: installing python3-venv" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null 2>&1 \
            || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null 2>&1; }
    fi
fi

echo "test-components-recovery: installing masakari $version into $venv (about a minute)" >&2
start=$(date +%s)
rm -rf "$venv"
if python3 -m venv "$venv" \
    && "$venv/bin/pip" install --quiet --disable-pip-version-check "masakari==$version" \
    && [[ -x "$venv/bin/masakari-api" ]]; then
    touch "$marker"
    echo "test-components-recovery: masakari ready in $(( $(date +%s) - start )) s" >&2
else
    echo "test-components-recovery: could not install masakari $version; the Masakari tests will skip" >&2
    rm -rf "$venv"
fi
exit 0
