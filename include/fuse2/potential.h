/* Interatomic potential model in GULP library terms, and the GULP library
 * reader. Units: eV, Å, elementary charges.
 *
 * Pair energies (r in Å), counted once per pair:
 *   buck    A exp(-r/rho) - C/r^6         params: A, rho, C
 *   lennard A/r^m - B/r^n (m, n default 12, 6)   params: A, B, m, n
 *   morse   D[(1 - exp(-a(r - r0)))^2 - 1]       params: D, a, r0
 *   spline  S(r + p1), S the natural cubic spline through a table of
 *           (separation, energy) points (GULP `spline [cubic]`, FUSE2's SPP
 *           tables); params: p1 (0 if not given). Linear below the first
 *           point (value and slope of S there), 0 beyond the last point.
 * A term acts for rmin <= r <= rmax and is truncated there without shift
 * (GULP's meaning); repeated terms for one pair add. */
#ifndef FUSE2_POTENTIAL_H
#define FUSE2_POTENTIAL_H

#include "fuse2/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fuse2_pair_kind {
    FUSE2_PAIR_BUCKINGHAM = 0,
    FUSE2_PAIR_LENNARD,
    FUSE2_PAIR_MORSE,
    FUSE2_PAIR_SPLINE
} fuse2_pair_kind;

/* The table of a spline term: n >= 4 points, separations strictly
 * increasing (Å), energies (eV), and the second derivatives of the natural
 * cubic spline through them (computed by fuse2_potential_set_add_term). One
 * allocation; owned by the potential set that holds the term. */
enum { FUSE2_SPLINE_MIN_POINTS = 4 };

typedef struct fuse2_spline_table {
    int n;
    double *r, *e, *d2;
} fuse2_spline_table;

/* S(x), dS/dx, d2S/dx2 of the table (see the spline row above). */
void fuse2_spline_table_eval(const fuse2_spline_table *t, double x, double out[3]);
void fuse2_spline_table_free(fuse2_spline_table *t);

typedef struct fuse2_pair_term {
    fuse2_pair_kind kind;
    int z1, z2;          /* atomic numbers, z1 <= z2 */
    double param[4];     /* see the table above */
    double rmin, rmax;   /* Å; rmin = 0 when only rmax is given */
    int line;            /* line in the library file, for messages */
    /* FUSE2_PAIR_SPLINE only: the table (n, r, e are read by add_term, which
     * stores its own copy; the set frees it). NULL for the other kinds. */
    fuse2_spline_table *table;
} fuse2_pair_term;

typedef struct fuse2_species_charge {
    int z;
    double charge;       /* e */
    int line;
} fuse2_species_charge;

typedef struct fuse2_potential_set {
    char source[512];    /* file it came from ("" if built in code) */
    int nspecies;
    fuse2_species_charge *species;
    int nterms;
    fuse2_pair_term *terms;
    int has_cutp;        /* `cutp R taper` was given */
    double cutp_radius;  /* Å */
    double cutp_taper;   /* Å, 0 = sharp cut at the radius */
} fuse2_potential_set;

void fuse2_potential_set_init(fuse2_potential_set *set);
/* Frees the arrays and re-initialises the set. */
void fuse2_potential_set_free(fuse2_potential_set *set);
/* Adding a species again with the same charge does nothing; with a different
 * charge it is FUSE2_ERR_ARG. */
fuse2_status fuse2_potential_set_add_species(fuse2_potential_set *set, int z, double charge);
/* Copies *t (and its spline table), swapping z1/z2 if needed so that
 * z1 <= z2. Rejects non-finite numbers, rmin < 0, rmax <= 0, rmin >= rmax,
 * buck rho <= 0, lennard exponents <= 0, and spline tables with fewer than 4
 * points or separations not strictly increasing. */
fuse2_status fuse2_potential_set_add_term(fuse2_potential_set *set, const fuse2_pair_term *t);
/* Charge of element z; *found = 0 when the library does not list it. */
double fuse2_potential_set_charge(const fuse2_potential_set *set, int z, int *found);

/* Reads a GULP library as it is: `species` (an optional count is ignored),
 * `buck`, `lennard [m n]`, `morse` blocks, one or two cut-offs, `cutp`,
 * `#` comments, blank lines, tabs, `library`/`include` of further files
 * (relative to the including file). Errors name file, line and problem.
 * Appends to `set` (initialise it first).
 *
 * GULP's rules (potword21/genword), reproduced:
 *   - a block goes on over blank lines until a line whose first word is not
 *     an element label (a keyword);
 *   - species lines `El [core|c] q`; a species listed again must have the
 *     same charge; shells, breathing shells are FUSE2_ERR_UNSUPPORTED;
 *   - numbers after the labels: buck  A rho C [rmin] rmax, or A rho rmax
 *     (C = 0); lennard A B [rmin] rmax, or A rmax (B = 0); morse D a r0 rmax,
 *     D a r0 coul rmax or D a r0 coul rmin rmax, where the 4th number is
 *     GULP's Coulomb-subtraction fraction: it must be 0 here (a 5-number
 *     morse line is NOT "D a r0 rmin rmax");
 *   - numbers beyond those are fitting flags (3 for buck and morse, 2 for
 *     lennard), must be 0 or 1, and are ignored;
 *   - keyword-line options: only `inter`; `cutp R [poly] [taper]`, a later
 *     cutp replaces an earlier one, taper ranges <= 0.01 Å are stored as 0
 *     (GULP ignores them);
 *   - `library name` also finds name.lib; include cycles are errors;
 *   - `spline [cubic]` blocks: a pair line `A [core] B [core] [p1 [rmin]] rmax
 *     [flag]` followed by rows `energy separation` (eV, Å; energy first, as
 *     GULP reads them) up to the next pair line or keyword; at least 4 rows
 *     with strictly increasing separations (docs/builtin-calculator.md).
 * Unsupported keywords (three, spring, elements, buck4, ...) are
 * FUSE2_ERR_UNSUPPORTED, malformed input FUSE2_ERR_PARSE, a missing file
 * FUSE2_ERR_IO. On failure `set` is left as it was before the call. */
fuse2_status fuse2_gulp_library_read(const char *path, fuse2_potential_set *set);
fuse2_status fuse2_gulp_library_read_string(const char *text, const char *name,
                                            fuse2_potential_set *set);

/* Per-element radii ("El r") or per-pair distances ("El El d") used for
 * contact checks (the ipcsp *-radii.lib and *-dist.lib files), in Å.
 * Pairs are stored with pair_z1 <= pair_z2. */
typedef struct fuse2_contact_table {
    int nradii;
    int radius_z[128];
    double radius[128];
    int npairs;
    int pair_z1[256], pair_z2[256];
    double pair_distance[256];
} fuse2_contact_table;
/* Clears *table, then reads one file; `#`/`!` comments and blank lines are
 * allowed, values must be positive, a repeated entry must repeat the same
 * value. On failure *table is left empty. */
fuse2_status fuse2_contact_table_read(const char *path, fuse2_contact_table *table);

#ifdef __cplusplus
}
#endif
#endif
