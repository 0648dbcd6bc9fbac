/* The serial campaign driver (fuse2-algorithm.md §11.3, §12, §13, §17.4):
 * initial population, then P walkers stepped in turn. Decisions
 * (walker.c), trials (moves) and evaluations (evaluate.c) are kept apart so
 * the MPI runtime can hand evaluations to other ranks; this driver does all
 * three in one process. Library code: reports through the log callback. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuse2/config.h"
#include "fuse2/gen.h"
#include "fuse2/moves.h"
#include "fuse2/search.h"
#include "fuse2/structure_io.h"

enum { PATH_LEN = 4096, TRIAL_ATTEMPTS = 1000 };

typedef struct campaign {
    const fuse2_config *cfg;
    const fuse2_campaign_options *opt;
    fuse2_campaign_summary *sum;
    fuse2_gen_params gen;
    fuse2_gen_constants consts;
    fuse2_shape_tables tables;
    fuse2_calc calc;
    int calc_created;
    fuse2_eval_options eval;
    fuse2_bh_params bh;
    FILE *csv;
    char stop_path[PATH_LEN];
    char structures_dir[PATH_LEN]; /* "" unless write_all_structures (§13) */
    fuse2_pool_deal *deals;        /* per walker (§17.4), NULL: no dealt pool */
    fuse2_pool_source *deal_sources;
    int ndeals;
    double t0;
    int next_progress;
} campaign;

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void log_line(const campaign *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(const campaign *c, const char *fmt, ...)
{
    if (!c->opt || !c->opt->log) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->opt->log(c->opt->log_user, line);
}

/* mkdir -p */
static fuse2_status make_directories(const char *path)
{
    char buf[PATH_LEN];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "output directory path too long: %s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return FUSE2_RAISE(FUSE2_ERR_IO, "%s: cannot create directory: %s", buf, strerror(errno));
            *p = saved;
            if (saved == '\0') break;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return FUSE2_RAISE(FUSE2_ERR_IO, "%s: not a directory", path);
    return FUSE2_OK;
}

static fuse2_status output_path(const campaign *c, const char *name, char *out)
{
    if (name[0] == '/') {
        if (snprintf(out, PATH_LEN, "%s", name) >= PATH_LEN)
            return FUSE2_RAISE(FUSE2_ERR_ARG, "path too long: %s", name);
    } else if (snprintf(out, PATH_LEN, "%s/%s", c->cfg->output_dir, name) >= PATH_LEN) {
        return FUSE2_RAISE(FUSE2_ERR_ARG, "path too long: %s/%s", c->cfg->output_dir, name);
    }
    return FUSE2_OK;
}

/* §12.2 / §17.6: the stop file ends the run between relaxations; it is
 * removed, as FUSE2 removes stop.txt, so the next invocation runs. */
static int stop_requested(campaign *c)
{
    if (c->sum->stopped_by_file) return 1;
    if (access(c->stop_path, F_OK) != 0) return 0;
    remove(c->stop_path);
    c->sum->stopped_by_file = 1;
    log_line(c, "stop file %s found: stopping", c->stop_path);
    return 1;
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

static void write_csv_row(campaign *c, const fuse2_record *r, const char *accepted, double T)
{
    if (!c->csv) return;
    const char *origin = r->origin == FUSE2_ORIGIN_TRIAL ? "trial"
                         : r->origin == FUSE2_ORIGIN_POOL ? "initial_pool" : "initial";
    /* The reason goes in the last column; separators and quotes are replaced. */
    char reason[FUSE2_REASON_LEN];
    snprintf(reason, sizeof reason, "%s", r->reason);
    for (char *p = reason; *p; p++)
        if (*p == ',' || *p == '"' || *p == '\n' || *p == '\r') *p = ';';
    /* %.5f matches e_prec's default; failure scores (~1e19) in exponent form. */
    fprintf(c->csv, r->status == FUSE2_RECORD_FAILED ? "%s,%d,%d,%d,%d,%.6e,%s,%.8g,%.4f,%s,%s\n"
                                                     : "%s,%d,%d,%d,%d,%.5f,%s,%.8g,%.4f,%s,%s\n",
            origin, r->walker, r->step, r->trial, r->move, r->energy_per_atom, accepted, T,
            r->wall_seconds, fuse2_record_status_name(r->status), reason);
}

/* §13 write_all_structures: every relaxation as <structures_dir>/I-<member>.cif
 * (initial population) or S-w<walker>-s<step>-t<trial>.cif (trial), failed
 * ones too (their last geometry); the data_ name carries the status. */
static fuse2_status write_relaxed_structure(const campaign *c, const fuse2_record *r)
{
    if (!c->structures_dir[0]) return FUSE2_OK;
    char name[128], path[PATH_LEN];
    if (r->origin == FUSE2_ORIGIN_TRIAL)
        snprintf(name, sizeof name, "S-w%d-s%d-t%d", r->walker, r->step, r->trial);
    else
        snprintf(name, sizeof name, "I-%d", r->step);
    if (snprintf(path, sizeof path, "%s/%s.cif", c->structures_dir, name) >= (int)sizeof path)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "path too long: %s/%s.cif", c->structures_dir, name);
    char title[160];
    snprintf(title, sizeof title, "%s_%s", name, fuse2_record_status_name(r->status));
    return fuse2_cif_write(path, &r->structure, title, 0, 0.0);
}

static fuse2_status note_relaxation(campaign *c, const fuse2_record *r, int walker)
{
    FUSE2_CALL(write_relaxed_structure(c, r));
    fuse2_campaign_summary *s = c->sum;
    s->relaxations++;
    if (r->score < s->best_score) {
        s->best_score = r->score;
        s->best_walker = walker;
    }
    if (s->relaxations >= c->next_progress) {
        double dt = seconds_now() - c->t0;
        log_line(c, "progress: %d/%d relaxations, %d steps, %.2f steps/s, %.2f relaxations/s, best %.5f eV/atom",
              s->relaxations, c->cfg->iterations, s->steps, dt > 0 ? s->steps / dt : 0.0,
              dt > 0 ? s->relaxations / dt : 0.0, s->best_score);
        c->next_progress += c->opt && c->opt->progress_every > 0 ? c->opt->progress_every : 10;
    }
    return FUSE2_OK;
}

/* §11.3: decomposition the moves act on. Only revert_atoms = False uses
 * the relaxed structure; otherwise the sub-modules stay pre-relaxation. */
static fuse2_status walker_modules(const campaign *c, const fuse2_record *r, fuse2_submodules *m)
{
    if (c->cfg->revert_atoms == 0) {
        if (fuse2_submodules_decompose(&r->structure, m) == FUSE2_OK) return FUSE2_OK;
        fuse2_error_clear();
    }
    FUSE2_CALL(fuse2_submodules_decompose(&r->start, m));
    return FUSE2_OK;
}

static fuse2_status run_initial_population(campaign *c, fuse2_record *members, int n, int *relaxed)
{
    const fuse2_config *cfg = c->cfg;
    const fuse2_pool_source *pool = c->opt ? c->opt->pool : NULL;
    fuse2_structure s;
    FUSE2_CALL(fuse2_structure_init(&s, 0));
    fuse2_status st = FUSE2_OK;
    *relaxed = 0;
    for (int m = 0; m < n; m++) {
        if (stop_requested(c)) break;
        fuse2_record *r = &members[m];
        r->origin = FUSE2_ORIGIN_GENERATOR;
        int taken = 0;
        if (pool && pool->available && pool->take && pool->available(pool->user)) {
            fuse2_rng prng;
            fuse2_rng_init(&prng, cfg->seed, 0, (uint32_t)m, FUSE2_RNG_PURPOSE_POOL_INITIAL);
            FUSE2_CALL_GOTO(st, pool->take(pool->user, &prng, &s, &taken), out);
            if (taken) r->origin = FUSE2_ORIGIN_POOL;
        }
        if (!taken) {
            fuse2_rng grng;
            fuse2_rng_init(&grng, cfg->seed, 0, (uint32_t)m, FUSE2_RNG_PURPOSE_GEN_INITIAL);
            FUSE2_CALL_GOTO(st, fuse2_gen_structure(&c->gen, &c->consts, &c->tables, c->consts.imax_fus, 1,
                                                    &grng, &s, NULL), out);
        }
        fuse2_rng rrng;
        fuse2_rng_init(&rrng, cfg->seed, 0, (uint32_t)m, FUSE2_RNG_PURPOSE_RATTLE_INITIAL);
        FUSE2_CALL_GOTO(st, fuse2_evaluate_structure(&c->calc, &s, &c->eval, &rrng, r), out);
        r->walker = -1;
        r->step = m;
        r->trial = 0;
        r->move = 0;
        write_csv_row(c, r, "-", cfg->T);
        *relaxed = m + 1;
        c->sum->initial_relaxed = m + 1;
        FUSE2_CALL_GOTO(st, note_relaxation(c, r, -1), out);
    }
out:
    fuse2_structure_free(&s);
    return st;
}

/* Builds trial k of the walker's step from the step's stream (§12.2: a
 * trial whose composition is wrong is built again). */
static fuse2_status make_trial(campaign *c, fuse2_walker *w, fuse2_rng *rng, fuse2_structure *trial,
                               int *move)
{
    const fuse2_config *cfg = c->cfg;
    fuse2_move_context ctx = {
        .gen = &c->gen, .consts = &c->consts, .tables = &c->tables,
        .composition = &cfg->composition, .grid_spacing = cfg->grid_spacing,
        .exclusion = cfg->exclusion,
        .pool = c->deal_sources ? &c->deal_sources[w->id] : NULL, /* §17.4 dealt entries */
        .rng = rng};
    const int *weights = w->melted ? cfg->r_moves : cfg->n_moves;
    for (int attempt = 0; attempt < TRIAL_ATTEMPTS; attempt++) {
        FUSE2_CALL(fuse2_moves_make_trial(&ctx, weights, &w->current, &w->modules, trial, move));
        if (fuse2_composition_matches(&cfg->composition, trial)) return FUSE2_OK;
    }
    return FUSE2_RAISE(FUSE2_ERR_NUMERIC, "walker %d step %d: no trial with the composition in %d attempts",
                       w->id, w->step, TRIAL_ATTEMPTS);
}

/* One step of walker w: build, relax, decide. *interrupted when the stop
 * file appeared before the step was complete (the step is not decided). */
static fuse2_status walker_step(campaign *c, fuse2_walker *w, fuse2_record *trials, int *interrupted)
{
    const fuse2_config *cfg = c->cfg;
    int ntrials = cfg->search_gen_bh;
    if (ntrials > w->budget - w->relaxations) ntrials = w->budget - w->relaxations;
    *interrupted = 0;
    fuse2_rng mrng;
    fuse2_rng_init(&mrng, cfg->seed, (uint32_t)w->id, (uint32_t)w->step, FUSE2_RNG_PURPOSE_BH_MOVES);
    int moves[FUSE2_MAX_TRIALS_PER_STEP];
    for (int k = 0; k < ntrials; k++) FUSE2_CALL(make_trial(c, w, &mrng, &trials[k].start, &moves[k]));

    double scores[FUSE2_MAX_TRIALS_PER_STEP];
    fuse2_structure built;
    FUSE2_CALL(fuse2_structure_init(&built, 0));
    fuse2_status st = FUSE2_OK;
    for (int k = 0; k < ntrials; k++) {
        if (stop_requested(c)) {
            /* The step stays undecided; its relaxations are still recorded. */
            for (int j = 0; j < k; j++) {
                write_csv_row(c, &trials[j], "-", w->T);
                FUSE2_CALL_GOTO(st, note_relaxation(c, &trials[j], w->id), out);
            }
            *interrupted = 1;
            goto out;
        }
        fuse2_rng rrng;
        fuse2_rng_init(&rrng, cfg->seed, (uint32_t)w->id, (uint32_t)w->step,
                       FUSE2_RNG_PURPOSE_RATTLE_TRIAL + (uint32_t)k);
        FUSE2_CALL_GOTO(st, fuse2_structure_copy(&built, &trials[k].start), out);
        FUSE2_CALL_GOTO(st, fuse2_evaluate_structure(&c->calc, &built, &c->eval, &rrng, &trials[k]), out);
        trials[k].walker = w->id;
        trials[k].step = w->step;
        trials[k].trial = k;
        trials[k].move = moves[k];
        trials[k].origin = FUSE2_ORIGIN_TRIAL;
        scores[k] = trials[k].score;
    }
    fuse2_decision d;
    FUSE2_CALL_GOTO(st, fuse2_walker_accept(w, &c->bh, cfg->seed, scores, ntrials, &d), out);
    c->sum->steps++;
    const fuse2_record *best = &trials[d.best_trial];
    if (d.accepted) {
        FUSE2_CALL_GOTO(st, fuse2_walker_set_current(w, &best->structure, best->score, 0), out);
        fuse2_submodules modules;
        memset(&modules, 0, sizeof modules);
        FUSE2_CALL_GOTO(st, walker_modules(c, best, &modules), out);
        fuse2_submodules_free(&w->modules);
        w->modules = modules;
    }
    if (d.new_global_minimum) FUSE2_CALL_GOTO(st, fuse2_structure_copy(&w->best, &best->structure), out);
    for (int k = 0; k < ntrials; k++) {
        write_csv_row(c, &trials[k], (d.accepted && k == d.best_trial) ? "True" : "False", d.T_after);
        FUSE2_CALL_GOTO(st, note_relaxation(c, &trials[k], w->id), out);
    }
    if (d.new_global_minimum)
        log_line(c, "walker %d step %d: new minimum %.5f eV/atom (move %d)", w->id, w->step - 1,
              best->score, best->move);
    if (d.converged) {
        c->sum->walkers_converged++;
        log_line(c, "walker %d converged: %d trials without a new minimum (rmax %d)", w->id, w->r, cfg->rmax);
    }
out:
    fuse2_structure_free(&built);
    return st;
}

static fuse2_status write_best_files(campaign *c, fuse2_walker *walkers, int P)
{
    char name[64], path[PATH_LEN];
    int best = -1;
    for (int w = 0; w < P; w++) {
        if (walkers[w].best.natoms == 0) continue;
        snprintf(name, sizeof name, "best-walker-%03d.cif", w);
        FUSE2_CALL(output_path(c, name, path));
        char title[64];
        snprintf(title, sizeof title, "walker%d_%.5f_eV_per_atom", w, walkers[w].best_score);
        FUSE2_CALL(fuse2_cif_write(path, &walkers[w].best, title, 0, c->cfg->symprec));
        if (best < 0 || walkers[w].best_score < walkers[best].best_score) best = w;
    }
    if (best >= 0) {
        FUSE2_CALL(output_path(c, "best.cif", path));
        char title[64];
        snprintf(title, sizeof title, "best_%.5f_eV_per_atom", walkers[best].best_score);
        FUSE2_CALL(fuse2_cif_write(path, &walkers[best].best, title, 0, c->cfg->symprec));
        c->sum->best_score = walkers[best].best_score;
        c->sum->best_walker = best;
    }
    return FUSE2_OK;
}

static fuse2_status setup(campaign *c)
{
    const fuse2_config *cfg = c->cfg;
    if (cfg->search_gen_bh < 1 || cfg->search_gen_bh > FUSE2_MAX_TRIALS_PER_STEP)
        return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED, "search_gen_bh must be 1..%d (got %d)",
                           FUSE2_MAX_TRIALS_PER_STEP, cfg->search_gen_bh);
    if (cfg->walkers < 1) return FUSE2_RAISE(FUSE2_ERR_ARG, "walkers must be >= 1 (got %d)", cfg->walkers);
    if (!cfg->output_dir || !cfg->output_dir[0]) return FUSE2_RAISE(FUSE2_ERR_ARG, "no output_dir");
    gen_params_from_config(cfg, &c->gen);
    FUSE2_CALL(fuse2_gen_constants_compute(&c->gen, &c->consts));
    c->consts.ap = cfg->ap; /* the configuration's ap includes the oxidation-state rule (§17.1) */
    FUSE2_CALL(fuse2_shape_tables_build(cfg->max_ax, &c->tables));
    FUSE2_CALL(fuse2_calc_create(cfg->calc_name, &cfg->calc_settings, &c->calc));
    c->calc_created = 1;
    c->eval.use_spglib = cfg->use_spglib;
    c->eval.symprec = cfg->symprec;
    c->eval.ratt_dist = cfg->ratt_dist;
    c->eval.check_distances = cfg->check_distances;
    c->eval.dist_cutoff = cfg->dist_cutoff;
    c->eval.e_prec = cfg->e_prec;
    c->eval.relax = cfg->relax;
    c->bh.T0 = cfg->T;
    c->bh.e_prec = cfg->e_prec;
    c->bh.melt_threshold = cfg->melt_threshold;
    c->bh.rmax = cfg->rmax;
    FUSE2_CALL(make_directories(cfg->output_dir));
    if (cfg->write_all_structures) {
        FUSE2_CALL(output_path(c, "structures", c->structures_dir));
        FUSE2_CALL(make_directories(c->structures_dir));
    }
    FUSE2_CALL(output_path(c, cfg->stop_file && cfg->stop_file[0] ? cfg->stop_file : "stop.txt", c->stop_path));
    char path[PATH_LEN];
    FUSE2_CALL(output_path(c, "steps.csv", path));
    c->csv = fopen(path, "w");
    if (!c->csv) return FUSE2_RAISE(FUSE2_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    fprintf(c->csv, "origin,walker,step,trial,move,energy_per_atom,accepted,T,wall_seconds,status,reason\n");
    return FUSE2_OK;
}

fuse2_status fuse2_campaign_run_serial(const fuse2_config *cfg, const fuse2_campaign_options *opt,
                                       fuse2_campaign_summary *summary)
{
    if (!cfg || !summary) return FUSE2_RAISE(FUSE2_ERR_ARG, "campaign: missing argument");
    memset(summary, 0, sizeof *summary);
    summary->best_score = INFINITY;
    summary->best_walker = -1;
    campaign c;
    memset(&c, 0, sizeof c);
    c.cfg = cfg;
    c.opt = opt;
    c.sum = summary;
    c.t0 = seconds_now();
    c.next_progress = opt && opt->progress_every > 0 ? opt->progress_every : 10;
    const int n_init = cfg->initial_gen < cfg->iterations ? cfg->initial_gen : cfg->iterations;
    const int P = cfg->walkers;
    fuse2_record *members = NULL, *trials = NULL;
    fuse2_walker *walkers = NULL;
    double *scores = NULL;
    int *start = NULL;
    int relaxed = 0, nwalkers_ready = 0, nmembers_ready = 0, ntrials_ready = 0;
    fuse2_status st = FUSE2_OK;
    FUSE2_CALL_GOTO(st, setup(&c), out);

    members = calloc(n_init > 0 ? (size_t)n_init : 1, sizeof *members);
    trials = calloc((size_t)cfg->search_gen_bh, sizeof *trials);
    walkers = calloc((size_t)P, sizeof *walkers);
    scores = calloc(n_init > 0 ? (size_t)n_init : 1, sizeof *scores);
    start = calloc((size_t)P, sizeof *start);
    if (!members || !trials || !walkers || !scores || !start)
        FUSE2_RAISE_GOTO(st, out, FUSE2_ERR_NOMEM, "out of memory for the campaign");
    for (; nmembers_ready < n_init; nmembers_ready++)
        FUSE2_CALL_GOTO(st, fuse2_record_init(&members[nmembers_ready]), out);
    for (; ntrials_ready < cfg->search_gen_bh; ntrials_ready++)
        FUSE2_CALL_GOTO(st, fuse2_record_init(&trials[ntrials_ready]), out);

    log_line(&c, "campaign %s: %d walkers, budget %d relaxations, initial population %d",
          cfg->source ? cfg->source : "", P, cfg->iterations, n_init);
    FUSE2_CALL_GOTO(st, run_initial_population(&c, members, n_init, &relaxed), out);
    if (relaxed == 0) {
        log_line(&c, "no structure relaxed: nothing to search");
        goto out;
    }
    for (int m = 0; m < relaxed; m++) scores[m] = members[m].score;
    FUSE2_CALL_GOTO(st, fuse2_walker_start_members(scores, relaxed, P, start), out);
    /* A stop during the initial population leaves no budget for the walkers. */
    const int rest = relaxed < n_init || summary->stopped_by_file ? 0 : cfg->iterations - relaxed;
    for (; nwalkers_ready < P; nwalkers_ready++) {
        fuse2_walker *w = &walkers[nwalkers_ready];
        FUSE2_CALL_GOTO(st, fuse2_walker_init(w, nwalkers_ready, &c.bh, fuse2_walker_budget(rest, P, nwalkers_ready)), out);
        const fuse2_record *m = &members[start[nwalkers_ready]];
        FUSE2_CALL_GOTO(st, fuse2_walker_set_current(w, &m->structure, m->score, 1), out);
        FUSE2_CALL_GOTO(st, walker_modules(&c, m, &w->modules), out);
    }
    /* §17.4: what the initial population left of the pool is dealt by index. */
    const fuse2_pool_index *pool = opt ? opt->pool_index : NULL;
    if (pool && pool->count && pool->take_index) {
        c.deals = calloc((size_t)P, sizeof *c.deals);
        c.deal_sources = calloc((size_t)P, sizeof *c.deal_sources);
        if (!c.deals || !c.deal_sources)
            FUSE2_RAISE_GOTO(st, out, FUSE2_ERR_NOMEM, "out of memory for the pool dealing");
        for (; c.ndeals < P; c.ndeals++) {
            FUSE2_CALL_GOTO(st, fuse2_pool_deal_init(&c.deals[c.ndeals], pool, c.ndeals, P, cfg->seed), out);
            fuse2_pool_deal_source(&c.deals[c.ndeals], &c.deal_sources[c.ndeals]);
        }
    }
    log_line(&c, "initial population relaxed: best %.5f eV/atom (member %d)", members[start[0]].score, start[0]);

    for (int running = 1; running && !summary->stopped_by_file;) {
        running = 0;
        for (int wi = 0; wi < P && !summary->stopped_by_file; wi++) {
            fuse2_walker *w = &walkers[wi];
            if (w->stopped != FUSE2_WALKER_RUNNING) continue;
            int interrupted = 0;
            FUSE2_CALL_GOTO(st, walker_step(&c, w, trials, &interrupted), out);
            if (w->stopped == FUSE2_WALKER_RUNNING) running = 1;
        }
    }
    FUSE2_CALL_GOTO(st, write_best_files(&c, walkers, P), out);
    for (int w = 0; w < P; w++)
        log_line(&c, "walker %d: %d steps, %d relaxations, best %.5f eV/atom, T %.5f, r %d, %s", w,
              walkers[w].step, walkers[w].relaxations, walkers[w].best_score, walkers[w].T, walkers[w].r,
              walkers[w].stopped == FUSE2_WALKER_CONVERGED ? "converged (rmax)"
              : walkers[w].stopped == FUSE2_WALKER_BUDGET ? "budget used" : "stopped");

out:
    summary->wall_seconds = seconds_now() - c.t0;
    if (c.csv && fclose(c.csv) != 0 && st == FUSE2_OK)
        st = FUSE2_RAISE(FUSE2_ERR_IO, "%s/steps.csv: write failed", cfg->output_dir);
    for (int i = 0; i < nwalkers_ready; i++) fuse2_walker_free(&walkers[i]);
    for (int i = 0; i < nmembers_ready; i++) fuse2_record_free(&members[i]);
    for (int i = 0; i < ntrials_ready; i++) fuse2_record_free(&trials[i]);
    free(members);
    free(trials);
    free(walkers);
    free(scores);
    free(start);
    for (int i = 0; i < c.ndeals; i++) fuse2_pool_deal_free(&c.deals[i]);
    free(c.deals);
    free(c.deal_sources);
    if (c.calc_created) fuse2_calc_destroy(&c.calc);
    fuse2_shape_tables_free(&c.tables);
    return st;
}
