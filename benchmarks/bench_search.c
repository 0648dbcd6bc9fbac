/* Speed of the search engine without relaxation (issue 3): generated
 * structures per second, moves per second, and as the reference measured in
 * the same run, built-in energy+forces+stress evaluations per second on the
 * same structures (a basin-hopping step costs one relaxation, i.e. 10^2-10^3
 * evaluations, so moves and generation must stay far below one evaluation).
 *
 * usage: bench_search LIBRARY [seconds per measurement]   (units: s, eV, Å) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuse2/builtin.h"
#include "fuse2/config.h"
#include "fuse2/search.h"
#include "fuse2/gen.h"
#include "fuse2/moves.h"
#include "fuse2/submodule.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

#define CHECK(expr)                                                                   \
    do {                                                                              \
        if ((expr) != FUSE2_OK) {                                                     \
            fprintf(stderr, "bench_search: %s: %s\n", #expr, fuse2_error_message()); \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

typedef struct setup {
    fuse2_gen_params p;
    fuse2_gen_constants c;
    fuse2_shape_tables tables;
} setup;

static void make_setup(const char *formula, int max_atoms, setup *s)
{
    fuse2_gen_params_default(&s->p);
    CHECK(fuse2_composition_parse(formula, &s->p.composition));
    int apfu = fuse2_composition_atoms_per_formula(&s->p.composition);
    if (max_atoms < apfu) max_atoms = apfu; /* at least one formula unit */
    s->p.max_atoms = s->p.imax_atoms = max_atoms;
    CHECK(fuse2_gen_constants_compute(&s->p, &s->c));
    memset(&s->tables, 0, sizeof s->tables);
    CHECK(fuse2_shape_tables_build(s->p.max_ax, &s->tables));
}

/* Structures per second from the original generator, with or without spglib. */
static double generation_rate(setup *s, int symmetrize, double seconds, double *mean_atoms)
{
    fuse2_structure out = {0};
    long n = 0, atoms = 0;
    double t0 = now();
    while (now() - t0 < seconds) {
        fuse2_rng rng;
        fuse2_rng_init(&rng, 2026, 0, (uint32_t)n, FUSE2_RNG_PURPOSE_GEN_INITIAL);
        CHECK(fuse2_gen_structure(&s->p, &s->c, &s->tables, s->c.imax_fus, symmetrize, &rng, &out,
                                  NULL));
        atoms += out.natoms;
        n++;
    }
    double dt = now() - t0;
    fuse2_structure_free(&out);
    *mean_atoms = (double)atoms / n;
    return n / dt;
}

/* Moves per second (all 14 weighted 1) on NSTART structures generated with
 * the setup's limits, each decomposed into sub-modules first. */
enum { NSTART = 16 };
static double move_rate(setup *s, double seconds, double *mean_atoms, long used[FUSE2_MOVE_COUNT + 1])
{
    fuse2_structure start[NSTART];
    fuse2_submodules mods[NSTART];
    long total_atoms = 0;
    for (int k = 0; k < NSTART; k++) {
        memset(&start[k], 0, sizeof start[k]);
        memset(&mods[k], 0, sizeof mods[k]);
        fuse2_rng rng;
        fuse2_rng_init(&rng, 7, 0, (uint32_t)k, FUSE2_RNG_PURPOSE_GEN_INITIAL);
        CHECK(fuse2_gen_structure(&s->p, &s->c, &s->tables, s->c.max_fus, 1, &rng, &start[k], NULL));
        /* on the generator's edge, as a campaign does (fuse2/submodule.h) */
        CHECK(fuse2_submodules_decompose(&start[k], s->c.ap, &mods[k]));
        total_atoms += start[k].natoms;
    }
    int weights[FUSE2_MOVE_COUNT];
    for (int m = 0; m < FUSE2_MOVE_COUNT; m++) weights[m] = 1;
    fuse2_move_context ctx = {.gen = &s->p, .consts = &s->c, .tables = &s->tables,
                              .composition = &s->p.composition, .grid_spacing = 0.75,
                              .exclusion = 1.5, .pool = NULL};
    long nmoves = 0;
    fuse2_structure trial = {0};
    double t0 = now();
    while (now() - t0 < seconds) {
        fuse2_rng rng;
        fuse2_rng_init(&rng, 11, 0, (uint32_t)nmoves, 0x5301);
        ctx.rng = &rng;
        int k = (int)(nmoves % NSTART), move = 0;
        CHECK(fuse2_moves_make_trial(&ctx, weights, &start[k], &mods[k], &trial, &move));
        if (used) used[move]++;
        nmoves++;
    }
    double rate = nmoves / (now() - t0);
    fuse2_structure_free(&trial);
    for (int k = 0; k < NSTART; k++) {
        fuse2_structure_free(&start[k]);
        fuse2_submodules_free(&mods[k]);
    }
    *mean_atoms = (double)total_atoms / NSTART;
    return rate;
}

/* Basin-hopping steps per second for SrTiO3 with the built-in calculator:
 * a campaign of `iterations` relaxations (10 initial, the rest steps of one
 * walker) in a temporary directory. */
static void basin_hopping_rate(const char *library, int max_atoms, int iterations)
{
    char dir[] = "/tmp/fuse2-bench-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/campaign.yaml", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fprintf(f,
            "composition: SrTiO3\nmax_atoms: %d\nimax_atoms: %d\nseed: 4242\n"
            "initial_gen: 10\niterations: %d\nrmax: 100000\nwalkers: 1\n"
            "write_all_structures: false\n"
            "calculator:\n  name: builtin\n  library: %s\n  c6: true\n"
            "relax:\n  fmax: 0.05\n  smax: 0.0005\n  max_steps: 500\n",
            max_atoms, max_atoms, iterations, library);
    fclose(f);
    fuse2_config cfg;
    CHECK(fuse2_config_init(&cfg));
    CHECK(fuse2_config_load(path, &cfg));
    fuse2_campaign_options opt = {0};
    fuse2_campaign_summary sum;
    CHECK(fuse2_campaign_run_serial(&cfg, &opt, &sum));
    printf("%9d %12d %12.1f %14.1f %12.5f\n", max_atoms, sum.relaxations, sum.steps / sum.wall_seconds,
           sum.relaxations / sum.wall_seconds, sum.best_score);
    fuse2_config_free(&cfg);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench_search: could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_search LIBRARY [seconds per measurement]\n");
        return 2;
    }
    const double seconds = argc > 2 ? atof(argv[2]) : 1.0;
    /* the campaign YAML lives in a temporary directory: relative library
     * paths would be resolved against it */
    char *library = realpath(argv[1], NULL);
    if (!library) {
        perror(argv[1]);
        return 1;
    }
    printf("# fuse2 search engine speed without relaxation; reference: built-in energy+forces\n");
    printf("# generator (FUSE2 defaults, max_atoms = imax_atoms = max(40, one formula unit), one core)\n");
    printf("%-20s %14s %14s %12s\n", "composition", "structures/s", "with spglib/s", "mean atoms");
    const char *formulas[] = {"SrTiO3", "Ca3Ti2O7", "Mn", "CoAs2", "Li4OBrCl", "Si6Al6B3Fe3NaO30F"};
    for (size_t k = 0; k < sizeof formulas / sizeof formulas[0]; k++) {
        setup s;
        make_setup(formulas[k], 40, &s);
        double mean, mean2;
        double plain = generation_rate(&s, 0, seconds, &mean);
        double sym = generation_rate(&s, 1, seconds, &mean2);
        printf("%-20s %14.0f %14.0f %12.1f\n", formulas[k], plain, sym, mean);
        fuse2_shape_tables_free(&s.tables);
    }

    /* SrTiO3 from 1 to 8 formula units: generator and moves by size */
    printf("# SrTiO3 by size: generator (max_atoms = imax_atoms) and moves (all 14 weighted 1) on %d\n"
           "# generated structures of up to max_atoms atoms, one core\n", NSTART);
    printf("%9s %14s %14s %12s %10s %12s\n", "max_atoms", "structures/s", "with spglib/s", "mean atoms", "moves/s",
           "mean atoms");
    const int sizes[4] = {5, 10, 20, 40};
    for (int k = 0; k < 4; k++) {
        setup z;
        make_setup("SrTiO3", sizes[k], &z);
        double mean, mean2, mean3;
        double plain = generation_rate(&z, 0, seconds, &mean);
        double sym = generation_rate(&z, 1, seconds, &mean2);
        double moves = move_rate(&z, 2 * seconds, &mean3, NULL);
        printf("%9d %14.0f %14.0f %12.1f %10.0f %12.1f\n", sizes[k], plain, sym, mean, moves, mean3);
        fuse2_shape_tables_free(&z.tables);
    }

    /* moves on generated SrTiO3 structures of up to 40 atoms, and the reference */
    setup s;
    make_setup("SrTiO3", 40, &s);
    fuse2_potential_set pot;
    fuse2_potential_set_init(&pot);
    CHECK(fuse2_gulp_library_read(library, &pot));
    fuse2_builtin_options bo;
    fuse2_builtin_options_default(&bo);
    bo.c6 = 1;
    fuse2_builtin *calc;
    CHECK(fuse2_builtin_create(&pot, &bo, &calc));
    long used[FUSE2_MOVE_COUNT + 1] = {0};
    double mean_start;
    double rate = move_rate(&s, 2 * seconds, &mean_start, used);
    /* the reference: evaluations on the same kind of structures */
    fuse2_structure start[NSTART];
    for (int k = 0; k < NSTART; k++) {
        memset(&start[k], 0, sizeof start[k]);
        fuse2_rng rng;
        fuse2_rng_init(&rng, 7, 0, (uint32_t)k, FUSE2_RNG_PURPOSE_GEN_INITIAL);
        CHECK(fuse2_gen_structure(&s.p, &s.c, &s.tables, s.c.max_fus, 1, &rng, &start[k], NULL));
    }
    fuse2_calc_result r;
    fuse2_calc_result_init(&r);
    long nevals = 0;
    double t0 = now();
    while (now() - t0 < seconds) {
        CHECK(fuse2_builtin_compute(calc, &start[nevals % NSTART], &r));
        nevals++;
    }
    double eval_rate = nevals / (now() - t0);
    printf("# moves: all 14 weighted 1, on %d generated SrTiO3 structures (mean %.1f atoms)\n",
           NSTART, mean_start);
    printf("moves/s %.0f; built-in energy+forces+stress evaluations/s %.0f; "
           "one move costs %.2f evaluations\n",
           rate, eval_rate, eval_rate / rate);
    printf("moves used:");
    for (int m = 1; m <= FUSE2_MOVE_COUNT; m++) printf(" %d:%ld", m, used[m]);
    printf("\n");
    printf("# basin hopping, SrTiO3, built-in calculator (lib2-type model + c6), one walker,\n"
           "# relaxation fmax 0.05 eV/A, whole campaign wall time (initial population included)\n");
    printf("%9s %12s %12s %14s %12s\n", "max_atoms", "relaxations", "steps/s", "relaxations/s",
           "best eV/atom");
    for (int k = 0; k < 4; k++) basin_hopping_rate(library, sizes[k], 80);
    fuse2_calc_result_free(&r);
    for (int k = 0; k < NSTART; k++) fuse2_structure_free(&start[k]);
    fuse2_builtin_destroy(calc);
    fuse2_potential_set_free(&pot);
    fuse2_shape_tables_free(&s.tables);
    free(library);
    return 0;
}
