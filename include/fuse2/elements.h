/* Element data for Z = 1..103. Units: amu, Å, Pauling electronegativity.
 * Sources are cited in src/core/elements.c beside each column. */
#ifndef FUSE2_ELEMENTS_H
#define FUSE2_ELEMENTS_H

#include "fuse2/error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { FUSE2_MAX_Z = 103, FUSE2_MAX_OXIDATION_STATES = 8 };

typedef struct fuse2_ionic_radius {
    int charge;          /* oxidation state, e.g. +4, -2 */
    double radius;       /* Shannon effective ionic radius (Å); high spin where
                            Shannon distinguishes; negative for H+ (-0.18) */
    int coordination;    /* coordination number the radius is quoted for */
} fuse2_ionic_radius;

typedef struct fuse2_element {
    int z;
    const char *symbol;
    const char *name;
    double mass;               /* standard atomic weight, amu */
    double covalent_radius;    /* Cordero 2008, Å; Mn/Fe/Co high spin; 0 for Z > 96 */
    double electronegativity;  /* Pauling; 0 where undefined */
    int n_oxidation_states;    /* common oxidation states */
    int oxidation_states[FUSE2_MAX_OXIDATION_STATES];
    int n_ionic_radii;
    fuse2_ionic_radius ionic_radii[FUSE2_MAX_OXIDATION_STATES];
    /* FUSE2's bond_table.py: atomic radius (VESTA, Å), min and max
     * coordination; fuse_supported == 0 where FUSE2 has no entry. */
    int fuse_supported;
    double fuse_atomic_radius;
    int fuse_min_coordination;
    int fuse_max_coordination;
} fuse2_element;

/* NULL if z is out of 1..103. */
const fuse2_element *fuse2_element_by_z(int z);
/* Case-sensitive symbol ("Ca"); returns 0 if unknown. */
int fuse2_element_z_from_symbol(const char *symbol);
/* Accepts labels such as "Ca", "CA", "ca", "Ca1", "O2-", "Ti4+", "Fe_pv";
 * the first two letters, case-insensitively, are preferred over the first
 * one ("Co" and "CO" are cobalt, "C1" is carbon). Returns 0 if no element
 * matches the leading letters or the label does not start with a letter. */
int fuse2_element_z_from_label(const char *label);
/* Shannon radius for a common oxidation state: the entry for coordination
 * number 6 when tabulated, else the nearest tabulated one (recorded in
 * fuse2_ionic_radius.coordination); 0.0 if none or z is out of range. */
double fuse2_element_ionic_radius(int z, int charge);

#ifdef __cplusplus
}
#endif
#endif
