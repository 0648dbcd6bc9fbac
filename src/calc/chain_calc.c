/* Tiered relaxation: a calculator made of stages, each any registered
 * calculator with its own settings (e.g. a built-in or GULP proxy
 * potential, then QE or VASP). Stage k+1 starts from the structure stage k
 * left; the last stage gives the energy; every stage's energy, steps, time
 * and status are reported (fuse2_relax_result.stages).
 *
 * YAML:
 *   calculator:
 *     name: chain
 *     stages:
 *       - {name: builtin, library: SrTiO3-buck.lib}
 *       - {name: qe, ecutwfc: 30, pseudopotentials: "..."}
 * Per stage, besides its calculator's keys: `on_failure: stop` (default) or
 * `continue`, and relaxation criteria for that stage alone (`fmax`, `smax`,
 * `max_steps`, `time_limit`; default: the campaign's `relax:`). A stage
 * that fails (crash, time-out, collapse, a setting it cannot use, ...)
 * stops the chain with that stage's status unless `continue`; then the next
 * stage starts from the structure the failed stage was given. A stage that ends without converging
 * hands its structure on (FUSE2's middle stages do the same); the chain's
 * status is the last stage's. FUSE2 ignores a GULP stage's energy only when a
 * later stage exists (Q18): here every stage's energy is kept in the stage
 * list and the last one ranks. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/calc.h"
#include "fuse2/clock.h"
#include "fuse2/relax.h"

typedef struct chain_stage {
    fuse2_calc calc;
    char name[32];
    int continue_on_failure;
    /* the stage's own relaxation criteria; < 0: the campaign's */
    double fmax, smax, time_limit;
    int max_steps;
    fuse2_settings settings;    /* the stage's own keys (items malloc'ed, strings borrowed) */
} chain_stage;

typedef struct chain {
    int nstages;
    chain_stage stages[FUSE2_MAX_STAGES];
} chain;

static const char *const chain_keys[] = {"stages.*", NULL};

static void chain_destroy(void *state)
{
    chain *ch = state;
    if (!ch) return;
    for (int k = 0; k < ch->nstages; k++) {
        fuse2_calc_destroy(&ch->stages[k].calc);
        free((void *)ch->stages[k].settings.items);
    }
    free(ch);
}

/* Stage index of a "stages.N.key" setting, -1 if malformed. */
static int stage_index(const char *key)
{
    if (strncmp(key, "stages.", 7)) return -1;
    char *end;
    errno = 0;
    long n = strtol(key + 7, &end, 10);
    if (end == key + 7 || *end != '.' || errno || n < 0 || n > 1000) return -1;
    return (int)n;
}

static fuse2_status make_stage(chain *ch, int k, const fuse2_settings *all, const char *origin_hint)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "stages.%d.", k);
    fuse2_settings sub;
    FUSE2_CALL(fuse2_settings_subset(all, prefix, &sub));
    chain_stage *st = &ch->stages[k];
    st->fmax = st->smax = st->time_limit = -1;
    st->max_steps = -1;
    const char *name = NULL, *name_origin = origin_hint;
    /* the stage's own settings: everything but the chain's per-stage keys */
    fuse2_setting *items = (fuse2_setting *)sub.items;
    int n = 0;
    fuse2_status status = FUSE2_OK;
    for (int i = 0; i < sub.count; i++) {
        const fuse2_setting *it = &sub.items[i];
        if (!strcmp(it->key, "name")) {
            name = it->value;
            name_origin = it->origin;
        } else if (!strcmp(it->key, "fmax") || !strcmp(it->key, "smax") || !strcmp(it->key, "time_limit") ||
                   !strcmp(it->key, "max_steps")) {
            double v;
            status = fuse2_setting_parse_double(it->key, it->value, it->origin, &v);
            if (status != FUSE2_OK) goto fail;
            int positive = strcmp(it->key, "time_limit") ? v > 0 : v >= 0;
            if (!positive || (!strcmp(it->key, "max_steps") && v != (int)v))
                FUSE2_RAISE_GOTO(status, fail, FUSE2_ERR_ARG, "%s: stage %d: '%s' must be a %s number (got '%s')",
                                 it->origin ? it->origin : "settings", k + 1, it->key,
                                 !strcmp(it->key, "max_steps") ? "positive whole" : "positive", it->value);
            if (!strcmp(it->key, "fmax")) st->fmax = v;
            else if (!strcmp(it->key, "smax")) st->smax = v;
            else if (!strcmp(it->key, "time_limit")) st->time_limit = v;
            else st->max_steps = (int)v;
        } else if (!strcmp(it->key, "on_failure")) {
            if (!strcmp(it->value, "continue")) st->continue_on_failure = 1;
            else if (strcmp(it->value, "stop"))
                FUSE2_RAISE_GOTO(status, fail, FUSE2_ERR_ARG, "%s: stage %d: on_failure must be stop or continue (got '%s')",
                                 it->origin ? it->origin : "settings", k + 1, it->value);
        } else {
            items[n++] = *it;
        }
    }
    sub.count = n;
    if (!name)
        FUSE2_RAISE_GOTO(status, fail, FUSE2_ERR_ARG, "%s: stage %d of the chain has no 'name'",
                         name_origin ? name_origin : "settings", k + 1);
    if (!strcmp(name, "chain"))
        FUSE2_RAISE_GOTO(status, fail, FUSE2_ERR_ARG, "%s: stage %d: a chain cannot be a stage of a chain",
                         name_origin ? name_origin : "settings", k + 1);
    if (!fuse2_calc_find(name))
        FUSE2_RAISE_GOTO(status, fail, FUSE2_ERR_ARG, "%s: stage %d: unknown calculator '%s'",
                         name_origin ? name_origin : "settings", k + 1, name);
    status = fuse2_calc_create(name, &sub, &st->calc);
    if (status != FUSE2_OK) {
        fuse2_error_prefix("stage %d (%s): ", k + 1, name);
        goto fail;
    }
    snprintf(st->name, sizeof st->name, "%s", name);
    st->settings = sub;
    return FUSE2_OK;
fail:
    free((void *)sub.items);
    return status;
}

static fuse2_status chain_create(const fuse2_settings *settings, void **state)
{
    chain *ch = calloc(1, sizeof *ch);
    if (!ch) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "chain calculator");
    int nstages = 0;
    const char *origin = NULL;
    fuse2_status st = FUSE2_OK;
    for (int i = 0; settings && i < settings->count; i++) {
        int k = stage_index(settings->items[i].key);
        if (k < 0)
            FUSE2_RAISE_GOTO(st, fail, FUSE2_ERR_ARG, "%s: chain setting '%s' is not stages.N.key",
                             settings->items[i].origin ? settings->items[i].origin : "settings", settings->items[i].key);
        if (k + 1 > nstages) nstages = k + 1;
        if (!origin) origin = settings->items[i].origin;
    }
    if (nstages < 1) FUSE2_RAISE_GOTO(st, fail, FUSE2_ERR_ARG, "chain calculator: no stages (give a list 'stages')");
    if (nstages > FUSE2_MAX_STAGES)
        FUSE2_RAISE_GOTO(st, fail, FUSE2_ERR_ARG, "%s: chain calculator: %d stages, at most %d", origin ? origin : "settings",
                         nstages, FUSE2_MAX_STAGES);
    for (int k = 0; k < nstages; k++) {
        FUSE2_CALL_GOTO(st, make_stage(ch, k, settings, origin), fail);
        ch->nstages = k + 1;
    }
    *state = ch;
    return FUSE2_OK;
fail:
    chain_destroy(ch);
    return st;
}

static fuse2_status chain_compute(void *state, const fuse2_structure *s, fuse2_calc_result *result)
{
    chain *ch = state;
    FUSE2_CALL(fuse2_calc_compute(&ch->stages[ch->nstages - 1].calc, s, result));
    return FUSE2_OK;
}

/* Copies src into dst, cut to fit (reasons are cut by design). */
static void copy_cut(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size) n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int stage_failed(fuse2_relax_status st) { return st == FUSE2_RELAX_FAILED || st == FUSE2_RELAX_TIMED_OUT; }

static fuse2_status chain_relax(void *state, fuse2_structure *s, const fuse2_relax_options *opt,
                                fuse2_relax_result *result)
{
    chain *ch = state;
    double t0 = fuse2_monotonic_seconds();
    fuse2_relax_result r;
    fuse2_relax_result_init(&r);
    fuse2_structure given = {0}; /* what the stage started from */
    fuse2_status status = FUSE2_OK;
    int steps = 0, evaluations = 0;
    for (int k = 0; k < ch->nstages; k++) {
        chain_stage *stage = &ch->stages[k];
        fuse2_relax_options o = *opt;
        if (stage->fmax > 0) o.fmax = stage->fmax;
        if (stage->smax > 0) o.smax = stage->smax;
        if (stage->max_steps > 0) o.max_steps = stage->max_steps;
        if (stage->time_limit > 0) o.time_limit = stage->time_limit;
        if (opt->time_limit > 0) { /* the limit covers the whole chain */
            double left = opt->time_limit - (fuse2_monotonic_seconds() - t0);
            o.time_limit = stage->time_limit > 0 && stage->time_limit < left ? stage->time_limit : left;
            if (left <= 0) {
                fuse2_relax_result_free(&r);
                fuse2_relax_result_init(&r);
                r.status = FUSE2_RELAX_TIMED_OUT;
                snprintf(r.reason, sizeof r.reason, "time limit of %g s reached before stage %d", opt->time_limit, k + 1);
                r.energy = r.energy_per_atom = r.enthalpy = NAN;
                break;
            }
        }
        FUSE2_CALL_GOTO(status, fuse2_structure_copy(&given, s), out);
        fuse2_status rs = fuse2_relax(&stage->calc, s, &o, &r);
        if (rs == FUSE2_ERR_NOMEM) FUSE2_CALL_GOTO(status, rs, out);
        if (rs != FUSE2_OK) {
            /* a stage that cannot run this structure (a setting it cannot
             * use, its scratch directory, ...) is a failed stage, recorded
             * like the others */
            fuse2_relax_result_free(&r);
            fuse2_relax_result_init(&r);
            r.status = FUSE2_RELAX_FAILED;
            r.energy = r.energy_per_atom = r.enthalpy = NAN;
            char why[FUSE2_REASON_LEN + 16];
            snprintf(why, sizeof why, "error: %s", fuse2_error_message());
            copy_cut(r.reason, sizeof r.reason, why);
            fuse2_error_clear();
            FUSE2_CALL_GOTO(status, fuse2_structure_copy(s, &given), out);
        }
        steps += r.steps;
        evaluations += r.evaluations;
        fuse2_stage_result *sr = &result->stages[k];
        snprintf(sr->calculator, sizeof sr->calculator, "%s", stage->name);
        sr->status = r.status;
        sr->energy = r.energy;
        sr->steps = r.steps;
        sr->wall_seconds = r.wall_seconds;
        copy_cut(sr->reason, sizeof sr->reason, r.reason);
        result->nstages = k + 1;
        if (r.status == FUSE2_RELAX_INTERRUPTED) break;
        if (stage_failed(r.status)) {
            char why[FUSE2_REASON_LEN + 64];
            snprintf(why, sizeof why, "stage %d (%s): %s", k + 1, stage->name, r.reason);
            copy_cut(r.reason, sizeof r.reason, why);
            if (!stage->continue_on_failure) break;
            /* the next stage starts from what this one was given, not from
             * a geometry that failed */
            FUSE2_CALL_GOTO(status, fuse2_structure_copy(s, &given), out);
        }
    }
    /* the chain's result is that of its last stage that ran */
    int nst = result->nstages;
    fuse2_stage_result stages[FUSE2_MAX_STAGES];
    memcpy(stages, result->stages, sizeof stages);
    fuse2_relax_result_free(result);
    *result = r;
    fuse2_relax_result_init(&r); /* result owns r's buffers now */
    result->nstages = nst;
    memcpy(result->stages, stages, sizeof stages);
    result->steps = steps;
    result->evaluations = evaluations;
out:
    fuse2_relax_result_free(&r);
    fuse2_structure_free(&given);
    return status;
}

/* Configuration check: every stage must cover the campaign's elements. */
static fuse2_status chain_check_elements(void *state, const int *z, int n)
{
    chain *ch = state;
    for (int k = 0; k < ch->nstages; k++)
        if (fuse2_calc_check_elements(&ch->stages[k].calc, z, n) != FUSE2_OK) {
            fuse2_error_prefix("stage %d (%s): ", k + 1, ch->stages[k].name);
            fuse2_error_push_frame(__FILE__, __LINE__, __func__);
            return fuse2_error_code();
        }
    return FUSE2_OK;
}

const fuse2_calc_ops fuse2_chain_calc_ops = {
    .name = "chain",
    .description = "tiered relaxation: stages of other calculators, each starting where the last ended",
    .keys = chain_keys,
    .create = chain_create,
    .destroy = chain_destroy,
    .compute = chain_compute,
    .relax = chain_relax,
    .check_elements = chain_check_elements,
};
