/* Philox4x32-10 counter-based generator (Salmon, Moraes, Dror, Shaw, "Parallel
 * random numbers: as easy as 1, 2, 3", SC'11). The counter holds
 * (block, walker, step, purpose), the key the seed, so every stream is an
 * independent, reproducible sequence. */
#include "fuse2/rng.h"

#include <math.h>

enum { PHILOX_ROUNDS = 10 };
static const uint32_t PHILOX_M0 = 0xD2511F53u, PHILOX_M1 = 0xCD9E8D57u;
static const uint32_t PHILOX_W0 = 0x9E3779B9u, PHILOX_W1 = 0xBB67AE85u;

static void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

void fuse2_philox4x32_10(const uint32_t key[2], const uint32_t counter[4], uint32_t out[4])
{
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < PHILOX_ROUNDS; r++) {
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo(PHILOX_M0, c0, &hi0, &lo0);
        mulhilo(PHILOX_M1, c2, &hi1, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

void fuse2_rng_init(fuse2_rng *rng, uint64_t seed, uint32_t walker, uint32_t step, uint32_t purpose)
{
    rng->key[0] = (uint32_t)seed;
    rng->key[1] = (uint32_t)(seed >> 32);
    rng->ctr[0] = 0;
    rng->ctr[1] = walker;
    rng->ctr[2] = step;
    rng->ctr[3] = purpose;
    rng->used = 4;
}

uint32_t fuse2_rng_u32(fuse2_rng *rng)
{
    if (rng->used == 4) {
        fuse2_philox4x32_10(rng->key, rng->ctr, rng->block);
        rng->ctr[0]++; /* 2^32 blocks per stream: far beyond any one step's draws */
        rng->used = 0;
    }
    return rng->block[rng->used++];
}

uint64_t fuse2_rng_u64(fuse2_rng *rng)
{
    uint64_t hi = fuse2_rng_u32(rng);
    return (hi << 32) | fuse2_rng_u32(rng);
}

double fuse2_rng_uniform(fuse2_rng *rng)
{
    return (double)(fuse2_rng_u64(rng) >> 11) * 0x1.0p-53;
}

double fuse2_rng_uniform_range(fuse2_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * fuse2_rng_uniform(rng);
}

int fuse2_rng_int(fuse2_rng *rng, int lo, int hi)
{
    if (hi <= lo) return lo;
    uint64_t range = (uint64_t)((int64_t)hi - lo) + 1;
    /* rejection sampling removes modulo bias */
    uint64_t limit = UINT64_MAX - UINT64_MAX % range;
    uint64_t x;
    do x = fuse2_rng_u64(rng);
    while (x >= limit);
    return (int)((int64_t)lo + (int64_t)(x % range));
}

double fuse2_rng_normal(fuse2_rng *rng)
{
    /* Box-Muller without caching so the stream position is simple to reason about */
    double u1 = fuse2_rng_uniform(rng);
    double u2 = fuse2_rng_uniform(rng);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
