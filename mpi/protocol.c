/* Packing of the messages described in protocol.h. Every read is bounds
 * checked, so a truncated or corrupt message is an error, not a crash. */
#include "protocol.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void fuse2_buffer_free(fuse2_buffer *b)
{
    if (!b) return;
    free(b->data);
    memset(b, 0, sizeof *b);
}

static fuse2_status reserve(fuse2_buffer *b, size_t extra)
{
    if (b->size + extra <= b->capacity) return FUSE2_OK;
    size_t cap = b->capacity ? b->capacity : 4096;
    while (cap < b->size + extra) cap *= 2;
    unsigned char *p = realloc(b->data, cap);
    if (!p) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "out of memory for a %zu-byte message", cap);
    b->data = p;
    b->capacity = cap;
    return FUSE2_OK;
}

fuse2_status fuse2_buffer_resize(fuse2_buffer *b, size_t size)
{
    b->size = 0;
    FUSE2_CALL(reserve(b, size));
    b->size = size;
    b->read = 0;
    return FUSE2_OK;
}

static fuse2_status put(fuse2_buffer *b, const void *p, size_t n)
{
    FUSE2_CALL(reserve(b, n));
    if (n) memcpy(b->data + b->size, p, n);
    b->size += n;
    return FUSE2_OK;
}

static fuse2_status get(fuse2_buffer *b, void *p, size_t n)
{
    if (b->read + n > b->size)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "message truncated: %zu bytes wanted at offset %zu of %zu", n,
                           b->read, b->size);
    if (n) memcpy(p, b->data + b->read, n);
    b->read += n;
    return FUSE2_OK;
}

static fuse2_status put_i32(fuse2_buffer *b, int v)
{
    int32_t x = (int32_t)v;
    return put(b, &x, sizeof x);
}

static fuse2_status get_i32(fuse2_buffer *b, int *v)
{
    int32_t x = 0;
    FUSE2_CALL(get(b, &x, sizeof x));
    *v = (int)x;
    return FUSE2_OK;
}

static fuse2_status put_f64(fuse2_buffer *b, double v) { return put(b, &v, sizeof v); }
static fuse2_status get_f64(fuse2_buffer *b, double *v) { return get(b, v, sizeof *v); }

static fuse2_status put_text(fuse2_buffer *b, const char *s)
{
    size_t n = strlen(s);
    FUSE2_CALL(put_i32(b, (int)n));
    return put(b, s, n);
}

static fuse2_status get_text(fuse2_buffer *b, char *s, size_t size)
{
    int n;
    FUSE2_CALL(get_i32(b, &n));
    if (n < 0 || (size_t)n > b->size - b->read) return FUSE2_RAISE(FUSE2_ERR_ARG, "message: bad text length %d", n);
    size_t keep = (size_t)n < size - 1 ? (size_t)n : size - 1;
    memcpy(s, b->data + b->read, keep);
    s[keep] = '\0';
    b->read += (size_t)n;
    return FUSE2_OK;
}

static fuse2_status put_structure(fuse2_buffer *b, const fuse2_structure *s)
{
    FUSE2_CALL(put_i32(b, s->natoms));
    FUSE2_CALL(put(b, s->lattice, sizeof s->lattice));
    if (s->natoms > 0) {
        FUSE2_CALL(put(b, s->frac, (size_t)s->natoms * sizeof s->frac[0]));
        for (int i = 0; i < s->natoms; i++) FUSE2_CALL(put_i32(b, s->species[i]));
    }
    return FUSE2_OK;
}

static fuse2_status get_structure(fuse2_buffer *b, fuse2_structure *s)
{
    int n;
    FUSE2_CALL(get_i32(b, &n));
    if (n < 0 || (size_t)n > (b->size - b->read) / (3 * sizeof(double)))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "message: bad atom count %d", n);
    FUSE2_CALL(fuse2_structure_reserve(s, n > 0 ? n : 1));
    FUSE2_CALL(get(b, s->lattice, sizeof s->lattice));
    if (n > 0) FUSE2_CALL(get(b, s->frac, (size_t)n * sizeof s->frac[0]));
    for (int i = 0; i < n; i++) FUSE2_CALL(get_i32(b, &s->species[i]));
    s->natoms = n;
    return FUSE2_OK;
}

fuse2_status fuse2_pack_task(fuse2_buffer *b, const fuse2_task *t)
{
    b->size = 0;
    const int head[7] = {(int)t->kind, t->walker, t->step, t->ntrials, t->melted, t->npool, t->current_move};
    for (int k = 0; k < 7; k++) FUSE2_CALL(put_i32(b, head[k]));
    FUSE2_CALL(put_structure(b, &t->current));
    FUSE2_CALL(put_structure(b, &t->current_start));
    for (int k = 0; k < t->npool; k++) FUSE2_CALL(put_structure(b, &t->pool[k]));
    return FUSE2_OK;
}

fuse2_status fuse2_unpack_task(fuse2_buffer *b, fuse2_task *t)
{
    b->read = 0;
    int kind;
    FUSE2_CALL(get_i32(b, &kind));
    t->kind = (fuse2_task_kind)kind;
    FUSE2_CALL(get_i32(b, &t->walker));
    FUSE2_CALL(get_i32(b, &t->step));
    FUSE2_CALL(get_i32(b, &t->ntrials));
    FUSE2_CALL(get_i32(b, &t->melted));
    FUSE2_CALL(get_i32(b, &t->npool));
    FUSE2_CALL(get_i32(b, &t->current_move));
    if (t->npool < 0 || t->npool > FUSE2_TASK_MAX_POOL) return FUSE2_RAISE(FUSE2_ERR_ARG, "task: %d pool entries", t->npool);
    FUSE2_CALL(get_structure(b, &t->current));
    FUSE2_CALL(get_structure(b, &t->current_start));
    for (int k = 0; k < t->npool; k++) FUSE2_CALL(get_structure(b, &t->pool[k]));
    return FUSE2_OK;
}

fuse2_status fuse2_pack_result(fuse2_buffer *b, const fuse2_task_result *r)
{
    b->size = 0;
    const int head[6] = {(int)r->kind, r->walker, r->step, r->ntrials, r->pool_used, r->rank};
    for (int k = 0; k < 6; k++) FUSE2_CALL(put_i32(b, head[k]));
    for (int k = 0; k < r->ntrials; k++) {
        const fuse2_record *t = &r->trials[k];
        const int ints[9] = {(int)t->status, t->walker, t->step, t->trial, t->move, (int)t->origin, t->relax_steps,
                             r->spacegroup[k], t->pool_slot};
        for (int j = 0; j < 9; j++) FUSE2_CALL(put_i32(b, ints[j]));
        FUSE2_CALL(put_f64(b, t->energy));
        FUSE2_CALL(put_f64(b, t->energy_per_atom));
        FUSE2_CALL(put_f64(b, t->score));
        FUSE2_CALL(put_f64(b, t->wall_seconds));
        FUSE2_CALL(put_text(b, t->reason));
        FUSE2_CALL(put_i32(b, t->nstages));
        for (int j = 0; j < t->nstages; j++) {
            const fuse2_stage_result *sr = &t->stages[j];
            FUSE2_CALL(put_text(b, sr->calculator));
            FUSE2_CALL(put_i32(b, (int)sr->status));
            FUSE2_CALL(put_i32(b, sr->steps));
            FUSE2_CALL(put_f64(b, sr->energy));
            FUSE2_CALL(put_f64(b, sr->wall_seconds));
            FUSE2_CALL(put_text(b, sr->reason));
        }
        FUSE2_CALL(put_structure(b, &t->start));
        FUSE2_CALL(put_structure(b, &t->structure));
    }
    return FUSE2_OK;
}

fuse2_status fuse2_unpack_result(fuse2_buffer *b, fuse2_task_result *r)
{
    b->read = 0;
    int kind;
    FUSE2_CALL(get_i32(b, &kind));
    r->kind = (fuse2_task_kind)kind;
    FUSE2_CALL(get_i32(b, &r->walker));
    FUSE2_CALL(get_i32(b, &r->step));
    FUSE2_CALL(get_i32(b, &r->ntrials));
    FUSE2_CALL(get_i32(b, &r->pool_used));
    FUSE2_CALL(get_i32(b, &r->rank));
    if (r->ntrials < 0 || r->ntrials > FUSE2_MAX_TRIALS_PER_STEP)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "result: %d trials", r->ntrials);
    for (int k = 0; k < r->ntrials; k++) {
        fuse2_record *t = &r->trials[k];
        int status, origin;
        FUSE2_CALL(get_i32(b, &status));
        FUSE2_CALL(get_i32(b, &t->walker));
        FUSE2_CALL(get_i32(b, &t->step));
        FUSE2_CALL(get_i32(b, &t->trial));
        FUSE2_CALL(get_i32(b, &t->move));
        FUSE2_CALL(get_i32(b, &origin));
        FUSE2_CALL(get_i32(b, &t->relax_steps));
        FUSE2_CALL(get_i32(b, &r->spacegroup[k]));
        FUSE2_CALL(get_i32(b, &t->pool_slot));
        t->status = (fuse2_record_status)status;
        t->origin = (fuse2_record_origin)origin;
        FUSE2_CALL(get_f64(b, &t->energy));
        FUSE2_CALL(get_f64(b, &t->energy_per_atom));
        FUSE2_CALL(get_f64(b, &t->score));
        FUSE2_CALL(get_f64(b, &t->wall_seconds));
        FUSE2_CALL(get_text(b, t->reason, sizeof t->reason));
        FUSE2_CALL(get_i32(b, &t->nstages));
        if (t->nstages < 0 || t->nstages > FUSE2_MAX_STAGES)
            return FUSE2_RAISE(FUSE2_ERR_ARG, "result: %d stages", t->nstages);
        for (int j = 0; j < t->nstages; j++) {
            fuse2_stage_result *sr = &t->stages[j];
            int status;
            FUSE2_CALL(get_text(b, sr->calculator, sizeof sr->calculator));
            FUSE2_CALL(get_i32(b, &status));
            sr->status = (fuse2_relax_status)status;
            FUSE2_CALL(get_i32(b, &sr->steps));
            FUSE2_CALL(get_f64(b, &sr->energy));
            FUSE2_CALL(get_f64(b, &sr->wall_seconds));
            FUSE2_CALL(get_text(b, sr->reason, sizeof sr->reason));
        }
        FUSE2_CALL(get_structure(b, &t->start));
        FUSE2_CALL(get_structure(b, &t->structure));
    }
    return FUSE2_OK;
}

fuse2_status fuse2_pack_error(fuse2_buffer *b, const fuse2_task *t, const char *message)
{
    b->size = 0;
    FUSE2_CALL(put_i32(b, (int)t->kind));
    FUSE2_CALL(put_i32(b, t->walker));
    FUSE2_CALL(put_i32(b, t->step));
    return put_text(b, message ? message : "");
}

fuse2_status fuse2_unpack_error(fuse2_buffer *b, int *kind, int *walker, int *step, char *message, size_t size)
{
    b->read = 0;
    FUSE2_CALL(get_i32(b, kind));
    FUSE2_CALL(get_i32(b, walker));
    FUSE2_CALL(get_i32(b, step));
    return get_text(b, message, size);
}
