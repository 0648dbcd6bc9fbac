/* The resolved campaign configuration as YAML (fuse2 check). The output is
 * itself a campaign file: fuse2_config_load reads it back to the same values. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/config.h"
#include "fuse2/elements.h"

/* Shortest of %.15g/%.16g/%.17g that reads back to exactly x. */
static const char *num(char *buf, size_t n, double x)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) break;
    }
    return buf;
}

/* A double-quoted YAML string. */
static void put_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fprintf(out, "\\%c", *s);
        else if (*s == '\n') fputs("\\n", out);
        else if (*s == '\t') fputs("\\t", out);
        else fputc(*s, out);
    }
    fputc('"', out);
}

static void key_double(FILE *out, const char *indent, const char *key, double x, const char *comment)
{
    char b[40];
    fprintf(out, "%s%s: %s", indent, key, num(b, sizeof b, x));
    if (comment) fprintf(out, "  # %s", comment);
    fputc('\n', out);
}

static void key_int(FILE *out, const char *indent, const char *key, int x, const char *comment)
{
    fprintf(out, "%s%s: %d", indent, key, x);
    if (comment) fprintf(out, "  # %s", comment);
    fputc('\n', out);
}

static void key_bool(FILE *out, const char *key, int x) { fprintf(out, "%s: %s\n", key, x ? "true" : "false"); }

static void key_string(FILE *out, const char *indent, const char *key, const char *s)
{
    fprintf(out, "%s%s: ", indent, key);
    put_string(out, s);
    fputc('\n', out);
}

static void moves(FILE *out, const char *key, const int *w)
{
    fprintf(out, "%s: {", key);
    for (int i = 0; i < FUSE2_NUM_MOVES; i++) fprintf(out, "%s%d: %d", i ? ", " : "", i + 1, w[i]);
    fputs("}\n", out);
}

fuse2_status fuse2_config_write_yaml(FILE *out, const fuse2_config *cfg)
{
    static const char *const gn_search[] = {"rand", "tpe", "pso"};
    static const char *const gn_rank[] = {"none", "opti", "single"};
    const fuse2_composition *comp = &cfg->composition;
    char formula[256];
    fuse2_composition_format(comp, formula, sizeof formula);

    fprintf(out, "# fuse2-mpi campaign, resolved from ");
    put_string(out, cfg->source ? cfg->source : "");
    fprintf(out, " (every default filled in)\n\n# ---- system, generator, checks ----\n");
    fprintf(out, "composition: {");
    for (int i = 0; i < comp->nelements; i++)
        fprintf(out, "%s%s: %d", i ? ", " : "", fuse2_element_by_z(comp->z[i])->symbol, comp->count[i]);
    fprintf(out, "}  # %s\n", formula);
    char c1[160];
    snprintf(c1, sizeof c1, "max_fus = %d", cfg->max_fus);
    key_int(out, "", "max_atoms", cfg->max_atoms, c1);
    snprintf(c1, sizeof c1, "imax_fus = %d", cfg->imax_fus);
    key_int(out, "", "imax_atoms", cfg->imax_atoms, c1);
    key_int(out, "", "max_ax", cfg->max_ax, NULL);
    key_double(out, "", "ap_scale", cfg->ap_scale, NULL);
    if (cfg->fixed_ap > 0) key_double(out, "", "fixed_ap", cfg->fixed_ap, "A");
    else fprintf(out, "# fixed_ap: not set\n");
    fprintf(out, "system_type: \"neutral\"\n");
    key_int(out, "", "vac_ratio", cfg->vac_ratio, NULL);
    key_double(out, "", "density_cutoff", cfg->density_cutoff, NULL);
    key_bool(out, "check_distances", cfg->check_distances);
    key_double(out, "", "dist_cutoff", cfg->dist_cutoff, "A");
    key_bool(out, "check_bonds", cfg->check_bonds);
    key_double(out, "", "btol", cfg->btol, NULL);
    key_double(out, "", "ratt_dist", cfg->ratt_dist, "A");
    key_bool(out, "use_spglib", cfg->use_spglib);

    fprintf(out, "\n# ---- search ----\n");
    key_int(out, "", "initial_gen", cfg->initial_gen, NULL);
    key_int(out, "", "iterations", cfg->iterations, "total relaxations of the campaign");
    key_int(out, "", "search", cfg->search, "basin hopping");
    key_int(out, "", "search_gen_bh", cfg->search_gen_bh, NULL);
    key_double(out, "", "T", cfg->T, "eV/atom");
    key_int(out, "", "melt_threshold", cfg->melt_threshold, NULL);
    key_int(out, "", "rmax", cfg->rmax, NULL);
    key_double(out, "", "e_prec", cfg->e_prec, "eV/atom");
    moves(out, "n_moves", cfg->n_moves);
    moves(out, "r_moves", cfg->r_moves);
    key_double(out, "", "grid_spacing", cfg->grid_spacing, "A");
    key_double(out, "", "exclusion", cfg->exclusion, "A");
    fprintf(out, "revert_atoms: %s\n",
            cfg->revert_atoms < 0 ? "null" : cfg->revert_atoms ? "true" : "false");

    fprintf(out, "\n# ---- ML pool ----\n");
    key_bool(out, "read_exisiting_structures", cfg->read_existing_structures);
    key_string(out, "", "path_to_structures", cfg->path_to_structures);
    key_bool(out, "pull_spp_rank", cfg->pull_spp_rank);
    key_bool(out, "pull_random", cfg->pull_random);
    key_bool(out, "generate_gn_boss_structures", cfg->generate_gn_boss_structures);
    key_string(out, "", "gn_boss_command", cfg->gn_boss_command);
    key_string(out, "", "gn_template_path", cfg->gn_template_path);
    fprintf(out, "gn_search: %s\n", gn_search[cfg->gn_search]);
    key_int(out, "", "gn_max_step", cfg->gn_max_step, NULL);
    fprintf(out, "gn_zn_range: [%d, %d]\n", cfg->gn_zn_range[0], cfg->gn_zn_range[1]);
    fprintf(out, "rank_gn_structures: %s\n", gn_rank[cfg->rank_gn_structures]);
    fprintf(out, "ranking: calculator\n");
    key_bool(out, "clear_previous_gn_structures", cfg->clear_previous_gn_structures);
    key_bool(out, "generate_structures_only", cfg->generate_structures_only);

    fprintf(out, "\n# ---- restart and output ----\n");
    key_bool(out, "restart", cfg->restart);
    key_bool(out, "write_all_structures", cfg->write_all_structures);
    key_string(out, "", "output_dir", cfg->output_dir);
    key_string(out, "", "campaign_file", cfg->campaign_file);
    key_string(out, "", "stop_file", cfg->stop_file);

    fprintf(out, "\n# ---- fuse2-mpi ----\n");
    key_int(out, "", "walkers", cfg->walkers, NULL);
    key_double(out, "", "checkpoint_interval", cfg->checkpoint_interval, "s");
    key_int(out, "", "progress_steps", cfg->progress_steps,
            cfg->progress_steps > 0 ? "decided steps per progress line" : "0 = a progress line every 10 s");
    fprintf(out, "seed: %" PRIu64 "\n", cfg->seed);
    key_double(out, "", "symprec", cfg->symprec, "A");
    key_double(out, "", "submodule_shrink", cfg->submodule_shrink, NULL);
    if (cfg->has_oxidation_states) {
        fprintf(out, "oxidation_states: {");
        for (int i = 0; i < comp->nelements; i++)
            fprintf(out, "%s%s: %d", i ? ", " : "", fuse2_element_by_z(comp->z[i])->symbol,
                    cfg->oxidation_state[i]);
        fputs("}\n", out);
    } else {
        fprintf(out, "# oxidation_states: not set (ap from atomic radii)\n");
    }

    fprintf(out, "\n# ---- calculator ----\ncalculator:\n");
    key_string(out, "  ", "name", cfg->calc_name ? cfg->calc_name : "");
    for (int i = 0; i < cfg->calc_settings.count; i++)
        key_string(out, "  ", cfg->calc_settings.items[i].key, cfg->calc_settings.items[i].value);
    fprintf(out, "relax:\n  optimizer: %s\n", fuse2_optimizer_name(cfg->relax.optimizer));
    key_double(out, "  ", "fmax", cfg->relax.fmax, "eV/A");
    key_double(out, "  ", "smax", cfg->relax.smax, "eV/A^3");
    key_int(out, "  ", "max_steps", cfg->relax.max_steps, NULL);
    key_double(out, "  ", "max_step", cfg->relax.max_step, "A");
    fprintf(out, "  fixed_cell: %s\n", cfg->relax.fixed_cell ? "true" : "false");
    char pc[64], b[40];
    snprintf(pc, sizeof pc, "GPa = %s eV/A^3", num(b, sizeof b, cfg->relax.pressure));
    key_double(out, "  ", "pressure", cfg->pressure_gpa, pc);
    key_double(out, "  ", "time_limit", cfg->relax.time_limit, "s, 0 = none");
    key_double(out, "  ", "hard_core_fraction", cfg->relax.hard_core_fraction, NULL);
    key_int(out, "  ", "lbfgs_memory", cfg->relax.lbfgs_memory, NULL);
    key_double(out, "  ", "fire_switch_fmax", cfg->relax.fire_switch_fmax, "eV/A");

    fprintf(out, "\n# ---- derived ----\n");
    fprintf(out, "# apfu: %d\n# formula unit:", cfg->apfu);
    for (int i = 0; i < cfg->apfu; i++) fprintf(out, " %s", fuse2_element_by_z(cfg->fu_species[i])->symbol);
    fprintf(out, "\n# max_fus: %d\n# imax_fus: %d\n", cfg->max_fus, cfg->imax_fus);
    fprintf(out, "# ap: %s A (%s)\n", num(b, sizeof b, cfg->ap),
            cfg->fixed_ap > 0 ? "fixed_ap"
            : cfg->has_oxidation_states ? "2 (mean cation + mean anion Shannon radius) x ap_scale"
                                        : "4 x mean FUSE atomic radius x ap_scale");
    fprintf(out, "# sub-module: %.4f x %.4f x %.4f A\n", cfg->ap, cfg->ap, cfg->ap / 2);
    fprintf(out, "# rho_ideal: %.4f amu/A^3\n", cfg->rho_ideal);
    if (ferror(out)) return FUSE2_RAISE(FUSE2_ERR_IO, "cannot write the configuration");
    return FUSE2_OK;
}
