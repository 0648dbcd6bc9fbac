/* Running an external program (GULP, VASP, pw.x, lmp) for one structure:
 * a scratch directory, a shell command template, a scrubbed environment, a
 * wall-clock limit that kills the whole process group, and captured
 * stdout/stderr. The drivers in src/calc build on it.
 *
 * Why a scrubbed environment: a program started from inside an MPI rank
 * inherits Open MPI's and PMIx's variables, and an inner `mpirun` then
 * refuses to run ("mpirun does not support recursive calls") or joins the
 * outer job (toolchain.md pitfall 4). Every OMPI_* variable except
 * OMPI_ALLOW_RUN_AS_ROOT*, and every PMIX_* variable, is removed.
 * Units: s. */
#ifndef FUSE2_EXTERNAL_RUN_H
#define FUSE2_EXTERNAL_RUN_H

#include "fuse2/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fuse2_ext_command {
    const char *command;        /* run as `/bin/sh -c command` in workdir */
    const char *workdir;        /* must exist */
    const char *stdout_file;    /* relative to workdir; NULL: "stdout.txt" */
    const char *stderr_file;    /* relative to workdir; NULL: "stderr.txt" */
    const char *stdin_file;     /* relative to workdir; NULL: /dev/null */
    double time_limit;          /* wall-clock seconds, 0 = none */
    double kill_grace;          /* s between SIGTERM and SIGKILL (0: 2 s) */
    /* Extra variables "NAME=value" for the child (after scrubbing), NULL-terminated or NULL. */
    const char *const *extra_env;
    /* Polled while the program runs; nonzero stops it (process group killed). */
    int (*interrupt)(void *user);
    void *interrupt_user;
} fuse2_ext_command;

typedef struct fuse2_ext_process {
    int exited;                 /* 1: exited normally with exit_code */
    int exit_code;
    int signal;                 /* signal that ended it (not from us), 0 if none */
    int timed_out;              /* we killed it at the time limit */
    int interrupted;            /* we killed it because interrupt() asked */
    double wall_seconds;
} fuse2_ext_process;

/* Runs cmd to completion (or kill). A program that fails is not an error
 * of this function: see *proc. Errors are only: bad arguments, a workdir
 * or output file that cannot be opened, fork failure. */
fuse2_status fuse2_ext_run(const fuse2_ext_command *cmd, fuse2_ext_process *proc);

/* "exit code 3", "killed by signal 11 (Segmentation fault)", "timed out
 * after 10 s", "interrupted" or "exit code 0". */
void fuse2_ext_process_describe(const fuse2_ext_process *proc, double time_limit, char *buf, int size);

/* Makes directory path and its parents (mode 0755); existing is fine. */
fuse2_status fuse2_make_directories(const char *path);
/* Removes path recursively (a scratch directory); missing is fine. */
fuse2_status fuse2_remove_tree(const char *path);

#ifdef __cplusplus
}
#endif
#endif
