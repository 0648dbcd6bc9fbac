/* Structure file formats: detection by name or content, and dispatch. */
#include "fuse2/structure_io.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/symmetry.h"
#include "text.h"

fuse2_status fuse2_file_read(const char *path, char **data, size_t *size)
{
    if (!path || !data || !size) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_file_read: NULL argument");
    FILE *f = fopen(path, "rb");
    if (!f) return FUSE2_RAISE(FUSE2_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    size_t capacity = 1 << 16, length = 0;
    char *buf = malloc(capacity);
    if (!buf) {
        fclose(f);
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "%s: cannot allocate a read buffer", path);
    }
    for (;;) {
        if (capacity - length < 2) {
            char *grown = realloc(buf, capacity * 2);
            if (!grown) {
                free(buf);
                fclose(f);
                return FUSE2_RAISE(FUSE2_ERR_NOMEM, "%s: file too large to read", path);
            }
            buf = grown;
            capacity *= 2;
        }
        size_t n = fread(buf + length, 1, capacity - length - 1, f);
        length += n;
        if (n == 0) break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return FUSE2_RAISE(FUSE2_ERR_IO, "%s: read error", path);
    }
    buf[length] = '\0';
    *data = buf;
    *size = length;
    return FUSE2_OK;
}

fuse2_status fuse2_text_file_read(const char *path, char **text)
{
    if (!path || !text) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_text_file_read: NULL argument");
    char *buf;
    size_t length;
    FUSE2_CALL(fuse2_file_read(path, &buf, &length));
    if (memchr(buf, '\0', length)) {
        free(buf);
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s: not a text file (contains NUL bytes)", path);
    }
    *text = buf;
    return FUSE2_OK;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int ends_with_nocase(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    if (m > n) return 0;
    for (size_t i = 0; i < m; i++)
        if (tolower((unsigned char)s[n - m + i]) != suffix[i]) return 0;
    return 1;
}

static int format_from_name(const char *path, fuse2_structure_format *fmt)
{
    const char *base = base_name(path);
    if (ends_with_nocase(base, ".cif")) *fmt = FUSE2_FORMAT_CIF;
    else if (text_starts_with_nocase(base, "poscar") ||
             text_starts_with_nocase(base, "contcar") || ends_with_nocase(base, ".vasp") ||
             ends_with_nocase(base, ".poscar"))
        *fmt = FUSE2_FORMAT_POSCAR;
    else if (ends_with_nocase(base, ".gin") || ends_with_nocase(base, ".res"))
        *fmt = FUSE2_FORMAT_GULP;
    else
        return 0;
    return 1;
}

/* First whitespace-delimited word of a line, lower case, into buf. */
static void first_word(const char *line, char *buf, size_t size)
{
    while (*line == ' ' || *line == '\t') line++;
    size_t n = 0;
    while (line[n] && !isspace((unsigned char)line[n]) && n + 1 < size) {
        buf[n] = (char)tolower((unsigned char)line[n]);
        n++;
    }
    buf[n] = '\0';
}

static int count_numbers(const char *line, int max)
{
    int n = 0;
    const char *p = line;
    while (n < max) {
        while (*p == ' ' || *p == '\t' || *p == '\r') p++;
        if (!*p || *p == '\n') break;
        char *end;
        strtod(p, &end);
        if (end == p || !(*end == '\0' || isspace((unsigned char)*end))) break;
        n++;
        p = end;
    }
    return n;
}

static int format_from_content(const char *text, fuse2_structure_format *fmt)
{
    int has_data = 0, has_cell_tag = 0, has_gulp_keyword = 0;
    const char *lines[5] = {0};
    int nlines = 0;
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        if (nlines < 5) lines[nlines++] = p;
        char word[32];
        first_word(p, word, sizeof word);
        if (text_starts_with_nocase(word, "data_")) has_data = 1;
        if (text_starts_with_nocase(word, "_cell_") || text_starts_with_nocase(word, "_cell."))
            has_cell_tag = 1;
        if (strcmp(word, "cell") == 0 || strcmp(word, "fractional") == 0 ||
            strcmp(word, "frac") == 0 || strcmp(word, "vectors") == 0)
            has_gulp_keyword = 1;
        if (!end) break;
        p = end + 1;
    }
    if (has_data && has_cell_tag) {
        *fmt = FUSE2_FORMAT_CIF;
        return 1;
    }
    if (has_gulp_keyword) {
        *fmt = FUSE2_FORMAT_GULP;
        return 1;
    }
    /* POSCAR shape: comment, scale (1 or 3 numbers), three lattice rows */
    if (nlines == 5) {
        int scale = count_numbers(lines[1], 4);
        if ((scale == 1 || scale == 3) && count_numbers(lines[2], 3) == 3 &&
            count_numbers(lines[3], 3) == 3 && count_numbers(lines[4], 3) == 3) {
            *fmt = FUSE2_FORMAT_POSCAR;
            return 1;
        }
    }
    return 0;
}

fuse2_status fuse2_structure_detect_format(const char *path, fuse2_structure_format *fmt)
{
    if (!path || !fmt)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_structure_detect_format: NULL argument");
    if (format_from_name(path, fmt)) return FUSE2_OK;
    char *text = NULL;
    FUSE2_CALL(fuse2_text_file_read(path, &text));
    int found = format_from_content(text, fmt);
    free(text);
    if (!found)
        return FUSE2_RAISE(FUSE2_ERR_PARSE,
                           "%s: unknown structure format (expected CIF, POSCAR or GULP input; "
                           "name it *.cif, POSCAR or *.gin)",
                           path);
    return FUSE2_OK;
}

fuse2_status fuse2_structure_read(const char *path, fuse2_structure_format fmt,
                                  fuse2_structure *out)
{
    if (!path || !out) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_structure_read: NULL argument");
    if (fmt == FUSE2_FORMAT_AUTO) FUSE2_CALL(fuse2_structure_detect_format(path, &fmt));
    switch (fmt) {
    case FUSE2_FORMAT_CIF: FUSE2_CALL(fuse2_cif_read(path, 0.0, out)); return FUSE2_OK;
    case FUSE2_FORMAT_POSCAR: FUSE2_CALL(fuse2_poscar_read(path, out)); return FUSE2_OK;
    case FUSE2_FORMAT_GULP: FUSE2_CALL(fuse2_gulp_structure_read(path, out)); return FUSE2_OK;
    case FUSE2_FORMAT_AUTO: break;
    }
    return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: unknown structure format %d", path, (int)fmt);
}

fuse2_status fuse2_structure_write(const char *path, fuse2_structure_format fmt,
                                   const fuse2_structure *s, int symmetrize, double symprec)
{
    if (!path || !s) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_structure_write: NULL argument");
    if (fmt == FUSE2_FORMAT_AUTO && !format_from_name(path, &fmt))
        return FUSE2_RAISE(FUSE2_ERR_ARG,
                           "%s: cannot tell the format from the name (use *.cif, POSCAR* or "
                           "*.vasp)",
                           path);
    switch (fmt) {
    case FUSE2_FORMAT_CIF:
        FUSE2_CALL(fuse2_cif_write(path, s, NULL, symmetrize, symprec));
        return FUSE2_OK;
    case FUSE2_FORMAT_POSCAR:
        if (symmetrize) {
            fuse2_structure standard = {0};
            int changed = 0;
            fuse2_status status = fuse2_structure_copy(&standard, s);
            if (status == FUSE2_OK)
                status = fuse2_symmetry_standardize(&standard, symprec, 0, 0, &changed);
            if (status == FUSE2_OK) status = fuse2_poscar_write(path, &standard, NULL);
            fuse2_structure_free(&standard);
            FUSE2_CALL(status);
            return FUSE2_OK;
        }
        FUSE2_CALL(fuse2_poscar_write(path, s, NULL));
        return FUSE2_OK;
    case FUSE2_FORMAT_GULP:
        return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED,
                           "%s: writing GULP geometry is not supported here (the GULP "
                           "calculator writes its own input)",
                           path);
    case FUSE2_FORMAT_AUTO: break;
    }
    return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: unknown structure format %d", path, (int)fmt);
}
