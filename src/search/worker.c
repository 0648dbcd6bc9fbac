/* Executing tasks (fuse2/controller.h): an initial-population member or one
 * walker step with all its trials. Everything a task draws comes from the
 * streams keyed by (seed, walker, step, purpose), so the result does not
 * depend on the rank that runs it. */
#include <stdlib.h>
#include <string.h>

#include "fuse2/config.h"
#include "fuse2/controller.h"
#include "fuse2/gen.h"
#include "fuse2/moves.h"
#include "fuse2/symmetry.h"
#include "moves_internal.h"

enum { TRIAL_ATTEMPTS = 1000 };

struct fuse2_worker {
    const fuse2_config *cfg;
    fuse2_gen_params gen;
    fuse2_gen_constants consts;
    fuse2_shape_tables tables;
    fuse2_calc calc;
    int calc_created;
    fuse2_eval_options eval;
};

fuse2_status fuse2_task_init(fuse2_task *t)
{
    if (!t) return FUSE2_RAISE(FUSE2_ERR_ARG, "task missing");
    memset(t, 0, sizeof *t);
    return FUSE2_OK;
}

void fuse2_task_free(fuse2_task *t)
{
    if (!t) return;
    fuse2_structure_free(&t->current);
    fuse2_structure_free(&t->current_start);
    for (int i = 0; i < FUSE2_TASK_MAX_POOL; i++) fuse2_structure_free(&t->pool[i]);
    memset(t, 0, sizeof *t);
}

fuse2_status fuse2_task_result_create(fuse2_task_result **out)
{
    if (!out) return FUSE2_RAISE(FUSE2_ERR_ARG, "result missing");
    fuse2_task_result *r = calloc(1, sizeof *r);
    if (!r) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "out of memory for a task result");
    for (int k = 0; k < FUSE2_MAX_TRIALS_PER_STEP; k++) {
        fuse2_status st = fuse2_record_init(&r->trials[k]);
        if (st != FUSE2_OK) {
            fuse2_task_result_destroy(r);
            return st;
        }
    }
    *out = r;
    return FUSE2_OK;
}

void fuse2_task_result_destroy(fuse2_task_result *r)
{
    if (!r) return;
    for (int k = 0; k < FUSE2_MAX_TRIALS_PER_STEP; k++) fuse2_record_free(&r->trials[k]);
    free(r);
}

static void gen_params_from_config(const fuse2_config *cfg, fuse2_gen_params *p)
{
    fuse2_gen_params_default(p);
    p->composition = cfg->composition;
    p->max_atoms = cfg->max_atoms;
    p->imax_atoms = cfg->imax_atoms;
    p->max_ax = cfg->max_ax;
    p->ap_scale = cfg->ap_scale;
    p->fixed_ap = cfg->fixed_ap;
    p->vac_ratio = cfg->vac_ratio;
    p->density_cutoff = cfg->density_cutoff;
    p->check_distances = cfg->check_distances;
    p->dist_cutoff = cfg->dist_cutoff;
    p->check_bonds = cfg->check_bonds;
    p->btol = cfg->btol;
    p->use_spglib = cfg->use_spglib;
    p->symprec = cfg->symprec;
    p->submodule_shrink = cfg->submodule_shrink;
}

fuse2_status fuse2_worker_create(const fuse2_config *cfg, fuse2_worker **out)
{
    if (!cfg || !out) return FUSE2_RAISE(FUSE2_ERR_ARG, "worker: missing argument");
    if (cfg->search_gen_bh < 1 || cfg->search_gen_bh > FUSE2_MAX_TRIALS_PER_STEP)
        return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED, "search_gen_bh must be 1..%d (got %d)",
                           FUSE2_MAX_TRIALS_PER_STEP, cfg->search_gen_bh);
    fuse2_worker *w = calloc(1, sizeof *w);
    if (!w) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "out of memory for a worker");
    w->cfg = cfg;
    fuse2_status st = FUSE2_OK;
    gen_params_from_config(cfg, &w->gen);
    FUSE2_CALL_GOTO(st, fuse2_gen_constants_compute(&w->gen, &w->consts), fail);
    w->consts.ap = cfg->ap; /* the configuration's ap includes the oxidation-state rule (§17.1) */
    FUSE2_CALL_GOTO(st, fuse2_shape_tables_build(cfg->max_ax, &w->tables), fail);
    FUSE2_CALL_GOTO(st, fuse2_config_calculator_create(cfg, &w->calc), fail);
    w->calc_created = 1;
    w->eval.use_spglib = cfg->use_spglib;
    w->eval.symprec = cfg->symprec;
    w->eval.ratt_dist = cfg->ratt_dist;
    w->eval.check_distances = cfg->check_distances;
    w->eval.dist_cutoff = cfg->dist_cutoff;
    w->eval.e_prec = cfg->e_prec;
    w->eval.relax = cfg->relax;
    *out = w;
    return FUSE2_OK;
fail:
    fuse2_worker_destroy(w);
    return st;
}

void fuse2_worker_destroy(fuse2_worker *w)
{
    if (!w) return;
    if (w->calc_created) fuse2_calc_destroy(&w->calc);
    fuse2_shape_tables_free(&w->tables);
    free(w);
}

void fuse2_worker_set_interrupt(fuse2_worker *w, int (*interrupt)(void *user), void *user)
{
    if (!w) return;
    w->eval.relax.interrupt = interrupt;
    w->eval.relax.interrupt_user = user;
}

static int interrupted_now(const fuse2_worker *w)
{
    return w->eval.relax.interrupt && w->eval.relax.interrupt(w->eval.relax.interrupt_user);
}

/* Space group of a relaxed, non-failed record (0 when spglib finds none). */
static int record_spacegroup(const fuse2_record *r)
{
    if (r->status == FUSE2_RECORD_FAILED || r->structure.natoms == 0) return 0;
    /* A report tolerance: relaxations converge positions to ~1e-3 Å, so the
     * symmetrisation tolerance (symprec, 1e-5 Å) would report P1 for most. */
    fuse2_spacegroup sg;
    if (fuse2_symmetry_spacegroup(&r->structure, FUSE2_REPORT_SYMPREC, &sg) != FUSE2_OK) {
        fuse2_error_clear();
        return 0;
    }
    return sg.number;
}

/* §11.3: the decomposition the moves act on, on the campaign's sub-module
 * edge (cfg->ap: §3.1, or the ionic I_p of §17.1), the edge the generator
 * builds with. Only revert_atoms = False uses the relaxed structure;
 * otherwise the sub-modules stay pre-relaxation. The move that built the
 * start structure decides whether its coordinates already carry the shrink
 * (Q47): the task carries it (fuse2_task.current_move). */
static fuse2_status walker_modules(const fuse2_config *cfg, const fuse2_structure *relaxed,
                                   const fuse2_structure *start, int start_move, fuse2_submodules *m)
{
    FUSE2_CALL(moves_walker_modules(cfg->revert_atoms, relaxed, start, start_move, cfg->ap,
                                    cfg->submodule_shrink, m));
    return FUSE2_OK;
}

/* The task's dealt pool entries, handed out in order (§17.4). */
typedef struct task_pool {
    const fuse2_task *task;
    int used;
} task_pool;

static int task_pool_available(void *user)
{
    task_pool *p = user;
    return p->used < p->task->npool;
}

static fuse2_status task_pool_take(void *user, fuse2_rng *rng, fuse2_structure *out, int *taken)
{
    (void)rng; /* the order was fixed when the entries were dealt */
    task_pool *p = user;
    *taken = 0;
    if (p->used >= p->task->npool) return FUSE2_OK;
    FUSE2_CALL(fuse2_structure_copy(out, &p->task->pool[p->used]));
    p->used++;
    *taken = 1;
    return FUSE2_OK;
}

static fuse2_status execute_member(fuse2_worker *w, const fuse2_task *t, fuse2_task_result *res,
                                   int *interrupted)
{
    const fuse2_config *cfg = w->cfg;
    fuse2_record *r = &res->trials[0];
    fuse2_structure s;
    FUSE2_CALL(fuse2_structure_init(&s, 0));
    fuse2_status st = FUSE2_OK;
    r->origin = FUSE2_ORIGIN_GENERATOR;
    if (t->npool > 0) {
        FUSE2_CALL_GOTO(st, fuse2_structure_copy(&s, &t->pool[0]), out);
        r->origin = FUSE2_ORIGIN_POOL;
    } else {
        fuse2_rng grng;
        fuse2_rng_init(&grng, cfg->seed, 0, (uint32_t)t->step, FUSE2_RNG_PURPOSE_GEN_INITIAL);
        FUSE2_CALL_GOTO(st, fuse2_gen_structure(&w->gen, &w->consts, &w->tables, w->consts.imax_fus, 1, &grng,
                                                &s, NULL), out);
    }
    fuse2_rng rrng;
    fuse2_rng_init(&rrng, cfg->seed, 0, (uint32_t)t->step, FUSE2_RNG_PURPOSE_RATTLE_INITIAL);
    fuse2_record_origin origin = r->origin;
    FUSE2_CALL_GOTO(st, fuse2_evaluate_structure(&w->calc, &s, &w->eval, &rrng, r), out);
    if (interrupted_now(w)) {
        *interrupted = 1;
        goto out;
    }
    r->origin = origin;
    r->pool_slot = origin == FUSE2_ORIGIN_POOL ? 0 : -1;
    r->walker = -1;
    r->step = t->step;
    r->trial = 0;
    r->move = 0;
    res->spacegroup[0] = record_spacegroup(r);
    res->ntrials = 1;
out:
    fuse2_structure_free(&s);
    return st;
}

static fuse2_status execute_step(fuse2_worker *w, const fuse2_task *t, fuse2_task_result *res,
                                 int *interrupted)
{
    const fuse2_config *cfg = w->cfg;
    if (t->ntrials < 1 || t->ntrials > FUSE2_MAX_TRIALS_PER_STEP)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "walker %d step %d: %d trials", t->walker, t->step, t->ntrials);
    fuse2_submodules modules;
    memset(&modules, 0, sizeof modules);
    FUSE2_CALL(walker_modules(cfg, &t->current, &t->current_start, t->current_move, &modules));
    task_pool pool = {.task = t, .used = 0};
    fuse2_pool_source source = {.user = &pool, .available = task_pool_available, .take = task_pool_take};
    fuse2_rng mrng;
    fuse2_rng_init(&mrng, cfg->seed, (uint32_t)t->walker, (uint32_t)t->step, FUSE2_RNG_PURPOSE_BH_MOVES);
    fuse2_move_context ctx = {
        .gen = &w->gen, .consts = &w->consts, .tables = &w->tables, .composition = &cfg->composition,
        .grid_spacing = cfg->grid_spacing, .exclusion = cfg->exclusion,
        .pool = t->npool > 0 ? &source : NULL, .rng = &mrng};
    const int *weights = t->melted ? cfg->r_moves : cfg->n_moves;
    fuse2_structure trial;
    FUSE2_CALL(fuse2_structure_init(&trial, 0));
    fuse2_status st = FUSE2_OK;
    int moves[FUSE2_MAX_TRIALS_PER_STEP];
    int slots[FUSE2_MAX_TRIALS_PER_STEP]; /* the task's pool entry a trial was taken from, -1 none */
    /* All trials are built first, one after another from the step's stream
     * (§12.2: a trial with the wrong composition is built again). */
    for (int k = 0; k < t->ntrials; k++) {
        int attempt = 0;
        for (; attempt < TRIAL_ATTEMPTS; attempt++) {
            int used_before = pool.used;
            FUSE2_CALL_GOTO(st, fuse2_moves_make_trial(&ctx, weights, &t->current, &modules, &trial, &moves[k]), out);
            slots[k] = pool.used > used_before ? pool.used - 1 : -1;
            if (fuse2_composition_matches(&cfg->composition, &trial)) break;
        }
        if (attempt == TRIAL_ATTEMPTS)
            FUSE2_RAISE_GOTO(st, out, FUSE2_ERR_NUMERIC,
                             "walker %d step %d: no trial with the composition in %d attempts", t->walker,
                             t->step, TRIAL_ATTEMPTS);
        FUSE2_CALL_GOTO(st, fuse2_structure_copy(&res->trials[k].start, &trial), out);
    }
    res->pool_used = pool.used;
    for (int k = 0; k < t->ntrials; k++) {
        fuse2_record *r = &res->trials[k];
        fuse2_rng rrng;
        fuse2_rng_init(&rrng, cfg->seed, (uint32_t)t->walker, (uint32_t)t->step,
                       FUSE2_RNG_PURPOSE_RATTLE_TRIAL + (uint32_t)k);
        FUSE2_CALL_GOTO(st, fuse2_structure_copy(&trial, &r->start), out);
        FUSE2_CALL_GOTO(st, fuse2_evaluate_structure(&w->calc, &trial, &w->eval, &rrng, r), out);
        if (interrupted_now(w)) {
            *interrupted = 1;
            goto out;
        }
        r->walker = t->walker;
        r->step = t->step;
        r->trial = k;
        r->move = moves[k];
        r->origin = FUSE2_ORIGIN_TRIAL;
        r->pool_slot = slots[k];
        res->spacegroup[k] = record_spacegroup(r);
    }
    res->ntrials = t->ntrials;
out:
    fuse2_structure_free(&trial);
    fuse2_submodules_free(&modules);
    return st;
}

fuse2_status fuse2_worker_execute(fuse2_worker *w, const fuse2_task *task, fuse2_task_result *res,
                                  int *interrupted)
{
    if (!w || !task || !res || !interrupted) return FUSE2_RAISE(FUSE2_ERR_ARG, "worker: missing argument");
    *interrupted = 0;
    res->kind = task->kind;
    res->walker = task->walker;
    res->step = task->step;
    res->ntrials = 0;
    res->pool_used = 0;
    if (task->kind == FUSE2_TASK_MEMBER) return execute_member(w, task, res, interrupted);
    if (task->kind == FUSE2_TASK_STEP) return execute_step(w, task, res, interrupted);
    return FUSE2_RAISE(FUSE2_ERR_ARG, "unknown task kind %d", (int)task->kind);
}
