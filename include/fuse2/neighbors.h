/* Periodic neighbour lists valid for any cell shape: every image within the
 * cutoff is found (not just the minimum image), so short, skewed cells and
 * cutoffs larger than the cell are handled. Units: Å. */
#ifndef FUSE2_NEIGHBORS_H
#define FUSE2_NEIGHBORS_H

#include "fuse2/error.h"
#include "fuse2/structure.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fuse2_neighbor_list {
    int natoms;
    double cutoff;
    int *offsets;          /* natoms + 1: neighbours of i are [offsets[i], offsets[i+1]) */
    int *index;            /* neighbour atom j */
    int (*image)[3];       /* lattice translation n: r_j + n·L - r_i */
    double (*vector)[3];   /* Cartesian vector from i to the image of j (Å) */
    double *distance;      /* |vector| (Å) */
    int count;             /* total entries */
    int capacity;
} fuse2_neighbor_list;

/* Full (both directions) list of all pairs i, j(image) with 0 < d <= cutoff
 * (Å): every image of every atom, including i's own images n != 0; entries of
 * atom i are grouped by j. Distances d <= 1e-8 Å (the atom itself or a
 * coincident atom) are left out. Coordinates need not be wrapped; image[]
 * refers to the stored fractional coordinates. The list must be zeroed
 * (fuse2_neighbor_list list = {0}) before its first build; rebuilding reuses
 * its buffers; free it with fuse2_neighbor_list_free, also after a failed
 * build. Cost ~ natoms^2 plus the number of entries, for any cell shape. */
fuse2_status fuse2_neighbor_list_build(fuse2_neighbor_list *list, const fuse2_structure *s,
                                       double cutoff);
void fuse2_neighbor_list_free(fuse2_neighbor_list *list);

/* Shortest distance between atoms i and j over all periodic images (Å);
 * i == j gives the shortest lattice translation. Exact for any cell shape
 * (no minimum-image assumption). NAN for bad indices, non-finite input or a
 * singular (or needle-thin) lattice. */
double fuse2_periodic_distance(const fuse2_structure *s, int i, int j);
/* Shortest interatomic distance in the crystal (Å), over all pairs and
 * images, including an atom and its own images; 0 if two atoms coincide,
 * INFINITY without atoms, NAN as fuse2_periodic_distance. */
double fuse2_structure_min_distance(const fuse2_structure *s);

#ifdef __cplusplus
}
#endif
#endif
