// An LD_PRELOAD shim for scripts/chaos/skew: moves this process's wall clock (CLOCK_REALTIME
// and what is derived from it: gettimeofday, time, timespec_get) by VIGIL_SKEW_SECONDS
// (a whole number, may be negative). Monotonic and boot clocks are left alone.
// Used instead of libfaketime, whose preload leaves a Swift program with an empty
// CommandLine.arguments (Swift 6.x on this machine: see scripts/chaos/skew).
// Built by scripts/chaos/skew: cc -O2 -shared -fPIC -o skewclock.so skewclock.c -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long long skew_seconds(void) {
    static long long cached;
    static int known;
    if (!known) {
        const char *value = getenv("VIGIL_SKEW_SECONDS");
        cached = value ? atoll(value) : 0;
        known = 1;
    }
    return cached;
}

static int is_wall(clockid_t clock) {
    return clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE;
}

int clock_gettime(clockid_t clock, struct timespec *ts) {
    static int (*real)(clockid_t, struct timespec *);
    if (!real) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int status = real(clock, ts);
    if (status == 0 && ts && is_wall(clock)) ts->tv_sec += skew_seconds();
    return status;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
    static int (*real)(struct timeval *restrict, void *restrict);
    if (!real) real = (int (*)(struct timeval *restrict, void *restrict))dlsym(RTLD_NEXT, "gettimeofday");
    int status = real(tv, tz);
    if (status == 0 && tv) tv->tv_sec += skew_seconds();
    return status;
}

time_t time(time_t *out) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out) *out = ts.tv_sec;
    return ts.tv_sec;
}

int timespec_get(struct timespec *ts, int base) {
    if (base != TIME_UTC) return 0;
    return clock_gettime(CLOCK_REALTIME, ts) == 0 ? base : 0;
}
