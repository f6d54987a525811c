# Scenario loss-soak for scripts/chaos.sh (sourced by it; runs in its shell with its helpers).
# loss-soak: loss-10 at another rate: every node loses VIGIL_CHAOS_LOSS percent (default 20)
# of the frames it sends (`loss nK P --out` on every node) for 120 s (VIGIL_CHAOS_DURATION).
# Expectation: no node is marked failed by anyone; all alive at the end, after the loss is
# removed. Suspicions are expected and counted.
# A measurement for scripts/bench-curve.sh, not part of the suite (`chaos.sh list --all`).
bench_scenarios+=(loss-soak)
prepare_loss_soak() {
    [[ ${VIGIL_CHAOS_LOSS:-20} =~ ^[0-9]+$ ]] && ((10#${VIGIL_CHAOS_LOSS:-20} >= 1 && 10#${VIGIL_CHAOS_LOSS:-20} <= 99)) ||
        { echo "chaos: VIGIL_CHAOS_LOSS must be a whole percentage from 1 to 99, got \`$VIGIL_CHAOS_LOSS\`" >&2; return 1; }
}
scenario_loss_soak() {
    soak_with_loss $((10#${VIGIL_CHAOS_LOSS:-20})) "$(scenario_seconds 120)"  # loss-10.sh
}
