/* fuse2 symmetry: space group with spglib. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "fuse2/symmetry.h"

void cmd_symmetry_help(FILE *out)
{
    fprintf(out,
            "usage: fuse2 symmetry FILE [--tolerance T] [--json] [--standardize OUT]\n\n"
            "Space group of the structure in FILE (spglib).\n\n"
            "  --tolerance T       symmetry tolerance in A (default 1e-3)\n"
            "  --standardize OUT   write spglib's standardised conventional cell to OUT\n"
            "  --symmetrized-cif   with --standardize and a .cif OUT: write the space\n"
            "                      group and the asymmetric unit instead of P1\n"
            "  --format FMT        input format: cif, poscar, gulp (default: detect)\n"
            "  --json              one JSON object: spacegroup number/symbol, hall, operations\n");
}

int cmd_symmetry(int argc, char **argv)
{
    const char *file = NULL, *standardize = NULL;
    double tol = 1e-3;
    int json = 0, symcif = 0;
    fuse2_structure_format fmt = FUSE2_FORMAT_AUTO;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--json")) json = 1;
        else if (!strcmp(o, "--symmetrized-cif")) symcif = 1;
        else if (!strcmp(o, "--tolerance") || !strcmp(o, "--symprec")) {
            if (i + 1 >= argc) return cli_usage_error("symmetry", "%s needs a value", o);
            if (!cli_parse_double("symmetry", o, argv[++i], &tol)) return 2;
            if (!(tol > 0)) return cli_usage_error("symmetry", "tolerance must be > 0");
        } else if (!strcmp(o, "--standardize")) {
            if (i + 1 >= argc) return cli_usage_error("symmetry", "%s needs a value", o);
            standardize = argv[++i];
        } else if (!strcmp(o, "--format")) {
            if (i + 1 >= argc) return cli_usage_error("symmetry", "%s needs a value", o);
            if (!cli_parse_format("symmetry", argv[++i], &fmt)) return 2;
        } else if (o[0] != '-' && !file) file = o;
        else return cli_usage_error("symmetry", "unknown option '%s'", o);
    }
    if (!file) return cli_usage_error("symmetry", "no structure file given");
    fuse2_structure s = {0};
    int rc = 0;
    fuse2_spacegroup sg;
    if (fuse2_structure_read(file, fmt, &s) != FUSE2_OK ||
        fuse2_symmetry_spacegroup(&s, tol, &sg) != FUSE2_OK) {
        rc = cli_fail("symmetry");
        goto out;
    }
    if (json) {
        json_writer w = {stdout, 0, {0}};
        json_begin_object(&w, NULL);
        json_string(&w, "file", file);
        json_int(&w, "natoms", s.natoms);
        json_number(&w, "tolerance", tol);
        json_begin_object(&w, "spacegroup");
        json_int(&w, "number", sg.number);
        json_string(&w, "symbol", sg.international);
        json_string(&w, "hall", sg.hall);
        json_int(&w, "operations", sg.n_operations);
        json_end_object(&w);
        cli_json_cell(&w, &s);
        json_end_object(&w);
    } else {
        printf("%s: %s (%d), %d operations, tolerance %g A\n", file, sg.international, sg.number,
               sg.n_operations, tol);
    }
    if (standardize) {
        int changed;
        if (fuse2_symmetry_standardize(&s, tol, 0, 0, &changed) != FUSE2_OK ||
            fuse2_structure_write(standardize, FUSE2_FORMAT_AUTO, &s, symcif, tol) != FUSE2_OK)
            rc = cli_fail("symmetry");
    }
out:
    fuse2_structure_free(&s);
    return rc;
}
