/* The 14 FUSE2 basin-hopping moves (fuse2-algorithm.md §6, §7) as a table of
 * registered entries, and the dispatcher that turns the current structure
 * into a trial. Units: Å, eV. The basin-hopping loop only calls
 * fuse2_moves_make_trial; it never learns a move's name or rules. */
#ifndef FUSE2_MOVES_H
#define FUSE2_MOVES_H

#include "fuse2/composition.h"
#include "fuse2/error.h"
#include "fuse2/gen.h"
#include "fuse2/rng.h"
#include "fuse2/structure.h"
#include "fuse2/submodule.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { FUSE2_MOVE_COUNT = 14 };

/* Source of ML-pool structures for move 14 (the pool itself comes with the ML
 * generator issue). take() copies one unused entry, chosen with rng, into
 * out, marks it used and returns 1; it returns 0 when none is left. */
typedef struct fuse2_pool_source {
    void *user;
    int (*available)(void *user);
    fuse2_status (*take)(void *user, fuse2_rng *rng, fuse2_structure *out, int *taken);
} fuse2_pool_source;

/* Everything a move may read. The caller owns all of it. */
typedef struct fuse2_move_context {
    const fuse2_gen_params *gen;        /* checks, max_atoms, symmetrisation, shrink */
    const fuse2_gen_constants *consts;  /* apfu, ap, rho_ideal, max_fus, imax_fus */
    const fuse2_shape_tables *tables;
    const fuse2_composition *composition;
    double grid_spacing;                /* vacancy grid step, Å */
    double exclusion;                   /* a grid point is vacant if all atoms are farther, Å */
    const fuse2_pool_source *pool;      /* NULL: no pool (move 14 uses the generator) */
    fuse2_rng *rng;                     /* the trial's own stream (seed, walker, step, purpose) */
} fuse2_move_context;

/* What one attempt of a move did. */
typedef enum fuse2_move_outcome {
    FUSE2_MOVE_DONE = 0,        /* trial built */
    FUSE2_MOVE_NOT_APPLICABLE,  /* redraw from the full list (§6.2 "redraw(all)") */
    FUSE2_MOVE_GAVE_UP          /* redraw without this move (§6.2 "redraw(-m)") */
} fuse2_move_outcome;

typedef struct fuse2_move {
    int number;                 /* 1..14 as in FUSE2 */
    const char *name;           /* e.g. "swap_two_atoms" */
    /* Quick test before drawing anything (element count, N, nmods, limits). */
    int (*applicable)(const fuse2_move_context *ctx, const fuse2_structure *current,
                      const fuse2_submodules *modules);
    fuse2_status (*apply)(const fuse2_move_context *ctx, const fuse2_structure *current,
                          const fuse2_submodules *modules, fuse2_structure *trial,
                          fuse2_move_outcome *outcome);
} fuse2_move;

/* The registered moves, index k holds move k + 1. */
const fuse2_move *fuse2_moves_table(void);

/* §7: N is an integer number of formula units of the composition. */
int fuse2_composition_matches(const fuse2_composition *c, const fuse2_structure *s);

/* The supercell construction of moves 11 and 12 (§6.5, fractional as
 * intended, Q31/Q32): the lattice vector `axis` (0..2) is multiplied by
 * `factor` (2 or 3); the original atoms (coordinates wrapped into [0, 1))
 * are the first copy, copy c = 1..factor-1 is, in old-cell fractional
 * coordinates, REPEAT f + c e_x; TRANSLATE f + c e_x + c/factor on both other
 * axes; MIRROR (factor 2 only) f_x -> 2 - f_x; INVERT (factor 2 only)
 * f_x -> 2 - f_x and f -> 1 - f on the other axes. Result wrapped into
 * [0, 1). `out` must be initialised or zeroed; it is replaced. */
typedef enum fuse2_supercell_variant {
    FUSE2_SUPERCELL_REPEAT = 0,
    FUSE2_SUPERCELL_TRANSLATE,
    FUSE2_SUPERCELL_INVERT,
    FUSE2_SUPERCELL_MIRROR
} fuse2_supercell_variant;

fuse2_status fuse2_moves_supercell(const fuse2_structure *s, int factor, int axis,
                                   fuse2_supercell_variant variant, fuse2_structure *out);

/* §6.1: draws a move from weights[0..13] (move k+1 repeated weights[k] times)
 * with the redraw rules of §6.2, applies it to `current` (whose sub-module
 * decomposition is `modules`), symmetrises the result (if ctx->gen->use_spglib)
 * and checks its composition (§7), and returns the trial in `trial` and the
 * move used in *move_number. Fails cleanly (FUSE2_ERR_ARG) when no move with
 * a positive weight can be applied. */
fuse2_status fuse2_moves_make_trial(const fuse2_move_context *ctx, const int weights[FUSE2_MOVE_COUNT],
                                    const fuse2_structure *current, const fuse2_submodules *modules,
                                    fuse2_structure *trial, int *move_number);

#ifdef __cplusplus
}
#endif
#endif
