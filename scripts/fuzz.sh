#!/usr/bin/env bash
# Fuzzes Vigil's decoders for SECONDS (default 60): builds the libFuzzer target in
# Fuzz/ (debug, -sanitize=fuzzer,address), writes a seed corpus of valid packets of
# every type, plain and sealed, from this build's codec, and runs libFuzzer. Exits
# non-zero on a crash and prints the reproducer's path and how to replay it.
#
#     bash scripts/fuzz.sh [SECONDS]
set -euo pipefail
source "$(dirname "$0")/env.sh"
seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "fuzz: SECONDS must be a whole number, got '$seconds'" >&2; exit 2; }

cd Fuzz
flags=(-c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
# The linker warns about every sanitizer symbol it cannot export; nothing to act on.
swift build "${flags[@]}" 2>&1 | { grep -v "Cannot export local symbol" || true; }
fuzzer=$(swift build "${flags[@]}" --show-bin-path)/VigilFuzz
out=$PWD/.build/fuzz
corpus=$out/corpus      # seeds, plus what libFuzzer finds interesting: kept across runs
artifacts=$out/artifacts
mkdir -p "$corpus" "$artifacts"
VIGIL_FUZZ_WRITE_CORPUS=$corpus "$fuzzer"

echo "fuzz: running $fuzzer for ${seconds}s (log: $out/fuzz.log)"
status=0
# -detect_leaks=0: the Swift runtime keeps metadata caches for the process's life,
# which LeakSanitizer would report as leaks; AddressSanitizer still checks every access.
"$fuzzer" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -use_value_profile=1 \
    -detect_leaks=0 -artifact_prefix="$artifacts/" -print_final_stats=1 >"$out/fuzz.log" 2>&1 || status=$?
if ((status != 0)); then
    tail -n 60 "$out/fuzz.log" >&2
    echo >&2
    echo "fuzz: FAILED (libFuzzer exit status $status)" >&2
    for reproducer in $(grep -o "Test unit written to [^ ]*" "$out/fuzz.log" | awk '{print $5}'); do
        echo "fuzz: reproducer: $reproducer" >&2
        echo "fuzz: replay it with: $fuzzer $reproducer" >&2
    done
    exit 1
fi
grep -E "^stat::(number_of_executed_units|peak_rss_mb)|^Done " "$out/fuzz.log" || true
echo "fuzz: no crash in ${seconds}s; corpus $(ls "$corpus" | wc -l) inputs in $corpus"
