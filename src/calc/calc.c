/* Calculator results, settings and the registry front end. */
#include "fuse2/calc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void fuse2_calc_result_init(fuse2_calc_result *r) { memset(r, 0, sizeof *r); }

void fuse2_calc_result_free(fuse2_calc_result *r)
{
    free(r->forces);
    memset(r, 0, sizeof *r);
}

fuse2_status fuse2_calc_result_reset(fuse2_calc_result *r, int natoms)
{
    if (natoms > r->capacity) {
        double(*f)[3] = realloc(r->forces, (size_t)natoms * sizeof *f);
        if (!f) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate forces for %d atoms", natoms);
        r->forces = f;
        r->capacity = natoms;
    }
    r->natoms = natoms;
    r->energy = r->energy_per_atom = 0;
    if (natoms) memset(r->forces, 0, (size_t)natoms * sizeof *r->forces);
    memset(r->stress, 0, sizeof r->stress);
    r->ncomponents = 0;
    r->unphysical[0] = '\0';
    return FUSE2_OK;
}

void fuse2_calc_result_add_component(fuse2_calc_result *r, const char *name, double value_ev)
{
    for (int i = 0; i < r->ncomponents; i++)
        if (strcmp(r->component_name[i], name) == 0) {
            r->component[i] = value_ev;
            return;
        }
    if (r->ncomponents == FUSE2_MAX_COMPONENTS) return;
    snprintf(r->component_name[r->ncomponents], FUSE2_COMPONENT_NAME, "%s", name);
    r->component[r->ncomponents++] = value_ev;
}

double fuse2_calc_result_component(const fuse2_calc_result *r, const char *name)
{
    for (int i = 0; i < r->ncomponents; i++)
        if (strcmp(r->component_name[i], name) == 0) return r->component[i];
    return NAN;
}

const char *fuse2_settings_get(const fuse2_settings *s, const char *key, const char **origin)
{
    if (!s) return NULL;
    /* the last occurrence wins, as for repeated command-line options */
    for (int i = s->count - 1; i >= 0; i--)
        if (strcmp(s->items[i].key, key) == 0) {
            if (origin) *origin = s->items[i].origin;
            return s->items[i].value;
        }
    return NULL;
}

fuse2_status fuse2_setting_parse_double(const char *key, const char *text, const char *origin, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (end == text || *end || errno || !isfinite(v))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: '%s' must be a number (got '%s')", origin ? origin : "settings",
                           key, text);
    *out = v;
    return FUSE2_OK;
}

fuse2_status fuse2_setting_parse_bool(const char *key, const char *text, const char *origin, int *out)
{
    if (!strcasecmp(text, "true") || !strcasecmp(text, "yes") || !strcmp(text, "1") || !strcasecmp(text, "on"))
        *out = 1;
    else if (!strcasecmp(text, "false") || !strcasecmp(text, "no") || !strcmp(text, "0") ||
             !strcasecmp(text, "off"))
        *out = 0;
    else
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: '%s' must be true or false (got '%s')",
                           origin ? origin : "settings", key, text);
    return FUSE2_OK;
}

static int key_in(const char *const *keys, const char *key)
{
    for (const char *const *k = keys; k && *k; k++) {
        size_t n = strlen(*k);
        if (strcmp(*k, key) == 0) return 1;
        if (n >= 2 && !strcmp(*k + n - 2, ".*") && !strncmp(*k, key, n - 1) && key[n - 1]) return 1;
    }
    return 0;
}

int fuse2_calc_key_known(const fuse2_calc_ops *ops, const char *key)
{
    return key_in(ops->keys, key) || key_in(ops->common_keys, key);
}

fuse2_status fuse2_settings_subset(const fuse2_settings *s, const char *prefix, fuse2_settings *out)
{
    memset(out, 0, sizeof *out);
    size_t n = strlen(prefix);
    int count = 0;
    for (int i = 0; s && i < s->count; i++) count += !strncmp(s->items[i].key, prefix, n);
    fuse2_setting *items = calloc((size_t)(count ? count : 1), sizeof *items);
    if (!items) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "settings under '%s'", prefix);
    int k = 0;
    for (int i = 0; s && i < s->count; i++)
        if (!strncmp(s->items[i].key, prefix, n)) {
            items[k] = s->items[i];
            items[k].key += n;
            k++;
        }
    out->items = items;
    out->count = k;
    return FUSE2_OK;
}

fuse2_status fuse2_calc_create(const char *name, const fuse2_settings *settings, fuse2_calc *calc)
{
    memset(calc, 0, sizeof *calc);
    const fuse2_calc_ops *ops = fuse2_calc_find(name);
    if (!ops) return FUSE2_RAISE(FUSE2_ERR_ARG, "unknown calculator '%s'", name);
    if (settings)
        for (int i = 0; i < settings->count; i++) {
            if (!fuse2_calc_key_known(ops, settings->items[i].key))
                return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: unknown setting '%s' for calculator '%s'",
                                   settings->items[i].origin ? settings->items[i].origin : "settings",
                                   settings->items[i].key, name);
        }
    FUSE2_CALL(ops->create(settings, &calc->state));
    calc->ops = ops;
    return FUSE2_OK;
}

void fuse2_calc_destroy(fuse2_calc *calc)
{
    if (calc->ops && calc->ops->destroy) calc->ops->destroy(calc->state);
    memset(calc, 0, sizeof *calc);
}

fuse2_status fuse2_calc_compute(fuse2_calc *calc, const fuse2_structure *s, fuse2_calc_result *r)
{
    if (!calc->ops) return FUSE2_RAISE(FUSE2_ERR_ARG, "calculator not created");
    FUSE2_CALL(calc->ops->compute(calc->state, s, r));
    return FUSE2_OK;
}

fuse2_status fuse2_calc_check_elements(fuse2_calc *calc, const int *z, int n)
{
    if (!calc->ops) return FUSE2_RAISE(FUSE2_ERR_ARG, "calculator not created");
    if (!calc->ops->check_elements || n <= 0) return FUSE2_OK;
    if (!z) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_calc_check_elements: no elements");
    FUSE2_CALL(calc->ops->check_elements(calc->state, z, n));
    return FUSE2_OK;
}
