/* Launching external programs (include/fuse2/external_run.h): exit codes,
 * signals, captured output, the time limit killing the whole process group
 * (no orphans left), interrupts, and the scrubbed MPI environment. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "fuse2/external_run.h"

static char dir[4096];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/ext-run/a/b", test_tmpdir());
    if (fuse2_make_directories(dir) != FUSE2_OK) return 1;
    return 0;
}

static char *read_in_dir(const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return test_read_file(path);
}

static void run(const char *command, double limit, fuse2_ext_process *p)
{
    fuse2_ext_command cmd = {.command = command, .workdir = dir, .time_limit = limit, .kill_grace = 0.5};
    ASSERT_OK(fuse2_ext_run(&cmd, p));
}

static void test_exit_codes_and_captured_output(void **state)
{
    (void)state;
    fuse2_ext_process p;
    run("echo out; echo err >&2; pwd > where.txt; exit 3", 0, &p);
    assert_true(p.exited);
    assert_int_equal(p.exit_code, 3);
    assert_false(p.timed_out);
    char *out = read_in_dir("stdout.txt"), *err = read_in_dir("stderr.txt"), *where = read_in_dir("where.txt");
    assert_string_equal(out, "out\n");
    assert_string_equal(err, "err\n");
    assert_non_null(strstr(where, "ext-run/a/b"));
    free(out);
    free(err);
    free(where);
    char text[128];
    fuse2_ext_process_describe(&p, 0, text, sizeof text);
    assert_string_equal(text, "exit code 3");

    run("kill -SEGV $$", 0, &p);
    assert_false(p.exited);
    assert_int_equal(p.signal, SIGSEGV);
    fuse2_ext_process_describe(&p, 0, text, sizeof text);
    assert_non_null(strstr(text, "signal 11"));

    /* stdin from a file of the directory */
    FILE *f = fopen(test_write_file("ext-run/a/b/input.txt", "hello\n"), "r");
    assert_non_null(f);
    fclose(f);
    fuse2_ext_command cmd = {.command = "cat", .workdir = dir, .stdin_file = "input.txt", .stdout_file = "cat.out"};
    ASSERT_OK(fuse2_ext_run(&cmd, &p));
    char *cat = read_in_dir("cat.out");
    assert_string_equal(cat, "hello\n");
    free(cat);
}

/* Running (a zombie waiting for a parent that does not reap, as PID 1 of
 * a container may be, counts as gone). */
static int process_alive(pid_t pid)
{
    char path[64], text[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *close = strrchr(text, ')');
    return close && close[1] == ' ' && close[2] != 'Z' && close[2] != 'X';
}

static void test_time_limit_kills_the_whole_group(void **state)
{
    (void)state;
    fuse2_ext_process p;
    /* a background grandchild that ignores SIGTERM, and a foreground sleep */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    run("(trap '' TERM; sleep 30) & echo $! > child.pid; sleep 30", 0.5, &p);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    assert_true(p.timed_out);
    assert_false(p.exited);
    assert_true(wall < 5.0);
    assert_true(p.wall_seconds >= 0.5);
    char *pid_text = read_in_dir("child.pid");
    pid_t child = (pid_t)atol(pid_text);
    free(pid_text);
    assert_true(child > 0);
    for (int i = 0; i < 100 && process_alive(child); i++) usleep(10000);
    assert_false(process_alive(child)); /* no orphan left running */
    char text[128];
    fuse2_ext_process_describe(&p, 0.5, text, sizeof text);
    assert_non_null(strstr(text, "timed out after 0.5 s"));
}

/* Processes whose command line starts with `prefix` (argv joined by spaces). */
static int count_commands(const char *prefix)
{
    int n = 0;
    FILE *ps = popen("ls /proc", "r");
    char name[64];
    while (ps && fscanf(ps, "%63s", name) == 1) {
        char *end;
        long pid = strtol(name, &end, 10);
        if (*end || pid <= 0 || !process_alive((pid_t)pid)) continue;
        char path[96], cmd[256];
        snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t len = fread(cmd, 1, sizeof cmd - 1, f);
        fclose(f);
        for (size_t i = 0; i < len; i++)
            if (!cmd[i]) cmd[i] = ' ';
        cmd[len] = '\0';
        n += !strncmp(cmd, prefix, strlen(prefix));
    }
    if (ps) pclose(ps);
    return n;
}

/* The documented pattern `mpirun -np N code`: Open MPI puts each rank in a
 * process group of its own, so killing the command's group alone would
 * orphan them; the whole session goes. */
static void test_time_limit_takes_an_inner_mpirun_down(void **state)
{
    (void)state;
    const char *env[] = {"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
                         "OMPI_MCA_rmaps_base_oversubscribe=1", NULL};
    fuse2_ext_command cmd = {.command = "mpirun -np 2 sleep 97", .workdir = dir, .time_limit = 3,
                             .kill_grace = 5, .extra_env = env};
    fuse2_ext_process p;
    ASSERT_OK(fuse2_ext_run(&cmd, &p));
    assert_true(p.timed_out);
    for (int i = 0; i < 100 && count_commands("sleep 97"); i++) usleep(20000);
    assert_int_equal(count_commands("sleep 97"), 0);
}

static int interrupt_after(void *user)
{
    int *calls = user;
    return ++*calls > 20;
}

static void test_interrupt_stops_the_program(void **state)
{
    (void)state;
    int calls = 0;
    fuse2_ext_command cmd = {.command = "sleep 30", .workdir = dir, .interrupt = interrupt_after, .interrupt_user = &calls};
    fuse2_ext_process p;
    ASSERT_OK(fuse2_ext_run(&cmd, &p));
    assert_true(p.interrupted);
    assert_false(p.exited);
    assert_true(p.wall_seconds < 5);
}

static void test_mpi_variables_are_scrubbed(void **state)
{
    (void)state;
    setenv("OMPI_COMM_WORLD_RANK", "3", 1);
    setenv("OMPI_MCA_ess_base_jobid", "12", 1);
    setenv("PMIX_RANK", "3", 1);
    setenv("PRTE_MCA_x", "1", 1);
    setenv("PMI_RANK", "3", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("FUSE2_TEST_KEEP", "kept", 1);
    const char *extra[] = {"FUSE2_EXTRA=added", NULL};
    fuse2_ext_command cmd = {.command = "env | sort", .workdir = dir, .extra_env = extra};
    fuse2_ext_process p;
    ASSERT_OK(fuse2_ext_run(&cmd, &p));
    char *env = read_in_dir("stdout.txt");
    assert_null(strstr(env, "OMPI_COMM_WORLD_RANK"));
    assert_null(strstr(env, "OMPI_MCA_ess_base_jobid"));
    assert_null(strstr(env, "PMIX_RANK"));
    assert_null(strstr(env, "PRTE_MCA_x"));
    assert_null(strstr(env, "PMI_RANK"));
    assert_non_null(strstr(env, "OMPI_ALLOW_RUN_AS_ROOT=1"));
    assert_non_null(strstr(env, "FUSE2_TEST_KEEP=kept"));
    assert_non_null(strstr(env, "FUSE2_EXTRA=added"));
    free(env);
}

static void test_bad_directory_and_removal(void **state)
{
    (void)state;
    fuse2_ext_command cmd = {.command = "true", .workdir = "/no/such/dir"};
    fuse2_ext_process p;
    assert_int_not_equal(fuse2_ext_run(&cmd, &p), FUSE2_OK);
    test_assert_error_contains("/no/such/dir");
    char top[4200];
    snprintf(top, sizeof top, "%s/ext-run", test_tmpdir());
    ASSERT_OK(fuse2_remove_tree(top));
    struct stat sb;
    assert_int_not_equal(stat(top, &sb), 0);
    ASSERT_OK(fuse2_remove_tree(top)); /* missing is fine */
    ASSERT_OK(fuse2_make_directories(dir));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_codes_and_captured_output),
        cmocka_unit_test(test_time_limit_kills_the_whole_group),
        cmocka_unit_test(test_time_limit_takes_an_inner_mpirun_down),
        cmocka_unit_test(test_interrupt_stops_the_program),
        cmocka_unit_test(test_mpi_variables_are_scrubbed),
        cmocka_unit_test(test_bad_directory_and_removal),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
