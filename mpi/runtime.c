/* The fuse2-mpi loops (runtime.h): rank 0 serving the workers, the worker
 * loop, and the one-rank loop; signal handling. */
#include "runtime.h"

#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuse2/clock.h"
#include "protocol.h"

enum { MESSAGE_LEN = 1024 };

static volatile sig_atomic_t stop_signal = 0;

static void on_signal(int signo) { stop_signal = signo; }

void fuse2_mpi_install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* A file-size limit (ulimit -f) would otherwise kill rank 0 with
     * SIGXFSZ in the middle of a write; ignored, the write fails with EFBIG
     * like on a full disk, and the campaign stops with a clear error. */
    signal(SIGXFSZ, SIG_IGN);
}

static const char *signal_name(int signo)
{
    return signo == SIGTERM ? "SIGTERM" : signo == SIGUSR1 ? "SIGUSR1" : signo == SIGINT ? "SIGINT" : "signal";
}

static void sleep_seconds(double s)
{
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

int fuse2_mpi_stop_signal(void) { return (int)stop_signal; }

static fuse2_status execute_with_worker(void *user, const fuse2_task *task, fuse2_task_result *res,
                                        int *interrupted)
{
    return fuse2_worker_execute(user, task, res, interrupted);
}

static void set_worker_interrupt(void *user, int (*interrupt)(void *), void *interrupt_user)
{
    fuse2_worker_set_interrupt(user, interrupt, interrupt_user);
}

void fuse2_mpi_executor_from_worker(fuse2_worker *worker, fuse2_mpi_executor *out)
{
    out->execute = execute_with_worker;
    out->set_interrupt = set_worker_interrupt;
    out->user = worker;
}

/* ---- worker ranks ---- */

typedef struct worker_poll {
    double last_probe;
    int stop_seen;
} worker_poll;

/* The relaxation's interrupt hook: has rank 0 sent STOP? (probed at most
 * every 20 ms; MPI_Iprobe costs a few microseconds) */
static int worker_interrupt(void *user)
{
    worker_poll *p = user;
    if (p->stop_seen) return 1;
    double now = fuse2_monotonic_seconds();
    if (now - p->last_probe < 0.02) return 0;
    p->last_probe = now;
    int flag = 0;
    MPI_Iprobe(0, FUSE2_TAG_STOP, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
    if (flag) p->stop_seen = 1;
    return flag;
}

int fuse2_mpi_run_worker(const fuse2_mpi_executor *exec, int rank)
{
    fuse2_buffer in = {0}, out = {0};
    fuse2_task task;
    fuse2_task_result *res = NULL;
    worker_poll poll = {0};
    int rc = 0;
    if (fuse2_task_init(&task) != FUSE2_OK || fuse2_task_result_create(&res) != FUSE2_OK) rc = 1;
    exec->set_interrupt(exec->user, worker_interrupt, &poll);
    /* A blocking receive would keep a core at 100 % (toolchain.md): poll with
     * a sleep that starts short (the next task usually follows a result
     * within microseconds) and backs off to 5 ms while idle, so hundreds of
     * idle ranks on few cores do not starve rank 0. */
    double nap = 5e-5;
    for (;;) {
        MPI_Status status;
        int flag = 0;
        MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status);
        if (!flag) {
            sleep_seconds(nap);
            if (nap < 5e-3) nap *= 2;
            continue;
        }
        nap = 5e-5;
        int count = 0;
        MPI_Get_count(&status, MPI_BYTE, &count);
        if (fuse2_buffer_resize(&in, (size_t)(count > 0 ? count : 1)) != FUSE2_OK) {
            rc = 1;
            break;
        }
        MPI_Recv(in.data, count, MPI_BYTE, 0, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (status.MPI_TAG == FUSE2_TAG_STOP) break;
        if (status.MPI_TAG != FUSE2_TAG_TASK || rc) continue;
        in.size = (size_t)count;
        int interrupted = 0, tag = FUSE2_TAG_RESULT;
        fuse2_status st = fuse2_unpack_task(&in, &task);
        if (st == FUSE2_OK) st = exec->execute(exec->user, &task, res, &interrupted);
        if (interrupted) continue; /* dropped: rank 0 is stopping */
        if (st == FUSE2_OK) {
            res->rank = rank;
            st = fuse2_pack_result(&out, res);
        }
        if (st != FUSE2_OK) {
            tag = FUSE2_TAG_ERROR;
            char message[MESSAGE_LEN];
            snprintf(message, sizeof message, "rank %d: %s", rank, fuse2_error_message());
            fuse2_error_clear();
            if (fuse2_pack_error(&out, &task, message) != FUSE2_OK) {
                rc = 1;
                break;
            }
        }
        MPI_Send(out.data, (int)out.size, MPI_BYTE, 0, tag, MPI_COMM_WORLD);
    }
    /* tell rank 0 that nothing more comes from this rank */
    MPI_Send(NULL, 0, MPI_BYTE, 0, FUSE2_TAG_STOP, MPI_COMM_WORLD);
    fuse2_task_free(&task);
    fuse2_task_result_destroy(res);
    fuse2_buffer_free(&in);
    fuse2_buffer_free(&out);
    return rc;
}

/* ---- rank 0 ---- */

static int signal_interrupt(void *user)
{
    (void)user;
    return stop_signal != 0;
}

static void check_signal(fuse2_controller *ctl, int *reported)
{
    if (stop_signal && !*reported) {
        *reported = 1;
        char reason[64];
        snprintf(reason, sizeof reason, "signal %s", signal_name(stop_signal));
        fuse2_controller_request_stop(ctl, reason);
    }
}

static void check_signal_before_task(void *user, fuse2_controller *ctl) { check_signal(ctl, user); }

/* One rank: the controller's tasks executed here, in turn. */
fuse2_status fuse2_mpi_run_alone(fuse2_controller *ctl, const fuse2_mpi_executor *exec)
{
    exec->set_interrupt(exec->user, signal_interrupt, NULL);
    int reported = 0;
    FUSE2_CALL(fuse2_controller_run_local(ctl, exec->execute, exec->user, check_signal_before_task, &reported));
    return FUSE2_OK;
}

typedef struct worker_slot {
    int busy;
    MPI_Request send;
    fuse2_buffer buffer;
} worker_slot;

/* Rank 0 with workers: hand tasks to idle workers, take results in any
 * order, keep the controller's timers running; never block on one worker. */
fuse2_status fuse2_mpi_run_controller(fuse2_controller *ctl, int size)
{
    worker_slot *slots = calloc((size_t)size, sizeof *slots);
    fuse2_task task;
    fuse2_task_result *res = NULL;
    fuse2_buffer in = {0};
    if (!slots) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "out of memory for %d workers", size - 1);
    for (int r = 0; r < size; r++) slots[r].send = MPI_REQUEST_NULL;
    fuse2_status st = fuse2_task_init(&task);
    if (st == FUSE2_OK) st = fuse2_task_result_create(&res);
    int reported = 0, stopping = 0, finished_workers = 0;
    char worker_error[MESSAGE_LEN] = "";
    while (st == FUSE2_OK && finished_workers < size - 1) {
        int active = 0;
        check_signal(ctl, &reported);
        if (!stopping && fuse2_controller_done(ctl)) {
            /* finished (nothing runs then) or stopping: STOP interrupts running tasks;
             * results that still arrive are recorded, then each worker acknowledges */
            stopping = 1;
            for (int r = 1; r < size; r++) {
                MPI_Wait(&slots[r].send, MPI_STATUS_IGNORE);
                MPI_Send(NULL, 0, MPI_BYTE, r, FUSE2_TAG_STOP, MPI_COMM_WORLD);
            }
        }
        /* hand out tasks to idle workers, lowest rank first */
        for (int r = 1; r < size && !stopping; r++) {
            if (slots[r].busy) continue;
            int have = 0;
            FUSE2_CALL_GOTO(st, fuse2_controller_next_task(ctl, &task, &have), out);
            if (!have) break;
            MPI_Wait(&slots[r].send, MPI_STATUS_IGNORE); /* the previous task's buffer */
            FUSE2_CALL_GOTO(st, fuse2_pack_task(&slots[r].buffer, &task), out);
            MPI_Isend(slots[r].buffer.data, (int)slots[r].buffer.size, MPI_BYTE, r, FUSE2_TAG_TASK, MPI_COMM_WORLD,
                      &slots[r].send);
            slots[r].busy = 1;
            active = 1;
        }
        /* take every message that has arrived */
        for (;;) {
            MPI_Status status;
            int flag = 0;
            MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status);
            if (!flag) break;
            active = 1;
            int count = 0, from = status.MPI_SOURCE;
            MPI_Get_count(&status, MPI_BYTE, &count);
            FUSE2_CALL_GOTO(st, fuse2_buffer_resize(&in, (size_t)(count > 0 ? count : 1)), out);
            MPI_Recv(in.data, count, MPI_BYTE, from, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            in.size = (size_t)count;
            if (status.MPI_TAG == FUSE2_TAG_STOP) {
                finished_workers++;
                continue;
            }
            slots[from].busy = 0;
            if (status.MPI_TAG == FUSE2_TAG_RESULT) {
                FUSE2_CALL_GOTO(st, fuse2_unpack_result(&in, res), out);
                FUSE2_CALL_GOTO(st, fuse2_controller_complete(ctl, res), out);
            } else if (status.MPI_TAG == FUSE2_TAG_ERROR) {
                int kind, walker, step;
                FUSE2_CALL_GOTO(st, fuse2_unpack_error(&in, &kind, &walker, &step, worker_error, sizeof worker_error), out);
                fuse2_controller_request_stop(ctl, "error");
            }
        }
        FUSE2_CALL_GOTO(st, fuse2_controller_poll(ctl), out);
        if (!active) sleep_seconds(1e-4);
    }
    if (worker_error[0]) st = FUSE2_RAISE(FUSE2_ERR_ARG, "%s", worker_error);
out:
    if (finished_workers < size - 1) {
        /* after an error: stop the workers anyway and drain their messages,
         * so every rank reaches MPI_Finalize */
        if (!stopping)
            for (int r = 1; r < size; r++) {
                MPI_Wait(&slots[r].send, MPI_STATUS_IGNORE);
                MPI_Send(NULL, 0, MPI_BYTE, r, FUSE2_TAG_STOP, MPI_COMM_WORLD);
            }
        while (finished_workers < size - 1) {
            MPI_Status status;
            int count = 0;
            MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &status);
            MPI_Get_count(&status, MPI_BYTE, &count);
            if (fuse2_buffer_resize(&in, (size_t)(count > 0 ? count : 1)) != FUSE2_OK) break;
            MPI_Recv(in.data, count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (status.MPI_TAG == FUSE2_TAG_STOP) finished_workers++;
        }
    }
    for (int r = 1; r < size; r++) {
        MPI_Wait(&slots[r].send, MPI_STATUS_IGNORE);
        fuse2_buffer_free(&slots[r].buffer);
    }
    free(slots);
    fuse2_task_free(&task);
    fuse2_task_result_destroy(res);
    fuse2_buffer_free(&in);
    return st;
}

