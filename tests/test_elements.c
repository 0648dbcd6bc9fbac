/* Tests for the element table (src/core/elements.c).
 *
 * Reference values are taken from the publications, not from our table:
 * masses from the CIAAW/IUPAC standard atomic weights, Shannon radii from
 * Shannon, Acta Cryst. A32, 751 (1976), covalent radii from Cordero et al.,
 * Dalton Trans. 2008, 2832, Pauling electronegativities from the CRC /
 * WebElements tables, and FUSE2's columns parsed from the project
 * specification (shared docs/fuse2-algorithm.md §2). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "fuse2/elements.h"

static const fuse2_element *element(const char *symbol)
{
    int z = fuse2_element_z_from_symbol(symbol);
    assert_int_not_equal(z, 0);
    const fuse2_element *e = fuse2_element_by_z(z);
    assert_non_null(e);
    return e;
}

static void test_every_symbol_round_trips_to_its_atomic_number(void **state)
{
    (void)state;
    for (int z = 1; z <= FUSE2_MAX_Z; ++z) {
        const fuse2_element *e = fuse2_element_by_z(z);
        assert_non_null(e);
        assert_int_equal(e->z, z);
        assert_non_null(e->symbol);
        assert_non_null(e->name);
        assert_true(strlen(e->name) > 2);
        assert_int_equal(fuse2_element_z_from_symbol(e->symbol), z);
        assert_int_equal(fuse2_element_z_from_label(e->symbol), z);

        char upper[3] = {0}, lower[3] = {0};
        for (size_t i = 0; i < strlen(e->symbol) && i < 2; ++i) {
            upper[i] = (char)(e->symbol[i] >= 'a' ? e->symbol[i] - 'a' + 'A' : e->symbol[i]);
            lower[i] = (char)(e->symbol[i] <= 'Z' ? e->symbol[i] - 'A' + 'a' : e->symbol[i]);
        }
        assert_int_equal(fuse2_element_z_from_label(upper), z);
        assert_int_equal(fuse2_element_z_from_label(lower), z);
    }
}

static void test_symbols_and_names_of_known_elements(void **state)
{
    (void)state;
    assert_int_equal(fuse2_element_z_from_symbol("H"), 1);
    assert_int_equal(fuse2_element_z_from_symbol("O"), 8);
    assert_int_equal(fuse2_element_z_from_symbol("Sr"), 38);
    assert_int_equal(fuse2_element_z_from_symbol("U"), 92);
    assert_int_equal(fuse2_element_z_from_symbol("Lr"), 103);
    assert_string_equal(fuse2_element_by_z(13)->name, "Aluminium");
    assert_string_equal(fuse2_element_by_z(55)->name, "Caesium");
    assert_string_equal(fuse2_element_by_z(26)->symbol, "Fe");
    assert_string_equal(fuse2_element_by_z(74)->symbol, "W");
}

static void test_atomic_numbers_outside_the_table_give_null(void **state)
{
    (void)state;
    assert_null(fuse2_element_by_z(0));
    assert_null(fuse2_element_by_z(-1));
    assert_null(fuse2_element_by_z(104));
}

static void test_symbol_lookup_is_exact_and_case_sensitive(void **state)
{
    (void)state;
    assert_int_equal(fuse2_element_z_from_symbol("Ca"), 20);
    assert_int_equal(fuse2_element_z_from_symbol("ca"), 0);
    assert_int_equal(fuse2_element_z_from_symbol("CA"), 0);
    assert_int_equal(fuse2_element_z_from_symbol("Ca1"), 0);
    assert_int_equal(fuse2_element_z_from_symbol("Xx"), 0);
    assert_int_equal(fuse2_element_z_from_symbol(""), 0);
    assert_int_equal(fuse2_element_z_from_symbol(NULL), 0);
}

static void test_labels_match_the_leading_element_symbol(void **state)
{
    (void)state;
    assert_int_equal(fuse2_element_z_from_label("Ca"), 20);
    assert_int_equal(fuse2_element_z_from_label("CA"), 20);
    assert_int_equal(fuse2_element_z_from_label("ca"), 20);
    assert_int_equal(fuse2_element_z_from_label("Ca1"), 20);
    assert_int_equal(fuse2_element_z_from_label("O2-"), 8);
    assert_int_equal(fuse2_element_z_from_label("O1"), 8);
    assert_int_equal(fuse2_element_z_from_label("Ti4+"), 22);
    assert_int_equal(fuse2_element_z_from_label("Fe_pv"), 26);
    assert_int_equal(fuse2_element_z_from_label("Sr1_a"), 38);
    assert_int_equal(fuse2_element_z_from_label("Cs2"), 55);
    assert_int_equal(fuse2_element_z_from_label("C1"), 6);
    assert_int_equal(fuse2_element_z_from_label("C"), 6);
    /* Two letters win over one: cobalt, not carbon + oxygen. */
    assert_int_equal(fuse2_element_z_from_label("Co"), 27);
    assert_int_equal(fuse2_element_z_from_label("CO"), 27);
    assert_int_equal(fuse2_element_z_from_label("co3"), 27);
    /* A second letter that makes no symbol falls back to the first. */
    assert_int_equal(fuse2_element_z_from_label("Oa"), 8);
    assert_int_equal(fuse2_element_z_from_label("NX2"), 7);
}

static void test_labels_without_an_element_give_zero(void **state)
{
    (void)state;
    assert_int_equal(fuse2_element_z_from_label("Xx"), 0);
    assert_int_equal(fuse2_element_z_from_label("X1"), 0);
    assert_int_equal(fuse2_element_z_from_label("1Ca"), 0);
    assert_int_equal(fuse2_element_z_from_label("_Ca"), 0);
    assert_int_equal(fuse2_element_z_from_label(""), 0);
    assert_int_equal(fuse2_element_z_from_label(NULL), 0);
}

static void test_masses_are_iupac_standard_atomic_weights(void **state)
{
    (void)state;
    /* CIAAW/IUPAC standard atomic weights (conventional values). */
    ASSERT_NEAR(element("H")->mass, 1.008, 5e-4);
    ASSERT_NEAR(element("O")->mass, 15.999, 5e-4);
    ASSERT_NEAR(element("Sr")->mass, 87.62, 5e-3);
    ASSERT_NEAR(element("Ti")->mass, 47.867, 5e-4);
    ASSERT_NEAR(element("U")->mass, 238.03, 5e-3);
    ASSERT_NEAR(element("Fe")->mass, 55.845, 5e-4);
    ASSERT_NEAR(element("Pb")->mass, 207.2, 0.05);
    /* No stable isotope: mass number of the longest-lived isotope. */
    ASSERT_NEAR(element("Tc")->mass, 98.0, 1e-9);
    ASSERT_NEAR(element("Pm")->mass, 145.0, 1e-9);
}

static void test_masses_increase_with_z_except_the_known_inversions(void **state)
{
    (void)state;
    /* Pairs (z, z+1) whose weights are not increasing: Ar/K, Co/Ni, Te/I,
     * Th/Pa, U/Np, Pu/Am, and Cm/Bk (both 247). */
    const int inversions[] = {18, 27, 52, 90, 92, 94, 96};
    const size_t n_inversions = sizeof inversions / sizeof inversions[0];
    size_t found = 0;
    for (int z = 1; z <= FUSE2_MAX_Z; ++z) {
        double mass = fuse2_element_by_z(z)->mass;
        assert_true(mass > 0.0);
        /* Every atomic weight lies between Z and 3 Z amu. */
        assert_true(mass >= z && mass <= 3.0 * z);
        if (z == FUSE2_MAX_Z)
            break;
        double next = fuse2_element_by_z(z + 1)->mass;
        int expected_inversion = 0;
        for (size_t i = 0; i < n_inversions; ++i)
            expected_inversion |= inversions[i] == z;
        if (expected_inversion) {
            assert_true(next <= mass);
            ++found;
        } else if (!(next > mass)) {
            fail_msg("mass(%d) = %g is not above mass(%d) = %g", z + 1, next, z, mass);
        }
    }
    assert_int_equal(found, n_inversions);
}

static void test_shannon_radii_for_six_coordination(void **state)
{
    (void)state;
    /* Shannon (1976), CN 6. */
    struct { const char *symbol; int charge; double radius; } cases[] = {
        {"O", -2, 1.40},  {"Ti", 4, 0.605}, {"Sr", 2, 1.18}, {"Ca", 2, 1.00},
        {"Y", 3, 0.90},   {"Zr", 4, 0.72},  {"Si", 4, 0.40}, {"Al", 3, 0.535},
        {"Li", 1, 0.76},  {"Mg", 2, 0.72},  {"Zn", 2, 0.74}, {"S", -2, 1.84},
        {"Cl", -1, 1.81}, {"F", -1, 1.33},  {"Na", 1, 1.02}, {"Ba", 2, 1.35},
        {"La", 3, 1.032}, {"Pb", 2, 1.19},  {"Ce", 4, 0.87},
        /* high-spin values */
        {"Fe", 3, 0.645}, {"Fe", 2, 0.78},  {"Mn", 2, 0.83}, {"Co", 2, 0.745},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        int z = fuse2_element_z_from_symbol(cases[i].symbol);
        double r = fuse2_element_ionic_radius(z, cases[i].charge);
        if (fabs(r - cases[i].radius) > 1e-9)
            fail_msg("%s%+d: radius %g, expected %g", cases[i].symbol, cases[i].charge, r,
                     cases[i].radius);
        const fuse2_element *e = fuse2_element_by_z(z);
        int checked = 0;
        for (int k = 0; k < e->n_ionic_radii; ++k)
            if (e->ionic_radii[k].charge == cases[i].charge) {
                assert_int_equal(e->ionic_radii[k].coordination, 6);
                ++checked;
            }
        assert_int_equal(checked, 1);
    }
}

static void test_shannon_radii_use_the_nearest_coordination_when_six_is_missing(void **state)
{
    (void)state;
    /* Shannon (1976): N3- only at CN 4 (1.46), Ra2+ at CN 8 (1.48) and 12. */
    const fuse2_element *n = element("N");
    const fuse2_element *ra = element("Ra");
    ASSERT_NEAR(fuse2_element_ionic_radius(n->z, -3), 1.46, 1e-9);
    ASSERT_NEAR(fuse2_element_ionic_radius(ra->z, 2), 1.48, 1e-9);
    int n_cn = 0, ra_cn = 0;
    for (int k = 0; k < n->n_ionic_radii; ++k)
        if (n->ionic_radii[k].charge == -3)
            n_cn = n->ionic_radii[k].coordination;
    for (int k = 0; k < ra->n_ionic_radii; ++k)
        if (ra->ionic_radii[k].charge == 2)
            ra_cn = ra->ionic_radii[k].coordination;
    assert_int_equal(n_cn, 4);
    assert_int_equal(ra_cn, 8);
}

static void test_missing_ionic_radii_give_zero(void **state)
{
    (void)state;
    assert_true(fuse2_element_ionic_radius(22, 3) == 0.0);  /* Ti3+: not a common state */
    assert_true(fuse2_element_ionic_radius(8, 2) == 0.0);   /* O2+ */
    assert_true(fuse2_element_ionic_radius(2, 1) == 0.0);   /* He */
    assert_true(fuse2_element_ionic_radius(0, 1) == 0.0);
    assert_true(fuse2_element_ionic_radius(104, 3) == 0.0);
}

static void test_ionic_radii_belong_to_common_oxidation_states(void **state)
{
    (void)state;
    for (int z = 1; z <= FUSE2_MAX_Z; ++z) {
        const fuse2_element *e = fuse2_element_by_z(z);
        assert_in_range(e->n_oxidation_states, 0, FUSE2_MAX_OXIDATION_STATES);
        assert_in_range(e->n_ionic_radii, 0, e->n_oxidation_states);
        for (int k = 0; k < e->n_ionic_radii; ++k) {
            const fuse2_ionic_radius *r = &e->ionic_radii[k];
            int listed = 0;
            for (int i = 0; i < e->n_oxidation_states; ++i)
                listed |= e->oxidation_states[i] == r->charge;
            if (!listed)
                fail_msg("%s: radius for charge %d, not a common oxidation state",
                         e->symbol, r->charge);
            assert_in_range(r->coordination, 1, 14);
            /* Shannon's only negative radii are for H+ and very small cations. */
            assert_true(r->radius != 0.0 && r->radius < 2.5 && r->radius > -0.4);
        }
    }
}

static void test_common_oxidation_states(void **state)
{
    (void)state;
    const fuse2_element *o = element("O");
    assert_int_equal(o->n_oxidation_states, 1);
    assert_int_equal(o->oxidation_states[0], -2);
    const fuse2_element *fe = element("Fe");
    assert_int_equal(fe->n_oxidation_states, 2);
    assert_int_equal(fe->oxidation_states[0], 2);
    assert_int_equal(fe->oxidation_states[1], 3);
    const fuse2_element *cl = element("Cl");
    const int cl_states[] = {-1, 1, 3, 5, 7};
    assert_int_equal(cl->n_oxidation_states, 5);
    for (int i = 0; i < 5; ++i)
        assert_int_equal(cl->oxidation_states[i], cl_states[i]);
    assert_int_equal(element("Ti")->oxidation_states[0], 4);
    assert_int_equal(element("He")->n_oxidation_states, 0);
    assert_int_equal(element("Ar")->n_oxidation_states, 0);
}

static void test_covalent_radii_are_cordero_values(void **state)
{
    (void)state;
    /* Cordero et al. (2008), Å. */
    ASSERT_NEAR(element("H")->covalent_radius, 0.31, 1e-9);
    ASSERT_NEAR(element("C")->covalent_radius, 0.76, 1e-9);  /* sp3 */
    ASSERT_NEAR(element("O")->covalent_radius, 0.66, 1e-9);
    ASSERT_NEAR(element("Fe")->covalent_radius, 1.52, 1e-9); /* high spin */
    ASSERT_NEAR(element("Mn")->covalent_radius, 1.61, 1e-9); /* high spin */
    ASSERT_NEAR(element("Co")->covalent_radius, 1.50, 1e-9); /* high spin */
    ASSERT_NEAR(element("Sr")->covalent_radius, 1.95, 1e-9);
    ASSERT_NEAR(element("Cs")->covalent_radius, 2.44, 1e-9);
    ASSERT_NEAR(element("Cm")->covalent_radius, 1.69, 1e-9);
    /* Cordero tabulates nothing beyond Cm. */
    for (int z = 1; z <= FUSE2_MAX_Z; ++z) {
        double r = fuse2_element_by_z(z)->covalent_radius;
        if (z <= 96)
            assert_true(r > 0.2 && r < 3.0);
        else
            assert_true(r == 0.0);
    }
}

static void test_electronegativities_are_pauling_values(void **state)
{
    (void)state;
    ASSERT_NEAR(element("F")->electronegativity, 3.98, 1e-9);
    ASSERT_NEAR(element("O")->electronegativity, 3.44, 1e-9);
    ASSERT_NEAR(element("H")->electronegativity, 2.20, 1e-9);
    ASSERT_NEAR(element("Ti")->electronegativity, 1.54, 1e-9);
    ASSERT_NEAR(element("Cs")->electronegativity, 0.79, 1e-9);
    for (int z = 1; z <= FUSE2_MAX_Z; ++z) {
        double chi = fuse2_element_by_z(z)->electronegativity;
        if (z == 2 || z == 10 || z == 18)
            assert_true(chi == 0.0);
        else
            assert_true(chi >= 0.7 && chi <= 3.98);
    }
}

static void test_fuse2_columns_of_selected_elements(void **state)
{
    (void)state;
    /* Spec §2: symbol, min coordination, max coordination, radius. */
    struct { const char *symbol; int min_cn, max_cn; double radius; } cases[] = {
        {"H", 1, 2, 0.46},   {"O", 2, 8, 0.74},   {"Ti", 4, 12, 1.47}, {"Sr", 6, 12, 2.15},
        {"Rb", 6, 14, 2.50}, {"Ca", 5, 12, 1.97}, {"Xe", 4, 6, 2.18},  {"Tm", 6, 12, 1.00},
        {"At", 6, 6, 0.62},  {"Ra", 8, 12, 2.35}, {"U", 2, 12, 1.56},  {"No", 6, 12, 1.00},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        const fuse2_element *e = element(cases[i].symbol);
        assert_int_equal(e->fuse_supported, 1);
        assert_int_equal(e->fuse_min_coordination, cases[i].min_cn);
        assert_int_equal(e->fuse_max_coordination, cases[i].max_cn);
        ASSERT_NEAR(e->fuse_atomic_radius, cases[i].radius, 1e-9);
    }
    const char *unsupported[] = {"He", "Ne", "Ar", "Kr", "Rn", "Es", "Fm", "Md", "Lr"};
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; ++i)
        assert_int_equal(element(unsupported[i])->fuse_supported, 0);
}

/* Reads the whole specification section 2 and compares every entry. */
static void test_fuse2_columns_match_the_specification(void **state)
{
    (void)state;
    const char *path = test_shared_path("docs/fuse2-algorithm.md");
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';

    const char *start = strstr(text, "## 2. Element data");
    assert_non_null(start);
    start = strstr(start, "standard atomic weights.");
    assert_non_null(start);
    const char *end = strstr(start, "(the 1.00");
    assert_non_null(end);

    int seen[FUSE2_MAX_Z + 1] = {0};
    int n_entries = 0;
    for (const char *p = start + strlen("standard atomic weights."); p < end; ++p) {
        if (!(*p >= 'A' && *p <= 'Z') || (p[-1] != ' ' && p[-1] != '\n'))
            continue;
        char symbol[3];
        int min_cn, max_cn, used = 0;
        double radius;
        if (sscanf(p, "%2[A-Za-z] %d %d %lf%n", symbol, &min_cn, &max_cn, &radius, &used) != 4)
            continue;
        int z = fuse2_element_z_from_symbol(symbol);
        if (z == 0)
            fail_msg("spec lists unknown symbol '%s'", symbol);
        const fuse2_element *e = fuse2_element_by_z(z);
        if (!e->fuse_supported || e->fuse_min_coordination != min_cn ||
            e->fuse_max_coordination != max_cn || fabs(e->fuse_atomic_radius - radius) > 1e-9)
            fail_msg("%s: table (%d, %d, %d, %g), spec (%d, %d, %g)", symbol, e->fuse_supported,
                     e->fuse_min_coordination, e->fuse_max_coordination, e->fuse_atomic_radius,
                     min_cn, max_cn, radius);
        seen[z] = 1;
        ++n_entries;
        p += used - 1;
    }
    /* 103 elements minus He, Ne, Ar, Kr, Rn, Es, Fm, Md, Lr. */
    assert_int_equal(n_entries, 94);
    for (int z = 1; z <= FUSE2_MAX_Z; ++z)
        if (fuse2_element_by_z(z)->fuse_supported != seen[z])
            fail_msg("%s: fuse_supported = %d but the spec %s it", fuse2_element_by_z(z)->symbol,
                     fuse2_element_by_z(z)->fuse_supported, seen[z] ? "lists" : "omits");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_symbol_round_trips_to_its_atomic_number),
        cmocka_unit_test(test_symbols_and_names_of_known_elements),
        cmocka_unit_test(test_atomic_numbers_outside_the_table_give_null),
        cmocka_unit_test(test_symbol_lookup_is_exact_and_case_sensitive),
        cmocka_unit_test(test_labels_match_the_leading_element_symbol),
        cmocka_unit_test(test_labels_without_an_element_give_zero),
        cmocka_unit_test(test_masses_are_iupac_standard_atomic_weights),
        cmocka_unit_test(test_masses_increase_with_z_except_the_known_inversions),
        cmocka_unit_test(test_shannon_radii_for_six_coordination),
        cmocka_unit_test(test_shannon_radii_use_the_nearest_coordination_when_six_is_missing),
        cmocka_unit_test(test_missing_ionic_radii_give_zero),
        cmocka_unit_test(test_ionic_radii_belong_to_common_oxidation_states),
        cmocka_unit_test(test_common_oxidation_states),
        cmocka_unit_test(test_covalent_radii_are_cordero_values),
        cmocka_unit_test(test_electronegativities_are_pauling_values),
        cmocka_unit_test(test_fuse2_columns_of_selected_elements),
        cmocka_unit_test(test_fuse2_columns_match_the_specification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
