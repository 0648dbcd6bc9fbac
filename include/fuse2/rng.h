/* Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11).
 * A stream is keyed by (seed, walker, step, purpose): the same key always
 * gives the same sequence, independent of timing, rank count or restarts,
 * so results are reproducible and restart-exact. Never use rand(). */
#ifndef FUSE2_RNG_H
#define FUSE2_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fuse2_rng {
    uint32_t key[2];     /* from the 64-bit seed */
    uint32_t ctr[4];     /* ctr[0] block counter, ctr[1..3] walker, step, purpose */
    uint32_t block[4];   /* last generated block */
    int used;            /* words of block already consumed (4 = empty) */
} fuse2_rng;

/* One Philox4x32-10 block: out = philox(key, counter). Exposed for tests
 * against the published known-answer vectors. */
void fuse2_philox4x32_10(const uint32_t key[2], const uint32_t counter[4], uint32_t out[4]);

void fuse2_rng_init(fuse2_rng *rng, uint64_t seed, uint32_t walker, uint32_t step,
                    uint32_t purpose);
uint32_t fuse2_rng_u32(fuse2_rng *rng);
uint64_t fuse2_rng_u64(fuse2_rng *rng);
double fuse2_rng_uniform(fuse2_rng *rng);                 /* [0, 1), 53 bits */
double fuse2_rng_uniform_range(fuse2_rng *rng, double lo, double hi);
int fuse2_rng_int(fuse2_rng *rng, int lo, int hi);       /* uniform in [lo, hi], unbiased */
double fuse2_rng_normal(fuse2_rng *rng);                  /* standard normal */

#ifdef __cplusplus
}
#endif
#endif
