/* Dealing ML-pool entries to walkers by index (fuse2-algorithm.md §17.4):
 * entry i belongs to walker i mod P, used in the walker's own random order. */
#include <string.h>

#include "testutil.h"

#include "fuse2/moves.h"
#include "fuse2/search.h"

enum { STUB_ENTRIES = 10 };

/* A stub pool (not a real ML pool): entry i is one atom with atomic number
 * i + 1, so the structure handed out tells which entry it was. */
typedef struct stub_pool {
    int used[STUB_ENTRIES];
} stub_pool;

static int stub_count(void *user)
{
    (void)user;
    return STUB_ENTRIES;
}

static fuse2_status stub_take_index(void *user, int index, fuse2_structure *out, int *taken)
{
    stub_pool *p = user;
    *taken = 0;
    if (index < 0 || index >= STUB_ENTRIES) return FUSE2_RAISE(FUSE2_ERR_ARG, "stub index %d", index);
    if (p->used[index]) return FUSE2_OK;
    p->used[index] = 1;
    FUSE2_CALL(fuse2_structure_reserve(out, 1));
    memset(out->lattice, 0, sizeof out->lattice);
    for (int i = 0; i < 3; i++) out->lattice[i][i] = 5.0;
    out->natoms = 1;
    out->frac[0][0] = out->frac[0][1] = out->frac[0][2] = 0.0;
    out->species[0] = index + 1;
    *taken = 1;
    return FUSE2_OK;
}

/* The initial population took entries 1, 4 and 8: 7 are left. */
static void stub_after_initial_population(stub_pool *p, fuse2_pool_index *index)
{
    memset(p, 0, sizeof *p);
    p->used[1] = p->used[4] = p->used[8] = 1;
    *index = (fuse2_pool_index){.user = p, .count = stub_count, .take_index = stub_take_index};
}

/* Takes everything the walker's view gives; returns how many, order in got. */
static int drain(fuse2_pool_deal *d, int *got)
{
    fuse2_pool_source src;
    fuse2_pool_deal_source(d, &src);
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 0));
    int n = 0;
    for (;;) {
        int taken = -1;
        ASSERT_OK(src.take(src.user, NULL, &s, &taken));
        if (!taken) break;
        assert_int_equal(taken, 1);
        assert_int_equal(s.natoms, 1);
        got[n++] = s.species[0] - 1;
        assert_true(n <= STUB_ENTRIES);
    }
    assert_int_equal(src.available(src.user), 0);
    fuse2_structure_free(&s);
    return n;
}

static void test_walker_w_takes_exactly_entries_congruent_to_w_mod_P(void **state)
{
    (void)state;
    stub_pool p;
    fuse2_pool_index index;
    stub_after_initial_population(&p, &index);
    /* Left: 0 2 3 5 6 7 9. Walker 0: 0 3 6 9; walker 1: 7; walker 2: 2 5. */
    const int expected_count[3] = {4, 1, 2};
    int total = 0;
    for (int w = 0; w < 3; w++) {
        fuse2_pool_deal d;
        ASSERT_OK(fuse2_pool_deal_init(&d, &index, w, 3, 42));
        int got[STUB_ENTRIES], seen[STUB_ENTRIES] = {0};
        int n = drain(&d, got);
        assert_int_equal(n, expected_count[w]);
        for (int k = 0; k < n; k++) {
            assert_int_equal(got[k] % 3, w);
            assert_int_not_equal(got[k], 1);
            assert_int_not_equal(got[k], 4);
            assert_int_not_equal(got[k], 8);
            assert_int_equal(seen[got[k]], 0); /* each once */
            seen[got[k]] = 1;
        }
        total += n;
        /* Used up: the view keeps saying so (move 14 then uses the generator). */
        fuse2_pool_source src;
        fuse2_pool_deal_source(&d, &src);
        fuse2_structure s;
        ASSERT_OK(fuse2_structure_init(&s, 0));
        int taken = -1;
        ASSERT_OK(src.take(src.user, NULL, &s, &taken));
        assert_int_equal(taken, 0);
        fuse2_structure_free(&s);
        fuse2_pool_deal_free(&d);
    }
    assert_int_equal(total, 7);
    for (int i = 0; i < STUB_ENTRIES; i++) assert_int_equal(p.used[i], 1);
}

static void test_walker_order_depends_on_seed_and_walker_only(void **state)
{
    (void)state;
    /* Walker 0 of 3 alone, then after walkers 1 and 2 drained theirs, then
     * with another seed. */
    int order[3][STUB_ENTRIES], n[3];
    const unsigned seeds[3] = {42, 42, 43};
    for (int run = 0; run < 3; run++) {
        stub_pool p;
        fuse2_pool_index index;
        stub_after_initial_population(&p, &index);
        if (run == 1) {
            for (int w = 2; w >= 1; w--) {
                fuse2_pool_deal other;
                int scratch[STUB_ENTRIES];
                ASSERT_OK(fuse2_pool_deal_init(&other, &index, w, 3, seeds[run]));
                drain(&other, scratch);
                fuse2_pool_deal_free(&other);
            }
        }
        fuse2_pool_deal d;
        ASSERT_OK(fuse2_pool_deal_init(&d, &index, 0, 3, seeds[run]));
        n[run] = drain(&d, order[run]);
        fuse2_pool_deal_free(&d);
    }
    assert_int_equal(n[0], 4);
    assert_int_equal(n[1], 4);
    assert_memory_equal(order[0], order[1], 4 * sizeof(int));
    /* Walker 0's 4 entries, 24 orders: seeds 42 and 43 give different ones
     * (checked once; a different stream could coincide with chance 1/24). */
    assert_int_equal(n[2], 4);
    assert_memory_not_equal(order[0], order[2], 4 * sizeof(int));
}

static void test_pool_dealing_rejects_bad_walker(void **state)
{
    (void)state;
    stub_pool p;
    fuse2_pool_index index;
    stub_after_initial_population(&p, &index);
    fuse2_pool_deal d;
    assert_int_equal(fuse2_pool_deal_init(&d, &index, 3, 3, 1), FUSE2_ERR_ARG);
    fuse2_error_clear();
    fuse2_pool_index no_index = {.user = &p};
    assert_int_equal(fuse2_pool_deal_init(&d, &no_index, 0, 3, 1), FUSE2_ERR_ARG);
    fuse2_error_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walker_w_takes_exactly_entries_congruent_to_w_mod_P),
        cmocka_unit_test(test_walker_order_depends_on_seed_and_walker_only),
        cmocka_unit_test(test_pool_dealing_rejects_bad_walker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
