/* Basin-hopping decisions on walker state (fuse2-algorithm.md §12.2, §17.4):
 * pure functions of the walker, the trial scores and the step's random
 * numbers, so rank 0 can decide while other ranks relax. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/search.h"

double fuse2_quantize(double x, double quantum)
{
    if (!(quantum > 0.0) || !isfinite(x)) return x;
    /* Dividing by an integral 1/quantum (1e5 for 1e-5) gives the double
     * nearest to the decimal result, -7.12346 rather than -7.1234600000001. */
    double inv = 1.0 / quantum;
    double inv_int = nearbyint(inv);
    if (inv_int >= 1.0 && fabs(inv - inv_int) <= 1e-9 * inv_int)
        return nearbyint(x * inv_int) / inv_int; /* default rounding: half to even */
    return nearbyint(x / quantum) * quantum;
}

double fuse2_acceptance_score(int failed, double energy_per_atom, int natoms, double e_prec)
{
    if (failed || !isfinite(energy_per_atom))
        return FUSE2_FAILED_ENERGY / (natoms > 0 ? natoms : 1);
    return fuse2_quantize(energy_per_atom, e_prec);
}

fuse2_status fuse2_walker_init(fuse2_walker *w, int id, const fuse2_bh_params *p, int budget)
{
    if (!w || !p) return FUSE2_RAISE(FUSE2_ERR_ARG, "walker or parameters missing");
    memset(w, 0, sizeof *w);
    w->id = id;
    w->T = w->T0 = p->T0;
    w->budget = budget > 0 ? budget : 0;
    w->current_score = w->best_score = INFINITY;
    FUSE2_CALL(fuse2_structure_init(&w->current, 0));
    FUSE2_CALL(fuse2_structure_init(&w->best, 0));
    if (w->budget == 0) w->stopped = FUSE2_WALKER_BUDGET;
    return FUSE2_OK;
}

void fuse2_walker_free(fuse2_walker *w)
{
    if (!w) return;
    fuse2_structure_free(&w->current);
    fuse2_structure_free(&w->best);
    fuse2_submodules_free(&w->modules);
}

fuse2_status fuse2_walker_set_current(fuse2_walker *w, const fuse2_structure *s, double score,
                                      int as_best)
{
    if (!w || !s) return FUSE2_RAISE(FUSE2_ERR_ARG, "walker or structure missing");
    FUSE2_CALL(fuse2_structure_copy(&w->current, s));
    w->current_score = score;
    if (as_best) {
        FUSE2_CALL(fuse2_structure_copy(&w->best, s));
        w->best_score = score;
    }
    return FUSE2_OK;
}

fuse2_status fuse2_walker_decide(fuse2_walker *w, const fuse2_bh_params *p, const double *scores,
                                 int ntrials, double u_accept, double u_melt,
                                 fuse2_decision *out)
{
    if (!w || !p || !scores || !out) return FUSE2_RAISE(FUSE2_ERR_ARG, "missing argument");
    if (ntrials < 1 || ntrials > FUSE2_MAX_TRIALS_PER_STEP)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "a step needs 1..%d trials (got %d)",
                           FUSE2_MAX_TRIALS_PER_STEP, ntrials);
    if (!(w->T > 0.0)) return FUSE2_RAISE(FUSE2_ERR_ARG, "walker %d: T must be > 0 (got %g)", w->id, w->T);
    memset(out, 0, sizeof *out);
    int best = 0;
    for (int k = 1; k < ntrials; k++)
        if (scores[k] < scores[best]) best = k; /* first of the lowest */
    double e = scores[best];
    out->best_trial = best;
    /* Q12: both differences are quantised to e_prec. */
    out->dE_global = fuse2_quantize(e - w->best_score, p->e_prec);
    out->dE_current = fuse2_quantize(e - w->current_score, p->e_prec);

    if (out->dE_current < 0.0) {
        out->accepted = out->downhill = 1;
        w->current_score = e;
        w->ca = 0;
        w->T = w->T0;
        w->melted = 0;
        if (out->dE_global < 0.0) {
            out->new_global_minimum = 1;
            w->r = 0;
            w->best_score = e;
        }
    } else {
        double p_accept = out->dE_current > 0.0 ? exp(-out->dE_current / w->T) : 0.0;
        /* p_accept > 0 keeps a failed trial (dE ~ 1e19) rejected even for u = 0. */
        if (out->dE_current > 0.0 && p_accept > 0.0 && p_accept >= u_accept) {
            out->accepted = 1;
            w->current_score = e;
        }
        w->r += ntrials;
        w->ca += ntrials;
    }
    if (!out->accepted && w->ca >= p->melt_threshold) {
        w->T += u_melt / 100.0;
        w->melted = 1;
        out->melt_raised = 1;
    }
    w->step++;
    w->relaxations += ntrials;
    out->T_after = w->T;
    if (w->r >= p->rmax) {
        out->converged = 1;
        w->stopped = FUSE2_WALKER_CONVERGED;
    } else if (w->relaxations >= w->budget) {
        w->stopped = FUSE2_WALKER_BUDGET;
    }
    return FUSE2_OK;
}

fuse2_status fuse2_walker_accept(fuse2_walker *w, const fuse2_bh_params *p, uint64_t seed,
                                 const double *scores, int ntrials, fuse2_decision *out)
{
    if (!w) return FUSE2_RAISE(FUSE2_ERR_ARG, "walker missing");
    fuse2_rng rng;
    fuse2_rng_init(&rng, seed, (uint32_t)w->id, (uint32_t)w->step, FUSE2_RNG_PURPOSE_BH_ACCEPT);
    double u_accept = fuse2_rng_uniform(&rng);
    double u_melt = fuse2_rng_uniform(&rng);
    FUSE2_CALL(fuse2_walker_decide(w, p, scores, ntrials, u_accept, u_melt, out));
    return FUSE2_OK;
}

int fuse2_walker_budget(int rest, int walkers, int w)
{
    if (rest <= 0 || walkers <= 0 || w < 0 || w >= walkers) return 0;
    return rest / walkers + (w < rest % walkers ? 1 : 0);
}

typedef struct ranked_member {
    double score;
    int index;
} ranked_member;

static int compare_ranked(const void *a, const void *b)
{
    const ranked_member *x = a, *y = b;
    if (x->score < y->score) return -1;
    if (x->score > y->score) return 1;
    return (x->index > y->index) - (x->index < y->index);
}

fuse2_status fuse2_walker_start_members(const double *scores, int n, int walkers, int *start)
{
    if (!scores || !start || n < 1 || walkers < 1)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "start members need >= 1 member and walker (got %d, %d)",
                           n, walkers);
    ranked_member *order = malloc((size_t)n * sizeof *order);
    if (!order) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "out of memory ranking %d members", n);
    for (int i = 0; i < n; i++) {
        /* NaN would break the order; it ranks last like a failure. */
        order[i].score = isnan(scores[i]) ? INFINITY : scores[i];
        order[i].index = i;
    }
    qsort(order, (size_t)n, sizeof *order, compare_ranked);
    for (int w = 0; w < walkers; w++) start[w] = order[w % n].index;
    free(order);
    return FUSE2_OK;
}
