/* The built-in calculator against LAMMPS (the Debian `lmp` executable, run as
 * an external program): energy, every force component and every stress
 * component of random charge-neutral triclinic structures for Buckingham,
 * Lennard-Jones, Morse and mixed pair potentials plus Ewald Coulomb.
 *
 * Conventions matched (LAMMPS 29 Sep 2021, src/update.cpp, `units metal`):
 * Coulomb constant qqr2e = 14.399645 eV Å/e^2 and pressure factor
 * nktv2p = 1.6021765e6 bar per eV/Å^3. LAMMPS' pressure tensor is -sigma in
 * our (ASE) sign; with zero velocities it has no kinetic part. Pair terms are
 * truncated at the LAMMPS pair cut-off without shift, which is GULP's rmax
 * meaning (rmin = 0).
 *
 * LAMMPS' real-space Coulomb term is the limiting accuracy. With
 * `pair_modify table 0` it uses the Abramowitz-Stegun 7.1.26 erfc
 * approximation (absolute error up to 1.5e-7), which left energy deviations
 * of up to 5e-7 relative and stress deviations of 1e-6 of the RMS. A 2^16
 * point table of the exact erfc (`pair_modify table 16`, despite LAMMPS'
 * warning) is closer: an independent NumPy Ewald sum with math.erfc
 * (alpha 0.32/Å, 1e-16 cut-offs; run while writing this test on the buck
 * structures) equals our energies to 1e-10 eV and deviates from LAMMPS
 * exactly as we do, ~1e-8 relative in energy and ~1e-7 of the RMS in forces
 * and stress.
 *
 * Tolerances: energy 1e-6 relative; forces and stress 1e-6 relative to the
 * RMS of the LAMMPS forces (stress) of the same structure. The worst
 * deviations seen are printed. A missing `lmp` is a failure, not a skip:
 * the set-up installs LAMMPS. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuse2/builtin.h"
#include "fuse2/potential.h"
#include "fuse2/rng.h"
#include "fuse2/structure.h"

/* LAMMPS metal units (src/update.cpp): force->qqr2e and force->nktv2p. */
#define LAMMPS_METAL_QQR2E 14.399645
#define LAMMPS_METAL_NKTV2P 1.6021765e6

enum { MAX_CASE_SPECIES = 4, MAX_CASE_TERMS = 12, MAX_UNITS = 4, MAX_ATOMS = 30 };

#define REL_TOL 1e-6
#define LAMMPS_EWALD_ACCURACY "1e-12"
#define COULOMB_REAL_CUTOFF 10.0

typedef enum lammps_style {
    STYLE_BUCK_COUL_LONG,  /* pair_style buck/coul/long */
    STYLE_LJ_CUT_COUL_LONG, /* pair_style lj/cut/coul/long */
    STYLE_HYBRID           /* hybrid/overlay coul/long + buck/morse/lj/cut */
} lammps_style;

/* One pair term in LAMMPS' own parameters (Lennard-Jones as epsilon, sigma). */
typedef struct case_term {
    fuse2_pair_kind kind;
    int z1, z2;
    double p[3];      /* buck A rho C; lennard epsilon sigma; morse D a r0 */
    double cutoff;    /* LAMMPS pair cut-off = our rmax */
} case_term;

/* A charge-neutral formula unit: counts per species of the case. */
typedef struct formula_unit {
    int count[MAX_CASE_SPECIES];
} formula_unit;

typedef struct potential_case {
    const char *name;
    lammps_style style;
    int nspecies;
    int z[MAX_CASE_SPECIES];
    double charge[MAX_CASE_SPECIES];
    int nterms;
    case_term term[MAX_CASE_TERMS];
    int nunits;
    formula_unit unit[MAX_UNITS];
    double min_distance;   /* Å, between any two atoms of a random structure */
} potential_case;

typedef struct comparison {
    double energy_rel, force_rel, stress_rel;   /* worst over the structures */
} comparison;

/* ---- our side ---- */

static void build_potential_set(const potential_case *pc, fuse2_potential_set *set)
{
    fuse2_potential_set_init(set);
    for (int s = 0; s < pc->nspecies; s++)
        ASSERT_OK(fuse2_potential_set_add_species(set, pc->z[s], pc->charge[s]));
    for (int t = 0; t < pc->nterms; t++) {
        const case_term *ct = &pc->term[t];
        fuse2_pair_term term;
        memset(&term, 0, sizeof term);
        term.kind = ct->kind;
        term.z1 = ct->z1 < ct->z2 ? ct->z1 : ct->z2;
        term.z2 = ct->z1 < ct->z2 ? ct->z2 : ct->z1;
        term.rmin = 0;
        term.rmax = ct->cutoff;
        switch (ct->kind) {
        case FUSE2_PAIR_BUCKINGHAM:
            memcpy(term.param, ct->p, 3 * sizeof(double));
            break;
        case FUSE2_PAIR_LENNARD: {
            /* 4 eps [(sigma/r)^12 - (sigma/r)^6] = A/r^12 - B/r^6 */
            double eps = ct->p[0], sigma = ct->p[1];
            term.param[0] = 4 * eps * pow(sigma, 12);
            term.param[1] = 4 * eps * pow(sigma, 6);
            term.param[2] = 12;
            term.param[3] = 6;
            break;
        }
        case FUSE2_PAIR_MORSE:
            memcpy(term.param, ct->p, 3 * sizeof(double));
            break;
        case FUSE2_PAIR_SPLINE: /* LAMMPS comparisons use analytic forms only */
            fail_msg("no spline terms in the LAMMPS cases");
            break;
        }
        ASSERT_OK(fuse2_potential_set_add_term(set, &term));
    }
}

/* ---- random structures ---- */

static double periodic_min_distance(const double L[3][3], const double a[3], const double b[3])
{
    double best = INFINITY;
    double d0[3];
    for (int k = 0; k < 3; k++) {
        d0[k] = b[k] - a[k];
        d0[k] -= floor(d0[k] + 0.5);
    }
    /* restricted triclinic cells with moderate tilt: +-2 images suffice */
    for (int i = -2; i <= 2; i++)
        for (int j = -2; j <= 2; j++)
            for (int k = -2; k <= 2; k++) {
                double f[3] = {d0[0] + i, d0[1] + j, d0[2] + k}, c[3];
                for (int x = 0; x < 3; x++) c[x] = f[0] * L[0][x] + f[1] * L[1][x] + f[2] * L[2][x];
                double r = sqrt(c[0] * c[0] + c[1] * c[1] + c[2] * c[2]);
                if (r < best) best = r;
            }
    return best;
}

/* LAMMPS accepts a restricted triclinic box only with |xy| <= lx/2,
 * |xz| <= lx/2, |yz| <= ly/2; stay well inside (also against ly, lz). */
static int within_lammps_tilt_limits(const double L[3][3])
{
    double lx = L[0][0], ly = L[1][1], lz = L[2][2];
    double xy = L[1][0], xz = L[2][0], yz = L[2][1];
    double lim = 0.45;
    return fabs(xy) <= lim * fmin(lx, ly) && fabs(xz) <= lim * fmin(lx, lz) &&
           fabs(yz) <= lim * fmin(ly, lz);
}

/* Random neutral structure of 8-30 atoms: random formula units, a random
 * restricted-triclinic cell of 14-22 Å^3 per atom, random positions at
 * least pc->min_distance apart. */
static void random_structure(const potential_case *pc, fuse2_rng *rng, fuse2_structure *s)
{
    int counts[MAX_CASE_SPECIES];
    int natoms;
    do {
        memset(counts, 0, sizeof counts);
        natoms = 0;
        int target = fuse2_rng_int(rng, 8, 30);
        while (natoms < target) {
            const formula_unit *u = &pc->unit[fuse2_rng_int(rng, 0, pc->nunits - 1)];
            int add = 0;
            for (int k = 0; k < pc->nspecies; k++) add += u->count[k];
            if (natoms + add > 30) break;
            for (int k = 0; k < pc->nspecies; k++) counts[k] += u->count[k];
            natoms += add;
        }
    } while (natoms < 8);

    for (int attempt = 0; attempt < 1000; attempt++) {
        double params[6];
        for (int k = 0; k < 3; k++) params[k] = fuse2_rng_uniform_range(rng, 0.75, 1.3);
        for (int k = 3; k < 6; k++) params[k] = fuse2_rng_uniform_range(rng, 65.0, 115.0);
        double L[3][3];
        if (fuse2_lattice_from_parameters(params, L) != FUSE2_OK) continue;
        double scale = cbrt(natoms * fuse2_rng_uniform_range(rng, 14.0, 22.0) /
                            fabs(fuse2_lattice_volume(L)));
        for (int k = 0; k < 3; k++) params[k] *= scale;
        ASSERT_OK(fuse2_lattice_from_parameters(params, L));
        if (!within_lammps_tilt_limits(L)) continue;

        ASSERT_OK(fuse2_structure_init(s, natoms));
        memcpy(s->lattice, L, sizeof L);
        int ok = 1;
        for (int sp = 0; sp < pc->nspecies && ok; sp++)
            for (int c = 0; c < counts[sp] && ok; c++) {
                int placed = 0;
                for (int tries = 0; tries < 2000 && !placed; tries++) {
                    double f[3];
                    for (int k = 0; k < 3; k++) f[k] = fuse2_rng_uniform(rng);
                    int clash = 0;
                    for (int j = 0; j < s->natoms && !clash; j++)
                        clash = periodic_min_distance(L, f, s->frac[j]) < pc->min_distance;
                    if (!clash) {
                        ASSERT_OK(fuse2_structure_add_atom(s, pc->z[sp], f));
                        placed = 1;
                    }
                }
                ok = placed;
            }
        if (ok) return;
        fuse2_structure_free(s);
    }
    fail_msg("%s: could not place a random structure", pc->name);
}

/* ---- LAMMPS side ---- */

static const char *lammps_executable(void)
{
    const char *env = getenv("FUSE2_LAMMPS");
    return env && *env ? env : "lmp";
}

static void require_lammps(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "command -v '%s' >/dev/null 2>&1", lammps_executable());
    if (test_run_capture(cmd, NULL) != 0)
        fail_msg("LAMMPS executable '%s' not found: install the Debian package `lammps` "
                 "(apt-get install --no-install-recommends lammps) or set FUSE2_LAMMPS",
                 lammps_executable());
}

static int type_of(const potential_case *pc, int z)
{
    for (int k = 0; k < pc->nspecies; k++)
        if (pc->z[k] == z) return k + 1;
    fail_msg("%s: element %d is not a species of the case", pc->name, z);
    return 0;
}

static void write_data_file(const char *path, const potential_case *pc, const fuse2_structure *s)
{
    FILE *f = fopen(path, "w");
    if (!f) fail_msg("cannot write %s", path);
    const double (*L)[3] = (const double(*)[3])s->lattice;
    fprintf(f, "fuse2 test structure\n\n%d atoms\n%d atom types\n\n", s->natoms, pc->nspecies);
    fprintf(f, "0 %.17g xlo xhi\n0 %.17g ylo yhi\n0 %.17g zlo zhi\n", L[0][0], L[1][1], L[2][2]);
    fprintf(f, "%.17g %.17g %.17g xy xz yz\n\nMasses\n\n", L[1][0], L[2][0], L[2][1]);
    /* masses do not enter a static calculation */
    for (int k = 0; k < pc->nspecies; k++) fprintf(f, "%d 1.0\n", k + 1);
    fprintf(f, "\nAtoms # charge\n\n");
    for (int i = 0; i < s->natoms; i++) {
        double c[3];
        fuse2_structure_cartesian(s, i, c);
        int t = type_of(pc, s->species[i]);
        fprintf(f, "%d %d %.17g %.17g %.17g %.17g\n", i + 1, t, pc->charge[t - 1], c[0], c[1], c[2]);
    }
    fclose(f);
}

static double max_cutoff(const potential_case *pc, int kind)
{
    double m = 0;
    for (int t = 0; t < pc->nterms; t++)
        if ((kind < 0 || (int)pc->term[t].kind == kind) && pc->term[t].cutoff > m) m = pc->term[t].cutoff;
    return m;
}

/* pair_coeff arguments need type i <= type j */
static void term_types(const potential_case *pc, const case_term *ct, int *ti, int *tj)
{
    int a = type_of(pc, ct->z1), b = type_of(pc, ct->z2);
    *ti = a < b ? a : b;
    *tj = a < b ? b : a;
}

static const case_term *find_term(const potential_case *pc, int ti, int tj)
{
    for (int t = 0; t < pc->nterms; t++) {
        int a, b;
        term_types(pc, &pc->term[t], &a, &b);
        if (a == ti && b == tj) return &pc->term[t];
    }
    return NULL;
}

static void write_pair_commands(FILE *f, const potential_case *pc)
{
    switch (pc->style) {
    case STYLE_BUCK_COUL_LONG:
    case STYLE_LJ_CUT_COUL_LONG:
        fprintf(f, "pair_style %s %.10g %.10g\n",
                pc->style == STYLE_BUCK_COUL_LONG ? "buck/coul/long" : "lj/cut/coul/long",
                max_cutoff(pc, -1), COULOMB_REAL_CUTOFF);
        /* every type pair explicitly (no mixing); absent terms get zero strength */
        for (int i = 1; i <= pc->nspecies; i++)
            for (int j = i; j <= pc->nspecies; j++) {
                const case_term *ct = find_term(pc, i, j);
                if (pc->style == STYLE_BUCK_COUL_LONG) {
                    if (ct)
                        fprintf(f, "pair_coeff %d %d %.17g %.17g %.17g %.17g\n", i, j, ct->p[0],
                                ct->p[1], ct->p[2], ct->cutoff);
                    else
                        fprintf(f, "pair_coeff %d %d 0.0 1.0 0.0\n", i, j);
                } else {
                    if (ct)
                        fprintf(f, "pair_coeff %d %d %.17g %.17g %.17g\n", i, j, ct->p[0], ct->p[1],
                                ct->cutoff);
                    else
                        fprintf(f, "pair_coeff %d %d 0.0 1.0\n", i, j);
                }
            }
        break;
    case STYLE_HYBRID: {
        static const char *const sub[3] = {"buck", "lj/cut", "morse"};
        fprintf(f, "pair_style hybrid/overlay coul/long %.10g", COULOMB_REAL_CUTOFF);
        for (int kind = 0; kind < 3; kind++)
            if (max_cutoff(pc, kind) > 0) fprintf(f, " %s %.10g", sub[kind], max_cutoff(pc, kind));
        fprintf(f, "\npair_coeff * * coul/long\n");
        for (int t = 0; t < pc->nterms; t++) {
            const case_term *ct = &pc->term[t];
            int i, j;
            term_types(pc, ct, &i, &j);
            if (ct->kind == FUSE2_PAIR_LENNARD)
                fprintf(f, "pair_coeff %d %d lj/cut %.17g %.17g %.17g\n", i, j, ct->p[0], ct->p[1],
                        ct->cutoff);
            else
                fprintf(f, "pair_coeff %d %d %s %.17g %.17g %.17g %.17g\n", i, j, sub[ct->kind],
                        ct->p[0], ct->p[1], ct->p[2], ct->cutoff);
        }
        break;
    }
    }
}

typedef struct lammps_result {
    double energy;          /* eV */
    double forces[MAX_ATOMS][3];
    double stress[3][3];    /* eV/Å^3, our sign */
} lammps_result;

static void run_lammps(const potential_case *pc, const fuse2_structure *s, const char *dir,
                       lammps_result *out)
{
    char path[1024];
    if (mkdir(dir, 0755) != 0) fail_msg("cannot create %s", dir);
    snprintf(path, sizeof path, "%s/data.lmp", dir);
    write_data_file(path, pc, s);

    snprintf(path, sizeof path, "%s/in.lmp", dir);
    FILE *f = fopen(path, "w");
    if (!f) fail_msg("cannot write %s", path);
    fprintf(f, "units metal\natom_style charge\nboundary p p p\nread_data data.lmp\n");
    write_pair_commands(f, pc);
    fprintf(f, "pair_modify table 16\n");
    fprintf(f, "kspace_style ewald %s\n", LAMMPS_EWALD_ACCURACY);
    fprintf(f, "thermo_style custom step pe pxx pyy pzz pxy pxz pyz\n");
    fprintf(f, "thermo_modify format float %%.17g\n");
    fprintf(f, "dump forces all custom 1 forces.dump id fx fy fz\n");
    fprintf(f, "dump_modify forces format float %%.17g sort id\n");
    fprintf(f, "run 0\n");
    fclose(f);

    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && OMP_NUM_THREADS=1 '%s' -in in.lmp -log log.lammps -screen none "
             ">lmp.out 2>&1",
             dir, lammps_executable());
    int rc = test_run_capture(cmd, NULL);
    snprintf(path, sizeof path, "%s/log.lammps", dir);
    char *log = test_read_file(path);
    if (rc != 0) {
        const char *err = log ? strstr(log, "ERROR") : NULL;
        fail_msg("%s: lmp exited with %d in %s: %.300s", pc->name, rc, dir,
                 err ? err : "(no ERROR line in log.lammps)");
    }
    if (!log) fail_msg("%s: no log.lammps in %s", pc->name, dir);

    /* thermo block: a header line "Step PotEng Pxx ..." then the step-0 values */
    const char *h = strstr(log, "\nStep PotEng Pxx Pyy Pzz Pxy Pxz Pyz");
    if (!h) fail_msg("%s: no thermo header in %s", pc->name, path);
    h = strchr(h + 1, '\n');
    long step;
    double pe, p[6];
    if (!h || sscanf(h + 1, "%ld %lf %lf %lf %lf %lf %lf %lf", &step, &pe, &p[0], &p[1], &p[2],
                     &p[3], &p[4], &p[5]) != 8)
        fail_msg("%s: cannot parse the thermo line in %s", pc->name, path);
    free(log);
    out->energy = pe;
    /* LAMMPS pressure (bar) = -sigma */
    const int ia[6] = {0, 1, 2, 0, 0, 1}, ib[6] = {0, 1, 2, 1, 2, 2};
    for (int k = 0; k < 6; k++) {
        out->stress[ia[k]][ib[k]] = -p[k] / LAMMPS_METAL_NKTV2P;
        out->stress[ib[k]][ia[k]] = out->stress[ia[k]][ib[k]];
    }

    snprintf(path, sizeof path, "%s/forces.dump", dir);
    char *dump = test_read_file(path);
    if (!dump) fail_msg("%s: no forces.dump in %s", pc->name, dir);
    const char *a = strstr(dump, "ITEM: ATOMS id fx fy fz");
    if (!a) fail_msg("%s: no atoms block in %s", pc->name, path);
    a = strchr(a, '\n') + 1;
    for (int i = 0; i < s->natoms; i++) {
        int id, used;
        double fx, fy, fz;
        if (sscanf(a, "%d %lf %lf %lf%n", &id, &fx, &fy, &fz, &used) != 4 || id != i + 1)
            fail_msg("%s: bad force line %d in %s", pc->name, i + 1, path);
        out->forces[i][0] = fx;
        out->forces[i][1] = fy;
        out->forces[i][2] = fz;
        a += used;
    }
    free(dump);
}

/* ---- the comparison ---- */

static void compare_case(const potential_case *pc, uint64_t seed, int nstructures, comparison *worst)
{
    require_lammps();
    fuse2_potential_set set;
    build_potential_set(pc, &set);
    fuse2_builtin_options opt;
    fuse2_builtin_options_default(&opt);
    opt.coulomb_constant = LAMMPS_METAL_QQR2E;
    fuse2_builtin *b = NULL;
    ASSERT_OK(fuse2_builtin_create(&set, &opt, &b));
    fuse2_potential_set_free(&set);
    memset(worst, 0, sizeof *worst);

    fuse2_rng rng;
    fuse2_rng_init(&rng, seed, 0, 0, 0);
    for (int n = 0; n < nstructures; n++) {
        fuse2_structure s;
        random_structure(pc, &rng, &s);
        fuse2_calc_result ours;
        fuse2_calc_result_init(&ours);
        ASSERT_OK(fuse2_builtin_compute(b, &s, &ours));

        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s-%d", test_tmpdir(), pc->name, n);
        lammps_result *lmp = calloc(1, sizeof *lmp);
        run_lammps(pc, &s, dir, lmp);

        double e_rel = fabs(ours.energy - lmp->energy) / fabs(lmp->energy);
        double f2 = 0, fdiff = 0, s2 = 0, sdiff = 0;
        int fworst = 0;
        for (int i = 0; i < s.natoms; i++)
            for (int k = 0; k < 3; k++) {
                f2 += lmp->forces[i][k] * lmp->forces[i][k];
                double d = fabs(ours.forces[i][k] - lmp->forces[i][k]);
                if (d > fdiff) {
                    fdiff = d;
                    fworst = 3 * i + k;
                }
            }
        for (int a = 0; a < 3; a++)
            for (int c = 0; c < 3; c++) {
                s2 += lmp->stress[a][c] * lmp->stress[a][c];
                sdiff = fmax(sdiff, fabs(ours.stress[a][c] - lmp->stress[a][c]));
            }
        double frms = sqrt(f2 / (3.0 * s.natoms)), srms = sqrt(s2 / 9.0);
        double f_rel = fdiff / frms, s_rel = sdiff / srms;
        print_message("  %s #%d: %2d atoms, V = %7.2f A^3, E = %.10f eV (LAMMPS %.10f), "
                      "rel. dE %.2e, max dF/rms %.2e (rms %.3g eV/A), max dsigma/rms %.2e\n",
                      pc->name, n, s.natoms, fuse2_structure_volume(&s), ours.energy, lmp->energy,
                      e_rel, f_rel, frms, s_rel);
        if (!(e_rel <= REL_TOL))
            fail_msg("%s #%d: energy %.12g eV, LAMMPS %.12g eV (relative difference %.3g > %g); "
                     "files in %s (kept with FUSE2_KEEP_TEST_FILES=1)",
                     pc->name, n, ours.energy, lmp->energy, e_rel, REL_TOL, dir);
        if (!(f_rel <= REL_TOL))
            fail_msg("%s #%d: force on atom %d component %d is %.12g eV/A, LAMMPS %.12g "
                     "(difference %.3g = %.3g x rms %.4g); "
                     "files in %s (kept with FUSE2_KEEP_TEST_FILES=1)",
                     pc->name, n, fworst / 3 + 1, fworst % 3, ours.forces[fworst / 3][fworst % 3],
                     lmp->forces[fworst / 3][fworst % 3], fdiff, f_rel, frms, dir);
        if (!(s_rel <= REL_TOL))
            fail_msg("%s #%d: stress differs from LAMMPS by %.3g eV/A^3 = %.3g x rms %.4g; "
                     "files in %s (kept with FUSE2_KEEP_TEST_FILES=1)",
                     pc->name, n, sdiff, s_rel, srms, dir);
        worst->energy_rel = fmax(worst->energy_rel, e_rel);
        worst->force_rel = fmax(worst->force_rel, f_rel);
        worst->stress_rel = fmax(worst->stress_rel, s_rel);
        free(lmp);
        fuse2_calc_result_free(&ours);
        fuse2_structure_free(&s);
    }
    fuse2_builtin_destroy(b);
    print_message("%s: worst relative deviations from LAMMPS over %d structures: energy %.2e, "
                  "force %.2e, stress %.2e\n",
                  pc->name, nstructures, worst->energy_rel, worst->force_rel, worst->stress_rel);
}

enum { Z_O = 8, Z_NA = 11, Z_MG = 12, Z_AL = 13, Z_CL = 17, Z_TI = 22, Z_SR = 38, Z_Y = 39,
       Z_ZR = 40 };
enum { STRUCTURES_PER_CASE = 4 };

static void test_buckingham_coulomb_matches_lammps_buck_coul_long(void **state)
{
    (void)state;
    /* Sr-O, Ti-O, O-O: the SrTiO3 Buckingham set of lib2.lib (values only,
     * with mixed cut-offs); Sr-Ti added so every pair type is exercised */
    const potential_case pc = {
        .name = "buck",
        .style = STYLE_BUCK_COUL_LONG,
        .nspecies = 3,
        .z = {Z_SR, Z_TI, Z_O},
        .charge = {2.0, 4.0, -2.0},
        .nterms = 4,
        .term = {{FUSE2_PAIR_BUCKINGHAM, Z_SR, Z_O, {1952.39, 0.33685, 19.22}, 10.0},
                 {FUSE2_PAIR_BUCKINGHAM, Z_TI, Z_O, {4590.7279, 0.261, 0.0}, 8.0},
                 {FUSE2_PAIR_BUCKINGHAM, Z_O, Z_O, {1388.77, 0.36262, 175.0}, 12.0},
                 {FUSE2_PAIR_BUCKINGHAM, Z_SR, Z_TI, {800.0, 0.3, 5.0}, 6.5}},
        .nunits = 3,
        .unit = {{{1, 0, 1}}, {{0, 1, 2}}, {{1, 1, 3}}},
        .min_distance = 1.6,
    };
    comparison w;
    compare_case(&pc, 20240611, STRUCTURES_PER_CASE, &w);
}

static void test_lennard_jones_coulomb_matches_lammps_lj_cut_coul_long(void **state)
{
    (void)state;
    /* epsilon (eV), sigma (Å); Na-Mg and Mg-Mg have no term */
    const potential_case pc = {
        .name = "lj",
        .style = STYLE_LJ_CUT_COUL_LONG,
        .nspecies = 3,
        .z = {Z_NA, Z_MG, Z_CL},
        .charge = {0.9, 1.8, -0.9},
        .nterms = 4,
        .term = {{FUSE2_PAIR_LENNARD, Z_NA, Z_CL, {0.05, 2.3, 0}, 9.0},
                 {FUSE2_PAIR_LENNARD, Z_CL, Z_CL, {0.012, 2.6, 0}, 10.0},
                 {FUSE2_PAIR_LENNARD, Z_MG, Z_CL, {0.08, 2.1, 0}, 7.5},
                 {FUSE2_PAIR_LENNARD, Z_NA, Z_NA, {0.002, 2.2, 0}, 6.0}},
        .nunits = 2,
        .unit = {{{1, 0, 1}}, {{0, 1, 2}}},
        .min_distance = 1.7,
    };
    comparison w;
    compare_case(&pc, 977, STRUCTURES_PER_CASE, &w);
}

static void test_morse_coulomb_matches_lammps_hybrid_morse_coul_long(void **state)
{
    (void)state;
    /* D (eV), a (1/Å), r0 (Å) */
    const potential_case pc = {
        .name = "morse",
        .style = STYLE_HYBRID,
        .nspecies = 3,
        .z = {Z_MG, Z_AL, Z_O},
        .charge = {1.2, 1.8, -1.2},
        .nterms = 3,
        .term = {{FUSE2_PAIR_MORSE, Z_MG, Z_O, {0.5, 1.8, 2.1}, 8.0},
                 {FUSE2_PAIR_MORSE, Z_AL, Z_O, {0.8, 2.0, 1.9}, 9.0},
                 {FUSE2_PAIR_MORSE, Z_O, Z_O, {0.05, 1.5, 3.0}, 7.0}},
        .nunits = 3,
        .unit = {{{1, 0, 1}}, {{0, 2, 3}}, {{1, 2, 4}}},
        .min_distance = 1.6,
    };
    comparison w;
    compare_case(&pc, 31415, STRUCTURES_PER_CASE, &w);
}

static void test_mixed_buckingham_morse_lennard_jones_matches_lammps_hybrid_overlay(void **state)
{
    (void)state;
    /* Zr-O has both a Buckingham and a Morse term (terms for one pair add);
     * O-O Buckingham with C; Lennard-Jones between the cations; no Y-Y term */
    const potential_case pc = {
        .name = "mixed",
        .style = STYLE_HYBRID,
        .nspecies = 3,
        .z = {Z_Y, Z_ZR, Z_O},
        .charge = {3.0, 4.0, -2.0},
        .nterms = 6,
        .term = {{FUSE2_PAIR_BUCKINGHAM, Z_ZR, Z_O, {985.87, 0.376, 0.0}, 10.0},
                 {FUSE2_PAIR_BUCKINGHAM, Z_Y, Z_O, {1345.1, 0.3491, 0.0}, 9.0},
                 {FUSE2_PAIR_BUCKINGHAM, Z_O, Z_O, {22764.0, 0.149, 27.88}, 12.0},
                 {FUSE2_PAIR_MORSE, Z_ZR, Z_O, {0.2, 1.5, 2.2}, 7.0},
                 {FUSE2_PAIR_LENNARD, Z_Y, Z_ZR, {0.01, 2.5, 0}, 6.0},
                 {FUSE2_PAIR_LENNARD, Z_ZR, Z_ZR, {0.02, 2.4, 0}, 6.5}},
        .nunits = 2,
        .unit = {{{0, 1, 2}}, {{2, 0, 3}}},
        .min_distance = 1.7,
    };
    comparison w;
    compare_case(&pc, 271828, STRUCTURES_PER_CASE, &w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckingham_coulomb_matches_lammps_buck_coul_long),
        cmocka_unit_test(test_lennard_jones_coulomb_matches_lammps_lj_cut_coul_long),
        cmocka_unit_test(test_morse_coulomb_matches_lammps_hybrid_morse_coul_long),
        cmocka_unit_test(test_mixed_buckingham_morse_lennard_jones_matches_lammps_hybrid_overlay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
