/* Synthetic calculator (fuse2/synthetic.h): Morse model energies, forces
 * and stress; relaxation cost drawn from a distribution, deterministic per
 * structure; interrupt and time limit; settings errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuse2/neighbors.h"
#include "fuse2/relax.h"
#include "fuse2/synthetic.h"
#include "testutil.h"

enum { Z_O = 8, Z_TI = 22, Z_SR = 38 };

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* CPU time of this thread (other threads of the process, e.g. a BLAS pool,
 * do not count). */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* Creates the synthetic calculator from "key=value" pairs (origin
 * "campaign.yaml:<10 + index>"). */
static fuse2_status create_with(fuse2_calc *calc, int n, const char *const *kv)
{
    static char keys[8][64], values[8][64], origins[8][64];
    fuse2_setting items[8];
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        snprintf(keys[i], sizeof keys[i], "%.*s", (int)(eq - kv[i]), kv[i]);
        snprintf(values[i], sizeof values[i], "%s", eq + 1);
        snprintf(origins[i], sizeof origins[i], "campaign.yaml:%d", 10 + i);
        items[i] = (fuse2_setting){keys[i], values[i], origins[i]};
    }
    fuse2_settings settings = {n, items};
    return fuse2_calc_create("synthetic", &settings, calc);
}

#define CREATE(calc, ...)                                                              \
    do {                                                                               \
        const char *const kv_[] = {__VA_ARGS__};                                       \
        ASSERT_OK(create_with((calc), (int)(sizeof kv_ / sizeof kv_[0]), kv_));        \
    } while (0)

static void cubic_box(fuse2_structure *s, double a)
{
    ASSERT_OK(fuse2_structure_init(s, 4));
    memset(s->lattice, 0, sizeof s->lattice);
    for (int k = 0; k < 3; k++) s->lattice[k][k] = a;
}

/* Ten atoms Sr2Ti2O6 at random positions (>= 1.5 Å apart) in a random
 * triclinic cell: no symmetry helps the derivatives. */
static void random_srtio3(fuse2_structure *s, uint64_t seed)
{
    test_rng_seed(seed);
    ASSERT_OK(fuse2_structure_init(s, 10));
    test_random_triclinic(s->lattice, 4.5, 6.5, 65, 115);
    const int z[10] = {Z_SR, Z_SR, Z_TI, Z_TI, Z_O, Z_O, Z_O, Z_O, Z_O, Z_O};
    for (int i = 0; i < 10; i++) {
        for (int attempt = 0;; attempt++) {
            double f[3] = {test_uniform(0, 1), test_uniform(0, 1), test_uniform(0, 1)};
            ASSERT_OK(fuse2_structure_add_atom(s, z[i], f));
            double dmin = 1e9;
            for (int j = 0; j < s->natoms - 1; j++)
                dmin = fmin(dmin, fuse2_periodic_distance(s, j, s->natoms - 1));
            if (dmin > 1.5) break;
            s->natoms--;
            assert_true(attempt < 10000);
        }
    }
}

static double energy_of(fuse2_calc *calc, const fuse2_structure *s)
{
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    ASSERT_OK(fuse2_calc_compute(calc, s, &r));
    double e = r.energy;
    fuse2_calc_result_free(&r);
    return e;
}

/* ---- registration and model energies ---- */

static void test_is_registered_with_its_own_relaxation(void **state)
{
    (void)state;
    const fuse2_calc_ops *ops = fuse2_calc_find("synthetic");
    assert_non_null(ops);
    assert_non_null(ops->relax);
    assert_non_null(ops->compute);
}

/* Reference: phi(r) - phi(rc) - (r - rc) phi'(rc) with the Morse constants
 * of fuse2/synthetic.h and Cordero radii Sr 1.95, O 0.66 Å (r0 = 2.61,
 * rc = 5.11 Å), evaluated independently with /usr/bin/python3 + numpy. */
static void test_dimer_energy_and_forces_match_the_shifted_morse_formula(void **state)
{
    (void)state;
    fuse2_calc calc;
    CREATE(&calc, "cost_mean=0");
    fuse2_structure s;
    cubic_box(&s, 30.0);
    ASSERT_OK(fuse2_structure_add_atom(&s, Z_SR, (double[3]){0.1, 0.5, 0.5}));
    ASSERT_OK(fuse2_structure_add_atom(&s, Z_O, (double[3]){0.1 + 2.3 / 30.0, 0.5, 0.5}));
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    ASSERT_OK(fuse2_calc_compute(&calc, &s, &r));
    ASSERT_NEAR(r.energy, -0.097420807049, 1e-10);
    ASSERT_NEAR(r.energy_per_atom, -0.097420807049 / 2, 1e-10);
    ASSERT_NEAR(fuse2_calc_result_component(&r, "morse"), -0.097420807049, 1e-10);
    /* repulsive below r0: Sr pushed towards -x, O towards +x */
    ASSERT_NEAR(r.forces[0][0], -0.857970356636, 1e-9);
    ASSERT_NEAR(r.forces[1][0], 0.857970356636, 1e-9);
    for (int k = 1; k < 3; k++) {
        ASSERT_NEAR(r.forces[0][k], 0, 1e-12);
        ASSERT_NEAR(r.forces[1][k], 0, 1e-12);
    }
    /* beyond rc nothing is left */
    s.frac[1][0] = 0.1 + 5.2 / 30.0;
    ASSERT_OK(fuse2_calc_compute(&calc, &s, &r));
    ASSERT_NEAR(r.energy, 0, 1e-15);
    fuse2_calc_result_free(&r);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

/* Simple cubic O, a = 2 Å, one atom: half the sum of the shifted Morse
 * energy over all images within rc = 3.82 Å, and sigma_xx = (1/2V) sum
 * phi'(r) x^2 / r; independent sum over images with python + numpy gave
 * E = -0.437842395303 eV, sigma_xx = 0.083172645121 eV/Å^3. */
static void test_simple_cubic_energy_and_stress_match_an_image_sum(void **state)
{
    (void)state;
    fuse2_calc calc;
    CREATE(&calc, "cost_mean=0");
    fuse2_structure s;
    cubic_box(&s, 2.0);
    ASSERT_OK(fuse2_structure_add_atom(&s, Z_O, (double[3]){0.3, 0.2, 0.9}));
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    ASSERT_OK(fuse2_calc_compute(&calc, &s, &r));
    ASSERT_NEAR(r.energy, -0.437842395303, 1e-10);
    for (int a = 0; a < 3; a++) {
        ASSERT_NEAR(r.forces[0][a], 0, 1e-12);
        for (int b = 0; b < 3; b++) ASSERT_NEAR(r.stress[a][b], a == b ? 0.083172645121 : 0, 1e-11);
    }
    fuse2_calc_result_free(&r);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

static void test_forces_are_minus_the_energy_gradient(void **state)
{
    (void)state;
    fuse2_calc calc;
    CREATE(&calc, "cost_mean=0");
    fuse2_structure s, t;
    random_srtio3(&s, 11);
    ASSERT_OK(fuse2_structure_init(&t, 10));
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    ASSERT_OK(fuse2_calc_compute(&calc, &s, &r));
    double inv[3][3];
    ASSERT_OK(fuse2_lattice_inverse(s.lattice, inv));
    const double h = 1e-5;
    double largest = 0;
    for (int i = 0; i < s.natoms; i++)
        for (int a = 0; a < 3; a++) {
            double e[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                ASSERT_OK(fuse2_structure_copy(&t, &s));
                for (int k = 0; k < 3; k++) t.frac[i][k] += (sgn ? -h : h) * inv[a][k];
                e[sgn] = energy_of(&calc, &t);
            }
            double fd = -(e[0] - e[1]) / (2 * h);
            ASSERT_NEAR(r.forces[i][a], fd, 1e-6);
            largest = fmax(largest, fabs(fd));
        }
    /* the check is not vacuous: the random cell has real forces */
    assert_true(largest > 0.1);
    fuse2_calc_result_free(&r);
    fuse2_structure_free(&t);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

/* sigma_ab = (1/V) dE/d(eps_ab) for L -> L (I + eps), fractional coordinates fixed. */
static void test_stress_is_the_strain_derivative_of_the_energy(void **state)
{
    (void)state;
    fuse2_calc calc;
    CREATE(&calc, "cost_mean=0");
    fuse2_structure s, t;
    random_srtio3(&s, 12);
    ASSERT_OK(fuse2_structure_init(&t, 10));
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    ASSERT_OK(fuse2_calc_compute(&calc, &s, &r));
    double V = fabs(fuse2_structure_volume(&s));
    const double h = 1e-6;
    double largest = 0;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            double e[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                ASSERT_OK(fuse2_structure_copy(&t, &s));
                double eps = sgn ? -h : h;
                for (int row = 0; row < 3; row++) t.lattice[row][b] += s.lattice[row][a] * eps;
                e[sgn] = energy_of(&calc, &t);
            }
            double fd = (e[0] - e[1]) / (2 * h) / V;
            ASSERT_NEAR(r.stress[a][b], fd, 1e-7);
            largest = fmax(largest, fabs(fd));
        }
    assert_true(largest > 1e-3);
    fuse2_calc_result_free(&r);
    fuse2_structure_free(&t);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

/* ---- cost distributions ---- */

enum { NDRAWS = 20000 };

/* Costs of NDRAWS random two-atom structures (distinct hashes). */
static double *draw_costs(const fuse2_cost_model *m)
{
    test_rng_seed(77);
    double *c = malloc(NDRAWS * sizeof *c);
    assert_non_null(c);
    fuse2_structure s;
    cubic_box(&s, 5.0);
    ASSERT_OK(fuse2_structure_add_atom(&s, Z_SR, (double[3]){0, 0, 0}));
    ASSERT_OK(fuse2_structure_add_atom(&s, Z_O, (double[3]){0.5, 0.5, 0.5}));
    for (int i = 0; i < NDRAWS; i++) {
        for (int k = 0; k < 3; k++) s.frac[1][k] = test_uniform(0, 1);
        c[i] = fuse2_cost_model_draw(m, fuse2_synthetic_structure_hash(&s));
    }
    fuse2_structure_free(&s);
    return c;
}

static void mean_and_sd(const double *x, int n, double *mean, double *sd)
{
    double m = 0, v = 0;
    for (int i = 0; i < n; i++) m += x[i];
    m /= n;
    for (int i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m);
    *mean = m;
    *sd = sqrt(v / (n - 1));
}

/* Tolerances are 5 standard errors of the estimate (the draws are seeded, so
 * the numbers are the same on every run; 5 sigma only guards the choice). */
static void test_fixed_cost_is_the_mean(void **state)
{
    (void)state;
    fuse2_calc calc;
    CREATE(&calc, "cost_distribution=fixed", "cost_mean=0.75");
    fuse2_cost_model m;
    ASSERT_OK(fuse2_synthetic_cost_model(&calc, &m));
    double *c = draw_costs(&m);
    for (int i = 0; i < NDRAWS; i++) assert_true(c[i] == 0.75);
    free(c);
    fuse2_calc_destroy(&calc);
}

static void test_uniform_cost_has_its_mean_half_width_and_variance(void **state)
{
    (void)state;
    fuse2_calc calc;
    CREATE(&calc, "cost_distribution=uniform", "cost_mean=2", "cost_spread=0.5");
    fuse2_cost_model m;
    ASSERT_OK(fuse2_synthetic_cost_model(&calc, &m));
    double *c = draw_costs(&m);
    double lo = 1e9, hi = -1e9, mean, sd;
    for (int i = 0; i < NDRAWS; i++) lo = fmin(lo, c[i]), hi = fmax(hi, c[i]);
    mean_and_sd(c, NDRAWS, &mean, &sd);
    assert_true(lo >= 1.5 && hi <= 2.5);
    /* the extremes of 20000 draws come within 1e-3 of the ends */
    assert_true(lo < 1.501 && hi > 2.499);
    double sd_exact = 0.5 / sqrt(3.0); /* half-width / sqrt(3) */
    ASSERT_NEAR(mean, 2.0, 5 * sd_exact / sqrt(NDRAWS));
    ASSERT_NEAR(sd, sd_exact, 0.01);
    free(c);
    fuse2_calc_destroy(&calc);
}

static void test_exponential_cost_has_its_mean_and_tail(void **state)
{
    (void)state;
    fuse2_calc calc;
    CREATE(&calc, "cost_distribution=exponential", "cost_mean=1.5");
    fuse2_cost_model m;
    ASSERT_OK(fuse2_synthetic_cost_model(&calc, &m));
    double *c = draw_costs(&m);
    double mean, sd;
    mean_and_sd(c, NDRAWS, &mean, &sd);
    ASSERT_NEAR(mean, 1.5, 5 * 1.5 / sqrt(NDRAWS));
    ASSERT_NEAR(sd, 1.5, 0.1); /* standard deviation = mean */
    /* P(cost > 2 mean) = exp(-2) */
    int above = 0;
    for (int i = 0; i < NDRAWS; i++) above += c[i] > 3.0, assert_true(c[i] >= 0);
    double p = exp(-2.0);
    ASSERT_NEAR((double)above / NDRAWS, p, 5 * sqrt(p * (1 - p) / NDRAWS));
    free(c);
    fuse2_calc_destroy(&calc);
}

/* cost_mean is the mean of the distribution; ln(cost) is normal with
 * sigma = cost_spread and mean ln(cost_mean) - sigma^2/2. */
static void test_lognormal_cost_has_its_mean_and_log_spread(void **state)
{
    (void)state;
    fuse2_calc calc;
    CREATE(&calc, "cost_distribution=lognormal", "cost_mean=1", "cost_spread=0.5");
    fuse2_cost_model m;
    ASSERT_OK(fuse2_synthetic_cost_model(&calc, &m));
    double *c = draw_costs(&m);
    double mean, sd;
    mean_and_sd(c, NDRAWS, &mean, &sd);
    double sd_exact = sqrt(exp(0.25) - 1.0); /* (exp(sigma^2) - 1)^(1/2) * mean */
    ASSERT_NEAR(mean, 1.0, 5 * sd_exact / sqrt(NDRAWS));
    ASSERT_NEAR(sd, sd_exact, 0.03);
    for (int i = 0; i < NDRAWS; i++) {
        assert_true(c[i] > 0);
        c[i] = log(c[i]);
    }
    double lmean, lsd;
    mean_and_sd(c, NDRAWS, &lmean, &lsd);
    ASSERT_NEAR(lmean, -0.125, 5 * 0.5 / sqrt(NDRAWS));
    ASSERT_NEAR(lsd, 0.5, 0.015);
    free(c);
    fuse2_calc_destroy(&calc);
}

/* Two calculators created apart (as on two ranks) give the same cost and
 * energy for the same structure; another cost_seed gives other costs. */
static void test_same_structure_costs_the_same_everywhere(void **state)
{
    (void)state;
    fuse2_calc a, b, other;
    CREATE(&a, "cost_distribution=exponential", "cost_mean=1", "cost_seed=42");
    CREATE(&b, "cost_distribution=exponential", "cost_mean=1", "cost_seed=42");
    CREATE(&other, "cost_distribution=exponential", "cost_mean=1", "cost_seed=43");
    fuse2_cost_model ma, mb, mo;
    ASSERT_OK(fuse2_synthetic_cost_model(&a, &ma));
    ASSERT_OK(fuse2_synthetic_cost_model(&b, &mb));
    ASSERT_OK(fuse2_synthetic_cost_model(&other, &mo));
    fuse2_structure s, t;
    random_srtio3(&s, 13);
    ASSERT_OK(fuse2_structure_init(&t, 10));
    ASSERT_OK(fuse2_structure_copy(&t, &s));
    uint64_t h = fuse2_synthetic_structure_hash(&s);
    assert_true(h == fuse2_synthetic_structure_hash(&t));
    assert_true(fuse2_cost_model_draw(&ma, h) == fuse2_cost_model_draw(&mb, h));
    assert_true(energy_of(&a, &s) == energy_of(&b, &t));
    /* the same crystal with coordinates shifted by lattice vectors */
    for (int i = 0; i < t.natoms; i++) t.frac[i][i % 3] += (i % 2) ? 1.0 : -2.0;
    assert_true(h == fuse2_synthetic_structure_hash(&t));
    /* a different structure: a moved atom, a swapped species, a strained cell */
    ASSERT_OK(fuse2_structure_copy(&t, &s));
    t.frac[3][1] += 1e-4;
    assert_true(h != fuse2_synthetic_structure_hash(&t));
    ASSERT_OK(fuse2_structure_copy(&t, &s));
    t.species[0] = Z_TI, t.species[2] = Z_SR;
    assert_true(h != fuse2_synthetic_structure_hash(&t));
    ASSERT_OK(fuse2_structure_copy(&t, &s));
    t.lattice[1][1] *= 1.001;
    assert_true(h != fuse2_synthetic_structure_hash(&t));
    /* another seed: different costs, uncorrelated with the first over many structures */
    double *ca = draw_costs(&ma), *co = draw_costs(&mo);
    double sab = 0, saa = 0, soo = 0;
    int equal = 0;
    for (int i = 0; i < NDRAWS; i++) {
        equal += ca[i] == co[i];
        sab += (ca[i] - 1) * (co[i] - 1), saa += (ca[i] - 1) * (ca[i] - 1), soo += (co[i] - 1) * (co[i] - 1);
    }
    assert_int_equal(equal, 0);
    ASSERT_NEAR(sab / sqrt(saa * soo), 0, 5 / sqrt(NDRAWS));
    free(ca);
    free(co);
    fuse2_structure_free(&t);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&a);
    fuse2_calc_destroy(&b);
    fuse2_calc_destroy(&other);
}

/* ---- relaxation ---- */

static void test_relax_waits_for_the_cost_and_reports_the_model_energy(void **state)
{
    (void)state;
    fuse2_calc calc;
    CREATE(&calc, "cost_distribution=fixed", "cost_mean=0.08");
    fuse2_structure s, start;
    random_srtio3(&s, 14);
    ASSERT_OK(fuse2_structure_init(&start, 10));
    ASSERT_OK(fuse2_structure_copy(&start, &s));
    fuse2_calc_result ref;
    fuse2_calc_result_init(&ref);
    ASSERT_OK(fuse2_calc_compute(&calc, &s, &ref));
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    opt.pressure = 0.01; /* eV/Å^3 */
    fuse2_relax_result res;
    fuse2_relax_result_init(&res);
    double t0 = now_seconds(), c0 = cpu_seconds();
    ASSERT_OK(fuse2_relax(&calc, &s, &opt, &res));
    double wall = now_seconds() - t0, cpu = cpu_seconds() - c0;
    assert_int_equal(res.status, FUSE2_RELAX_CONVERGED);
    assert_true(wall >= 0.08 && wall < 0.5);
    assert_true(res.wall_seconds >= 0.08 && res.wall_seconds <= wall);
    /* sleeping, not burning a core */
    assert_true(cpu < 0.03);
    assert_int_equal(res.steps, 0);
    assert_int_equal(res.evaluations, 1);
    ASSERT_NEAR(res.energy, ref.energy, 1e-12);
    ASSERT_NEAR(res.energy_per_atom, ref.energy / 10, 1e-12);
    ASSERT_NEAR(res.enthalpy, ref.energy + 0.01 * fabs(fuse2_structure_volume(&start)), 1e-12);
    ASSERT_NEAR(res.final.energy, ref.energy, 1e-12);
    assert_int_equal(res.final.natoms, 10);
    double largest_force = 0;
    for (int i = 0; i < 10; i++) {
        largest_force = fmax(largest_force, sqrt(ref.forces[i][0] * ref.forces[i][0] + ref.forces[i][1] * ref.forces[i][1] +
                               ref.forces[i][2] * ref.forces[i][2]));
        for (int k = 0; k < 3; k++) {
            ASSERT_NEAR(res.final.forces[i][k], ref.forces[i][k], 1e-12);
            ASSERT_NEAR(s.frac[i][k], start.frac[i][k] - floor(start.frac[i][k]), 1e-15);
        }
    }
    ASSERT_NEAR(res.max_force, largest_force, 1e-12);
    /* the structure is returned as it came, with the same cost next time */
    fuse2_relax_result_free(&res);
    fuse2_calc_result_free(&ref);
    fuse2_structure_free(&start);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

/* Thread CPU time of one relaxation of cost 0.1 s (busy or sleeping). */
static double relax_cpu_seconds(const char *busy, double *wall)
{
    fuse2_calc calc;
    CREATE(&calc, "cost_mean=0.1", busy);
    fuse2_structure s;
    random_srtio3(&s, 15);
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    fuse2_relax_result res;
    fuse2_relax_result_init(&res);
    double t0 = now_seconds(), c0 = cpu_seconds();
    ASSERT_OK(fuse2_relax(&calc, &s, &opt, &res));
    double cpu = cpu_seconds() - c0;
    *wall = now_seconds() - t0;
    assert_int_equal(res.status, FUSE2_RELAX_CONVERGED);
    fuse2_relax_result_free(&res);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
    return cpu;
}

/* Busy waiting is on the CPU for the cost, sleeping is not. Another
 * process may take part of the core away (with two CPU hogs on two cores
 * the busy loop still got 30 % of the wall time), hence the bounds: a
 * tenth of the cost, and four times the sleeping relaxation's CPU. */
static void test_busy_relaxation_burns_cpu_for_the_cost(void **state)
{
    (void)state;
    double wall_busy, wall_sleep;
    double busy = relax_cpu_seconds("busy=true", &wall_busy);
    double sleeping = relax_cpu_seconds("busy=false", &wall_sleep);
    assert_true(wall_busy >= 0.1 && wall_sleep >= 0.1);
    assert_true(busy > 0.01);
    assert_true(busy > 4 * sleeping);
}

typedef struct deadline {
    double at;
    int polls;
} deadline;

static int interrupt_after(void *user)
{
    deadline *d = user;
    d->polls++;
    return now_seconds() >= d->at;
}

/* The poll slice is 10 ms; 40 ms leaves room for a loaded machine. */
static void test_interrupt_stops_the_wait_within_a_poll_slice(void **state)
{
    (void)state;
    fuse2_calc calc;
    CREATE(&calc, "cost_mean=5");
    fuse2_structure s;
    random_srtio3(&s, 16);
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    double t0 = now_seconds();
    deadline d = {t0 + 0.1, 0};
    opt.interrupt = interrupt_after;
    opt.interrupt_user = &d;
    fuse2_relax_result res;
    fuse2_relax_result_init(&res);
    ASSERT_OK(fuse2_relax(&calc, &s, &opt, &res));
    double late = now_seconds() - d.at;
    assert_int_equal(res.status, FUSE2_RELAX_INTERRUPTED);
    assert_true(late >= 0 && late < 0.04);
    assert_true(d.polls >= 5); /* polled while waiting, not only at the end */
    fuse2_relax_result_free(&res);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

static void test_time_limit_ends_a_costly_relaxation(void **state)
{
    (void)state;
    fuse2_calc calc;
    CREATE(&calc, "cost_mean=5", "busy=yes");
    fuse2_structure s;
    random_srtio3(&s, 17);
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    opt.time_limit = 0.1;
    fuse2_relax_result res;
    fuse2_relax_result_init(&res);
    double t0 = now_seconds();
    ASSERT_OK(fuse2_relax(&calc, &s, &opt, &res));
    double wall = now_seconds() - t0;
    assert_int_equal(res.status, FUSE2_RELAX_TIMED_OUT);
    /* stopped at the limit, not after the 5 s cost (room for a busy machine) */
    assert_true(wall >= 0.1 && wall < 0.6);
    assert_non_null(strstr(res.reason, "time limit"));
    /* a cheaper relaxation under the same limit converges */
    fuse2_calc_destroy(&calc);
    CREATE(&calc, "cost_mean=0.02");
    ASSERT_OK(fuse2_relax(&calc, &s, &opt, &res));
    assert_int_equal(res.status, FUSE2_RELAX_CONVERGED);
    fuse2_relax_result_free(&res);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

static void test_element_without_a_radius_fails_the_relaxation(void **state)
{
    (void)state;
    fuse2_calc calc;
    CREATE(&calc, "cost_mean=0");
    fuse2_structure s;
    cubic_box(&s, 6.0);
    ASSERT_OK(fuse2_structure_add_atom(&s, 100, (double[3]){0, 0, 0})); /* Fm: no Cordero radius */
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    assert_int_not_equal(fuse2_calc_compute(&calc, &s, &r), FUSE2_OK);
    test_assert_error_contains("no covalent radius");
    fuse2_error_clear();
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    fuse2_relax_result res;
    fuse2_relax_result_init(&res);
    ASSERT_OK(fuse2_relax(&calc, &s, &opt, &res));
    assert_int_equal(res.status, FUSE2_RELAX_FAILED);
    assert_non_null(strstr(res.reason, "no covalent radius"));
    fuse2_relax_result_free(&res);
    fuse2_calc_result_free(&r);
    fuse2_structure_free(&s);
    fuse2_calc_destroy(&calc);
}

/* ---- settings ---- */

static void expect_error(int n, const char *const *kv, const char *needle1, const char *needle2)
{
    fuse2_calc calc;
    assert_int_not_equal(create_with(&calc, n, kv), FUSE2_OK);
    test_assert_error_contains(needle1);
    if (needle2) test_assert_error_contains(needle2);
    fuse2_error_clear();
}

#define EXPECT_ERROR(n1, n2, ...)                                                      \
    do {                                                                               \
        const char *const kv_[] = {__VA_ARGS__};                                       \
        expect_error((int)(sizeof kv_ / sizeof kv_[0]), kv_, (n1), (n2));              \
    } while (0)

static void test_bad_settings_name_the_key_and_where_it_was_written(void **state)
{
    (void)state;
    EXPECT_ERROR("campaign.yaml:10: 'cost_distribution' must be fixed, uniform, exponential or lognormal",
                 "'gamma'", "cost_distribution=gamma");
    EXPECT_ERROR("campaign.yaml:11: 'cost_mean' must be >= 0", NULL, "cost_distribution=fixed",
                 "cost_mean=-1");
    EXPECT_ERROR("campaign.yaml:10: 'cost_mean' must be a number (got '1s')", NULL, "cost_mean=1s");
    EXPECT_ERROR("campaign.yaml:11: 'cost_spread' has no meaning for cost_distribution fixed", NULL,
                 "cost_mean=1", "cost_spread=0.2");
    EXPECT_ERROR("campaign.yaml:12: 'cost_spread'", "must not exceed cost_mean 1 s",
                 "cost_distribution=uniform", "cost_mean=1", "cost_spread=1.5");
    EXPECT_ERROR("campaign.yaml:11: 'cost_spread' must be >= 0", NULL, "cost_distribution=lognormal",
                 "cost_spread=-0.1");
    EXPECT_ERROR("campaign.yaml:10: 'cost_seed' must be an integer", "'-3'", "cost_seed=-3");
    EXPECT_ERROR("campaign.yaml:10: 'cost_seed' must be an integer", "'1.5'", "cost_seed=1.5");
    EXPECT_ERROR("campaign.yaml:10: 'busy' must be true or false (got 'maybe')", NULL, "busy=maybe");
    EXPECT_ERROR("campaign.yaml:11: unknown setting 'library' for calculator 'synthetic'", NULL,
                 "cost_mean=1", "library=x.lib");
    /* the defaults: fixed, 1 s, seed 1 */
    fuse2_calc calc;
    ASSERT_OK(fuse2_calc_create("synthetic", NULL, &calc));
    fuse2_cost_model m;
    ASSERT_OK(fuse2_synthetic_cost_model(&calc, &m));
    assert_int_equal(m.distribution, FUSE2_COST_FIXED);
    ASSERT_NEAR(m.mean, 1.0, 0);
    assert_true(m.seed == 1);
    fuse2_calc_destroy(&calc);
    /* the cost model of another calculator is an error */
    fuse2_calc none = {0};
    assert_int_not_equal(fuse2_synthetic_cost_model(&none, &m), FUSE2_OK);
    fuse2_error_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_registered_with_its_own_relaxation),
        cmocka_unit_test(test_dimer_energy_and_forces_match_the_shifted_morse_formula),
        cmocka_unit_test(test_simple_cubic_energy_and_stress_match_an_image_sum),
        cmocka_unit_test(test_forces_are_minus_the_energy_gradient),
        cmocka_unit_test(test_stress_is_the_strain_derivative_of_the_energy),
        cmocka_unit_test(test_fixed_cost_is_the_mean),
        cmocka_unit_test(test_uniform_cost_has_its_mean_half_width_and_variance),
        cmocka_unit_test(test_exponential_cost_has_its_mean_and_tail),
        cmocka_unit_test(test_lognormal_cost_has_its_mean_and_log_spread),
        cmocka_unit_test(test_same_structure_costs_the_same_everywhere),
        cmocka_unit_test(test_relax_waits_for_the_cost_and_reports_the_model_energy),
        cmocka_unit_test(test_busy_relaxation_burns_cpu_for_the_cost),
        cmocka_unit_test(test_interrupt_stops_the_wait_within_a_poll_slice),
        cmocka_unit_test(test_time_limit_ends_a_costly_relaxation),
        cmocka_unit_test(test_element_without_a_radius_fails_the_relaxation),
        cmocka_unit_test(test_bad_settings_name_the_key_and_where_it_was_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
