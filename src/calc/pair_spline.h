/* Private to src/calc: everything that acts between two elements at distance
 * r in the built-in calculator (Ewald real-space Coulomb, short-range terms,
 * Ewald real-space C6), and its tabulation as a piecewise cubic Hermite
 * spline. Units: eV, Å. */
#ifndef FUSE2_CALC_PAIR_SPLINE_H
#define FUSE2_CALC_PAIR_SPLINE_H

#include <stddef.h>

#include "fuse2/error.h"
#include "fuse2/potential.h"

enum { PAIR_MODEL_MAX_TERMS = 8 };

typedef struct pair_model_term {
    fuse2_pair_kind kind;
    double p[4];
    double rmin, rmax;
    const fuse2_spline_table *table; /* FUSE2_PAIR_SPLINE: the potential set's table */
} pair_model_term;

typedef struct pair_model {
    double qq;                 /* k q_i q_j, eV Å */
    double alpha;              /* Ewald parameter, 1/Å */
    double rc;                 /* Ewald real-space cut-off, Å */
    double c6;                 /* C of the Ewald-summed dispersion, eV Å^6 */
    int nterms;
    pair_model_term term[PAIR_MODEL_MAX_TERMS];
    double taper_start, taper_end; /* cutp window; taper_end = 0: none */
} pair_model;

/* Energy parts of one pair and their first two r-derivatives. */
typedef struct pair_value {
    double e[3];      /* total */
    double coul[3];   /* Ewald real-space Coulomb */
    double disp[3];   /* Ewald real-space dispersion */
} pair_value;

/* Exact evaluation at r. Terms, cut-offs and tapers are switched on or off by
 * where r_activity lies (= r for a plain evaluation; a segment's midpoint
 * when tabulating, so segment ends get one-sided limits). */
void pair_model_eval(const pair_model *m, double r, double r_activity, pair_value *out);
/* Largest distance at which anything acts. */
double pair_model_range(const pair_model *m);

/* Node layouts: totals E, dE/dr, G = (dE/dr)/r, dG/dr (what forces, stress
 * and the energy need), and separately the parts Ec, dEc/dr, Ed, dEd/dr
 * (only for the energy breakdown), so the hot loop touches half the memory. */
enum { PAIR_SPLINE_STRIDE = 4 };

typedef struct pair_spline_segment {
    double r_lo, r_hi, inv_h, h;
    int n;            /* nodes */
    double *node;     /* n x PAIR_SPLINE_STRIDE totals */
    double *part;     /* n x PAIR_SPLINE_STRIDE parts */
} pair_spline_segment;

typedef struct pair_spline {
    double r_min, r_max;      /* tabulated range; beyond r_max everything is 0 */
    int nseg;
    pair_spline_segment *seg;
    double bin_inv;           /* coarse index: r -> segment; a bin that holds a
                               * segment boundary stores -(first segment + 1) */
    int nbins;
    int *bin_seg;
    double max_error;         /* largest interpolation error found at build, eV */
} pair_spline;

/* Tabulates m on [r_min, range]; pieces are refined until the cubic Hermite
 * interpolant of E, G and the parts is within tol (absolute, plus tol
 * relative) of the exact values at every interval midpoint. */
fuse2_status pair_spline_build(pair_spline *sp, const pair_model *m, double r_min, double tol);
void pair_spline_free(pair_spline *sp);

/* Locates r: segment, node index and the Hermite basis. */
typedef struct pair_spline_point {
    const pair_spline_segment *s;
    int i;
    double h00, h01, h10, h11;
} pair_spline_point;

static inline int pair_spline_locate(const pair_spline *sp, double r, pair_spline_point *pt)
{
    if (r >= sp->r_max) return 0;
    int k = sp->bin_seg[(int)((r - sp->r_min) * sp->bin_inv)];
    if (k < 0) /* rare: the bin holds a segment boundary */
        for (k = -k - 1; r > sp->seg[k].r_hi; k++) continue;
    const pair_spline_segment *s = &sp->seg[k];
    double u = (r - s->r_lo) * s->inv_h;
    int i = (int)u;
    if (i > s->n - 2) i = s->n - 2;
    double t = u - i, t2 = t * t, t3 = t2 * t;
    double h = s->h;
    pt->s = s;
    pt->i = i;
    pt->h00 = 2 * t3 - 3 * t2 + 1;
    pt->h01 = 1 - pt->h00;
    pt->h10 = (t3 - 2 * t2 + t) * h;
    pt->h11 = (t3 - t2) * h;
    return 1;
}

/* E and G = (dE/dr)/r at r_min <= r (0 beyond the range). */
static inline void pair_spline_eval(const pair_spline *sp, double r, double *E, double *G)
{
    pair_spline_point pt;
    if (!pair_spline_locate(sp, r, &pt)) {
        *E = *G = 0;
        return;
    }
    const double *a = pt.s->node + (size_t)pt.i * PAIR_SPLINE_STRIDE, *b = a + PAIR_SPLINE_STRIDE;
    *E = pt.h00 * a[0] + pt.h10 * a[1] + pt.h01 * b[0] + pt.h11 * b[1];
    *G = pt.h00 * a[2] + pt.h10 * a[3] + pt.h01 * b[2] + pt.h11 * b[3];
}

/* E, G and the Coulomb and dispersion parts of E. */
static inline void pair_spline_eval_parts(const pair_spline *sp, double r, double *E, double *G,
                                          double *Ec, double *Ed)
{
    pair_spline_point pt;
    if (!pair_spline_locate(sp, r, &pt)) {
        *E = *G = *Ec = *Ed = 0;
        return;
    }
    const double *a = pt.s->node + (size_t)pt.i * PAIR_SPLINE_STRIDE, *b = a + PAIR_SPLINE_STRIDE;
    *E = pt.h00 * a[0] + pt.h10 * a[1] + pt.h01 * b[0] + pt.h11 * b[1];
    *G = pt.h00 * a[2] + pt.h10 * a[3] + pt.h01 * b[2] + pt.h11 * b[3];
    a = pt.s->part + (size_t)pt.i * PAIR_SPLINE_STRIDE;
    b = a + PAIR_SPLINE_STRIDE;
    *Ec = pt.h00 * a[0] + pt.h10 * a[1] + pt.h01 * b[0] + pt.h11 * b[1];
    *Ed = pt.h00 * a[2] + pt.h10 * a[3] + pt.h01 * b[2] + pt.h11 * b[3];
}

#endif
