/* Built-in calculator: pair potentials + Ewald Coulomb + Ewald C6 dispersion
 * with analytic forces and stress. Formulas: ../docs/builtin-calculator.md
 * (Coulomb: Nosé & Klein, Mol. Phys. 50, 1055 (1983); C6 with arbitrary C_ij:
 * Williams-type dispersion Ewald as GULP's `c6`; parameter choice:
 * Kolafa & Perram, Mol. Simul. 9, 351 (1992)). */
#include "fuse2/builtin.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/elements.h"

enum { MAX_SPECIES = 16, MAX_TERMS_PER_PAIR = 8 };

typedef struct pair_term {
    fuse2_pair_kind kind;
    double p[4];
    double rmin, rmax;
} pair_term;

typedef struct pair_table {
    int nterms;
    pair_term term[MAX_TERMS_PER_PAIR];
    double c6;          /* C of buck terms summed to infinity (c6 mode) */
    double r_collapse;  /* closer than this the pair falls into a collapse (Å) */
} pair_table;

/* A smooth function of x = alpha r tabulated with its first two derivatives
 * for cubic Hermite interpolation of the value and of the derivative. In x
 * the kernels do not depend on alpha, so one table serves every cell. */
typedef struct kernel_table {
    double x_min, x_max, h, inv_h;
    int n;
    double *node; /* n nodes x {f, f', f''} */
} kernel_table;

struct fuse2_builtin {
    kernel_table coulomb;    /* phi(x) = erfc(x)/x */
    kernel_table dispersion; /* psi(x) = exp(-x^2)(1 + x^2 + x^4/2)/x^6 */
    fuse2_potential_set pot;
    fuse2_builtin_options opt;
    double *collapse_radius; /* per (z1, z2), NAN until computed */
    double last_min_distance;
    int last_min_i, last_min_j;
    /* work buffers reused between calls */
    fuse2_structure work;
    double *wbuf;
    size_t wbuf_len;
};

/* ---- real-space kernels ---- */

static const double TWO_OVER_SQRTPI = 1.1283791670955126;

/* phi = erfc(x)/x and its derivatives */
static void coulomb_kernel(double x, double out[3])
{
    double ec = erfc(x), ex = TWO_OVER_SQRTPI * exp(-x * x), x2 = x * x;
    out[0] = ec / x;
    out[1] = -ec / x2 - ex / x;
    out[2] = 2 * ec / (x2 * x) + ex * (2 / x2 + 2);
}

/* psi = exp(-x^2)(1 + x^2 + x^4/2)/x^6 and its derivatives, written with
 * P = x^6 + 3x^4 + 6x^2 + 6 so that psi' = -exp(-x^2) P / x^7 */
static void dispersion_kernel(double x, double out[3])
{
    double x2 = x * x, x4 = x2 * x2, x6 = x4 * x2, ex = exp(-x2);
    double P = x6 + 3 * x4 + 6 * x2 + 6, dP = 6 * x4 * x + 12 * x2 * x + 12 * x;
    out[0] = ex * (1 + x2 + 0.5 * x4) / x6;
    out[1] = -ex * P / (x6 * x);
    out[2] = -ex * (-2 * P / x6 + dP / (x6 * x) - 7 * P / (x6 * x2));
}

static fuse2_status kernel_table_build(kernel_table *t, void (*f)(double, double[3]), double x_min,
                                       double x_max, double h)
{
    t->x_min = x_min;
    t->h = h;
    t->inv_h = 1.0 / h;
    t->n = (int)ceil((x_max - x_min) / h) + 2;
    t->x_max = x_min + (t->n - 2) * h;
    t->node = malloc((size_t)t->n * 3 * sizeof *t->node);
    if (!t->node) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate kernel table");
    for (int k = 0; k < t->n; k++) f(x_min + k * h, t->node + 3 * k);
    return FUSE2_OK;
}

/* Value and first derivative at x (x_min <= x < x_max). The Hermite error
 * is h^4 |f^(4)| / 384: about 1e-11 relative at the smallest x tabulated. */
static inline void kernel_table_eval(const kernel_table *t, double x, double *f, double *df)
{
    double u = (x - t->x_min) * t->inv_h;
    int k = (int)u;
    double s = u - k, s2 = s * s, s3 = s2 * s;
    double h00 = 2 * s3 - 3 * s2 + 1, h10 = s3 - 2 * s2 + s, h01 = 3 * s2 - 2 * s3, h11 = s3 - s2;
    const double *a = t->node + 3 * k, *b = a + 3;
    *f = h00 * a[0] + t->h * (h10 * a[1] + h11 * b[1]) + h01 * b[0];
    *df = h00 * a[1] + t->h * (h10 * a[2] + h11 * b[2]) + h01 * b[1];
}

static inline void kernel_eval(const kernel_table *t, void (*direct)(double, double[3]), double x,
                               double *f, double *df)
{
    if (x >= t->x_min && x < t->x_max) {
        kernel_table_eval(t, x, f, df);
    } else {
        double v[3];
        direct(x, v);
        *f = v[0];
        *df = v[1];
    }
}

void fuse2_builtin_options_default(fuse2_builtin_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->coulomb_constant = FUSE2_COULOMB_CONSTANT_GULP;
    opt->accuracy = 12.0;
    opt->real_cost_weight = 4.0;
}

fuse2_status fuse2_builtin_create(const fuse2_potential_set *potentials,
                                  const fuse2_builtin_options *options, fuse2_builtin **out)
{
    *out = NULL;
    if (!(options->coulomb_constant > 0) || !isfinite(options->coulomb_constant))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "Coulomb constant must be > 0 (got %g)",
                           options->coulomb_constant);
    if (!(options->accuracy >= 3 && options->accuracy <= 16))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "Ewald accuracy must be between 3 and 16 (got %g)",
                           options->accuracy);
    fuse2_builtin *b = calloc(1, sizeof *b);
    if (!b) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate the built-in calculator");
    b->opt = *options;
    if (b->opt.real_cost_weight <= 0) b->opt.real_cost_weight = 4.0;
    fuse2_potential_set_init(&b->pot);
    fuse2_status st = FUSE2_OK;
    memcpy(b->pot.source, potentials->source, sizeof b->pot.source);
    b->pot.has_cutp = potentials->has_cutp;
    b->pot.cutp_radius = potentials->cutp_radius;
    b->pot.cutp_taper = potentials->cutp_taper;
    for (int i = 0; i < potentials->nspecies; i++)
        FUSE2_CALL_GOTO(st, fuse2_potential_set_add_species(&b->pot, potentials->species[i].z,
                                                            potentials->species[i].charge), fail);
    for (int i = 0; i < potentials->nterms; i++)
        FUSE2_CALL_GOTO(st, fuse2_potential_set_add_term(&b->pot, &potentials->terms[i]), fail);
    FUSE2_CALL_GOTO(st, fuse2_structure_init(&b->work, 0), fail);
    b->collapse_radius = malloc((FUSE2_MAX_Z + 1) * (FUSE2_MAX_Z + 1) * sizeof *b->collapse_radius);
    if (!b->collapse_radius)
        FUSE2_RAISE_GOTO(st, fail, FUSE2_ERR_NOMEM, "cannot allocate the built-in calculator");
    for (int k = 0; k < (FUSE2_MAX_Z + 1) * (FUSE2_MAX_Z + 1); k++) b->collapse_radius[k] = NAN;
    {
        /* x = alpha r_c = sqrt(accuracy ln 10) is the largest x the sums use */
        double x_max = sqrt(b->opt.accuracy * log(10.0)) + 0.05;
        FUSE2_CALL_GOTO(st, kernel_table_build(&b->coulomb, coulomb_kernel, 0.4, x_max, 1e-3), fail);
        FUSE2_CALL_GOTO(st, kernel_table_build(&b->dispersion, dispersion_kernel, 0.4, x_max, 1e-3),
                        fail);
    }
    *out = b;
    return FUSE2_OK;
fail:
    fuse2_builtin_destroy(b);
    return st;
}

void fuse2_builtin_destroy(fuse2_builtin *b)
{
    if (!b) return;
    fuse2_potential_set_free(&b->pot);
    fuse2_structure_free(&b->work);
    free(b->collapse_radius);
    free(b->coulomb.node);
    free(b->dispersion.node);
    free(b->wbuf);
    free(b);
}

double fuse2_builtin_last_min_distance(const fuse2_builtin *b, int *atom_i, int *atom_j)
{
    if (atom_i) *atom_i = b->last_min_i;
    if (atom_j) *atom_j = b->last_min_j;
    return b->last_min_distance;
}

/* ---- set-up of one evaluation ---- */

typedef struct eval_setup {
    int n, nspecies;
    int species_z[MAX_SPECIES];
    int *sp;                 /* species index per atom */
    double *q;               /* charge per atom */
    pair_table table[MAX_SPECIES][MAX_SPECIES];
    int any_charge, any_c6;
    double short_cutoff;     /* largest rmax of any pair term */
    double taper_start, taper_end; /* cutp taper window; taper_end = 0: none */
} eval_setup;

static double effective_rmax(const fuse2_builtin *b, double rmax)
{
    if (b->pot.has_cutp && b->pot.cutp_radius < rmax) return b->pot.cutp_radius;
    return rmax;
}

static void short_range(const pair_table *tab, double r, double *energy, double *dedr);
static void taper(double r, double start, double end, double *f, double *dfdr);

/* Bare energy of one isolated pair: short-range terms (with their rmin/rmax
 * and the cutp taper), q_i q_j k/r, and -C/r^6 when c6 sums it separately. */
static double isolated_pair_energy(const eval_setup *e, const pair_table *tab, double qq, double r)
{
    double es = 0, ds;
    if (tab->nterms) {
        short_range(tab, r, &es, &ds);
        if (e->taper_end > 0) {
            double f, dfdr;
            taper(r, e->taper_start, e->taper_end, &f, &dfdr);
            es *= f;
        }
    }
    double r2 = r * r;
    return es + qq / r - tab->c6 / (r2 * r2 * r2);
}

/* The collapse barrier of a pair: if the pair energy falls without bound as
 * r -> 0 (opposite charges below rmin, Buckingham C/r^6 beating A exp(-r/rho)),
 * the pair collapses once it is closer than the maximum of that energy. If
 * the isolated pair has no maximum (its repulsion never wins), nothing holds
 * the ions apart below the inner cut-off of its terms: that is the barrier.
 * Returns 0 for pairs that repel at short range. */
static double collapse_radius(const eval_setup *e, const pair_table *tab, double qq)
{
    const double h = 1e-3, r_start = 0.05, r_end = 6.0;
    double r = r_start, prev = isolated_pair_energy(e, tab, qq, r);
    double next = isolated_pair_energy(e, tab, qq, r + h);
    if (!(next > prev)) return 0.0; /* repulsive (or flat) at short range */
    for (r += h; r < r_end; r += h) {
        prev = next;
        next = isolated_pair_energy(e, tab, qq, r + h);
        if (next < prev) return r;
    }
    double inner = 0;
    for (int t = 0; t < tab->nterms; t++) inner = fmax(inner, tab->term[t].rmin);
    return inner;
}

static fuse2_status build_setup(fuse2_builtin *b, const fuse2_structure *s, eval_setup *e)
{
    e->n = s->natoms;
    e->nspecies = 0;
    for (int i = 0; i < s->natoms; i++) {
        int k;
        for (k = 0; k < e->nspecies; k++)
            if (e->species_z[k] == s->species[i]) break;
        if (k == e->nspecies) {
            if (e->nspecies == MAX_SPECIES)
                return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED, "more than %d elements in one structure",
                                   MAX_SPECIES);
            e->species_z[e->nspecies++] = s->species[i];
        }
        e->sp[i] = k;
    }
    double net = 0;
    e->any_charge = 0;
    for (int i = 0; i < s->natoms; i++) {
        int found = 0;
        e->q[i] = fuse2_potential_set_charge(&b->pot, s->species[i], &found);
        if (!found) {
            const fuse2_element *el = fuse2_element_by_z(s->species[i]);
            return FUSE2_RAISE(FUSE2_ERR_ARG, "element %s has no charge in the potential library %s",
                               el ? el->symbol : "?", b->pot.source[0] ? b->pot.source : "(built in)");
        }
        net += e->q[i];
        if (e->q[i] != 0) e->any_charge = 1;
    }
    if (fabs(net) > 1e-6 && !b->opt.allow_charged)
        return FUSE2_RAISE(FUSE2_ERR_ARG,
                           "structure has net charge %+.6g e with library %s; set allow_charged "
                           "to add a neutralising background",
                           net, b->pot.source[0] ? b->pot.source : "(built in)");
    memset(e->table, 0, sizeof e->table);
    e->short_cutoff = 0;
    e->any_c6 = 0;
    for (int t = 0; t < b->pot.nterms; t++) {
        const fuse2_pair_term *pt = &b->pot.terms[t];
        int s1 = -1, s2 = -1;
        for (int k = 0; k < e->nspecies; k++) {
            if (e->species_z[k] == pt->z1) s1 = k;
            if (e->species_z[k] == pt->z2) s2 = k;
        }
        if (s1 < 0 || s2 < 0) continue;
        pair_term term = {.kind = pt->kind, .rmin = pt->rmin, .rmax = effective_rmax(b, pt->rmax)};
        memcpy(term.p, pt->param, sizeof term.p);
        if (b->opt.c6 && pt->kind == FUSE2_PAIR_BUCKINGHAM && pt->param[2] != 0) {
            /* GULP's c6: the C/r^6 part is summed to infinity by Ewald */
            e->table[s1][s2].c6 += pt->param[2];
            if (s1 != s2) e->table[s2][s1].c6 += pt->param[2];
            term.p[2] = 0;
            e->any_c6 = 1;
        }
        for (int pass = 0; pass < (s1 == s2 ? 1 : 2); pass++) {
            pair_table *tab = pass ? &e->table[s2][s1] : &e->table[s1][s2];
            if (tab->nterms == MAX_TERMS_PER_PAIR)
                return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED, "%s:%d: more than %d terms for one pair",
                                   b->pot.source, pt->line, MAX_TERMS_PER_PAIR);
            tab->term[tab->nterms++] = term;
        }
        if (term.rmax > e->short_cutoff) e->short_cutoff = term.rmax;
    }
    e->taper_end = 0;
    if (b->pot.has_cutp && b->pot.cutp_taper > 0) {
        e->taper_end = b->pot.cutp_radius;
        e->taper_start = b->pot.cutp_radius - b->pot.cutp_taper;
    }
    /* collapse barriers depend only on the element pair: cached */
    for (int s1 = 0; s1 < e->nspecies; s1++)
        for (int s2 = 0; s2 < e->nspecies; s2++) {
            int z1 = e->species_z[s1], z2 = e->species_z[s2];
            double *slot = &b->collapse_radius[z1 * (FUSE2_MAX_Z + 1) + z2];
            if (isnan(*slot)) {
                int f1 = 0, f2 = 0;
                double q1 = fuse2_potential_set_charge(&b->pot, z1, &f1);
                double q2 = fuse2_potential_set_charge(&b->pot, z2, &f2);
                *slot = collapse_radius(e, &e->table[s1][s2], b->opt.coulomb_constant * q1 * q2);
            }
            e->table[s1][s2].r_collapse = *slot;
        }
    return FUSE2_OK;
}

static void choose_ewald(const fuse2_builtin *b, int n, double volume, double short_cutoff,
                         double *alpha, double *rc, double *kc)
{
    double lneps = b->opt.accuracy * log(10.0);
    double a;
    if (b->opt.ewald_alpha > 0) {
        a = b->opt.ewald_alpha;
    } else {
        /* balances real and reciprocal work (Perram, Petersen & de Leeuw) */
        a = sqrt(pow(n * b->opt.real_cost_weight * M_PI * M_PI * M_PI / (volume * volume), 1.0 / 3.0));
        /* the real-space loop already runs to the short-range cutoff: use it */
        if (short_cutoff > 0 && sqrt(lneps) / a < short_cutoff) a = sqrt(lneps) / short_cutoff;
    }
    *alpha = a;
    *rc = sqrt(lneps) / a;
    *kc = 2.0 * a * sqrt(lneps);
}

void fuse2_builtin_ewald_parameters(const fuse2_builtin *b, const fuse2_structure *s,
                                    double *alpha, double *real_cutoff, double *recip_cutoff)
{
    double shortc = 0;
    for (int t = 0; t < b->pot.nterms; t++) shortc = fmax(shortc, effective_rmax(b, b->pot.terms[t].rmax));
    choose_ewald(b, s->natoms, fabs(fuse2_structure_volume(s)), shortc, alpha, real_cutoff,
                 recip_cutoff);
}

/* ---- pair terms ---- */

/* Energy and dE/dr of the short-range terms of one pair at distance r. */
static void short_range(const pair_table *tab, double r, double *energy, double *dedr)
{
    double e = 0, d = 0;
    for (int t = 0; t < tab->nterms; t++) {
        const pair_term *pt = &tab->term[t];
        if (r < pt->rmin || r > pt->rmax) continue;
        switch (pt->kind) {
        case FUSE2_PAIR_BUCKINGHAM: {
            double ex = pt->p[0] * exp(-r / pt->p[1]);
            double r2 = r * r, r6 = r2 * r2 * r2;
            e += ex - pt->p[2] / r6;
            d += -ex / pt->p[1] + 6.0 * pt->p[2] / (r6 * r);
            break;
        }
        case FUSE2_PAIR_LENNARD: {
            double rm = pow(r, -pt->p[2]), rn = pow(r, -pt->p[3]);
            e += pt->p[0] * rm - pt->p[1] * rn;
            d += (-pt->p[2] * pt->p[0] * rm + pt->p[3] * pt->p[1] * rn) / r;
            break;
        }
        case FUSE2_PAIR_MORSE: {
            double ex = exp(-pt->p[1] * (r - pt->p[2]));
            e += pt->p[0] * ((1 - ex) * (1 - ex) - 1);
            d += 2.0 * pt->p[0] * pt->p[1] * (1 - ex) * ex;
            break;
        }
        }
    }
    *energy = e;
    *dedr = d;
}

/* GULP's cutp taper: f(u) = 1 - 10u^3 + 15u^4 - 6u^5 on [R - t, R]. */
static void taper(double r, double start, double end, double *f, double *dfdr)
{
    if (r <= start) {
        *f = 1;
        *dfdr = 0;
        return;
    }
    if (r >= end) {
        *f = 0;
        *dfdr = 0;
        return;
    }
    double w = end - start, u = (r - start) / w;
    double u2 = u * u, u3 = u2 * u;
    *f = 1 - 10 * u3 + 15 * u3 * u - 6 * u3 * u2;
    *dfdr = (-30 * u2 + 60 * u3 - 30 * u3 * u) / w;
}

/* ---- the sums ---- */

typedef struct sums {
    double e_short, e_coul_real, e_coul_recip, e_disp_real, e_disp_recip, e_self, e_disp_self;
    double virial[3][3];
    double (*f)[3];
    double min_dist;
    int min_i, min_j;
    double collapse_depth;   /* largest r_collapse - r found, 0 if none */
    int collapse_i, collapse_j;
    double collapse_r, collapse_barrier;
} sums;

typedef struct translation {
    double v[3];
    double length;
    int is_zero;
} translation;

static int compare_translation(const void *a, const void *b)
{
    double la = ((const translation *)a)->length, lb = ((const translation *)b)->length;
    return (la > lb) - (la < lb);
}

__attribute__((noinline)) static void real_space(const fuse2_builtin *bi, const fuse2_structure *s, const eval_setup *e,
                       double alpha, double rc, double ke, int c6, sums *out)
{
    const int n = s->natoms;
    double loop_cut = fmax(rc, e->short_cutoff);
    if (!e->any_charge && !c6) loop_cut = e->short_cutoff;
    const double loop_cut2 = loop_cut * loop_cut, rc2 = rc * rc;
    const double (*L)[3] = (const double(*)[3])s->lattice;

    /* Every lattice translation that can bring a difference vector lying in
     * the half-cell around the origin within loop_cut, sorted by length so
     * that each pair stops at |T| > loop_cut + |d0|. */
    double dmax = 0;
    for (int sa = -1; sa <= 1; sa += 2)
        for (int sb = -1; sb <= 1; sb += 2)
            for (int sc = -1; sc <= 1; sc += 2) {
                double v[3];
                for (int k = 0; k < 3; k++) v[k] = 0.5 * (sa * L[0][k] + sb * L[1][k] + sc * L[2][k]);
                dmax = fmax(dmax, sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]));
            }
    double h[3];
    fuse2_lattice_plane_spacings(s->lattice, h);
    int nmax[3];
    for (int k = 0; k < 3; k++) nmax[k] = (int)ceil((loop_cut + dmax) / h[k]);
    int cap = (2 * nmax[0] + 1) * (2 * nmax[1] + 1) * (2 * nmax[2] + 1);
    translation *T = malloc((size_t)cap * sizeof *T);
    int nt = 0;
    double reach = loop_cut + dmax;
    for (int a = -nmax[0]; a <= nmax[0]; a++)
        for (int b2 = -nmax[1]; b2 <= nmax[1]; b2++)
            for (int c = -nmax[2]; c <= nmax[2]; c++) {
                translation t;
                for (int k = 0; k < 3; k++) t.v[k] = a * L[0][k] + b2 * L[1][k] + c * L[2][k];
                t.length = sqrt(t.v[0] * t.v[0] + t.v[1] * t.v[1] + t.v[2] * t.v[2]);
                if (t.length > reach) continue;
                t.is_zero = a == 0 && b2 == 0 && c == 0;
                T[nt++] = t;
            }
    qsort(T, (size_t)nt, sizeof *T, compare_translation);

    const double alpha2 = alpha * alpha, alpha6 = alpha2 * alpha2 * alpha2;
    for (int i = 0; i < n; i++) {
        for (int j = i; j < n; j++) {
            double df[3], d0[3];
            for (int k = 0; k < 3; k++) {
                df[k] = s->frac[j][k] - s->frac[i][k];
                df[k] -= floor(df[k] + 0.5);
            }
            for (int k = 0; k < 3; k++) d0[k] = df[0] * L[0][k] + df[1] * L[1][k] + df[2] * L[2][k];
            const double d0len = sqrt(d0[0] * d0[0] + d0[1] * d0[1] + d0[2] * d0[2]);
            const double tmax = loop_cut + d0len;
            const double w = (i == j) ? 0.5 : 1.0;
            const double qq = ke * e->q[i] * e->q[j];
            const pair_table *tab = &e->table[e->sp[i]][e->sp[j]];
            const double c6ij = tab->c6;
            /* per-pair accumulators kept in registers (the sums struct is
             * reached through a pointer and would be reloaded every image) */
            double fi[3] = {0, 0, 0}, vir[6] = {0, 0, 0, 0, 0, 0};
            double e_coul = 0, e_disp = 0, e_short = 0, rmin_pair = INFINITY;
            for (int t = 0; t < nt && T[t].length <= tmax; t++) {
                double d[3] = {d0[0] + T[t].v[0], d0[1] + T[t].v[1], d0[2] + T[t].v[2]};
                double r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                if (r2 > loop_cut2) continue;
                if (i == j && T[t].is_zero) continue;
                double r = sqrt(r2);
                rmin_pair = fmin(rmin_pair, r);
                double dedr = 0;
                if (r2 <= rc2) {
                    double x = alpha * r, f, dfdx;
                    if (qq != 0) {
                        /* erfc(alpha r)/r = alpha phi(x) */
                        kernel_eval(&bi->coulomb, coulomb_kernel, x, &f, &dfdx);
                        e_coul += qq * alpha * f;
                        dedr += qq * alpha2 * dfdx;
                    }
                    if (c6ij != 0) {
                        /* exp(-x^2)(1 + x^2 + x^4/2)/r^6 = alpha^6 psi(x) */
                        kernel_eval(&bi->dispersion, dispersion_kernel, x, &f, &dfdx);
                        e_disp -= c6ij * alpha6 * f;
                        dedr -= c6ij * alpha6 * alpha * dfdx;
                    }
                }
                if (tab->nterms && r <= e->short_cutoff) {
                    double es, ds;
                    short_range(tab, r, &es, &ds);
                    if (e->taper_end > 0) {
                        double f, dfdr;
                        taper(r, e->taper_start, e->taper_end, &f, &dfdr);
                        ds = ds * f + es * dfdr;
                        es *= f;
                    }
                    e_short += es;
                    dedr += ds;
                }
                double g = dedr / r;
                vir[0] += g * d[0] * d[0];
                vir[1] += g * d[1] * d[1];
                vir[2] += g * d[2] * d[2];
                vir[3] += g * d[1] * d[2];
                vir[4] += g * d[0] * d[2];
                vir[5] += g * d[0] * d[1];
                fi[0] += g * d[0];
                fi[1] += g * d[1];
                fi[2] += g * d[2];
            }
            out->e_coul_real += w * e_coul;
            out->e_disp_real += w * e_disp;
            out->e_short += w * e_short;
            const int va[6] = {0, 1, 2, 1, 0, 0}, vb[6] = {0, 1, 2, 2, 2, 1};
            for (int k = 0; k < 6; k++) {
                out->virial[va[k]][vb[k]] += w * vir[k];
                if (va[k] != vb[k]) out->virial[vb[k]][va[k]] += w * vir[k];
            }
            if (rmin_pair < out->min_dist) {
                out->min_dist = rmin_pair;
                out->min_i = i;
                out->min_j = j;
            }
            if (rmin_pair < tab->r_collapse && tab->r_collapse - rmin_pair > out->collapse_depth) {
                out->collapse_depth = tab->r_collapse - rmin_pair;
                out->collapse_i = i;
                out->collapse_j = j;
                out->collapse_r = rmin_pair;
                out->collapse_barrier = tab->r_collapse;
            }
            /* self images pull equally both ways: no force */
            if (i != j)
                for (int k = 0; k < 3; k++) {
                    out->f[i][k] += fi[k];
                    out->f[j][k] -= fi[k];
                }
        }
    }
    free(T);
}

/* F(b) and F'(b) of the dispersion reciprocal sum. */
static void disp_kernel(double b, double *F, double *dF)
{
    double eb = exp(-b * b), erfcb = erfc(b), spi = sqrt(M_PI);
    *F = spi * b * b * b * erfcb + (0.5 - b * b) * eb;
    *dF = 3.0 * b * (spi * b * erfcb - eb);
}

__attribute__((noinline)) static fuse2_status reciprocal_space(const fuse2_structure *s,
                                                               const eval_setup *e, double alpha,
                                                               double kc, double ke, int c6,
                                                               sums *out)
{
    const int n = s->natoms, ns = e->nspecies;
    const double V = fabs(fuse2_structure_volume(s));
    double B[3][3];
    fuse2_lattice_reciprocal(s->lattice, B);
    int mmax[3];
    for (int k = 0; k < 3; k++) {
        double len = sqrt(s->lattice[k][0] * s->lattice[k][0] + s->lattice[k][1] * s->lattice[k][1] +
                          s->lattice[k][2] * s->lattice[k][2]);
        mmax[k] = (int)floor(kc * len / (2 * M_PI));
    }
    /* Phase tables e^{2 pi i m f_i} for m = -mmax..mmax, laid out [m][atom]
     * so that the loops over atoms run over contiguous memory. */
    size_t width[3], total = 0;
    for (int k = 0; k < 3; k++) {
        width[k] = (size_t)(2 * mmax[k] + 1);
        total += 2 * width[k] * (size_t)n;
    }
    total += (size_t)n * 10 + (size_t)ns * 4;
    double *buf = malloc(total * sizeof *buf);
    if (!buf) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate Ewald tables");
    double *re[3], *im[3], *p = buf;
    for (int k = 0; k < 3; k++) {
        re[k] = p;
        p += width[k] * n;
        im[k] = p;
        p += width[k] * n;
        for (int m = -mmax[k]; m <= mmax[k]; m++) {
            double *rr = re[k] + (size_t)(m + mmax[k]) * n, *ii = im[k] + (size_t)(m + mmax[k]) * n;
            for (int i = 0; i < n; i++) {
                double arg = 2 * M_PI * (double)m * s->frac[i][k];
                rr[i] = cos(arg);
                ii[i] = sin(arg);
            }
        }
    }
    double *c12r = p; p += n;  /* phase of (m1, m2) per atom */
    double *c12i = p; p += n;
    double *cr = p; p += n;    /* phase of the whole k per atom */
    double *ci = p; p += n;
    double *qv = p; p += n;
    double *fx = p; p += n;    /* reciprocal forces, accumulated locally */
    double *fy = p; p += n;
    double *fz = p; p += n;
    double *fdisp = p; p += 2 * n; /* unused slack keeps the layout simple */
    (void)fdisp;
    double *Ssr = p; p += ns;  /* per-species structure factors */
    double *Ssi = p; p += ns;
    double *Usr = p; p += ns;  /* U_s = sum_t C_st S_t */
    double *Usi = p; p += ns;
    for (int i = 0; i < n; i++) {
        qv[i] = e->q[i];
        fx[i] = fy[i] = fz[i] = 0;
    }

    const double kc2 = kc * kc, inv4a2 = 1.0 / (4 * alpha * alpha);
    const double coul_pref = ke * 2 * M_PI / V;
    const double disp_pref = -pow(M_PI, 1.5) * alpha * alpha * alpha / (3 * V);
    double Cst[MAX_SPECIES][MAX_SPECIES];
    int nsp_count[MAX_SPECIES] = {0};
    for (int a = 0; a < ns; a++)
        for (int b = 0; b < ns; b++) Cst[a][b] = e->table[a][b].c6;
    for (int i = 0; i < n; i++) nsp_count[e->sp[i]]++;
    const double b3b3 = B[2][0] * B[2][0] + B[2][1] * B[2][1] + B[2][2] * B[2][2];
    double vir[6] = {0, 0, 0, 0, 0, 0};
    double e_coul = 0, e_disp = 0;

    /* half space: m1 > 0, or m1 = 0 and m2 > 0, or m1 = m2 = 0 and m3 > 0;
     * the factor 2 for -k is applied to every term */
    for (int m1 = 0; m1 <= mmax[0]; m1++) {
        for (int m2 = (m1 == 0 ? 0 : -mmax[1]); m2 <= mmax[1]; m2++) {
            double k12[3];
            for (int k = 0; k < 3; k++) k12[k] = m1 * B[0][k] + m2 * B[1][k];
            /* the m3 values with |k12 + m3 b3| <= kc */
            double t0 = -(k12[0] * B[2][0] + k12[1] * B[2][1] + k12[2] * B[2][2]) / b3b3;
            double dist2 = 0;
            for (int k = 0; k < 3; k++) {
                double c = k12[k] + t0 * B[2][k];
                dist2 += c * c;
            }
            if (dist2 > kc2) continue;
            double half = sqrt((kc2 - dist2) / b3b3);
            int lo = (int)ceil(t0 - half), hi = (int)floor(t0 + half);
            if (lo < -mmax[2]) lo = -mmax[2];
            if (hi > mmax[2]) hi = mmax[2];
            if (m1 == 0 && m2 == 0 && lo < 1) lo = 1;
            if (lo > hi) continue;
            const double *ar = re[0] + (size_t)(m1 + mmax[0]) * n, *ai = im[0] + (size_t)(m1 + mmax[0]) * n;
            const double *br = re[1] + (size_t)(m2 + mmax[1]) * n, *bi = im[1] + (size_t)(m2 + mmax[1]) * n;
            for (int i = 0; i < n; i++) {
                c12r[i] = ar[i] * br[i] - ai[i] * bi[i];
                c12i[i] = ar[i] * bi[i] + ai[i] * br[i];
            }
            for (int m3 = lo; m3 <= hi; m3++) {
                double kv[3];
                for (int k = 0; k < 3; k++) kv[k] = k12[k] + m3 * B[2][k];
                double k2 = kv[0] * kv[0] + kv[1] * kv[1] + kv[2] * kv[2];
                if (k2 > kc2 || k2 == 0) continue;
                const double *zr = re[2] + (size_t)(m3 + mmax[2]) * n, *zi = im[2] + (size_t)(m3 + mmax[2]) * n;
                double Sr = 0, Si = 0;
#pragma omp simd reduction(+ : Sr, Si)
                for (int i = 0; i < n; i++) {
                    double r = c12r[i] * zr[i] - c12i[i] * zi[i];
                    double m = c12r[i] * zi[i] + c12i[i] * zr[i];
                    cr[i] = r;
                    ci[i] = m;
                    Sr += qv[i] * r;
                    Si += qv[i] * m;
                }
                double A = exp(-k2 * inv4a2) / k2;
                double ek = 2 * coul_pref * A * (Sr * Sr + Si * Si);
                e_coul += ek;
                double sfac = 2 * (1.0 / k2 + inv4a2);
                /* dE_k/d eps_ab = -E_k [delta_ab - 2 k_a k_b (1/k^2 + 1/4 alpha^2)] */
                vir[0] += ek * (sfac * kv[0] * kv[0] - 1);
                vir[1] += ek * (sfac * kv[1] * kv[1] - 1);
                vir[2] += ek * (sfac * kv[2] * kv[2] - 1);
                vir[3] += ek * sfac * kv[1] * kv[2];
                vir[4] += ek * sfac * kv[0] * kv[2];
                vir[5] += ek * sfac * kv[0] * kv[1];
                /* F_i = 4 coul_pref A q_i Im[e_i S*] k, Im[e_i S*] = ci Sr - cr Si */
                double fk = 4 * coul_pref * A;
                double gx = fk * kv[0], gy = fk * kv[1], gz = fk * kv[2];
#pragma omp simd
                for (int i = 0; i < n; i++) {
                    double g = qv[i] * (ci[i] * Sr - cr[i] * Si);
                    fx[i] += g * gx;
                    fy[i] += g * gy;
                    fz[i] += g * gz;
                }
                if (c6) {
                    for (int a = 0; a < ns; a++) Ssr[a] = Ssi[a] = 0;
                    for (int i = 0; i < n; i++) {
                        Ssr[e->sp[i]] += cr[i];
                        Ssi[e->sp[i]] += ci[i];
                    }
                    double kk = sqrt(k2), bb = kk / (2 * alpha), F, dF;
                    disp_kernel(bb, &F, &dF);
                    double P = 0;
                    for (int a = 0; a < ns; a++) {
                        Usr[a] = Usi[a] = 0;
                        for (int b = 0; b < ns; b++) {
                            Usr[a] += Cst[a][b] * Ssr[b];
                            Usi[a] += Cst[a][b] * Ssi[b];
                        }
                        P += Ssr[a] * Usr[a] + Ssi[a] * Usi[a];
                    }
                    double edk = 2 * disp_pref * F * P;
                    e_disp += edk;
                    /* dE_k/d eps_ab = -delta_ab E_k - P_k F'(b) k_a k_b / (2 alpha k) */
                    double dpk = 2 * disp_pref * P * dF / (2 * alpha * kk);
                    vir[0] -= edk + dpk * kv[0] * kv[0];
                    vir[1] -= edk + dpk * kv[1] * kv[1];
                    vir[2] -= edk + dpk * kv[2] * kv[2];
                    vir[3] -= dpk * kv[1] * kv[2];
                    vir[4] -= dpk * kv[0] * kv[2];
                    vir[5] -= dpk * kv[0] * kv[1];
                    double fd = 4 * disp_pref * F;
                    double hx = fd * kv[0], hy = fd * kv[1], hz = fd * kv[2];
                    for (int i = 0; i < n; i++) {
                        int si = e->sp[i];
                        /* Im[e_i U*] = ci Ur - cr Ui */
                        double g = ci[i] * Usr[si] - cr[i] * Usi[si];
                        fx[i] += g * hx;
                        fy[i] += g * hy;
                        fz[i] += g * hz;
                    }
                }
            }
        }
    }
    if (c6) {
        /* k = 0 term, F(0) = 1/2, and the self term */
        double P0 = 0, self = 0;
        for (int a = 0; a < ns; a++) {
            for (int b = 0; b < ns; b++) P0 += Cst[a][b] * nsp_count[a] * nsp_count[b];
            self += Cst[a][a] * nsp_count[a];
        }
        double e0 = disp_pref * 0.5 * P0;
        e_disp += e0;
        for (int a = 0; a < 3; a++) vir[a] -= e0;
        out->e_disp_self = pow(alpha, 6) / 12.0 * self;
    }
    out->e_coul_recip += e_coul;
    out->e_disp_recip += e_disp;
    const int va[6] = {0, 1, 2, 1, 0, 0}, vb[6] = {0, 1, 2, 2, 2, 1};
    for (int k = 0; k < 6; k++) {
        out->virial[va[k]][vb[k]] += vir[k];
        if (va[k] != vb[k]) out->virial[vb[k]][va[k]] += vir[k];
    }
    for (int i = 0; i < n; i++) {
        out->f[i][0] += fx[i];
        out->f[i][1] += fy[i];
        out->f[i][2] += fz[i];
    }
    free(buf);
    return FUSE2_OK;
}

fuse2_status fuse2_builtin_compute(fuse2_builtin *b, const fuse2_structure *input,
                                   fuse2_calc_result *result)
{
    FUSE2_CALL(fuse2_structure_validate(input, "structure"));
    const int n = input->natoms;
    /* work on a Niggli-reduced copy: fewer images, same crystal; forces are
     * per atom in the same order and stress is cell-independent */
    FUSE2_CALL(fuse2_structure_copy(&b->work, input));
    FUSE2_CALL(fuse2_structure_reduce_cell(&b->work));
    const fuse2_structure *s = &b->work;

    size_t need = (size_t)n * 2;
    if (b->wbuf_len < need) {
        double *nb = realloc(b->wbuf, need * sizeof *nb);
        if (!nb) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate %d atoms", n);
        b->wbuf = nb;
        b->wbuf_len = need;
    }
    eval_setup e;
    int *sp = malloc((size_t)n * sizeof *sp);
    if (!sp) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate %d atoms", n);
    e.sp = sp;
    e.q = b->wbuf;
    fuse2_status st = build_setup(b, s, &e);
    if (st != FUSE2_OK) {
        free(sp);
        fuse2_error_push_frame(__FILE__, __LINE__, __func__);
        return st;
    }
    st = fuse2_calc_result_reset(result, n);
    if (st != FUSE2_OK) {
        free(sp);
        return st;
    }
    const double V = fabs(fuse2_structure_volume(s));
    const double ke = b->opt.coulomb_constant;
    double alpha, rc, kc;
    choose_ewald(b, n, V, e.short_cutoff, &alpha, &rc, &kc);
    const int c6 = b->opt.c6 && e.any_c6;
    const int ewald = e.any_charge || c6;

    sums sm;
    memset(&sm, 0, sizeof sm);
    sm.f = result->forces;
    sm.min_dist = INFINITY;
    sm.min_i = sm.min_j = -1;
    real_space(b, s, &e, alpha, ewald ? rc : 0, ke, c6, &sm);
    if (ewald) {
        st = reciprocal_space(s, &e, alpha, kc, ke, c6, &sm);
        if (st != FUSE2_OK) {
            free(sp);
            return st;
        }
        double q2 = 0, qsum = 0;
        for (int i = 0; i < n; i++) {
            q2 += e.q[i] * e.q[i];
            qsum += e.q[i];
        }
        sm.e_self = -ke * alpha / sqrt(M_PI) * q2;
        if (fabs(qsum) > 1e-12) {
            /* neutralising background for charged cells */
            double eb = -ke * M_PI * qsum * qsum / (2 * V * alpha * alpha);
            sm.e_self += eb;
            for (int a = 0; a < 3; a++) sm.virial[a][a] -= eb;
        }
    }
    free(sp);
    b->last_min_distance = sm.min_dist;
    b->last_min_i = sm.min_i;
    b->last_min_j = sm.min_j;

    double coul_real = sm.e_coul_real + sm.e_self;
    double coul = coul_real + sm.e_coul_recip;
    double disp = sm.e_disp_real + sm.e_disp_recip + sm.e_disp_self;
    result->energy = sm.e_short + coul + disp;
    result->energy_per_atom = result->energy / n;
    for (int a = 0; a < 3; a++)
        for (int c = 0; c < 3; c++) result->stress[a][c] = sm.virial[a][c] / V;
    fuse2_calc_result_add_component(result, "short_range", sm.e_short);
    fuse2_calc_result_add_component(result, "coulomb_real", coul_real);
    fuse2_calc_result_add_component(result, "coulomb_recip", sm.e_coul_recip);
    fuse2_calc_result_add_component(result, "coulomb", coul);
    if (b->opt.c6) fuse2_calc_result_add_component(result, "dispersion", disp);
    if (sm.collapse_depth > 0) {
        const fuse2_element *ei = fuse2_element_by_z(s->species[sm.collapse_i]);
        const fuse2_element *ej = fuse2_element_by_z(s->species[sm.collapse_j]);
        snprintf(result->unphysical, sizeof result->unphysical,
                 "collapse: %s%d and %s%d at %.3f A, inside the %s-%s barrier at %.3f A of %.120s",
                 ei->symbol, sm.collapse_i + 1, ej->symbol, sm.collapse_j + 1, sm.collapse_r,
                 ei->symbol, ej->symbol, sm.collapse_barrier,
                 b->pot.source[0] ? b->pot.source : "the potential");
    }
    if (!isfinite(result->energy))
        return FUSE2_RAISE(FUSE2_ERR_NUMERIC, "non-finite energy (shortest distance %.4g A)",
                           sm.min_dist);
    return FUSE2_OK;
}
