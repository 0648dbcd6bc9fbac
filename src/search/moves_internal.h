/* Private helpers shared by the move files of src/search (not public API). */
#ifndef FUSE2_MOVES_INTERNAL_H
#define FUSE2_MOVES_INTERNAL_H

#include "fuse2/moves.h"

/* Number of distinct species in s. */
int moves_element_count(const fuse2_structure *s);
/* Fisher-Yates shuffle of v[0..n-1] with rng. */
void moves_shuffle_int(fuse2_rng *rng, int *v, int n);
/* Vacant grid points of s (§6.3), fractional coordinates, malloc'ed into
 * *points (NULL if none). With stop_at_first only existence is tested. */
fuse2_status moves_vacant_points(const fuse2_move_context *ctx, const fuse2_structure *s,
                                 int stop_at_first, double (**points)[3], int *npoints);
/* *clear = 1 if the fractional point p is farther than ctx->exclusion
 * (minimum image) from every atom of s except atom `skip` (-1: none).
 * s is used as scratch (one atom appended and removed again). */
fuse2_status moves_point_clear(const fuse2_move_context *ctx, fuse2_structure *s,
                               const double p[3], int skip, int *clear);

/* The sub-modules moves 7-10 act on for a walker's current record (§11.3,
 * §17.3, Q47), decomposed on the campaign's sub-module edge ap (Å). Only
 * revert_atoms == 0 (False) uses the relaxed structure; otherwise, or when
 * the relaxed structure does not decompose, the pre-relaxation structure
 * `start` (the relaxed one when start is empty). start_move is the move that
 * built `start` (0: initial population); for moves 7-10 its coordinates
 * already carry the shrink, so out->applied_shrink = shrink and the next
 * module move does not shrink them again. `out` zeroed or previously used. */
fuse2_status moves_walker_modules(int revert_atoms, const fuse2_structure *relaxed,
                                  const fuse2_structure *start, int start_move, double ap,
                                  double shrink, fuse2_submodules *out);

/* The moves (index k of the table holds move k + 1). */
#define MOVES_DECLARE(n)                                                                     \
    int moves_applicable_##n(const fuse2_move_context *ctx, const fuse2_structure *current,  \
                             const fuse2_submodules *modules);                              \
    fuse2_status moves_apply_##n(const fuse2_move_context *ctx, const fuse2_structure *current, \
                                 const fuse2_submodules *modules, fuse2_structure *trial,   \
                                 fuse2_move_outcome *outcome);
MOVES_DECLARE(1)
MOVES_DECLARE(2)
MOVES_DECLARE(3)
MOVES_DECLARE(4)
MOVES_DECLARE(5)
MOVES_DECLARE(6)
MOVES_DECLARE(7)
MOVES_DECLARE(8)
MOVES_DECLARE(9)
MOVES_DECLARE(10)
MOVES_DECLARE(11)
MOVES_DECLARE(12)
MOVES_DECLARE(13)
MOVES_DECLARE(14)
#undef MOVES_DECLARE

#endif
