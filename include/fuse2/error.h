/* fuse2 error handling: one project-wide status type plus a per-thread message
 * and trace, in the spirit of PETSc's PetscCall and HDF5's error stack.
 *
 * Library functions that can fail return fuse2_status. The function that
 * detects a problem calls FUSE2_RAISE(code, fmt, ...) which records the
 * user-facing message ("file.cif:12: bad number 'x'") and returns the code.
 * Callers propagate with FUSE2_CALL(expr), which appends "at file:line (func)"
 * to the trace. The top level (CLI or rank 0) prints fuse2_error_message()
 * once. Library code never prints and never calls exit(). */
#ifndef FUSE2_ERROR_H
#define FUSE2_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fuse2_status {
    FUSE2_OK = 0,
    FUSE2_ERR_ARG,         /* invalid argument from the caller */
    FUSE2_ERR_PARSE,       /* malformed input file or text */
    FUSE2_ERR_IO,          /* cannot open/read/write a file */
    FUSE2_ERR_NOMEM,       /* allocation failed */
    FUSE2_ERR_NUMERIC,     /* non-finite or singular numbers */
    FUSE2_ERR_UNSUPPORTED, /* valid input that this code does not handle */
    FUSE2_ERR_LIBRARY,     /* an external library (spglib, LAPACK, ...) failed */
    FUSE2_ERR_EXTERNAL,    /* an external program failed */
    FUSE2_ERR_INTERNAL     /* a bug: an invariant was broken */
} fuse2_status;

/* Records a new error (replacing any previous one) and returns code. */
fuse2_status fuse2_error_raise(fuse2_status code, const char *file, int line,
                               const char *func, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Appends a propagation frame to the current error's trace. */
void fuse2_error_push_frame(const char *file, int line, const char *func);
/* Prefixes the current message with context, e.g. the file being read. */
void fuse2_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

const char *fuse2_error_message(void); /* the user-facing message, "" if none */
const char *fuse2_error_trace(void);   /* raise site and propagation frames */
fuse2_status fuse2_error_code(void);
const char *fuse2_status_name(fuse2_status code);
void fuse2_error_clear(void);

#define FUSE2_RAISE(code, ...) \
    fuse2_error_raise((code), __FILE__, __LINE__, __func__, __VA_ARGS__)

/* Propagate a failure to the caller. */
#define FUSE2_CALL(expr)                                               \
    do {                                                               \
        fuse2_status fuse2_call_status_ = (expr);                      \
        if (fuse2_call_status_ != FUSE2_OK) {                          \
            fuse2_error_push_frame(__FILE__, __LINE__, __func__);      \
            return fuse2_call_status_;                                 \
        }                                                              \
    } while (0)

/* Propagate through a cleanup label: sets `status_var` and jumps to `label`. */
#define FUSE2_CALL_GOTO(status_var, expr, label)                       \
    do {                                                               \
        (status_var) = (expr);                                         \
        if ((status_var) != FUSE2_OK) {                                \
            fuse2_error_push_frame(__FILE__, __LINE__, __func__);      \
            goto label;                                                \
        }                                                              \
    } while (0)

#define FUSE2_RAISE_GOTO(status_var, label, code, ...)                 \
    do {                                                               \
        (status_var) = FUSE2_RAISE((code), __VA_ARGS__);               \
        goto label;                                                    \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
