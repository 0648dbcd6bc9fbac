/* The move table, the composition test (§7) and the dispatcher (§6.1, §6.2)
 * of FUSE2's basin hopping. The moves themselves are in moves_*.c. */
#include <stdlib.h>
#include <string.h>

#include "fuse2/moves.h"
#include "fuse2/symmetry.h"
#include "moves_internal.h"

#define MOVE_ENTRY(n, name) {n, name, moves_applicable_##n, moves_apply_##n}

static const fuse2_move move_table[FUSE2_MOVE_COUNT] = {
    MOVE_ENTRY(1, "swap_two_atoms"),
    MOVE_ENTRY(2, "atom_to_vacancy"),
    MOVE_ENTRY(3, "permute_some_atoms"),
    MOVE_ENTRY(4, "permute_some_atoms_with_vacancies"),
    MOVE_ENTRY(5, "permute_all_atoms"),
    MOVE_ENTRY(6, "permute_all_atoms_with_vacancies"),
    MOVE_ENTRY(7, "swap_two_submodules"),
    MOVE_ENTRY(8, "swap_two_layers"),
    MOVE_ENTRY(9, "reshape_submodule_grid"),
    MOVE_ENTRY(10, "mutate_submodule"),
    MOVE_ENTRY(11, "double_cell"),
    MOVE_ENTRY(12, "triple_cell"),
    MOVE_ENTRY(13, "new_structure_current_fus"),
    MOVE_ENTRY(14, "new_structure_max_fus_or_pool"),
};

const fuse2_move *fuse2_moves_table(void) { return move_table; }

int fuse2_composition_matches(const fuse2_composition *c, const fuse2_structure *s)
{
    if (!c || !s || c->nelements <= 0 || s->natoms <= 0) return 0;
    int apfu = fuse2_composition_atoms_per_formula(c);
    if (apfu <= 0 || s->natoms % apfu != 0) return 0;
    int fus = s->natoms / apfu;
    /* every element's count matches and the counts add up to N, so no atom
     * of a foreign species can be present */
    for (int e = 0; e < c->nelements; e++) {
        int n = 0;
        for (int i = 0; i < s->natoms; i++) n += s->species[i] == c->z[e];
        if (n != fus * c->count[e]) return 0;
    }
    return 1;
}

/* ---- shared helpers ---- */
int moves_element_count(const fuse2_structure *s)
{
    int n = 0;
    for (int i = 0; i < s->natoms; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) seen = s->species[j] == s->species[i];
        n += !seen;
    }
    return n;
}

void moves_shuffle_int(fuse2_rng *rng, int *v, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = fuse2_rng_int(rng, 0, i);
        int t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

/* ---- dispatcher ---- */
enum {
    MAX_DRAWS = 2000,          /* bound on draws per call (the original retries forever) */
    MAX_GIVE_UPS = 3,          /* a move that gave up this often is out for the call */
    MAX_NOT_APPLICABLE = 20,   /* same for random NOT_APPLICABLE (moves 4, 6) */
};

/* A completed move result is usable if it validates, keeps the composition,
 * respects max_atoms and decomposes (Q43, Q46: otherwise a failed attempt). */
static int result_usable(const fuse2_move_context *ctx, const fuse2_structure *s)
{
    if (fuse2_structure_validate(s, "move result") != FUSE2_OK) {
        fuse2_error_clear();
        return 0;
    }
    if (s->natoms > ctx->gen->max_atoms) return 0;
    if (!fuse2_composition_matches(ctx->composition, s)) return 0;
    fuse2_submodules m;
    memset(&m, 0, sizeof m);
    fuse2_status st = fuse2_submodules_decompose(s, ctx->consts->ap, &m);
    fuse2_submodules_free(&m);
    if (st != FUSE2_OK) {
        fuse2_error_clear();
        return 0;
    }
    return 1;
}

fuse2_status fuse2_moves_make_trial(const fuse2_move_context *ctx,
                                    const int weights[FUSE2_MOVE_COUNT],
                                    const fuse2_structure *current, const fuse2_submodules *modules,
                                    fuse2_structure *trial, int *move_number)
{
    if (!ctx || !ctx->gen || !ctx->consts || !ctx->tables || !ctx->composition || !ctx->rng ||
        !weights || !current || !trial || !move_number)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "moves: missing argument");
    if (current->natoms <= 0)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "moves: current structure has no atoms");
    int w[FUSE2_MOVE_COUNT];
    long sum = 0;
    for (int k = 0; k < FUSE2_MOVE_COUNT; k++) {
        if (weights[k] < 0)
            return FUSE2_RAISE(FUSE2_ERR_ARG, "moves: weight of move %d is negative (%d)", k + 1,
                               weights[k]);
        w[k] = weights[k];
        sum += w[k];
    }
    if (sum <= 0) return FUSE2_RAISE(FUSE2_ERR_ARG, "moves: all move weights are zero");
    /* §6.2: with N < 4 move 13 becomes move 14; merging the weights draws
     * the same distribution */
    if (current->natoms < 4) {
        w[13] += w[12];
        w[12] = 0;
    }

    int excluded[FUSE2_MOVE_COUNT] = {0}, checked[FUSE2_MOVE_COUNT] = {0};
    int gave_up[FUSE2_MOVE_COUNT] = {0}, not_applicable[FUSE2_MOVE_COUNT] = {0};
    int skip_once = -1;
    fuse2_structure work;
    memset(&work, 0, sizeof work);
    fuse2_status st = FUSE2_OK;
    for (int draw = 0; draw < MAX_DRAWS; draw++) {
        long total = 0;
        for (int k = 0; k < FUSE2_MOVE_COUNT; k++)
            if (!excluded[k] && k != skip_once) total += w[k];
        if (total == 0 && skip_once >= 0) {
            /* redraw(-m) with m the only move left: allow m again */
            skip_once = -1;
            for (int k = 0; k < FUSE2_MOVE_COUNT; k++)
                if (!excluded[k]) total += w[k];
        }
        if (total == 0)
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                             "moves: no move with a positive weight can be applied to this "
                             "structure (%d atoms)",
                             current->natoms);
        long r = fuse2_rng_int(ctx->rng, 0, (int)(total - 1));
        int k = 0;
        for (; k < FUSE2_MOVE_COUNT; k++) {
            if (excluded[k] || k == skip_once) continue;
            if (r < w[k]) break;
            r -= w[k];
        }
        skip_once = -1;
        const fuse2_move *mv = &move_table[k];
        if (!checked[k]) {
            checked[k] = 1;
            if (!mv->applicable(ctx, current, modules)) {
                /* applicability is a property of `current`: redrawing until
                 * another move comes up equals dropping this one */
                excluded[k] = 1;
                continue;
            }
        }
        fuse2_move_outcome outcome = FUSE2_MOVE_GAVE_UP;
        FUSE2_CALL_GOTO(st, mv->apply(ctx, current, modules, &work, &outcome), done);
        if (outcome == FUSE2_MOVE_NOT_APPLICABLE) {
            if (++not_applicable[k] >= MAX_NOT_APPLICABLE) excluded[k] = 1;
            continue;
        }
        if (outcome == FUSE2_MOVE_DONE) {
            if (ctx->gen->use_spglib)
                FUSE2_CALL_GOTO(
                    st, fuse2_symmetry_standardize(&work, ctx->gen->symprec, 0, 1, NULL), done);
            if (result_usable(ctx, &work)) {
                FUSE2_CALL_GOTO(st, fuse2_structure_copy(trial, &work), done);
                *move_number = mv->number;
                goto done;
            }
        }
        /* gave up, or an unusable result: redraw(-m) */
        if (++gave_up[k] >= MAX_GIVE_UPS)
            excluded[k] = 1;
        else
            skip_once = k;
    }
    st = FUSE2_RAISE(FUSE2_ERR_NUMERIC, "moves: no trial after %d draws", (int)MAX_DRAWS);
done:
    fuse2_structure_free(&work);
    return st;
}
