/* The VASP calculator ("vasp"): writes POSCAR/INCAR/KPOINTS/POTCAR for one
 * structure, runs the configured command in a fresh scratch directory
 * through the driver framework (fuse2/external.h) and judges the run with
 * fuse2_vasp_parse_run (fuse2/vasp.h). Spec: ../shared/docs/calculators.md
 * §7, FUSE2's rules in fuse2-algorithm.md §10.3.
 *
 * YAML (keys besides the common ones of fuse2_ext_common):
 *   calculator:
 *     name: vasp
 *     command: "mpirun -np 4 vasp_std"   # stdout is captured into vasp.out
 *     incar: {ENCUT: 520, PREC: Accurate, EDIFF: 1e-5, ISMEAR: 0, SIGMA: 0.05}
 *     kspacing: 0.25            # 1/A (with 2 pi), Gamma-centred KPOINTS; or
 *     # kpoints: "4 4 4"        # Gamma mesh ("Monkhorst 4 4 4"), or [4, 4, 4]; or
 *     # incar: {KSPACING: 0.3}  # no KPOINTS file at all
 *     potcar_dir: /opt/vasp/pp  # default $VASP_PP_PATH; holds potpaw_PBE/
 *     potcar_subdir: potpaw_PBE
 *     setups: {Nb: _sv, Ca: Ca_sv}
 *     species_order: "Nb C O"   # optional POSCAR/POTCAR order
 *     retry: {symmetry: {ISYM: 0}, electronic: {ALGO: Normal}}  # the default: symmetry ISYM 0
 *     force_tolerance: 0.5      # eV/A
 *     delete_wavecar: true
 *
 * Outcomes and relaxation statuses:
 *  - converged -> CONVERGED;
 *  - not converged (NSW used up without "reached required accuracy", or the
 *    last SCF hit NELM): FUSE2 keeps the unconverged energy when the forces
 *    are small (run_vasp.py: max force <= 0.5 eV/A, else 1e20). Here: the
 *    largest |Cartesian force component| (Q20: max |component|, not FUSE2's
 *    max signed one) <= force_tolerance -> MAX_STEPS (the campaign records
 *    it as not_converged and ranks its energy); larger, or no forces to
 *    judge -> FAILED with the reason "not_converged: ...; max |F| ...";
 *  - the failure classes -> FAILED / TIMED_OUT as fuse2_ext_relax does.
 *
 * Retry: a run that crashes with an error of a fix class (fuse2/vasp.h,
 * fuse2_vasp_signature_class: symmetry = PRICEL, POSMAP, IBZKPT, RHOSYG,
 * SGRCON, rotation matrix, common for random cells; electronic = EDDDAV,
 * BRMIX, ZHEGV, ...; ionic; bands; lattice) for which `retry.<class>` names
 * INCAR tags is run once more with those tags (default: only symmetry, with
 * ISYM = 0; `retry_symmetry: false` or `retry: {symmetry: none}` turns it
 * off, `retry: none` turns every retry off), at most once per structure, in
 * a fresh scratch directory with freshly written inputs (not the same directory: nothing from the failed run can
 * leak into the retry, and the failed attempt stays for inspection when the
 * retry fails too; it is removed when the retry succeeds, unless
 * keep_scratch). The reason names both attempts. The retry gets what is
 * left of the relaxation's time limit; `time_limit` applies per run. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse2/clock.h"
#include "fuse2/elements.h"
#include "fuse2/external.h"
#include "fuse2/external_run.h"
#include "fuse2/relax.h"
#include "fuse2/vasp.h"

/* The command's standard output: parse_run scans it for error messages. */
static const char *const VASP_STDOUT = "vasp.out";
static const char *const DEFAULT_COMMAND = "vasp_std";
/* FUSE2's run_vasp.py threshold for keeping an unconverged relaxation. */
static const double DEFAULT_FORCE_TOLERANCE = 0.5; /* eV/Å */

/* Our keys besides fuse2_ext_common_keys. */
static const char *const vasp_keys[] = {
    "incar.*",   "kspacing",      "kpoints",      "kpoints.*",       "potcar_dir",     "potcar_subdir",
    "setups.*",  "species_order", "species_order.*", "retry_symmetry", "retry", "retry.*", "force_tolerance",
    "delete_wavecar", NULL};

/* Fix classes that can have a retry (fuse2_vasp_fix_class, NONE excluded). */
enum { NFIX_CLASSES = FUSE2_VASP_FIX_LATTICE + 1, MAX_FIX_TAGS = 16 };

typedef struct vasp_tag {
    char *key;        /* as the user wrote it; upper-cased by the INCAR writer */
    char *value;
    char *origin;
    int from_list;    /* given as a YAML list: entries are joined by spaces */
} vasp_tag;

typedef struct vasp_calc {
    fuse2_ext_common common;
    vasp_tag *tags;
    int ntags;
    fuse2_vasp_kpoints kpoints;   /* mode NONE: INCAR has KSPACING */
    char *potcar_dir;
    char *potcar_subdir;
    fuse2_vasp_kv *setups;        /* key and value owned */
    int nsetups;
    int preferred[FUSE2_VASP_MAX_SPECIES];
    int npreferred;
    char *potcar_where;           /* origin of potcar_dir, or "VASP_PP_PATH" */
    char *setup_origin[FUSE2_VASP_MAX_SPECIES + 64]; /* per setups entry */
    /* retry.<class>.<TAG>: INCAR tags of the rerun after a crash of that
     * fix class (index: fuse2_vasp_fix_class); key and value owned */
    fuse2_vasp_kv fix[NFIX_CLASSES][MAX_FIX_TAGS];
    int nfix[NFIX_CLASSES];
    char fix_text[NFIX_CLASSES][256];  /* "ISYM = 0, ALGO = Normal" for reasons */
    double force_tolerance;
    int delete_wavecar;
    /* per run (one run at a time per calculator instance) */
    int active_fix;               /* the retry being written: its class, 0 none */
    int *perm;                    /* POSCAR row k is input atom perm[k] */
    int perm_n, perm_cap;
} vasp_calc;

static const char *origin_or(const char *origin) { return origin ? origin : "settings"; }

static int same_tag(const char *a, const char *b) { return strcasecmp(a, b) == 0; }

static const vasp_tag *user_tag(const vasp_calc *v, const char *name)
{
    for (int i = 0; i < v->ntags; i++)
        if (same_tag(v->tags[i].key, name)) return &v->tags[i];
    return NULL;
}

static void vasp_destroy(void *state)
{
    vasp_calc *v = state;
    if (!v) return;
    fuse2_ext_common_free(&v->common);
    for (int i = 0; i < v->ntags; i++) {
        free(v->tags[i].key);
        free(v->tags[i].value);
        free(v->tags[i].origin);
    }
    free(v->tags);
    for (int i = 0; i < v->nsetups; i++) {
        free((char *)v->setups[i].key);
        free((char *)v->setups[i].value);
    }
    free(v->setups);
    for (int i = 0; i < (int)(sizeof v->setup_origin / sizeof v->setup_origin[0]); i++) free(v->setup_origin[i]);
    for (int c = 0; c < NFIX_CLASSES; c++)
        for (int i = 0; i < v->nfix[c]; i++) {
            free((char *)v->fix[c][i].key);
            free((char *)v->fix[c][i].value);
        }
    free(v->potcar_where);
    free(v->potcar_dir);
    free(v->potcar_subdir);
    free(v->perm);
    free(v);
}

/* ---- settings ---- */

static fuse2_status check_one_line(const char *what, const char *value, const char *origin)
{
    int blank = 1;
    for (const char *c = value; *c; c++) {
        if (*c == '\n' || *c == '\r')
            return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: the value of %s spans lines", origin_or(origin), what);
        if (!isspace((unsigned char)*c)) blank = 0;
    }
    if (blank) return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: %s has an empty value", origin_or(origin), what);
    return FUSE2_OK;
}

/* incar.TAG: value, or incar.TAG.N for a YAML list (MAGMOM: [5, 5, 0]). */
static fuse2_status parse_incar(vasp_calc *v, const fuse2_settings *settings)
{
    fuse2_settings sub;
    FUSE2_CALL(fuse2_settings_subset(settings, "incar.", &sub));
    fuse2_status st = FUSE2_OK;
    v->tags = calloc((size_t)(sub.count > 0 ? sub.count : 1), sizeof *v->tags);
    if (!v->tags) FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_NOMEM, "VASP INCAR settings");
    for (int i = 0; i < sub.count; i++) {
        const char *key = sub.items[i].key, *value = sub.items[i].value, *origin = sub.items[i].origin;
        const char *dot = strchr(key, '.');
        size_t len = dot ? (size_t)(dot - key) : strlen(key);
        if (len == 0 || len > 40)
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: 'incar.%s' is not an INCAR tag name", origin_or(origin),
                             key);
        for (size_t k = 0; k < len; k++)
            if (!isalnum((unsigned char)key[k]) && key[k] != '_')
                FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                                 "%s: INCAR tag 'incar.%.*s' may only have letters, digits and '_'",
                                 origin_or(origin), (int)len, key);
        if (dot) {
            /* a list index; a mapping below a tag has no INCAR meaning */
            const char *d = dot + 1;
            if (!*d) goto nested;
            for (; *d; d++)
                if (!isdigit((unsigned char)*d)) goto nested;
        }
        char what[80];
        snprintf(what, sizeof what, "INCAR tag %.*s", (int)len, key);
        FUSE2_CALL_GOTO(st, check_one_line(what, value, origin), done);
        /* YAML booleans: VASP's Fortran reader wants .TRUE./.FALSE. (it
         * would misread "yes"/"no") */
        if (!dot && (!strcasecmp(value, "true") || !strcasecmp(value, "yes") || !strcasecmp(value, "on")))
            value = ".TRUE.";
        else if (!dot && (!strcasecmp(value, "false") || !strcasecmp(value, "no") || !strcasecmp(value, "off")))
            value = ".FALSE.";
        vasp_tag *t = NULL;
        for (int j = 0; j < v->ntags; j++)
            if (strlen(v->tags[j].key) == len && !strncasecmp(v->tags[j].key, key, len)) t = &v->tags[j];
        if (t && !(dot && t->from_list && !strncmp(t->key, key, len)))
            /* VASP reads the first of two and ignores the other silently */
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: INCAR tag %.*s is given twice (also at %s)",
                             origin_or(origin), (int)len, key, origin_or(t->origin));
        if (t) {
            size_t a = strlen(t->value), b = strlen(value);
            char *joined = realloc(t->value, a + b + 2);
            if (!joined) FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_NOMEM, "VASP INCAR settings");
            joined[a] = ' ';
            memcpy(joined + a + 1, value, b + 1);
            t->value = joined;
            continue;
        }
        t = &v->tags[v->ntags++];
        t->key = strndup(key, len);
        t->value = strdup(value);
        t->origin = strdup(origin_or(origin));
        t->from_list = dot != NULL;
        if (!t->key || !t->value || !t->origin) FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_NOMEM, "VASP INCAR settings");
        continue;
    nested:
        FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                         "%s: 'incar.%s': an INCAR tag takes a value or a list, not a mapping", origin_or(origin),
                         key);
    }
done:
    free((void *)sub.items);
    return st;
}

static fuse2_status parse_positive_int(const char *key, const char *text, const char *origin, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(text, &end, 10);
    while (*end == ' ' || *end == '\t') end++;
    if (end == text || *end || errno || n < 1 || n > 1000)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: '%s' must be a k-point count from 1 to 1000 (got '%s')",
                           origin_or(origin), key, text);
    *out = (int)n;
    return FUSE2_OK;
}

/* kspacing, kpoints ("4 4 4", "Gamma 4 4 4", "Monkhorst 2 2 2" or a list)
 * and INCAR's KSPACING: exactly one, because VASP silently ignores KSPACING
 * when a KPOINTS file exists (FUSE2's kcut mesh did exactly that, Q19). */
static fuse2_status parse_kpoints(vasp_calc *v, const fuse2_settings *settings)
{
    const char *ks_origin = NULL, *kp_origin = NULL;
    const char *ks = fuse2_settings_get(settings, "kspacing", &ks_origin);
    const char *kp = fuse2_settings_get(settings, "kpoints", &kp_origin);
    fuse2_settings list;
    FUSE2_CALL(fuse2_settings_subset(settings, "kpoints.", &list));
    fuse2_status st = FUSE2_OK;
    const vasp_tag *incar_ks = user_tag(v, "KSPACING");
    if (list.count > 0) kp_origin = list.items[0].origin;
    int have_kp = kp || list.count > 0;
    if (ks && have_kp)
        FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: 'kspacing' and 'kpoints' (%s) are both given: choose one",
                         origin_or(ks_origin), origin_or(kp_origin));
    if (incar_ks && (ks || have_kp))
        FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                         "%s: INCAR tag KSPACING and '%s' (%s) are both given: the KPOINTS file written for "
                         "'%s' would make VASP ignore KSPACING silently; choose one",
                         incar_ks->origin, ks ? "kspacing" : "kpoints", origin_or(ks ? ks_origin : kp_origin),
                         ks ? "kspacing" : "kpoints");
    memset(&v->kpoints, 0, sizeof v->kpoints);
    if (ks) {
        v->kpoints.mode = FUSE2_VASP_KPOINTS_GAMMA;
        FUSE2_CALL_GOTO(st, fuse2_setting_parse_double("kspacing", ks, ks_origin, &v->kpoints.spacing), done);
        if (!(v->kpoints.spacing > 0))
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: 'kspacing' must be > 0 (1/A, with 2 pi; got %s)",
                             origin_or(ks_origin), ks);
    } else if (list.count > 0) {
        if (list.count != 3)
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: 'kpoints' must list 3 numbers (got %d)",
                             origin_or(kp_origin), list.count);
        v->kpoints.mode = FUSE2_VASP_KPOINTS_GAMMA;
        for (int i = 0; i < 3; i++)
            FUSE2_CALL_GOTO(st, parse_positive_int("kpoints", list.items[i].value, list.items[i].origin,
                                                   &v->kpoints.mesh[i]),
                            done);
    } else if (kp) {
        v->kpoints.mode = FUSE2_VASP_KPOINTS_GAMMA;
        char word[32] = "";
        const char *p = kp;
        while (isspace((unsigned char)*p)) p++;
        if (isalpha((unsigned char)*p)) {
            int n = 0;
            while (isalpha((unsigned char)*p) || *p == '-') {
                if (n < (int)sizeof word - 1) word[n++] = *p;
                p++;
            }
            word[n] = '\0';
            if (!strcasecmp(word, "gamma"))
                v->kpoints.mode = FUSE2_VASP_KPOINTS_GAMMA;
            else if (!strcasecmp(word, "monkhorst") || !strcasecmp(word, "monkhorst-pack"))
                v->kpoints.mode = FUSE2_VASP_KPOINTS_MONKHORST;
            else
                FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                                 "%s: 'kpoints' must be \"N1 N2 N3\", \"Gamma N1 N2 N3\" or \"Monkhorst N1 N2 N3\" "
                                 "(got '%s')",
                                 origin_or(kp_origin), kp);
        }
        int got = 0;
        for (; got < 4; got++) {
            while (isspace((unsigned char)*p) || *p == ',') p++;
            if (!*p) break;
            char *end;
            errno = 0;
            long n = strtol(p, &end, 10);
            if (end == p || errno || n < 1 || n > 1000 || (*end && !isspace((unsigned char)*end) && *end != ','))
                break;
            if (got < 3) v->kpoints.mesh[got] = (int)n;
            p = end;
        }
        while (isspace((unsigned char)*p)) p++;
        if (got != 3 || *p)
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                             "%s: 'kpoints' must be three counts from 1 to 1000, e.g. \"4 4 4\" (got '%s')",
                             origin_or(kp_origin), kp);
    } else if (!incar_ks) {
        /* without KPOINTS VASP would fall back to its own KSPACING default
         * without telling: make the choice explicit */
        FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                         "vasp: no k-points: give 'kspacing' (1/A), 'kpoints' (\"4 4 4\") or the INCAR tag "
                         "KSPACING (incar: {KSPACING: 0.3})");
    }
done:
    free((void *)list.items);
    return st;
}

static fuse2_status check_directory(const char *path, const char *what, const char *origin)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: %s %s: %s", origin, what, path, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: %s %s is not a directory", origin, what, path);
    return FUSE2_OK;
}

/* potcar_dir (or $VASP_PP_PATH) and potcar_subdir must exist now; which
 * elements are needed is known only per structure, so their files are
 * checked when written, except those named in `setups`, checked here. */
static fuse2_status parse_potcar(vasp_calc *v, const fuse2_settings *settings)
{
    const char *origin = NULL;
    const char *dir = fuse2_settings_get(settings, "potcar_dir", &origin);
    char where[256];
    if (dir) {
        if (!*dir) return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'potcar_dir' is empty", origin_or(origin));
        snprintf(where, sizeof where, "%s", origin_or(origin));
    } else {
        dir = getenv("VASP_PP_PATH");
        if (!dir || !*dir)
            return FUSE2_RAISE(FUSE2_ERR_ARG,
                               "vasp: no POTCAR directory: set 'potcar_dir' or VASP_PP_PATH (the directory "
                               "holding potpaw_PBE/)");
        snprintf(where, sizeof where, "VASP_PP_PATH");
    }
    FUSE2_CALL(check_directory(dir, "POTCAR directory ('potcar_dir')", where));
    const char *sub_origin = NULL;
    const char *sub = fuse2_settings_get(settings, "potcar_subdir", &sub_origin);
    if (sub && (!*sub || strstr(sub, "..")))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'potcar_subdir' '%s' is not a subdirectory name",
                           origin_or(sub_origin), sub);
    if (!sub) sub = "potpaw_PBE";
    v->potcar_dir = strdup(dir);
    v->potcar_subdir = strdup(sub);
    v->potcar_where = strdup(sub_origin ? sub_origin : where);
    if (!v->potcar_dir || !v->potcar_subdir || !v->potcar_where) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "VASP settings");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    FUSE2_CALL(check_directory(path, "POTCAR set ('potcar_subdir')", sub_origin ? sub_origin : where));

    fuse2_settings setups;
    FUSE2_CALL(fuse2_settings_subset(settings, "setups.", &setups));
    fuse2_status st = FUSE2_OK;
    v->setups = calloc((size_t)(setups.count > 0 ? setups.count : 1), sizeof *v->setups);
    if (!v->setups) FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_NOMEM, "VASP settings");
    for (int i = 0; i < setups.count; i++) {
        const fuse2_setting *it = &setups.items[i];
        int z = fuse2_element_z_from_symbol(it->key);
        if (z < 1)
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: 'setups.%s': '%s' is not an element symbol",
                             origin_or(it->origin), it->key, it->key);
        const char *sym = fuse2_element_by_z(z)->symbol;
        for (int j = 0; j < v->nsetups; j++)
            if (!strcmp(v->setups[j].key, sym))
                FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: 'setups.%s' is given twice", origin_or(it->origin),
                                 it->key);
        if (!*it->value || strchr(it->value, '/') || strstr(it->value, "..") || strchr(it->value, ' '))
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                             "%s: 'setups.%s' must be a suffix such as _sv or a POTCAR name such as %s_sv "
                             "(got '%s')",
                             origin_or(it->origin), it->key, sym, it->value);
        if (v->nsetups >= (int)(sizeof v->setup_origin / sizeof v->setup_origin[0]))
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: too many 'setups' entries", origin_or(it->origin));
        v->setups[v->nsetups].key = strdup(sym);
        v->setups[v->nsetups].value = strdup(it->value);
        v->setup_origin[v->nsetups] = strdup(origin_or(it->origin));
        v->nsetups++;
        if (!v->setups[v->nsetups - 1].key || !v->setups[v->nsetups - 1].value || !v->setup_origin[v->nsetups - 1])
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_NOMEM, "VASP settings");
        /* the element is known here: its POTCAR can be checked now (same
         * naming rule as fuse2_vasp_write_potcar) */
        char name[128];
        fuse2_vasp_potcar_name(sym, it->value, name, sizeof name);
        snprintf(path, sizeof path, "%s/%s/%s/POTCAR", dir, sub, name);
        if (access(path, R_OK) != 0)
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: 'setups.%s': no POTCAR %s: %s", origin_or(it->origin),
                             it->key, path, strerror(errno));
    }
done:
    free((void *)setups.items);
    return st;
}

/* species_order: "Nb C O" (spaces or commas) or a YAML list. */
static fuse2_status parse_species_order(vasp_calc *v, const fuse2_settings *settings)
{
    const char *origin = NULL;
    const char *text = fuse2_settings_get(settings, "species_order", &origin);
    fuse2_settings list;
    FUSE2_CALL(fuse2_settings_subset(settings, "species_order.", &list));
    fuse2_status st = FUSE2_OK;
    /* one string: split it into the same shape as the list */
    char buf[1024];
    const char *words[FUSE2_VASP_MAX_SPECIES + 1];
    const char *origins[FUSE2_VASP_MAX_SPECIES + 1];
    int n = 0;
    if (text && list.count > 0)
        FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: 'species_order' is given twice", origin_or(origin));
    if (text) {
        snprintf(buf, sizeof buf, "%s", text);
        for (char *save = NULL, *w = strtok_r(buf, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
            if (n > FUSE2_VASP_MAX_SPECIES) break;
            origins[n] = origin;
            words[n++] = w;
        }
    } else {
        for (int i = 0; i < list.count && n <= FUSE2_VASP_MAX_SPECIES; i++) {
            origins[n] = list.items[i].origin;
            words[n++] = list.items[i].value;
        }
    }
    if (n > FUSE2_VASP_MAX_SPECIES)
        FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: 'species_order' lists more than %d species",
                         origin_or(origins[0]), FUSE2_VASP_MAX_SPECIES);
    for (int i = 0; i < n; i++) {
        int z = fuse2_element_z_from_symbol(words[i]);
        if (z < 1)
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: 'species_order': '%s' is not an element symbol",
                             origin_or(origins[i]), words[i]);
        for (int j = 0; j < v->npreferred; j++)
            if (v->preferred[j] == z)
                FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: 'species_order' lists %s twice",
                                 origin_or(origins[i]), words[i]);
        v->preferred[v->npreferred++] = z;
    }
done:
    free((void *)list.items);
    return st;
}

static void clear_fix(vasp_calc *v, int c)
{
    for (int i = 0; i < v->nfix[c]; i++) {
        free((char *)v->fix[c][i].key);
        free((char *)v->fix[c][i].value);
    }
    v->nfix[c] = 0;
    v->fix_text[c][0] = '\0';
}

static fuse2_status add_fix(vasp_calc *v, int c, const char *tag, size_t len, const char *value, const char *origin)
{
    for (int i = 0; i < v->nfix[c]; i++)
        if (strlen(v->fix[c][i].key) == len && !strncasecmp(v->fix[c][i].key, tag, len))
            return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'retry.%s.%.*s' is given twice", origin_or(origin),
                               fuse2_vasp_fix_class_name((fuse2_vasp_fix_class)c), (int)len, tag);
    if (v->nfix[c] == MAX_FIX_TAGS)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: more than %d INCAR tags in 'retry.%s'", origin_or(origin),
                           MAX_FIX_TAGS, fuse2_vasp_fix_class_name((fuse2_vasp_fix_class)c));
    char *k = strndup(tag, len), *val = strdup(value);
    if (!k || !val) {
        free(k);
        free(val);
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "VASP retry settings");
    }
    for (char *p = k; *p; p++) *p = (char)toupper((unsigned char)*p);
    v->fix[c][v->nfix[c]++] = (fuse2_vasp_kv){k, val};
    size_t used = strlen(v->fix_text[c]);
    snprintf(v->fix_text[c] + used, sizeof v->fix_text[c] - used, "%s%s = %s", used ? ", " : "", k, val);
    return FUSE2_OK;
}

static int is_off(const char *text)
{
    return !strcasecmp(text, "none") || !strcasecmp(text, "false") || !strcasecmp(text, "no") ||
           !strcasecmp(text, "off") || !*text;
}

/* retry: none | {<class>: none | {TAG: value, ...}, ...}, arriving as
 * "retry", "retry.<class>" and "retry.<class>.<TAG>"; and the older
 * retry_symmetry: true/false. Default: symmetry -> ISYM = 0. */
static fuse2_status parse_retry(vasp_calc *v, const fuse2_settings *settings)
{
    int user[NFIX_CLASSES] = {0}; /* the user's tags replace the class's default */
    FUSE2_CALL(add_fix(v, FUSE2_VASP_FIX_SYMMETRY, "ISYM", 4, "0", "default"));
    const char *origin = NULL, *text;
    int retry_symmetry = 1;
    const char *rs_origin = NULL;
    if ((text = fuse2_settings_get(settings, "retry_symmetry", &rs_origin)))
        FUSE2_CALL(fuse2_setting_parse_bool("retry_symmetry", text, rs_origin, &retry_symmetry));
    if ((text = fuse2_settings_get(settings, "retry", &origin))) {
        if (!is_off(text))
            return FUSE2_RAISE(FUSE2_ERR_ARG,
                               "%s: 'retry' must be none or a mapping of fix classes to INCAR tags, e.g. "
                               "{symmetry: {ISYM: 0}, electronic: {ALGO: Normal}} (got '%s')",
                               origin_or(origin), text);
        for (int c = 1; c < NFIX_CLASSES; c++) clear_fix(v, c);
    }
    fuse2_settings sub;
    FUSE2_CALL(fuse2_settings_subset(settings, "retry.", &sub));
    fuse2_status st = FUSE2_OK;
    for (int i = 0; i < sub.count; i++) {
        const char *key = sub.items[i].key, *value = sub.items[i].value, *o = origin_or(sub.items[i].origin);
        if (fuse2_settings_get(settings, "retry", NULL))
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: 'retry' is given both as %s and as a mapping", o,
                             fuse2_settings_get(settings, "retry", NULL));
        const char *dot = strchr(key, '.');
        size_t clen = dot ? (size_t)(dot - key) : strlen(key);
        int c = 0;
        for (int k = 1; k < NFIX_CLASSES; k++) {
            const char *name = fuse2_vasp_fix_class_name((fuse2_vasp_fix_class)k);
            if (strlen(name) == clen && !strncasecmp(name, key, clen)) c = k;
        }
        if (!c)
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                             "%s: 'retry.%.*s': unknown fix class (known: symmetry, electronic, ionic, bands, "
                             "lattice)",
                             o, (int)clen, key);
        if (!dot) { /* retry: {electronic: none} */
            if (!is_off(value))
                FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                                 "%s: 'retry.%s' must be none or a mapping of INCAR tags (got '%s')", o, key, value);
            clear_fix(v, c);
            user[c] = 1;
            continue;
        }
        const char *tag = dot + 1;
        size_t len = strlen(tag);
        if (len == 0 || len > 40 || strchr(tag, '.'))
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                             "%s: 'retry.%s': a retry entry is one INCAR tag with one value (e.g. "
                             "retry: {%.*s: {ALGO: Normal}})",
                             o, key, (int)clen, key);
        for (size_t k = 0; k < len; k++)
            if (!isalnum((unsigned char)tag[k]) && tag[k] != '_')
                FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                                 "%s: INCAR tag 'retry.%s' may only have letters, digits and '_'", o, key);
        char what[96];
        snprintf(what, sizeof what, "INCAR tag retry.%s", key);
        FUSE2_CALL_GOTO(st, check_one_line(what, value, o), done);
        if (c == FUSE2_VASP_FIX_SYMMETRY && !retry_symmetry)
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                             "%s: 'retry.%s' contradicts 'retry_symmetry: false' (%s); drop one of them", o, key,
                             origin_or(rs_origin));
        if (same_tag(tag, "KSPACING") && v->kpoints.mode != FUSE2_VASP_KPOINTS_NONE)
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                             "%s: 'retry.%s': VASP ignores KSPACING when a KPOINTS file is written "
                             "(kspacing/kpoints settings)",
                             o, key);
        if (!user[c]) clear_fix(v, c);
        user[c] = 1;
        if (!strcasecmp(value, "true") || !strcasecmp(value, "yes") || !strcasecmp(value, "on")) value = ".TRUE.";
        else if (!strcasecmp(value, "false") || !strcasecmp(value, "no") || !strcasecmp(value, "off"))
            value = ".FALSE.";
        FUSE2_CALL_GOTO(st, add_fix(v, c, tag, len, value, o), done);
    }
    if (!retry_symmetry) clear_fix(v, FUSE2_VASP_FIX_SYMMETRY);
done:
    free((void *)sub.items);
    return st;
}

static fuse2_status vasp_create(const fuse2_settings *settings, void **state)
{
    vasp_calc *v = calloc(1, sizeof *v);
    if (!v) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "VASP calculator");
    v->delete_wavecar = 1;
    v->force_tolerance = DEFAULT_FORCE_TOLERANCE;
    fuse2_status st = FUSE2_OK;
    FUSE2_CALL_GOTO(st, fuse2_ext_common_parse(settings, DEFAULT_COMMAND, &v->common), fail);
    FUSE2_CALL_GOTO(st, parse_incar(v, settings), fail);
    FUSE2_CALL_GOTO(st, parse_kpoints(v, settings), fail);
    FUSE2_CALL_GOTO(st, parse_potcar(v, settings), fail);
    FUSE2_CALL_GOTO(st, parse_species_order(v, settings), fail);
    FUSE2_CALL_GOTO(st, parse_retry(v, settings), fail);
    const char *origin = NULL, *text;
    if ((text = fuse2_settings_get(settings, "delete_wavecar", &origin)))
        FUSE2_CALL_GOTO(st, fuse2_setting_parse_bool("delete_wavecar", text, origin, &v->delete_wavecar), fail);
    if ((text = fuse2_settings_get(settings, "force_tolerance", &origin))) {
        FUSE2_CALL_GOTO(st, fuse2_setting_parse_double("force_tolerance", text, origin, &v->force_tolerance), fail);
        if (v->force_tolerance < 0)
            FUSE2_RAISE_GOTO(st, fail, FUSE2_ERR_ARG, "%s: 'force_tolerance' must be >= 0 eV/A (got %s)",
                             origin_or(origin), text);
    }
    *state = v;
    return FUSE2_OK;
fail:
    vasp_destroy(v);
    return st;
}

/* ---- inputs ---- */

static fuse2_status path_in(char *path, size_t size, const char *dir, const char *name)
{
    int n = snprintf(path, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size) return FUSE2_RAISE(FUSE2_ERR_ARG, "path %s/%s is too long", dir, name);
    return FUSE2_OK;
}

/* The active retry's value for an INCAR tag, or NULL. */
static const char *fix_value(const vasp_calc *v, const char *key)
{
    if (!v->active_fix) return NULL;
    for (int i = 0; i < v->nfix[v->active_fix]; i++)
        if (same_tag(v->fix[v->active_fix][i].key, key)) return v->fix[v->active_fix][i].value;
    return NULL;
}

/* The user's tag, unless the retry being written replaces it. */
static const char *or_fix(const vasp_calc *v, const char *key, const char *value)
{
    const char *f = fix_value(v, key);
    return f ? f : value;
}

/* INCAR: the user's tags in their order, then the defaults for what they
 * left out. A single point forces NSW = 0 and IBRION = -1 (a relaxation
 * INCAR must not turn compute() into a relaxation); a retry replaces or
 * adds the tags of its fix class (retry.<class>). */
static fuse2_status write_incar(vasp_calc *v, const char *path, const fuse2_relax_options *opt, int single_point)
{
    fuse2_vasp_kv *kv = malloc(sizeof *kv * (size_t)(v->ntags + 8 + MAX_FIX_TAGS));
    if (!kv) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "INCAR");
    int n = 0;
    for (int i = 0; i < v->ntags; i++) {
        const char *key = v->tags[i].key, *value = or_fix(v, key, v->tags[i].value);
        if (single_point && same_tag(key, "NSW")) value = "0";
        if (single_point && same_tag(key, "IBRION")) value = "-1";
        kv[n++] = (fuse2_vasp_kv){key, value};
    }
    char nsw[32], ediffg[32], pstress[48];
    if (single_point) {
        if (!user_tag(v, "NSW")) kv[n++] = (fuse2_vasp_kv){"NSW", "0"};
        if (!user_tag(v, "IBRION")) kv[n++] = (fuse2_vasp_kv){"IBRION", "-1"};
    } else {
        /* conjugate gradient on ions and cell, as FUSE2's ladder does */
        if (!user_tag(v, "IBRION")) kv[n++] = (fuse2_vasp_kv){"IBRION", or_fix(v, "IBRION", "2")};
        if (!user_tag(v, "ISIF"))
            kv[n++] = (fuse2_vasp_kv){"ISIF", or_fix(v, "ISIF", opt && opt->fixed_cell ? "2" : "3")};
        if (!user_tag(v, "NSW")) {
            snprintf(nsw, sizeof nsw, "%d", opt && opt->max_steps > 0 ? opt->max_steps : 100);
            kv[n++] = (fuse2_vasp_kv){"NSW", or_fix(v, "NSW", nsw)};
        }
        if (!user_tag(v, "EDIFFG") && opt && opt->fmax > 0) {
            /* negative: a force criterion (eV/A), like the built-in relaxation's fmax */
            snprintf(ediffg, sizeof ediffg, "%.6g", -opt->fmax);
            kv[n++] = (fuse2_vasp_kv){"EDIFFG", or_fix(v, "EDIFFG", ediffg)};
        }
        if (!user_tag(v, "PSTRESS") && opt && opt->pressure != 0) {
            snprintf(pstress, sizeof pstress, "%.10g", opt->pressure * FUSE2_VASP_EV_A3_IN_KBAR);
            kv[n++] = (fuse2_vasp_kv){"PSTRESS", or_fix(v, "PSTRESS", pstress)};
        }
    }
    /* the retry's tags that are not written yet */
    for (int i = 0; v->active_fix && i < v->nfix[v->active_fix]; i++) {
        const fuse2_vasp_kv *f = &v->fix[v->active_fix][i];
        int written = 0;
        for (int k = 0; k < n; k++) written |= same_tag(kv[k].key, f->key);
        if (!written) kv[n++] = *f;
    }
    fuse2_status st = fuse2_vasp_write_incar(path, kv, n, &v->kpoints);
    free(kv);
    FUSE2_CALL(st);
    return FUSE2_OK;
}

static fuse2_status vasp_write_inputs(void *state, const char *dir, const fuse2_structure *s,
                                      const fuse2_relax_options *opt, int single_point)
{
    vasp_calc *v = state;
    int species[FUSE2_VASP_MAX_SPECIES], nspecies = 0;
    FUSE2_CALL(fuse2_vasp_species_order(s, v->preferred, v->npreferred, species, &nspecies));
    if (s->natoms > v->perm_cap) {
        int *grown = realloc(v->perm, sizeof *grown * (size_t)s->natoms);
        if (!grown) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "VASP atom order");
        v->perm = grown;
        v->perm_cap = s->natoms;
    }
    v->perm_n = 0; /* until POSCAR is written, parse has no order to undo */
    char path[4096];
    /* POTCAR first: a missing pseudopotential is the likeliest mistake */
    FUSE2_CALL(path_in(path, sizeof path, dir, "POTCAR"));
    FUSE2_CALL(fuse2_vasp_write_potcar(path, species, nspecies, v->potcar_dir, v->potcar_subdir, v->setups,
                                       v->nsetups));
    FUSE2_CALL(path_in(path, sizeof path, dir, "POSCAR"));
    FUSE2_CALL(fuse2_vasp_write_poscar(path, s, species, nspecies, "fuse2", v->perm));
    v->perm_n = s->natoms;
    FUSE2_CALL(path_in(path, sizeof path, dir, "INCAR"));
    FUSE2_CALL(write_incar(v, path, opt, single_point));
    if (v->kpoints.mode != FUSE2_VASP_KPOINTS_NONE) {
        FUSE2_CALL(path_in(path, sizeof path, dir, "KPOINTS"));
        FUSE2_CALL(fuse2_vasp_write_kpoints(path, &v->kpoints, s->lattice));
    }
    return FUSE2_OK;
}

/* ---- outputs ---- */

static void drop_forces(fuse2_ext_output *out)
{
    free(out->forces);
    out->forces = NULL;
    out->has_forces = 0;
}

static fuse2_status vasp_parse(void *state, const char *dir, const fuse2_structure *input, fuse2_ext_output *out)
{
    vasp_calc *v = state;
    FUSE2_CALL(fuse2_vasp_parse_run(dir, VASP_STDOUT, out));
    if (v->delete_wavecar) {
        /* the largest file of a run, useless once it ended (each run starts
         * in a fresh directory): only kept directories would hold it */
        char path[4096];
        if (path_in(path, sizeof path, dir, "WAVECAR") == FUSE2_OK) unlink(path);
        else fuse2_error_clear();
    }
    if (v->perm_n != input->natoms)
        return FUSE2_RAISE(FUSE2_ERR_INTERNAL, "vasp: parsing %s without the atom order of its POSCAR", dir);
    /* rows of the output follow the POSCAR; the caller knows the input order */
    if (!out->has_structure) {
        drop_forces(out); /* their number of rows is then unknown */
        return FUSE2_OK;
    }
    if (out->structure.natoms != input->natoms) {
        drop_forces(out);
        if (!fuse2_ext_outcome_failed(out->outcome))
            fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE, "%s/CONTCAR has %d atoms, POSCAR %d", dir,
                                  out->structure.natoms, input->natoms);
        return FUSE2_OK;
    }
    FUSE2_CALL(fuse2_vasp_unpermute_output(out, v->perm, v->perm_n));
    for (int i = 0; i < input->natoms; i++)
        if (out->structure.species[i] != input->species[i]) {
            if (!fuse2_ext_outcome_failed(out->outcome))
                fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE,
                                      "%s/CONTCAR atom order does not match POSCAR (atom %d: Z %d, expected %d)", dir,
                                      i + 1, out->structure.species[i], input->species[i]);
            break;
        }
    return FUSE2_OK;
}

static const fuse2_ext_driver VASP_DRIVER = {
    .code = "vasp",
    .write_inputs = vasp_write_inputs,
    .parse = vasp_parse,
    .stdin_file = NULL,
    .stdout_file = "vasp.out",
};

/* ---- runs ---- */

/* Two INCAR values mean the same: equal as numbers, or as words. */
static int same_value(const char *a, const char *b)
{
    char *ea, *eb;
    double x = strtod(a, &ea), y = strtod(b, &eb);
    while (isspace((unsigned char)*ea)) ea++;
    while (isspace((unsigned char)*eb)) eb++;
    if (ea != a && eb != b && !*ea && !*eb) return x == y;
    while (isspace((unsigned char)*a)) a++;
    while (isspace((unsigned char)*b)) b++;
    size_t la = strlen(a), lb = strlen(b);
    while (la && isspace((unsigned char)a[la - 1])) la--;
    while (lb && isspace((unsigned char)b[lb - 1])) lb--;
    return la == lb && !strncasecmp(a, b, la);
}

/* The fix class to retry with, 0 for none: a crash of a class that has a
 * fix which changes something (the user's INCAR may already hold it: then
 * a rerun would be the same run). */
static int retry_class(const vasp_calc *v, const fuse2_ext_output *out)
{
    if (out->outcome != FUSE2_EXT_CRASHED) return 0;
    int c = (int)fuse2_vasp_signature_class(out->signature);
    if (c <= 0 || c >= NFIX_CLASSES || !v->nfix[c]) return 0;
    for (int i = 0; i < v->nfix[c]; i++) {
        const vasp_tag *t = user_tag(v, v->fix[c][i].key);
        if (!t || !same_value(t->value, v->fix[c][i].value)) return c;
    }
    return 0;
}

typedef struct run_report {
    int retried;
    char fix[256];
    char first_signature[32];
    char first_outcome[32];
    int first_steps;
} run_report;

/* One run, and the symmetry retry when it is due. dir gets the directory
 * kept for the final attempt ("" if removed). */
static fuse2_status run_with_retry(vasp_calc *v, const fuse2_structure *s, const fuse2_relax_options *opt,
                                   int single_point, fuse2_ext_output *out, char *dir, int dir_size,
                                   run_report *rep)
{
    memset(rep, 0, sizeof *rep);
    double t0 = fuse2_monotonic_seconds();
    v->active_fix = 0;
    FUSE2_CALL(fuse2_ext_run_driver(&VASP_DRIVER, v, &v->common, s, opt, single_point, out, dir, dir_size));
    int cls = retry_class(v, out);
    if (!cls) return FUSE2_OK;

    fuse2_relax_options left;
    if (opt) {
        left = *opt;
        if (opt->time_limit > 0) {
            left.time_limit = opt->time_limit - (fuse2_monotonic_seconds() - t0);
            if (left.time_limit <= 0) return FUSE2_OK; /* no time for a retry: report the first failure */
        }
        if (opt->interrupt && opt->interrupt(opt->interrupt_user)) return FUSE2_OK;
    }
    char first_dir[4096];
    snprintf(first_dir, sizeof first_dir, "%s", dir);
    char first_reason[FUSE2_REASON_LEN];
    snprintf(first_reason, sizeof first_reason, "%s", out->reason);
    rep->retried = 1;
    snprintf(rep->fix, sizeof rep->fix, "%s", v->fix_text[cls]);
    snprintf(rep->first_signature, sizeof rep->first_signature, "%s", out->signature);
    snprintf(rep->first_outcome, sizeof rep->first_outcome, "%s", fuse2_ext_outcome_name(out->outcome));
    rep->first_steps = out->ionic_steps > 0 ? out->ionic_steps : 0;

    v->active_fix = cls;
    fuse2_status st =
        fuse2_ext_run_driver(&VASP_DRIVER, v, &v->common, s, opt ? &left : NULL, single_point, out, dir, dir_size);
    v->active_fix = 0;
    FUSE2_CALL(st);
    if (!fuse2_ext_outcome_failed(out->outcome)) {
        /* the retry superseded the failed attempt */
        if (first_dir[0] && !v->common.keep_scratch) FUSE2_CALL(fuse2_remove_tree(first_dir));
    } else {
        /* both attempts, the retry's reason first: stores cut long reasons */
        char text[2 * FUSE2_REASON_LEN + 4096 + 512];
        snprintf(text, sizeof text, "retried with %s after %s: %s; first attempt: %s%s%s", rep->fix,
                 rep->first_signature, out->reason, first_reason, first_dir[0] ? " in " : "", first_dir);
        size_t len = strlen(text);
        if (len >= sizeof out->reason) len = sizeof out->reason - 1;
        memcpy(out->reason, text, len);
        out->reason[len] = '\0';
    }
    return FUSE2_OK;
}

/* The largest |Cartesian component| of the forces (Q20), NAN without forces. */
static double max_force_component(const fuse2_ext_output *out)
{
    if (!out->has_forces || !out->forces || !out->has_structure) return NAN;
    double m = 0;
    for (int i = 0; i < out->structure.natoms; i++)
        for (int k = 0; k < 3; k++) m = fmax(m, fabs(out->forces[i][k]));
    return m;
}

static void set_reason(fuse2_relax_result *result, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_reason(fuse2_relax_result *result, const char *fmt, ...)
{
    char text[2 * FUSE2_REASON_LEN + 4096 + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    size_t len = strlen(text);
    if (len >= sizeof result->reason) len = sizeof result->reason - 1;
    memcpy(result->reason, text, len);
    result->reason[len] = '\0';
}

static fuse2_status vasp_relax(void *state, fuse2_structure *s, const fuse2_relax_options *opt,
                               fuse2_relax_result *result)
{
    vasp_calc *v = state;
    fuse2_ext_output out;
    fuse2_ext_output_init(&out);
    char dir[4096] = "";
    run_report rep;
    fuse2_status st = run_with_retry(v, s, opt, 0, &out, dir, sizeof dir, &rep);
    /* FUSE2's NSW rule, judged before the output is consumed */
    int reject = 0;
    double fmax_component = NAN;
    if (st == FUSE2_OK && out.outcome == FUSE2_EXT_NOT_CONVERGED) {
        fmax_component = max_force_component(&out);
        reject = !(fmax_component <= v->force_tolerance);
    }
    char not_converged[FUSE2_REASON_LEN];
    snprintf(not_converged, sizeof not_converged, "%s", out.reason);
    if (st == FUSE2_OK) st = fuse2_ext_output_to_relax_result(&out, dir, s, opt, result);
    fuse2_ext_output_free(&out);
    FUSE2_CALL(st);
    if (reject) {
        result->status = FUSE2_RELAX_FAILED;
        if (isnan(fmax_component))
            set_reason(result, "not_converged: %s; no final forces to judge against force_tolerance %g eV/A",
                       not_converged, v->force_tolerance);
        else
            set_reason(result, "not_converged: %s; max |F| component %.4g eV/A > force_tolerance %g eV/A",
                       not_converged, fmax_component, v->force_tolerance);
    }
    if (rep.retried) {
        result->evaluations += rep.first_steps;
        if (result->status == FUSE2_RELAX_CONVERGED)
            set_reason(result, "converged after a retry with %s (first attempt %s: %s)", rep.fix, rep.first_outcome,
                       rep.first_signature);
        else if (result->status == FUSE2_RELAX_MAX_STEPS)
            set_reason(result, "%s (after a retry with %s for %s)", result->reason, rep.fix, rep.first_signature);
    }
    return FUSE2_OK;
}

static fuse2_status vasp_compute(void *state, const fuse2_structure *s, fuse2_calc_result *result)
{
    vasp_calc *v = state;
    fuse2_ext_output out;
    fuse2_ext_output_init(&out);
    char dir[4096] = "";
    run_report rep;
    fuse2_status st = run_with_retry(v, s, NULL, 1, &out, dir, sizeof dir, &rep);
    if (st == FUSE2_OK) st = fuse2_ext_output_to_calc_result(VASP_DRIVER.code, &out, dir, s, result);
    fuse2_ext_output_free(&out);
    FUSE2_CALL(st);
    return FUSE2_OK;
}

/* Every element of the composition needs its POTCAR (the name rule of
 * fuse2_vasp_write_potcar: symbol + setups suffix). */
static fuse2_status vasp_check_elements(void *state, const int *z, int n)
{
    const vasp_calc *v = state;
    for (int i = 0; i < n; i++) {
        const fuse2_element *el = fuse2_element_by_z(z[i]);
        if (!el) return FUSE2_RAISE(FUSE2_ERR_ARG, "vasp: unknown atomic number %d", z[i]);
        const char *setup = "", *origin = v->potcar_where;
        for (int j = 0; j < v->nsetups; j++)
            if (!strcmp(v->setups[j].key, el->symbol)) {
                setup = v->setups[j].value;
                origin = v->setup_origin[j];
            }
        char name[128], path[4400];
        fuse2_vasp_potcar_name(el->symbol, setup, name, sizeof name);
        snprintf(path, sizeof path, "%s/%s/%s/POTCAR", v->potcar_dir, v->potcar_subdir, name);
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || access(path, R_OK) != 0)
            return FUSE2_RAISE(FUSE2_ERR_ARG,
                               "%s: no POTCAR for %s, an element of the composition: %s is missing or unreadable "
                               "(choose another with 'setups.%s')",
                               origin_or(origin), el->symbol, path, el->symbol);
        if (sb.st_size == 0)
            return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: the POTCAR for %s, an element of the composition, is empty: %s",
                               origin_or(origin), el->symbol, path);
    }
    return FUSE2_OK;
}

const fuse2_calc_ops fuse2_vasp_calc_ops = {
    .name = "vasp",
    .description = "VASP (external program): POSCAR/INCAR/KPOINTS/POTCAR per structure, its own relaxation",
    .keys = vasp_keys,
    .common_keys = fuse2_ext_common_keys,
    .create = vasp_create,
    .destroy = vasp_destroy,
    .compute = vasp_compute,
    .relax = vasp_relax,
    .check_elements = vasp_check_elements,
};
