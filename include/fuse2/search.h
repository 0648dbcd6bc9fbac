/* Basin hopping (fuse2-algorithm.md §9, §11.3, §12, §17.4), split for the
 * MPI runtime where rank 0 decides and workers relax:
 *   (a) decisions on walker state: Metropolis acceptance, melting, the rmax
 *       stop, the budget split and the walkers' start members -- pure
 *       functions of the walker state, the trial scores and the random
 *       numbers of the step's own stream;
 *   (b) producing trials: the moves (fuse2/moves.h);
 *   (c) evaluating one structure: symmetrise, rattle, relax, post-checks
 *       (fuse2_evaluate_structure), giving a fuse2_record.
 * Units: Å, eV; energies compared per atom (eV/atom), T in eV/atom.
 * See docs/basin-hopping.md. */
#ifndef FUSE2_SEARCH_H
#define FUSE2_SEARCH_H

#include <stdint.h>

#include "fuse2/calc.h"
#include "fuse2/error.h"
#include "fuse2/relax.h"
#include "fuse2/rng.h"
#include "fuse2/structure.h"
#include "fuse2/submodule.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Purpose ids of the basin-hopping streams fuse2_rng_init(seed, walker,
 * step, purpose). The generator's are 0x4701-0x4703 (fuse2/gen.h).
 *   MOVES:  (w, s) all trials of step s of walker w, built one after the
 *           other (fuse2_moves_make_trial's ctx->rng).
 *   ACCEPT: (w, s) the two numbers of the step's decision: U for the
 *           Metropolis test, then U for the melt increment (always both).
 *   RATTLE_TRIAL + k: (w, s) the rattle of trial k (< 256) of step s, so
 *           every trial can be relaxed on any rank.
 *   RATTLE_INITIAL: (0, m) the rattle of initial-population member m (the
 *           generator's stream of member m is (0, m, GEN_INITIAL)).
 *   POOL_WALKER: (w, 0) the order in which walker w uses the ML-pool
 *           entries dealt to it (fuse2_pool_deal_init). */
enum {
    FUSE2_RNG_PURPOSE_BH_MOVES = 0x5201,
    FUSE2_RNG_PURPOSE_BH_ACCEPT = 0x5202,
    FUSE2_RNG_PURPOSE_RATTLE_INITIAL = 0x5203,
    FUSE2_RNG_PURPOSE_POOL_WALKER = 0x5205,
    FUSE2_RNG_PURPOSE_POOL_ORDER = 0x5206,  /* (0, 0): pull_random order of a pool directory */
    FUSE2_RNG_PURPOSE_RATTLE_TRIAL = 0x5300, /* + trial index 0..255 */
    FUSE2_MAX_TRIALS_PER_STEP = 256
};

/* Energy (eV, total) the original gives a failed relaxation (§9): its score
 * per atom is FUSE2_FAILED_ENERGY / N. */
#define FUSE2_FAILED_ENERGY 1e20

/* x rounded to a multiple of quantum, half to even (Python's round). */
double fuse2_quantize(double x, double quantum);
/* Acceptance score (eV/atom) of a relaxation: energy_per_atom quantised to
 * e_prec, or FUSE2_FAILED_ENERGY / natoms (not quantised) if failed. */
double fuse2_acceptance_score(int failed, double energy_per_atom, int natoms, double e_prec);

/* ---- records (c) ---- */
typedef enum fuse2_record_status {
    FUSE2_RECORD_CONVERGED = 0,
    FUSE2_RECORD_NOT_CONVERGED, /* optimiser step limit: energy kept, as FUSE2 */
    FUSE2_RECORD_FAILED         /* scored FUSE2_FAILED_ENERGY / N, always rejected */
} fuse2_record_status;

typedef enum fuse2_record_origin {
    FUSE2_ORIGIN_GENERATOR = 0, /* initial population, generator */
    FUSE2_ORIGIN_POOL,          /* initial population, ML pool */
    FUSE2_ORIGIN_TRIAL          /* basin-hopping trial */
} fuse2_record_origin;

typedef struct fuse2_record {
    fuse2_structure start;      /* symmetrised input, before the rattle */
    fuse2_structure structure;  /* the relaxed (or last good) structure */
    double energy;              /* eV, total as the calculator returned it */
    double energy_per_atom;     /* eV/atom, quantised to e_prec (failed: score) */
    double score;               /* eV/atom used for acceptance */
    fuse2_record_status status;
    char reason[FUSE2_REASON_LEN]; /* why it failed / did not converge, "" otherwise */
    int walker;                 /* -1 for the initial population */
    int step;                   /* walker's step, or member index for the initial population */
    int trial;                  /* index within the step */
    int move;                   /* 1..14, 0 for the initial population */
    fuse2_record_origin origin;
    int relax_steps;
    double wall_seconds;
    int pool_slot;              /* the task's ML-pool structure it was made from
                                   (fuse2/controller.h), -1 if none */
    int nstages;                /* tiered relaxation: what each stage did */
    fuse2_stage_result stages[FUSE2_MAX_STAGES];
} fuse2_record;

/* Zeroed record with empty structures. */
fuse2_status fuse2_record_init(fuse2_record *r);
void fuse2_record_free(fuse2_record *r);
const char *fuse2_record_status_name(fuse2_record_status s);

typedef struct fuse2_eval_options {
    int use_spglib;             /* symmetrise before relaxing (§8), keeping N */
    double symprec;             /* Å */
    double ratt_dist;           /* Å, sigma of the Gaussian rattle (0 = off) */
    int check_distances;        /* fail if the relaxed d_min <= dist_cutoff */
    double dist_cutoff;         /* Å */
    double e_prec;              /* eV/atom */
    fuse2_relax_options relax;
} fuse2_eval_options;

/* §9: copies s, symmetrises it, adds N(0, ratt_dist^2) to every Cartesian
 * coordinate from rng, relaxes with calc, checks N and the shortest contact,
 * and fills rec (structures, energies, status, reason, wall time; the
 * caller sets walker/step/trial/move/origin). A structure that cannot be
 * relaxed is a FUSE2_RECORD_FAILED record, not an error; errors are
 * returned for invalid arguments and out-of-memory only. */
fuse2_status fuse2_evaluate_structure(fuse2_calc *calc, const fuse2_structure *s,
                                      const fuse2_eval_options *opt, fuse2_rng *rng,
                                      fuse2_record *rec);

/* ---- walkers (a) ---- */
typedef enum fuse2_walker_stop {
    FUSE2_WALKER_RUNNING = 0,
    FUSE2_WALKER_CONVERGED,     /* r >= rmax */
    FUSE2_WALKER_BUDGET         /* its share of `iterations` is used */
} fuse2_walker_stop;

typedef struct fuse2_walker {
    int id;
    fuse2_structure current;    /* current record's relaxed structure */
    fuse2_submodules modules;   /* decomposition the moves act on (§11.3) */
    double current_score;       /* eV/atom (quantised, or the failed score) */
    fuse2_structure best;       /* the walker's own global minimum */
    double best_score;
    double T, T0;               /* eV/atom */
    int r;                      /* trials since the last new (own) global minimum */
    int ca;                     /* trials since the last downhill step */
    int step;                   /* steps decided */
    int relaxations;            /* trials relaxed */
    int budget;                 /* trials this walker may relax */
    int melted;                 /* 1: T rising, move weights r_moves */
    fuse2_walker_stop stopped;
} fuse2_walker;

typedef struct fuse2_bh_params {
    double T0;                  /* eV/atom */
    double e_prec;              /* eV/atom */
    int melt_threshold;
    int rmax;
} fuse2_bh_params;

/* Walker with empty structures, T = T0, counters 0. */
fuse2_status fuse2_walker_init(fuse2_walker *w, int id, const fuse2_bh_params *p, int budget);
void fuse2_walker_free(fuse2_walker *w);
/* Sets the current record (copies s); with as_best also the walker's best. */
fuse2_status fuse2_walker_set_current(fuse2_walker *w, const fuse2_structure *s, double score,
                                      int as_best);

/* What one decision did. */
typedef struct fuse2_decision {
    int best_trial;             /* first trial with the lowest score */
    double dE_current;          /* quantised best - current (eV/atom) */
    double dE_global;           /* quantised best - walker's best before the step */
    int accepted;
    int downhill;
    int new_global_minimum;
    int melt_raised;            /* T was raised this step */
    double T_after;
    int converged;              /* r >= rmax after the step */
} fuse2_decision;

/* §12.2 for one completed step of ntrials scores: Metropolis on the best
 * trial with u_accept in [0, 1) (accept uphill iff exp(-dE/T) >= u), melt
 * increment u_melt / 100, rmax. Updates T, r, ca, step, melted, stopped,
 * current_score and best_score; the caller copies the trial's structure
 * into the walker (fuse2_walker_set_current) when accepted, and into best
 * when new_global_minimum. Deterministic in its arguments. */
fuse2_status fuse2_walker_decide(fuse2_walker *w, const fuse2_bh_params *p, const double *scores,
                                 int ntrials, double u_accept, double u_melt,
                                 fuse2_decision *out);
/* The same with u_accept and u_melt drawn, in this order, from the step's
 * stream (seed, walker, step, FUSE2_RNG_PURPOSE_BH_ACCEPT). */
fuse2_status fuse2_walker_accept(fuse2_walker *w, const fuse2_bh_params *p, uint64_t seed,
                                 const double *scores, int ntrials, fuse2_decision *out);

/* §17.4: trials walker w of P may relax when `rest` relaxations are left
 * after the initial population: floor(rest/P), plus one for w < rest mod P. */
int fuse2_walker_budget(int rest, int walkers, int w);
/* §17.4: start member of each walker: member of energy rank (w mod n)
 * (ascending score, ties by member index). start[walkers] out. */
fuse2_status fuse2_walker_start_members(const double *scores, int n, int walkers, int *start);

/* ---- the serial campaign ---- */
struct fuse2_config;
struct fuse2_pool_source;

/* §17.4 ML-pool dealing: entry i of the pool belongs to walker i mod P;
 * walker w uses its entries in an order shuffled with the stream
 * (seed, w, 0, POOL_WALKER), independent of the other walkers and of
 * arrival time. Entries already used (by the initial population) are
 * skipped when their turn comes. */
/* Access to an ML pool by entry index, for dealing (the pool's move-14
 * interface, fuse2_pool_source in fuse2/moves.h, has none). count() is the
 * number of entries ever held, used or not; take_index() copies entry
 * index (0 <= index < count) into out, marks it used and sets *taken = 1,
 * or sets *taken = 0 if the entry was already used. */
typedef struct fuse2_pool_index {
    void *user;
    int (*count)(void *user);
    fuse2_status (*take_index)(void *user, int index, fuse2_structure *out, int *taken);
} fuse2_pool_index;

typedef struct fuse2_pool_deal {
    const fuse2_pool_index *pool; /* not owned */
    int *order;                 /* pool indices of this walker, in use order */
    int n;
    int next;                   /* position of the next index to try */
} fuse2_pool_deal;

/* Deals to walker `walker` of `walkers` the entries of pool. Free with
 * fuse2_pool_deal_free. */
fuse2_status fuse2_pool_deal_init(fuse2_pool_deal *d, const fuse2_pool_index *pool, int walker,
                                  int walkers, uint64_t seed);
void fuse2_pool_deal_free(fuse2_pool_deal *d);
/* The next entry dealt to d that nobody has used, copied into out and
 * marked used; *index is its pool index, -1 when none is left. */
fuse2_status fuse2_pool_deal_next(fuse2_pool_deal *d, fuse2_structure *out, int *index);
/* A source handing out only d's entries, in d's order (its take() ignores
 * the rng it is given); it returns taken = 0 once they are used up. */
void fuse2_pool_deal_source(fuse2_pool_deal *d, struct fuse2_pool_source *out);

/* Progress and event lines (no newline); library code never prints. */
typedef void (*fuse2_log_fn)(void *user, const char *line);

typedef struct fuse2_campaign_options {
    fuse2_log_fn log;           /* may be NULL */
    void *log_user;
    double progress_seconds;    /* a progress line this often (0: 10 s) */
    /* ML pool of a new campaign (fuse2/pool.h; fuse2_controller_options) */
    const struct fuse2_pool *pool;
} fuse2_campaign_options;

typedef struct fuse2_campaign_summary {
    int relaxations;            /* initial population + trials */
    int initial_relaxed;
    int steps;                  /* walker steps decided, all walkers */
    int walkers_converged;      /* stopped on rmax */
    int stopped_by_file;
    double best_score;          /* eV/atom, over all walkers and the initial population */
    int best_walker;            /* -1: an initial-population member */
    double wall_seconds;
    int finished;               /* every walker has stopped (not interrupted) */
} fuse2_campaign_summary;

/* Runs the campaign of cfg in this process: the controller and one worker
 * of fuse2/controller.h in a loop, the same code paths as fuse2-mpi on any
 * number of ranks. Creates or resumes cfg's campaign file (fuse2/store.h)
 * and runs until every walker has stopped or the stop file appears (it is
 * then removed, as FUSE2 does). Writes into cfg->output_dir: the campaign
 * file, steps.csv (one row per relaxation), best-walker-NNN.cif for every
 * walker and best.cif for the campaign. */
fuse2_status fuse2_campaign_run_serial(const struct fuse2_config *cfg,
                                       const fuse2_campaign_options *opt,
                                       fuse2_campaign_summary *summary);

#ifdef __cplusplus
}
#endif
#endif
