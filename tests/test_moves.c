/* The 14 FUSE2 moves and the dispatcher (fuse2-algorithm.md §6, §7, §16
 * fact 10). All randomness is seeded; every test is deterministic. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/composition.h"
#include "fuse2/config.h"
#include "fuse2/gen.h"
#include "fuse2/moves.h"
#include "fuse2/neighbors.h"
#include "fuse2/submodule.h"
#include "search/moves_internal.h"
#include "testutil.h"

/* ---- fixtures ---- */
typedef struct fixture {
    fuse2_gen_params gen;
    fuse2_gen_constants consts;
    fuse2_shape_tables tables;
    fuse2_rng rng;
    fuse2_move_context ctx;
} fixture;

static void fixture_init(fixture *f, const char *formula, int max_atoms, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    fuse2_gen_params_default(&f->gen);
    ASSERT_OK(fuse2_composition_parse(formula, &f->gen.composition));
    f->gen.max_atoms = f->gen.imax_atoms = max_atoms;
    ASSERT_OK(fuse2_gen_constants_compute(&f->gen, &f->consts));
    ASSERT_OK(fuse2_shape_tables_build(f->gen.max_ax, &f->tables));
    fuse2_rng_init(&f->rng, seed, 0, 0, 0x3001);
    f->ctx.gen = &f->gen;
    f->ctx.consts = &f->consts;
    f->ctx.tables = &f->tables;
    f->ctx.composition = &f->gen.composition;
    f->ctx.grid_spacing = 0.75; /* FUSE2 defaults (§1.2) */
    f->ctx.exclusion = 1.5;
    f->ctx.pool = NULL;
    f->ctx.rng = &f->rng;
}

static void fixture_free(fixture *f) { fuse2_shape_tables_free(&f->tables); }

static void make_structure(fuse2_structure *s, const double lattice[3][3], int n, const int *z,
                           const double (*frac)[3])
{
    ASSERT_OK(fuse2_structure_init(s, n));
    memcpy(s->lattice, lattice, sizeof s->lattice);
    for (int i = 0; i < n; i++) ASSERT_OK(fuse2_structure_add_atom(s, z[i], frac[i]));
}

static void cubic_lattice(double a, double l[3][3])
{
    memset(l, 0, 9 * sizeof(double));
    l[0][0] = l[1][1] = l[2][2] = a;
}

/* cubic perovskite SrTiO3 (§16 fact 3 positions), lattice constant a */
static void srtio3(fuse2_structure *s, double a)
{
    double l[3][3];
    cubic_lattice(a, l);
    const int z[5] = {38, 22, 8, 8, 8};
    const double f[5][3] = {{0, 0, 0}, {.5, .5, .5}, {.5, .5, 0}, {.5, 0, .5}, {0, .5, .5}};
    make_structure(s, l, 5, z, f);
}

/* n atoms of one element on random positions in a 10 Å cube */
static void one_element(fuse2_structure *s, int z, int n)
{
    double l[3][3];
    cubic_lattice(10.0, l);
    ASSERT_OK(fuse2_structure_init(s, n));
    memcpy(s->lattice, l, sizeof l);
    for (int i = 0; i < n; i++)
        ASSERT_OK(fuse2_structure_add_atom(
            s, z, (const double[3]){test_uniform(0, 1), test_uniform(0, 1), test_uniform(0, 1)}));
}

/* The decomposition a campaign gives the moves: on the campaign's ap. */
static void decompose(const fixture *f, const fuse2_structure *s, fuse2_submodules *m)
{
    memset(m, 0, sizeof *m);
    ASSERT_OK(fuse2_submodules_decompose(s, f->consts.ap, m));
}

static int same_structure(const fuse2_structure *a, const fuse2_structure *b)
{
    if (a->natoms != b->natoms) return 0;
    if (memcmp(a->lattice, b->lattice, sizeof a->lattice) != 0) return 0;
    for (int i = 0; i < a->natoms; i++) {
        if (a->species[i] != b->species[i]) return 0;
        if (memcmp(a->frac[i], b->frac[i], sizeof a->frac[i]) != 0) return 0;
    }
    return 1;
}

static int count_species(const fuse2_structure *s, int z)
{
    int n = 0;
    for (int i = 0; i < s->natoms; i++) n += s->species[i] == z;
    return n;
}

static fuse2_move_outcome run_move(const fixture *f, int number, const fuse2_structure *cur,
                                   const fuse2_submodules *m, fuse2_structure *trial)
{
    const fuse2_move *mv = &fuse2_moves_table()[number - 1];
    assert_int_equal(mv->number, number);
    fuse2_move_outcome out = FUSE2_MOVE_GAVE_UP;
    ASSERT_OK(mv->apply(&f->ctx, cur, m, trial, &out));
    return out;
}

/* ---- §7 composition test ---- */
static void test_composition_test_accepts_whole_formula_units_only(void **state)
{
    (void)state;
    fuse2_composition c;
    ASSERT_OK(fuse2_composition_parse("SrTiO3", &c));
    fuse2_structure s, big;
    srtio3(&s, 3.905);
    assert_true(fuse2_composition_matches(&c, &s));
    memset(&big, 0, sizeof big);
    ASSERT_OK(fuse2_moves_supercell(&s, 2, 0, FUSE2_SUPERCELL_REPEAT, &big));
    assert_true(fuse2_composition_matches(&c, &big)); /* 2 FUs */
    s.species[0] = 56;                                 /* Ba instead of Sr */
    assert_false(fuse2_composition_matches(&c, &s));
    s.species[0] = 8; /* Ti O4: 5 atoms, wrong counts */
    assert_false(fuse2_composition_matches(&c, &s));
    s.species[0] = 38;
    fuse2_structure_remove_atom(&s, 4); /* SrTiO2: 4 atoms, not a multiple of 5 */
    assert_false(fuse2_composition_matches(&c, &s));
    s.natoms = 0;
    assert_false(fuse2_composition_matches(&c, &s));
    fuse2_structure_free(&s);
    fuse2_structure_free(&big);
}

/* ---- §6.2 and §16 fact 10 ---- */
static int applicable(const fixture *f, int number, const fuse2_structure *s,
                      const fuse2_submodules *m)
{
    return fuse2_moves_table()[number - 1].applicable(&f->ctx, s, m);
}

static void test_an_element_never_gets_moves_1_3_4_5_6(void **state)
{
    (void)state;
    test_rng_seed(10);
    fixture f;
    fixture_init(&f, "Mn", 50, 1);
    fuse2_structure s;
    one_element(&s, 25, 8);
    const int forbidden[5] = {1, 3, 4, 5, 6};
    for (int k = 0; k < 5; k++) assert_false(applicable(&f, forbidden[k], &s, NULL));
    fuse2_structure_free(&s);
    fixture_free(&f);
}

static void test_three_atoms_allow_move_6_but_not_3_to_5(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, "TiO2", 50, 1);
    fuse2_structure s, four;
    double l[3][3] = {{4.6, 0, 0}, {0, 4.6, 0}, {0, 0, 2.96}};
    const int z[4] = {22, 8, 8, 8};
    const double fr[4][3] = {{0, 0, 0}, {.3, .3, 0}, {.7, .7, 0}, {.2, .8, .5}};
    make_structure(&s, l, 3, z, fr);
    assert_true(applicable(&f, 1, &s, NULL));
    assert_true(applicable(&f, 6, &s, NULL));
    for (int m = 3; m <= 5; m++) assert_false(applicable(&f, m, &s, NULL));
    make_structure(&four, l, 4, z, fr);
    for (int m = 3; m <= 6; m++) assert_true(applicable(&f, m, &four, NULL));
    fuse2_structure_free(&s);
    fuse2_structure_free(&four);
    fixture_free(&f);
}

static void test_supercell_moves_respect_max_atoms(void **state)
{
    (void)state;
    test_rng_seed(11);
    fixture f;
    fixture_init(&f, "Mn", 50, 1);
    const struct { int n, allows11, allows12; } cases[] = {
        {26, 0, 0}, {25, 1, 0}, {17, 1, 0}, {16, 1, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fuse2_structure s;
        one_element(&s, 25, cases[c].n);
        assert_int_equal(applicable(&f, 11, &s, NULL), cases[c].allows11);
        assert_int_equal(applicable(&f, 12, &s, NULL), cases[c].allows12);
        fuse2_structure_free(&s);
    }
    fixture_free(&f);
}

static void test_module_moves_need_enough_submodules(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, "SrTiO3", 50, 1);
    /* SrTiO3 a = 3.905: grid 1x1x2 (§16 fact 3): 7 allowed, 8 not (nc = 2) */
    fuse2_structure s;
    srtio3(&s, 3.905);
    fuse2_submodules m;
    decompose(&f, &s, &m);
    assert_int_equal(m.nmods, 2);
    assert_true(applicable(&f, 7, &s, &m));
    assert_false(applicable(&f, 8, &s, &m));
    assert_true(applicable(&f, 9, &s, &m));
    assert_true(applicable(&f, 10, &s, &m)); /* bins of 2 and 3 atoms */
    /* no decomposition: no module move */
    for (int k = 7; k <= 10; k++) assert_false(applicable(&f, k, &s, NULL));
    fuse2_submodules_free(&m);
    /* Mn cell (4.71, 2.47, 2.48): grid 1x1x1 (§16 fact 16): nmods = 1 forbids 7 */
    fixture g;
    fixture_init(&g, "Mn", 50, 1);
    double l[3][3] = {{4.71, 0, 0}, {0, 2.47, 0}, {0, 0, 2.48}};
    const int z[2] = {25, 25};
    const double fr[2][3] = {{0, 0, 0}, {.5, .5, .5}};
    fuse2_structure mn;
    make_structure(&mn, l, 2, z, fr);
    decompose(&g, &mn, &m);
    assert_int_equal(m.nmods, 1);
    assert_false(applicable(&g, 7, &mn, &m));
    assert_false(applicable(&g, 8, &mn, &m));
    /* 9 asks the tables: nmods = 41 has no monoclinic shape (§16 fact 6) */
    m.nmods = 41;
    assert_false(applicable(&g, 9, &mn, &m));
    m.nmods = 1;
    fuse2_submodules_free(&m);
    fuse2_structure_free(&mn);
    fuse2_structure_free(&s);
    fixture_free(&f);
    fixture_free(&g);
}

static void test_move_13_becomes_14_below_four_atoms(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, "TiO2", 12, 3);
    f.gen.use_spglib = 0;
    fuse2_structure s, trial;
    double l[3][3] = {{4.6, 0, 0}, {0, 4.6, 0}, {0, 0, 2.96}};
    const int z[3] = {22, 8, 8};
    const double fr[3][3] = {{0, 0, 0}, {.3, .3, 0}, {.7, .7, 0}};
    make_structure(&s, l, 3, z, fr);
    memset(&trial, 0, sizeof trial);
    int w[FUSE2_MOVE_COUNT] = {0};
    w[12] = 1; /* only move 13 */
    int used = 0;
    ASSERT_OK(fuse2_moves_make_trial(&f.ctx, w, &s, NULL, &trial, &used));
    assert_int_equal(used, 14);
    assert_true(fuse2_composition_matches(&f.gen.composition, &trial));
    assert_true(trial.natoms <= 12);
    fuse2_structure_free(&s);
    fuse2_structure_free(&trial);
    fixture_free(&f);
}


/* ---- geometry of single moves ---- */
static void test_move_1_exchanges_the_species_of_two_different_atoms(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, "SrTiO3", 50, 7);
    fuse2_structure s, trial;
    srtio3(&s, 3.905);
    memset(&trial, 0, sizeof trial);
    for (int rep = 0; rep < 20; rep++) {
        assert_int_equal(run_move(&f, 1, &s, NULL, &trial), FUSE2_MOVE_DONE);
        int changed[5], n = 0;
        for (int i = 0; i < 5; i++) {
            assert_memory_equal(trial.frac[i], s.frac[i], sizeof s.frac[i]);
            if (trial.species[i] != s.species[i]) changed[n++] = i;
        }
        assert_int_equal(n, 2);
        assert_int_equal(trial.species[changed[0]], s.species[changed[1]]);
        assert_int_equal(trial.species[changed[1]], s.species[changed[0]]);
    }
    fuse2_structure_free(&s);
    fuse2_structure_free(&trial);
    fixture_free(&f);
}

static void test_move_2_puts_an_atom_on_a_vacant_grid_point(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, "NaCl", 50, 8);
    double l[3][3];
    cubic_lattice(6.0, l);
    const int z[2] = {11, 17};
    const double fr[2][3] = {{0, 0, 0}, {.5, .5, .5}};
    fuse2_structure s, trial, probe;
    make_structure(&s, l, 2, z, fr);
    memset(&trial, 0, sizeof trial);
    memset(&probe, 0, sizeof probe);
    for (int rep = 0; rep < 20; rep++) {
        assert_int_equal(run_move(&f, 2, &s, NULL, &trial), FUSE2_MOVE_DONE);
        int moved = -1, nmoved = 0;
        for (int i = 0; i < 2; i++)
            if (memcmp(trial.frac[i], s.frac[i], sizeof s.frac[i]) != 0) {
                moved = i;
                nmoved++;
            }
        assert_int_equal(nmoved, 1);
        /* on the Cartesian 0.75 Å grid, x, y, z < floor(6 / 0.75) = 8 points */
        double cart[3];
        fuse2_structure_cartesian(&trial, moved, cart);
        for (int a = 0; a < 3; a++) {
            double g = cart[a] / 0.75;
            ASSERT_NEAR(g, rint(g), 1e-9);
            assert_true(rint(g) >= 0 && rint(g) <= 7);
        }
        /* farther than exclusion (1.5 Å) from every atom of the input,
         * including its own old position */
        ASSERT_OK(fuse2_structure_copy(&probe, &s));
        ASSERT_OK(fuse2_structure_add_atom(&probe, 11, trial.frac[moved]));
        for (int j = 0; j < 2; j++) assert_true(fuse2_periodic_distance(&probe, 2, j) > 1.5);
    }
    /* a cell without a vacant point: move 2 is not applicable */
    cubic_lattice(2.5, s.lattice);
    assert_false(applicable(&f, 2, &s, NULL));
    fuse2_structure_free(&s);
    fuse2_structure_free(&trial);
    fuse2_structure_free(&probe);
    fixture_free(&f);
}


/* Q6 intent: vac atoms of moves 4 and 6 really move, to a grid point
 * farther than exclusion from every other atom. */
static void test_moves_4_and_6_move_vac_atoms_to_vacant_points(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, "TiO2", 50, 12);
    double l[3][3];
    cubic_lattice(7.5, l);
    const int z[4] = {22, 8, 8, 8};
    const double fr[4][3] = {{0.05, 0.05, 0.05}, {.3, .3, .1}, {.6, .7, .4}, {.2, .8, .55}};
    fuse2_structure s, trial;
    make_structure(&s, l, 4, z, fr);
    memset(&trial, 0, sizeof trial);
    for (int move = 4; move <= 6; move += 2) {
        int runs_with_motion = 0;
        for (int rep = 0; rep < 20; rep++) {
            assert_int_equal(run_move(&f, move, &s, NULL, &trial), FUSE2_MOVE_DONE);
            assert_int_equal(trial.natoms, 4);
            assert_int_equal(count_species(&trial, 22), 1);
            int moved = 0, changed = 0;
            for (int i = 0; i < 4; i++) {
                changed |= trial.species[i] != s.species[i];
                if (memcmp(trial.frac[i], s.frac[i], sizeof s.frac[i]) == 0) continue;
                moved++;
                double cart[3];
                fuse2_structure_cartesian(&trial, i, cart);
                for (int a = 0; a < 3; a++) ASSERT_NEAR(cart[a] / 0.75, rint(cart[a] / 0.75), 1e-9);
                for (int j = 0; j < 4; j++)
                    if (j != i) assert_true(fuse2_periodic_distance(&trial, i, j) > 1.5);
            }
            assert_true(moved > 0 || changed); /* something always changes */
            runs_with_motion += moved > 0;
        }
        assert_true(runs_with_motion >= 10);
    }
    /* a perovskite cell with a = 2.9 Å has no vacant point (every point of
     * space is within a/2 = 1.45 Å of an atom): a vac atom makes the move not
     * applicable (Q7: no endless loop), all-site draws permute species only */
    fuse2_structure full;
    srtio3(&full, 2.9);
    assert_false(applicable(&f, 2, &full, NULL));
    int done = 0, not_applicable = 0;
    for (int rep = 0; rep < 30; rep++) {
        fuse2_move_outcome o = run_move(&f, 6, &full, NULL, &trial);
        if (o == FUSE2_MOVE_NOT_APPLICABLE) {
            not_applicable++;
            continue;
        }
        assert_int_equal(o, FUSE2_MOVE_DONE);
        done++;
        for (int i = 0; i < 5; i++)
            assert_memory_equal(trial.frac[i], full.frac[i], sizeof full.frac[i]);
    }
    assert_true(done > 0 && not_applicable > 0);
    fuse2_structure_free(&full);
    fuse2_structure_free(&s);
    fuse2_structure_free(&trial);
    fixture_free(&f);
}

/* Hand-made triclinic cell; expected fractional coordinates worked out by
 * hand from §6.5 (old-cell coordinates, then x / factor). */
static void test_move_11_variants_give_the_specified_fractional_coordinates(void **state)
{
    (void)state;
    double l[3][3] = {{5.0, 0, 0}, {1.2, 4.5, 0}, {0.7, -0.9, 6.1}};
    const int z[2] = {14, 8};
    const double fr[2][3] = {{0.1, 0.2, 0.3}, {0.6, 0.05, 0.9}};
    fuse2_structure s, out;
    make_structure(&s, l, 2, z, fr);
    memset(&out, 0, sizeof out);
    const struct {
        fuse2_supercell_variant v;
        int axis;
        double copy[2][3]; /* second copy of atoms 0 and 1 */
    } cases[] = {
        {FUSE2_SUPERCELL_REPEAT, 0, {{0.55, 0.2, 0.3}, {0.8, 0.05, 0.9}}},
        {FUSE2_SUPERCELL_TRANSLATE, 0, {{0.55, 0.7, 0.8}, {0.8, 0.55, 0.4}}},
        {FUSE2_SUPERCELL_MIRROR, 0, {{0.95, 0.2, 0.3}, {0.7, 0.05, 0.9}}},
        {FUSE2_SUPERCELL_INVERT, 0, {{0.95, 0.8, 0.7}, {0.7, 0.95, 0.1}}},
        {FUSE2_SUPERCELL_MIRROR, 2, {{0.1, 0.2, 0.85}, {0.6, 0.05, 0.55}}},
        {FUSE2_SUPERCELL_INVERT, 2, {{0.9, 0.8, 0.85}, {0.4, 0.95, 0.55}}},
        {FUSE2_SUPERCELL_TRANSLATE, 1, {{0.6, 0.6, 0.8}, {0.1, 0.525, 0.4}}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ASSERT_OK(fuse2_moves_supercell(&s, 2, cases[c].axis, cases[c].v, &out));
        assert_int_equal(out.natoms, 4);
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
                ASSERT_NEAR(out.lattice[a][b], l[a][b] * (a == cases[c].axis ? 2 : 1), 1e-12);
        for (int i = 0; i < 2; i++) {
            assert_int_equal(out.species[i], z[i]);
            assert_int_equal(out.species[2 + i], z[i]);
            for (int a = 0; a < 3; a++) {
                double first = a == cases[c].axis ? fr[i][a] / 2 : fr[i][a];
                ASSERT_NEAR(out.frac[i][a], first, 1e-12);
                ASSERT_NEAR(out.frac[2 + i][a], cases[c].copy[i][a], 1e-12);
            }
        }
    }
    /* mirror and invert have no factor-3 form */
    assert_int_equal(fuse2_moves_supercell(&s, 3, 0, FUSE2_SUPERCELL_MIRROR, &out), FUSE2_ERR_ARG);
    fuse2_structure_free(&s);
    fuse2_structure_free(&out);
}

static void test_move_12_triples_the_cell(void **state)
{
    (void)state;
    double l[3][3] = {{5.0, 0, 0}, {1.2, 4.5, 0}, {0.7, -0.9, 6.1}};
    const int z[1] = {14};
    const double fr[1][3] = {{0.1, 0.2, 0.3}};
    fuse2_structure s, out;
    make_structure(&s, l, 1, z, fr);
    memset(&out, 0, sizeof out);
    ASSERT_OK(fuse2_moves_supercell(&s, 3, 1, FUSE2_SUPERCELL_TRANSLATE, &out));
    assert_int_equal(out.natoms, 3);
    ASSERT_NEAR(fuse2_structure_volume(&out), 3 * fuse2_structure_volume(&s), 1e-9);
    /* copies f + c e_b + c/3 on a and c, then b / 3 */
    const double want[3][3] = {{0.1, 0.2 / 3, 0.3},
                               {0.1 + 1.0 / 3, 1.2 / 3, 0.3 + 1.0 / 3},
                               {0.1 + 2.0 / 3, 2.2 / 3, 0.3 + 2.0 / 3}};
    for (int i = 0; i < 3; i++)
        for (int a = 0; a < 3; a++) ASSERT_NEAR(out.frac[i][a], want[i][a], 1e-12);
    ASSERT_OK(fuse2_moves_supercell(&s, 3, 2, FUSE2_SUPERCELL_REPEAT, &out));
    ASSERT_NEAR(out.frac[2][2], (0.3 + 2) / 3, 1e-12);
    ASSERT_NEAR(out.frac[2][0], 0.1, 1e-12);
    fuse2_structure_free(&s);
    fuse2_structure_free(&out);
}



/* SrTiO3 a = 3.905 decomposes into 1x1x2 (§16 fact 3): bin 0 = Sr (local
 * 0,0,0), O (1/2,1/2,0); bin 1 = Ti (1/2,1/2,0), O (1/2,0,0), O (0,1/2,0).
 * Worked by hand from §6.4: the atoms nearest the origin are Sr and the
 * first O (tie broken by order), d = (-1/2,0,0); after shifting and swapping,
 * the snapped cell (shrink 1) holds the perovskite translated by (1/2,0,1/2). */
static void test_move_7_swaps_two_submodules_aligned_on_their_nearest_atoms(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, "SrTiO3", 50, 14);
    f.gen.check_bonds = 0;
    f.gen.submodule_shrink = 1.0;
    fuse2_structure s, trial;
    srtio3(&s, 3.905);
    memset(&trial, 0, sizeof trial);
    fuse2_submodules m;
    decompose(&f, &s, &m);
    assert_int_equal(run_move(&f, 7, &s, &m, &trial), FUSE2_MOVE_DONE);
    assert_int_equal(trial.natoms, 5);
    for (int i = 0; i < 5; i++) {
        double want[3] = {s.frac[i][0] + 0.5, s.frac[i][1], s.frac[i][2] + 0.5};
        int found = 0;
        for (int j = 0; j < 5; j++) {
            if (trial.species[j] != s.species[i]) continue;
            int same = 1;
            for (int a = 0; a < 3; a++) {
                double d = trial.frac[j][a] - want[a];
                same &= fabs(d - rint(d)) < 1e-9;
            }
            found += same;
        }
        assert_int_equal(found, 1);
    }
    for (int a = 0; a < 3; a++) ASSERT_NEAR(trial.lattice[a][a], m.ap, 1e-6);
    fuse2_submodules_free(&m);
    fuse2_structure_free(&s);
    fuse2_structure_free(&trial);
    fixture_free(&f);
}

/* Three layers of sub-modules (grid 1x1x3) with distinct contents; move 8
 * must exchange exactly two of them and keep every local position. */
static void test_move_8_exchanges_two_layers(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, "SrTiO3", 50, 13);
    f.gen.check_bonds = 0;
    f.gen.density_cutoff = 0.0; /* a sparse hand-made cell */
    f.gen.submodule_shrink = 1.0;
    fuse2_structure s, trial;
    srtio3(&s, 3.905);
    double ap;
    ASSERT_OK(fuse2_structure_submodule_edge(&s, &ap));
    fuse2_structure_free(&s);
    double l[3][3] = {{ap, 0, 0}, {0, ap, 0}, {0, 0, 1.5 * ap}};
    const int z[5] = {38, 22, 8, 8, 8};
    /* layer 0: Sr; layer 1: Ti, O; layer 2: O, O (local w = 0.2, 0.5, 0.5, 0.1, 0.6) */
    const double fr[5][3] = {{.1, .1, .2 / 3}, {.5, .5, 1.5 / 3}, {0, .5, 1.5 / 3},
                             {.5, 0, 2.1 / 3}, {0, 0, 2.6 / 3}};
    make_structure(&s, l, 5, z, fr);
    memset(&trial, 0, sizeof trial);
    fuse2_submodules m, t;
    decompose(&f, &s, &m);
    assert_int_equal(m.nc, 3);
    assert_int_equal(m.nmods, 3);
    int seen[3] = {0};
    for (int rep = 0; rep < 12; rep++) {
        assert_int_equal(run_move(&f, 8, &s, &m, &trial), FUSE2_MOVE_DONE);
        decompose(&f, &trial, &t);
        assert_int_equal(t.nmods, 3);
        int fixed = -1, nfixed = 0;
        for (int k = 0; k < 3; k++) {
            /* which original layer landed in layer k */
            int from = -1;
            for (int o = 0; o < 3; o++) {
                if (m.mods[o].natoms != t.mods[k].natoms) continue;
                int same = 1;
                for (int i = 0; i < m.mods[o].natoms; i++) {
                    same &= m.mods[o].species[i] == t.mods[k].species[i];
                    for (int a = 0; a < 3; a++)
                        same &= fabs(m.mods[o].local[i][a] - t.mods[k].local[i][a]) < 1e-9;
                }
                if (same) from = o;
            }
            assert_true(from >= 0);
            if (from == k) {
                fixed = k;
                nfixed++;
            }
        }
        assert_int_equal(nfixed, 1); /* a transposition of 3 layers fixes one */
        seen[fixed] = 1;
        fuse2_submodules_free(&t);
    }
    assert_true(seen[0] && seen[1] && seen[2]); /* every pair was exchanged */
    fuse2_submodules_free(&m);
    fuse2_structure_free(&s);
    fuse2_structure_free(&trial);
    fixture_free(&f);
}

/* The geometry checks below switch the bond test off (moves 9, 10 on a
 * single perovskite cell) and the shrink off (move 10) to see exact sites. */
static void test_move_9_changes_the_shape_of_the_grid(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, "SrTiO3", 50, 9);
    f.gen.check_bonds = 0;
    fuse2_structure s, trial;
    srtio3(&s, 3.905);
    memset(&trial, 0, sizeof trial);
    fuse2_submodules m;
    decompose(&f, &s, &m); /* 1x1x2, 90/90/90 */
    int seen_other_grid = 0;
    for (int rep = 0; rep < 20; rep++) {
        assert_int_equal(run_move(&f, 9, &s, &m, &trial), FUSE2_MOVE_DONE);
        double p[6];
        fuse2_lattice_to_parameters(trial.lattice, p);
        int grid[3];
        fuse2_submodule_grid(p, m.ap, grid);
        assert_int_equal(grid[0] * grid[1] * grid[2], 2);
        int same = grid[0] == 1 && grid[1] == 1 && grid[2] == 2 && fabs(p[3] - 90) < 1e-6 &&
                   fabs(p[4] - 90) < 1e-6 && fabs(p[5] - 90) < 1e-6;
        assert_false(same);
        seen_other_grid |= grid[2] != 2;
        assert_int_equal(trial.natoms, 5);
    }
    assert_true(seen_other_grid); /* (1,2,1), (2,1,1) from the monoclinic table */
    fuse2_submodules_free(&m);
    fuse2_structure_free(&s);
    fuse2_structure_free(&trial);
    fixture_free(&f);
}

static void test_move_10_rebuilds_one_submodule_on_the_four_local_sites(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, "SrTiO3", 50, 10);
    f.gen.check_bonds = 0;
    f.gen.submodule_shrink = 1.0;
    fuse2_structure s, trial, base;
    srtio3(&s, 3.905);
    memset(&trial, 0, sizeof trial);
    memset(&base, 0, sizeof base);
    fuse2_submodules m;
    decompose(&f, &s, &m); /* bins of 2 (Sr, O) and 3 (Ti, O, O) atoms */
    ASSERT_OK(fuse2_submodules_assemble_snapped(&m, m.ap, 1.0, &base));
    fuse2_structure_wrap_positions(&base);
    static const double sites[4][3] = {{0, 0, 0}, {.5, 0, 0}, {0, .5, 0}, {.5, .5, 0}};
    for (int rep = 0; rep < 10; rep++) {
        assert_int_equal(run_move(&f, 10, &s, &m, &trial), FUSE2_MOVE_DONE);
        assert_int_equal(trial.natoms, base.natoms);
        /* atoms come out module by module: module k owns a fixed range */
        int first = 0, nchanged = 0;
        for (int k = 0; k < m.nmods; k++) {
            int n = m.mods[k].natoms, changed = 0;
            for (int i = first; i < first + n; i++)
                changed |= memcmp(trial.frac[i], base.frac[i], sizeof base.frac[i]) != 0 ||
                           trial.species[i] != base.species[i];
            if (changed) {
                nchanged++;
                int used[4] = {0};
                int zs[2][3] = {{0}}; /* species of module k before / after */
                for (int i = 0; i < n; i++) {
                    double u[3] = {trial.frac[first + i][0] * m.na,
                                   trial.frac[first + i][1] * m.nb,
                                   trial.frac[first + i][2] * m.nc - k};
                    int hit = -1;
                    for (int t = 0; t < 4; t++)
                        if (fabs(u[0] - sites[t][0]) < 1e-9 && fabs(u[1] - sites[t][1]) < 1e-9 &&
                            fabs(u[2] - sites[t][2]) < 1e-9)
                            hit = t;
                    assert_true(hit >= 0);
                    assert_false(used[hit]);
                    used[hit] = 1;
                    zs[0][i] = m.mods[k].species[i];
                    zs[1][i] = trial.species[first + i];
                }
                for (int i = 0; i < n; i++) /* same species multiset */
                {
                    int a = 0, b = 0;
                    for (int j = 0; j < n; j++) {
                        a += zs[0][j] == zs[0][i];
                        b += zs[1][j] == zs[0][i];
                    }
                    assert_int_equal(a, b);
                }
            }
            first += n;
        }
        assert_int_equal(nchanged, 1);
    }
    /* the current decomposition is untouched (Q9) */
    ASSERT_OK(fuse2_submodules_assemble_snapped(&m, m.ap, 1.0, &trial));
    fuse2_structure_wrap_positions(&trial);
    assert_true(same_structure(&trial, &base));
    fuse2_submodules_free(&m);
    fuse2_structure_free(&s);
    fuse2_structure_free(&trial);
    fuse2_structure_free(&base);
    fixture_free(&f);
}

/* ---- every move on generated structures ---- */
static void check_trial(const fixture *f, int move, const fuse2_structure *cur,
                        const fuse2_structure *trial)
{
    ASSERT_OK(fuse2_structure_validate(trial, "trial"));
    assert_true(fuse2_composition_matches(&f->gen.composition, trial));
    assert_true(trial->natoms <= f->gen.max_atoms);
    if (move == 11) assert_int_equal(trial->natoms, 2 * cur->natoms);
    else if (move == 12) assert_int_equal(trial->natoms, 3 * cur->natoms);
    else if (move < 11) assert_int_equal(trial->natoms, cur->natoms);
    else assert_int_equal(trial->natoms % f->consts.apfu, 0);
}

static void test_every_move_keeps_the_composition_of_generated_structures(void **state)
{
    (void)state;
    const char *formulas[2] = {"SrTiO3", "Ca3Ti2O7"};
    const int fus[2] = {2, 1};
    int done[FUSE2_MOVE_COUNT] = {0};
    for (int c = 0; c < 2; c++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            fixture f;
            fixture_init(&f, formulas[c], 50, seed);
            fuse2_structure cur, trial;
            memset(&cur, 0, sizeof cur);
            memset(&trial, 0, sizeof trial);
            fuse2_rng grng;
            fuse2_rng_init(&grng, seed, 0, 0, FUSE2_RNG_PURPOSE_GEN_INITIAL);
            ASSERT_OK(fuse2_gen_structure(&f.gen, &f.consts, &f.tables, fus[c], 0, &grng, &cur,
                                          NULL));
            fuse2_submodules m;
            decompose(&f, &cur, &m);
            for (int k = 1; k <= FUSE2_MOVE_COUNT; k++) {
                if (!applicable(&f, k, &cur, &m)) continue;
                fuse2_move_outcome o = run_move(&f, k, &cur, &m, &trial);
                if (o != FUSE2_MOVE_DONE) continue;
                done[k - 1]++;
                check_trial(&f, k, &cur, &trial);
            }
            fuse2_submodules_free(&m);
            fuse2_structure_free(&cur);
            fuse2_structure_free(&trial);
            fixture_free(&f);
        }
    /* every move completed at least once on these six seeded structures */
    for (int k = 0; k < FUSE2_MOVE_COUNT; k++)
        if (done[k] == 0) fail_msg("move %d never completed", k + 1);
}


/* ---- moves 3, 5 and 13 ---- */
/* Atoms whose species differ between a and b (same atoms, same order). */
static int changed_atoms(const fuse2_structure *a, const fuse2_structure *b)
{
    int n = 0;
    for (int i = 0; i < a->natoms; i++) n += a->species[i] != b->species[i];
    return n;
}

static void assert_species_permuted_in_place(const fixture *f, const fuse2_structure *cur,
                                             const fuse2_structure *trial)
{
    assert_int_equal(trial->natoms, cur->natoms);
    assert_memory_equal(trial->lattice, cur->lattice, sizeof cur->lattice);
    for (int i = 0; i < cur->natoms; i++)
        assert_memory_equal(trial->frac[i], cur->frac[i], sizeof cur->frac[i]);
    assert_true(fuse2_composition_matches(&f->gen.composition, trial));
    for (int e = 0; e < f->gen.composition.nelements; e++)
        assert_int_equal(count_species(trial, f->gen.composition.z[e]),
                         count_species(cur, f->gen.composition.z[e]));
    /* the species sequence differs; the changed atoms are among the chosen
     * ones, so the chosen atoms held >= 2 species */
    assert_true(changed_atoms(cur, trial) >= 2);
    int first = -1, second = 0;
    for (int i = 0; i < cur->natoms; i++) {
        if (cur->species[i] == trial->species[i]) continue;
        if (first < 0) first = cur->species[i];
        else second |= cur->species[i] != first;
    }
    assert_true(second);
}

/* Five atoms of five different species: a shuffle of k atoms changes at most
 * k of them, and a full derangement (all 5 changed) is frequent for k = 5. */
static void five_species(fuse2_structure *s)
{
    double l[3][3];
    cubic_lattice(6.0, l);
    const int z[5] = {11, 19, 20, 38, 8}; /* Na K Ca Sr O */
    const double fr[5][3] = {{0, 0, 0}, {.5, .5, 0}, {.5, 0, .5}, {0, .5, .5}, {.25, .25, .25}};
    make_structure(s, l, 5, z, fr);
}

static void test_move_3_permutes_between_3_and_n_minus_1_atoms_in_place(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, "NaKCaSrO", 50, 51);
    fuse2_structure s, trial;
    five_species(&s);
    memset(&trial, 0, sizeof trial);
    int seen[6] = {0};
    for (int rep = 0; rep < 200; rep++) {
        assert_int_equal(run_move(&f, 3, &s, NULL, &trial), FUSE2_MOVE_DONE);
        assert_species_permuted_in_place(&f, &s, &trial);
        seen[changed_atoms(&s, &trial)]++;
    }
    /* k <= N - 1 = 4: never all five atoms; k >= 3: more than a swap happens */
    assert_int_equal(seen[5], 0);
    assert_true(seen[3] > 0 && seen[4] > 0);
    fuse2_structure_free(&s);
    /* many atoms of one species (SrTiO3 x 2): still >= 2 species among the
     * chosen atoms, composition and positions kept */
    fixture g;
    fixture_init(&g, "SrTiO3", 50, 52);
    fuse2_structure one;
    srtio3(&one, 3.905);
    ASSERT_OK(fuse2_moves_supercell(&one, 2, 2, FUSE2_SUPERCELL_REPEAT, &s));
    for (int rep = 0; rep < 100; rep++) {
        assert_int_equal(run_move(&g, 3, &s, NULL, &trial), FUSE2_MOVE_DONE);
        assert_species_permuted_in_place(&g, &s, &trial);
        assert_true(changed_atoms(&s, &trial) <= s.natoms - 1);
    }
    fuse2_structure_free(&one);
    fuse2_structure_free(&s);
    fuse2_structure_free(&trial);
    fixture_free(&f);
    fixture_free(&g);
}

static void test_move_5_permutes_all_atoms_in_place(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, "NaKCaSrO", 50, 53);
    fuse2_structure s, trial;
    five_species(&s);
    memset(&trial, 0, sizeof trial);
    int seen[6] = {0};
    for (int rep = 0; rep < 200; rep++) {
        assert_int_equal(run_move(&f, 5, &s, NULL, &trial), FUSE2_MOVE_DONE);
        assert_species_permuted_in_place(&f, &s, &trial);
        seen[changed_atoms(&s, &trial)]++;
    }
    /* k = N: derangements of all five (44 of the 119 non-identity orders) */
    assert_true(seen[5] > 40);
    assert_true(seen[2] > 0);
    /* two species (Na2Cl2): every one of the 5 other orders is reached,
     * including the one that changes all four atoms, never the original */
    fixture g;
    fixture_init(&g, "NaCl", 50, 54);
    double l[3][3];
    cubic_lattice(5.6, l);
    const int z[4] = {11, 11, 17, 17};
    const double fr[4][3] = {{0, 0, 0}, {.5, .5, 0}, {.5, 0, 0}, {0, .5, 0}};
    fuse2_structure nacl;
    make_structure(&nacl, l, 4, z, fr);
    int orders[16] = {0};
    for (int rep = 0; rep < 120; rep++) {
        assert_int_equal(run_move(&g, 5, &nacl, NULL, &trial), FUSE2_MOVE_DONE);
        assert_species_permuted_in_place(&g, &nacl, &trial);
        int code = 0;
        for (int i = 0; i < 4; i++) code |= (trial.species[i] == 17) << i;
        orders[code]++;
    }
    assert_int_equal(orders[0xC], 0); /* the original Na Na Cl Cl */
    const int others[5] = {0x3, 0x5, 0x6, 0x9, 0xA};
    for (int k = 0; k < 5; k++) assert_true(orders[others[k]] > 0);
    fuse2_structure_free(&nacl);
    fuse2_structure_free(&s);
    fuse2_structure_free(&trial);
    fixture_free(&f);
    fixture_free(&g);
}

static void test_move_13_builds_a_checked_structure_with_at_most_the_current_fus(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, "SrTiO3", 50, 55);
    fuse2_structure one, cur, trial;
    srtio3(&one, 3.905);
    memset(&cur, 0, sizeof cur);
    memset(&trial, 0, sizeof trial);
    ASSERT_OK(fuse2_moves_supercell(&one, 3, 0, FUSE2_SUPERCELL_REPEAT, &cur)); /* 3 FUs */
    int fus_seen[4] = {0};
    for (int rep = 0; rep < 12; rep++) {
        assert_int_equal(run_move(&f, 13, &cur, NULL, &trial), FUSE2_MOVE_DONE);
        ASSERT_OK(fuse2_structure_validate(&trial, "move 13"));
        assert_true(fuse2_composition_matches(&f.gen.composition, &trial));
        int fus = trial.natoms / f.consts.apfu;
        assert_true(fus >= 1 && fus <= 3);
        fus_seen[fus]++;
        /* it passes the generator's own error check (§4.4, limit = its N) */
        fuse2_check_result r;
        ASSERT_OK(fuse2_gen_check_structure(&trial, &f.gen, &f.consts, trial.natoms, &r));
        assert_int_equal(r, FUSE2_CHECK_PASSED);
    }
    assert_true(fus_seen[1] + fus_seen[2] + fus_seen[3] == 12);
    /* one FU: only one-FU structures */
    for (int rep = 0; rep < 4; rep++) {
        assert_int_equal(run_move(&f, 13, &one, NULL, &trial), FUSE2_MOVE_DONE);
        assert_int_equal(trial.natoms, 5);
    }
    fuse2_structure_free(&one);
    fuse2_structure_free(&cur);
    fuse2_structure_free(&trial);
    fixture_free(&f);
    /* N < 4: the dispatcher turns 13 into 14 (max_fus = 4 FUs of TiO2) */
    fixture g;
    fixture_init(&g, "TiO2", 12, 56);
    g.gen.use_spglib = 0;
    double l[3][3] = {{4.6, 0, 0}, {0, 4.6, 0}, {0, 0, 2.96}};
    const int z[3] = {22, 8, 8};
    const double fr[3][3] = {{0, 0, 0}, {.3, .3, 0}, {.7, .7, 0}};
    fuse2_structure tio2;
    make_structure(&tio2, l, 3, z, fr);
    int w[FUSE2_MOVE_COUNT] = {0};
    w[12] = 1;
    int more_than_current = 0;
    for (int rep = 0; rep < 10; rep++) {
        int used = 0;
        ASSERT_OK(fuse2_moves_make_trial(&g.ctx, w, &tio2, NULL, &trial, &used));
        assert_int_equal(used, 14);
        assert_true(fuse2_composition_matches(&g.gen.composition, &trial));
        more_than_current += trial.natoms > 3;
    }
    assert_true(more_than_current > 0); /* F = max_fus, not the current 1 FU */
    fuse2_structure_free(&tio2);
    fuse2_structure_free(&trial);
    fixture_free(&g);
}

/* ---- per-move determinism ----
 * SrTiO3 x 2 on a 1x1x4 grid of the generator's template (local sites
 * (0,0,1/2), (1/2,0,1/2), (1/2,1/2,1/2), (0,1/2,1/2)), layers of 3, 2, 3, 2
 * atoms: every one of the 14 moves applies (nc >= 3, 1-3-atom sub-modules,
 * N = 10 <= max_atoms / 3, vacant grid points). */
static void template_srtio3_x2(const fixture *f, fuse2_structure *s)
{
    double ap = f->consts.ap;
    double l[3][3] = {{ap, 0, 0}, {0, ap, 0}, {0, 0, 2 * ap}};
    const int z[10] = {38, 8, 8, 22, 8, 38, 8, 8, 22, 8};
    const double uv[10][2] = {{0, 0}, {.5, 0}, {0, .5}, {.5, .5}, {0, 0},
                              {.5, 0}, {0, .5}, {.5, .5}, {0, 0}, {.5, 0}};
    const int layer[10] = {0, 0, 0, 1, 1, 2, 2, 2, 3, 3};
    double fr[10][3];
    for (int i = 0; i < 10; i++) {
        fr[i][0] = uv[i][0];
        fr[i][1] = uv[i][1];
        fr[i][2] = (layer[i] + 0.5) / 4.0;
    }
    make_structure(s, l, 10, z, fr);
}

static void test_every_move_alone_is_reproducible_from_its_key(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, "SrTiO3", 30, 57);
    f.gen.check_bonds = 0; /* a hand-made cell; the key, not the chemistry, is tested */
    fuse2_structure cur, a, b;
    template_srtio3_x2(&f, &cur);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    fuse2_submodules m;
    decompose(&f, &cur, &m);
    assert_int_equal(m.nc, 4);
    for (int k = 1; k <= FUSE2_MOVE_COUNT; k++)
        if (!applicable(&f, k, &cur, &m)) fail_msg("move %d does not apply to the fixture", k);
    for (int k = 1; k <= FUSE2_MOVE_COUNT; k++) {
        int w[FUSE2_MOVE_COUNT] = {0};
        w[k - 1] = 1;
        int differs = 0;
        for (uint32_t step = 0; step < 5; step++) {
            int ma = 0, mb = 0;
            fuse2_rng_init(&f.rng, 99, 1, step, 0x3001);
            ASSERT_OK(fuse2_moves_make_trial(&f.ctx, w, &cur, &m, &a, &ma));
            fuse2_rng_init(&f.rng, 99, 1, step, 0x3001);
            ASSERT_OK(fuse2_moves_make_trial(&f.ctx, w, &cur, &m, &b, &mb));
            assert_int_equal(ma, k);
            assert_int_equal(mb, k);
            if (!same_structure(&a, &b)) fail_msg("move %d: same key, different trials", k);
            /* the next step's key */
            fuse2_rng_init(&f.rng, 99, 1, step + 1, 0x3001);
            ASSERT_OK(fuse2_moves_make_trial(&f.ctx, w, &cur, &m, &b, &mb));
            assert_int_equal(mb, k);
            differs += !same_structure(&a, &b);
        }
        if (differs == 0) fail_msg("move %d: five different keys gave five identical trials", k);
    }
    fuse2_submodules_free(&m);
    fuse2_structure_free(&cur);
    fuse2_structure_free(&a);
    fuse2_structure_free(&b);
    fixture_free(&f);
}

/* ---- the shrink of moves 7-10 is applied once (§17.3, Q47) ----
 * Every local coordinate of the template cell is 0 or 1/2. A chain of module
 * moves, each trial becoming the next current record the way a walker's
 * accepted trial does (start = the trial, modules from it, revert_atoms
 * None), must keep every local coordinate at 0.8 x {0, 1/2} = {0, 0.4}; a
 * compounded shrink gives 0.32 after the second move. */
/* Counts the local coordinates of s (decomposed on ap) equal to one of
 * values[0..nvalues-1] (within 1e-9) into *hits, all of them into *total. */
static void count_locals(const fuse2_structure *s, double ap, const double *values, int nvalues,
                         int *hits, int *total)
{
    fuse2_submodules t;
    memset(&t, 0, sizeof t);
    ASSERT_OK(fuse2_submodules_decompose(s, ap, &t));
    *hits = *total = 0;
    for (int k = 0; k < t.nmods; k++)
        for (int i = 0; i < t.mods[k].natoms; i++)
            for (int a = 0; a < 3; a++) {
                int hit = 0;
                for (int v = 0; v < nvalues; v++) hit |= fabs(t.mods[k].local[i][a] - values[v]) < 1e-9;
                *hits += hit;
                ++*total;
            }
    fuse2_submodules_free(&t);
}

/* Runs `steps` module moves (8, 9, 10 by weight) from `start` through the
 * walker's path: modules from the current start (moves_walker_modules,
 * revert_atoms None), a trial from the dispatcher, the trial accepted as
 * the next current record. With pass_move the move that built the start is
 * handed on (as the campaign must); without it every start looks unshrunk.
 * *once counts trials whose local coordinates are all in {0, 0.4},
 * *compounded trials with a coordinate at 0.32 = 0.8^2 x 1/2. */
static void module_chain(fixture *f, const fuse2_structure *start, int steps, int pass_move,
                         int *once, int *compounded)
{
    fuse2_structure cur, trial;
    memset(&cur, 0, sizeof cur);
    memset(&trial, 0, sizeof trial);
    ASSERT_OK(fuse2_structure_copy(&cur, start));
    int w[FUSE2_MOVE_COUNT] = {0};
    w[7] = w[8] = w[9] = 1;
    int start_move = 0;
    *once = *compounded = 0;
    const double shrunk_once[2] = {0.0, 0.4}, shrunk_twice = 0.32;
    for (int step = 0; step < steps; step++) {
        fuse2_submodules m;
        memset(&m, 0, sizeof m);
        ASSERT_OK(moves_walker_modules(-1, &cur, &cur, pass_move ? start_move : 0, f->consts.ap,
                                       f->gen.submodule_shrink, &m));
        int used = 0;
        fuse2_rng_init(&f->rng, 5, 0, (uint32_t)step, 0x3001);
        ASSERT_OK(fuse2_moves_make_trial(&f->ctx, w, &cur, &m, &trial, &used));
        assert_true(used >= 8 && used <= 10);
        int hits, total;
        count_locals(&trial, f->consts.ap, shrunk_once, 2, &hits, &total);
        *once += hits == total;
        count_locals(&trial, f->consts.ap, &shrunk_twice, 1, &hits, &total);
        *compounded += hits > 0;
        ASSERT_OK(fuse2_structure_copy(&cur, &trial)); /* accepted: start = trial */
        start_move = used;
        fuse2_submodules_free(&m);
    }
    fuse2_structure_free(&cur);
    fuse2_structure_free(&trial);
}

static void test_repeated_module_moves_shrink_once(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, "SrTiO3", 30, 58);
    f.gen.check_bonds = 0;
    f.gen.use_spglib = 0; /* compare local coordinates directly */
    ASSERT_NEAR(f.gen.submodule_shrink, 0.8, 0.0);
    fuse2_structure cur;
    template_srtio3_x2(&f, &cur);
    int once, compounded;
    module_chain(&f, &cur, 6, 1, &once, &compounded);
    assert_int_equal(once, 6);
    assert_int_equal(compounded, 0);
    /* the check can fail: without the start's move the second trial is
     * shrunk twice (0.32; a third would fail the contact check) */
    module_chain(&f, &cur, 2, 0, &once, &compounded);
    assert_int_equal(once, 1);
    assert_int_equal(compounded, 1);
    /* revert_atoms False decomposes the relaxed structure, which carries no
     * shrink: the next module move shrinks it (once) */
    fuse2_submodules m;
    memset(&m, 0, sizeof m);
    ASSERT_OK(moves_walker_modules(0, &cur, &cur, 8, f.consts.ap, 0.8, &m));
    ASSERT_NEAR(m.applied_shrink, 1.0, 0.0);
    ASSERT_OK(moves_walker_modules(-1, &cur, &cur, 8, f.consts.ap, 0.8, &m));
    ASSERT_NEAR(m.applied_shrink, 0.8, 0.0);
    ASSERT_OK(moves_walker_modules(-1, &cur, &cur, 11, f.consts.ap, 0.8, &m));
    ASSERT_NEAR(m.applied_shrink, 1.0, 0.0);
    fuse2_submodules_free(&m);
    fuse2_structure_free(&cur);
    fixture_free(&f);
}

/* §17.1: with oxidation states the campaign's sub-module is the ionic
 * I_p = 2(R_cat + R_an); the modules the moves act on and the cells they
 * snap to use it, not 4 x mean atomic radius. SrTiO3 (Sr+2 Ti+4 O-2):
 * I_p = 2((1.18 + 0.605)/2 + 1.40) = 4.585 A against ap_s = 4.672 A; a =
 * 11.55 A is 2.52 I_p (3 sub-modules) but 2.47 ap_s (2). */
static void test_oxidation_states_set_the_decomposition_edge(void **state)
{
    (void)state;
    test_write_file("moves-dummy.lib", "species\nSr core 2.0\nTi core 4.0\nO core -2.0\n");
    const char *yaml = test_write_file("moves-ionic.yaml",
                                       "composition: SrTiO3\nmax_atoms: 50\nimax_atoms: 50\nseed: 7\n"
                                       "calculator:\n  name: builtin\n  library: moves-dummy.lib\n"
                                       "oxidation_states: {Sr: 2, Ti: 4, O: -2}\niterations: 10\n");
    fuse2_config cfg;
    ASSERT_OK(fuse2_config_load(yaml, &cfg));
    const double ionic = 2 * ((1.18 + 0.605) / 2 + 1.40);
    ASSERT_NEAR(cfg.ap, ionic, 1e-12);
    fixture f;
    fixture_init(&f, "SrTiO3", 50, 59);
    f.consts.ap = cfg.ap; /* as the worker does */
    f.gen.check_bonds = 0;
    f.gen.use_spglib = 0;
    double l[3][3] = {{11.55, 0, 0}, {0, 4.6, 0}, {0, 0, 2.3}};
    const int z[5] = {38, 22, 8, 8, 8};
    const double fr[5][3] = {{0.1, 0.5, 0.5}, {0.45, 0.5, 0.5}, {0.75, 0.1, 0.1}, {0.3, 0.0, 0.0},
                             {0.9, 0.5, 0.0}};
    fuse2_structure s, trial;
    make_structure(&s, l, 5, z, fr);
    memset(&trial, 0, sizeof trial);
    fuse2_submodules m;
    memset(&m, 0, sizeof m);
    ASSERT_OK(moves_walker_modules(cfg.revert_atoms, &s, &s, 0, cfg.ap, cfg.submodule_shrink, &m));
    ASSERT_NEAR(m.ap, ionic, 1e-12);
    assert_int_equal(m.na, 3);
    assert_int_equal(m.nb, 1);
    assert_int_equal(m.nc, 1);
    /* a reshaped trial: every cell length is a multiple of I_p (c of I_p/2) */
    int w[FUSE2_MOVE_COUNT] = {0};
    w[8] = 1;
    for (int rep = 0; rep < 5; rep++) {
        int used = 0;
        ASSERT_OK(fuse2_moves_make_trial(&f.ctx, w, &s, &m, &trial, &used));
        assert_int_equal(used, 9);
        double p[6];
        fuse2_lattice_to_parameters(trial.lattice, p);
        const double unit[3] = {ionic, ionic, ionic / 2};
        int n = 1;
        for (int a = 0; a < 3; a++) {
            double q = p[a] / unit[a];
            ASSERT_NEAR(q, rint(q), 1e-6);
            n *= (int)rint(q);
        }
        assert_int_equal(n, 3);
    }
    fuse2_submodules_free(&m);
    fuse2_structure_free(&s);
    fuse2_structure_free(&trial);
    fixture_free(&f);
    fuse2_config_free(&cfg);
}

/* ---- dispatcher ---- */
static void test_dispatcher_with_a_single_weight_uses_that_move(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, "SrTiO3", 50, 21);
    f.gen.use_spglib = 0; /* compare atom by atom */
    fuse2_structure s, trial;
    srtio3(&s, 3.905);
    memset(&trial, 0, sizeof trial);
    int w[FUSE2_MOVE_COUNT] = {0};
    w[0] = 3;
    for (int rep = 0; rep < 10; rep++) {
        int used = 0;
        ASSERT_OK(fuse2_moves_make_trial(&f.ctx, w, &s, NULL, &trial, &used));
        assert_int_equal(used, 1);
        int diff = 0;
        for (int i = 0; i < 5; i++) diff += trial.species[i] != s.species[i];
        assert_int_equal(diff, 2);
        assert_int_equal(count_species(&trial, 8), 3);
    }
    /* move 11 alone on a generated SrTiO3 structure doubles it */
    memset(w, 0, sizeof w);
    w[10] = 1;
    fuse2_structure gen;
    memset(&gen, 0, sizeof gen);
    fuse2_rng grng;
    fuse2_rng_init(&grng, 5, 0, 0, FUSE2_RNG_PURPOSE_GEN_INITIAL);
    ASSERT_OK(fuse2_gen_structure(&f.gen, &f.consts, &f.tables, 2, 0, &grng, &gen, NULL));
    int used = 0;
    f.gen.use_spglib = 1;
    ASSERT_OK(fuse2_moves_make_trial(&f.ctx, w, &gen, NULL, &trial, &used));
    assert_int_equal(used, 11);
    assert_int_equal(trial.natoms, 2 * gen.natoms);
    assert_true(fuse2_composition_matches(&f.gen.composition, &trial));
    fuse2_structure_free(&gen);
    fuse2_structure_free(&s);
    fuse2_structure_free(&trial);
    fixture_free(&f);
}

static void test_dispatcher_fails_cleanly_without_an_applicable_move(void **state)
{
    (void)state;
    test_rng_seed(22);
    fixture f;
    fixture_init(&f, "Mn", 50, 22);
    fuse2_structure s, trial;
    one_element(&s, 25, 6);
    memset(&trial, 0, sizeof trial);
    int w[FUSE2_MOVE_COUNT] = {0};
    int used = 0;
    /* all weights zero */
    assert_int_equal(fuse2_moves_make_trial(&f.ctx, w, &s, NULL, &trial, &used), FUSE2_ERR_ARG);
    test_assert_error_contains("all move weights are zero");
    /* only moves that need two elements (Q41: the original spins or crashes) */
    w[0] = w[2] = w[3] = w[4] = w[5] = 5;
    assert_int_equal(fuse2_moves_make_trial(&f.ctx, w, &s, NULL, &trial, &used), FUSE2_ERR_ARG);
    test_assert_error_contains("no move with a positive weight can be applied");
    /* module moves without a decomposition */
    memset(w, 0, sizeof w);
    w[6] = w[7] = w[8] = w[9] = 1;
    assert_int_equal(fuse2_moves_make_trial(&f.ctx, w, &s, NULL, &trial, &used), FUSE2_ERR_ARG);
    /* a negative weight is a configuration error */
    w[3] = -1;
    assert_int_equal(fuse2_moves_make_trial(&f.ctx, w, &s, NULL, &trial, &used), FUSE2_ERR_ARG);
    test_assert_error_contains("negative");
    fuse2_structure_free(&s);
    fuse2_structure_free(&trial);
    fixture_free(&f);
}

static void test_dispatcher_is_reproducible_from_the_rng_key(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, "Ca3Ti2O7", 50, 31);
    fuse2_structure cur, a, b;
    memset(&cur, 0, sizeof cur);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    fuse2_rng grng;
    fuse2_rng_init(&grng, 31, 0, 0, FUSE2_RNG_PURPOSE_GEN_INITIAL);
    ASSERT_OK(fuse2_gen_structure(&f.gen, &f.consts, &f.tables, 2, 0, &grng, &cur, NULL));
    fuse2_submodules m;
    decompose(&f, &cur, &m);
    int w[FUSE2_MOVE_COUNT];
    for (int k = 0; k < FUSE2_MOVE_COUNT; k++) w[k] = 1;
    int differs = 0;
    for (uint32_t step = 0; step < 6; step++) {
        int ma = 0, mb = 0;
        fuse2_rng_init(&f.rng, 77, 2, step, 0x3001);
        ASSERT_OK(fuse2_moves_make_trial(&f.ctx, w, &cur, &m, &a, &ma));
        fuse2_rng_init(&f.rng, 77, 2, step, 0x3001);
        ASSERT_OK(fuse2_moves_make_trial(&f.ctx, w, &cur, &m, &b, &mb));
        assert_int_equal(ma, mb);
        assert_true(same_structure(&a, &b));
        /* the next step's key */
        fuse2_rng_init(&f.rng, 77, 2, step + 1, 0x3001);
        ASSERT_OK(fuse2_moves_make_trial(&f.ctx, w, &cur, &m, &b, &mb));
        differs += !same_structure(&a, &b);
    }
    assert_true(differs >= 5);
    fuse2_submodules_free(&m);
    fuse2_structure_free(&cur);
    fuse2_structure_free(&a);
    fuse2_structure_free(&b);
    fixture_free(&f);
}

/* ---- move 14 and the ML pool ----
 * A tiny pool stub that lives only in this test (two structures), standing
 * in for the ML pool of a later issue: it implements fuse2_pool_source. */
typedef struct test_pool {
    fuse2_structure entries[2];
    int used[2];
    int takes;
} test_pool;

static int test_pool_available(void *user)
{
    test_pool *p = user;
    return !p->used[0] + !p->used[1];
}

static fuse2_status test_pool_take(void *user, fuse2_rng *rng, fuse2_structure *out, int *taken)
{
    test_pool *p = user;
    *taken = 0;
    int left = test_pool_available(p);
    if (left == 0) return FUSE2_OK;
    int pick = fuse2_rng_int(rng, 0, left - 1);
    for (int i = 0; i < 2; i++)
        if (!p->used[i] && pick-- == 0) {
            FUSE2_CALL(fuse2_structure_copy(out, &p->entries[i]));
            p->used[i] = 1;
            p->takes++;
            *taken = 1;
            break;
        }
    return FUSE2_OK;
}

static void test_move_14_takes_unused_pool_entries_then_generates(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, "SrTiO3", 20, 41);
    test_pool pool;
    memset(&pool, 0, sizeof pool);
    srtio3(&pool.entries[0], 3.95);
    srtio3(&pool.entries[1], 4.05);
    fuse2_pool_source src = {&pool, test_pool_available, test_pool_take};
    f.ctx.pool = &src;
    fuse2_structure cur, trial;
    srtio3(&cur, 3.905);
    memset(&trial, 0, sizeof trial);
    int from_pool = 0, generated = 0;
    for (int rep = 0; rep < 12; rep++) {
        int before = pool.takes;
        assert_int_equal(run_move(&f, 14, &cur, NULL, &trial), FUSE2_MOVE_DONE);
        assert_true(fuse2_composition_matches(&f.gen.composition, &trial));
        if (pool.takes > before) {
            from_pool++;
            /* taken as is */
            assert_true(same_structure(&trial, &pool.entries[0]) ||
                        same_structure(&trial, &pool.entries[1]));
        } else {
            generated++;
            assert_true(trial.natoms <= 20);
            ASSERT_OK(fuse2_structure_validate(&trial, "generated"));
        }
    }
    assert_int_equal(from_pool, 2); /* each entry once, never again */
    assert_int_equal(pool.used[0] + pool.used[1], 2);
    assert_int_equal(generated, 10);
    /* move 13 never uses the pool (Q10) */
    pool.used[0] = 0;
    int before = pool.takes;
    for (int rep = 0; rep < 5; rep++)
        assert_int_equal(run_move(&f, 13, &cur, NULL, &trial), FUSE2_MOVE_DONE);
    assert_int_equal(pool.takes, before);
    assert_int_equal(trial.natoms, 5); /* F = floor(5 / 5) = 1 */
    fuse2_structure_free(&pool.entries[0]);
    fuse2_structure_free(&pool.entries[1]);
    fuse2_structure_free(&cur);
    fuse2_structure_free(&trial);
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_composition_test_accepts_whole_formula_units_only),
        cmocka_unit_test(test_an_element_never_gets_moves_1_3_4_5_6),
        cmocka_unit_test(test_three_atoms_allow_move_6_but_not_3_to_5),
        cmocka_unit_test(test_supercell_moves_respect_max_atoms),
        cmocka_unit_test(test_module_moves_need_enough_submodules),
        cmocka_unit_test(test_move_13_becomes_14_below_four_atoms),
        cmocka_unit_test(test_move_1_exchanges_the_species_of_two_different_atoms),
        cmocka_unit_test(test_move_2_puts_an_atom_on_a_vacant_grid_point),
        cmocka_unit_test(test_moves_4_and_6_move_vac_atoms_to_vacant_points),
        cmocka_unit_test(test_move_11_variants_give_the_specified_fractional_coordinates),
        cmocka_unit_test(test_move_12_triples_the_cell),
        cmocka_unit_test(test_move_7_swaps_two_submodules_aligned_on_their_nearest_atoms),
        cmocka_unit_test(test_move_8_exchanges_two_layers),
        cmocka_unit_test(test_move_9_changes_the_shape_of_the_grid),
        cmocka_unit_test(test_move_10_rebuilds_one_submodule_on_the_four_local_sites),
        cmocka_unit_test(test_move_3_permutes_between_3_and_n_minus_1_atoms_in_place),
        cmocka_unit_test(test_move_5_permutes_all_atoms_in_place),
        cmocka_unit_test(test_move_13_builds_a_checked_structure_with_at_most_the_current_fus),
        cmocka_unit_test(test_every_move_alone_is_reproducible_from_its_key),
        cmocka_unit_test(test_repeated_module_moves_shrink_once),
        cmocka_unit_test(test_oxidation_states_set_the_decomposition_edge),
        cmocka_unit_test(test_dispatcher_with_a_single_weight_uses_that_move),
        cmocka_unit_test(test_dispatcher_fails_cleanly_without_an_applicable_move),
        cmocka_unit_test(test_dispatcher_is_reproducible_from_the_rng_key),
        cmocka_unit_test(test_move_14_takes_unused_pool_entries_then_generates),
        cmocka_unit_test(test_every_move_keeps_the_composition_of_generated_structures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
