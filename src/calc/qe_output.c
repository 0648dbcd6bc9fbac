/* pw.x output parser and the classification of a run (fuse2/qe.h). The
 * formats were read off Debian's pw.x 6.7MaX outputs (scf, relax, vc-relax,
 * nstep exhausted, SCF not converged, a missing pseudopotential); the exit
 * statuses are those of PW/src/run_pwscf.f90 (0 done, 1 error, 2 SCF not
 * converged, 3 ions not converged, 255 max_seconds or stop file). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/elements.h"
#include "fuse2/qe.h"
#include "io/text.h"

enum { MAX_TOKENS = 16 };

typedef enum pos_units { UNITS_CRYSTAL = 0, UNITS_ANGSTROM, UNITS_BOHR, UNITS_ALAT } pos_units;

/* Everything collected in one pass; the structure is assembled afterwards. */
typedef struct scan {
    double alat;               /* bohr, 0 unknown */
    int has_header_cell;       /* "crystal axes" (alat units), the latest */
    double header_cell[3][3];
    int header_natoms;         /* "positions (alat units)" block, the latest */
    double (*header_tau)[3];   /* Cartesian, alat units */
    char (*header_label)[8];
    int has_cell;              /* the last CELL_PARAMETERS block, Å */
    double cell[3][3];
    int cell_nonfinite;
    int pos_natoms;            /* the last ATOMIC_POSITIONS block */
    pos_units pos_units;
    double (*pos)[3];
    char (*pos_label)[8];
    int pos_nonfinite;
    int force_rows;            /* the last "Forces acting on atoms" block */
    double (*forces)[3];       /* Ry/bohr */
    int forces_nonfinite;
    int has_stress;            /* the last "total   stress" block, Ry/bohr^3, QE sign */
    double stress[3][3];
    int stress_nonfinite;
    int energy_nonfinite;
    char scf_message[120];
    int capacity;              /* rows of the arrays above */
} scan;

static void scan_free(scan *s)
{
    free(s->header_tau);
    free(s->header_label);
    free(s->pos);
    free(s->pos_label);
    free(s->forces);
}

static fuse2_status scan_reserve(scan *s, int rows)
{
    if (rows <= s->capacity) return FUSE2_OK;
    int cap = s->capacity ? s->capacity : 16;
    while (cap < rows) cap *= 2;
    void *a = realloc(s->header_tau, sizeof *s->header_tau * (size_t)cap);
    if (a) s->header_tau = a;
    void *b = realloc(s->header_label, sizeof *s->header_label * (size_t)cap);
    if (b) s->header_label = b;
    void *c = realloc(s->pos, sizeof *s->pos * (size_t)cap);
    if (c) s->pos = c;
    void *d = realloc(s->pos_label, sizeof *s->pos_label * (size_t)cap);
    if (d) s->pos_label = d;
    void *e = realloc(s->forces, sizeof *s->forces * (size_t)cap);
    if (e) s->forces = e;
    if (!a || !b || !c || !d || !e) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "pw.x output: out of memory");
    s->capacity = cap;
    return FUSE2_OK;
}

/* ---- line helpers ---- */

static const char *line_find(text_line l, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0 || n > (size_t)l.len) return NULL;
    for (size_t i = 0; i + n <= (size_t)l.len; i++)
        if (l.p[i] == needle[0] && memcmp(l.p + i, needle, n) == 0) return l.p + i;
    return NULL;
}

/* The line from `from` on (a pointer into l). */
static text_line line_rest(text_line l, const char *from)
{
    text_line r = {from, (int)(l.p + l.len - from), l.number};
    return r;
}

static int line_starts(text_line l, const char *prefix)
{
    size_t n = strlen(prefix);
    return (size_t)l.len >= n && memcmp(l.p, prefix, n) == 0;
}

static int line_blank(text_line l)
{
    for (int i = 0; i < l.len; i++)
        if (l.p[i] != ' ' && l.p[i] != '\t' && l.p[i] != '\r') return 0;
    return 1;
}

static int line_has_stars(text_line l) { return memchr(l.p, '*', (size_t)l.len) != NULL; }

/* Reads n numbers from the tokens of l starting at token `first`. Returns 1
 * when all are numbers, 0 otherwise; *nonfinite is set for NaN, Inf or a
 * Fortran overflow ("****", which may also swallow the blanks between
 * fields, so any '*' in the line counts). */
static int line_numbers(text_line l, int first, int n, double *v, int *nonfinite)
{
    text_token tok[MAX_TOKENS];
    int nt = text_tokenize(l, NULL, tok, MAX_TOKENS);
    if (line_has_stars(l)) {
        *nonfinite = 1;
        for (int k = 0; k < n; k++) v[k] = NAN;
        return 1;
    }
    if (nt < first + n) return 0;
    for (int k = 0; k < n; k++) {
        switch (text_parse_double(tok[first + k], TEXT_NUMBER_FORTRAN, &v[k])) {
        case TEXT_FINITE_NUMBER: break;
        case TEXT_NONFINITE_NUMBER: *nonfinite = 1; break;
        default: return 0;
        }
    }
    return 1;
}

/* The number right after `key` in l: 1 finite, 2 non-finite, 0 none. */
static int number_after(text_line l, const char *key, double *v)
{
    const char *at = line_find(l, key);
    if (!at) return 0;
    text_line rest = line_rest(l, at + strlen(key));
    text_token tok[2];
    if (text_tokenize(rest, NULL, tok, 2) < 1) return 0;
    int stars = tok[0].len > 0;
    for (int i = 0; i < tok[0].len; i++)
        if (tok[0].p[i] != '*') stars = 0;
    if (stars) {
        *v = NAN;
        return 2;
    }
    switch (text_parse_double(tok[0], TEXT_NUMBER_FORTRAN, v)) {
    case TEXT_FINITE_NUMBER: return 1;
    case TEXT_NONFINITE_NUMBER: return 2;
    default: return 0;
    }
}

/* A number that may be glued to punctuation ("181):", "10.2000)"): strtod
 * on the text after key, up to the end of the line. */
static int leading_number_after(text_line l, const char *key, double *v)
{
    const char *at = line_find(l, key);
    if (!at) return 0;
    const char *p = at + strlen(key), *end = l.p + l.len;
    char buf[64];
    size_t n = (size_t)(end - p) < sizeof buf - 1 ? (size_t)(end - p) : sizeof buf - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *stop;
    errno = 0;
    *v = strtod(buf, &stop);
    return stop != buf && !errno && isfinite(*v);
}

static int int_after(text_line l, const char *key, int *v)
{
    double d;
    if (number_after(l, key, &d) != 1 || d != floor(d) || fabs(d) > 1e9) return 0;
    *v = (int)d;
    return 1;
}

/* Copies [p, p + len) trimmed into buf. */
static void copy_trimmed(const char *p, int len, char *buf, size_t size)
{
    while (len > 0 && (*p == ' ' || *p == '\t')) p++, len--;
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r')) len--;
    if ((size_t)len >= size) len = (int)size - 1;
    memcpy(buf, p, (size_t)len);
    buf[len] = '\0';
}

/* "(alat= 7.25577300)" and friends: the unit word after the block name. */
static pos_units units_of(text_line l, int *known)
{
    *known = 1;
    if (line_find(l, "crystal")) return UNITS_CRYSTAL;
    if (line_find(l, "angstrom")) return UNITS_ANGSTROM;
    if (line_find(l, "bohr")) return UNITS_BOHR;
    if (line_find(l, "alat")) return UNITS_ALAT;
    *known = 0;
    return UNITS_ALAT; /* pw.x's default for both cards */
}

/* ---- the scan ---- */

/* "Error in routine cdiaghg (181):" then the message up to the closing
 * "%%%%" line. */
static void read_error(const text_line *lines, int n, int i, fuse2_qe_summary *sum)
{
    const char *at = line_find(lines[i], "Error in routine");
    text_line rest = line_rest(lines[i], at + strlen("Error in routine"));
    text_token tok[2];
    int nt = text_tokenize(rest, NULL, tok, 2);
    if (nt >= 1) {
        int len = tok[0].len < (int)sizeof sum->error_routine ? tok[0].len : (int)sizeof sum->error_routine - 1;
        memcpy(sum->error_routine, tok[0].p, (size_t)len);
        sum->error_routine[len] = '\0';
        /* "cdiaghg (181):" may print as "cdiaghg(181):" in other builds */
        char *cut = strchr(sum->error_routine, '(');
        if (cut) *cut = '\0';
    }
    if (!sum->error_routine[0]) snprintf(sum->error_routine, sizeof sum->error_routine, "unknown");
    /* the number in "(181)" is the routine's own error code */
    double code;
    if (leading_number_after(rest, "(", &code)) sum->error_code = (int)code;
    size_t used = 0;
    sum->error_message[0] = '\0';
    for (int k = i + 1; k < n && k <= i + 4; k++) {
        text_line l = lines[k];
        int j = 0;
        while (j < l.len && l.p[j] == ' ') j++;
        if (j < l.len && l.p[j] == '%') break;
        if (line_blank(l)) break;
        char part[160];
        copy_trimmed(l.p, l.len, part, sizeof part);
        int w = snprintf(sum->error_message + used, sizeof sum->error_message - used, "%s%s", used ? " " : "", part);
        if (w < 0 || (size_t)w >= sizeof sum->error_message - used) break;
        used += (size_t)w;
    }
}

static fuse2_status scan_text(const text_line *lines, int n, scan *sc, fuse2_qe_summary *sum)
{
    /* an output that holds several runs (a restart appended to the same
     * file) is judged by the last one */
    int start = 0;
    for (int i = 0; i < n; i++)
        if (line_find(lines[i], "Program PWSCF")) start = i;

    for (int i = start; i < n; i++) {
        text_line l = lines[i];
        const char *at;
        double v;
        if ((at = line_find(l, "Program PWSCF v."))) {
            text_line rest = line_rest(l, at + strlen("Program PWSCF v."));
            text_token tok[1];
            if (text_tokenize(rest, NULL, tok, 1) == 1)
                copy_trimmed(tok[0].p, tok[0].len, sum->version, sizeof sum->version);
        } else if (line_find(l, "number of atoms/cell")) {
            int nat;
            if (int_after(l, "=", &nat) && nat > 0) {
                sum->nat = nat;
                FUSE2_CALL(scan_reserve(sc, nat));
            }
        } else if (line_find(l, "lattice parameter (alat)")) {
            if (number_after(l, "=", &v) == 1 && v > 0 && sc->alat == 0) sc->alat = v;
        } else if (line_find(l, "celldm(1)=")) {
            /* more digits than the "lattice parameter (alat)" line */
            if (number_after(l, "celldm(1)=", &v) == 1 && v > 0) sc->alat = v;
        } else if (line_find(l, "crystal axes: (cart. coord. in units of alat)")) {
            int ok = i + 3 < n;
            for (int r = 0; ok && r < 3; r++) {
                const char *paren = line_find(lines[i + 1 + r], "= (");
                int bad = 0;
                if (!paren || !line_numbers(line_rest(lines[i + 1 + r], paren + 3), 0, 3, sc->header_cell[r], &bad) ||
                    bad)
                    ok = 0;
            }
            sc->has_header_cell = ok;
            if (ok) i += 3;
        } else if (line_find(l, "positions (alat units)")) {
            int count = 0;
            for (int k = i + 1; k < n; k++) {
                const char *tau = line_find(lines[k], "tau(");
                const char *paren = tau ? line_find(line_rest(lines[k], tau), "= (") : NULL;
                if (!paren) break;
                FUSE2_CALL(scan_reserve(sc, count + 1));
                int bad = 0;
                if (!line_numbers(line_rest(lines[k], paren + 3), 0, 3, sc->header_tau[count], &bad) || bad) break;
                text_token tok[2];
                if (text_tokenize(lines[k], NULL, tok, 2) < 2) break;
                copy_trimmed(tok[1].p, tok[1].len, sc->header_label[count], sizeof sc->header_label[0]);
                count++;
            }
            sc->header_natoms = count;
            i += count;
        } else if (line_starts(l, "!") && line_find(l, "total energy")) {
            /* a garbled number counts as a non-finite energy: the previous
             * "!" line belongs to another geometry */
            int kind = number_after(l, "=", &v);
            sum->scf_energies++;
            sum->energy_ry = kind == 1 ? v : NAN;
            sc->energy_nonfinite = kind != 1;
        } else if (line_find(l, "Final enthalpy =")) {
            if (number_after(l, "=", &v)) sum->final_enthalpy_ry = v;
        } else if (line_find(l, "Final energy") && line_find(l, "=")) {
            if (number_after(l, "=", &v)) sum->final_energy_ry = v;
        } else if (line_find(l, "Forces acting on atoms")) {
            int rows = 0, bad = 0, k = i + 1;
            while (k < n && line_blank(lines[k])) k++;
            for (; k < n; k++) {
                const char *f = line_find(lines[k], "force =");
                if (!f || !line_find(lines[k], "atom")) break;
                FUSE2_CALL(scan_reserve(sc, rows + 1));
                /* unreadable digits on a force line make the block as
                 * useless as a NaN */
                if (!line_numbers(line_rest(lines[k], f + strlen("force =")), 0, 3, sc->forces[rows], &bad)) {
                    bad = 1;
                    break;
                }
                rows++;
            }
            sc->force_rows = rows;
            sc->forces_nonfinite = bad;
        } else if (line_find(l, "total   stress") && line_find(l, "Ry/bohr**3")) {
            int bad = 0, ok = i + 3 < n;
            for (int r = 0; ok && r < 3; r++)
                if (!line_numbers(lines[i + 1 + r], 0, 3, sc->stress[r], &bad)) ok = 0;
            sc->has_stress = ok;
            sc->stress_nonfinite = bad;
            if (ok) i += 3;
        } else if (line_starts(l, "CELL_PARAMETERS")) {
            int known;
            pos_units u = units_of(l, &known);
            double scale = 1.0; /* to Å */
            if (u == UNITS_BOHR) scale = FUSE2_QE_BOHR_A;
            if (u == UNITS_ALAT) {
                /* "CELL_PARAMETERS (alat= 10.20000000)": alat in bohr */
                double a = 0;
                if (!leading_number_after(l, "alat=", &a) || !(a > 0)) a = sc->alat;
                scale = a * FUSE2_QE_BOHR_A;
            }
            int bad = 0, ok = i + 3 < n && scale > 0;
            double cell[3][3];
            for (int r = 0; ok && r < 3; r++)
                if (!line_numbers(lines[i + 1 + r], 0, 3, cell[r], &bad)) ok = 0;
            if (ok) {
                for (int r = 0; r < 3; r++)
                    for (int c = 0; c < 3; c++) sc->cell[r][c] = cell[r][c] * scale;
                sc->has_cell = 1;
                sc->cell_nonfinite = bad;
                i += 3;
            }
        } else if (line_starts(l, "ATOMIC_POSITIONS")) {
            int known;
            pos_units u = units_of(l, &known);
            int count = 0, bad = 0;
            for (int k = i + 1; k < n; k++) {
                text_token tok[MAX_TOKENS];
                int nt = text_tokenize(lines[k], NULL, tok, MAX_TOKENS);
                if (nt < 4) break;
                FUSE2_CALL(scan_reserve(sc, count + 1));
                if (!line_numbers(lines[k], 1, 3, sc->pos[count], &bad)) break;
                copy_trimmed(tok[0].p, tok[0].len, sc->pos_label[count], sizeof sc->pos_label[0]);
                count++;
            }
            if (count > 0) {
                sc->pos_natoms = count;
                sc->pos_units = u;
                sc->pos_nonfinite = bad;
                i += count;
            }
        } else if (line_find(l, "convergence NOT achieved")) {
            sum->scf_not_converged = 1;
            copy_trimmed(l.p, l.len, sc->scf_message, sizeof sc->scf_message);
        } else if ((at = line_find(l, "bfgs converged in"))) {
            sum->bfgs_converged = 1;
            sum->relaxation = 1;
            int steps;
            if (int_after(l, "scf cycles and", &steps)) sum->bfgs_steps = steps;
        } else if (line_find(l, "bfgs failed after")) {
            sum->bfgs_failed = 1;
            sum->relaxation = 1;
            int steps;
            if (int_after(l, "scf cycles and", &steps)) sum->bfgs_steps = steps;
        } else if (line_find(l, "End of BFGS Geometry Optimization")) {
            sum->bfgs_end = 1;
            sum->relaxation = 1;
        } else if (line_find(l, "BFGS Geometry Optimization")) {
            sum->relaxation = 1;
        } else if (line_find(l, "The maximum number of steps has been reached")) {
            sum->max_steps = 1;
            sum->relaxation = 1;
        } else if (line_find(l, "Final scf calculation at the relaxed structure")) {
            sum->final_scf = 1;
            sum->scf_before_final = sum->scf_energies;
        } else if (line_find(l, "Maximum CPU time exceeded")) {
            sum->max_seconds = 1;
        } else if (line_find(l, "Error in routine")) {
            if (!sum->error_routine[0]) read_error(lines, n, i, sum);
        } else if (line_find(l, "JOB DONE.")) {
            sum->job_done = 1;
        }
    }
    return FUSE2_OK;
}

/* The structure the output ends with, as far as it tells (see fuse2/qe.h). */
static fuse2_status assemble_structure(const scan *sc, const fuse2_structure *input, fuse2_ext_output *out)
{
    double lattice[3][3];
    int has_lattice = 0;
    if (sc->has_cell) {
        memcpy(lattice, sc->cell, sizeof lattice);
        has_lattice = 1;
    } else if (input) {
        /* relax and scf keep the input cell, which has all its digits */
        memcpy(lattice, input->lattice, sizeof lattice);
        has_lattice = 1;
    } else if (sc->has_header_cell && sc->alat > 0) {
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++) lattice[r][c] = sc->header_cell[r][c] * sc->alat * FUSE2_QE_BOHR_A;
        has_lattice = 1;
    }
    if (!has_lattice) return FUSE2_OK;
    double inverse[3][3];
    if (fuse2_lattice_inverse(lattice, inverse) != FUSE2_OK) {
        fuse2_error_clear();
        return FUSE2_OK;
    }

    int natoms;
    const char(*labels)[8] = NULL;
    if (sc->pos_natoms > 0) {
        natoms = sc->pos_natoms;
        labels = (const char(*)[8])sc->pos_label;
    } else if (input) {
        natoms = input->natoms;
    } else if (sc->header_natoms > 0) {
        natoms = sc->header_natoms;
        labels = (const char(*)[8])sc->header_label;
    } else {
        return FUSE2_OK;
    }
    fuse2_structure *s = &out->structure;
    fuse2_structure_free(s);
    FUSE2_CALL(fuse2_structure_init(s, natoms));
    memcpy(s->lattice, lattice, sizeof lattice);
    for (int i = 0; i < natoms; i++) {
        int z = labels ? fuse2_element_z_from_label(labels[i]) : 0;
        /* species labels may be anything ("Fe1", "X"): the input knows */
        if (z == 0 && input && input->natoms == natoms) z = input->species[i];
        if (z == 0) {
            fuse2_structure_free(s);
            return FUSE2_OK;
        }
        double f[3];
        if (sc->pos_natoms > 0) {
            double cart[3];
            const double *p = sc->pos[i];
            double scale = 1.0;
            switch (sc->pos_units) {
            case UNITS_CRYSTAL: memcpy(f, p, sizeof f); break;
            case UNITS_ANGSTROM: scale = 1.0; break;
            case UNITS_BOHR: scale = FUSE2_QE_BOHR_A; break;
            case UNITS_ALAT: scale = sc->alat * FUSE2_QE_BOHR_A; break;
            }
            if (sc->pos_units != UNITS_CRYSTAL) {
                for (int k = 0; k < 3; k++) cart[k] = p[k] * scale;
                for (int k = 0; k < 3; k++)
                    f[k] = cart[0] * inverse[0][k] + cart[1] * inverse[1][k] + cart[2] * inverse[2][k];
            }
        } else if (input) {
            memcpy(f, input->frac[i], sizeof f);
        } else {
            double cart[3];
            for (int k = 0; k < 3; k++) cart[k] = sc->header_tau[i][k] * sc->alat * FUSE2_QE_BOHR_A;
            for (int k = 0; k < 3; k++)
                f[k] = cart[0] * inverse[0][k] + cart[1] * inverse[1][k] + cart[2] * inverse[2][k];
        }
        FUSE2_CALL(fuse2_structure_add_atom(s, z, f));
    }
    out->has_structure = 1;
    return FUSE2_OK;
}

static void classify(const scan *sc, const fuse2_qe_summary *sum, const char *name, fuse2_ext_output *out)
{
    if (sum->error_routine[0]) {
        fuse2_ext_output_fail(out, FUSE2_EXT_CRASHED, "Error in routine %s (%d): %s", sum->error_routine,
                              sum->error_code, sum->error_message[0] ? sum->error_message : "(no message)");
        snprintf(out->signature, sizeof out->signature, "%s", sum->error_routine);
        return;
    }
    if (sum->scf_not_converged) {
        fuse2_ext_output_fail(out, FUSE2_EXT_CRASHED, "%s", sc->scf_message);
        snprintf(out->signature, sizeof out->signature, "scf_not_converged");
        return;
    }
    if (sum->max_seconds) {
        fuse2_ext_output_fail(out, FUSE2_EXT_TIMED_OUT, "pw.x stopped at its max_seconds limit");
        snprintf(out->signature, sizeof out->signature, "max_seconds");
        return;
    }
    if (sum->scf_energies == 0) {
        fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE, "%s: no converged total energy ('!' line)%s", name,
                              sum->version[0] ? "" : "; not a pw.x output?");
        return;
    }
    if (sc->energy_nonfinite || sc->forces_nonfinite ||
        (sc->has_stress && sc->stress_nonfinite) || (sc->has_cell && sc->cell_nonfinite) ||
        (sc->pos_natoms > 0 && sc->pos_nonfinite)) {
        fuse2_ext_output_fail(out, FUSE2_EXT_NON_FINITE, "%s: %s is NaN, Inf or overflowed", name,
                              sc->energy_nonfinite   ? "the total energy"
                              : sc->forces_nonfinite ? "a force"
                              : sc->stress_nonfinite ? "the stress"
                                                     : "the final geometry");
        return;
    }
    if (!sum->job_done) {
        fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE, "%s: ends before 'JOB DONE.' (truncated: pw.x died)", name);
        return;
    }
    if (sum->relaxation) {
        if (sum->max_steps) {
            fuse2_ext_output_fail(out, FUSE2_EXT_NOT_CONVERGED,
                                  "the maximum number of ionic steps (nstep) was reached after %d SCF cycles",
                                  sum->scf_energies);
            snprintf(out->signature, sizeof out->signature, "max_steps");
        } else if (sum->bfgs_failed) {
            fuse2_ext_output_fail(out, FUSE2_EXT_NOT_CONVERGED,
                                  "bfgs failed: the trust radius collapsed twice (history reset)");
            snprintf(out->signature, sizeof out->signature, "bfgs_failed");
        } else if (sum->final_scf && sum->scf_energies == sum->scf_before_final) {
            /* BFGS converged on the last allowed SCF cycle: pw.x announced
             * the final SCF at the relaxed structure but nstep left no room
             * for it (and exits 3); the energy is the BFGS basis's */
            fuse2_ext_output_fail(out, FUSE2_EXT_NOT_CONVERGED,
                                  "nstep ran out before the final SCF at the relaxed structure (%d SCF cycles); "
                                  "energy from the last BFGS step",
                                  sum->scf_energies);
            snprintf(out->signature, sizeof out->signature, "max_steps");
        } else if (sum->bfgs_converged || sum->bfgs_end) {
            out->outcome = FUSE2_EXT_CONVERGED;
        } else {
            fuse2_ext_output_fail(out, FUSE2_EXT_NOT_CONVERGED, "the relaxation ended without a convergence message");
        }
        return;
    }
    out->outcome = FUSE2_EXT_CONVERGED;
}

fuse2_status fuse2_qe_output_parse_string(const char *text, const char *name, const fuse2_structure *input,
                                          fuse2_ext_output *out, fuse2_qe_summary *summary)
{
    if (!text || !out) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_qe_output_parse_string: NULL argument");
    if (!name) name = "pw.x output";
    fuse2_ext_output_reset(out);
    fuse2_qe_summary local;
    fuse2_qe_summary *sum = summary ? summary : &local;
    memset(sum, 0, sizeof *sum);
    sum->nat = -1;
    sum->energy_ry = sum->final_enthalpy_ry = sum->final_energy_ry = NAN;
    sum->bfgs_steps = -1;

    text_line *lines = NULL;
    int n = 0;
    FUSE2_CALL(text_split_lines(text, &lines, &n));
    scan sc;
    memset(&sc, 0, sizeof sc);
    fuse2_status st = scan_text(lines, n, &sc, sum);
    free(lines);
    if (st != FUSE2_OK) {
        scan_free(&sc);
        FUSE2_CALL(st);
    }

    out->energy = sum->scf_energies > 0 ? sum->energy_ry * FUSE2_QE_RY_EV : NAN;
    out->ionic_steps = sum->scf_energies;
    st = assemble_structure(&sc, input, out);
    if (st == FUSE2_OK && out->has_structure && sc.force_rows == out->structure.natoms && !sc.forces_nonfinite) {
        int na = out->structure.natoms;
        out->forces = malloc(sizeof *out->forces * (size_t)(na > 0 ? na : 1));
        if (!out->forces) {
            st = FUSE2_RAISE(FUSE2_ERR_NOMEM, "%s: out of memory", name);
        } else {
            for (int i = 0; i < na; i++)
                for (int k = 0; k < 3; k++) out->forces[i][k] = sc.forces[i][k] * (FUSE2_QE_RY_EV / FUSE2_QE_BOHR_A);
            out->has_forces = 1;
        }
    }
    if (st == FUSE2_OK && sc.has_stress && !sc.stress_nonfinite) {
        /* pw.x's sign is the opposite of the project's (fuse2/qe.h) */
        const double to_ev_a3 = FUSE2_QE_RY_EV / (FUSE2_QE_BOHR_A * FUSE2_QE_BOHR_A * FUSE2_QE_BOHR_A);
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) out->stress[a][b] = -sc.stress[a][b] * to_ev_a3;
        out->has_stress = 1;
    }
    if (st == FUSE2_OK) classify(&sc, sum, name, out);
    scan_free(&sc);
    if (st != FUSE2_OK) FUSE2_CALL(st);
    return FUSE2_OK;
}

fuse2_status fuse2_qe_output_parse_ex(const char *path, const fuse2_structure *input, fuse2_ext_output *out,
                                      fuse2_qe_summary *summary)
{
    if (!path || !out) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_qe_output_parse: NULL argument");
    char *text = NULL;
    fuse2_status st = fuse2_ext_read_output(path, &text);
    if (st == FUSE2_ERR_NOMEM) FUSE2_CALL(st);
    if (st != FUSE2_OK) { /* a missing or unreadable output is an outcome */
        fuse2_ext_output_reset(out);
        if (summary) {
            memset(summary, 0, sizeof *summary);
            summary->nat = summary->bfgs_steps = -1;
            summary->energy_ry = summary->final_enthalpy_ry = summary->final_energy_ry = NAN;
        }
        fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE, "%s", fuse2_error_message());
        fuse2_error_clear();
        return FUSE2_OK;
    }
    st = fuse2_qe_output_parse_string(text, path, input, out, summary);
    free(text);
    if (st != FUSE2_OK) FUSE2_CALL(st);
    return FUSE2_OK;
}

fuse2_status fuse2_qe_output_parse(const char *path, const fuse2_structure *input, fuse2_ext_output *out)
{
    FUSE2_CALL(fuse2_qe_output_parse_ex(path, input, out, NULL));
    return FUSE2_OK;
}
