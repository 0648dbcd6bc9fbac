/* Campaign configuration: the YAML input of a fuse2-mpi search.
 *
 * Every parameter of FUSE2's run_fuse (fuse2-algorithm.md §1) keeps FUSE2's
 * name and default; fuse2-mpi additions (§17) and the calculator/relaxation
 * sections are described with every key in docs/campaign-config.md.
 * Units: Å, eV, eV/atom, amu/Å^3; the YAML `relax: pressure` is in GPa and
 * stored in eV/Å^3 in `relax.pressure`.
 *
 * Relative paths in the file (calculator `library`, `output_dir`,
 * `path_to_structures`) are resolved against the directory of the YAML file
 * and stored absolute; `campaign_file` and `stop_file` are relative to
 * `output_dir`. */
#ifndef FUSE2_CONFIG_H
#define FUSE2_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "fuse2/calc.h"
#include "fuse2/composition.h"
#include "fuse2/error.h"
#include "fuse2/relax.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { FUSE2_NUM_MOVES = 14 };

typedef enum fuse2_gn_search { FUSE2_GN_RAND = 0, FUSE2_GN_TPE, FUSE2_GN_PSO } fuse2_gn_search;
typedef enum fuse2_gn_rank { FUSE2_GN_RANK_NONE = 0, FUSE2_GN_RANK_OPTI, FUSE2_GN_RANK_SINGLE } fuse2_gn_rank;

typedef struct fuse2_config {
    char *source;              /* the YAML file as given to fuse2_config_load */

    /* ---- §1.1 system, generator, checks ---- */
    fuse2_composition composition; /* one formula unit; element order = FU order */
    int max_atoms;             /* atom limit of the search */
    int imax_atoms;            /* atom limit of generated initial-population members */
    int max_ax;                /* largest sub-module count per axis (shape tables) */
    double ap_scale;           /* multiplies ap (1 = none) */
    double fixed_ap;           /* Å; replaces ap when > 0 (0 = not given) */
    int vac_ratio;
    double density_cutoff;     /* reject density < density_cutoff * rho_ideal */
    int check_distances;
    double dist_cutoff;        /* Å */
    int check_bonds;
    double btol;               /* max fraction of atoms with wrong coordination */
    double ratt_dist;          /* Å, Gaussian sigma of the pre-relaxation rattle */
    int use_spglib;

    /* ---- §1.2 search ---- */
    int initial_gen;
    int iterations;            /* total relaxation budget of the campaign (§17.4), required, >= 1 */
    int search;                /* 1 = basin hopping (the only one) */
    int search_gen_bh;
    double T;                  /* eV/atom, Metropolis temperature T0 */
    int melt_threshold;
    int rmax;
    double e_prec;             /* eV/atom */
    int n_moves[FUSE2_NUM_MOVES]; /* weight of move k+1, normal */
    int r_moves[FUSE2_NUM_MOVES]; /* weight of move k+1, melted */
    double grid_spacing;       /* Å */
    double exclusion;          /* Å */
    int revert_atoms;          /* -1 = None (FUSE2's default), 0 = False, 1 = True */

    /* ---- §1.3 ML pool ---- */
    int read_existing_structures;  /* FUSE2: read_exisiting_structures (sic) */
    char *path_to_structures;      /* absolute, "" if not given */
    int pull_spp_rank, pull_random;
    int generate_gn_boss_structures;
    char *gn_boss_command, *gn_template_path;
    fuse2_gn_search gn_search;
    int gn_max_step;
    int gn_zn_range[2];            /* first and last Z, inclusive */
    fuse2_gn_rank rank_gn_structures;
    int clear_previous_gn_structures;
    int generate_structures_only;

    /* ---- §1.4 restart and output ---- */
    int restart;
    int write_all_structures;
    char *output_dir;          /* absolute */
    char *campaign_file;       /* relative to output_dir unless absolute */
    char *stop_file;           /* relative to output_dir unless absolute */

    /* ---- §17 fuse2-mpi ---- */
    int walkers;
    double checkpoint_interval; /* s between commits of the campaign file */
    int progress_steps;        /* a progress line every this many decided steps; 0 = every 10 s */
    uint64_t seed;             /* required */
    double symprec;            /* Å */
    double submodule_shrink;   /* (0, 1] */
    int has_oxidation_states;
    int oxidation_state[FUSE2_COMPOSITION_MAX_ELEMENTS]; /* per composition element */

    /* ---- calculator and relaxation ---- */
    char *calc_name;           /* registered calculator, e.g. "builtin" */
    int calc_line;             /* line of its `name:` in the YAML file */
    fuse2_settings calc_settings; /* every other key of `calculator:` as text */
    fuse2_relax_options relax;
    double pressure_gpa;       /* relax.pressure as written in the file */

    /* ---- derived (§1.1, §3.1, §17.1) ---- */
    int apfu;                  /* atoms per formula unit */
    int *fu_species;           /* apfu atomic numbers: symbols repeated by count, key order */
    int max_fus;               /* floor(max_atoms / apfu) >= 1 */
    int imax_fus;              /* floor(imax_atoms / apfu), 0 -> 1 */
    double ap;                 /* sub-module edge (Å), rounded to 1e-4 */
    double rho_ideal;          /* amu/Å^3 */
} fuse2_config;

/* Defaults of every optional key; required ones zero/empty. */
fuse2_status fuse2_config_init(fuse2_config *cfg);
/* Reads and validates a campaign YAML file. Every problem is reported as
 * "file:line: message"; several problems are joined by newlines into one
 * error message. On failure cfg is left freed. */
fuse2_status fuse2_config_load(const char *path, fuse2_config *cfg);
void fuse2_config_free(fuse2_config *cfg);
/* Makes the campaign's calculator and checks it against the composition:
 * values, files, the stages of a chain, an element without a
 * pseudopotential, POTCAR, charge or pair table. Nothing is run. Errors
 * are "file:line: calculator 'name': ...". The loader checks only the key
 * names, so that every rank does not make a calculator it may not use:
 * `fuse2 check` and the workers (fuse2_worker_create) call this. */
fuse2_status fuse2_config_calculator_create(const fuse2_config *cfg, fuse2_calc *calc);
/* The fully resolved configuration (defaults filled in, derived values as
 * comments) as YAML that fuse2_config_load reads back to the same values. */
fuse2_status fuse2_config_write_yaml(FILE *out, const fuse2_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
