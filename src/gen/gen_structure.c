/* FUSE2's original structure generator (fuse2-algorithm.md §4.1-4.3):
 * random lattice kind, sub-module count and shape, shuffled site string,
 * layer stacking, assembly of the 4-site template, error check. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/gen.h"
#include "fuse2/symmetry.h"

enum { ATTEMPTS_PER_ROUND = 1000 };

/* Template sites of one sub-module, fractional in (ap, ap, ap/2) (§4.3). */
static const double TEMPLATE_SITES[4][3] = {
    {0.0, 0.0, 0.5}, {0.5, 0.0, 0.5}, {0.5, 0.5, 0.5}, {0.0, 0.5, 0.5}};

/* Cartesian layer shifts in units of ap (Q35: Cartesian also for skewed cells). */
static const double SHIFTS_90[2][2] = {{0.0, 0.0}, {0.5, 0.5}};
static const double SHIFTS_120[3][2] = {{0.0, 0.0}, {1.0 / 3.0, 2.0 / 3.0}, {2.0 / 3.0, 1.0 / 3.0}};

static const double TRICLINIC_ANGLES[6] = {60, 75, 90, 105, 120, 150};

void fuse2_gen_layer_pattern(int nc, int gamma_is_120, fuse2_rng *rng, int *t)
{
    if (nc <= 0) return;
    t[0] = 0;
    if (nc == 1) return;
    if (!gamma_is_120) {
        for (int k = 0; k < nc; k++) t[k] = k % 2;
        return;
    }
    for (int k = 1; k < nc - 1; k++) {
        do {
            t[k] = fuse2_rng_int(rng, 0, 2);
        } while (t[k] == t[k - 1]);
    }
    int allowed[3], n = 0;
    for (int v = 0; v < 3; v++)
        if (v != t[0] && v != t[nc - 2]) allowed[n++] = v;
    t[nc - 1] = allowed[fuse2_rng_int(rng, 0, n - 1)];
}

fuse2_status fuse2_gen_assemble_template(double ap, int na, int nb, int nc,
                                         const double angles[3], const int *layer_shift,
                                         const int *sites, fuse2_structure *out)
{
    if (!(ap > 0.0) || na < 1 || nb < 1 || nc < 1)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "template: bad ap %g or grid %dx%dx%d", ap, na, nb, nc);
    double sub_params[6] = {ap, ap, ap / 2.0, angles[0], angles[1], angles[2]};
    double sub[3][3], cell[3][3], inv[3][3];
    FUSE2_CALL(fuse2_lattice_from_parameters(sub_params, sub));
    const int n[3] = {na, nb, nc};
    for (int i = 0; i < 3; i++)
        for (int x = 0; x < 3; x++) cell[i][x] = n[i] * sub[i][x];
    FUSE2_CALL(fuse2_lattice_inverse(cell, inv));
    int gamma_is_120 = fabs(angles[2] - 90.0) > 1e-9;
    int nsites = 4 * na * nb * nc;
    int natoms = 0;
    for (int i = 0; i < nsites; i++) natoms += sites[i] != 0;
    out->natoms = 0;
    FUSE2_CALL(fuse2_structure_reserve(out, natoms));
    memcpy(out->lattice, cell, sizeof cell);
    int next = nsites; /* groups of 4 taken from the end of the string */
    for (int k = 0; k < nc; k++) {
        const double *tau = gamma_is_120 ? SHIFTS_120[layer_shift[k]] : SHIFTS_90[layer_shift[k]];
        for (int j = 0; j < nb; j++)
            for (int i = 0; i < na; i++) {
                next -= 4;
                for (int site = 0; site < 4; site++) {
                    int z = sites[next + site];
                    if (!z) continue;
                    double g[3] = {i + TEMPLATE_SITES[site][0], j + TEMPLATE_SITES[site][1],
                                   k + TEMPLATE_SITES[site][2]};
                    double cart[3];
                    for (int x = 0; x < 3; x++)
                        cart[x] = g[0] * sub[0][x] + g[1] * sub[1][x] + g[2] * sub[2][x];
                    cart[0] += ap * tau[0];
                    cart[1] += ap * tau[1];
                    double f[3];
                    for (int x = 0; x < 3; x++) {
                        f[x] = cart[0] * inv[0][x] + cart[1] * inv[1][x] + cart[2] * inv[2][x];
                        f[x] -= floor(f[x]);
                        if (f[x] >= 1.0) f[x] = 0.0;
                    }
                    FUSE2_CALL(fuse2_structure_add_atom(out, z, f));
                }
            }
    }
    return FUSE2_OK;
}

int fuse2_gen_max_submodules(const fuse2_gen_params *p, const fuse2_gen_constants *c, int F)
{
    return (int)floor(F * c->apfu * (1.0 + p->vac_ratio) / 4.0);
}

/* 1 - cx^2 - cy^2 of the ASE cell from angles, evaluated as ASE does
 * (negative: impossible cell; about zero: flat cell). */
static double cell_height_squared(const double angles[3])
{
    double ca = angles[0] == 90.0 ? 0.0 : cos(angles[0] * M_PI / 180.0);
    double cb = angles[1] == 90.0 ? 0.0 : cos(angles[1] * M_PI / 180.0);
    double cg = angles[2] == 90.0 ? 0.0 : cos(angles[2] * M_PI / 180.0);
    double sg = angles[2] == 90.0 ? 1.0 : sin(angles[2] * M_PI / 180.0);
    double cy = (ca - cb * cg) / sg;
    return 1.0 - cb * cb - cy * cy;
}

int fuse2_gen_angles_possible(const double angles[3])
{
    return cell_height_squared(angles) >= 0.0;
}

typedef struct attempt_scratch {
    int *sites;
    int *layers;
    int nsites_cap, layers_cap;
} attempt_scratch;

static fuse2_status ensure(int **buf, int *cap, int n)
{
    if (n <= *cap) return FUSE2_OK;
    int *b = realloc(*buf, (size_t)n * sizeof *b);
    if (!b) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "generator: out of memory");
    *buf = b;
    *cap = n;
    return FUSE2_OK;
}

/* One attempt (§4.2). *ok = 1 if `out` holds a structure with target atoms
 * that passed the error check. Draws that a failed attempt would still have
 * made are skipped: they are independent of everything that follows. */
static fuse2_status one_attempt(const fuse2_gen_params *p, const fuse2_gen_constants *c,
                                const fuse2_shape_tables *tables, int F, int target_fu,
                                fuse2_rng *rng, attempt_scratch *w, fuse2_structure *out,
                                fuse2_gen_info *info, int *ok)
{
    *ok = 0;
    const int apfu = c->apfu;
    int max_sub = fuse2_gen_max_submodules(p, c, F);
    fuse2_lattice_kind kind = (fuse2_lattice_kind)fuse2_rng_int(rng, 0, 5);
    const fuse2_shape_table *table = fuse2_shape_tables_for(tables, kind);
    int nkeys = 0;
    while (nkeys < table->nkeys && table->keys[nkeys] <= max_sub) nkeys++;
    if (nkeys == 0) return FUSE2_OK; /* pick from an empty list raises (Q40: counted) */
    int ik = fuse2_rng_int(rng, 0, nkeys - 1);
    int nsub = table->keys[ik];
    int nsites = 4 * nsub;
    if (nsites / apfu < 1) return FUSE2_OK;
    int fus = fuse2_rng_int(rng, 1, nsites / apfu);
    if (fus != target_fu) return FUSE2_OK; /* step 9's composition test, decided here */

    /* step 5: site string, uniformly shuffled (Fisher-Yates) */
    FUSE2_CALL(ensure(&w->sites, &w->nsites_cap, nsites));
    int pos = 0;
    for (int f = 0; f < fus; f++)
        for (int e = 0; e < p->composition.nelements; e++)
            for (int k = 0; k < p->composition.count[e]; k++) w->sites[pos++] = p->composition.z[e];
    while (pos < nsites) w->sites[pos++] = 0;
    for (int i = nsites - 1; i > 0; i--) {
        int j = fuse2_rng_int(rng, 0, i);
        int tmp = w->sites[i];
        w->sites[i] = w->sites[j];
        w->sites[j] = tmp;
    }

    /* step 6: shape and angles */
    int nentries = 0;
    const int(*entries)[3] = fuse2_shape_table_lookup(table, nsub, &nentries);
    if (nentries <= 0) return FUSE2_RAISE(FUSE2_ERR_INTERNAL, "shape table key %d empty", nsub);
    const int *shape = entries[fuse2_rng_int(rng, 0, nentries - 1)];
    double angles[3] = {90.0, 90.0, 90.0};
    if (kind == FUSE2_LATTICE_HEXAGONAL || kind == FUSE2_LATTICE_MONOCLINIC) angles[2] = 120.0;
    if (kind == FUSE2_LATTICE_TRICLINIC) {
        angles[0] = TRICLINIC_ANGLES[fuse2_rng_int(rng, 0, 5)];
        angles[1] = TRICLINIC_ANGLES[fuse2_rng_int(rng, 0, 5)];
        angles[2] = shape[2] % 2 == 0 ? (fuse2_rng_int(rng, 0, 1) ? 120.0 : 90.0) : 120.0;
        /* impossible cells raise in the original (counted here, Q40); flat
         * ones (volume ~ 0) fail its density test: both are failed attempts */
        if (cell_height_squared(angles) < 1e-9) return FUSE2_OK;
    }

    /* step 7: layer pattern */
    FUSE2_CALL(ensure(&w->layers, &w->layers_cap, shape[2]));
    fuse2_gen_layer_pattern(shape[2], angles[2] != 90.0, rng, w->layers);

    /* step 8-9 */
    FUSE2_CALL(fuse2_gen_assemble_template(c->ap, shape[0], shape[1], shape[2], angles,
                                           w->layers, w->sites, out));
    fuse2_check_result result;
    FUSE2_CALL(fuse2_gen_check_structure(out, p, c, target_fu * apfu, &result));
    if (result != FUSE2_CHECK_PASSED) return FUSE2_OK;
    info->kind = kind;
    info->na = shape[0];
    info->nb = shape[1];
    info->nc = shape[2];
    memcpy(info->angles, angles, sizeof angles);
    info->formula_units = fus;
    *ok = 1;
    return FUSE2_OK;
}

fuse2_status fuse2_gen_structure(const fuse2_gen_params *p, const fuse2_gen_constants *c,
                                 const fuse2_shape_tables *tables, int max_fus_offered,
                                 int symmetrize, fuse2_rng *rng, fuse2_structure *out,
                                 fuse2_gen_info *info)
{
    if (max_fus_offered < 1)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "generator: formula units offered must be >= 1 (got %d)",
                           max_fus_offered);
    if (c->apfu < 1 || !(c->ap > 0.0))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "generator: constants not computed");
    if (tables->max_ax < 1) return FUSE2_RAISE(FUSE2_ERR_ARG, "generator: shape tables not built");
    fuse2_gen_info local_info;
    if (!info) info = &local_info;
    memset(info, 0, sizeof *info);
    attempt_scratch w = {0};
    fuse2_structure trial = {0};
    fuse2_status st = FUSE2_OK;
    int ok = 0;
    for (long round = 0; !ok && (p->gen_max_rounds <= 0 || round < p->gen_max_rounds); round++) {
        int target_fu = fuse2_rng_int(rng, 1, max_fus_offered);
        for (int a = 0; a < ATTEMPTS_PER_ROUND && !ok; a++) {
            info->attempts++;
            FUSE2_CALL_GOTO(st, one_attempt(p, c, tables, max_fus_offered, target_fu, rng, &w,
                                            &trial, info, &ok),
                            done);
        }
    }
    if (!ok)
        FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_NUMERIC,
                         "generator: no valid structure after %ld attempts", info->attempts);
    if (symmetrize && p->use_spglib) {
        int changed = 0;
        FUSE2_CALL_GOTO(st, fuse2_symmetry_standardize(&trial, p->symprec, 0, 1, &changed), done);
        info->symmetrized = changed;
    }
    FUSE2_CALL_GOTO(st, fuse2_structure_copy(out, &trial), done);
done:
    fuse2_structure_free(&trial);
    free(w.sites);
    free(w.layers);
    return st;
}
