/* The "gulp" calculator (src/calc/gulp_calc.c) end to end through
 * fuse2_calc_create + fuse2_relax / fuse2_calc_compute.
 *
 * GULP itself is not available (academic licence, not in Debian): these
 * tests run tests/gulp_standin.sh, a TEST-ONLY STAND-IN that replays the
 * real GULP 4.3.5 run ../shared/testdata/gulp/ysrtio-icsd-3 (its gulp.got
 * as output, its temp.res as the dump) or injects faults (crash, hang,
 * garbage, NaN, no output). The input structure is that run's gulp.gin
 * geometry, so the atom count of the replayed output matches. */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuse2/external.h"
#include "fuse2/external_run.h"
#include "fuse2/gulp.h"
#include "fuse2/relax.h"
#include "fuse2/structure_io.h"

/* calculators.md §6: ysrtio-icsd-3 (rutile, 6 atoms, 1 cycle). */
static const double ICSD3_ENERGY = -247.28322670;  /* eV */
static const double ICSD3_VOLUME = 62.407736;      /* Å^3 */

static char standin[4096];
static char run_dir[4096];

static int setup(void **state)
{
    (void)state;
    const char *src = getenv("FUSE2_SOURCE_DIR");
    if (src && *src) {
        snprintf(standin, sizeof standin, "%s/tests/gulp_standin.sh", src);
    } else {
        /* without ctest: next to this file */
        snprintf(standin, sizeof standin, "%s", __FILE__);
        char *slash = strrchr(standin, '/');
        if (slash) snprintf(slash + 1, sizeof standin - (size_t)(slash + 1 - standin), "gulp_standin.sh");
    }
    snprintf(run_dir, sizeof run_dir, "%s", test_shared_path("testdata/gulp/ysrtio-icsd-3"));
    return access(standin, R_OK) == 0 ? 0 : 1;
}

/* ---- helpers ---- */

enum { MAX_SETTINGS = 16 };

typedef struct test_settings {
    fuse2_setting items[MAX_SETTINGS];
    char storage[MAX_SETTINGS][2][4400];
    fuse2_settings s;
} test_settings;

/* Adds key = value with origin "test.yaml:<line>", line = 1, 2, ... */
static void set(test_settings *t, const char *key, const char *value)
{
    int i = t->s.count;
    assert_true(i < MAX_SETTINGS);
    int n = snprintf(t->storage[i][0], sizeof t->storage[i][0], "%s", value);
    assert_true(n >= 0 && (size_t)n < sizeof t->storage[i][0]);
    snprintf(t->storage[i][1], sizeof t->storage[i][1], "test.yaml:%d", i + 1);
    t->items[i] = (fuse2_setting){key, t->storage[i][0], t->storage[i][1]};
    t->s.items = t->items;
    t->s.count = i + 1;
}

/* A fresh, empty scratch base directory. */
static const char *scratch_base(const char *name)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/scratch-%s", test_tmpdir(), name);
    ASSERT_OK(fuse2_remove_tree(path));
    return path;
}

/* Settings running the stand-in in `mode` with scratch under `scratch`. */
static void standin_settings(test_settings *t, const char *mode, const char *scratch)
{
    memset(t, 0, sizeof *t);
    char command[9000];
    snprintf(command, sizeof command, "sh '%s' %s '%s' < gulp.gin > gulp.got", standin, mode, run_dir);
    set(t, "command", command);
    set(t, "scratch", scratch);
}

static void read_icsd3(fuse2_structure *s)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/gulp.gin", run_dir);
    ASSERT_OK(fuse2_structure_init(s, 0));
    ASSERT_OK(fuse2_structure_read(path, FUSE2_FORMAT_GULP, s));
    assert_int_equal(s->natoms, 6);
}

/* The only run directory under a scratch base ("" if none); asserts at most one. */
static int only_run_dir(const char *base, char *out, size_t size)
{
    out[0] = '\0';
    DIR *d = opendir(base);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        n++;
        int len = snprintf(out, size, "%s/%s", base, e->d_name);
        assert_true(len >= 0 && (size_t)len < size);
    }
    closedir(d);
    assert_true(n <= 1);
    return n;
}

static char *read_in(const char *dir, const char *name)
{
    char path[8400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return test_read_file(path);
}

static void relax_once(const test_settings *t, fuse2_structure *s, const fuse2_relax_options *opt,
                       fuse2_relax_result *r)
{
    fuse2_calc calc;
    ASSERT_OK(fuse2_calc_create("gulp", &t->s, &calc));
    fuse2_relax_result_init(r);
    ASSERT_OK(fuse2_relax(&calc, s, opt, r));
    fuse2_calc_destroy(&calc);
}

/* ---- (1) a replayed relaxation ---- */

static void test_relax_replays_icsd3(void **state)
{
    (void)state;
    const char *base = scratch_base("relax");
    test_settings t;
    standin_settings(&t, "ok", base);
    set(&t, "keep_scratch", "true");
    set(&t, "library", test_shared_path("potentials/lib2.lib"));
    /* list order comes from the index, not from the order of the keys */
    set(&t, "options.1", "time 5 minutes");
    set(&t, "options.0", "maxcyc 1500");

    fuse2_structure s;
    read_icsd3(&s);
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    fuse2_relax_result r;
    relax_once(&t, &s, &opt, &r);
    assert_int_equal(r.status, FUSE2_RELAX_CONVERGED);
    assert_string_equal(r.reason, "");
    ASSERT_NEAR(r.energy, ICSD3_ENERGY, 1e-8);
    ASSERT_NEAR(r.energy_per_atom, ICSD3_ENERGY / 6, 1e-9);
    assert_int_equal(r.steps, 1);
    ASSERT_NEAR(fabs(fuse2_structure_volume(&s)), ICSD3_VOLUME, 1e-4);

    /* the structure is GULP's final one, as the parser reads the recorded run */
    char got[4200], res[4200];
    snprintf(got, sizeof got, "%s/gulp.got", run_dir);
    snprintf(res, sizeof res, "%s/temp.res", run_dir);
    fuse2_ext_output ref;
    fuse2_ext_output_init(&ref);
    ASSERT_OK(fuse2_gulp_output_parse_file(got, res, 6, &ref));
    assert_true(ref.has_structure);
    assert_int_equal(s.natoms, ref.structure.natoms);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) ASSERT_NEAR(s.lattice[a][b], ref.structure.lattice[a][b], 1e-12);
    for (int i = 0; i < s.natoms; i++) {
        assert_int_equal(s.species[i], ref.structure.species[i]);
        for (int k = 0; k < 3; k++) ASSERT_NEAR(s.frac[i][k], ref.structure.frac[i][k], 1e-12);
    }
    fuse2_ext_output_free(&ref);

    /* keep_scratch: the input as written */
    char dir[4400];
    assert_int_equal(only_run_dir(base, dir, sizeof dir), 1);
    assert_non_null(strstr(dir, "/gulp-"));
    char *gin = read_in(dir, "gulp.gin");
    assert_non_null(gin);
    assert_true(strncmp(gin, "opti conp conj\n", 15) == 0);
    char line[4400];
    char *lib = realpath(test_shared_path("potentials/lib2.lib"), NULL);
    snprintf(line, sizeof line, "\nlibrary %s\n", lib);
    free(lib);
    assert_non_null(strstr(gin, line));
    char *maxcyc = strstr(gin, "\nmaxcyc 1500\n"), *time = strstr(gin, "\ntime 5 minutes\n");
    assert_non_null(maxcyc);
    assert_non_null(time);
    assert_true(maxcyc < time);
    assert_non_null(strstr(gin, "\ndump temp.res\n"));
    assert_null(strstr(gin, "pressure"));
    free(gin);
    char *dump = read_in(dir, "temp.res"); /* the stand-in wrote the dump GULP would */
    assert_non_null(dump);
    free(dump);
    fuse2_relax_result_free(&r);

    /* without keep_scratch a successful run leaves nothing behind */
    base = scratch_base("relax-clean");
    standin_settings(&t, "ok", base);
    fuse2_structure_free(&s);
    read_icsd3(&s);
    relax_once(&t, &s, &opt, &r);
    assert_int_equal(r.status, FUSE2_RELAX_CONVERGED);
    assert_int_equal(only_run_dir(base, dir, sizeof dir), 0);
    fuse2_relax_result_free(&r);
    fuse2_structure_free(&s);
}

/* A single point writes `sing` instead of `opti`; a dump name of choice. */
static void test_compute_writes_sing(void **state)
{
    (void)state;
    static const struct {
        const char *keywords, *relax, *single;
    } cases[] = {
        {NULL, "opti conp conj", "sing conp conj"},
        {"optimise  conp c6", "optimise  conp c6", "sing conp c6"},
        {"conp c6", "conp c6", "sing conp c6"},
        {"sing conp", "sing conp", "sing conp"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *base = scratch_base("compute");
        test_settings t;
        standin_settings(&t, "ok", base);
        set(&t, "keep_scratch", "yes");
        set(&t, "dump", "last.res");
        if (cases[c].keywords) set(&t, "keywords", cases[c].keywords);
        fuse2_calc calc;
        ASSERT_OK(fuse2_calc_create("gulp", &t.s, &calc));
        fuse2_structure s;
        read_icsd3(&s);
        fuse2_calc_result r;
        fuse2_calc_result_init(&r);
        /* the replayed output is an optimisation; its energy is what the parser returns */
        ASSERT_OK(fuse2_calc_compute(&calc, &s, &r));
        ASSERT_NEAR(r.energy, ICSD3_ENERGY, 1e-8);
        char dir[4400];
        assert_int_equal(only_run_dir(base, dir, sizeof dir), 1);
        char *gin = read_in(dir, "gulp.gin");
        assert_non_null(gin);
        char first[256];
        snprintf(first, sizeof first, "%s\n", cases[c].single);
        if (strncmp(gin, first, strlen(first)) != 0) fail_msg("case %zu: .gin starts with '%.40s'", c, gin);
        assert_non_null(strstr(gin, "\ndump last.res\n"));
        free(gin);
        char *dump = read_in(dir, "last.res");
        assert_non_null(dump);
        free(dump);
        fuse2_calc_result_free(&r);

        /* the relaxation's line is the keywords as given */
        base = scratch_base("compute-relax");
        fuse2_relax_options opt;
        fuse2_relax_options_default(&opt);
        fuse2_relax_result rr;
        fuse2_relax_result_init(&rr);
        snprintf(t.storage[1][0], sizeof t.storage[1][0], "%s", base);
        fuse2_calc_destroy(&calc);
        ASSERT_OK(fuse2_calc_create("gulp", &t.s, &calc));
        ASSERT_OK(fuse2_relax(&calc, &s, &opt, &rr));
        assert_int_equal(only_run_dir(base, dir, sizeof dir), 1);
        gin = read_in(dir, "gulp.gin");
        snprintf(first, sizeof first, "%s\n", cases[c].relax);
        if (strncmp(gin, first, strlen(first)) != 0) fail_msg("case %zu: .gin starts with '%.40s'", c, gin);
        free(gin);
        fuse2_relax_result_free(&rr);
        fuse2_calc_destroy(&calc);
        fuse2_structure_free(&s);
    }
}

/* Under pressure GULP prints the enthalpy; the result's energy is E, its enthalpy E + PV. */
static void test_pressure(void **state)
{
    (void)state;
    const char *base = scratch_base("pressure");
    test_settings t;
    standin_settings(&t, "enthalpy", base);
    set(&t, "keep_scratch", "on");
    fuse2_structure s;
    read_icsd3(&s);
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    opt.pressure = 2.5 * 1e-21 / 1.602176634e-19; /* 2.5 GPa */
    fuse2_relax_result r;
    relax_once(&t, &s, &opt, &r);
    assert_int_equal(r.status, FUSE2_RELAX_CONVERGED);
    double pv = opt.pressure * fabs(fuse2_structure_volume(&s));
    ASSERT_NEAR(r.energy, ICSD3_ENERGY - pv, 1e-8);
    ASSERT_NEAR(r.enthalpy, ICSD3_ENERGY, 1e-8);
    char dir[4400];
    assert_int_equal(only_run_dir(base, dir, sizeof dir), 1);
    char *gin = read_in(dir, "gulp.gin");
    assert_non_null(strstr(gin, "\npressure 2.5 GPa\n"));
    free(gin);
    fuse2_relax_result_free(&r);
    fuse2_structure_free(&s);
}

/* ---- (2) faults ---- */

/* Running (a zombie counts as gone: PID 1 of a container may not reap). */
static int process_alive(long pid)
{
    char path[64], text[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *close = strrchr(text, ')');
    return close && close[1] == ' ' && close[2] != 'Z' && close[2] != 'X';
}

/* Live processes running `word` (the stand-in's `sh .../gulp_standin.sh`)
 * in directory dir: the run's own, so that concurrent test runs of other
 * builds do not count. */
static int count_processes_in(const char *word, const char *dir)
{
    DIR *d = opendir("/proc");
    if (!d) return 0;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        char path[64], cmd[8192], cwd[4400];
        snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(cmd, 1, sizeof cmd - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++)
            if (!cmd[i]) cmd[i] = ' ';
        cmd[n] = '\0';
        snprintf(path, sizeof path, "/proc/%ld/cwd", pid);
        ssize_t len = readlink(path, cwd, sizeof cwd - 1);
        if (len < 0) continue;
        cwd[len] = '\0';
        count += strstr(cmd, word) && !strcmp(cwd, dir) && process_alive(pid);
    }
    closedir(d);
    return count;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void test_faults(void **state)
{
    (void)state;
    static const struct {
        const char *mode;
        fuse2_relax_status status;
        const char *reason; /* the class the reason starts with */
    } cases[] = {
        {"exit3", FUSE2_RELAX_FAILED, "crashed: "},
        {"hang", FUSE2_RELAX_TIMED_OUT, "timed_out: "},
        {"garbage", FUSE2_RELAX_FAILED, "unparsable: "},
        {"nan", FUSE2_RELAX_FAILED, "non_finite: "},
        {"delete", FUSE2_RELAX_FAILED, "unparsable: "},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char name[64];
        snprintf(name, sizeof name, "fault-%s", cases[c].mode);
        const char *base = scratch_base(name);
        test_settings t;
        standin_settings(&t, cases[c].mode, base);
        set(&t, "time_limit", "1");
        fuse2_structure s;
        read_icsd3(&s);
        fuse2_relax_options opt;
        fuse2_relax_options_default(&opt);
        fuse2_relax_result r;
        double t0 = now();
        relax_once(&t, &s, &opt, &r);
        double wall = now() - t0;
        if (r.status != cases[c].status || strncmp(r.reason, cases[c].reason, strlen(cases[c].reason)) != 0)
            fail_msg("%s: status %s, reason '%s'", cases[c].mode, fuse2_relax_status_name(r.status), r.reason);
        assert_true(wall < (cases[c].status == FUSE2_RELAX_TIMED_OUT ? 3.0 : 10.0));
        /* a failed run keeps its directory, with the input, for inspection */
        char dir[4400];
        assert_int_equal(only_run_dir(base, dir, sizeof dir), 1);
        char *gin = read_in(dir, "gulp.gin");
        assert_non_null(gin);
        free(gin);
        if (!strcmp(cases[c].mode, "hang")) {
            /* the stand-in and its child sleep are gone: no orphans */
            char *pids = read_in(dir, "standin.pids");
            assert_non_null(pids);
            long child = 0, shell = 0;
            assert_int_equal(sscanf(pids, "%ld %ld", &child, &shell), 2);
            free(pids);
            for (int i = 0; i < 100 && (process_alive(child) || process_alive(shell)); i++) usleep(10000);
            assert_false(process_alive(child));
            assert_false(process_alive(shell));
            char real[4400];
            assert_non_null(realpath(dir, real));
            assert_int_equal(count_processes_in("gulp_standin.sh", real), 0);
        }
        fuse2_relax_result_free(&r);
        fuse2_structure_free(&s);
    }
}

/* compute has no status: a failed single point is an error naming the outcome. */
static void test_compute_failure_is_an_error(void **state)
{
    (void)state;
    test_settings t;
    standin_settings(&t, "garbage", scratch_base("compute-fail"));
    fuse2_calc calc;
    ASSERT_OK(fuse2_calc_create("gulp", &t.s, &calc));
    fuse2_structure s;
    read_icsd3(&s);
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    assert_int_not_equal(fuse2_calc_compute(&calc, &s, &r), FUSE2_OK);
    test_assert_error_contains("gulp single point unparsable");
    fuse2_error_clear();
    fuse2_calc_result_free(&r);
    fuse2_calc_destroy(&calc);
    fuse2_structure_free(&s);
}

/* ---- (3) SPP library assembly ---- */

static void write_table(const char *spp, const char *pair, const char *text)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", spp, pair);
    ASSERT_OK(fuse2_make_directories(path));
    snprintf(path, sizeof path, "%s/%s/%s.POT", spp, pair, pair);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Cubic SrTiO3 (a = 3.9 Å) with the elements first met in the order O, Ti, Sr. */
static void perovskite(fuse2_structure *s, int extra_z)
{
    const double L[3][3] = {{3.9, 0, 0}, {0, 3.9, 0}, {0, 0, 3.9}};
    ASSERT_OK(fuse2_structure_init(s, 0));
    memcpy(s->lattice, L, sizeof L);
    ASSERT_OK(fuse2_structure_add_atom(s, 8, (double[3]){0.5, 0.5, 0}));
    ASSERT_OK(fuse2_structure_add_atom(s, 22, (double[3]){0.5, 0.5, 0.5}));
    ASSERT_OK(fuse2_structure_add_atom(s, 8, (double[3]){0.5, 0, 0.5}));
    ASSERT_OK(fuse2_structure_add_atom(s, 38, (double[3]){0, 0, 0}));
    ASSERT_OK(fuse2_structure_add_atom(s, 8, (double[3]){0, 0.5, 0.5}));
    if (extra_z) ASSERT_OK(fuse2_structure_add_atom(s, extra_z, (double[3]){0.25, 0.25, 0.25}));
}

static void test_spp_assembly(void **state)
{
    (void)state;
    char spp[4200];
    snprintf(spp, sizeof spp, "%s/SPP", test_tmpdir());
    /* FUSE2 upper-cases symbols (TI-TI); tables may also be named as the
     * symbols are written (Ti-O); only one order of each pair exists; the
     * last table has no final newline */
    write_table(spp, "O-O", "# table O-O\nspline\n");
    write_table(spp, "Ti-O", "# table Ti-O\n");
    write_table(spp, "O-SR", "# table O-SR\n");
    write_table(spp, "TI-TI", "# table TI-TI\n");
    write_table(spp, "SR-TI", "# table SR-TI\n");
    write_table(spp, "Sr-Sr", "# table Sr-Sr");

    fuse2_structure s;
    perovskite(&s, 0);
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);

    /* each unordered pair once, A = B included, in order of first appearance */
    const char *base = scratch_base("spp");
    test_settings t;
    standin_settings(&t, "delete", base);
    set(&t, "spp_path", spp);
    fuse2_relax_result r;
    relax_once(&t, &s, &opt, &r);
    assert_int_equal(r.status, FUSE2_RELAX_FAILED); /* the stand-in wrote nothing */
    char dir[4400];
    assert_int_equal(only_run_dir(base, dir, sizeof dir), 1);
    char *lib = read_in(dir, "lib.lib");
    assert_non_null(lib);
    assert_string_equal(lib, "\n# table O-O\nspline\n"
                             "\n# table Ti-O\n"
                             "\n# table O-SR\n"
                             "\n# table TI-TI\n"
                             "\n# table SR-TI\n"
                             "\n# table Sr-Sr\n");
    free(lib);
    char *gin = read_in(dir, "gulp.gin");
    assert_true(strncmp(gin, "opti conp conj noelectro\n", 25) == 0);
    assert_non_null(strstr(gin, "\ninclude lib.lib\n"));
    assert_null(strstr(gin, "\nlibrary"));
    /* FUSE2's taper for its SPP tables: cutp 11.0 2.0 (spp_cutoff, spp_taper) */
    assert_non_null(strstr(gin, "\ncutp 11 2\n"));
    free(gin);
    fuse2_relax_result_free(&r);

    /* spp_cutoff / spp_taper set the cutp line; a cutp option of the user's wins */
    base = scratch_base("spp-cutp");
    standin_settings(&t, "delete", base);
    set(&t, "spp_path", spp);
    set(&t, "spp_cutoff", "9.5");
    set(&t, "spp_taper", "1.5");
    relax_once(&t, &s, &opt, &r);
    assert_int_equal(only_run_dir(base, dir, sizeof dir), 1);
    gin = read_in(dir, "gulp.gin");
    assert_non_null(strstr(gin, "\ncutp 9.5 1.5\n"));
    free(gin);
    fuse2_relax_result_free(&r);
    base = scratch_base("spp-usercutp");
    standin_settings(&t, "delete", base);
    set(&t, "spp_path", spp);
    set(&t, "options.0", "CUTP 12.0 1.0");
    relax_once(&t, &s, &opt, &r);
    assert_int_equal(only_run_dir(base, dir, sizeof dir), 1);
    gin = read_in(dir, "gulp.gin");
    assert_non_null(strstr(gin, "\nCUTP 12.0 1.0\n"));
    assert_null(strstr(gin, "\ncutp"));
    free(gin);
    fuse2_relax_result_free(&r);

    /* the composition's pairs are checked before any structure
     * (fuse2_calc_check_elements, as config loading does) */
    {
        standin_settings(&t, "delete", scratch_base("spp-check"));
        set(&t, "spp_path", spp);
        fuse2_calc c;
        ASSERT_OK(fuse2_calc_create("gulp", &t.s, &c));
        const int srtio[3] = {38, 22, 8}, with_y[4] = {38, 22, 8, 39};
        ASSERT_OK(fuse2_calc_check_elements(&c, srtio, 3));
        assert_int_not_equal(fuse2_calc_check_elements(&c, with_y, 4), FUSE2_OK);
        test_assert_error_contains("test.yaml:3: spp_path: no SPP table for the pair Sr-Y of the composition");
        fuse2_error_clear();
        fuse2_calc_destroy(&c);
        /* a library is GULP's to read: nothing to check */
        standin_settings(&t, "delete", scratch_base("lib-check"));
        ASSERT_OK(fuse2_calc_create("gulp", &t.s, &c));
        ASSERT_OK(fuse2_calc_check_elements(&c, with_y, 4));
        fuse2_calc_destroy(&c);
    }

    /* FUSE2's file: ordered pairs, every hetero pair twice (Q42) */
    base = scratch_base("spp-legacy");
    standin_settings(&t, "delete", base);
    set(&t, "spp_path", spp);
    set(&t, "spp_legacy_duplicates", "true");
    set(&t, "keywords", "opti conp noelectrostatics");
    relax_once(&t, &s, &opt, &r);
    assert_int_equal(only_run_dir(base, dir, sizeof dir), 1);
    lib = read_in(dir, "lib.lib");
    assert_string_equal(lib, "\n# table O-O\nspline\n"
                             "\n# table Ti-O\n"
                             "\n# table O-SR\n"
                             "\n# table Ti-O\n"
                             "\n# table TI-TI\n"
                             "\n# table SR-TI\n"
                             "\n# table O-SR\n"
                             "\n# table SR-TI\n"
                             "\n# table Sr-Sr\n");
    free(lib);
    gin = read_in(dir, "gulp.gin");
    assert_true(strncmp(gin, "opti conp noelectrostatics\n", 27) == 0); /* not added twice */
    free(gin);
    fuse2_relax_result_free(&r);
    fuse2_structure_free(&s);

    /* a missing pair is an error naming the files looked for */
    perovskite(&s, 39); /* + Y: no O-Y table */
    standin_settings(&t, "delete", scratch_base("spp-missing"));
    set(&t, "spp_path", spp);
    fuse2_calc calc;
    ASSERT_OK(fuse2_calc_create("gulp", &t.s, &calc));
    fuse2_relax_result_init(&r);
    assert_int_not_equal(fuse2_relax(&calc, &s, &opt, &r), FUSE2_OK);
    test_assert_error_contains("test.yaml:3");
    test_assert_error_contains("no SPP table for the pair O-Y");
    test_assert_error_contains("/SPP/O-Y/O-Y.POT");
    test_assert_error_contains("/SPP/Y-O/Y-O.POT");
    fuse2_error_clear();
    fuse2_relax_result_free(&r);
    fuse2_calc_destroy(&calc);
    fuse2_structure_free(&s);
}

/* ---- (4) bad settings ---- */

static void test_bad_settings(void **state)
{
    (void)state;
    char not_dir[4200];
    snprintf(not_dir, sizeof not_dir, "%s", test_write_file("plain-file.txt", "x\n"));
    static const struct {
        const char *key, *value, *message;
    } cases[] = {
        {"keyword", "opti", "unknown setting 'keyword'"},
        {"keywords", "", "'keywords' is empty"},
        {"keywords", "opti\nconp", "one line"},
        {"library", "/nonexistent/lib2.lib", "cannot read library '/nonexistent/lib2.lib'"},
        {"library", "/tmp", "a directory"},
        {"spp_path", "/nonexistent/SPP", "cannot read spp_path"},
        {"spp_path", NULL, "not a directory"},
        {"spp_legacy_duplicates", "true", "needs 'spp_path'"},
        {"spp_cutoff", "9", "needs 'spp_path'"},
        {"spp_taper", "1", "needs 'spp_path'"},
        {"options.first", "maxcyc 10", "must be a list"},
        {"options.0", "dump other.res", "'dump' setting"},
        {"options.0", "library x.lib", "'library' setting"},
        {"options.0", "pressure 1 GPa", "campaign's 'pressure:'"},
        {"options.0", "include ./lib.lib", "absolute path"},
        {"options.0", "  ", "empty GULP option"},
        {"dump", "my dump.res", "plain file name"},
        {"dump", "gulp.got", "must not be gulp.got"},
        {"time_limit", "-1", "'time_limit' must be >= 0"},
        {"keep_scratch", "maybe", "'keep_scratch' must be true or false"},
        {"command", "", "'command' is empty"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        test_settings t;
        memset(&t, 0, sizeof t);
        set(&t, "scratch", test_tmpdir()); /* line 1 */
        set(&t, cases[c].key, cases[c].value ? cases[c].value : not_dir); /* line 2 */
        fuse2_calc calc;
        if (fuse2_calc_create("gulp", &t.s, &calc) == FUSE2_OK)
            fail_msg("case %zu (%s = '%s') was accepted", c, cases[c].key, cases[c].value);
        const char *msg = fuse2_error_message();
        if (!strstr(msg, "test.yaml:2") || !strstr(msg, cases[c].message))
            fail_msg("case %zu (%s): message '%s' lacks 'test.yaml:2' or '%s'", c, cases[c].key, msg,
                     cases[c].message);
        fuse2_error_clear();
    }
    /* the registry knows it */
    const fuse2_calc_ops *ops = fuse2_calc_find("gulp");
    assert_non_null(ops);
    assert_true(fuse2_calc_key_known(ops, "options.3"));
    assert_true(fuse2_calc_key_known(ops, "time_limit"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relax_replays_icsd3),
        cmocka_unit_test(test_compute_writes_sing),
        cmocka_unit_test(test_pressure),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_compute_failure_is_an_error),
        cmocka_unit_test(test_spp_assembly),
        cmocka_unit_test(test_bad_settings),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
