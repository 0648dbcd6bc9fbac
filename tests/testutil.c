#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuse2/neighbors.h"
#include "fuse2/rng.h"

static char shared_buf[4][4096];
static int shared_next;
static char tmpdir_path[256];
static char write_buf[4][4096];
static int write_next;

const char *test_shared_path(const char *relative)
{
    const char *root = getenv("FUSE2_SHARED_DIR");
    char *buf = shared_buf[shared_next++ % 4];
    snprintf(buf, sizeof shared_buf[0], "%s/%s", root ? root : "../shared", relative);
    return buf;
}

static void remove_tmpdir(void)
{
    if (!tmpdir_path[0] || getenv("FUSE2_KEEP_TEST_FILES")) return;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir_path);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir_path);
}

const char *test_tmpdir(void)
{
    if (!tmpdir_path[0]) {
        snprintf(tmpdir_path, sizeof tmpdir_path, "/tmp/fuse2-test-XXXXXX");
        if (!mkdtemp(tmpdir_path)) {
            perror("mkdtemp");
            abort();
        }
        atexit(remove_tmpdir);
    }
    return tmpdir_path;
}

const char *test_write_file(const char *name, const char *text)
{
    char *buf = write_buf[write_next++ % 4];
    snprintf(buf, sizeof write_buf[0], "%s/%s", test_tmpdir(), name);
    FILE *f = fopen(buf, "w");
    if (!f) fail_msg("cannot write %s", buf);
    fputs(text, f);
    fclose(f);
    return buf;
}

/* Everything left in f as a NUL-terminated malloc'ed string; read in
 * chunks, so it works for pipes too. */
static char *read_stream(FILE *f)
{
    size_t cap = 4096, len = 0, n;
    char *buf = malloc(cap);
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 1024) buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    return buf;
}

char *test_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *text = read_stream(f);
    fclose(f);
    return text;
}

void test_assert_error_contains(const char *needle)
{
    const char *msg = fuse2_error_message();
    if (!strstr(msg, needle))
        fail_msg("error message \"%s\" does not contain \"%s\"", msg, needle);
}

int test_run_capture(const char *command, char **out)
{
    FILE *p = popen(command, "r");
    if (!p) return -1;
    char *buf = read_stream(p);
    int rc = pclose(p);
    if (out) *out = buf; else free(buf);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

int test_run_cli(char **out, const char *fmt, ...)
{
    static char cmd[8192];
    const char *cli = getenv("FUSE2_CLI");
    if (!cli) fail_msg("FUSE2_CLI is not set (run through ctest)");
    int n = snprintf(cmd, sizeof cmd, "'%s' ", cli);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    strncat(cmd, " 2>&1", sizeof cmd - strlen(cmd) - 1);
    return test_run_capture(cmd, out);
}

double test_json_number(const char *text, const char *key)
{
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *p = strstr(text, pattern);
    if (!p) fail_msg("no \"%s\" in output:\n%s", key, text);
    return strtod(p + strlen(pattern), NULL);
}

void test_assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle)) fail_msg("'%s' not found in:\n%s", needle, text);
}

/* ---- random numbers ---- */

/* Keeps the test stream apart from any library stream with the same seed. */
enum { TEST_RNG_PURPOSE = 0x7E57 };

static fuse2_rng test_rng;
static int test_rng_ready;

void test_rng_seed(uint64_t seed)
{
    fuse2_rng_init(&test_rng, seed, 0, 0, TEST_RNG_PURPOSE);
    test_rng_ready = 1;
}

static fuse2_rng *stream(void)
{
    if (!test_rng_ready) test_rng_seed(0);
    return &test_rng;
}

double test_uniform(double lo, double hi)
{
    return fuse2_rng_uniform_range(stream(), lo, hi);
}

int test_uniform_int(int lo, int hi)
{
    return fuse2_rng_int(stream(), lo, hi);
}

/* ---- structures ---- */

int test_compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double *test_sorted_distances(const fuse2_structure *s, double rc, int *n)
{
    fuse2_neighbor_list list = {0};
    ASSERT_OK(fuse2_neighbor_list_build(&list, s, rc));
    double *d = malloc((size_t)(list.count > 0 ? list.count : 1) * sizeof *d);
    memcpy(d, list.distance, (size_t)list.count * sizeof *d);
    qsort(d, (size_t)list.count, sizeof *d, test_compare_doubles);
    *n = list.count;
    fuse2_neighbor_list_free(&list);
    return d;
}

void test_add_random_atoms(fuse2_structure *s, int natoms, double spread)
{
    static const int species[3] = {8, 11, 17};
    for (int i = 0; i < natoms; i++) {
        double f[3];
        /* one draw per statement: the order of draws is then fixed */
        for (int k = 0; k < 3; k++) f[k] = test_uniform(-spread, 1 + spread);
        ASSERT_OK(fuse2_structure_add_atom(s, species[i % 3], f));
    }
}

void test_random_triclinic(double lattice[3][3], double len_lo, double len_hi, double angle_lo,
                           double angle_hi)
{
    double p[6];
    for (int attempt = 0;; attempt++) {
        if (attempt == 10000)
            fail_msg("no possible cell with angles in [%g, %g)", angle_lo, angle_hi);
        for (int k = 0; k < 3; k++) p[k] = test_uniform(len_lo, len_hi);
        for (int k = 3; k < 6; k++) p[k] = test_uniform(angle_lo, angle_hi);
        if (fuse2_lattice_from_parameters(p, lattice) == FUSE2_OK &&
            fuse2_lattice_volume(lattice) > 0.3 * p[0] * p[1] * p[2])
            break;
    }
    fuse2_error_clear(); /* impossible angles raised an error we did not want */
}

void test_skew_lattice(double lattice[3][3], int shears, int max_factor,
                       long long transform[3][3])
{
    for (int step = 0; step < shears; step++) {
        int i = test_uniform_int(0, 2);
        int j = (i + test_uniform_int(1, 2)) % 3;
        int k = test_uniform_int(-max_factor, max_factor);
        for (int c = 0; c < 3; c++) lattice[i][c] += k * lattice[j][c];
        if (transform)
            for (int c = 0; c < 3; c++) transform[i][c] += k * transform[j][c];
    }
}

void test_rock_salt(fuse2_structure *s, double a)
{
    ASSERT_OK(fuse2_structure_init(s, 8));
    const double lattice[3][3] = {{a, 0, 0}, {0, a, 0}, {0, 0, a}};
    memcpy(s->lattice, lattice, sizeof lattice);
    const double fcc[4][3] = {{0, 0, 0}, {0, 0.5, 0.5}, {0.5, 0, 0.5}, {0.5, 0.5, 0}};
    for (int i = 0; i < 4; i++) {
        ASSERT_OK(fuse2_structure_add_atom(s, 11, fcc[i]));
        const double cl[3] = {fmod(fcc[i][0] + 0.5, 1.0), fcc[i][1], fcc[i][2]};
        ASSERT_OK(fuse2_structure_add_atom(s, 17, cl));
    }
}

/* ---- calculators ---- */

static fuse2_status builtin_compute(void *state, const fuse2_structure *s, fuse2_calc_result *r)
{
    return fuse2_builtin_compute(state, s, r);
}

static const fuse2_calc_ops builtin_adapter_ops = {.name = "test-builtin",
                                                   .compute = builtin_compute};

void test_calc_from_builtin(fuse2_builtin *b, fuse2_calc *out)
{
    out->ops = &builtin_adapter_ops;
    out->state = b;
}
