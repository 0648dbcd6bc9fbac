/* Registration of the built-in calculator: settings text -> options. */
#include <stdlib.h>
#include <string.h>

#include "fuse2/builtin.h"

static const char *const builtin_keys[] = {"library", "c6", "coulomb_constant", "accuracy",
                                           "ewald_alpha", "allow_charged", NULL};

static fuse2_status builtin_create(const fuse2_settings *settings, void **state)
{
    fuse2_builtin_options opt;
    fuse2_builtin_options_default(&opt);
    const char *origin = NULL, *v;
    if ((v = fuse2_settings_get(settings, "c6", &origin))) FUSE2_CALL(fuse2_setting_parse_bool("c6", v, origin, &opt.c6));
    if ((v = fuse2_settings_get(settings, "allow_charged", &origin)))
        FUSE2_CALL(fuse2_setting_parse_bool("allow_charged", v, origin, &opt.allow_charged));
    if ((v = fuse2_settings_get(settings, "coulomb_constant", &origin)))
        FUSE2_CALL(fuse2_setting_parse_double("coulomb_constant", v, origin, &opt.coulomb_constant));
    if ((v = fuse2_settings_get(settings, "accuracy", &origin)))
        FUSE2_CALL(fuse2_setting_parse_double("accuracy", v, origin, &opt.accuracy));
    if ((v = fuse2_settings_get(settings, "ewald_alpha", &origin)))
        FUSE2_CALL(fuse2_setting_parse_double("ewald_alpha", v, origin, &opt.ewald_alpha));
    const char *lib = fuse2_settings_get(settings, "library", &origin);
    if (!lib) return FUSE2_RAISE(FUSE2_ERR_ARG, "the builtin calculator needs a potential 'library'");
    fuse2_potential_set pot;
    fuse2_potential_set_init(&pot);
    fuse2_status st = fuse2_gulp_library_read(lib, &pot);
    if (st == FUSE2_OK) st = fuse2_builtin_create(&pot, &opt, (fuse2_builtin **)state);
    fuse2_potential_set_free(&pot);
    if (st != FUSE2_OK) fuse2_error_push_frame(__FILE__, __LINE__, __func__);
    return st;
}

static void builtin_destroy(void *state) { fuse2_builtin_destroy(state); }

static fuse2_status builtin_compute(void *state, const fuse2_structure *s, fuse2_calc_result *r)
{
    FUSE2_CALL(fuse2_builtin_compute(state, s, r));
    return FUSE2_OK;
}

const fuse2_calc_ops fuse2_builtin_calc_ops = {
    .name = "builtin",
    .description = "pair potentials (buck, lennard, morse) + Ewald Coulomb + optional Ewald C6",
    .keys = builtin_keys,
    .create = builtin_create,
    .destroy = builtin_destroy,
    .compute = builtin_compute,
};
