#!/usr/bin/env bash
# Builds Vigil (release) and checks the HA invariants over many seeds: each seed runs
# its own small cluster (5-15 nodes, 120 s) with a random mix of crashes, restarts,
# pauses, partitions (one-way too) and a leader killed in the middle of its first
# fence, on both cores. Prints a summary and, for every seed that broke an invariant,
# the `vigil simulate` command replaying it; exits 1 if any did.
#   scripts/ha-properties.sh [SEEDS] [more vigil simulate flags]   (SEEDS: 1-1000 by default)
set -euo pipefail
source "$(dirname "$0")/env.sh"
swift build -c release --product vigil
seeds="${1:-1-1000}"
shift || true
exec .build/release/vigil simulate --ha --seeds "$seeds" --workers "${WORKERS:-2}" "$@"
