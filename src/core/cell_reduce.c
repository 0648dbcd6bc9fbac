/* Niggli reduction of the cell (fuse2_structure_reduce_cell, structure.h).
 *
 * Random generators produce cells such as a = (5,0,0), b = (47,5,0),
 * c = (13,-29,5): the lattice is fine but the basis is terrible for lattice
 * sums. The basis is first made compact by repeated pairwise (Gauss/Lagrange)
 * size reduction, which terminates quickly however skewed the input is, and
 * then put into Niggli form by spglib (whose Krivy-Gruber loop shortens one
 * lattice vector at a time and can run out of iterations on raw random
 * cells). Every step is tracked as an integer unimodular matrix M so that the
 * final lattice is exactly M L and the fractional coordinates are exactly
 * f M^-1: the periodic crystal cannot change. */
#include "fuse2/structure.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <spglib.h>

/* Niggli tolerance relative to the squared cell length scale V^(2/3) (spglib
 * compares squared lengths and doubled dot products with it). */
static const double NIGGLI_RELATIVE_EPS = 1e-5;
static const int MAX_SIZE_REDUCTION_STEPS = 100000;
/* Keeps the integer transform far from long long overflow; a basis that
 * needs more is numerically degenerate anyway. */
static const double MAX_TRANSFORM_ENTRY = 1e12;

typedef long long imat3[3][3];

static double dot3(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/* sum_i m_i x_i with the rounding error of every product and sum carried
 * along (Ogita, Rump & Oishi's Dot2): huge integer multiples of long vectors
 * cancel to short ones, and a plain dot product would keep the absolute
 * error of the long terms. */
static double exact_integer_dot(const long long m[3], double x0, double x1, double x2)
{
    const double x[3] = {x0, x1, x2};
    double sum = 0, compensation = 0;
    for (int i = 0; i < 3; i++) {
        double a = (double)m[i];
        double p = a * x[i];
        double p_err = fma(a, x[i], -p);
        double t = sum + p;
        double z = t - sum;
        double s_err = (sum - (t - z)) + (p - z);
        sum = t;
        compensation += p_err + s_err;
    }
    return sum + compensation;
}

static void apply_integer(const imat3 m, const double lattice[3][3], double out[3][3])
{
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++)
            out[i][k] = exact_integer_dot(m[i], lattice[0][k], lattice[1][k], lattice[2][k]);
}

static long long integer_det(const imat3 m)
{
    return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
           m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
           m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

/* Inverse of a unimodular integer matrix (adjugate times det = +-1). */
static void integer_inverse(const imat3 m, long long det, imat3 inv)
{
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) {
            int r0 = (k + 1) % 3, r1 = (k + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
            inv[i][k] = (m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]) * det;
        }
}

/* Size-reduces the rows of `basis` pairwise until no vector can be shortened
 * by an integer multiple of another; `m` accumulates the row operations. Each
 * accepted step strictly shortens a lattice vector, so this terminates. */
static fuse2_status size_reduce(double basis[3][3], imat3 m)
{
    const double margin = 1e-12;
    for (int step = 0; step < MAX_SIZE_REDUCTION_STEPS; step++) {
        int improved = 0;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                if (i == j) continue;
                double mu = dot3(basis[i], basis[j]) / dot3(basis[j], basis[j]);
                if (!(fabs(mu) > 0.5 + margin)) continue;
                double k = nearbyint(mu);
                for (int c = 0; c < 3; c++)
                    if (!(fabs(k) * (1.0 + (double)llabs(m[j][c])) + (double)llabs(m[i][c]) <
                          MAX_TRANSFORM_ENTRY))
                        return FUSE2_RAISE(FUSE2_ERR_NUMERIC,
                                           "cell reduction: lattice vectors are nearly linearly "
                                           "dependent (multiplier %g)",
                                           k);
                for (int c = 0; c < 3; c++) basis[i][c] -= k * basis[j][c];
                for (int c = 0; c < 3; c++) m[i][c] -= (long long)k * m[j][c];
                improved = 1;
            }
        if (!improved) return FUSE2_OK;
    }
    return FUSE2_RAISE(FUSE2_ERR_NUMERIC, "cell reduction did not converge in %d steps",
                       MAX_SIZE_REDUCTION_STEPS);
}

/* Integer matrix t with reduced = t basis, if reduced is such a unimodular
 * transform of basis (it must be: spglib only applies integer steps). */
static int integer_transform(const double basis[3][3], const double reduced[3][3], imat3 t)
{
    double inverse[3][3];
    if (fuse2_lattice_inverse(basis, inverse) != FUSE2_OK) return 0;
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) {
            double x = reduced[i][0] * inverse[0][k] + reduced[i][1] * inverse[1][k] +
                       reduced[i][2] * inverse[2][k];
            double r = nearbyint(x);
            if (fabs(x - r) > 1e-6) return 0;
            t[i][k] = (long long)r;
        }
    long long det = integer_det(t);
    return det == 1 || det == -1;
}

static void integer_multiply(const imat3 a, const imat3 b, imat3 out)
{
    imat3 tmp;
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++)
            tmp[i][k] = a[i][0] * b[0][k] + a[i][1] * b[1][k] + a[i][2] * b[2][k];
    memcpy(out, tmp, sizeof tmp);
}

fuse2_status fuse2_structure_reduce_cell(fuse2_structure *s)
{
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++)
            if (!isfinite(s->lattice[i][k]))
                return FUSE2_RAISE(FUSE2_ERR_NUMERIC,
                                   "cell reduction: lattice vector %d is not finite", i + 1);
    double inverse[3][3];
    FUSE2_CALL(fuse2_lattice_inverse(s->lattice, inverse));

    imat3 m = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    double basis[3][3];
    memcpy(basis, s->lattice, sizeof basis);
    FUSE2_CALL(size_reduce(basis, m));
    apply_integer(m, s->lattice, basis); /* exact M L, free of accumulated rounding */

    /* spglib: columns are lattice vectors */
    double columns[3][3];
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) columns[k][i] = basis[i][k];
    double eps = NIGGLI_RELATIVE_EPS * pow(fabs(fuse2_lattice_volume(basis)), 2.0 / 3.0);
    if (spg_niggli_reduce(columns, eps)) {
        double niggli[3][3];
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 3; k++) niggli[i][k] = columns[k][i];
        imat3 t;
        /* if spglib's result were not an integer transform (it always should
         * be) the size-reduced basis is kept: compact, and certainly the
         * same lattice */
        if (integer_transform(basis, niggli, t)) integer_multiply(t, m, m);
    }
    /* spglib gives up after its loop limit; the size-reduced basis is then
     * compact enough for lattice sums, so it is kept without an error */

    long long det = integer_det(m);
    if (det != 1 && det != -1)
        return FUSE2_RAISE(FUSE2_ERR_INTERNAL, "cell reduction produced a transform of "
                           "determinant %lld", det);
    double reduced[3][3];
    apply_integer(m, s->lattice, reduced);
    if (fuse2_lattice_volume(reduced) < 0) {
        /* -L spans the same lattice with the opposite handedness */
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 3; k++) m[i][k] = -m[i][k];
        det = -det;
        apply_integer(m, s->lattice, reduced);
    }

    /* f_new = f_old M^-1 keeps every Cartesian position */
    imat3 minv;
    integer_inverse(m, det, minv);
    for (int a = 0; a < s->natoms; a++) {
        double f[3];
        for (int k = 0; k < 3; k++) {
            const long long column[3] = {minv[0][k], minv[1][k], minv[2][k]};
            f[k] = exact_integer_dot(column, s->frac[a][0], s->frac[a][1], s->frac[a][2]);
        }
        memcpy(s->frac[a], f, sizeof f);
    }
    memcpy(s->lattice, reduced, sizeof reduced);
    fuse2_structure_wrap_positions(s);
    return FUSE2_OK;
}
