/* The "qe" calculator: Quantum ESPRESSO's pw.x relaxes each structure with
 * its own BFGS (vc-relax, or relax for a fixed cell) or computes a single
 * point (scf), through the external-driver framework (fuse2/external.h).
 * This file writes pw.in and reads the settings; the output parser is
 * src/calc/qe_output.c (fuse2/qe.h). Facts about Debian's pw.x 6.7 are in
 * ../shared/docs/calculators.md §8.
 *
 * Settings (strings from the YAML `calculator:` block; multi-line values as
 * YAML `|` block scalars; pseudopotentials, masses and the namelists also
 * as YAML mappings, kpoints as a list), besides the common ones of
 * fuse2_ext_common (default command "pw.x -in pw.in"; pw.x's standard
 * output is captured as pw.out):
 *   pseudopotentials  required: "El file El file ..." (element symbol, file
 *                     name in pseudo_dir), e.g. "Si Si.pz-vbc.UPF", or
 *                     {Si: Si.pz-vbc.UPF, O: O.pbe-rrkjus.UPF}
 *   pseudo_dir        default /usr/share/espresso/pseudo
 *   ecutwfc           required, Ry;  ecutrho  optional, Ry
 *   kspacing          Å^-1, default 0.3: n_i = max(1, ceil(|b_i| / kspacing))
 *                     with |b_i| the reciprocal lattice vector lengths
 *                     including 2 pi (VASP's KSPACING convention; a
 *                     Gamma-containing unshifted mesh), per structure
 *   kpoints           instead of kspacing: "n1 n2 n3 [s1 s2 s3]" or "gamma"
 *   calculation       "vc-relax" (default) or "relax"; a fixed-cell
 *                     relaxation always runs relax, a single point scf
 *   control, system, electrons, ions, cell
 *                     extra namelist entries, one "key = value" per line
 *                     (Fortran syntax), or a mapping {nspin: 2,
 *                     occupations: smearing} (words are quoted for pw.x,
 *                     true/false become .true./.false.),
 *                     appended to that namelist (skipped for scf: &ions,
 *                     &cell; for relax: &cell); outdir, prefix,
 *                     occupations and cell_dofree given there replace the
 *                     driver's values; the other keys the driver writes
 *                     (nat, ibrav, calculation, press, ...) are refused
 *                     with the setting to use instead
 *   forc_conv_thr     Ry/bohr, default the relaxation's fmax converted
 *   press_conv_thr    kbar, default the relaxation's smax converted
 *   nstep             default the relaxation's max_steps
 *   smearing, degauss occupations = 'smearing' when either is given
 *                     (degauss Ry, default 0.01; smearing default pw.x's)
 *   masses            "El amu El amu ...", default fuse2/elements.h */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse2/calc.h"
#include "fuse2/elements.h"
#include "fuse2/external.h"
#include "fuse2/qe.h"
#include "fuse2/relax.h"
#include "fuse2/vasp.h"

#define QE_DEFAULT_COMMAND "pw.x -in pw.in"
#define QE_DEFAULT_PSEUDO_DIR "/usr/share/espresso/pseudo"
#define QE_INPUT "pw.in"
#define QE_OUTPUT "pw.out"
static const double QE_DEFAULT_KSPACING = 0.3; /* Å^-1, with 2 pi */
static const double QE_DEFAULT_DEGAUSS = 0.01; /* Ry */

/* Our keys besides fuse2_ext_common_keys. */
static const char *const qe_keys[] = {
    "pseudopotentials", "pseudopotentials.*", "pseudo_dir", "ecutwfc", "ecutrho", "kspacing",
    "kpoints",     "kpoints.*", "calculation",      "control",    "control.*",     "system",
    "system.*",    "electrons", "electrons.*",      "ions",       "ions.*",        "cell",
    "cell.*",      "forc_conv_thr", "press_conv_thr", "nstep",    "smearing",      "degauss",
    "masses",      "masses.*",  NULL};

enum { NL_CONTROL = 0, NL_SYSTEM, NL_ELECTRONS, NL_IONS, NL_CELL, NL_COUNT };
static const char *const namelist_names[NL_COUNT] = {"control", "system", "electrons", "ions", "cell"};

/* Keys of the extra namelist text that the driver owns, and what to use
 * instead. */
typedef struct reserved_key {
    int namelist;
    const char *key;
    const char *instead;
} reserved_key;

static const reserved_key reserved[] = {
    {NL_CONTROL, "calculation", "the 'calculation' setting"},
    {NL_CONTROL, "pseudo_dir", "the 'pseudo_dir' setting"},
    {NL_CONTROL, "nstep", "the 'nstep' setting"},
    {NL_CONTROL, "forc_conv_thr", "the 'forc_conv_thr' setting"},
    {NL_CONTROL, "tprnfor", "nothing: forces are always printed, the parser needs them"},
    {NL_CONTROL, "tstress", "nothing: the stress is always printed, the parser needs it"},
    {NL_SYSTEM, "ibrav", "nothing: the driver writes the cell (ibrav = 0)"},
    {NL_SYSTEM, "nat", "nothing: the driver writes the atoms"},
    {NL_SYSTEM, "ntyp", "nothing: the driver writes the species"},
    {NL_SYSTEM, "celldm", "nothing: the driver writes the cell"},
    {NL_SYSTEM, "a", "nothing: the driver writes the cell"},
    {NL_SYSTEM, "b", "nothing: the driver writes the cell"},
    {NL_SYSTEM, "c", "nothing: the driver writes the cell"},
    {NL_SYSTEM, "cosab", "nothing: the driver writes the cell"},
    {NL_SYSTEM, "cosac", "nothing: the driver writes the cell"},
    {NL_SYSTEM, "cosbc", "nothing: the driver writes the cell"},
    {NL_SYSTEM, "ecutwfc", "the 'ecutwfc' setting"},
    {NL_SYSTEM, "ecutrho", "the 'ecutrho' setting"},
    {NL_SYSTEM, "smearing", "the 'smearing' setting"},
    {NL_SYSTEM, "degauss", "the 'degauss' setting"},
    {NL_CELL, "press", "the relaxation's pressure"},
    {NL_CELL, "press_conv_thr", "the 'press_conv_thr' setting"},
};

typedef enum kpoint_mode { KPOINTS_SPACING = 0, KPOINTS_MESH, KPOINTS_GAMMA } kpoint_mode;

typedef struct qe_state {
    fuse2_ext_common common;
    char *pseudo_dir;
    char *pseudo_file[FUSE2_MAX_Z + 1];   /* by atomic number, NULL: none */
    const char *pseudo_origin;            /* for the missing-element message */
    double mass[FUSE2_MAX_Z + 1];         /* amu, 0: the table's */
    double ecutwfc, ecutrho;              /* Ry; ecutrho 0 = pw.x's default */
    kpoint_mode kmode;
    double kspacing;
    int kmesh[3], kshift[3];
    int fixed_cell_only;                  /* calculation = relax */
    char *extra[NL_COUNT];                /* validated "key = value" lines, NULL: none */
    double forc_conv_thr, press_conv_thr; /* NAN: from the relaxation options */
    int nstep;                            /* 0: from the relaxation options */
    int smear;
    char smearing[32];                    /* "" = pw.x's default */
    double degauss;
} qe_state;

static const char *origin_or(const char *origin) { return origin ? origin : "settings"; }

static void qe_destroy(void *state)
{
    qe_state *q = state;
    if (!q) return;
    fuse2_ext_common_free(&q->common);
    free(q->pseudo_dir);
    for (int z = 0; z <= FUSE2_MAX_Z; z++) free(q->pseudo_file[z]);
    for (int k = 0; k < NL_COUNT; k++) free(q->extra[k]);
    free(q);
}

/* ---- settings ---- */

/* Characters that would end a quoted Fortran string or the namelist. */
static int fortran_string_safe(const char *s)
{
    for (; *s; s++)
        if (*s == '\'' || *s == '"' || *s == '\n' || *s == '\r') return 0;
    return 1;
}

static fuse2_status positive(const fuse2_settings *settings, const char *key, int required, double *out)
{
    const char *origin = NULL, *text = fuse2_settings_get(settings, key, &origin);
    if (!text) {
        if (required)
            return FUSE2_RAISE(FUSE2_ERR_ARG, "calculator 'qe': the '%s' setting is required", key);
        return FUSE2_OK;
    }
    FUSE2_CALL(fuse2_setting_parse_double(key, text, origin, out));
    if (!(*out > 0))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: '%s' must be > 0 (got %s)", origin_or(origin), key, text);
    return FUSE2_OK;
}

/* Whitespace-separated words of text into a malloc'ed copy; *words points
 * into it. */
static fuse2_status split_words(const char *text, char **copy, char ***words, int *n)
{
    *copy = strdup(text);
    size_t cap = strlen(text) / 2 + 2;
    *words = malloc(sizeof **words * cap);
    if (!*copy || !*words) {
        free(*copy);
        free(*words);
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "qe settings: out of memory");
    }
    *n = 0;
    for (char *p = strtok(*copy, " \t\r\n"); p; p = strtok(NULL, " \t\r\n")) (*words)[(*n)++] = p;
    return FUSE2_OK;
}

static fuse2_status add_pseudo(qe_state *q, const char *symbol, const char *file, const char *origin)
{
    int z = fuse2_element_z_from_symbol(symbol);
    if (z < 1)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'pseudopotentials': '%s' is not an element symbol", origin_or(origin),
                           symbol);
    if (q->pseudo_file[z])
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'pseudopotentials': %s is given twice", origin_or(origin), symbol);
    if (!*file || !fortran_string_safe(file))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'pseudopotentials': file name '%s' for %s is empty or has a quote",
                           origin_or(origin), file, symbol);
    /* pw.x finds the file only as pseudo_dir/file: check it now, not in
     * the middle of a campaign */
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", q->pseudo_dir, file);
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || access(path, R_OK) != 0)
        return FUSE2_RAISE(FUSE2_ERR_ARG,
                           "%s: pseudopotential for %s: %s does not exist or is not a readable file (pseudo_dir %s)",
                           origin_or(origin), symbol, path, q->pseudo_dir);
    q->pseudo_file[z] = strdup(file);
    if (!q->pseudo_file[z]) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "qe settings: out of memory");
    if (!q->pseudo_origin) q->pseudo_origin = origin;
    return FUSE2_OK;
}

/* "El file El file ..." and/or the YAML mapping form
 * (pseudopotentials: {Si: Si.pz-vbc.UPF} -> "pseudopotentials.Si"). */
static fuse2_status parse_pseudopotentials(const fuse2_settings *settings, qe_state *q)
{
    const char *origin = NULL, *text = fuse2_settings_get(settings, "pseudopotentials", &origin);
    fuse2_settings sub;
    FUSE2_CALL(fuse2_settings_subset(settings, "pseudopotentials.", &sub));
    fuse2_status st = FUSE2_OK;
    char *copy = NULL, **w = NULL;
    if (!text && sub.count == 0)
        FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                         "calculator 'qe': the 'pseudopotentials' setting is required (element and file pairs, "
                         "e.g. \"Si Si.pz-vbc.UPF\", files in %s)",
                         q->pseudo_dir);
    if (text) {
        int n;
        FUSE2_CALL_GOTO(st, split_words(text, &copy, &w, &n), done);
        if (n == 0 || n % 2)
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                             "%s: 'pseudopotentials' must be pairs of element and file name (got '%s')",
                             origin_or(origin), text);
        for (int i = 0; i < n; i += 2) FUSE2_CALL_GOTO(st, add_pseudo(q, w[i], w[i + 1], origin), done);
    }
    for (int i = 0; i < sub.count; i++)
        FUSE2_CALL_GOTO(st, add_pseudo(q, sub.items[i].key, sub.items[i].value, sub.items[i].origin), done);
done:
    free(copy);
    free(w);
    free((void *)sub.items);
    return st;
}

static fuse2_status add_mass(qe_state *q, const char *symbol, const char *text, const char *origin)
{
    int z = fuse2_element_z_from_symbol(symbol);
    if (z < 1)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'masses': '%s' is not an element symbol", origin_or(origin), symbol);
    double m;
    FUSE2_CALL(fuse2_setting_parse_double("masses", text, origin, &m));
    if (!(m > 0))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'masses': the mass of %s must be > 0 (got %s)", origin_or(origin),
                           symbol, text);
    q->mass[z] = m;
    return FUSE2_OK;
}

/* "El amu El amu ..." and/or masses: {Si: 28.0}. */
static fuse2_status parse_masses(const fuse2_settings *settings, qe_state *q)
{
    const char *origin = NULL, *text = fuse2_settings_get(settings, "masses", &origin);
    fuse2_settings sub;
    FUSE2_CALL(fuse2_settings_subset(settings, "masses.", &sub));
    fuse2_status st = FUSE2_OK;
    char *copy = NULL, **w = NULL;
    if (text) {
        int n;
        FUSE2_CALL_GOTO(st, split_words(text, &copy, &w, &n), done);
        if (n == 0 || n % 2)
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                             "%s: 'masses' must be pairs of element and mass in amu (got '%s')", origin_or(origin),
                             text);
        for (int i = 0; i < n; i += 2) FUSE2_CALL_GOTO(st, add_mass(q, w[i], w[i + 1], origin), done);
    }
    for (int i = 0; i < sub.count; i++)
        FUSE2_CALL_GOTO(st, add_mass(q, sub.items[i].key, sub.items[i].value, sub.items[i].origin), done);
done:
    free(copy);
    free(w);
    free((void *)sub.items);
    return st;
}

static fuse2_status parse_kpoints(const fuse2_settings *settings, qe_state *q)
{
    const char *ko = NULL, *ktext = fuse2_settings_get(settings, "kpoints", &ko);
    const char *so = NULL, *stext = fuse2_settings_get(settings, "kspacing", &so);
    /* the YAML list form, kpoints: [4, 4, 4] -> "kpoints.0" ... */
    char joined[256] = "";
    for (int i = 0; i < 6; i++) {
        char key[16];
        snprintf(key, sizeof key, "kpoints.%d", i);
        const char *o = NULL, *v = fuse2_settings_get(settings, key, &o);
        if (!v) break;
        if (strlen(joined) + strlen(v) + 2 > sizeof joined) break;
        strcat(joined, i ? " " : "");
        strcat(joined, v);
        if (i == 0) ko = o;
    }
    if (joined[0]) {
        if (ktext) return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'kpoints' is given twice", origin_or(ko));
        ktext = joined;
    }
    fuse2_settings extra;
    FUSE2_CALL(fuse2_settings_subset(settings, "kpoints.", &extra));
    int nextra = extra.count;
    const char *bad = nextra ? extra.items[0].key : NULL, *bad_origin = nextra ? extra.items[0].origin : NULL;
    for (int i = 0; i < extra.count; i++) {
        char *end;
        long k = strtol(extra.items[i].key, &end, 10);
        if (*end || k < 0 || k > 5) {
            bad = extra.items[i].key;
            bad_origin = extra.items[i].origin;
            nextra = -1;
            break;
        }
    }
    free((void *)extra.items);
    if (nextra < 0)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'kpoints.%s': kpoints is a list of up to 6 whole numbers",
                           origin_or(bad_origin), bad);
    if (ktext && stext)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'kpoints' and 'kspacing' (%s) are both given: choose one",
                           origin_or(ko), origin_or(so));
    q->kmode = KPOINTS_SPACING;
    q->kspacing = QE_DEFAULT_KSPACING;
    if (stext) FUSE2_CALL(positive(settings, "kspacing", 0, &q->kspacing));
    if (!ktext) return FUSE2_OK;
    char *copy, **w;
    int n;
    FUSE2_CALL(split_words(ktext, &copy, &w, &n));
    fuse2_status st = FUSE2_OK;
    if (n == 1 && (!strcmp(w[0], "gamma") || !strcmp(w[0], "Gamma"))) {
        q->kmode = KPOINTS_GAMMA;
        goto done;
    }
    if (n != 3 && n != 6)
        FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                         "%s: 'kpoints' must be \"n1 n2 n3\", \"n1 n2 n3 s1 s2 s3\" or \"gamma\" (got '%s')",
                         origin_or(ko), ktext);
    q->kmode = KPOINTS_MESH;
    for (int i = 0; i < n; i++) {
        char *end;
        errno = 0;
        long v = strtol(w[i], &end, 10);
        int ok = *end == '\0' && !errno && (i < 3 ? (v >= 1 && v <= 1000) : (v == 0 || v == 1));
        if (!ok)
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                             "%s: 'kpoints': '%s' must be %s", origin_or(ko), w[i],
                             i < 3 ? "a mesh size from 1 to 1000" : "a shift of 0 or 1");
        if (i < 3)
            q->kmesh[i] = (int)v;
        else
            q->kshift[i - 3] = (int)v;
    }
done:
    free(copy);
    free(w);
    return st;
}

/* The key of a "key = value" line, lower case, without an index
 * ("celldm(1)" -> "celldm"); 0 if the line has no valid key. */
static int entry_key(const char *line, size_t len, char *key, size_t size, int with_index)
{
    size_t i = 0, k = 0;
    while (i < len && isspace((unsigned char)line[i])) i++;
    if (i == len || !(isalpha((unsigned char)line[i]) || line[i] == '_')) return 0;
    while (i < len && (isalnum((unsigned char)line[i]) || line[i] == '_')) {
        if (k + 1 < size) key[k++] = (char)tolower((unsigned char)line[i]);
        i++;
    }
    if (i < len && line[i] == '(') {
        size_t j = i;
        while (j < len && line[j] != ')') j++;
        if (j == len) return 0;
        if (with_index)
            for (; i <= j; i++)
                if (!isspace((unsigned char)line[i]) && k + 1 < size) key[k++] = line[i];
        i = j + 1;
    }
    key[k] = '\0';
    while (i < len && isspace((unsigned char)line[i])) i++;
    return i < len && line[i] == '=';
}

/* One "key = value" entry of namelist nl, [b, b + blen); `where` names it
 * in messages ("'system' line 2", "'system.nat'"). */
static fuse2_status check_entry(int nl, const char *b, size_t blen, const char *origin, const char *where)
{
    char key[64];
    if (*b == '/' || *b == '&' || !entry_key(b, blen, key, sizeof key, 0))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: %s: expected one \"key = value\" entry (got '%.*s')",
                           origin_or(origin), where, (int)blen, b);
    const char *eq = memchr(b, '=', blen);
    const char *v = eq + 1;
    while (v < b + blen && isspace((unsigned char)*v)) v++;
    if (v == b + blen) return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: %s: '%s' has no value", origin_or(origin), where, key);
    for (size_t r = 0; r < sizeof reserved / sizeof reserved[0]; r++)
        if (reserved[r].namelist == nl && !strcmp(reserved[r].key, key))
            return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: %s: %s is set by the qe driver; use %s", origin_or(origin), where,
                               key, reserved[r].instead);
    return FUSE2_OK;
}

/* A YAML scalar as a namelist value: numbers, Fortran logicals and quoted
 * strings as they are, true/false as .true./.false., other words quoted
 * (system: {occupations: smearing} -> occupations = 'smearing'). */
static int format_value(const char *v, char *out, size_t size)
{
    while (isspace((unsigned char)*v)) v++;
    size_t len = strlen(v);
    while (len > 0 && isspace((unsigned char)v[len - 1])) len--;
    if (len == 0 || len + 3 > size) return 0;
    char num[64];
    int numeric = 0;
    if (len < sizeof num) {
        for (size_t i = 0; i < len; i++) num[i] = (v[i] == 'd' || v[i] == 'D') ? 'e' : v[i];
        num[len] = '\0';
        char *end;
        errno = 0;
        double x = strtod(num, &end);
        numeric = end != num && *end == '\0' && isfinite(x) && !isalpha((unsigned char)num[0]);
    }
    if (numeric || v[0] == '\'' || v[0] == '"' || (v[0] == '.' && len > 2 && v[len - 1] == '.')) {
        snprintf(out, size, "%.*s", (int)len, v);
    } else if ((len == 4 && !strncmp(v, "true", 4)) || (len == 5 && !strncmp(v, "false", 5))) {
        snprintf(out, size, ".%.*s.", (int)len, v);
    } else {
        for (size_t i = 0; i < len; i++)
            if (v[i] == '\'' || v[i] == '\n') return 0;
        snprintf(out, size, "'%.*s'", (int)len, v);
    }
    return 1;
}

/* Checks a namelist's extra entries, from the text block (one per line)
 * and the YAML mapping form (system: {nspin: 2} -> "system.nspin"), and
 * keeps them as trimmed lines. */
static fuse2_status parse_namelist_text(const fuse2_settings *settings, int nl, qe_state *q)
{
    const char *name = namelist_names[nl];
    const char *origin = NULL, *text = fuse2_settings_get(settings, name, &origin);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%s.", name);
    fuse2_settings sub;
    FUSE2_CALL(fuse2_settings_subset(settings, prefix, &sub));
    if (!text && sub.count == 0) {
        free((void *)sub.items);
        return FUSE2_OK;
    }
    size_t cap = (text ? strlen(text) : 0) + 2;
    for (int i = 0; i < sub.count; i++) cap += strlen(sub.items[i].key) + strlen(sub.items[i].value) + 8;
    char *kept = malloc(cap);
    fuse2_status st = FUSE2_OK;
    size_t used = 0;
    char where[128];
    if (!kept) FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_NOMEM, "qe settings: out of memory");
    int lineno = 0;
    for (const char *p = text ? text : ""; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        lineno++;
        const char *b = p;
        size_t blen = len;
        while (blen > 0 && isspace((unsigned char)*b)) b++, blen--;
        while (blen > 0 && (isspace((unsigned char)b[blen - 1]) || b[blen - 1] == ',')) blen--;
        p = eol ? eol + 1 : p + len;
        /* blank lines and Fortran comments are dropped */
        if (blen == 0 || *b == '!') continue;
        snprintf(where, sizeof where, "'%s' line %d", name, lineno);
        FUSE2_CALL_GOTO(st, check_entry(nl, b, blen, origin, where), done);
        memcpy(kept + used, b, blen);
        used += blen;
        kept[used++] = '\n';
    }
    for (int i = 0; i < sub.count; i++) {
        char value[256];
        snprintf(where, sizeof where, "'%s.%s'", name, sub.items[i].key);
        if (!format_value(sub.items[i].value, value, sizeof value))
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: %s: the value '%s' cannot be written to a namelist",
                             origin_or(sub.items[i].origin), where, sub.items[i].value);
        int n = snprintf(kept + used, cap - used, "%s = %s", sub.items[i].key, value);
        if (n < 0 || (size_t)n + 2 > cap - used)
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: %s is too long", origin_or(sub.items[i].origin), where);
        FUSE2_CALL_GOTO(st, check_entry(nl, kept + used, (size_t)n, sub.items[i].origin, where), done);
        used += (size_t)n;
        kept[used++] = '\n';
    }
    kept[used] = '\0';
    q->extra[nl] = kept;
    kept = NULL;
done:
    free(kept);
    free((void *)sub.items);
    return st;
}

/* 1 if the user's extra text for namelist nl sets key (index included). */
static int user_sets(const qe_state *q, int nl, const char *key)
{
    const char *text = q->extra[nl];
    if (!text) return 0;
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char k[64];
        if (entry_key(p, len, k, sizeof k, 1) && !strcmp(k, key)) return 1;
        p = eol ? eol + 1 : p + len;
    }
    return 0;
}

static fuse2_status qe_create(const fuse2_settings *settings, void **state)
{
    qe_state *q = calloc(1, sizeof *q);
    if (!q) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "qe calculator: out of memory");
    q->forc_conv_thr = q->press_conv_thr = NAN;
    fuse2_status st = FUSE2_OK;
    FUSE2_CALL_GOTO(st, fuse2_ext_common_parse(settings, QE_DEFAULT_COMMAND, &q->common), fail);
    /* pw.x exits 3 when nstep runs out: the framework keeps the parser's
     * not_converged for a run that ended by itself (external_driver.c) */

    const char *origin = NULL, *text = fuse2_settings_get(settings, "pseudo_dir", &origin);
    q->pseudo_dir = strdup(text && *text ? text : QE_DEFAULT_PSEUDO_DIR);
    if (!q->pseudo_dir) FUSE2_RAISE_GOTO(st, fail, FUSE2_ERR_NOMEM, "qe calculator: out of memory");
    size_t dl = strlen(q->pseudo_dir);
    while (dl > 1 && q->pseudo_dir[dl - 1] == '/') q->pseudo_dir[--dl] = '\0';
    struct stat sb;
    if (!fortran_string_safe(q->pseudo_dir))
        FUSE2_RAISE_GOTO(st, fail, FUSE2_ERR_ARG, "%s: 'pseudo_dir' has a quote or a line break", origin_or(origin));
    if (stat(q->pseudo_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        FUSE2_RAISE_GOTO(st, fail, FUSE2_ERR_ARG, "%s: pseudo_dir %s is not a directory",
                         text ? origin_or(origin) : "calculator 'qe'", q->pseudo_dir);
    FUSE2_CALL_GOTO(st, parse_pseudopotentials(settings, q), fail);
    FUSE2_CALL_GOTO(st, parse_masses(settings, q), fail);
    FUSE2_CALL_GOTO(st, positive(settings, "ecutwfc", 1, &q->ecutwfc), fail);
    FUSE2_CALL_GOTO(st, positive(settings, "ecutrho", 0, &q->ecutrho), fail);
    FUSE2_CALL_GOTO(st, parse_kpoints(settings, q), fail);

    if ((text = fuse2_settings_get(settings, "calculation", &origin))) {
        if (!strcmp(text, "relax"))
            q->fixed_cell_only = 1;
        else if (strcmp(text, "vc-relax"))
            FUSE2_RAISE_GOTO(st, fail, FUSE2_ERR_ARG,
                             "%s: 'calculation' must be vc-relax or relax (got '%s'; single points run scf "
                             "by themselves)",
                             origin_or(origin), text);
    }
    for (int nl = 0; nl < NL_COUNT; nl++) FUSE2_CALL_GOTO(st, parse_namelist_text(settings, nl, q), fail);
    FUSE2_CALL_GOTO(st, positive(settings, "forc_conv_thr", 0, &q->forc_conv_thr), fail);
    FUSE2_CALL_GOTO(st, positive(settings, "press_conv_thr", 0, &q->press_conv_thr), fail);
    if ((text = fuse2_settings_get(settings, "nstep", &origin))) {
        double v;
        FUSE2_CALL_GOTO(st, fuse2_setting_parse_double("nstep", text, origin, &v), fail);
        if (!(v >= 1) || v != floor(v) || v > 1e6)
            FUSE2_RAISE_GOTO(st, fail, FUSE2_ERR_ARG, "%s: 'nstep' must be a whole number >= 1 (got %s)",
                             origin_or(origin), text);
        q->nstep = (int)v;
    }
    q->degauss = QE_DEFAULT_DEGAUSS;
    if ((text = fuse2_settings_get(settings, "smearing", &origin))) {
        size_t len = strlen(text);
        int ok = len > 0 && len < sizeof q->smearing;
        for (size_t i = 0; ok && i < len; i++)
            if (!isalnum((unsigned char)text[i]) && text[i] != '-' && text[i] != '_') ok = 0;
        if (!ok)
            FUSE2_RAISE_GOTO(st, fail, FUSE2_ERR_ARG,
                             "%s: 'smearing' must be a pw.x smearing name such as gaussian, mv, mp, fd (got '%s')",
                             origin_or(origin), text);
        snprintf(q->smearing, sizeof q->smearing, "%s", text);
        q->smear = 1;
    }
    if (fuse2_settings_get(settings, "degauss", NULL)) {
        FUSE2_CALL_GOTO(st, positive(settings, "degauss", 0, &q->degauss), fail);
        q->smear = 1;
    }
    *state = q;
    return FUSE2_OK;
fail:
    qe_destroy(q);
    return st;
}

/* ---- pw.in ---- */

static void write_extra(FILE *f, const qe_state *q, int nl)
{
    if (q->extra[nl]) {
        for (const char *p = q->extra[nl]; *p;) {
            const char *eol = strchr(p, '\n');
            size_t len = eol ? (size_t)(eol - p) : strlen(p);
            fprintf(f, "  %.*s\n", (int)len, p);
            p = eol ? eol + 1 : p + len;
        }
    }
}

static fuse2_status qe_write_inputs(void *state, const char *dir, const fuse2_structure *s,
                                    const fuse2_relax_options *opt, int single_point)
{
    const qe_state *q = state;
    fuse2_relax_options defaults;
    fuse2_relax_options_default(&defaults);
    if (!opt) opt = &defaults;

    /* species in order of first appearance, each with its pseudopotential */
    int species[FUSE2_MAX_Z + 1], nspecies = 0, seen[FUSE2_MAX_Z + 1] = {0};
    for (int i = 0; i < s->natoms; i++) {
        int z = s->species[i];
        const fuse2_element *el = fuse2_element_by_z(z);
        if (!el) return FUSE2_RAISE(FUSE2_ERR_ARG, "qe: atom %d has atomic number %d", i + 1, z);
        if (seen[z]) continue;
        if (!q->pseudo_file[z])
            return FUSE2_RAISE(FUSE2_ERR_ARG,
                               "qe: no pseudopotential for %s: add '%s <file>' to the 'pseudopotentials' "
                               "setting (%s)",
                               el->symbol, el->symbol, origin_or(q->pseudo_origin));
        seen[z] = 1;
        species[nspecies++] = z;
    }

    const char *calculation = single_point                             ? "scf"
                              : (q->fixed_cell_only || opt->fixed_cell) ? "relax"
                                                                        : "vc-relax";
    int relax = !single_point, cell = relax && !strcmp(calculation, "vc-relax");
    /* pw.x tests forc_conv_thr on each Cartesian component, our fmax on
     * the norm: close enough, and what users of both expect */
    const double ry_bohr_in_ev_a = FUSE2_QE_RY_EV / FUSE2_QE_BOHR_A;
    double forc = isfinite(q->forc_conv_thr) ? q->forc_conv_thr : opt->fmax > 0 ? opt->fmax / ry_bohr_in_ev_a : 1e-3;
    double press_thr = isfinite(q->press_conv_thr) ? q->press_conv_thr
                       : opt->smax > 0            ? opt->smax * FUSE2_QE_EV_A3_IN_KBAR
                                                  : 0.5;
    int nstep = q->nstep > 0 ? q->nstep : opt->max_steps > 0 ? opt->max_steps : 50;

    int mesh[3] = {1, 1, 1};
    if (q->kmode == KPOINTS_SPACING) FUSE2_CALL(fuse2_vasp_kspacing_mesh(s->lattice, q->kspacing, mesh));
    if (q->kmode == KPOINTS_MESH) memcpy(mesh, q->kmesh, sizeof mesh);

    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, QE_INPUT);
    FILE *f = fopen(path, "w");
    if (!f) return FUSE2_RAISE(FUSE2_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));

    fprintf(f, "&control\n  calculation = '%s'\n", calculation);
    if (!user_sets(q, NL_CONTROL, "outdir")) fprintf(f, "  outdir = './tmp'\n");
    if (!user_sets(q, NL_CONTROL, "prefix")) fprintf(f, "  prefix = 'fuse2'\n");
    fprintf(f, "  tprnfor = .true.\n  tstress = .true.\n  pseudo_dir = '%s'\n", q->pseudo_dir);
    if (relax) fprintf(f, "  nstep = %d\n  forc_conv_thr = %.6e\n", nstep, forc);
    write_extra(f, q, NL_CONTROL);
    fprintf(f, "/\n&system\n  ibrav = 0\n  nat = %d\n  ntyp = %d\n  ecutwfc = %.10g\n", s->natoms, nspecies,
            q->ecutwfc);
    if (q->ecutrho > 0) fprintf(f, "  ecutrho = %.10g\n", q->ecutrho);
    if (q->smear) {
        if (!user_sets(q, NL_SYSTEM, "occupations")) fprintf(f, "  occupations = 'smearing'\n");
        if (q->smearing[0]) fprintf(f, "  smearing = '%s'\n", q->smearing);
        fprintf(f, "  degauss = %.10g\n", q->degauss);
    }
    write_extra(f, q, NL_SYSTEM);
    fprintf(f, "/\n&electrons\n");
    write_extra(f, q, NL_ELECTRONS);
    fprintf(f, "/\n");
    /* pw.x reads &ions only for relaxations and &cell only for vc-*: an
     * unread namelist would be taken for a card and rejected */
    if (relax) {
        fprintf(f, "&ions\n");
        write_extra(f, q, NL_IONS);
        fprintf(f, "/\n");
    }
    if (cell) {
        fprintf(f, "&cell\n");
        if (!user_sets(q, NL_CELL, "cell_dofree")) fprintf(f, "  cell_dofree = 'all'\n");
        fprintf(f, "  press = %.10g\n  press_conv_thr = %.6e\n", opt->pressure * FUSE2_QE_EV_A3_IN_KBAR, press_thr);
        write_extra(f, q, NL_CELL);
        fprintf(f, "/\n");
    }
    fprintf(f, "ATOMIC_SPECIES\n");
    for (int k = 0; k < nspecies; k++) {
        const fuse2_element *el = fuse2_element_by_z(species[k]);
        double m = q->mass[species[k]] > 0 ? q->mass[species[k]] : el->mass;
        fprintf(f, "%-3s %.6f %s\n", el->symbol, m, q->pseudo_file[species[k]]);
    }
    fprintf(f, "CELL_PARAMETERS angstrom\n");
    for (int r = 0; r < 3; r++)
        fprintf(f, " %20.14f %20.14f %20.14f\n", s->lattice[r][0], s->lattice[r][1], s->lattice[r][2]);
    fprintf(f, "ATOMIC_POSITIONS crystal\n");
    for (int i = 0; i < s->natoms; i++)
        fprintf(f, "%-3s %18.14f %18.14f %18.14f\n", fuse2_element_by_z(s->species[i])->symbol, s->frac[i][0],
                s->frac[i][1], s->frac[i][2]);
    if (q->kmode == KPOINTS_GAMMA)
        fprintf(f, "K_POINTS gamma\n");
    else
        fprintf(f, "K_POINTS automatic\n%d %d %d %d %d %d\n", mesh[0], mesh[1], mesh[2], q->kshift[0], q->kshift[1],
                q->kshift[2]);
    int failed = ferror(f);
    if (fclose(f) != 0 || failed) return FUSE2_RAISE(FUSE2_ERR_IO, "%s: write failed", path);
    return FUSE2_OK;
}

/* ---- the run's output ---- */

/* pw.x writes an error raised on a rank other than the first only to the
 * file CRASH (pw.out then ends without the "%%%%" block): " from X : error
 * # n" and the message on the next line. */
static void read_crash_file(const char *dir, fuse2_ext_output *out)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/CRASH", dir);
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[512], routine[32] = "", message[160] = "";
    int code = 0, want_message = 0;
    while (fgets(line, sizeof line, f)) {
        char *from = strstr(line, "from ");
        if (!routine[0] && from && strstr(line, ": error #")) {
            if (sscanf(from + 5, "%31[^ :]", routine) == 1) {
                char *hash = strstr(line, "error #");
                if (hash) code = atoi(hash + 7);
                want_message = 1;
            }
            continue;
        }
        if (want_message) {
            char *b = line;
            while (*b == ' ') b++;
            b[strcspn(b, "\r\n")] = '\0';
            snprintf(message, sizeof message, "%.159s", b);
            want_message = 0;
        }
    }
    fclose(f);
    if (!routine[0]) return;
    fuse2_ext_output_fail(out, FUSE2_EXT_CRASHED, "Error in routine %s (%d): %s (from the CRASH file)", routine, code,
                          message[0] ? message : "(no message)");
    snprintf(out->signature, sizeof out->signature, "%s", routine);
}

static fuse2_status qe_parse(void *state, const char *dir, const fuse2_structure *input, fuse2_ext_output *out)
{
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, QE_OUTPUT);
    FUSE2_CALL(fuse2_qe_output_parse(path, input, out));
    if (!(out->outcome == FUSE2_EXT_CRASHED && out->signature[0])) read_crash_file(dir, out);
    return FUSE2_OK;
}

static const fuse2_ext_driver qe_driver = {
    .code = "qe",
    .write_inputs = qe_write_inputs,
    .parse = qe_parse,
    /* "pw.x < pw.in" style commands work too */
    .stdin_file = QE_INPUT,
    .stdout_file = QE_OUTPUT,
};

static fuse2_status qe_compute(void *state, const fuse2_structure *s, fuse2_calc_result *result)
{
    qe_state *q = state;
    FUSE2_CALL(fuse2_ext_compute(&qe_driver, q, &q->common, s, result));
    return FUSE2_OK;
}

static fuse2_status qe_relax(void *state, fuse2_structure *s, const fuse2_relax_options *opt,
                             fuse2_relax_result *result)
{
    qe_state *q = state;
    FUSE2_CALL(fuse2_ext_relax(&qe_driver, q, &q->common, s, opt, result));
    return FUSE2_OK;
}

/* Every element of the composition needs a pseudopotential. */
static fuse2_status qe_check_elements(void *state, const int *z, int n)
{
    const qe_state *q = state;
    for (int i = 0; i < n; i++) {
        const fuse2_element *el = fuse2_element_by_z(z[i]);
        if (!el) return FUSE2_RAISE(FUSE2_ERR_ARG, "qe: unknown atomic number %d", z[i]);
        if (!q->pseudo_file[z[i]])
            return FUSE2_RAISE(FUSE2_ERR_ARG,
                               "%s: 'pseudopotentials' has no file for %s, an element of the composition "
                               "(add '%s <file>')",
                               origin_or(q->pseudo_origin), el->symbol, el->symbol);
    }
    return FUSE2_OK;
}

const fuse2_calc_ops fuse2_qe_calc_ops = {
    .name = "qe",
    .description = "Quantum ESPRESSO pw.x (vc-relax/relax with its BFGS, scf single points)",
    .keys = qe_keys,
    .common_keys = fuse2_ext_common_keys,
    .create = qe_create,
    .destroy = qe_destroy,
    .compute = qe_compute,
    .relax = qe_relax,
    .check_elements = qe_check_elements,
};
