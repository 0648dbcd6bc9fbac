/* The fuse2 command-line tool: sub-commands are registered in main.c. */
#ifndef FUSE2_CLI_H
#define FUSE2_CLI_H

#include "fuse2/calc.h"
#include "fuse2/relax.h"
#include "fuse2/store.h"
#include "fuse2/structure.h"
#include "fuse2/structure_io.h"
#include "json.h"

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
    void (*help)(FILE *out);
} cli_command;

/* Prints the current fuse2 error as "fuse2 <cmd>: message" and returns 1. */
int cli_fail(const char *command);
/* Reports a usage error and returns 2. */
int cli_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a number argument of an option; returns 0 on error (reported). */
int cli_parse_double(const char *command, const char *option, const char *text, double *out);
int cli_parse_int(const char *command, const char *option, const char *text, int *out);
/* "cif", "poscar", "gulp"; returns 0 on error (reported). */
int cli_parse_format(const char *command, const char *text, fuse2_structure_format *out);

/* Options shared by commands that evaluate energies with the built-in calculator. */
typedef struct cli_calc_args {
    const char *library;
    int c6;
    const char *coulomb_constant;
    const char *accuracy;
    int allow_charged;
} cli_calc_args;

/* Consumes a calculator option at argv[*i]; returns 1 if it was one, -1 on error. */
int cli_calc_option(const char *command, int argc, char **argv, int *i, cli_calc_args *a);
fuse2_status cli_calc_create(const cli_calc_args *a, fuse2_calc *calc);

void cli_json_energy(json_writer *w, const fuse2_structure *s, const fuse2_calc_result *r);
void cli_json_cell(json_writer *w, const fuse2_structure *s);

int cmd_check(int argc, char **argv);
void cmd_check_help(FILE *out);
int cmd_energy(int argc, char **argv);
void cmd_energy_help(FILE *out);
int cmd_relax(int argc, char **argv);
void cmd_relax_help(FILE *out);
int cmd_symmetry(int argc, char **argv);
void cmd_symmetry_help(FILE *out);
int cmd_inspect(int argc, char **argv);
void cmd_inspect_help(FILE *out);
int cmd_export(int argc, char **argv);
void cmd_export_help(FILE *out);
int cmd_parse(int argc, char **argv);
void cmd_parse_help(FILE *out);

/* Campaign files (cmd_inspect.c): opens path read-only (SWMR, so also while
 * fuse2-mpi writes it) with clear errors for a missing, non-HDF5 or
 * non-campaign file; the last run row into *last_run (*have_run = 0 when
 * none is written yet) unless last_run is NULL. */
fuse2_status cli_campaign_open(const char *path, fuse2_store **st, fuse2_store_counts *counts,
                               fuse2_store_run_row *last_run, int *have_run);
/* "running", "converged", "budget" for a step row's `stopped`. */
const char *cli_walker_stop_name(int stopped);

#endif
