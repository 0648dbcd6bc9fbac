/* fuse2 energy / fuse2 relax with the built-in calculator. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "fuse2/symmetry.h"

#define EV_PER_A3_PER_GPA (1.0 / 160.21766208)

void cmd_energy_help(FILE *out)
{
    fprintf(out,
            "usage: fuse2 energy FILE --library LIB [--c6] [--json] [options]\n\n"
            "Energy of the structure in FILE (CIF, POSCAR/CONTCAR or GULP .gin/.res,\n"
            "recognised by name or content) with the built-in calculator: pair\n"
            "potentials from a GULP library plus Ewald-summed Coulomb.\n\n"
            "  --library LIB, -l LIB   GULP potential library (species, buck, lennard, morse)\n"
            "  --c6                    sum buck C/r^6 terms to infinity (GULP's c6 keyword)\n"
            "  --coulomb-constant K    eV*A/e^2 (default 14.3997584, GULP's)\n"
            "  --accuracy A            Ewald accuracy 10^-A (default 12, GULP's)\n"
            "  --allow-charged         accept a net charge (neutralising background)\n"
            "  --format FMT            input format: cif, poscar, gulp (default: detect)\n"
            "  --json                  one JSON object: energy, energy_per_atom, natoms,\n"
            "                          components, stress (Voigt, eV/A^3), max_force,\n"
            "                          unphysical (why the geometry is outside the model's\n"
            "                          valid range, e.g. a Buckingham collapse; else \"\")\n\n"
            "Components: short_range, coulomb_real, coulomb_recip, coulomb, dispersion\n"
            "(with --c6). Units: eV, A, eV/A^3.\n");
}

void cmd_relax_help(FILE *out)
{
    fprintf(out,
            "usage: fuse2 relax FILE --library LIB -o OUT [--json] [options]\n\n"
            "Relaxes atom positions and the cell together and writes the result to OUT\n"
            "(format from OUT's name: .cif, POSCAR/CONTCAR/.vasp, or --out-format).\n\n"
            "  --library LIB, -l LIB   GULP potential library\n"
            "  --c6, --coulomb-constant K, --accuracy A, --allow-charged   as for 'energy'\n"
            "  -o OUT, --output OUT    relaxed structure file (required)\n"
            "  --out-format FMT        cif or poscar\n"
            "  --optimizer NAME        lbfgs (default), fire, fire+lbfgs\n"
            "  --fmax F                max force for convergence, eV/A (default 0.01)\n"
            "  --smax S                max stress for convergence, eV/A^3 (default 1e-4)\n"
            "  --max-steps N           optimiser steps (default 1000)\n"
            "  --pressure P            external pressure in GPa (default 0)\n"
            "  --fixed-cell            relax positions only\n"
            "  --symmetrize            standardise with spglib before relaxing (as FUSE2)\n"
            "  --symprec T             symmetry tolerance in A (default 1e-5 for\n"
            "                          --symmetrize, 1e-3 for the reported space group)\n"
            "  --time-limit S          wall-clock limit in seconds\n"
            "  --json                  one JSON object: energy, energy_per_atom, natoms,\n"
            "                          components, status, reason, steps, cell, spacegroup\n\n"
            "Exit status: 0 converged, 3 not converged or failed (the last good structure\n"
            "is written), 1 error, 2 usage.\n");
}

typedef struct common_args {
    const char *file;
    fuse2_structure_format format;
    int json;
    cli_calc_args calc;
} common_args;

/* Parses options shared by energy and relax; returns -1 on error, index of
 * the unconsumed option otherwise (argc when done). */
static int parse_common(const char *cmd, int argc, char **argv, int *i, common_args *a)
{
    const char *arg = argv[*i];
    int c = cli_calc_option(cmd, argc, argv, i, &a->calc);
    if (c) return c;
    if (!strcmp(arg, "--json")) {
        a->json = 1;
        return 1;
    }
    if (!strcmp(arg, "--format")) {
        if (*i + 1 >= argc) return cli_usage_error(cmd, "--format needs a value"), -1;
        return cli_parse_format(cmd, argv[++*i], &a->format) ? 1 : -1;
    }
    if (arg[0] != '-' && !a->file) {
        a->file = arg;
        return 1;
    }
    return 0;
}

static int load(const char *cmd, const common_args *a, fuse2_structure *s, fuse2_calc *calc)
{
    if (!a->file) return cli_usage_error(cmd, "no structure file given");
    if (!a->calc.library) return cli_usage_error(cmd, "--library is required");
    if (fuse2_structure_init(s, 0) != FUSE2_OK) return cli_fail(cmd);
    if (fuse2_structure_read(a->file, a->format, s) != FUSE2_OK) return cli_fail(cmd);
    if (cli_calc_create(&a->calc, calc) != FUSE2_OK) return cli_fail(cmd);
    return 0;
}

int cmd_energy(int argc, char **argv)
{
    common_args a = {0};
    for (int i = 1; i < argc; i++) {
        int c = parse_common("energy", argc, argv, &i, &a);
        if (c < 0) return 2;
        if (c == 0) return cli_usage_error("energy", "unknown option '%s'", argv[i]);
    }
    fuse2_structure s = {0};
    fuse2_calc calc = {0};
    int rc = load("energy", &a, &s, &calc);
    if (rc) {
        fuse2_structure_free(&s);
        return rc;
    }
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    if (fuse2_calc_compute(&calc, &s, &r) != FUSE2_OK) {
        rc = cli_fail("energy");
    } else if (a.json) {
        json_writer w = {stdout, 0, {0}};
        json_begin_object(&w, NULL);
        json_string(&w, "file", a.file);
        cli_json_energy(&w, &s, &r);
        json_end_object(&w);
    } else {
        char formula[256];
        fuse2_structure_formula(&s, formula, sizeof formula);
        printf("%s: %s, %d atoms, volume %.6f A^3\n", a.file, formula, s.natoms,
               fuse2_structure_volume(&s));
        for (int i = 0; i < r.ncomponents; i++)
            printf("  %-16s %20.8f eV\n", r.component_name[i], r.component[i]);
        printf("  %-16s %20.8f eV\n", "total", r.energy);
        printf("  %-16s %20.8f eV/atom\n", "per atom", r.energy_per_atom);
        printf("  stress (eV/A^3)  xx %.6g yy %.6g zz %.6g yz %.6g xz %.6g xy %.6g\n",
               r.stress[0][0], r.stress[1][1], r.stress[2][2], r.stress[1][2], r.stress[0][2],
               r.stress[0][1]);
        if (r.unphysical[0]) printf("  warning: unphysical geometry for this model: %s\n", r.unphysical);
    }
    fuse2_calc_result_free(&r);
    fuse2_calc_destroy(&calc);
    fuse2_structure_free(&s);
    return rc;
}

int cmd_relax(int argc, char **argv)
{
    common_args a = {0};
    fuse2_relax_options opt;
    fuse2_relax_options_default(&opt);
    const char *output = NULL;
    fuse2_structure_format out_format = FUSE2_FORMAT_AUTO;
    int symmetrize = 0;
    double symprec = -1, pressure_gpa = 0;
    for (int i = 1; i < argc; i++) {
        int c = parse_common("relax", argc, argv, &i, &a);
        if (c < 0) return 2;
        if (c) continue;
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1;
        if (!strcmp(o, "--fixed-cell")) { opt.fixed_cell = 1; continue; }
        if (!strcmp(o, "--symmetrize")) { symmetrize = 1; continue; }
        if (!v) return cli_usage_error("relax", "%s needs a value or is unknown", o);
        if (!strcmp(o, "-o") || !strcmp(o, "--output")) output = v;
        else if (!strcmp(o, "--out-format")) ok = cli_parse_format("relax", v, &out_format);
        else if (!strcmp(o, "--optimizer")) {
            if (fuse2_optimizer_parse(v, &opt.optimizer) != FUSE2_OK)
                return cli_usage_error("relax", "%s", fuse2_error_message());
        } else if (!strcmp(o, "--fmax")) ok = cli_parse_double("relax", o, v, &opt.fmax);
        else if (!strcmp(o, "--smax")) ok = cli_parse_double("relax", o, v, &opt.smax);
        else if (!strcmp(o, "--max-steps")) ok = cli_parse_int("relax", o, v, &opt.max_steps);
        else if (!strcmp(o, "--pressure")) ok = cli_parse_double("relax", o, v, &pressure_gpa);
        else if (!strcmp(o, "--symprec")) ok = cli_parse_double("relax", o, v, &symprec);
        else if (!strcmp(o, "--time-limit")) ok = cli_parse_double("relax", o, v, &opt.time_limit);
        else return cli_usage_error("relax", "unknown option '%s'", o);
        if (!ok) return 2;
        i++;
    }
    if (!output) return cli_usage_error("relax", "-o OUT is required");
    if (!(opt.fmax > 0) || !(opt.smax > 0) || opt.max_steps < 0)
        return cli_usage_error("relax", "--fmax and --smax must be > 0, --max-steps >= 0");
    opt.pressure = pressure_gpa * EV_PER_A3_PER_GPA;
    fuse2_structure s = {0};
    fuse2_calc calc = {0};
    int rc = load("relax", &a, &s, &calc);
    if (rc) {
        fuse2_structure_free(&s);
        return rc;
    }
    if (symmetrize) {
        int changed;
        if (fuse2_symmetry_standardize(&s, symprec > 0 ? symprec : 1e-5, 0, 1, &changed) != FUSE2_OK) {
            rc = cli_fail("relax");
            goto out;
        }
    }
    fuse2_relax_result res;
    fuse2_relax_result_init(&res);
    if (fuse2_relax(&calc, &s, &opt, &res) != FUSE2_OK) {
        rc = cli_fail("relax");
        fuse2_relax_result_free(&res);
        goto out;
    }
    if (fuse2_structure_write(output, out_format, &s, 0, 0) != FUSE2_OK) {
        rc = cli_fail("relax");
        fuse2_relax_result_free(&res);
        goto out;
    }
    fuse2_spacegroup sg = {0};
    int have_sg = fuse2_symmetry_spacegroup(&s, symprec > 0 ? symprec : 1e-3, &sg) == FUSE2_OK;
    if (a.json) {
        json_writer w = {stdout, 0, {0}};
        json_begin_object(&w, NULL);
        json_string(&w, "file", a.file);
        json_string(&w, "output", output);
        if (res.final.natoms) cli_json_energy(&w, &s, &res.final);
        else {
            json_int(&w, "natoms", s.natoms);
            json_null(&w, "energy");
            json_null(&w, "energy_per_atom");
        }
        json_string(&w, "status", fuse2_relax_status_name(res.status));
        json_string(&w, "reason", res.reason);
        json_int(&w, "steps", res.steps);
        json_int(&w, "evaluations", res.evaluations);
        json_string(&w, "optimizer", fuse2_optimizer_name(opt.optimizer));
        json_number(&w, "enthalpy", res.enthalpy);
        json_number(&w, "max_stress", res.max_stress);
        json_number(&w, "wall_seconds", res.wall_seconds);
        cli_json_cell(&w, &s);
        if (have_sg) {
            json_begin_object(&w, "spacegroup");
            json_int(&w, "number", sg.number);
            json_string(&w, "symbol", sg.international);
            json_end_object(&w);
        } else {
            json_null(&w, "spacegroup");
        }
        json_end_object(&w);
    } else {
        double p[6];
        fuse2_lattice_to_parameters(s.lattice, p);
        printf("%s -> %s: %s after %d steps%s%s\n", a.file, output,
               fuse2_relax_status_name(res.status), res.steps, res.reason[0] ? ": " : "", res.reason);
        printf("  energy %.8f eV (%.8f eV/atom), max force %.3g eV/A, max stress %.3g eV/A^3\n",
               res.energy, res.energy_per_atom, res.max_force, res.max_stress);
        printf("  cell %.6f %.6f %.6f  %.4f %.4f %.4f  volume %.6f A^3\n", p[0], p[1], p[2], p[3],
               p[4], p[5], fuse2_structure_volume(&s));
        if (have_sg) printf("  space group %s (%d)\n", sg.international, sg.number);
    }
    if (res.status != FUSE2_RELAX_CONVERGED) rc = 3;
    fuse2_relax_result_free(&res);
out:
    fuse2_calc_destroy(&calc);
    fuse2_structure_free(&s);
    return rc;
}
