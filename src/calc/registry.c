/* The calculator table. Adding a calculator: one ops table in its own file
 * and one line here. */
#include "fuse2/calc.h"

#include <string.h>

extern const fuse2_calc_ops fuse2_builtin_calc_ops;
extern const fuse2_calc_ops fuse2_synthetic_calc_ops;
extern const fuse2_calc_ops fuse2_qe_calc_ops;
extern const fuse2_calc_ops fuse2_chain_calc_ops;
extern const fuse2_calc_ops fuse2_lammps_calc_ops;
extern const fuse2_calc_ops fuse2_gulp_calc_ops;
extern const fuse2_calc_ops fuse2_vasp_calc_ops;

static const fuse2_calc_ops *const registry[] = {
    &fuse2_builtin_calc_ops,
    &fuse2_synthetic_calc_ops,
    &fuse2_qe_calc_ops,
    &fuse2_chain_calc_ops,
    &fuse2_lammps_calc_ops,
    &fuse2_gulp_calc_ops,
    &fuse2_vasp_calc_ops,
    NULL,
};

const fuse2_calc_ops *fuse2_calc_find(const char *name)
{
    for (int i = 0; registry[i]; i++)
        if (strcmp(registry[i]->name, name) == 0) return registry[i];
    return NULL;
}

const fuse2_calc_ops *const *fuse2_calc_list(void) { return registry; }
