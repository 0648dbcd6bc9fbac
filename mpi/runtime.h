/* The fuse2-mpi loops, kept apart from main() so benchmarks can run the
 * real rank-0 loop and worker loop with another task executor
 * (benchmarks/scaling). Protocol: protocol.h. */
#ifndef FUSE2_MPI_RUNTIME_H
#define FUSE2_MPI_RUNTIME_H

#include "fuse2/controller.h"
#include "fuse2/error.h"

/* What a worker does with a task: fuse2_worker_execute in fuse2-mpi. */
typedef struct fuse2_mpi_executor {
    fuse2_status (*execute)(void *user, const fuse2_task *task, fuse2_task_result *res, int *interrupted);
    /* installs the hook polled during long tasks (fuse2_worker_set_interrupt) */
    void (*set_interrupt)(void *user, int (*interrupt)(void *), void *interrupt_user);
    void *user;
} fuse2_mpi_executor;

void fuse2_mpi_executor_from_worker(fuse2_worker *worker, fuse2_mpi_executor *out);

/* SIGTERM, SIGUSR1, SIGINT set a flag that the loops turn into a clean stop.
 * SIGXFSZ is ignored, so a file-size limit fails a write like a full disk
 * (a clean error stop) instead of killing rank 0. */
void fuse2_mpi_install_signal_handlers(void);
/* The signal received (0: none). */
int fuse2_mpi_stop_signal(void);

/* One rank: the controller's tasks executed in this process. */
fuse2_status fuse2_mpi_run_alone(fuse2_controller *ctl, const fuse2_mpi_executor *exec);
/* Rank 0 of `size` ranks: serves ranks 1..size-1 until the campaign is done
 * or stops, then stops every worker. */
fuse2_status fuse2_mpi_run_controller(fuse2_controller *ctl, int size);
/* Ranks >= 1: executes tasks until rank 0 sends STOP; 0 on success. */
int fuse2_mpi_run_worker(const fuse2_mpi_executor *exec, int rank);

#endif
