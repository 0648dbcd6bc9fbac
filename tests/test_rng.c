/* Philox4x32-10 against the Random123 known-answer vectors, and the stream
 * properties the search relies on (reproducible, keyed, unbiased ranges). */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "fuse2/rng.h"

static void check_kat(uint32_t k0, uint32_t k1, const uint32_t ctr[4], const uint32_t expect[4])
{
    uint32_t key[2] = {k0, k1}, out[4];
    fuse2_philox4x32_10(key, ctr, out);
    for (int i = 0; i < 4; i++)
        if (out[i] != expect[i]) fail_msg("word %d: got %08x expected %08x", i, out[i], expect[i]);
}

/* Vectors from Random123's kat_vectors file (philox4x32 10 rounds). */
static void test_philox_matches_random123_known_answers(void **state)
{
    (void)state;
    const uint32_t zero[4] = {0, 0, 0, 0};
    const uint32_t e0[4] = {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
    check_kat(0, 0, zero, e0);
    const uint32_t ones[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
    const uint32_t e1[4] = {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu};
    check_kat(0xffffffffu, 0xffffffffu, ones, e1);
    const uint32_t pi[4] = {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u};
    const uint32_t e2[4] = {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u};
    check_kat(0xa4093822u, 0x299f31d0u, pi, e2);
}

static void test_same_key_gives_same_sequence_and_other_keys_differ(void **state)
{
    (void)state;
    fuse2_rng a, b, c, d;
    fuse2_rng_init(&a, 42, 3, 17, 5);
    fuse2_rng_init(&b, 42, 3, 17, 5);
    fuse2_rng_init(&c, 42, 3, 18, 5);
    fuse2_rng_init(&d, 43, 3, 17, 5);
    int same_c = 0, same_d = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t x = fuse2_rng_u32(&a);
        assert_int_equal(x, fuse2_rng_u32(&b));
        same_c += x == fuse2_rng_u32(&c);
        same_d += x == fuse2_rng_u32(&d);
    }
    assert_true(same_c < 3);
    assert_true(same_d < 3);
}

static void test_uniform_is_in_unit_interval_with_correct_moments(void **state)
{
    (void)state;
    fuse2_rng r;
    fuse2_rng_init(&r, 7, 0, 0, 1);
    const int n = 200000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; i++) {
        double u = fuse2_rng_uniform(&r);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
        sum2 += u * u;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    /* 5 sigma bounds: sd(mean) = sqrt(1/12/n) = 6.5e-4 */
    ASSERT_NEAR(mean, 0.5, 5 * 6.5e-4);
    ASSERT_NEAR(var, 1.0 / 12.0, 0.002);
}

static void test_integers_cover_range_uniformly(void **state)
{
    (void)state;
    fuse2_rng r;
    fuse2_rng_init(&r, 11, 2, 9, 3);
    int hist[7] = {0};
    const int n = 70000;
    for (int i = 0; i < n; i++) {
        int k = fuse2_rng_int(&r, -3, 3);
        assert_true(k >= -3 && k <= 3);
        hist[k + 3]++;
    }
    /* chi-square with 6 dof: 99.9% quantile 22.46 */
    double chi2 = 0, expect = n / 7.0;
    for (int i = 0; i < 7; i++) chi2 += (hist[i] - expect) * (hist[i] - expect) / expect;
    assert_true(chi2 < 22.46);
    assert_int_equal(fuse2_rng_int(&r, 5, 5), 5);
}

static void test_normal_has_unit_variance(void **state)
{
    (void)state;
    fuse2_rng r;
    fuse2_rng_init(&r, 99, 1, 1, 1);
    const int n = 200000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; i++) {
        double x = fuse2_rng_normal(&r);
        assert_true(isfinite(x));
        sum += x;
        sum2 += x * x;
    }
    ASSERT_NEAR(sum / n, 0.0, 5 / sqrt(n));
    ASSERT_NEAR(sum2 / n, 1.0, 0.02);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_philox_matches_random123_known_answers),
        cmocka_unit_test(test_same_key_gives_same_sequence_and_other_keys_differ),
        cmocka_unit_test(test_uniform_is_in_unit_interval_with_correct_moments),
        cmocka_unit_test(test_integers_cover_range_uniformly),
        cmocka_unit_test(test_normal_has_unit_variance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
