/* Moves 7-10 (fuse2-algorithm.md §6.4): operations on the sub-module grid of
 * the current structure, re-assembled with fuse2_submodules_assemble_snapped.
 * The current decomposition is never modified (Q3, Q9); every try works on a
 * fresh copy. Move 10 is error-checked like 7-9 (Q44).
 *
 * The shrink (submodule_shrink, §17.3) is applied once to the trial being
 * built. A decomposition of a structure that moves 7-10 built already holds
 * shrunk coordinates (applied_shrink < 1, set by moves_walker_modules); it is
 * re-assembled without a second shrink, so repeated module moves keep every
 * atom at shrink x its unshrunk local position instead of shrink^k (Q47). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "moves_internal.h"

enum {
    MAX_FAILS_7 = 100, /* failed checks before giving up (§6.2) */
    MAX_FAILS_8 = 500,
    MAX_FAILS_9 = 500,
    MAX_FAILS_10 = 500
};

fuse2_status moves_walker_modules(int revert_atoms, const fuse2_structure *relaxed,
                                  const fuse2_structure *start, int start_move, double ap,
                                  double shrink, fuse2_submodules *out)
{
    if (!relaxed || !start || !out) return FUSE2_RAISE(FUSE2_ERR_ARG, "walker modules: missing argument");
    if (!(shrink > 0.0) || shrink > 1.0)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "walker modules: shrink must be in (0, 1] (got %g)", shrink);
    if (revert_atoms == 0) {
        /* relaxation moved the atoms, so these coordinates carry no shrink */
        if (fuse2_submodules_decompose(relaxed, ap, out) == FUSE2_OK) return FUSE2_OK;
        fuse2_error_clear();
    }
    const fuse2_structure *source = start->natoms ? start : relaxed;
    FUSE2_CALL(fuse2_submodules_decompose(source, ap, out));
    if (source == start && start_move >= 7 && start_move <= 10) out->applied_shrink = shrink;
    return FUSE2_OK;
}

/* The factor for the trial being built from m: the configured shrink,
 * unless m's coordinates already carry one (Q47: never compounded). */
static double shrink_to_apply(const fuse2_move_context *ctx, const fuse2_submodules *m)
{
    return m->applied_shrink < 1.0 ? 1.0 : ctx->gen->submodule_shrink;
}

/* Re-assembles m into trial and runs the composition test and the error
 * check with limit = the current N. */
static fuse2_status assemble_checked(const fuse2_move_context *ctx, const fuse2_submodules *m,
                                     int limit, fuse2_structure *trial, int *passed)
{
    *passed = 0;
    FUSE2_CALL(fuse2_submodules_assemble_snapped(m, m->ap, shrink_to_apply(ctx, m), trial));
    fuse2_structure_wrap_positions(trial);
    if (!fuse2_composition_matches(ctx->composition, trial)) return FUSE2_OK;
    fuse2_check_result r;
    FUSE2_CALL(fuse2_gen_check_structure(trial, ctx->gen, ctx->consts, limit, &r));
    *passed = r == FUSE2_CHECK_PASSED;
    return FUSE2_OK;
}

static int have_modules(const fuse2_submodules *m)
{
    return m && m->nmods > 0 && m->mods && m->ap > 0.0;
}

/* ---- move 7: swap two sub-modules ---- */
int moves_applicable_7(const fuse2_move_context *ctx, const fuse2_structure *current,
                       const fuse2_submodules *modules)
{
    (void)ctx;
    (void)current;
    return have_modules(modules) && modules->nmods > 1;
}

/* Index of the atom of sm nearest the sub-module origin (plain Cartesian
 * distance in the sub-module cell, no periodicity, as the original). */
static int nearest_to_origin(const fuse2_submodule *sm, const double sub_lattice[3][3])
{
    int best = 0;
    double best_d = INFINITY;
    for (int i = 0; i < sm->natoms; i++) {
        double c[3] = {0, 0, 0};
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) c[b] += sm->local[i][a] * sub_lattice[a][b];
        double d = c[0] * c[0] + c[1] * c[1] + c[2] * c[2];
        if (d < best_d) {
            best_d = d;
            best = i;
        }
    }
    return best;
}

fuse2_status moves_apply_7(const fuse2_move_context *ctx, const fuse2_structure *current,
                           const fuse2_submodules *modules, fuse2_structure *trial,
                           fuse2_move_outcome *outcome)
{
    *outcome = FUSE2_MOVE_NOT_APPLICABLE;
    if (!moves_applicable_7(ctx, current, modules)) return FUSE2_OK;
    *outcome = FUSE2_MOVE_GAVE_UP;
    fuse2_submodules work;
    memset(&work, 0, sizeof work);
    fuse2_status st = FUSE2_OK;
    for (int fails = 0; fails < MAX_FAILS_7; fails++) {
        FUSE2_CALL_GOTO(st, fuse2_submodules_copy(&work, modules), done);
        int c1 = fuse2_rng_int(ctx->rng, 0, work.nmods - 1), c2;
        do c2 = fuse2_rng_int(ctx->rng, 0, work.nmods - 1);
        while (c2 == c1);
        fuse2_submodule *m1 = &work.mods[c1], *m2 = &work.mods[c2];
        if (m1->natoms > 0 && m2->natoms > 0) {
            /* align: each nearest atom lands where the other's was */
            int a1 = nearest_to_origin(m1, work.sub_lattice);
            int a2 = nearest_to_origin(m2, work.sub_lattice);
            double d[3];
            for (int a = 0; a < 3; a++) d[a] = m1->local[a1][a] - m2->local[a2][a];
            for (int i = 0; i < m1->natoms; i++)
                for (int a = 0; a < 3; a++) m1->local[i][a] -= d[a];
            for (int i = 0; i < m2->natoms; i++)
                for (int a = 0; a < 3; a++) m2->local[i][a] += d[a];
        }
        fuse2_submodule tmp = *m1;
        *m1 = *m2;
        *m2 = tmp;
        int passed;
        FUSE2_CALL_GOTO(st, assemble_checked(ctx, &work, current->natoms, trial, &passed), done);
        if (passed) {
            *outcome = FUSE2_MOVE_DONE;
            break;
        }
    }
done:
    fuse2_submodules_free(&work);
    return st;
}

/* ---- move 8: swap two layers ---- */
int moves_applicable_8(const fuse2_move_context *ctx, const fuse2_structure *current,
                       const fuse2_submodules *modules)
{
    (void)ctx;
    (void)current;
    return have_modules(modules) && modules->nc >= 3;
}

fuse2_status moves_apply_8(const fuse2_move_context *ctx, const fuse2_structure *current,
                           const fuse2_submodules *modules, fuse2_structure *trial,
                           fuse2_move_outcome *outcome)
{
    *outcome = FUSE2_MOVE_NOT_APPLICABLE;
    if (!moves_applicable_8(ctx, current, modules)) return FUSE2_OK;
    *outcome = FUSE2_MOVE_GAVE_UP;
    fuse2_submodules work;
    memset(&work, 0, sizeof work);
    fuse2_status st = FUSE2_OK;
    int per_layer = modules->na * modules->nb;
    for (int fails = 0; fails < MAX_FAILS_8; fails++) {
        FUSE2_CALL_GOTO(st, fuse2_submodules_copy(&work, modules), done);
        int s1 = fuse2_rng_int(ctx->rng, 0, work.nc - 1), s2;
        do s2 = fuse2_rng_int(ctx->rng, 0, work.nc - 1);
        while (s2 == s1);
        for (int i = 0; i < per_layer; i++) {
            fuse2_submodule tmp = work.mods[s1 * per_layer + i];
            work.mods[s1 * per_layer + i] = work.mods[s2 * per_layer + i];
            work.mods[s2 * per_layer + i] = tmp;
        }
        int passed;
        FUSE2_CALL_GOTO(st, assemble_checked(ctx, &work, current->natoms, trial, &passed), done);
        if (passed) {
            *outcome = FUSE2_MOVE_DONE;
            break;
        }
    }
done:
    fuse2_submodules_free(&work);
    return st;
}

/* ---- move 9: reshape the grid ---- */
typedef struct shape_candidate {
    int n[3];
    double angles[3];
} shape_candidate;

static const double move9_angles[6] = {60, 75, 90, 105, 120, 150};

static int same_shape(const shape_candidate *c, const fuse2_submodules *m)
{
    if (c->n[0] != m->na || c->n[1] != m->nb || c->n[2] != m->nc) return 0;
    for (int a = 0; a < 3; a++)
        if (fabs(c->angles[a] - m->angles[a]) > 0.5) return 0;
    return 1;
}

/* Candidate shapes for nmods sub-modules (§6.4 move 9, one cubic entry,
 * Q8), without the current shape. *cands malloc'ed (NULL if none). */
static fuse2_status move9_candidates(const fuse2_move_context *ctx, const fuse2_submodules *m,
                                     shape_candidate **cands, int *ncands)
{
    *cands = NULL;
    *ncands = 0;
    const fuse2_shape_table *tabs[5] = {&ctx->tables->cubic, &ctx->tables->tetragonal,
                                        &ctx->tables->hexagonal, &ctx->tables->orthorhombic,
                                        &ctx->tables->monoclinic};
    int counts[5], total = 0;
    const int(*entries[5])[3];
    for (int t = 0; t < 5; t++) {
        entries[t] = fuse2_shape_table_lookup(tabs[t], m->nmods, &counts[t]);
        total += counts[t];
    }
    if (total == 0) return FUSE2_OK;
    shape_candidate *c = malloc((size_t)total * sizeof *c);
    if (!c) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "moves: out of memory");
    int n = 0;
    for (int t = 0; t < 5; t++)
        for (int e = 0; e < counts[t]; e++) {
            shape_candidate *x = &c[n];
            memcpy(x->n, entries[t][e], sizeof x->n);
            x->angles[0] = x->angles[1] = 90.0;
            x->angles[2] = t == 2 ? 120.0 : 90.0;
            if (t == 4) { /* monoclinic entries: angles drawn when the list is built */
                for (int a = 0; a < 3; a++)
                    x->angles[a] = move9_angles[fuse2_rng_int(ctx->rng, 0, 5)];
                /* the assembly turns impossible angles into 90/90/90 (§5.3) */
                if (!fuse2_gen_angles_possible(x->angles))
                    x->angles[0] = x->angles[1] = x->angles[2] = 90.0;
            }
            if (!same_shape(x, m)) n++;
        }
    if (n == 0) {
        free(c);
        c = NULL;
    }
    *cands = c;
    *ncands = n;
    return FUSE2_OK;
}

int moves_applicable_9(const fuse2_move_context *ctx, const fuse2_structure *current,
                       const fuse2_submodules *modules)
{
    (void)current;
    if (!have_modules(modules)) return 0;
    int count = 0;
    fuse2_shape_table_lookup(&ctx->tables->monoclinic, modules->nmods, &count);
    return count > 0;
}

fuse2_status moves_apply_9(const fuse2_move_context *ctx, const fuse2_structure *current,
                           const fuse2_submodules *modules, fuse2_structure *trial,
                           fuse2_move_outcome *outcome)
{
    *outcome = FUSE2_MOVE_NOT_APPLICABLE;
    if (!moves_applicable_9(ctx, current, modules)) return FUSE2_OK;
    *outcome = FUSE2_MOVE_GAVE_UP;
    shape_candidate *cands;
    int ncands;
    FUSE2_CALL(move9_candidates(ctx, modules, &cands, &ncands));
    if (ncands == 0) return FUSE2_OK;
    fuse2_submodules work;
    memset(&work, 0, sizeof work);
    fuse2_status st = FUSE2_OK;
    for (int fails = 0; fails < MAX_FAILS_9; fails++) {
        const shape_candidate *c = &cands[fuse2_rng_int(ctx->rng, 0, ncands - 1)];
        FUSE2_CALL_GOTO(st, fuse2_submodules_copy(&work, modules), done);
        /* module order kept, re-read in the new grid */
        work.na = c->n[0];
        work.nb = c->n[1];
        work.nc = c->n[2];
        memcpy(work.angles, c->angles, sizeof work.angles);
        int passed;
        FUSE2_CALL_GOTO(st, assemble_checked(ctx, &work, current->natoms, trial, &passed), done);
        if (passed) {
            *outcome = FUSE2_MOVE_DONE;
            break;
        }
    }
done:
    fuse2_submodules_free(&work);
    free(cands);
    return st;
}

/* ---- move 10: rebuild one sub-module ---- */
static const double move10_sites[4][3] = {{0, 0, 0}, {0.5, 0, 0}, {0, 0.5, 0}, {0.5, 0.5, 0}};

int moves_applicable_10(const fuse2_move_context *ctx, const fuse2_structure *current,
                        const fuse2_submodules *modules)
{
    (void)ctx;
    (void)current;
    if (!have_modules(modules)) return 0;
    for (int k = 0; k < modules->nmods; k++)
        if (modules->mods[k].natoms >= 1 && modules->mods[k].natoms <= 3) return 1;
    return 0;
}

fuse2_status moves_apply_10(const fuse2_move_context *ctx, const fuse2_structure *current,
                            const fuse2_submodules *modules, fuse2_structure *trial,
                            fuse2_move_outcome *outcome)
{
    *outcome = FUSE2_MOVE_NOT_APPLICABLE;
    if (!moves_applicable_10(ctx, current, modules)) return FUSE2_OK;
    *outcome = FUSE2_MOVE_GAVE_UP;
    int *viable = malloc((size_t)modules->nmods * sizeof *viable);
    if (!viable) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "moves: out of memory");
    int nviable = 0;
    for (int k = 0; k < modules->nmods; k++)
        if (modules->mods[k].natoms >= 1 && modules->mods[k].natoms <= 3) viable[nviable++] = k;
    fuse2_submodules work;
    memset(&work, 0, sizeof work);
    fuse2_status st = FUSE2_OK;
    for (int fails = 0; fails < MAX_FAILS_10; fails++) {
        FUSE2_CALL_GOTO(st, fuse2_submodules_copy(&work, modules), done);
        fuse2_submodule *sm = &work.mods[viable[fuse2_rng_int(ctx->rng, 0, nviable - 1)]];
        int sp[4] = {0, 0, 0, 0}; /* species padded with vacancies (0) */
        for (int i = 0; i < sm->natoms; i++) sp[i] = sm->species[i];
        moves_shuffle_int(ctx->rng, sp, 4);
        sm->natoms = 0;
        /* the new sites join coordinates that may already be shrunk (Q47);
         * expressed in the same frame they end up at shrink x site, as in
         * a first module move */
        double frame = work.applied_shrink < 1.0 ? work.applied_shrink : 1.0;
        for (int site = 0; site < 4; site++)
            if (sp[site] != 0) {
                double u[3];
                for (int a = 0; a < 3; a++) u[a] = frame * move10_sites[site][a];
                FUSE2_CALL_GOTO(st, fuse2_submodule_add_atom(sm, sp[site], u), done);
            }
        int passed;
        FUSE2_CALL_GOTO(st, assemble_checked(ctx, &work, current->natoms, trial, &passed), done);
        if (passed) {
            *outcome = FUSE2_MOVE_DONE;
            break;
        }
    }
done:
    fuse2_submodules_free(&work);
    free(viable);
    return st;
}
