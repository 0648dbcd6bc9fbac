/* The campaign as tasks (architecture.md "Parallel model"; fuse2-algorithm.md
 * §11.3, §12, §17.4), split so that one process decides and any process
 * relaxes:
 *
 *   controller (rank 0): owns the walkers, the initial population, the ML
 *     pool, the campaign file (fuse2/store.h); hands out tasks, takes their
 *     results in any order, decides each walker step when its trials are
 *     back, commits checkpoints. It never builds or relaxes a structure.
 *   worker (any rank, rank 0 too with -n 1): executes a task: builds the
 *     structure(s) with the task's own random streams and relaxes them.
 *
 * A task is one initial-population member, or one walker step with all its
 * search_gen_bh trials (built one after another from the step's stream, so
 * they run on one rank). Every draw is keyed by (seed, walker, step,
 * purpose), and a walker's step s is only handed out once step s-1 is
 * decided, so where and when a task runs never changes the campaign.
 * Units: Å, eV, eV/atom, s. */
#ifndef FUSE2_CONTROLLER_H
#define FUSE2_CONTROLLER_H

#include <stdint.h>

#include "fuse2/error.h"
#include "fuse2/search.h"
#include "fuse2/structure.h"

#ifdef __cplusplus
extern "C" {
#endif

struct fuse2_config;

typedef enum fuse2_task_kind {
    FUSE2_TASK_MEMBER = 1,      /* initial-population member `index` */
    FUSE2_TASK_STEP = 2         /* step `step` of walker `walker` */
} fuse2_task_kind;

enum { FUSE2_TASK_MAX_POOL = 8 };

/* spglib tolerance (Å) of the space groups reported with each relaxed
 * structure (campaign file, fuse2 inspect). */
#define FUSE2_REPORT_SYMPREC 0.01

typedef struct fuse2_task {
    fuse2_task_kind kind;
    int walker;                 /* STEP: walker; MEMBER: -1 */
    int step;                   /* STEP: the walker's step; MEMBER: member index */
    int ntrials;                /* STEP: trials to build and relax (<= search_gen_bh) */
    int melted;                 /* STEP: use the melted move weights (r_moves) */
    /* STEP: the walker's current record: relaxed structure and the start
     * (pre-rattle) structure, from which the worker derives the sub-modules
     * the moves act on (§11.3, revert_atoms). */
    fuse2_structure current;
    fuse2_structure current_start;
    int current_move;           /* STEP: the move that built current_start (0: initial
                                   population), so moves 7-10 shrink only once (Q47) */
    /* ML-pool structures: MEMBER: npool = 1 when the member comes from the
     * pool (otherwise the generator builds it). STEP: the walker's next
     * dealt entries (§17.4), used in order by move 14; the result says how
     * many were used. */
    int npool;
    fuse2_structure pool[FUSE2_TASK_MAX_POOL];
} fuse2_task;

typedef struct fuse2_task_result {
    fuse2_task_kind kind;
    int walker, step;
    int ntrials;                /* records filled */
    int pool_used;              /* STEP: dealt entries consumed */
    fuse2_record trials[FUSE2_MAX_TRIALS_PER_STEP]; /* MEMBER: trials[0] */
    int spacegroup[FUSE2_MAX_TRIALS_PER_STEP];      /* of each relaxed structure at
                                                     * FUSE2_REPORT_SYMPREC, 0 unknown */
    int rank;                   /* who ran it (informational) */
} fuse2_task_result;

/* Zeroed task with empty structures; free releases its structures. */
fuse2_status fuse2_task_init(fuse2_task *t);
void fuse2_task_free(fuse2_task *t);
/* Allocated and initialised result (it is large); free with fuse2_task_result_destroy. */
fuse2_status fuse2_task_result_create(fuse2_task_result **out);
void fuse2_task_result_destroy(fuse2_task_result *r);

/* ---- worker ---- */
typedef struct fuse2_worker fuse2_worker;

/* Builds what executing tasks needs from cfg (generator constants, shape
 * tables, calculator, evaluation options). cfg must outlive the worker. */
fuse2_status fuse2_worker_create(const struct fuse2_config *cfg, fuse2_worker **out);
void fuse2_worker_destroy(fuse2_worker *w);
/* Called between relaxation iterations; nonzero stops the task early
 * (*interrupted set by fuse2_worker_execute; its result must be dropped). */
void fuse2_worker_set_interrupt(fuse2_worker *w, int (*interrupt)(void *user), void *user);
/* Executes task into res (res->rank is left to the caller). A structure
 * that cannot be built or relaxed is a failed record, not an error. */
fuse2_status fuse2_worker_execute(fuse2_worker *w, const fuse2_task *task, fuse2_task_result *res,
                                  int *interrupted);

/* ---- controller ---- */
typedef struct fuse2_controller fuse2_controller;

/* Progress and event lines (no newline). */
typedef void (*fuse2_controller_log_fn)(void *user, const char *line);

typedef struct fuse2_controller_options {
    fuse2_controller_log_fn log;    /* may be NULL */
    void *log_user;
    int ranks;                      /* for provenance (1 if 0) */
    const char *hosts;              /* distinct host names, comma-separated; may be NULL */
    double checkpoint_seconds;      /* commit at least this often (0: 30 s) */
    double flush_seconds;           /* make rows visible to readers this often (0: 1 s) */
    double progress_seconds;        /* a progress line this often (0: 10 s) */
    /* ML pool of a new campaign (fuse2/pool.h), stored in the campaign file
     * when it is created; NULL: the configuration's pool
     * (read_exisiting_structures from path_to_structures), if any. A
     * resumed campaign always uses the pool stored in its file. */
    const struct fuse2_pool *pool;
} fuse2_controller_options;

/* Opens the campaign of cfg: creates cfg's campaign file, or, when it
 * exists, resumes it (the resolved configuration must match the stored one
 * except for `iterations`, which may change the walkers' budgets). */
fuse2_status fuse2_controller_open(const struct fuse2_config *cfg, const fuse2_controller_options *opt,
                                   fuse2_controller **out);
/* The next task ready to run, in a fixed order (members by index, then
 * walkers by id); *have = 0 when none is ready now (all running, waiting
 * for a decision, or stopping). task must be initialised; it is replaced. */
fuse2_status fuse2_controller_next_task(fuse2_controller *c, fuse2_task *task, int *have);
/* Takes the result of a task handed out by next_task (any order). */
fuse2_status fuse2_controller_complete(fuse2_controller *c, const fuse2_task_result *res);
/* Housekeeping, to be called often: flush, checkpoint and progress on
 * their timers; the stop file. Cheap when nothing is due. */
fuse2_status fuse2_controller_poll(fuse2_controller *c);
/* No more tasks from now on (signal, stop file); reason goes to the log and
 * the provenance row ("signal", "stop_file"). */
void fuse2_controller_request_stop(fuse2_controller *c, const char *reason);
/* 1 when no task will be handed out any more: every walker has stopped, or
 * a stop was requested. Tasks still running may be dropped. */
int fuse2_controller_done(const fuse2_controller *c);
/* Tasks handed out and not yet completed. */
int fuse2_controller_running(const fuse2_controller *c);
/* Executes one task (fuse2_worker_execute, or a benchmark's stand-in); a
 * task it reports *interrupted is dropped and rerun on restart. */
typedef fuse2_status (*fuse2_task_execute_fn)(void *user, const fuse2_task *task, fuse2_task_result *res,
                                              int *interrupted);
/* Runs the controller's tasks in this process, one after another, until it
 * is done (fuse2-mpi on one rank, fuse2_campaign_run_serial). before_task
 * (may be NULL) is called before each task, e.g. to turn a signal into
 * fuse2_controller_request_stop. */
fuse2_status fuse2_controller_run_local(fuse2_controller *c, fuse2_task_execute_fn execute, void *user,
                                        void (*before_task)(void *user, fuse2_controller *c), void *before_user);
/* Commits (final checkpoint), writes best CIFs and steps.csv into
 * output_dir, closes the file and frees c. summary may be NULL. On error
 * paths call it too: it never commits a half-decided state. */
fuse2_status fuse2_controller_close(fuse2_controller *c, fuse2_campaign_summary *summary);

#ifdef __cplusplus
}
#endif
#endif
