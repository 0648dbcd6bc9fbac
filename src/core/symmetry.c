/* Space groups and standardised cells from spglib (2.x C API).
 *
 * spglib takes lattice vectors as the COLUMNS of a 3x3 matrix; fuse2 stores
 * them as rows, so every call goes through a transpose. Atom types passed to
 * spglib are the atomic numbers. */
#include "fuse2/symmetry.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spglib.h>

static void transpose(const double in[3][3], double out[3][3])
{
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) out[k][i] = in[i][k];
}

static const char *spglib_error_text(void)
{
    const char *msg = spg_get_error_message(spg_get_error_code());
    return msg ? msg : "unknown spglib error";
}

/* Rejects what spglib would silently misinterpret: no atoms, a singular or
 * non-finite cell, non-finite coordinates, a tolerance that is not > 0. */
static fuse2_status check_input(const fuse2_structure *s, double symprec)
{
    if (!(symprec > 0) || !isfinite(symprec))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "symmetry tolerance must be > 0 A (got %g)", symprec);
    if (s->natoms <= 0) return FUSE2_RAISE(FUSE2_ERR_ARG, "symmetry: structure has no atoms");
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++)
            if (!isfinite(s->lattice[i][k]))
                return FUSE2_RAISE(FUSE2_ERR_NUMERIC, "symmetry: lattice vector %d is not finite",
                                   i + 1);
    double inverse[3][3];
    FUSE2_CALL(fuse2_lattice_inverse(s->lattice, inverse));
    for (int i = 0; i < s->natoms; i++)
        for (int k = 0; k < 3; k++)
            if (!isfinite(s->frac[i][k]))
                return FUSE2_RAISE(FUSE2_ERR_NUMERIC,
                                   "symmetry: atom %d has a non-finite coordinate", i + 1);
    return FUSE2_OK;
}

static fuse2_status get_dataset(const fuse2_structure *s, double symprec, SpglibDataset **out)
{
    *out = NULL;
    FUSE2_CALL(check_input(s, symprec));
    double lattice[3][3];
    transpose(s->lattice, lattice);
    SpglibDataset *dataset = spg_get_dataset(lattice, s->frac, s->species,
                                             s->natoms, symprec);
    if (!dataset)
        return FUSE2_RAISE(FUSE2_ERR_LIBRARY,
                           "spglib found no space group for %d atoms (symprec %g A): %s",
                           s->natoms, symprec, spglib_error_text());
    *out = dataset;
    return FUSE2_OK;
}

fuse2_status fuse2_symmetry_spacegroup(const fuse2_structure *s, double symprec,
                                       fuse2_spacegroup *out)
{
    memset(out, 0, sizeof *out);
    SpglibDataset *dataset;
    FUSE2_CALL(get_dataset(s, symprec, &dataset));
    out->number = dataset->spacegroup_number;
    snprintf(out->international, sizeof out->international, "%s", dataset->international_symbol);
    snprintf(out->hall, sizeof out->hall, "%s", dataset->hall_symbol);
    out->n_operations = dataset->n_operations;
    spg_free_dataset(dataset);
    return FUSE2_OK;
}

fuse2_status fuse2_symmetry_standardize(fuse2_structure *s, double symprec, int to_primitive,
                                        int keep_natoms, int *changed)
{
    if (changed) *changed = 0;
    FUSE2_CALL(check_input(s, symprec));

    /* a conventional cell holds at most 4x the atoms of any input cell
     * (face-centred from primitive), as spglib's documentation requires */
    size_t room = 4 * (size_t)s->natoms;
    double(*positions)[3] = malloc(room * sizeof *positions);
    int *types = malloc(room * sizeof *types);
    if (!positions || !types) {
        free(positions);
        free(types);
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate %zu atoms for spglib", room);
    }
    memcpy(positions, s->frac, (size_t)s->natoms * sizeof *positions);
    memcpy(types, s->species, (size_t)s->natoms * sizeof *types);
    double lattice[3][3];
    transpose(s->lattice, lattice);

    int n_std = spg_standardize_cell(lattice, positions, types, s->natoms, to_primitive ? 1 : 0,
                                     0, symprec);
    fuse2_status status = FUSE2_OK;
    /* spglib failing to symmetrise is normal for random cells: FUSE2 keeps
     * the structure as it is, and so do we (no error) */
    if (n_std <= 0 || (keep_natoms && n_std != s->natoms)) goto done;

    if (n_std > s->capacity) FUSE2_CALL_GOTO(status, fuse2_structure_reserve(s, n_std), done);
    transpose(lattice, s->lattice);
    memcpy(s->frac, positions, (size_t)n_std * sizeof *positions);
    memcpy(s->species, types, (size_t)n_std * sizeof *types);
    s->natoms = n_std;
    if (fuse2_structure_volume(s) < 0) {
        /* same crystal, right-handed basis: r = f L = (-f)(-L) */
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 3; k++) s->lattice[i][k] = -s->lattice[i][k];
        for (int i = 0; i < n_std; i++)
            for (int k = 0; k < 3; k++) s->frac[i][k] = -s->frac[i][k];
    }
    fuse2_structure_wrap_positions(s);
    if (changed) *changed = 1;
done:
    free(positions);
    free(types);
    return status;
}

fuse2_status fuse2_symmetry_operations(const fuse2_structure *s, double symprec, int *n_ops,
                                       int (**rotations)[3][3], double (**translations)[3])
{
    *n_ops = 0;
    *rotations = NULL;
    *translations = NULL;
    SpglibDataset *dataset;
    FUSE2_CALL(get_dataset(s, symprec, &dataset));
    int n = dataset->n_operations;
    int(*rot)[3][3] = malloc((size_t)(n > 0 ? n : 1) * sizeof *rot);
    double(*trans)[3] = malloc((size_t)(n > 0 ? n : 1) * sizeof *trans);
    if (!rot || !trans) {
        free(rot);
        free(trans);
        spg_free_dataset(dataset);
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate %d symmetry operations", n);
    }
    if (n > 0) {
        memcpy(rot, dataset->rotations, (size_t)n * sizeof *rot);
        memcpy(trans, dataset->translations, (size_t)n * sizeof *trans);
    }
    spg_free_dataset(dataset);
    *n_ops = n;
    *rotations = rot;
    *translations = trans;
    return FUSE2_OK;
}

fuse2_status fuse2_symmetry_equivalent_atoms(const fuse2_structure *s, double symprec,
                                             int **equivalent)
{
    *equivalent = NULL;
    SpglibDataset *dataset;
    FUSE2_CALL(get_dataset(s, symprec, &dataset));
    if (dataset->n_atoms != s->natoms) {
        int n = dataset->n_atoms;
        spg_free_dataset(dataset);
        return FUSE2_RAISE(FUSE2_ERR_INTERNAL, "spglib returned %d atoms for a structure of %d", n,
                           s->natoms);
    }
    int *eq = malloc((size_t)s->natoms * sizeof *eq);
    if (!eq) {
        spg_free_dataset(dataset);
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate %d atom indices", s->natoms);
    }
    memcpy(eq, dataset->equivalent_atoms, (size_t)s->natoms * sizeof *eq);
    spg_free_dataset(dataset);
    *equivalent = eq;
    return FUSE2_OK;
}
