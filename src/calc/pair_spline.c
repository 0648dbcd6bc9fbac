/* Pair interactions of the built-in calculator and their spline tables. */
#include "pair_spline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double TWO_OVER_SQRTPI = 1.1283791670955126;

/* phi(x) = erfc(x)/x and two derivatives: erfc(alpha r)/r = alpha phi(alpha r) */
static void coulomb_kernel(double x, double out[3])
{
    double ec = erfc(x), ex = TWO_OVER_SQRTPI * exp(-x * x), x2 = x * x;
    out[0] = ec / x;
    out[1] = -ec / x2 - ex / x;
    out[2] = 2 * ec / (x2 * x) + ex * (2 / x2 + 2);
}

/* psi(x) = exp(-x^2)(1 + x^2 + x^4/2)/x^6 and two derivatives, with
 * P = x^6 + 3x^4 + 6x^2 + 6 so that psi' = -exp(-x^2) P / x^7; the real-space
 * C6 Ewald term is -C alpha^6 psi(alpha r) */
static void dispersion_kernel(double x, double out[3])
{
    double x2 = x * x, x4 = x2 * x2, x6 = x4 * x2, ex = exp(-x2);
    double P = x6 + 3 * x4 + 6 * x2 + 6, dP = 6 * x4 * x + 12 * x2 * x + 12 * x;
    out[0] = ex * (1 + x2 + 0.5 * x4) / x6;
    out[1] = -ex * P / (x6 * x);
    out[2] = -ex * (-2 * P / x6 + dP / (x6 * x) - 7 * P / (x6 * x2));
}

/* One short-range term and two derivatives. */
static void term_eval(const pair_model_term *t, double r, double out[3])
{
    switch (t->kind) {
    case FUSE2_PAIR_BUCKINGHAM: {
        double ex = t->p[0] * exp(-r / t->p[1]), ir = 1.0 / r, ir2 = ir * ir;
        double ir6 = ir2 * ir2 * ir2;
        out[0] = ex - t->p[2] * ir6;
        out[1] = -ex / t->p[1] + 6 * t->p[2] * ir6 * ir;
        out[2] = ex / (t->p[1] * t->p[1]) - 42 * t->p[2] * ir6 * ir2;
        break;
    }
    case FUSE2_PAIR_LENNARD: {
        double m = t->p[2], n = t->p[3];
        double rm = pow(r, -m), rn = pow(r, -n);
        out[0] = t->p[0] * rm - t->p[1] * rn;
        out[1] = (-m * t->p[0] * rm + n * t->p[1] * rn) / r;
        out[2] = (m * (m + 1) * t->p[0] * rm - n * (n + 1) * t->p[1] * rn) / (r * r);
        break;
    }
    case FUSE2_PAIR_MORSE: {
        double D = t->p[0], a = t->p[1], x = exp(-a * (r - t->p[2]));
        out[0] = D * (x * x - 2 * x);
        out[1] = 2 * a * D * x * (1 - x);
        out[2] = -2 * a * a * D * x * (1 - 2 * x);
        break;
    }
    case FUSE2_PAIR_SPLINE: {
        /* the table at r + p1; the caller has checked that r + p1 (at the
         * activity point) is within the table, so an argument an ulp beyond
         * its last point is that point */
        const fuse2_spline_table *tab = t->table;
        double x = fmin(r + t->p[0], tab->r[tab->n - 1]);
        fuse2_spline_table_eval(tab, x, out);
        break;
    }
    }
}

/* r at which the spline term's table ends (beyond it the term is 0). */
static double spline_term_end(const pair_model_term *t)
{
    return t->table->r[t->table->n - 1] - t->p[0];
}

void pair_model_eval(const pair_model *m, double r, double r_act, pair_value *out)
{
    memset(out, 0, sizeof *out);
    if ((m->qq != 0 || m->c6 != 0) && r_act <= m->rc) {
        double x = m->alpha * r, a = m->alpha, k[3];
        if (m->qq != 0) {
            coulomb_kernel(x, k);
            out->coul[0] = m->qq * a * k[0];
            out->coul[1] = m->qq * a * a * k[1];
            out->coul[2] = m->qq * a * a * a * k[2];
        }
        if (m->c6 != 0) {
            double a2 = a * a, a6 = a2 * a2 * a2;
            dispersion_kernel(x, k);
            out->disp[0] = -m->c6 * a6 * k[0];
            out->disp[1] = -m->c6 * a6 * a * k[1];
            out->disp[2] = -m->c6 * a6 * a2 * k[2];
        }
    }
    double s[3] = {0, 0, 0};
    for (int t = 0; t < m->nterms; t++) {
        const pair_model_term *pt = &m->term[t];
        if (r_act < pt->rmin || r_act > pt->rmax) continue;
        if (pt->kind == FUSE2_PAIR_SPLINE && r_act > spline_term_end(pt)) continue;
        double v[3] = {0, 0, 0};
        term_eval(pt, r, v);
        for (int k = 0; k < 3; k++) s[k] += v[k];
    }
    if (m->taper_end > 0 && r_act > m->taper_start) {
        /* GULP's cutp taper f(u) = 1 - 10u^3 + 15u^4 - 6u^5 on [R - t, R] */
        double f = 0, f1 = 0, f2 = 0;
        if (r_act < m->taper_end) {
            double w = m->taper_end - m->taper_start, u = (r - m->taper_start) / w;
            double u2 = u * u, u3 = u2 * u;
            f = 1 - 10 * u3 + 15 * u3 * u - 6 * u3 * u2;
            f1 = (-30 * u2 + 60 * u3 - 30 * u3 * u) / w;
            f2 = (-60 * u + 180 * u2 - 120 * u3) / (w * w);
        }
        double s0 = s[0] * f, s1 = s[1] * f + s[0] * f1, s2 = s[2] * f + 2 * s[1] * f1 + s[0] * f2;
        s[0] = s0;
        s[1] = s1;
        s[2] = s2;
    }
    for (int k = 0; k < 3; k++) out->e[k] = s[k] + out->coul[k] + out->disp[k];
}

double pair_model_range(const pair_model *m)
{
    double range = (m->qq != 0 || m->c6 != 0) ? m->rc : 0;
    for (int t = 0; t < m->nterms; t++) range = fmax(range, m->term[t].rmax);
    if (m->taper_end > 0) range = fmin(range, fmax(m->taper_end, (m->qq != 0 || m->c6 != 0) ? m->rc : 0));
    return range;
}

/* ---- tabulation ---- */

/* The eight tabulated values at r: totals (node[0..3]), parts (node[4..7]). */
enum { FULL_NODE = 2 * PAIR_SPLINE_STRIDE };

static void fill_node(const pair_model *m, double r, double r_act, double *node)
{
    pair_value v;
    pair_model_eval(m, r, r_act, &v);
    node[0] = v.e[0];
    node[1] = v.e[1];
    node[2] = v.e[1] / r;
    node[3] = v.e[2] / r - v.e[1] / (r * r);
    node[4] = v.coul[0];
    node[5] = v.coul[1];
    node[6] = v.disp[0];
    node[7] = v.disp[1];
}

static double hermite(const double *a, const double *b, int k, double h)
{
    /* value at the midpoint of [a, b] from values a[k], b[k] and slopes a[k+1], b[k+1] */
    return 0.5 * (a[k] + b[k]) + 0.125 * h * (a[k + 1] - b[k + 1]);
}

typedef struct segment_list {
    pair_spline_segment *seg;
    int n, cap;
    double max_error;
} segment_list;

/* The knot of a spline term strictly inside (lo, hi) closest to its middle,
 * or NaN. A cubic spline's third derivative jumps at its knots, so a piece
 * that does not converge is split there first: pieces between knots are
 * smooth and converge with few nodes. */
static double knot_inside(const pair_model *m, double lo, double hi)
{
    const double mid = 0.5 * (lo + hi), margin = 1e-9 * (1 + hi);
    double best = NAN;
    for (int t = 0; t < m->nterms; t++) {
        const pair_model_term *pt = &m->term[t];
        if (pt->kind != FUSE2_PAIR_SPLINE) continue;
        const fuse2_spline_table *tab = pt->table;
        /* first knot at or beyond mid, by bisection; it and its predecessor */
        int a = 0, b = tab->n;
        while (a < b) {
            int c = (a + b) / 2;
            if (tab->r[c] - pt->p[0] < mid) a = c + 1;
            else b = c;
        }
        for (int k = a - 1; k <= a; k++) {
            if (k < 0 || k >= tab->n) continue;
            double x = tab->r[k] - pt->p[0];
            if (x <= lo + margin || x >= hi - margin) continue;
            if (isnan(best) || fabs(x - mid) < fabs(best - mid)) best = x;
        }
    }
    return best;
}

static fuse2_status add_piece(segment_list *list, const pair_model *m, double lo, double hi,
                              double r_act, double tol, int depth)
{
    int intervals = (int)ceil((hi - lo) / 0.02);
    if (intervals < 2) intervals = 2;
    double *node = NULL;
    for (;;) {
        int n = intervals + 1;
        double h = (hi - lo) / intervals;
        double *buf = realloc(node, (size_t)n * FULL_NODE * sizeof *buf);
        if (!buf) {
            free(node);
            return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate a pair table");
        }
        node = buf;
        for (int k = 0; k < n; k++)
            fill_node(m, k == n - 1 ? hi : lo + k * h, r_act, node + (size_t)k * FULL_NODE);
        double worst = 0;
        int ok = 1;
        for (int k = 0; k < intervals && ok; k++) {
            double mid[FULL_NODE];
            fill_node(m, lo + (k + 0.5) * h, r_act, mid);
            const double *a = node + (size_t)k * FULL_NODE, *b = a + FULL_NODE;
            for (int q = 0; q < FULL_NODE; q += 2) {
                double err = fabs(hermite(a, b, q, h) - mid[q]);
                worst = fmax(worst, err);
                if (err > tol * (1 + fabs(mid[q]))) ok = 0;
            }
        }
        if (ok) {
            if (list->n == list->cap) {
                int cap = list->cap ? 2 * list->cap : 8;
                pair_spline_segment *s = realloc(list->seg, (size_t)cap * sizeof *s);
                if (!s) {
                    free(node);
                    return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate a pair table");
                }
                list->seg = s;
                list->cap = cap;
            }
            /* split the interleaved nodes into the totals and the parts */
            double *tot = malloc((size_t)n * PAIR_SPLINE_STRIDE * sizeof *tot);
            double *part = malloc((size_t)n * PAIR_SPLINE_STRIDE * sizeof *part);
            if (!tot || !part) {
                free(tot);
                free(part);
                free(node);
                return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate a pair table");
            }
            for (int k = 0; k < n; k++) {
                memcpy(tot + (size_t)k * PAIR_SPLINE_STRIDE, node + (size_t)k * FULL_NODE,
                       PAIR_SPLINE_STRIDE * sizeof *tot);
                memcpy(part + (size_t)k * PAIR_SPLINE_STRIDE,
                       node + (size_t)k * FULL_NODE + PAIR_SPLINE_STRIDE, PAIR_SPLINE_STRIDE * sizeof *part);
            }
            free(node);
            list->seg[list->n++] = (pair_spline_segment){lo, hi, 1.0 / h, h, n, tot, part};
            list->max_error = fmax(list->max_error, worst);
            return FUSE2_OK;
        }
        if (intervals < 256) {
            intervals *= 2;
            continue;
        }
        free(node);
        if (depth > 24)
            return FUSE2_RAISE(FUSE2_ERR_NUMERIC,
                               "pair table does not converge near r = %.4g A (tolerance %g)", lo, tol);
        /* steep somewhere: split so the flat part stays coarse (at a spline
         * knot if there is one inside) */
        double mid = knot_inside(m, lo, hi);
        if (isnan(mid)) mid = 0.5 * (lo + hi);
        FUSE2_CALL(add_piece(list, m, lo, mid, r_act, tol, depth + 1));
        FUSE2_CALL(add_piece(list, m, mid, hi, r_act, tol, depth + 1));
        return FUSE2_OK;
    }
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

fuse2_status pair_spline_build(pair_spline *sp, const pair_model *m, double r_min, double tol)
{
    memset(sp, 0, sizeof *sp);
    sp->r_min = r_min;
    double range = pair_model_range(m);
    sp->r_max = fmax(range, r_min);
    if (range <= r_min) return FUSE2_OK;
    /* every place where something switches on or off splits the table, so
     * truncations stay exact and each piece is smooth */
    double br[6 * PAIR_MODEL_MAX_TERMS + 8];
    int nb = 0;
    br[nb++] = r_min;
    br[nb++] = range;
    if (m->qq != 0 || m->c6 != 0) br[nb++] = m->rc;
    for (int t = 0; t < m->nterms; t++) {
        br[nb++] = m->term[t].rmin;
        br[nb++] = m->term[t].rmax;
        if (m->term[t].kind == FUSE2_PAIR_SPLINE) {
            /* the table's ends: linear before, 0 after */
            br[nb++] = m->term[t].table->r[0] - m->term[t].p[0];
            br[nb++] = spline_term_end(&m->term[t]);
        }
    }
    if (m->taper_end > 0) {
        br[nb++] = m->taper_start;
        br[nb++] = m->taper_end;
    }
    qsort(br, (size_t)nb, sizeof *br, compare_double);
    segment_list list = {0};
    fuse2_status st = FUSE2_OK;
    for (int k = 0; k + 1 < nb; k++) {
        double lo = fmax(br[k], r_min), hi = fmin(br[k + 1], range);
        if (hi - lo < 1e-9) continue;
        st = add_piece(&list, m, lo, hi, 0.5 * (lo + hi), tol, 0);
        if (st != FUSE2_OK) break;
    }
    sp->seg = list.seg;
    sp->nseg = list.n;
    sp->max_error = list.max_error;
    if (st != FUSE2_OK) {
        pair_spline_free(sp);
        return st;
    }
    /* coarse index (0.01 A bins) to the first segment that can hold r */
    sp->bin_inv = 100.0;
    sp->nbins = (int)ceil((sp->r_max - r_min) * sp->bin_inv) + 1;
    sp->bin_seg = malloc((size_t)sp->nbins * sizeof *sp->bin_seg);
    if (!sp->bin_seg) {
        pair_spline_free(sp);
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate a pair table");
    }
    int s = 0;
    for (int b = 0; b < sp->nbins; b++) {
        double r = r_min + b / sp->bin_inv, r_end = r_min + (b + 1) / sp->bin_inv;
        while (s < sp->nseg - 1 && sp->seg[s].r_hi < r) s++;
        /* the whole bin in segment s, or a boundary inside it */
        sp->bin_seg[b] = (sp->seg[s].r_hi >= r_end || s == sp->nseg - 1) ? s : -(s + 1);
    }
    return FUSE2_OK;
}

void pair_spline_free(pair_spline *sp)
{
    for (int k = 0; k < sp->nseg; k++) {
        free(sp->seg[k].node);
        free(sp->seg[k].part);
    }
    free(sp->seg);
    free(sp->bin_seg);
    memset(sp, 0, sizeof *sp);
}
