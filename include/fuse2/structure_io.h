/* Structure files: CIF, POSCAR/CONTCAR (VASP 5), GULP input/restart geometry.
 * Lengths in Å, angles in degrees. Every error names the file and line.
 * Readers return fractional coordinates wrapped into [0, 1) and a right-handed
 * cell (a left-handed POSCAR/GULP basis is replaced by its negative, which is
 * the same crystal); `name` arguments only label error messages. */
#ifndef FUSE2_STRUCTURE_IO_H
#define FUSE2_STRUCTURE_IO_H

#include <stddef.h>

#include "fuse2/error.h"
#include "fuse2/structure.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fuse2_structure_format {
    FUSE2_FORMAT_AUTO = 0, /* by extension, then by content */
    FUSE2_FORMAT_CIF,
    FUSE2_FORMAT_POSCAR,
    FUSE2_FORMAT_GULP      /* .gin / .res: `cell` (or `vectors`) + `fractional` block */
} fuse2_structure_format;

/* Guesses the format of a file from its name (*.cif, POSCAR*, CONTCAR*,
 * *.vasp, *.poscar, *.gin, *.res) and, failing that, from its content. */
fuse2_status fuse2_structure_detect_format(const char *path, fuse2_structure_format *fmt);

/* `out` must be initialised or zeroed; it is replaced (also by every reader
 * below; on error it is left unchanged). */
fuse2_status fuse2_structure_read(const char *path, fuse2_structure_format fmt,
                                  fuse2_structure *out);
/* Writes P1 for CIF unless symmetrize is set (then the spglib space group
 * with symprec and only the asymmetric unit). For POSCAR, symmetrize writes
 * spglib's standardised conventional cell (all atoms). Writing GULP geometry
 * is not supported here (the GULP calculator writes its own input). AUTO
 * chooses by file name only. */
fuse2_status fuse2_structure_write(const char *path, fuse2_structure_format fmt,
                                   const fuse2_structure *s, int symmetrize, double symprec);

/* Whole file into *data (malloc'ed, free with free()), *size bytes as they
 * are, plus a terminating NUL not counted in *size. */
fuse2_status fuse2_file_read(const char *path, char **data, size_t *size);
/* Whole text file into a malloc'ed, NUL-terminated string (free with free()).
 * Files with NUL bytes (binary, compressed) are an error. */
fuse2_status fuse2_text_file_read(const char *path, char **text);

/* CIF: expands _symmetry_equiv_pos_as_xyz or _space_group_symop_operation_xyz,
 * reads numbers with uncertainties ("0.1234(5)"), merges sites closer than
 * merge_tolerance (Å) after expansion (0 -> default 0.01 Å), rejects partial
 * occupancy. Only the first data block is read. Without symmetry operations
 * the structure is P1, unless a space-group symbol or number other than P1 is
 * given (then it is an error: the asymmetric unit alone cannot be expanded). */
fuse2_status fuse2_cif_read(const char *path, double merge_tolerance, fuse2_structure *out);
fuse2_status fuse2_cif_read_string(const char *text, const char *name, double merge_tolerance,
                                   fuse2_structure *out);
/* title (may be NULL: the formula) becomes the data_ block name. Cell to 10
 * decimals, fractional coordinates to 12. Symmetrised output: the structure
 * is standardised first (fuse2_symmetry_standardize), all operations are
 * written as xyz strings, atoms are the symmetry-distinct ones. */
fuse2_status fuse2_cif_write(const char *path, const fuse2_structure *s, const char *title,
                             int symmetrize, double symprec);
/* P1 CIF with comment lines (each "# ...\n") after the first line: a record
 * that CIF data names cannot hold. */
fuse2_status fuse2_cif_write_commented(const char *path, const fuse2_structure *s, const char *title,
                                       const char *comments);

/* POSCAR/CONTCAR, VASP 5 (species line) and VASP 4 when species are in the
 * title line; Direct or Cartesian; scale factor (negative = target volume);
 * selective dynamics accepted and ignored; trailing velocity blocks ignored.
 * VASP 6's three scale factors scale the x, y, z Cartesian components. */
fuse2_status fuse2_poscar_read(const char *path, fuse2_structure *out);
fuse2_status fuse2_poscar_read_string(const char *text, const char *name, fuse2_structure *out);
/* Writes VASP 5 format with atoms grouped by species in order of first
 * appearance (the order of s is kept within a species); scale 1.0, lattice
 * and Direct coordinates with 16 decimals. comment may be NULL (formula). */
fuse2_status fuse2_poscar_write(const char *path, const fuse2_structure *s, const char *comment);

/* GULP input or dump file geometry: `cell` a b c alpha beta gamma (or
 * `vectors`), then `fractional` lines `El core x y z [q occ r]`; fractions
 * like 3/4 allowed; shells are an error. A `cartesian` block (Å) is accepted
 * as well. `title` ... `end` blocks are skipped; only the first configuration
 * is read. */
fuse2_status fuse2_gulp_structure_read(const char *path, fuse2_structure *out);
fuse2_status fuse2_gulp_structure_read_string(const char *text, const char *name,
                                              fuse2_structure *out);

#ifdef __cplusplus
}
#endif
#endif
