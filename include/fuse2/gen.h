/* FUSE2's original structure generator (fuse2-algorithm.md §3, §4): derived
 * constants, cell-shape tables, random assembly of the 4-site sub-module
 * template into a crystal, and the error check shared with the moves.
 * Decomposition into sub-modules is in fuse2/submodule.h.
 * Units: Å, degrees, amu/Å^3 for densities. All randomness comes from the
 * fuse2_rng stream the caller passes in (see FUSE2_RNG_PURPOSE_* below). */
#ifndef FUSE2_GEN_H
#define FUSE2_GEN_H

#include "fuse2/composition.h"
#include "fuse2/error.h"
#include "fuse2/rng.h"
#include "fuse2/structure.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Purpose ids for fuse2_rng_init(seed, walker, step, purpose) of the streams
 * handed to fuse2_gen_structure. The generator draws every decision of one
 * call (all attempts) sequentially from the one stream it is given; callers
 * that generate several structures in one (walker, step) put the member index
 * in `step` (initial population) so each structure has its own stream. */
enum {
    FUSE2_RNG_PURPOSE_GEN_INITIAL = 0x4701, /* initial-population member */
    FUSE2_RNG_PURPOSE_GEN_MOVE13 = 0x4702,  /* move 13 (F = current FU count) */
    FUSE2_RNG_PURPOSE_GEN_MOVE14 = 0x4703   /* move 14 generator branch (F = max_fus) */
};

/* FUSE2 parameters the generator and the checks use (§1.1), with FUSE2's names. */
typedef struct fuse2_gen_params {
    fuse2_composition composition; /* one formula unit, key order = FU atom order */
    int max_atoms;                 /* atom limit of the search (required, > 0) */
    int imax_atoms;                /* atom limit for initial-population members (required) */
    int max_ax;                    /* largest sub-module count per axis in the tables (40) */
    double ap_scale;               /* multiplies ap (1.0 = FUSE2's "none") */
    double fixed_ap;               /* replaces ap when > 0 (0 = FUSE2's "none"), Å */
    double vac_ratio;              /* bounds the sub-module count (4) */
    double density_cutoff;         /* reject density < density_cutoff * rho_ideal (0.4) */
    int check_distances;           /* 1: reject contacts <= dist_cutoff (1) */
    double dist_cutoff;            /* Å (1.0) */
    int check_bonds;               /* 1: coordination test (1) */
    double btol;                   /* max fraction of wrongly coordinated atoms (0.25) */
    int use_spglib;                /* symmetrise generated initial-population members (1) */
    double symprec;                /* spglib tolerance, Å (1e-5, §17.7) */
    double submodule_shrink;       /* local-coordinate factor of moves 7-10 (0.8, §17.3) */
    int gen_max_rounds;            /* fuse2-mpi bound on the outer loop (§4.1): rounds of
                                      1000 attempts before giving up (200; 0 = unbounded
                                      as in FUSE2) */
} fuse2_gen_params;

/* Fills FUSE2's defaults (§1.1, §17); composition empty, max_atoms and
 * imax_atoms 0 (the caller must set them). */
void fuse2_gen_params_default(fuse2_gen_params *p);

/* Derived constants (§1.1, §3.1). */
typedef struct fuse2_gen_constants {
    int apfu;          /* atoms per formula unit */
    int max_fus;       /* floor(max_atoms / apfu), >= 1 */
    int imax_fus;      /* floor(imax_atoms / apfu), 0 -> 1 */
    double ap;         /* sub-module edge, Å, rounded to 1e-4 */
    double rho_ideal;  /* sum of masses / sum of atomic-sphere volumes, amu/Å^3 */
} fuse2_gen_constants;

/* Errors: empty composition, an element without FUSE2 data (fuse_supported),
 * non-positive max_atoms, max_fus == 0, bad ap_scale/fixed_ap. */
fuse2_status fuse2_gen_constants_compute(const fuse2_gen_params *p, fuse2_gen_constants *out);

/* Largest sub-module count offered to the generator for F formula units:
 * floor(F * apfu * (1 + vac_ratio) / 4) (§4.2 step 1). */
int fuse2_gen_max_submodules(const fuse2_gen_params *p, const fuse2_gen_constants *c, int F);

/* ---- cell-shape tables (§3.2) ---- */
typedef enum fuse2_lattice_kind {
    FUSE2_LATTICE_CUBIC = 0,
    FUSE2_LATTICE_TETRAGONAL,
    FUSE2_LATTICE_HEXAGONAL,
    FUSE2_LATTICE_ORTHORHOMBIC,
    FUSE2_LATTICE_MONOCLINIC, /* the original's "monoclinic": 90/90/120 in the generator */
    FUSE2_LATTICE_TRICLINIC,  /* uses the monoclinic table */
    FUSE2_LATTICE_KINDS
} fuse2_lattice_kind;

/* Shapes (na, nb, nc) keyed by sub-module count n = na*nb*nc. Keys ascending
 * and distinct; the entries of key k are entries[start[k] .. start[k+1]) in
 * the original's loop order. Tetragonal and hexagonal (x, z) are stored as
 * (x, x, z), cubic i as (i, i, 2i). */
typedef struct fuse2_shape_table {
    int nkeys;
    int *keys;          /* nkeys */
    int *start;         /* nkeys + 1 */
    int (*entries)[3];  /* start[nkeys] */
} fuse2_shape_table;

typedef struct fuse2_shape_tables {
    int max_ax;
    fuse2_shape_table cubic, tetragonal, hexagonal, orthorhombic, monoclinic;
} fuse2_shape_tables;

/* Zero `t` before the first build; free with fuse2_shape_tables_free. */
fuse2_status fuse2_shape_tables_build(int max_ax, fuse2_shape_tables *t);
void fuse2_shape_tables_free(fuse2_shape_tables *t);
/* The table a lattice kind draws from (triclinic -> monoclinic). */
const fuse2_shape_table *fuse2_shape_tables_for(const fuse2_shape_tables *t,
                                                fuse2_lattice_kind kind);
/* Entries of key n: *count of them (0 and NULL if n is not a key). */
const int (*fuse2_shape_table_lookup(const fuse2_shape_table *t, int n, int *count))[3];

/* ---- error check (§4.4) ---- */
typedef enum fuse2_check_result {
    FUSE2_CHECK_PASSED = 0,
    FUSE2_CHECK_NAN_CELL,
    FUSE2_CHECK_TOO_MANY_ATOMS,
    FUSE2_CHECK_DENSITY,
    FUSE2_CHECK_CONTACT,
    FUSE2_CHECK_BONDS
} fuse2_check_result;

const char *fuse2_check_result_name(fuse2_check_result r);

/* Number of atoms counted by FUSE2's neutral bond test for each atom of s:
 * 1 (the atom itself, Q34) + the other atoms j whose minimum-image distance
 * is <= 0.785 * ap (Å). counts has natoms entries. */
fuse2_status fuse2_gen_bond_counts(const fuse2_structure *s, double ap, int *counts);

/* FUSE2's error_check_structure, first failure wins: NaN cell, N > limit,
 * density outside [density_cutoff, 1] * rho_ideal, (check_distances) the
 * shortest distance over all atom pairs and all lattice images <= dist_cutoff
 * (coincident atoms included, Q45), (check_bonds) more than btol of the atoms
 * with a bond count outside [minCN - 1, maxCN + 1]. ap and rho_ideal are taken
 * from c. Only invalid arguments are errors; a rejected structure is
 * FUSE2_OK with *result != FUSE2_CHECK_PASSED. */
fuse2_status fuse2_gen_check_structure(const fuse2_structure *s, const fuse2_gen_params *p,
                                       const fuse2_gen_constants *c, int limit,
                                       fuse2_check_result *result);

/* ---- the generator (§4) ---- */
/* Shape of the generated crystal before symmetrisation. */
typedef struct fuse2_gen_info {
    fuse2_lattice_kind kind;
    int na, nb, nc;         /* sub-module grid */
    double angles[3];       /* alpha, beta, gamma (degrees) */
    int formula_units;
    long attempts;          /* attempts used (all counted, Q40) */
    int symmetrized;        /* 1 if spglib replaced the cell */
} fuse2_gen_info;

/* One layer-stacking pattern (§4.2 step 7) into t[0..nc-1]: nc = 1 -> [0];
 * gamma = 90 -> k mod 2; gamma = 120 -> shifts 0..2, t[0] = 0, no equal
 * neighbours, last != first. */
void fuse2_gen_layer_pattern(int nc, int gamma_is_120, fuse2_rng *rng, int *t);

/* 0 if cell angles (alpha, beta, gamma, degrees) give no cell in ASE's
 * convention, 1 - cx^2 - cy^2 < 0 evaluated as ASE does (§0, §16 fact 9).
 * Flat cells (about 0) count as possible; the generator rejects them. */
int fuse2_gen_angles_possible(const double angles[3]);

/* Assembles the template (§4.3): na x nb x nc sub-modules of cell
 * (ap, ap, ap/2, angles), sites (0,0,1/2) (1/2,0,1/2) (1/2,1/2,1/2) (0,1/2,1/2)
 * filled from `sites` (4*na*nb*nc atomic numbers, 0 = vacancy; groups of 4 from
 * the end), layer k shifted by the Cartesian ap*ptrans[t[k]]. Coordinates are
 * wrapped into [0, 1). `out` must be initialised or zeroed; it is replaced.
 * Impossible angles are FUSE2_ERR_ARG. */
fuse2_status fuse2_gen_assemble_template(double ap, int na, int nb, int nc,
                                         const double angles[3], const int *layer_shift,
                                         const int *sites, fuse2_structure *out);

/* FUSE2's get_new_structure (§4.1-4.2): repeatedly picks a target number of
 * formula units in 1..max_fus_offered and makes up to 1000 random attempts
 * at it, until one passes the error check with limit = target. If symmetrize
 * and p->use_spglib, the result is standardised by spglib keeping N (§8).
 * `out` must be initialised or zeroed; info may be NULL. After
 * p->gen_max_rounds fruitless rounds returns FUSE2_ERR_NUMERIC. */
fuse2_status fuse2_gen_structure(const fuse2_gen_params *p, const fuse2_gen_constants *c,
                                 const fuse2_shape_tables *tables, int max_fus_offered,
                                 int symmetrize, fuse2_rng *rng, fuse2_structure *out,
                                 fuse2_gen_info *info);

#ifdef __cplusplus
}
#endif
#endif
