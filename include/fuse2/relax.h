/* Variable-cell relaxation with any calculator. Units: eV, Å, eV/Å^3, s.
 *
 * Variables are atom positions in the reference frame of the starting cell
 * and the deformation gradient F of the cell (L = L0 F; ASE's
 * UnitCellFilter), so positions and cell relax together; with fixed_cell only
 * positions move. Optimisers: L-BFGS with a backtracking line search, FIRE
 * (Bitzek et al., PRL 97, 170201 (2006)), or FIRE until the forces are
 * moderate followed by L-BFGS. The default was chosen by measurement
 * (docs/builtin-calculator.md). */
#ifndef FUSE2_RELAX_H
#define FUSE2_RELAX_H

#include "fuse2/calc.h"
#include "fuse2/error.h"
#include "fuse2/structure.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fuse2_optimizer {
    FUSE2_OPTIMIZER_LBFGS = 0,
    FUSE2_OPTIMIZER_FIRE,
    FUSE2_OPTIMIZER_FIRE_LBFGS
} fuse2_optimizer;

typedef enum fuse2_relax_status {
    FUSE2_RELAX_CONVERGED = 0,
    FUSE2_RELAX_MAX_STEPS,     /* step limit reached before convergence */
    FUSE2_RELAX_FAILED,        /* collapse, non-finite energy, calculator error */
    FUSE2_RELAX_TIMED_OUT,
    FUSE2_RELAX_INTERRUPTED    /* opt->interrupt asked to stop (shutdown): drop the result */
} fuse2_relax_status;

typedef struct fuse2_relax_options {
    fuse2_optimizer optimizer;
    double fmax;              /* converged when every |F_i| <= fmax (eV/Å) */
    double smax;              /* ... and every |sigma_ab + P delta_ab| <= smax (eV/Å^3) */
    int max_steps;            /* optimiser iterations */
    int fixed_cell;           /* relax positions only */
    double pressure;          /* external pressure (eV/Å^3); enthalpy E + PV is minimised */
    double max_step;          /* largest move of any atom per step (Å) */
    double hard_core_fraction;/* model-independent safety net: fail when
                               * r_ij < fraction * (rcov_i + rcov_j) (default
                               * 0.25; 0 = off). Calculators report collapses
                               * specific to their model (result.unphysical). */
    int lbfgs_memory;
    double fire_switch_fmax;  /* FIRE_LBFGS: switch to L-BFGS below this max force */
    double time_limit;        /* seconds of wall time, 0 = none */
    /* Polled between iterations (and by calculators that relax by
     * themselves); nonzero stops with FUSE2_RELAX_INTERRUPTED. NULL = never. */
    int (*interrupt)(void *user);
    void *interrupt_user;
} fuse2_relax_options;

/* One stage of a tiered relaxation (the "chain" calculator): what it
 * reported. A plain relaxation has no stages. */
enum { FUSE2_MAX_STAGES = 8, FUSE2_STAGE_REASON_LEN = 128 };
typedef struct fuse2_stage_result {
    char calculator[32];      /* registered name of the stage's calculator */
    fuse2_relax_status status;
    double energy;            /* eV, at the end of the stage (NAN if none) */
    int steps;
    double wall_seconds;
    char reason[FUSE2_STAGE_REASON_LEN];
} fuse2_stage_result;

typedef struct fuse2_relax_result {
    fuse2_relax_status status;
    char reason[FUSE2_REASON_LEN];
    int steps;                /* optimiser iterations taken */
    int evaluations;          /* energy+force evaluations */
    double energy;            /* eV, of the returned structure */
    double energy_per_atom;
    double enthalpy;          /* E + PV, eV */
    double max_force;         /* eV/Å at the end */
    double max_stress;        /* eV/Å^3 at the end (incl. pressure) */
    double wall_seconds;
    fuse2_calc_result final;  /* energy, forces, stress, components at the end */
    int nstages;              /* tiered relaxations: the stages that ran, in order */
    fuse2_stage_result stages[FUSE2_MAX_STAGES];
} fuse2_relax_result;

void fuse2_relax_options_default(fuse2_relax_options *opt);
/* The convergence measures: the largest |F_i| of n forces (eV/Å) and the
 * largest |sigma_ab + P delta_ab| (eV/Å^3) at external pressure P. */
double fuse2_max_force(const double (*forces)[3], int n);
double fuse2_max_stress(const double stress[3][3], double pressure);
void fuse2_relax_result_init(fuse2_relax_result *r);
void fuse2_relax_result_free(fuse2_relax_result *r);
const char *fuse2_relax_status_name(fuse2_relax_status status);
const char *fuse2_optimizer_name(fuse2_optimizer opt);
/* "lbfgs", "fire", "fire+lbfgs"; error for others. */
fuse2_status fuse2_optimizer_parse(const char *text, fuse2_optimizer *out);

/* Relaxes s in place. A structure that cannot be relaxed (collapse, NaN,
 * calculator failure) is not an error of this function: it returns FUSE2_OK
 * with result->status = FUSE2_RELAX_FAILED and the reason, and s holds the
 * last good geometry. Errors are returned only for invalid arguments. */
fuse2_status fuse2_relax(fuse2_calc *calc, fuse2_structure *s, const fuse2_relax_options *opt,
                         fuse2_relax_result *result);

#ifdef __cplusplus
}
#endif
#endif
