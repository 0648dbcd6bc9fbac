/* Moves 11 and 12 (fuse2-algorithm.md §6.5): double or triple the cell
 * along one lattice vector. Built in fractional coordinates (intended, Q31:
 * valid for any cell, no re-orientation; Q32: invert inverts all three axes). */
#include <math.h>
#include <string.h>

#include "moves_internal.h"

enum { MAX_FAILS_SUPERCELL = 50 };

static double wrap01(double x)
{
    double w = x - floor(x);
    return w >= 1.0 ? 0.0 : w;
}

fuse2_status fuse2_moves_supercell(const fuse2_structure *s, int factor, int axis,
                                   fuse2_supercell_variant variant, fuse2_structure *out)
{
    if (!s || !out || s == out) return FUSE2_RAISE(FUSE2_ERR_ARG, "supercell: bad arguments");
    if (factor != 2 && factor != 3)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "supercell: factor must be 2 or 3 (got %d)", factor);
    if (axis < 0 || axis > 2)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "supercell: axis must be 0, 1 or 2 (got %d)", axis);
    if (variant < FUSE2_SUPERCELL_REPEAT || variant > FUSE2_SUPERCELL_MIRROR ||
        (factor == 3 && variant > FUSE2_SUPERCELL_TRANSLATE))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "supercell: variant %d not defined for factor %d",
                           (int)variant, factor);
    int n = s->natoms;
    fuse2_structure_free(out); /* replaces out (initialised or zeroed) */
    FUSE2_CALL(fuse2_structure_init(out, n * factor));
    memcpy(out->lattice, s->lattice, sizeof out->lattice);
    for (int b = 0; b < 3; b++) out->lattice[axis][b] *= factor;
    for (int c = 0; c < factor; c++)
        for (int i = 0; i < n; i++) {
            double f[3];
            for (int a = 0; a < 3; a++) f[a] = wrap01(s->frac[i][a]);
            if (c > 0) {
                if (variant == FUSE2_SUPERCELL_MIRROR || variant == FUSE2_SUPERCELL_INVERT) {
                    f[axis] = 2.0 - f[axis];
                    if (variant == FUSE2_SUPERCELL_INVERT)
                        for (int a = 0; a < 3; a++)
                            if (a != axis) f[a] = 1.0 - f[a];
                } else {
                    f[axis] += c;
                    if (variant == FUSE2_SUPERCELL_TRANSLATE)
                        for (int a = 0; a < 3; a++)
                            if (a != axis) f[a] += (double)c / factor;
                }
            }
            f[axis] /= factor;
            for (int a = 0; a < 3; a++) f[a] = wrap01(f[a]);
            FUSE2_CALL(fuse2_structure_add_atom(out, s->species[i], f));
        }
    return FUSE2_OK;
}

static fuse2_status supercell_move(const fuse2_move_context *ctx, const fuse2_structure *current,
                                   int factor, fuse2_structure *trial, fuse2_move_outcome *outcome)
{
    *outcome = FUSE2_MOVE_NOT_APPLICABLE;
    if ((long)current->natoms * factor > ctx->gen->max_atoms) return FUSE2_OK;
    *outcome = FUSE2_MOVE_GAVE_UP;
    for (int fails = 0; fails < MAX_FAILS_SUPERCELL; fails++) {
        int axis = fuse2_rng_int(ctx->rng, 0, 2);
        int variant = fuse2_rng_int(ctx->rng, 0, factor == 2 ? 3 : 1);
        FUSE2_CALL(fuse2_moves_supercell(current, factor, axis, (fuse2_supercell_variant)variant,
                                         trial));
        fuse2_check_result r;
        FUSE2_CALL(fuse2_gen_check_structure(trial, ctx->gen, ctx->consts,
                                             factor * current->natoms, &r));
        if (r == FUSE2_CHECK_PASSED) {
            *outcome = FUSE2_MOVE_DONE;
            return FUSE2_OK;
        }
    }
    return FUSE2_OK;
}

int moves_applicable_11(const fuse2_move_context *ctx, const fuse2_structure *current,
                        const fuse2_submodules *modules)
{
    (void)modules;
    return 2L * current->natoms <= ctx->gen->max_atoms;
}

int moves_applicable_12(const fuse2_move_context *ctx, const fuse2_structure *current,
                        const fuse2_submodules *modules)
{
    (void)modules;
    return 3L * current->natoms <= ctx->gen->max_atoms;
}

fuse2_status moves_apply_11(const fuse2_move_context *ctx, const fuse2_structure *current,
                            const fuse2_submodules *modules, fuse2_structure *trial,
                            fuse2_move_outcome *outcome)
{
    (void)modules;
    FUSE2_CALL(supercell_move(ctx, current, 2, trial, outcome));
    return FUSE2_OK;
}

fuse2_status moves_apply_12(const fuse2_move_context *ctx, const fuse2_structure *current,
                            const fuse2_submodules *modules, fuse2_structure *trial,
                            fuse2_move_outcome *outcome)
{
    (void)modules;
    FUSE2_CALL(supercell_move(ctx, current, 3, trial, outcome));
    return FUSE2_OK;
}
