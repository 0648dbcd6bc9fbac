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
#include "text.h"

enum { MAX_TOKENS = 64 };

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

/* GULP geometry numbers: also fractions such as 3/4. */
static const unsigned GULP_NUMBERS = TEXT_NUMBER_FRACTION;

/* GULP option words may be abbreviated to 4 letters: "frac", "vect". */
static int is_keyword(text_token t, const char *keyword)
{
    int klen = (int)strlen(keyword);
    return text_is_abbreviation(t, keyword, klen < 4 ? klen : 4);
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
static fuse2_status parse_atom_line(gulp_reader *r, int line, const text_token *tok, int ntok,
                                    int z, int cartesian)
{
    int first = 1;
    double dummy;
    if (ntok > 1 && text_parse_double(tok[1], GULP_NUMBERS, &dummy) == TEXT_NOT_A_NUMBER) {
        if (text_is_abbreviation(tok[1], "shell", 1) || text_is_abbreviation(tok[1], "bshell", 1))
            return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED,
                               "%s:%d: shell model not supported ('%.*s %.*s'); use a rigid-ion "
                               "potential",
                               r->name, line, tok[0].len, tok[0].p, tok[1].len, tok[1].p);
        if (!text_is_abbreviation(tok[1], "core", 1) && !text_is_abbreviation(tok[1], "bcore", 1))
            return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: expected 'core' or coordinates after '%.*s', "
                               "got '%.*s'",
                               r->name, line, tok[0].len, tok[0].p, tok[1].len, tok[1].p);
        first = 2;
    }
    double x[3];
    FUSE2_CALL(text_read_numbers(r->name, line, tok + first, ntok - first, 3, GULP_NUMBERS,
                                 cartesian ? "Cartesian coordinates" : "fractional coordinates",
                                 x));
    FUSE2_CALL(add_atom(r, z, cartesian, line, x));
    return FUSE2_OK;
}

static fuse2_status set_cell_parameters(gulp_reader *r, int line, const text_token *tok,
                                        int ntok)
{
    double p[6];
    FUSE2_CALL(text_read_numbers(r->name, line, tok, ntok, 6, GULP_NUMBERS,
                                 "the cell (a b c alpha beta gamma)", p));
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

static fuse2_status read_geometry(gulp_reader *r, const text_line *lines, int nlines)
{
    enum block_kind block = BLOCK_NONE;
    int in_title = 0, cell_numbers_next = 0, vectors_left = 0, space_group_next = 0;
    text_token tok[MAX_TOKENS];
    for (int i = 0; i < nlines; i++) {
        int line = lines[i].number;
        int ntok = text_tokenize(lines[i], "#", tok, MAX_TOKENS);
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
            FUSE2_CALL(text_read_numbers(r->name, line, tok, ntok, 3, GULP_NUMBERS, what,
                                         r->lattice[row]));
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
            /* labels such as "O", "O1", "Ti_a" */
            int z = text_element_from_label(tok[0], TEXT_LABEL_SITE_SUFFIX);
            if (z) {
                FUSE2_CALL(parse_atom_line(r, line, tok, ntok, z, block == BLOCK_CARTESIAN));
                continue;
            }
            double dummy;
            /* a core line whose label is not an element must not end the block silently */
            if (ntok >= 5 &&
                (text_is_abbreviation(tok[1], "core", 1) ||
                 text_is_abbreviation(tok[1], "shell", 1)) &&
                text_parse_double(tok[2], GULP_NUMBERS, &dummy) != TEXT_NOT_A_NUMBER)
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
                           r->name, nlines + 1);
    if (vectors_left)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: file ends inside the 'vectors' block",
                           r->name, nlines + 1);
    return FUSE2_OK;
}

fuse2_status fuse2_gulp_structure_read_string(const char *text, const char *name,
                                              fuse2_structure *out)
{
    if (!text || !out)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_gulp_structure_read_string: NULL argument");
    gulp_reader r = {.name = name ? name : "gulp"};
    fuse2_structure tmp = {0};
    text_line *lines = NULL;
    int nlines = 0;
    fuse2_status status = FUSE2_OK;
    FUSE2_CALL_GOTO(status, text_split_lines(text, &lines, &nlines), done);
    FUSE2_CALL_GOTO(status, read_geometry(&r, lines, nlines), done);
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
    FUSE2_CALL_GOTO(status, text_finish_structure(&tmp, r.name), done);
    fuse2_structure_free(out);
    *out = tmp;
    tmp = (fuse2_structure){0};
done:
    fuse2_structure_free(&tmp);
    free(r.atoms);
    free(lines);
    return status;
}

fuse2_status fuse2_gulp_structure_read(const char *path, fuse2_structure *out)
{
    FUSE2_CALL(text_read_structure_file(path, fuse2_gulp_structure_read_string, out));
    return FUSE2_OK;
}
