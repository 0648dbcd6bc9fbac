/* Chemical composition parsed from a formula such as "Ca3Ti2O7". */
#ifndef FUSE2_COMPOSITION_H
#define FUSE2_COMPOSITION_H

#include "fuse2/error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { FUSE2_COMPOSITION_MAX_ELEMENTS = 16 };

typedef struct fuse2_composition {
    int nelements;
    int z[FUSE2_COMPOSITION_MAX_ELEMENTS];     /* in order of first appearance */
    int count[FUSE2_COMPOSITION_MAX_ELEMENTS]; /* atoms per formula unit */
} fuse2_composition;

/* Parses element symbols with optional integer counts, e.g. "Si6Al6B3Fe3NaO30F";
 * parentheses group, "(OH)2". Repeated elements add. Unknown symbols, zero or
 * missing counts after '(', stray characters and empty strings are errors. */
fuse2_status fuse2_composition_parse(const char *formula, fuse2_composition *out);
int fuse2_composition_atoms_per_formula(const fuse2_composition *c);
/* Count of element z per formula unit, 0 if absent. */
int fuse2_composition_count(const fuse2_composition *c, int z);
/* Greatest common divisor of the counts is divided out. */
void fuse2_composition_reduce(fuse2_composition *c);
/* Formula text in the stored order ("Ca3Ti2O7"). */
void fuse2_composition_format(const fuse2_composition *c, char *buf, int bufsize);

#ifdef __cplusplus
}
#endif
#endif
