/* Launching external programs (fuse2/external_run.h). fork + execve with
 * everything prepared before the fork, so the child only calls
 * async-signal-safe functions (the parent may be a multi-threaded MPI
 * rank). The child leads its own process group: a timeout kills every
 * process the command started (mpirun and its ranks, a shell pipeline). */
#define _XOPEN_SOURCE 700 /* nftw */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fuse2/clock.h"
#include "fuse2/external_run.h"

extern char **environ;

static void nap(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Variables an inner mpirun must not see (toolchain.md pitfall 4): Open
 * MPI 4 (OMPI_, PMIX_), Open MPI 5 (PRTE_) and MPICH/Hydra (PMI_). */
static int scrubbed(const char *entry)
{
    if (!strncmp(entry, "PMIX_", 5) || !strncmp(entry, "PRTE_", 5) || !strncmp(entry, "PMI_", 4)) return 1;
    if (!strncmp(entry, "OMPI_", 5)) return strncmp(entry, "OMPI_ALLOW_RUN_AS_ROOT", 22) != 0;
    return 0;
}

static char **child_environment(const char *const *extra)
{
    size_t n = 0, k = 0;
    for (char **e = environ; e && *e; e++) n++;
    for (const char *const *e = extra; e && *e; e++) n++;
    char **env = malloc((n + 1) * sizeof *env);
    if (!env) return NULL;
    for (char **e = environ; e && *e; e++)
        if (!scrubbed(*e)) env[k++] = *e;
    for (const char *const *e = extra; e && *e; e++) env[k++] = (char *)*e;
    env[k] = NULL;
    return env;
}

static char *join_path(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = malloc(len);
    if (p) snprintf(p, len, "%s/%s", dir, name);
    return p;
}

/* Sends sig to every live process of session sid (the command's shell
 * starts its own session: an inner mpirun puts each rank in a process group
 * of its own, but they all stay in the session) and returns how many there
 * were. Zombies do not count. */
static int session_signal(pid_t sid, int sig)
{
    DIR *d = opendir("/proc");
    if (!d) { /* no /proc: the process group is all we can reach */
        return kill(-sid, sig) == 0;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        char path[64], text[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t len = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[len] = '\0';
        const char *close = strrchr(text, ')'); /* the name may contain anything */
        char state;
        long ppid, pgrp, session;
        if (!close || sscanf(close + 1, " %c %ld %ld %ld", &state, &ppid, &pgrp, &session) != 4) continue;
        if (session != sid || state == 'Z' || state == 'X') continue;
        kill((pid_t)pid, sig);
        n++;
    }
    closedir(d);
    return n;
}

/* Stops everything the command started: SIGTERM to the whole session, up
 * to grace seconds for it to end (mpirun needs about a second to take its
 * ranks down), then SIGKILL to whatever is left. Reaps the shell (pid). */
static void stop_session(pid_t pid, double grace, int *wstatus, int *reaped)
{
    session_signal(pid, SIGTERM);
    double end = fuse2_monotonic_seconds() + grace;
    for (;;) {
        if (!*reaped) {
            pid_t r = waitpid(pid, wstatus, WNOHANG);
            if (r == pid || (r < 0 && errno != EINTR)) *reaped = 1;
        }
        if (*reaped && session_signal(pid, 0) == 0) return;
        if (fuse2_monotonic_seconds() >= end) break;
        nap(0.01);
    }
    session_signal(pid, SIGKILL);
    if (!*reaped && waitpid(pid, wstatus, 0) == pid) *reaped = 1;
}

fuse2_status fuse2_ext_run(const fuse2_ext_command *cmd, fuse2_ext_process *proc)
{
    if (!cmd || !proc || !cmd->command || !cmd->workdir)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "external command: missing command or directory");
    memset(proc, 0, sizeof *proc);
    struct stat sb;
    errno = 0;
    if (stat(cmd->workdir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return FUSE2_RAISE(FUSE2_ERR_IO, "external command: directory %s: %s", cmd->workdir,
                           errno ? strerror(errno) : "not a directory");
    char *out_path = join_path(cmd->workdir, cmd->stdout_file ? cmd->stdout_file : "stdout.txt");
    char *err_path = join_path(cmd->workdir, cmd->stderr_file ? cmd->stderr_file : "stderr.txt");
    char *in_path = cmd->stdin_file ? join_path(cmd->workdir, cmd->stdin_file) : strdup("/dev/null");
    char **env = child_environment(cmd->extra_env);
    fuse2_status st = FUSE2_OK;
    int in_fd = -1, out_fd = -1, err_fd = -1;
    if (!out_path || !err_path || !in_path || !env)
        FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_NOMEM, "external command: out of memory");
    in_fd = open(in_path, O_RDONLY | O_CLOEXEC);
    if (in_fd < 0) FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_IO, "external command: input %s: %s", in_path, strerror(errno));
    out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_fd < 0) FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_IO, "external command: %s: %s", out_path, strerror(errno));
    err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (err_fd < 0) FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_IO, "external command: %s: %s", err_path, strerror(errno));
    char *const argv[] = {"sh", "-c", (char *)cmd->command, NULL};

    double t0 = fuse2_monotonic_seconds();
    pid_t pid = fork();
    if (pid < 0) FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_EXTERNAL, "external command: fork: %s", strerror(errno));
    if (pid == 0) {
        /* child: async-signal-safe calls only; its own session (and process
         * group) holds everything the command starts */
        setsid();
        signal(SIGPIPE, SIG_DFL);
        if (chdir(cmd->workdir) != 0) _exit(126);
        if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(126);
        execve("/bin/sh", argv, env);
        _exit(127);
    }
    int wstatus = 0, reaped = 0;
    double grace = cmd->kill_grace > 0 ? cmd->kill_grace : 2.0;
    double sleep_s = 0.001;
    while (!reaped) {
        pid_t r = waitpid(pid, &wstatus, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR && errno != EAGAIN)) {
            reaped = 1;
            break;
        }
        double now = fuse2_monotonic_seconds();
        int stop = 0;
        if (cmd->time_limit > 0 && now - t0 >= cmd->time_limit) proc->timed_out = stop = 1;
        else if (cmd->interrupt && cmd->interrupt(cmd->interrupt_user)) proc->interrupted = stop = 1;
        if (stop) {
            stop_session(pid, grace, &wstatus, &reaped);
            break;
        }
        nap(sleep_s);
        if (sleep_s < 0.05) sleep_s *= 2; /* short runs return fast; long ones cost no CPU */
    }
    /* whatever the command left running (background jobs, orphaned ranks)
     * goes too */
    session_signal(pid, SIGKILL);
    proc->wall_seconds = fuse2_monotonic_seconds() - t0;
    if (WIFEXITED(wstatus)) {
        proc->exited = !proc->timed_out && !proc->interrupted;
        proc->exit_code = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus) && !proc->timed_out && !proc->interrupted) {
        proc->signal = WTERMSIG(wstatus);
    }
done:
    if (in_fd >= 0) close(in_fd);
    if (out_fd >= 0) close(out_fd);
    if (err_fd >= 0) close(err_fd);
    free(out_path);
    free(err_path);
    free(in_path);
    free(env);
    return st;
}

void fuse2_ext_process_describe(const fuse2_ext_process *proc, double time_limit, char *buf, int size)
{
    if (proc->timed_out) snprintf(buf, (size_t)size, "timed out after %g s (process group killed)", time_limit);
    else if (proc->interrupted) snprintf(buf, (size_t)size, "interrupted (process group killed)");
    else if (proc->signal) snprintf(buf, (size_t)size, "killed by signal %d (%s)", proc->signal, strsignal(proc->signal));
    else snprintf(buf, (size_t)size, "exit code %d", proc->exit_code);
}

fuse2_status fuse2_make_directories(const char *path)
{
    if (!path || !*path) return FUSE2_RAISE(FUSE2_ERR_ARG, "empty directory name");
    char *copy = strdup(path);
    if (!copy) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot copy a path");
    fuse2_status st = FUSE2_OK;
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
            st = FUSE2_RAISE(FUSE2_ERR_IO, "cannot create directory %s: %s", copy, strerror(errno));
            break;
        }
        *p = saved;
        if (!saved) break;
    }
    struct stat sb;
    if (st == FUSE2_OK && (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)))
        st = FUSE2_RAISE(FUSE2_ERR_IO, "%s is not a directory", path);
    free(copy);
    return st;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

fuse2_status fuse2_remove_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) return FUSE2_OK;
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return FUSE2_RAISE(FUSE2_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    return FUSE2_OK;
}
