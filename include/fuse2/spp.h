/* FUSE2's statistical proxy potentials (SPP; Antypov et al., ChemPhysChem
 * 2024, e202400254): one tabulated pair potential per element pair, in
 * GULP's `spline` library syntax, laid out as SPP_PATH/A-B/A-B.POT. FUSE2
 * runs them without charges and with `cutp 11.0 2.0`. Used by the built-in
 * calculator (native evaluation) and the GULP driver (lib.lib assembly).
 * See docs/builtin-calculator.md, "Statistical proxy potentials". */
#ifndef FUSE2_SPP_H
#define FUSE2_SPP_H

#include <stddef.h>

#include "fuse2/calc.h"
#include "fuse2/error.h"
#include "fuse2/potential.h"

#ifdef __cplusplus
extern "C" {
#endif

/* FUSE2's SPP stages: `cutp 11.0 2.0` (Å). */
#define FUSE2_SPP_CUTOFF 11.0
#define FUSE2_SPP_TAPER 2.0

/* The SPP settings a calculator shares (builtin, gulp): spp_cutoff and
 * spp_taper (Å, defaults FUSE2_SPP_CUTOFF/TAPER, 0 < cutoff, 0 <= taper <=
 * cutoff) and spp_legacy_duplicates (default 0) into the outputs; each of
 * them without spp_path is an error naming its origin. Whether spp_path
 * itself is usable is the caller's check. */
fuse2_status fuse2_spp_settings_parse(const fuse2_settings *settings, double *cutoff, double *taper,
                                      int *legacy_duplicates);

/* The table file of the pair (a, b), element symbols as written ("Sr"):
 * root/A-B/A-B.POT with upper-cased symbols (FUSE2's name), then a-b as
 * written, then the same for B-A (FUSE2 ran on case-insensitive file
 * systems, so the real directory names may be either case). Returns 1 and
 * the path, or 0 with the names tried, ", "-separated, in `tried`. */
int fuse2_spp_find_pair_file(const char *root, const char *a, const char *b, char *path, size_t size,
                             char *tried, size_t tried_size);

/* Appends the terms of the pair (za, zb) from its table file under root to
 * set. The file is read as a GULP library (spline tables, any other pair
 * potential syntax too); every term in it must be for this pair, and there
 * must be at least one. Its `species` charges and `cutp` are not taken over
 * (SPP runs have no charges; the caller sets the cut-off). Errors:
 * FUSE2_ERR_IO naming every file tried when none exists, the reader's
 * file:line errors otherwise. On failure set is left as it was. */
fuse2_status fuse2_spp_read_pair(const char *root, int za, int zb, fuse2_potential_set *set);

#ifdef __cplusplus
}
#endif
#endif
