/* Geometry of a GULP input (.gin) or dump/restart (.res) file: `cell` or
 * `vectors`, then `fractional` or `cartesian` blocks of core lines. GULP
 * accepts keywords shortened to their first four letters, so do we. */
#include "fuse2/structure_io.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/elements.h"

enum { MAX_TOKENS = 64 };

typedef struct token {
    const char *p;
    int len;
} token;

typedef struct gulp_atom {
    int z;
    int cartesian;
    int line;
    double x[3];
} gulp_atom;

typedef struct gulp_reader {
    const char *name;
    gulp_atom *atoms;
    int natoms, capacity;
    int have_cell;
    int cell_line;
    double lattice[3][3];
} gulp_reader;

/* Splits at whitespace up to a '#' comment. */
static int tokenize(const char *line, int len, token *tok, int max)
{
    int n = 0, i = 0;
    while (i < len && n < max) {
        while (i < len && isspace((unsigned char)line[i])) i++;
        if (i >= len || line[i] == '#') break;
        int start = i;
        while (i < len && !isspace((unsigned char)line[i]) && line[i] != '#') i++;
        tok[n].p = line + start;
        tok[n].len = i - start;
        n++;
    }
    return n;
}

/* GULP option words may be abbreviated to 4 letters: "frac", "vect". */
static int is_keyword(token t, const char *keyword)
{
    int klen = (int)strlen(keyword);
    if (t.len > klen || t.len < (klen < 4 ? klen : 4)) return 0;
    for (int i = 0; i < t.len; i++)
        if (tolower((unsigned char)t.p[i]) != keyword[i]) return 0;
    return 1;
}

/* Whole-token prefix of `word` ("c", "cor", "core"). */
static int is_prefix_of(token t, const char *word)
{
    if (t.len < 1 || t.len > (int)strlen(word)) return 0;
    for (int i = 0; i < t.len; i++)
        if (tolower((unsigned char)t.p[i]) != word[i]) return 0;
    return 1;
}

/* A number, or a fraction "3/4", "-1/3". 1 on success. */
static int token_value(token t, double *value)
{
    char buf[64];
    if (t.len <= 0 || t.len >= (int)sizeof buf) return 0;
    memcpy(buf, t.p, (size_t)t.len);
    buf[t.len] = '\0';
    char *end;
    double numerator = strtod(buf, &end);
    if (end == buf) return 0;
    if (*end == '/') {
        char *start = end + 1;
        double denominator = strtod(start, &end);
        if (end == start || *end || denominator == 0.0) return 0;
        *value = numerator / denominator;
        return 1;
    }
    if (*end) return 0;
    *value = numerator;
    return 1;
}

/* Element symbol (any case) optionally followed by a non-letter suffix, as
 * in GULP labels "O", "O1", "Ti_a". 0 if none. */
static int element_from_token(token t)
{
    int letters = 0;
    while (letters < t.len && isalpha((unsigned char)t.p[letters])) letters++;
    if (letters < 1 || letters > 2) return 0;
    if (letters < t.len && t.p[letters] != '_' && !isdigit((unsigned char)t.p[letters]) &&
        t.p[letters] != '+' && t.p[letters] != '-')
        return 0;
    char symbol[3] = {(char)toupper((unsigned char)t.p[0]),
                      letters == 2 ? (char)tolower((unsigned char)t.p[1]) : '\0', '\0'};
    return fuse2_element_z_from_symbol(symbol);
}

static fuse2_status parse_values(const gulp_reader *r, int line, const token *tok, int ntok,
                                 int count, const char *what, double *values)
{
    if (ntok < count)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: expected %d numbers for %s, got %d", r->name,
                           line, count, what, ntok);
    for (int k = 0; k < count; k++) {
        if (!token_value(tok[k], &values[k]))
            return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: '%.*s' is not a number (%s)", r->name,
                               line, tok[k].len, tok[k].p, what);
        if (!isfinite(values[k]))
            return FUSE2_RAISE(FUSE2_ERR_NUMERIC, "%s:%d: '%.*s' is not a finite number (%s)",
                               r->name, line, tok[k].len, tok[k].p, what);
    }
    return FUSE2_OK;
}

static fuse2_status add_atom(gulp_reader *r, int z, int cartesian, int line, const double x[3])
{
    if (r->natoms == r->capacity) {
        int capacity = r->capacity ? 2 * r->capacity : 64;
        gulp_atom *grown = realloc(r->atoms, (size_t)capacity * sizeof *grown);
        if (!grown) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate %d atoms", capacity);
        r->atoms = grown;
        r->capacity = capacity;
    }
    gulp_atom *a = &r->atoms[r->natoms++];
    a->z = z;
    a->cartesian = cartesian;
    a->line = line;
    memcpy(a->x, x, sizeof a->x);
    return FUSE2_OK;
}

/* `El [core|c] x y z ...`; shells are rejected. */
static fuse2_status parse_atom_line(gulp_reader *r, int line, const token *tok, int ntok, int z,
                                    int cartesian)
{
    int first = 1;
    double dummy;
    if (ntok > 1 && !token_value(tok[1], &dummy)) {
        if (is_prefix_of(tok[1], "shell") || is_prefix_of(tok[1], "bshell"))
            return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED,
                               "%s:%d: shell model not supported ('%.*s %.*s'); use a rigid-ion "
                               "potential",
                               r->name, line, tok[0].len, tok[0].p, tok[1].len, tok[1].p);
        if (!is_prefix_of(tok[1], "core") && !is_prefix_of(tok[1], "bcore"))
            return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: expected 'core' or coordinates after '%.*s', "
                               "got '%.*s'",
                               r->name, line, tok[0].len, tok[0].p, tok[1].len, tok[1].p);
        first = 2;
    }
    double x[3];
    FUSE2_CALL(parse_values(r, line, tok + first, ntok - first, 3,
                            cartesian ? "Cartesian coordinates" : "fractional coordinates", x));
    FUSE2_CALL(add_atom(r, z, cartesian, line, x));
    return FUSE2_OK;
}

static fuse2_status set_cell_parameters(gulp_reader *r, int line, const token *tok, int ntok)
{
    double p[6];
    FUSE2_CALL(parse_values(r, line, tok, ntok, 6, "the cell (a b c alpha beta gamma)", p));
    fuse2_status status = fuse2_lattice_from_parameters(p, r->lattice);
    if (status != FUSE2_OK) {
        fuse2_error_prefix("%s:%d: ", r->name, line);
        return status;
    }
    r->have_cell = 1;
    r->cell_line = line;
    return FUSE2_OK;
}

enum block_kind { BLOCK_NONE, BLOCK_FRACTIONAL, BLOCK_CARTESIAN };

static fuse2_status read_geometry(gulp_reader *r, const char *text)
{
    enum block_kind block = BLOCK_NONE;
    int in_title = 0, cell_numbers_next = 0, vectors_left = 0, space_group_next = 0;
    int line = 0;
    token tok[MAX_TOKENS];
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        int len = end ? (int)(end - p) : (int)strlen(p);
        const char *start = p;
        p = end ? end + 1 : p + len;
        line++;
        int ntok = tokenize(start, len, tok, MAX_TOKENS);
        if (ntok == 0) continue;

        if (in_title) {
            if (is_keyword(tok[0], "end")) in_title = 0;
            continue;
        }
        if (cell_numbers_next) {
            cell_numbers_next = 0;
            FUSE2_CALL(set_cell_parameters(r, line, tok, ntok));
            continue;
        }
        if (vectors_left) {
            int row = 3 - vectors_left;
            char what[32];
            snprintf(what, sizeof what, "lattice vector %d", row + 1);
            FUSE2_CALL(parse_values(r, line, tok, ntok, 3, what, r->lattice[row]));
            if (--vectors_left == 0) {
                r->have_cell = 1;
                r->cell_line = line;
            }
            continue;
        }
        if (space_group_next) {
            space_group_next = 0;
            int p1 = (ntok == 1 && tok[0].len == 1 && tok[0].p[0] == '1') ||
                     (ntok == 2 && tok[0].len == 1 && toupper((unsigned char)tok[0].p[0]) == 'P' &&
                      tok[1].len == 1 && tok[1].p[0] == '1') ||
                     (ntok == 1 && tok[0].len == 2 && toupper((unsigned char)tok[0].p[0]) == 'P' &&
                      tok[0].p[1] == '1');
            if (!p1)
                return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED,
                                   "%s:%d: GULP space-group input (asymmetric unit) is not "
                                   "supported; give every atom in P 1",
                                   r->name, line);
            continue;
        }

        if (block != BLOCK_NONE) {
            int z = element_from_token(tok[0]);
            if (z) {
                FUSE2_CALL(parse_atom_line(r, line, tok, ntok, z, block == BLOCK_CARTESIAN));
                continue;
            }
            double dummy;
            /* a core line whose label is not an element must not end the block silently */
            if (ntok >= 5 && (is_prefix_of(tok[1], "core") || is_prefix_of(tok[1], "shell")) &&
                token_value(tok[2], &dummy))
                return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: unknown element label '%.*s'",
                                   r->name, line, tok[0].len, tok[0].p);
            block = BLOCK_NONE;
        }

        if (is_keyword(tok[0], "title")) {
            in_title = 1;
        } else if (is_keyword(tok[0], "cell") || is_keyword(tok[0], "vectors")) {
            if (r->natoms > 0) break; /* the next configuration */
            if (is_keyword(tok[0], "cell")) {
                if (ntok >= 7)
                    FUSE2_CALL(set_cell_parameters(r, line, tok + 1, ntok - 1));
                else
                    cell_numbers_next = 1;
            } else {
                vectors_left = 3;
            }
        } else if (is_keyword(tok[0], "fractional")) {
            block = BLOCK_FRACTIONAL;
        } else if (is_keyword(tok[0], "cartesian")) {
            block = BLOCK_CARTESIAN;
        } else if (is_keyword(tok[0], "spacegroup")) {
            if (ntok > 1) {
                int p1 = (ntok == 2 && ((tok[1].len == 1 && tok[1].p[0] == '1') ||
                                        (tok[1].len == 2 && toupper((unsigned char)tok[1].p[0]) ==
                                                                'P' && tok[1].p[1] == '1')));
                if (!p1)
                    return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED,
                                       "%s:%d: GULP space-group input (asymmetric unit) is not "
                                       "supported; give every atom in P 1",
                                       r->name, line);
            } else {
                space_group_next = 1;
            }
        } else if (is_keyword(tok[0], "pfractional") || is_keyword(tok[0], "sfractional") ||
                   is_keyword(tok[0], "svectors") || is_keyword(tok[0], "scell") ||
                   is_keyword(tok[0], "pvectors") || is_keyword(tok[0], "pcell")) {
            return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED,
                               "%s:%d: 1D/2D periodic GULP geometry ('%.*s') is not supported",
                               r->name, line, tok[0].len, tok[0].p);
        }
        /* every other line (keywords, species, potentials, dump ...) is not geometry */
    }
    if (cell_numbers_next)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: file ends after 'cell' without its numbers",
                           r->name, line + 1);
    if (vectors_left)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: file ends inside the 'vectors' block",
                           r->name, line + 1);
    return FUSE2_OK;
}

fuse2_status fuse2_gulp_structure_read_string(const char *text, const char *name,
                                              fuse2_structure *out)
{
    if (!text || !out)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_gulp_structure_read_string: NULL argument");
    gulp_reader r = {.name = name ? name : "gulp"};
    fuse2_structure tmp = {0};
    fuse2_status status = FUSE2_OK;
    FUSE2_CALL_GOTO(status, read_geometry(&r, text), done);
    if (!r.have_cell)
        FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_PARSE, "%s: no 'cell' or 'vectors' found",
                         r.name);
    if (r.natoms == 0)
        FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_PARSE,
                         "%s: no atoms (no 'fractional' or 'cartesian' block)", r.name);
    if (!(fabs(fuse2_lattice_volume(r.lattice)) > 1e-8))
        FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_PARSE, "%s:%d: the cell has zero volume", r.name,
                         r.cell_line);

    double inverse[3][3];
    FUSE2_CALL_GOTO(status, fuse2_lattice_inverse(r.lattice, inverse), done);
    FUSE2_CALL_GOTO(status, fuse2_structure_init(&tmp, r.natoms), done);
    memcpy(tmp.lattice, r.lattice, sizeof tmp.lattice);
    for (int i = 0; i < r.natoms; i++) {
        const gulp_atom *a = &r.atoms[i];
        double frac[3];
        for (int k = 0; k < 3; k++)
            frac[k] = a->cartesian ? a->x[0] * inverse[0][k] + a->x[1] * inverse[1][k] +
                                         a->x[2] * inverse[2][k]
                                   : a->x[k];
        FUSE2_CALL_GOTO(status, fuse2_structure_add_atom(&tmp, a->z, frac), done);
    }
    if (fuse2_lattice_volume(tmp.lattice) < 0) {
        /* -a, -b, -c spans the same lattice; positions are unchanged */
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 3; k++) tmp.lattice[i][k] = -tmp.lattice[i][k];
        for (int i = 0; i < tmp.natoms; i++)
            for (int k = 0; k < 3; k++) tmp.frac[i][k] = -tmp.frac[i][k];
    }
    fuse2_structure_wrap_positions(&tmp);
    FUSE2_CALL_GOTO(status, fuse2_structure_validate(&tmp, r.name), done);
    fuse2_structure_free(out);
    *out = tmp;
    tmp = (fuse2_structure){0};
done:
    fuse2_structure_free(&tmp);
    free(r.atoms);
    return status;
}

fuse2_status fuse2_gulp_structure_read(const char *path, fuse2_structure *out)
{
    char *text = NULL;
    FUSE2_CALL(fuse2_text_file_read(path, &text));
    fuse2_status status = fuse2_gulp_structure_read_string(text, path, out);
    free(text);
    if (status != FUSE2_OK) fuse2_error_push_frame(__FILE__, __LINE__, __func__);
    return status;
}
