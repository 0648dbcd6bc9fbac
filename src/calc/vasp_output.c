/* VASP output parsers (OUTCAR, OSZICAR, vasprun.xml, CONTCAR) and the
 * classification of a run directory (fuse2/vasp.h). The pitfalls they handle
 * were seen in ../shared/testdata/vasp/nboc-relax (docs/calculators.md §7). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/elements.h"
#include "fuse2/structure_io.h"
#include "fuse2/vasp.h"
#include "io/text.h"

enum { MAX_TOKENS = 64 };

/* ---------------------------------------------------------------------- */
/* small text helpers                                                      */
/* ---------------------------------------------------------------------- */

/* First occurrence of needle in [p, p + len), NULL if none. */
static const char *find_in(const char *p, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0 || n > len) return NULL;
    for (size_t i = 0; i + n <= len; i++)
        if (p[i] == needle[0] && memcmp(p + i, needle, n) == 0) return p + i;
    return NULL;
}

static const char *line_find(text_line l, const char *needle)
{
    return find_in(l.p, (size_t)l.len, needle);
}

/* A VASP number token: 1 finite, 2 non-finite (NaN, Inf, or Fortran's
 * overflow "****"), 0 no number. Fortran syntax ("-.25E+03", "1.0D-3"). */
static int vasp_number(text_token t, double *v)
{
    if (t.len > 0) {
        int stars = 1;
        for (int i = 0; i < t.len; i++)
            if (t.p[i] != '*') stars = 0;
        if (stars) {
            *v = NAN;
            return 2;
        }
    }
    switch (text_parse_double(t, TEXT_NUMBER_FORTRAN, v)) {
    case TEXT_FINITE_NUMBER: return 1;
    case TEXT_NONFINITE_NUMBER: return 2;
    default: return 0;
    }
}

/* The number in the first token after `after` (a pointer into the line). */
static int number_after(text_line l, const char *after, double *v)
{
    text_line rest = {after, (int)(l.p + l.len - after), l.number};
    text_token tok[2];
    if (text_tokenize(rest, NULL, tok, 2) < 1) return 0;
    return vasp_number(tok[0], v);
}


/* ---------------------------------------------------------------------- */
/* fatal error messages                                                    */
/* ---------------------------------------------------------------------- */

typedef struct error_pattern {
    const char *text;      /* substring of the line, as VASP prints it */
    const char *signature; /* stable short name */
    int warning;           /* VASP may carry on after it */
    fuse2_vasp_fix_class fix;
} error_pattern;

/* custodian's VaspErrorHandler list (materialsproject/custodian,
 * src/custodian/vasp/handlers.py) plus crash messages of the runtime. The
 * first pattern a line matches wins, so specific ones come first. */
static const error_pattern ERRORS[] = {
    {"ZBRENT: fatal", "ZBRENT", 0, FUSE2_VASP_FIX_IONIC},
    {"ZBRENT: can't locate minimum", "ZBRENT_MINIMUM", 1, FUSE2_VASP_FIX_IONIC},
    {"BRMIX: very serious problems", "BRMIX", 1, FUSE2_VASP_FIX_ELECTRONIC},
    {"Error EDDDAV", "EDDDAV", 0, FUSE2_VASP_FIX_ELECTRONIC},
    {"EDDDAV: Call to ZHEGV failed", "EDDDAV", 0, FUSE2_VASP_FIX_ELECTRONIC},
    {"ZHEGV failed", "ZHEGV", 1, FUSE2_VASP_FIX_ELECTRONIC},
    {"Sub-Space-Matrix is not hermitian", "HERMITIAN", 1, FUSE2_VASP_FIX_ELECTRONIC},
    {"TOO FEW BAND", "NBANDS", 0, FUSE2_VASP_FIX_BANDS},
    {"triple product of the basis vectors", "TRIPLE_PRODUCT", 0, FUSE2_VASP_FIX_LATTICE},
    {"One of the lattice vectors is very long", "LATTICE_TOO_LONG", 0, FUSE2_VASP_FIX_LATTICE},
    {"non-integer element in rotation matrix", "ROTATION_MATRIX", 0, FUSE2_VASP_FIX_SYMMETRY},
    {"inverse of rotation matrix was not found", "INVERSE_ROTATION", 0, FUSE2_VASP_FIX_SYMMETRY},
    {"error in subroutine PRICEL", "PRICEL", 0, FUSE2_VASP_FIX_SYMMETRY},
    {"POSMAP internal error", "POSMAP", 0, FUSE2_VASP_FIX_SYMMETRY},
    {"POSMAP: internal error", "POSMAP", 0, FUSE2_VASP_FIX_SYMMETRY},
    {"error in subroutine IBZKPT", "IBZKPT", 0, FUSE2_VASP_FIX_SYMMETRY},
    {"RHOSYG internal error", "RHOSYG", 0, FUSE2_VASP_FIX_SYMMETRY},
    {"RHOSYG: internal error", "RHOSYG", 0, FUSE2_VASP_FIX_SYMMETRY},
    {"SGRCON", "SGRCON", 0, FUSE2_VASP_FIX_SYMMETRY},
    {"BRIONS problems: POTIM should be increased", "BRIONS", 1, FUSE2_VASP_FIX_IONIC},
    {"Routine ZPOTRF failed", "ZPOTRF", 0, FUSE2_VASP_FIX_ELECTRONIC},
    {"ZPOTRF", "ZPOTRF", 0, FUSE2_VASP_FIX_ELECTRONIC},
    {"EDWAV: internal error", "EDWAV", 0, FUSE2_VASP_FIX_ELECTRONIC},
    {"num prob", "NUM_PROB", 1, FUSE2_VASP_FIX_ELECTRONIC},
    {"Tetrahedron method fails", "TETRAHEDRON", 0, FUSE2_VASP_FIX_NONE},
    {"REAL_OPTLAY: internal error", "REAL_OPTLAY", 0, FUSE2_VASP_FIX_NONE},
    {"REAL_OPT: internal ERROR", "REAL_OPTLAY", 0, FUSE2_VASP_FIX_NONE},
    {"PSMAXN for non-local potential too small", "PSMAXN", 0, FUSE2_VASP_FIX_NONE},
    {"exchange-correlation table is too small", "FEXCF", 0, FUSE2_VASP_FIX_NONE},
    {"ERROR DENTET", "DENTET", 0, FUSE2_VASP_FIX_NONE},
    {"Routine ZGETRF failed", "ZGETRF", 0, FUSE2_VASP_FIX_NONE},
    {"internal error in subroutine", "INTERNAL_ERROR", 0, FUSE2_VASP_FIX_NONE},
    {"VERY BAD NEWS", "INTERNAL_ERROR", 0, FUSE2_VASP_FIX_NONE},
    {"Segmentation fault", "SEGFAULT", 0, FUSE2_VASP_FIX_NONE},
    {"SIGSEGV", "SEGFAULT", 0, FUSE2_VASP_FIX_NONE},
    {"forrtl: severe", "FORTRAN_RUNTIME", 0, FUSE2_VASP_FIX_NONE},
};
enum { NERRORS = (int)(sizeof ERRORS / sizeof ERRORS[0]) };

static const error_pattern *match_error(text_line l)
{
    for (int k = 0; k < NERRORS; k++)
        if (line_find(l, ERRORS[k].text)) return &ERRORS[k];
    return NULL;
}

static const error_pattern *pattern_of(const char *signature)
{
    if (!signature || !signature[0]) return NULL;
    for (int k = 0; k < NERRORS; k++)
        if (strcmp(ERRORS[k].signature, signature) == 0) return &ERRORS[k];
    return NULL;
}

const char *fuse2_vasp_find_error(const char *text, int *line)
{
    if (line) *line = 0;
    if (!text) return NULL;
    const char *p = text;
    int number = 1;
    while (*p) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        text_line l = {p, (int)len, number};
        const error_pattern *e = match_error(l);
        if (e) {
            if (line) *line = number;
            return e->signature;
        }
        if (!end) break;
        p = end + 1;
        number++;
    }
    return NULL;
}

fuse2_vasp_fix_class fuse2_vasp_signature_class(const char *signature)
{
    const error_pattern *e = pattern_of(signature);
    return e ? e->fix : FUSE2_VASP_FIX_NONE;
}

const char *fuse2_vasp_fix_class_name(fuse2_vasp_fix_class c)
{
    switch (c) {
    case FUSE2_VASP_FIX_NONE: return "none";
    case FUSE2_VASP_FIX_SYMMETRY: return "symmetry";
    case FUSE2_VASP_FIX_ELECTRONIC: return "electronic";
    case FUSE2_VASP_FIX_IONIC: return "ionic";
    case FUSE2_VASP_FIX_BANDS: return "bands";
    case FUSE2_VASP_FIX_LATTICE: return "lattice";
    }
    return "none";
}

int fuse2_vasp_signature_is_warning(const char *signature)
{
    /* every entry of one signature has the same flag, so the first decides */
    const error_pattern *e = pattern_of(signature);
    return e ? e->warning : 0;
}

/* ---------------------------------------------------------------------- */
/* OUTCAR                                                                  */
/* ---------------------------------------------------------------------- */

void fuse2_vasp_outcar_init(fuse2_vasp_outcar *o)
{
    memset(o, 0, sizeof *o);
    o->nions = -1;
    o->nsw = -1;
    o->ibrion = -99;
    o->nelm = -1;
    o->free_energy = NAN;
    o->energy_sigma0 = NAN;
}

void fuse2_vasp_outcar_free(fuse2_vasp_outcar *o)
{
    if (!o) return;
    free(o->positions);
    free(o->forces);
    fuse2_vasp_outcar_init(o);
}

/* "KEY = value" parameter lines ("NSW    =     60", "NELM   =    100;"):
 * the integer after the first '=' if the line's first word is key. */
static int int_parameter(text_line l, const char *key, int *value)
{
    text_token tok[3];
    int n = text_tokenize(l, NULL, tok, 3);
    if (n < 2 || tok[0].len != (int)strlen(key) || memcmp(tok[0].p, key, (size_t)tok[0].len) != 0)
        return 0;
    const char *eq = line_find(l, "=");
    if (!eq) return 0;
    char *end;
    char buf[32];
    int len = (int)(l.p + l.len - (eq + 1));
    if (len > (int)sizeof buf - 1) len = (int)sizeof buf - 1;
    memcpy(buf, eq + 1, (size_t)len);
    buf[len] = '\0';
    long v = strtol(buf, &end, 10);
    if (end == buf) return 0;
    *value = (int)v;
    return 1;
}

static int is_dashed(text_line l)
{
    text_token tok[1];
    return text_tokenize(l, NULL, tok, 1) == 1 && tok[0].len >= 3 && tok[0].p[0] == '-' &&
           tok[0].p[1] == '-';
}

fuse2_status fuse2_vasp_outcar_parse_string(const char *text, const char *name,
                                            fuse2_vasp_outcar *o)
{
    if (!text || !o) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_vasp_outcar_parse_string: NULL argument");
    if (!name) name = "OUTCAR";
    fuse2_vasp_outcar_init(o);
    text_line *lines = NULL;
    int nlines = 0;
    FUSE2_CALL(text_split_lines(text, &lines, &nlines));
    fuse2_status status = FUSE2_OK;
    text_token tok[MAX_TOKENS];
    double lattice[3][3];
    int have_lattice = 0;
    double (*pos)[3] = NULL, (*frc)[3] = NULL; /* the block being read */
    int nspecies_titel = 0;

    for (int i = 0; i < nlines; i++) {
        text_line l = lines[i];
        if (l.len == 0) continue;
        if (i == 0) {
            int n = text_tokenize(l, NULL, tok, MAX_TOKENS);
            for (int k = 0; k < n; k++)
                if (tok[k].len > 5 && memcmp(tok[k].p, "vasp.", 5) == 0) {
                    snprintf(o->version, sizeof o->version, "%.*s", tok[k].len, tok[k].p);
                    break;
                }
        }
        if (!o->signature[0]) {
            const error_pattern *e = match_error(l);
            if (e) {
                snprintf(o->signature, sizeof o->signature, "%s", e->signature);
                o->error_line = l.number;
            }
        }
        const char *hit;
        if ((hit = line_find(l, "free  energy   TOTEN  ="))) {
            /* the ionic-step summary (two spaces after "free"); the per-SCF
             * "free energy    TOTEN" excludes e.g. IVDW dispersion */
            o->ionic_steps++;
            double f = NAN, e0 = NAN;
            int kf = number_after(l, hit + strlen("free  energy   TOTEN  ="), &f);
            int ke = 0;
            for (int j = i + 1; j < nlines && j <= i + 4; j++) {
                const char *s = line_find(lines[j], "energy(sigma->0) =");
                if (s) {
                    ke = number_after(lines[j], s + strlen("energy(sigma->0) ="), &e0);
                    break;
                }
            }
            o->free_energy = kf == 1 ? f : NAN;
            o->energy_sigma0 = ke == 1 ? e0 : NAN;
            o->energy_nonfinite = kf == 2 || ke == 2;
            continue;
        }
        if ((hit = line_find(l, "NIONS ="))) {
            double v;
            if (number_after(l, hit + strlen("NIONS ="), &v) == 1 && v >= 1 && v < 1e8)
                o->nions = (int)v;
            continue;
        }
        if (int_parameter(l, "NSW", &o->nsw) || int_parameter(l, "IBRION", &o->ibrion) ||
            int_parameter(l, "NELM", &o->nelm))
            continue;
        if ((hit = line_find(l, "TITEL  ="))) {
            int n = text_tokenize(l, NULL, tok, MAX_TOKENS);
            /* "TITEL  = PAW_PBE Nb_sv 25May2007": the element label is the
             * second word after '=' */
            if (n >= 4 && nspecies_titel < FUSE2_VASP_MAX_SPECIES) {
                int z = text_element_from_label(tok[3], TEXT_LABEL_ANY_SUFFIX);
                o->species[nspecies_titel++] = z;
            }
            continue;
        }
        if ((hit = line_find(l, "ions per type ="))) {
            text_line rest = {hit + strlen("ions per type ="),
                              (int)(l.p + l.len - hit) - (int)strlen("ions per type ="), l.number};
            int n = text_tokenize(rest, NULL, tok, MAX_TOKENS);
            for (int k = 0; k < n && k < FUSE2_VASP_MAX_SPECIES; k++) {
                long c;
                o->counts[k] = text_parse_integer(tok[k], &c) && c > 0 && c < 100000000 ? (int)c : 0;
            }
            o->nspecies = n < FUSE2_VASP_MAX_SPECIES ? n : FUSE2_VASP_MAX_SPECIES;
            continue;
        }
        if (line_find(l, "direct lattice vectors")) {
            /* three rows: direct vector (3 numbers), reciprocal vector */
            if (i + 3 >= nlines) continue;
            int ok = 1;
            for (int r = 0; r < 3 && ok; r++) {
                int n = text_tokenize(lines[i + 1 + r], NULL, tok, MAX_TOKENS);
                for (int c = 0; c < 3 && ok; c++)
                    ok = n >= 3 && vasp_number(tok[c], &lattice[r][c]) == 1;
            }
            have_lattice = ok;
            i += 3;
            continue;
        }
        if (line_find(l, "POSITION") && line_find(l, "TOTAL-FORCE")) {
            /* header, dashes, one row per ion (x y z fx fy fz), dashes */
            int rows = 0, nonfinite = 0, cap = o->nions > 0 ? o->nions : 0;
            int j = i + 2;
            int complete = 0;
            if (cap == 0) { /* NIONS unknown: count the rows up to the dashes */
                for (int k = j; k < nlines && !is_dashed(lines[k]); k++) cap++;
            }
            if (cap > 0) {
                free(pos);
                free(frc);
                pos = malloc(sizeof *pos * (size_t)cap);
                frc = malloc(sizeof *frc * (size_t)cap);
                if (!pos || !frc)
                    FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_NOMEM, "%s: out of memory", name);
                for (; j < nlines && rows < cap; j++, rows++) {
                    if (is_dashed(lines[j])) break;
                    int n = text_tokenize(lines[j], NULL, tok, MAX_TOKENS);
                    if (n != 6) break; /* cut or garbled: the block is incomplete */
                    int bad = 0;
                    for (int c = 0; c < 6; c++) {
                        double v;
                        int k = vasp_number(tok[c], &v);
                        if (k == 0) bad = 1;
                        if (k == 2) nonfinite = 1;
                        if (c < 3) pos[rows][c] = v; else frc[rows][c - 3] = v;
                    }
                    if (bad) break;
                }
                complete = rows == cap && j < nlines && is_dashed(lines[j]);
            }
            if (complete) {
                if (nonfinite) {
                    o->has_forces = 0;
                    o->forces_nonfinite = 1;
                } else {
                    free(o->positions);
                    free(o->forces);
                    o->positions = pos;
                    o->forces = frc;
                    pos = NULL;
                    frc = NULL;
                    o->has_forces = 1;
                    o->forces_nonfinite = 0;
                    if (o->nions < 0) o->nions = cap;
                    /* the lattice printed before these positions */
                    o->has_lattice = have_lattice;
                    if (have_lattice) memcpy(o->lattice, lattice, sizeof lattice);
                }
            }
            i = j - 1 > i ? j - 1 : i;
            continue;
        }
        if ((hit = line_find(l, "in kB"))) {
            text_line rest = {hit + 5, (int)(l.p + l.len - hit) - 5, l.number};
            int n = text_tokenize(rest, NULL, tok, MAX_TOKENS);
            double v[6];
            int ok = n == 6, nonfinite = 0;
            for (int c = 0; c < 6 && ok; c++) {
                int k = vasp_number(tok[c], &v[c]);
                if (k == 0) ok = 0;
                if (k == 2) nonfinite = 1;
            }
            if (!ok) {
                /* Fortran glues over-wide numbers together: an overflow too */
                nonfinite = n >= 1;
                if (!nonfinite) continue;
            }
            if (nonfinite) {
                o->has_stress = 0;
                o->stress_nonfinite = 1;
                continue;
            }
            memcpy(o->stress_kbar, v, sizeof v);
            /* VASP prints XX YY ZZ XY YZ ZX as a pressure (positive when the
             * cell is compressed); the project's sigma = (1/V) dE/deps is its
             * negative, in eV/A^3 */
            const double f = -1.0 / FUSE2_VASP_EV_A3_IN_KBAR;
            o->stress[0][0] = f * v[0];
            o->stress[1][1] = f * v[1];
            o->stress[2][2] = f * v[2];
            o->stress[0][1] = o->stress[1][0] = f * v[3];
            o->stress[1][2] = o->stress[2][1] = f * v[4];
            o->stress[0][2] = o->stress[2][0] = f * v[5];
            o->has_stress = 1;
            o->stress_nonfinite = 0;
            continue;
        }
        if (line_find(l, "reached required accuracy")) {
            o->reached_accuracy = 1;
            continue;
        }
        if (line_find(l, "General timing and accounting")) {
            o->normal_end = 1;
            continue;
        }
    }
    /* species: TITEL order = POSCAR order; counts from "ions per type" */
    if (nspecies_titel != o->nspecies) o->nspecies = 0;
    for (int k = 0; k < o->nspecies; k++)
        if (!o->species[k] || !o->counts[k]) o->nspecies = 0;
done:
    free(pos);
    free(frc);
    free(lines);
    if (status != FUSE2_OK) fuse2_vasp_outcar_free(o);
    return status;
}

fuse2_status fuse2_vasp_outcar_read(const char *path, fuse2_vasp_outcar *o)
{
    if (!path || !o) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_vasp_outcar_read: NULL argument");
    char *text = NULL;
    FUSE2_CALL(fuse2_ext_read_output(path, &text));
    fuse2_status status = fuse2_vasp_outcar_parse_string(text, path, o);
    free(text);
    if (status != FUSE2_OK) fuse2_error_push_frame(__FILE__, __LINE__, __func__);
    return status;
}

fuse2_status fuse2_vasp_outcar_structure(const fuse2_vasp_outcar *o, fuse2_structure *s)
{
    if (!o || !s) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_vasp_outcar_structure: NULL argument");
    if (!o->has_forces || !o->has_lattice)
        return FUSE2_RAISE(FUSE2_ERR_PARSE, "OUTCAR: no complete POSITION block with its lattice");
    int total = 0;
    for (int k = 0; k < o->nspecies; k++) total += o->counts[k];
    if (o->nspecies == 0 || total != o->nions)
        return FUSE2_RAISE(FUSE2_ERR_PARSE,
                           "OUTCAR: the species (TITEL lines, 'ions per type') do not give the %d ions",
                           o->nions);
    double inverse[3][3];
    FUSE2_CALL(fuse2_lattice_inverse(o->lattice, inverse));
    fuse2_structure tmp;
    FUSE2_CALL(fuse2_structure_init(&tmp, o->nions));
    fuse2_status status = FUSE2_OK;
    memcpy(tmp.lattice, o->lattice, sizeof tmp.lattice);
    int atom = 0;
    for (int k = 0; k < o->nspecies; k++)
        for (int c = 0; c < o->counts[k]; c++, atom++) {
            double frac[3];
            const double *x = o->positions[atom];
            for (int d = 0; d < 3; d++)
                frac[d] = x[0] * inverse[0][d] + x[1] * inverse[1][d] + x[2] * inverse[2][d];
            FUSE2_CALL_GOTO(status, fuse2_structure_add_atom(&tmp, o->species[k], frac), fail);
        }
    FUSE2_CALL_GOTO(status, text_finish_structure(&tmp, "OUTCAR"), fail);
    fuse2_structure_free(s);
    *s = tmp;
    return FUSE2_OK;
fail:
    fuse2_structure_free(&tmp);
    return status;
}

/* ---------------------------------------------------------------------- */
/* OSZICAR                                                                 */
/* ---------------------------------------------------------------------- */

/* "DAV:", "RMM:", "CG :", "SDA:", ...: an SCF line (3 characters, ':'). */
static int is_scf_line(text_line l)
{
    if (l.len < 5 || l.p[3] != ':') return 0;
    for (int k = 0; k < 3; k++)
        if (!isupper((unsigned char)l.p[k]) && l.p[k] != ' ') return 0;
    return isupper((unsigned char)l.p[0]);
}

fuse2_status fuse2_vasp_oszicar_parse_string(const char *text, const char *name,
                                             fuse2_vasp_oszicar *o)
{
    if (!text || !o) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_vasp_oszicar_parse_string: NULL argument");
    (void)name;
    memset(o, 0, sizeof *o);
    o->free_energy = NAN;
    o->energy_sigma0 = NAN;
    text_line *lines = NULL;
    int nlines = 0;
    FUSE2_CALL(text_split_lines(text, &lines, &nlines));
    int running = 0;
    for (int i = 0; i < nlines; i++) {
        text_line l = lines[i];
        if (is_scf_line(l)) {
            running++;
            o->scf_steps_total++;
            continue;
        }
        const char *f = line_find(l, "F=");
        if (!f) continue;
        /* "  49 F= -.25388059E+03 E0= -.25379851E+03  d E =-.724273E-03" */
        o->ionic_steps++;
        double fv = NAN, ev = NAN;
        int kf = number_after(l, f + 2, &fv);
        const char *e = line_find(l, "E0=");
        int ke = e ? number_after(l, e + 3, &ev) : 0;
        o->free_energy = kf == 1 ? fv : NAN;
        o->energy_sigma0 = ke == 1 ? ev : NAN;
        o->energy_nonfinite = kf == 2 || ke == 2;
        o->scf_steps_last = running;
        running = 0;
    }
    if (running > 0) o->scf_steps_last = running; /* a step cut short */
    free(lines);
    return FUSE2_OK;
}

fuse2_status fuse2_vasp_oszicar_read(const char *path, fuse2_vasp_oszicar *o)
{
    if (!path || !o) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_vasp_oszicar_read: NULL argument");
    char *text = NULL;
    FUSE2_CALL(fuse2_ext_read_output(path, &text));
    fuse2_status status = fuse2_vasp_oszicar_parse_string(text, path, o);
    free(text);
    if (status != FUSE2_OK) fuse2_error_push_frame(__FILE__, __LINE__, __func__);
    return status;
}

/* ---------------------------------------------------------------------- */
/* vasprun.xml                                                             */
/* ---------------------------------------------------------------------- */

/* Last occurrence of needle in [p, end). */
static const char *find_last_in(const char *p, const char *end, const char *needle)
{
    const char *last = NULL, *q;
    while (p < end && (q = find_in(p, (size_t)(end - p), needle))) {
        last = q;
        p = q + 1;
    }
    return last;
}

/* <i name="key"> value </i> inside [p, end): 1 finite, 2 non-finite, 0 none. */
static int xml_value(const char *p, const char *end, const char *key, double *v)
{
    char needle[64];
    snprintf(needle, sizeof needle, "name=\"%s\"", key);
    const char *q = find_in(p, (size_t)(end - p), needle);
    if (!q) return 0;
    const char *gt = find_in(q, (size_t)(end - q), ">");
    if (!gt) return 0;
    const char *lt = find_in(gt, (size_t)(end - gt), "<");
    if (!lt) return 0;
    text_line value = {gt + 1, (int)(lt - gt - 1), 0};
    text_token tok[2];
    if (text_tokenize(value, NULL, tok, 2) != 1) return 0;
    return vasp_number(tok[0], v);
}

fuse2_status fuse2_vasp_vasprun_parse_string(const char *text, const char *name,
                                             fuse2_vasp_vasprun *o)
{
    if (!text || !o) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_vasp_vasprun_parse_string: NULL argument");
    (void)name;
    memset(o, 0, sizeof *o);
    o->free_energy = NAN;
    o->energy_sigma0 = NAN;
    o->truncated = strstr(text, "</modeling>") == NULL;
    const char *p = text;
    const char *last_start = NULL, *last_end = NULL;
    for (;;) {
        const char *start = strstr(p, "<calculation>");
        if (!start) break;
        const char *end = strstr(start, "</calculation>");
        if (!end) break; /* cut inside it: only complete blocks count */
        o->ionic_steps++;
        last_start = start;
        last_end = end;
        p = end + 1;
    }
    if (!last_start) return FUSE2_OK;
    /* the calculation's own <energy> block follows its last <scstep> */
    const char *after = find_last_in(last_start, last_end, "</scstep>");
    if (!after) after = last_start;
    const char *e = find_in(after, (size_t)(last_end - after), "<energy>");
    const char *e_end = e ? find_in(e, (size_t)(last_end - e), "</energy>") : NULL;
    if (!e || !e_end) return FUSE2_OK;
    double fr = NAN, wo = NAN, e0 = NAN;
    int kfr = xml_value(e, e_end, "e_fr_energy", &fr);
    int kwo = xml_value(e, e_end, "e_wo_entrp", &wo);
    int ke0 = xml_value(e, e_end, "e_0_energy", &e0);
    o->energy_nonfinite = kfr == 2 || kwo == 2 || ke0 == 2;
    o->free_energy = kfr == 1 ? fr : NAN;
    if (kfr == 1 && kwo == 1 && ke0 == 1) {
        /* E(sigma->0) lies between F and E (without entropy); VASP 5.4.4
         * writes E(sigma->0) under e_wo_entrp and -TS under e_0_energy */
        double lo = fmin(fr, wo) - 1e-6, hi = fmax(fr, wo) + 1e-6;
        if (e0 >= lo && e0 <= hi) {
            o->energy_sigma0 = e0;
        } else {
            o->energy_sigma0 = wo;
            o->mislabelled = 1;
        }
    }
    return FUSE2_OK;
}

fuse2_status fuse2_vasp_vasprun_read(const char *path, fuse2_vasp_vasprun *o)
{
    if (!path || !o) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_vasp_vasprun_read: NULL argument");
    char *text = NULL;
    FUSE2_CALL(fuse2_ext_read_output(path, &text));
    fuse2_status status = fuse2_vasp_vasprun_parse_string(text, path, o);
    free(text);
    if (status != FUSE2_OK) fuse2_error_push_frame(__FILE__, __LINE__, __func__);
    return status;
}

/* ---------------------------------------------------------------------- */
/* a run directory                                                         */
/* ---------------------------------------------------------------------- */

/* The file's text, or *text = NULL when it cannot be opened (a missing file
 * is information about the run, not an error). Only running out of memory is
 * an error. */
static fuse2_status read_optional(const char *dir, const char *file, char *path, size_t size,
                                  char **text)
{
    *text = NULL;
    int n = snprintf(path, size, "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= size) return FUSE2_RAISE(FUSE2_ERR_ARG, "%s/%s: path too long", dir, file);
    fuse2_status st = fuse2_ext_read_output(path, text);
    if (st == FUSE2_ERR_NOMEM) {
        fuse2_error_push_frame(__FILE__, __LINE__, __func__);
        return st;
    }
    if (st != FUSE2_OK) {
        *text = NULL;
        fuse2_error_clear();
    }
    return FUSE2_OK;
}

fuse2_status fuse2_vasp_parse_run(const char *dir, const char *stdout_name,
                                  fuse2_ext_output *out)
{
    if (!dir || !out) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_vasp_parse_run: NULL argument");
    if (!stdout_name) stdout_name = "vasp.out";
    fuse2_ext_output_reset(out);

    char path[4096];
    char *outcar_text = NULL, *oszicar_text = NULL, *contcar_text = NULL, *vasprun_text = NULL,
         *stdout_text = NULL;
    fuse2_vasp_outcar oc;
    fuse2_vasp_outcar_init(&oc);
    fuse2_vasp_oszicar osz = {0};
    fuse2_vasp_vasprun vr = {0};
    fuse2_status status = FUSE2_OK;
    int have_oc = 0, have_osz = 0, have_vr = 0;

    FUSE2_CALL_GOTO(status, read_optional(dir, stdout_name, path, sizeof path, &stdout_text), done);
    FUSE2_CALL_GOTO(status, read_optional(dir, "OSZICAR", path, sizeof path, &oszicar_text), done);
    if (oszicar_text) {
        FUSE2_CALL_GOTO(status, fuse2_vasp_oszicar_parse_string(oszicar_text, path, &osz), done);
        have_osz = 1;
    }
    FUSE2_CALL_GOTO(status, read_optional(dir, "OUTCAR", path, sizeof path, &outcar_text), done);
    if (outcar_text) {
        FUSE2_CALL_GOTO(status, fuse2_vasp_outcar_parse_string(outcar_text, path, &oc), done);
        have_oc = 1;
    }
    /* vasprun.xml, the largest file of a run, only when it is needed: as the
     * last source of the energy, or to say whether a cut OUTCAR's run left a
     * cut vasprun.xml too */
    int oc_energy = have_oc && (isfinite(oc.energy_sigma0) || oc.energy_nonfinite);
    int osz_energy = have_osz && (isfinite(osz.energy_sigma0) || osz.energy_nonfinite);
    if ((!oc_energy && !osz_energy) || (have_oc && !oc.normal_end)) {
        FUSE2_CALL_GOTO(status, read_optional(dir, "vasprun.xml", path, sizeof path, &vasprun_text), done);
        if (vasprun_text) {
            FUSE2_CALL_GOTO(status, fuse2_vasp_vasprun_parse_string(vasprun_text, path, &vr), done);
            have_vr = 1;
        }
    }

    /* the signature: first fatal message of the OUTCAR, else of stdout */
    int stdout_line = 0;
    const char *sig = oc.signature[0] ? oc.signature : fuse2_vasp_find_error(stdout_text, &stdout_line);
    if (sig) snprintf(out->signature, sizeof out->signature, "%s", sig);

    /* energy: OUTCAR's E(sigma->0), else OSZICAR's E0, else vasprun.xml's */
    int nonfinite = 0;
    const char *energy_source = "OUTCAR";
    if (oc_energy) {
        out->energy = oc.energy_sigma0;
        nonfinite = oc.energy_nonfinite;
    } else if (osz_energy) {
        out->energy = osz.energy_sigma0;
        nonfinite = osz.energy_nonfinite;
        energy_source = "OSZICAR";
    } else if (have_vr && (isfinite(vr.energy_sigma0) || vr.energy_nonfinite)) {
        out->energy = vr.energy_sigma0;
        nonfinite = vr.energy_nonfinite;
        energy_source = "vasprun.xml";
    }
    if (nonfinite) out->energy = NAN;
    out->ionic_steps = have_oc && oc.ionic_steps > 0 ? oc.ionic_steps
                       : have_osz                   ? osz.ionic_steps
                                                    : -1;

    /* final structure: CONTCAR (the next POSCAR), else the OUTCAR's last one */
    FUSE2_CALL_GOTO(status, read_optional(dir, "CONTCAR", path, sizeof path, &contcar_text), done);
    if (contcar_text) {
        if (fuse2_poscar_read_string(contcar_text, path, &out->structure) == FUSE2_OK) {
            out->has_structure = 1;
        } else {
            fuse2_error_clear(); /* empty or cut CONTCAR of a dead job: try OUTCAR */
        }
    }
    if (!out->has_structure && have_oc) {
        if (fuse2_vasp_outcar_structure(&oc, &out->structure) == FUSE2_OK) {
            out->has_structure = 1;
        } else {
            fuse2_error_clear();
        }
    }
    int natoms_mismatch = 0;
    if (out->has_structure && have_oc && oc.nions > 0 && out->structure.natoms != oc.nions) {
        natoms_mismatch = 1;
        fuse2_structure_free(&out->structure);
        out->has_structure = 0;
    }
    if (have_oc && oc.has_forces && (!out->has_structure || out->structure.natoms == oc.nions)) {
        out->forces = malloc(sizeof *out->forces * (size_t)oc.nions);
        if (!out->forces) FUSE2_RAISE_GOTO(status, done, FUSE2_ERR_NOMEM, "out of memory");
        memcpy(out->forces, oc.forces, sizeof *out->forces * (size_t)oc.nions);
        out->has_forces = 1;
    }
    if (have_oc && oc.has_stress) {
        memcpy(out->stress, oc.stress, sizeof out->stress);
        out->has_stress = 1;
    }

    /* ---- the outcome, in the documented order ---- */
    int finished_converged = have_oc && oc.normal_end && oc.reached_accuracy;
    if (sig && !(finished_converged && fuse2_vasp_signature_is_warning(sig))) {
        if (oc.signature[0])
            fuse2_ext_output_fail(out, FUSE2_EXT_CRASHED, "VASP error %s (%s/OUTCAR line %d)", sig,
                                  dir, oc.error_line);
        else
            fuse2_ext_output_fail(out, FUSE2_EXT_CRASHED, "VASP error %s (%s/%s line %d)", sig, dir,
                                  stdout_name, stdout_line);
    } else if (!have_oc) {
        fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE, "%s/OUTCAR is missing or unreadable", dir);
    } else if (nonfinite) {
        fuse2_ext_output_fail(out, FUSE2_EXT_NON_FINITE, "non-finite final energy in %s/%s", dir,
                              energy_source);
    } else if (!isfinite(out->energy)) {
        fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE,
                              "%s/OUTCAR has no ionic-step energy ('free  energy   TOTEN'): "
                              "truncated or not a VASP OUTCAR",
                              dir);
    } else if (oc.forces_nonfinite || oc.stress_nonfinite) {
        fuse2_ext_output_fail(out, FUSE2_EXT_NON_FINITE, "non-finite final %s in %s/OUTCAR",
                              oc.forces_nonfinite ? "forces" : "stress", dir);
    } else if (natoms_mismatch) {
        fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE,
                              "the final structure has a different number of atoms than NIONS = %d "
                              "in %s/OUTCAR",
                              oc.nions, dir);
    } else if (!oc.normal_end) {
        /* truncated output is UNPARSABLE (fuse2/external.h); the driver,
         * which sees the exit status, makes it CRASHED or TIMED_OUT */
        fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE,
                              "%s/OUTCAR ends without 'General timing and accounting' after %d "
                              "ionic steps: truncated, the job died%s",
                              dir, oc.ionic_steps,
                              have_vr && vr.truncated ? " (vasprun.xml is truncated too)" : "");
    } else if (have_osz && oc.nelm > 0 && osz.scf_steps_last >= oc.nelm) {
        fuse2_ext_output_fail(out, FUSE2_EXT_NOT_CONVERGED,
                              "the SCF of the last ionic step ran %d steps = NELM: electronic "
                              "convergence not reached",
                              osz.scf_steps_last);
    } else if (oc.reached_accuracy || oc.nsw == 0 || oc.ibrion == -1) {
        out->outcome = FUSE2_EXT_CONVERGED;
        if (sig)
            snprintf(out->reason, sizeof out->reason,
                     "converged despite the warning %s in the output", sig);
    } else {
        fuse2_ext_output_fail(out, FUSE2_EXT_NOT_CONVERGED,
                              "%d ionic steps (NSW = %d) without 'reached required accuracy'",
                              oc.ionic_steps, oc.nsw);
    }
    /* a finished run is only useful with its final geometry */
    if (!out->has_structure && !fuse2_ext_outcome_failed(out->outcome))
        fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE,
                              "no final structure: %s/CONTCAR is missing or unreadable and "
                              "OUTCAR has no complete positions",
                              dir);
done:
    fuse2_vasp_outcar_free(&oc);
    free(outcar_text);
    free(oszicar_text);
    free(contcar_text);
    free(vasprun_text);
    free(stdout_text);
    return status;
}
