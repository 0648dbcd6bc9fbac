/* Calculator interface and registry. Units: eV, Å, eV/Å^3.
 *
 * A calculator is a table of function pointers (LAMMPS "styles"): adding a
 * calculator means writing one file with a fuse2_calc_ops table and one line
 * in the registry (src/calc/registry.c); no caller learns its name.
 *
 * Stress is sigma = (1/V) dE/d(epsilon) for the homogeneous deformation
 * L -> L (I + epsilon) with lattice vectors as rows (the ASE sign: negative
 * for a compressed cell). */
#ifndef FUSE2_CALC_H
#define FUSE2_CALC_H

#include "fuse2/error.h"
#include "fuse2/structure.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { FUSE2_MAX_COMPONENTS = 12, FUSE2_COMPONENT_NAME = 32, FUSE2_REASON_LEN = 256 };

typedef struct fuse2_calc_result {
    int natoms;
    double energy;               /* eV, total */
    double energy_per_atom;      /* eV/atom */
    double (*forces)[3];         /* eV/Å, natoms rows; owned by the result */
    double stress[3][3];         /* eV/Å^3 */
    int ncomponents;             /* named parts of the energy, eV */
    char component_name[FUSE2_MAX_COMPONENTS][FUSE2_COMPONENT_NAME];
    double component[FUSE2_MAX_COMPONENTS];
    /* Non-empty when the geometry lies outside the model's valid range (e.g.
     * two ions past the barrier of a Buckingham collapse): the numbers are
     * computed but meaningless, and a relaxation must stop as failed. */
    char unphysical[FUSE2_REASON_LEN];
    /* Request, set by the caller before computing: skip the energy breakdown
     * (components) when only totals, forces and stress are needed, as in
     * the steps of a relaxation. Calculators may ignore it. */
    int skip_components;
    int capacity;
} fuse2_calc_result;

void fuse2_calc_result_init(fuse2_calc_result *r);
void fuse2_calc_result_free(fuse2_calc_result *r);
/* Sizes the force array and zeroes energy, forces, stress and components. */
fuse2_status fuse2_calc_result_reset(fuse2_calc_result *r, int natoms);
void fuse2_calc_result_add_component(fuse2_calc_result *r, const char *name, double value_ev);
/* Value of a named component; NAN if absent. */
double fuse2_calc_result_component(const fuse2_calc_result *r, const char *name);

/* Settings as key/value text (from YAML or the command line); `origin`
 * ("campaign.yaml:14" or "--library") is used in error messages. */
typedef struct fuse2_setting {
    const char *key;
    const char *value;
    const char *origin;
} fuse2_setting;

typedef struct fuse2_settings {
    int count;
    const fuse2_setting *items;
} fuse2_settings;

/* Nested YAML under `calculator:` arrives flattened with dotted keys:
 * `stages: [{name: builtin}]` gives "stages.0.name", `pseudopotentials:
 * {Si: Si.UPF}` gives "pseudopotentials.Si". The settings whose key starts
 * with prefix (e.g. "stages.0."), with the prefix removed; out->items is
 * malloc'ed (free it), keys and values point into s. */
fuse2_status fuse2_settings_subset(const fuse2_settings *s, const char *prefix, fuse2_settings *out);

/* Value for key or NULL; *origin set when non-NULL. */
const char *fuse2_settings_get(const fuse2_settings *s, const char *key, const char **origin);
/* A setting's text as a finite number / a boolean (true/false, yes/no,
 * on/off, 1/0); errors say "<origin>: '<key>' must be ...". */
fuse2_status fuse2_setting_parse_double(const char *key, const char *text, const char *origin, double *out);
fuse2_status fuse2_setting_parse_bool(const char *key, const char *text, const char *origin, int *out);

typedef struct fuse2_calc fuse2_calc;
struct fuse2_relax_options;
struct fuse2_relax_result;

typedef struct fuse2_calc_ops {
    const char *name;
    const char *description;
    /* Keys this calculator accepts (NULL-terminated); others are errors.
     * common_keys (may be NULL): keys a family of calculators shares, e.g.
     * fuse2_ext_common_keys of every external code. */
    const char *const *keys;
    const char *const *common_keys;
    fuse2_status (*create)(const fuse2_settings *settings, void **state);
    void (*destroy)(void *state);
    /* Energy, forces and stress of s. */
    fuse2_status (*compute)(void *state, const fuse2_structure *s, fuse2_calc_result *result);
    /* Optional: relaxes s in place by itself (external codes that run their
     * own optimiser, synthetic calculators), filling result as fuse2_relax
     * documents (fuse2/relax.h) and honouring opt->time_limit and
     * opt->interrupt. NULL: fuse2_relax drives compute() with its own
     * optimisers. */
    fuse2_status (*relax)(void *state, fuse2_structure *s, const struct fuse2_relax_options *opt,
                          struct fuse2_relax_result *result);
    /* Optional: checks, before any structure exists, that the settings
     * cover every element of z[0..n) (atomic numbers, the campaign's
     * composition): pseudopotentials, POTCARs, charges, pair tables, ...
     * Errors name the element and where the setting came from (its
     * origin). Nothing is run. NULL: nothing to check. */
    fuse2_status (*check_elements)(void *state, const int *z, int n);
} fuse2_calc_ops;

struct fuse2_calc {
    const fuse2_calc_ops *ops;
    void *state;
};

/* 1 if ops accepts key: listed exactly, or under a listed "prefix.*". */
int fuse2_calc_key_known(const fuse2_calc_ops *ops, const char *key);

/* Registry lookup by name ("builtin"); NULL if unknown. */
const fuse2_calc_ops *fuse2_calc_find(const char *name);
/* NULL-terminated list of registered calculators. */
const fuse2_calc_ops *const *fuse2_calc_list(void);

/* Creates calculator `name` with settings (unknown keys are errors). */
fuse2_status fuse2_calc_create(const char *name, const fuse2_settings *settings, fuse2_calc *calc);
void fuse2_calc_destroy(fuse2_calc *calc);
fuse2_status fuse2_calc_compute(fuse2_calc *calc, const fuse2_structure *s, fuse2_calc_result *r);
/* ops->check_elements for the elements z[0..n) (atomic numbers); FUSE2_OK
 * when the calculator has no such hook. Config loading calls it with the
 * composition, so `fuse2 check` reports what would otherwise fail every
 * structure. */
fuse2_status fuse2_calc_check_elements(fuse2_calc *calc, const int *z, int n);

#ifdef __cplusplus
}
#endif
#endif
