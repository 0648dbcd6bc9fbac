/* VASP POSCAR/CONTCAR geometry: VASP 4 and 5 headers, one or three scale
 * factors, Selective dynamics, Direct/Cartesian. Format reference:
 * https://www.vasp.at/wiki/index.php/POSCAR */
#include "fuse2/structure_io.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/elements.h"
#include "text.h"

enum { MAX_TOKENS = 256, MAX_SPECIES = 128 };

/* Reads `count` numbers from the first tokens of a line. */
static fuse2_status parse_numbers(const char *name, const text_line *lines, int nlines,
                                  int index, int count, const char *what, double *values)
{
    if (index >= nlines)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: file ends where %s was expected", name,
                           index + 1, what);
    text_token tok[MAX_TOKENS];
    int n = text_tokenize(lines[index], NULL, tok, MAX_TOKENS);
    FUSE2_CALL(text_read_numbers(name, index + 1, tok, n, count, TEXT_NUMBER_C, what, values));
    return FUSE2_OK;
}

static int line_is_blank(text_line line)
{
    for (int i = 0; i < line.len; i++)
        if (!isspace((unsigned char)line.p[i])) return 0;
    return 1;
}

static char first_char(text_line line)
{
    for (int i = 0; i < line.len; i++)
        if (!isspace((unsigned char)line.p[i])) return line.p[i];
    return '\0';
}

static fuse2_status parse_poscar(const char *name, const text_line *lines, int nlines,
                                 fuse2_structure *s)
{
    text_token tok[MAX_TOKENS];
    if (nlines == 0 || (nlines == 1 && line_is_blank(lines[0])))
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s: file is empty", name);

    /* line 2: one scale factor (negative = volume) or three (x, y, z) */
    if (nlines < 2)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:2: file ends where the scale factor was expected",
                           name);
    double scale[3] = {1.0, 1.0, 1.0};
    int nscale = 0;
    {
        int n = text_tokenize(lines[1], NULL, tok, MAX_TOKENS);
        while (nscale < n && nscale < 3 &&
               text_parse_double(tok[nscale], TEXT_NUMBER_C, &scale[nscale]) != TEXT_NOT_A_NUMBER)
            nscale++;
        if (nscale == 0)
            return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:2: expected the scale factor, got '%.*s'",
                               name, n ? tok[0].len : 0, n ? tok[0].p : "");
        if (nscale == 2)
            return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:2: expected 1 or 3 scale factors, got 2",
                               name);
        for (int k = 0; k < nscale; k++)
            if (!isfinite(scale[k]) || scale[k] == 0.0 || (nscale == 3 && scale[k] < 0))
                return FUSE2_RAISE(FUSE2_ERR_PARSE,
                                   "%s:2: scale factor %g is invalid (one non-zero number, "
                                   "negative = volume, or three positive numbers)",
                                   name, scale[k]);
        if (nscale == 1) scale[1] = scale[2] = scale[0];
    }

    double lattice[3][3];
    for (int i = 0; i < 3; i++) {
        char what[32];
        snprintf(what, sizeof what, "lattice vector %d", i + 1);
        FUSE2_CALL(parse_numbers(name, lines, nlines, 2 + i, 3, what, lattice[i]));
    }

    /* species line (VASP 5) or counts directly (VASP 4) */
    int index = 5;
    if (index >= nlines)
        return FUSE2_RAISE(FUSE2_ERR_PARSE,
                           "%s:6: file ends where the species or atom counts were expected", name);
    int species[MAX_SPECIES];
    int nspecies = 0;
    int species_line = 0; /* 1-based line the species came from */
    {
        int n = text_tokenize(lines[index], NULL, tok, MAX_TOKENS);
        double dummy;
        if (n == 0)
            return FUSE2_RAISE(FUSE2_ERR_PARSE,
                               "%s:6: empty line where the species or atom counts were expected",
                               name);
        if (text_parse_double(tok[0], TEXT_NUMBER_C, &dummy) == TEXT_NOT_A_NUMBER) {
            if (n > MAX_SPECIES)
                return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED, "%s:6: more than %d species", name,
                                   MAX_SPECIES);
            for (int k = 0; k < n; k++) {
                species[k] = text_element_from_label(tok[k], TEXT_LABEL_ANY_SUFFIX);
                if (!species[k])
                    return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:6: unknown element '%.*s'", name,
                                       tok[k].len, tok[k].p);
            }
            nspecies = n;
            species_line = 6;
            index++;
        }
    }

    if (index >= nlines)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: file ends where the atom counts were expected",
                           name, index + 1);
    long counts[MAX_SPECIES];
    int ncounts = text_tokenize(lines[index], NULL, tok, MAX_TOKENS);
    if (ncounts == 0)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: expected atom counts, got an empty line", name,
                           index + 1);
    if (ncounts > MAX_SPECIES)
        return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED, "%s:%d: more than %d species", name, index + 1,
                           MAX_SPECIES);
    long natoms = 0;
    for (int k = 0; k < ncounts; k++) {
        if (!text_parse_integer(tok[k], &counts[k]))
            return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: atom count '%.*s' is not an integer", name,
                               index + 1, tok[k].len, tok[k].p);
        if (counts[k] < 1 || counts[k] > 100000000)
            return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: atom count %ld must be positive", name,
                               index + 1, counts[k]);
        natoms += counts[k];
    }
    if (species_line) {
        if (ncounts != nspecies)
            return FUSE2_RAISE(FUSE2_ERR_PARSE,
                               "%s:%d: %d atom counts do not match the %d species on line 6",
                               name, index + 1, ncounts, nspecies);
    } else {
        /* VASP 4: the species may be written in the comment line */
        int n = text_tokenize(lines[0], NULL, tok, MAX_TOKENS);
        int ok = n >= ncounts;
        for (int k = 0; ok && k < ncounts; k++) {
            species[k] = text_element_from_label(tok[k], TEXT_LABEL_ANY_SUFFIX);
            /* only bare symbols: "NaCl" or "Si8" must not pass as species */
            if (!species[k] || tok[k].len > 2) ok = 0;
        }
        if (!ok)
            return FUSE2_RAISE(FUSE2_ERR_PARSE,
                               "%s:6: no species line (VASP 4 format) and the comment line does "
                               "not list %d element symbols; add a line with the element "
                               "symbols (e.g. 'Sr Ti O') above the atom counts",
                               name, ncounts);
        nspecies = ncounts;
        species_line = 1;
    }
    index++;

    if (index < nlines && (first_char(lines[index]) == 's' || first_char(lines[index]) == 'S'))
        index++; /* Selective dynamics: the per-atom T/F flags are ignored */

    if (index >= nlines)
        return FUSE2_RAISE(FUSE2_ERR_PARSE,
                           "%s:%d: file ends where 'Direct' or 'Cartesian' was expected", name,
                           index + 1);
    int cartesian;
    switch (first_char(lines[index])) {
    case 'c': case 'C': case 'k': case 'K': cartesian = 1; break;
    case 'd': case 'D': cartesian = 0; break;
    default:
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: expected 'Direct' or 'Cartesian', got '%.*s'",
                           name, index + 1, lines[index].len, lines[index].p);
    }
    index++;

    /* scaling: the lattice, and Cartesian positions, by the same factors */
    double scaled[3][3];
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) scaled[i][k] = lattice[i][k] * (nscale == 3 ? scale[k] : 1.0);
    double volume = fuse2_lattice_volume(scaled);
    if (!(fabs(volume) > 1e-8))
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:3: lattice vectors span zero volume (%g A^3)",
                           name, volume);
    if (nscale == 1) {
        /* negative: the target cell volume (A^3) */
        double factor = scale[0] > 0 ? scale[0] : cbrt(-scale[0] / fabs(volume));
        for (int k = 0; k < 3; k++) scale[k] = factor;
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 3; k++) scaled[i][k] = lattice[i][k] * factor;
    }
    double inverse[3][3];
    FUSE2_CALL(fuse2_lattice_inverse(scaled, inverse));

    fuse2_structure tmp;
    FUSE2_CALL(fuse2_structure_init(&tmp, (int)natoms));
    fuse2_status status = FUSE2_OK;
    memcpy(tmp.lattice, scaled, sizeof scaled);
    int atom = 0;
    for (int k = 0; k < nspecies; k++)
        for (long c = 0; c < counts[k]; c++, atom++, index++) {
            char what[64];
            snprintf(what, sizeof what, "atom %d (%s)", atom + 1,
                     fuse2_element_by_z(species[k])->symbol);
            double x[3];
            FUSE2_CALL_GOTO(status, parse_numbers(name, lines, nlines, index, 3, what, x), fail);
            double frac[3];
            if (cartesian) {
                for (int d = 0; d < 3; d++) x[d] *= scale[d];
                for (int d = 0; d < 3; d++)
                    frac[d] = x[0] * inverse[0][d] + x[1] * inverse[1][d] + x[2] * inverse[2][d];
            } else {
                memcpy(frac, x, sizeof frac);
            }
            FUSE2_CALL_GOTO(status, fuse2_structure_add_atom(&tmp, species[k], frac), fail);
        }
    /* anything after the positions (velocities, predictor-corrector) is ignored */

    FUSE2_CALL_GOTO(status, text_finish_structure(&tmp, name), fail);
    fuse2_structure_free(s);
    *s = tmp;
    return FUSE2_OK;
fail:
    fuse2_structure_free(&tmp);
    return status;
}

fuse2_status fuse2_poscar_read_string(const char *text, const char *name, fuse2_structure *out)
{
    if (!text || !out) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_poscar_read_string: NULL argument");
    if (!name) name = "POSCAR";
    text_line *lines = NULL;
    int nlines = 0;
    FUSE2_CALL(text_split_lines(text, &lines, &nlines));
    fuse2_status status = parse_poscar(name, lines, nlines, out);
    free(lines);
    if (status != FUSE2_OK) fuse2_error_push_frame(__FILE__, __LINE__, __func__);
    return status;
}

fuse2_status fuse2_poscar_read(const char *path, fuse2_structure *out)
{
    FUSE2_CALL(text_read_structure_file(path, fuse2_poscar_read_string, out));
    return FUSE2_OK;
}

fuse2_status fuse2_poscar_write(const char *path, const fuse2_structure *s, const char *comment)
{
    if (!path || !s) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_poscar_write: NULL argument");
    FUSE2_CALL(fuse2_structure_validate(s, path));

    /* species in order of first appearance */
    int order[FUSE2_MAX_Z + 1];
    int counts[FUSE2_MAX_Z + 1] = {0};
    int nspecies = 0;
    for (int i = 0; i < s->natoms; i++) {
        if (counts[s->species[i]]++ == 0) order[nspecies++] = s->species[i];
    }

    char title[256];
    if (comment && comment[0]) {
        snprintf(title, sizeof title, "%s", comment);
        for (char *c = title; *c; c++)
            if (*c == '\n' || *c == '\r') *c = ' ';
    } else {
        fuse2_structure_formula(s, title, sizeof title);
    }

    FILE *f = fopen(path, "w");
    if (!f) return FUSE2_RAISE(FUSE2_ERR_IO, "%s: cannot open for writing", path);
    fprintf(f, "%s\n1.0\n", title);
    for (int i = 0; i < 3; i++)
        fprintf(f, " %24.16f %24.16f %24.16f\n", s->lattice[i][0], s->lattice[i][1],
                s->lattice[i][2]);
    for (int k = 0; k < nspecies; k++) fprintf(f, " %4s", fuse2_element_by_z(order[k])->symbol);
    fprintf(f, "\n");
    for (int k = 0; k < nspecies; k++) fprintf(f, " %4d", counts[order[k]]);
    fprintf(f, "\nDirect\n");
    for (int k = 0; k < nspecies; k++)
        for (int i = 0; i < s->natoms; i++)
            if (s->species[i] == order[k])
                fprintf(f, " %20.16f %20.16f %20.16f %s\n", s->frac[i][0], s->frac[i][1],
                        s->frac[i][2], fuse2_element_by_z(order[k])->symbol);
    int failed = ferror(f);
    if (fclose(f) != 0 || failed) return FUSE2_RAISE(FUSE2_ERR_IO, "%s: write failed", path);
    return FUSE2_OK;
}
