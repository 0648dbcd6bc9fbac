/* Generator parameters, derived constants (fuse2-algorithm.md §1.1, §3.1)
 * and the cell-shape tables (§3.2). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/elements.h"
#include "fuse2/gen.h"

void fuse2_gen_params_default(fuse2_gen_params *p)
{
    memset(p, 0, sizeof *p);
    p->max_ax = 40;
    p->ap_scale = 1.0;
    p->fixed_ap = 0.0;
    p->vac_ratio = 4.0;
    p->density_cutoff = 0.4;
    p->check_distances = 1;
    p->dist_cutoff = 1.0;
    p->check_bonds = 1;
    p->btol = 0.25;
    p->use_spglib = 1;
    p->symprec = 1e-5;
    p->submodule_shrink = 0.8;
    p->gen_max_rounds = 200;
}

fuse2_status fuse2_gen_constants_compute(const fuse2_gen_params *p, fuse2_gen_constants *out)
{
    const fuse2_composition *comp = &p->composition;
    if (comp->nelements <= 0) return FUSE2_RAISE(FUSE2_ERR_ARG, "composition is empty");
    if (p->max_atoms <= 0)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "max_atoms must be > 0 (got %d)", p->max_atoms);
    if (!(p->ap_scale > 0.0) || !isfinite(p->ap_scale))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "ap_scale must be > 0 (got %g)", p->ap_scale);
    if (!(p->fixed_ap >= 0.0) || !isfinite(p->fixed_ap))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "fixed_ap must be > 0 or 0 for none (got %g)",
                           p->fixed_ap);
    int apfu = 0;
    double radius_sum = 0.0, mass_sum = 0.0, sphere_volume = 0.0;
    for (int e = 0; e < comp->nelements; e++) {
        const fuse2_element *el = fuse2_element_by_z(comp->z[e]);
        if (!el || !el->fuse_supported || !(el->fuse_atomic_radius > 0.0))
            return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED,
                               "element %s has no FUSE2 atomic radius (bond_table)",
                               el ? el->symbol : "?");
        if (comp->count[e] <= 0)
            return FUSE2_RAISE(FUSE2_ERR_ARG, "composition count of %s must be > 0",
                               el->symbol);
        double r = el->fuse_atomic_radius;
        apfu += comp->count[e];
        radius_sum += comp->count[e] * r;
        mass_sum += comp->count[e] * el->mass;
        sphere_volume += comp->count[e] * (4.0 / 3.0) * M_PI * r * r * r;
    }
    out->apfu = apfu;
    out->max_fus = p->max_atoms / apfu;
    if (out->max_fus == 0)
        return FUSE2_RAISE(FUSE2_ERR_ARG,
                           "max_atoms %d is smaller than one formula unit (%d atoms)",
                           p->max_atoms, apfu);
    out->imax_fus = p->imax_atoms / apfu;
    if (out->imax_fus == 0) out->imax_fus = 1;
    double ap = 4.0 * radius_sum / apfu * p->ap_scale;
    if (p->fixed_ap > 0.0) ap = p->fixed_ap;
    out->ap = rint(ap * 1e4) / 1e4;
    out->rho_ideal = mass_sum / sphere_volume;
    return FUSE2_OK;
}

/* ---- shape tables ---- */

typedef struct shape_entry {
    int key;
    int shape[3];
} shape_entry;

typedef struct entry_buffer {
    shape_entry *e;
    int n, cap;
} entry_buffer;

static fuse2_status push_entry(entry_buffer *b, int key, int x, int y, int z)
{
    if (b->n == b->cap) {
        int cap = b->cap ? 2 * b->cap : 1024;
        shape_entry *e = realloc(b->e, (size_t)cap * sizeof *e);
        if (!e) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "shape table: out of memory");
        b->e = e;
        b->cap = cap;
    }
    b->e[b->n++] = (shape_entry){key, {x, y, z}};
    return FUSE2_OK;
}

static void table_free(fuse2_shape_table *t)
{
    free(t->keys);
    free(t->start);
    free(t->entries);
    memset(t, 0, sizeof *t);
}

/* Groups the entries by key (ascending) keeping loop order within a key:
 * a counting sort, stable by construction. */
static fuse2_status table_from_entries(const entry_buffer *b, int max_key, fuse2_shape_table *t)
{
    fuse2_status st = FUSE2_OK;
    int *count = calloc((size_t)max_key + 2, sizeof *count);
    if (!count) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "shape table: out of memory");
    for (int i = 0; i < b->n; i++) count[b->e[i].key]++;
    int nkeys = 0;
    for (int k = 0; k <= max_key; k++)
        if (count[k]) nkeys++;
    t->nkeys = nkeys;
    t->keys = malloc((size_t)(nkeys ? nkeys : 1) * sizeof *t->keys);
    t->start = malloc((size_t)(nkeys + 1) * sizeof *t->start);
    t->entries = malloc((size_t)(b->n ? b->n : 1) * sizeof *t->entries);
    int *slot = malloc(((size_t)max_key + 2) * sizeof *slot);
    if (!t->keys || !t->start || !t->entries || !slot)
        FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_NOMEM, "shape table: out of memory");
    int pos = 0, ik = 0;
    for (int k = 0; k <= max_key; k++) {
        slot[k] = pos;
        if (count[k]) {
            t->keys[ik] = k;
            t->start[ik] = pos;
            ik++;
            pos += count[k];
        }
    }
    t->start[nkeys] = pos;
    for (int i = 0; i < b->n; i++) {
        int *dst = t->entries[slot[b->e[i].key]++];
        memcpy(dst, b->e[i].shape, sizeof(int[3]));
    }
done:
    free(count);
    free(slot);
    if (st != FUSE2_OK) table_free(t);
    return st;
}

fuse2_status fuse2_shape_tables_build(int max_ax, fuse2_shape_tables *t)
{
    if (max_ax < 1 || max_ax > 1000)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "max_ax must be in 1..1000 (got %d)", max_ax);
    fuse2_shape_tables_free(t);
    t->max_ax = max_ax;
    const int m = max_ax;
    const int max_key = 2 * m * m * m;
    fuse2_status st = FUSE2_OK;
    entry_buffer b = {0};

    for (int i = 1; i <= m; i++) FUSE2_CALL_GOTO(st, push_entry(&b, 2 * i * i * i, i, i, 2 * i), fail);
    FUSE2_CALL_GOTO(st, table_from_entries(&b, max_key, &t->cubic), fail);

    b.n = 0;
    for (int i = 1; i <= m; i++)
        for (int z = 2; z <= m; z += 2) FUSE2_CALL_GOTO(st, push_entry(&b, i * i * z, i, i, z), fail);
    FUSE2_CALL_GOTO(st, table_from_entries(&b, max_key, &t->tetragonal), fail);

    b.n = 0;
    for (int i = 1; i <= m; i++)
        for (int z = 2; z <= m; z++) FUSE2_CALL_GOTO(st, push_entry(&b, i * i * z, i, i, z), fail);
    FUSE2_CALL_GOTO(st, table_from_entries(&b, max_key, &t->hexagonal), fail);

    b.n = 0;
    for (int i = 1; i <= m; i++)
        for (int j = 1; j <= m; j++)
            for (int k = 2; k <= m; k += 2)
                FUSE2_CALL_GOTO(st, push_entry(&b, i * j * k, i, j, k), fail);
    FUSE2_CALL_GOTO(st, table_from_entries(&b, max_key, &t->orthorhombic), fail);

    b.n = 0;
    for (int i = 1; i <= m; i++)
        for (int j = 1; j <= m; j++)
            for (int k = 1; k <= m; k++) FUSE2_CALL_GOTO(st, push_entry(&b, i * j * k, i, j, k), fail);
    FUSE2_CALL_GOTO(st, table_from_entries(&b, max_key, &t->monoclinic), fail);
    free(b.e);
    return FUSE2_OK;
fail:
    free(b.e);
    fuse2_shape_tables_free(t);
    return st;
}

void fuse2_shape_tables_free(fuse2_shape_tables *t)
{
    table_free(&t->cubic);
    table_free(&t->tetragonal);
    table_free(&t->hexagonal);
    table_free(&t->orthorhombic);
    table_free(&t->monoclinic);
    t->max_ax = 0;
}

const fuse2_shape_table *fuse2_shape_tables_for(const fuse2_shape_tables *t,
                                                fuse2_lattice_kind kind)
{
    switch (kind) {
    case FUSE2_LATTICE_CUBIC: return &t->cubic;
    case FUSE2_LATTICE_TETRAGONAL: return &t->tetragonal;
    case FUSE2_LATTICE_HEXAGONAL: return &t->hexagonal;
    case FUSE2_LATTICE_ORTHORHOMBIC: return &t->orthorhombic;
    case FUSE2_LATTICE_MONOCLINIC:
    case FUSE2_LATTICE_TRICLINIC: return &t->monoclinic;
    default: return NULL;
    }
}

const int (*fuse2_shape_table_lookup(const fuse2_shape_table *t, int n, int *count))[3]
{
    int lo = 0, hi = t->nkeys - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (t->keys[mid] == n) {
            *count = t->start[mid + 1] - t->start[mid];
            return (const int(*)[3])t->entries[t->start[mid]];
        }
        if (t->keys[mid] < n) lo = mid + 1;
        else hi = mid - 1;
    }
    *count = 0;
    return NULL;
}
