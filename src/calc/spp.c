/* FUSE2's SPP library: pair-file lookup and reading (include/fuse2/spp.h). */
#include "fuse2/spp.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fuse2/elements.h"

static void upper_copy(char *dst, const char *src, size_t size)
{
    size_t i = 0;
    for (; src[i] && i + 1 < size; i++) dst[i] = (char)toupper((unsigned char)src[i]);
    dst[i] = '\0';
}

int fuse2_spp_find_pair_file(const char *root, const char *a, const char *b, char *path, size_t size,
                             char *tried, size_t tried_size)
{
    char A[8], B[8];
    upper_copy(A, a, sizeof A);
    upper_copy(B, b, sizeof B);
    const char *names[4][2] = {{A, B}, {a, b}, {B, A}, {b, a}};
    if (tried_size) tried[0] = '\0';
    for (int i = 0; i < 4; i++) {
        int repeat = 0;
        for (int j = 0; j < i; j++)
            repeat |= !strcmp(names[i][0], names[j][0]) && !strcmp(names[i][1], names[j][1]);
        if (repeat) continue;
        snprintf(path, size, "%s/%s-%s/%s-%s.POT", root, names[i][0], names[i][1], names[i][0], names[i][1]);
        if (access(path, R_OK) == 0) return 1;
        if (!tried_size) continue;
        size_t used = strlen(tried);
        snprintf(tried + used, tried_size - used, "%s%s", used ? ", " : "", path);
    }
    return 0;
}

fuse2_status fuse2_spp_read_pair(const char *root, int za, int zb, fuse2_potential_set *set)
{
    const fuse2_element *ea = fuse2_element_by_z(za), *eb = fuse2_element_by_z(zb);
    if (!root || !set) return FUSE2_RAISE(FUSE2_ERR_ARG, "SPP: directory or potential set is NULL");
    if (!ea || !eb || !ea->symbol || !eb->symbol)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "SPP: unknown element Z = %d", ea ? zb : za);
    char path[4200], tried[4 * 4200];
    if (!fuse2_spp_find_pair_file(root, ea->symbol, eb->symbol, path, sizeof path, tried, sizeof tried))
        return FUSE2_RAISE(FUSE2_ERR_IO, "SPP library %s has no table for the pair %s-%s: %s not found", root,
                           ea->symbol, eb->symbol, tried);
    fuse2_potential_set pair;
    fuse2_potential_set_init(&pair);
    fuse2_status st = fuse2_gulp_library_read(path, &pair);
    if (st != FUSE2_OK) goto done;
    if (pair.nterms == 0)
        FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_PARSE, "%s: no pair potential in the SPP table of %s-%s", path,
                         ea->symbol, eb->symbol);
    for (int t = 0; t < pair.nterms; t++) {
        const fuse2_pair_term *pt = &pair.terms[t];
        if (!((pt->z1 == za && pt->z2 == zb) || (pt->z1 == zb && pt->z2 == za))) {
            const fuse2_element *e1 = fuse2_element_by_z(pt->z1), *e2 = fuse2_element_by_z(pt->z2);
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_PARSE, "%s:%d: a %s-%s potential in the SPP table of %s-%s",
                             path, pt->line, e1 ? e1->symbol : "?", e2 ? e2->symbol : "?", ea->symbol,
                             eb->symbol);
        }
    }
    {
        const int before = set->nterms;
        for (int t = 0; t < pair.nterms && st == FUSE2_OK; t++) st = fuse2_potential_set_add_term(set, &pair.terms[t]);
        if (st != FUSE2_OK) {
            for (int t = before; t < set->nterms; t++) fuse2_spline_table_free(set->terms[t].table);
            set->nterms = before;
        }
    }
done:
    fuse2_potential_set_free(&pair);
    if (st != FUSE2_OK) fuse2_error_push_frame(__FILE__, __LINE__, __func__);
    return st;
}

fuse2_status fuse2_spp_settings_parse(const fuse2_settings *settings, double *cutoff, double *taper,
                                      int *legacy_duplicates)
{
    *cutoff = FUSE2_SPP_CUTOFF;
    *taper = FUSE2_SPP_TAPER;
    *legacy_duplicates = 0;
    const char *origin = NULL, *v;
    int have_path = fuse2_settings_get(settings, "spp_path", NULL) != NULL;
    const char *dependent[] = {"spp_cutoff", "spp_taper", "spp_legacy_duplicates"};
    for (int k = 0; k < 3 && !have_path; k++)
        if (fuse2_settings_get(settings, dependent[k], &origin))
            return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: '%s' needs 'spp_path'", origin ? origin : "settings",
                               dependent[k]);
    if (!have_path) return FUSE2_OK;
    if ((v = fuse2_settings_get(settings, "spp_cutoff", &origin)))
        FUSE2_CALL(fuse2_setting_parse_double("spp_cutoff", v, origin, cutoff));
    if ((v = fuse2_settings_get(settings, "spp_taper", &origin)))
        FUSE2_CALL(fuse2_setting_parse_double("spp_taper", v, origin, taper));
    if ((v = fuse2_settings_get(settings, "spp_legacy_duplicates", &origin)))
        FUSE2_CALL(fuse2_setting_parse_bool("spp_legacy_duplicates", v, origin, legacy_duplicates));
    if (!(*cutoff > 0) || !(*taper >= 0) || *taper > *cutoff)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: need spp_cutoff > 0 and 0 <= spp_taper <= spp_cutoff (got %g, %g)",
                           origin ? origin : "settings", *cutoff, *taper);
    return FUSE2_OK;
}
