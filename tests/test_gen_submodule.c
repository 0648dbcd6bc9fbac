/* Decomposition into sub-modules and re-assembly (fuse2-algorithm.md §5,
 * §16 facts 3, 4, 16; lossless round trip of §17.3). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuse2/composition.h"
#include "fuse2/gen.h"
#include "fuse2/structure_io.h"
#include "fuse2/submodule.h"
#include "testutil.h"

/* FUSE2's own decomposition (§5.2): on ap_s of the structure's atoms (§3.1). */
static void decompose_fuse2(const fuse2_structure *s, fuse2_submodules *m)
{
    double ap_s;
    ASSERT_OK(fuse2_structure_submodule_edge(s, &ap_s));
    ASSERT_OK(fuse2_submodules_decompose(s, ap_s, m));
}

static void structure_from_composition(const char *formula, const double lengths[3],
                                       fuse2_structure *s)
{
    fuse2_composition comp;
    ASSERT_OK(fuse2_composition_parse(formula, &comp));
    ASSERT_OK(fuse2_structure_init(s, 8));
    double L[3][3] = {{lengths[0], 0, 0}, {0, lengths[1], 0}, {0, 0, lengths[2]}};
    memcpy(s->lattice, L, sizeof L);
    for (int e = 0; e < comp.nelements; e++)
        for (int k = 0; k < comp.count[e]; k++)
            ASSERT_OK(fuse2_structure_add_atom(s, comp.z[e],
                                               (const double[3]){test_uniform(0, 1),
                                                                 test_uniform(0, 1),
                                                                 test_uniform(0, 1)}));
}

/* §16 fact 4 (ap = 4 makes every ratio exact in binary) */
static void test_grid_rounds_half_to_even_and_zero_to_one(void **state)
{
    (void)state;
    int g[3];
    fuse2_submodule_grid((const double[3]){10.0, 14.0, 5.0}, 4.0, g);
    assert_int_equal(g[0], 2); /* 2.5 -> 2 */
    assert_int_equal(g[1], 4); /* 3.5 -> 4 */
    assert_int_equal(g[2], 2); /* 2 * 5 / 4 = 2.5 -> 2 */
    fuse2_submodule_grid((const double[3]){1.0, 1.9, 0.9}, 4.0, g);
    assert_int_equal(g[0], 1); /* 0.25 -> 0 -> 1 */
    assert_int_equal(g[1], 1); /* 0.475 -> 0 -> 1 */
    assert_int_equal(g[2], 1); /* 0.45 -> 0 -> 1 (Q5: nc, not nb) */
}

/* §16 facts 1 (decomposition ap_s) and 16 (grids of upstream probe structures) */
static void test_grids_of_fuse2_probe_structures(void **state)
{
    (void)state;
    test_rng_seed(16);
    static const struct {
        const char *formula;
        double lengths[3];
        int grid[3];
        double ap_s; /* 0: not listed */
    } probes[] = {{"Ca3Ti2O7", {3.89, 3.99, 19.49}, {1, 1, 8}, 4.676667},
                  {"CoAs2", {7.56, 3.52, 4.44}, {2, 1, 2}, 0},
                  {"Mn", {4.71, 2.47, 2.48}, {1, 1, 1}, 0},
                  {"YWB4", {3.11, 5.47, 3.56}, {1, 1, 2}, 0},
                  {"Cu7S4", {5, 5, 5}, {1, 1, 2}, 4.770909}};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        fuse2_structure s = {0};
        structure_from_composition(probes[i].formula, probes[i].lengths, &s);
        double ap_s;
        ASSERT_OK(fuse2_structure_submodule_edge(&s, &ap_s));
        if (probes[i].ap_s > 0) ASSERT_NEAR(ap_s, probes[i].ap_s, 1e-12);
        fuse2_submodules m = {0};
        ASSERT_OK(fuse2_submodules_decompose(&s, ap_s, &m));
        assert_int_equal(m.na, probes[i].grid[0]);
        assert_int_equal(m.nb, probes[i].grid[1]);
        assert_int_equal(m.nc, probes[i].grid[2]);
        assert_int_equal(m.nmods, m.na * m.nb * m.nc);
        /* every atom binned exactly once (YWB4: all 6 atoms) */
        assert_int_equal(fuse2_submodules_natoms(&m), s.natoms);
        fuse2_submodules_free(&m);
        fuse2_structure_free(&s);
    }
}

static void cubic_srtio3(fuse2_structure *s)
{
    ASSERT_OK(fuse2_structure_init(s, 5));
    double L[3][3] = {{3.905, 0, 0}, {0, 3.905, 0}, {0, 0, 3.905}};
    memcpy(s->lattice, L, sizeof L);
    ASSERT_OK(fuse2_structure_add_atom(s, 38, (const double[3]){0, 0, 0}));
    ASSERT_OK(fuse2_structure_add_atom(s, 22, (const double[3]){0.5, 0.5, 0.5}));
    ASSERT_OK(fuse2_structure_add_atom(s, 8, (const double[3]){0.5, 0.5, 0}));
    ASSERT_OK(fuse2_structure_add_atom(s, 8, (const double[3]){0.5, 0, 0.5}));
    ASSERT_OK(fuse2_structure_add_atom(s, 8, (const double[3]){0, 0.5, 0.5}));
}

/* §16 fact 3 */
static void test_cubic_srtio3_splits_into_two_layers_of_five_atoms(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    cubic_srtio3(&s);
    fuse2_submodules m = {0};
    decompose_fuse2(&s, &m);
    ASSERT_NEAR(m.ap, 4.672, 1e-12);
    assert_int_equal(m.na, 1);
    assert_int_equal(m.nb, 1);
    assert_int_equal(m.nc, 2);
    assert_int_equal(m.mods[0].natoms, 2);
    assert_int_equal(m.mods[0].species[0], 38);
    assert_int_equal(m.mods[0].species[1], 8);
    ASSERT_NEAR(m.mods[0].local[1][0], 0.5, 1e-12);
    ASSERT_NEAR(m.mods[0].local[1][2], 0.0, 1e-12);
    assert_int_equal(m.mods[1].natoms, 3); /* original: 6 (Q1) */
    assert_int_equal(m.mods[1].species[0], 22);
    for (int a = 0; a < 3; a++) ASSERT_NEAR(m.mods[1].local[a][2], 0.0, 1e-7);
    assert_int_equal(fuse2_submodules_natoms(&m), 5);
    /* re-assembly of the moves: cell 4.672^3, O(1/2,1/2,0) -> (0.4, 0.4, 0) */
    fuse2_structure r = {0};
    ASSERT_OK(fuse2_submodules_assemble_snapped(&m, m.ap, 0.8, &r));
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) ASSERT_NEAR(r.lattice[i][j], i == j ? 4.672 : 0.0, 1e-12);
    assert_int_equal(r.natoms, 5);
    assert_int_equal(r.species[1], 8);
    ASSERT_NEAR(r.frac[1][0], 0.4, 1e-12);
    ASSERT_NEAR(r.frac[1][1], 0.4, 1e-12);
    ASSERT_NEAR(r.frac[1][2], 0.0, 1e-12);
    /* Ti (1/2,1/2,1/2): bin 1, local (1/2,1/2,0) -> (0.4, 0.4, 0.5) */
    assert_int_equal(r.species[2], 22);
    ASSERT_NEAR(r.frac[2][2], 0.5, 1e-7);
    /* the stored sub-modules are untouched (Q3): again gives the same */
    fuse2_structure r2 = {0};
    ASSERT_OK(fuse2_submodules_assemble_snapped(&m, m.ap, 0.8, &r2));
    assert_memory_equal(r.frac, r2.frac, sizeof(double[3]) * 5);
    assert_int_equal(m.mods[0].natoms, 2);
    ASSERT_NEAR(m.mods[0].local[1][0], 0.5, 1e-12);
    fuse2_structure_free(&r2);
    fuse2_structure_free(&r);
    fuse2_submodules_free(&m);
    fuse2_structure_free(&s);
}

/* assemble(decompose(s)) == s: same lattice, each atom matched to one of
 * the same species within 1e-10 A (coordinates compared modulo 1). */
static void assert_round_trip(const fuse2_structure *s, const char *what)
{
    fuse2_submodules m = {0};
    decompose_fuse2(s, &m);
    assert_int_equal(fuse2_submodules_natoms(&m), s->natoms);
    fuse2_submodules copy = {0};
    ASSERT_OK(fuse2_submodules_copy(&copy, &m));
    fuse2_submodules_free(&m);
    fuse2_structure r = {0};
    ASSERT_OK(fuse2_submodules_assemble(&copy, &r));
    fuse2_submodules_free(&copy);
    assert_int_equal(r.natoms, s->natoms);
    assert_memory_equal(r.lattice, s->lattice, sizeof r.lattice);
    char *used = calloc((size_t)s->natoms + 1, 1);
    for (int i = 0; i < r.natoms; i++) {
        assert_true(r.frac[i][0] >= -1e-8 && r.frac[i][0] < 1.0);
        int match = -1;
        for (int j = 0; j < s->natoms && match < 0; j++) {
            if (used[j] || s->species[j] != r.species[i]) continue;
            double d[3], cart2 = 0.0;
            for (int k = 0; k < 3; k++) {
                d[k] = r.frac[i][k] - s->frac[j][k];
                d[k] -= rint(d[k]);
            }
            for (int x = 0; x < 3; x++) {
                double v = d[0] * s->lattice[0][x] + d[1] * s->lattice[1][x] + d[2] * s->lattice[2][x];
                cart2 += v * v;
            }
            if (sqrt(cart2) <= 1e-10) match = j;
        }
        if (match < 0) fail_msg("%s: assembled atom %d has no partner in the input", what, i + 1);
        used[match] = 1;
    }
    free(used);
    fuse2_structure_free(&r);
}

static int round_trip_cifs_under(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            n += round_trip_cifs_under(path);
        } else {
            size_t len = strlen(path);
            if (len > 4 && strcmp(path + len - 4, ".cif") == 0) {
                fuse2_structure s = {0};
                ASSERT_OK(fuse2_structure_read(path, FUSE2_FORMAT_AUTO, &s));
                assert_round_trip(&s, path);
                fuse2_structure_free(&s);
                n++;
            }
        }
    }
    closedir(d);
    return n;
}

static void test_decomposition_is_lossless_for_every_shared_cif(void **state)
{
    (void)state;
    int n = round_trip_cifs_under(test_shared_path("testdata"));
    assert_true(n >= 5); /* the five ICSD structures of testdata/gulp */
}

static void test_decomposition_is_lossless_for_generated_and_skewed_structures(void **state)
{
    (void)state;
    fuse2_shape_tables t = {0};
    ASSERT_OK(fuse2_shape_tables_build(40, &t));
    const char *formulas[] = {"Ca3Ti2O7", "YWB4", "Li4OBrCl", "WCl2"};
    for (int f = 0; f < 4; f++) {
        fuse2_gen_params p;
        fuse2_gen_params_default(&p);
        ASSERT_OK(fuse2_composition_parse(formulas[f], &p.composition));
        p.max_atoms = p.imax_atoms = 50;
        fuse2_gen_constants c;
        ASSERT_OK(fuse2_gen_constants_compute(&p, &c));
        for (int k = 0; k < 8; k++) {
            fuse2_rng rng;
            fuse2_rng_init(&rng, 5, 0, (uint32_t)k, FUSE2_RNG_PURPOSE_GEN_INITIAL);
            fuse2_structure s = {0};
            ASSERT_OK(fuse2_gen_structure(&p, &c, &t, c.imax_fus, k % 2, &rng, &s, NULL));
            assert_round_trip(&s, formulas[f]);
            fuse2_structure_free(&s);
        }
    }
    fuse2_shape_tables_free(&t);
    /* random triclinic cells in skewed bases, atoms also outside [0, 1) */
    test_rng_seed(3);
    for (int k = 0; k < 20; k++) {
        fuse2_structure s = {0};
        ASSERT_OK(fuse2_structure_init(&s, 0));
        test_random_triclinic(s.lattice, 4.0, 15.0, 60.0, 120.0);
        test_skew_lattice(s.lattice, 3, 2, NULL);
        test_add_random_atoms(&s, 1 + k, 0.5);
        assert_round_trip(&s, "random triclinic");
        fuse2_structure_free(&s);
    }
}

/* Fractional local coordinates (Q2): in a skewed cell an atom keeps its bin
 * and its position relative to the sub-module; the snapped assembly with
 * shrink 1 of a cell whose lengths already are multiples of ap and ap/2
 * reproduces the crystal. */
static void test_snapped_assembly_without_shrink_keeps_a_matching_cell(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    ASSERT_OK(fuse2_structure_init(&s, 2));
    double params[6] = {2 * 4.672, 4.672, 1.5 * 4.672, 80.0, 100.0, 110.0};
    ASSERT_OK(fuse2_lattice_from_parameters(params, s.lattice));
    ASSERT_OK(fuse2_structure_add_atom(&s, 38, (const double[3]){0.7, 0.2, 0.9}));
    ASSERT_OK(fuse2_structure_add_atom(&s, 22, (const double[3]){0.1, 0.6, 0.4}));
    ASSERT_OK(fuse2_structure_add_atom(&s, 8, (const double[3]){0.5, 0.5, 0.5}));
    ASSERT_OK(fuse2_structure_add_atom(&s, 8, (const double[3]){0.25, 0.0, 0.0}));
    ASSERT_OK(fuse2_structure_add_atom(&s, 8, (const double[3]){0.75, 0.5, 0.0}));
    fuse2_submodules m = {0};
    decompose_fuse2(&s, &m); /* SrTiO3: ap_s = 4.672 */
    assert_int_equal(m.na, 2);
    assert_int_equal(m.nb, 1);
    assert_int_equal(m.nc, 3);
    ASSERT_NEAR(m.angles[0], 80.0, 1e-9);
    fuse2_structure r = {0};
    ASSERT_OK(fuse2_submodules_assemble_snapped(&m, m.ap, 1.0, &r));
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) ASSERT_NEAR(r.lattice[i][j], s.lattice[i][j], 1e-9);
    /* the shrink is applied once: local u -> 0.8 u in the sub-module */
    fuse2_structure shrunk = {0};
    ASSERT_OK(fuse2_submodules_assemble_snapped(&m, m.ap, 0.8, &shrunk));
    /* Sr (0.7, 0.2, 0.9): bin (1, 0, 2), u = (0.4, 0.2, 0.7) -> (1.32/2, 0.16, 2.56/3) */
    int sr = r.species[0] == 38 ? 0 : -1;
    for (int i = 0; i < r.natoms; i++)
        if (shrunk.species[i] == 38) sr = i;
    ASSERT_NEAR(shrunk.frac[sr][0], 0.66, 1e-12);
    ASSERT_NEAR(shrunk.frac[sr][1], 0.16, 1e-12);
    ASSERT_NEAR(shrunk.frac[sr][2], 2.56 / 3.0, 1e-12);
    assert_int_equal(fuse2_submodules_assemble_snapped(&m, m.ap, 0.0, &shrunk), FUSE2_ERR_ARG);
    fuse2_structure_free(&shrunk);
    fuse2_structure_free(&r);
    fuse2_submodules_free(&m);
    fuse2_structure_free(&s);
}

static void test_snapped_assembly_falls_back_to_right_angles_for_impossible_shapes(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    cubic_srtio3(&s);
    fuse2_submodules m = {0};
    decompose_fuse2(&s, &m);
    m.angles[0] = 150.0; /* a move-9 shape (150, 150, 90) has no cell */
    m.angles[1] = 150.0;
    fuse2_structure r = {0};
    ASSERT_OK(fuse2_submodules_assemble_snapped(&m, m.ap, 0.8, &r));
    double params[6];
    fuse2_lattice_to_parameters(r.lattice, params);
    for (int i = 3; i < 6; i++) ASSERT_NEAR(params[i], 90.0, 1e-9);
    fuse2_structure_free(&r);
    fuse2_submodules_free(&m);
    fuse2_structure_free(&s);
}

static void test_decomposition_rejects_elements_without_fuse2_data(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    ASSERT_OK(fuse2_structure_init(&s, 1));
    double L[3][3] = {{5, 0, 0}, {0, 5, 0}, {0, 0, 5}};
    memcpy(s.lattice, L, sizeof L);
    fuse2_submodules m = {0};
    double ap_s;
    assert_int_equal(fuse2_structure_submodule_edge(&s, &ap_s), FUSE2_ERR_ARG); /* no atoms */
    assert_int_equal(fuse2_submodules_decompose(&s, 4.0, &m), FUSE2_ERR_ARG);
    int unsupported = 0;
    for (int z = 1; z <= 103 && !unsupported; z++) {
        s.natoms = 0;
        ASSERT_OK(fuse2_structure_add_atom(&s, z, (const double[3]){0, 0, 0}));
        if (fuse2_structure_submodule_edge(&s, &ap_s) == FUSE2_ERR_UNSUPPORTED) unsupported = z;
    }
    assert_true(unsupported > 0);
    test_assert_error_contains("no FUSE2 atomic radius");
    /* the edge is the caller's (campaign ap); an element without FUSE2 data
     * still decomposes on a given edge, but not on a meaningless one */
    ASSERT_OK(fuse2_submodules_decompose(&s, 4.0, &m));
    assert_int_equal(fuse2_submodules_natoms(&m), 1);
    fuse2_submodules_free(&m);
    assert_int_equal(fuse2_submodules_decompose(&s, 0.0, &m), FUSE2_ERR_ARG);
    test_assert_error_contains("sub-module edge must be > 0");
    assert_int_equal(fuse2_submodules_decompose(&s, NAN, &m), FUSE2_ERR_ARG);
    fuse2_structure_free(&s);
}

/* The grid follows the edge it is given (§17.1): SrTiO3 with oxidation
 * states has I_p = 2(R_cat + R_an) = 4.585 A instead of ap_s = 4.672 A; a
 * = 11.55 A is 2.52 I_p but 2.47 ap_s, so the grids differ in na. */
static void test_decomposition_grid_follows_the_given_edge(void **state)
{
    (void)state;
    fuse2_structure s = {0};
    ASSERT_OK(fuse2_structure_init(&s, 5));
    double L[3][3] = {{11.55, 0, 0}, {0, 4.6, 0}, {0, 0, 2.3}};
    memcpy(s.lattice, L, sizeof L);
    const int z[5] = {38, 22, 8, 8, 8};
    const double f[5][3] = {{0.1, 0.5, 0.5}, {0.45, 0.5, 0.5}, {0.75, 0.1, 0.1}, {0.3, 0.0, 0.0}, {0.9, 0.5, 0.0}};
    for (int i = 0; i < 5; i++) ASSERT_OK(fuse2_structure_add_atom(&s, z[i], f[i]));
    fuse2_submodules m = {0};
    decompose_fuse2(&s, &m);
    ASSERT_NEAR(m.ap, 4.672, 1e-12);
    assert_int_equal(m.na, 2);
    const double ionic = 2 * ((1.18 + 0.605) / 2 + 1.40);
    ASSERT_OK(fuse2_submodules_decompose(&s, ionic, &m));
    ASSERT_NEAR(m.ap, ionic, 0.0);
    assert_int_equal(m.na, 3);
    assert_int_equal(m.nb, 1);
    assert_int_equal(m.nc, 1);
    assert_int_equal(fuse2_submodules_natoms(&m), 5);
    ASSERT_NEAR(m.applied_shrink, 1.0, 0.0);
    /* Sr at a = 0.1 -> bin 0, local 0.3; Ti at 0.45 -> bin 1, local 0.35 */
    assert_int_equal(m.mods[0].natoms, 2);
    ASSERT_NEAR(m.mods[0].local[0][0], 0.3, 1e-12);
    assert_int_equal(m.mods[1].species[0], 22);
    ASSERT_NEAR(m.mods[1].local[0][0], 0.35, 1e-12);
    fuse2_submodules_free(&m);
    fuse2_structure_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_rounds_half_to_even_and_zero_to_one),
        cmocka_unit_test(test_grids_of_fuse2_probe_structures),
        cmocka_unit_test(test_cubic_srtio3_splits_into_two_layers_of_five_atoms),
        cmocka_unit_test(test_decomposition_is_lossless_for_every_shared_cif),
        cmocka_unit_test(test_decomposition_is_lossless_for_generated_and_skewed_structures),
        cmocka_unit_test(test_snapped_assembly_without_shrink_keeps_a_matching_cell),
        cmocka_unit_test(test_snapped_assembly_falls_back_to_right_angles_for_impossible_shapes),
        cmocka_unit_test(test_decomposition_rejects_elements_without_fuse2_data),
        cmocka_unit_test(test_decomposition_grid_follows_the_given_edge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
