/* The LAMMPS driver (calculator "lammps"): one `lmp` run per structure in a
 * scratch directory, through the external-driver framework
 * (fuse2/external.h). The input script minimises with `fix box/relax` +
 * `minimize` (relax) or does `run 0` (single point), then re-evaluates the
 * final state with `run 0` and writes it to files of our own: fuse2_final.txt
 * (one `print` line: step, pe, pressure tensor, box) and final.dump (ids,
 * types, fractional coordinates, forces). Parsing those rather than the log
 * keeps working whatever -log/-screen options the command has. The parser
 * is public as fuse2_lammps_parse_run (fuse2/lammps.h, `fuse2 parse`).
 *
 * Units: LAMMPS `units metal` is eV, Å, bar; fuse2 uses eV, Å, eV/Å^3.
 * LAMMPS' pressure tensor is positive for compression, the project's stress
 * negative (fuse2/calc.h), so stress = -pressure / nktv2p.
 *
 * Frames: LAMMPS needs a restricted triclinic box (a along x, b in the xy
 * plane, |xy|, |xz| <= lx/2, |yz| <= ly/2). The structure's lattice is
 * replaced by the lower-triangular lattice with the same parameters (a
 * rotation R, or a rotation and a mirror for a left-handed cell: fractional
 * coordinates stay valid), and the tilts are brought into range by integer
 * row operations M (the same crystal in another basis). Results are mapped
 * back: lattice M^-1 L R, fractional coordinates f M, forces F R, stress
 * R^T sigma R, so callers see their own frame and basis. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/calc.h"
#include "fuse2/elements.h"
#include "fuse2/external.h"
#include "fuse2/lammps.h"
#include "fuse2/relax.h"
#include "fuse2/structure.h"
#include "fuse2/structure_io.h"

/* LAMMPS metal units (src/update.cpp, 29 Sep 2021): bar per eV/Å^3. Using
 * LAMMPS' own constant rather than CODATA's 1.602176634e6 inverts its
 * conversion exactly (they differ by 1e-8 relative). */
#define LAMMPS_NKTV2P 1.6021765e6

enum { MAX_TYPES = 64, LINE_MAX_LEN = 4096 };

static const char *const RUN_FILE = "fuse2_run.txt";      /* how to map results back */
static const char *const FINAL_FILE = "fuse2_final.txt";  /* the print line */
static const char *const DUMP_FILE = "final.dump";
static const char *const LOG_FILE = "log.lammps";
static const char *const STDOUT_FILE = "stdout.txt";
static const char *const STDERR_FILE = "stderr.txt";

/* LAMMPS' own keys besides fuse2_ext_common_keys. */
static const char *const lammps_keys[] = {
    "pair_style", "pair_coeff", "elements", "charges", "masses", "kspace_style", "extra_commands",
    "box_relax", "min_style", "etol", "ftol", "maxiter", "maxeval", NULL};

typedef struct lammps_calc {
    fuse2_ext_common common;
    char *pair_style;
    char *pair_coeff;        /* translated lines ("1 3 ..."), '\n'-separated; may hold {elements} */
    char *kspace_style;      /* NULL: none */
    char *extra_commands;    /* NULL: none */
    char *box_relax;         /* fix box/relax arguments; "none": fixed cell */
    char *min_style;
    double etol;
    double ftol;             /* < 0: from the relaxation options */
    int maxiter, maxeval;    /* 0: from the relaxation options */
    /* type order known from the settings: `elements`, else first appearance
     * in pair_coeff, charges, masses */
    int ntypes;
    int type_z[MAX_TYPES];
    int fixed_elements;      /* `elements` given: no other element allowed */
    char *elements_origin;
    int has_charges;
    double charge[FUSE2_MAX_Z + 1];
    int has_charge[FUSE2_MAX_Z + 1];
    char *charges_origin;
    char *pair_coeff_origin;
    double mass[FUSE2_MAX_Z + 1]; /* 0: element table */
} lammps_calc;

static const char *origin_or(const char *origin) { return origin ? origin : "settings"; }

/* ---- settings ---- */

static int type_index(const lammps_calc *lc, int z)
{
    for (int t = 0; t < lc->ntypes; t++)
        if (lc->type_z[t] == z) return t;
    return -1;
}

static fuse2_status add_type(lammps_calc *lc, int z, const char *origin)
{
    if (type_index(lc, z) >= 0) return FUSE2_OK;
    if (lc->ntypes == MAX_TYPES)
        return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED, "%s: more than %d elements", origin_or(origin), MAX_TYPES);
    lc->type_z[lc->ntypes++] = z;
    return FUSE2_OK;
}

static int is_type_token(const char *tok)
{
    /* "*", "2", "1*3", "*2", "2*": LAMMPS' own type ranges */
    if (!*tok) return 0;
    for (const char *p = tok; *p; p++)
        if (!isdigit((unsigned char)*p) && *p != '*') return 0;
    return 1;
}

static int is_integer_token(const char *tok)
{
    if (!*tok) return 0;
    for (const char *p = tok; *p; p++)
        if (!isdigit((unsigned char)*p)) return 0;
    return 1;
}

/* "Sr 2 Ti 4 O -2": symbol/number pairs into value[z]. */
static fuse2_status parse_element_values(const char *key, const char *text, const char *origin, double *value,
                                         int *has, lammps_calc *lc, int positive)
{
    char *copy = strdup(text);
    if (!copy) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "lammps settings");
    fuse2_status st = FUSE2_OK;
    int pairs = 0;
    char *save = NULL;
    for (char *sym = strtok_r(copy, " \t\r\n,", &save); sym; sym = strtok_r(NULL, " \t\r\n,", &save)) {
        int z = fuse2_element_z_from_symbol(sym);
        if (z <= 0)
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: '%s': '%s' is not an element symbol (expected \"Sr 2 Ti 4 O -2\")",
                             origin_or(origin), key, sym);
        char *num = strtok_r(NULL, " \t\r\n,", &save);
        if (!num)
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: '%s': no value after '%s'", origin_or(origin), key, sym);
        double v;
        FUSE2_CALL_GOTO(st, fuse2_setting_parse_double(key, num, origin, &v), done);
        if (positive && !(v > 0))
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: '%s': %s must be > 0 (got %s)", origin_or(origin), key,
                             sym, num);
        if (has[z])
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: '%s': %s given twice", origin_or(origin), key, sym);
        value[z] = v;
        has[z] = 1;
        FUSE2_CALL_GOTO(st, add_type(lc, z, origin), done);
        pairs++;
    }
    if (!pairs) FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: '%s' is empty", origin_or(origin), key);
done:
    free(copy);
    return st;
}

/* Splits pair_coeff text into lines ('\n' or ';'), drops blanks, comments
 * and a leading "pair_coeff" word; element symbols in the first two
 * positions become type numbers (i <= j as LAMMPS needs: "3 1" sets no
 * pair). Pass 1 (translate = 0) only registers the elements in order. */
static fuse2_status pair_coeff_lines(lammps_calc *lc, const char *text, const char *origin, int translate,
                                     char **out)
{
    char *copy = strdup(text);
    size_t cap = 2 * strlen(text) + 64, len = 0;
    char *buf = translate ? malloc(cap) : NULL;
    if (!copy || (translate && !buf)) {
        free(copy);
        free(buf);
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "lammps settings");
    }
    if (buf) buf[0] = '\0';
    fuse2_status st = FUSE2_OK;
    int nlines = 0, lineno = 0;
    char *save_line = NULL;
    for (char *line = strtok_r(copy, "\n;", &save_line); line; line = strtok_r(NULL, "\n;", &save_line)) {
        lineno++;
        while (isspace((unsigned char)*line)) line++;
        if (!*line || *line == '#') continue;
        if (!strncmp(line, "pair_coeff", 10) && isspace((unsigned char)line[10])) line += 11;
        char tok[2][64];
        int consumed[2];
        const char *p = line;
        for (int k = 0; k < 2; k++) {
            while (isspace((unsigned char)*p)) p++;
            int n = 0;
            while (p[n] && !isspace((unsigned char)p[n])) n++;
            if (n == 0 || n >= (int)sizeof tok[k])
                FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                                 "%s: 'pair_coeff' line %d ('%s') needs two atom types or elements first",
                                 origin_or(origin), lineno, line);
            memcpy(tok[k], p, (size_t)n);
            tok[k][n] = '\0';
            p += n;
            consumed[k] = (int)(p - line);
        }
        int type[2];
        for (int k = 0; k < 2; k++) {
            int z = fuse2_element_z_from_symbol(tok[k]);
            type[k] = 0;
            if (z > 0) {
                FUSE2_CALL_GOTO(st, add_type(lc, z, origin), done);
                type[k] = type_index(lc, z) + 1;
            } else if (is_type_token(tok[k])) {
                if (is_integer_token(tok[k])) type[k] = atoi(tok[k]);
            } else {
                FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG,
                                 "%s: 'pair_coeff' line %d: '%s' is neither an element symbol, a type number "
                                 "nor '*'",
                                 origin_or(origin), lineno, tok[k]);
            }
        }
        nlines++;
        if (!translate) continue;
        char first[2][64];
        for (int k = 0; k < 2; k++) {
            if (type[k] > 0) snprintf(first[k], sizeof first[k], "%d", type[k]);
            else memcpy(first[k], tok[k], sizeof tok[k]); /* both 64 bytes, tok NUL-terminated */
        }
        int swap = type[0] > 0 && type[1] > 0 && type[0] > type[1];
        const char *rest = line + consumed[1];
        size_t need = strlen(rest) + 160;
        if (len + need > cap) {
            cap = 2 * (len + need);
            char *grown = realloc(buf, cap);
            if (!grown) FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_NOMEM, "lammps settings");
            buf = grown;
        }
        len += (size_t)snprintf(buf + len, cap - len, "pair_coeff %s %s%s\n", first[swap], first[!swap], rest);
    }
    if (!nlines) FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: 'pair_coeff' has no lines", origin_or(origin));
done:
    free(copy);
    if (st == FUSE2_OK && translate) *out = buf;
    else free(buf);
    return st;
}

static fuse2_status parse_count(const char *key, const fuse2_settings *settings, int *out)
{
    const char *origin = NULL, *v = fuse2_settings_get(settings, key, &origin);
    if (!v) return FUSE2_OK;
    double d;
    FUSE2_CALL(fuse2_setting_parse_double(key, v, origin, &d));
    if (d < 1 || d > 1e9 || d != floor(d))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: '%s' must be a whole number >= 1 (got '%s')", origin_or(origin), key, v);
    *out = (int)d;
    return FUSE2_OK;
}

static fuse2_status required(const fuse2_settings *settings, const char *key, const char **value,
                             const char **origin)
{
    *value = fuse2_settings_get(settings, key, origin);
    const char *p = *value;
    while (p && isspace((unsigned char)*p)) p++;
    if (!p || !*p)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: the lammps calculator needs '%s'",
                           *value ? origin_or(*origin) : "settings", key);
    return FUSE2_OK;
}

/* Setting text without surrounding blanks and newlines (YAML block scalars
 * end with one), or NULL if absent or blank. */
static char *trimmed(const fuse2_settings *settings, const char *key)
{
    const char *v = fuse2_settings_get(settings, key, NULL);
    if (!v) return NULL;
    while (isspace((unsigned char)*v)) v++;
    size_t n = strlen(v);
    while (n && isspace((unsigned char)v[n - 1])) n--;
    if (!n) return NULL;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, v, n);
        s[n] = '\0';
    }
    return s;
}

static void lammps_free(lammps_calc *lc)
{
    if (!lc) return;
    fuse2_ext_common_free(&lc->common);
    free(lc->pair_style);
    free(lc->pair_coeff);
    free(lc->kspace_style);
    free(lc->extra_commands);
    free(lc->box_relax);
    free(lc->min_style);
    free(lc->elements_origin);
    free(lc->charges_origin);
    free(lc->pair_coeff_origin);
    free(lc);
}

static fuse2_status parse_settings(const fuse2_settings *settings, lammps_calc *lc)
{
    /* the script opens log.lammps itself; the input also comes on stdin, so
     * "lmp" and "mpirun -np 2 lmp -in in.lammps" work as commands too */
    FUSE2_CALL(fuse2_ext_common_parse(settings, "lmp -in in.lammps", &lc->common));
    const char *v, *origin = NULL;

    if ((v = fuse2_settings_get(settings, "elements", &origin))) {
        char *copy = strdup(v);
        if (!copy) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "lammps settings");
        fuse2_status st = FUSE2_OK;
        char *save = NULL;
        for (char *sym = strtok_r(copy, " \t\r\n,", &save); sym && st == FUSE2_OK;
             sym = strtok_r(NULL, " \t\r\n,", &save)) {
            int z = fuse2_element_z_from_symbol(sym);
            if (z <= 0)
                st = FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'elements': '%s' is not an element symbol", origin_or(origin), sym);
            else if (type_index(lc, z) >= 0)
                st = FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'elements': %s given twice", origin_or(origin), sym);
            else
                st = add_type(lc, z, origin);
        }
        free(copy);
        FUSE2_CALL(st);
        if (!lc->ntypes) return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'elements' is empty", origin_or(origin));
        lc->fixed_elements = 1;
        lc->elements_origin = strdup(origin_or(origin));
    }
    int fixed = lc->ntypes;

    const char *ps, *ps_origin;
    FUSE2_CALL(required(settings, "pair_style", &ps, &ps_origin));
    if (!(lc->pair_style = trimmed(settings, "pair_style"))) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "lammps settings");
    const char *pc, *pc_origin;
    FUSE2_CALL(required(settings, "pair_coeff", &pc, &pc_origin));
    FUSE2_CALL(pair_coeff_lines(lc, pc, pc_origin, 0, NULL));
    if (!(lc->pair_coeff_origin = strdup(origin_or(pc_origin)))) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "lammps settings");

    if ((v = fuse2_settings_get(settings, "charges", &origin))) {
        FUSE2_CALL(parse_element_values("charges", v, origin, lc->charge, lc->has_charge, lc, 0));
        lc->has_charges = 1;
        lc->charges_origin = strdup(origin_or(origin));
    }
    if ((v = fuse2_settings_get(settings, "masses", &origin))) {
        int has[FUSE2_MAX_Z + 1] = {0};
        FUSE2_CALL(parse_element_values("masses", v, origin, lc->mass, has, lc, 1));
    }
    if (lc->fixed_elements && lc->ntypes > fixed) {
        const fuse2_element *el = fuse2_element_by_z(lc->type_z[fixed]);
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: %s appears in pair_coeff, charges or masses but not in 'elements'",
                           lc->elements_origin, el ? el->symbol : "?");
    }
    /* now that the type order is final, element symbols become numbers */
    FUSE2_CALL(pair_coeff_lines(lc, pc, pc_origin, 1, &lc->pair_coeff));
    if (lc->has_charges && lc->fixed_elements)
        for (int t = 0; t < lc->ntypes; t++)
            if (!lc->has_charge[lc->type_z[t]])
                return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'charges' has no charge for %s", lc->charges_origin,
                                   fuse2_element_by_z(lc->type_z[t])->symbol);

    lc->kspace_style = trimmed(settings, "kspace_style");
    lc->extra_commands = trimmed(settings, "extra_commands");
    lc->box_relax = trimmed(settings, "box_relax");
    /* vmax 0.001: LAMMPS' default 0.0001 lets the volume change only 0.01 %
     * per line-search step, which makes strained starts take hundreds of steps */
    if (!lc->box_relax && !(lc->box_relax = strdup("tri {pressure} vmax 0.001")))
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "lammps settings");
    lc->min_style = trimmed(settings, "min_style");
    if (!lc->min_style && !(lc->min_style = strdup("cg"))) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "lammps settings");
    if (strcmp(lc->box_relax, "none") != 0 &&
        (!strcmp(lc->min_style, "fire") || !strcmp(lc->min_style, "quickmin") || !strncmp(lc->min_style, "fire/", 5)))
        return FUSE2_RAISE(FUSE2_ERR_ARG,
                           "%s: min_style %s cannot relax the cell (LAMMPS: damped dynamics styles do not work "
                           "with fix box/relax); use cg or sd, or box_relax: none",
                           origin_or(fuse2_settings_get(settings, "min_style", &origin) ? origin : NULL),
                           lc->min_style);

    lc->etol = 0.0;
    lc->ftol = -1.0;
    if ((v = fuse2_settings_get(settings, "etol", &origin))) {
        FUSE2_CALL(fuse2_setting_parse_double("etol", v, origin, &lc->etol));
        if (lc->etol < 0) return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'etol' must be >= 0 (got %s)", origin_or(origin), v);
    }
    if ((v = fuse2_settings_get(settings, "ftol", &origin))) {
        FUSE2_CALL(fuse2_setting_parse_double("ftol", v, origin, &lc->ftol));
        if (lc->ftol < 0) return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'ftol' must be >= 0 (got %s)", origin_or(origin), v);
    }
    FUSE2_CALL(parse_count("maxiter", settings, &lc->maxiter));
    FUSE2_CALL(parse_count("maxeval", settings, &lc->maxeval));
    return FUSE2_OK;
}

/* ---- one run: the inputs ---- */

/* What parse() needs to map results back, written beside the inputs so the
 * directory alone can be parsed again. */
typedef struct run_map {
    int ntypes;
    int type_z[MAX_TYPES];
    int relax;
    double basis[3][3];     /* M: LAMMPS' rows = M x (lower-triangular rows) */
    double rotation[3][3];  /* R: our frame = LAMMPS' frame x R */
    double fmax, smax, pressure;
    int fixed_cell;
} run_map;

static void mat_mul(const double a[3][3], const double b[3][3], double out[3][3])
{
    double t[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) t[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
    memcpy(out, t, sizeof t);
}

static void row_sub(double m[3][3], int i, int j, double k)
{
    for (int c = 0; c < 3; c++) m[i][c] -= k * m[j][c];
}

/* Writes the text with {elements} replaced by the type-ordered symbols and
 * {pressure} by p_bar. */
static void put_expanded(FILE *f, const char *text, const run_map *map, double p_bar)
{
    for (const char *p = text; *p;) {
        if (!strncmp(p, "{elements}", 10)) {
            for (int t = 0; t < map->ntypes; t++)
                fprintf(f, "%s%s", t ? " " : "", fuse2_element_by_z(map->type_z[t])->symbol);
            p += 10;
        } else if (!strncmp(p, "{pressure}", 10)) {
            fprintf(f, "%.10g", p_bar);
            p += 10;
        } else {
            fputc(*p++, f);
        }
    }
}

static fuse2_status open_in(const char *dir, const char *name, FILE **f)
{
    char path[4352];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *f = fopen(path, "w");
    if (!*f) return FUSE2_RAISE(FUSE2_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return FUSE2_OK;
}

static fuse2_status close_checked(FILE *f, const char *dir, const char *name)
{
    int bad = ferror(f);
    if (fclose(f) != 0) bad = 1;
    if (bad) return FUSE2_RAISE(FUSE2_ERR_IO, "cannot write %s/%s", dir, name);
    return FUSE2_OK;
}

static fuse2_status lammps_write_inputs(void *state, const char *dir, const fuse2_structure *s,
                                        const fuse2_relax_options *opt_in, int single_point)
{
    lammps_calc *lc = state;
    fuse2_relax_options defaults;
    fuse2_relax_options_default(&defaults);
    const fuse2_relax_options *opt = opt_in ? opt_in : &defaults;

    run_map map;
    memset(&map, 0, sizeof map);
    map.ntypes = lc->ntypes;
    memcpy(map.type_z, lc->type_z, sizeof map.type_z);
    int *atom_type = malloc((size_t)(s->natoms > 0 ? s->natoms : 1) * sizeof *atom_type);
    if (!atom_type) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "lammps inputs");
    fuse2_status st = FUSE2_OK;
    for (int i = 0; i < s->natoms; i++) {
        int z = s->species[i];
        int t = -1;
        for (int k = 0; k < map.ntypes; k++)
            if (map.type_z[k] == z) t = k;
        if (t < 0) {
            const fuse2_element *el = fuse2_element_by_z(z);
            if (lc->fixed_elements)
                FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: element %s of the structure is not in 'elements'",
                                 lc->elements_origin, el ? el->symbol : "?");
            if (map.ntypes == MAX_TYPES)
                FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_UNSUPPORTED, "lammps: more than %d elements", MAX_TYPES);
            t = map.ntypes;
            map.type_z[map.ntypes++] = z;
        }
        atom_type[i] = t + 1;
        if (lc->has_charges && !lc->has_charge[z])
            FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_ARG, "%s: 'charges' has no charge for %s, an element of the structure",
                             lc->charges_origin, fuse2_element_by_z(z)->symbol);
    }

    /* the restricted triclinic frame and basis (see the top of the file) */
    double params[6], L0[3][3], L[3][3], M[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, Minv[3][3], L0inv[3][3];
    fuse2_lattice_to_parameters(s->lattice, params);
    FUSE2_CALL_GOTO(st, fuse2_lattice_from_parameters(params, L0), done);
    FUSE2_CALL_GOTO(st, fuse2_lattice_inverse(L0, L0inv), done);
    mat_mul(L0inv, s->lattice, map.rotation);
    memcpy(L, L0, sizeof L);
    double k = round(L[2][1] / L[1][1]);
    row_sub(L, 2, 1, k);
    row_sub(M, 2, 1, k);
    k = round(L[2][0] / L[0][0]);
    row_sub(L, 2, 0, k);
    row_sub(M, 2, 0, k);
    k = round(L[1][0] / L[0][0]);
    row_sub(L, 1, 0, k);
    row_sub(M, 1, 0, k);
    memcpy(map.basis, M, sizeof M);
    FUSE2_CALL_GOTO(st, fuse2_lattice_inverse(M, Minv), done);
    map.relax = !single_point;
    map.fmax = opt->fmax;
    map.smax = opt->smax;
    map.pressure = opt->pressure;
    int relax_cell = map.relax && !opt->fixed_cell && strcmp(lc->box_relax, "none") != 0;
    map.fixed_cell = !relax_cell;

    FILE *f;
    /* ---- data file ---- */
    FUSE2_CALL_GOTO(st, open_in(dir, "data.lammps", &f), done);
    fprintf(f, "fuse2-mpi structure (%d atoms)\n\n%d atoms\n%d atom types\n\n", s->natoms, s->natoms, map.ntypes);
    fprintf(f, "0 %.17g xlo xhi\n0 %.17g ylo yhi\n0 %.17g zlo zhi\n%.17g %.17g %.17g xy xz yz\n\nMasses\n\n", L[0][0],
            L[1][1], L[2][2], L[1][0], L[2][0], L[2][1]);
    for (int t = 0; t < map.ntypes; t++) {
        int z = map.type_z[t];
        fprintf(f, "%d %.10g # %s\n", t + 1, lc->mass[z] > 0 ? lc->mass[z] : fuse2_element_by_z(z)->mass,
                fuse2_element_by_z(z)->symbol);
    }
    fprintf(f, "\nAtoms # %s\n\n", lc->has_charges ? "charge" : "atomic");
    for (int i = 0; i < s->natoms; i++) {
        double fr[3], c[3];
        for (int a = 0; a < 3; a++) {
            fr[a] = s->frac[i][0] * Minv[0][a] + s->frac[i][1] * Minv[1][a] + s->frac[i][2] * Minv[2][a];
            fr[a] -= floor(fr[a]);
        }
        for (int a = 0; a < 3; a++) c[a] = fr[0] * L[0][a] + fr[1] * L[1][a] + fr[2] * L[2][a];
        fprintf(f, "%d %d", i + 1, atom_type[i]);
        if (lc->has_charges) fprintf(f, " %.17g", lc->charge[s->species[i]]);
        fprintf(f, " %.17g %.17g %.17g\n", c[0], c[1], c[2]);
    }
    FUSE2_CALL_GOTO(st, close_checked(f, dir, "data.lammps"), done);

    /* ---- input script ---- */
    double p_bar = opt->pressure * LAMMPS_NKTV2P;
    FUSE2_CALL_GOTO(st, open_in(dir, "in.lammps", &f), done);
    fprintf(f, "# fuse2-mpi: %s of one structure\n", map.relax ? "relaxation" : "single point");
    /* first, so the log exists and is complete whatever -log the command has */
    fprintf(f, "log %s\n", LOG_FILE);
    fprintf(f, "units metal\natom_style %s\nboundary p p p\nread_data data.lammps\n",
            lc->has_charges ? "charge" : "atomic");
    fprintf(f, "pair_style %s\n", lc->pair_style);
    put_expanded(f, lc->pair_coeff, &map, p_bar);
    if (lc->kspace_style) {
        fprintf(f, "kspace_style %s\n", lc->kspace_style);
        /* real-space erfc from a 2^16-point table: LAMMPS' default 2^12
         * table makes the energy rough enough that the cg line search stalls
         * ("linesearch alpha is zero") just short of fmax, and its table-free
         * erfc approximation is off by ~5e-7 relative (tests/test_lammps.c);
         * extra_commands can override */
        fprintf(f, "pair_modify table 16\n");
    }
    fprintf(f, "neighbor 2.0 bin\nneigh_modify every 1 delay 0 check yes\n");
    /* the pressure tensor must be in thermo output: $(pxx) after a run needs
     * it computed on the last step */
    fprintf(f, "thermo_style custom step pe press pxx pyy pzz pxy pxz pyz vol\nthermo 10\n");
    fprintf(f, "min_style %s\n", lc->min_style);
    /* ftol as the largest per-atom force, fuse2's fmax */
    fprintf(f, "min_modify norm max\n");
    if (lc->extra_commands) {
        put_expanded(f, lc->extra_commands, &map, p_bar);
        fputc('\n', f);
    }
    if (map.relax) {
        if (relax_cell) {
            fprintf(f, "fix fuse2_box all box/relax ");
            put_expanded(f, lc->box_relax, &map, p_bar);
            fputc('\n', f);
        }
        double ftol = lc->ftol;
        if (ftol < 0) {
            /* box/relax's generalized force on a cell degree of freedom is
             * about (pressure - target) x volume (eV, with factors of the
             * box change for the tilts): ftol <= smax V / 2 keeps the
             * residual stress within smax (measured: smax V left up to
             * 0.95 smax) */
            ftol = opt->fmax;
            if (relax_cell) ftol = fmin(ftol, 0.5 * opt->smax * fabs(fuse2_structure_volume(s)));
        }
        int maxiter = lc->maxiter > 0 ? lc->maxiter : (opt->max_steps > 0 ? opt->max_steps : 1000);
        int maxeval = lc->maxeval > 0 ? lc->maxeval : 10 * maxiter;
        fprintf(f, "minimize %.10g %.10g %d %d\n", lc->etol, ftol, maxiter, maxeval);
        if (relax_cell) fprintf(f, "unfix fuse2_box\n");
    }
    /* the final state evaluated afresh (a plain potential energy: no box/relax
     * PV term), written to files of our own */
    fprintf(f, "run 0\n");
    fprintf(f, "write_dump all custom %s id type xs ys zs fx fy fz modify sort id format float %%.17g\n", DUMP_FILE);
    fprintf(f, "print \"fuse2_final $(step) $(pe:%%.17g) $(pxx:%%.17g) $(pyy:%%.17g) $(pzz:%%.17g) $(pxy:%%.17g) "
               "$(pxz:%%.17g) $(pyz:%%.17g) $(lx:%%.17g) $(ly:%%.17g) $(lz:%%.17g) $(xy:%%.17g) $(xz:%%.17g) "
               "$(yz:%%.17g)\" file %s\n",
            FINAL_FILE);
    FUSE2_CALL_GOTO(st, close_checked(f, dir, "in.lammps"), done);

    /* ---- the map back ---- */
    FUSE2_CALL_GOTO(st, open_in(dir, RUN_FILE, &f), done);
    fprintf(f, "# fuse2-mpi lammps driver: type order and frame of this run\nelements");
    for (int t = 0; t < map.ntypes; t++) fprintf(f, " %s", fuse2_element_by_z(map.type_z[t])->symbol);
    fprintf(f, "\nmode %s\nbasis", map.relax ? "relax" : "single_point");
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) fprintf(f, " %.0f", map.basis[a][b]);
    fprintf(f, "\nrotation");
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) fprintf(f, " %.17g", map.rotation[a][b]);
    fprintf(f, "\nfmax %.17g\nsmax %.17g\npressure %.17g\nfixed_cell %d\n", map.fmax, map.smax, map.pressure,
            map.fixed_cell);
    FUSE2_CALL_GOTO(st, close_checked(f, dir, RUN_FILE), done);
done:
    free(atom_type);
    return st;
}

/* ---- one run: the outputs ---- */

/* The file's text, or NULL if it cannot be read (a missing output is an
 * outcome, not an error). */
static char *read_text(const char *dir, const char *name)
{
    char path[4352];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = NULL;
    if (fuse2_text_file_read(path, &text) != FUSE2_OK) {
        fuse2_error_clear();
        return NULL;
    }
    return text;
}

static int read_numbers(const char *text, const char *key, double *v, int n)
{
    const char *p = text;
    size_t klen = strlen(key);
    while ((p = strstr(p, key))) {
        if ((p == text || p[-1] == '\n') && isspace((unsigned char)p[klen])) break;
        p += klen;
    }
    if (!p) return 0;
    p += klen;
    for (int i = 0; i < n; i++) {
        char *end;
        v[i] = strtod(p, &end);
        if (end == p) return 0;
        p = end;
    }
    return 1;
}

static fuse2_status read_run_map(const char *dir, run_map *map, char *why, int size)
{
    memset(map, 0, sizeof *map);
    char *text = read_text(dir, RUN_FILE);
    if (!text) {
        snprintf(why, (size_t)size, "%s missing", RUN_FILE);
        return FUSE2_OK;
    }
    const char *e = strstr(text, "\nelements ");
    double flat[9], one;
    int ok = e != NULL;
    if (ok) {
        const char *p = e + 10;
        while (*p && *p != '\n' && map->ntypes < MAX_TYPES) {
            while (*p == ' ') p++;
            char sym[8];
            int n = 0;
            while (p[n] && !isspace((unsigned char)p[n]) && n < 7) {
                sym[n] = p[n];
                n++;
            }
            sym[n] = '\0';
            if (!n) break;
            int z = fuse2_element_z_from_symbol(sym);
            if (z <= 0) ok = 0;
            map->type_z[map->ntypes++] = z;
            p += n;
        }
    }
    map->relax = strstr(text, "\nmode relax") != NULL;
    if (ok && (ok = read_numbers(text, "basis", flat, 9))) memcpy(map->basis, flat, sizeof flat);
    if (ok && (ok = read_numbers(text, "rotation", flat, 9))) memcpy(map->rotation, flat, sizeof flat);
    if (ok && (ok = read_numbers(text, "fmax", &one, 1))) map->fmax = one;
    if (ok && (ok = read_numbers(text, "smax", &one, 1))) map->smax = one;
    if (ok && (ok = read_numbers(text, "pressure", &one, 1))) map->pressure = one;
    if (ok && (ok = read_numbers(text, "fixed_cell", &one, 1))) map->fixed_cell = one != 0;
    if (!ok) snprintf(why, (size_t)size, "%s is malformed", RUN_FILE);
    else why[0] = '\0';
    free(text);
    return FUSE2_OK;
}

/* First line starting with "ERROR" (LAMMPS' "ERROR: ..." or "ERROR on proc
 * N: ..."), with the "Last command:" line after it when present. */
static int find_error(const char *text, char *line, int size)
{
    for (const char *p = text; p && *p;) {
        const char *q = p;
        while (*q == ' ' || *q == '\t') q++;
        const char *eol = strchr(q, '\n');
        int len = eol ? (int)(eol - q) : (int)strlen(q);
        if (!strncmp(q, "ERROR", 5)) {
            while (len && (q[len - 1] == '\r' || q[len - 1] == ' ')) len--;
            int n = snprintf(line, (size_t)size, "%.*s", len, q);
            if (eol && !strncmp(eol + 1, "Last command:", 13) && n > 0 && n < size) {
                const char *c = eol + 1;
                const char *ceol = strchr(c, '\n');
                int clen = ceol ? (int)(ceol - c) : (int)strlen(c);
                snprintf(line + n, (size_t)(size - n), " (%.*s)", clen, c);
            }
            return 1;
        }
        p = eol ? eol + 1 : NULL;
    }
    return 0;
}

/* The minimizer's "Stopping criterion = ..." (the last one), or "". */
static void stopping_criterion(const char *text, char *out, int size)
{
    out[0] = '\0';
    const char *key = "Stopping criterion = ";
    for (const char *p = text; (p = strstr(p, key)); p += strlen(key)) {
        const char *v = p + strlen(key);
        int len = 0;
        while (v[len] && v[len] != '\n' && v[len] != '\r') len++;
        while (len && v[len - 1] == ' ') len--;
        snprintf(out, (size_t)size, "%.*s", len, v);
    }
}

static int all_finite(const double *v, int n)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

static fuse2_status lammps_parse(void *state, const char *dir, const fuse2_structure *input, fuse2_ext_output *out)
{
    (void)state;
    fuse2_status st = FUSE2_OK;
    char *log = read_text(dir, LOG_FILE);
    char *screen = read_text(dir, STDOUT_FILE);
    char *err = read_text(dir, STDERR_FILE);
    char *final = NULL, *dump = NULL;
    char line[FUSE2_REASON_LEN];

    /* a LAMMPS ERROR is the most specific diagnosis, whatever else was left */
    if ((log && find_error(log, line, sizeof line)) || (screen && find_error(screen, line, sizeof line)) ||
        (err && find_error(err, line, sizeof line))) {
        fuse2_ext_output_fail(out, FUSE2_EXT_CRASHED, "%s", line);
        snprintf(out->signature, sizeof out->signature, "error");
        goto done;
    }
    run_map map;
    FUSE2_CALL_GOTO(st, read_run_map(dir, &map, line, sizeof line), done);
    if (line[0]) {
        fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE, "lammps: %s in %s", line, dir);
        goto done;
    }
    final = read_text(dir, FINAL_FILE);
    dump = read_text(dir, DUMP_FILE);
    if (!final || !dump) {
        fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE, "lammps: no final state (%s missing): the run did not finish",
                              final ? DUMP_FILE : FINAL_FILE);
        goto done;
    }
    double v[14];
    if (!read_numbers(final, "fuse2_final", v, 14)) {
        fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE, "lammps: %s is malformed", FINAL_FILE);
        goto done;
    }
    out->ionic_steps = map.relax ? (int)v[0] : 0;
    out->energy = v[1];
    if (!all_finite(v + 1, 13)) {
        fuse2_ext_output_fail(out, FUSE2_EXT_NON_FINITE, "lammps: non-finite energy, pressure or box (pe %g)", v[1]);
        goto done;
    }

    /* the dump: every atom by id (= our index + 1) */
    const char *header = strstr(dump, "ITEM: ATOMS id type xs ys zs fx fy fz");
    const char *nat = strstr(dump, "ITEM: NUMBER OF ATOMS");
    long natoms = nat ? strtol(nat + 21, NULL, 10) : -1;
    /* input NULL (fuse2_lammps_parse_run on a directory alone): the count
     * from the dump, species from the run's type order */
    if (!header || natoms < 1 || natoms > 100000000 || (input && natoms != input->natoms)) {
        fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE, "lammps: %s has %s", DUMP_FILE,
                              header ? "a different number of atoms" : "no atom table");
        goto done;
    }
    const int n = (int)natoms;
    FUSE2_CALL_GOTO(st, fuse2_structure_init(&out->structure, n), done);
    out->forces = calloc((size_t)n, sizeof *out->forces);
    if (!out->forces) FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_NOMEM, "lammps output");
    double (*frac)[3] = calloc((size_t)n, sizeof *frac);
    char *seen = calloc((size_t)n, 1);
    int *species = calloc((size_t)n, sizeof *species);
    if (!frac || !seen || !species) {
        free(frac);
        free(seen);
        free(species);
        FUSE2_RAISE_GOTO(st, done, FUSE2_ERR_NOMEM, "lammps output");
    }
    const char *p = strchr(header, '\n');
    int bad = 0, nonfinite = 0;
    for (int row = 0; row < n && !bad; row++) {
        char *end;
        if (!p) {
            bad = 1;
            break;
        }
        long id = strtol(p + 1, &end, 10);
        long type = strtol(end, &end, 10);
        double x[6];
        for (int k = 0; k < 6; k++) {
            const char *start = end;
            x[k] = strtod(start, &end);
            if (end == start) bad = 1;
        }
        if (bad || id < 1 || id > n || seen[id - 1] || type < 1 || type > map.ntypes ||
            (input && map.type_z[type - 1] != input->species[id - 1])) {
            bad = 1;
            break;
        }
        seen[id - 1] = 1;
        species[id - 1] = map.type_z[type - 1];
        if (!all_finite(x, 6)) nonfinite = 1;
        memcpy(frac[id - 1], x, 3 * sizeof(double));
        memcpy(out->forces[id - 1], x + 3, 3 * sizeof(double));
        p = strchr(end, '\n');
    }
    if (bad || nonfinite) {
        free(frac);
        free(seen);
        free(species);
        free(out->forces);
        out->forces = NULL;
        fuse2_structure_free(&out->structure);
        if (bad) fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE, "lammps: %s: atom table does not match the input", DUMP_FILE);
        else fuse2_ext_output_fail(out, FUSE2_EXT_NON_FINITE, "lammps: non-finite coordinates or forces in %s", DUMP_FILE);
        goto done;
    }

    /* back to the caller's basis and frame */
    const double(*R)[3] = (const double(*)[3])map.rotation;
    double Ll[3][3] = {{v[8], 0, 0}, {v[11], v[9], 0}, {v[12], v[13], v[10]}}, Minv[3][3], Lout[3][3];
    FUSE2_CALL_GOTO(st, fuse2_lattice_inverse(map.basis, Minv), free_rows);
    mat_mul(Minv, Ll, Lout);
    mat_mul(Lout, map.rotation, out->structure.lattice);
    for (int i = 0; i < n; i++) {
        double f[3], F[3];
        for (int a = 0; a < 3; a++) {
            f[a] = frac[i][0] * map.basis[0][a] + frac[i][1] * map.basis[1][a] + frac[i][2] * map.basis[2][a];
            F[a] = out->forces[i][0] * R[0][a] + out->forces[i][1] * R[1][a] + out->forces[i][2] * R[2][a];
        }
        memcpy(out->forces[i], F, sizeof F);
        FUSE2_CALL_GOTO(st, fuse2_structure_add_atom(&out->structure, species[i], f), free_rows);
    }
    fuse2_structure_wrap_positions(&out->structure);
    out->has_structure = 1;
    out->has_forces = 1;
    /* stress: -pressure, rotated (sigma_ours = R^T sigma_lammps R) */
    double sl[3][3] = {{v[2], v[5], v[6]}, {v[5], v[3], v[7]}, {v[6], v[7], v[4]}};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            double sum = 0;
            for (int c = 0; c < 3; c++)
                for (int d = 0; d < 3; d++) sum += R[c][a] * sl[c][d] * R[d][b];
            out->stress[a][b] = -sum / LAMMPS_NKTV2P;
        }
    out->has_stress = 1;

    if (!map.relax) {
        fuse2_ext_output_fail(out, FUSE2_EXT_CONVERGED, "%s", "");
        goto free_rows;
    }
    char crit[128];
    stopping_criterion(log ? log : "", crit, sizeof crit);
    if (!crit[0] && screen) stopping_criterion(screen, crit, sizeof crit);
    double fm = fuse2_max_force((const double(*)[3])out->forces, n);
    double sm = fuse2_max_stress((const double(*)[3])out->stress, map.pressure);
    int meets = fm <= map.fmax && (map.fixed_cell || sm <= map.smax);
    if (!crit[0]) {
        fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE, "lammps: no 'Stopping criterion' in %s", LOG_FILE);
    } else if (!strcmp(crit, "energy tolerance") || !strcmp(crit, "force tolerance") ||
               !strcmp(crit, "forces are zero")) {
        fuse2_ext_output_fail(out, FUSE2_EXT_CONVERGED, "%s", "");
    } else if (meets && (!strcmp(crit, "linesearch alpha is zero") || !strcmp(crit, "quadratic factors are zero") ||
                         !strcmp(crit, "search direction is not downhill") ||
                         !strcmp(crit, "trust region too small"))) {
        /* the line search ran out of numerical precision at a point that
         * meets fuse2's own criteria: a minimum */
        fuse2_ext_output_fail(out, FUSE2_EXT_CONVERGED, "%s", "");
    } else {
        fuse2_ext_output_fail(out, FUSE2_EXT_NOT_CONVERGED,
                              "lammps minimizer stopped: %s (max force %.3g eV/A, max stress %.3g eV/A^3)", crit, fm,
                              map.fixed_cell ? 0.0 : sm);
    }
free_rows:
    free(frac);
    free(seen);
    free(species);
done:
    free(log);
    free(screen);
    free(err);
    free(final);
    free(dump);
    return st;
}

fuse2_status fuse2_lammps_parse_run(const char *dir, const fuse2_structure *input, fuse2_ext_output *out)
{
    if (!dir || !out) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_lammps_parse_run: NULL argument");
    fuse2_ext_output_reset(out);
    FUSE2_CALL(lammps_parse(NULL, dir, input, out));
    return FUSE2_OK;
}

/* ---- registration ---- */

static const fuse2_ext_driver lammps_driver = {
    .code = "lammps",
    .write_inputs = lammps_write_inputs,
    .parse = lammps_parse,
    .stdin_file = "in.lammps",
    .stdout_file = NULL,
};

static fuse2_status lammps_create(const fuse2_settings *settings, void **state)
{
    lammps_calc *lc = calloc(1, sizeof *lc);
    if (!lc) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate the lammps calculator");
    fuse2_status st = parse_settings(settings, lc);
    if (st != FUSE2_OK) {
        lammps_free(lc);
        fuse2_error_push_frame(__FILE__, __LINE__, __func__);
        return st;
    }
    *state = lc;
    return FUSE2_OK;
}

static void lammps_destroy(void *state) { lammps_free(state); }

static fuse2_status lammps_compute(void *state, const fuse2_structure *s, fuse2_calc_result *result)
{
    lammps_calc *lc = state;
    FUSE2_CALL(fuse2_ext_compute(&lammps_driver, lc, &lc->common, s, result));
    return FUSE2_OK;
}

static fuse2_status lammps_relax(void *state, fuse2_structure *s, const fuse2_relax_options *opt,
                                 fuse2_relax_result *result)
{
    lammps_calc *lc = state;
    FUSE2_CALL(fuse2_ext_relax(&lammps_driver, lc, &lc->common, s, opt, result));
    return FUSE2_OK;
}

/* A pair_coeff type token as a range lo..hi of type numbers 1..ntypes:
 * "3", "*", "2*", "*2", "1*3" (LAMMPS' utils::bounds). 0 if not one. */
static int type_range(const char *tok, int ntypes, int *lo, int *hi)
{
    const char *star = strchr(tok, '*');
    if (!star) {
        if (!is_integer_token(tok)) return 0;
        *lo = *hi = atoi(tok);
        return 1;
    }
    *lo = star == tok ? 1 : atoi(tok);
    *hi = star[1] ? atoi(star + 1) : ntypes;
    return 1;
}

/* Pair styles without mixing: LAMMPS needs every I-J pair given, not only
 * I-I ("All pair coeffs are not set"). */
static int style_needs_every_pair(const char *pair_style)
{
    static const char *const no_mixing[] = {"buck", "born", "morse", NULL};
    size_t len = strcspn(pair_style, " \t");
    for (int i = 0; no_mixing[i]; i++) {
        size_t n = strlen(no_mixing[i]);
        if (len >= n && !strncmp(pair_style, no_mixing[i], n) && (len == n || pair_style[n] == '/')) return 1;
    }
    return 0;
}

/* Before any structure: every element of the composition must be in
 * `elements` (when given) and `charges` (when given), and pair_coeff must
 * set its I-I pair (LAMMPS always needs it) and, for the styles without
 * mixing (buck, born, morse, and their /coul variants), every I-J pair.
 * Elements not named in the settings get the types after the named ones, in
 * a per-structure order: only ranges covering all of those types count. */
static fuse2_status lammps_check_elements(void *state, const int *z, int n)
{
    const lammps_calc *lc = state;
    int type_of[MAX_TYPES], extra = 0;
    if (n > MAX_TYPES) return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED, "lammps: more than %d elements", MAX_TYPES);
    for (int i = 0; i < n; i++) {
        const fuse2_element *el = fuse2_element_by_z(z[i]);
        if (!el) return FUSE2_RAISE(FUSE2_ERR_ARG, "lammps: unknown atomic number %d", z[i]);
        int t = type_index(lc, z[i]);
        if (t < 0 && lc->fixed_elements)
            return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'elements' does not list %s, an element of the composition",
                               lc->elements_origin, el->symbol);
        if (lc->has_charges && !lc->has_charge[z[i]])
            return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'charges' has no charge for %s, an element of the composition",
                               lc->charges_origin, el->symbol);
        type_of[i] = t >= 0 ? t + 1 : 0; /* 0: one of the types after the named ones */
        extra += t < 0;
    }
    const int ntypes = lc->ntypes + extra, first_extra = lc->ntypes + 1;
    const int every_pair = style_needs_every_pair(lc->pair_style);
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) {
            if (i != j && !every_pair) continue;
            /* types a <= b, or a range [first_extra, ntypes] for an unnamed element */
            int ta = type_of[i], tb = type_of[j];
            if (ta && tb && ta > tb) {
                int t = ta;
                ta = tb;
                tb = t;
            }
            int covered = 0;
            const char *line = lc->pair_coeff;
            while (line && *line && !covered) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t)(end - line) : strlen(line);
                char buf[256], t1[64], t2[64];
                snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
                int lo[2], hi[2];
                if (sscanf(buf, "pair_coeff %63s %63s", t1, t2) == 2 && type_range(t1, ntypes, &lo[0], &hi[0]) &&
                    type_range(t2, ntypes, &lo[1], &hi[1])) {
                    /* LAMMPS sets (p, q) for p in range 1, q in range 2, q >= p */
                    int ok;
                    if (ta && tb)
                        ok = lo[0] <= ta && ta <= hi[0] && lo[1] <= tb && tb <= hi[1];
                    else if (ta || tb) { /* the named type is the smaller one */
                        int t = ta ? ta : tb;
                        ok = lo[0] <= t && t <= hi[0] && lo[1] <= first_extra && ntypes <= hi[1];
                    } else /* both unnamed, either order */
                        ok = lo[0] <= first_extra && ntypes <= hi[0] && lo[1] <= first_extra && ntypes <= hi[1];
                    covered = ok;
                }
                line = end ? end + 1 : NULL;
            }
            if (!covered) {
                const char *a = fuse2_element_by_z(z[i])->symbol, *b = fuse2_element_by_z(z[j])->symbol;
                if (i == j)
                    return FUSE2_RAISE(FUSE2_ERR_ARG,
                                       "%s: 'pair_coeff' sets no %s-%s pair, and %s is an element of the composition "
                                       "(LAMMPS would stop with \"All pair coeffs are not set\")",
                                       lc->pair_coeff_origin, a, b, a);
                return FUSE2_RAISE(FUSE2_ERR_ARG,
                                   "%s: 'pair_coeff' sets no %s-%s pair, and %s and %s are elements of the "
                                   "composition (pair_style %s does not mix I-J from I-I and J-J: LAMMPS would "
                                   "stop with \"All pair coeffs are not set\"; give the pair, e.g. '%s %s ...')",
                                   lc->pair_coeff_origin, a, b, a, b, lc->pair_style, a, b);
            }
        }
    return FUSE2_OK;
}

const fuse2_calc_ops fuse2_lammps_calc_ops = {
    .name = "lammps",
    .description = "LAMMPS (lmp) run per structure: fix box/relax + minimize, or run 0",
    .keys = lammps_keys,
    .common_keys = fuse2_ext_common_keys,
    .create = lammps_create,
    .destroy = lammps_destroy,
    .compute = lammps_compute,
    .relax = lammps_relax,
    .check_elements = lammps_check_elements,
};
