/* Relaxing one structure (fuse2-algorithm.md §9, §17.4, §17.5): symmetrise,
 * rattle from the caller's stream, relax, post-checks. A structure that
 * cannot be relaxed becomes a failed record with its reason, never an error. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fuse2/clock.h"
#include "fuse2/neighbors.h"
#include "fuse2/search.h"
#include "fuse2/symmetry.h"

fuse2_status fuse2_record_init(fuse2_record *r)
{
    if (!r) return FUSE2_RAISE(FUSE2_ERR_ARG, "record missing");
    memset(r, 0, sizeof *r);
    r->walker = -1;
    r->pool_slot = -1;
    FUSE2_CALL(fuse2_structure_init(&r->start, 0));
    FUSE2_CALL(fuse2_structure_init(&r->structure, 0));
    return FUSE2_OK;
}

void fuse2_record_free(fuse2_record *r)
{
    if (!r) return;
    fuse2_structure_free(&r->start);
    fuse2_structure_free(&r->structure);
}

const char *fuse2_record_status_name(fuse2_record_status s)
{
    switch (s) {
    case FUSE2_RECORD_CONVERGED: return "converged";
    case FUSE2_RECORD_NOT_CONVERGED: return "not_converged";
    case FUSE2_RECORD_FAILED: return "failed";
    }
    return "unknown";
}

static void mark_failed(fuse2_record *rec, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mark_failed(fuse2_record *rec, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rec->reason, sizeof rec->reason, fmt, ap);
    va_end(ap);
    rec->status = FUSE2_RECORD_FAILED;
    rec->energy = FUSE2_FAILED_ENERGY;
}

/* Gaussian displacement of every atom in Cartesian space (§9 step 3; the
 * stream replaces the original's fixed seed 42, Q14). */
static fuse2_status rattle(fuse2_structure *s, double sigma, fuse2_rng *rng)
{
    double inv[3][3];
    FUSE2_CALL(fuse2_lattice_inverse(s->lattice, inv));
    for (int i = 0; i < s->natoms; i++) {
        double cart[3];
        fuse2_structure_cartesian(s, i, cart);
        for (int k = 0; k < 3; k++) cart[k] += sigma * fuse2_rng_normal(rng);
        for (int k = 0; k < 3; k++)
            s->frac[i][k] = cart[0] * inv[0][k] + cart[1] * inv[1][k] + cart[2] * inv[2][k];
    }
    return FUSE2_OK;
}

fuse2_status fuse2_evaluate_structure(fuse2_calc *calc, const fuse2_structure *s,
                                      const fuse2_eval_options *opt, fuse2_rng *rng,
                                      fuse2_record *rec)
{
    if (!calc || !s || !opt || !rec || (opt->ratt_dist > 0.0 && !rng))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "evaluate: missing argument");
    double t0 = fuse2_monotonic_seconds();
    rec->status = FUSE2_RECORD_CONVERGED;
    rec->reason[0] = '\0';
    rec->energy = 0.0;
    rec->relax_steps = 0;
    rec->nstages = 0;
    const int n0 = s->natoms;
    FUSE2_CALL(fuse2_structure_copy(&rec->start, s));
    FUSE2_CALL(fuse2_structure_copy(&rec->structure, s));
    fuse2_relax_result result;
    fuse2_relax_result_init(&result);
    fuse2_status st = FUSE2_OK;

    if (fuse2_structure_validate(s, "structure") != FUSE2_OK) {
        mark_failed(rec, "invalid structure: %s", fuse2_error_message());
        fuse2_error_clear();
        goto done;
    }
    if (opt->use_spglib) {
        /* §8: keep N; spglib failure leaves the structure unchanged. */
        if (fuse2_symmetry_standardize(&rec->structure, opt->symprec, 0, 1, NULL) != FUSE2_OK) {
            if (fuse2_error_code() == FUSE2_ERR_NOMEM) { st = FUSE2_ERR_NOMEM; goto done; }
            fuse2_error_clear();
            FUSE2_CALL_GOTO(st, fuse2_structure_copy(&rec->structure, s), done);
        }
        FUSE2_CALL_GOTO(st, fuse2_structure_copy(&rec->start, &rec->structure), done);
    }
    if (opt->ratt_dist > 0.0) FUSE2_CALL_GOTO(st, rattle(&rec->structure, opt->ratt_dist, rng), done);

    if (fuse2_relax(calc, &rec->structure, &opt->relax, &result) != FUSE2_OK) {
        if (fuse2_error_code() == FUSE2_ERR_NOMEM) { st = FUSE2_ERR_NOMEM; goto done; }
        mark_failed(rec, "relaxation error: %s", fuse2_error_message());
        fuse2_error_clear();
        goto done;
    }
    rec->relax_steps = result.steps;
    rec->nstages = result.nstages;
    memcpy(rec->stages, result.stages, (size_t)result.nstages * sizeof rec->stages[0]);
    if (result.status == FUSE2_RELAX_FAILED || result.status == FUSE2_RELAX_TIMED_OUT ||
        result.status == FUSE2_RELAX_INTERRUPTED) {
        mark_failed(rec, "%s: %s", fuse2_relax_status_name(result.status), result.reason);
        goto done;
    }
    if (rec->structure.natoms != n0) { /* §9 step 5 */
        mark_failed(rec, "atom count changed from %d to %d", n0, rec->structure.natoms);
        goto done;
    }
    if (!isfinite(result.enthalpy)) {
        mark_failed(rec, "non-finite energy");
        goto done;
    }
    if (opt->check_distances) { /* §9 step 6 */
        double dmin = fuse2_structure_min_distance(&rec->structure);
        if (!(dmin > opt->dist_cutoff)) {
            mark_failed(rec, "relaxed contact %.4f A <= dist_cutoff %.4f A", dmin, opt->dist_cutoff);
            goto done;
        }
    }
    rec->energy = result.energy;
    if (result.status == FUSE2_RELAX_MAX_STEPS) {
        rec->status = FUSE2_RECORD_NOT_CONVERGED;
        snprintf(rec->reason, sizeof rec->reason, "%s", result.reason[0] ? result.reason : "max_steps");
    }

done:
    if (st == FUSE2_OK) {
        int failed = rec->status == FUSE2_RECORD_FAILED;
        /* Enthalpy per atom: the energy at zero pressure, what the relaxation minimised otherwise. */
        double per_atom = failed ? NAN : result.enthalpy / (n0 > 0 ? n0 : 1);
        rec->score = fuse2_acceptance_score(failed, per_atom, n0, opt->e_prec);
        rec->energy_per_atom = rec->score;
    }
    rec->wall_seconds = fuse2_monotonic_seconds() - t0;
    fuse2_relax_result_free(&result);
    return st;
}
