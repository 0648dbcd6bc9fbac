/* The HDF5 campaign file: schema, buffered appends, commits, resume after a
 * kill, SWMR reading. See include/fuse2/store.h and docs/campaign-file.md. */
#include "fuse2/store.h"

#include <errno.h>
#include <hdf5.h>
#include <libgen.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse2/clock.h"

#define STORE_FORMAT "fuse2-campaign"

/* The tables. Atom tables come before the structure records and those
 * before the steps, so that a live reader never sees a record whose atoms
 * or structures are missing (flush writes them in this order). */
enum table {
    T_SPECIES,
    T_POSITIONS,
    T_START_POSITIONS,
    T_STRUCTURES,
    T_STAGES,
    T_STEPS,
    T_CHECKPOINTS,
    T_RUNS,
    NTABLES
};

typedef struct table_spec {
    const char *path;
    hsize_t chunk_rows;
    int columns;     /* 0: 1-D table; 3: (n, 3) float64 */
    bool compressed; /* shuffle + deflate */
} table_spec;

/* Chunks of 64-100 KiB. Compression (docs/campaign-file.md, measured):
 * shuffle + deflate 1 where it pays (records 2.4x, steps 15x, species 40x
 * smaller); positions are full-precision doubles that shrink only 1.17x for
 * 5x the write time, so they are stored raw. Checkpoints and runs are tiny
 * and stay unfiltered: a chunk rewritten in place then keeps the bytes of
 * the committed rows, whatever moment the writer dies. */
#ifndef STORE_DEFLATE_LEVEL
#define STORE_DEFLATE_LEVEL 1
#endif
enum { DEFLATE_LEVEL = STORE_DEFLATE_LEVEL };
static const table_spec TABLES[NTABLES] = {
    [T_SPECIES] = {"/structures/species", 16384, 0, true},
    [T_POSITIONS] = {"/structures/positions", 4096, 3, false},
    [T_START_POSITIONS] = {"/structures/start_positions", 4096, 3, false},
    [T_STRUCTURES] = {"/structures/records", 256, 0, true},
    [T_STAGES] = {"/structures/stages", 512, 0, true},
    [T_STEPS] = {"/steps/records", 512, 0, true},
    [T_CHECKPOINTS] = {"/checkpoints/records", 256, 0, false},
    [T_RUNS] = {"/provenance/runs", 16, 0, false},
};

typedef struct row_buffer {
    unsigned char *data;
    size_t n, capacity; /* rows */
} row_buffer;

struct fuse2_store {
    char *path;
    hid_t file;
    bool writer;
    bool failed; /* a write failed: the file holds its last flushed state */
    int lock_fd; /* holds a shared flock while writing (see hold_writer_lock) */
    hid_t dset[NTABLES];
    hid_t mem_type[NTABLES]; /* native types of the C rows */
    size_t row_size[NTABLES];
    int64_t written[NTABLES]; /* rows in the file (writer) / visible rows (reader) */
    row_buffer buf[NTABLES];
};

/* ---- HDF5 errors ---- */

typedef struct innermost_error {
    char text[1024];
} innermost_error;

/* The innermost description of the last failure, saved by h5check before
 * cleanup calls (every HDF5 API call clears the error stack on entry). */
static _Thread_local innermost_error captured;

static herr_t remember_innermost(unsigned n, const H5E_error2_t *err, void *data)
{
    innermost_error *inner = data;
    if (n == 0 && err->desc) snprintf(inner->text, sizeof inner->text, "%s", err->desc);
    return 0;
}

static int64_t h5check(int64_t result)
{
    if (result < 0) {
        captured.text[0] = '\0';
        H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, remember_innermost, &captured);
    }
    return result;
}

/* HDF5's descriptions of failed system calls carry a time stamp with a
 * newline, the (temporary) file name, a buffer address and byte counts;
 * keep what a user acts on: what failed and the system's reason, e.g.
 * "file write failed: No space left on device (errno 28)". */
static void condense_system_error(innermost_error *e)
{
    const char *no = strstr(e->text, "errno = ");
    const char *msg = strstr(e->text, "error message = '");
    if (!no || !msg) return;
    msg += strlen("error message = '");
    const char *end = strchr(msg, '\'');
    size_t head = strcspn(e->text, ":,");
    if (!end || e->text + head > no) return;
    char out[sizeof e->text];
    snprintf(out, sizeof out, "%.*s: %.*s (errno %d)", (int)head, e->text, (int)(end - msg), msg,
             atoi(no + strlen("errno = ")));
    memcpy(e->text, out, sizeof out);
}

/* Turns the HDF5 error stack into a fuse2 error naming the file and the
 * operation, with the innermost HDF5 description (the most specific one,
 * e.g. "... errno = 13, error message = 'Permission denied'"). */
static fuse2_status hdf5_failure(const char *file, int line, const char *func, const char *path,
                                 const char *operation)
{
    innermost_error inner = {.text = ""};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, remember_innermost, &inner);
    if (!inner.text[0]) inner = captured;
    captured.text[0] = '\0';
    H5Eclear2(H5E_DEFAULT);
    condense_system_error(&inner);
    return fuse2_error_raise(FUSE2_ERR_IO, file, line, func, "%s: %s failed: %s", path, operation,
                             inner.text[0] ? inner.text : "unknown HDF5 error");
}
#define HDF5_FAIL(path, operation) hdf5_failure(__FILE__, __LINE__, __func__, (path), (operation))

static void quiet_hdf5(void)
{
    static bool done;
    if (done) return;
    /* No shutdown at exit: after a failed H5Fclose (a full disk makes its
     * flush fail), HDF5 1.10.8 leaves the freed file's ID registered and
     * its shutdown crashes on it (segfault in H5F__close_cb). Files are
     * closed explicitly; this has no effect if HDF5 is already running
     * (fuse2-mpi starts it before MPI for the same reason). */
    H5dont_atexit();
    H5open();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    done = true;
}

/* ---- types ---- */

static hid_t string_type(size_t size)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, size);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    return t;
}

static hid_t matrix_type(void)
{
    const hsize_t dims[2] = {3, 3};
    return H5Tarray_create2(H5T_NATIVE_DOUBLE, 2, dims);
}

#define MEMBER(type, s, m, h) H5Tinsert((type), #m, HOFFSET(s, m), (h))

static hid_t structure_row_type(void)
{
    typedef fuse2_store_structure_row R;
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(R));
    hid_t m33 = matrix_type();
    hid_t reason = string_type(FUSE2_STORE_REASON_LEN);
    hid_t name = string_type(FUSE2_STORE_NAME_LEN);
    MEMBER(t, R, id, H5T_NATIVE_INT64);
    MEMBER(t, R, atom_offset, H5T_NATIVE_INT64);
    MEMBER(t, R, natoms, H5T_NATIVE_INT32);
    MEMBER(t, R, origin, H5T_NATIVE_INT32);
    MEMBER(t, R, walker, H5T_NATIVE_INT32);
    MEMBER(t, R, step, H5T_NATIVE_INT32);
    MEMBER(t, R, trial, H5T_NATIVE_INT32);
    MEMBER(t, R, move, H5T_NATIVE_INT32);
    MEMBER(t, R, status, H5T_NATIVE_INT32);
    MEMBER(t, R, relax_steps, H5T_NATIVE_INT32);
    MEMBER(t, R, rank, H5T_NATIVE_INT32);
    MEMBER(t, R, spacegroup, H5T_NATIVE_INT32);
    MEMBER(t, R, pool_entry, H5T_NATIVE_INT32);
    MEMBER(t, R, energy, H5T_NATIVE_DOUBLE);
    MEMBER(t, R, energy_per_atom, H5T_NATIVE_DOUBLE);
    MEMBER(t, R, score, H5T_NATIVE_DOUBLE);
    MEMBER(t, R, wall_seconds, H5T_NATIVE_DOUBLE);
    MEMBER(t, R, cell, m33);
    MEMBER(t, R, start_cell, m33);
    MEMBER(t, R, reason, reason);
    MEMBER(t, R, calculator, name);
    H5Tclose(m33);
    H5Tclose(reason);
    H5Tclose(name);
    return t;
}

static hid_t step_row_type(void)
{
    typedef fuse2_store_step_row R;
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(R));
    MEMBER(t, R, first_structure, H5T_NATIVE_INT64);
    MEMBER(t, R, current_id, H5T_NATIVE_INT64);
    MEMBER(t, R, best_id, H5T_NATIVE_INT64);
    MEMBER(t, R, walker, H5T_NATIVE_INT32);
    MEMBER(t, R, step, H5T_NATIVE_INT32);
    MEMBER(t, R, ntrials, H5T_NATIVE_INT32);
    MEMBER(t, R, best_trial, H5T_NATIVE_INT32);
    MEMBER(t, R, move, H5T_NATIVE_INT32);
    MEMBER(t, R, accepted, H5T_NATIVE_INT32);
    MEMBER(t, R, downhill, H5T_NATIVE_INT32);
    MEMBER(t, R, new_minimum, H5T_NATIVE_INT32);
    MEMBER(t, R, melted, H5T_NATIVE_INT32);
    MEMBER(t, R, stopped, H5T_NATIVE_INT32);
    MEMBER(t, R, r, H5T_NATIVE_INT32);
    MEMBER(t, R, ca, H5T_NATIVE_INT32);
    MEMBER(t, R, relaxations, H5T_NATIVE_INT32);
    MEMBER(t, R, pool_used, H5T_NATIVE_INT32);
    MEMBER(t, R, score_before, H5T_NATIVE_DOUBLE);
    MEMBER(t, R, score_trial, H5T_NATIVE_DOUBLE);
    MEMBER(t, R, current_score, H5T_NATIVE_DOUBLE);
    MEMBER(t, R, best_score, H5T_NATIVE_DOUBLE);
    MEMBER(t, R, T, H5T_NATIVE_DOUBLE);
    MEMBER(t, R, T0, H5T_NATIVE_DOUBLE);
    MEMBER(t, R, elapsed, H5T_NATIVE_DOUBLE);
    return t;
}

static hid_t checkpoint_row_type(void)
{
    typedef fuse2_store_checkpoint_row R;
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(R));
    MEMBER(t, R, n_structures, H5T_NATIVE_INT64);
    MEMBER(t, R, n_atoms, H5T_NATIVE_INT64);
    MEMBER(t, R, n_steps, H5T_NATIVE_INT64);
    MEMBER(t, R, n_stages, H5T_NATIVE_INT64);
    MEMBER(t, R, run, H5T_NATIVE_INT32);
    MEMBER(t, R, finished, H5T_NATIVE_INT32);
    MEMBER(t, R, unix_time, H5T_NATIVE_DOUBLE);
    MEMBER(t, R, elapsed, H5T_NATIVE_DOUBLE);
    return t;
}

static hid_t run_row_type(void)
{
    typedef fuse2_store_run_row R;
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(R));
    hid_t name = string_type(FUSE2_STORE_NAME_LEN);
    hid_t hosts = string_type(FUSE2_STORE_HOSTS_LEN);
    hid_t composition = string_type(2 * FUSE2_STORE_NAME_LEN);
    MEMBER(t, R, version, name);
    MEMBER(t, R, git_hash, name);
    MEMBER(t, R, status, name);
    MEMBER(t, R, hosts, hosts);
    MEMBER(t, R, composition, composition);
    MEMBER(t, R, seed, H5T_NATIVE_INT64);
    MEMBER(t, R, walkers, H5T_NATIVE_INT32);
    MEMBER(t, R, initial_gen, H5T_NATIVE_INT32);
    MEMBER(t, R, iterations, H5T_NATIVE_INT32);
    MEMBER(t, R, ranks, H5T_NATIVE_INT32);
    MEMBER(t, R, resumed, H5T_NATIVE_INT32);
    MEMBER(t, R, start_time, H5T_NATIVE_DOUBLE);
    MEMBER(t, R, stop_time, H5T_NATIVE_DOUBLE);
    MEMBER(t, R, structures_at_start, H5T_NATIVE_INT64);
    H5Tclose(name);
    H5Tclose(hosts);
    H5Tclose(composition);
    return t;
}

static hid_t stage_row_type(void)
{
    typedef fuse2_store_stage_row R;
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(R));
    hid_t name = string_type(FUSE2_STORE_NAME_LEN);
    hid_t reason = string_type(FUSE2_STORE_REASON_LEN);
    MEMBER(t, R, structure, H5T_NATIVE_INT64);
    MEMBER(t, R, stage, H5T_NATIVE_INT32);
    MEMBER(t, R, status, H5T_NATIVE_INT32);
    MEMBER(t, R, steps, H5T_NATIVE_INT32);
    MEMBER(t, R, energy, H5T_NATIVE_DOUBLE);
    MEMBER(t, R, wall_seconds, H5T_NATIVE_DOUBLE);
    MEMBER(t, R, calculator, name);
    MEMBER(t, R, reason, reason);
    H5Tclose(name);
    H5Tclose(reason);
    return t;
}

static hid_t pool_row_type(void)
{
    typedef fuse2_store_pool_row R;
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(R));
    hid_t m33 = matrix_type();
    hid_t source = string_type(FUSE2_STORE_SOURCE_LEN);
    MEMBER(t, R, atom_offset, H5T_NATIVE_INT64);
    MEMBER(t, R, index, H5T_NATIVE_INT32);
    MEMBER(t, R, natoms, H5T_NATIVE_INT32);
    MEMBER(t, R, rank_energy, H5T_NATIVE_DOUBLE);
    MEMBER(t, R, cell, m33);
    MEMBER(t, R, source, source);
    H5Tclose(m33);
    H5Tclose(source);
    return t;
}

/* The type a table has in memory (the C row, or one element). */
static hid_t table_mem_type(int t, size_t *row_size)
{
    hid_t type;
    switch (t) {
    case T_SPECIES: type = H5Tcopy(H5T_NATIVE_INT32); break;
    case T_POSITIONS:
    case T_START_POSITIONS: type = H5Tcopy(H5T_NATIVE_DOUBLE); break;
    case T_STRUCTURES: type = structure_row_type(); break;
    case T_STEPS: type = step_row_type(); break;
    case T_STAGES: type = stage_row_type(); break;
    case T_CHECKPOINTS: type = checkpoint_row_type(); break;
    default: type = run_row_type(); break;
    }
    size_t size = H5Tget_size(type);
    *row_size = TABLES[t].columns ? size * (size_t)TABLES[t].columns : size;
    return type;
}

/* The type in the file: little-endian, packed, so that the layout does not
 * depend on the writer's C compiler (h5py shows no padding fields). */
static hid_t table_file_type(hid_t mem_type)
{
    hid_t t = H5Tcopy(mem_type);
    if (H5Tget_class(t) == H5T_COMPOUND) H5Tpack(t);
    return t;
}

/* ---- small helpers ---- */

static fuse2_status buffer_reserve(row_buffer *b, size_t row_size, size_t rows)
{
    if (b->n + rows <= b->capacity) return FUSE2_OK;
    size_t capacity = b->capacity ? b->capacity : 256;
    while (capacity < b->n + rows) capacity *= 2;
    unsigned char *data = realloc(b->data, capacity * row_size);
    if (!data) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot buffer %zu campaign-file rows", capacity);
    b->data = data;
    b->capacity = capacity;
    return FUSE2_OK;
}

static fuse2_status buffer_push(fuse2_store *st, int t, const void *rows, size_t n)
{
    FUSE2_CALL(buffer_reserve(&st->buf[t], st->row_size[t], n));
    memcpy(st->buf[t].data + st->buf[t].n * st->row_size[t], rows, n * st->row_size[t]);
    st->buf[t].n += n;
    return FUSE2_OK;
}

static int64_t table_length(const fuse2_store *st, int t)
{
    return st->written[t] + (int64_t)st->buf[t].n;
}

static fuse2_status dataset_length(fuse2_store *st, int t, int64_t *n)
{
    hid_t space = h5check(H5Dget_space(st->dset[t]));
    hsize_t dims[2] = {0, 0};
    if (space < 0 || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        if (space >= 0) H5Sclose(space);
        return HDF5_FAIL(st->path, TABLES[t].path);
    }
    H5Sclose(space);
    *n = (int64_t)dims[0];
    return FUSE2_OK;
}

/* Reads rows [first, first + n) of table t (as stored in the file). */
static fuse2_status read_table(fuse2_store *st, int t, int64_t first, int64_t n, void *out,
                               const char *what)
{
    if (n == 0) return FUSE2_OK;
    hsize_t start[2] = {(hsize_t)first, 0}, count[2] = {(hsize_t)n, 3};
    int rank = TABLES[t].columns ? 2 : 1;
    hid_t fspace = H5Dget_space(st->dset[t]);
    hid_t mspace = H5Screate_simple(rank, count, NULL);
    herr_t e = -1;
    if (fspace >= 0 && mspace >= 0 &&
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0)
        e = (herr_t)h5check(H5Dread(st->dset[t], st->mem_type[t], mspace, fspace, H5P_DEFAULT, out));
    if (mspace >= 0) H5Sclose(mspace);
    if (fspace >= 0) H5Sclose(fspace);
    if (e < 0) return HDF5_FAIL(st->path, what);
    return FUSE2_OK;
}

/* Writes rows at [first, first + n), extending the table first if needed. */
static fuse2_status write_table(fuse2_store *st, int t, int64_t first, int64_t n, const void *rows)
{
    hsize_t start[2] = {(hsize_t)first, 0}, count[2] = {(hsize_t)n, 3};
    hsize_t extent[2] = {(hsize_t)(first + n), 3};
    int rank = TABLES[t].columns ? 2 : 1;
    int64_t length = 0;
    FUSE2_CALL(dataset_length(st, t, &length));
    char what[128];
    snprintf(what, sizeof what, "writing %s", TABLES[t].path);
    if (first + n > length && H5Dset_extent(st->dset[t], extent) < 0) return HDF5_FAIL(st->path, what);
    hid_t fspace = H5Dget_space(st->dset[t]);
    hid_t mspace = H5Screate_simple(rank, count, NULL);
    herr_t e = -1;
    if (fspace >= 0 && mspace >= 0 &&
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0)
        e = (herr_t)h5check(H5Dwrite(st->dset[t], st->mem_type[t], mspace, fspace, H5P_DEFAULT, rows));
    if (mspace >= 0) H5Sclose(mspace);
    if (fspace >= 0) H5Sclose(fspace);
    if (e < 0 || H5Dflush(st->dset[t]) < 0) return HDF5_FAIL(st->path, what);
    return FUSE2_OK;
}

static fuse2_status set_length(fuse2_store *st, int t, int64_t n)
{
    hsize_t extent[2] = {(hsize_t)n, 3};
    char what[128];
    snprintf(what, sizeof what, "truncating %s", TABLES[t].path);
    if (H5Dset_extent(st->dset[t], extent) < 0 || H5Dflush(st->dset[t]) < 0)
        return HDF5_FAIL(st->path, what);
    return FUSE2_OK;
}

static fuse2_status store_alloc(const char *path, bool writer, fuse2_store **out)
{
    fuse2_store *st = calloc(1, sizeof *st);
    if (!st) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "%s: cannot allocate the store", path);
    st->path = strdup(path);
    if (!st->path) {
        free(st);
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "%s: cannot allocate the store", path);
    }
    st->file = H5I_INVALID_HID;
    st->lock_fd = -1;
    st->writer = writer;
    for (int t = 0; t < NTABLES; t++) {
        st->dset[t] = H5I_INVALID_HID;
        st->mem_type[t] = table_mem_type(t, &st->row_size[t]);
    }
    *out = st;
    return FUSE2_OK;
}

static void freeze_file(fuse2_store *st);

/* Releases everything without writing (after errors, and by close). */
static void store_release(fuse2_store *st)
{
    for (int t = 0; t < NTABLES; t++) {
        if (st->dset[t] >= 0) H5Dclose(st->dset[t]);
        if (st->mem_type[t] >= 0) H5Tclose(st->mem_type[t]);
        free(st->buf[t].data);
    }
    /* a writer still open here failed while creating or resuming: its file
     * stays as it is (freeze_file), as after any failed write */
    if (st->writer && st->file >= 0) freeze_file(st);
    if (st->file >= 0) H5Fclose(st->file);
    if (st->lock_fd >= 0) close(st->lock_fd);
    H5Eclear2(H5E_DEFAULT);
    free(st->path);
    free(st);
}

static fuse2_status open_tables(fuse2_store *st)
{
    for (int t = 0; t < NTABLES; t++) {
        st->dset[t] = H5Dopen2(st->file, TABLES[t].path, H5P_DEFAULT);
        if (st->dset[t] < 0) {
            H5Eclear2(H5E_DEFAULT);
            return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s: not a fuse2 campaign file: dataset %s is missing",
                               st->path, TABLES[t].path);
        }
        FUSE2_CALL(dataset_length(st, t, &st->written[t]));
    }
    return FUSE2_OK;
}

/* Checks the root attributes: format "fuse2-campaign", schema_version 1. */
static fuse2_status check_format(fuse2_store *st)
{
    char format[64] = "";
    int version = -1;
    hid_t a = H5Aopen(st->file, "format", H5P_DEFAULT);
    if (a >= 0) {
        hid_t t = H5Aget_type(a);
        size_t size = t >= 0 ? H5Tget_size(t) : 0;
        if (t >= 0 && H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t) && size < sizeof format) {
            hid_t mt = string_type(size + 1);
            if (H5Aread(a, mt, format) < 0) format[0] = '\0';
            H5Tclose(mt);
        }
        if (t >= 0) H5Tclose(t);
        H5Aclose(a);
    }
    H5Eclear2(H5E_DEFAULT);
    if (strcmp(format, STORE_FORMAT) != 0)
        return FUSE2_RAISE(FUSE2_ERR_PARSE,
                           "%s: not a fuse2 campaign file (root attribute format is not \"%s\")",
                           st->path, STORE_FORMAT);
    a = H5Aopen(st->file, "schema_version", H5P_DEFAULT);
    if (a < 0 || H5Aread(a, H5T_NATIVE_INT, &version) < 0) version = -1;
    if (a >= 0) H5Aclose(a);
    H5Eclear2(H5E_DEFAULT);
    if (version != FUSE2_STORE_SCHEMA_VERSION)
        return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED,
                           "%s: campaign file schema version %d, this fuse2 reads version %d",
                           st->path, version, FUSE2_STORE_SCHEMA_VERSION);
    return FUSE2_OK;
}

/* Clear messages for the common ways of pointing at a wrong file. */
static fuse2_status check_existing_file(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return FUSE2_RAISE(FUSE2_ERR_IO, "%s: cannot open campaign file: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return FUSE2_RAISE(FUSE2_ERR_IO, "%s: cannot open campaign file: not a regular file", path);
    htri_t is_hdf5 = H5Fis_hdf5(path);
    H5Eclear2(H5E_DEFAULT);
    if (is_hdf5 == 0)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s: not a fuse2 campaign file (not an HDF5 file)", path);
    return FUSE2_OK;
}

/* ---- creating ---- */

static fuse2_status write_string_attribute(fuse2_store *st, const char *name, const char *value)
{
    hid_t type = string_type(strlen(value) + 1);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = h5check(H5Acreate2(st->file, name, type, space, H5P_DEFAULT, H5P_DEFAULT));
    herr_t e = a >= 0 ? (herr_t)h5check(H5Awrite(a, type, value)) : -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
    H5Tclose(type);
    if (e < 0) return HDF5_FAIL(st->path, "writing a root attribute");
    return FUSE2_OK;
}

static fuse2_status write_text(fuse2_store *st, const char *name, const char *text)
{
    hid_t type = string_type(strlen(text) + 1);
    H5Tset_cset(type, H5T_CSET_UTF8);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t d = h5check(H5Dcreate2(st->file, name, type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT));
    H5Pclose(lcpl);
    herr_t e = d >= 0 ? (herr_t)h5check(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, text)) : -1;
    if (d >= 0) H5Dclose(d);
    H5Sclose(space);
    H5Tclose(type);
    if (e < 0) return HDF5_FAIL(st->path, name);
    return FUSE2_OK;
}

static fuse2_status create_table(fuse2_store *st, int t)
{
    const table_spec *spec = &TABLES[t];
    int rank = spec->columns ? 2 : 1;
    hsize_t dims[2] = {0, 3}, maxdims[2] = {H5S_UNLIMITED, 3}, chunk[2] = {spec->chunk_rows, 3};
    hid_t space = H5Screate_simple(rank, dims, maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    hid_t ftype = table_file_type(st->mem_type[t]);
    H5Pset_create_intermediate_group(lcpl, 1);
    H5Pset_chunk(dcpl, rank, chunk);
    if (spec->compressed && DEFLATE_LEVEL > 0) {
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, DEFLATE_LEVEL);
    }
    st->dset[t] = h5check(H5Dcreate2(st->file, spec->path, ftype, space, lcpl, dcpl, H5P_DEFAULT));
    H5Tclose(ftype);
    H5Pclose(lcpl);
    H5Pclose(dcpl);
    H5Sclose(space);
    if (st->dset[t] < 0) return HDF5_FAIL(st->path, spec->path);
    return FUSE2_OK;
}

/* HDF5 locks the file exclusively while opening it for writing and drops
 * the lock once SWMR writing starts, so that readers can open it; nothing
 * would then stop a second writer (a resubmitted job) from clearing the
 * status flags and writing too. The writer therefore holds a shared flock
 * of its own: SWMR readers (shared locks) still open the file, another
 * writer's H5Fopen (exclusive lock) fails. Where flock is unsupported this
 * protection is absent, as HDF5's own. */
static void hold_writer_lock(fuse2_store *st, const char *path)
{
    st->lock_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (st->lock_fd >= 0) flock(st->lock_fd, LOCK_SH | LOCK_NB);
}

static hid_t latest_format_fapl(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    return fapl;
}

/* ---- the ML pool (/pool): written once, before SWMR writing starts ---- */

static const char *const POOL_RECORDS = "/pool/records";
static const char *const POOL_SPECIES = "/pool/species";
static const char *const POOL_POSITIONS = "/pool/positions";

/* A fixed-content dataset of n rows (columns 0: 1-D), chunked so that an
 * empty pool is a valid dataset too. */
static fuse2_status write_fixed_dataset(fuse2_store *st, const char *name, hid_t mem_type, int columns,
                                        hsize_t n, bool compressed, const void *data)
{
    int rank = columns ? 2 : 1;
    hsize_t dims[2] = {n, (hsize_t)columns}, maxdims[2] = {H5S_UNLIMITED, (hsize_t)columns};
    hsize_t chunk[2] = {n < 1 ? 1 : (n < 4096 ? n : 4096), (hsize_t)columns};
    hid_t space = H5Screate_simple(rank, dims, maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    hid_t ftype = table_file_type(mem_type);
    H5Pset_create_intermediate_group(lcpl, 1);
    H5Pset_chunk(dcpl, rank, chunk);
    if (compressed && DEFLATE_LEVEL > 0) {
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, DEFLATE_LEVEL);
    }
    hid_t d = h5check(H5Dcreate2(st->file, name, ftype, space, lcpl, dcpl, H5P_DEFAULT));
    herr_t e = d < 0 ? -1 : 0;
    if (d >= 0 && n > 0) e = (herr_t)h5check(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
    if (d >= 0) H5Dclose(d);
    H5Tclose(ftype);
    H5Pclose(lcpl);
    H5Pclose(dcpl);
    H5Sclose(space);
    if (e < 0) return HDF5_FAIL(st->path, name);
    return FUSE2_OK;
}

static fuse2_status write_pool(fuse2_store *st, int npool, const fuse2_structure *structures,
                               const char (*sources)[FUSE2_STORE_SOURCE_LEN], const double *rank_energy)
{
    if (npool < 0 || (npool > 0 && !structures))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: pool of %d entries without structures", st->path, npool);
    int64_t natoms = 0;
    for (int i = 0; i < npool; i++) natoms += structures[i].natoms;
    fuse2_store_pool_row *rows = calloc((size_t)(npool ? npool : 1), sizeof *rows);
    int32_t *species = malloc((size_t)(natoms ? natoms : 1) * sizeof *species);
    double(*positions)[3] = malloc((size_t)(natoms ? natoms : 1) * sizeof *positions);
    hid_t row_type = pool_row_type();
    fuse2_status status = FUSE2_OK;
    if (!rows || !species || !positions)
        FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_NOMEM, "%s: room for a pool of %d entries", st->path, npool);
    int64_t offset = 0;
    for (int i = 0; i < npool; i++) {
        const fuse2_structure *s = &structures[i];
        rows[i].atom_offset = offset;
        rows[i].index = i;
        rows[i].natoms = s->natoms;
        rows[i].rank_energy = rank_energy ? rank_energy[i] : NAN;
        memcpy(rows[i].cell, s->lattice, sizeof rows[i].cell);
        if (sources) snprintf(rows[i].source, sizeof rows[i].source, "%s", sources[i]);
        for (int k = 0; k < s->natoms; k++) {
            species[offset + k] = s->species[k];
            memcpy(positions[offset + k], s->frac[k], sizeof positions[0]);
        }
        offset += s->natoms;
    }
    FUSE2_CALL_GOTO(status, write_fixed_dataset(st, POOL_SPECIES, H5T_NATIVE_INT32, 0, (hsize_t)natoms, true,
                                                species), done);
    FUSE2_CALL_GOTO(status, write_fixed_dataset(st, POOL_POSITIONS, H5T_NATIVE_DOUBLE, 3, (hsize_t)natoms,
                                                false, positions), done);
    /* the records last: a reader that sees them sees their atoms */
    FUSE2_CALL_GOTO(status, write_fixed_dataset(st, POOL_RECORDS, row_type, 0, (hsize_t)npool, true, rows),
                    done);
done:
    H5Tclose(row_type);
    free(rows);
    free(species);
    free(positions);
    return status;
}

/* The directory of `path` must exist: a clear message instead of HDF5's. */
static fuse2_status check_directory(const char *path)
{
    char *copy = strdup(path);
    if (!copy) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot copy a path");
    const char *dir = dirname(copy);
    struct stat sb;
    fuse2_status status = FUSE2_OK;
    if (stat(dir, &sb) != 0)
        status = FUSE2_RAISE(FUSE2_ERR_IO, "%s: cannot create campaign file: directory %s: %s", path, dir,
                             strerror(errno));
    else if (!S_ISDIR(sb.st_mode))
        status = FUSE2_RAISE(FUSE2_ERR_IO, "%s: cannot create campaign file: %s is not a directory",
                             path, dir);
    free(copy);
    return status;
}

/* Builds the whole file under a temporary name in the same directory and
 * links it to `path` only once it is complete and flushed, so that a kill
 * during creation never leaves a half-made campaign file at `path` (only a
 * stray "<path>.creating.<pid>"). link() fails if `path` exists: a file
 * that appeared meanwhile is never replaced. */
fuse2_status fuse2_store_create(const char *path, const char *config_yaml, const char *resolved_yaml,
                                fuse2_store **out)
{
    FUSE2_CALL(fuse2_store_create_with_pool(path, config_yaml, resolved_yaml, 0, NULL, NULL, NULL, out));
    return FUSE2_OK;
}

fuse2_status fuse2_store_create_with_pool(const char *path, const char *config_yaml,
                                          const char *resolved_yaml, int npool,
                                          const fuse2_structure *structures,
                                          const char (*sources)[FUSE2_STORE_SOURCE_LEN],
                                          const double *rank_energy, fuse2_store **out)
{
    *out = NULL;
    quiet_hdf5();
    struct stat sb;
    if (stat(path, &sb) == 0)
        return FUSE2_RAISE(FUSE2_ERR_IO, "%s: campaign file exists already (not overwritten)", path);
    FUSE2_CALL(check_directory(path));
    size_t tmp_size = strlen(path) + 64;
    char *tmp = malloc(tmp_size);
    if (!tmp) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot copy a path");
    snprintf(tmp, tmp_size, "%s.creating.%ld", path, (long)getpid());
    unlink(tmp); /* a leftover of an earlier process with our pid */
    fuse2_store *st;
    fuse2_status status = store_alloc(path, true, &st);
    if (status != FUSE2_OK) {
        free(tmp);
        FUSE2_CALL(status);
    }
    bool tmp_made = false;
    hid_t fapl = latest_format_fapl();
    st->file = h5check(H5Fcreate(tmp, H5F_ACC_EXCL, H5P_DEFAULT, fapl));
    H5Pclose(fapl);
    if (st->file < 0) {
        status = HDF5_FAIL(path, "creating the campaign file");
        goto fail;
    }
    tmp_made = true;
    int version = FUSE2_STORE_SCHEMA_VERSION;
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = h5check(H5Acreate2(st->file, "schema_version", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT));
    herr_t e = a >= 0 ? (herr_t)h5check(H5Awrite(a, H5T_NATIVE_INT, &version)) : -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
    if (e < 0) {
        status = HDF5_FAIL(path, "writing a root attribute");
        goto fail;
    }
    FUSE2_CALL_GOTO(status, write_string_attribute(st, "format", STORE_FORMAT), fail);
    for (int t = 0; t < NTABLES; t++) FUSE2_CALL_GOTO(status, create_table(st, t), fail);
    FUSE2_CALL_GOTO(status, write_text(st, "/config/yaml", config_yaml ? config_yaml : ""), fail);
    FUSE2_CALL_GOTO(status, write_text(st, "/config/resolved", resolved_yaml ? resolved_yaml : ""),
                    fail);
    FUSE2_CALL_GOTO(status, write_pool(st, npool, structures, sources, rank_energy), fail);
    /* every object exists now: SWMR (1.10) cannot create objects later;
     * starting SWMR writing flushes the file */
    if (H5Fstart_swmr_write(st->file) < 0) {
        status = HDF5_FAIL(path, "starting SWMR writing");
        goto fail;
    }
    hold_writer_lock(st, tmp);
    if (link(tmp, path) != 0) {
        status = FUSE2_RAISE(FUSE2_ERR_IO, "%s: cannot create campaign file: %s%s", path, strerror(errno),
                             errno == EEXIST ? " (not overwritten)" : "");
        goto fail;
    }
    unlink(tmp);
    free(tmp);
    *out = st;
    return FUSE2_OK;
fail:
    store_release(st);
    if (tmp_made) unlink(tmp); /* our own unfinished temporary file, never `path` */
    free(tmp);
    return status;
}

/* ---- resuming ---- */

static bool checkpoint_plausible(const fuse2_store_checkpoint_row *c, const int64_t length[NTABLES],
                                 const fuse2_store_checkpoint_row *previous)
{
    if (!(c->unix_time > 0)) return false; /* never written: fill value */
    if (c->n_structures < 0 || c->n_atoms < 0 || c->n_steps < 0 || c->n_stages < 0) return false;
    if (c->n_structures > length[T_STRUCTURES] || c->n_steps > length[T_STEPS] || c->n_stages > length[T_STAGES])
        return false;
    if (c->n_atoms > length[T_SPECIES] || c->n_atoms > length[T_POSITIONS] ||
        c->n_atoms > length[T_START_POSITIONS])
        return false;
    if (previous && (c->n_structures < previous->n_structures || c->n_atoms < previous->n_atoms ||
                     c->n_steps < previous->n_steps || c->n_stages < previous->n_stages))
        return false;
    return true;
}

/* The last checkpoint that is fully written; *index -1 if none. */
static fuse2_status last_checkpoint(fuse2_store *st, int64_t *index, fuse2_store_checkpoint_row *last)
{
    int64_t n = st->written[T_CHECKPOINTS];
    *index = -1;
    memset(last, 0, sizeof *last);
    if (n == 0) return FUSE2_OK;
    fuse2_store_checkpoint_row *rows = malloc((size_t)n * sizeof *rows);
    if (!rows) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "%s: cannot read %lld checkpoints", st->path, (long long)n);
    fuse2_status status = read_table(st, T_CHECKPOINTS, 0, n, rows, "reading /checkpoints/records");
    if (status != FUSE2_OK) {
        free(rows);
        return status;
    }
    const fuse2_store_checkpoint_row *previous = NULL;
    for (int64_t i = 0; i < n; i++) {
        if (!checkpoint_plausible(&rows[i], st->written, previous)) continue;
        previous = &rows[i];
        *index = i;
    }
    if (*index >= 0) *last = rows[*index];
    free(rows);
    return FUSE2_OK;
}

/* The committed rows must hang together: the last committed structure row
 * ends at the committed atom count. */
static fuse2_status check_committed(fuse2_store *st, const fuse2_store_checkpoint_row *c)
{
    if (c->n_structures == 0) {
        if (c->n_atoms != 0) goto bad;
        return FUSE2_OK;
    }
    fuse2_store_structure_row row;
    FUSE2_CALL(read_table(st, T_STRUCTURES, c->n_structures - 1, 1, &row, "reading /structures/records"));
    if (row.id != c->n_structures - 1 || row.atom_offset + row.natoms != c->n_atoms) goto bad;
    return FUSE2_OK;
bad:
    return FUSE2_RAISE(FUSE2_ERR_PARSE,
                       "%s: damaged campaign file: the last checkpoint (%lld structures, %lld atoms) "
                       "does not match /structures/records",
                       st->path, (long long)c->n_structures, (long long)c->n_atoms);
}

/* File access for damaged-but-repairable files: `h5clear -s` clears the
 * status flags; "skip_eof_check" (also an h5clear setting) accepts a stored
 * end-of-allocation beyond the end of file, which a writer that failed with
 * a full disk (or a file size limit) leaves behind. */
static hid_t repair_fapl(void)
{
    hid_t fapl = latest_format_fapl();
    hbool_t yes = 1;
    H5Pset(fapl, "clear_status_flags", &yes);
    H5Pset(fapl, "skip_eof_check", &yes);
    return fapl;
}

/* An HDF5 file that will not open for SWMR writing may simply not be ours
 * (an older superblock): say so if a plain read-only open shows it. */
static fuse2_status explain_open_failure(const char *path, const char *operation)
{
    fuse2_status status = HDF5_FAIL(path, operation);
    if (strstr(fuse2_error_message(), "unable to lock file"))
        return FUSE2_RAISE(FUSE2_ERR_IO,
                           "%s: campaign file is in use by another process (a campaign still "
                           "running?); not opened for writing",
                           path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        H5Eclear2(H5E_DEFAULT);
        return status;
    }
    char first[1024];
    snprintf(first, sizeof first, "%s", fuse2_error_message());
    fuse2_store probe = {.path = (char *)path, .file = f};
    if (check_format(&probe) == FUSE2_OK) status = FUSE2_RAISE(FUSE2_ERR_IO, "%s", first);
    else status = fuse2_error_code();
    H5Fclose(f);
    return status;
}

fuse2_status fuse2_store_open_resume(const char *path, fuse2_store **out, fuse2_store_counts *committed)
{
    *out = NULL;
    quiet_hdf5();
    FUSE2_CALL(check_existing_file(path));
    fuse2_store *st;
    FUSE2_CALL(store_alloc(path, true, &st));
    fuse2_status status = FUSE2_OK;
    /* A killed SWMR writer leaves the superblock's "open for writing" flags
     * set and an end-of-allocation (EOA) that lags the real end of file (the
     * superblock is only rewritten at close). "clear_status_flags" is what
     * `h5clear -s` sets; H5Fincrement_filesize(0) is `h5clear --increment=0`:
     * without it, new allocations would start at the stale EOA and overwrite
     * live objects. Both are harmless on a cleanly closed file. */
    /* A file that is not ours (or of another schema) is not even opened
     * for writing: opening for writing rewrites its superblock. */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    hbool_t yes = 1;
    H5Pset(fapl, "skip_eof_check", &yes);
    hid_t probe_file = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
    H5Pclose(fapl);
    H5Eclear2(H5E_DEFAULT);
    if (probe_file >= 0) {
        fuse2_store probe = {.path = st->path, .file = probe_file};
        status = check_format(&probe);
        H5Fclose(probe_file);
        H5Eclear2(H5E_DEFAULT);
        if (status != FUSE2_OK) {
            fuse2_error_push_frame(__FILE__, __LINE__, __func__);
            goto fail;
        }
    }
    fapl = repair_fapl();
    st->file = h5check(H5Fopen(path, H5F_ACC_RDWR | H5F_ACC_SWMR_WRITE, fapl));
    H5Pclose(fapl);
    if (st->file < 0) {
        status = explain_open_failure(path, "opening the campaign file for writing");
        goto fail;
    }
    hold_writer_lock(st, path);
    if (H5Fincrement_filesize(st->file, 0) < 0) {
        status = HDF5_FAIL(path, "repairing the end-of-file address");
        goto fail;
    }
    FUSE2_CALL_GOTO(status, check_format(st), fail);
    FUSE2_CALL_GOTO(status, open_tables(st), fail);

    int64_t index;
    fuse2_store_checkpoint_row last;
    FUSE2_CALL_GOTO(status, last_checkpoint(st, &index, &last), fail);
    FUSE2_CALL_GOTO(status, check_committed(st, &last), fail);
    /* Shrinking works under SWMR writing in 1.10.8 (docs/campaign-file.md);
     * a kill during it leaves longer tables and the same last checkpoint,
     * so the next resume simply truncates again. Checkpoints go last. */
    const int64_t keep[NTABLES] = {
        [T_SPECIES] = last.n_atoms,         [T_POSITIONS] = last.n_atoms,
        [T_START_POSITIONS] = last.n_atoms, [T_STRUCTURES] = last.n_structures,
        [T_STEPS] = last.n_steps,           [T_CHECKPOINTS] = index + 1,
        [T_STAGES] = last.n_stages,
        [T_RUNS] = st->written[T_RUNS],
    };
    for (int t = 0; t < NTABLES; t++) {
        if (st->written[t] == keep[t]) continue;
        FUSE2_CALL_GOTO(status, set_length(st, t, keep[t]), fail);
        st->written[t] = keep[t];
    }
    /* a run row whose begin_run was killed before its data reached the file */
    while (st->written[T_RUNS] > 0) {
        fuse2_store_run_row run;
        FUSE2_CALL_GOTO(status, read_table(st, T_RUNS, st->written[T_RUNS] - 1, 1, &run,
                                           "reading /provenance/runs"), fail);
        if (run.start_time > 0) break;
        FUSE2_CALL_GOTO(status, set_length(st, T_RUNS, st->written[T_RUNS] - 1), fail);
        st->written[T_RUNS]--;
    }
    if (H5Fflush(st->file, H5F_SCOPE_GLOBAL) < 0) {
        status = HDF5_FAIL(path, "flushing the truncated campaign file");
        goto fail;
    }
    if (committed) FUSE2_CALL_GOTO(status, fuse2_store_counts_get(st, committed), fail);
    *out = st;
    return FUSE2_OK;
fail:
    store_release(st);
    return status;
}

/* ---- writing ---- */

static fuse2_status check_writable(fuse2_store *st)
{
    if (!st) return FUSE2_RAISE(FUSE2_ERR_ARG, "no campaign file");
    if (!st->writer)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: campaign file is open for reading only", st->path);
    if (st->failed)
        return FUSE2_RAISE(FUSE2_ERR_IO,
                           "%s: an earlier write failed; the file keeps its last checkpoint "
                           "(close it and resume)",
                           st->path);
    return FUSE2_OK;
}

fuse2_status fuse2_store_begin_run(fuse2_store *st, const fuse2_store_run_row *row, int32_t *run)
{
    FUSE2_CALL(check_writable(st));
    fuse2_store_run_row copy = *row;
    if (!(copy.start_time > 0)) copy.start_time = fuse2_unix_seconds(); /* > 0 marks a written row */
    int64_t index = st->written[T_RUNS];
    fuse2_status status = write_table(st, T_RUNS, index, 1, &copy);
    if (status != FUSE2_OK) {
        st->failed = true;
        FUSE2_CALL(status);
    }
    st->written[T_RUNS] = index + 1;
    *run = (int32_t)index;
    return FUSE2_OK;
}

fuse2_status fuse2_store_update_run(fuse2_store *st, int32_t run, const fuse2_store_run_row *row)
{
    /* Tried even after a failed write, so that the provenance can say
     * "error" rather than look like a kill: the row exists, so this
     * rewrites it in place in a small unfiltered table and needs no new
     * space on a full disk. If it fails too, the row stays "running". */
    if (!(st && st->writer && st->failed)) FUSE2_CALL(check_writable(st));
    if (run < 0 || run >= st->written[T_RUNS])
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: no provenance run %d", st->path, (int)run);
    fuse2_store_run_row copy = *row;
    if (!(copy.start_time > 0)) copy.start_time = fuse2_unix_seconds();
    fuse2_status status = write_table(st, T_RUNS, run, 1, &copy);
    if (status != FUSE2_OK) {
        st->failed = true;
        FUSE2_CALL(status);
    }
    return FUSE2_OK;
}

static void terminate(char *s, size_t size) { s[size - 1] = '\0'; }

fuse2_status fuse2_store_append_structure(fuse2_store *st, fuse2_store_structure_row *row,
                                          const fuse2_structure *relaxed,
                                          const fuse2_structure *start)
{
    FUSE2_CALL(check_writable(st));
    if (!relaxed || !start)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: a structure row needs its relaxed and start structures",
                           st->path);
    if (relaxed->natoms != start->natoms)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: relaxed structure has %d atoms, start structure %d",
                           st->path, relaxed->natoms, start->natoms);
    for (int i = 0; i < relaxed->natoms; i++)
        if (relaxed->species[i] != start->species[i])
            return FUSE2_RAISE(FUSE2_ERR_ARG,
                               "%s: atom %d is Z=%d in the relaxed structure, Z=%d in the start one",
                               st->path, i, relaxed->species[i], start->species[i]);
    int n = relaxed->natoms;
    /* reserve everything first, so that a failed allocation appends nothing */
    FUSE2_CALL(buffer_reserve(&st->buf[T_SPECIES], st->row_size[T_SPECIES], (size_t)n));
    FUSE2_CALL(buffer_reserve(&st->buf[T_POSITIONS], st->row_size[T_POSITIONS], (size_t)n));
    FUSE2_CALL(buffer_reserve(&st->buf[T_START_POSITIONS], st->row_size[T_START_POSITIONS], (size_t)n));
    FUSE2_CALL(buffer_reserve(&st->buf[T_STRUCTURES], st->row_size[T_STRUCTURES], 1));
    row->id = table_length(st, T_STRUCTURES);
    row->atom_offset = table_length(st, T_SPECIES);
    row->natoms = n;
    memcpy(row->cell, relaxed->lattice, sizeof row->cell);
    memcpy(row->start_cell, start->lattice, sizeof row->start_cell);
    terminate(row->reason, sizeof row->reason);
    terminate(row->calculator, sizeof row->calculator);
    for (int i = 0; i < n; i++) {
        int32_t z = relaxed->species[i];
        FUSE2_CALL(buffer_push(st, T_SPECIES, &z, 1));
    }
    if (n) {
        FUSE2_CALL(buffer_push(st, T_POSITIONS, relaxed->frac, (size_t)n));
        FUSE2_CALL(buffer_push(st, T_START_POSITIONS, start->frac, (size_t)n));
    }
    FUSE2_CALL(buffer_push(st, T_STRUCTURES, row, 1));
    return FUSE2_OK;
}

fuse2_status fuse2_store_append_stage(fuse2_store *st, const fuse2_store_stage_row *row)
{
    FUSE2_CALL(check_writable(st));
    FUSE2_CALL(buffer_push(st, T_STAGES, row, 1));
    return FUSE2_OK;
}

fuse2_status fuse2_store_append_step(fuse2_store *st, const fuse2_store_step_row *row)
{
    FUSE2_CALL(check_writable(st));
    FUSE2_CALL(buffer_push(st, T_STEPS, row, 1));
    return FUSE2_OK;
}

fuse2_status fuse2_store_flush(fuse2_store *st)
{
    FUSE2_CALL(check_writable(st));
    for (int t = 0; t < NTABLES; t++) {
        row_buffer *b = &st->buf[t];
        if (b->n == 0) continue;
        fuse2_status status = write_table(st, t, st->written[t], (int64_t)b->n, b->data);
        if (status != FUSE2_OK) {
            /* The rows past the last checkpoint may be half there; resume
             * discards them. Refuse further writes on this handle. */
            st->failed = true;
            FUSE2_CALL(status);
        }
        st->written[t] += (int64_t)b->n;
        b->n = 0;
    }
    return FUSE2_OK;
}

fuse2_status fuse2_store_checkpoint(fuse2_store *st, fuse2_store_checkpoint_row *row)
{
    FUSE2_CALL(fuse2_store_flush(st));
    row->n_structures = st->written[T_STRUCTURES];
    row->n_atoms = st->written[T_SPECIES];
    row->n_steps = st->written[T_STEPS];
    row->n_stages = st->written[T_STAGES];
    if (!(row->unix_time > 0)) row->unix_time = fuse2_unix_seconds(); /* > 0 marks a written row */
    FUSE2_CALL(buffer_push(st, T_CHECKPOINTS, row, 1));
    FUSE2_CALL(fuse2_store_flush(st));
    return FUSE2_OK;
}

/* After a failed write, the file on disk is left exactly as the failure
 * left it: like a killed writer's file, which SWMR readers open and resume
 * repairs (tested at every moment of a write). Closing would write more:
 * on a full disk or under a file-size limit, HDF5 1.10.8 rewrites the
 * superblock with an end-of-file address past the real end and then fails
 * to extend the file, and h5py and h5dump refuse such a file ("truncated
 * file"). So HDF5's descriptor is pointed at a read-only one of the same
 * file: reads still work, every write fails, the close fails harmlessly. */
static void freeze_file(fuse2_store *st)
{
    hid_t fapl = H5Fget_access_plist(st->file);
    bool sec2 = fapl >= 0 && H5Pget_driver(fapl) == H5FD_SEC2;
    if (fapl >= 0) H5Pclose(fapl);
    int *fd = NULL;
    if (!sec2 || H5Fget_vfd_handle(st->file, H5P_DEFAULT, (void **)&fd) < 0 || !fd || *fd < 0) {
        H5Eclear2(H5E_DEFAULT);
        return;
    }
    char self[64]; /* the same open file, read-only (on Linux) */
    snprintf(self, sizeof self, "/proc/self/fd/%d", *fd);
    int ro = open(self, O_RDONLY | O_CLOEXEC);
    if (ro < 0) ro = open("/dev/null", O_RDONLY | O_CLOEXEC); /* reads see an empty file; still no writes */
    if (ro >= 0) {
        dup2(ro, *fd);
        close(ro);
    }
}

fuse2_status fuse2_store_close(fuse2_store *st)
{
    if (!st) return FUSE2_OK;
    fuse2_status status = FUSE2_OK;
    bool failed_before = st->writer && st->failed;
    if (st->writer && !st->failed) status = fuse2_store_flush(st);
    char *path = strdup(st->path);
    for (int t = 0; t < NTABLES; t++) {
        if (st->dset[t] >= 0) H5Dclose(st->dset[t]);
        st->dset[t] = H5I_INVALID_HID;
    }
    /* An object of this file still open (left by an operation that failed
     * half-way) would keep the file open past H5Fclose: close them all. */
    ssize_t nopen = st->file >= 0 ? H5Fget_obj_count(st->file, H5F_OBJ_LOCAL | H5F_OBJ_DATASET | H5F_OBJ_GROUP |
                                                                   H5F_OBJ_DATATYPE | H5F_OBJ_ATTR) : 0;
    if (nopen > 0) {
        hid_t *ids = malloc((size_t)nopen * sizeof *ids);
        ssize_t n = ids ? H5Fget_obj_ids(st->file, H5F_OBJ_LOCAL | H5F_OBJ_DATASET | H5F_OBJ_GROUP |
                                                       H5F_OBJ_DATATYPE | H5F_OBJ_ATTR, (size_t)nopen, ids) : 0;
        for (ssize_t i = 0; i < n; i++)
            while (H5Iis_valid(ids[i]) > 0 && H5Idec_ref(ids[i]) > 0) {}
        free(ids);
    }
    if (failed_before && st->file >= 0) freeze_file(st);
    /* After a failed write this close fails too (freeze_file); HDF5 then
     * keeps a dangling file ID, which is why the library is never shut down
     * at exit (quiet_hdf5) and fuse2-mpi skips H5close while an object is
     * open. */
    herr_t e = st->file >= 0 ? H5Fclose(st->file) : 0;
    st->file = H5I_INVALID_HID;
    if (e < 0 && status == FUSE2_OK)
        status = HDF5_FAIL(path ? path : "campaign file", failed_before ? "closing after a failed write" : "closing");
    free(path);
    store_release(st);
    return status;
}

/* ---- reading ---- */

/* Rows a live reader can trust: a table's extent may be flushed before its
 * data (the metadata cache may evict the dataset's header early), so
 * trailing rows that still hold the fill value are not counted. */
static fuse2_status visible_lengths(fuse2_store *st)
{
    int64_t length[NTABLES];
    for (int t = 0; t < NTABLES; t++) FUSE2_CALL(dataset_length(st, t, &length[t]));
    int64_t atoms = length[T_SPECIES];
    if (length[T_POSITIONS] < atoms) atoms = length[T_POSITIONS];
    if (length[T_START_POSITIONS] < atoms) atoms = length[T_START_POSITIONS];
    int64_t n = length[T_STRUCTURES];
    while (n > 0) {
        fuse2_store_structure_row row;
        FUSE2_CALL(read_table(st, T_STRUCTURES, n - 1, 1, &row, "reading /structures/records"));
        if (row.id == n - 1 && row.atom_offset + row.natoms <= atoms) break;
        n--;
    }
    length[T_STRUCTURES] = n;
    n = length[T_CHECKPOINTS];
    while (n > 0) {
        fuse2_store_checkpoint_row row;
        FUSE2_CALL(read_table(st, T_CHECKPOINTS, n - 1, 1, &row, "reading /checkpoints/records"));
        if (row.unix_time > 0 && row.n_structures <= length[T_STRUCTURES] && row.n_steps <= length[T_STEPS] &&
            row.n_stages <= length[T_STAGES])
            break;
        n--;
    }
    length[T_CHECKPOINTS] = n;
    for (int t = 0; t < NTABLES; t++) st->written[t] = length[t];
    return FUSE2_OK;
}

fuse2_status fuse2_store_open_read(const char *path, fuse2_store **out)
{
    *out = NULL;
    quiet_hdf5();
    FUSE2_CALL(check_existing_file(path));
    fuse2_store *st;
    FUSE2_CALL(store_alloc(path, false, &st));
    fuse2_status status = FUSE2_OK;
    /* SWMR reading works on a file being written, a closed one and one left
     * by a killed writer (it ignores the status flags and reads past the
     * stale end-of-allocation address). */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    hbool_t yes = 1;
    H5Pset(fapl, "skip_eof_check", &yes); /* see repair_fapl */
    st->file = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl);
    if (st->file < 0) {
        /* files written without the latest format cannot be opened with
         * SWMR reading; a plain read-only open is fine for a closed file */
        H5Eclear2(H5E_DEFAULT);
        st->file = h5check(H5Fopen(path, H5F_ACC_RDONLY, fapl));
    }
    H5Pclose(fapl);
    if (st->file < 0) {
        status = HDF5_FAIL(path, "opening the campaign file for reading");
        goto fail;
    }
    FUSE2_CALL_GOTO(status, check_format(st), fail);
    FUSE2_CALL_GOTO(status, open_tables(st), fail);
    FUSE2_CALL_GOTO(status, visible_lengths(st), fail);
    *out = st;
    return FUSE2_OK;
fail:
    store_release(st);
    return status;
}

fuse2_status fuse2_store_refresh(fuse2_store *st)
{
    if (!st) return FUSE2_RAISE(FUSE2_ERR_ARG, "no campaign file");
    if (st->writer) return FUSE2_OK; /* a writer knows its lengths */
    /* newest-written tables first: the writer flushes atoms, structures,
     * steps, checkpoints in that order, so refreshing in the reverse order
     * never shows a checkpoint or step whose structures look missing */
    for (int t = NTABLES - 1; t >= 0; t--)
        if (H5Drefresh(st->dset[t]) < 0) return HDF5_FAIL(st->path, "refreshing");
    FUSE2_CALL(visible_lengths(st));
    return FUSE2_OK;
}

fuse2_status fuse2_store_counts_get(fuse2_store *st, fuse2_store_counts *c)
{
    if (!st) return FUSE2_RAISE(FUSE2_ERR_ARG, "no campaign file");
    c->n_structures = table_length(st, T_STRUCTURES);
    c->n_atoms = table_length(st, T_SPECIES);
    c->n_steps = table_length(st, T_STEPS);
    c->n_stages = table_length(st, T_STAGES);
    c->n_checkpoints = table_length(st, T_CHECKPOINTS);
    c->n_runs = table_length(st, T_RUNS);
    return FUSE2_OK;
}

/* Reads rows of table t; a writer first flushes its buffered rows. */
static fuse2_status read_rows(fuse2_store *st, int t, int64_t first, int64_t n, void *rows)
{
    if (!st) return FUSE2_RAISE(FUSE2_ERR_ARG, "no campaign file");
    if (st->writer && st->buf[t].n) FUSE2_CALL(fuse2_store_flush(st));
    if (first < 0 || n < 0 || first + n > st->written[t])
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: rows %lld..%lld of %s requested, it has %lld", st->path,
                           (long long)first, (long long)(first + n - 1), TABLES[t].path,
                           (long long)st->written[t]);
    char what[128];
    snprintf(what, sizeof what, "reading %s", TABLES[t].path);
    FUSE2_CALL(read_table(st, t, first, n, rows, what));
    return FUSE2_OK;
}

fuse2_status fuse2_store_read_structure_rows(fuse2_store *st, int64_t first, int64_t n,
                                             fuse2_store_structure_row *rows)
{
    FUSE2_CALL(read_rows(st, T_STRUCTURES, first, n, rows));
    return FUSE2_OK;
}

fuse2_status fuse2_store_read_structure(fuse2_store *st, const fuse2_store_structure_row *row,
                                        int start, fuse2_structure *out)
{
    if (!st) return FUSE2_RAISE(FUSE2_ERR_ARG, "no campaign file");
    if (row->natoms < 0 || row->atom_offset < 0)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: structure row %lld has no atoms range", st->path,
                           (long long)row->id);
    int n = row->natoms;
    int32_t *species = malloc((size_t)(n ? n : 1) * sizeof *species);
    if (!species) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot read %d atoms", n);
    fuse2_status status = FUSE2_OK;
    FUSE2_CALL_GOTO(status, fuse2_structure_reserve(out, n), done);
    FUSE2_CALL_GOTO(status, read_rows(st, T_SPECIES, row->atom_offset, n, species), done);
    FUSE2_CALL_GOTO(status, read_rows(st, start ? T_START_POSITIONS : T_POSITIONS, row->atom_offset, n,
                                      out->frac), done);
    for (int i = 0; i < n; i++) out->species[i] = species[i];
    out->natoms = n;
    memcpy(out->lattice, start ? row->start_cell : row->cell, sizeof out->lattice);
done:
    free(species);
    return status;
}

fuse2_status fuse2_store_read_stage_rows(fuse2_store *st, int64_t first, int64_t n, fuse2_store_stage_row *rows)
{
    FUSE2_CALL(read_rows(st, T_STAGES, first, n, rows));
    return FUSE2_OK;
}

fuse2_status fuse2_store_read_step_rows(fuse2_store *st, int64_t first, int64_t n,
                                        fuse2_store_step_row *rows)
{
    FUSE2_CALL(read_rows(st, T_STEPS, first, n, rows));
    return FUSE2_OK;
}

fuse2_status fuse2_store_read_checkpoints(fuse2_store *st, int64_t first, int64_t n,
                                          fuse2_store_checkpoint_row *rows)
{
    FUSE2_CALL(read_rows(st, T_CHECKPOINTS, first, n, rows));
    return FUSE2_OK;
}

fuse2_status fuse2_store_read_runs(fuse2_store *st, int64_t first, int64_t n, fuse2_store_run_row *rows)
{
    FUSE2_CALL(read_rows(st, T_RUNS, first, n, rows));
    return FUSE2_OK;
}

fuse2_status fuse2_store_read_config(fuse2_store *st, int resolved, char **text)
{
    *text = NULL;
    if (!st) return FUSE2_RAISE(FUSE2_ERR_ARG, "no campaign file");
    const char *name = resolved ? "/config/resolved" : "/config/yaml";
    hid_t d = h5check(H5Dopen2(st->file, name, H5P_DEFAULT));
    hid_t type = d >= 0 ? H5Dget_type(d) : H5I_INVALID_HID;
    size_t size = type >= 0 ? H5Tget_size(type) : 0;
    fuse2_status status = FUSE2_OK;
    if (type < 0 || H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) > 0) {
        status = type < 0 ? HDF5_FAIL(st->path, name)
                          : FUSE2_RAISE(FUSE2_ERR_PARSE, "%s: %s is not a fixed-length string",
                                        st->path, name);
        goto done;
    }
    char *buf = calloc(size + 1, 1);
    if (!buf) {
        status = FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot read %s", name);
        goto done;
    }
    hid_t mtype = string_type(size + 1);
    H5Tset_cset(mtype, H5Tget_cset(type));
    herr_t e = (herr_t)h5check(H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf));
    H5Tclose(mtype);
    if (e < 0) {
        free(buf);
        status = HDF5_FAIL(st->path, name);
        goto done;
    }
    *text = buf;
done:
    if (type >= 0) H5Tclose(type);
    if (d >= 0) H5Dclose(d);
    H5Eclear2(H5E_DEFAULT);
    return status;
}

/* ---- reading the ML pool ---- */

/* Reads rows [first, first + n) of a pool dataset; *present = 0 (and
 * nothing read) for a file without it. */
static fuse2_status read_pool_dataset(fuse2_store *st, const char *name, hid_t mem_type, int columns,
                                      int64_t first, int64_t n, void *out, int64_t *length)
{
    if (!st) return FUSE2_RAISE(FUSE2_ERR_ARG, "no campaign file");
    *length = 0;
    htri_t exists = H5Lexists(st->file, "/pool", H5P_DEFAULT);
    if (exists > 0) exists = H5Lexists(st->file, name, H5P_DEFAULT);
    if (exists < 0) return HDF5_FAIL(st->path, name);
    if (!exists) {
        if (n > 0) return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: the campaign file has no %s", st->path, name);
        return FUSE2_OK;
    }
    hid_t d = h5check(H5Dopen2(st->file, name, H5P_DEFAULT));
    if (d < 0) return HDF5_FAIL(st->path, name);
    hid_t fspace = H5Dget_space(d);
    hsize_t dims[2] = {0, 0};
    herr_t e = fspace >= 0 ? H5Sget_simple_extent_dims(fspace, dims, NULL) : -1;
    *length = (int64_t)dims[0];
    fuse2_status status = FUSE2_OK;
    if (e < 0) {
        status = HDF5_FAIL(st->path, name);
    } else if (first < 0 || n < 0 || first + n > *length) {
        status = FUSE2_RAISE(FUSE2_ERR_ARG, "%s: rows %lld..%lld of %s requested, it has %lld", st->path,
                             (long long)first, (long long)(first + n - 1), name, (long long)*length);
    } else if (n > 0) {
        int rank = columns ? 2 : 1;
        hsize_t start[2] = {(hsize_t)first, 0}, count[2] = {(hsize_t)n, (hsize_t)columns};
        hid_t mspace = H5Screate_simple(rank, count, NULL);
        e = -1;
        if (mspace >= 0 && H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0)
            e = (herr_t)h5check(H5Dread(d, mem_type, mspace, fspace, H5P_DEFAULT, out));
        if (mspace >= 0) H5Sclose(mspace);
        if (e < 0) status = HDF5_FAIL(st->path, name);
    }
    if (fspace >= 0) H5Sclose(fspace);
    H5Dclose(d);
    return status;
}

fuse2_status fuse2_store_pool_count(fuse2_store *st, int64_t *n)
{
    hid_t type = pool_row_type();
    fuse2_status status = read_pool_dataset(st, POOL_RECORDS, type, 0, 0, 0, NULL, n);
    H5Tclose(type);
    FUSE2_CALL(status);
    return FUSE2_OK;
}

fuse2_status fuse2_store_read_pool_rows(fuse2_store *st, int64_t first, int64_t n, fuse2_store_pool_row *rows)
{
    int64_t length;
    hid_t type = pool_row_type();
    fuse2_status status = read_pool_dataset(st, POOL_RECORDS, type, 0, first, n, rows, &length);
    H5Tclose(type);
    FUSE2_CALL(status);
    return FUSE2_OK;
}

fuse2_status fuse2_store_read_pool_structure(fuse2_store *st, const fuse2_store_pool_row *row,
                                             fuse2_structure *out)
{
    if (!st) return FUSE2_RAISE(FUSE2_ERR_ARG, "no campaign file");
    if (row->natoms < 0 || row->atom_offset < 0)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: pool row %d has no atoms range", st->path, (int)row->index);
    int n = row->natoms;
    int32_t *species = malloc((size_t)(n ? n : 1) * sizeof *species);
    if (!species) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot read %d atoms", n);
    int64_t length;
    fuse2_status status = FUSE2_OK;
    FUSE2_CALL_GOTO(status, fuse2_structure_reserve(out, n), done);
    FUSE2_CALL_GOTO(status, read_pool_dataset(st, POOL_SPECIES, H5T_NATIVE_INT32, 0, row->atom_offset, n,
                                              species, &length), done);
    FUSE2_CALL_GOTO(status, read_pool_dataset(st, POOL_POSITIONS, H5T_NATIVE_DOUBLE, 3, row->atom_offset, n,
                                              out->frac, &length), done);
    for (int i = 0; i < n; i++) out->species[i] = species[i];
    out->natoms = n;
    memcpy(out->lattice, row->cell, sizeof out->lattice);
done:
    free(species);
    return status;
}
