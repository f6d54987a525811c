# Sourced by demo.sh and ha-demo.sh: the helpers both demos share.

now_ms() { date +%s%3N; }
# until_ok SECONDS CMD...: runs CMD every 100 ms until it succeeds; fails after SECONDS.
until_ok() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < end)) || return 1
        sleep 0.1
    done
}
