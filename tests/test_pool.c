/* FUSE2's pool from a directory of CIFs (fuse2-algorithm.md §11.2,
 * include/fuse2/pool.h): the filter with its reasons, the three orders,
 * errors, and a campaign seeded from such a pool whose file stores it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#include "fuse2/config.h"
#include "fuse2/pool.h"
#include "fuse2/search.h"
#include "fuse2/store.h"
#include "fuse2/structure_io.h"

static const char *source_dir(void)
{
    const char *src = getenv("FUSE2_SOURCE_DIR");
    if (!src) fail_msg("FUSE2_SOURCE_DIR is not set (run through ctest)");
    return src;
}

/* `cells` cubic SrTiO3 cells of edge a stacked along c, `extra_sr` more Sr. */
static void perovskite(fuse2_structure *s, double a, int cells, int extra_sr)
{
    ASSERT_OK(fuse2_structure_init(s, 5 * cells + 1));
    double lat[3][3] = {{a, 0, 0}, {0, a, 0}, {0, 0, a * cells}};
    memcpy(s->lattice, lat, sizeof lat);
    for (int c = 0; c < cells; c++) {
        double z0 = (double)c / cells, h = 0.5 / cells;
        const double f[5][3] = {{0, 0, z0}, {0.5, 0.5, z0 + h}, {0.5, 0.5, z0}, {0.5, 0, z0 + h}, {0, 0.5, z0 + h}};
        const int zs[5] = {38, 22, 8, 8, 8};
        for (int k = 0; k < 5; k++) ASSERT_OK(fuse2_structure_add_atom(s, zs[k], f[k]));
    }
    if (extra_sr) {
        const double f[3] = {0.25, 0.25, 0.25};
        ASSERT_OK(fuse2_structure_add_atom(s, 38, f));
    }
}

static char pool_dir[4096];

static void write_cif(const char *name, double a, int cells, int extra_sr)
{
    fuse2_structure s = {0};
    perovskite(&s, a, cells, extra_sr);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", pool_dir, name);
    ASSERT_OK(fuse2_cif_write(path, &s, name, 0, 0));
    fuse2_structure_free(&s);
}

static void write_text(const char *name, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", pool_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The directory: 3 good entries and 4 that the filter rejects. */
static int setup_directory(void **state)
{
    (void)state;
    snprintf(pool_dir, sizeof pool_dir, "%s/pool-cifs", test_tmpdir());
    mkdir(pool_dir, 0755);
    write_cif("a.cif", 3.90, 1, 0);
    write_cif("b.cif", 3.95, 2, 0);
    write_cif("z.cif", 4.00, 1, 0);
    write_cif("wrong-composition.cif", 3.90, 1, 1);
    write_cif("too-big.cif", 3.90, 4, 0);     /* 20 atoms > max_atoms 15 */
    write_cif("contact.cif", 1.60, 1, 0);     /* Ti-O 0.8 A */
    write_text("broken.cif", "data_x\n_cell_length_a 3.9\nnonsense\n");
    write_text("notes.txt", "not a structure\n");
    /* rows name files with or without .cif; the energy is the last number;
     * a name given twice keeps its lowest energy; headers and unknown names
     * are skipped */
    write_text("ranking.csv", "file,energy\nb.cif,-31.5\n\"a\", -31.2\nmissing.cif,-40\n");
    write_text("more.csv", "0,a.cif,1.0,-31.6\n");
    return 0;
}

static void load_config(const char *name, const char *extra, fuse2_config *cfg)
{
    char text[4096], file[256];
    snprintf(text, sizeof text,
             "composition: {Sr: 1, Ti: 1, O: 3}\n"
             "max_atoms: 15\n"
             "imax_atoms: 10\n"
             "seed: 17\n"
             "initial_gen: 3\n"
             "iterations: 9\n"
             "walkers: 1\n"
             "write_all_structures: false\n"
             "read_exisiting_structures: true\n"
             "output_dir: %s\n"
             "%s"
             "calculator:\n"
             "  name: builtin\n"
             "  library: %s/examples/srtio3/SrTiO3-buck.lib\n"
             "  c6: true\n"
             "relax:\n"
             "  fmax: 0.05\n"
             "  smax: 0.0005\n"
             "  max_steps: 300\n",
             name, extra, source_dir());
    snprintf(file, sizeof file, "%s.yaml", name);
    ASSERT_OK(fuse2_config_load(test_write_file(file, text), cfg));
}

typedef struct log_lines {
    char text[8192];
} log_lines;

static void collect(void *user, const char *line)
{
    log_lines *l = user;
    strncat(l->text, line, sizeof l->text - strlen(l->text) - 2);
    strcat(l->text, "\n");
}

static void assert_order(const fuse2_pool *p, const char *a, const char *b, const char *c)
{
    assert_int_equal(p->n, 3);
    assert_string_equal(p->source[0], a);
    assert_string_equal(p->source[1], b);
    assert_string_equal(p->source[2], c);
}

static void test_filter_and_ranking_order(void **state)
{
    (void)state;
    fuse2_config cfg;
    char extra[4200];
    snprintf(extra, sizeof extra, "path_to_structures: %s\n", pool_dir);
    load_config("pool-rank", extra, &cfg);
    log_lines log = {.text = ""};
    fuse2_pool p;
    fuse2_pool_init(&p);
    ASSERT_OK(fuse2_pool_load_directory(&cfg, collect, &log, &p));
    /* a: min(-31.2, -31.6); b: -31.5; z unranked, last */
    assert_order(&p, "a.cif", "b.cif", "z.cif");
    assert_true(fabs(p.rank_energy[0] - -31.6) < 1e-12);
    assert_true(fabs(p.rank_energy[1] - -31.5) < 1e-12);
    assert_true(isnan(p.rank_energy[2]));
    assert_int_equal(p.structures[1].natoms, 10);
    assert_true(fabs(p.structures[1].lattice[0][0] - 3.95) < 1e-9);
    for (int i = 0; i < p.n; i++) assert_int_equal(p.used[i], 0);
    /* every rejection is logged with its reason; the files stay (Q27) */
    assert_non_null(strstr(log.text, "wrong-composition.cif rejected: not an integer number of formula units"));
    assert_non_null(strstr(log.text, "too-big.cif rejected: 20 atoms > max_atoms 15"));
    assert_non_null(strstr(log.text, "contact.cif rejected: shortest distance 0.8000 A < dist_cutoff"));
    assert_non_null(strstr(log.text, "broken.cif rejected:"));
    assert_null(strstr(log.text, "notes.txt"));
    assert_non_null(strstr(log.text, "3 structure(s)"));
    assert_non_null(strstr(log.text, "7 CIF file(s), 4 rejected"));
    char path[4200];
    snprintf(path, sizeof path, "%s/contact.cif", pool_dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    fuse2_pool_free(&p);
    fuse2_config_free(&cfg);
}

static void test_name_and_random_orders(void **state)
{
    (void)state;
    fuse2_config cfg;
    char extra[4400];
    snprintf(extra, sizeof extra, "path_to_structures: %s\npull_spp_rank: false\n", pool_dir);
    load_config("pool-names", extra, &cfg);
    fuse2_pool p;
    fuse2_pool_init(&p);
    ASSERT_OK(fuse2_pool_load_directory(&cfg, NULL, NULL, &p));
    assert_order(&p, "a.cif", "b.cif", "z.cif");
    assert_true(isnan(p.rank_energy[0])); /* ranks are not read without pull_spp_rank */
    fuse2_config_free(&cfg);

    /* pull_random: a permutation drawn from the campaign seed, the same every time */
    snprintf(extra, sizeof extra, "path_to_structures: %s\npull_spp_rank: false\npull_random: true\n", pool_dir);
    int differs = 0;
    for (unsigned seed = 1; seed <= 6; seed++) {
        char more[4600];
        snprintf(more, sizeof more, "%s", extra);
        load_config("pool-random", more, &cfg);
        cfg.seed = seed;
        fuse2_pool q, r;
        fuse2_pool_init(&q);
        fuse2_pool_init(&r);
        ASSERT_OK(fuse2_pool_load_directory(&cfg, NULL, NULL, &q));
        ASSERT_OK(fuse2_pool_load_directory(&cfg, NULL, NULL, &r));
        assert_int_equal(q.n, 3);
        int seen = 0;
        for (int i = 0; i < 3; i++) {
            assert_string_equal(q.source[i], r.source[i]);
            seen |= 1 << (q.source[i][0] == 'a' ? 0 : q.source[i][0] == 'b' ? 1 : 2);
        }
        assert_int_equal(seen, 7);
        differs += strcmp(q.source[0], "a.cif") != 0 || strcmp(q.source[1], "b.cif") != 0;
        fuse2_pool_free(&q);
        fuse2_pool_free(&r);
        fuse2_config_free(&cfg);
    }
    assert_true(differs > 0); /* 6 seeds all giving name order: 1 in 7776 */
    fuse2_pool_free(&p);
}

static void test_missing_directory_is_an_error(void **state)
{
    (void)state;
    /* the configuration refuses it before anything runs */
    char text[2048];
    snprintf(text, sizeof text,
             "composition: {Sr: 1, Ti: 1, O: 3}\nmax_atoms: 15\nimax_atoms: 10\nseed: 1\niterations: 5\n"
             "read_exisiting_structures: true\npath_to_structures: no-such-pool-dir\n"
             "calculator:\n  name: builtin\n  library: %s/examples/srtio3/SrTiO3-buck.lib\n",
             source_dir());
    fuse2_config cfg;
    assert_int_not_equal(fuse2_config_load(test_write_file("pool-missing.yaml", text), &cfg), FUSE2_OK);
    test_assert_error_contains("pool-missing.yaml:1: path_to_structures:");
    test_assert_error_contains("no-such-pool-dir is not a directory");
    /* without a path at all */
    snprintf(text, sizeof text,
             "composition: {Sr: 1, Ti: 1, O: 3}\nmax_atoms: 15\nimax_atoms: 10\nseed: 1\niterations: 5\n"
             "read_exisiting_structures: true\n"
             "calculator:\n  name: builtin\n  library: %s/examples/srtio3/SrTiO3-buck.lib\n",
             source_dir());
    assert_int_not_equal(fuse2_config_load(test_write_file("pool-nopath.yaml", text), &cfg), FUSE2_OK);
    test_assert_error_contains("path_to_structures is not given");
    /* and the loader, for a directory that went away after the check */
    char gone[4200];
    snprintf(gone, sizeof gone, "%s/pool-gone", test_tmpdir());
    mkdir(gone, 0755);
    char extra[4400];
    snprintf(extra, sizeof extra, "path_to_structures: %s\n", gone);
    load_config("pool-gone", extra, &cfg);
    rmdir(gone);
    fuse2_pool p;
    fuse2_pool_init(&p);
    assert_int_not_equal(fuse2_pool_load_directory(&cfg, NULL, NULL, &p), FUSE2_OK);
    test_assert_error_contains("pool-gone");
    test_assert_error_contains("pool-gone.yaml");
    assert_int_equal(p.n, 0);
    fuse2_config_free(&cfg);
}

/* A campaign seeded from the directory: members 0..2 are the pool entries
 * in ranking order, and the file keeps the pool, so a resumed campaign no
 * longer depends on the directory. */
static void test_campaign_seeded_from_directory(void **state)
{
    (void)state;
    fuse2_config cfg;
    char extra[4200];
    snprintf(extra, sizeof extra, "path_to_structures: %s\n", pool_dir);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/pool-campaign'", test_tmpdir());
    assert_int_equal(system(cmd), 0);
    load_config("pool-campaign", extra, &cfg);
    fuse2_campaign_summary sum;
    ASSERT_OK(fuse2_campaign_run_serial(&cfg, NULL, &sum));
    assert_true(sum.finished);
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", cfg.output_dir, cfg.campaign_file);
    fuse2_store *st;
    ASSERT_OK(fuse2_store_open_read(path, &st));
    int64_t n;
    ASSERT_OK(fuse2_store_pool_count(st, &n));
    assert_int_equal(n, 3);
    fuse2_store_pool_row rows[3];
    ASSERT_OK(fuse2_store_read_pool_rows(st, 0, 3, rows));
    assert_string_equal(rows[0].source, "a.cif");
    assert_string_equal(rows[2].source, "z.cif");
    assert_true(isnan(rows[2].rank_energy));
    fuse2_store_structure_row recs[9];
    fuse2_store_counts c;
    ASSERT_OK(fuse2_store_counts_get(st, &c));
    assert_int_equal(c.n_structures, 9);
    ASSERT_OK(fuse2_store_read_structure_rows(st, 0, 9, recs));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(recs[i].origin, FUSE2_ORIGIN_POOL);
        assert_int_equal(recs[i].pool_entry, recs[i].step);
        fuse2_structure start = {0};
        ASSERT_OK(fuse2_store_read_structure(st, &recs[i], 1, &start));
        assert_int_equal(start.natoms, rows[recs[i].step].natoms);
        fuse2_structure_free(&start);
    }
    ASSERT_OK(fuse2_store_close(st));
    fuse2_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_and_ranking_order),
        cmocka_unit_test(test_name_and_random_orders),
        cmocka_unit_test(test_missing_directory_is_an_error),
        cmocka_unit_test(test_campaign_seeded_from_directory),
    };
    return cmocka_run_group_tests(tests, setup_directory, NULL);
}
