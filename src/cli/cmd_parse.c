/* fuse2 parse: judges an existing output of an external code (GULP, VASP,
 * Quantum ESPRESSO, LAMMPS) with the same parsers the calculators use after
 * a run, so a run can be checked by hand. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "fuse2/external.h"
#include "fuse2/gulp.h"
#include "fuse2/lammps.h"
#include "fuse2/qe.h"
#include "fuse2/relax.h"
#include "fuse2/vasp.h"

enum { PATH_LEN = 4096 };

void cmd_parse_help(FILE *out)
{
    fprintf(out,
            "usage: fuse2 parse --code gulp|vasp|qe|lammps PATH [--json] [options]\n\n"
            "Reads what a run of an external code left (PATH: an output file or the run\n"
            "directory) with the parser the calculator uses after a run, and prints the\n"
            "outcome, energy, energy per atom, optimisation steps and the final cell.\n"
            "No program is started.\n\n"
            "  --code CODE             gulp, vasp, qe, lammps (required)\n"
            "  --json                  one JSON object: code, path, output, status, reason,\n"
            "                          signature, energy, energy_per_atom, natoms, formula,\n"
            "                          steps, cell (a, b, c, alpha, beta, gamma, volume),\n"
            "                          lattice (3x3, rows, A), max_force, stress (Voigt xx yy\n"
            "                          zz yz xz xy, eV/A^3) when the output has them\n"
            "  --structure OUT         write the final structure (CIF, POSCAR/CONTCAR/.vasp\n"
            "                          by name, or --out-format)\n"
            "  --out-format FMT        cif or poscar\n"
            "  --dump FILE             gulp: GULP's dump file (default temp.res beside the\n"
            "                          output; more digits for the final coordinates)\n\n"
            "PATH per code (a directory is searched for the usual files):\n"
            "  gulp    the output (gulp.got); a directory: gulp.got, else its only *.got\n"
            "  vasp    the run directory (OUTCAR, OSZICAR, vasprun.xml, CONTCAR and the\n"
            "          captured stdout vasp.out); a file names its directory, and a file\n"
            "          not named like one of those is taken as the captured stdout\n"
            "  qe      pw.x's standard output (pw.out); a directory: pw.out, else its only\n"
            "          *.out\n"
            "  lammps  a run directory of the lammps calculator (kept scratch: log.lammps,\n"
            "          fuse2_run.txt, fuse2_final.txt, final.dump); a file names its\n"
            "          directory\n"
            "Compressed outputs (OUTCAR.gz, vasprun.xml.gz, ...) are not read: decompress\n"
            "them first (gunzip -k FILE).\n\n"
            "status: converged, not_converged, crashed, timed_out, unparsable, non_finite,\n"
            "unphysical (docs/external-calculators.md). Units: eV, A, eV/A^3.\n\n"
            "Exit status: 0 converged, 3 not converged or failed run, 1 error (PATH\n"
            "missing or not an output of CODE), 2 usage.\n");
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int join(char *out, size_t size, const char *dir, const char *name)
{
    size_t ld = strlen(dir), ln = strlen(name);
    if (ld + ln + 2 > size) return 0;
    memcpy(out, dir, ld);
    out[ld] = '/';
    memcpy(out + ld + 1, name, ln + 1);
    return 1;
}

/* dirname of path into out ("." when it has no slash). */
static void dir_of(const char *path, char *out, size_t size)
{
    snprintf(out, size, "%s", path);
    char *slash = strrchr(out, '/');
    if (!slash) snprintf(out, size, ".");
    else if (slash == out) out[1] = '\0';
    else *slash = '\0';
}

static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The only regular file in dir whose name ends in suffix: 1 found (out),
 * 0 none, -1 several (out: the first two, for the message). */
static int only_with_suffix(const char *dir, const char *suffix, char *out, size_t size)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int found = 0;
    size_t ls = strlen(suffix);
    struct dirent *e;
    char first[PATH_LEN] = "";
    while ((e = readdir(d))) {
        size_t ln = strlen(e->d_name);
        if (ln <= ls || strcmp(e->d_name + ln - ls, suffix)) continue;
        char path[PATH_LEN];
        if (!join(path, sizeof path, dir, e->d_name) || !is_file(path)) continue;
        if (found++ == 0) snprintf(first, sizeof first, "%s", e->d_name);
        else if (found == 2) {
            snprintf(out, size, "%s, %s", first, e->d_name);
        }
    }
    closedir(d);
    if (found == 1) join(out, size, dir, first);
    return found > 1 ? -1 : found;
}

/* Finds the file of a code's output in a directory: name, else the only
 * *suffix. Returns 0 and reports an error when there is none or several. */
static int find_output(const char *code, const char *dir, const char *name, const char *suffix, char *out,
                       size_t size)
{
    if (!join(out, size, dir, name)) {
        fuse2_error_clear();
        FUSE2_RAISE(FUSE2_ERR_ARG, "%s: path too long", dir);
        return 0;
    }
    if (is_file(out)) return 1;
    char found[PATH_LEN];
    int n = only_with_suffix(dir, suffix, found, sizeof found);
    if (n == 1) {
        snprintf(out, size, "%s", found);
        return 1;
    }
    fuse2_error_clear();
    if (n < 0)
        FUSE2_RAISE(FUSE2_ERR_ARG, "%s: no %s and several *%s files (%s, ...): name the output file", dir, name,
                    suffix, found);
    else
        FUSE2_RAISE(FUSE2_ERR_IO, "%s: no %s or *%s file: not a %s run directory", dir, name, suffix, code);
    return 0;
}

/* 1 if dir holds at least one of the names. */
static int has_any(const char *dir, const char *const *names)
{
    char path[PATH_LEN];
    for (int i = 0; names[i]; i++)
        if (join(path, sizeof path, dir, names[i]) && is_file(path)) return 1;
    return 0;
}

/* Compression suffixes the parsers do not read (no zlib dependency). */
static const char *const COMPRESSED[] = {".gz", ".bz2", ".xz", ".zst", NULL};
static const char *const DECOMPRESS[] = {"gunzip -k", "bunzip2 -k", "unxz -k", "unzstd", NULL};

/* The index in COMPRESSED of name's suffix, or -1. */
static int compressed_suffix(const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; COMPRESSED[i]; i++) {
        size_t k = strlen(COMPRESSED[i]);
        if (n > k && !strcmp(name + n - k, COMPRESSED[i])) return i;
    }
    return -1;
}

/* For each name absent from dir whose compressed copy is there: reports it
 * ("OUTCAR.gz found: decompress it first") and returns 1. */
static int report_compressed(const char *dir, const char *const *names)
{
    char path[PATH_LEN], packed[PATH_LEN + 8];
    int found = 0;
    for (int i = 0; names[i]; i++) {
        if (join(path, sizeof path, dir, names[i]) && is_file(path)) continue;
        for (int k = 0; COMPRESSED[k]; k++) {
            snprintf(packed, sizeof packed, "%s%s", path, COMPRESSED[k]);
            if (!is_file(packed)) continue;
            fprintf(stderr,
                    "fuse2 parse: error: %s: %s%s found but no %s: compressed files are not read, decompress "
                    "it first (%s %s)\n",
                    dir, names[i], COMPRESSED[k], names[i], DECOMPRESS[k], packed);
            found = 1;
        }
    }
    return found;
}

typedef struct parse_args {
    const char *code;
    const char *path;
    const char *structure_out;
    fuse2_structure_format out_format;
    const char *dump;
    int json;
} parse_args;

/* Runs the code's parser on a.path; *output receives the file or directory
 * that was read. Returns 0 on success, 1 after an error (reported). */
static int parse_path(const parse_args *a, fuse2_ext_output *out, char *output, size_t size)
{
    const char *path = a->path;
    int dir = is_dir(path);
    if (!dir && !is_file(path)) {
        fprintf(stderr, "fuse2 parse: error: %s: %s\n", path,
                errno == ENOENT || errno == 0 ? "no such file or directory" : strerror(errno));
        return 1;
    }
    char base[PATH_LEN];
    fuse2_status st = FUSE2_OK;
    int packed = dir ? -1 : compressed_suffix(path);
    if (packed >= 0) {
        fprintf(stderr, "fuse2 parse: error: %s is compressed (%s): decompress it first (%s %s)\n", path,
                COMPRESSED[packed], DECOMPRESS[packed], path);
        return 1;
    }
    if (!strcmp(a->code, "gulp")) {
        char dump[PATH_LEN] = "";
        if (dir) {
            if (!find_output("gulp", path, "gulp.got", ".got", output, size)) return cli_fail("parse");
        } else {
            snprintf(output, size, "%s", path);
        }
        if (a->dump) {
            snprintf(dump, sizeof dump, "%s", a->dump);
        } else {
            dir_of(output, base, sizeof base);
            join(dump, sizeof dump, base, "temp.res");
        }
        /* natoms_expected 0: the atom count is whatever the output holds */
        st = fuse2_gulp_output_parse_file(output, dump, 0, out);
    } else if (!strcmp(a->code, "vasp")) {
        static const char *const known[] = {"OUTCAR", "OSZICAR", "vasprun.xml", "CONTCAR", "vasp.out", NULL};
        const char *stdout_name = NULL;
        if (dir) {
            snprintf(base, sizeof base, "%s", path);
        } else {
            dir_of(path, base, sizeof base);
            const char *name = base_of(path);
            int standard = 0;
            for (int i = 0; known[i]; i++) standard |= !strcmp(name, known[i]);
            if (!standard) stdout_name = name; /* the captured standard output */
        }
        /* the outcome is judged from OUTCAR (and vasprun.xml): a run kept
         * as OUTCAR.gz must not be read as if OUTCAR were missing */
        static const char *const judged[] = {"OUTCAR", "vasprun.xml", "OSZICAR", "CONTCAR", NULL};
        if (report_compressed(base, judged)) return 1;
        if (!stdout_name && !has_any(base, known)) {
            fprintf(stderr, "fuse2 parse: error: %s: no OUTCAR, OSZICAR, vasprun.xml, CONTCAR or vasp.out: "
                            "not a VASP run directory\n", base);
            return 1;
        }
        snprintf(output, size, "%s", base);
        st = fuse2_vasp_parse_run(base, stdout_name, out);
    } else if (!strcmp(a->code, "qe")) {
        if (dir) {
            if (!find_output("qe", path, "pw.out", ".out", output, size)) return cli_fail("parse");
        } else {
            snprintf(output, size, "%s", path);
        }
        st = fuse2_qe_output_parse(output, NULL, out);
    } else { /* lammps */
        static const char *const known[] = {"fuse2_run.txt", "log.lammps", "fuse2_final.txt", "final.dump", NULL};
        if (dir) snprintf(base, sizeof base, "%s", path);
        else dir_of(path, base, sizeof base);
        if (!has_any(base, known)) {
            fprintf(stderr, "fuse2 parse: error: %s: no fuse2_run.txt or log.lammps: not a run directory of the "
                            "lammps calculator\n", base);
            return 1;
        }
        snprintf(output, size, "%s", base);
        st = fuse2_lammps_parse_run(base, NULL, out);
    }
    if (st != FUSE2_OK) return cli_fail("parse");
    return 0;
}

static void json_lattice(json_writer *w, const fuse2_structure *s)
{
    json_begin_array(w, "lattice");
    for (int i = 0; i < 3; i++) {
        json_begin_array(w, NULL);
        for (int k = 0; k < 3; k++) json_number(w, NULL, s->lattice[i][k]);
        json_end_array(w);
    }
    json_end_array(w);
}

static double max_force(const fuse2_ext_output *o)
{
    return fuse2_max_force((const double(*)[3])o->forces, o->structure.natoms);
}

static void print_json(const parse_args *a, const char *output, const fuse2_ext_output *o, double per_atom,
                       const char *written)
{
    json_writer w = {stdout, 0, {0}};
    json_begin_object(&w, NULL);
    json_string(&w, "code", a->code);
    json_string(&w, "path", a->path);
    json_string(&w, "output", output);
    json_string(&w, "status", fuse2_ext_outcome_name(o->outcome));
    json_string(&w, "reason", o->reason);
    json_string(&w, "signature", o->signature);
    json_number(&w, "energy", o->energy);
    json_number(&w, "energy_per_atom", per_atom);
    if (o->ionic_steps >= 0) json_int(&w, "steps", o->ionic_steps);
    else json_null(&w, "steps");
    if (o->has_structure) {
        char formula[256];
        fuse2_structure_formula(&o->structure, formula, sizeof formula);
        json_int(&w, "natoms", o->structure.natoms);
        json_string(&w, "formula", formula);
        cli_json_cell(&w, &o->structure);
        json_lattice(&w, &o->structure);
    } else {
        json_null(&w, "natoms");
        json_null(&w, "formula");
        json_null(&w, "cell");
        json_null(&w, "lattice");
    }
    if (o->has_structure && o->has_forces) json_number(&w, "max_force", max_force(o));
    else json_null(&w, "max_force");
    if (o->has_stress) {
        json_begin_array(&w, "stress");
        const int va[6] = {0, 1, 2, 1, 0, 0}, vb[6] = {0, 1, 2, 2, 2, 1};
        for (int k = 0; k < 6; k++) json_number(&w, NULL, o->stress[va[k]][vb[k]]);
        json_end_array(&w);
    } else {
        json_null(&w, "stress");
    }
    if (written) json_string(&w, "structure", written);
    else json_null(&w, "structure");
    json_end_object(&w);
}

static void print_text(const parse_args *a, const char *output, const fuse2_ext_output *o, double per_atom,
                       const char *written)
{
    printf("%s output %s: %s\n", a->code, output, fuse2_ext_outcome_name(o->outcome));
    if (o->reason[0]) printf("  reason      %s\n", o->reason);
    if (o->signature[0]) printf("  signature   %s\n", o->signature);
    if (isfinite(o->energy)) {
        printf("  energy      %.8f eV", o->energy);
        if (isfinite(per_atom)) printf(" (%.8f eV/atom)", per_atom);
        printf("\n");
    } else {
        printf("  energy      none\n");
    }
    if (o->ionic_steps >= 0) printf("  steps       %d\n", o->ionic_steps);
    if (o->has_structure) {
        char formula[256];
        double p[6];
        fuse2_structure_formula(&o->structure, formula, sizeof formula);
        fuse2_lattice_to_parameters(o->structure.lattice, p);
        printf("  structure   %s, %d atoms\n", formula, o->structure.natoms);
        printf("  cell        %.6f %.6f %.6f  %.4f %.4f %.4f  volume %.6f A^3\n", p[0], p[1], p[2], p[3], p[4],
               p[5], fuse2_structure_volume(&o->structure));
        if (o->has_forces) printf("  max force   %.6g eV/A\n", max_force(o));
    } else {
        printf("  structure   none\n");
    }
    if (o->has_stress) /* + 0.0: no "-0" */
        printf("  stress      xx %.6g yy %.6g zz %.6g yz %.6g xz %.6g xy %.6g eV/A^3\n", o->stress[0][0] + 0.0,
               o->stress[1][1] + 0.0, o->stress[2][2] + 0.0, o->stress[1][2] + 0.0, o->stress[0][2] + 0.0,
               o->stress[0][1] + 0.0);
    if (written) printf("  written to  %s\n", written);
}

int cmd_parse(int argc, char **argv)
{
    parse_args a = {0};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--json")) {
            a.json = 1;
            continue;
        }
        if (o[0] != '-' || !o[1]) {
            if (a.path) return cli_usage_error("parse", "more than one PATH ('%s', '%s')", a.path, o);
            a.path = o;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--code") && strcmp(o, "--structure") && strcmp(o, "-o") && strcmp(o, "--out-format") &&
            strcmp(o, "--dump"))
            return cli_usage_error("parse", "unknown option '%s'", o);
        if (!v) return cli_usage_error("parse", "%s needs a value", o);
        i++;
        if (!strcmp(o, "--code")) a.code = v;
        else if (!strcmp(o, "--structure") || !strcmp(o, "-o")) a.structure_out = v;
        else if (!strcmp(o, "--dump")) a.dump = v;
        else if (!cli_parse_format("parse", v, &a.out_format)) return 2;
    }
    if (!a.code) return cli_usage_error("parse", "--code is required (gulp, vasp, qe, lammps)");
    if (strcmp(a.code, "gulp") && strcmp(a.code, "vasp") && strcmp(a.code, "qe") && strcmp(a.code, "lammps"))
        return cli_usage_error("parse", "unknown code '%s' (gulp, vasp, qe, lammps)", a.code);
    if (!a.path) return cli_usage_error("parse", "no PATH given (an output file or a run directory)");
    if (a.out_format == FUSE2_FORMAT_GULP)
        return cli_usage_error("parse", "--out-format: cif or poscar (GULP geometry is not written here)");

    fuse2_ext_output out;
    fuse2_ext_output_init(&out);
    char output[PATH_LEN];
    int rc = parse_path(&a, &out, output, sizeof output);
    if (rc) {
        fuse2_ext_output_free(&out);
        return rc;
    }
    double per_atom = NAN;
    if (out.has_structure && out.structure.natoms > 0 && isfinite(out.energy))
        per_atom = out.energy / out.structure.natoms;

    const char *written = NULL;
    if (a.structure_out) {
        if (!out.has_structure) {
            fprintf(stderr, "fuse2 parse: %s: no final structure in the output, %s not written\n", output,
                    a.structure_out);
        } else if (fuse2_structure_write(a.structure_out, a.out_format, &out.structure, 0, 0) != FUSE2_OK) {
            rc = cli_fail("parse");
            fuse2_ext_output_free(&out);
            return rc;
        } else {
            written = a.structure_out;
        }
    }
    if (a.json) print_json(&a, output, &out, per_atom, written);
    else print_text(&a, output, &out, per_atom, written);
    if (out.outcome != FUSE2_EXT_CONVERGED) rc = 3;
    else if (a.structure_out && !written) rc = 1;
    fuse2_ext_output_free(&out);
    return rc;
}
