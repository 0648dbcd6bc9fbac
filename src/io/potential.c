/* Potential set: species charges and pair terms, filled by the GULP library
 * reader or by code. See include/fuse2/potential.h. */
#include "fuse2/potential.h"

#include "fuse2/elements.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void fuse2_potential_set_init(fuse2_potential_set *set)
{
    if (!set) return;
    memset(set, 0, sizeof *set);
}

void fuse2_potential_set_free(fuse2_potential_set *set)
{
    if (!set) return;
    free(set->species);
    free(set->terms);
    fuse2_potential_set_init(set);
}

static int z_is_valid(int z) { return z >= 1 && z <= FUSE2_MAX_Z; }

fuse2_status fuse2_potential_set_add_species(fuse2_potential_set *set, int z, double charge)
{
    if (!set) return FUSE2_RAISE(FUSE2_ERR_ARG, "potential set is NULL");
    if (!z_is_valid(z))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "atomic number %d is outside 1..%d", z, FUSE2_MAX_Z);
    if (!isfinite(charge))
        return FUSE2_RAISE(FUSE2_ERR_NUMERIC, "charge of element %d is not finite", z);
    for (int i = 0; i < set->nspecies; ++i) {
        if (set->species[i].z != z) continue;
        /* Listing a species twice is harmless as long as the charges agree. */
        if (set->species[i].charge == charge) return FUSE2_OK;
        return FUSE2_RAISE(FUSE2_ERR_ARG,
                           "element %d already has charge %g, cannot also have %g", z,
                           set->species[i].charge, charge);
    }
    fuse2_species_charge *grown =
        realloc(set->species, (size_t)(set->nspecies + 1) * sizeof *grown);
    if (!grown) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "out of memory adding a species");
    set->species = grown;
    set->species[set->nspecies] = (fuse2_species_charge){.z = z, .charge = charge, .line = 0};
    set->nspecies++;
    return FUSE2_OK;
}

/* Checks what every evaluator relies on; the reader reports friendlier
 * messages with file:line before calling this. */
static fuse2_status check_term(const fuse2_pair_term *t)
{
    if (t->kind != FUSE2_PAIR_BUCKINGHAM && t->kind != FUSE2_PAIR_LENNARD &&
        t->kind != FUSE2_PAIR_MORSE)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "unknown pair potential kind %d", (int)t->kind);
    if (!z_is_valid(t->z1) || !z_is_valid(t->z2))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "pair term has atomic numbers %d, %d outside 1..%d",
                           t->z1, t->z2, FUSE2_MAX_Z);
    for (int k = 0; k < 4; ++k)
        if (!isfinite(t->param[k]))
            return FUSE2_RAISE(FUSE2_ERR_NUMERIC, "pair term parameter %d is not finite", k + 1);
    if (!isfinite(t->rmin) || !isfinite(t->rmax))
        return FUSE2_RAISE(FUSE2_ERR_NUMERIC, "pair term cut-off is not finite");
    if (t->rmin < 0.0)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "pair term rmin %g is negative", t->rmin);
    if (t->rmax <= 0.0)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "pair term rmax %g is not positive", t->rmax);
    if (t->rmin >= t->rmax)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "pair term rmin %g is not below rmax %g", t->rmin,
                           t->rmax);
    if (t->kind == FUSE2_PAIR_BUCKINGHAM && !(t->param[1] > 0.0))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "Buckingham rho %g is not positive", t->param[1]);
    if (t->kind == FUSE2_PAIR_LENNARD && (!(t->param[2] > 0.0) || !(t->param[3] > 0.0)))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "Lennard-Jones exponents %g, %g are not positive",
                           t->param[2], t->param[3]);
    return FUSE2_OK;
}

fuse2_status fuse2_potential_set_add_term(fuse2_potential_set *set, const fuse2_pair_term *t)
{
    if (!set || !t) return FUSE2_RAISE(FUSE2_ERR_ARG, "potential set or term is NULL");
    FUSE2_CALL(check_term(t));
    fuse2_pair_term *grown = realloc(set->terms, (size_t)(set->nterms + 1) * sizeof *grown);
    if (!grown) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "out of memory adding a pair term");
    set->terms = grown;
    fuse2_pair_term *stored = &set->terms[set->nterms];
    *stored = *t;
    if (stored->z1 > stored->z2) {
        stored->z1 = t->z2;
        stored->z2 = t->z1;
    }
    set->nterms++;
    return FUSE2_OK;
}

double fuse2_potential_set_charge(const fuse2_potential_set *set, int z, int *found)
{
    if (set) {
        for (int i = 0; i < set->nspecies; ++i) {
            if (set->species[i].z == z) {
                if (found) *found = 1;
                return set->species[i].charge;
            }
        }
    }
    if (found) *found = 0;
    return 0.0;
}
