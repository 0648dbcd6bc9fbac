/* LAMMPS (lmp): the parser of a run directory of the "lammps" calculator
 * (src/calc/lammps_calc.c) as a library function, so the driver and
 * `fuse2 parse --code lammps` judge a run the same way. No process is
 * started here.
 *
 * Units: eV, Å, eV/Å, eV/Å^3; stress with the project's sign (fuse2/calc.h),
 * LAMMPS' pressure tensor negated and converted from bar. */
#ifndef FUSE2_LAMMPS_H
#define FUSE2_LAMMPS_H

#include "fuse2/error.h"
#include "fuse2/external.h"
#include "fuse2/structure.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Judges the run the driver left in dir: log.lammps, stdout.txt and
 * stderr.txt (a LAMMPS "ERROR" line: CRASHED, signature "error"),
 * fuse2_run.txt (the driver's type order, frame and basis, mode and
 * convergence criteria; missing or malformed: UNPARSABLE), fuse2_final.txt
 * and final.dump (the re-evaluated final state; missing: UNPARSABLE, "the run
 * did not finish"). A single point is CONVERGED; a relaxation is CONVERGED
 * when the minimiser stopped on its energy or force tolerance (or ran out of
 * line-search precision at a point meeting the recorded fmax/smax),
 * NOT_CONVERGED otherwise (reason: the "Stopping criterion"). energy: the
 * final potential energy; ionic_steps: the minimiser's steps (0 for a single
 * point); structure, forces and stress in the caller's frame and basis.
 *
 * input (may be NULL) is the structure that was run: the dump's atoms must
 * then match its count and species. Without it the atom count comes from the
 * dump and the species from fuse2_run.txt's type order. out is initialised
 * (reset here). Returns an error only for a NULL argument or no memory. */
fuse2_status fuse2_lammps_parse_run(const char *dir, const fuse2_structure *input, fuse2_ext_output *out);

#ifdef __cplusplus
}
#endif
#endif
