/* Clocks (fuse2/clock.h). */
#include "fuse2/clock.h"

#include <time.h>

static double clock_seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double fuse2_monotonic_seconds(void) { return clock_seconds(CLOCK_MONOTONIC); }

double fuse2_unix_seconds(void) { return clock_seconds(CLOCK_REALTIME); }
