/* GULP potential-library reader (the subset FUSE uses) and the ipcsp
 * contact-radius tables. Syntax rules follow GULP's own reader (potword21,
 * genword): a keyword line opens a block; the block goes on over blank lines
 * until a line whose first word is not an element label; trailing numbers
 * beyond the longest parameter list are fitting flags. See
 * include/fuse2/potential.h and docs/calculators.md §1. */
#include "fuse2/potential.h"

#include "fuse2/elements.h"
#include "text.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    MAX_TOKENS = 64,
    MAX_INCLUDE_DEPTH = 16,
    GULP_PATH_CAPACITY = 4096
};

/* GULP ignores taper ranges up to 0.01 Å (genword: taperrange > 1e-2). */
static const double GULP_MIN_TAPER_RANGE = 1.0e-2;

/* ------------------------------------------------------------------ */
/* Lines and words                                                      */

/* Numbers as Fortran writes them: 1.0d-3 (see text.h). */
static const unsigned GULP_NUMBERS = TEXT_NUMBER_FORTRAN;

/* The words of one line ('#' or '!' starts a comment). Each word is also
 * NUL-terminated in `buffer`, an owned copy of the line, for messages. */
typedef struct word_line {
    char *buffer;
    int ntokens;
    text_token tokens[MAX_TOKENS + 1]; /* one more, to notice too many */
} word_line;

/* A UTF-8 byte-order mark is not part of the first keyword. */
static const char *skip_byte_order_mark(const char *text)
{
    if ((unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
        (unsigned char)text[2] == 0xBF)
        return text + 3;
    return text;
}

/* Splits a line of `file` into words (replacing what `words` held). */
static fuse2_status split_words(const char *file, text_line line, word_line *words)
{
    free(words->buffer);
    words->ntokens = 0;
    words->buffer = malloc((size_t)line.len + 1);
    if (!words->buffer)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: out of memory", file, line.number);
    memcpy(words->buffer, line.p, (size_t)line.len);
    words->buffer[line.len] = '\0';
    text_line copy = {words->buffer, line.len, line.number};
    words->ntokens = text_tokenize(copy, "#!", words->tokens, MAX_TOKENS + 1);
    if (words->ntokens > MAX_TOKENS)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: too many words on one line", file,
                           line.number);
    for (int i = 0; i < words->ntokens; i++)
        words->buffer[words->tokens[i].p - words->buffer + words->tokens[i].len] = '\0';
    return FUSE2_OK;
}

/* Atomic number of a GULP species label: an element symbol (either case)
 * optionally followed by a non-letter suffix, e.g. "O", "Ti", "CA", "O2-",
 * "Fe_pv". 0 for words that are not labels, such as keywords. */
static int label_z(text_token word)
{
    return text_element_from_label(word, TEXT_LABEL_ANY_SUFFIX);
}

static fuse2_status read_number_token(const char *file, int lineno, text_token token,
                                      double *value)
{
    switch (text_parse_double(token, GULP_NUMBERS, value)) {
    case TEXT_FINITE_NUMBER: return FUSE2_OK;
    case TEXT_NONFINITE_NUMBER:
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: '%s' is not a finite number", file, lineno,
                           token.p);
    case TEXT_NOT_A_NUMBER: break;
    }
    return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: expected a number, got '%s'", file, lineno,
                       token.p);
}

static const char *symbol_of(int z)
{
    const fuse2_element *e = fuse2_element_by_z(z);
    return e && e->symbol ? e->symbol : "?";
}

/* ------------------------------------------------------------------ */
/* Keywords                                                             */

typedef enum keyword {
    KW_NONE = 0,
    KW_SPECIES,
    KW_BUCK,
    KW_LENNARD,
    KW_MORSE,
    KW_SPLINE,
    KW_CUTP,
    KW_INCLUDE,
    KW_UNSUPPORTED
} keyword;

typedef struct keyword_entry {
    const char *name;
    int min_length;
    keyword kw;
    const char *why;   /* for unsupported keywords */
} keyword_entry;

/* Order matters: "buck4" must be tried before "buckingham". */
static const keyword_entry KEYWORDS[] = {
    {"buck4", 5, KW_UNSUPPORTED, "the four-range Buckingham potential is not supported"},
    {"species", 4, KW_SPECIES, NULL},
    {"buckingham", 4, KW_BUCK, NULL},
    {"lennard", 4, KW_LENNARD, NULL},
    {"morse", 4, KW_MORSE, NULL},
    {"cutp", 4, KW_CUTP, NULL},
    {"library", 4, KW_INCLUDE, NULL},
    {"include", 4, KW_INCLUDE, NULL},
    {"spline", 4, KW_SPLINE, NULL},
    {"three", 4, KW_UNSUPPORTED, "three-body potentials are not supported"},
    {"spring", 4, KW_UNSUPPORTED, "core-shell springs (shell model) are not supported"},
    {"elements", 4, KW_UNSUPPORTED, "element data blocks are not supported"},
    {"epsilon", 4, KW_UNSUPPORTED,
     "per-species Lennard-Jones epsilon/sigma data are not supported"},
    {"atomab", 4, KW_UNSUPPORTED, "per-species Lennard-Jones A/B data are not supported"},
    {"harmonic", 4, KW_UNSUPPORTED, "harmonic bond potentials are not supported"},
    {"general", 4, KW_UNSUPPORTED, "the general two-body potential is not supported"},
    {"torsion", 4, KW_UNSUPPORTED, "four-body potentials are not supported"},
    {"four", 4, KW_UNSUPPORTED, "four-body potentials are not supported"},
    {"outofplane", 4, KW_UNSUPPORTED, "four-body potentials are not supported"},
    {"polynomial", 4, KW_UNSUPPORTED, "the polynomial potential is not supported"},
    {"coulomb", 4, KW_UNSUPPORTED, "the coulomb pair-potential option is not supported"},
    {"manybody", 4, KW_UNSUPPORTED, "many-body potentials are not supported"},
    {"eam_density", 5, KW_UNSUPPORTED, "EAM potentials are not supported"},
    {"eam_functional", 5, KW_UNSUPPORTED, "EAM potentials are not supported"},
    {"eam_potential_shift", 5, KW_UNSUPPORTED, "EAM potentials are not supported"},
    {"tersoff", 4, KW_UNSUPPORTED, "Tersoff potentials are not supported"},
    {"brenner", 4, KW_UNSUPPORTED, "Brenner potentials are not supported"},
    {"reaxff", 4, KW_UNSUPPORTED, "ReaxFF is not supported"},
    {"sw2", 3, KW_UNSUPPORTED, "Stillinger-Weber potentials are not supported"},
    {"sw3", 3, KW_UNSUPPORTED, "Stillinger-Weber potentials are not supported"},
    {"rydberg", 4, KW_UNSUPPORTED, "the Rydberg potential is not supported"},
    {"covexp", 4, KW_UNSUPPORTED, "the covalent-exponential potential is not supported"},
    {"exponential", 4, KW_UNSUPPORTED, "the exponential potential is not supported"},
    {"damped_dispersion", 4, KW_UNSUPPORTED, "damped dispersion is not supported"},
    {"qtaper", 4, KW_UNSUPPORTED, "Coulomb tapering is not supported"},
    {"qerfc", 4, KW_UNSUPPORTED, "the qerfc potential is not supported"},
    {"ljbuffered", 4, KW_UNSUPPORTED, "buffered Lennard-Jones is not supported"},
    {"bsm", 3, KW_UNSUPPORTED, "breathing shells are not supported"},
    {"shell", 4, KW_UNSUPPORTED, "the shell model is not supported"},
    {"cuts", 4, KW_UNSUPPORTED, "core-shell cut-offs (shell model) are not supported"},
    {"polarisability", 4, KW_UNSUPPORTED, "polarisability is not supported"},
    {"c6", 2, KW_UNSUPPORTED, "'c6' belongs on the GULP keyword line, not in a library"},
};

static const keyword_entry *find_keyword(text_token word)
{
    for (size_t i = 0; i < sizeof KEYWORDS / sizeof KEYWORDS[0]; ++i)
        if (text_is_abbreviation(word, KEYWORDS[i].name, KEYWORDS[i].min_length))
            return &KEYWORDS[i];
    return NULL;
}

/* ------------------------------------------------------------------ */
/* The library reader                                                   */

typedef enum block_kind { BLOCK_NONE = 0, BLOCK_SPECIES, BLOCK_PAIR } block_kind;

/* A `spline` table being read: its pair line, then rows `energy separation`. */
typedef struct spline_rows {
    int open;                   /* a pair line was read, rows may follow */
    fuse2_pair_term term;       /* from the pair line */
    char pair_name[32];         /* "Sr-O" as written, for messages */
    int n, capacity;
    double *r, *e;
} spline_rows;

typedef struct block_state {
    block_kind kind;
    fuse2_pair_kind pair;
    const char *keyword;        /* "buck", "lennard", "morse", "spline" for messages */
    double lennard_m, lennard_n;
    spline_rows *spline;        /* the reader's table in progress (spline blocks) */
} block_state;

typedef struct library_reader {
    fuse2_potential_set *set;
    int depth;
    char *open_files[MAX_INCLUDE_DEPTH + 1];   /* canonical paths being read */
} library_reader;

static fuse2_status read_library_text(library_reader *r, const char *text, const char *name,
                                      const char *directory);

static const char *pair_keyword_name(fuse2_pair_kind kind)
{
    switch (kind) {
    case FUSE2_PAIR_BUCKINGHAM: return "buck";
    case FUSE2_PAIR_LENNARD: return "lennard";
    case FUSE2_PAIR_MORSE: return "morse";
    case FUSE2_PAIR_SPLINE: return "spline";
    }
    return "?";
}

/* `species [count]`: the count is not trusted (pedone.lib says 5, lists 4). */
static fuse2_status start_species_block(const char *file, int lineno, const word_line *line,
                                        block_state *block)
{
    for (int i = 1; i < line->ntokens; ++i) {
        double count = 0.0;
        if (i != 1 ||
            text_parse_double(line->tokens[i], GULP_NUMBERS, &count) != TEXT_FINITE_NUMBER ||
            count < 0.0 || count != floor(count))
            return FUSE2_RAISE(FUSE2_ERR_PARSE,
                               "%s:%d: unexpected '%s' after 'species' (only a count may follow)",
                               file, lineno, line->tokens[i].p);
    }
    *block = (block_state){.kind = BLOCK_SPECIES};
    return FUSE2_OK;
}

static fuse2_status start_pair_block(const char *file, int lineno, const word_line *line,
                                     fuse2_pair_kind kind, block_state *block)
{
    const char *name = pair_keyword_name(kind);
    double exponents[2] = {12.0, 6.0};   /* GULP's lennard defaults */
    int nexponents = 0;
    for (int i = 1; i < line->ntokens; ++i) {
        text_token word = line->tokens[i];
        double value = 0.0;
        if (text_parse_double(word, GULP_NUMBERS, &value) != TEXT_NOT_A_NUMBER) {
            FUSE2_CALL(read_number_token(file, lineno, word, &value)); /* rejects nan, inf */
            if (kind != FUSE2_PAIR_LENNARD)
                return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED,
                                   "%s:%d: a number on the '%s' line (a GULP 1-4 scaling "
                                   "factor) is not supported: '%s'",
                                   file, lineno, name, word.p);
            if (nexponents == 2)
                return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED,
                                   "%s:%d: 'lennard' takes at most two exponents m n; a "
                                   "third number (1-4 scaling) is not supported: '%s'",
                                   file, lineno, word.p);
            if (!(value > 0.0))
                return FUSE2_RAISE(FUSE2_ERR_PARSE,
                                   "%s:%d: Lennard-Jones exponent '%s' must be positive", file,
                                   lineno, word.p);
            exponents[nexponents++] = value;
            continue;
        }
        /* GULP's molecule options; without molecules only `inter` is meaningful. */
        if (text_is_abbreviation(word, "inter", 4) ||
            text_is_abbreviation(word, "intermolecular", 4))
            continue;
        /* `spline cubic` is the only interpolation we know (and GULP's default) */
        if (kind == FUSE2_PAIR_SPLINE && text_is_abbreviation(word, "cubic", 4)) continue;
        if (kind == FUSE2_PAIR_LENNARD &&
            (text_is_abbreviation(word, "epsilon", 3) || text_is_abbreviation(word, "sigma", 3)))
            return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED,
                               "%s:%d: the epsilon/sigma form of 'lennard' ('%s') is not "
                               "supported; give A and B",
                               file, lineno, word.p);
        return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED,
                           "%s:%d: option '%s' on the '%s' line is not supported (only "
                           "'inter' is)",
                           file, lineno, word.p, name);
    }
    spline_rows *keep = block->spline;
    *block = (block_state){.kind = BLOCK_PAIR,
                           .pair = kind,
                           .keyword = name,
                           .lennard_m = exponents[0],
                           .lennard_n = exponents[1],
                           .spline = keep};
    return FUSE2_OK;
}

/* `cutp R [poly] [taper]` (GULP genword): a global pair cut-off with an
 * optional polynomial taper range. */
static fuse2_status read_cutp(const char *file, int lineno, const word_line *line,
                              fuse2_potential_set *set)
{
    double numbers[2] = {0.0, 0.0};
    int nnumbers = 0;
    for (int i = 1; i < line->ntokens; ++i) {
        text_token word = line->tokens[i];
        double value = 0.0;
        if (text_parse_double(word, GULP_NUMBERS, &value) != TEXT_NOT_A_NUMBER) {
            FUSE2_CALL(read_number_token(file, lineno, word, &value)); /* rejects nan, inf */
            if (nnumbers == 2)
                return FUSE2_RAISE(FUSE2_ERR_PARSE,
                                   "%s:%d: 'cutp' takes a radius and a taper range, got the "
                                   "extra number '%s'",
                                   file, lineno, word.p);
            numbers[nnumbers++] = value;
            continue;
        }
        if (text_is_abbreviation(word, "polynomial", 2)) continue;
        return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED,
                           "%s:%d: 'cutp' option '%s' is not supported (only the polynomial "
                           "taper in Å)",
                           file, lineno, word.p);
    }
    if (nnumbers == 0)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: 'cutp' needs a radius in Å", file, lineno);
    if (!(numbers[0] > 0.0))
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: 'cutp' radius %g must be positive", file,
                           lineno, numbers[0]);
    if (numbers[1] < 0.0)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: 'cutp' taper range %g must not be negative",
                           file, lineno, numbers[1]);
    if (numbers[1] > numbers[0])
        return FUSE2_RAISE(FUSE2_ERR_PARSE,
                           "%s:%d: 'cutp' taper range %g is longer than the radius %g", file,
                           lineno, numbers[1], numbers[0]);
    set->has_cutp = 1;   /* a later cutp replaces an earlier one, as in GULP */
    set->cutp_radius = numbers[0];
    set->cutp_taper = numbers[1] > GULP_MIN_TAPER_RANGE ? numbers[1] : 0.0;
    return FUSE2_OK;
}

typedef enum site_type { SITE_NOT_A_TYPE = 0, SITE_CORE, SITE_SHELL, SITE_BREATHING } site_type;

static site_type classify_site_type(text_token word)
{
    if (text_equals_nocase(word.p, "c") || text_is_abbreviation(word, "core", 3))
        return SITE_CORE;
    if (text_equals_nocase(word.p, "s") || text_is_abbreviation(word, "shell", 3))
        return SITE_SHELL;
    if (text_is_abbreviation(word, "bcore", 4) || text_is_abbreviation(word, "bshell", 4))
        return SITE_BREATHING;
    return SITE_NOT_A_TYPE;
}

static fuse2_status check_core(const char *file, int lineno, text_token word)
{
    switch (classify_site_type(word)) {
    case SITE_CORE: return FUSE2_OK;
    case SITE_SHELL:
        return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED,
                           "%s:%d: shell model not supported ('%s'): use rigid-ion cores", file,
                           lineno, word.p);
    case SITE_BREATHING:
        return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED,
                           "%s:%d: breathing shells not supported ('%s')", file, lineno,
                           word.p);
    case SITE_NOT_A_TYPE: break;
    }
    return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: expected 'core' or a number, got '%s'", file,
                       lineno, word.p);
}

/* Error for a first word that is neither a keyword nor an element label. */
static fuse2_status unknown_word(const char *file, int lineno, text_token word)
{
    return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: unknown keyword or element label '%s'", file,
                       lineno, word.p);
}

/* `El [core|c] q`. */
static fuse2_status read_species_line(const char *file, int lineno, const word_line *line,
                                      fuse2_potential_set *set)
{
    text_token label = line->tokens[0];
    int z = label_z(label);
    if (!z) return unknown_word(file, lineno, label);
    if (line->ntokens < 2)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: species '%s' has no charge", file, lineno,
                           label.p);
    int charge_at = 1;
    double charge = 0.0;
    if (text_parse_double(line->tokens[1], GULP_NUMBERS, &charge) == TEXT_NOT_A_NUMBER) {
        FUSE2_CALL(check_core(file, lineno, line->tokens[1]));
        charge_at = 2;
        if (line->ntokens < 3)
            return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: species '%s' has no charge", file,
                               lineno, label.p);
    }
    FUSE2_CALL(read_number_token(file, lineno, line->tokens[charge_at], &charge));
    if (line->ntokens > charge_at + 1)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: unexpected '%s' after the charge of '%s'",
                           file, lineno, line->tokens[charge_at + 1].p, label.p);

    int found = 0;
    double earlier = fuse2_potential_set_charge(set, z, &found);
    if (found) {
        if (earlier == charge) return FUSE2_OK;
        int earlier_line = 0;
        for (int i = 0; i < set->nspecies; ++i)
            if (set->species[i].z == z) earlier_line = set->species[i].line;
        return FUSE2_RAISE(FUSE2_ERR_PARSE,
                           "%s:%d: species %s listed again with charge %g; it already has "
                           "charge %g (line %d)",
                           file, lineno, symbol_of(z), charge, earlier, earlier_line);
    }
    FUSE2_CALL(fuse2_potential_set_add_species(set, z, charge));
    set->species[set->nspecies - 1].line = lineno;
    return FUSE2_OK;
}

/* Parameter counts of GULP's potword21: numbers beyond `max_numbers` are
 * fitting flags, `nflags` of them; fewer than `min_numbers` is an error. */
typedef struct pair_layout {
    int min_numbers, max_numbers, nflags;
    const char *usage;
} pair_layout;

static pair_layout layout_of(fuse2_pair_kind kind)
{
    switch (kind) {
    case FUSE2_PAIR_BUCKINGHAM:
        return (pair_layout){3, 5, 3, "A rho C [rmin] rmax, or A rho rmax with C = 0"};
    case FUSE2_PAIR_LENNARD:
        return (pair_layout){2, 4, 2, "A B [rmin] rmax, or A rmax with B = 0"};
    case FUSE2_PAIR_MORSE:
        return (pair_layout){4, 6, 3, "D a r0 rmax, D a r0 coul rmax or D a r0 coul rmin rmax"};
    case FUSE2_PAIR_SPLINE:
        return (pair_layout){1, 3, 1, "[p1 [rmin]] rmax, then rows 'energy separation'"};
    }
    return (pair_layout){0, 0, 0, ""};
}

/* `A [core] B [core] numbers...` inside a buck/lennard/morse block. */
static fuse2_status read_pair_line(const char *file, int lineno, const word_line *line,
                                   const block_state *block, fuse2_potential_set *set)
{
    /* Words first (two labels, each optionally followed by a core word), then
     * numbers only. With three words either reading gives the same pair. */
    int nwords = 0;
    while (nwords < line->ntokens) {
        double ignored;
        if (text_parse_double(line->tokens[nwords], GULP_NUMBERS, &ignored) != TEXT_NOT_A_NUMBER)
            break;
        nwords++;
    }
    text_token label1 = line->tokens[0];
    int z1 = label_z(label1);
    if (!z1) return unknown_word(file, lineno, label1);
    int label2_at = -1;
    if (nwords == 2) {
        label2_at = 1;
    } else if (nwords == 3) {
        if (classify_site_type(line->tokens[1]) != SITE_NOT_A_TYPE && label_z(line->tokens[2])) {
            FUSE2_CALL(check_core(file, lineno, line->tokens[1]));
            label2_at = 2;
        } else {
            label2_at = 1;
            FUSE2_CALL(check_core(file, lineno, line->tokens[2]));
        }
    } else if (nwords == 4) {
        FUSE2_CALL(check_core(file, lineno, line->tokens[1]));
        FUSE2_CALL(check_core(file, lineno, line->tokens[3]));
        label2_at = 2;
    } else if (nwords < 2) {
        return FUSE2_RAISE(FUSE2_ERR_PARSE,
                           "%s:%d: a '%s' line needs two element labels, e.g. 'Sr core O core'",
                           file, lineno, block->keyword);
    } else {
        /* Report the first word that cannot be a label or a core word. */
        for (int i = 1; i < nwords; ++i)
            if (classify_site_type(line->tokens[i]) != SITE_NOT_A_TYPE)
                FUSE2_CALL(check_core(file, lineno, line->tokens[i]));
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: expected a number, got '%s'", file, lineno,
                           line->tokens[4].p);
    }
    text_token label2 = line->tokens[label2_at];
    int z2 = label_z(label2);
    if (!z2)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: expected a second element label, got '%s'",
                           file, lineno, label2.p);

    double numbers[MAX_TOKENS];
    int n = 0;
    for (int i = nwords; i < line->ntokens; ++i)
        FUSE2_CALL(read_number_token(file, lineno, line->tokens[i], &numbers[n++]));

    pair_layout layout = layout_of(block->pair);
    if (n > layout.max_numbers) {
        /* GULP strips the fitting flags from the end of the line. */
        for (int i = n - layout.nflags; i < n; ++i)
            if (numbers[i] != 0.0 && numbers[i] != 1.0)
                return FUSE2_RAISE(FUSE2_ERR_PARSE,
                                   "%s:%d: too many numbers for '%s' unless the last %d are "
                                   "fitting flags 0 or 1, got '%s' (expected %s)",
                                   file, lineno, block->keyword, layout.nflags,
                                   line->tokens[nwords + i].p, layout.usage);
        n -= layout.nflags;
    }
    if (n < layout.min_numbers || n > layout.max_numbers)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: '%s' %s-%s expects %s, got %d number%s",
                           file, lineno, block->keyword, label1.p, label2.p, layout.usage, n,
                           n == 1 ? "" : "s");

    fuse2_pair_term t = {.kind = block->pair, .z1 = z1, .z2 = z2, .line = lineno};
    int ncut = 1;
    switch (block->pair) {
    case FUSE2_PAIR_BUCKINGHAM:
        t.param[0] = numbers[0];
        t.param[1] = numbers[1];
        t.param[2] = n >= 4 ? numbers[2] : 0.0;
        ncut = n == 5 ? 2 : 1;
        if (!(t.param[1] > 0.0))
            return FUSE2_RAISE(FUSE2_ERR_PARSE,
                               "%s:%d: Buckingham rho must be positive, got %g", file, lineno,
                               t.param[1]);
        break;
    case FUSE2_PAIR_LENNARD:
        t.param[0] = numbers[0];
        t.param[1] = n >= 3 ? numbers[1] : 0.0;
        t.param[2] = block->lennard_m;
        t.param[3] = block->lennard_n;
        ncut = n == 4 ? 2 : 1;
        break;
    case FUSE2_PAIR_MORSE:
        t.param[0] = numbers[0];
        t.param[1] = numbers[1];
        t.param[2] = numbers[2];
        /* GULP reads a fifth number as the Coulomb-subtraction fraction, not
         * as rmin; it only matters for bonded (molecular) pairs. */
        if (n >= 5 && numbers[3] != 0.0)
            return FUSE2_RAISE(FUSE2_ERR_UNSUPPORTED,
                               "%s:%d: morse: GULP reads '%s' as the Coulomb-subtraction "
                               "fraction (D a r0 coul [rmin] rmax), which is not supported; "
                               "for an inner cut-off write D a r0 0 rmin rmax",
                               file, lineno, line->tokens[nwords + 3].p);
        ncut = n == 6 ? 2 : 1;
        break;
    case FUSE2_PAIR_SPLINE:
        /* GULP interpolates its table at r + p1 (twobody); 0 when absent */
        t.param[0] = n >= 2 ? numbers[0] : 0.0;
        ncut = n == 3 ? 2 : 1;
        break;
    }
    t.rmax = numbers[n - 1];
    t.rmin = ncut == 2 ? numbers[n - 2] : 0.0;
    if (t.rmin < 0.0)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: rmin %g is negative", file, lineno, t.rmin);
    if (!(t.rmax > 0.0))
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: rmax %g must be positive", file, lineno,
                           t.rmax);
    if (t.rmin >= t.rmax)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: rmin %g is not below rmax %g", file, lineno,
                           t.rmin, t.rmax);
    if (block->pair == FUSE2_PAIR_SPLINE) {
        /* the table rows follow; the term is added when the table ends */
        spline_rows *rows = block->spline;
        rows->open = 1;
        rows->term = t;
        rows->n = 0;
        snprintf(rows->pair_name, sizeof rows->pair_name, "%.12s-%.12s", label1.p, label2.p);
        return FUSE2_OK;
    }
    FUSE2_CALL(fuse2_potential_set_add_term(set, &t));
    return FUSE2_OK;
}

/* A row `energy separation` of the open spline table. */
static fuse2_status read_spline_row(const char *file, int lineno, const word_line *line,
                                    spline_rows *rows)
{
    if (!rows->open)
        return FUSE2_RAISE(FUSE2_ERR_PARSE,
                           "%s:%d: spline table row before a pair line ('A core B core [p1 "
                           "[rmin]] rmax')",
                           file, lineno);
    if (line->ntokens != 2)
        return FUSE2_RAISE(FUSE2_ERR_PARSE,
                           "%s:%d: a spline table row is 'energy separation' (2 numbers), got %d "
                           "words",
                           file, lineno, line->ntokens);
    double energy = 0.0, separation = 0.0;
    FUSE2_CALL(read_number_token(file, lineno, line->tokens[0], &energy));
    FUSE2_CALL(read_number_token(file, lineno, line->tokens[1], &separation));
    if (separation < 0.0)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: spline %s: negative separation %g", file,
                           lineno, rows->pair_name, separation);
    if (rows->n > 0 && !(separation > rows->r[rows->n - 1]))
        return FUSE2_RAISE(FUSE2_ERR_PARSE,
                           "%s:%d: spline %s: separations must increase strictly, got %g after "
                           "%g (rows are 'energy separation')",
                           file, lineno, rows->pair_name, separation, rows->r[rows->n - 1]);
    if (rows->n == rows->capacity) {
        int capacity = rows->capacity ? 2 * rows->capacity : 256;
        double *r = realloc(rows->r, (size_t)capacity * sizeof *r);
        if (r) rows->r = r;
        double *e = r ? realloc(rows->e, (size_t)capacity * sizeof *e) : NULL;
        if (!e) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "%s:%d: out of memory", file, lineno);
        rows->e = e;
        rows->capacity = capacity;
    }
    rows->r[rows->n] = separation;
    rows->e[rows->n] = energy;
    rows->n++;
    return FUSE2_OK;
}

/* Ends the open spline table, if any: adds its term. */
static fuse2_status finish_spline(const char *file, spline_rows *rows, fuse2_potential_set *set)
{
    if (!rows->open) return FUSE2_OK;
    rows->open = 0;
    if (rows->n < FUSE2_SPLINE_MIN_POINTS)
        return FUSE2_RAISE(FUSE2_ERR_PARSE,
                           "%s:%d: spline %s has %d table row%s, needs at least %d ('energy "
                           "separation' lines after the pair line)",
                           file, rows->term.line, rows->pair_name, rows->n, rows->n == 1 ? "" : "s",
                           FUSE2_SPLINE_MIN_POINTS);
    fuse2_spline_table table = {.n = rows->n, .r = rows->r, .e = rows->e, .d2 = NULL};
    fuse2_pair_term t = rows->term;
    t.table = &table;
    fuse2_status st = fuse2_potential_set_add_term(set, &t);
    if (st != FUSE2_OK) {
        fuse2_error_prefix("%s:%d: spline %s: ", file, rows->term.line, rows->pair_name);
        fuse2_error_push_frame(__FILE__, __LINE__, __func__);
        return st;
    }
    return FUSE2_OK;
}

/* Reads a whole file into a NUL-terminated buffer. */
static fuse2_status slurp_file(const char *path, char **text, int *open_errno)
{
    *text = NULL;
    *open_errno = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        *open_errno = errno;
        return FUSE2_ERR_IO;
    }
    size_t capacity = 4096, length = 0;
    char *buffer = malloc(capacity);
    fuse2_status status = FUSE2_OK;
    while (buffer) {
        size_t got = fread(buffer + length, 1, capacity - length - 1, f);
        length += got;
        if (got == 0) break;
        if (capacity - length < 2) {
            char *grown = realloc(buffer, capacity * 2);
            if (!grown) {
                free(buffer);
                buffer = NULL;
                break;
            }
            buffer = grown;
            capacity *= 2;
        }
    }
    if (!buffer) {
        status = FUSE2_RAISE(FUSE2_ERR_NOMEM, "out of memory reading %s", path);
    } else if (ferror(f)) {
        status = FUSE2_RAISE(FUSE2_ERR_IO, "%s: read error", path);
        free(buffer);
        buffer = NULL;
    } else if (memchr(buffer, '\0', length)) {
        status = FUSE2_RAISE(FUSE2_ERR_PARSE, "%s: binary file (contains NUL bytes)", path);
        free(buffer);
        buffer = NULL;
    } else {
        buffer[length] = '\0';
    }
    fclose(f);
    *text = buffer;
    return status;
}

/* Directory part of a path ("." if none), into out. */
static void directory_of(const char *path, char *out, size_t capacity)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(out, capacity, ".");
    } else if (slash == path) {
        snprintf(out, capacity, "/");
    } else {
        snprintf(out, capacity, "%.*s", (int)(slash - path), path);
    }
}

static int has_lib_suffix(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && strcmp(path + n - 4, ".lib") == 0;
}

/* Reads one file (top level or included), guarding against include cycles.
 * `file`/`lineno` name the including line (NULL for the top level). */
static fuse2_status read_library_file(library_reader *r, const char *path, const char *file,
                                      int lineno)
{
    char *text = NULL;
    int open_errno = 0;
    char resolved_name[GULP_PATH_CAPACITY];
    snprintf(resolved_name, sizeof resolved_name, "%s", path);
    fuse2_status status = slurp_file(resolved_name, &text, &open_errno);
    if (status == FUSE2_ERR_IO && open_errno == ENOENT && !has_lib_suffix(path)) {
        /* GULP's `library name` also finds name.lib. */
        char with_suffix[GULP_PATH_CAPACITY];
        int written = snprintf(with_suffix, sizeof with_suffix, "%s.lib", path);
        int second_errno = 0;
        if (written > 0 && (size_t)written < sizeof with_suffix) {
            fuse2_status second = slurp_file(with_suffix, &text, &second_errno);
            if (second == FUSE2_OK || second_errno == 0) {
                /* found (or found but unreadable: report that) */
                status = second;
                open_errno = 0;
                snprintf(resolved_name, sizeof resolved_name, "%s", with_suffix);
            }
        }
    }
    if (status == FUSE2_ERR_IO && open_errno != 0) {
        if (file)
            return FUSE2_RAISE(FUSE2_ERR_IO, "%s:%d: cannot open included library '%s': %s",
                               file, lineno, path, strerror(open_errno));
        return FUSE2_RAISE(FUSE2_ERR_IO, "cannot open GULP library '%s': %s", path,
                           strerror(open_errno));
    }
    if (status != FUSE2_OK) {
        fuse2_error_push_frame(__FILE__, __LINE__, __func__);
        return status;
    }

    char *canonical = realpath(resolved_name, NULL);
    if (!canonical) {
        free(text);
        return FUSE2_RAISE(FUSE2_ERR_IO, "cannot resolve the path of '%s': %s", resolved_name,
                           strerror(errno));
    }
    for (int i = 0; i < r->depth; ++i) {
        if (strcmp(r->open_files[i], canonical) == 0) {
            free(canonical);
            free(text);
            return FUSE2_RAISE(FUSE2_ERR_PARSE,
                               "%s:%d: include cycle: '%s' is already being read", file, lineno,
                               resolved_name);
        }
    }
    if (r->depth >= MAX_INCLUDE_DEPTH) {
        free(canonical);
        free(text);
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: libraries nested more than %d deep", file,
                           lineno, MAX_INCLUDE_DEPTH);
    }
    r->open_files[r->depth++] = canonical;
    char directory[GULP_PATH_CAPACITY];
    directory_of(resolved_name, directory, sizeof directory);
    status = read_library_text(r, text, resolved_name, directory);
    free(r->open_files[--r->depth]);
    r->open_files[r->depth] = NULL;
    free(text);
    if (status != FUSE2_OK) fuse2_error_push_frame(__FILE__, __LINE__, __func__);
    return status;
}

static fuse2_status include_library(library_reader *r, const char *file, int lineno,
                                    const word_line *line, const char *directory)
{
    const char *word = line->tokens[0].p;
    if (line->ntokens < 2)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: '%s' needs a file name", file, lineno, word);
    if (line->ntokens > 2)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: unexpected '%s' after the file name", file,
                           lineno, line->tokens[2].p);
    const char *name = line->tokens[1].p;
    char path[GULP_PATH_CAPACITY];
    int written = name[0] == '/' || strcmp(directory, ".") == 0
                      ? snprintf(path, sizeof path, "%s", name)
                      : snprintf(path, sizeof path, "%s/%s", directory, name);
    if (written < 0 || (size_t)written >= sizeof path)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: included path is too long", file, lineno);
    FUSE2_CALL(read_library_file(r, path, file, lineno));
    return FUSE2_OK;
}

static fuse2_status read_library_text(library_reader *r, const char *text, const char *name,
                                      const char *directory)
{
    text_line *lines = NULL;
    int nlines = 0;
    FUSE2_CALL(text_split_lines(skip_byte_order_mark(text), &lines, &nlines));
    word_line line = {0};
    spline_rows spline = {0};
    block_state block = {.kind = BLOCK_NONE, .spline = &spline};
    fuse2_status status = FUSE2_OK;
    for (int i = 0; i < nlines; i++) {
        int lineno = lines[i].number;
        FUSE2_CALL_GOTO(status, split_words(name, lines[i], &line), done);
        if (line.ntokens == 0) continue;   /* blank lines do not end a block */
        text_token first = line.tokens[0];
        double row_number = 0.0;
        if (block.kind == BLOCK_PAIR && block.pair == FUSE2_PAIR_SPLINE &&
            text_parse_double(first, GULP_NUMBERS, &row_number) != TEXT_NOT_A_NUMBER) {
            FUSE2_CALL_GOTO(status, read_spline_row(name, lineno, &line, &spline), done);
            continue;
        }
        /* a pair line or keyword ends the table in progress */
        FUSE2_CALL_GOTO(status, finish_spline(name, &spline, r->set), done);
        /* Inside a block a label wins over a keyword, as in GULP (worsy is
         * asked first): "C6" there is carbon, not the c6 keyword. */
        const keyword_entry *kw =
            block.kind != BLOCK_NONE && label_z(first) ? NULL : find_keyword(first);
        if (kw) {
            block.kind = BLOCK_NONE;   /* any keyword ends the open block */
            switch (kw->kw) {
            case KW_SPECIES:
                FUSE2_CALL_GOTO(status, start_species_block(name, lineno, &line, &block),
                                done);
                break;
            case KW_BUCK:
                FUSE2_CALL_GOTO(status,
                                start_pair_block(name, lineno, &line,
                                                 FUSE2_PAIR_BUCKINGHAM, &block),
                                done);
                break;
            case KW_LENNARD:
                FUSE2_CALL_GOTO(status,
                                start_pair_block(name, lineno, &line, FUSE2_PAIR_LENNARD,
                                                 &block),
                                done);
                break;
            case KW_MORSE:
                FUSE2_CALL_GOTO(status,
                                start_pair_block(name, lineno, &line, FUSE2_PAIR_MORSE,
                                                 &block),
                                done);
                break;
            case KW_SPLINE:
                FUSE2_CALL_GOTO(status,
                                start_pair_block(name, lineno, &line, FUSE2_PAIR_SPLINE,
                                                 &block),
                                done);
                break;
            case KW_CUTP:
                FUSE2_CALL_GOTO(status, read_cutp(name, lineno, &line, r->set), done);
                break;
            case KW_INCLUDE:
                FUSE2_CALL_GOTO(status,
                                include_library(r, name, lineno, &line, directory), done);
                break;
            case KW_UNSUPPORTED:
                FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_UNSUPPORTED, "%s:%d: '%s': %s", name,
                                 lineno, first.p, kw->why);
            case KW_NONE: break;
            }
            continue;
        }
        switch (block.kind) {
        case BLOCK_SPECIES:
            FUSE2_CALL_GOTO(status, read_species_line(name, lineno, &line, r->set), done);
            break;
        case BLOCK_PAIR:
            FUSE2_CALL_GOTO(status, read_pair_line(name, lineno, &line, &block, r->set),
                            done);
            break;
        case BLOCK_NONE:
            if (label_z(first))
                FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_PARSE,
                                 "%s:%d: '%s' line outside a 'species' or potential block",
                                 name, lineno, first.p);
            FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_PARSE, "%s:%d: unknown keyword '%s'",
                             name, lineno, first.p);
        }
    }
    if (status == FUSE2_OK) status = finish_spline(name, &spline, r->set);
done:
    free(spline.r);
    free(spline.e);
    free(line.buffer);
    free(lines);
    return status;
}

/* On failure the set is put back as it was, so a caller can report the error
 * and keep using what it had. */
typedef struct set_snapshot {
    int nspecies, nterms, has_cutp;
    double cutp_radius, cutp_taper;
    char source[sizeof(((fuse2_potential_set *)0)->source)];
} set_snapshot;

static void snapshot_take(const fuse2_potential_set *set, set_snapshot *s)
{
    s->nspecies = set->nspecies;
    s->nterms = set->nterms;
    s->has_cutp = set->has_cutp;
    s->cutp_radius = set->cutp_radius;
    s->cutp_taper = set->cutp_taper;
    memcpy(s->source, set->source, sizeof s->source);
}

static void snapshot_restore(fuse2_potential_set *set, const set_snapshot *s)
{
    for (int i = s->nterms; i < set->nterms; ++i) {
        fuse2_spline_table_free(set->terms[i].table);
        set->terms[i].table = NULL;
    }
    set->nspecies = s->nspecies;
    set->nterms = s->nterms;
    set->has_cutp = s->has_cutp;
    set->cutp_radius = s->cutp_radius;
    set->cutp_taper = s->cutp_taper;
    memcpy(set->source, s->source, sizeof s->source);
}

static void reader_release(library_reader *r)
{
    for (int i = 0; i < r->depth; ++i) free(r->open_files[i]);
    r->depth = 0;
}

fuse2_status fuse2_gulp_library_read(const char *path, fuse2_potential_set *set)
{
    if (!path || !set) return FUSE2_RAISE(FUSE2_ERR_ARG, "path or potential set is NULL");
    set_snapshot before;
    snapshot_take(set, &before);
    if (set->source[0] == '\0') snprintf(set->source, sizeof set->source, "%s", path);
    library_reader r = {.set = set, .depth = 0};
    fuse2_status status = read_library_file(&r, path, NULL, 0);
    reader_release(&r);
    if (status != FUSE2_OK) {
        snapshot_restore(set, &before);
        fuse2_error_push_frame(__FILE__, __LINE__, __func__);
    }
    return status;
}

fuse2_status fuse2_gulp_library_read_string(const char *text, const char *name,
                                            fuse2_potential_set *set)
{
    if (!text || !set) return FUSE2_RAISE(FUSE2_ERR_ARG, "text or potential set is NULL");
    if (!name || !name[0]) name = "<string>";
    set_snapshot before;
    snapshot_take(set, &before);
    if (set->source[0] == '\0') snprintf(set->source, sizeof set->source, "%s", name);
    library_reader r = {.set = set, .depth = 0};
    /* If the name is a real file, an include of it from the text is a cycle. */
    char *canonical = realpath(name, NULL);
    if (canonical) r.open_files[r.depth++] = canonical;
    char directory[GULP_PATH_CAPACITY];
    directory_of(name, directory, sizeof directory);
    fuse2_status status = read_library_text(&r, text, name, directory);
    reader_release(&r);
    if (status != FUSE2_OK) {
        snapshot_restore(set, &before);
        fuse2_error_push_frame(__FILE__, __LINE__, __func__);
    }
    return status;
}

/* ------------------------------------------------------------------ */
/* Contact tables (ipcsp *-radii.lib, *-dist.lib)                       */

static fuse2_status read_positive(const char *file, int lineno, text_token token,
                                  const char *what, double *value)
{
    FUSE2_CALL(read_number_token(file, lineno, token, value));
    if (!(*value > 0.0))
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: %s '%s' must be positive", file, lineno,
                           what, token.p);
    return FUSE2_OK;
}

static fuse2_status contact_line(const char *file, int lineno, const word_line *line,
                                 fuse2_contact_table *table)
{
    const int capacity_radii = (int)(sizeof table->radius / sizeof table->radius[0]);
    const int capacity_pairs =
        (int)(sizeof table->pair_distance / sizeof table->pair_distance[0]);
    int z1 = label_z(line->tokens[0]);
    if (!z1)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: expected an element symbol, got '%s'", file,
                           lineno, line->tokens[0].p);
    if (line->ntokens == 2) {
        double r = 0.0;
        FUSE2_CALL(read_positive(file, lineno, line->tokens[1], "radius", &r));
        for (int i = 0; i < table->nradii; ++i) {
            if (table->radius_z[i] != z1) continue;
            if (table->radius[i] == r) return FUSE2_OK;
            return FUSE2_RAISE(FUSE2_ERR_PARSE,
                               "%s:%d: radius of %s given again as %g (was %g)", file, lineno,
                               symbol_of(z1), r, table->radius[i]);
        }
        if (table->nradii == capacity_radii)
            return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: more than %d radii", file, lineno,
                               capacity_radii);
        table->radius_z[table->nradii] = z1;
        table->radius[table->nradii] = r;
        table->nradii++;
        return FUSE2_OK;
    }
    if (line->ntokens == 3) {
        int z2 = label_z(line->tokens[1]);
        if (!z2)
            return FUSE2_RAISE(FUSE2_ERR_PARSE,
                               "%s:%d: expected a second element symbol, got '%s'", file,
                               lineno, line->tokens[1].p);
        if (z1 > z2) {
            int swap = z1;
            z1 = z2;
            z2 = swap;
        }
        double d = 0.0;
        FUSE2_CALL(read_positive(file, lineno, line->tokens[2], "distance", &d));
        for (int i = 0; i < table->npairs; ++i) {
            if (table->pair_z1[i] != z1 || table->pair_z2[i] != z2) continue;
            if (table->pair_distance[i] == d) return FUSE2_OK;
            return FUSE2_RAISE(FUSE2_ERR_PARSE,
                               "%s:%d: distance %s-%s given again as %g (was %g)", file, lineno,
                               symbol_of(z1), symbol_of(z2), d, table->pair_distance[i]);
        }
        if (table->npairs == capacity_pairs)
            return FUSE2_RAISE(FUSE2_ERR_PARSE, "%s:%d: more than %d pair distances", file,
                               lineno, capacity_pairs);
        table->pair_z1[table->npairs] = z1;
        table->pair_z2[table->npairs] = z2;
        table->pair_distance[table->npairs] = d;
        table->npairs++;
        return FUSE2_OK;
    }
    return FUSE2_RAISE(FUSE2_ERR_PARSE,
                       "%s:%d: expected 'El radius' or 'El El distance', got %d words", file,
                       lineno, line->ntokens);
}

fuse2_status fuse2_contact_table_read(const char *path, fuse2_contact_table *table)
{
    if (!path || !table) return FUSE2_RAISE(FUSE2_ERR_ARG, "path or contact table is NULL");
    memset(table, 0, sizeof *table);
    char *text = NULL;
    int open_errno = 0;
    fuse2_status status = slurp_file(path, &text, &open_errno);
    if (status == FUSE2_ERR_IO && open_errno != 0)
        return FUSE2_RAISE(FUSE2_ERR_IO, "cannot open contact table '%s': %s", path,
                           strerror(open_errno));
    if (status != FUSE2_OK) {
        fuse2_error_push_frame(__FILE__, __LINE__, __func__);
        return status;
    }
    text_line *lines = NULL;
    int nlines = 0;
    word_line line = {0};
    FUSE2_CALL_GOTO(status, text_split_lines(skip_byte_order_mark(text), &lines, &nlines), done);
    for (int i = 0; i < nlines; i++) {
        FUSE2_CALL_GOTO(status, split_words(path, lines[i], &line), done);
        if (line.ntokens == 0) continue;
        FUSE2_CALL_GOTO(status, contact_line(path, lines[i].number, &line, table), done);
    }
done:
    free(line.buffer);
    free(lines);
    free(text);
    if (status != FUSE2_OK) memset(table, 0, sizeof *table);
    return status;
}
