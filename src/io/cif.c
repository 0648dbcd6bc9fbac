/* CIF 1.1 reading (first data block, cell, atom_site loop, symmetry
 * expansion) and writing (P1 or symmetrised with spglib). Syntax reference:
 * https://www.iucr.org/resources/cif/spec/version1.1/cifsyntax */
#include "fuse2/structure_io.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/elements.h"
#include "fuse2/symmetry.h"
#include "text.h"

enum { LABEL_CAPACITY = 64 };

static const double DEFAULT_MERGE_TOLERANCE = 0.01;  /* Å */
static const double OCCUPANCY_TOLERANCE = 1e-3;

/* ------------------------------------------------------------------ */
/* tokens                                                              */

typedef struct cif_token {
    char *text;
    int line;
    int quoted; /* quoted string or text field: never a tag, keyword, '?' or '.' */
} cif_token;

typedef struct cif_tokens {
    cif_token *items;
    int n, capacity;
} cif_tokens;

static void tokens_free(cif_tokens *t)
{
    for (int i = 0; i < t->n; i++) free(t->items[i].text);
    free(t->items);
    memset(t, 0, sizeof *t);
}

static fuse2_status tokens_push(cif_tokens *t, const char *start, size_t len, int line,
                                int quoted)
{
    if (t->n == t->capacity) {
        int capacity = t->capacity ? 2 * t->capacity : 256;
        cif_token *grown = realloc(t->items, (size_t)capacity * sizeof *grown);
        if (!grown) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate CIF tokens");
        t->items = grown;
        t->capacity = capacity;
    }
    char *text = malloc(len + 1);
    if (!text) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate CIF token");
    memcpy(text, start, len);
    text[len] = '\0';
    t->items[t->n++] = (cif_token){text, line, quoted};
    return FUSE2_OK;
}

/* CIF 1.1 lexical rules: '#' comments, quotes that close only before
 * whitespace ('it''s' style quotes inside are allowed), and text fields
 * between lines starting with ';'. */
static fuse2_status tokenize(const char *text, const char *name, cif_tokens *out)
{
    const char *p = text;
    int line = 1, line_start = 1;
    while (*p) {
        char c = *p;
        if (c == '\n') {
            line++;
            line_start = 1;
            p++;
            continue;
        }
        if (isspace((unsigned char)c)) {
            line_start = 0;
            p++;
            continue;
        }
        if (c == ';' && line_start) {
            int first_line = line;
            const char *body = p + 1;
            const char *q = body;
            for (;;) {
                q = strchr(q, '\n');
                if (!q)
                    return FUSE2_RAISE(FUSE2_ERR_PARSE,
                                       "%s:%d: text field (';') is never closed", name,
                                       first_line);
                line++;
                if (q[1] == ';') break;
                q++;
            }
            FUSE2_CALL(tokens_push(out, body, (size_t)(q - body), first_line, 1));
            p = q + 2;
            line_start = 0;
            continue;
        }
        line_start = 0;
        if (c == '#') {
            while (*p && *p != '\n') p++;
            continue;
        }
        if (c == '\'' || c == '"') {
            const char *q = p + 1;
            while (*q && *q != '\n' &&
                   !(*q == c && (q[1] == '\0' || isspace((unsigned char)q[1]))))
                q++;
            if (*q != c)
                return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: quoted string %c...%c is not closed",
                                   name, line, c, c);
            FUSE2_CALL(tokens_push(out, p + 1, (size_t)(q - p - 1), line, 1));
            p = q + 1;
            continue;
        }
        const char *q = p;
        while (*q && !isspace((unsigned char)*q)) q++;
        FUSE2_CALL(tokens_push(out, p, (size_t)(q - p), line, 0));
        p = q;
    }
    return FUSE2_OK;
}

static int is_tag(const cif_token *t) { return !t->quoted && t->text[0] == '_'; }

/* Tokens that end a loop's values or a tag's value. */
static int is_reserved(const cif_token *t)
{
    if (t->quoted) return 0;
    return t->text[0] == '_' || text_equals_nocase(t->text, "loop_") ||
           text_starts_with_nocase(t->text, "data_") ||
           text_starts_with_nocase(t->text, "save_") ||
           text_equals_nocase(t->text, "global_") || text_equals_nocase(t->text, "stop_");
}

/* ------------------------------------------------------------------ */
/* data block: every item is a loop; a lone tag is a loop of one value */

typedef struct cif_loop {
    int ntags, nrows;
    char **tags;             /* normalised: lower case, '.' -> '_' */
    const cif_token **values; /* row-major, ntags * nrows */
    int line;
} cif_loop;

typedef struct cif_block {
    cif_loop *loops;
    int nloops, capacity;
} cif_block;

static void block_free(cif_block *b)
{
    for (int i = 0; i < b->nloops; i++) {
        for (int k = 0; k < b->loops[i].ntags; k++) free(b->loops[i].tags[k]);
        free(b->loops[i].tags);
        free(b->loops[i].values);
    }
    free(b->loops);
    memset(b, 0, sizeof *b);
}

/* "_space_group_symop.operation_xyz" (DDLm) reads as the DDL1 name. */
static char *normalise_tag(const char *tag)
{
    size_t len = strlen(tag);
    char *out = malloc(len + 1);
    if (!out) return NULL;
    for (size_t i = 0; i <= len; i++)
        out[i] = tag[i] == '.' ? '_' : (char)tolower((unsigned char)tag[i]);
    return out;
}

static fuse2_status add_loop(cif_block *b, const cif_tokens *t, int first_tag, int ntags,
                             int first_value, int nvalues, int line)
{
    if (b->nloops == b->capacity) {
        int capacity = b->capacity ? 2 * b->capacity : 32;
        cif_loop *grown = realloc(b->loops, (size_t)capacity * sizeof *grown);
        if (!grown) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate CIF loops");
        b->loops = grown;
        b->capacity = capacity;
    }
    cif_loop *loop = &b->loops[b->nloops];
    memset(loop, 0, sizeof *loop);
    loop->tags = calloc((size_t)ntags, sizeof *loop->tags);
    loop->values = malloc((size_t)(nvalues ? nvalues : 1) * sizeof *loop->values);
    if (!loop->tags || !loop->values) {
        free(loop->tags);
        free(loop->values);
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate a CIF loop");
    }
    b->nloops++;
    loop->line = line;
    loop->ntags = ntags;
    loop->nrows = nvalues / ntags;
    for (int k = 0; k < ntags; k++) {
        loop->tags[k] = normalise_tag(t->items[first_tag + k].text);
        if (!loop->tags[k]) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate a CIF tag");
    }
    for (int k = 0; k < nvalues; k++) loop->values[k] = &t->items[first_value + k];
    return FUSE2_OK;
}

static fuse2_status parse_block(const cif_tokens *t, const char *name, cif_block *b)
{
    int i = 0;
    while (i < t->n &&
           (t->items[i].quoted || !text_starts_with_nocase(t->items[i].text, "data_")))
        i++;
    if (t->n == 0) return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s: file is empty", name);
    if (i == t->n)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: no data_ block (is this a CIF file?)", name,
                           t->items[0].line);
    i++;
    while (i < t->n) {
        const cif_token *tok = &t->items[i];
        if (!tok->quoted && text_starts_with_nocase(tok->text, "data_")) break; /* only the first */
        if (!tok->quoted && text_equals_nocase(tok->text, "loop_")) {
            int line = tok->line;
            int first_tag = ++i;
            while (i < t->n && is_tag(&t->items[i])) i++;
            int ntags = i - first_tag;
            if (ntags == 0)
                return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: loop_ without tags", name, line);
            int first_value = i;
            while (i < t->n && !is_reserved(&t->items[i])) i++;
            int nvalues = i - first_value;
            if (nvalues % ntags != 0)
                return FUSE2_RAISE(FUSE2_ERR_PARSE,
                                   "%s:%d: loop has %d values for %d tags (%s ...), not a "
                                   "whole number of rows",
                                   name, line, nvalues, ntags, t->items[first_tag].text);
            FUSE2_CALL(add_loop(b, t, first_tag, ntags, first_value, nvalues, line));
        } else if (is_tag(tok)) {
            if (i + 1 >= t->n || is_reserved(&t->items[i + 1]))
                return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: %s has no value", name, tok->line,
                                   tok->text);
            FUSE2_CALL(add_loop(b, t, i, 1, i + 1, 1, tok->line));
            int value_line = t->items[i + 1].line;
            i += 2;
            /* tolerate an unquoted value with spaces (invalid CIF, but common):
             * the rest of its line belongs to it */
            if (!t->items[i - 1].quoted)
                while (i < t->n && t->items[i].line == value_line && !t->items[i].quoted &&
                       !is_reserved(&t->items[i]))
                    i++;
        } else if (!tok->quoted && text_starts_with_nocase(tok->text, "save_")) {
            /* save frames (dictionaries) hold no structure: skip to their end */
            i++;
            while (i < t->n &&
                   !(!t->items[i].quoted && text_equals_nocase(t->items[i].text, "save_")))
                i++;
            i++;
        } else if (!tok->quoted && (text_equals_nocase(tok->text, "global_") ||
                                    text_equals_nocase(tok->text, "stop_"))) {
            i++;
        } else {
            return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: value '%s' does not follow a tag", name,
                               tok->line, tok->text);
        }
    }
    return FUSE2_OK;
}

/* First loop holding the tag (normalised name); column in *column. */
static const cif_loop *find_tag(const cif_block *b, const char *tag, int *column)
{
    for (int i = 0; i < b->nloops; i++)
        for (int k = 0; k < b->loops[i].ntags; k++)
            if (strcmp(b->loops[i].tags[k], tag) == 0) {
                *column = k;
                return &b->loops[i];
            }
    return NULL;
}

static int loop_column(const cif_loop *loop, const char *tag)
{
    for (int k = 0; k < loop->ntags; k++)
        if (strcmp(loop->tags[k], tag) == 0) return k;
    return -1;
}

static const cif_token *loop_value(const cif_loop *loop, int row, int column)
{
    return loop->values[(size_t)row * (size_t)loop->ntags + (size_t)column];
}

static int is_unknown(const cif_token *t)
{
    return !t->quoted && (strcmp(t->text, "?") == 0 || strcmp(t->text, ".") == 0);
}

/* Number with optional standard uncertainty "0.1234(5)"; '?' and '.' are
 * unknown (*known = 0). */
static fuse2_status parse_number(const cif_token *t, const char *name, const char *what,
                                 double *value, int *known)
{
    *known = 0;
    if (is_unknown(t)) return FUSE2_OK;
    const char *s = t->text;
    char *end;
    double v = strtod(s, &end);
    if (end == s)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: '%s' is not a number (%s)", name, t->line, s,
                           what);
    if (*end == '(') {
        const char *q = end + 1;
        while (isdigit((unsigned char)*q)) q++;
        if (q == end + 1 || *q != ')')
            return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: '%s' is not a number (%s)", name,
                               t->line, s, what);
        end = (char *)q + 1;
    }
    if (*end)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: '%s' is not a number (%s)", name, t->line, s,
                           what);
    if (!isfinite(v))
        return FUSE2_RAISE(FUSE2_ERR_NUMERIC, "%s:%d: '%s' is not a finite number (%s)", name,
                           t->line, s, what);
    *value = v;
    *known = 1;
    return FUSE2_OK;
}

/* ------------------------------------------------------------------ */
/* symmetry operations                                                 */

typedef struct symop {
    int rotation[3][3];
    double translation[3];
} symop;

/* One component such as "-x+1/2", "x-y", "1/2+x", "+x", "0.25-z", "2*x". */
static int parse_symop_component(const char *s, int rotation[3], double *translation)
{
    rotation[0] = rotation[1] = rotation[2] = 0;
    *translation = 0.0;
    int nterms = 0;
    const char *p = s;
    for (;;) {
        while (isspace((unsigned char)*p)) p++;
        if (!*p) break;
        double sign = 1.0;
        if (*p == '+' || *p == '-') {
            sign = *p == '-' ? -1.0 : 1.0;
            p++;
            while (isspace((unsigned char)*p)) p++;
        } else if (nterms > 0) {
            return 0; /* two terms without an operator */
        }
        double number = 1.0;
        int has_number = 0;
        if (isdigit((unsigned char)*p) || *p == '.') {
            char *end;
            number = strtod(p, &end);
            if (end == p) return 0;
            p = end;
            while (isspace((unsigned char)*p)) p++;
            if (*p == '/') {
                p++;
                while (isspace((unsigned char)*p)) p++;
                double denominator = strtod(p, &end);
                if (end == p || denominator == 0.0) return 0;
                number /= denominator;
                p = end;
                while (isspace((unsigned char)*p)) p++;
            }
            if (*p == '*') {
                p++;
                while (isspace((unsigned char)*p)) p++;
            }
            has_number = 1;
        }
        int axis = -1;
        switch (tolower((unsigned char)*p)) {
        case 'x': axis = 0; break;
        case 'y': axis = 1; break;
        case 'z': axis = 2; break;
        default: break;
        }
        if (axis >= 0) {
            p++;
            double coefficient = sign * number;
            /* rotation entries of a crystallographic operation are -1, 0, 1
             * (|2| at most in a non-reduced setting); anything else is not a
             * symmetry operation, and would overflow the integer matrix */
            if (coefficient != floor(coefficient) || fabs(coefficient) > 2) return 0;
            rotation[axis] += (int)coefficient;
            if (abs(rotation[axis]) > 2) return 0;
        } else {
            if (!has_number || !isfinite(number)) return 0;
            *translation += sign * number;
        }
        nterms++;
    }
    return nterms > 0;
}

static int determinant3(const int m[3][3])
{
    return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
           m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
           m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

static fuse2_status parse_symop(const cif_token *t, const char *name, symop *op)
{
    char buf[256];
    if (strlen(t->text) >= sizeof buf)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: symmetry operation too long", name, t->line);
    strcpy(buf, t->text);
    char *parts[3];
    int nparts = 0;
    char *p = buf;
    parts[nparts++] = p;
    for (; *p; p++)
        if (*p == ',') {
            if (nparts == 3) {
                nparts = 4;
                break;
            }
            *p = '\0';
            parts[nparts++] = p + 1;
        }
    if (nparts != 3)
        return FUSE2_RAISE(FUSE2_ERR_PARSE,
                           "%s:%d: symmetry operation '%s' does not have 3 comma-separated parts",
                           name, t->line, t->text);
    for (int r = 0; r < 3; r++)
        if (!parse_symop_component(parts[r], op->rotation[r], &op->translation[r]))
            return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: cannot read symmetry operation '%s'",
                               name, t->line, t->text);
    int det = determinant3(op->rotation);
    if (det != 1 && det != -1)
        return FUSE2_RAISE(FUSE2_ERR_PARSE,
                           "%s:%d: symmetry operation '%s' is not a rotation (determinant %d)",
                           name, t->line, t->text, det);
    return FUSE2_OK;
}

static const char *const SYMOP_TAGS[] = {"_symmetry_equiv_pos_as_xyz",
                                         "_space_group_symop_operation_xyz"};

static int is_p1_symbol(const char *symbol)
{
    char compact[64];
    int n = 0;
    for (const char *p = symbol; *p && n < 63; p++)
        if (!isspace((unsigned char)*p) && *p != '_') compact[n++] = (char)tolower((unsigned char)*p);
    compact[n] = '\0';
    return strcmp(compact, "p1") == 0;
}

static fuse2_status read_symops(const cif_block *b, const char *name, symop **ops_out,
                                int *nops_out)
{
    const cif_loop *loop = NULL;
    int column = -1;
    for (size_t k = 0; k < sizeof SYMOP_TAGS / sizeof SYMOP_TAGS[0] && !loop; k++)
        loop = find_tag(b, SYMOP_TAGS[k], &column);

    if (!loop || loop->nrows == 0) {
        /* no operations: P1, unless the file names another space group */
        static const char *const symbol_tags[] = {"_symmetry_space_group_name_h-m",
                                                  "_space_group_name_h-m_alt"};
        static const char *const number_tags[] = {"_symmetry_int_tables_number",
                                                  "_space_group_it_number"};
        for (int k = 0; k < 2; k++) {
            int c;
            const cif_loop *l = find_tag(b, symbol_tags[k], &c);
            if (l && l->nrows > 0) {
                const cif_token *v = loop_value(l, 0, c);
                if (!is_unknown(v) && v->text[0] && !is_p1_symbol(v->text))
                    return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED,
                                       "%s:%d: space group '%s' without symmetry operations "
                                       "(_symmetry_equiv_pos_as_xyz or "
                                       "_space_group_symop_operation_xyz); cannot expand the "
                                       "asymmetric unit",
                                       name, v->line, v->text);
            }
            l = find_tag(b, number_tags[k], &c);
            if (l && l->nrows > 0) {
                const cif_token *v = loop_value(l, 0, c);
                double number;
                int known;
                FUSE2_CALL(parse_number(v, name, number_tags[k], &number, &known));
                if (known && number != 1.0)
                    return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED,
                                       "%s:%d: space group number %g without symmetry operations "
                                       "(_symmetry_equiv_pos_as_xyz or "
                                       "_space_group_symop_operation_xyz); cannot expand the "
                                       "asymmetric unit",
                                       name, v->line, number);
            }
        }
        symop *identity = calloc(1, sizeof *identity);
        if (!identity) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate symmetry operations");
        for (int r = 0; r < 3; r++) identity->rotation[r][r] = 1;
        *ops_out = identity;
        *nops_out = 1;
        return FUSE2_OK;
    }

    symop *ops = malloc((size_t)loop->nrows * sizeof *ops);
    if (!ops) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate symmetry operations");
    for (int row = 0; row < loop->nrows; row++) {
        fuse2_status status = parse_symop(loop_value(loop, row, column), name, &ops[row]);
        if (status != FUSE2_OK) {
            free(ops);
            return status;
        }
    }
    *ops_out = ops;
    *nops_out = loop->nrows;
    return FUSE2_OK;
}

/* ------------------------------------------------------------------ */
/* sites, expansion and merging                                        */

typedef struct cif_site {
    char label[LABEL_CAPACITY];
    int z;
    int line;
    double frac[3];
} cif_site;

static fuse2_status read_cell(const cif_block *b, const char *name, double lattice[3][3])
{
    static const char *const tags[6] = {"_cell_length_a",    "_cell_length_b",
                                        "_cell_length_c",    "_cell_angle_alpha",
                                        "_cell_angle_beta",  "_cell_angle_gamma"};
    double p[6];
    int lines[6];
    for (int k = 0; k < 6; k++) {
        int column;
        const cif_loop *loop = find_tag(b, tags[k], &column);
        if (!loop || loop->nrows == 0)
            return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s: %s is missing", name, tags[k]);
        const cif_token *v = loop_value(loop, 0, column);
        int known;
        FUSE2_CALL(parse_number(v, name, tags[k], &p[k], &known));
        if (!known)
            return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: %s is unknown ('%s')", name, v->line,
                               tags[k], v->text);
        lines[k] = v->line;
        if (p[k] <= 0)
            return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: %s is %g (must be > 0)", name, v->line,
                               tags[k], p[k]);
        if (k >= 3 && p[k] >= 180.0)
            return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: %s is %g (must be below 180 degrees)",
                               name, v->line, tags[k], p[k]);
    }
    fuse2_status status = fuse2_lattice_from_parameters(p, lattice);
    if (status != FUSE2_OK) {
        /* the angles together describe no cell */
        fuse2_error_prefix("%s:%d: ", name, lines[3]);
        return status;
    }
    /* rounding lets e.g. 120/120/120 through with a sliver of volume */
    if (fuse2_lattice_volume(lattice) < 1e-6 * p[0] * p[1] * p[2])
        return FUSE2_RAISE(FUSE2_ERR_PARSE,
                           "%s:%d: impossible cell angles %g %g %g (the cell is flat)", name,
                           lines[3], p[3], p[4], p[5]);
    return FUSE2_OK;
}

static fuse2_status read_sites(const cif_block *b, const char *name, cif_site **sites_out,
                               int *nsites_out)
{
    int column;
    const cif_loop *loop = find_tag(b, "_atom_site_fract_x", &column);
    if (!loop)
        return FUSE2_RAISE(FUSE2_ERR_PARSE,
                           "%s: no atoms (no _atom_site_fract_x/y/z loop; Cartesian "
                           "_atom_site_Cartn_x is not supported)",
                           name);
    int cx = loop_column(loop, "_atom_site_fract_x");
    int cy = loop_column(loop, "_atom_site_fract_y");
    int cz = loop_column(loop, "_atom_site_fract_z");
    if (cy < 0 || cz < 0)
        return FUSE2_RAISE(FUSE2_ERR_PARSE,
                           "%s:%d: the atom_site loop lacks _atom_site_fract_y or _fract_z", name,
                           loop->line);
    int clabel = loop_column(loop, "_atom_site_label");
    int ctype = loop_column(loop, "_atom_site_type_symbol");
    int cocc = loop_column(loop, "_atom_site_occupancy");
    if (clabel < 0 && ctype < 0)
        return FUSE2_RAISE(FUSE2_ERR_PARSE,
                           "%s:%d: the atom_site loop has neither _atom_site_type_symbol nor "
                           "_atom_site_label",
                           name, loop->line);
    if (loop->nrows == 0) return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s: no atoms", name);

    cif_site *sites = calloc((size_t)loop->nrows, sizeof *sites);
    if (!sites) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate %d sites", loop->nrows);
    fuse2_status status = FUSE2_OK;
    for (int row = 0; row < loop->nrows; row++) {
        cif_site *site = &sites[row];
        const cif_token *xt = loop_value(loop, row, cx);
        site->line = xt->line;
        const cif_token *label = clabel >= 0 ? loop_value(loop, row, clabel) : NULL;
        const cif_token *type = ctype >= 0 ? loop_value(loop, row, ctype) : NULL;
        if (label && !is_unknown(label))
            snprintf(site->label, sizeof site->label, "%s", label->text);
        else if (type && !is_unknown(type))
            snprintf(site->label, sizeof site->label, "%s", type->text);
        else
            snprintf(site->label, sizeof site->label, "site %d", row + 1);

        /* the type symbol names the element; the label is the fallback */
        const cif_token *element = type && !is_unknown(type) ? type : label;
        if (!element || is_unknown(element))
            FUSE2_RAISE_GOTO(status, fail, FUSE2_ERR_PARSE,
                             "%s:%d: site '%s' has no element (type symbol and label unknown)",
                             name, site->line, site->label);
        site->z = fuse2_element_z_from_label(element->text);
        if (site->z <= 0)
            FUSE2_RAISE_GOTO(status, fail, FUSE2_ERR_PARSE,
                             "%s:%d: unknown element '%s' (site '%s')", name, element->line,
                             element->text, site->label);

        const int columns[3] = {cx, cy, cz};
        static const char *const what[3] = {"_atom_site_fract_x", "_atom_site_fract_y",
                                            "_atom_site_fract_z"};
        for (int k = 0; k < 3; k++) {
            const cif_token *v = loop_value(loop, row, columns[k]);
            int known;
            FUSE2_CALL_GOTO(status, parse_number(v, name, what[k], &site->frac[k], &known), fail);
            if (!known)
                FUSE2_RAISE_GOTO(status, fail, FUSE2_ERR_PARSE,
                                 "%s:%d: site '%s' has an unknown coordinate (%s '%s')", name,
                                 v->line, site->label, what[k], v->text);
        }
        if (cocc >= 0) {
            const cif_token *v = loop_value(loop, row, cocc);
            double occupancy;
            int known;
            FUSE2_CALL_GOTO(status,
                            parse_number(v, name, "_atom_site_occupancy", &occupancy, &known),
                            fail);
            if (known && occupancy < 1.0 - OCCUPANCY_TOLERANCE)
                FUSE2_RAISE_GOTO(status, fail, FUSE2_ERR_UNSUPPORTED,
                                 "%s:%d: site '%s' has partial occupancy %g; disordered "
                                 "structures are not supported",
                                 name, v->line, site->label, occupancy);
            if (known && occupancy > 1.0 + OCCUPANCY_TOLERANCE)
                FUSE2_RAISE_GOTO(status, fail, FUSE2_ERR_PARSE,
                                 "%s:%d: site '%s' has occupancy %g above 1", name, v->line,
                                 site->label, occupancy);
        }
    }
    *sites_out = sites;
    *nsites_out = loop->nrows;
    return FUSE2_OK;
fail:
    free(sites);
    return status;
}

static double wrap_unit(double x)
{
    double w = x - floor(x);
    return w >= 1.0 ? 0.0 : w;
}

/* Is there a lattice translation n with |(a - b + n) L| < tol? Exact for any
 * cell shape: |frac_k| <= |cart| * |column k of L^-1| bounds the n to try. */
static int periodic_images_closer(const double lattice[3][3], const double reach[3],
                                  const double a[3], const double b[3], double tol)
{
    double d[3];
    int lo[3], hi[3];
    for (int k = 0; k < 3; k++) {
        d[k] = a[k] - b[k];
        d[k] -= round(d[k]);
        lo[k] = (int)ceil(-d[k] - reach[k]);
        hi[k] = (int)floor(-d[k] + reach[k]);
        if (lo[k] > hi[k]) return 0;
    }
    for (int i = lo[0]; i <= hi[0]; i++)
        for (int j = lo[1]; j <= hi[1]; j++)
            for (int l = lo[2]; l <= hi[2]; l++) {
                double f[3] = {d[0] + i, d[1] + j, d[2] + l};
                double c2 = 0;
                for (int m = 0; m < 3; m++) {
                    double c = f[0] * lattice[0][m] + f[1] * lattice[1][m] + f[2] * lattice[2][m];
                    c2 += c * c;
                }
                if (c2 < tol * tol) return 1;
            }
    return 0;
}

static fuse2_status expand_sites(const char *name, const cif_site *sites, int nsites,
                                 const symop *ops, int nops, double tol, fuse2_structure *s)
{
    double inverse[3][3];
    FUSE2_CALL(fuse2_lattice_inverse(s->lattice, inverse));
    double reach[3];
    for (int k = 0; k < 3; k++)
        reach[k] = tol * sqrt(inverse[0][k] * inverse[0][k] + inverse[1][k] * inverse[1][k] +
                              inverse[2][k] * inverse[2][k]);
    int *origin = NULL; /* site index of each atom, for messages */
    int origin_capacity = 0;
    fuse2_status status = FUSE2_OK;
    for (int i = 0; i < nsites; i++)
        for (int o = 0; o < nops; o++) {
            double x[3];
            for (int r = 0; r < 3; r++)
                x[r] = wrap_unit(ops[o].rotation[r][0] * sites[i].frac[0] +
                                 ops[o].rotation[r][1] * sites[i].frac[1] +
                                 ops[o].rotation[r][2] * sites[i].frac[2] +
                                 ops[o].translation[r]);
            int duplicate = 0;
            for (int a = 0; a < s->natoms && !duplicate; a++) {
                if (!periodic_images_closer(s->lattice, reach, x, s->frac[a], tol)) continue;
                if (s->species[a] != sites[i].z)
                    FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_PARSE,
                                     "%s:%d: site '%s' (%s) overlaps site '%s' (%s) within %g A "
                                     "after symmetry expansion",
                                     name, sites[i].line, sites[i].label,
                                     fuse2_element_by_z(sites[i].z)->symbol,
                                     sites[origin[a]].label,
                                     fuse2_element_by_z(s->species[a])->symbol, tol);
                duplicate = 1;
            }
            if (duplicate) continue;
            FUSE2_CALL_GOTO(status, fuse2_structure_add_atom(s, sites[i].z, x), done);
            if (s->natoms > origin_capacity) {
                int capacity = origin_capacity ? 2 * origin_capacity : 64;
                int *grown = realloc(origin, (size_t)capacity * sizeof *grown);
                if (!grown)
                    FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_NOMEM, "cannot allocate %d atoms",
                                     capacity);
                origin = grown;
                origin_capacity = capacity;
            }
            origin[s->natoms - 1] = i;
        }
done:
    free(origin);
    return status;
}

fuse2_status fuse2_cif_read_string(const char *text, const char *name, double merge_tolerance,
                                   fuse2_structure *out)
{
    if (!text || !out) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_cif_read_string: NULL argument");
    if (!name) name = "CIF";
    if (!(merge_tolerance >= 0) || !isfinite(merge_tolerance))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "CIF merge tolerance %g must be >= 0", merge_tolerance);
    double tol = merge_tolerance > 0 ? merge_tolerance : DEFAULT_MERGE_TOLERANCE;

    cif_tokens tokens = {0};
    cif_block block = {0};
    cif_site *sites = NULL;
    symop *ops = NULL;
    int nsites = 0, nops = 0;
    fuse2_structure tmp = {0};
    fuse2_status status = FUSE2_OK;

    FUSE2_CALL_GOTO(status, tokenize(text, name, &tokens), done);
    FUSE2_CALL_GOTO(status, parse_block(&tokens, name, &block), done);
    FUSE2_CALL_GOTO(status, fuse2_structure_init(&tmp, 0), done);
    FUSE2_CALL_GOTO(status, read_cell(&block, name, tmp.lattice), done);
    FUSE2_CALL_GOTO(status, read_sites(&block, name, &sites, &nsites), done);
    FUSE2_CALL_GOTO(status, read_symops(&block, name, &ops, &nops), done);
    FUSE2_CALL_GOTO(status, expand_sites(name, sites, nsites, ops, nops, tol, &tmp), done);
    FUSE2_CALL_GOTO(status, fuse2_structure_validate(&tmp, name), done);
    fuse2_structure_free(out);
    *out = tmp;
    tmp = (fuse2_structure){0};
done:
    fuse2_structure_free(&tmp);
    free(ops);
    free(sites);
    block_free(&block);
    tokens_free(&tokens);
    return status;
}

fuse2_status fuse2_cif_read(const char *path, double merge_tolerance, fuse2_structure *out)
{
    char *text = NULL;
    FUSE2_CALL(fuse2_text_file_read(path, &text));
    fuse2_status status = fuse2_cif_read_string(text, path, merge_tolerance, out);
    free(text);
    if (status != FUSE2_OK) fuse2_error_push_frame(__FILE__, __LINE__, __func__);
    return status;
}

/* ------------------------------------------------------------------ */
/* writing                                                             */

/* "x-y", "-x+1/2", "z+1/6": rotation row and translation (mod 1). */
static void format_symop_row(const int rotation[3], double translation, char *buf, size_t size)
{
    static const char axes[3] = {'x', 'y', 'z'};
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < 3; k++) {
        int c = rotation[k];
        if (c == 0) continue;
        const char *sign = c < 0 ? "-" : (used ? "+" : "");
        int n = abs(c) == 1 ? snprintf(buf + used, size - used, "%s%c", sign, axes[k])
                            : snprintf(buf + used, size - used, "%s%d*%c", sign, abs(c), axes[k]);
        if (n < 0 || (size_t)n >= size - used) return;
        used += (size_t)n;
    }
    double t = translation - floor(translation);
    if (t > 1.0 - 1e-9) t = 0.0;
    if (t < 1e-9) return;
    for (int d = 1; d <= 12; d++) {
        double numerator = t * d;
        if (fabs(numerator - round(numerator)) < 1e-6 * d) {
            snprintf(buf + used, size - used, "%s%d/%d", used ? "+" : "", (int)round(numerator),
                     d);
            return;
        }
    }
    snprintf(buf + used, size - used, "%s%.12f", used ? "+" : "", t);
}

/* data_ names cannot hold blanks. */
static void block_name(const char *title, const fuse2_structure *s, char *buf, int size)
{
    if (title && title[0])
        snprintf(buf, (size_t)size, "%s", title);
    else
        fuse2_structure_formula(s, buf, size);
    for (char *c = buf; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.' && *c != '+' &&
            *c != '(' && *c != ')')
            *c = '_';
    if (!buf[0]) snprintf(buf, (size_t)size, "fuse2");
}

static fuse2_status write_cif_file(const char *path, const char *title, const char *comments,
                                   const fuse2_structure *s, const char *symbol, int number,
                                   int nops, const int (*rotations)[3][3],
                                   const double (*translations)[3], const int *write_atom,
                                   const int *multiplicity)
{
    char name[256];
    block_name(title, s, name, sizeof name);
    double p[6];
    fuse2_lattice_to_parameters(s->lattice, p);

    FILE *f = fopen(path, "w");
    if (!f) return FUSE2_RAISE(FUSE2_ERR_IO, "%s: cannot open for writing", path);
    fprintf(f, "# written by fuse2\n%sdata_%s\n", comments ? comments : "", name);
    fprintf(f, "_symmetry_space_group_name_H-M    '%s'\n", symbol);
    fprintf(f, "_symmetry_Int_Tables_number       %d\n", number);
    static const char *const cell_tags[6] = {"_cell_length_a", "_cell_length_b",
                                             "_cell_length_c", "_cell_angle_alpha",
                                             "_cell_angle_beta", "_cell_angle_gamma"};
    for (int k = 0; k < 6; k++) fprintf(f, "%-33s %.10f\n", cell_tags[k], p[k]);
    fprintf(f, "%-33s %.6f\n", "_cell_volume", fabs(fuse2_structure_volume(s)));
    fprintf(f, "\nloop_\n_symmetry_equiv_pos_site_id\n_symmetry_equiv_pos_as_xyz\n");
    for (int o = 0; o < nops; o++) {
        char rows[3][64];
        for (int r = 0; r < 3; r++)
            format_symop_row(rotations[o][r], translations[o][r], rows[r], sizeof rows[r]);
        fprintf(f, "%4d '%s, %s, %s'\n", o + 1, rows[0], rows[1], rows[2]);
    }
    fprintf(f, "\nloop_\n_atom_site_label\n_atom_site_type_symbol\n"
               "_atom_site_symmetry_multiplicity\n_atom_site_fract_x\n_atom_site_fract_y\n"
               "_atom_site_fract_z\n_atom_site_occupancy\n");
    int counter[FUSE2_MAX_Z + 1] = {0};
    for (int i = 0; i < s->natoms; i++) {
        if (!write_atom[i]) continue;
        const char *symbol_i = fuse2_element_by_z(s->species[i])->symbol;
        char label[16];
        snprintf(label, sizeof label, "%s%d", symbol_i, ++counter[s->species[i]]);
        fprintf(f, "%-8s %-3s %4d %16.12f %16.12f %16.12f 1.0\n", label, symbol_i,
                multiplicity[i], wrap_unit(s->frac[i][0]), wrap_unit(s->frac[i][1]),
                wrap_unit(s->frac[i][2]));
    }
    int failed = ferror(f);
    if (fclose(f) != 0 || failed) return FUSE2_RAISE(FUSE2_ERR_IO, "%s: write failed", path);
    return FUSE2_OK;
}

static fuse2_status write_p1(const char *path, const fuse2_structure *s, const char *title,
                             const char *comments)
{
    int identity[1][3][3] = {{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}};
    double zero[1][3] = {{0, 0, 0}};
    int *ones = malloc((size_t)s->natoms * sizeof *ones);
    if (!ones) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate %d atoms", s->natoms);
    for (int i = 0; i < s->natoms; i++) ones[i] = 1;
    fuse2_status status = write_cif_file(path, title, comments, s, "P 1", 1, 1,
                                         (const int(*)[3][3])identity,
                                         (const double(*)[3])zero, ones, ones);
    free(ones);
    if (status != FUSE2_OK) fuse2_error_push_frame(__FILE__, __LINE__, __func__);
    return status;
}

static fuse2_status write_symmetrized(const char *path, const fuse2_structure *s,
                                      const char *title, double symprec)
{
    fuse2_structure standard = {0};
    int (*rotations)[3][3] = NULL;
    double (*translations)[3] = NULL;
    int *equivalent = NULL, *write_atom = NULL, *multiplicity = NULL;
    int nops = 0, changed = 0;
    fuse2_spacegroup group;
    fuse2_status status = FUSE2_OK;

    FUSE2_CALL_GOTO(status, fuse2_structure_copy(&standard, s), done);
    FUSE2_CALL_GOTO(status, fuse2_symmetry_standardize(&standard, symprec, 0, 0, &changed), done);
    fuse2_structure_wrap_positions(&standard);
    FUSE2_CALL_GOTO(status, fuse2_symmetry_spacegroup(&standard, symprec, &group), done);
    FUSE2_CALL_GOTO(status,
                    fuse2_symmetry_operations(&standard, symprec, &nops, &rotations,
                                              &translations),
                    done);
    FUSE2_CALL_GOTO(status, fuse2_symmetry_equivalent_atoms(&standard, symprec, &equivalent),
                    done);
    write_atom = calloc((size_t)standard.natoms, sizeof *write_atom);
    multiplicity = calloc((size_t)standard.natoms, sizeof *multiplicity);
    if (!write_atom || !multiplicity)
        FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_NOMEM, "cannot allocate %d atoms",
                         standard.natoms);
    /* one atom per orbit: the first one met; multiplicity = orbit size */
    for (int i = 0; i < standard.natoms; i++) {
        int first = i;
        for (int j = 0; j < i; j++)
            if (equivalent[j] == equivalent[i]) {
                first = j;
                break;
            }
        write_atom[i] = first == i;
        multiplicity[first]++;
    }
    FUSE2_CALL_GOTO(status,
                    write_cif_file(path, title, NULL, &standard, group.international, group.number,
                                   nops, (const int(*)[3][3])rotations,
                                   (const double(*)[3])translations, write_atom, multiplicity),
                    done);
done:
    free(multiplicity);
    free(write_atom);
    free(equivalent);
    free(rotations);
    free(translations);
    fuse2_structure_free(&standard);
    return status;
}

fuse2_status fuse2_cif_write(const char *path, const fuse2_structure *s, const char *title,
                             int symmetrize, double symprec)
{
    if (!path || !s) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_cif_write: NULL argument");
    FUSE2_CALL(fuse2_structure_validate(s, path));
    if (symmetrize) {
        if (!(symprec > 0) || !isfinite(symprec))
            return FUSE2_RAISE(FUSE2_ERR_ARG, "symmetry tolerance %g must be > 0 A", symprec);
        FUSE2_CALL(write_symmetrized(path, s, title, symprec));
    } else {
        FUSE2_CALL(write_p1(path, s, title, NULL));
    }
    return FUSE2_OK;
}

fuse2_status fuse2_cif_write_commented(const char *path, const fuse2_structure *s, const char *title,
                                       const char *comments)
{
    if (!path || !s) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_cif_write_commented: NULL argument");
    FUSE2_CALL(fuse2_structure_validate(s, path));
    FUSE2_CALL(write_p1(path, s, title, comments));
    return FUSE2_OK;
}
