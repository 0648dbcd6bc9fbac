/* GULP standard-output parser (fuse2/gulp.h). One pass collects what the
 * output says (messages, energies, tables); a second step decides the
 * outcome. Everything about the output is an outcome, never an error: a
 * search must be able to score any run, however it ended. */
#include "fuse2/gulp.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/structure_io.h"
#include "io/text.h"

enum { LINE_CHARS = 512, MAX_TOKENS = 32 };

/* A number as GULP printed it. */
typedef enum value_kind {
    VALUE_MISSING = 0,
    VALUE_FINITE,
    VALUE_OVERFLOW, /* Fortran fills a field it cannot hold with '*' */
    VALUE_NAN       /* NaN or Infinity */
} value_kind;

typedef struct gulp_value {
    value_kind kind;
    double v;
    int line;
} gulp_value;

/* A coordinates table ("Final fractional coordinates of atoms", or the
 * input echo "Fractional coordinates of asymmetric unit"). */
typedef struct atom_table {
    int found;        /* the title line was seen */
    int complete;     /* its closing dashed line was seen */
    int natoms;
    int capacity;
    int *z;
    double (*frac)[3];
    int nonfinite;    /* a coordinate was '****', NaN or Inf */
    char problem[160];/* why the table cannot give a structure, "" if none */
} atom_table;

typedef struct lattice_block {
    int found;
    int rows;         /* rows read so far (3 when complete) */
    int nonfinite;
    double l[3][3];
} lattice_block;

/* Which verdict the optimiser printed. */
typedef enum verdict {
    VERDICT_NONE = 0,
    VERDICT_ACHIEVED,
    VERDICT_NO_VARIABLES, /* "No variables to optimise - single point performed" */
    VERDICT_FAILED_ATTEMPTS,
    VERDICT_MAXCYC,
    VERDICT_NO_MINIMUM,
    VERDICT_UNEXPECTED
} verdict;

typedef struct got_scan {
    const char *name;
    int nonblank;
    int optimise;             /* the run is an optimisation */
    int job_finished;
    int cpu_limit;            /* GULP's own `time` limit stopped it */
    int error_line;           /* first "!! ERROR" line, 0 if none */
    char error[FUSE2_REASON_LEN];
    int terminated_line;      /* "Program terminated" line, 0 if none */
    char terminated[FUSE2_REASON_LEN];
    verdict verdict;
    int verdict_line;
    int irreducible, total;   /* atom counts from the header, -1 if absent */
    gulp_value first_total;   /* first "Total lattice energy ... eV" */
    int total_pending;        /* "Total lattice energy :" seen, values on the next lines */
    gulp_value pending_primitive;
    gulp_value final_energy;  /* "Final energy/enthalpy/free energy = ... eV" */
    gulp_value final_gnorm;
    int last_cycle;           /* -1: no "Cycle:" line */
    gulp_value last_cycle_energy;
    lattice_block initial_lattice, final_lattice;
    atom_table initial_atoms, final_atoms;
} got_scan;

/* ---- small helpers on lines (not NUL-terminated) ---- */

/* The line as a C string, cut at LINE_CHARS - 1 characters (GULP writes at
 * most ~132 per line; a longer one is not a line this parser looks at). */
static void line_string(text_line l, char buf[LINE_CHARS])
{
    int n = l.len < LINE_CHARS - 1 ? l.len : LINE_CHARS - 1;
    memcpy(buf, l.p, (size_t)n);
    buf[n] = '\0';
}

static int is_blank(const char *s)
{
    while (*s && isspace((unsigned char)*s)) s++;
    return *s == '\0';
}

/* A line of dashes (GULP's table rules). */
static int is_rule(const char *s)
{
    while (*s == ' ') s++;
    return strncmp(s, "-----", 5) == 0;
}

/* Copies s without leading/trailing white space into dst. */
static void trimmed_copy(char *dst, int size, const char *s)
{
    while (*s && isspace((unsigned char)*s)) s++;
    int n = (int)strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
    if (n > size - 1) n = size - 1;
    memcpy(dst, s, (size_t)n);
    dst[n] = '\0';
}

/* One printed number: finite, '*' overflow, NaN/Inf, or not a number. */
static value_kind parse_value(text_token t, double *v)
{
    if (t.len <= 0) return VALUE_MISSING;
    if (memchr(t.p, '*', (size_t)t.len)) return VALUE_OVERFLOW;
    switch (text_parse_double(t, TEXT_NUMBER_FORTRAN, v)) {
    case TEXT_FINITE_NUMBER: return VALUE_FINITE;
    case TEXT_NONFINITE_NUMBER: return VALUE_NAN;
    case TEXT_NOT_A_NUMBER: break;
    }
    return VALUE_MISSING;
}

/* The first word after `marker` in s (e.g. after '=' or "Energy:"), read as
 * a value. "Energy:*****" (no space) works: the word starts right after. */
static gulp_value value_after(const char *s, const char *marker, int line)
{
    gulp_value r = {VALUE_MISSING, NAN, line};
    const char *p = strstr(s, marker);
    if (!p) return r;
    p += strlen(marker);
    while (*p == ' ' || *p == '\t') p++;
    const char *end = p;
    while (*end && !isspace((unsigned char)*end)) end++;
    text_token t = {p, (int)(end - p)};
    r.kind = parse_value(t, &r.v);
    if (r.kind != VALUE_FINITE) r.v = NAN;
    return r;
}

/* "... = X eV" with eV as the last word (not the kJ/mol line). */
static int ends_with_ev(const char *s)
{
    int n = (int)strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
    return n >= 3 && strncmp(s + n - 3, " eV", 3) == 0;
}

/* ---- tables ---- */

static int table_add(atom_table *t, int z, const double x[3])
{
    if (t->natoms == t->capacity) {
        int capacity = t->capacity ? 2 * t->capacity : 64;
        int *zz = realloc(t->z, (size_t)capacity * sizeof *zz);
        if (!zz) return 0;
        t->z = zz;
        double(*ff)[3] = realloc(t->frac, (size_t)capacity * sizeof *ff);
        if (!ff) return 0;
        t->frac = ff;
        t->capacity = capacity;
    }
    t->z[t->natoms] = z;
    memcpy(t->frac[t->natoms], x, sizeof t->frac[0]);
    t->natoms++;
    return 1;
}

static void table_free(atom_table *t)
{
    free(t->z);
    free(t->frac);
}

/* One row "No. label c|s x y z ..."; the input echo marks optimised
 * coordinates with a separate '*', which is dropped. Returns 0 only when
 * memory runs out. */
static int table_row(got_scan *g, atom_table *t, text_line line)
{
    text_token raw[MAX_TOKENS], tok[MAX_TOKENS];
    int nraw = text_tokenize(line, NULL, raw, MAX_TOKENS), n = 0;
    for (int i = 0; i < nraw; i++)
        if (!(raw[i].len == 1 && raw[i].p[0] == '*')) tok[n++] = raw[i];
    if (t->problem[0]) return 1;
    long index;
    if (n < 6 || !text_parse_integer(tok[0], &index)) {
        /* an overflowed coordinate can merge with its neighbour */
        for (int i = 0; i < nraw; i++)
            if (memchr(raw[i].p, '*', (size_t)raw[i].len)) {
                t->nonfinite = 1;
                return 1;
            }
        snprintf(t->problem, sizeof t->problem, "%s:%d: cannot read the atom line '%.*s'",
                 g->name, line.number, line.len < 60 ? line.len : 60, line.p);
        return 1;
    }
    int z = text_element_from_label(tok[1], TEXT_LABEL_SITE_SUFFIX);
    if (!z) {
        snprintf(t->problem, sizeof t->problem, "%s:%d: unknown element label '%.*s'", g->name,
                 line.number, tok[1].len, tok[1].p);
        return 1;
    }
    if (tok[2].len >= 1 && (tok[2].p[tok[2].len - 1] == 's')) {
        snprintf(t->problem, sizeof t->problem,
                 "%s:%d: shells ('%.*s %.*s') are not supported", g->name, line.number,
                 tok[1].len, tok[1].p, tok[2].len, tok[2].p);
        return 1;
    }
    double x[3];
    for (int k = 0; k < 3; k++) {
        value_kind kind = parse_value(tok[3 + k], &x[k]);
        if (kind == VALUE_OVERFLOW || kind == VALUE_NAN) {
            t->nonfinite = 1;
            x[k] = NAN;
        } else if (kind != VALUE_FINITE) {
            snprintf(t->problem, sizeof t->problem, "%s:%d: bad coordinate '%.*s'", g->name,
                     line.number, tok[3 + k].len, tok[3 + k].p);
            return 1;
        }
    }
    return table_add(t, z, x);
}

/* Rows lie between the 2nd and 3rd rule after the title. Returns the index
 * of the last line consumed, or -1 when memory runs out. */
static int read_table(got_scan *g, atom_table *t, const text_line *lines, int nlines, int title)
{
    t->found = 1;
    int rules = 0;
    char buf[LINE_CHARS];
    for (int i = title + 1; i < nlines; i++) {
        line_string(lines[i], buf);
        if (is_rule(buf)) {
            if (++rules == 3) {
                t->complete = 1;
                return i;
            }
            continue;
        }
        if (rules == 2 && !is_blank(buf)) {
            if (!table_row(g, t, lines[i])) return -1;
        } else if (rules < 2 && i > title + 8) {
            break; /* not the table layout this parser knows */
        }
    }
    if (!t->problem[0])
        snprintf(t->problem, sizeof t->problem, "%s: the coordinates table at line %d is incomplete",
                 g->name, lines[title].number);
    return nlines - 1;
}

/* Three rows of three numbers after the title (blank lines skipped). */
static int read_lattice(lattice_block *b, const text_line *lines, int nlines, int title)
{
    b->found = 1;
    char buf[LINE_CHARS];
    int i = title + 1;
    for (; i < nlines && b->rows < 3; i++) {
        line_string(lines[i], buf);
        if (is_blank(buf)) continue;
        text_token tok[MAX_TOKENS];
        int n = text_tokenize(lines[i], NULL, tok, MAX_TOKENS);
        if (n != 3) {
            for (int k = 0; k < n; k++)
                if (memchr(tok[k].p, '*', (size_t)tok[k].len)) b->nonfinite = 1;
            break;
        }
        for (int k = 0; k < 3; k++) {
            value_kind kind = parse_value(tok[k], &b->l[b->rows][k]);
            if (kind == VALUE_OVERFLOW || kind == VALUE_NAN) b->nonfinite = 1;
            else if (kind != VALUE_FINITE) return i;
        }
        b->rows++;
    }
    return i - 1;
}

static void note_line(char *dst, const char *s) { trimmed_copy(dst, FUSE2_REASON_LEN, s); }

/* The first pass: what the output says. Returns 0 when memory runs out. */
static int scan(got_scan *g, const text_line *lines, int nlines)
{
    char s[LINE_CHARS];
    for (int i = 0; i < nlines; i++) {
        line_string(lines[i], s);
        int ln = lines[i].number;
        if (is_blank(s)) continue;
        g->nonblank++;

        if (g->total_pending) {
            /* "Total lattice energy :" then "Primitive unit cell = X eV" and
             * "Non-primitive unit cell = X eV"; the full cell is the one
             * the structure (all atoms) describes. */
            if (strstr(s, "Non-primitive unit cell") && ends_with_ev(s)) {
                g->first_total = value_after(s, "=", ln);
                g->total_pending = 0;
                continue;
            }
            if (strstr(s, "Primitive unit cell") && ends_with_ev(s)) {
                g->pending_primitive = value_after(s, "=", ln);
                continue;
            }
            if (g->pending_primitive.kind != VALUE_MISSING) g->first_total = g->pending_primitive;
            g->total_pending = 0;
        }

        if (strstr(s, "!! ERROR")) {
            if (!g->error_line) {
                g->error_line = ln;
                note_line(g->error, s);
            }
            continue;
        }
        if (strstr(s, "Program terminated")) {
            if (!g->terminated_line) {
                g->terminated_line = ln;
                note_line(g->terminated, s);
            }
            continue;
        }
        if (strstr(s, "Job Finished")) {
            g->job_finished = 1;
            continue;
        }
        if (strstr(s, "CPU limit has been exceeded")) {
            g->cpu_limit = ln;
            continue;
        }
        /* The optimiser's verdicts (GULP 4.x optim); substrings, not exact lines. */
        verdict v = VERDICT_NONE;
        if (strstr(s, "Optimisation achieved") || strstr(s, "Optimization achieved"))
            v = VERDICT_ACHIEVED;
        else if (strstr(s, "Too many failed attempts to optimi"))
            v = VERDICT_FAILED_ATTEMPTS;
        else if (strstr(s, "Maximum number of function calls has been reached"))
            v = VERDICT_MAXCYC;
        else if (strstr(s, "Conditions for a minimum have not been satisfied"))
            v = VERDICT_NO_MINIMUM;
        else if (strstr(s, "Unexpected termination of optimisation"))
            v = VERDICT_UNEXPECTED;
        else if (strstr(s, "No variables to optimise"))
            v = VERDICT_NO_VARIABLES;
        if (v != VERDICT_NONE) {
            if (g->verdict == VERDICT_NONE) {
                g->verdict = v;
                g->verdict_line = ln;
            }
            g->optimise = 1;
            continue;
        }

        const char *t = s;
        while (*t == ' ') t++;
        /* keyword echo in the header box: "*  optimise     - perform optimisation run" */
        if (t[0] == '*' && strncmp(t + 1, "  optimise", 10) == 0) g->optimise = 1;
        if (strncmp(t, "Start of", 8) == 0 && strstr(t, "optimisation")) g->optimise = 1;

        if (strncmp(t, "Number of irreducible atoms/shells", 34) == 0) {
            gulp_value n = value_after(t, "=", ln);
            if (n.kind == VALUE_FINITE) g->irreducible = (int)n.v;
        } else if (strncmp(t, "Total number atoms/shells", 25) == 0) {
            gulp_value n = value_after(t, "=", ln);
            if (n.kind == VALUE_FINITE) g->total = (int)n.v;
        } else if (strncmp(t, "Total lattice energy", 20) == 0) {
            if (g->first_total.kind == VALUE_MISSING && !g->total_pending) {
                if (strchr(t, '=')) {
                    if (ends_with_ev(t)) g->first_total = value_after(t, "=", ln);
                } else {
                    g->total_pending = 1;
                    g->pending_primitive = (gulp_value){VALUE_MISSING, NAN, 0};
                }
            }
        } else if (strncmp(t, "Cycle:", 6) == 0) {
            g->optimise = 1;
            gulp_value c = value_after(t, "Cycle:", ln);
            if (c.kind == VALUE_FINITE) g->last_cycle = (int)c.v;
            g->last_cycle_energy = value_after(t, "Energy:", ln);
        } else if (strncmp(t, "Final energy", 12) == 0 || strncmp(t, "Final enthalpy", 14) == 0 ||
                   strncmp(t, "Final free energy", 17) == 0) {
            g->optimise = 1;
            if (g->final_energy.kind == VALUE_MISSING) g->final_energy = value_after(t, "=", ln);
        } else if (strncmp(t, "Final Gnorm", 11) == 0) {
            if (g->final_gnorm.kind == VALUE_MISSING) g->final_gnorm = value_after(t, "=", ln);
        } else if (strncmp(t, "Final Cartesian lattice vectors", 31) == 0) {
            if (!g->final_lattice.found) i = read_lattice(&g->final_lattice, lines, nlines, i);
        } else if (strncmp(t, "Cartesian lattice vectors", 25) == 0) {
            if (!g->initial_lattice.found) i = read_lattice(&g->initial_lattice, lines, nlines, i);
        } else if (strncmp(t, "Final fractional coordinates of atoms", 37) == 0) {
            if (!g->final_atoms.found) {
                i = read_table(g, &g->final_atoms, lines, nlines, i);
                if (i < 0) return 0;
            }
        } else if (strncmp(t, "Fractional coordinates of asymmetric unit", 41) == 0) {
            if (!g->initial_atoms.found) {
                i = read_table(g, &g->initial_atoms, lines, nlines, i);
                if (i < 0) return 0;
            }
        }
    }
    if (g->total_pending && g->pending_primitive.kind != VALUE_MISSING)
        g->first_total = g->pending_primitive;
    return 1;
}

/* ---- the structure ---- */

/* Builds s from a lattice block and a table; "" on success, else why not. */
static fuse2_status build_structure(const got_scan *g, const lattice_block *b,
                                    const atom_table *t, fuse2_structure *s, char *why,
                                    int why_size)
{
    why[0] = '\0';
    if (!b->found || b->rows < 3) {
        snprintf(why, (size_t)why_size, "%s: no complete %s block", g->name,
                 b == &g->final_lattice ? "'Final Cartesian lattice vectors'"
                                        : "'Cartesian lattice vectors'");
        return FUSE2_OK;
    }
    if (!t->found || t->problem[0] || !t->complete) {
        snprintf(why, (size_t)why_size, "%s",
                 t->problem[0] ? t->problem
                               : (t == &g->final_atoms
                                      ? "no 'Final fractional coordinates of atoms' table"
                                      : "no 'Fractional coordinates of asymmetric unit' table"));
        return FUSE2_OK;
    }
    if (t->natoms == 0) {
        snprintf(why, (size_t)why_size, "%s: the coordinates table has no atoms", g->name);
        return FUSE2_OK;
    }
    /* The tables list the asymmetric unit: with space-group input they are
     * not the whole cell. */
    if (g->irreducible > 0 && g->total > 0 && g->irreducible != g->total) {
        snprintf(why, (size_t)why_size,
                 "%s: %d irreducible of %d atoms (space-group input) is not supported", g->name,
                 g->irreducible, g->total);
        return FUSE2_OK;
    }
    fuse2_structure tmp = {0};
    FUSE2_CALL(fuse2_structure_init(&tmp, t->natoms));
    memcpy(tmp.lattice, b->l, sizeof tmp.lattice);
    for (int i = 0; i < t->natoms; i++) {
        fuse2_status st = fuse2_structure_add_atom(&tmp, t->z[i], t->frac[i]);
        if (st != FUSE2_OK) {
            fuse2_structure_free(&tmp);
            return st;
        }
    }
    /* GULP prints 1.000000 for coordinates just below 1 */
    fuse2_structure_wrap_positions(&tmp);
    if (fuse2_structure_validate(&tmp, g->name) != FUSE2_OK) {
        snprintf(why, (size_t)why_size, "%s", fuse2_error_message());
        fuse2_error_clear();
        fuse2_structure_free(&tmp);
        return FUSE2_OK;
    }
    fuse2_structure_free(s);
    *s = tmp;
    return FUSE2_OK;
}

/* Distance of two fractional coordinates modulo 1. */
static double periodic_difference(double a, double b)
{
    double d = a - b;
    return fabs(d - nearbyint(d));
}

/* The dump agrees with the printed final structure when the species match in
 * order and every coordinate is within the output's print precision (6
 * decimals: 5e-7, plus the dump's own 7-decimal rounding and slack). */
static int dump_agrees(const fuse2_structure *dump, const fuse2_structure *s)
{
    if (dump->natoms != s->natoms) return 0;
    double vd = fabs(fuse2_structure_volume(dump)), vs = fabs(fuse2_structure_volume(s));
    if (!(fabs(vd - vs) <= 1e-4 * vs)) return 0;
    for (int i = 0; i < s->natoms; i++) {
        if (dump->species[i] != s->species[i]) return 0;
        for (int k = 0; k < 3; k++)
            if (!(periodic_difference(dump->frac[i][k], s->frac[i][k]) <= 1e-6)) return 0;
    }
    return 1;
}

/* Reads the dump; 0 if it is missing or no geometry this project reads. */
static int read_dump(const char *dump_path, fuse2_structure *dump)
{
    if (!dump_path) return 0;
    if (fuse2_gulp_structure_read(dump_path, dump) != FUSE2_OK) {
        fuse2_error_clear(); /* an optional file: its absence is no error */
        return 0;
    }
    return 1;
}

static const char *verdict_signature(verdict v)
{
    switch (v) {
    case VERDICT_FAILED_ATTEMPTS: return "failed_attempts";
    case VERDICT_MAXCYC: return "maxcyc";
    case VERDICT_NO_MINIMUM: return "no_minimum";
    case VERDICT_UNEXPECTED: return "unexpected";
    case VERDICT_NONE:
    case VERDICT_ACHIEVED:
    case VERDICT_NO_VARIABLES: break;
    }
    return "";
}

static const char *verdict_text(verdict v)
{
    switch (v) {
    case VERDICT_FAILED_ATTEMPTS: return "too many failed attempts to optimise";
    case VERDICT_MAXCYC: return "maximum number of function calls (maxcyc) reached";
    case VERDICT_NO_MINIMUM: return "conditions for a minimum not satisfied";
    case VERDICT_UNEXPECTED: return "unexpected termination of optimisation";
    case VERDICT_ACHIEVED: return "optimisation achieved";
    case VERDICT_NO_VARIABLES: return "no variables to optimise";
    case VERDICT_NONE: break;
    }
    return "no verdict";
}

static void set_signature(fuse2_ext_output *out, const char *sig)
{
    snprintf(out->signature, sizeof out->signature, "%s", sig);
}

static const char *value_problem(const gulp_value *v)
{
    return v->kind == VALUE_OVERFLOW ? "overflow" : "nan";
}

/* The second step: the outcome from what the scan found. */
static fuse2_status decide(got_scan *g, const char *dump_path, int natoms_expected,
                           fuse2_ext_output *out)
{
    if (g->nonblank == 0) {
        fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE, "%s: empty output", g->name);
        set_signature(out, "empty");
        return FUSE2_OK;
    }

    /* energy, steps, structure: whatever the output holds */
    gulp_value energy = g->optimise ? g->final_energy : g->first_total;
    if (g->optimise && g->verdict == VERDICT_NO_VARIABLES && energy.kind == VALUE_MISSING)
        energy = g->first_total; /* GULP did a single point instead */
    out->energy = energy.kind == VALUE_FINITE ? energy.v : NAN;
    out->ionic_steps = g->last_cycle >= 0 ? g->last_cycle : (g->optimise ? -1 : 0);
    if (g->verdict != VERDICT_NONE && out->ionic_steps < 0) out->ionic_steps = 0;

    int use_final = g->optimise && !(g->verdict == VERDICT_NO_VARIABLES && !g->final_lattice.found);
    const lattice_block *lb = use_final ? &g->final_lattice : &g->initial_lattice;
    const atom_table *at = use_final ? &g->final_atoms : &g->initial_atoms;
    char why[FUSE2_REASON_LEN];
    FUSE2_CALL(build_structure(g, lb, at, &out->structure, why, (int)sizeof why));
    int coords_nonfinite = lb->nonfinite || at->nonfinite;
    out->has_structure = why[0] == '\0' && !coords_nonfinite;

    fuse2_structure dump = {0};
    int have_dump = read_dump(dump_path, &dump);
    if (have_dump) {
        if (out->has_structure) {
            /* 7 decimals instead of 6; the output's (re-oriented) cell is kept */
            if (dump_agrees(&dump, &out->structure))
                for (int i = 0; i < dump.natoms; i++)
                    memcpy(out->structure.frac[i], dump.frac[i], sizeof dump.frac[i]);
        } else if (natoms_expected <= 0 || dump.natoms == natoms_expected) {
            /* the last geometry GULP wrote, for a restart; the outcome stays a failure */
            fuse2_structure_free(&out->structure);
            out->structure = dump;
            dump = (fuse2_structure){0};
            out->has_structure = 1;
            if (!why[0]) snprintf(why, sizeof why, "%s: non-finite final coordinates", g->name);
        }
    }
    fuse2_structure_free(&dump);

    /* fatal errors first: whatever else was printed is not to be trusted */
    if (g->error_line) {
        fuse2_ext_output_fail(out, FUSE2_EXT_CRASHED, "%s:%d: %s", g->name, g->error_line,
                              g->error);
        set_signature(out, "error");
        return FUSE2_OK;
    }
    if (g->terminated_line) {
        fuse2_ext_output_fail(out, FUSE2_EXT_CRASHED, "%s:%d: %s", g->name, g->terminated_line,
                              g->terminated);
        set_signature(out, "terminated");
        return FUSE2_OK;
    }
    if (g->cpu_limit) {
        fuse2_ext_output_fail(out, FUSE2_EXT_TIMED_OUT,
                              "%s:%d: GULP's time limit stopped the optimisation (cycle %d)",
                              g->name, g->cpu_limit, g->last_cycle);
        set_signature(out, "time_limit");
        return FUSE2_OK;
    }
    /* overflowed or NaN numbers: typically a Buckingham collapse */
    const gulp_value *bad = NULL;
    if (energy.kind == VALUE_OVERFLOW || energy.kind == VALUE_NAN) bad = &energy;
    else if (energy.kind == VALUE_MISSING && (g->last_cycle_energy.kind == VALUE_OVERFLOW ||
                                              g->last_cycle_energy.kind == VALUE_NAN))
        bad = &g->last_cycle_energy;
    if (bad || coords_nonfinite) {
        const char *sig = verdict_signature(g->verdict);
        if (bad)
            fuse2_ext_output_fail(out, FUSE2_EXT_NON_FINITE, "%s:%d: non-finite energy (%s)%s%s",
                                  g->name, bad->line, value_problem(bad),
                                  g->verdict != VERDICT_NONE ? " after " : "",
                                  g->verdict != VERDICT_NONE ? verdict_text(g->verdict) : "");
        else
            fuse2_ext_output_fail(out, FUSE2_EXT_NON_FINITE,
                                  "%s: non-finite final cell or coordinates", g->name);
        set_signature(out, sig[0] ? sig : (bad ? value_problem(bad) : "overflow"));
        out->energy = NAN;
        out->has_structure = out->has_structure && !coords_nonfinite;
        return FUSE2_OK;
    }
    /* incomplete output: killed from outside, disk full, ... */
    if (!g->job_finished) {
        if (g->optimise && g->verdict == VERDICT_NONE)
            fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE,
                                  "%s: output ends during the optimisation (last cycle %d), "
                                  "no 'Job Finished'",
                                  g->name, g->last_cycle);
        else
            fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE,
                                  "%s: output ends before 'Job Finished' (killed or truncated)",
                                  g->name);
        set_signature(out, "truncated");
        return FUSE2_OK;
    }
    if (g->optimise && g->verdict == VERDICT_NONE) {
        fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE,
                              "%s: optimisation without a verdict ('Optimisation achieved' or a "
                              "failure message)",
                              g->name);
        set_signature(out, "truncated");
        return FUSE2_OK;
    }
    if (energy.kind != VALUE_FINITE) {
        fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE, "%s: no %s", g->name,
                              g->optimise ? "'Final energy = ... eV' line"
                                          : "'Total lattice energy = ... eV' line");
        set_signature(out, "no_energy");
        return FUSE2_OK;
    }
    if (why[0] || !out->has_structure) {
        fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE, "%s", why[0] ? why : "no structure");
        set_signature(out, "no_structure");
        out->has_structure = 0;
        return FUSE2_OK;
    }
    if (natoms_expected > 0 && out->structure.natoms != natoms_expected) {
        fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE, "%s: %d atoms in the output, expected %d",
                              g->name, out->structure.natoms, natoms_expected);
        set_signature(out, "natoms");
        out->has_structure = 0;
        return FUSE2_OK;
    }
    if (g->verdict != VERDICT_NONE && g->verdict != VERDICT_ACHIEVED &&
        g->verdict != VERDICT_NO_VARIABLES) {
        if (g->final_gnorm.kind == VALUE_FINITE)
            fuse2_ext_output_fail(out, FUSE2_EXT_NOT_CONVERGED, "%s:%d: GULP: %s (final gnorm %g)",
                                  g->name, g->verdict_line, verdict_text(g->verdict),
                                  g->final_gnorm.v);
        else
            fuse2_ext_output_fail(out, FUSE2_EXT_NOT_CONVERGED, "%s:%d: GULP: %s", g->name,
                                  g->verdict_line, verdict_text(g->verdict));
        set_signature(out, verdict_signature(g->verdict));
        return FUSE2_OK;
    }
    out->outcome = FUSE2_EXT_CONVERGED;
    out->reason[0] = '\0';
    out->signature[0] = '\0';
    return FUSE2_OK;
}

fuse2_status fuse2_gulp_output_parse(const char *text, const char *name, const char *dump_path,
                                     int natoms_expected, fuse2_ext_output *out)
{
    if (!text || !out) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_gulp_output_parse: NULL argument");
    fuse2_ext_output_reset(out);
    got_scan g;
    memset(&g, 0, sizeof g);
    g.name = name ? name : "gulp output";
    g.irreducible = g.total = -1;
    g.last_cycle = -1;
    text_line *lines = NULL;
    int nlines = 0;
    fuse2_status status = FUSE2_OK;
    FUSE2_CALL_GOTO(status, text_split_lines(text, &lines, &nlines), done);
    if (!scan(&g, lines, nlines))
        FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_NOMEM, "%s: cannot allocate the atom table",
                         g.name);
    FUSE2_CALL_GOTO(status, decide(&g, dump_path, natoms_expected, out), done);
done:
    if (status != FUSE2_OK) fuse2_ext_output_reset(out);
    table_free(&g.initial_atoms);
    table_free(&g.final_atoms);
    free(lines);
    return status;
}

fuse2_status fuse2_gulp_output_parse_file(const char *got_path, const char *dump_path,
                                          int natoms_expected, fuse2_ext_output *out)
{
    if (!got_path || !out)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_gulp_output_parse_file: NULL argument");
    char *text = NULL;
    fuse2_status read = fuse2_text_file_read(got_path, &text);
    if (read == FUSE2_ERR_NOMEM) FUSE2_CALL(read);
    if (read != FUSE2_OK) {
        /* a run that left no readable output is an outcome of that run */
        fuse2_ext_output_reset(out);
        fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE, "%s", fuse2_error_message());
        snprintf(out->signature, sizeof out->signature, "no_output");
        fuse2_error_clear();
        return FUSE2_OK;
    }
    fuse2_status status = fuse2_gulp_output_parse(text, got_path, dump_path, natoms_expected, out);
    free(text);
    FUSE2_CALL(status);
    return FUSE2_OK;
}
