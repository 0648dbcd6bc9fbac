#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char shared_buf[4][4096];
static int shared_next;
static char tmpdir_path[256];
static char write_buf[4][4096];
static int write_next;

const char *test_shared_path(const char *relative)
{
    const char *root = getenv("FUSE2_SHARED_DIR");
    char *buf = shared_buf[shared_next++ % 4];
    snprintf(buf, sizeof shared_buf[0], "%s/%s", root ? root : "../shared", relative);
    return buf;
}

static void remove_tmpdir(void)
{
    if (!tmpdir_path[0] || getenv("FUSE2_KEEP_TEST_FILES")) return;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir_path);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir_path);
}

const char *test_tmpdir(void)
{
    if (!tmpdir_path[0]) {
        snprintf(tmpdir_path, sizeof tmpdir_path, "/tmp/fuse2-test-XXXXXX");
        if (!mkdtemp(tmpdir_path)) {
            perror("mkdtemp");
            abort();
        }
        atexit(remove_tmpdir);
    }
    return tmpdir_path;
}

const char *test_write_file(const char *name, const char *text)
{
    char *buf = write_buf[write_next++ % 4];
    snprintf(buf, sizeof write_buf[0], "%s/%s", test_tmpdir(), name);
    FILE *f = fopen(buf, "w");
    if (!f) fail_msg("cannot write %s", buf);
    fputs(text, f);
    fclose(f);
    return buf;
}

void test_assert_error_contains(const char *needle)
{
    const char *msg = fuse2_error_message();
    if (!strstr(msg, needle))
        fail_msg("error message \"%s\" does not contain \"%s\"", msg, needle);
}

int test_run_capture(const char *command, char **out)
{
    FILE *p = popen(command, "r");
    if (!p) return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 1024) buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    int rc = pclose(p);
    if (out) *out = buf; else free(buf);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}
