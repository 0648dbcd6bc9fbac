/* fuse2-mpi: runs (or resumes) the campaign of a YAML file on any number of
 * MPI ranks. Rank 0 is the controller (fuse2/controller.h) and the only
 * writer of the campaign file; ranks 1.. are workers. With one rank, rank 0
 * executes the tasks itself: the same code paths, in turn.
 *
 * Signals: SIGTERM, SIGUSR1 (Slurm's warning before the walltime) and
 * SIGINT make rank 0 stop handing out tasks, drop the running ones (rerun
 * on restart), commit and exit 0. Workers ignore them: rank 0 tells them. */
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/config.h"
#include "fuse2/controller.h"
#include "fuse2/error.h"
#include "runtime.h"

enum { HOSTS_LEN = 256, MESSAGE_LEN = 1024 };

static void print_line(void *user, const char *line)
{
    (void)user;
    fprintf(stdout, "%s\n", line);
    fflush(stdout);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: [mpirun -n N] fuse2-mpi campaign.yaml\n"
                 "Runs the basin-hopping campaign described by the YAML file, or resumes it\n"
                 "from its campaign file (docs/campaign-config.md, docs/running.md).\n"
                 "SIGTERM/SIGUSR1 or the stop file: commit and exit 0; run again to continue.\n");
}

/* Every rank reports whether a set-up stage worked; if one failed, rank 0
 * prints the message of the lowest failing rank and all return nonzero. */
static int agree(int ok, int rank, int size, const char *stage)
{
    int key = ok ? size : rank, first = size;
    MPI_Allreduce(&key, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == size) return 1;
    char message[MESSAGE_LEN];
    if (rank == first) snprintf(message, sizeof message, "%s", fuse2_error_message());
    if (first != 0) {
        if (rank == first) MPI_Send(message, MESSAGE_LEN, MPI_CHAR, 0, 1, MPI_COMM_WORLD);
        if (rank == 0) MPI_Recv(message, MESSAGE_LEN, MPI_CHAR, first, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    if (rank == 0) fprintf(stderr, "fuse2-mpi: %s%s (rank %d): %s\n", stage, first ? " failed on a worker" : "", first, message);
    return 0;
}

/* Distinct processor names of the job, comma-separated (provenance). */
static void gather_hosts(int rank, int size, char *hosts)
{
    char name[MPI_MAX_PROCESSOR_NAME] = {0};
    int len = 0;
    MPI_Get_processor_name(name, &len);
    char *all = rank == 0 ? calloc((size_t)size, MPI_MAX_PROCESSOR_NAME) : NULL;
    MPI_Gather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0, MPI_COMM_WORLD);
    hosts[0] = '\0';
    if (rank != 0 || !all) return;
    for (int r = 0; r < size; r++) {
        const char *h = all + (size_t)r * MPI_MAX_PROCESSOR_NAME;
        int seen = 0;
        for (int q = 0; q < r && !seen; q++) seen = strcmp(h, all + (size_t)q * MPI_MAX_PROCESSOR_NAME) == 0;
        if (seen) continue;
        size_t used = strlen(hosts);
        if (used + strlen(h) + 2 >= HOSTS_LEN) break;
        snprintf(hosts + used, HOSTS_LEN - used, "%s%s", used ? "," : "", h);
    }
    free(all);
}

int main(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    if (argc != 2) {
        usage(stderr);
        return 2;
    }
    fuse2_mpi_install_signal_handlers();
    /* HDF5 is started before MPI and without its atexit hook, so that it is
     * shut down only by us (H5close below), and only when no HDF5 object is
     * left open. Started after MPI_Init, the parallel library would shut
     * itself down inside MPI_Finalize; and HDF5 1.10.8 cannot shut down
     * after a failed H5Fclose (a full disk makes the close's flush fail): the
     * failed close frees the file but leaves its ID registered, and the
     * shutdown then crashes on it (segfault in H5F__close_cb). */
    H5dont_atexit();
    H5open();
    MPI_Init(&argc, &argv);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int rc = 1;
    fuse2_config cfg;
    fuse2_worker *worker = NULL;
    fuse2_controller *ctl = NULL;
    char hosts[HOSTS_LEN];

    /* a bad configuration stops every rank before any work starts */
    int loaded = fuse2_config_load(argv[1], &cfg) == FUSE2_OK;
    if (!agree(loaded, rank, size, "configuration")) {
        if (loaded) fuse2_config_free(&cfg);
        goto finalize;
    }
    int need_worker = rank > 0 || size == 1;
    if (!agree(!need_worker || fuse2_worker_create(&cfg, &worker) == FUSE2_OK, rank, size, "worker set-up")) goto cleanup;
    gather_hosts(rank, size, hosts);
    if (rank == 0) {
        fuse2_controller_options opt = {.log = print_line, .ranks = size, .hosts = hosts};
        int opened = fuse2_controller_open(&cfg, &opt, &ctl) == FUSE2_OK;
        if (!agree(opened, rank, size, "campaign")) goto cleanup;
    } else if (!agree(1, rank, size, "campaign")) {
        goto cleanup;
    }

    if (rank == 0) {
        fuse2_mpi_executor exec;
        if (worker) fuse2_mpi_executor_from_worker(worker, &exec);
        fuse2_status st = size == 1 ? fuse2_mpi_run_alone(ctl, &exec) : fuse2_mpi_run_controller(ctl, size);
        if (st != FUSE2_OK) fprintf(stderr, "fuse2-mpi: error: %s\n", fuse2_error_message());
        fuse2_campaign_summary sum;
        fuse2_status cs = fuse2_controller_close(ctl, &sum);
        ctl = NULL;
        /* after an error, closing fails for the same reason (e.g. the full
         * disk): one message is enough */
        if (cs != FUSE2_OK && st == FUSE2_OK) fprintf(stderr, "fuse2-mpi: error: %s\n", fuse2_error_message());
        if (st != FUSE2_OK || cs != FUSE2_OK)
            fprintf(stderr, "fuse2-mpi: stopped after an error; the campaign file keeps its last commit: "
                            "run again to continue once the cause is fixed\n");
        if (st == FUSE2_OK && cs == FUSE2_OK) {
            rc = 0;
            printf("%s: %d relaxations (%d initial), %d steps, %d walkers converged, best %.5f eV/atom, %.1f s; "
                   "results in %s\n",
                   sum.finished ? "done" : fuse2_mpi_stop_signal() ? "stopped by signal, run again to continue"
                                         : sum.stopped_by_file ? "stopped by the stop file, run again to continue"
                                                               : "stopped",
                   sum.relaxations, sum.initial_relaxed, sum.steps, sum.walkers_converged, sum.best_score,
                   sum.wall_seconds, cfg.output_dir);
            fflush(stdout);
        }
    } else {
        fuse2_mpi_executor exec;
        fuse2_mpi_executor_from_worker(worker, &exec);
        rc = fuse2_mpi_run_worker(&exec, rank);
    }
cleanup:
    if (ctl) fuse2_controller_close(ctl, NULL);
    fuse2_worker_destroy(worker);
    fuse2_config_free(&cfg);
finalize:
    /* every rank's exit code: rank 0's decides (mpirun reports the first nonzero) */
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    /* An HDF5 object still open here is a file whose close failed (see
     * H5dont_atexit above): shutting HDF5 down would crash on it, so it is
     * left to the exit; the file stays as the failure left it, which
     * resuming handles like a killed writer's file. */
    if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) == 0) H5close();
    MPI_Finalize();
    return rc;
}
