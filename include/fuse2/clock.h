/* Clocks, in seconds: a monotonic one for durations and time limits, and
 * the wall clock (seconds since 1970-01-01 UTC) for timestamps. */
#ifndef FUSE2_CLOCK_H
#define FUSE2_CLOCK_H

#ifdef __cplusplus
extern "C" {
#endif

double fuse2_monotonic_seconds(void);
double fuse2_unix_seconds(void);

#ifdef __cplusplus
}
#endif
#endif
