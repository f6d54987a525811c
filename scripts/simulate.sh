#!/usr/bin/env bash
# Builds Vigil (release) and runs a simulated cluster of real protocol engines on a
# virtual clock — 50 nodes, 5% packet loss, two crashes, two nodes that
# pause for a second now and then — and prints what every node concluded.
# Any arguments replace the defaults and go to `vigil simulate` (see --help).
set -euo pipefail
source "$(dirname "$0")/env.sh"
swift build -c release --product vigil
if (($# == 0)); then
    set -- --nodes 50 --duration 3m --crash 2 --loss 5% --pause 2 --pause-for 1s --seed 1
fi
exec .build/release/vigil simulate "$@"
