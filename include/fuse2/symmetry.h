/* Space-group detection and symmetrisation with spglib. Tolerances in Å. */
#ifndef FUSE2_SYMMETRY_H
#define FUSE2_SYMMETRY_H

#include "fuse2/error.h"
#include "fuse2/structure.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fuse2_spacegroup {
    int number;              /* 1..230 */
    char international[32];  /* Hermann-Mauguin short symbol, e.g. "Pm-3m" */
    char hall[64];
    int n_operations;
} fuse2_spacegroup;

/* spglib's space group of s (spg_get_dataset); FUSE2_ERR_LIBRARY with
 * spglib's reason when it finds none. */
fuse2_status fuse2_symmetry_spacegroup(const fuse2_structure *s, double symprec,
                                       fuse2_spacegroup *out);
/* Replaces s by spglib's standardised (idealised) conventional cell, as FUSE2
 * does before every relaxation (spg_standardize_cell, to_primitive = 0,
 * no_idealize = 0); to_primitive = 1 gives the standardised primitive cell.
 * A P1 structure comes back as spglib's reduced triclinic cell. The result is
 * right-handed with coordinates in [0, 1); *changed = 1 (changed may be NULL).
 * If the atom count would change and keep_natoms is set, or if spglib cannot
 * symmetrise the structure (e.g. atoms too close), s is left unchanged,
 * *changed = 0 and FUSE2_OK is returned, as in FUSE2. Invalid input (no
 * atoms, singular cell, symprec <= 0) is an error. */
fuse2_status fuse2_symmetry_standardize(fuse2_structure *s, double symprec, int to_primitive,
                                        int keep_natoms, int *changed);
/* Symmetry operations in fractional coordinates: x' = R x + t. Arrays are
 * malloc'ed; free with free(). */
fuse2_status fuse2_symmetry_operations(const fuse2_structure *s, double symprec,
                                       int *n_ops, int (**rotations)[3][3],
                                       double (**translations)[3]);
/* Symmetry-distinct atoms: equivalent[i] is the index of the representative
 * atom of i's orbit (malloc'ed, natoms entries). */
fuse2_status fuse2_symmetry_equivalent_atoms(const fuse2_structure *s, double symprec,
                                             int **equivalent);

#ifdef __cplusplus
}
#endif
#endif
