/* Moves 1-6 (fuse2-algorithm.md §6.3): species exchanges and moves of atoms
 * onto vacant grid points. Intended behaviour of Q6, Q7, Q30 (docs/moves.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/neighbors.h"
#include "moves_internal.h"

enum {
    MAX_PICKS = 1000,    /* redraws of the atom subset (moves 3-6) */
    MAX_SHUFFLES = 1000, /* reshuffles until the species sequence differs */
    MAX_RETRIES = 100    /* moves 4/6: "nothing changed, retry" */
};

fuse2_status moves_point_clear(const fuse2_move_context *ctx, fuse2_structure *s,
                               const double p[3], int skip, int *clear)
{
    FUSE2_CALL(fuse2_structure_add_atom(s, s->natoms > 0 ? s->species[0] : 1, p));
    int probe = s->natoms - 1;
    *clear = 1;
    for (int j = 0; j < probe && *clear; j++) {
        if (j == skip) continue;
        double d = fuse2_periodic_distance(s, probe, j);
        if (!(d > ctx->exclusion)) *clear = 0;
    }
    fuse2_structure_remove_atom(s, probe);
    return FUSE2_OK;
}

fuse2_status moves_vacant_points(const fuse2_move_context *ctx, const fuse2_structure *s,
                                 int stop_at_first, double (**points)[3], int *npoints)
{
    *points = NULL;
    *npoints = 0;
    if (!(ctx->grid_spacing > 0.0))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "moves: grid_spacing must be > 0 (got %g)",
                           ctx->grid_spacing);
    double params[6], inv[3][3];
    fuse2_lattice_to_parameters(s->lattice, params);
    FUSE2_CALL(fuse2_lattice_inverse(s->lattice, inv));
    /* Cartesian grid up to the cell lengths, as the original (§6.3) */
    int n[3];
    for (int a = 0; a < 3; a++) n[a] = (int)floor(params[a] / ctx->grid_spacing);
    long total = (long)n[0] * n[1] * n[2];
    if (total <= 0) return FUSE2_OK;
    fuse2_structure scratch;
    memset(&scratch, 0, sizeof scratch);
    fuse2_status st = FUSE2_OK;
    double(*pts)[3] = NULL;
    FUSE2_CALL_GOTO(st, fuse2_structure_copy(&scratch, s), done);
    if (!stop_at_first) {
        pts = malloc((size_t)total * sizeof *pts);
        if (!pts) FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_NOMEM, "moves: out of memory");
    }
    for (int x = 0; x < n[0]; x++)
        for (int y = 0; y < n[1]; y++)
            for (int z = 0; z < n[2]; z++) {
                double cart[3] = {x * ctx->grid_spacing, y * ctx->grid_spacing,
                                  z * ctx->grid_spacing};
                double f[3];
                for (int a = 0; a < 3; a++)
                    f[a] = cart[0] * inv[0][a] + cart[1] * inv[1][a] + cart[2] * inv[2][a];
                int clear;
                FUSE2_CALL_GOTO(st, moves_point_clear(ctx, &scratch, f, -1, &clear), done);
                if (!clear) continue;
                if (stop_at_first) {
                    *npoints = 1;
                    goto done;
                }
                memcpy(pts[*npoints], f, sizeof f);
                (*npoints)++;
            }
done:
    fuse2_structure_free(&scratch);
    if (st != FUSE2_OK || *npoints == 0 || stop_at_first) {
        free(pts);
        pts = NULL;
        if (st != FUSE2_OK) *npoints = 0;
    }
    *points = pts;
    return st;
}

/* ---- applicability (§6.2) ---- */
int moves_applicable_1(const fuse2_move_context *ctx, const fuse2_structure *current,
                       const fuse2_submodules *modules)
{
    (void)ctx;
    (void)modules;
    return moves_element_count(current) >= 2;
}

int moves_applicable_2(const fuse2_move_context *ctx, const fuse2_structure *current,
                       const fuse2_submodules *modules)
{
    (void)modules;
    double(*pts)[3];
    int n = 0;
    if (moves_vacant_points(ctx, current, 1, &pts, &n) != FUSE2_OK) {
        fuse2_error_clear();
        return 0;
    }
    return n > 0;
}

static int permutable(const fuse2_structure *s, int min_atoms)
{
    return moves_element_count(s) >= 2 && s->natoms >= min_atoms;
}

int moves_applicable_3(const fuse2_move_context *ctx, const fuse2_structure *current,
                       const fuse2_submodules *modules)
{
    (void)ctx;
    (void)modules;
    return permutable(current, 4);
}

int moves_applicable_4(const fuse2_move_context *ctx, const fuse2_structure *current,
                       const fuse2_submodules *modules)
{
    return moves_applicable_3(ctx, current, modules);
}

int moves_applicable_5(const fuse2_move_context *ctx, const fuse2_structure *current,
                       const fuse2_submodules *modules)
{
    return moves_applicable_3(ctx, current, modules);
}

int moves_applicable_6(const fuse2_move_context *ctx, const fuse2_structure *current,
                       const fuse2_submodules *modules)
{
    (void)ctx;
    (void)modules;
    return permutable(current, 3);
}

/* ---- move 1 ---- */
fuse2_status moves_apply_1(const fuse2_move_context *ctx, const fuse2_structure *current,
                           const fuse2_submodules *modules, fuse2_structure *trial,
                           fuse2_move_outcome *outcome)
{
    (void)modules;
    *outcome = FUSE2_MOVE_NOT_APPLICABLE;
    if (moves_element_count(current) < 2) return FUSE2_OK;
    FUSE2_CALL(fuse2_structure_copy(trial, current));
    int n = trial->natoms;
    int i = fuse2_rng_int(ctx->rng, 0, n - 1), j;
    do j = fuse2_rng_int(ctx->rng, 0, n - 1);
    while (trial->species[j] == trial->species[i]);
    int t = trial->species[i];
    trial->species[i] = trial->species[j];
    trial->species[j] = t;
    *outcome = FUSE2_MOVE_DONE;
    return FUSE2_OK;
}

/* ---- move 2 ---- */
fuse2_status moves_apply_2(const fuse2_move_context *ctx, const fuse2_structure *current,
                           const fuse2_submodules *modules, fuse2_structure *trial,
                           fuse2_move_outcome *outcome)
{
    (void)modules;
    double(*pts)[3];
    int n;
    FUSE2_CALL(moves_vacant_points(ctx, current, 0, &pts, &n));
    if (n == 0) {
        *outcome = FUSE2_MOVE_NOT_APPLICABLE;
        return FUSE2_OK;
    }
    fuse2_status st = fuse2_structure_copy(trial, current);
    if (st == FUSE2_OK) {
        int p = fuse2_rng_int(ctx->rng, 0, n - 1);
        int a = fuse2_rng_int(ctx->rng, 0, trial->natoms - 1);
        memcpy(trial->frac[a], pts[p], sizeof pts[p]);
        fuse2_structure_wrap_positions(trial);
        *outcome = FUSE2_MOVE_DONE;
    }
    free(pts);
    if (st != FUSE2_OK) FUSE2_CALL(st);
    return FUSE2_OK;
}

/* ---- moves 3-6 ---- */
static int distinct_species(const fuse2_structure *s, const int *idx, int k)
{
    for (int a = 1; a < k; a++)
        if (s->species[idx[a]] != s->species[idx[0]]) return 1;
    return 0;
}

/* k distinct atoms holding >= 2 species (all picked atoms count, Q30) into
 * idx[0..k-1]; idx has room for N. Returns 0 if none was found. */
static int pick_atoms(fuse2_rng *rng, const fuse2_structure *s, int k, int *idx)
{
    for (int t = 0; t < MAX_PICKS; t++) {
        for (int i = 0; i < s->natoms; i++) idx[i] = i;
        /* partial Fisher-Yates: the first k are a uniform k-subset */
        for (int i = 0; i < k; i++) {
            int j = fuse2_rng_int(rng, i, s->natoms - 1);
            int tmp = idx[i];
            idx[i] = idx[j];
            idx[j] = tmp;
        }
        if (distinct_species(s, idx, k)) return 1;
    }
    return 0;
}

/* Shuffles the species of atoms idx[0..k-1] (>= 2 species) until the
 * sequence differs from the original one. Returns 0 if it never did. */
static int shuffle_species(fuse2_rng *rng, fuse2_structure *s, const int *idx, int k, int *buf)
{
    for (int t = 0; t < MAX_SHUFFLES; t++) {
        for (int a = 0; a < k; a++) buf[a] = s->species[idx[a]];
        moves_shuffle_int(rng, buf, k);
        int differs = 0;
        for (int a = 0; a < k; a++) differs |= buf[a] != s->species[idx[a]];
        if (differs) {
            for (int a = 0; a < k; a++) s->species[idx[a]] = buf[a];
            return 1;
        }
    }
    return 0;
}

static fuse2_status permute_atoms(const fuse2_move_context *ctx, const fuse2_structure *current,
                                  int k, fuse2_structure *trial, fuse2_move_outcome *outcome)
{
    *outcome = FUSE2_MOVE_NOT_APPLICABLE;
    if (k < 2 || k > current->natoms || moves_element_count(current) < 2) return FUSE2_OK;
    int *idx = malloc(2 * (size_t)current->natoms * sizeof *idx);
    if (!idx) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "moves: out of memory");
    fuse2_status st = fuse2_structure_copy(trial, current);
    if (st == FUSE2_OK) {
        *outcome = FUSE2_MOVE_GAVE_UP;
        if (pick_atoms(ctx->rng, trial, k, idx) &&
            shuffle_species(ctx->rng, trial, idx, k, idx + current->natoms))
            *outcome = FUSE2_MOVE_DONE;
    }
    free(idx);
    if (st != FUSE2_OK) FUSE2_CALL(st);
    return FUSE2_OK;
}

fuse2_status moves_apply_3(const fuse2_move_context *ctx, const fuse2_structure *current,
                           const fuse2_submodules *modules, fuse2_structure *trial,
                           fuse2_move_outcome *outcome)
{
    (void)modules;
    if (!permutable(current, 4)) {
        *outcome = FUSE2_MOVE_NOT_APPLICABLE;
        return FUSE2_OK;
    }
    int k = fuse2_rng_int(ctx->rng, 3, current->natoms - 1);
    FUSE2_CALL(permute_atoms(ctx, current, k, trial, outcome));
    return FUSE2_OK;
}

fuse2_status moves_apply_5(const fuse2_move_context *ctx, const fuse2_structure *current,
                           const fuse2_submodules *modules, fuse2_structure *trial,
                           fuse2_move_outcome *outcome)
{
    (void)modules;
    if (!permutable(current, 4)) {
        *outcome = FUSE2_MOVE_NOT_APPLICABLE;
        return FUSE2_OK;
    }
    FUSE2_CALL(permute_atoms(ctx, current, current->natoms, trial, outcome));
    return FUSE2_OK;
}

/* Moves 4 and 6 (§6.3): each chosen atom is a "site" (its species joins the
 * permutation) or a "vac" atom (moves to a vacant point farther than
 * exclusion from every OTHER atom, Q6). */
static fuse2_status permute_with_vacancies(const fuse2_move_context *ctx,
                                           const fuse2_structure *current, int k,
                                           fuse2_structure *trial, fuse2_move_outcome *outcome)
{
    int n = current->natoms;
    double(*pts)[3] = NULL;
    int npts = 0;
    FUSE2_CALL(moves_vacant_points(ctx, current, 0, &pts, &npts));
    /* order[] holds a permutation of the points and, later, the shuffle buffer */
    size_t order_len = (size_t)(npts > n ? npts : n) + 1;
    int *idx = malloc((3 * (size_t)n + order_len) * sizeof *idx);
    if (!idx) {
        free(pts);
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "moves: out of memory");
    }
    int *is_vac = idx + n, *site = idx + 2 * n, *order = idx + 3 * n;
    fuse2_status st = FUSE2_OK;
    *outcome = FUSE2_MOVE_GAVE_UP;
    for (int retry = 0; retry < MAX_RETRIES; retry++) {
        FUSE2_CALL_GOTO(st, fuse2_structure_copy(trial, current), done);
        if (!pick_atoms(ctx->rng, trial, k, idx)) goto done;
        int nsite;
        do {
            nsite = 0;
            for (int a = 0; a < k; a++) {
                is_vac[a] = fuse2_rng_int(ctx->rng, 0, 1);
                nsite += !is_vac[a];
            }
        } while (nsite == 1);
        if (nsite < k && npts == 0) {
            *outcome = FUSE2_MOVE_NOT_APPLICABLE; /* a vac atom but no vacant point */
            goto done;
        }
        int changed = 0;
        for (int a = 0; a < k; a++) {
            if (!is_vac[a]) continue;
            for (int p = 0; p < npts; p++) order[p] = p;
            moves_shuffle_int(ctx->rng, order, npts);
            int moved = 0;
            for (int p = 0; p < npts && !moved; p++) {
                int clear;
                FUSE2_CALL_GOTO(st, moves_point_clear(ctx, trial, pts[order[p]], idx[a], &clear),
                                done);
                if (clear) {
                    memcpy(trial->frac[idx[a]], pts[order[p]], sizeof pts[0]);
                    moved = 1;
                }
            }
            if (moved)
                changed = 1;
            else
                is_vac[a] = 0; /* becomes a site atom */
        }
        nsite = 0;
        for (int a = 0; a < k; a++)
            if (!is_vac[a]) site[nsite++] = idx[a];
        if (nsite >= 2 && distinct_species(trial, site, nsite) &&
            shuffle_species(ctx->rng, trial, site, nsite, order))
            changed = 1;
        if (changed) {
            fuse2_structure_wrap_positions(trial);
            *outcome = FUSE2_MOVE_DONE;
            goto done;
        }
    }
done:
    free(idx);
    free(pts);
    return st;
}

fuse2_status moves_apply_4(const fuse2_move_context *ctx, const fuse2_structure *current,
                           const fuse2_submodules *modules, fuse2_structure *trial,
                           fuse2_move_outcome *outcome)
{
    (void)modules;
    if (!permutable(current, 4)) {
        *outcome = FUSE2_MOVE_NOT_APPLICABLE;
        return FUSE2_OK;
    }
    int k = fuse2_rng_int(ctx->rng, 3, current->natoms - 1);
    FUSE2_CALL(permute_with_vacancies(ctx, current, k, trial, outcome));
    return FUSE2_OK;
}

fuse2_status moves_apply_6(const fuse2_move_context *ctx, const fuse2_structure *current,
                           const fuse2_submodules *modules, fuse2_structure *trial,
                           fuse2_move_outcome *outcome)
{
    (void)modules;
    if (!permutable(current, 3)) {
        *outcome = FUSE2_MOVE_NOT_APPLICABLE;
        return FUSE2_OK;
    }
    FUSE2_CALL(permute_with_vacancies(ctx, current, current->natoms, trial, outcome));
    return FUSE2_OK;
}
