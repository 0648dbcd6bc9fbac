/* GULP potential-library reader and contact tables. Reference values are the
 * numbers written in ../shared/potentials/ (FUSE's lib2.lib, Pedone 2006 and
 * the lrcfmd/ipcsp libraries). */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuse2/elements.h"
#include "fuse2/potential.h"

static const double TOL = 1e-12;

static int z_of(const char *symbol) { return fuse2_element_z_from_symbol(symbol); }

/* The nth (0-based) term of `kind` between two elements, in either order. */
static const fuse2_pair_term *find_term(const fuse2_potential_set *set, fuse2_pair_kind kind,
                                        const char *a, const char *b, int nth)
{
    int za = z_of(a), zb = z_of(b);
    int lo = za < zb ? za : zb, hi = za < zb ? zb : za;
    for (int i = 0; i < set->nterms; ++i) {
        const fuse2_pair_term *t = &set->terms[i];
        if (t->kind == kind && t->z1 == lo && t->z2 == hi && nth-- == 0) return t;
    }
    fail_msg("no term %d of kind %d for %s-%s", nth, (int)kind, a, b);
    return NULL;
}

static double charge_of(const fuse2_potential_set *set, const char *symbol)
{
    int found = 0;
    double q = fuse2_potential_set_charge(set, z_of(symbol), &found);
    if (!found) fail_msg("no charge for %s", symbol);
    return q;
}

static void assert_buck(const fuse2_pair_term *t, double A, double rho, double C, double rmin,
                        double rmax)
{
    assert_int_equal(t->kind, FUSE2_PAIR_BUCKINGHAM);
    ASSERT_NEAR(t->param[0], A, TOL * fabs(A));
    ASSERT_NEAR(t->param[1], rho, TOL);
    ASSERT_NEAR(t->param[2], C, TOL * fmax(1.0, fabs(C)));
    ASSERT_NEAR(t->rmin, rmin, TOL);
    ASSERT_NEAR(t->rmax, rmax, TOL);
}

/* Writes text to test_tmpdir()/relative, creating directories on the way. */
static const char *write_tree_file(const char *relative, const char *text)
{
    static char paths[8][1024];
    static int next;
    char *path = paths[next++ % 8];
    snprintf(path, sizeof paths[0], "%s/%s", test_tmpdir(), relative);
    for (char *p = path + strlen(test_tmpdir()) + 1; (p = strchr(p, '/')) != NULL; ++p) {
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) fail_msg("cannot mkdir %s", path);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    if (!f) fail_msg("cannot write %s", path);
    fputs(text, f);
    fclose(f);
    return path;
}

/* ---------------------------------------------------------------- shared files */

static void test_reads_lib2_charges_and_buckingham_terms(void **state)
{
    (void)state;
    fuse2_potential_set set;
    fuse2_potential_set_init(&set);
    const char *path = test_shared_path("potentials/lib2.lib");
    ASSERT_OK(fuse2_gulp_library_read(path, &set));
    assert_string_equal(set.source, path);

    assert_int_equal(set.nspecies, 4);
    ASSERT_NEAR(charge_of(&set, "Ti"), 4.0, TOL);
    ASSERT_NEAR(charge_of(&set, "Sr"), 2.0, TOL);
    ASSERT_NEAR(charge_of(&set, "O"), -2.0, TOL);
    ASSERT_NEAR(charge_of(&set, "Y"), 3.0, TOL);   /* "Y \t core 3": a tab in the line */
    assert_int_equal(set.species[3].line, 5);

    assert_int_equal(set.nterms, 4);
    const fuse2_pair_term *osr = find_term(&set, FUSE2_PAIR_BUCKINGHAM, "O", "Sr", 0);
    assert_buck(osr, 1952.390, 0.33685, 19.22, 1.2, 12.0);
    assert_int_equal(osr->z1, 8);
    assert_int_equal(osr->z2, 38);
    assert_int_equal(osr->line, 7);
    assert_buck(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "O", "Ti", 0), 4590.7279, 0.261, 0.0, 1.2,
                12.0);
    assert_buck(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "O", "O", 0), 1388.77, 0.36262, 175.0,
                1.2, 12.0);
    const fuse2_pair_term *yo = find_term(&set, FUSE2_PAIR_BUCKINGHAM, "Y", "O", 0);
    assert_buck(yo, 23000.0, 0.24203, 0.0, 1.2, 12.0);
    assert_int_equal(yo->z1, 8);   /* stored with z1 <= z2 although the file says Y O */
    assert_int_equal(yo->z2, 39);
    assert_int_equal(yo->line, 13);
    assert_int_equal(set.has_cutp, 0);
    fuse2_potential_set_free(&set);
    assert_int_equal(set.nterms, 0);
    assert_null(set.terms);
}

static void check_pedone(const char *relative)
{
    fuse2_potential_set set;
    fuse2_potential_set_init(&set);
    ASSERT_OK(fuse2_gulp_library_read(test_shared_path(relative), &set));
    /* "species 5" but four species follow */
    assert_int_equal(set.nspecies, 4);
    ASSERT_NEAR(charge_of(&set, "Ca"), 1.2, TOL);
    ASSERT_NEAR(charge_of(&set, "Si"), 2.4, TOL);
    ASSERT_NEAR(charge_of(&set, "Al"), 1.8, TOL);
    ASSERT_NEAR(charge_of(&set, "O"), -1.2, TOL);
    assert_int_equal(set.nterms, 8);

    const fuse2_pair_term *m = find_term(&set, FUSE2_PAIR_MORSE, "Ca", "O", 0);
    ASSERT_NEAR(m->param[0], 0.030211, TOL);
    ASSERT_NEAR(m->param[1], 2.241334, TOL);
    ASSERT_NEAR(m->param[2], 2.923245, TOL);
    ASSERT_NEAR(m->rmin, 0.0, TOL);
    ASSERT_NEAR(m->rmax, 15.0, TOL);
    assert_int_equal(m->line, 11);
    m = find_term(&set, FUSE2_PAIR_MORSE, "O", "O", 0);
    ASSERT_NEAR(m->param[0], 0.042395, TOL);
    ASSERT_NEAR(m->param[1], 1.379316, TOL);
    ASSERT_NEAR(m->param[2], 3.618701, TOL);

    const fuse2_pair_term *lj = find_term(&set, FUSE2_PAIR_LENNARD, "Ca", "O", 0);
    ASSERT_NEAR(lj->param[0], 5.00, TOL);
    ASSERT_NEAR(lj->param[1], 0.0, TOL);
    ASSERT_NEAR(lj->param[2], 12.0, TOL);   /* GULP's default exponents */
    ASSERT_NEAR(lj->param[3], 6.0, TOL);
    ASSERT_NEAR(lj->rmin, 0.0, TOL);
    ASSERT_NEAR(lj->rmax, 15.0, TOL);
    assert_int_equal(lj->line, 20);   /* after the blank line that separates the blocks */
    ASSERT_NEAR(find_term(&set, FUSE2_PAIR_LENNARD, "Si", "O", 0)->param[0], 1.00, TOL);
    ASSERT_NEAR(find_term(&set, FUSE2_PAIR_LENNARD, "Al", "O", 0)->param[0], 0.90, TOL);
    ASSERT_NEAR(find_term(&set, FUSE2_PAIR_LENNARD, "O", "O", 0)->param[0], 22.00, TOL);
    fuse2_potential_set_free(&set);
}

static void test_reads_pedone_morse_and_repulsive_lennard(void **state)
{
    (void)state;
    check_pedone("potentials/pedone.lib");
    check_pedone("potentials/ipcsp-CaAlSiO-pedone.lib");
}

static void test_reads_ipcsp_buckingham_sets(void **state)
{
    (void)state;
    fuse2_potential_set set;

    /* ZnS: the species block runs straight into `buck`, no blank line. */
    fuse2_potential_set_init(&set);
    ASSERT_OK(fuse2_gulp_library_read(test_shared_path("potentials/ipcsp-ZnS-buck.lib"), &set));
    assert_int_equal(set.nspecies, 2);
    ASSERT_NEAR(charge_of(&set, "Zn"), 2.0, TOL);
    ASSERT_NEAR(charge_of(&set, "S"), -2.0, TOL);
    assert_int_equal(set.nterms, 2);
    assert_buck(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "Zn", "S", 0), 613.356, 0.3990, 0.0, 0.0,
                12.0);
    assert_buck(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "S", "S", 0), 1200.0, 0.1490, 120.0, 0.0,
                12.0);
    fuse2_potential_set_free(&set);

    /* LiMgAlPO: commented-out pairs are not read. */
    fuse2_potential_set_init(&set);
    ASSERT_OK(
        fuse2_gulp_library_read(test_shared_path("potentials/ipcsp-LiMgAlPO-buck.lib"), &set));
    assert_int_equal(set.nspecies, 5);
    ASSERT_NEAR(charge_of(&set, "P"), 5.0, TOL);
    ASSERT_NEAR(charge_of(&set, "Li"), 1.0, TOL);
    assert_int_equal(set.nterms, 5);
    assert_buck(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "P", "O", 0), 736.97, 0.3702, 0.0, 0.0,
                10.0);
    assert_buck(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "O", "O", 0), 9547.960, 0.2192, 32.0,
                0.0, 10.0);
    fuse2_potential_set_free(&set);

    /* ZrO: a long comment header and two different rmax. */
    fuse2_potential_set_init(&set);
    ASSERT_OK(fuse2_gulp_library_read(test_shared_path("potentials/ipcsp-ZrO-buck.lib"), &set));
    assert_int_equal(set.nterms, 2);
    assert_buck(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "Zr", "O", 0), 7290.347, 0.2610, 0.0,
                0.0, 10.0);
    assert_buck(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "O", "O", 0), 25.410, 0.6937, 32.32, 0.0,
                12.0);
    fuse2_potential_set_free(&set);

    /* YSrTiO: the last line has no newline. */
    fuse2_potential_set_init(&set);
    ASSERT_OK(
        fuse2_gulp_library_read(test_shared_path("potentials/ipcsp-YSrTiO-buck.lib"), &set));
    assert_int_equal(set.nspecies, 4);
    assert_int_equal(set.nterms, 4);
    assert_buck(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "Y", "O", 0), 23000.0, 0.24203, 0.0, 0.0,
                10.0);
    assert_buck(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "Sr", "O", 0), 1952.39, 0.33685, 19.22,
                0.0, 10.0);
    fuse2_potential_set_free(&set);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void test_every_shared_potential_file_loads(void **state)
{
    (void)state;
    const char *dir_path = test_shared_path("potentials");
    char dir_copy[1024];
    snprintf(dir_copy, sizeof dir_copy, "%s", dir_path);
    DIR *dir = opendir(dir_copy);
    if (!dir) fail_msg("cannot open %s", dir_copy);
    int libraries = 0, tables = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.') continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir_copy, entry->d_name);
        if (ends_with(entry->d_name, "-radii.lib") || ends_with(entry->d_name, "-dist.lib")) {
            fuse2_contact_table table;
            ASSERT_OK(fuse2_contact_table_read(path, &table));
            if (ends_with(entry->d_name, "-radii.lib") && table.nradii < 2)
                fail_msg("%s: only %d radii", path, table.nradii);
            tables++;
        } else {
            fuse2_potential_set set;
            fuse2_potential_set_init(&set);
            ASSERT_OK(fuse2_gulp_library_read(path, &set));
            if (set.nspecies < 2 || set.nterms < 2)
                fail_msg("%s: %d species, %d terms", path, set.nspecies, set.nterms);
            fuse2_potential_set_free(&set);
            libraries++;
        }
    }
    closedir(dir);
    /* 8 GULP libraries and 8 contact tables in the shared tree (calculators.md §1) */
    assert_true(libraries >= 8);
    assert_true(tables >= 8);
}

static void test_reads_contact_radii_and_distances(void **state)
{
    (void)state;
    fuse2_contact_table table;
    ASSERT_OK(
        fuse2_contact_table_read(test_shared_path("potentials/ipcsp-SrTiO-radii.lib"), &table));
    assert_int_equal(table.nradii, 3);
    assert_int_equal(table.npairs, 0);
    assert_int_equal(table.radius_z[0], 8);
    ASSERT_NEAR(table.radius[0], 1.35, TOL);
    assert_int_equal(table.radius_z[1], 38);
    ASSERT_NEAR(table.radius[1], 1.18, TOL);
    assert_int_equal(table.radius_z[2], 22);
    ASSERT_NEAR(table.radius[2], 0.42, TOL);   /* last line without newline */

    ASSERT_OK(fuse2_contact_table_read(test_shared_path("potentials/ipcsp-CaAlSiO-radii.lib"),
                                       &table));
    assert_int_equal(table.nradii, 4);
    assert_int_equal(table.radius_z[0], 20);
    ASSERT_NEAR(table.radius[0], 1.0, TOL);
    ASSERT_NEAR(table.radius[2], 0.26, TOL);

    /* Only comments: an empty table, not an error. */
    ASSERT_OK(
        fuse2_contact_table_read(test_shared_path("potentials/ipcsp-YSrTiO-dist.lib"), &table));
    assert_int_equal(table.nradii, 0);
    assert_int_equal(table.npairs, 0);

    /* The same pairs uncommented, with a comment between and no final newline. */
    const char *path =
        test_write_file("pairs-dist.lib", "Al Mg 1.07   # trailing\n# note\n\nMg\tMg 1.14");
    ASSERT_OK(fuse2_contact_table_read(path, &table));
    assert_int_equal(table.npairs, 2);
    assert_int_equal(table.pair_z1[0], 12);   /* Mg < Al: stored z1 <= z2 */
    assert_int_equal(table.pair_z2[0], 13);
    ASSERT_NEAR(table.pair_distance[0], 1.07, TOL);
    assert_int_equal(table.pair_z1[1], 12);
    assert_int_equal(table.pair_z2[1], 12);
    ASSERT_NEAR(table.pair_distance[1], 1.14, TOL);
}

/* ---------------------------------------------------------------- syntax */

static void test_lennard_takes_explicit_exponents_and_inter(void **state)
{
    (void)state;
    fuse2_potential_set set;
    fuse2_potential_set_init(&set);
    ASSERT_OK(fuse2_gulp_library_read_string("lennard 9 6 inter\n"
                                             "Ar core Ar core 1000.5 20.25 0.5 8.0\n"
                                             "lennard\n"
                                             "Ne Ne 3.0 1.0 7.5\n",
                                             "lj.lib", &set));
    assert_int_equal(set.nterms, 2);
    const fuse2_pair_term *ar = find_term(&set, FUSE2_PAIR_LENNARD, "Ar", "Ar", 0);
    ASSERT_NEAR(ar->param[0], 1000.5, TOL);
    ASSERT_NEAR(ar->param[1], 20.25, TOL);
    ASSERT_NEAR(ar->param[2], 9.0, TOL);
    ASSERT_NEAR(ar->param[3], 6.0, TOL);
    ASSERT_NEAR(ar->rmin, 0.5, TOL);
    ASSERT_NEAR(ar->rmax, 8.0, TOL);
    const fuse2_pair_term *ne = find_term(&set, FUSE2_PAIR_LENNARD, "Ne", "Ne", 0);
    ASSERT_NEAR(ne->param[2], 12.0, TOL);   /* a new keyword line resets to 12 6 */
    ASSERT_NEAR(ne->param[3], 6.0, TOL);
    ASSERT_NEAR(ne->rmax, 7.5, TOL);
    fuse2_potential_set_free(&set);
}

static void test_repeated_pair_entries_are_kept_as_separate_terms(void **state)
{
    (void)state;
    fuse2_potential_set set;
    fuse2_potential_set_init(&set);
    ASSERT_OK(fuse2_gulp_library_read_string("buck\n"
                                             "O core Sr core 100.0 0.3 1.0 10.0\n"
                                             "buck\n"
                                             "Sr core O core 200.0 0.2 2.0 12.0\n"
                                             "morse\n"
                                             "Sr O 0.5 1.5 2.5 9.0\n",
                                             "repeat.lib", &set));
    assert_int_equal(set.nterms, 3);
    assert_buck(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "O", "Sr", 0), 100.0, 0.3, 1.0, 0.0,
                10.0);
    const fuse2_pair_term *second = find_term(&set, FUSE2_PAIR_BUCKINGHAM, "Sr", "O", 1);
    assert_buck(second, 200.0, 0.2, 2.0, 0.0, 12.0);
    assert_int_equal(second->z1, 8);
    assert_int_equal(second->z2, 38);
    ASSERT_NEAR(find_term(&set, FUSE2_PAIR_MORSE, "O", "Sr", 0)->param[2], 2.5, TOL);
    fuse2_potential_set_free(&set);
}

static void test_species_lines_accept_core_c_or_nothing(void **state)
{
    (void)state;
    fuse2_potential_set set;
    fuse2_potential_set_init(&set);
    ASSERT_OK(fuse2_gulp_library_read_string("species 3\n"
                                             "Mg core 2.0\n"
                                             "Al c 3\n"
                                             "F -1.0d0\n"   /* Fortran exponent */
                                             "Mg core 2\n", /* a repeat with the same charge */
                                             "spec.lib", &set));
    assert_int_equal(set.nspecies, 3);
    ASSERT_NEAR(charge_of(&set, "Mg"), 2.0, TOL);
    ASSERT_NEAR(charge_of(&set, "Al"), 3.0, TOL);
    ASSERT_NEAR(charge_of(&set, "F"), -1.0, TOL);
    int found = 1;
    ASSERT_NEAR(fuse2_potential_set_charge(&set, z_of("Na"), &found), 0.0, 0.0);
    assert_int_equal(found, 0);
    fuse2_potential_set_free(&set);
}

static void test_labels_with_suffixes_and_any_case_name_elements(void **state)
{
    (void)state;
    fuse2_potential_set set;
    fuse2_potential_set_init(&set);
    ASSERT_OK(fuse2_gulp_library_read_string("species\nTi4+ core 4\nCA core 2\nO2- -2\n"
                                             "buck\n"
                                             "C6 core O2- core 1.0 0.25 0.0 9.0\n" /* carbon */
                                             "ti core o core 2.0 0.30 0.0 9.0\n",
                                             "labels.lib", &set));
    ASSERT_NEAR(charge_of(&set, "Ti"), 4.0, TOL);
    ASSERT_NEAR(charge_of(&set, "Ca"), 2.0, TOL);
    ASSERT_NEAR(charge_of(&set, "O"), -2.0, TOL);
    assert_buck(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "C", "O", 0), 1.0, 0.25, 0.0, 0.0, 9.0);
    assert_buck(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "Ti", "O", 0), 2.0, 0.30, 0.0, 0.0, 9.0);
    fuse2_potential_set_free(&set);
}

static void test_fit_flags_after_cutoffs_are_ignored(void **state)
{
    (void)state;
    fuse2_potential_set set;
    fuse2_potential_set_init(&set);
    ASSERT_OK(fuse2_gulp_library_read_string("buck\n"
                                             "O core O core 1388.77 0.36262 175 0.0 12.0 0 0 0\n"
                                             "Ti core O core 4590.7279 0.261 0.0 10.0 1 1 0\n"
                                             "lennard\n"
                                             "Ca core O core 5.0 0.0 1.0 15.0 1 0\n"
                                             "morse\n"
                                             "Ca O 0.030211 2.241334 2.923245 0 1.5 15.0 0 1 0\n",
                                             "flags.lib", &set));
    assert_int_equal(set.nterms, 4);
    assert_buck(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "O", "O", 0), 1388.77, 0.36262, 175.0,
                0.0, 12.0);
    assert_buck(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "Ti", "O", 0), 4590.7279, 0.261, 0.0,
                0.0, 10.0);
    const fuse2_pair_term *lj = find_term(&set, FUSE2_PAIR_LENNARD, "Ca", "O", 0);
    ASSERT_NEAR(lj->param[0], 5.0, TOL);
    ASSERT_NEAR(lj->rmin, 1.0, TOL);
    ASSERT_NEAR(lj->rmax, 15.0, TOL);
    const fuse2_pair_term *m = find_term(&set, FUSE2_PAIR_MORSE, "Ca", "O", 0);
    ASSERT_NEAR(m->param[0], 0.030211, TOL);
    ASSERT_NEAR(m->rmin, 1.5, TOL);
    ASSERT_NEAR(m->rmax, 15.0, TOL);
    fuse2_potential_set_free(&set);
}

/* GULP's potword21 lets the last coefficient default to zero: buck A rho
 * rmax (C = 0), lennard A rmax (B = 0). */
static void test_gulp_short_forms_default_the_last_coefficient_to_zero(void **state)
{
    (void)state;
    fuse2_potential_set set;
    fuse2_potential_set_init(&set);
    ASSERT_OK(fuse2_gulp_library_read_string("buck\nSi O 1283.9 0.3205 10.0\n"
                                             "lennard\nO O 22.0 15.0\n",
                                             "short.lib", &set));
    assert_buck(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "Si", "O", 0), 1283.9, 0.3205, 0.0, 0.0,
                10.0);
    const fuse2_pair_term *lj = find_term(&set, FUSE2_PAIR_LENNARD, "O", "O", 0);
    ASSERT_NEAR(lj->param[0], 22.0, TOL);
    ASSERT_NEAR(lj->param[1], 0.0, TOL);
    ASSERT_NEAR(lj->rmax, 15.0, TOL);
    fuse2_potential_set_free(&set);
}

static void test_blank_lines_do_not_end_a_block(void **state)
{
    (void)state;
    fuse2_potential_set set;
    fuse2_potential_set_init(&set);
    ASSERT_OK(fuse2_gulp_library_read_string("species\n\nO core -2\n\n  \nSr core 2\n"
                                             "buck\n"
                                             "O core O core 1388.77 0.36262 175 12.0\n"
                                             "\n"
                                             "# a comment inside the block\n"
                                             "Sr core O core 1952.39 0.33685 19.22 12.0\n",
                                             "blank.lib", &set));
    assert_int_equal(set.nspecies, 2);
    assert_int_equal(set.nterms, 2);
    assert_int_equal(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "Sr", "O", 0)->line, 11);
    fuse2_potential_set_free(&set);
}

static void test_comments_tabs_crlf_and_missing_final_newline(void **state)
{
    (void)state;
    fuse2_potential_set set;
    fuse2_potential_set_init(&set);
    ASSERT_OK(fuse2_gulp_library_read_string("# header comment\r\n"
                                             "species   \r\n"
                                             "O\tcore\t-2.0   # trailing comment\r\n"
                                             "Sr core 2 ! bang comment\r\n"
                                             "\t\r\n"
                                             "buck\t\r\n"
                                             "Sr\tcore O core 1952.39 0.33685 19.22 1.2\t12.0 \r\n"
                                             "O core O core 1388.77 0.36262 175 0 12",
                                             "crlf.lib", &set));
    assert_int_equal(set.nspecies, 2);
    ASSERT_NEAR(charge_of(&set, "O"), -2.0, TOL);
    assert_int_equal(set.nterms, 2);
    assert_buck(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "Sr", "O", 0), 1952.39, 0.33685, 19.22,
                1.2, 12.0);
    assert_buck(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "O", "O", 0), 1388.77, 0.36262, 175.0,
                0.0, 12.0);
    fuse2_potential_set_free(&set);
}

static void test_cutp_sets_radius_and_taper(void **state)
{
    (void)state;
    fuse2_potential_set set;
    fuse2_potential_set_init(&set);
    ASSERT_OK(fuse2_gulp_library_read_string("cutp 11.0 2.0\nspecies\nO core -2\n", "c1.lib",
                                             &set));
    assert_int_equal(set.has_cutp, 1);
    ASSERT_NEAR(set.cutp_radius, 11.0, TOL);
    ASSERT_NEAR(set.cutp_taper, 2.0, TOL);
    /* A later cutp wins (GULP); taper optional; `poly` names the default taper. */
    ASSERT_OK(fuse2_gulp_library_read_string("species\nO core -2\ncutp 12.5\n", "c2.lib", &set));
    ASSERT_NEAR(set.cutp_radius, 12.5, TOL);
    ASSERT_NEAR(set.cutp_taper, 0.0, TOL);
    ASSERT_OK(fuse2_gulp_library_read_string("cutp 10 poly 1.5\n", "c3.lib", &set));
    ASSERT_NEAR(set.cutp_radius, 10.0, TOL);
    ASSERT_NEAR(set.cutp_taper, 1.5, TOL);
    /* GULP ignores taper ranges up to 0.01 Å */
    ASSERT_OK(fuse2_gulp_library_read_string("cutp 10 0.005\n", "c4.lib", &set));
    ASSERT_NEAR(set.cutp_taper, 0.0, TOL);
    fuse2_potential_set_free(&set);
}

static void test_library_and_include_read_files_relative_to_the_includer(void **state)
{
    (void)state;
    write_tree_file("inc/species.lib", "species\nSr core 2\nO core -2\n");
    write_tree_file("inc/parts/buck.lib",
                    "include ../species.lib\nbuck\nSr core O core 1952.39 0.33685 19.22 12.0\n");
    write_tree_file("inc/parts/more.lib", "buck\nO core O core 1388.77 0.36262 175 12.0\n");
    /* `library more` finds more.lib, as GULP does. */
    const char *main_path =
        write_tree_file("inc/main.lib", "library parts/buck.lib\ncutp 11 2\n"
                                        "include parts/more\n");
    fuse2_potential_set set;
    fuse2_potential_set_init(&set);
    ASSERT_OK(fuse2_gulp_library_read(main_path, &set));
    assert_int_equal(set.nspecies, 2);
    ASSERT_NEAR(charge_of(&set, "Sr"), 2.0, TOL);
    assert_int_equal(set.nterms, 2);
    assert_buck(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "Sr", "O", 0), 1952.39, 0.33685, 19.22,
                0.0, 12.0);
    assert_buck(find_term(&set, FUSE2_PAIR_BUCKINGHAM, "O", "O", 0), 1388.77, 0.36262, 175.0,
                0.0, 12.0);
    ASSERT_NEAR(set.cutp_radius, 11.0, TOL);
    fuse2_potential_set_free(&set);

    /* From a string: includes are relative to the directory of its name;
     * the shared lib2.lib can be included by absolute path. */
    char text[2048];
    snprintf(text, sizeof text, "include parts/more.lib\nlibrary %s\n",
             test_shared_path("potentials/lib2.lib"));
    char name[1024];
    snprintf(name, sizeof name, "%s/inc/virtual.lib", test_tmpdir());
    fuse2_potential_set_init(&set);
    ASSERT_OK(fuse2_gulp_library_read_string(text, name, &set));
    assert_int_equal(set.nterms, 5);
    assert_int_equal(set.nspecies, 4);
    fuse2_potential_set_free(&set);
}

static void test_include_cycles_are_errors(void **state)
{
    (void)state;
    write_tree_file("cycle/a.lib", "species\nO core -2\ninclude b.lib\n");
    write_tree_file("cycle/b.lib", "# b\nlibrary a.lib\n");
    const char *self = write_tree_file("cycle/self.lib", "include self.lib\n");
    char a_path[1024];
    snprintf(a_path, sizeof a_path, "%s/cycle/a.lib", test_tmpdir());

    fuse2_potential_set set;
    fuse2_potential_set_init(&set);
    assert_int_equal(fuse2_gulp_library_read(a_path, &set), FUSE2_ERR_PARSE);
    test_assert_error_contains("b.lib:2:");
    test_assert_error_contains("include cycle");
    assert_int_equal(set.nspecies, 0);   /* nothing kept from the failed read */

    assert_int_equal(fuse2_gulp_library_read(self, &set), FUSE2_ERR_PARSE);
    test_assert_error_contains("self.lib:1: include cycle");
    fuse2_potential_set_free(&set);
}

static void test_missing_include_names_the_including_line(void **state)
{
    (void)state;
    const char *path = test_write_file("includer.lib", "species\nO core -2\n"
                                                       "include no-such-file.lib\n");
    fuse2_potential_set set;
    fuse2_potential_set_init(&set);
    assert_int_equal(fuse2_gulp_library_read(path, &set), FUSE2_ERR_IO);
    test_assert_error_contains("includer.lib:3:");
    test_assert_error_contains("no-such-file.lib");
    assert_int_equal(fuse2_gulp_library_read("/nonexistent/dir/x.lib", &set), FUSE2_ERR_IO);
    test_assert_error_contains("cannot open GULP library '/nonexistent/dir/x.lib'");
    fuse2_potential_set_free(&set);
}

/* ---------------------------------------------------------------- errors */

typedef struct bad_library {
    const char *text;
    int line;              /* expected "bad.lib:<line>:" */
    const char *message;   /* expected fragment of the message */
} bad_library;

static const bad_library BAD_LIBRARIES[] = {
    {"species\nO shel -2\n", 2, "shell model not supported"},
    {"species\nO s -2\n", 2, "shell model not supported"},
    {"buck\nO core O shel 1 0.3 0 10\n", 2, "shell model not supported"},
    {"species\nO core -2\n\nO core -1\n", 4, "species O listed again with charge -1"},
    {"species\nO core\n", 2, "species 'O' has no charge"},
    {"species\nO core -2 7\n", 2, "unexpected '7'"},
    {"species\nO core minus2\n", 2, "expected a number, got 'minus2'"},
    {"species 5 extra\n", 1, "unexpected 'extra' after 'species'"},
    {"species\nO core -2\nXq core 1\n", 3, "unknown keyword or element label 'Xq'"},
    {"buck\nO core O core 1 x 0 10\n", 2, "expected a number, got 'x'"},
    {"buck\nO core O core 1 0.3\n", 2, "got 2 numbers"},
    {"morse\nO core O core 1 2 10\n", 2, "got 3 numbers"},
    {"lennard\nO O 10\n", 2, "got 1 number"},
    {"buck\nO core O core 1 0.3 0 12 10\n", 2, "rmin 12 is not below rmax 10"},
    {"buck\nO core O core 1 0.3 0 -10\n", 2, "rmax -10 must be positive"},
    {"lennard\nO O 1 0 -1 10\n", 2, "rmin -1 is negative"},
    {"buck\nO core O core 1 nan 0 10\n", 2, "'nan' is not a finite number"},
    {"buck\nO core O core 1 0.3 0 1e999\n", 2, "'1e999' is not a finite number"},
    {"buck\nO core O core 1 0 0 10\n", 2, "rho must be positive"},
    {"buck\nO core O core 1 0.3 0 0 10 2 0 0\n", 2, "fitting flags 0 or 1, got '2'"},
    {"buck\nO core Foo core 1 0.3 0 10\n", 2, "expected a second element label, got 'Foo'"},
    {"buck\nO 1 0.3 0 10\n", 2, "needs two element labels"},
    {"buck\nO core O core extra 1 0.3 0 10\n", 2, "expected a number, got 'extra'"},
    {"morse\nO O 0.04 1.4 3.6 1.2 15.0\n", 2, "Coulomb-subtraction"},
    {"buck intra\n", 1, "option 'intra' on the 'buck' line"},
    {"buck x13\n", 1, "option 'x13'"},
    {"morse bond\n", 1, "option 'bond'"},
    {"buck 0.5\n", 1, "1-4 scaling"},
    {"lennard epsilon\nO O 0.1 3.0 10\n", 1, "epsilon/sigma form of 'lennard'"},
    {"lennard 12 6 0.5\n", 1, "third number"},
    {"lennard 12 0\n", 1, "exponent '0' must be positive"},
    {"buck4\n", 1, "'buck4': the four-range Buckingham"},
    {"species\nO core -2\nthree\nO O O 1 2 3\n", 3, "'three': three-body"},
    {"spring\nO 10\n", 1, "'spring': core-shell springs"},
    /* spline tables (SPP): file:line of the pair line or the bad row */
    {"buck\nO O 1 0.3 0 10\nspline\nO O 10\n", 4, "spline O-O has 0 table rows, needs at least 4"},
    {"spline cubic\nO O 10\n3 1.0\n2 1.5\n1 2.0\nbuck\n", 2, "spline O-O has 3 table rows"},
    {"spline\nO O 10\n3 1.0\n2 1.5\n1 1.5\n0 2.5\n", 5, "separations must increase strictly, got 1.5 after 1.5"},
    {"spline\nO O 10\n3 1.0\n2 0.5\n", 4, "separations must increase strictly"},
    {"spline\nO O 10\n3 1.0\n2 1.5 7\n", 4, "a spline table row is 'energy separation' (2 numbers)"},
    {"spline\nO O 10\n3 1.0\n2 x\n", 4, "expected a number, got 'x'"},
    {"spline\nO O 10\n3 1.0\n2 nan\n", 4, "'nan' is not a finite number"},
    {"spline\n3 1.0\n", 2, "spline table row before a pair line"},
    {"spline\nO O 1 2 3 4 5\n", 2, "too many numbers for 'spline'"},
    {"spline quintic\n", 1, "option 'quintic' on the 'spline' line"},
    {"elements\n", 1, "'elements'"},
    {"epsilon\nO 0.1 3.0\n", 1, "'epsilon'"},
    {"# nothing yet\nfrobnicate 3\n", 2, "unknown keyword 'frobnicate'"},
    {"buck\nO O 1 0.3 0 10\nfrobnicate\n", 3, "unknown keyword or element label 'frobnicate'"},
    {"O core O core 1 0.3 0 10\n", 1, "outside a 'species' or potential block"},
    {"cutp\n", 1, "'cutp' needs a radius"},
    {"cutp 10 mdf 1\n", 1, "'cutp' option 'mdf'"},
    {"cutp 10 12\n", 1, "taper range 12 is longer than the radius 10"},
    {"cutp -3\n", 1, "radius -3 must be positive"},
    {"include\n", 1, "'include' needs a file name"},
    {"library a.lib b.lib\n", 1, "unexpected 'b.lib'"},
};

static void test_bad_libraries_report_file_line_and_problem(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof BAD_LIBRARIES / sizeof BAD_LIBRARIES[0]; ++i) {
        const bad_library *bad = &BAD_LIBRARIES[i];
        fuse2_potential_set set;
        fuse2_potential_set_init(&set);
        /* a set that already holds data is left exactly as it was */
        ASSERT_OK(fuse2_potential_set_add_species(&set, z_of("Sr"), 2.0));
        fuse2_error_clear();
        fuse2_status status = fuse2_gulp_library_read_string(bad->text, "bad.lib", &set);
        if (status == FUSE2_OK) fail_msg("case %zu was accepted:\n%s", i, bad->text);
        char where[64];
        snprintf(where, sizeof where, "bad.lib:%d:", bad->line);
        if (!strstr(fuse2_error_message(), where) || !strstr(fuse2_error_message(), bad->message))
            fail_msg("case %zu: message \"%s\" lacks \"%s\" or \"%s\"", i,
                     fuse2_error_message(), where, bad->message);
        assert_int_equal(set.nspecies, 1);
        assert_int_equal(set.nterms, 0);
        assert_int_equal(set.has_cutp, 0);
        assert_string_equal(set.source, "");
        fuse2_potential_set_free(&set);
    }
}

static void test_unsupported_input_has_the_unsupported_status(void **state)
{
    (void)state;
    fuse2_potential_set set;
    fuse2_potential_set_init(&set);
    assert_int_equal(fuse2_gulp_library_read_string("species\nO shel -2\n", "u.lib", &set),
                     FUSE2_ERR_UNSUPPORTED);
    assert_int_equal(fuse2_gulp_library_read_string("three\n", "u.lib", &set),
                     FUSE2_ERR_UNSUPPORTED);
    assert_int_equal(fuse2_gulp_library_read_string("buck\nO O 1 x 0 10\n", "u.lib", &set),
                     FUSE2_ERR_PARSE);
    fuse2_potential_set_free(&set);
}

typedef struct bad_table {
    const char *text;
    int line;
    const char *message;
} bad_table;

static void test_bad_contact_tables_report_file_line_and_problem(void **state)
{
    (void)state;
    static const bad_table BAD[] = {
        {"O 1.35\nSr x\n", 2, "expected a number, got 'x'"},
        {"# c\nO -1\n", 2, "radius '-1' must be positive"},
        {"O 1 2 3\n", 1, "expected 'El radius' or 'El El distance', got 4 words"},
        {"Xx 1.0\n", 1, "expected an element symbol, got 'Xx'"},
        {"Al Qq 1.0\n", 1, "expected a second element symbol, got 'Qq'"},
        {"Al Mg 1.07\nMg Al 1.2\n", 2, "distance Mg-Al given again as 1.2"},
        {"O 1.35\n\nO 1.4\n", 3, "radius of O given again as 1.4"},
        {"Al Mg 0\n", 1, "distance '0' must be positive"},
        {"O nan\n", 1, "'nan' is not a finite number"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; ++i) {
        const char *path = test_write_file("bad-radii.lib", BAD[i].text);
        fuse2_contact_table table;
        if (fuse2_contact_table_read(path, &table) == FUSE2_OK)
            fail_msg("contact case %zu was accepted", i);
        char where[64];
        snprintf(where, sizeof where, "bad-radii.lib:%d:", BAD[i].line);
        if (!strstr(fuse2_error_message(), where) || !strstr(fuse2_error_message(), BAD[i].message))
            fail_msg("contact case %zu: message \"%s\" lacks \"%s\" or \"%s\"", i,
                     fuse2_error_message(), where, BAD[i].message);
    }
    fuse2_contact_table table;
    assert_int_equal(fuse2_contact_table_read("/nonexistent/x-radii.lib", &table), FUSE2_ERR_IO);
    test_assert_error_contains("/nonexistent/x-radii.lib");
}

/* ---------------------------------------------------------------- set API */

static void test_potential_set_api_orders_pairs_and_guards_charges(void **state)
{
    (void)state;
    fuse2_potential_set set;
    fuse2_potential_set_init(&set);
    ASSERT_OK(fuse2_potential_set_add_species(&set, 38, 2.0));
    ASSERT_OK(fuse2_potential_set_add_species(&set, 38, 2.0));   /* same charge: no-op */
    assert_int_equal(set.nspecies, 1);
    assert_int_equal(fuse2_potential_set_add_species(&set, 38, 1.0), FUSE2_ERR_ARG);
    assert_int_equal(fuse2_potential_set_add_species(&set, 0, 1.0), FUSE2_ERR_ARG);
    assert_int_equal(fuse2_potential_set_add_species(&set, 8, NAN), FUSE2_ERR_NUMERIC);

    fuse2_pair_term t = {.kind = FUSE2_PAIR_BUCKINGHAM,
                         .z1 = 38,
                         .z2 = 8,
                         .param = {1952.39, 0.33685, 19.22, 0.0},
                         .rmin = 0.0,
                         .rmax = 10.0};
    ASSERT_OK(fuse2_potential_set_add_term(&set, &t));
    assert_int_equal(set.terms[0].z1, 8);
    assert_int_equal(set.terms[0].z2, 38);
    ASSERT_NEAR(set.terms[0].param[0], 1952.39, TOL);

    fuse2_pair_term bad = t;
    bad.rmin = 11.0;
    assert_int_equal(fuse2_potential_set_add_term(&set, &bad), FUSE2_ERR_ARG);
    bad = t;
    bad.param[1] = 0.0;
    assert_int_equal(fuse2_potential_set_add_term(&set, &bad), FUSE2_ERR_ARG);
    bad = t;
    bad.param[0] = INFINITY;
    assert_int_equal(fuse2_potential_set_add_term(&set, &bad), FUSE2_ERR_NUMERIC);
    bad = t;
    bad.kind = FUSE2_PAIR_LENNARD;   /* exponents m = n = 0 are not allowed */
    bad.param[2] = 0.0;
    assert_int_equal(fuse2_potential_set_add_term(&set, &bad), FUSE2_ERR_ARG);
    assert_int_equal(set.nterms, 1);
    fuse2_potential_set_free(&set);
    assert_int_equal(set.nspecies, 0);
    assert_null(set.species);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_lib2_charges_and_buckingham_terms),
        cmocka_unit_test(test_reads_pedone_morse_and_repulsive_lennard),
        cmocka_unit_test(test_reads_ipcsp_buckingham_sets),
        cmocka_unit_test(test_every_shared_potential_file_loads),
        cmocka_unit_test(test_reads_contact_radii_and_distances),
        cmocka_unit_test(test_lennard_takes_explicit_exponents_and_inter),
        cmocka_unit_test(test_repeated_pair_entries_are_kept_as_separate_terms),
        cmocka_unit_test(test_species_lines_accept_core_c_or_nothing),
        cmocka_unit_test(test_labels_with_suffixes_and_any_case_name_elements),
        cmocka_unit_test(test_fit_flags_after_cutoffs_are_ignored),
        cmocka_unit_test(test_gulp_short_forms_default_the_last_coefficient_to_zero),
        cmocka_unit_test(test_blank_lines_do_not_end_a_block),
        cmocka_unit_test(test_comments_tabs_crlf_and_missing_final_newline),
        cmocka_unit_test(test_cutp_sets_radius_and_taper),
        cmocka_unit_test(test_library_and_include_read_files_relative_to_the_includer),
        cmocka_unit_test(test_include_cycles_are_errors),
        cmocka_unit_test(test_missing_include_names_the_including_line),
        cmocka_unit_test(test_bad_libraries_report_file_line_and_problem),
        cmocka_unit_test(test_unsupported_input_has_the_unsupported_status),
        cmocka_unit_test(test_bad_contact_tables_report_file_line_and_problem),
        cmocka_unit_test(test_potential_set_api_orders_pairs_and_guards_charges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
