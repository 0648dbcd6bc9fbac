/* Built-in calculator: analytic forces and stress against finite
 * differences on random triclinic cells, Ewald results against independent
 * lattice sums (Madelung constant, direct C6 sum), invariance under the
 * choice of cell and of the Ewald parameter, cut-off semantics, errors. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/builtin.h"
#include "fuse2/elements.h"
#include "fuse2/neighbors.h"
#include "fuse2/rng.h"

static int Z(const char *sym) { return fuse2_element_z_from_symbol(sym); }

static void add_term(fuse2_potential_set *p, fuse2_pair_kind kind, const char *a, const char *b,
                     double p0, double p1, double p2, double p3, double rmin, double rmax)
{
    fuse2_pair_term t = {.kind = kind, .z1 = Z(a), .z2 = Z(b), .param = {p0, p1, p2, p3},
                         .rmin = rmin, .rmax = rmax};
    if (t.z1 > t.z2) {
        int x = t.z1;
        t.z1 = t.z2;
        t.z2 = x;
    }
    ASSERT_OK(fuse2_potential_set_add_term(p, &t));
}

/* A model with every pair kind: Buckingham (with C for c6), Lennard-Jones
 * 12-6 and 9-6, Morse, and charges. */
static void mixed_model(fuse2_potential_set *p)
{
    fuse2_potential_set_init(p);
    ASSERT_OK(fuse2_potential_set_add_species(p, Z("Sr"), 2.0));
    ASSERT_OK(fuse2_potential_set_add_species(p, Z("Ti"), 4.0));
    ASSERT_OK(fuse2_potential_set_add_species(p, Z("O"), -2.0));
    add_term(p, FUSE2_PAIR_BUCKINGHAM, "Sr", "O", 1952.39, 0.33685, 19.22, 0, 0.5, 9.0);
    add_term(p, FUSE2_PAIR_BUCKINGHAM, "Ti", "O", 4590.7279, 0.261, 3.0, 0, 0.5, 9.0);
    add_term(p, FUSE2_PAIR_BUCKINGHAM, "O", "O", 1388.77, 0.36262, 175.0, 0, 0.5, 9.0);
    add_term(p, FUSE2_PAIR_MORSE, "Sr", "Ti", 0.05, 1.6, 3.4, 0, 0.5, 8.5);
    add_term(p, FUSE2_PAIR_LENNARD, "Sr", "Sr", 2.0e4, 10.0, 12, 6, 0.5, 8.0);
    add_term(p, FUSE2_PAIR_LENNARD, "Ti", "Ti", 3.0e3, 5.0, 9, 6, 0.5, 8.0);
}

/* Initialises s as a random triclinic SrTiO3 x2 cell with no pair closer
 * than 1.6 A; each seed is its own stream, so a cell does not depend on the
 * others drawn before it. */
static void random_cell(uint32_t seed, fuse2_structure *s)
{
    ASSERT_OK(fuse2_structure_init(s, 10));
    fuse2_rng rng;
    fuse2_rng_init(&rng, 12345, seed, 0, 0);
    for (;;) {
        double p[6];
        for (int k = 0; k < 3; k++) p[k] = fuse2_rng_uniform_range(&rng, 4.6, 6.5);
        for (int k = 3; k < 6; k++) p[k] = fuse2_rng_uniform_range(&rng, 65, 115);
        fuse2_error_clear();
        if (fuse2_lattice_from_parameters(p, s->lattice) == FUSE2_OK) break;
    }
    const char *syms[10] = {"Sr", "Sr", "Ti", "Ti", "O", "O", "O", "O", "O", "O"};
    s->natoms = 0;
    for (int i = 0; i < 10; i++) {
        for (int attempt = 0;; attempt++) {
            double f[3];
            for (int k = 0; k < 3; k++) f[k] = fuse2_rng_uniform(&rng);
            ASSERT_OK(fuse2_structure_add_atom(s, Z(syms[i]), f));
            double dmin = 1e9;
            for (int j = 0; j < s->natoms - 1; j++) dmin = fmin(dmin, fuse2_periodic_distance(s, j, s->natoms - 1));
            if (dmin > 1.6) break;
            s->natoms--;
            assert_true(attempt < 10000);
        }
    }
}

static fuse2_builtin *make_calc(const fuse2_potential_set *p, int c6, double alpha)
{
    fuse2_builtin_options opt;
    fuse2_builtin_options_default(&opt);
    opt.c6 = c6;
    opt.accuracy = 14;
    opt.ewald_alpha = alpha; /* fixed alpha: the energy is then smooth in the geometry */
    fuse2_builtin *b;
    ASSERT_OK(fuse2_builtin_create(p, &opt, &b));
    return b;
}

/* Default options (GULP's Coulomb constant, accuracy 12, alpha from the
 * cut-offs), with or without c6. */
static fuse2_builtin *default_calc(const fuse2_potential_set *p, int c6)
{
    fuse2_builtin_options opt;
    fuse2_builtin_options_default(&opt);
    opt.c6 = c6;
    fuse2_builtin *b;
    ASSERT_OK(fuse2_builtin_create(p, &opt, &b));
    return b;
}

/* Na+ and Cl- point charges and no pair terms. */
static void nacl_point_charges(fuse2_potential_set *p)
{
    fuse2_potential_set_init(p);
    ASSERT_OK(fuse2_potential_set_add_species(p, Z("Na"), 1.0));
    ASSERT_OK(fuse2_potential_set_add_species(p, Z("Cl"), -1.0));
}

static double energy_of(fuse2_builtin *b, const fuse2_structure *s)
{
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    ASSERT_OK(fuse2_builtin_compute(b, s, &r));
    double e = r.energy;
    fuse2_calc_result_free(&r);
    return e;
}

/* The mixed model on a random cell with its analytic results: where the
 * finite-difference checks start. */
typedef struct fd_case {
    fuse2_potential_set p;
    fuse2_builtin *b;
    fuse2_structure s;
    fuse2_calc_result r;
} fd_case;

static void fd_case_init(fd_case *c, int c6, uint32_t seed)
{
    mixed_model(&c->p);
    c->b = make_calc(&c->p, c6, 0.32);
    random_cell(seed, &c->s);
    fuse2_calc_result_init(&c->r);
    ASSERT_OK(fuse2_builtin_compute(c->b, &c->s, &c->r));
}

static void fd_case_free(fd_case *c)
{
    fuse2_calc_result_free(&c->r);
    fuse2_structure_free(&c->s);
    fuse2_builtin_destroy(c->b);
    fuse2_potential_set_free(&c->p);
}

/* Five-point central difference from E at -2h, -h, h, 2h. */
static const double fd_offsets[4] = {-2, -1, 1, 2};

static double five_point_derivative(const double e[4], double h)
{
    return (e[0] - 8 * e[1] + 8 * e[2] - e[3]) / (12 * h);
}

static void check_forces_fd(int c6, uint32_t seed)
{
    fd_case fc;
    fd_case_init(&fc, c6, seed);
    const fuse2_structure *s = &fc.s;
    const fuse2_calc_result *r = &fc.r;
    double scale = 0;
    for (int i = 0; i < s->natoms; i++)
        for (int k = 0; k < 3; k++) scale += r->forces[i][k] * r->forces[i][k];
    scale = sqrt(scale / (3 * s->natoms));
    double inv[3][3];
    ASSERT_OK(fuse2_lattice_inverse(s->lattice, inv));
    const double h = 1e-4;
    double worst = 0;
    fuse2_structure t;
    ASSERT_OK(fuse2_structure_init(&t, s->natoms));
    for (int i = 0; i < s->natoms; i++)
        for (int k = 0; k < 3; k++) {
            /* E along Cartesian k for atom i */
            double e[4];
            for (int m = 0; m < 4; m++) {
                ASSERT_OK(fuse2_structure_copy(&t, s));
                for (int c = 0; c < 3; c++) t.frac[i][c] += fd_offsets[m] * h * inv[k][c];
                e[m] = energy_of(fc.b, &t);
            }
            worst = fmax(worst, fabs(-five_point_derivative(e, h) - r->forces[i][k]));
        }
    fuse2_structure_free(&t);
    if (worst > 1e-6 * scale + 1e-8)
        fail_msg("seed %u c6 %d: worst force error %.3g eV/A (rms force %.3g)", seed, c6, worst, scale);
    fd_case_free(&fc);
}

static void test_forces_match_finite_differences_triclinic(void **state)
{
    (void)state;
    for (uint32_t seed = 1; seed <= 3; seed++) {
        check_forces_fd(0, seed);
        check_forces_fd(1, seed);
    }
}

static void check_stress_fd(int c6, uint32_t seed)
{
    fd_case fc;
    fd_case_init(&fc, c6, seed);
    const fuse2_structure *s = &fc.s;
    const fuse2_calc_result *r = &fc.r;
    double V = fuse2_structure_volume(s);
    double scale = 0;
    for (int a = 0; a < 3; a++)
        for (int c = 0; c < 3; c++) scale = fmax(scale, fabs(r->stress[a][c]));
    const double h = 1e-5;
    fuse2_structure t;
    ASSERT_OK(fuse2_structure_init(&t, s->natoms));
    for (int a = 0; a < 3; a++)
        for (int c = 0; c < 3; c++) {
            /* L -> L (I + h e_ac): one strain component, fractional coordinates fixed */
            double e[4];
            for (int m = 0; m < 4; m++) {
                ASSERT_OK(fuse2_structure_copy(&t, s));
                for (int row = 0; row < 3; row++)
                    t.lattice[row][c] += fd_offsets[m] * h * s->lattice[row][a];
                e[m] = energy_of(fc.b, &t);
            }
            double dEde = five_point_derivative(e, h);
            double err = fabs(dEde / V - r->stress[a][c]);
            if (err > 1e-6 * scale + 1e-9)
                fail_msg("seed %u c6 %d: stress %d%d analytic %.10g finite difference %.10g", seed, c6,
                         a, c, r->stress[a][c], dEde / V);
        }
    /* the stress is symmetric */
    for (int a = 0; a < 3; a++)
        for (int c = 0; c < a; c++) ASSERT_NEAR(r->stress[a][c], r->stress[c][a], 1e-12);
    fuse2_structure_free(&t);
    fd_case_free(&fc);
}

static void test_every_stress_component_matches_strain_derivative(void **state)
{
    (void)state;
    for (uint32_t seed = 4; seed <= 6; seed++) {
        check_stress_fd(0, seed);
        check_stress_fd(1, seed);
    }
}

static void test_energy_does_not_depend_on_ewald_parameter(void **state)
{
    (void)state;
    fuse2_potential_set p;
    mixed_model(&p);
    fuse2_structure s;
    random_cell(7, &s);
    double ref = 0, coul_ref = 0, disp_ref = 0;
    const double alphas[3] = {0.25, 0.4, 0.6};
    for (int k = 0; k < 3; k++) {
        fuse2_builtin *b = make_calc(&p, 1, alphas[k]);
        fuse2_calc_result r;
        fuse2_calc_result_init(&r);
        ASSERT_OK(fuse2_builtin_compute(b, &s, &r));
        double coul = fuse2_calc_result_component(&r, "coulomb");
        double disp = fuse2_calc_result_component(&r, "dispersion");
        if (k == 0) {
            ref = r.energy;
            coul_ref = coul;
            disp_ref = disp;
        } else {
            ASSERT_NEAR(r.energy, ref, 1e-9 * fabs(ref));
            ASSERT_NEAR(coul, coul_ref, 1e-9 * fabs(coul_ref));
            ASSERT_NEAR(disp, disp_ref, 1e-9 * fabs(disp_ref));
        }
        fuse2_calc_result_free(&r);
        fuse2_builtin_destroy(b);
    }
    fuse2_structure_free(&s);
    fuse2_potential_set_free(&p);
}

/* Rock salt: E_coulomb per ion pair = -k M q^2 / r0 with the Madelung
 * constant M = 1.747564594633 (e.g. Kittel, Introduction to Solid State
 * Physics, ch. 3). */
static void test_rock_salt_coulomb_energy_gives_madelung_constant(void **state)
{
    (void)state;
    fuse2_potential_set p;
    nacl_point_charges(&p);
    fuse2_builtin *b = default_calc(&p, 0);
    const double a = 5.64;
    fuse2_structure s;
    test_rock_salt(&s, a);
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    ASSERT_OK(fuse2_builtin_compute(b, &s, &r));
    double madelung = -r.energy / 4 * (a / 2) / FUSE2_COULOMB_CONSTANT_GULP;
    ASSERT_NEAR(madelung, 1.747564594633, 1e-10);
    /* by symmetry there are no forces, and the stress is isotropic: a pure
     * 1/r energy scales as V^(-1/3), so sigma = (1/V) dE/d(eps_xx) = -E/(3V) */
    for (int i = 0; i < s.natoms; i++)
        for (int k = 0; k < 3; k++) ASSERT_NEAR(r.forces[i][k], 0, 1e-9);
    double V = a * a * a;
    for (int k = 0; k < 3; k++) ASSERT_NEAR(r.stress[k][k], -r.energy / (3 * V), 1e-9);
    ASSERT_NEAR(r.stress[0][1], 0, 1e-10);
    fuse2_calc_result_free(&r);
    fuse2_structure_free(&s);
    fuse2_builtin_destroy(b);
    fuse2_potential_set_free(&p);
}

/* The c6 Ewald sum against a direct sum of -1/2 sum C/r^6 over all images
 * within R plus the continuum tail -(2 pi/3) C n_i n_j / (V R^3). */
static void test_c6_ewald_sum_matches_direct_lattice_sum(void **state)
{
    (void)state;
    fuse2_potential_set p;
    fuse2_potential_set_init(&p);
    ASSERT_OK(fuse2_potential_set_add_species(&p, Z("Sr"), 0.0));
    ASSERT_OK(fuse2_potential_set_add_species(&p, Z("Ti"), 0.0));
    ASSERT_OK(fuse2_potential_set_add_species(&p, Z("O"), 0.0));
    /* A = 0: only the dispersion part; non-mixing C_ij */
    add_term(&p, FUSE2_PAIR_BUCKINGHAM, "O", "O", 0, 0.3, 175.0, 0, 0, 12);
    add_term(&p, FUSE2_PAIR_BUCKINGHAM, "Sr", "O", 0, 0.3, 19.22, 0, 0, 12);
    add_term(&p, FUSE2_PAIR_BUCKINGHAM, "Ti", "Ti", 0, 0.3, 7.5, 0, 0, 12);
    fuse2_builtin *b = default_calc(&p, 1);
    fuse2_structure s;
    random_cell(8, &s);
    double e_ewald = energy_of(b, &s);

    const double R = 90.0;
    double V = fuse2_structure_volume(&s), h[3];
    fuse2_lattice_plane_spacings(s.lattice, h);
    int nmax[3];
    for (int k = 0; k < 3; k++) nmax[k] = (int)ceil(R / h[k]) + 1;
    double direct = 0;
    int zs[3] = {Z("Sr"), Z("Ti"), Z("O")};
    double C[3][3] = {{0, 0, 19.22}, {0, 7.5, 0}, {19.22, 0, 175.0}};
    int cnt[3] = {0, 0, 0};
    int sp[16];
    for (int i = 0; i < s.natoms; i++)
        for (int k = 0; k < 3; k++)
            if (s.species[i] == zs[k]) sp[i] = k, cnt[k]++;
    for (int i = 0; i < s.natoms; i++)
        for (int j = 0; j < s.natoms; j++) {
            double cij = C[sp[i]][sp[j]];
            if (cij == 0) continue;
            for (int a = -nmax[0]; a <= nmax[0]; a++)
                for (int bb = -nmax[1]; bb <= nmax[1]; bb++)
                    for (int c = -nmax[2]; c <= nmax[2]; c++) {
                        double d[3];
                        for (int k = 0; k < 3; k++)
                            d[k] = (s.frac[j][0] - s.frac[i][0] + a) * s.lattice[0][k] +
                                   (s.frac[j][1] - s.frac[i][1] + bb) * s.lattice[1][k] +
                                   (s.frac[j][2] - s.frac[i][2] + c) * s.lattice[2][k];
                        double r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                        if (r2 == 0 || r2 > R * R) continue;
                        direct += -0.5 * cij / (r2 * r2 * r2);
                    }
        }
    for (int x = 0; x < 3; x++)
        for (int y = 0; y < 3; y++) direct += -(2 * M_PI / 3) * C[x][y] * cnt[x] * cnt[y] / (V * R * R * R);
    ASSERT_NEAR(e_ewald, direct, 2e-6 * fabs(direct));
    fuse2_structure_free(&s);
    fuse2_builtin_destroy(b);
    fuse2_potential_set_free(&p);
}

/* The same crystal described by a badly skewed cell or by a supercell gives
 * the same energy per atom and stress. */
static void test_results_do_not_depend_on_cell_choice(void **state)
{
    (void)state;
    fuse2_potential_set p;
    mixed_model(&p);
    fuse2_builtin *b = default_calc(&p, 1);
    fuse2_structure s, t;
    random_cell(9, &s);
    ASSERT_OK(fuse2_structure_init(&t, 20));
    fuse2_calc_result r0, r1;
    fuse2_calc_result_init(&r0);
    fuse2_calc_result_init(&r1);
    ASSERT_OK(fuse2_builtin_compute(b, &s, &r0));
    /* skewed: a' = a, b' = b + 3a, c' = c - 2b + a (unimodular) */
    double L[3][3];
    for (int k = 0; k < 3; k++) {
        L[0][k] = s.lattice[0][k];
        L[1][k] = s.lattice[1][k] + 3 * s.lattice[0][k];
        L[2][k] = s.lattice[2][k] - 2 * s.lattice[1][k] + s.lattice[0][k];
    }
    ASSERT_OK(fuse2_structure_copy(&t, &s));
    ASSERT_OK(fuse2_structure_set_lattice_keep_cartesian(&t, L));
    ASSERT_OK(fuse2_builtin_compute(b, &t, &r1));
    ASSERT_NEAR(r1.energy, r0.energy, 1e-9 * fabs(r0.energy));
    for (int i = 0; i < s.natoms; i++)
        for (int k = 0; k < 3; k++) ASSERT_NEAR(r1.forces[i][k], r0.forces[i][k], 1e-7);
    for (int a = 0; a < 3; a++)
        for (int c = 0; c < 3; c++) ASSERT_NEAR(r1.stress[a][c], r0.stress[a][c], 1e-9);
    /* 2x1x1 supercell */
    fuse2_structure_free(&t);
    ASSERT_OK(fuse2_structure_init(&t, 20));
    memcpy(t.lattice, s.lattice, sizeof t.lattice);
    for (int k = 0; k < 3; k++) t.lattice[0][k] *= 2;
    for (int rep = 0; rep < 2; rep++)
        for (int i = 0; i < s.natoms; i++) {
            double f[3] = {(s.frac[i][0] + rep) / 2, s.frac[i][1], s.frac[i][2]};
            ASSERT_OK(fuse2_structure_add_atom(&t, s.species[i], f));
        }
    ASSERT_OK(fuse2_builtin_compute(b, &t, &r1));
    ASSERT_NEAR(r1.energy_per_atom, r0.energy_per_atom, 1e-9 * fabs(r0.energy_per_atom));
    for (int a = 0; a < 3; a++)
        for (int c = 0; c < 3; c++) ASSERT_NEAR(r1.stress[a][c], r0.stress[a][c], 1e-9);
    fuse2_calc_result_free(&r0);
    fuse2_calc_result_free(&r1);
    fuse2_structure_free(&s);
    fuse2_structure_free(&t);
    fuse2_builtin_destroy(b);
    fuse2_potential_set_free(&p);
}

/* GULP's meaning: a pair term acts for rmin <= r <= rmax, truncated without
 * shift; with cutp the quintic taper takes it smoothly to zero at R. */
static void test_cutoffs_follow_gulp_meaning(void **state)
{
    (void)state;
    fuse2_potential_set p;
    fuse2_potential_set_init(&p);
    ASSERT_OK(fuse2_potential_set_add_species(&p, Z("Ar"), 0.0));
    add_term(&p, FUSE2_PAIR_LENNARD, "Ar", "Ar", 1.0e5, 60.0, 12, 6, 3.5, 4.5);
    fuse2_builtin *b = default_calc(&p, 0);
    /* two atoms along x in a long box: the only pair distances are d, and
     * 20 - d etc. beyond rmax */
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 2));
    double par[6] = {20, 20, 20, 90, 90, 90};
    ASSERT_OK(fuse2_lattice_from_parameters(par, s.lattice));
    double f0[3] = {0, 0, 0}, f1[3] = {0.2, 0, 0};
    ASSERT_OK(fuse2_structure_add_atom(&s, Z("Ar"), f0));
    ASSERT_OK(fuse2_structure_add_atom(&s, Z("Ar"), f1));
    const double d_in[2] = {4.0, 4.49}, d_out[2] = {3.4, 4.51};
    for (int k = 0; k < 2; k++) {
        s.frac[1][0] = d_in[k] / 20;
        double r = d_in[k];
        ASSERT_NEAR(energy_of(b, &s), 1.0e5 / pow(r, 12) - 60.0 / pow(r, 6), 1e-12);
        s.frac[1][0] = d_out[k] / 20;
        ASSERT_NEAR(energy_of(b, &s), 0.0, 1e-15);
    }
    fuse2_builtin_destroy(b);
    /* cutp 4.5 1.0: full strength below 3.5, zero at 4.5, smooth between */
    p.has_cutp = 1;
    p.cutp_radius = 4.5;
    p.cutp_taper = 1.0;
    p.terms[0].rmin = 0;
    p.terms[0].rmax = 10;
    b = default_calc(&p, 0);
    s.frac[1][0] = 3.4 / 20;
    ASSERT_NEAR(energy_of(b, &s), 1.0e5 / pow(3.4, 12) - 60.0 / pow(3.4, 6), 1e-12);
    s.frac[1][0] = 4.0 / 20;
    double u = 0.5, taper = 1 - 10 * u * u * u + 15 * pow(u, 4) - 6 * pow(u, 5);
    ASSERT_NEAR(energy_of(b, &s), taper * (1.0e5 / pow(4.0, 12) - 60.0 / pow(4.0, 6)), 1e-12);
    s.frac[1][0] = 4.4999 / 20;
    assert_true(fabs(energy_of(b, &s)) < 1e-9);
    fuse2_structure_free(&s);
    fuse2_builtin_destroy(b);
    fuse2_potential_set_free(&p);
}

static void test_missing_charge_and_net_charge_are_errors(void **state)
{
    (void)state;
    fuse2_potential_set p;
    nacl_point_charges(&p);
    fuse2_builtin *b = default_calc(&p, 0);
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 2));
    double par[6] = {4, 4, 4, 90, 90, 90};
    ASSERT_OK(fuse2_lattice_from_parameters(par, s.lattice));
    double f0[3] = {0, 0, 0}, f1[3] = {0.5, 0.5, 0.5};
    ASSERT_OK(fuse2_structure_add_atom(&s, Z("Na"), f0));
    ASSERT_OK(fuse2_structure_add_atom(&s, Z("K"), f1));
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    assert_int_equal(fuse2_builtin_compute(b, &s, &r), FUSE2_ERR_ARG);
    test_assert_error_contains("element K has no charge");
    s.species[1] = Z("Na");
    assert_int_equal(fuse2_builtin_compute(b, &s, &r), FUSE2_ERR_ARG);
    test_assert_error_contains("net charge +2");
    fuse2_builtin_destroy(b);
    /* with a neutralising background the charged cell is accepted, and the
     * energy still does not depend on alpha */
    fuse2_builtin_options opt;
    fuse2_builtin_options_default(&opt);
    opt.allow_charged = 1;
    double e[2];
    for (int k = 0; k < 2; k++) {
        opt.ewald_alpha = k ? 0.7 : 0.45;
        ASSERT_OK(fuse2_builtin_create(&p, &opt, &b));
        ASSERT_OK(fuse2_builtin_compute(b, &s, &r));
        e[k] = r.energy;
        fuse2_builtin_destroy(b);
    }
    ASSERT_NEAR(e[0], e[1], 1e-9 * fabs(e[0]));
    /* zero volume and NaN coordinates are errors, not crashes */
    b = default_calc(&p, 0);
    s.species[1] = Z("Cl");
    s.frac[1][0] = NAN;
    assert_int_not_equal(fuse2_builtin_compute(b, &s, &r), FUSE2_OK);
    test_assert_error_contains("non-finite");
    s.frac[1][0] = 0.5;
    memset(s.lattice[2], 0, sizeof s.lattice[2]);
    assert_int_not_equal(fuse2_builtin_compute(b, &s, &r), FUSE2_OK);
    test_assert_error_contains("volume");
    fuse2_calc_result_free(&r);
    fuse2_structure_free(&s);
    fuse2_builtin_destroy(b);
    fuse2_potential_set_free(&p);
}

/* The pair list is reused while atoms and cell move less than its skin
 * allows: a calculator that kept its list must give exactly what a fresh one
 * gives, for moves on both sides of the rebuild criterion. */
static void test_reused_pair_list_gives_same_results_as_fresh_one(void **state)
{
    (void)state;
    fuse2_potential_set p;
    mixed_model(&p);
    fuse2_builtin *kept = default_calc(&p, 1);
    fuse2_structure s, t;
    random_cell(10, &s);
    ASSERT_OK(fuse2_structure_init(&t, 10));
    fuse2_calc_result r0, r1;
    fuse2_calc_result_init(&r0);
    fuse2_calc_result_init(&r1);
    ASSERT_OK(fuse2_builtin_compute(kept, &s, &r0));
    assert_int_equal(fuse2_builtin_pair_list_builds(kept), 1);
    fuse2_rng rng;
    fuse2_rng_init(&rng, 77, 0, 0, 0);
    /* amplitudes in A and strains: small ones keep the list, large ones not */
    const double move[6] = {0.01, 0.05, 0.2, 0.35, 0.6, 1.0};
    const double strain[6] = {0.0, 0.002, 0.004, 0.01, 0.02, 0.05};
    int reused = 0;
    for (int k = 0; k < 6; k++) {
        ASSERT_OK(fuse2_structure_copy(&t, &s));
        double inv[3][3];
        ASSERT_OK(fuse2_lattice_inverse(t.lattice, inv));
        for (int i = 0; i < t.natoms; i++)
            for (int c = 0; c < 3; c++) {
                double dc = move[k] * fuse2_rng_uniform_range(&rng, -1, 1) / sqrt(3.0);
                for (int a = 0; a < 3; a++) t.frac[i][a] += dc * inv[c][a];
            }
        for (int a = 0; a < 3; a++)
            for (int c = 0; c < 3; c++)
                t.lattice[a][c] += strain[k] * fuse2_rng_uniform_range(&rng, -1, 1) * s.lattice[a][a];
        int before = fuse2_builtin_pair_list_builds(kept);
        ASSERT_OK(fuse2_builtin_compute(kept, &t, &r0));
        reused += fuse2_builtin_pair_list_builds(kept) == before;
        fuse2_builtin *fresh = default_calc(&p, 1);
        ASSERT_OK(fuse2_builtin_compute(fresh, &t, &r1));
        ASSERT_NEAR(r0.energy, r1.energy, 1e-10 * fabs(r1.energy));
        for (int i = 0; i < t.natoms; i++)
            for (int c = 0; c < 3; c++) ASSERT_NEAR(r0.forces[i][c], r1.forces[i][c], 1e-9);
        for (int a = 0; a < 3; a++)
            for (int c = 0; c < 3; c++) ASSERT_NEAR(r0.stress[a][c], r1.stress[a][c], 1e-11);
        fuse2_builtin_destroy(fresh);
    }
    /* the small moves reused the list, the large ones forced rebuilds */
    assert_true(reused >= 2);
    assert_true(fuse2_builtin_pair_list_builds(kept) >= 3);
    fuse2_calc_result_free(&r0);
    fuse2_calc_result_free(&r1);
    fuse2_structure_free(&s);
    fuse2_structure_free(&t);
    fuse2_builtin_destroy(kept);
    fuse2_potential_set_free(&p);
}

/* lib2.lib's Ti-O Buckingham term stops at rmin = 1.2 A, below which only
 * the Coulomb attraction of Ti4+ and O2- acts: a Ti-O pair inside 1.2 A
 * collapses. Like charges repel and never collapse, however close. */
static void test_collapse_barrier_is_reported_as_unphysical(void **state)
{
    (void)state;
    fuse2_potential_set p;
    fuse2_potential_set_init(&p);
    ASSERT_OK(fuse2_gulp_library_read(test_shared_path("potentials/lib2.lib"), &p));
    fuse2_builtin *b = default_calc(&p, 0);
    fuse2_structure s;
    ASSERT_OK(fuse2_structure_init(&s, 3));
    double par[6] = {12, 12, 12, 90, 90, 90};
    ASSERT_OK(fuse2_lattice_from_parameters(par, s.lattice));
    double f0[3] = {0.5, 0.5, 0.5}, f1[3] = {0.5 + 1.15 / 12, 0.5, 0.5}, f2[3] = {0.5 - 1.15 / 12, 0.5, 0.5};
    ASSERT_OK(fuse2_structure_add_atom(&s, Z("O"), f0));
    ASSERT_OK(fuse2_structure_add_atom(&s, Z("Ti"), f1));
    ASSERT_OK(fuse2_structure_add_atom(&s, Z("O"), f2));
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    ASSERT_OK(fuse2_builtin_compute(b, &s, &r));
    assert_non_null(strstr(r.unphysical, "collapse"));
    assert_non_null(strstr(r.unphysical, "barrier at 1.20"));
    /* at 1.6 A the repulsion holds */
    s.frac[1][0] = 0.5 + 1.6 / 12;
    s.frac[2][0] = 0.5 - 1.6 / 12;
    ASSERT_OK(fuse2_builtin_compute(b, &s, &r));
    assert_string_equal(r.unphysical, "");
    /* two O2- ions at 1.0 A: far inside rmin, but they repel */
    s.frac[1][0] = 0.5;
    s.frac[1][1] = 0.5 + 1.0 / 12;
    s.species[1] = Z("O");
    s.natoms = 2;
    fuse2_builtin_destroy(b);
    fuse2_builtin_options opt;
    fuse2_builtin_options_default(&opt);
    opt.allow_charged = 1;
    ASSERT_OK(fuse2_builtin_create(&p, &opt, &b));
    ASSERT_OK(fuse2_builtin_compute(b, &s, &r));
    assert_string_equal(r.unphysical, "");
    fuse2_calc_result_free(&r);
    fuse2_structure_free(&s);
    fuse2_builtin_destroy(b);
    fuse2_potential_set_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forces_match_finite_differences_triclinic),
        cmocka_unit_test(test_every_stress_component_matches_strain_derivative),
        cmocka_unit_test(test_energy_does_not_depend_on_ewald_parameter),
        cmocka_unit_test(test_rock_salt_coulomb_energy_gives_madelung_constant),
        cmocka_unit_test(test_c6_ewald_sum_matches_direct_lattice_sum),
        cmocka_unit_test(test_results_do_not_depend_on_cell_choice),
        cmocka_unit_test(test_cutoffs_follow_gulp_meaning),
        cmocka_unit_test(test_missing_charge_and_net_charge_are_errors),
        cmocka_unit_test(test_collapse_barrier_is_reported_as_unphysical),
        cmocka_unit_test(test_reused_pair_list_gives_same_results_as_fresh_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
