/* Benchmark of the built-in calculator against LAMMPS (`lmp`, run as an
 * external program) on rattled and strained SrTiO3 perovskite cells with the
 * Sr-O / Ti-O / O-O Buckingham terms of a GULP library (default lib2.lib,
 * read at run time, without `c6`, so that LAMMPS buck/coul/long computes the
 * same model). Measures
 *   1. energy+forces+stress: ours in-process (median of repeated
 *      evaluations), LAMMPS per step of `run N` (its own "Loop time" / N, so
 *      start-up and set-up are excluded for both), at several Ewald
 *      accuracies, with the energy and force errors of every setting against
 *      a tight reference (ours at accuracy 16);
 *   2. a full variable-cell relaxation: fuse2_relax (L-BFGS) against LAMMPS
 *      `fix box/relax tri 0.0` + `min_style cg` + `minimize`; both end
 *      geometries are re-evaluated with our calculator so that convergence
 *      and final energies are compared on one footing.
 * Units: eV, Å, eV/Å^3, seconds. See benchmarks/README.md. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuse2/builtin.h"
#include "fuse2/calc.h"
#include "fuse2/error.h"
#include "fuse2/potential.h"
#include "fuse2/relax.h"
#include "fuse2/rng.h"
#include "fuse2/structure.h"

/* LAMMPS metal units (src/update.cpp): force->qqr2e, force->nktv2p. */
#define LAMMPS_METAL_QQR2E 14.399645
#define LAMMPS_METAL_QQR2E_TEXT "14.399645"
#define LAMMPS_METAL_NKTV2P 1.6021765e6
#define SRTIO3_LATTICE 3.905 /* Å, cubic SrTiO3 at room temperature */
#define REFERENCE_ACCURACY 16.0

enum { Z_O = 8, Z_TI = 22, Z_SR = 38 };
enum { MAX_SIZES = 8, MAX_SETTINGS = 16 };

typedef struct bench_options {
    const char *library;
    const char *lmp;
    const char *workdir;
    int keep;
    uint64_t seed;
    int nsizes;
    int sizes[MAX_SIZES];
    int n_our_acc;
    double our_acc[MAX_SETTINGS];
    int n_lmp_acc;
    double lmp_acc[MAX_SETTINGS];
    int n_lmp_tables;
    int lmp_tables[MAX_SETTINGS]; /* pair_modify table N: 0 = analytic erfc */
    double min_time;          /* s of timing per setting */
    double lmp_skin;          /* Å, LAMMPS neighbour skin */
    int relax_lmp_table;
    double rattle_min, rattle_max, strain;
    int relax;
    int n_relax_our_acc;
    double relax_our_acc[MAX_SETTINGS];
    double relax_lmp_acc;
    double fmax, smax;        /* our convergence criteria; smax 0 = ftol / V */
    double lmp_etol, lmp_ftol;
} bench_options;

/* ---- small utilities ---- */

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void die(const char *what)
{
    fprintf(stderr, "bench_builtin: %s\n", what);
    exit(1);
}

static void die_fuse2(const char *what)
{
    fprintf(stderr, "bench_builtin: %s: %s\n%s", what, fuse2_error_message(), fuse2_error_trace());
    exit(1);
}

#define CHECK(expr)                                     \
    do {                                                \
        if ((expr) != FUSE2_OK) die_fuse2(#expr);       \
    } while (0)

static char *read_text_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    if (!buf) die("out of memory");
    size_t got = fread(buf, 1, (size_t)len, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

static int parse_list(const char *text, double *out, int max)
{
    int n = 0;
    const char *p = text;
    while (*p && n < max) {
        char *end;
        out[n++] = strtod(p, &end);
        if (end == p) die("bad number list");
        p = end;
        if (*p == ',') p++;
    }
    return n;
}

/* ---- structures ---- */

/* nx x ny x nz cubic perovskite cells, then a random symmetric strain of up
 * to +-strain per component and random displacements of rattle_min..max Å
 * in random directions; returned in LAMMPS' restricted triclinic form (a
 * along x, b in the xy plane), which is only a rotation. */
static void build_perovskite(int natoms_wanted, const bench_options *o, fuse2_structure *s)
{
    int nx, ny, nz;
    switch (natoms_wanted) {
    case 5: nx = 1; ny = 1; nz = 1; break;
    case 10: nx = 1; ny = 1; nz = 2; break;
    case 40: nx = 2; ny = 2; nz = 2; break;
    case 50: nx = 1; ny = 2; nz = 5; break;
    case 135: nx = 3; ny = 3; nz = 3; break;
    case 200: nx = 2; ny = 4; nz = 5; break;
    case 320: nx = 4; ny = 4; nz = 4; break;
    default: die("supported sizes: 5, 10, 40, 50, 135, 200, 320 atoms"); return;
    }
    static const double basis[5][3] = {
        {0, 0, 0}, {0.5, 0.5, 0.5}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    static const int basis_z[5] = {Z_SR, Z_TI, Z_O, Z_O, Z_O};
    fuse2_rng rng;
    fuse2_rng_init(&rng, o->seed, (uint32_t)natoms_wanted, 0, 1);

    double eps[3][3];
    for (int a = 0; a < 3; a++)
        for (int b = a; b < 3; b++) eps[a][b] = eps[b][a] = fuse2_rng_uniform_range(&rng, -o->strain, o->strain);
    const int n[3] = {nx, ny, nz};
    double L[3][3];
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) L[i][k] = n[i] * SRTIO3_LATTICE * ((i == k) + eps[i][k]);
    double inv[3][3];
    CHECK(fuse2_lattice_inverse(L, inv));

    CHECK(fuse2_structure_init(s, natoms_wanted));
    for (int a = 0; a < nx; a++)
        for (int b = 0; b < ny; b++)
            for (int c = 0; c < nz; c++)
                for (int k = 0; k < 5; k++) {
                    double f[3] = {(a + basis[k][0]) / nx, (b + basis[k][1]) / ny, (c + basis[k][2]) / nz};
                    double cart[3], dir[3], norm;
                    for (int x = 0; x < 3; x++) cart[x] = f[0] * L[0][x] + f[1] * L[1][x] + f[2] * L[2][x];
                    do {
                        for (int x = 0; x < 3; x++) dir[x] = fuse2_rng_normal(&rng);
                        norm = sqrt(dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]);
                    } while (norm < 1e-6);
                    double len = fuse2_rng_uniform_range(&rng, o->rattle_min, o->rattle_max);
                    for (int x = 0; x < 3; x++) cart[x] += len * dir[x] / norm;
                    for (int x = 0; x < 3; x++)
                        f[x] = cart[0] * inv[0][x] + cart[1] * inv[1][x] + cart[2] * inv[2][x];
                    CHECK(fuse2_structure_add_atom(s, basis_z[k], f));
                }
    double params[6];
    fuse2_lattice_to_parameters(L, params);
    CHECK(fuse2_lattice_from_parameters(params, s->lattice));
    fuse2_structure_wrap_positions(s);
}

static double structure_min_distance(const fuse2_structure *s)
{
    double best = INFINITY;
    for (int i = 0; i < s->natoms; i++)
        for (int j = i; j < s->natoms; j++) {
            double d0[3];
            for (int k = 0; k < 3; k++) {
                d0[k] = s->frac[j][k] - s->frac[i][k];
                d0[k] -= floor(d0[k] + 0.5);
            }
            for (int a = -1; a <= 1; a++)
                for (int b = -1; b <= 1; b++)
                    for (int c = -1; c <= 1; c++) {
                        if (i == j && !a && !b && !c) continue;
                        double f[3] = {d0[0] + a, d0[1] + b, d0[2] + c}, x[3];
                        for (int k = 0; k < 3; k++)
                            x[k] = f[0] * s->lattice[0][k] + f[1] * s->lattice[1][k] + f[2] * s->lattice[2][k];
                        best = fmin(best, sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]));
                    }
        }
    return best;
}

/* ---- the model on both sides ---- */

typedef struct model {
    fuse2_potential_set pot;
    int ntypes;
    int type_z[3];                 /* LAMMPS types 1..3 = Sr, Ti, O */
    double charge[3];
    int has_buck[3][3];
    double A[3][3], rho[3][3], C[3][3], cut[3][3];
    double max_cut, max_rmin;
} model;

static int model_type(const model *m, int z)
{
    for (int t = 0; t < m->ntypes; t++)
        if (m->type_z[t] == z) return t;
    die("element without a LAMMPS type");
    return -1;
}

static void load_model(const char *library, model *m)
{
    memset(m, 0, sizeof *m);
    fuse2_potential_set_init(&m->pot);
    CHECK(fuse2_gulp_library_read(library, &m->pot));
    m->ntypes = 3;
    m->type_z[0] = Z_SR;
    m->type_z[1] = Z_TI;
    m->type_z[2] = Z_O;
    for (int t = 0; t < 3; t++) {
        int found;
        m->charge[t] = fuse2_potential_set_charge(&m->pot, m->type_z[t], &found);
        if (!found) die("the library has no charge for Sr, Ti or O");
    }
    for (int k = 0; k < m->pot.nterms; k++) {
        const fuse2_pair_term *t = &m->pot.terms[k];
        int a = -1, b = -1;
        for (int x = 0; x < 3; x++) {
            if (m->type_z[x] == t->z1) a = x;
            if (m->type_z[x] == t->z2) b = x;
        }
        if (a < 0 || b < 0) continue; /* e.g. the Y-O term of lib2.lib */
        if (t->kind != FUSE2_PAIR_BUCKINGHAM || m->has_buck[a][b])
            die("the benchmark needs at most one buck term per Sr/Ti/O pair");
        m->has_buck[a][b] = m->has_buck[b][a] = 1;
        m->A[a][b] = m->A[b][a] = t->param[0];
        m->rho[a][b] = m->rho[b][a] = t->param[1];
        m->C[a][b] = m->C[b][a] = t->param[2];
        m->cut[a][b] = m->cut[b][a] = t->rmax;
        m->max_cut = fmax(m->max_cut, t->rmax);
        m->max_rmin = fmax(m->max_rmin, t->rmin);
    }
    if (m->pot.has_cutp) die("cutp tapers have no LAMMPS buck/coul/long equivalent");
}

static fuse2_builtin *make_builtin(const model *m, double accuracy)
{
    fuse2_builtin_options opt;
    fuse2_builtin_options_default(&opt);
    opt.coulomb_constant = LAMMPS_METAL_QQR2E;
    opt.accuracy = accuracy;
    opt.c6 = 0;
    fuse2_builtin *b;
    CHECK(fuse2_builtin_create(&m->pot, &opt, &b));
    return b;
}

static void write_lammps_data(const char *path, const model *m, const fuse2_structure *s)
{
    FILE *f = fopen(path, "w");
    if (!f) die("cannot write a LAMMPS data file");
    const double (*L)[3] = (const double(*)[3])s->lattice;
    fprintf(f, "fuse2 benchmark structure\n\n%d atoms\n%d atom types\n\n", s->natoms, m->ntypes);
    fprintf(f, "0 %.17g xlo xhi\n0 %.17g ylo yhi\n0 %.17g zlo zhi\n", L[0][0], L[1][1], L[2][2]);
    fprintf(f, "%.17g %.17g %.17g xy xz yz\n\nMasses\n\n", L[1][0], L[2][0], L[2][1]);
    /* standard atomic weights; they do not enter statics or minimisation */
    fprintf(f, "1 87.62\n2 47.867\n3 15.999\n\nAtoms # charge\n\n");
    for (int i = 0; i < s->natoms; i++) {
        double c[3];
        fuse2_structure_cartesian(s, i, c);
        int t = model_type(m, s->species[i]);
        fprintf(f, "%d %d %.17g %.17g %.17g %.17g\n", i + 1, t + 1, m->charge[t], c[0], c[1], c[2]);
    }
    fclose(f);
}

static void write_lammps_model(FILE *f, const model *m, double accuracy, int table, const bench_options *o)
{
    fprintf(f, "units metal\natom_style charge\nboundary p p p\nread_data data.lmp\n");
    /* real-space Coulomb and Buckingham share the model's cut-off */
    fprintf(f, "pair_style buck/coul/long %.10g %.10g\n", m->max_cut, m->max_cut);
    for (int a = 0; a < m->ntypes; a++)
        for (int b = a; b < m->ntypes; b++) {
            if (m->has_buck[a][b])
                fprintf(f, "pair_coeff %d %d %.17g %.17g %.17g %.17g\n", a + 1, b + 1, m->A[a][b],
                        m->rho[a][b], m->C[a][b], m->cut[a][b]);
            else
                fprintf(f, "pair_coeff %d %d 0.0 1.0 0.0\n", a + 1, b + 1);
        }
    fprintf(f, "pair_modify table %d\n", table);
    fprintf(f, "kspace_style ewald %.3g\n", accuracy);
    fprintf(f, "neighbor %.10g bin\nneigh_modify every 1 delay 0 check yes\n", o->lmp_skin);
    fprintf(f, "thermo_style custom step pe pxx pyy pzz pxy pxz pyz fmax\n");
    fprintf(f, "thermo_modify format float %%.15g\n");
}

static char *run_lammps(const bench_options *o, const char *dir)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd '%.1000s' && OMP_NUM_THREADS=1 '%.1000s' -in in.lmp -log log.lammps -screen none >lmp.out 2>&1",
             dir, o->lmp);
    int rc = system(cmd);
    char path[2048];
    snprintf(path, sizeof path, "%.1000s/log.lammps", dir);
    char *log = read_text_file(path);
    if (rc != 0) {
        const char *err = log ? strstr(log, "ERROR") : NULL;
        fprintf(stderr, "bench_builtin: lmp failed in %s: %.400s\n", dir, err ? err : "(no log)");
        exit(1);
    }
    if (!log) die("lmp wrote no log");
    return log;
}

/* "Loop time of T on P procs for N steps with A atoms" (the last one) */
static void parse_loop_time(const char *log, double *seconds, long *steps)
{
    const char *p = log, *last = NULL;
    while ((p = strstr(p, "Loop time of "))) last = p++;
    int procs;
    long atoms;
    if (!last || sscanf(last, "Loop time of %lf on %d procs for %ld steps with %ld atoms", seconds, &procs,
                        steps, &atoms) != 4)
        die("cannot parse LAMMPS' Loop time");
}

/* thermo line of step `step` after the header "Step PotEng Pxx ..." */
static void parse_thermo(const char *log, long step, double *pe, double p[6])
{
    const char *h = log;
    while ((h = strstr(h, "\nStep PotEng"))) {
        const char *line = strchr(h + 1, '\n');
        while (line) {
            long st;
            double v[8];
            if (sscanf(line + 1, "%ld %lf %lf %lf %lf %lf %lf %lf %lf", &st, &v[0], &v[1], &v[2], &v[3],
                       &v[4], &v[5], &v[6], &v[7]) != 9)
                break;
            if (st == step) {
                *pe = v[0];
                for (int k = 0; k < 6; k++) p[k] = v[1 + k];
                return;
            }
            line = strchr(line + 1, '\n');
        }
        h++;
    }
    die("cannot find the LAMMPS thermo line");
}

static void parse_forces(const char *path, int natoms, double (*f)[3])
{
    char *dump = read_text_file(path);
    if (!dump) die("no LAMMPS force dump");
    const char *a = strstr(dump, "ITEM: ATOMS id fx fy fz");
    if (!a) die("bad LAMMPS force dump");
    a = strchr(a, '\n') + 1;
    for (int i = 0; i < natoms; i++) {
        int id, used;
        if (sscanf(a, "%d %lf %lf %lf%n", &id, &f[i][0], &f[i][1], &f[i][2], &used) != 4 || id != i + 1)
            die("bad LAMMPS force line");
        a += used;
    }
    free(dump);
}

/* Final geometry from `write_data` (restricted triclinic box, Atoms # charge). */
static void parse_lammps_data(const char *path, const fuse2_structure *like, fuse2_structure *out)
{
    char *text = read_text_file(path);
    if (!text) die("no LAMMPS final data file");
    double lo[3] = {0}, hi[3] = {0}, tilt[3] = {0};
    const char *p;
    if (!(p = strstr(text, "xlo xhi"))) die("bad data file");
    while (p > text && p[-1] != '\n') p--;
    if (sscanf(p, "%lf %lf xlo xhi\n%lf %lf ylo yhi\n%lf %lf zlo zhi", &lo[0], &hi[0], &lo[1], &hi[1], &lo[2],
               &hi[2]) != 6)
        die("bad box in data file");
    if ((p = strstr(text, "xy xz yz"))) {
        while (p > text && p[-1] != '\n') p--;
        if (sscanf(p, "%lf %lf %lf", &tilt[0], &tilt[1], &tilt[2]) != 3) die("bad tilt in data file");
    }
    double L[3][3] = {{hi[0] - lo[0], 0, 0}, {tilt[0], hi[1] - lo[1], 0}, {tilt[1], tilt[2], hi[2] - lo[2]}};
    double inv[3][3];
    CHECK(fuse2_lattice_inverse(L, inv));
    CHECK(fuse2_structure_copy(out, like));
    memcpy(out->lattice, L, sizeof L);
    if (!(p = strstr(text, "\nAtoms"))) die("no Atoms in data file");
    p = strchr(p + 1, '\n');
    int seen = 0;
    while (p && seen < like->natoms) {
        int id, type;
        double q, x[3];
        p++;
        /* one line at a time: sscanf alone would skip blank lines */
        char line[512];
        size_t len = strcspn(p, "\n");
        if (len >= sizeof line) len = sizeof line - 1;
        memcpy(line, p, len);
        line[len] = '\0';
        if (sscanf(line, "%d %d %lf %lf %lf %lf", &id, &type, &q, &x[0], &x[1], &x[2]) == 6) {
            if (id < 1 || id > like->natoms) die("bad atom id in data file");
            for (int k = 0; k < 3; k++) x[k] -= lo[k];
            for (int k = 0; k < 3; k++)
                out->frac[id - 1][k] = x[0] * inv[0][k] + x[1] * inv[1][k] + x[2] * inv[2][k];
            seen++;
        }
        p = strchr(p, '\n');
    }
    if (seen != like->natoms) die("data file atom count differs");
    fuse2_structure_wrap_positions(out);
    free(text);
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0755) != 0) {
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) die("cannot create a work directory");
    }
}

/* ---- measures ---- */

static double max_force_norm(const fuse2_calc_result *r)
{
    double m = 0;
    for (int i = 0; i < r->natoms; i++)
        m = fmax(m, sqrt(r->forces[i][0] * r->forces[i][0] + r->forces[i][1] * r->forces[i][1] +
                         r->forces[i][2] * r->forces[i][2]));
    return m;
}

static double max_abs_stress(const fuse2_calc_result *r)
{
    double m = 0;
    for (int a = 0; a < 3; a++)
        for (int c = 0; c < 3; c++) m = fmax(m, fabs(r->stress[a][c]));
    return m;
}

static double force_rms_error(int n, double (*f)[3], double (*ref)[3])
{
    double s = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 3; k++) s += (f[i][k] - ref[i][k]) * (f[i][k] - ref[i][k]);
    return sqrt(s / (3.0 * n));
}

typedef struct timing {
    double accuracy;
    int table;               /* LAMMPS only */
    double seconds;          /* per energy+forces+stress evaluation */
    double energy_error;     /* |E - E_ref| / |E_ref| */
    double force_error;      /* RMS over components, eV/Å */
    double alpha, rc, kc;    /* ours; LAMMPS: g_ewald only */
    int reps;
} timing;

static void time_ours(const model *m, const fuse2_structure *s, double accuracy, double min_time,
                      const fuse2_calc_result *ref, timing *t)
{
    fuse2_builtin *b = make_builtin(m, accuracy);
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    CHECK(fuse2_builtin_compute(b, s, &r)); /* warm-up, sizes the buffers */
    int cap = 100000, n = 0;
    double *dt = malloc((size_t)cap * sizeof *dt);
    double start = now_seconds();
    while (n < cap && (n < 5 || now_seconds() - start < min_time)) {
        double t0 = now_seconds();
        CHECK(fuse2_builtin_compute(b, s, &r));
        dt[n++] = now_seconds() - t0;
    }
    qsort(dt, (size_t)n, sizeof *dt, compare_doubles);
    t->accuracy = accuracy;
    t->seconds = n % 2 ? dt[n / 2] : 0.5 * (dt[n / 2 - 1] + dt[n / 2]);
    t->reps = n;
    t->energy_error = fabs(r.energy - ref->energy) / fabs(ref->energy);
    t->force_error = force_rms_error(s->natoms, r.forces, ref->forces);
    fuse2_builtin_ewald_parameters(b, s, &t->alpha, &t->rc, &t->kc);
    free(dt);
    fuse2_calc_result_free(&r);
    fuse2_builtin_destroy(b);
}

static void time_lammps(const bench_options *o, const model *m, const fuse2_structure *s, const char *dir,
                        double accuracy, int table, long steps, const fuse2_calc_result *ref, timing *t)
{
    make_dir(dir);
    char path[2048];
    snprintf(path, sizeof path, "%.1000s/data.lmp", dir);
    write_lammps_data(path, m, s);
    snprintf(path, sizeof path, "%.1000s/in.lmp", dir);
    FILE *f = fopen(path, "w");
    if (!f) die("cannot write in.lmp");
    write_lammps_model(f, m, accuracy, table, o);
    /* fix ave/time asks for pe and the pressure tensor every step, so every
     * step tallies energy and virial (as thermo 1 would, without output) */
    fprintf(f, "fix every_step all ave/time 1 1 1 c_thermo_pe c_thermo_press[1] c_thermo_press[2] "
               "c_thermo_press[3] c_thermo_press[4] c_thermo_press[5] c_thermo_press[6]\n");
    fprintf(f, "thermo %ld\n", steps);
    fprintf(f, "dump forces all custom %ld forces.dump id fx fy fz\n", steps);
    fprintf(f, "dump_modify forces format float %%.15g sort id\n");
    /* no integrator: atoms stay put, every step is one full force call */
    fprintf(f, "run %ld\n", steps);
    fclose(f);
    char *log = run_lammps(o, dir);
    double loop;
    long nsteps;
    parse_loop_time(log, &loop, &nsteps);
    if (nsteps != steps) die("LAMMPS ran a different number of steps");
    double pe, p[6];
    parse_thermo(log, 0, &pe, p);
    const char *g = strstr(log, "G vector (1/distance) =");
    t->alpha = g ? atof(g + strlen("G vector (1/distance) =")) : NAN;
    free(log);
    double (*fl)[3] = malloc((size_t)s->natoms * sizeof *fl);
    snprintf(path, sizeof path, "%.1000s/forces.dump", dir);
    parse_forces(path, s->natoms, fl);
    t->accuracy = accuracy;
    t->table = table;
    t->seconds = loop / (double)steps;
    t->reps = (int)steps;
    t->energy_error = fabs(pe - ref->energy) / fabs(ref->energy);
    t->force_error = force_rms_error(s->natoms, fl, ref->forces);
    free(fl);
}

typedef struct relax_outcome {
    double wall;              /* s */
    int iterations, evaluations;
    double energy_own;        /* the code's own final energy */
    double energy_ours;       /* our calculator (reference accuracy) on the final geometry */
    double max_force, max_stress;  /* our calculator on the final geometry */
    char status[320];
} relax_outcome;

static void evaluate_final(const model *m, const fuse2_structure *s, relax_outcome *out)
{
    fuse2_builtin *b = make_builtin(m, REFERENCE_ACCURACY);
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    CHECK(fuse2_builtin_compute(b, s, &r));
    out->energy_ours = r.energy;
    out->max_force = max_force_norm(&r);
    out->max_stress = max_abs_stress(&r);
    fuse2_calc_result_free(&r);
    fuse2_builtin_destroy(b);
}

static void relax_ours(const bench_options *o, const model *m, const fuse2_structure *start, double accuracy,
                       double smax, relax_outcome *out)
{
    char acc[32];
    snprintf(acc, sizeof acc, "%.10g", accuracy);
    const fuse2_setting items[] = {{"library", o->library, "--library"},
                                   {"coulomb_constant", LAMMPS_METAL_QQR2E_TEXT, "bench"},
                                   {"accuracy", acc, "bench"}};
    fuse2_settings settings = {3, items};
    fuse2_calc calc;
    CHECK(fuse2_calc_create("builtin", &settings, &calc));
    fuse2_structure s;
    CHECK(fuse2_structure_init(&s, 0));
    CHECK(fuse2_structure_copy(&s, start));
    fuse2_relax_options ro;
    fuse2_relax_options_default(&ro);
    ro.fmax = o->fmax;
    ro.smax = smax;
    ro.max_steps = 100000;
    fuse2_relax_result rr;
    fuse2_relax_result_init(&rr);
    double t0 = now_seconds();
    CHECK(fuse2_relax(&calc, &s, &ro, &rr));
    out->wall = now_seconds() - t0;
    out->iterations = rr.steps;
    out->evaluations = rr.evaluations;
    out->energy_own = rr.energy;
    snprintf(out->status, sizeof out->status, "%.40s%s%.256s", fuse2_relax_status_name(rr.status),
             rr.reason[0] ? ": " : "", rr.reason);
    evaluate_final(m, &s, out);
    fuse2_relax_result_free(&rr);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

static void relax_lammps(const bench_options *o, const model *m, const fuse2_structure *start, const char *dir,
                         double accuracy, relax_outcome *out)
{
    make_dir(dir);
    char path[2048];
    snprintf(path, sizeof path, "%.1000s/data.lmp", dir);
    write_lammps_data(path, m, start);
    snprintf(path, sizeof path, "%.1000s/in.lmp", dir);
    FILE *f = fopen(path, "w");
    if (!f) die("cannot write in.lmp");
    write_lammps_model(f, m, accuracy, o->relax_lmp_table, o);
    /* box/relax needs a conjugate-gradient style (not fire) */
    fprintf(f, "fix relax_box all box/relax tri 0.0\n");
    fprintf(f, "min_style cg\nmin_modify norm max\nthermo 0\n");
    fprintf(f, "minimize %.10g %.10g 100000 1000000\n", o->lmp_etol, o->lmp_ftol);
    fprintf(f, "write_data final.data nocoeff\n");
    fclose(f);
    char *log = run_lammps(o, dir);
    long steps;
    parse_loop_time(log, &out->wall, &steps);
    const char *p = strstr(log, "Iterations, force evaluations =");
    if (!p || sscanf(p, "Iterations, force evaluations = %d %d", &out->iterations, &out->evaluations) != 2)
        die("cannot parse LAMMPS minimisation statistics");
    p = strstr(log, "Energy initial, next-to-last, final =");
    double e0, e1;
    if (!p || sscanf(strchr(p, '\n') + 1, "%lf %lf %lf", &e0, &e1, &out->energy_own) != 3)
        die("cannot parse LAMMPS final energy");
    p = strstr(log, "Stopping criterion =");
    out->status[0] = '\0';
    if (p) {
        p += strlen("Stopping criterion = ");
        size_t len = strcspn(p, "\n");
        if (len >= sizeof out->status) len = sizeof out->status - 1;
        memcpy(out->status, p, len);
        out->status[len] = '\0';
    }
    free(log);
    fuse2_structure fin;
    CHECK(fuse2_structure_init(&fin, 0));
    snprintf(path, sizeof path, "%.1000s/final.data", dir);
    parse_lammps_data(path, start, &fin);
    evaluate_final(m, &fin, out);
    fuse2_structure_free(&fin);
}

/* ---- the report ---- */

static void usage(void)
{
    printf("usage: bench_builtin [options]\n"
           "  --library PATH      GULP library (default ../shared/potentials/lib2.lib)\n"
           "  --lmp PATH          LAMMPS executable (default lmp)\n"
           "  --sizes 5,50,200    atoms per cell (5, 10, 40, 50, 135, 200, 320)\n"
           "  --seed N            rattle/strain seed (default 2024)\n"
           "  --our-acc LIST      our Ewald accuracies (default 4,5,6,7,8,9,10,11,12)\n"
           "  --lmp-acc LIST      LAMMPS ewald accuracies (default 1e-4,1e-5,1e-6,1e-8,1e-10)\n"
           "  --lmp-tables LIST   LAMMPS pair_modify table N values (default 12,0;\n"
           "                      12 is LAMMPS' default, 0 = analytic erfc)\n"
           "  --min-time S        seconds of timing per setting (default 1)\n"
           "  --lmp-skin A        LAMMPS neighbour skin in A (default 1.0)\n"
           "  --rattle MIN,MAX    displacement range in A (default 0.1,0.2)\n"
           "  --strain S          max strain component (default 0.02)\n"
           "  --no-relax          skip the relaxation benchmark\n"
           "  --relax-our-acc LIST  our accuracies for the relaxation (default 12)\n"
           "  --relax-lmp-acc A   LAMMPS ewald accuracy for the relaxation (default 1e-8)\n"
           "  --relax-lmp-table N pair_modify table for the relaxation (default 0)\n"
           "  --fmax F            our force criterion (default: the LAMMPS ftol)\n"
           "  --smax S            our stress criterion in eV/A^3 (default: ftol / V, LAMMPS'\n"
           "                      box/relax criterion for the diagonal stress components)\n"
           "  --lmp-etol E --lmp-ftol F  LAMMPS minimize tolerances (default 0, 1e-3; norm max)\n"
           "  --workdir DIR       keep LAMMPS inputs and logs there (default: temporary, removed)\n");
}

static void parse_args(int argc, char **argv, bench_options *o)
{
    memset(o, 0, sizeof *o);
    o->library = "../shared/potentials/lib2.lib";
    o->lmp = "lmp";
    o->seed = 2024;
    o->nsizes = 3;
    o->sizes[0] = 5;
    o->sizes[1] = 50;
    o->sizes[2] = 200;
    o->n_our_acc = parse_list("4,5,6,7,8,9,10,11,12", o->our_acc, MAX_SETTINGS);
    o->n_lmp_acc = parse_list("1e-4,1e-5,1e-6,1e-8,1e-10", o->lmp_acc, MAX_SETTINGS);
    o->n_lmp_tables = 2;
    o->lmp_tables[0] = 12;
    o->lmp_tables[1] = 0;
    o->min_time = 1.0;
    o->lmp_skin = 1.0;
    o->rattle_min = 0.1;
    o->rattle_max = 0.2;
    o->strain = 0.02;
    o->relax = 1;
    o->n_relax_our_acc = 1;
    o->relax_our_acc[0] = 12;
    o->relax_lmp_acc = 1e-8;
    o->relax_lmp_table = 0;
    o->fmax = 0;
    o->smax = 0;
    o->lmp_etol = 0.0;
    o->lmp_ftol = 1e-3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDS_VALUE                                         \
    do {                                                    \
        if (!v) die("option needs a value (see --help)");   \
        i++;                                                \
    } while (0)
        double tmp[MAX_SETTINGS];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            exit(0);
        } else if (!strcmp(a, "--library")) { NEEDS_VALUE; o->library = v;
        } else if (!strcmp(a, "--lmp")) { NEEDS_VALUE; o->lmp = v;
        } else if (!strcmp(a, "--workdir")) { NEEDS_VALUE; o->workdir = v; o->keep = 1;
        } else if (!strcmp(a, "--seed")) { NEEDS_VALUE; o->seed = strtoull(v, NULL, 10);
        } else if (!strcmp(a, "--sizes")) {
            NEEDS_VALUE;
            o->nsizes = parse_list(v, tmp, MAX_SIZES);
            for (int k = 0; k < o->nsizes; k++) o->sizes[k] = (int)tmp[k];
        } else if (!strcmp(a, "--our-acc")) { NEEDS_VALUE; o->n_our_acc = parse_list(v, o->our_acc, MAX_SETTINGS);
        } else if (!strcmp(a, "--lmp-acc")) { NEEDS_VALUE; o->n_lmp_acc = parse_list(v, o->lmp_acc, MAX_SETTINGS);
        } else if (!strcmp(a, "--lmp-tables")) {
            NEEDS_VALUE;
            o->n_lmp_tables = parse_list(v, tmp, MAX_SETTINGS);
            for (int k = 0; k < o->n_lmp_tables; k++) o->lmp_tables[k] = (int)tmp[k];
        } else if (!strcmp(a, "--min-time")) { NEEDS_VALUE; o->min_time = atof(v);
        } else if (!strcmp(a, "--lmp-skin")) { NEEDS_VALUE; o->lmp_skin = atof(v);
        } else if (!strcmp(a, "--rattle")) {
            NEEDS_VALUE;
            if (parse_list(v, tmp, 2) != 2) die("--rattle needs MIN,MAX");
            o->rattle_min = tmp[0];
            o->rattle_max = tmp[1];
        } else if (!strcmp(a, "--strain")) { NEEDS_VALUE; o->strain = atof(v);
        } else if (!strcmp(a, "--no-relax")) { o->relax = 0;
        } else if (!strcmp(a, "--relax-our-acc")) {
            NEEDS_VALUE;
            o->n_relax_our_acc = parse_list(v, o->relax_our_acc, MAX_SETTINGS);
        } else if (!strcmp(a, "--relax-lmp-acc")) { NEEDS_VALUE; o->relax_lmp_acc = atof(v);
        } else if (!strcmp(a, "--relax-lmp-table")) { NEEDS_VALUE; o->relax_lmp_table = atoi(v);
        } else if (!strcmp(a, "--fmax")) { NEEDS_VALUE; o->fmax = atof(v);
        } else if (!strcmp(a, "--smax")) { NEEDS_VALUE; o->smax = atof(v);
        } else if (!strcmp(a, "--lmp-etol")) { NEEDS_VALUE; o->lmp_etol = atof(v);
        } else if (!strcmp(a, "--lmp-ftol")) { NEEDS_VALUE; o->lmp_ftol = atof(v);
        } else {
            usage();
            die("unknown option");
        }
#undef NEEDS_VALUE
    }
    if (o->fmax <= 0) o->fmax = o->lmp_ftol;
}

typedef struct size_summary {
    int natoms;
    double ours12, lmp_tight, lmp_fast;  /* s per evaluation */
    double lmp_tight_acc, lmp_fast_acc;
    int lmp_fast_table;
    double matched_ratio_worst;        /* min over LAMMPS settings of LAMMPS/ours (matched) */
    int have_relax;
    double relax_ratio;                /* LAMMPS wall / our wall (our first accuracy) */
    double relax_de;                   /* eV/atom, ours - LAMMPS final (our evaluation) */
} size_summary;

int main(int argc, char **argv)
{
    bench_options o;
    parse_args(argc, argv, &o);
    char tmpl[] = "/tmp/fuse2-bench-XXXXXX";
    const char *work = o.workdir;
    if (!work) {
        if (!mkdtemp(tmpl)) die("cannot create a temporary directory");
        work = tmpl;
    } else {
        make_dir(work);
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "command -v '%.1000s' >/dev/null 2>&1", o.lmp);
    if (system(cmd) != 0) die("LAMMPS executable not found (install the Debian package lammps or pass --lmp)");

    model m;
    load_model(o.library, &m);
    printf("# fuse2 built-in calculator vs LAMMPS (%s)\n", o.lmp);
    printf("# model: %s, Buckingham Sr-O/Ti-O/O-O truncated at %.4g A (no c6), Ewald Coulomb,\n"
           "#        Coulomb constant %s eV A/e^2 (LAMMPS metal qqr2e) on both sides\n",
           o.library, m.max_cut, LAMMPS_METAL_QQR2E_TEXT);
    printf("# structures: SrTiO3 perovskite supercells, a0 = %.4g A, random symmetric strain up to +-%.3g,\n"
           "#             displacements %.3g-%.3g A, seed %llu\n",
           SRTIO3_LATTICE, o.strain, o.rattle_min, o.rattle_max, (unsigned long long)o.seed);
    printf("# LAMMPS: pair_style buck/coul/long %.4g %.4g, kspace_style ewald ACC, pair_modify table N,\n"
           "#         neighbor %.3g bin, one process, OMP_NUM_THREADS=1\n",
           m.max_cut, m.max_cut, o.lmp_skin);
    printf("# errors: relative energy error and RMS force error (eV/A) against ours at accuracy %.0f\n",
           REFERENCE_ACCURACY);
    printf("# times: ours = median wall time of repeated in-process evaluations (energy, forces, stress);\n"
           "#        LAMMPS = Loop time / N of `run N` with energy and virial tallied every step\n\n");

    size_summary summary[MAX_SIZES];
    for (int si = 0; si < o.nsizes; si++) {
        size_summary *sum = &summary[si];
        memset(sum, 0, sizeof *sum);
        fuse2_structure s;
        build_perovskite(o.sizes[si], &o, &s);
        sum->natoms = s.natoms;
        double dmin = structure_min_distance(&s);
        if (dmin <= m.max_rmin) die("a pair is closer than a term's rmin: LAMMPS would differ");
        fuse2_calc_result ref;
        fuse2_calc_result_init(&ref);
        fuse2_builtin *bref = make_builtin(&m, REFERENCE_ACCURACY);
        CHECK(fuse2_builtin_compute(bref, &s, &ref));
        fuse2_builtin_destroy(bref);
        double params[6];
        fuse2_lattice_to_parameters(s.lattice, params);
        double volume = fuse2_structure_volume(&s);
        printf("== %d atoms: a b c = %.4f %.4f %.4f A, angles %.3f %.3f %.3f, V = %.3f A^3, "
               "shortest distance %.3f A\n",
               s.natoms, params[0], params[1], params[2], params[3], params[4], params[5], volume, dmin);
        printf("   reference energy %.10f eV (%.10f eV/atom), max |F| %.4f eV/A, max |sigma| %.3g eV/A^3\n",
               ref.energy, ref.energy / s.natoms, max_force_norm(&ref), max_abs_stress(&ref));

        timing ours[MAX_SETTINGS], lmp[MAX_SETTINGS * MAX_SETTINGS];
        int nlmp = 0;
        printf("   %-10s %8s %11s %10s %10s %7s %7s %7s %7s\n", "code", "accuracy", "time/eval", "rel.E err",
               "rms F err", "alpha", "r_c", "k_c", "reps");
        for (int k = 0; k < o.n_our_acc; k++) {
            time_ours(&m, &s, o.our_acc[k], o.min_time, &ref, &ours[k]);
            printf("   %-10s %8.3g %8.3f ms %10.2e %10.2e %7.4f %7.3f %7.3f %7d\n", "fuse2", ours[k].accuracy,
                   1e3 * ours[k].seconds, ours[k].energy_error, ours[k].force_error, ours[k].alpha, ours[k].rc,
                   ours[k].kc, ours[k].reps);
        }
        /* LAMMPS steps: about min_time of work, judged from our own cost */
        double our_last = o.n_our_acc ? ours[o.n_our_acc - 1].seconds : 1e-3;
        long steps = (long)ceil(o.min_time / fmax(our_last, 1e-5));
        if (steps < 20) steps = 20;
        if (steps > 20000) steps = 20000;
        for (int tb = 0; tb < o.n_lmp_tables; tb++)
            for (int k = 0; k < o.n_lmp_acc; k++) {
                char dir[1024];
                snprintf(dir, sizeof dir, "%.900s/energy-%d-t%d-%g", work, s.natoms, o.lmp_tables[tb], o.lmp_acc[k]);
                timing *t = &lmp[nlmp++];
                time_lammps(&o, &m, &s, dir, o.lmp_acc[k], o.lmp_tables[tb], steps, &ref, t);
                char label[32];
                snprintf(label, sizeof label, "LAMMPS t%d", t->table);
                printf("   %-10s %8.0e %8.3f ms %10.2e %10.2e %7.4f %7.3f %7s %7d\n", label, t->accuracy,
                       1e3 * t->seconds, t->energy_error, t->force_error, t->alpha, m.max_cut, "", t->reps);
            }
        /* matched: for each LAMMPS setting, our fastest setting whose energy
         * error is no larger than LAMMPS' */
        const timing *acc12 = NULL;
        for (int k = 0; k < o.n_our_acc; k++)
            if (o.our_acc[k] == 12.0) acc12 = &ours[k];
        if (nlmp && o.n_our_acc) {
            printf("   matched energy error (ratio = LAMMPS time / our time; > 1 means ours is faster):\n");
            printf("   %-10s %7s %10s %11s | %7s %10s %11s | %7s | %s\n", "LAMMPS", "acc", "rel.E err", "time",
                   "our acc", "rel.E err", "time", "ratio", "ratio vs our acc 12");
        }
        sum->matched_ratio_worst = INFINITY;
        for (int k = 0; k < nlmp; k++) {
            const timing *best = NULL;
            for (int j = 0; j < o.n_our_acc; j++)
                if (ours[j].energy_error <= lmp[k].energy_error && (!best || ours[j].seconds < best->seconds))
                    best = &ours[j];
            char r12[32] = "n/a", label[32];
            if (acc12) snprintf(r12, sizeof r12, "%.2f", lmp[k].seconds / acc12->seconds);
            snprintf(label, sizeof label, "table %d", lmp[k].table);
            if (best) {
                printf("   %-10s %7.0e %10.2e %8.3f ms | %7.3g %10.2e %8.3f ms | %7.2f | %s\n", label,
                       lmp[k].accuracy, lmp[k].energy_error, 1e3 * lmp[k].seconds, best->accuracy,
                       best->energy_error, 1e3 * best->seconds, lmp[k].seconds / best->seconds, r12);
                sum->matched_ratio_worst = fmin(sum->matched_ratio_worst, lmp[k].seconds / best->seconds);
            } else {
                printf("   %-10s %7.0e %10.2e %8.3f ms | none of our settings is as accurate | %s\n", label,
                       lmp[k].accuracy, lmp[k].energy_error, 1e3 * lmp[k].seconds, r12);
            }
        }
        sum->ours12 = acc12 ? acc12->seconds : NAN;
        sum->lmp_tight = sum->lmp_fast = NAN;
        for (int k = 0; k < nlmp; k++) {
            /* the tightest accuracy with LAMMPS' default table 12 */
            if (lmp[k].table == 12 && (isnan(sum->lmp_tight) || lmp[k].accuracy < sum->lmp_tight_acc)) {
                sum->lmp_tight = lmp[k].seconds;
                sum->lmp_tight_acc = lmp[k].accuracy;
            }
            /* LAMMPS' fastest setting of all, whatever its accuracy */
            if (isnan(sum->lmp_fast) || lmp[k].seconds < sum->lmp_fast) {
                sum->lmp_fast = lmp[k].seconds;
                sum->lmp_fast_acc = lmp[k].accuracy;
                sum->lmp_fast_table = lmp[k].table;
            }
        }

        if (o.relax) {
            double smax = o.smax > 0 ? o.smax : o.lmp_ftol / volume;
            relax_outcome rl, ro[MAX_SETTINGS];
            char dir[1024];
            snprintf(dir, sizeof dir, "%.900s/relax-%d", work, s.natoms);
            relax_lammps(&o, &m, &s, dir, o.relax_lmp_acc, &rl);
            for (int k = 0; k < o.n_relax_our_acc; k++) relax_ours(&o, &m, &s, o.relax_our_acc[k], smax, &ro[k]);
            printf("   relaxation: ours L-BFGS, fmax %g eV/A, smax %.3g eV/A^3 (= ftol/V);\n"
                   "               LAMMPS fix box/relax tri 0.0, min_style cg, min_modify norm max, ewald %g,\n"
                   "               pair_modify table %d, minimize etol %g ftol %g\n",
                   o.fmax, smax, o.relax_lmp_acc, o.relax_lmp_table, o.lmp_etol, o.lmp_ftol);
            printf("   %-13s %9s %6s %6s %17s %17s %9s %10s  %s\n", "code", "wall", "iter", "evals", "E own (eV)",
                   "E final (eV)", "max|F|", "max|sigma|", "stop");
            for (int k = 0; k <= o.n_relax_our_acc; k++) {
                const relax_outcome *r = k < o.n_relax_our_acc ? &ro[k] : &rl;
                char label[32];
                if (k < o.n_relax_our_acc)
                    snprintf(label, sizeof label, "fuse2 acc %g", o.relax_our_acc[k]);
                else
                    snprintf(label, sizeof label, "LAMMPS");
                printf("   %-13s %7.4f s %6d %6d %17.8f %17.8f %9.2e %10.2e  %s\n", label, r->wall, r->iterations,
                       r->evaluations, r->energy_own, r->energy_ours, r->max_force, r->max_stress, r->status);
            }
            printf("   (E final, max|F|, max|sigma|: each final geometry evaluated by fuse2 at accuracy %.0f)\n",
                   REFERENCE_ACCURACY);
            for (int k = 0; k < o.n_relax_our_acc; k++)
                printf("   fuse2 acc %g: E final - LAMMPS E final = %.3e eV (%.3e eV/atom); "
                       "wall-time ratio LAMMPS/ours %.2f\n",
                       o.relax_our_acc[k], ro[k].energy_ours - rl.energy_ours,
                       (ro[k].energy_ours - rl.energy_ours) / s.natoms, rl.wall / ro[k].wall);
            if (o.n_relax_our_acc) {
                sum->have_relax = 1;
                sum->relax_ratio = rl.wall / ro[0].wall;
                sum->relax_de = (ro[0].energy_ours - rl.energy_ours) / s.natoms;
            }
        }
        printf("\n");
        fflush(stdout);
        fuse2_calc_result_free(&ref);
        fuse2_structure_free(&s);
    }

    printf("== summary (ratio = LAMMPS time / our time; target: energy+forces >= 1, relaxation >= 2)\n");
    printf("   %5s | %11s | %-27s %5s | %-27s %5s | %7s | %7s %10s\n", "atoms", "ours acc 12",
           "LAMMPS fastest setting", "ratio", "LAMMPS t12, tightest acc", "ratio", "matched", "relax", "dE/atom");
    for (int si = 0; si < o.nsizes; si++) {
        const size_summary *sum = &summary[si];
        char fast[64], tight[64];
        snprintf(fast, sizeof fast, "%.3f ms (t%d, %.0e)", 1e3 * sum->lmp_fast, sum->lmp_fast_table,
                 sum->lmp_fast_acc);
        snprintf(tight, sizeof tight, "%.3f ms (t12, %.0e)", 1e3 * sum->lmp_tight, sum->lmp_tight_acc);
        printf("   %5d | %8.3f ms | %-27s %5.2f | %-27s %5.2f | %7.2f | %7.2f %10.2e\n", sum->natoms,
               1e3 * sum->ours12, fast, sum->lmp_fast / sum->ours12, tight, sum->lmp_tight / sum->ours12,
               sum->matched_ratio_worst, sum->have_relax ? sum->relax_ratio : NAN,
               sum->have_relax ? sum->relax_de : NAN);
    }
    printf("   matched = worst over LAMMPS settings of LAMMPS time / time of our fastest setting with an\n"
           "   energy error no larger than LAMMPS'; relax = LAMMPS minimize wall / fuse2_relax wall;\n"
           "   dE/atom = our final energy - LAMMPS' final energy, both geometries evaluated by fuse2\n");
    fuse2_potential_set_free(&m.pot);
    if (!o.keep) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", work);
    } else {
        printf("# LAMMPS inputs and logs kept in %s\n", work);
    }
    return 0;
}
