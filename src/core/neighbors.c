/* Periodic neighbour lists and shortest distances for arbitrary cells.
 *
 * Every image j + n of atom j inside a sphere of radius R around atom i is
 * enumerated exactly, in the spirit of Fincke-Pohst lattice enumeration:
 * with the rows of the lattice written as L = T Q (T lower triangular, Q
 * orthonormal, i.e. Gram-Schmidt on the lattice vectors), the squared length
 * of x L for fractional x is |x T|^2, whose last component depends on x_2
 * only, the middle one on x_1 and x_2, and the first on all three. Bounding
 * the components one after the other gives, for each n_2, the exact range of
 * n_1, and for each (n_2, n_1) the exact range of n_0. The work is therefore
 * proportional to the number of images inside the sphere, however skewed the
 * cell is, and no minimum-image assumption is made anywhere. */
#include "fuse2/neighbors.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Distances at or below this (Å) are an atom itself (or a coincident atom) and
 * are not neighbours. */
static const double SELF_DISTANCE = 1e-8;
/* The enumeration bounds are widened by this relative amount, plus a multiple
 * of the rounding error of T (which grows with the skew of the basis), so that
 * rounding never drops an image whose distance computed from L is inside the
 * sphere; the final test always uses the distance computed from L. */
static const double BOUND_SLACK = 1e-9;
/* More images than this along one lattice direction means the cutoff is absurd
 * for the cell (and integer ranges could overflow). */
static const double MAX_IMAGES_PER_AXIS = 1e6;
/* Fractional coordinates beyond this are not a position but a bug upstream
 * (and their integer parts would not fit an int). */
static const double MAX_FRACTIONAL = 1e8;

typedef struct image_search {
    double lattice[3][3]; /* rows */
    double tri[3][3];     /* T with lattice = T Q; tri[i][k] = 0 for k > i */
    double spacing[3];    /* plane spacings h_k: |x_k| <= R / h_k inside radius R */
    double slack;         /* relative widening of the search radius */
} image_search;

static double dot3(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static void cross3(const double a[3], const double b[3], double c[3])
{
    c[0] = a[1] * b[2] - a[2] * b[1];
    c[1] = a[2] * b[0] - a[0] * b[2];
    c[2] = a[0] * b[1] - a[1] * b[0];
}

static double widened(const image_search *q, double radius)
{
    return radius * (1.0 + q->slack) + 1e-12;
}

/* Returns 0 if the lattice is not finite or is singular. */
static int image_search_init(image_search *q, const double lattice[3][3])
{
    memcpy(q->lattice, lattice, sizeof q->lattice);
    memset(q->tri, 0, sizeof q->tri);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++)
            if (!isfinite(lattice[i][k])) return 0;
    const double *a0 = lattice[0], *a1 = lattice[1], *a2 = lattice[2];
    double len0 = sqrt(dot3(a0, a0));
    double c01[3];
    cross3(a0, a1, c01);
    double area = sqrt(dot3(c01, c01));
    double volume = fabs(fuse2_lattice_volume(lattice));
    double scale = fmax(len0, fmax(sqrt(dot3(a1, a1)), sqrt(dot3(a2, a2))));
    if (!(len0 > 0) || !(area > 0) || !(volume > 1e-12 * scale * scale * scale)) return 0;

    double q0[3], q1[3];
    for (int k = 0; k < 3; k++) q0[k] = a0[k] / len0;
    /* q1 = (a0 x a1) x a0 normalised: the in-plane direction perpendicular to
     * a0, without the cancellation of a1 - (a1.q0) q0 */
    double perp[3];
    cross3(c01, a0, perp);
    double perp_len = sqrt(dot3(perp, perp));
    for (int k = 0; k < 3; k++) q1[k] = perp[k] / perp_len;

    q->tri[0][0] = len0;
    q->tri[1][0] = dot3(a1, q0);
    q->tri[1][1] = area / len0;        /* height of a1 above a0 */
    q->tri[2][0] = dot3(a2, q0);
    q->tri[2][1] = dot3(a2, q1);
    q->tri[2][2] = volume / area;      /* plane spacing h_2 */
    fuse2_lattice_plane_spacings(lattice, q->spacing);
    /* |a0||a1||a2| / V is 1 for a cubic cell and huge for a skewed one; the
     * volume, and so T, is only known to about eps times that */
    double skew = len0 * sqrt(dot3(a1, a1)) * sqrt(dot3(a2, a2)) / volume;
    q->slack = BOUND_SLACK + 1e-13 * skew;
    return 1;
}

/* Whether a search of this radius keeps every image index far inside int. */
static int radius_searchable(const image_search *q, double radius)
{
    for (int k = 0; k < 3; k++)
        if (!(widened(q, radius) / q->spacing[k] <= MAX_IMAGES_PER_AXIS)) return 0;
    return 1;
}

/* Called for every image x = d + n with |x L| within the (widened) radius;
 * v = x L, d2 = |v|^2. The visitor may shrink *radius to prune the search. */
typedef void (*image_visitor)(void *ctx, const int n[3], const double v[3], double d2);

static void enumerate_images(const image_search *q, const double d[3], const double *radius,
                             image_visitor visit, void *ctx)
{
    const double(*T)[3] = q->tri;
    const double(*L)[3] = q->lattice;
    double r = widened(q, *radius);
    int lo2 = (int)ceil(-r / T[2][2] - d[2]);
    int hi2 = (int)floor(r / T[2][2] - d[2]);
    for (int n2 = lo2; n2 <= hi2; n2++) {
        double r2 = widened(q, *radius);
        r2 *= r2;
        double x2 = d[2] + n2;
        double y2 = x2 * T[2][2];
        double rem2 = r2 - y2 * y2;
        if (rem2 < 0) continue;
        double s2 = sqrt(rem2);
        double c1 = x2 * T[2][1];
        int lo1 = (int)ceil((-s2 - c1) / T[1][1] - d[1]);
        int hi1 = (int)floor((s2 - c1) / T[1][1] - d[1]);
        for (int n1 = lo1; n1 <= hi1; n1++) {
            double x1 = d[1] + n1;
            double y1 = x1 * T[1][1] + c1;
            double rem1 = rem2 - y1 * y1;
            if (rem1 < 0) continue;
            double s1 = sqrt(rem1);
            double c0 = x1 * T[1][0] + x2 * T[2][0];
            int lo0 = (int)ceil((-s1 - c0) / T[0][0] - d[0]);
            int hi0 = (int)floor((s1 - c0) / T[0][0] - d[0]);
            for (int n0 = lo0; n0 <= hi0; n0++) {
                double x0 = d[0] + n0;
                double v[3];
                for (int k = 0; k < 3; k++) v[k] = x0 * L[0][k] + x1 * L[1][k] + x2 * L[2][k];
                int n[3] = {n0, n1, n2};
                visit(ctx, n, v, dot3(v, v));
            }
        }
    }
}

/* Fractional difference d = f_j - f_i split into a small part (|d_k| <= 1/2,
 * which keeps the enumeration well conditioned) and the integer shift that
 * has to be subtracted from the enumerated n to express it for the stored
 * (possibly unwrapped) coordinates. */
static void frac_difference(const fuse2_structure *s, int i, int j, double d[3], int shift[3])
{
    for (int k = 0; k < 3; k++) {
        double diff = s->frac[j][k] - s->frac[i][k];
        double r = nearbyint(diff);
        d[k] = diff - r;
        shift[k] = (int)r;
    }
}

static int coordinates_usable(const fuse2_structure *s, int i)
{
    for (int k = 0; k < 3; k++)
        if (!(fabs(s->frac[i][k]) < MAX_FRACTIONAL)) return 0; /* also NaN */
    return 1;
}

/* ---------------------------------------------------------------------- */
/* neighbour list                                                          */

typedef struct list_builder {
    fuse2_neighbor_list *list;
    int j;
    int shift[3];
    double cutoff2;
    double self2;
    fuse2_status status;
} list_builder;

static fuse2_status list_reserve(fuse2_neighbor_list *list, int needed)
{
    if (needed <= list->capacity) return FUSE2_OK;
    long long want = list->capacity > 0 ? 2LL * list->capacity : 1024;
    if (want < needed) want = needed;
    if (want > INT_MAX) want = INT_MAX;
    size_t n = (size_t)want;
    int *index = realloc(list->index, n * sizeof *index);
    if (index) list->index = index;
    int(*image)[3] = realloc(list->image, n * sizeof *image);
    if (image) list->image = image;
    double(*vector)[3] = realloc(list->vector, n * sizeof *vector);
    if (vector) list->vector = vector;
    double *distance = realloc(list->distance, n * sizeof *distance);
    if (distance) list->distance = distance;
    if (!index || !image || !vector || !distance)
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate a neighbour list of %lld entries",
                           want);
    list->capacity = (int)want;
    return FUSE2_OK;
}

static void add_neighbor(void *ctx, const int n[3], const double v[3], double d2)
{
    list_builder *b = ctx;
    if (b->status != FUSE2_OK || d2 > b->cutoff2 || d2 <= b->self2) return;
    fuse2_neighbor_list *list = b->list;
    if (list->count == INT_MAX) {
        b->status = FUSE2_RAISE(FUSE2_ERR_ARG,
                                "neighbour list within %g A has more than %d entries",
                                list->cutoff, INT_MAX);
        return;
    }
    if (list->count == list->capacity) {
        b->status = list_reserve(list, list->count + 1);
        if (b->status != FUSE2_OK) return;
    }
    int e = list->count++;
    list->index[e] = b->j;
    for (int k = 0; k < 3; k++) {
        list->image[e][k] = n[k] - b->shift[k];
        list->vector[e][k] = v[k];
    }
    list->distance[e] = sqrt(d2);
}

fuse2_status fuse2_neighbor_list_build(fuse2_neighbor_list *list, const fuse2_structure *s,
                                       double cutoff)
{
    if (!(cutoff > 0) || !isfinite(cutoff))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "neighbour cutoff must be a positive number (got %g A)",
                           cutoff);
    if (s->natoms < 0) return FUSE2_RAISE(FUSE2_ERR_ARG, "negative atom count %d", s->natoms);
    image_search q;
    if (!image_search_init(&q, s->lattice))
        return FUSE2_RAISE(FUSE2_ERR_NUMERIC,
                           "neighbour list: lattice is singular or not finite (volume %.6g A^3)",
                           fuse2_structure_volume(s));
    if (!radius_searchable(&q, cutoff))
        return FUSE2_RAISE(FUSE2_ERR_ARG,
                           "neighbour cutoff %g A needs more than %g periodic images along a "
                           "lattice direction (plane spacings %g %g %g A)",
                           cutoff, MAX_IMAGES_PER_AXIS, q.spacing[0], q.spacing[1],
                           q.spacing[2]);
    for (int i = 0; i < s->natoms; i++)
        if (!coordinates_usable(s, i))
            return FUSE2_RAISE(FUSE2_ERR_NUMERIC,
                               "neighbour list: atom %d has a non-finite or absurd fractional "
                               "coordinate (%g %g %g)",
                               i + 1, s->frac[i][0], s->frac[i][1], s->frac[i][2]);

    /* offsets are reallocated every time: natoms may change between builds */
    int *offsets = realloc(list->offsets, (size_t)(s->natoms + 1) * sizeof *offsets);
    if (!offsets)
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate neighbour offsets for %d atoms",
                           s->natoms);
    list->offsets = offsets;
    list->natoms = s->natoms;
    list->cutoff = cutoff;
    list->count = 0;
    FUSE2_CALL(list_reserve(list, 1));

    list_builder b = {.list = list,
                      .cutoff2 = cutoff * cutoff,
                      .self2 = SELF_DISTANCE * SELF_DISTANCE,
                      .status = FUSE2_OK};
    for (int i = 0; i < s->natoms; i++) {
        list->offsets[i] = list->count;
        for (int j = 0; j < s->natoms; j++) {
            double d[3];
            b.j = j;
            frac_difference(s, i, j, d, b.shift);
            enumerate_images(&q, d, &cutoff, add_neighbor, &b);
            if (b.status != FUSE2_OK) {
                fuse2_error_push_frame(__FILE__, __LINE__, __func__);
                list->count = 0;
                memset(list->offsets, 0, (size_t)(s->natoms + 1) * sizeof *list->offsets);
                return b.status;
            }
        }
    }
    list->offsets[s->natoms] = list->count;
    return FUSE2_OK;
}

void fuse2_neighbor_list_free(fuse2_neighbor_list *list)
{
    if (!list) return;
    free(list->offsets);
    free(list->index);
    free(list->image);
    free(list->vector);
    free(list->distance);
    memset(list, 0, sizeof *list);
}

/* ---------------------------------------------------------------------- */
/* shortest distances                                                      */

typedef struct shortest_search {
    double radius;   /* best distance so far (Å) */
    int skip_origin; /* i == j: the n = 0 image is the atom itself */
} shortest_search;

static void keep_shortest(void *ctx, const int n[3], const double v[3], double d2)
{
    (void)v;
    shortest_search *sh = ctx;
    if (sh->skip_origin && n[0] == 0 && n[1] == 0 && n[2] == 0) return;
    double d = sqrt(d2);
    if (d < sh->radius) sh->radius = d;
}

/* An upper bound on the shortest i-j distance from the 27 images nearest in
 * fractional terms; the exact search then only has to look inside it. */
static double nearby_image_bound(const image_search *q, const double d[3], int self)
{
    double best = INFINITY;
    for (int a = -1; a <= 1; a++)
        for (int b = -1; b <= 1; b++)
            for (int c = -1; c <= 1; c++) {
                if (self && a == 0 && b == 0 && c == 0) continue;
                double x[3] = {d[0] + a, d[1] + b, d[2] + c};
                double v[3];
                for (int k = 0; k < 3; k++)
                    v[k] = x[0] * q->lattice[0][k] + x[1] * q->lattice[1][k] +
                           x[2] * q->lattice[2][k];
                best = fmin(best, sqrt(dot3(v, v)));
            }
    return best;
}

static void shortest_pair(const image_search *q, const fuse2_structure *s, int i, int j,
                          shortest_search *sh)
{
    double d[3];
    int shift[3];
    frac_difference(s, i, j, d, shift);
    sh->skip_origin = (i == j);
    sh->radius = fmin(sh->radius, nearby_image_bound(q, d, i == j));
    if (!radius_searchable(q, sh->radius)) {
        sh->radius = NAN; /* a degenerate, needle- or sheet-like cell */
        return;
    }
    enumerate_images(q, d, &sh->radius, keep_shortest, sh);
}

double fuse2_periodic_distance(const fuse2_structure *s, int i, int j)
{
    if (i < 0 || j < 0 || i >= s->natoms || j >= s->natoms) return NAN;
    if (!coordinates_usable(s, i) || !coordinates_usable(s, j)) return NAN;
    image_search q;
    if (!image_search_init(&q, s->lattice)) return NAN;
    shortest_search sh = {.radius = INFINITY};
    shortest_pair(&q, s, i, j, &sh);
    return sh.radius;
}

double fuse2_structure_min_distance(const fuse2_structure *s)
{
    if (s->natoms <= 0) return INFINITY;
    image_search q;
    if (!image_search_init(&q, s->lattice)) return NAN;
    for (int i = 0; i < s->natoms; i++)
        if (!coordinates_usable(s, i)) return NAN;
    /* one shared radius: every pair only searches below the best so far */
    shortest_search sh = {.radius = INFINITY};
    for (int i = 0; i < s->natoms; i++)
        for (int j = i; j < s->natoms; j++) {
            shortest_pair(&q, s, i, j, &sh);
            if (isnan(sh.radius)) return NAN;
        }
    return sh.radius;
}
