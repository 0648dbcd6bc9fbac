/* Synthetic calculator: a Morse pair model for energies and a relaxation
 * that only costs wall time drawn from a distribution (fuse2/synthetic.h). */
#include "fuse2/synthetic.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuse2/clock.h"
#include "fuse2/elements.h"
#include "fuse2/neighbors.h"
#include "fuse2/relax.h"
#include "fuse2/rng.h"

/* Morse model: depth, width and cut-off beyond r0 (fuse2/synthetic.h). */
static const double MORSE_DEPTH = 0.25;   /* eV */
static const double MORSE_WIDTH = 1.6;    /* 1/Å */
static const double MORSE_REACH = 2.5;    /* Å beyond r0 */
/* Longest sleep between two polls of interrupt and time limit. */
static const double POLL_SLICE = 0.010;   /* s */

typedef struct synthetic {
    fuse2_cost_model cost;
    int busy;
    fuse2_neighbor_list nl;
} synthetic;

static const char *const synthetic_keys[] = {"cost_distribution", "cost_mean", "cost_spread",
                                             "cost_seed", "busy", NULL};

/* ---- settings ---- */

static const char *origin_or(const char *origin) { return origin ? origin : "settings"; }

static fuse2_status parse_seed(const char *text, const char *origin, uint64_t *out)
{
    char *end;
    errno = 0;
    while (*text == ' ' || *text == '\t') text++;
    if (*text == '-' || *text == '+') goto bad;
    unsigned long long v = strtoull(text, &end, 10);
    while (*end == ' ' || *end == '\t') end++;
    if (end == text || *end || errno) goto bad;
    *out = (uint64_t)v;
    return FUSE2_OK;
bad:
    return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'cost_seed' must be an integer from 0 to 2^64-1 (got '%s')",
                       origin_or(origin), text);
}

static fuse2_status parse_settings(const fuse2_settings *settings, synthetic *sy)
{
    fuse2_cost_model *m = &sy->cost;
    m->distribution = FUSE2_COST_FIXED;
    m->mean = 1.0;
    m->spread = 0.0;
    m->seed = 1;
    sy->busy = 0;
    const char *v, *origin = NULL;
    if ((v = fuse2_settings_get(settings, "cost_distribution", &origin))) {
        if (!strcmp(v, "fixed")) m->distribution = FUSE2_COST_FIXED;
        else if (!strcmp(v, "uniform")) m->distribution = FUSE2_COST_UNIFORM;
        else if (!strcmp(v, "exponential")) m->distribution = FUSE2_COST_EXPONENTIAL;
        else if (!strcmp(v, "lognormal")) m->distribution = FUSE2_COST_LOGNORMAL;
        else
            return FUSE2_RAISE(FUSE2_ERR_ARG,
                               "%s: 'cost_distribution' must be fixed, uniform, exponential or "
                               "lognormal (got '%s')",
                               origin_or(origin), v);
    }
    const char *mean_origin = NULL;
    if ((v = fuse2_settings_get(settings, "cost_mean", &mean_origin))) {
        FUSE2_CALL(fuse2_setting_parse_double("cost_mean", v, mean_origin, &m->mean));
        if (m->mean < 0)
            return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'cost_mean' must be >= 0 s (got %g)",
                               origin_or(mean_origin), m->mean);
    }
    const char *spread_origin = NULL;
    if ((v = fuse2_settings_get(settings, "cost_spread", &spread_origin))) {
        FUSE2_CALL(fuse2_setting_parse_double("cost_spread", v, spread_origin, &m->spread));
        if (m->distribution == FUSE2_COST_FIXED || m->distribution == FUSE2_COST_EXPONENTIAL)
            return FUSE2_RAISE(FUSE2_ERR_ARG,
                               "%s: 'cost_spread' has no meaning for cost_distribution %s "
                               "(only uniform and lognormal)",
                               origin_or(spread_origin),
                               m->distribution == FUSE2_COST_FIXED ? "fixed" : "exponential");
        if (m->spread < 0)
            return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'cost_spread' must be >= 0 (got %g)",
                               origin_or(spread_origin), m->spread);
        if (m->distribution == FUSE2_COST_UNIFORM && m->spread > m->mean)
            return FUSE2_RAISE(FUSE2_ERR_ARG,
                               "%s: 'cost_spread' (half-width of the uniform cost) must not exceed "
                               "cost_mean %g s, or costs would be negative (got %g)",
                               origin_or(spread_origin), m->mean, m->spread);
        if (m->distribution == FUSE2_COST_LOGNORMAL && m->spread > 5)
            return FUSE2_RAISE(FUSE2_ERR_ARG,
                               "%s: 'cost_spread' (sigma of ln(cost)) must be <= 5 (got %g)",
                               origin_or(spread_origin), m->spread);
    }
    if ((v = fuse2_settings_get(settings, "cost_seed", &origin))) FUSE2_CALL(parse_seed(v, origin, &m->seed));
    if ((v = fuse2_settings_get(settings, "busy", &origin)))
        FUSE2_CALL(fuse2_setting_parse_bool("busy", v, origin, &sy->busy));
    return FUSE2_OK;
}

/* ---- cost ---- */

/* splitmix64's finaliser (Steele, Lea & Flood, OOPSLA 2014): every input bit
 * affects every output bit. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t hash_add(uint64_t h, uint64_t v)
{
    return mix64(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

uint64_t fuse2_synthetic_structure_hash(const fuse2_structure *s)
{
    uint64_t h = hash_add(0x5f3759df, (uint64_t)(int64_t)s->natoms);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) h = hash_add(h, (uint64_t)llround(s->lattice[a][b] * 1e6));
    for (int i = 0; i < s->natoms; i++) {
        h = hash_add(h, (uint64_t)(int64_t)s->species[i]);
        for (int k = 0; k < 3; k++) {
            double f = s->frac[i][k] - floor(s->frac[i][k]);
            /* the mask maps a coordinate that rounds up to 1 onto 0 */
            h = hash_add(h, (uint64_t)llround(f * 4294967296.0) & 0xffffffffULL);
        }
    }
    return h;
}

double fuse2_cost_model_draw(const fuse2_cost_model *m, uint64_t structure_hash)
{
    fuse2_rng rng;
    fuse2_rng_init(&rng, structure_hash, (uint32_t)m->seed, (uint32_t)(m->seed >> 32),
                   FUSE2_RNG_PURPOSE_SYNTHETIC_COST);
    double cost = m->mean;
    switch (m->distribution) {
    case FUSE2_COST_FIXED: break;
    case FUSE2_COST_UNIFORM: cost = m->mean + m->spread * (2.0 * fuse2_rng_uniform(&rng) - 1.0); break;
    case FUSE2_COST_EXPONENTIAL: cost = -m->mean * log1p(-fuse2_rng_uniform(&rng)); break;
    case FUSE2_COST_LOGNORMAL:
        /* mean of the distribution = cost_mean: mu = ln(mean) - sigma^2 / 2 */
        cost = m->mean * exp(m->spread * fuse2_rng_normal(&rng) - 0.5 * m->spread * m->spread);
        break;
    }
    return cost > 0 ? cost : 0.0;
}

fuse2_status fuse2_synthetic_cost_model(const fuse2_calc *calc, fuse2_cost_model *out)
{
    if (!calc || !calc->ops || strcmp(calc->ops->name, "synthetic") != 0)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "not a synthetic calculator");
    *out = ((const synthetic *)calc->state)->cost;
    return FUSE2_OK;
}

/* ---- Morse model ---- */

static fuse2_status radius_of(int z, double *r)
{
    const fuse2_element *el = fuse2_element_by_z(z);
    if (!el) return FUSE2_RAISE(FUSE2_ERR_ARG, "synthetic calculator: unknown element Z = %d", z);
    if (!(el->covalent_radius > 0))
        return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED,
                           "synthetic calculator: element %s has no covalent radius for the model",
                           el->symbol);
    *r = el->covalent_radius;
    return FUSE2_OK;
}

/* Unshifted Morse energy and derivative. */
static void morse(double r, double r0, double *e, double *de)
{
    double x = exp(-MORSE_WIDTH * (r - r0));
    *e = MORSE_DEPTH * (x * x - 2.0 * x);
    *de = -2.0 * MORSE_WIDTH * MORSE_DEPTH * (x * x - x);
}

static fuse2_status synthetic_compute(void *state, const fuse2_structure *s, fuse2_calc_result *r)
{
    synthetic *sy = state;
    const int n = s->natoms;
    FUSE2_CALL(fuse2_calc_result_reset(r, n));
    double rmax = 0;
    for (int i = 0; i < n; i++) {
        double ri = 0;
        FUSE2_CALL(radius_of(s->species[i], &ri));
        rmax = fmax(rmax, ri);
    }
    double V = fabs(fuse2_structure_volume(s));
    if (!(V > 0)) return FUSE2_RAISE(FUSE2_ERR_ARG, "synthetic calculator: cell volume is zero");
    FUSE2_CALL(fuse2_neighbor_list_build(&sy->nl, s, 2.0 * rmax + MORSE_REACH));
    const fuse2_neighbor_list *nl = &sy->nl;
    double energy = 0, virial[3][3] = {{0}};
    for (int i = 0; i < n; i++) {
        double ri = 0;
        FUSE2_CALL(radius_of(s->species[i], &ri));
        for (int p = nl->offsets[i]; p < nl->offsets[i + 1]; p++) {
            int j = nl->index[p];
            double rj = 0;
            FUSE2_CALL(radius_of(s->species[j], &rj));
            double r0 = ri + rj, rc = r0 + MORSE_REACH, d = nl->distance[p];
            if (d >= rc) continue;
            double e, de, ec, dec;
            morse(d, r0, &e, &de);
            morse(rc, r0, &ec, &dec);
            /* shifted force: energy and force vanish at rc; full list, half each */
            energy += 0.5 * (e - ec - (d - rc) * dec);
            double g = (de - dec) / d; /* dphi/dr / r */
            for (int a = 0; a < 3; a++) {
                r->forces[i][a] += g * nl->vector[p][a];
                for (int b = 0; b < 3; b++) virial[a][b] += 0.5 * g * nl->vector[p][a] * nl->vector[p][b];
            }
        }
    }
    r->energy = energy;
    r->energy_per_atom = n ? energy / n : 0;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) r->stress[a][b] = virial[a][b] / V;
    if (!r->skip_components) fuse2_calc_result_add_component(r, "morse", energy);
    return FUSE2_OK;
}

/* ---- relaxation: wait for the cost ---- */

static void sleep_seconds(double t)
{
    if (!(t > 0)) return;
    struct timespec ts;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec > 999999999L) ts.tv_nsec = 999999999L;
    /* a signal ends the sleep early: the caller polls and sleeps again */
    nanosleep(&ts, NULL);
}

/* Burns CPU for about t seconds (busy = true). */
static void spin_seconds(double t)
{
    double end = fuse2_monotonic_seconds() + t;
    volatile double sink = 1.0;
    while (fuse2_monotonic_seconds() < end)
        for (int k = 0; k < 1000; k++) sink = sink * 1.0000001 + 1e-9;
    (void)sink;
}

static fuse2_status synthetic_relax(void *state, fuse2_structure *s, const fuse2_relax_options *opt,
                                    fuse2_relax_result *result)
{
    synthetic *sy = state;
    double t0 = fuse2_monotonic_seconds();
    fuse2_calc_result_free(&result->final);
    fuse2_calc_result_init(&result->final);
    result->steps = 0;
    result->evaluations = 0;
    result->reason[0] = '\0';
    fuse2_status st = synthetic_compute(sy, s, &result->final);
    if (st != FUSE2_OK) {
        /* a structure the model cannot evaluate is a failed relaxation */
        result->status = FUSE2_RELAX_FAILED;
        snprintf(result->reason, sizeof result->reason, "synthetic calculator: %s", fuse2_error_message());
        fuse2_error_clear();
        result->energy = result->energy_per_atom = result->enthalpy = NAN;
        result->max_force = result->max_stress = NAN;
        return FUSE2_OK;
    }
    result->evaluations = 1;
    const fuse2_calc_result *f = &result->final;
    double P = opt->pressure;
    result->energy = f->energy;
    result->energy_per_atom = f->energy_per_atom;
    result->enthalpy = f->energy + P * fabs(fuse2_structure_volume(s));
    result->max_force = fuse2_max_force((const double(*)[3])f->forces, f->natoms);
    result->max_stress = fuse2_max_stress((const double(*)[3])f->stress, P);

    double cost = fuse2_cost_model_draw(&sy->cost, fuse2_synthetic_structure_hash(s));
    int timed_out = opt->time_limit > 0 && cost > opt->time_limit;
    double t_end = t0 + (timed_out ? opt->time_limit : cost);
    result->status = FUSE2_RELAX_CONVERGED;
    for (;;) {
        if (opt->interrupt && opt->interrupt(opt->interrupt_user)) {
            result->status = FUSE2_RELAX_INTERRUPTED;
            snprintf(result->reason, sizeof result->reason, "interrupted");
            break;
        }
        double left = t_end - fuse2_monotonic_seconds();
        if (left <= 0) break;
        double slice = left < POLL_SLICE ? left : POLL_SLICE;
        if (sy->busy) spin_seconds(slice);
        else sleep_seconds(slice);
    }
    if (result->status == FUSE2_RELAX_CONVERGED && timed_out) {
        result->status = FUSE2_RELAX_TIMED_OUT;
        snprintf(result->reason, sizeof result->reason, "time limit of %g s reached", opt->time_limit);
    }
    fuse2_structure_wrap_positions(s);
    return FUSE2_OK;
}

/* ---- registration ---- */

static fuse2_status synthetic_create(const fuse2_settings *settings, void **state)
{
    synthetic *sy = calloc(1, sizeof *sy);
    if (!sy) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate the synthetic calculator");
    fuse2_status st = parse_settings(settings, sy);
    if (st != FUSE2_OK) {
        free(sy);
        fuse2_error_push_frame(__FILE__, __LINE__, __func__);
        return st;
    }
    *state = sy;
    return FUSE2_OK;
}

static void synthetic_destroy(void *state)
{
    synthetic *sy = state;
    if (!sy) return;
    fuse2_neighbor_list_free(&sy->nl);
    free(sy);
}

const fuse2_calc_ops fuse2_synthetic_calc_ops = {
    .name = "synthetic",
    .description = "benchmark model: Morse pairs, relaxation cost drawn from a distribution",
    .keys = synthetic_keys,
    .create = synthetic_create,
    .destroy = synthetic_destroy,
    .compute = synthetic_compute,
    .relax = synthetic_relax,
};
