/* Lossless decomposition into sub-modules and re-assembly
 * (fuse2-algorithm.md §5 with the intended fixes Q1-Q5 and decision §17.3). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/elements.h"
#include "fuse2/submodule.h"

/* Boundary atoms go to the upper bin deterministically (Q1). */
static const double BIN_EPSILON = 1e-8;

fuse2_status fuse2_structure_submodule_edge(const fuse2_structure *s, double *ap_s)
{
    if (s->natoms <= 0) return FUSE2_RAISE(FUSE2_ERR_ARG, "sub-module edge: structure has no atoms");
    double sum = 0.0;
    for (int i = 0; i < s->natoms; i++) {
        const fuse2_element *el = fuse2_element_by_z(s->species[i]);
        if (!el || !el->fuse_supported || !(el->fuse_atomic_radius > 0.0))
            return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED,
                               "sub-module edge: element Z=%d has no FUSE2 atomic radius",
                               s->species[i]);
        sum += el->fuse_atomic_radius;
    }
    *ap_s = rint(4.0 * sum / s->natoms * 1e6) / 1e6;
    return FUSE2_OK;
}

void fuse2_submodule_grid(const double lengths[3], double ap, int grid[3])
{
    /* rint rounds half to even in the default rounding mode, as Python's round */
    double ratio[3] = {lengths[0] / ap, lengths[1] / ap, 2.0 * lengths[2] / ap};
    for (int i = 0; i < 3; i++) {
        double r = rint(ratio[i]);
        grid[i] = r < 1.0 || !isfinite(r) ? 1 : (int)r;
    }
}

fuse2_status fuse2_submodule_add_atom(fuse2_submodule *sm, int z, const double local[3])
{
    if (sm->natoms == sm->capacity) {
        int cap = sm->capacity ? 2 * sm->capacity : 4;
        int *species = realloc(sm->species, (size_t)cap * sizeof *species);
        if (!species) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "sub-module: out of memory");
        sm->species = species;
        double(*loc)[3] = realloc(sm->local, (size_t)cap * sizeof *loc);
        if (!loc) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "sub-module: out of memory");
        sm->local = loc;
        sm->capacity = cap;
    }
    sm->species[sm->natoms] = z;
    memcpy(sm->local[sm->natoms], local, sizeof sm->local[0]);
    sm->natoms++;
    return FUSE2_OK;
}

void fuse2_submodules_free(fuse2_submodules *m)
{
    if (!m) return;
    for (int k = 0; k < m->nmods && m->mods; k++) {
        free(m->mods[k].species);
        free(m->mods[k].local);
    }
    free(m->mods);
    memset(m, 0, sizeof *m);
}

int fuse2_submodules_natoms(const fuse2_submodules *m)
{
    int n = 0;
    for (int k = 0; k < m->nmods; k++) n += m->mods[k].natoms;
    return n;
}

/* Sets the grid, the cell data and nmods empty sub-modules. */
static fuse2_status submodules_setup(fuse2_submodules *m, const int grid[3],
                                     const double lattice[3][3], double ap)
{
    fuse2_submodules_free(m);
    if ((long)grid[0] * grid[1] * grid[2] > 100000000L)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "decomposition: grid %dx%dx%d is too large", grid[0],
                           grid[1], grid[2]);
    m->na = grid[0];
    m->nb = grid[1];
    m->nc = grid[2];
    int nmods = m->na * m->nb * m->nc;
    m->ap = ap;
    memcpy(m->lattice, lattice, sizeof m->lattice);
    for (int i = 0; i < 3; i++)
        for (int x = 0; x < 3; x++) m->sub_lattice[i][x] = lattice[i][x] / grid[i];
    double params[6];
    fuse2_lattice_to_parameters(lattice, params);
    memcpy(m->angles, params + 3, sizeof m->angles);
    m->applied_shrink = 1.0;
    m->mods = calloc((size_t)nmods, sizeof *m->mods);
    if (!m->mods) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "decomposition: out of memory");
    m->nmods = nmods;
    return FUSE2_OK;
}

fuse2_status fuse2_submodules_decompose(const fuse2_structure *s, double ap, fuse2_submodules *out)
{
    if (!s || !out) return FUSE2_RAISE(FUSE2_ERR_ARG, "decomposition: missing argument");
    if (!(ap > 0.0) || !isfinite(ap))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "decomposition: sub-module edge must be > 0 (got %g)", ap);
    if (s->natoms <= 0) return FUSE2_RAISE(FUSE2_ERR_ARG, "decomposition: structure has no atoms");
    double params[6];
    fuse2_lattice_to_parameters(s->lattice, params);
    for (int i = 0; i < 6; i++)
        if (!isfinite(params[i]) || !(params[i] > 0.0))
            return FUSE2_RAISE(FUSE2_ERR_ARG, "decomposition: bad cell parameter %g", params[i]);
    int grid[3];
    fuse2_submodule_grid(params, ap, grid);
    fuse2_status st = FUSE2_OK;
    FUSE2_CALL_GOTO(st, submodules_setup(out, grid, s->lattice, ap), fail);
    for (int a = 0; a < s->natoms; a++) {
        int bin[3];
        double u[3];
        for (int i = 0; i < 3; i++) {
            double f = s->frac[a][i];
            if (!isfinite(f))
                FUSE2_RAISE_GOTO(st, fail, FUSE2_ERR_NUMERIC,
                                 "decomposition: atom %d has a non-finite coordinate", a + 1);
            f -= floor(f);
            if (f >= 1.0) f = 0.0;
            double g = f * grid[i];
            int p = (int)floor(g + BIN_EPSILON);
            if (p < 0) p = 0;
            if (p > grid[i] - 1) p = grid[i] - 1;
            bin[i] = p;
            /* g - p is in (-1e-8, 1) after the epsilon; a tiny negative value
             * keeps the exact position (lossless) rather than clamping it */
            u[i] = g - p;
        }
        int k = bin[0] + grid[0] * (bin[1] + grid[1] * bin[2]);
        FUSE2_CALL_GOTO(st, fuse2_submodule_add_atom(&out->mods[k], s->species[a], u), fail);
    }
    return FUSE2_OK;
fail:
    fuse2_submodules_free(out);
    return st;
}

fuse2_status fuse2_submodules_copy(fuse2_submodules *dst, const fuse2_submodules *src)
{
    if (dst == src) return FUSE2_OK;
    int grid[3] = {src->na, src->nb, src->nc};
    fuse2_status st = FUSE2_OK;
    FUSE2_CALL_GOTO(st, submodules_setup(dst, grid, src->lattice, src->ap), fail);
    memcpy(dst->sub_lattice, src->sub_lattice, sizeof dst->sub_lattice);
    memcpy(dst->angles, src->angles, sizeof dst->angles);
    dst->applied_shrink = src->applied_shrink;
    for (int k = 0; k < src->nmods; k++)
        for (int a = 0; a < src->mods[k].natoms; a++)
            FUSE2_CALL_GOTO(st, fuse2_submodule_add_atom(&dst->mods[k], src->mods[k].species[a],
                                                         src->mods[k].local[a]),
                            fail);
    return FUSE2_OK;
fail:
    fuse2_submodules_free(dst);
    return st;
}

/* Atoms of every sub-module at ((p + shrink*u1)/na, ...) into out. */
static fuse2_status place_atoms(const fuse2_submodules *m, double shrink, fuse2_structure *out)
{
    if (m->nmods != m->na * m->nb * m->nc || m->nmods < 1)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "assembly: %d sub-modules for a %dx%dx%d grid",
                           m->nmods, m->na, m->nb, m->nc);
    out->natoms = 0;
    FUSE2_CALL(fuse2_structure_reserve(out, fuse2_submodules_natoms(m)));
    const int n[3] = {m->na, m->nb, m->nc};
    for (int k = 0; k < m->nmods; k++) {
        const int pos[3] = {k % m->na, (k / m->na) % m->nb, k / (m->na * m->nb)};
        for (int a = 0; a < m->mods[k].natoms; a++) {
            double f[3];
            for (int i = 0; i < 3; i++) f[i] = (pos[i] + shrink * m->mods[k].local[a][i]) / n[i];
            FUSE2_CALL(fuse2_structure_add_atom(out, m->mods[k].species[a], f));
        }
    }
    return FUSE2_OK;
}

fuse2_status fuse2_submodules_assemble(const fuse2_submodules *m, fuse2_structure *out)
{
    FUSE2_CALL(place_atoms(m, 1.0, out));
    memcpy(out->lattice, m->lattice, sizeof out->lattice);
    return FUSE2_OK;
}

fuse2_status fuse2_submodules_assemble_snapped(const fuse2_submodules *m, double ap,
                                               double shrink, fuse2_structure *out)
{
    if (!(ap > 0.0) || !(shrink > 0.0) || shrink > 1.0)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "assembly: bad ap %g or shrink %g", ap, shrink);
    double params[6] = {rint(m->na * ap * 1e6) / 1e6, rint(m->nb * ap * 1e6) / 1e6,
                        rint(m->nc * ap / 2.0 * 1e6) / 1e6, m->angles[0], m->angles[1],
                        m->angles[2]};
    double lattice[3][3];
    /* impossible angles fall back to an orthogonal cell (§5.3); test first so
     * no error message is recorded for this expected case */
    double rad = M_PI / 180.0;
    double ca = cos(params[3] * rad), cb = cos(params[4] * rad);
    double cg = cos(params[5] * rad), sg = sin(params[5] * rad);
    int possible = isfinite(ca + cb + cg) && params[3] > 0 && params[4] > 0 && params[5] > 0 &&
                   params[3] < 180 && params[4] < 180 && params[5] < 180 &&
                   1.0 - cb * cb - pow((ca - cb * cg) / sg, 2) > 0.0;
    if (!possible) params[3] = params[4] = params[5] = 90.0;
    FUSE2_CALL(fuse2_lattice_from_parameters(params, lattice));
    FUSE2_CALL(place_atoms(m, shrink, out));
    memcpy(out->lattice, lattice, sizeof out->lattice);
    return FUSE2_OK;
}
