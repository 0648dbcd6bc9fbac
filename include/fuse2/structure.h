/* Crystal structure: lattice vectors as rows (Å), fractional coordinates,
 * species by atomic number. Units: Å, degrees for cell angles. */
#ifndef FUSE2_STRUCTURE_H
#define FUSE2_STRUCTURE_H

#include "fuse2/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fuse2_structure {
    int natoms;
    int capacity;
    double lattice[3][3]; /* lattice[i] is lattice vector i (Å), Cartesian */
    double (*frac)[3];    /* fractional coordinates, natoms rows */
    int *species;         /* atomic numbers, natoms entries */
} fuse2_structure;

/* Empty structure with room for `capacity` atoms (0 is allowed). */
fuse2_status fuse2_structure_init(fuse2_structure *s, int capacity);
void fuse2_structure_free(fuse2_structure *s);
fuse2_status fuse2_structure_reserve(fuse2_structure *s, int capacity);
/* dst must be initialised (or zeroed); its contents are replaced. */
fuse2_status fuse2_structure_copy(fuse2_structure *dst, const fuse2_structure *src);
fuse2_status fuse2_structure_add_atom(fuse2_structure *s, int z, const double frac[3]);
void fuse2_structure_remove_atom(fuse2_structure *s, int index);

double fuse2_structure_volume(const fuse2_structure *s); /* Å^3, signed */
void fuse2_structure_cartesian(const fuse2_structure *s, int atom, double cart[3]);
/* Maps every fractional coordinate into [0, 1). */
void fuse2_structure_wrap_positions(fuse2_structure *s);
/* Finite coordinates, volume above 1e-6 Å^3 per atom, known species. `what`
 * names the source (file name) in the error message. */
fuse2_status fuse2_structure_validate(const fuse2_structure *s, const char *what);
/* Reorders atoms by atomic number (stable). */
fuse2_status fuse2_structure_sort_by_species(fuse2_structure *s);
/* Hill-ordered formula with counts, e.g. "O3SrTi" -> "SrTiO3" style by
 * element electronegativity is not attempted: alphabetical, counts > 1. */
void fuse2_structure_formula(const fuse2_structure *s, char *buf, int bufsize);

/* Replaces the lattice, keeping Cartesian positions fixed (frac recomputed). */
fuse2_status fuse2_structure_set_lattice_keep_cartesian(fuse2_structure *s,
                                                        const double lattice[3][3]);
/* Niggli-reduces the cell (spglib) and remaps atoms into it; the atoms and
 * periodic crystal are unchanged. Badly skewed random cells need this before
 * any lattice sum. */
fuse2_status fuse2_structure_reduce_cell(fuse2_structure *s);

/* ---- lattice helpers (rows are vectors) ---- */
/* a, b, c (Å) and alpha, beta, gamma (degrees) to lattice rows in ASE's
 * convention: a along x, b in the xy plane. Impossible angles are an error. */
fuse2_status fuse2_lattice_from_parameters(const double params[6], double lattice[3][3]);
void fuse2_lattice_to_parameters(const double lattice[3][3], double params[6]);
double fuse2_lattice_volume(const double lattice[3][3]);
/* inverse such that frac = cart * inverse (row vectors); error if singular */
fuse2_status fuse2_lattice_inverse(const double lattice[3][3], double inverse[3][3]);
/* Reciprocal vectors as rows, including the 2*pi factor. */
void fuse2_lattice_reciprocal(const double lattice[3][3], double recip[3][3]);
/* Distances between opposite faces: h_i = V / |a_j x a_k|. */
void fuse2_lattice_plane_spacings(const double lattice[3][3], double h[3]);

#ifdef __cplusplus
}
#endif
#endif
