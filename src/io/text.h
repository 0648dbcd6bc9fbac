/* Line, word and number helpers shared by the text-format readers in src/io
 * (POSCAR, GULP geometry, GULP libraries, CIF). Internal to src/io: not part
 * of the public API. Each reader keeps its own accepted syntax (number forms,
 * comment characters, label suffixes) by the flags passed here, and its own
 * error messages. */
#ifndef FUSE2_IO_TEXT_H
#define FUSE2_IO_TEXT_H

#include "fuse2/error.h"
#include "fuse2/structure.h"

/* A word inside a line: `len` characters from `p`, not NUL-terminated. */
typedef struct text_token {
    const char *p;
    int len;
} text_token;

/* One line of a text, without its '\n' nor a '\r' before it (DOS line end). */
typedef struct text_line {
    const char *p;
    int len;
    int number; /* 1-based, for messages */
} text_line;

/* Splits `text` at '\n' into *lines_out (malloc'ed, free it) and *n_out. A
 * last line without '\n' counts; an empty text has no lines. */
fuse2_status text_split_lines(const char *text, text_line **lines_out, int *n_out);

/* Splits a line at white space into at most `max` tokens and returns how many
 * it stored. The first character of `comment_chars` (NULL: none) met, also
 * inside a word, ends the line. */
int text_tokenize(text_line line, const char *comment_chars, text_token *tokens, int max);

/* ---- numbers ---- */

typedef enum text_number_kind {
    TEXT_NOT_A_NUMBER = 0,
    TEXT_FINITE_NUMBER,
    TEXT_NONFINITE_NUMBER /* "nan", "inf", or out of range such as 1e999 */
} text_number_kind;

/* Number syntaxes, combined with |. TEXT_NUMBER_C alone is what strtod reads
 * as a whole token ("1.5", "-2e3", "nan", "inf", "0x1p3"). */
enum {
    TEXT_NUMBER_C = 0,
    /* "p/q" as well, e.g. "3/4", "-1/3" (GULP geometry); q = 0 is no number */
    TEXT_NUMBER_FRACTION = 1 << 0,
    /* decimal digits only, with e/E/d/D exponents as Fortran writes them
     * ("1.0d-3"); "nan", "inf", "infinity" still read (as non-finite) so a
     * caller can reject them as numbers rather than mistake them for words */
    TEXT_NUMBER_FORTRAN = 1 << 1
};

/* Reads the whole token as a number of the given syntax. *value is set
 * unless the result is TEXT_NOT_A_NUMBER. Tokens of 64 or more characters
 * are not numbers. */
text_number_kind text_parse_double(text_token t, unsigned syntax, double *value);

/* Whole token as a base-10 integer (strtol: out-of-range values clamp to
 * LONG_MIN/LONG_MAX). 1 on success, else 0 and *value untouched. */
int text_parse_integer(text_token t, long *value);

/* The first `count` tokens as numbers; errors "name:line: ..." name `what`:
 * fewer tokens than `count`, a token that is no number, a non-finite one. */
fuse2_status text_read_numbers(const char *name, int line, const text_token *tokens,
                               int ntokens, int count, unsigned syntax, const char *what,
                               double *values);

/* ---- words ---- */

/* 1 if `word` is `name` or `name` cut short to at least `min_length`
 * characters, ignoring case ("frac", "FRACTIONAL" for "fractional"); `name`
 * is lower case. */
int text_is_abbreviation(text_token word, const char *name, int min_length);

/* NUL-terminated `s` begins with / equals `word` (lower case), ignoring case. */
int text_starts_with_nocase(const char *s, const char *prefix);
int text_equals_nocase(const char *s, const char *word);

/* What may follow the element symbol in a label. */
typedef enum text_label_suffix {
    TEXT_LABEL_ANY_SUFFIX,   /* anything but a letter: "Nb_pv", "Ti_sv/abc", "O2-" */
    TEXT_LABEL_SITE_SUFFIX   /* starting with '_', a digit, '+' or '-': "O1", "Ti_a" */
} text_label_suffix;

/* Atomic number of a label made of a one- or two-letter element symbol in
 * any case ("O", "CA", "ti") and an optional suffix; 0 if it is none, e.g. a
 * keyword ("cell"), three letters ("Oxx") or an unknown symbol. */
int text_element_from_label(text_token label, text_label_suffix suffix);

/* ---- structure readers ---- */

/* The last step of the POSCAR and GULP readers: a left-handed basis is
 * replaced by its negative (the same crystal: r = f L = (-f)(-L)), positions
 * are wrapped into [0, 1), and the structure is validated (messages name
 * `name`). */
fuse2_status text_finish_structure(fuse2_structure *s, const char *name);

/* fuse2_*_read(path, out) for a reader of text: reads the file and hands the
 * text to `parse` with the path as the name used in messages. */
typedef fuse2_status (*text_structure_parser)(const char *text, const char *name,
                                              fuse2_structure *out);
fuse2_status text_read_structure_file(const char *path, text_structure_parser parse,
                                      fuse2_structure *out);

#endif
