/* Quantum ESPRESSO (pw.x): the output parser as a pure library function, so
 * the "qe" calculator (src/calc/qe_calc.c) and `fuse2 parse --code qe` judge
 * an existing pw.x output the same way. No process is started here.
 *
 * Verified against Debian's pw.x 6.7MaX (../shared/docs/calculators.md §8).
 *
 * Units: eV, Å, eV/Å, eV/Å^3. Conversions: 1 Ry = 13.605693122994 eV,
 * 1 bohr = 0.529177210903 Å (CODATA 2018, as QE 6.7's constants.f90).
 * Stress uses the project's sign (fuse2/calc.h: negative for a compressed
 * cell). pw.x prints the stress tensor with the opposite sign (its P =
 * trace/3 is positive for a compressed cell: +132 kbar for Si at a = 5.2 Å),
 * so it is negated. */
#ifndef FUSE2_QE_H
#define FUSE2_QE_H

#include "fuse2/error.h"
#include "fuse2/external.h"
#include "fuse2/structure.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FUSE2_QE_RY_EV 13.605693122994   /* eV per Ry */
#define FUSE2_QE_BOHR_A 0.529177210903   /* Å per bohr */
/* kbar per eV/Å^3: 1.602176634e-19 J / 1e-30 m^3 = 1.602176634e11 Pa */
#define FUSE2_QE_EV_A3_IN_KBAR 1602.176634

/* What the parser saw, beyond the fuse2_ext_output (for `fuse2 parse` and
 * the tests). Energies in Ry as printed; NAN when absent. */
typedef struct fuse2_qe_summary {
    char version[32];          /* "6.7MaX", "" if no header */
    int nat;                   /* "number of atoms/cell", -1 unknown */
    int scf_energies;          /* "!    total energy" lines (converged SCF cycles) */
    double energy_ry;          /* the last of them: after vc-relax the final SCF
                                * with a fresh plane-wave basis, which is the
                                * energy reported (in eV) and ranked */
    double final_enthalpy_ry;  /* "Final enthalpy =" (vc-relax, BFGS basis) */
    double final_energy_ry;    /* "Final energy =" (relax) */
    int relaxation;            /* BFGS output seen (relax or vc-relax) */
    int bfgs_converged;        /* "bfgs converged in" */
    int bfgs_failed;           /* "bfgs failed after" (trust radius collapsed) */
    int bfgs_end;              /* "End of BFGS Geometry Optimization" */
    int bfgs_steps;            /* from the converged/failed line, -1 unknown */
    int max_steps;             /* "The maximum number of steps has been reached" */
    int final_scf;             /* "Final scf calculation at the relaxed structure" */
    int scf_before_final;      /* scf_energies when that line came (none after it: not run) */
    int scf_not_converged;     /* "convergence NOT achieved" */
    int max_seconds;           /* "Maximum CPU time exceeded" (max_seconds) */
    int job_done;              /* "JOB DONE." */
    char error_routine[32];    /* first "Error in routine X (n):", "" if none */
    int error_code;            /* its n */
    char error_message[160];   /* the message line(s) after it */
} fuse2_qe_summary;

/* Parses a pw.x output (its standard output) at path into out (initialised;
 * reset here). input (may be NULL) is the structure that was run: it gives
 * species and, for runs that print no final cell (scf, relax), the lattice
 * and positions; without it they come from the output's header (fewer
 * digits). Judged in this order:
 *  - no file, or no "!" energy: UNPARSABLE;
 *  - a "%%%% Error in routine X (n):" block: CRASHED, signature X, reason
 *    "Error in routine X (n): message";
 *  - "convergence NOT achieved" (an SCF ran out of electron_maxstep; pw.x
 *    stops there with exit status 2): CRASHED, signature
 *    "scf_not_converged". Not NOT_CONVERGED: the energy belongs to an
 *    unconverged density and, in a relaxation, to an earlier geometry than
 *    the one printed last, so it must not be ranked;
 *  - "Maximum CPU time exceeded": TIMED_OUT, signature "max_seconds";
 *  - NaN, Inf or "****" in the energy, forces or stress: NON_FINITE;
 *  - no "JOB DONE.": UNPARSABLE (truncated: the run died; the driver, which
 *    knows the exit status, makes it CRASHED or TIMED_OUT);
 *  - a relaxation: "The maximum number of steps has been reached"
 *    (signature "max_steps") or "bfgs failed after" ("bfgs_failed"):
 *    NOT_CONVERGED; "bfgs converged in" or a bare "End of BFGS Geometry
 *    Optimization": CONVERGED; neither: NOT_CONVERGED;
 *  - a single point: CONVERGED.
 * energy: the last "!" line in eV; ionic_steps: the number of "!" lines;
 * structure: the last CELL_PARAMETERS (angstrom, bohr or "alat= x") and
 * ATOMIC_POSITIONS (crystal, angstrom, bohr, alat) blocks; forces: the last
 * "Forces acting on atoms" block; stress: the last "total   stress" block.
 * summary may be NULL. Returns an error only for a NULL argument or no
 * memory: everything about the run goes into out. */
fuse2_status fuse2_qe_output_parse_ex(const char *path, const fuse2_structure *input, fuse2_ext_output *out,
                                      fuse2_qe_summary *summary);
fuse2_status fuse2_qe_output_parse(const char *path, const fuse2_structure *input, fuse2_ext_output *out);
/* The same on text in memory; name labels messages. */
fuse2_status fuse2_qe_output_parse_string(const char *text, const char *name, const fuse2_structure *input,
                                          fuse2_ext_output *out, fuse2_qe_summary *summary);

#ifdef __cplusplus
}
#endif
#endif
