/* The built-in calculator: pair potentials (Buckingham, Lennard-Jones,
 * Morse) from a GULP library, Ewald-summed Coulomb, optional Ewald-summed C6
 * dispersion with GULP's `c6` meaning. Units: eV, Å, e, eV/Å^3.
 *
 * Energy components (names used by every front end):
 *   short_range      pair terms (with c6: the non-dispersive part only)
 *   coulomb_real     Ewald real-space part incl. self term
 *   coulomb_recip    Ewald reciprocal-space part
 *   coulomb          total Coulomb
 *   dispersion       C6 Ewald sum (real + reciprocal + self), c6 only
 * The real/reciprocal split depends on the Ewald parameter; only totals are
 * comparable with other codes. */
#ifndef FUSE2_BUILTIN_H
#define FUSE2_BUILTIN_H

#include "fuse2/calc.h"
#include "fuse2/potential.h"

#ifdef __cplusplus
extern "C" {
#endif

/* GULP's Coulomb constant (eV Å / e^2); CODATA 2018 gives 14.3996454. */
#define FUSE2_COULOMB_CONSTANT_GULP 14.3997584

typedef struct fuse2_builtin_options {
    int c6;                    /* sum buck C/r^6 terms to infinity (GULP `c6`) */
    double coulomb_constant;   /* eV Å / e^2 */
    double accuracy;           /* Ewald accuracy exponent: error ~ 10^-accuracy (GULP 12) */
    double ewald_alpha;        /* 1/Å; 0 = sqrt(accuracy ln 10) / r_short, so the
                                * real-space Coulomb sum ends at the longest
                                * short-range cut-off (10 Å without any) */
    int allow_charged;         /* add the neutralising background for net charge */
    int no_coulomb;            /* no charges, no Coulomb (GULP `noelectro`, SPP stages):
                                * elements need no species line in the library */
} fuse2_builtin_options;

void fuse2_builtin_options_default(fuse2_builtin_options *opt);

typedef struct fuse2_builtin fuse2_builtin;

/* The potential set is copied. Fails if a term references no charge, etc. */
fuse2_status fuse2_builtin_create(const fuse2_potential_set *potentials,
                                  const fuse2_builtin_options *options, fuse2_builtin **out);
void fuse2_builtin_destroy(fuse2_builtin *b);
/* Energy, forces and stress; every element in s must have a charge in the
 * library unless no_coulomb (elements without pair terms are allowed). */
fuse2_status fuse2_builtin_compute(fuse2_builtin *b, const fuse2_structure *s,
                                   fuse2_calc_result *result);
/* Ewald parameters chosen for s (for diagnostics and tests). */
void fuse2_builtin_ewald_parameters(const fuse2_builtin *b, const fuse2_structure *s,
                                    double *alpha, double *real_cutoff, double *recip_cutoff);
/* How many times the pair (Verlet) list was built: it is reused while atoms
 * and cell move less than its skin allows. For diagnostics and tests. */
int fuse2_builtin_pair_list_builds(const fuse2_builtin *b);

#ifdef __cplusplus
}
#endif
#endif
