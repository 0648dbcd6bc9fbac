/* The campaign in one process: the controller hands out tasks and one
 * worker executes them in turn (fuse2_controller_run_local, the loop
 * fuse2-mpi runs on one rank too). */
#include <string.h>

#include "fuse2/config.h"
#include "fuse2/controller.h"
#include "fuse2/search.h"

static fuse2_status execute_on_worker(void *user, const fuse2_task *task, fuse2_task_result *res, int *interrupted)
{
    FUSE2_CALL(fuse2_worker_execute(user, task, res, interrupted));
    return FUSE2_OK;
}

fuse2_status fuse2_campaign_run_serial(const fuse2_config *cfg, const fuse2_campaign_options *opt,
                                       fuse2_campaign_summary *summary)
{
    if (!cfg || !summary) return FUSE2_RAISE(FUSE2_ERR_ARG, "campaign: missing argument");
    memset(summary, 0, sizeof *summary);
    fuse2_controller_options copt = {.ranks = 1};
    if (opt) {
        copt.log = opt->log;
        copt.log_user = opt->log_user;
        copt.progress_seconds = opt->progress_seconds;
        copt.pool = opt->pool;
    }
    fuse2_worker *worker = NULL;
    fuse2_controller *ctl = NULL;
    fuse2_status st = FUSE2_OK;
    FUSE2_CALL_GOTO(st, fuse2_worker_create(cfg, &worker), out);
    FUSE2_CALL_GOTO(st, fuse2_controller_open(cfg, &copt, &ctl), out);
    FUSE2_CALL_GOTO(st, fuse2_controller_run_local(ctl, execute_on_worker, worker, NULL, NULL), out);
out:
    if (ctl) {
        fuse2_status cs = fuse2_controller_close(ctl, summary);
        if (st == FUSE2_OK) st = cs;
    }
    fuse2_worker_destroy(worker);
    return st;
}
