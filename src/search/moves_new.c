/* Moves 13 and 14 (fuse2-algorithm.md §6.6): a new structure from FUSE2's
 * generator (13: at most the current number of formula units; 14: at most
 * max_fus) or, for 14, an unused ML-pool entry. */
#include <string.h>

#include "moves_internal.h"

enum { MAX_TRIES_13 = 51 };

/* One generator call with F formula units offered, no symmetrisation inside
 * (the dispatcher symmetrises every completed move). A generator that gives
 * up (FUSE2_ERR_NUMERIC after gen_max_rounds) is a failed try. */
static fuse2_status generate(const fuse2_move_context *ctx, int F, fuse2_structure *trial,
                             int *ok)
{
    *ok = 0;
    fuse2_status st = fuse2_gen_structure(ctx->gen, ctx->consts, ctx->tables, F, 0, ctx->rng,
                                          trial, NULL);
    if (st == FUSE2_ERR_NUMERIC) {
        fuse2_error_clear();
        return FUSE2_OK;
    }
    FUSE2_CALL(st);
    *ok = fuse2_composition_matches(ctx->composition, trial);
    return FUSE2_OK;
}

int moves_applicable_13(const fuse2_move_context *ctx, const fuse2_structure *current,
                        const fuse2_submodules *modules)
{
    (void)modules;
    /* N < 4 is handled by the dispatcher (move 13 becomes 14) */
    return current->natoms >= ctx->consts->apfu;
}

fuse2_status moves_apply_13(const fuse2_move_context *ctx, const fuse2_structure *current,
                            const fuse2_submodules *modules, fuse2_structure *trial,
                            fuse2_move_outcome *outcome)
{
    (void)modules;
    *outcome = FUSE2_MOVE_NOT_APPLICABLE;
    int F = current->natoms / ctx->consts->apfu;
    if (F < 1) return FUSE2_OK;
    *outcome = FUSE2_MOVE_GAVE_UP;
    for (int t = 0; t < MAX_TRIES_13; t++) {
        int ok;
        FUSE2_CALL(generate(ctx, F, trial, &ok));
        if (ok) {
            *outcome = FUSE2_MOVE_DONE;
            break;
        }
    }
    return FUSE2_OK;
}

int moves_applicable_14(const fuse2_move_context *ctx, const fuse2_structure *current,
                        const fuse2_submodules *modules)
{
    (void)ctx;
    (void)current;
    (void)modules;
    return 1;
}

fuse2_status moves_apply_14(const fuse2_move_context *ctx, const fuse2_structure *current,
                            const fuse2_submodules *modules, fuse2_structure *trial,
                            fuse2_move_outcome *outcome)
{
    (void)current;
    (void)modules;
    *outcome = FUSE2_MOVE_GAVE_UP;
    const fuse2_pool_source *pool = ctx->pool;
    if (pool && pool->available && pool->take && pool->available(pool->user) > 0 &&
        fuse2_rng_int(ctx->rng, 0, 1) == 0) {
        /* pool entry taken as is (Q25: uniformly among the unused ones) */
        int taken = 0;
        FUSE2_CALL(pool->take(pool->user, ctx->rng, trial, &taken));
        if (taken) {
            *outcome = FUSE2_MOVE_DONE;
            return FUSE2_OK;
        }
    }
    int ok;
    FUSE2_CALL(generate(ctx, ctx->consts->max_fus, trial, &ok));
    if (ok) *outcome = FUSE2_MOVE_DONE;
    return FUSE2_OK;
}
