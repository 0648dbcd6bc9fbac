/* fuse2: command-line front end of libfuse2. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fuse2/relax.h"
#include "fuse2/symmetry.h"

static const cli_command commands[] = {
    {"check", "validate a campaign file, print the resolved configuration", cmd_check, cmd_check_help},
    {"energy", "energy, per-atom energy and components of a structure", cmd_energy, cmd_energy_help},
    {"relax", "relax positions and cell, write the result", cmd_relax, cmd_relax_help},
    {"symmetry", "space group of a structure (spglib)", cmd_symmetry, cmd_symmetry_help},
    {"inspect", "progress, best energies, statistics of a campaign file (also while running)",
     cmd_inspect, cmd_inspect_help},
    {"export", "write best or chosen structures of a campaign file as CIF or POSCAR", cmd_export,
     cmd_export_help},
    {"parse", "outcome, energy and final cell of a GULP, VASP, QE or LAMMPS output", cmd_parse,
     cmd_parse_help},
};
enum { NCOMMANDS = sizeof commands / sizeof commands[0] };

int cli_fail(const char *command)
{
    fprintf(stderr, "fuse2 %s: error: %s\n", command, fuse2_error_message());
    if (getenv("FUSE2_DEBUG")) fprintf(stderr, "%s\n", fuse2_error_trace());
    return 1;
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fuse2 %s: ", command);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'fuse2 %s --help'.\n", command);
    return 2;
}

int cli_parse_double(const char *command, const char *option, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno) {
        cli_usage_error(command, "%s expects a number, got '%s'", option, text);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_parse_int(const char *command, const char *option, const char *text, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end || errno || v < -2147483647L || v > 2147483647L) {
        cli_usage_error(command, "%s expects an integer, got '%s'", option, text);
        return 0;
    }
    *out = (int)v;
    return 1;
}

int cli_parse_format(const char *command, const char *text, fuse2_structure_format *out)
{
    if (!strcmp(text, "cif")) *out = FUSE2_FORMAT_CIF;
    else if (!strcmp(text, "poscar") || !strcmp(text, "vasp")) *out = FUSE2_FORMAT_POSCAR;
    else if (!strcmp(text, "gulp")) *out = FUSE2_FORMAT_GULP;
    else {
        cli_usage_error(command, "unknown format '%s' (cif, poscar, gulp)", text);
        return 0;
    }
    return 1;
}

int cli_calc_option(const char *command, int argc, char **argv, int *i, cli_calc_args *a)
{
    const char *opt = argv[*i];
    const char **target = NULL;
    if (!strcmp(opt, "--c6")) {
        a->c6 = 1;
        return 1;
    }
    if (!strcmp(opt, "--allow-charged")) {
        a->allow_charged = 1;
        return 1;
    }
    if (!strcmp(opt, "--library") || !strcmp(opt, "-l")) target = &a->library;
    else if (!strcmp(opt, "--coulomb-constant")) target = &a->coulomb_constant;
    else if (!strcmp(opt, "--accuracy")) target = &a->accuracy;
    else return 0;
    if (*i + 1 >= argc) {
        cli_usage_error(command, "%s needs a value", opt);
        return -1;
    }
    *target = argv[++*i];
    return 1;
}

fuse2_status cli_calc_create(const cli_calc_args *a, fuse2_calc *calc)
{
    fuse2_setting items[8];
    int n = 0;
    items[n++] = (fuse2_setting){"library", a->library, "--library"};
    items[n++] = (fuse2_setting){"c6", a->c6 ? "true" : "false", "--c6"};
    items[n++] = (fuse2_setting){"allow_charged", a->allow_charged ? "true" : "false", "--allow-charged"};
    if (a->coulomb_constant)
        items[n++] = (fuse2_setting){"coulomb_constant", a->coulomb_constant, "--coulomb-constant"};
    if (a->accuracy) items[n++] = (fuse2_setting){"accuracy", a->accuracy, "--accuracy"};
    fuse2_settings settings = {n, items};
    FUSE2_CALL(fuse2_calc_create("builtin", &settings, calc));
    return FUSE2_OK;
}

void cli_json_cell(json_writer *w, const fuse2_structure *s)
{
    double p[6];
    fuse2_lattice_to_parameters(s->lattice, p);
    json_begin_object(w, "cell");
    json_number(w, "a", p[0]);
    json_number(w, "b", p[1]);
    json_number(w, "c", p[2]);
    json_number(w, "alpha", p[3]);
    json_number(w, "beta", p[4]);
    json_number(w, "gamma", p[5]);
    json_number(w, "volume", fuse2_structure_volume(s));
    json_end_object(w);
}

void cli_json_energy(json_writer *w, const fuse2_structure *s, const fuse2_calc_result *r)
{
    char formula[256];
    fuse2_structure_formula(s, formula, sizeof formula);
    json_string(w, "formula", formula);
    json_int(w, "natoms", s->natoms);
    json_number(w, "energy", r->energy);
    json_number(w, "energy_per_atom", r->energy_per_atom);
    json_begin_object(w, "components");
    for (int i = 0; i < r->ncomponents; i++) json_number(w, r->component_name[i], r->component[i]);
    json_end_object(w);
    /* Voigt order xx yy zz yz xz xy, eV/A^3 */
    json_begin_array(w, "stress");
    const int va[6] = {0, 1, 2, 1, 0, 0}, vb[6] = {0, 1, 2, 2, 2, 1};
    for (int k = 0; k < 6; k++) json_number(w, NULL, r->stress[va[k]][vb[k]]);
    json_end_array(w);
    json_number(w, "max_force", fuse2_max_force((const double(*)[3])r->forces, r->natoms));
    /* non-empty when the geometry is outside the model's valid range */
    json_string(w, "unphysical", r->unphysical);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: fuse2 <command> [options]\n\n"
            "fuse2 %s: crystal structure tools of fuse2-mpi (units: eV, A, eV/A^3).\n\n"
            "commands:\n",
            FUSE2_VERSION);
    for (int i = 0; i < NCOMMANDS; i++) fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'fuse2 <command> --help' describes a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        if (argc > 2)
            for (int i = 0; i < NCOMMANDS; i++)
                if (!strcmp(argv[2], commands[i].name)) {
                    commands[i].help(stdout);
                    return 0;
                }
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("fuse2 %s (%s)\n", FUSE2_VERSION, FUSE2_GIT_HASH);
        return 0;
    }
    for (int i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) {
            for (int k = 2; k < argc; k++)
                if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
                    commands[i].help(stdout);
                    return 0;
                }
            return commands[i].run(argc - 1, argv + 1);
        }
    fprintf(stderr, "fuse2: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
