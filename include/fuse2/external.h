/* External calculators (GULP, VASP, Quantum ESPRESSO, LAMMPS): what their
 * output parsers return. The parsers are pure functions of the files a run
 * left (no process is started), so `fuse2 parse` and the tests use them on
 * existing outputs, and the drivers use them after a run.
 *
 * Units: eV, Å, eV/Å, eV/Å^3. Stress uses the project's sign (fuse2/calc.h:
 * sigma = (1/V) dE/d(epsilon), negative for a compressed cell); VASP's and
 * QE's printed pressures have the opposite sign and are converted. */
#ifndef FUSE2_EXTERNAL_H
#define FUSE2_EXTERNAL_H

#include "fuse2/calc.h"
#include "fuse2/error.h"
#include "fuse2/structure.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The fixed set of outcomes of one external run (issue: converged, not
 * converged, failed: crashed / timed out / unparsable / non-finite /
 * unphysical). */
typedef enum fuse2_ext_outcome {
    FUSE2_EXT_CONVERGED = 0,
    FUSE2_EXT_NOT_CONVERGED,    /* finished, but the code's own convergence test failed */
    FUSE2_EXT_CRASHED,          /* non-zero exit, killed by a signal, or a fatal error message */
    FUSE2_EXT_TIMED_OUT,        /* the wall-clock limit killed it (or its own time limit hit) */
    FUSE2_EXT_UNPARSABLE,       /* output missing, truncated or not understood */
    FUSE2_EXT_NON_FINITE,       /* NaN, Inf or overflowed ("****") numbers */
    FUSE2_EXT_UNPHYSICAL        /* geometry checks before or after the run failed */
} fuse2_ext_outcome;

/* "converged", "not_converged", "crashed", "timed_out", "unparsable",
 * "non_finite", "unphysical". */
const char *fuse2_ext_outcome_name(fuse2_ext_outcome o);
/* 1 for the five failure classes. */
int fuse2_ext_outcome_failed(fuse2_ext_outcome o);

typedef struct fuse2_ext_output {
    fuse2_ext_outcome outcome;
    char reason[FUSE2_REASON_LEN]; /* why it failed or did not converge, "" otherwise */
    /* A short, stable name of a recognised fatal error (VASP "ZBRENT",
     * "BRMIX", "EDDDAV", "ZHEGV", "HERMITIAN", "NBANDS", "PRICEL", "POSMAP",
     * "IBZKPT", ...; GULP "maxcyc", "failed_attempts", ...), for retry rules;
     * "" if none. */
    char signature[32];
    double energy;              /* eV, total, final; NAN if none was found */
    int ionic_steps;            /* optimisation steps the code reports, -1 unknown */
    int has_structure;          /* structure holds the final geometry */
    fuse2_structure structure;
    int has_forces;             /* forces: structure.natoms rows, eV/Å */
    double (*forces)[3];
    int has_stress;             /* stress, eV/Å^3, project sign */
    double stress[3][3];
} fuse2_ext_output;

void fuse2_ext_output_init(fuse2_ext_output *o);
void fuse2_ext_output_free(fuse2_ext_output *o);
/* Back to the initial state (outcome UNPARSABLE, energy NAN, no structure). */
void fuse2_ext_output_reset(fuse2_ext_output *o);
/* Reads a code's output file for parsing into a NUL-terminated string
 * (malloc'ed). NUL bytes are replaced by blanks: a job killed on a parallel
 * file system (Lustre, GPFS) often leaves a zero-filled tail, and the text
 * before it is still worth reading. */
fuse2_status fuse2_ext_read_output(const char *path, char **text);

/* Sets outcome and the reason text (printf format). */
void fuse2_ext_output_fail(fuse2_ext_output *o, fuse2_ext_outcome outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- the driver framework: one run of an external code per structure ---- */

struct fuse2_relax_options;
struct fuse2_relax_result;

/* Settings every external calculator accepts (YAML `calculator:` keys):
 *   command       shell command run in the scratch directory (a template
 *                 per code, e.g. "mpirun -np 4 vasp_std")
 *   scratch       base directory of the per-run directories (default
 *                 $TMPDIR or /tmp, then fuse2-scratch)
 *   keep_scratch  keep the directory after a successful run (failed runs
 *                 always keep theirs, for inspection)
 *   time_limit    wall-clock seconds per run, the process group is killed
 *                 after it (0 = none; the relaxation's own limit also applies)
 *   min_distance  pre-check: fail without running when two atoms are closer
 *                 (Å, default 1.0, FUSE2's dist_cutoff; 0 = off)
 *   isolation     pre-check: fail when an atom has no neighbour within this
 *                 distance (Å, default 0 = off; FUSE2's CHGNet rule is 6)
 *   environment   variables for the program, e.g. {OMP_NUM_THREADS: 1}
 *                 (after the MPI variables are scrubbed) */
typedef struct fuse2_ext_common {
    char *command;
    char *scratch;
    int keep_scratch;
    double time_limit;
    double min_distance;
    double isolation;
    char **environment;         /* "NAME=value" for the child, NULL-terminated */
} fuse2_ext_common;

/* The keys above (NULL-terminated), for a calculator's `keys` table. */
extern const char *const fuse2_ext_common_keys[];
/* Reads the common keys of settings (others are ignored here). */
fuse2_status fuse2_ext_common_parse(const fuse2_settings *settings, const char *default_command,
                                    fuse2_ext_common *out);
void fuse2_ext_common_free(fuse2_ext_common *c);

/* The geometry pre-checks: 0 and a reason if s fails them. */
int fuse2_ext_precheck(const fuse2_structure *s, double min_distance, double isolation, char *reason,
                       int size);

/* What a code's driver provides: input files for one structure and the
 * parser of what the run left. `state` is the calculator's own. */
typedef struct fuse2_ext_driver {
    const char *code;           /* "lammps", "qe", ...: names the scratch directories */
    /* Writes the inputs for relaxing s (single_point: energy only) into dir;
     * opt is NULL for a single point (fuse2_ext_compute). */
    fuse2_status (*write_inputs)(void *state, const char *dir, const fuse2_structure *s,
                                 const struct fuse2_relax_options *opt, int single_point);
    /* Parses dir after the run; input is the structure that was written. */
    fuse2_status (*parse)(void *state, const char *dir, const fuse2_structure *input, fuse2_ext_output *out);
    const char *stdin_file;     /* the run's standard input in dir, NULL: none */
    const char *stdout_file;    /* where its standard output goes (NULL: stdout.txt) */
} fuse2_ext_driver;

/* One run: pre-checks, a fresh scratch directory, inputs, the command
 * (scrubbed environment, time limit, interrupt), the parser, the outcome
 * (a crash or kill overrides what the parser found unless the parser
 * recognised a more specific failure), post-check of the final geometry,
 * clean-up. out receives everything; *workdir (may be NULL) the directory
 * used ("" when the pre-checks failed). Errors only for I/O problems of our
 * own (scratch not writable) and bad arguments: a failed run is an outcome. */
fuse2_status fuse2_ext_run_driver(const fuse2_ext_driver *d, void *state, const fuse2_ext_common *c,
                                  const fuse2_structure *s, const struct fuse2_relax_options *opt,
                                  int single_point, fuse2_ext_output *out, char *workdir, int workdir_size);

/* The calc ops relax() of a driver: runs it and fills the relaxation result
 * (converged -> CONVERGED, not converged -> MAX_STEPS, timed out ->
 * TIMED_OUT, interrupted -> INTERRUPTED, the failure classes -> FAILED with
 * the reason "<class>: <text>"); s becomes the final structure when the run
 * gave one with the same number of atoms. */
fuse2_status fuse2_ext_relax(const fuse2_ext_driver *d, void *state, const fuse2_ext_common *c,
                             fuse2_structure *s, const struct fuse2_relax_options *opt,
                             struct fuse2_relax_result *result);
/* The calc ops compute() of a driver: a single-point run; a failed run is
 * an error (compute has no status), with the outcome in the message. */
fuse2_status fuse2_ext_compute(const fuse2_ext_driver *d, void *state, const fuse2_ext_common *c,
                               const fuse2_structure *s, fuse2_calc_result *result);

/* The result-filling halves of fuse2_ext_relax and fuse2_ext_compute, for
 * drivers that run fuse2_ext_run_driver themselves (a retry with changed
 * inputs, an acceptance rule of their own) and then report like the others.
 * Relax: status, steps, reason "<class>: <text> (kept in <dir>)" unless
 * converged (dir NULL or "": none named), energy, enthalpy at opt->pressure
 * (opt may be NULL: 0), forces, stress, max_force/max_stress; s becomes the
 * final structure when out has one with the same number of atoms.
 * wall_seconds is left to the caller. Compute: a failed outcome is an error
 * naming code, outcome, reason and dir; otherwise energy, forces, stress. */
fuse2_status fuse2_ext_output_to_relax_result(const fuse2_ext_output *out, const char *dir, fuse2_structure *s,
                                              const struct fuse2_relax_options *opt,
                                              struct fuse2_relax_result *result);
fuse2_status fuse2_ext_output_to_calc_result(const char *code, const fuse2_ext_output *out, const char *dir,
                                             const fuse2_structure *s, fuse2_calc_result *result);

#ifdef __cplusplus
}
#endif
#endif
