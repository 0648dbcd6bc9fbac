/* Registration of the built-in calculator: settings text -> options.
 *
 * SPP mode (`spp_path: DIR`, docs/builtin-calculator.md): the pair tables of
 * FUSE2's statistical proxy potentials are read from DIR/A-B/A-B.POT. The
 * calculator is created once per worker (and once by config validation)
 * before any structure is known, so the tables are loaded lazily: at each
 * compute, the pairs of elements not met before are read and the built-in
 * calculator is rebuilt with them (in a campaign that happens once). A
 * missing or malformed table fails that compute with a message naming the
 * files tried, which a relaxation reports as status failed with a reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse2/builtin.h"
#include "fuse2/elements.h"
#include "fuse2/spp.h"

static const char *const builtin_keys[] = {"library",    "c6",         "coulomb_constant", "accuracy",
                                           "ewald_alpha", "allow_charged", "coulomb",       "spp_path",
                                           "spp_cutoff", "spp_taper",  "spp_legacy_duplicates", NULL};

typedef struct builtin_state {
    fuse2_builtin *calc;
    fuse2_builtin_options opt;
    fuse2_potential_set pot;         /* the library, then the SPP tables loaded so far */
    char *spp_path;                  /* NULL: no SPP mode */
    char *spp_origin;                /* where spp_path was set */
    char *lib_origin;                /* where library was set */
    int spp_duplicates;              /* hetero pairs twice, as FUSE2's lib.lib */
    unsigned char loaded[FUSE2_MAX_Z + 1]; /* elements whose SPP pairs are in pot */
} builtin_state;

static void builtin_destroy(void *state)
{
    builtin_state *b = state;
    if (!b) return;
    fuse2_builtin_destroy(b->calc);
    fuse2_potential_set_free(&b->pot);
    free(b->spp_path);
    free(b->spp_origin);
    free(b->lib_origin);
    free(b);
}

static fuse2_status parse_spp(const fuse2_settings *settings, builtin_state *b, int *coulomb_default)
{
    const char *origin = NULL;
    double cutoff, taper;
    FUSE2_CALL(fuse2_spp_settings_parse(settings, &cutoff, &taper, &b->spp_duplicates));
    const char *path = fuse2_settings_get(settings, "spp_path", &origin);
    if (!path) return FUSE2_OK;
    const char *path_origin = origin ? origin : "settings";
    struct stat sb;
    if (!*path || stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode) || access(path, R_OK | X_OK) != 0)
        return FUSE2_RAISE(FUSE2_ERR_IO, "%s: spp_path '%s' is not a readable directory (FUSE2's SPP library: "
                           "DIR/A-B/A-B.POT per element pair)", path_origin, path);
    b->spp_path = strdup(path);
    b->spp_origin = strdup(path_origin);
    if (!b->spp_path || !b->spp_origin) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "builtin settings");
    /* GULP `cutp R t` (replaces a cutp of the library, as a later cutp does) */
    b->pot.has_cutp = 1;
    b->pot.cutp_radius = cutoff;
    b->pot.cutp_taper = taper > 1e-2 ? taper : 0.0;
    *coulomb_default = 0; /* FUSE2 runs SPPs with noelectro */
    return FUSE2_OK;
}

static fuse2_status builtin_create(const fuse2_settings *settings, void **state)
{
    builtin_state *b = calloc(1, sizeof *b);
    if (!b) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "builtin calculator");
    fuse2_potential_set_init(&b->pot);
    fuse2_builtin_options_default(&b->opt);
    fuse2_builtin_options *opt = &b->opt;
    const char *origin = NULL, *v;
    fuse2_status st = FUSE2_OK;
    int coulomb = 1;
#define TRY(call) FUSE2_CALL_GOTO(st, call, fail)
    if ((v = fuse2_settings_get(settings, "c6", &origin))) TRY(fuse2_setting_parse_bool("c6", v, origin, &opt->c6));
    if ((v = fuse2_settings_get(settings, "allow_charged", &origin)))
        TRY(fuse2_setting_parse_bool("allow_charged", v, origin, &opt->allow_charged));
    if ((v = fuse2_settings_get(settings, "coulomb_constant", &origin)))
        TRY(fuse2_setting_parse_double("coulomb_constant", v, origin, &opt->coulomb_constant));
    if ((v = fuse2_settings_get(settings, "accuracy", &origin)))
        TRY(fuse2_setting_parse_double("accuracy", v, origin, &opt->accuracy));
    if ((v = fuse2_settings_get(settings, "ewald_alpha", &origin)))
        TRY(fuse2_setting_parse_double("ewald_alpha", v, origin, &opt->ewald_alpha));
    TRY(parse_spp(settings, b, &coulomb));
    if ((v = fuse2_settings_get(settings, "coulomb", &origin)))
        TRY(fuse2_setting_parse_bool("coulomb", v, origin, &coulomb));
    opt->no_coulomb = !coulomb;
    const char *lib = fuse2_settings_get(settings, "library", &origin);
    if (!lib && !b->spp_path)
        FUSE2_RAISE_GOTO(st, fail, FUSE2_ERR_ARG,
                         "the builtin calculator needs a potential 'library' (or an SPP library 'spp_path')");
    if (lib) {
        b->lib_origin = strdup(origin ? origin : "settings");
        if (!b->lib_origin) FUSE2_RAISE_GOTO(st, fail, FUSE2_ERR_NOMEM, "builtin settings");
        /* the library's own cutp stays unless spp_path set one */
        int has_cutp = b->pot.has_cutp;
        double radius = b->pot.cutp_radius, taper = b->pot.cutp_taper;
        TRY(fuse2_gulp_library_read(lib, &b->pot));
        if (has_cutp) {
            b->pot.has_cutp = 1;
            b->pot.cutp_radius = radius;
            b->pot.cutp_taper = taper;
        }
    } else {
        snprintf(b->pot.source, sizeof b->pot.source, "%s", b->spp_path);
    }
    TRY(fuse2_builtin_create(&b->pot, opt, &b->calc));
#undef TRY
    *state = b;
    return FUSE2_OK;
fail:
    builtin_destroy(b);
    fuse2_error_push_frame(__FILE__, __LINE__, __func__);
    return st;
}

/* Reads the SPP tables of every pair that involves an element of s not met
 * before, then rebuilds the calculator. On failure nothing changes. */
static fuse2_status load_spp_pairs(builtin_state *b, const fuse2_structure *s)
{
    int fresh[FUSE2_MAX_Z + 1], nfresh = 0;
    for (int i = 0; i < s->natoms; i++) {
        int z = s->species[i];
        if (z < 1 || z > FUSE2_MAX_Z || b->loaded[z]) continue;
        int seen = 0;
        for (int k = 0; k < nfresh; k++) seen |= fresh[k] == z;
        if (!seen) fresh[nfresh++] = z;
    }
    if (!nfresh) return FUSE2_OK;
    const int nterms_before = b->pot.nterms;
    unsigned char loaded_before[FUSE2_MAX_Z + 1];
    memcpy(loaded_before, b->loaded, sizeof loaded_before);
    fuse2_status st = FUSE2_OK;
    for (int k = 0; k < nfresh && st == FUSE2_OK; k++) {
        int z = fresh[k];
        b->loaded[z] = 1;
        for (int y = 1; y <= FUSE2_MAX_Z && st == FUSE2_OK; y++) {
            if (!b->loaded[y]) continue;
            st = fuse2_spp_read_pair(b->spp_path, y, z, &b->pot);
            /* FUSE2's lib.lib holds every hetero-pair table twice (GULP adds them) */
            if (st == FUSE2_OK && y != z && b->spp_duplicates) st = fuse2_spp_read_pair(b->spp_path, y, z, &b->pot);
        }
    }
    fuse2_builtin *rebuilt = NULL;
    if (st == FUSE2_OK) st = fuse2_builtin_create(&b->pot, &b->opt, &rebuilt);
    if (st != FUSE2_OK) {
        for (int t = nterms_before; t < b->pot.nterms; t++) fuse2_spline_table_free(b->pot.terms[t].table);
        b->pot.nterms = nterms_before;
        memcpy(b->loaded, loaded_before, sizeof loaded_before);
        fuse2_error_push_frame(__FILE__, __LINE__, __func__);
        return st;
    }
    fuse2_builtin_destroy(b->calc);
    b->calc = rebuilt;
    return FUSE2_OK;
}

static fuse2_status builtin_compute(void *state, const fuse2_structure *s, fuse2_calc_result *r)
{
    builtin_state *b = state;
    if (b->spp_path) FUSE2_CALL(load_spp_pairs(b, s));
    FUSE2_CALL(fuse2_builtin_compute(b->calc, s, r));
    return FUSE2_OK;
}

/* Before any structure: with Coulomb on, every element needs a charge in
 * the library (`species`); with spp_path, every pair of elements (A-A
 * included) needs its table, which is read here once to check it. */
static fuse2_status builtin_check_elements(void *state, const int *z, int n)
{
    builtin_state *b = state;
    for (int i = 0; i < n; i++) {
        const fuse2_element *el = fuse2_element_by_z(z[i]);
        if (!el) return FUSE2_RAISE(FUSE2_ERR_ARG, "builtin: unknown atomic number %d", z[i]);
        if (b->opt.no_coulomb) continue;
        int found = 0;
        fuse2_potential_set_charge(&b->pot, z[i], &found);
        if (!found)
            return FUSE2_RAISE(FUSE2_ERR_ARG,
                               "%s: element %s of the composition has no charge in the potential library %s "
                               "(add it to the library's species, or set coulomb: false)",
                               b->lib_origin ? b->lib_origin : "settings", el->symbol,
                               b->pot.source[0] ? b->pot.source : "(built in)");
    }
    if (!b->spp_path) return FUSE2_OK;
    fuse2_status st = FUSE2_OK;
    for (int i = 0; i < n && st == FUSE2_OK; i++)
        for (int j = i; j < n && st == FUSE2_OK; j++) {
            fuse2_potential_set scratch;
            fuse2_potential_set_init(&scratch);
            st = fuse2_spp_read_pair(b->spp_path, z[i], z[j], &scratch);
            fuse2_potential_set_free(&scratch);
        }
    if (st != FUSE2_OK) {
        fuse2_error_prefix("%s: spp_path: ", b->spp_origin ? b->spp_origin : "settings");
        fuse2_error_push_frame(__FILE__, __LINE__, __func__);
        return st;
    }
    return FUSE2_OK;
}

const fuse2_calc_ops fuse2_builtin_calc_ops = {
    .name = "builtin",
    .description = "pair potentials (buck, lennard, morse, spline/SPP tables) + Ewald Coulomb + optional Ewald C6",
    .keys = builtin_keys,
    .create = builtin_create,
    .destroy = builtin_destroy,
    .compute = builtin_compute,
    .check_elements = builtin_check_elements,
};
