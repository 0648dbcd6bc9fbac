/* The "vasp" calculator (src/calc/vasp_calc.c) end to end, with a STAND-IN
 * for VASP: VASP is licensed and not installable, so the command is
 * tests/vasp_standin.sh, a test-only shell script that checks the inputs
 * the driver wrote and replays the recorded VASP 5.4.4 run
 * ../shared/testdata/vasp/nboc-relax (or imitates a crash, a hang, garbage,
 * NaN). The POTCARs are fakes made here (never real ones). */
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse2/calc.h"
#include "fuse2/external.h"
#include "fuse2/relax.h"
#include "fuse2/structure_io.h"
#include "fuse2/vasp.h"
#include "testutil.h"

#define RUN "testdata/vasp/nboc-relax/"
/* E(sigma->0) of the recorded run's last ionic step (OUTCAR). */
static const double E_FINAL = -253.79850546;

static char script[PATH_MAX];   /* tests/vasp_standin.sh */
static char data[PATH_MAX];     /* the recorded run, absolute (the stand-in runs in the scratch dir) */
static char pp[PATH_MAX];       /* fake POTCAR tree: pp/potpaw_PBE/{Nb_sv,C,O}/POTCAR */
static fuse2_structure original; /* the recorded POSCAR: 16 Nb, 8 C, 8 O */
static fuse2_structure shuffled; /* the same atoms interleaved, O first */
static int orig_of[64];          /* shuffled atom i is original atom orig_of[i] */

/* ---- settings with origins, as the YAML reader makes them ---- */

typedef struct kv_list {
    fuse2_setting items[40];
    char keys[40][64], values[40][PATH_MAX + 256], origins[40][32];
    int n;
} kv_list;

static kv_list L;

static void reset_settings(void) { memset(&L, 0, sizeof L); }

static void set(const char *key, const char *value)
{
    assert_true(L.n < 40);
    snprintf(L.keys[L.n], sizeof L.keys[0], "%s", key);
    snprintf(L.values[L.n], sizeof L.values[0], "%s", value);
    snprintf(L.origins[L.n], sizeof L.origins[0], "test.yaml:%d", L.n + 3);
    L.items[L.n] = (fuse2_setting){L.keys[L.n], L.values[L.n], L.origins[L.n]};
    L.n++;
}

static fuse2_settings settings(void) { return (fuse2_settings){L.n, L.items}; }

static void make_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void make_fake_potcar(const char *name)
{
    char path[PATH_MAX + 64], text[256];
    snprintf(path, sizeof path, "%s/potpaw_PBE/%s", pp, name);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/potpaw_PBE/%s/POTCAR", pp, name);
    snprintf(text, sizeof text, "  PAW_PBE %s (FAKE POTCAR, test only)\n   TITEL  = PAW_PBE %s fake\n End of Dataset\n",
             name, name);
    make_file(path, text);
}

static int group_setup(void **state)
{
    (void)state;
    const char *src = getenv("FUSE2_SOURCE_DIR");
    if (src)
        snprintf(script, sizeof script, "%s/tests/vasp_standin.sh", src);
    else {
        /* run by hand: next to this file */
        snprintf(script, sizeof script, "%s", __FILE__);
        char *slash = strrchr(script, '/');
        snprintf(slash ? slash + 1 : script, sizeof script - (size_t)(slash ? slash + 1 - script : 0),
                 "vasp_standin.sh");
    }
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "cannot find the VASP stand-in %s\n", script);
        return -1;
    }
    if (!realpath(test_shared_path(RUN), data)) {
        fprintf(stderr, "cannot find the recorded VASP run %s\n", test_shared_path(RUN));
        return -1;
    }
    snprintf(pp, sizeof pp, "%s/pp", test_tmpdir());
    char path[PATH_MAX + 32];
    assert_int_equal(mkdir(pp, 0755), 0);
    snprintf(path, sizeof path, "%s/potpaw_PBE", pp);
    assert_int_equal(mkdir(path, 0755), 0);
    make_fake_potcar("Nb_sv");
    make_fake_potcar("C");
    make_fake_potcar("O");

    fuse2_structure_init(&original, 0);
    fuse2_structure_init(&shuffled, 0);
    if (fuse2_poscar_read(test_shared_path(RUN "POSCAR"), &original) != FUSE2_OK || original.natoms != 32) {
        fprintf(stderr, "cannot read the recorded POSCAR: %s\n", fuse2_error_message());
        return -1;
    }
    /* Interleave the three species at random, keeping the order within each
     * species: with species_order "Nb C O" the POSCAR is then the recorded
     * one atom by atom (so the replayed CONTCAR fits), while the input order
     * differs everywhere and the driver must undo its permutation. */
    test_rng_seed(20260503);
    int next[3] = {0, 16, 24}, end[3] = {16, 24, 32};
    assert_int_equal(original.species[0], 41);
    assert_int_equal(original.species[16], 6);
    assert_int_equal(original.species[24], 8);
    memcpy(shuffled.lattice, original.lattice, sizeof shuffled.lattice);
    for (int i = 0; i < 32; i++) {
        int k;
        if (i == 0)
            k = 2; /* O first: first appearance would give O, ... */
        else
            do k = test_uniform_int(0, 2);
            while (next[k] == end[k]);
        orig_of[i] = next[k]++;
        assert_int_equal(fuse2_structure_add_atom(&shuffled, original.species[orig_of[i]], original.frac[orig_of[i]]),
                         FUSE2_OK);
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    fuse2_structure_free(&original);
    fuse2_structure_free(&shuffled);
    return 0;
}

/* A fresh directory under the test's tmp dir. */
static const char *fresh_dir(const char *name)
{
    static char dirs[8][PATH_MAX];
    static int next;
    char *d = dirs[next++ % 8];
    snprintf(d, PATH_MAX, "%s/%s", test_tmpdir(), name);
    assert_int_equal(mkdir(d, 0755), 0);
    return d;
}

/* Entries of dir besides . and ..; the first one's name into first. */
static int count_entries(const char *dir, char *first, size_t size)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            if (n++ == 0 && first) snprintf(first, size, "%s", e->d_name);
        }
    closedir(d);
    return n;
}

static char *read_in(const char *dir, const char *name)
{
    char path[2 * PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = test_read_file(path);
    if (!text) fail_msg("cannot read %s", path);
    return text;
}

/* The stand-in as the command, its scratch base and the fake POTCARs. */
static void base_settings(const char *mode, const char *scratch, const char *save)
{
    char command[3 * PATH_MAX + 64];
    snprintf(command, sizeof command, "sh '%s' %s '%s' '%s'", script, mode, data, save ? save : "");
    reset_settings();
    set("command", command);
    set("scratch", scratch);
    set("potcar_dir", pp);
    set("setups.Nb", "_sv");
}

static void relax_with(fuse2_structure *s, fuse2_relax_result *r)
{
    fuse2_calc calc;
    fuse2_settings st = settings();
    ASSERT_OK(fuse2_calc_create("vasp", &st, &calc));
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    opt.max_steps = 60;
    opt.fmax = 0.02;
    fuse2_relax_result_init(r);
    ASSERT_OK(fuse2_relax(&calc, s, &opt, r));
    fuse2_calc_destroy(&calc);
}

/* ---- (1) a converged replay ---- */

static void test_replay_converges_in_input_order(void **state)
{
    (void)state;
    const char *scratch = fresh_dir("scratch-ok"), *save = fresh_dir("save-ok");
    base_settings("ok", scratch, save);
    set("kspacing", "0.3");
    set("species_order", "Nb C O");
    set("incar.ENCUT", "520");
    set("incar.PREC", "Accurate");
    set("incar.LWAVE", "false");
    set("incar.MAGMOM.0", "16*0.6");
    set("incar.MAGMOM.1", "16*0");
    fuse2_structure s;
    fuse2_structure_init(&s, 0);
    ASSERT_OK(fuse2_structure_copy(&s, &shuffled));
    fuse2_relax_result r;
    relax_with(&s, &r);
    print_message("%s: %s\n", fuse2_relax_status_name(r.status), r.reason);
    if (r.status != FUSE2_RELAX_CONVERGED) fail_msg("status %s: %s", fuse2_relax_status_name(r.status), r.reason);
    ASSERT_NEAR(r.energy, E_FINAL, 1e-8);
    ASSERT_NEAR(r.energy_per_atom, E_FINAL / 32, 1e-9);
    assert_int_equal(r.steps, 49);

    /* the final structure is the CONTCAR, atoms in the input order */
    fuse2_structure contcar;
    fuse2_structure_init(&contcar, 0);
    ASSERT_OK(fuse2_poscar_read(test_shared_path(RUN "CONTCAR"), &contcar));
    assert_int_equal(s.natoms, 32);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) ASSERT_NEAR(s.lattice[a][b], contcar.lattice[a][b], 1e-12);
    for (int i = 0; i < 32; i++) {
        assert_int_equal(s.species[i], contcar.species[orig_of[i]]);
        for (int k = 0; k < 3; k++) ASSERT_NEAR(s.frac[i][k], contcar.frac[orig_of[i]][k], 1e-12);
    }
    /* forces too: OUTCAR row orig_of[i] */
    char cmd[2 * PATH_MAX + 64], outcar[PATH_MAX + 16];
    snprintf(outcar, sizeof outcar, "%s/OUTCAR", test_tmpdir());
    snprintf(cmd, sizeof cmd, "gzip -dc '%s/OUTCAR.gz' > '%s'", data, outcar);
    assert_int_equal(system(cmd), 0);
    fuse2_vasp_outcar oc;
    fuse2_vasp_outcar_init(&oc);
    ASSERT_OK(fuse2_vasp_outcar_read(outcar, &oc));
    assert_true(oc.has_forces);
    for (int i = 0; i < 32; i++)
        for (int k = 0; k < 3; k++) ASSERT_NEAR(r.final.forces[i][k], oc.forces[orig_of[i]][k], 1e-12);
    assert_true(r.max_force > 0 && r.max_force < 0.1);
    fuse2_vasp_outcar_free(&oc);

    /* the inputs the stand-in saw */
    char *potcar = read_in(save, "POTCAR");
    const char *nb = strstr(potcar, "PAW_PBE Nb_sv"), *c = strstr(potcar, "PAW_PBE C "),
               *o = strstr(potcar, "PAW_PBE O ");
    assert_true(nb && c && o && nb < c && c < o); /* POSCAR species order */
    char *poscar = read_in(save, "POSCAR");
    fuse2_structure written;
    fuse2_structure_init(&written, 0);
    ASSERT_OK(fuse2_poscar_read_string(poscar, "POSCAR", &written));
    for (int i = 0; i < 32; i++) assert_int_equal(written.species[i], original.species[i]);
    char *incar = read_in(save, "INCAR");
    test_assert_contains(incar, "ENCUT = 520\n");
    test_assert_contains(incar, "PREC = Accurate\n");
    test_assert_contains(incar, "LWAVE = .FALSE.\n");
    test_assert_contains(incar, "MAGMOM = 16*0.6 16*0\n");
    test_assert_contains(incar, "IBRION = 2\n");
    test_assert_contains(incar, "ISIF = 3\n");
    test_assert_contains(incar, "NSW = 60\n");
    test_assert_contains(incar, "EDIFFG = -0.02\n");
    assert_null(strstr(incar, "ISYM"));
    assert_null(strstr(incar, "KSPACING"));
    char *kpoints = read_in(save, "KPOINTS");
    int mesh[3];
    ASSERT_OK(fuse2_vasp_kspacing_mesh(original.lattice, 0.3, mesh));
    char want[64];
    snprintf(want, sizeof want, "Gamma\n%d %d %d\n", mesh[0], mesh[1], mesh[2]);
    test_assert_contains(kpoints, want);
    /* a converged run leaves nothing behind */
    assert_int_equal(count_entries(scratch, NULL, 0), 0);
    free(potcar);
    free(poscar);
    free(incar);
    free(kpoints);
    fuse2_structure_free(&written);
    fuse2_structure_free(&contcar);
    fuse2_structure_free(&s);
    fuse2_relax_result_free(&r);
}

/* compute(): a single point forces NSW = 0 and IBRION = -1 over the INCAR's. */
static void test_single_point(void **state)
{
    (void)state;
    const char *scratch = fresh_dir("scratch-sp"), *save = fresh_dir("save-sp");
    base_settings("ok", scratch, save);
    set("incar.KSPACING", "0.5");
    set("incar.NSW", "100");
    set("incar.IBRION", "2");
    set("species_order.0", "Nb");
    set("species_order.1", "C");
    set("species_order.2", "O");
    fuse2_calc calc;
    fuse2_settings st = settings();
    ASSERT_OK(fuse2_calc_create("vasp", &st, &calc));
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    ASSERT_OK(fuse2_calc_compute(&calc, &shuffled, &r));
    ASSERT_NEAR(r.energy, E_FINAL, 1e-8);
    char *incar = read_in(save, "INCAR");
    test_assert_contains(incar, "NSW = 0\n");
    test_assert_contains(incar, "IBRION = -1\n");
    test_assert_contains(incar, "KSPACING = 0.5\n");
    assert_null(strstr(incar, "NSW = 100"));
    assert_null(strstr(incar, "ISIF"));
    /* KSPACING in INCAR: no KPOINTS file */
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/KPOINTS", save);
    assert_int_not_equal(access(path, F_OK), 0);
    assert_int_equal(count_entries(scratch, NULL, 0), 0);
    free(incar);
    fuse2_calc_result_free(&r);
    fuse2_calc_destroy(&calc);
}

/* ---- (2) failures ---- */

static void test_zbrent_crash_keeps_directory(void **state)
{
    (void)state;
    const char *scratch = fresh_dir("scratch-zbrent");
    base_settings("zbrent", scratch, NULL);
    L.n--; /* setups.Nb as a full name instead of a suffix */
    set("setups.Nb", "Nb_sv");
    set("kpoints", "2 2 2");
    fuse2_structure s;
    fuse2_structure_init(&s, 0);
    ASSERT_OK(fuse2_structure_copy(&s, &shuffled));
    fuse2_relax_result r;
    relax_with(&s, &r);
    print_message("%s: %s\n", fuse2_relax_status_name(r.status), r.reason);
    assert_int_equal(r.status, FUSE2_RELAX_FAILED);
    test_assert_contains(r.reason, "crashed");
    test_assert_contains(r.reason, "ZBRENT");
    /* failed runs keep their directory; its POTCAR follows its POSCAR:
     * without species_order, first appearance (O first here) */
    char name[256];
    assert_int_equal(count_entries(scratch, name, sizeof name), 1);
    char dir[PATH_MAX + 256];
    snprintf(dir, sizeof dir, "%s/%s", scratch, name);
    test_assert_contains(r.reason, dir);
    int species[FUSE2_VASP_MAX_SPECIES], n = 0;
    ASSERT_OK(fuse2_vasp_species_order(&shuffled, NULL, 0, species, &n));
    assert_int_equal(n, 3);
    assert_int_equal(species[0], 8);
    char *potcar = read_in(dir, "POTCAR"), *poscar = read_in(dir, "POSCAR"), *kpoints = read_in(dir, "KPOINTS");
    const char *pos[3];
    for (int k = 0; k < 3; k++) {
        char title[64];
        snprintf(title, sizeof title, "PAW_PBE %s", species[k] == 41 ? "Nb_sv" : species[k] == 6 ? "C " : "O ");
        pos[k] = strstr(potcar, title);
        assert_non_null(pos[k]);
    }
    assert_true(pos[0] < pos[1] && pos[1] < pos[2]);
    fuse2_structure written;
    fuse2_structure_init(&written, 0);
    ASSERT_OK(fuse2_poscar_read_string(poscar, "POSCAR", &written));
    assert_int_equal(written.species[0], species[0]);
    assert_int_equal(written.species[31], species[2]);
    test_assert_contains(kpoints, "Gamma\n2 2 2\n");
    char wavecar[2 * PATH_MAX];
    snprintf(wavecar, sizeof wavecar, "%s/WAVECAR", dir);
    assert_int_not_equal(access(wavecar, F_OK), 0); /* delete_wavecar */
    snprintf(wavecar, sizeof wavecar, "%s/OUTCAR", dir);
    assert_int_equal(access(wavecar, F_OK), 0);
    free(potcar);
    free(poscar);
    free(kpoints);
    fuse2_structure_free(&written);
    fuse2_structure_free(&s);
    fuse2_relax_result_free(&r);
}

static void test_pricel_retried_with_isym0(void **state)
{
    (void)state;
    const char *scratch = fresh_dir("scratch-pricel"), *save = fresh_dir("save-pricel");
    base_settings("pricel_then_ok", scratch, save);
    set("kspacing", "0.3");
    set("species_order", "Nb, C, O");
    set("incar.ISYM", "2"); /* replaced by 0 on the retry */
    fuse2_structure s;
    fuse2_structure_init(&s, 0);
    ASSERT_OK(fuse2_structure_copy(&s, &shuffled));
    fuse2_relax_result r;
    relax_with(&s, &r);
    print_message("%s: %s\n", fuse2_relax_status_name(r.status), r.reason);
    if (r.status != FUSE2_RELAX_CONVERGED) fail_msg("status %s: %s", fuse2_relax_status_name(r.status), r.reason);
    ASSERT_NEAR(r.energy, E_FINAL, 1e-8);
    test_assert_contains(r.reason, "ISYM = 0");
    test_assert_contains(r.reason, "PRICEL");
    char *incar = read_in(save, "INCAR"); /* the retry's */
    test_assert_contains(incar, "ISYM = 0\n");
    assert_null(strstr(incar, "ISYM = 2"));
    /* the failed first attempt was superseded and removed */
    assert_int_equal(count_entries(scratch, NULL, 0), 0);
    for (int i = 0; i < 32; i++) assert_int_equal(s.species[i], shuffled.species[i]);
    free(incar);
    fuse2_structure_free(&s);
    fuse2_relax_result_free(&r);
}

static void test_pricel_without_retry_fails(void **state)
{
    (void)state;
    const char *scratch = fresh_dir("scratch-noretry"), *save = fresh_dir("save-noretry");
    base_settings("pricel_then_ok", scratch, save);
    set("kspacing", "0.3");
    set("species_order", "Nb C O");
    set("retry_symmetry", "false");
    fuse2_structure s;
    fuse2_structure_init(&s, 0);
    ASSERT_OK(fuse2_structure_copy(&s, &shuffled));
    fuse2_relax_result r;
    relax_with(&s, &r);
    print_message("%s: %s\n", fuse2_relax_status_name(r.status), r.reason);
    assert_int_equal(r.status, FUSE2_RELAX_FAILED);
    test_assert_contains(r.reason, "crashed");
    test_assert_contains(r.reason, "PRICEL");
    char *incar = read_in(save, "INCAR");
    assert_null(strstr(incar, "ISYM"));
    assert_int_equal(count_entries(scratch, NULL, 0), 1);
    free(incar);
    fuse2_structure_free(&s);
    fuse2_relax_result_free(&r);
}

/* retry.<class>: the fix of a class is configurable; an electronic-class
 * crash (EDDDAV) is rerun once with the configured tags. */
static void test_configured_electronic_retry(void **state)
{
    (void)state;
    const char *scratch = fresh_dir("scratch-edddav"), *save = fresh_dir("save-edddav");
    base_settings("edddav_then_ok", scratch, save);
    set("kspacing", "0.3");
    set("species_order", "Nb C O");
    set("incar.ALGO", "Fast"); /* replaced on the retry */
    set("retry.electronic.ALGO", "Normal");
    set("retry.electronic.NELM", "200");
    fuse2_structure s;
    fuse2_structure_init(&s, 0);
    ASSERT_OK(fuse2_structure_copy(&s, &shuffled));
    fuse2_relax_result r;
    relax_with(&s, &r);
    print_message("%s: %s\n", fuse2_relax_status_name(r.status), r.reason);
    if (r.status != FUSE2_RELAX_CONVERGED) fail_msg("status %s: %s", fuse2_relax_status_name(r.status), r.reason);
    ASSERT_NEAR(r.energy, E_FINAL, 1e-8);
    test_assert_contains(r.reason, "ALGO = Normal, NELM = 200");
    test_assert_contains(r.reason, "EDDDAV");
    char *incar = read_in(save, "INCAR"); /* the retry's */
    test_assert_contains(incar, "ALGO = Normal\n");
    test_assert_contains(incar, "NELM = 200\n");
    assert_null(strstr(incar, "Fast"));
    assert_null(strstr(incar, "ISYM")); /* the symmetry fix is not applied */
    assert_int_equal(count_entries(scratch, NULL, 0), 0);
    free(incar);
    fuse2_structure_free(&s);
    fuse2_relax_result_free(&r);

    /* without a configured electronic fix there is no retry (the default
     * fixes symmetry only); nor when the user's INCAR already has the fix */
    const char *modes[2][2] = {{NULL, NULL}, {"incar.ALGO", "normal"}};
    for (int k = 0; k < 2; k++) {
        scratch = fresh_dir(k ? "scratch-edddav-same" : "scratch-edddav-none");
        base_settings("edddav_then_ok", scratch, NULL);
        set("kspacing", "0.3");
        set("species_order", "Nb C O");
        if (modes[k][0]) {
            set(modes[k][0], modes[k][1]);
            set("retry.electronic.ALGO", "Normal");
        }
        fuse2_structure_init(&s, 0);
        ASSERT_OK(fuse2_structure_copy(&s, &shuffled));
        relax_with(&s, &r);
        if (k == 0) {
            assert_int_equal(r.status, FUSE2_RELAX_FAILED);
            test_assert_contains(r.reason, "EDDDAV");
            assert_null(strstr(r.reason, "retried"));
            assert_int_equal(count_entries(scratch, NULL, 0), 1);
        } else {
            /* ALGO = normal is ALGO = Normal: the stand-in converges at once */
            assert_int_equal(r.status, FUSE2_RELAX_CONVERGED);
        }
        fuse2_structure_free(&s);
        fuse2_relax_result_free(&r);
    }
}

static void test_hang_times_out(void **state)
{
    (void)state;
    const char *scratch = fresh_dir("scratch-hang");
    base_settings("hang", scratch, NULL);
    set("kspacing", "0.3");
    set("time_limit", "1");
    fuse2_structure s;
    fuse2_structure_init(&s, 0);
    ASSERT_OK(fuse2_structure_copy(&s, &shuffled));
    fuse2_relax_result r;
    relax_with(&s, &r);
    print_message("%s: %s\n", fuse2_relax_status_name(r.status), r.reason);
    assert_int_equal(r.status, FUSE2_RELAX_TIMED_OUT);
    test_assert_contains(r.reason, "timed_out");
    /* the limit plus the 2 s kill grace, with room for a loaded machine */
    assert_true(r.wall_seconds >= 1.0 && r.wall_seconds < 1.0 + 2.0 + 2.0);
    fuse2_structure_free(&s);
    fuse2_relax_result_free(&r);
}

static void run_failure(const char *mode, const char *want_class)
{
    char name[64];
    snprintf(name, sizeof name, "scratch-%s", mode);
    const char *scratch = fresh_dir(name);
    base_settings(mode, scratch, NULL);
    set("kspacing", "0.3");
    set("species_order", "Nb C O");
    fuse2_structure s;
    fuse2_structure_init(&s, 0);
    ASSERT_OK(fuse2_structure_copy(&s, &shuffled));
    fuse2_relax_result r;
    relax_with(&s, &r);
    print_message("%s: %s\n", fuse2_relax_status_name(r.status), r.reason);
    assert_int_equal(r.status, FUSE2_RELAX_FAILED);
    if (strncmp(r.reason, want_class, strlen(want_class)))
        fail_msg("%s: reason '%s' does not start with %s", mode, r.reason, want_class);
    assert_int_equal(count_entries(scratch, NULL, 0), 1);
    fuse2_structure_free(&s);
    fuse2_relax_result_free(&r);
}

static void test_garbage_is_unparsable(void **state)
{
    (void)state;
    run_failure("garbage", "unparsable");
}

static void test_nan_is_non_finite(void **state)
{
    (void)state;
    run_failure("nan", "non_finite");
}

/* FUSE2's NSW rule: unconverged with small forces keeps its energy as
 * not_converged (MAX_STEPS); with forces above force_tolerance it fails. */
static void test_unconverged_force_tolerance(void **state)
{
    (void)state;
    const char *scratch = fresh_dir("scratch-nsw");
    base_settings("unconverged", scratch, NULL);
    set("kspacing", "0.3");
    set("species_order", "Nb C O");
    fuse2_structure s;
    fuse2_structure_init(&s, 0);
    ASSERT_OK(fuse2_structure_copy(&s, &shuffled));
    fuse2_relax_result r;
    relax_with(&s, &r); /* default 0.5 eV/A; the last forces are below 0.05 */
    print_message("%s: %s\n", fuse2_relax_status_name(r.status), r.reason);
    if (r.status != FUSE2_RELAX_MAX_STEPS) fail_msg("status %s: %s", fuse2_relax_status_name(r.status), r.reason);
    ASSERT_NEAR(r.energy, E_FINAL, 1e-8);
    test_assert_contains(r.reason, "not_converged");
    fuse2_relax_result_free(&r);

    set("force_tolerance", "0.01");
    ASSERT_OK(fuse2_structure_copy(&s, &shuffled));
    relax_with(&s, &r);
    print_message("%s: %s\n", fuse2_relax_status_name(r.status), r.reason);
    assert_int_equal(r.status, FUSE2_RELAX_FAILED);
    test_assert_contains(r.reason, "not_converged");
    test_assert_contains(r.reason, "force_tolerance 0.01");
    fuse2_structure_free(&s);
    fuse2_relax_result_free(&r);
}

/* A POTCAR missing for an element of the structure: a clear error at write
 * time naming the file (elements are unknown when the calculator is made). */
static void test_missing_element_potcar(void **state)
{
    (void)state;
    const char *scratch = fresh_dir("scratch-nopot");
    base_settings("ok", scratch, NULL);
    L.n--; /* no setups.Nb: pp/potpaw_PBE/Nb does not exist */
    set("kspacing", "0.3");
    fuse2_calc calc;
    fuse2_settings st = settings();
    ASSERT_OK(fuse2_calc_create("vasp", &st, &calc));
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    fuse2_relax_result r;
    fuse2_relax_result_init(&r);
    fuse2_structure s;
    fuse2_structure_init(&s, 0);
    ASSERT_OK(fuse2_structure_copy(&s, &shuffled));
    assert_int_not_equal(fuse2_relax(&calc, &s, &opt, &r), FUSE2_OK);
    print_message("error: %s\n", fuse2_error_message());
    test_assert_error_contains("missing POTCAR for Nb");
    test_assert_error_contains("potpaw_PBE/Nb/POTCAR");
    fuse2_error_clear();
    fuse2_structure_free(&s);
    fuse2_relax_result_free(&r);
    fuse2_calc_destroy(&calc);
}

/* ---- (3) settings errors, with their origins ---- */

static void expect_create_error3(const char *needle1, const char *needle2, const char *needle3)
{
    fuse2_calc calc;
    fuse2_settings st = settings();
    if (fuse2_calc_create("vasp", &st, &calc) == FUSE2_OK) {
        fuse2_calc_destroy(&calc);
        fail_msg("settings accepted; expected an error with '%s'", needle1);
    }
    print_message("error: %s\n", fuse2_error_message());
    test_assert_error_contains(needle1);
    test_assert_error_contains(needle2);
    test_assert_error_contains(needle3);
    fuse2_error_clear();
}

static void expect_create_error(const char *needle1, const char *needle2)
{
    fuse2_calc calc;
    fuse2_settings st = settings();
    if (fuse2_calc_create("vasp", &st, &calc) == FUSE2_OK) {
        fuse2_calc_destroy(&calc);
        fail_msg("settings accepted; expected an error with '%s'", needle1);
    }
    print_message("error: %s\n", fuse2_error_message());
    test_assert_error_contains(needle1);
    if (needle2) test_assert_error_contains(needle2);
    fuse2_error_clear();
}

static void test_settings_errors(void **state)
{
    (void)state;
    const char *scratch = fresh_dir("scratch-settings");
    /* the common keys are all accepted */
    const fuse2_calc_ops *ops = fuse2_calc_find("vasp");
    assert_non_null(ops);
    for (const char *const *k = fuse2_ext_common_keys; *k; k++) assert_true(fuse2_calc_key_known(ops, *k));
    assert_true(fuse2_calc_key_known(ops, "incar.ENCUT"));
    assert_true(fuse2_calc_key_known(ops, "setups.Ca"));
    assert_false(fuse2_calc_key_known(ops, "incar"));

    base_settings("ok", scratch, NULL);
    set("kspacing", "0.3"); /* test.yaml:7 */
    set("incar.KSPACING", "0.5"); /* test.yaml:8 */
    expect_create_error3("test.yaml:8", "test.yaml:7", "KSPACING");

    base_settings("ok", scratch, NULL);
    set("kspacing", "0.3");
    set("kpoints", "4 4 4");
    expect_create_error3("test.yaml:7", "test.yaml:8", "choose one");

    base_settings("ok", scratch, NULL);
    set("kpoints", "4 4");
    expect_create_error("test.yaml:7", "three counts");

    base_settings("ok", scratch, NULL);
    expect_create_error("no k-points", NULL);

    base_settings("ok", scratch, NULL);
    set("kspacing", "0.3");
    set("incar.EN-CUT", "520");
    expect_create_error("test.yaml:8", "letters, digits and '_'");

    base_settings("ok", scratch, NULL);
    set("kspacing", "0.3");
    set("incar.ENCUT", "520");
    set("incar.encut", "400");
    expect_create_error("test.yaml:9", "given twice (also at test.yaml:8)");

    base_settings("ok", scratch, NULL);
    set("kspacing", "0.3");
    set("incar.ENCUT", "  ");
    expect_create_error("test.yaml:8", "empty");

    base_settings("ok", scratch, NULL);
    set("kspacing", "0.3");
    set("incar.LDAU.U", "3");
    expect_create_error("test.yaml:8", "not a mapping");

    /* potcar_dir that does not exist (test.yaml:5) */
    base_settings("ok", scratch, NULL);
    snprintf(L.values[2], sizeof L.values[2], "%s/no-such-pp", test_tmpdir());
    set("kspacing", "0.3");
    expect_create_error("test.yaml:5", "no-such-pp");

    /* neither potcar_dir nor VASP_PP_PATH */
    reset_settings();
    set("command", "vasp_std");
    set("scratch", scratch);
    set("kspacing", "0.3");
    char *saved = getenv("VASP_PP_PATH") ? strdup(getenv("VASP_PP_PATH")) : NULL;
    unsetenv("VASP_PP_PATH");
    expect_create_error("VASP_PP_PATH", "potcar_dir");
    /* VASP_PP_PATH is the default */
    setenv("VASP_PP_PATH", pp, 1);
    fuse2_calc calc;
    fuse2_settings st = settings();
    ASSERT_OK(fuse2_calc_create("vasp", &st, &calc));
    fuse2_calc_destroy(&calc);
    if (saved) setenv("VASP_PP_PATH", saved, 1);
    else unsetenv("VASP_PP_PATH");
    free(saved);

    base_settings("ok", scratch, NULL);
    set("kspacing", "0.3");
    set("potcar_subdir", "potpaw_LDA");
    expect_create_error("test.yaml:8", "potpaw_LDA");

    base_settings("ok", scratch, NULL);
    snprintf(L.values[3], sizeof L.values[3], "_pv"); /* setups.Nb at test.yaml:6 */
    set("kspacing", "0.3");
    expect_create_error("test.yaml:6", "Nb_pv/POTCAR");

    base_settings("ok", scratch, NULL);
    set("kspacing", "0.3");
    set("setups.Xx", "_sv");
    expect_create_error("test.yaml:8", "not an element symbol");

    base_settings("ok", scratch, NULL);
    set("kspacing", "0.3");
    set("species_order", "Nb Cx O");
    expect_create_error("test.yaml:8", "'Cx'");

    base_settings("ok", scratch, NULL);
    set("kspacing", "0.3");
    set("force_tolerance", "-1");
    expect_create_error("test.yaml:8", "force_tolerance");

    base_settings("ok", scratch, NULL);
    set("kspacing", "-0.3");
    expect_create_error("test.yaml:7", "kspacing");

    base_settings("ok", scratch, NULL);
    set("kspacing", "0.3");
    set("retry_symmetry", "maybe");
    expect_create_error("test.yaml:8", "retry_symmetry");

    base_settings("ok", scratch, NULL);
    set("kspacing", "0.3");
    set("retry.electric.ALGO", "Normal");
    expect_create_error("test.yaml:8", "unknown fix class");

    base_settings("ok", scratch, NULL);
    set("kspacing", "0.3");
    set("retry_symmetry", "false");
    set("retry.symmetry.ISYM", "0");
    expect_create_error("test.yaml:9", "contradicts 'retry_symmetry: false'");

    base_settings("ok", scratch, NULL);
    set("kspacing", "0.3");
    set("retry.ionic", "sometimes");
    expect_create_error("test.yaml:8", "must be none or a mapping");

    base_settings("ok", scratch, NULL);
    set("kspacing", "0.3");
    set("retry.ionic.POT-IM", "0.1");
    expect_create_error("test.yaml:8", "letters, digits");

    base_settings("ok", scratch, NULL);
    set("kspacing", "0.3");
    set("retry.electronic.KSPACING", "0.2");
    expect_create_error("test.yaml:8", "KSPACING");

    base_settings("ok", scratch, NULL);
    set("kspacing", "0.3");
    set("potcar", "x");
    expect_create_error("unknown setting 'potcar'", NULL);

    /* nothing ran */
    assert_int_equal(count_entries(scratch, NULL, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_converges_in_input_order),
        cmocka_unit_test(test_single_point),
        cmocka_unit_test(test_zbrent_crash_keeps_directory),
        cmocka_unit_test(test_pricel_retried_with_isym0),
        cmocka_unit_test(test_pricel_without_retry_fails),
        cmocka_unit_test(test_configured_electronic_retry),
        cmocka_unit_test(test_hang_times_out),
        cmocka_unit_test(test_garbage_is_unparsable),
        cmocka_unit_test(test_nan_is_non_finite),
        cmocka_unit_test(test_unconverged_force_tolerance),
        cmocka_unit_test(test_missing_element_potcar),
        cmocka_unit_test(test_settings_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
