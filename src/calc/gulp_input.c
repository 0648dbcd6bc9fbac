/* GULP input (.gin) writer (fuse2/gulp.h). The layout follows the .gin files
 * FUSE/ASE write (../shared/testdata/gulp/ * /gulp.gin), which GULP 4.3.5
 * accepted: keywords, options, title, cell, fractional core lines. */
#include "fuse2/gulp.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/elements.h"

void fuse2_gulp_input_init(fuse2_gulp_input *in) { memset(in, 0, sizeof *in); }

/* A growing string buffer. */
typedef struct strbuf {
    char *p;
    size_t len, cap;
} strbuf;

static fuse2_status sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static fuse2_status sb_printf(strbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) return FUSE2_RAISE(FUSE2_ERR_INTERNAL, "GULP input: formatting failed");
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return FUSE2_OK;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len <= (size_t)n) cap *= 2;
        char *grown = realloc(b->p, cap);
        if (!grown) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "GULP input: cannot allocate %zu bytes", cap);
        b->p = grown;
        b->cap = cap;
    }
}

/* A line break inside a value would start a new GULP input line, i.e. an
 * unintended keyword or option. */
static fuse2_status check_one_line(const char *what, const char *s)
{
    if (strpbrk(s, "\n\r"))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "GULP input: %s '%.40s' contains a line break", what, s);
    return FUSE2_OK;
}

/* GULP reads a file name as one word: white space would cut it short. */
static fuse2_status check_file_name(const char *what, const char *s)
{
    if (!*s) return FUSE2_RAISE(FUSE2_ERR_ARG, "GULP input: empty %s file name", what);
    if (strpbrk(s, " \t\n\r"))
        return FUSE2_RAISE(FUSE2_ERR_ARG,
                           "GULP input: %s file name '%s' contains white space, which GULP "
                           "cannot read; copy the file to a path without spaces",
                           what, s);
    return FUSE2_OK;
}

static fuse2_status check_input(const fuse2_gulp_input *in, const fuse2_structure *s)
{
    if (!in->keywords || !in->keywords[strspn(in->keywords, " \t")])
        return FUSE2_RAISE(FUSE2_ERR_ARG, "GULP input: no keywords (e.g. 'opti conp')");
    FUSE2_CALL(check_one_line("keyword line", in->keywords));
    if (in->title) FUSE2_CALL(check_one_line("title", in->title));
    if (in->noptions < 0 || (in->noptions > 0 && !in->options))
        return FUSE2_RAISE(FUSE2_ERR_ARG, "GULP input: %d options but no option list",
                           in->noptions);
    for (int i = 0; i < in->noptions; i++) {
        if (!in->options[i])
            return FUSE2_RAISE(FUSE2_ERR_ARG, "GULP input: option %d is NULL", i + 1);
        FUSE2_CALL(check_one_line("option", in->options[i]));
    }
    if (in->library) FUSE2_CALL(check_file_name("library", in->library));
    if (in->dump) FUSE2_CALL(check_file_name("dump", in->dump));
    if (in->library_mode != FUSE2_GULP_LIBRARY && in->library_mode != FUSE2_GULP_INCLUDE)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "GULP input: unknown library mode %d",
                           (int)in->library_mode);
    if (s->natoms <= 0) return FUSE2_RAISE(FUSE2_ERR_ARG, "GULP input: the structure has no atoms");
    for (int i = 0; i < s->natoms; i++) {
        if (!fuse2_element_by_z(s->species[i]))
            return FUSE2_RAISE(FUSE2_ERR_ARG, "GULP input: atom %d has unknown atomic number %d",
                               i + 1, s->species[i]);
        for (int k = 0; k < 3; k++)
            if (!isfinite(s->frac[i][k]))
                return FUSE2_RAISE(FUSE2_ERR_NUMERIC,
                                   "GULP input: atom %d has a non-finite coordinate", i + 1);
        if (in->charges && !isfinite(in->charges[i]))
            return FUSE2_RAISE(FUSE2_ERR_NUMERIC, "GULP input: atom %d has a non-finite charge",
                               i + 1);
    }
    double volume = fuse2_lattice_volume(s->lattice);
    if (!isfinite(volume) || fabs(volume) < 1e-8)
        return FUSE2_RAISE(FUSE2_ERR_NUMERIC, "GULP input: the cell volume is %g A^3", volume);
    return FUSE2_OK;
}

fuse2_status fuse2_gulp_input_format(const fuse2_gulp_input *in, const fuse2_structure *s,
                                     char **text)
{
    if (!in || !s || !text) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_gulp_input_format: NULL argument");
    FUSE2_CALL(check_input(in, s));

    /* Cell parameters lose the handedness of the basis. For a left-handed
     * basis L, -L with coordinates -f is the same crystal and right-handed;
     * writing L's parameters with f unchanged would give the mirror image. */
    double lattice[3][3];
    memcpy(lattice, s->lattice, sizeof lattice);
    double sign = fuse2_lattice_volume(lattice) < 0 ? -1.0 : 1.0;
    if (sign < 0)
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 3; k++) lattice[i][k] = -lattice[i][k];
    double p[6];
    fuse2_lattice_to_parameters(lattice, p);

    strbuf b = {0};
    fuse2_status status = FUSE2_OK;
    FUSE2_CALL_GOTO(status, sb_printf(&b, "%s\n\n", in->keywords), fail);
    if (in->library)
        FUSE2_CALL_GOTO(status,
                        sb_printf(&b, "%s %s\n",
                                  in->library_mode == FUSE2_GULP_INCLUDE ? "include" : "library",
                                  in->library),
                        fail);
    for (int i = 0; i < in->noptions; i++)
        FUSE2_CALL_GOTO(status, sb_printf(&b, "%s\n", in->options[i]), fail);
    if (in->dump) FUSE2_CALL_GOTO(status, sb_printf(&b, "dump %s\n", in->dump), fail);
    if (in->title) FUSE2_CALL_GOTO(status, sb_printf(&b, "title\n%s\nend\n", in->title), fail);
    /* 10 decimals: GULP reads free format; more digits than the 6 GULP
     * prints so a written structure is the one relaxed. */
    FUSE2_CALL_GOTO(status,
                    sb_printf(&b, "cell\n%.10f %.10f %.10f %.10f %.10f %.10f\nfractional\n", p[0],
                              p[1], p[2], p[3], p[4], p[5]),
                    fail);
    for (int i = 0; i < s->natoms; i++) {
        const fuse2_element *e = fuse2_element_by_z(s->species[i]);
        double f[3];
        for (int k = 0; k < 3; k++) {
            f[k] = sign * s->frac[i][k];
            f[k] -= floor(f[k]); /* GULP accepts any value; [0, 1) keeps the file tidy */
            if (f[k] >= 1.0) f[k] = 0.0;
        }
        FUSE2_CALL_GOTO(status,
                        sb_printf(&b, "%-2s core %.12f %.12f %.12f", e->symbol, f[0], f[1], f[2]),
                        fail);
        if (in->charges)
            FUSE2_CALL_GOTO(status, sb_printf(&b, " %.8f", in->charges[i]), fail);
        FUSE2_CALL_GOTO(status, sb_printf(&b, "\n"), fail);
    }
    *text = b.p;
    return FUSE2_OK;
fail:
    free(b.p);
    return status;
}

fuse2_status fuse2_gulp_input_write(const char *path, const fuse2_gulp_input *in,
                                    const fuse2_structure *s)
{
    if (!path) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_gulp_input_write: NULL path");
    char *text = NULL;
    FUSE2_CALL(fuse2_gulp_input_format(in, s, &text));
    FILE *f = fopen(path, "w");
    if (!f) {
        int err = errno;
        free(text);
        return FUSE2_RAISE(FUSE2_ERR_IO, "%s: cannot create (%s)", path, strerror(err));
    }
    size_t len = strlen(text);
    int failed = fwrite(text, 1, len, f) != len;
    failed |= fclose(f) != 0;
    free(text);
    if (failed) return FUSE2_RAISE(FUSE2_ERR_IO, "%s: write error", path);
    return FUSE2_OK;
}
