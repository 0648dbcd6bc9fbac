/* FUSE2's error_check_structure and neutral test_bonds (fuse2-algorithm.md §4.4). */
#include <math.h>
#include <stdlib.h>

#include "fuse2/elements.h"
#include "fuse2/gen.h"
#include "fuse2/neighbors.h"

/* FUSE2's coordination cutoff as a fraction of ap (test_bonds). */
static const double BOND_CUTOFF_PER_AP = 0.785;

const char *fuse2_check_result_name(fuse2_check_result r)
{
    switch (r) {
    case FUSE2_CHECK_PASSED: return "passed";
    case FUSE2_CHECK_NAN_CELL: return "NaN cell";
    case FUSE2_CHECK_TOO_MANY_ATOMS: return "too many atoms";
    case FUSE2_CHECK_DENSITY: return "density outside window";
    case FUSE2_CHECK_CONTACT: return "short contact";
    case FUSE2_CHECK_BONDS: return "coordination";
    }
    return "unknown";
}

fuse2_status fuse2_gen_bond_counts(const fuse2_structure *s, double ap, int *counts)
{
    if (!(ap > 0.0)) return FUSE2_RAISE(FUSE2_ERR_ARG, "ap must be > 0 (got %g)", ap);
    fuse2_neighbor_list list = {0};
    fuse2_status st = fuse2_neighbor_list_build(&list, s, BOND_CUTOFF_PER_AP * ap);
    if (st != FUSE2_OK) {
        fuse2_neighbor_list_free(&list);
        fuse2_error_push_frame(__FILE__, __LINE__, __func__);
        return st;
    }
    /* One minimum image per pair: any image within the cutoff means the
     * minimum image is; the list groups the entries of atom i by j. Images
     * of i itself and coincident atoms (left out of the list) add nothing
     * to the self count of 1. */
    for (int i = 0; i < s->natoms; i++) {
        int n = 1, last = -1;
        for (int e = list.offsets[i]; e < list.offsets[i + 1]; e++) {
            int j = list.index[e];
            if (j != i && j != last) n++;
            last = j;
        }
        counts[i] = n;
    }
    /* Exactly coincident distinct atoms are not in the list but are within
     * any cutoff: count them too. */
    for (int i = 0; i < s->natoms; i++)
        for (int j = 0; j < s->natoms; j++) {
            if (j == i) continue;
            double d[3];
            for (int k = 0; k < 3; k++) {
                d[k] = s->frac[j][k] - s->frac[i][k];
                d[k] -= rint(d[k]);
            }
            double cart2 = 0.0;
            for (int x = 0; x < 3; x++) {
                double v = d[0] * s->lattice[0][x] + d[1] * s->lattice[1][x] +
                           d[2] * s->lattice[2][x];
                cart2 += v * v;
            }
            if (cart2 <= 1e-16) counts[i]++;
        }
    fuse2_neighbor_list_free(&list);
    return FUSE2_OK;
}

static fuse2_status bonds_pass(const fuse2_structure *s, double ap, double btol, int *pass)
{
    int *counts = malloc((size_t)(s->natoms ? s->natoms : 1) * sizeof *counts);
    if (!counts) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "bond test: out of memory");
    fuse2_status st = fuse2_gen_bond_counts(s, ap, counts);
    if (st != FUSE2_OK) {
        free(counts);
        fuse2_error_push_frame(__FILE__, __LINE__, __func__);
        return st;
    }
    int wrong = 0;
    for (int i = 0; i < s->natoms; i++) {
        const fuse2_element *el = fuse2_element_by_z(s->species[i]);
        if (!el || !el->fuse_supported) {
            free(counts);
            return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED, "bond test: element Z=%d has no FUSE2 data",
                               s->species[i]);
        }
        if (counts[i] < el->fuse_min_coordination - 1 ||
            counts[i] > el->fuse_max_coordination + 1)
            wrong++;
    }
    free(counts);
    *pass = !((double)wrong / s->natoms > btol);
    return FUSE2_OK;
}

fuse2_status fuse2_gen_check_structure(const fuse2_structure *s, const fuse2_gen_params *p,
                                       const fuse2_gen_constants *c, int limit,
                                       fuse2_check_result *result)
{
    double params[6];
    fuse2_lattice_to_parameters(s->lattice, params);
    for (int i = 0; i < 6; i++)
        if (isnan(params[i])) {
            *result = FUSE2_CHECK_NAN_CELL;
            return FUSE2_OK;
        }
    if (s->natoms > limit) {
        *result = FUSE2_CHECK_TOO_MANY_ATOMS;
        return FUSE2_OK;
    }
    if (s->natoms <= 0) return FUSE2_RAISE(FUSE2_ERR_ARG, "error check: structure has no atoms");
    double mass = 0.0;
    for (int i = 0; i < s->natoms; i++) {
        const fuse2_element *el = fuse2_element_by_z(s->species[i]);
        if (!el) return FUSE2_RAISE(FUSE2_ERR_ARG, "error check: bad atomic number %d", s->species[i]);
        mass += el->mass;
    }
    double density = mass / fabs(fuse2_structure_volume(s));
    if (!(density >= p->density_cutoff * c->rho_ideal && density <= c->rho_ideal)) {
        *result = FUSE2_CHECK_DENSITY;
        return FUSE2_OK;
    }
    if (p->check_distances) {
        double dmin = fuse2_structure_min_distance(s);
        if (!(dmin > p->dist_cutoff)) { /* NaN (degenerate cell) rejects too */
            *result = FUSE2_CHECK_CONTACT;
            return FUSE2_OK;
        }
    }
    if (p->check_bonds) {
        int pass = 0;
        FUSE2_CALL(bonds_pass(s, c->ap, p->btol, &pass));
        if (!pass) {
            *result = FUSE2_CHECK_BONDS;
            return FUSE2_OK;
        }
    }
    *result = FUSE2_CHECK_PASSED;
    return FUSE2_OK;
}
