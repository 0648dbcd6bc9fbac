/* Potential set: species charges and pair terms, filled by the GULP library
 * reader or by code. See include/fuse2/potential.h. */
#include "fuse2/potential.h"

#include "fuse2/elements.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void fuse2_potential_set_init(fuse2_potential_set *set)
{
    if (!set) return;
    memset(set, 0, sizeof *set);
}

void fuse2_potential_set_free(fuse2_potential_set *set)
{
    if (!set) return;
    for (int i = 0; i < set->nterms; ++i) fuse2_spline_table_free(set->terms[i].table);
    free(set->species);
    free(set->terms);
    fuse2_potential_set_init(set);
}

static int z_is_valid(int z) { return z >= 1 && z <= FUSE2_MAX_Z; }

fuse2_status fuse2_potential_set_add_species(fuse2_potential_set *set, int z, double charge)
{
    if (!set) return FUSE2_RAISE(FUSE2_ERR_ARG, "potential set is NULL");
    if (!z_is_valid(z))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "atomic number %d is outside 1..%d", z, FUSE2_MAX_Z);
    if (!isfinite(charge))
        return FUSE2_RAISE(FUSE2_ERR_NUMERIC, "charge of element %d is not finite", z);
    for (int i = 0; i < set->nspecies; ++i) {
        if (set->species[i].z != z) continue;
        /* Listing a species twice is harmless as long as the charges agree. */
        if (set->species[i].charge == charge) return FUSE2_OK;
        return FUSE2_RAISE(FUSE2_ERR_ARG,
                           "element %d already has charge %g, cannot also have %g", z,
                           set->species[i].charge, charge);
    }
    fuse2_species_charge *grown =
        realloc(set->species, (size_t)(set->nspecies + 1) * sizeof *grown);
    if (!grown) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "out of memory adding a species");
    set->species = grown;
    set->species[set->nspecies] = (fuse2_species_charge){.z = z, .charge = charge, .line = 0};
    set->nspecies++;
    return FUSE2_OK;
}

/* Checks what every evaluator relies on; the reader reports friendlier
 * messages with file:line before calling this. */
static fuse2_status check_term(const fuse2_pair_term *t)
{
    if (t->kind != FUSE2_PAIR_BUCKINGHAM && t->kind != FUSE2_PAIR_LENNARD &&
        t->kind != FUSE2_PAIR_MORSE && t->kind != FUSE2_PAIR_SPLINE)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "unknown pair potential kind %d", (int)t->kind);
    if (!z_is_valid(t->z1) || !z_is_valid(t->z2))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "pair term has atomic numbers %d, %d outside 1..%d",
                           t->z1, t->z2, FUSE2_MAX_Z);
    for (int k = 0; k < 4; ++k)
        if (!isfinite(t->param[k]))
            return FUSE2_RAISE(FUSE2_ERR_NUMERIC, "pair term parameter %d is not finite", k + 1);
    if (!isfinite(t->rmin) || !isfinite(t->rmax))
        return FUSE2_RAISE(FUSE2_ERR_NUMERIC, "pair term cut-off is not finite");
    if (t->rmin < 0.0)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "pair term rmin %g is negative", t->rmin);
    if (t->rmax <= 0.0)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "pair term rmax %g is not positive", t->rmax);
    if (t->rmin >= t->rmax)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "pair term rmin %g is not below rmax %g", t->rmin,
                           t->rmax);
    if (t->kind == FUSE2_PAIR_BUCKINGHAM && !(t->param[1] > 0.0))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "Buckingham rho %g is not positive", t->param[1]);
    if (t->kind == FUSE2_PAIR_LENNARD && (!(t->param[2] > 0.0) || !(t->param[3] > 0.0)))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "Lennard-Jones exponents %g, %g are not positive",
                           t->param[2], t->param[3]);
    if (t->kind == FUSE2_PAIR_SPLINE) {
        const fuse2_spline_table *tab = t->table;
        if (!tab || !tab->r || !tab->e)
            return FUSE2_RAISE(FUSE2_ERR_ARG, "spline pair term has no table");
        if (tab->n < FUSE2_SPLINE_MIN_POINTS)
            return FUSE2_RAISE(FUSE2_ERR_ARG, "spline table has %d points, needs at least %d",
                               tab->n, FUSE2_SPLINE_MIN_POINTS);
        for (int k = 0; k < tab->n; ++k) {
            if (!isfinite(tab->r[k]) || !isfinite(tab->e[k]))
                return FUSE2_RAISE(FUSE2_ERR_NUMERIC, "spline table point %d is not finite", k + 1);
            if (k > 0 && !(tab->r[k] > tab->r[k - 1]))
                return FUSE2_RAISE(FUSE2_ERR_ARG,
                                   "spline table separations are not strictly increasing at "
                                   "point %d (%g after %g)",
                                   k + 1, tab->r[k], tab->r[k - 1]);
        }
    } else if (t->table) {
        return FUSE2_RAISE(FUSE2_ERR_ARG, "only spline pair terms have a table");
    }
    return FUSE2_OK;
}

/* Second derivatives of the natural cubic spline (S'' = 0 at both ends)
 * through (r_k, e_k): the tridiagonal system, solved by Thomas' algorithm
 * (diagonally dominant, no pivoting needed). `work` holds n doubles. */
static void natural_spline(int n, const double *r, const double *e, double *d2, double *work)
{
    d2[0] = 0.0;
    work[0] = 0.0;
    for (int k = 1; k < n - 1; ++k) {
        double h0 = r[k] - r[k - 1], h1 = r[k + 1] - r[k];
        double rhs = 6.0 * ((e[k + 1] - e[k]) / h1 - (e[k] - e[k - 1]) / h0);
        double diag = 2.0 * (h0 + h1) - h0 * work[k - 1];
        work[k] = h1 / diag;
        d2[k] = (rhs - h0 * d2[k - 1]) / diag;
    }
    d2[n - 1] = 0.0;
    for (int k = n - 2; k >= 1; --k) d2[k] -= work[k] * d2[k + 1];
}

static fuse2_status copy_table(const fuse2_spline_table *src, fuse2_spline_table **out)
{
    const int n = src->n;
    fuse2_spline_table *t = malloc(sizeof *t + (size_t)4 * (size_t)n * sizeof(double));
    if (!t) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "out of memory copying a spline table");
    double *data = (double *)(t + 1);
    t->n = n;
    t->r = data;
    t->e = data + n;
    t->d2 = data + 2 * n;
    memcpy(t->r, src->r, (size_t)n * sizeof(double));
    memcpy(t->e, src->e, (size_t)n * sizeof(double));
    natural_spline(n, t->r, t->e, t->d2, data + 3 * n);
    *out = t;
    return FUSE2_OK;
}

void fuse2_spline_table_free(fuse2_spline_table *t) { free(t); }

void fuse2_spline_table_eval(const fuse2_spline_table *t, double x, double out[3])
{
    const int n = t->n;
    const double *r = t->r, *e = t->e, *d2 = t->d2;
    if (x > r[n - 1]) {
        out[0] = out[1] = out[2] = 0.0;
        return;
    }
    if (x < r[0]) {
        /* linear: value and slope of S at the first point (S'' = 0 there) */
        double h = r[1] - r[0];
        double slope = (e[1] - e[0]) / h - h * (2.0 * d2[0] + d2[1]) / 6.0;
        out[0] = e[0] + slope * (x - r[0]);
        out[1] = slope;
        out[2] = 0.0;
        return;
    }
    /* the interval [r_k, r_k+1] holding x: a guess for uniform tables, then
     * bisection */
    int lo = 0, hi = n - 1;
    int guess = (int)((x - r[0]) / (r[n - 1] - r[0]) * (n - 1));
    if (guess >= n - 1) guess = n - 2;
    if (guess < 0) guess = 0;
    if (r[guess] <= x && x <= r[guess + 1]) {
        lo = guess;
        hi = guess + 1;
    }
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (r[mid] <= x) lo = mid;
        else hi = mid;
    }
    double h = r[hi] - r[lo], a = (r[hi] - x) / h, b = 1.0 - a;
    out[0] = a * e[lo] + b * e[hi] + ((a * a * a - a) * d2[lo] + (b * b * b - b) * d2[hi]) * h * h / 6.0;
    out[1] = (e[hi] - e[lo]) / h + ((1.0 - 3.0 * a * a) * d2[lo] + (3.0 * b * b - 1.0) * d2[hi]) * h / 6.0;
    out[2] = a * d2[lo] + b * d2[hi];
}

fuse2_status fuse2_potential_set_add_term(fuse2_potential_set *set, const fuse2_pair_term *t)
{
    if (!set || !t) return FUSE2_RAISE(FUSE2_ERR_ARG, "potential set or term is NULL");
    FUSE2_CALL(check_term(t));
    fuse2_pair_term *grown = realloc(set->terms, (size_t)(set->nterms + 1) * sizeof *grown);
    if (!grown) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "out of memory adding a pair term");
    set->terms = grown;
    fuse2_spline_table *table = NULL;
    if (t->table) FUSE2_CALL(copy_table(t->table, &table));
    fuse2_pair_term *stored = &set->terms[set->nterms];
    *stored = *t;
    stored->table = table;
    if (stored->z1 > stored->z2) {
        stored->z1 = t->z2;
        stored->z2 = t->z1;
    }
    set->nterms++;
    return FUSE2_OK;
}

double fuse2_potential_set_charge(const fuse2_potential_set *set, int z, int *found)
{
    if (set) {
        for (int i = 0; i < set->nspecies; ++i) {
            if (set->species[i].z == z) {
                if (found) *found = 1;
                return set->species[i].charge;
            }
        }
    }
    if (found) *found = 0;
    return 0.0;
}
