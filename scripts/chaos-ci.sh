#!/usr/bin/env bash
# The chaos subset for CI: crash-one, pause-short and partition-minority on five real Vigil
# agents in network namespaces (scripts/chaos-suite.sh), with HA (BMC emulator, power watcher,
# Masakari: fences and recoveries are checked too), about two minutes once vigil is
# built. Fails when a scenario's expectation fails, or when a namespace or process of the
# runs is left behind. Skips (exit 0, one line saying why) when not root or when network
# namespaces cannot be made here.
#
#     bash scripts/chaos-ci.sh
#
# Uses VIGIL_BIN when set, else builds `vigil` in release (a no-op when it is up to date).
# Reports go to a temporary folder, removed when everything passed and kept (its path is
# printed) when something failed; VIGIL_CHAOS_KEEP=1 keeps it always.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if ((EUID != 0)); then
    echo "chaos-ci: SKIPPED: needs root for network namespaces, veths and nftables (running as uid $EUID)"
    exit 0
fi
probe=vigil-ci-probe-$$
if ! ip netns add "$probe" 2>/dev/null; then
    echo "chaos-ci: SKIPPED: cannot create a network namespace here (ip netns add failed)"
    exit 0
fi
ip netns del "$probe"
missing=()
command -v nft >/dev/null 2>&1 || missing+=(nftables)
command -v jq >/dev/null 2>&1 || missing+=(jq)
if ((${#missing[@]} > 0)); then
    echo "chaos-ci: installing ${missing[*]} (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null ||
        { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null; }
fi
if [[ -z ${VIGIL_BIN:-} ]]; then
    source "$here/env.sh"   # toolchain on PATH, build dependencies, cd to the repository
    swift build -c release --product vigil
    export VIGIL_BIN=$PWD/.build/release/vigil
fi

dir=$(mktemp -d /tmp/vigil-chaos-ci.XXXXXX)
status=0
bash "$here/chaos-suite.sh" --system vigil --nodes 5 --seed 1 --out "$dir" crash-one pause-short partition-minority || status=$?
if ((status != 0)); then
    echo "chaos-ci: FAILED (above); reports kept in $dir" >&2
    exit 1
fi
if [[ ${VIGIL_CHAOS_KEEP:-0} == 1 ]]; then
    echo "chaos-ci: passed; reports in $dir"
else
    rm -rf "$dir"
    echo "chaos-ci: passed"
fi
