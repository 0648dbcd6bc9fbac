/* GULP (General Utility Lattice Program, J. Gale) as an external calculator:
 * the input writer and the output parser, pure functions of text and files
 * (no process is started; the driver runs `gulp < gulp.gin > gulp.got`).
 * Specification: ../shared/docs/calculators.md §6. Units: eV, Å, degrees.
 *
 * The parser was written against GULP 4.3.5 outputs (shared testdata) and
 * GULP 4.x's optimiser messages:
 *   "**** Optimisation achieved ****"                          -> converged
 *   "**** Too many failed attempts to optimise ****"           -> not_converged, "failed_attempts"
 *   "**** Maximum number of function calls has been reached"   -> not_converged, "maxcyc"
 *   "**** Conditions for a minimum have not been satisfied."   -> not_converged, "no_minimum"
 *   "**** Unexpected termination of optimisation ****"         -> not_converged, "unexpected"
 *   "**** CPU limit has been exceeded - restart optimisation"  -> timed_out, "time_limit"
 *     (GULP's own `time` limit; it still prints the final block)
 *   "!! ERROR : ..." / "Program terminated by processor ..."  -> crashed, "error"/"terminated"
 *   "****" or NaN in the energy or coordinates                 -> non_finite, "overflow"/"nan"
 *   "No variables to optimise - single point performed"       -> converged (single point)
 *   no optimisation verdict, no final block, no "Job Finished" -> unparsable, "truncated"
 *   (also unparsable: "empty" output, "no_output" file, "no_energy", "no_structure",
 *   "natoms" when the atom count differs from the expected one)
 * The precedence is: crashed > timed_out > non_finite > unparsable > not_converged.
 * A failure verdict is not_converged only when the output is otherwise complete
 * (final energy, final structure, "Job Finished"); with an overflowed energy
 * it is non_finite and keeps the verdict's signature. "Conditions for a
 * minimum have not been satisfied" is not_converged even though GULP calls
 * it soft: GULP already turns it into "achieved" below gnorm 0.001 and FUSE2
 * rejects it; the reason carries the final gnorm for a caller that accepts it.
 * A wall-clock kill by the driver leaves a truncated output (unparsable
 * here); the driver, which knows it killed the run, reports timed_out.
 * Messages are found as substrings anywhere in a line (not as exact lines:
 * FUSE2's exact-line test misses them when GULP's spacing differs). */
#ifndef FUSE2_GULP_H
#define FUSE2_GULP_H

#include "fuse2/error.h"
#include "fuse2/external.h"
#include "fuse2/structure.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How the potential library is named in the input. */
typedef enum fuse2_gulp_library_mode {
    FUSE2_GULP_LIBRARY = 0, /* `library X`: GULP reads the library's species and potentials */
    FUSE2_GULP_INCLUDE      /* `include X`: the file's lines are read as if typed in (FUSE2's SPP stages) */
} fuse2_gulp_library_mode;

/* What goes into a .gin besides the structure. Strings are borrowed. */
typedef struct fuse2_gulp_input {
    const char *keywords;        /* required, one line: "opti conp conj noelectro c6", "sing conp" */
    const char *title;           /* one line in a title ... end block; NULL: no title block */
    const char *const *options;  /* noptions lines written verbatim in order: "maxcyc 1500",
                                    "time 5 minutes", "cutp 11.0 2.0", "stepmax 0.001",
                                    "switch_minimiser bfgs gnorm 1", "pressure 1 GPa" ...
                                    (GULP: a repeated option, the later one wins) */
    int noptions;
    const char *library;         /* NULL: none (potentials may come as option lines) */
    fuse2_gulp_library_mode library_mode;
    const char *dump;            /* `dump <file>` (GULP's restart file, e.g. "temp.res"); NULL: none */
    /* Charges (e) per atom, written as the 4th number of each core line;
     * NULL: none written, GULP then uses the library's `species` charges. */
    const double *charges;
} fuse2_gulp_input;

/* All zero: no title, options, library, dump or charges. */
void fuse2_gulp_input_init(fuse2_gulp_input *in);

/* The .gin text (malloc'ed, free it): keywords, a blank line, library,
 * options, dump, title block, `cell` a b c alpha beta gamma, `fractional`,
 * one `El core x y z [q]` line per atom (P1, every atom). A left-handed cell
 * is written as its negative with negated coordinates (the same crystal, not
 * its mirror image). Errors: missing keywords, an option or name with a line
 * break, a library or dump name with white space (GULP splits words), a
 * structure without atoms or with an unknown species. Shells are not
 * supported (core-only rigid ions). */
fuse2_status fuse2_gulp_input_format(const fuse2_gulp_input *in, const fuse2_structure *s,
                                     char **text);
fuse2_status fuse2_gulp_input_write(const char *path, const fuse2_gulp_input *in,
                                    const fuse2_structure *s);

/* Parses GULP's standard output (text; `name` labels messages, e.g. the
 * file name) into out (initialised with fuse2_ext_output_init; it is reset
 * first). `dump_path` (may be NULL) is GULP's dump file of the same run (see
 * below). `natoms_expected` > 0: a final structure with another atom count
 * is unparsable.
 *
 * Whatever the output holds is an outcome, never an error: the return value
 * is FUSE2_OK unless an argument is NULL or memory runs out.
 *
 * energy: `Final energy = E eV` (or `Final enthalpy` under pressure) for an
 * optimisation, the first `Total lattice energy = E eV` (the non-primitive
 * value when GULP prints both) for a single point; NAN if none. ionic_steps:
 * the last `Cycle: n` (0 for a single point or no step), -1 if unknown.
 * structure: `Final Cartesian lattice vectors` (GULP re-orients the cell:
 * used as printed) with `Final fractional coordinates of atoms` (wrapped into
 * [0, 1)); for a single point the input geometry GULP echoes. Species come
 * from the labels ("Ti", "O1", "Sr_a" -> Sr). Outputs of asymmetric-unit
 * (space group) input are not supported (unparsable).
 *
 * The dump file: when the output has the final block and the dump holds the
 * same atoms (species in order, fractional coordinates within the output's
 * 6-decimal print precision, same volume within 1e-4 relative) its
 * 7-decimal fractional coordinates replace the output's (more digits; the
 * cell stays the output's). A disagreeing dump is stale and is ignored. When
 * the output has no final structure (killed, truncated) a readable dump with
 * the expected atom count is returned as the structure (the last geometry
 * GULP wrote, for restarts), the outcome stays a failure. A missing or
 * unreadable dump is ignored.
 *
 * Forces and stress are not returned (has_forces = has_stress = 0): GULP
 * prints only derivatives with respect to the optimised variables (fixed
 * coordinates show 0) to 6 decimals, and its shear strain-derivative
 * convention has not been verified against this project's stress. */
fuse2_status fuse2_gulp_output_parse(const char *text, const char *name, const char *dump_path,
                                     int natoms_expected, fuse2_ext_output *out);
/* Reads got_path and parses it; a missing, unreadable or empty file is the
 * outcome unparsable (reason names the file). */
fuse2_status fuse2_gulp_output_parse_file(const char *got_path, const char *dump_path,
                                          int natoms_expected, fuse2_ext_output *out);

#ifdef __cplusplus
}
#endif
#endif
