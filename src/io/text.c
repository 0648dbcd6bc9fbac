/* Line, word and number helpers shared by the text-format readers; see
 * src/io/text.h. */
#include "text.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/elements.h"
#include "fuse2/structure_io.h"

enum { NUMBER_CHARS = 64, INTEGER_CHARS = 32 };

fuse2_status text_split_lines(const char *text, text_line **lines_out, int *n_out)
{
    int capacity = 64, n = 0;
    text_line *lines = malloc((size_t)capacity * sizeof *lines);
    if (!lines) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate line table");
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, '\n');
        int len = end ? (int)(end - p) : (int)strlen(p);
        if (n == capacity) {
            text_line *grown = realloc(lines, (size_t)(capacity *= 2) * sizeof *lines);
            if (!grown) {
                free(lines);
                return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate line table");
            }
            lines = grown;
        }
        if (len > 0 && p[len - 1] == '\r') len--; /* DOS line ends */
        lines[n] = (text_line){p, len, n + 1};
        n++;
        if (!end) break;
        p = end + 1;
    }
    *lines_out = lines;
    *n_out = n;
    return FUSE2_OK;
}

static int is_comment(const char *comment_chars, char c)
{
    return comment_chars && c && strchr(comment_chars, c);
}

int text_tokenize(text_line line, const char *comment_chars, text_token *tokens, int max)
{
    int n = 0, i = 0;
    while (i < line.len && n < max) {
        while (i < line.len && isspace((unsigned char)line.p[i])) i++;
        if (i >= line.len || is_comment(comment_chars, line.p[i])) break;
        int start = i;
        while (i < line.len && !isspace((unsigned char)line.p[i]) &&
               !is_comment(comment_chars, line.p[i]))
            i++;
        tokens[n].p = line.p + start;
        tokens[n].len = i - start;
        n++;
    }
    return n;
}

/* Copies the token into buf as a C string; 0 if it is empty or too long. */
static int token_to_string(text_token t, char *buf, int size)
{
    if (t.len <= 0 || t.len >= size) return 0;
    memcpy(buf, t.p, (size_t)t.len);
    buf[t.len] = '\0';
    return 1;
}

/* Fortran-style numbers: only digits, signs, '.', exponent letters (d/D
 * rewritten to e for strtod) and, for fractions, '/'. */
static int fortran_to_c_syntax(char *buf, unsigned syntax)
{
    const char *body = (*buf == '+' || *buf == '-') ? buf + 1 : buf;
    if (text_equals_nocase(body, "nan") || text_equals_nocase(body, "inf") ||
        text_equals_nocase(body, "infinity"))
        return 1;
    if (!(isdigit((unsigned char)body[0]) || body[0] == '.')) return 0;
    const char *allowed = (syntax & TEXT_NUMBER_FRACTION) ? "+-.eE/" : "+-.eE";
    for (char *c = buf; *c; c++) {
        if (*c == 'd' || *c == 'D') *c = 'e';
        if (!isdigit((unsigned char)*c) && !strchr(allowed, *c)) return 0;
    }
    return 1;
}

text_number_kind text_parse_double(text_token t, unsigned syntax, double *value)
{
    char buf[NUMBER_CHARS];
    if (!token_to_string(t, buf, (int)sizeof buf)) return TEXT_NOT_A_NUMBER;
    if ((syntax & TEXT_NUMBER_FORTRAN) && !fortran_to_c_syntax(buf, syntax))
        return TEXT_NOT_A_NUMBER;
    char *end;
    double v = strtod(buf, &end);
    if (end == buf) return TEXT_NOT_A_NUMBER;
    if (*end == '/' && (syntax & TEXT_NUMBER_FRACTION)) {
        char *start = end + 1;
        double denominator = strtod(start, &end);
        if (end == start || *end || denominator == 0.0) return TEXT_NOT_A_NUMBER;
        v /= denominator;
    }
    if (*end) return TEXT_NOT_A_NUMBER;
    *value = v;
    return isfinite(v) ? TEXT_FINITE_NUMBER : TEXT_NONFINITE_NUMBER;
}

int text_parse_integer(text_token t, long *value)
{
    char buf[INTEGER_CHARS];
    if (!token_to_string(t, buf, (int)sizeof buf)) return 0;
    char *end;
    long v = strtol(buf, &end, 10);
    if (end != buf + t.len) return 0;
    *value = v;
    return 1;
}

fuse2_status text_read_numbers(const char *name, int line, const text_token *tokens,
                               int ntokens, int count, unsigned syntax, const char *what,
                               double *values)
{
    if (ntokens < count)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: expected %d numbers for %s, got %d", name,
                           line, count, what, ntokens);
    for (int k = 0; k < count; k++) {
        const text_token *t = &tokens[k];
        switch (text_parse_double(*t, syntax, &values[k])) {
        case TEXT_FINITE_NUMBER: break;
        case TEXT_NOT_A_NUMBER:
            return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: '%.*s' is not a number (%s)", name, line,
                               t->len, t->p, what);
        case TEXT_NONFINITE_NUMBER:
            return FUSE2_RAISE(FUSE2_ERR_NUMERIC, "%s:%d: '%.*s' is not a finite number (%s)",
                               name, line, t->len, t->p, what);
        }
    }
    return FUSE2_OK;
}

int text_is_abbreviation(text_token word, const char *name, int min_length)
{
    if (word.len < min_length || word.len > (int)strlen(name)) return 0;
    for (int i = 0; i < word.len; i++)
        if (tolower((unsigned char)word.p[i]) != name[i]) return 0;
    return 1;
}

int text_starts_with_nocase(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if (tolower((unsigned char)*s) != *prefix) return 0;
    return 1;
}

int text_equals_nocase(const char *s, const char *word)
{
    return text_starts_with_nocase(s, word) && s[strlen(word)] == '\0';
}

int text_element_from_label(text_token label, text_label_suffix suffix)
{
    int letters = 0;
    while (letters < label.len && isalpha((unsigned char)label.p[letters])) letters++;
    if (letters < 1 || letters > 2) return 0;
    if (suffix == TEXT_LABEL_SITE_SUFFIX && letters < label.len) {
        char c = label.p[letters];
        if (c != '_' && !isdigit((unsigned char)c) && c != '+' && c != '-') return 0;
    }
    char symbol[3] = {(char)toupper((unsigned char)label.p[0]),
                      letters == 2 ? (char)tolower((unsigned char)label.p[1]) : '\0', '\0'};
    return fuse2_element_z_from_symbol(symbol);
}

fuse2_status text_finish_structure(fuse2_structure *s, const char *name)
{
    if (fuse2_lattice_volume(s->lattice) < 0) {
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 3; k++) s->lattice[i][k] = -s->lattice[i][k];
        for (int i = 0; i < s->natoms; i++)
            for (int k = 0; k < 3; k++) s->frac[i][k] = -s->frac[i][k];
    }
    fuse2_structure_wrap_positions(s);
    FUSE2_CALL(fuse2_structure_validate(s, name));
    return FUSE2_OK;
}

fuse2_status text_read_structure_file(const char *path, text_structure_parser parse,
                                      fuse2_structure *out)
{
    char *text = NULL;
    FUSE2_CALL(fuse2_text_file_read(path, &text));
    fuse2_status status = parse(text, path, out);
    free(text);
    if (status != FUSE2_OK) fuse2_error_push_frame(__FILE__, __LINE__, __func__);
    return status;
}
