/* FUSE2 decomposition of a crystal into its grid of sub-modules and the
 * inverse assembly (fuse2-algorithm.md §5, decision §17.3). The
 * decomposition is lossless: fuse2_submodules_assemble gives back the input
 * crystal (same lattice, atoms with coordinates wrapped into [0, 1)).
 * fuse2_submodules_assemble_snapped is the perturbing re-assembly used by
 * moves 7-10. Units: Å, degrees. */
#ifndef FUSE2_SUBMODULE_H
#define FUSE2_SUBMODULE_H

#include "fuse2/error.h"
#include "fuse2/structure.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The atoms of one sub-module: species and local fractional coordinates
 * u in [0, 1)^3 of the sub-module cell (parent lattice vectors / grid). */
typedef struct fuse2_submodule {
    int natoms;
    int capacity;
    int *species;
    double (*local)[3];
} fuse2_submodule;

typedef struct fuse2_submodules {
    int na, nb, nc;             /* grid; nmods = na*nb*nc */
    int nmods;
    double ap;                  /* ap_s used for the grid (Å) */
    double lattice[3][3];       /* parent lattice rows (Å) */
    double sub_lattice[3][3];   /* exact sub-module cell: lattice[i] / n_i */
    double angles[3];           /* shape angles alpha, beta, gamma (degrees, unrounded) */
    /* Shrink already contained in the local coordinates: 1 after decompose;
     * the building move's submodule_shrink when the decomposed structure was
     * built by moves 7-10, so that the next module move does not shrink the
     * same coordinates again (§17.3, Q47). Kept by copy, ignored by assembly. */
    double applied_shrink;
    fuse2_submodule *mods;      /* p fastest, then q, then layer s: index p + na*(q + nb*s) */
} fuse2_submodules;

/* ap_s = round6(4 x mean FUSE2 atomic radius over the atoms of s) (§3.1).
 * Error if s has no atoms or an element without FUSE2 data. */
fuse2_status fuse2_structure_submodule_edge(const fuse2_structure *s, double *ap_s);

/* Grid counts from cell lengths (Å): na = round(a/ap), nb = round(b/ap),
 * nc = round(2c/ap), Python rounding (half to even), 0 -> 1 (Q5). */
void fuse2_submodule_grid(const double lengths[3], double ap, int grid[3]);

/* Decomposes s (§5.2 intended, §17.3) on the grid of sub-module edge ap
 * (Å, > 0; fuse2_submodule_grid): coordinates wrapped, each atom binned once
 * (floor(f*n + 1e-8), clamped, Q1), local fractional coordinates (Q2), no
 * shrink (applied_shrink = 1). A campaign passes its own ap, the edge the
 * generator builds with (§3.1, or the ionic I_p of §17.1 with oxidation
 * states), so moves 7-10 snap to the generator's sub-module; code without a
 * campaign passes fuse2_structure_submodule_edge(s) (FUSE2's ap_s).
 * `out` must be zeroed before the first call; it is replaced. Free with
 * fuse2_submodules_free. */
fuse2_status fuse2_submodules_decompose(const fuse2_structure *s, double ap, fuse2_submodules *out);
void fuse2_submodules_free(fuse2_submodules *m);
/* Deep copy; dst zeroed or previously used. */
fuse2_status fuse2_submodules_copy(fuse2_submodules *dst, const fuse2_submodules *src);
int fuse2_submodules_natoms(const fuse2_submodules *m);
/* Appends an atom to a sub-module (used by moves that rebuild sub-modules). */
fuse2_status fuse2_submodule_add_atom(fuse2_submodule *sm, int z, const double local[3]);

/* Lossless inverse of decompose: lattice = m->lattice, atom of sub-module
 * (p,q,s) at ((p+u1)/na, (q+u2)/nb, (s+u3)/nc), in module order. */
fuse2_status fuse2_submodules_assemble(const fuse2_submodules *m, fuse2_structure *out);

/* The re-assembly of moves 7-10 (§5.3, §17.3): cell (na*ap, nb*ap, nc*ap/2)
 * lengths rounded to 1e-6 Å with the shape angles m->angles (impossible
 * angles -> 90/90/90), local coordinates multiplied once by shrink
 * (0.8 = FUSE2, 1 = off). m is not modified. */
fuse2_status fuse2_submodules_assemble_snapped(const fuse2_submodules *m, double ap,
                                               double shrink, fuse2_structure *out);

#ifdef __cplusplus
}
#endif
#endif
