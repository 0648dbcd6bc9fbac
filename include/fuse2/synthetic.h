/* Synthetic calculator "synthetic": a relaxation that costs a configurable
 * amount of wall time, for measuring the MPI controller without physics
 * (benchmarks/scaling). Units: eV, Å, eV/Å^3, s.
 *
 * Energy: a short-ranged Morse pair potential with analytic forces and
 * stress, so `fuse2 energy` and the search see real numbers for the
 * structure:
 *   phi(r) = D [exp(-2a(r - r0)) - 2 exp(-a(r - r0))],  D = 0.25 eV, a = 1.6/Å,
 *   r0 = rcov_i + rcov_j (Cordero covalent radii, fuse2/elements.h),
 * shifted so that energy and force go to zero at rc = r0 + 2.5 Å
 * (phi(r) - phi(rc) - (r - rc) phi'(rc)). Morse stays finite at r = 0, so
 * no geometry is unphysical.
 *
 * Relaxation (the calculator's own relax op): waits for a cost drawn from
 * the configured distribution, then returns the structure unchanged with
 * its model energy and status "converged" (0 optimiser steps, 1
 * evaluation). The cost is a function of the structure and cost_seed only:
 * a Philox stream keyed by a hash of the structure, so the same structure
 * costs the same on any rank and in any run. Of the relaxation options only
 * pressure (enthalpy, max_stress), time_limit (status timed_out after
 * time_limit s) and interrupt (polled every <= 10 ms; status interrupted)
 * are used; fmax, smax, optimiser and hard_core_fraction are not.
 *
 * Settings (campaign YAML `calculator:` keys):
 *   cost_distribution  fixed | uniform | exponential | lognormal (default fixed)
 *   cost_mean          mean cost in s, >= 0 (default 1)
 *   cost_spread        uniform: half-width (<= cost_mean); lognormal: sigma
 *                      of ln(cost), the median being mean exp(-sigma^2/2);
 *                      not allowed for fixed/exponential
 *   cost_seed          integer >= 0 (default 1)
 *   busy               false (default): sleep in slices of <= 10 ms, so
 *                      oversubscribed ranks measure the controller, not
 *                      core contention; true: burn CPU for the cost. */
#ifndef FUSE2_SYNTHETIC_H
#define FUSE2_SYNTHETIC_H

#include <stdint.h>

#include "fuse2/calc.h"
#include "fuse2/error.h"
#include "fuse2/structure.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fuse2_cost_distribution {
    FUSE2_COST_FIXED = 0,
    FUSE2_COST_UNIFORM,
    FUSE2_COST_EXPONENTIAL,
    FUSE2_COST_LOGNORMAL
} fuse2_cost_distribution;

typedef struct fuse2_cost_model {
    fuse2_cost_distribution distribution;
    double mean;      /* s */
    double spread;    /* s (uniform half-width) or sigma of ln(cost) (lognormal) */
    uint64_t seed;
} fuse2_cost_model;

/* rng purpose id of the cost stream (fuse2/rng.h). */
enum { FUSE2_RNG_PURPOSE_SYNTHETIC_COST = 0x5901 };

/* Hash of species, lattice (rounded to 1e-6 Å) and fractional coordinates
 * (wrapped into [0, 1), rounded to 2^-32): equal for bitwise-equal
 * structures and for the same crystal written with coordinates differing by
 * lattice translations. */
uint64_t fuse2_synthetic_structure_hash(const fuse2_structure *s);

/* The cost (s, >= 0) the model draws for a structure hash: always the same
 * for the same (model, hash). */
double fuse2_cost_model_draw(const fuse2_cost_model *m, uint64_t structure_hash);

/* The cost model of a created "synthetic" calculator (calc->state); error
 * for any other calculator. */
fuse2_status fuse2_synthetic_cost_model(const fuse2_calc *calc, fuse2_cost_model *out);

#ifdef __cplusplus
}
#endif
#endif
