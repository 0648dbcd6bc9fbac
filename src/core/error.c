/* Per-thread error record; see include/fuse2/error.h. */
#include "fuse2/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { MESSAGE_CAPACITY = 2048, TRACE_CAPACITY = 4096 };

static _Thread_local fuse2_status current_code = FUSE2_OK;
static _Thread_local char current_message[MESSAGE_CAPACITY];
static _Thread_local char current_trace[TRACE_CAPACITY];

static void trace_append(const char *file, int line, const char *func)
{
    size_t used = strlen(current_trace);
    if (used + 2 >= sizeof current_trace) return;
    snprintf(current_trace + used, sizeof current_trace - used, "%s  at %s:%d (%s)",
             used ? "\n" : "", file, line, func);
}

fuse2_status fuse2_error_raise(fuse2_status code, const char *file, int line,
                               const char *func, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(current_message, sizeof current_message, fmt, ap);
    va_end(ap);
    current_code = code;
    current_trace[0] = '\0';
    trace_append(file, line, func);
    return code;
}

void fuse2_error_push_frame(const char *file, int line, const char *func)
{
    trace_append(file, line, func);
}

void fuse2_error_prefix(const char *fmt, ...)
{
    char prefix[MESSAGE_CAPACITY];
    char joined[2 * MESSAGE_CAPACITY];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    snprintf(joined, sizeof joined, "%s%s", prefix, current_message);
    snprintf(current_message, sizeof current_message, "%.*s", MESSAGE_CAPACITY - 1, joined);
}

const char *fuse2_error_message(void) { return current_message; }
const char *fuse2_error_trace(void) { return current_trace; }
fuse2_status fuse2_error_code(void) { return current_code; }

void fuse2_error_clear(void)
{
    current_code = FUSE2_OK;
    current_message[0] = '\0';
    current_trace[0] = '\0';
}

const char *fuse2_status_name(fuse2_status code)
{
    switch (code) {
    case FUSE2_OK: return "ok";
    case FUSE2_ERR_ARG: return "invalid argument";
    case FUSE2_ERR_PARSE: return "parse error";
    case FUSE2_ERR_IO: return "I/O error";
    case FUSE2_ERR_NOMEM: return "out of memory";
    case FUSE2_ERR_NUMERIC: return "numerical error";
    case FUSE2_ERR_UNSUPPORTED: return "unsupported";
    case FUSE2_ERR_LIBRARY: return "library error";
    case FUSE2_ERR_EXTERNAL: return "external program error";
    case FUSE2_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}
