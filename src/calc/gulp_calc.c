/* The "gulp" calculator: GULP run as an external program, one run per
 * structure, through the driver framework (fuse2/external.h). GULP does the
 * relaxation itself (`opti`); a single point replaces `opti` by `sing`.
 * Specification: ../shared/docs/calculators.md §5-6 and fuse2-algorithm.md
 * §10.1-10.2 (how FUSE2 drives GULP).
 *
 * Settings (besides the common ones of fuse2/external.h):
 *   keywords               GULP keyword line, default "opti conp conj"
 *   options                option lines in order (a YAML list; one string
 *                          is one line), e.g. [maxcyc 1500, time 5 minutes]
 *   library                potential library, written as `library <absolute path>`
 *   spp_path               FUSE2's SPP library directory: lib.lib is assembled
 *                          per run from its pair tables and `noelectro` is added
 *   spp_legacy_duplicates  write every hetero pair twice, as FUSE2 does (Q42)
 *   spp_cutoff, spp_taper  with spp_path: the option `cutp <spp_cutoff>
 *                          <spp_taper>` (default 11.0 2.0, FUSE2's) is added
 *                          unless the options have a cutp line already
 *   dump                   GULP's dump (restart) file, default temp.res; its
 *                          7-decimal coordinates refine the final structure
 * The run reads gulp.gin and writes gulp.got in its scratch directory (the
 * framework also connects them to standard input and output, so a bare
 * `gulp` works as the command). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse2/calc.h"
#include "fuse2/elements.h"
#include "fuse2/external.h"
#include "fuse2/gulp.h"
#include "fuse2/relax.h"
#include "fuse2/spp.h"
#include "fuse2/structure_io.h"

static const char *const DEFAULT_COMMAND = "gulp < gulp.gin > gulp.got";
static const char *const DEFAULT_KEYWORDS = "opti conp conj";
static const char *const DEFAULT_DUMP = "temp.res";
static const char *const INPUT_FILE = "gulp.gin";
static const char *const OUTPUT_FILE = "gulp.got";
static const char *const SPP_LIBRARY = "lib.lib";
/* 1 eV/Å^3 in GPa (GULP's `pressure` unit here). */
static const double EV_PER_A3_IN_GPA = 1.602176634e-19 / 1e-21;

/* This calculator's own keys besides fuse2_ext_common_keys ("options" is
 * one line, "options.*" the flattened YAML list). */
static const char *const gulp_keys[] = {"keywords",   "options",   "options.*", "library", "spp_path",
                                        "spp_legacy_duplicates", "spp_cutoff", "spp_taper", "dump", NULL};

typedef struct gulp_calc {
    fuse2_ext_common common;
    char *keywords_relax;   /* the keyword line of a relaxation */
    char *keywords_single;  /* ... of a single point: opti -> sing */
    char **options;         /* user option lines, in list order */
    int noptions;
    char *library;          /* absolute path or NULL */
    char *spp_path;         /* absolute directory or NULL */
    char *spp_origin;       /* where spp_path was set, for error messages */
    int spp_duplicates;
    char cutp_line[96];     /* "cutp 11 2" with spp_path unless the options have one; "" none */
    char *dump;
    double pressure;        /* eV/Å^3 of the run being prepared/parsed */
} gulp_calc;

static const char *origin_or(const char *origin) { return origin ? origin : "settings"; }

static void gulp_destroy(void *state)
{
    gulp_calc *g = state;
    if (!g) return;
    fuse2_ext_common_free(&g->common);
    free(g->keywords_relax);
    free(g->keywords_single);
    for (int i = 0; i < g->noptions; i++) free(g->options[i]);
    free(g->options);
    free(g->library);
    free(g->spp_path);
    free(g->spp_origin);
    free(g->dump);
    free(g);
}

/* ---- settings ---- */

/* GULP recognises keywords and option names by their first four letters
 * ("opti", "optimise", "optimize"), case-insensitively: so does this. */
static int word_is(const char *w, size_t len, const char *name)
{
    return len >= 4 && strncasecmp(w, name, 4) == 0;
}

/* The first white-space separated word of s: start and length. */
static const char *first_word(const char *s, size_t *len)
{
    while (*s == ' ' || *s == '\t') s++;
    *len = strcspn(s, " \t");
    return s;
}

static int has_keyword(const char *line, const char *name)
{
    const char *p = line;
    for (;;) {
        size_t len;
        p = first_word(p, &len);
        if (!len) return 0;
        if (word_is(p, len, name)) return 1;
        p += len;
    }
}

/* The single-point line: every `opti...` word becomes `sing`, and `sing` is
 * put first when the line names no run type (GULP's default without opti is
 * a single point anyway, but saying so keeps the .gin self-explanatory). */
static fuse2_status single_point_keywords(const char *line, char **out)
{
    size_t cap = strlen(line) + 8;
    char *s = malloc(cap);
    if (!s) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "GULP keywords");
    s[0] = '\0';
    int have_sing = has_keyword(line, "single");
    if (!have_sing && !has_keyword(line, "optimise")) strcat(s, "sing");
    const char *p = line;
    for (;;) {
        size_t len;
        p = first_word(p, &len);
        if (!len) break;
        int opti = word_is(p, len, "optimise");
        if (!opti || !have_sing) {
            if (*s) strcat(s, " ");
            if (opti) strcat(s, "sing");
            else strncat(s, p, len);
        }
        have_sing |= opti;
        p += len;
    }
    *out = s;
    return FUSE2_OK;
}

static fuse2_status parse_keywords(const fuse2_settings *settings, gulp_calc *g)
{
    const char *origin = NULL;
    const char *text = fuse2_settings_get(settings, "keywords", &origin);
    if (!text) text = DEFAULT_KEYWORDS;
    if (strpbrk(text, "\n\r"))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'keywords' must be one line of GULP keywords", origin_or(origin));
    size_t len;
    first_word(text, &len);
    if (!len)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'keywords' is empty (e.g. \"%s\")", origin_or(origin),
                           DEFAULT_KEYWORDS);
    /* FUSE2 runs its SPP tables without charges (calculators.md §5) */
    int add_noelectro = g->spp_path && !has_keyword(text, "noelectrostatics");
    size_t size = strlen(text) + sizeof " noelectro";
    g->keywords_relax = malloc(size);
    if (!g->keywords_relax) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "GULP keywords");
    snprintf(g->keywords_relax, size, "%s%s", text, add_noelectro ? " noelectro" : "");
    return single_point_keywords(g->keywords_relax, &g->keywords_single);
}

/* An option line the driver writes itself, or that would break the run. */
static fuse2_status check_option(const char *line, const char *origin)
{
    size_t len;
    const char *w = first_word(line, &len);
    if (strpbrk(line, "\n\r"))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: a GULP option must be one line (got '%.40s...')", origin, line);
    if (!len) return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: empty GULP option line", origin);
    if (word_is(w, len, "dump"))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: set the dump file with the 'dump' setting, not as an option ('%s')",
                           origin, line);
    if (word_is(w, len, "library"))
        return FUSE2_RAISE(FUSE2_ERR_ARG,
                           "%s: give the potential library with the 'library' setting (its path is "
                           "resolved and checked), not as an option ('%s')",
                           origin, line);
    if (word_is(w, len, "pressure"))
        return FUSE2_RAISE(FUSE2_ERR_ARG,
                           "%s: set the campaign's 'pressure:' instead of a GULP pressure option "
                           "('%s'); the driver passes it to GULP and converts the enthalpy back",
                           origin, line);
    if (word_is(w, len, "include")) {
        size_t n;
        const char *file = first_word(w + len, &n);
        /* the run's directory is a fresh scratch directory: a relative name
         * would not be found (FUSE2's `include ./lib.lib` is spp_path here) */
        if (n && file[0] != '/')
            return FUSE2_RAISE(FUSE2_ERR_ARG,
                               "%s: 'include' needs an absolute path, GULP runs in a scratch directory "
                               "('%s'; for FUSE2's lib.lib set 'spp_path')",
                               origin, line);
    }
    return FUSE2_OK;
}

typedef struct indexed_option {
    long index;
    const char *value;
    const char *origin;
} indexed_option;

static int compare_options(const void *a, const void *b)
{
    long x = ((const indexed_option *)a)->index, y = ((const indexed_option *)b)->index;
    return (x > y) - (x < y);
}

/* `options: [a, b]` arrives as options.0, options.1 (any order); a plain
 * `options: a` is one line. */
static fuse2_status parse_options(const fuse2_settings *settings, gulp_calc *g)
{
    int n = 0;
    for (int i = 0; settings && i < settings->count; i++)
        n += !strcmp(settings->items[i].key, "options") || !strncmp(settings->items[i].key, "options.", 8);
    if (!n) return FUSE2_OK;
    indexed_option *list = calloc((size_t)n, sizeof *list);
    g->options = calloc((size_t)n, sizeof *g->options);
    if (!list || !g->options) {
        free(list);
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "GULP options");
    }
    int k = 0;
    fuse2_status st = FUSE2_OK;
    for (int i = 0; settings && i < settings->count; i++) {
        const fuse2_setting *it = &settings->items[i];
        const char *origin = origin_or(it->origin);
        long index = -1;
        if (!strcmp(it->key, "options")) {
            index = -1;
        } else if (!strncmp(it->key, "options.", 8)) {
            const char *digits = it->key + 8;
            char *end;
            errno = 0;
            index = strtol(digits, &end, 10);
            if (!isdigit((unsigned char)digits[0]) || *end || errno) {
                st = FUSE2_RAISE(FUSE2_ERR_ARG,
                                 "%s: 'options' must be a list of GULP option lines, e.g. [maxcyc 1500, "
                                 "time 5 minutes] (got the key '%s')",
                                 origin, it->key);
                goto done;
            }
        } else {
            continue;
        }
        FUSE2_CALL_GOTO(st, check_option(it->value, origin), done);
        list[k++] = (indexed_option){index, it->value, origin};
    }
    qsort(list, (size_t)k, sizeof *list, compare_options);
    for (int i = 0; i < k; i++) {
        g->options[i] = strdup(list[i].value);
        if (!g->options[i]) {
            st = FUSE2_RAISE(FUSE2_ERR_NOMEM, "GULP options");
            goto done;
        }
        g->noptions = i + 1;
    }
done:
    free(list);
    return st;
}

/* GULP reads a file name as one word and from the scratch directory: the
 * name must be absolute and without white space. */
static fuse2_status absolute_path(const char *key, const char *text, const char *origin, int want_dir, char **out)
{
    struct stat sb;
    if (!*text) return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: '%s' is empty", origin, key);
    if (stat(text, &sb) != 0)
        return FUSE2_RAISE(FUSE2_ERR_IO, "%s: cannot read %s '%s': %s", origin, key, text, strerror(errno));
    if (want_dir ? !S_ISDIR(sb.st_mode) : S_ISDIR(sb.st_mode))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: %s '%s' is %s", origin, key, text,
                           want_dir ? "not a directory" : "a directory, not a file");
    if (access(text, want_dir ? R_OK | X_OK : R_OK) != 0)
        return FUSE2_RAISE(FUSE2_ERR_IO, "%s: cannot read %s '%s': %s", origin, key, text, strerror(errno));
    char resolved[PATH_MAX];
    if (!realpath(text, resolved))
        return FUSE2_RAISE(FUSE2_ERR_IO, "%s: cannot resolve %s '%s': %s", origin, key, text, strerror(errno));
    if (strpbrk(resolved, " \t\n\r"))
        return FUSE2_RAISE(FUSE2_ERR_ARG,
                           "%s: %s '%s' contains white space, which GULP cannot read as a file name; "
                           "move or link it to a path without spaces",
                           origin, key, resolved);
    *out = strdup(resolved);
    if (!*out) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "GULP settings");
    return FUSE2_OK;
}

static fuse2_status parse_settings(const fuse2_settings *settings, gulp_calc *g)
{
    FUSE2_CALL(fuse2_ext_common_parse(settings, DEFAULT_COMMAND, &g->common));
    const char *v, *origin = NULL;
    if ((v = fuse2_settings_get(settings, "library", &origin)))
        FUSE2_CALL(absolute_path("library", v, origin_or(origin), 0, &g->library));
    if ((v = fuse2_settings_get(settings, "spp_path", &origin))) {
        FUSE2_CALL(absolute_path("spp_path", v, origin_or(origin), 1, &g->spp_path));
        g->spp_origin = strdup(origin_or(origin));
        if (!g->spp_origin) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "GULP settings");
    }
    /* FUSE2 runs its SPP tables with `cutp 11.0 2.0` (the builtin's
     * spp_cutoff/spp_taper, same defaults) */
    double cutoff, taper;
    FUSE2_CALL(fuse2_spp_settings_parse(settings, &cutoff, &taper, &g->spp_duplicates));
    v = fuse2_settings_get(settings, "dump", &origin);
    if (v) {
        /* a plain name: the dump is read back from the scratch directory */
        if (!*v || strpbrk(v, " \t\n\r/"))
            return FUSE2_RAISE(FUSE2_ERR_ARG,
                               "%s: 'dump' must be a plain file name without white space or '/' (got '%s')",
                               origin_or(origin), v);
        if (!strcmp(v, INPUT_FILE) || !strcmp(v, OUTPUT_FILE) || !strcmp(v, SPP_LIBRARY))
            return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'dump' must not be %s, the driver uses that name",
                               origin_or(origin), v);
    }
    g->dump = strdup(v ? v : DEFAULT_DUMP);
    if (!g->dump) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "GULP settings");
    FUSE2_CALL(parse_keywords(settings, g)); /* after spp_path: noelectro */
    FUSE2_CALL(parse_options(settings, g));
    int user_cutp = 0;
    for (int i = 0; i < g->noptions; i++) {
        size_t len;
        const char *w = first_word(g->options[i], &len);
        user_cutp |= word_is(w, len, "cutp");
    }
    if (g->spp_path && !user_cutp) snprintf(g->cutp_line, sizeof g->cutp_line, "cutp %.10g %.10g", cutoff, taper);
    return FUSE2_OK;
}

static fuse2_status gulp_create(const fuse2_settings *settings, void **state)
{
    gulp_calc *g = calloc(1, sizeof *g);
    if (!g) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "GULP calculator");
    fuse2_status st = parse_settings(settings, g);
    if (st != FUSE2_OK) {
        gulp_destroy(g);
        fuse2_error_push_frame(__FILE__, __LINE__, __func__);
        return st;
    }
    *state = g;
    return FUSE2_OK;
}

/* ---- SPP library assembly (FUSE2's assemble_spp.py, calculators.md §5) ---- */

/* Appends "\n" and the file's text to out. */
static fuse2_status append_file(FILE *out, const char *path, const char *lib)
{
    FILE *in = fopen(path, "rb");
    if (!in) return FUSE2_RAISE(FUSE2_ERR_IO, "cannot read SPP table %s: %s", path, strerror(errno));
    char buf[8192];
    size_t n;
    int last = '\n';
    fputc('\n', out);
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        if (fwrite(buf, 1, n, out) != n) {
            fclose(in);
            return FUSE2_RAISE(FUSE2_ERR_IO, "cannot write %s: %s", lib, strerror(errno));
        }
        last = (unsigned char)buf[n - 1];
    }
    int err = ferror(in);
    fclose(in);
    if (err) return FUSE2_RAISE(FUSE2_ERR_IO, "cannot read SPP table %s", path);
    /* FUSE2 copies verbatim; a table without a final newline would run into
     * the next one's blank line only by luck, so end it here */
    if (last != '\n') fputc('\n', out);
    return FUSE2_OK;
}

/* lib.lib in dir for the elements of s, in order of first appearance: for
 * every unordered pair (A, B), A = B included, its table after a blank line.
 * FUSE2 loops over ordered pairs and so writes every hetero pair twice
 * (A-B and B-A resolve to the same file, Q42); GULP would add both entries
 * and count the interaction double. We write each pair once unless
 * spp_legacy_duplicates asks for FUSE2's file. */
static fuse2_status assemble_spp(const gulp_calc *g, const char *dir, const fuse2_structure *s)
{
    int z[128], nz = 0;
    for (int i = 0; i < s->natoms; i++) {
        int seen = 0;
        for (int k = 0; k < nz; k++) seen |= z[k] == s->species[i];
        if (!seen && nz < (int)(sizeof z / sizeof z[0])) z[nz++] = s->species[i];
    }
    char lib[4200];
    snprintf(lib, sizeof lib, "%s/%s", dir, SPP_LIBRARY);
    FILE *out = fopen(lib, "w");
    if (!out) return FUSE2_RAISE(FUSE2_ERR_IO, "cannot write %s: %s", lib, strerror(errno));
    fuse2_status st = FUSE2_OK;
    for (int i = 0; i < nz; i++)
        for (int j = g->spp_duplicates ? 0 : i; j < nz; j++) {
            const fuse2_element *ea = fuse2_element_by_z(z[i]), *eb = fuse2_element_by_z(z[j]);
            if (!ea || !eb) {
                st = FUSE2_RAISE(FUSE2_ERR_ARG, "SPP library: unknown element Z = %d", ea ? z[j] : z[i]);
                goto done;
            }
            char path[4200], tried[4 * 4200];
            /* SPP_PATH/A-B/A-B.POT or B-A/B-A.POT, either case (fuse2/spp.h) */
            if (!fuse2_spp_find_pair_file(g->spp_path, ea->symbol, eb->symbol, path, sizeof path, tried, sizeof tried)) {
                st = FUSE2_RAISE(FUSE2_ERR_IO, "%s: spp_path: no SPP table for the pair %s-%s: %s not found",
                                 g->spp_origin, ea->symbol, eb->symbol, tried);
                goto done;
            }
            FUSE2_CALL_GOTO(st, append_file(out, path, lib), done);
        }
done:
    if (fclose(out) != 0 && st == FUSE2_OK)
        st = FUSE2_RAISE(FUSE2_ERR_IO, "cannot write %s: %s", lib, strerror(errno));
    return st;
}

/* ---- the driver ---- */

static fuse2_status gulp_write_inputs(void *state, const char *dir, const fuse2_structure *s,
                                      const fuse2_relax_options *opt, int single_point)
{
    gulp_calc *g = state;
    g->pressure = !single_point && opt ? opt->pressure : 0;
    if (g->spp_path) FUSE2_CALL(assemble_spp(g, dir, s));

    /* the driver's own lines first, then the user's (GULP: a repeated
     * option, the later one wins, but none of ours can be repeated) */
    const char **options = calloc((size_t)g->noptions + 3, sizeof *options);
    if (!options) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "GULP options");
    int n = 0;
    char include_line[64], pressure_line[64];
    if (g->spp_path) {
        snprintf(include_line, sizeof include_line, "include %s", SPP_LIBRARY);
        options[n++] = include_line;
    }
    if (g->cutp_line[0]) options[n++] = g->cutp_line;
    if (g->pressure != 0) {
        snprintf(pressure_line, sizeof pressure_line, "pressure %.10g GPa", g->pressure * EV_PER_A3_IN_GPA);
        options[n++] = pressure_line;
    }
    for (int i = 0; i < g->noptions; i++) options[n++] = g->options[i];

    fuse2_gulp_input in;
    fuse2_gulp_input_init(&in);
    in.keywords = single_point ? g->keywords_single : g->keywords_relax;
    in.options = options;
    in.noptions = n;
    in.library = g->library;
    in.library_mode = FUSE2_GULP_LIBRARY;
    in.dump = g->dump;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, INPUT_FILE);
    fuse2_status st = fuse2_gulp_input_write(path, &in, s);
    free(options);
    if (st != FUSE2_OK) fuse2_error_push_frame(__FILE__, __LINE__, __func__);
    return st;
}

/* Under pressure GULP minimises and prints the enthalpy ("Final enthalpy =
 * H eV", H = E + PV); the framework reports energies and adds PV itself. */
static fuse2_status remove_pv(const gulp_calc *g, const char *got, fuse2_ext_output *out)
{
    if (g->pressure == 0 || !isfinite(out->energy) || !out->has_structure) return FUSE2_OK;
    char *text = NULL;
    if (fuse2_text_file_read(got, &text) != FUSE2_OK) {
        fuse2_error_clear(); /* the parser already judged the file */
        return FUSE2_OK;
    }
    if (strstr(text, "Final enthalpy")) out->energy -= g->pressure * fabs(fuse2_structure_volume(&out->structure));
    free(text);
    return FUSE2_OK;
}

static fuse2_status gulp_parse(void *state, const char *dir, const fuse2_structure *input, fuse2_ext_output *out)
{
    const gulp_calc *g = state;
    char got[4200], dump[4200];
    snprintf(got, sizeof got, "%s/%s", dir, OUTPUT_FILE);
    snprintf(dump, sizeof dump, "%s/%s", dir, g->dump);
    FUSE2_CALL(fuse2_gulp_output_parse_file(got, dump, input->natoms, out));
    return remove_pv(g, got, out);
}

static const fuse2_ext_driver gulp_driver = {
    .code = "gulp",
    .write_inputs = gulp_write_inputs,
    .parse = gulp_parse,
    /* also given as the run's standard input/output, so that a command
     * without redirections (`gulp`, `srun gulp`) works too */
    .stdin_file = "gulp.gin",
    .stdout_file = "gulp.got",
};

static fuse2_status gulp_compute(void *state, const fuse2_structure *s, fuse2_calc_result *result)
{
    gulp_calc *g = state;
    return fuse2_ext_compute(&gulp_driver, g, &g->common, s, result);
}

static fuse2_status gulp_relax(void *state, fuse2_structure *s, const fuse2_relax_options *opt,
                               fuse2_relax_result *result)
{
    gulp_calc *g = state;
    return fuse2_ext_relax(&gulp_driver, g, &g->common, s, opt, result);
}

/* With spp_path, every pair of the composition's elements (A-A included)
 * needs its table; a `library` is GULP's to read and is not checked. */
static fuse2_status gulp_check_elements(void *state, const int *z, int n)
{
    const gulp_calc *g = state;
    if (!g->spp_path) return FUSE2_OK;
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) {
            const fuse2_element *ea = fuse2_element_by_z(z[i]), *eb = fuse2_element_by_z(z[j]);
            if (!ea || !eb) return FUSE2_RAISE(FUSE2_ERR_ARG, "gulp: unknown atomic number %d", ea ? z[j] : z[i]);
            char path[4200], tried[4 * 4200];
            if (!fuse2_spp_find_pair_file(g->spp_path, ea->symbol, eb->symbol, path, sizeof path, tried, sizeof tried))
                return FUSE2_RAISE(FUSE2_ERR_IO,
                                   "%s: spp_path: no SPP table for the pair %s-%s of the composition: %s not found",
                                   g->spp_origin, ea->symbol, eb->symbol, tried);
        }
    return FUSE2_OK;
}

const fuse2_calc_ops fuse2_gulp_calc_ops = {
    .name = "gulp",
    .description = "GULP run as an external program (it relaxes by itself; opti/sing)",
    .keys = gulp_keys,
    .common_keys = fuse2_ext_common_keys,
    .create = gulp_create,
    .destroy = gulp_destroy,
    .compute = gulp_compute,
    .relax = gulp_relax,
    .check_elements = gulp_check_elements,
};
