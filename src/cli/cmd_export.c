/* fuse2 export: structures of a campaign file as CIF or POSCAR files. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "fuse2/search.h"

enum { EXPORT_BLOCK = 8192 };

void cmd_export_help(FILE *out)
{
    fprintf(out,
            "usage: fuse2 export CAMPAIGN.h5 --best N [--format cif|poscar] [-o DIR] [--start]\n"
            "       fuse2 export CAMPAIGN.h5 --walker W --step S [--trial K] [...]\n"
            "       fuse2 export CAMPAIGN.h5 --member M [...]\n\n"
            "Writes structures of a campaign file (also while it is written) as files in DIR.\n\n"
            "  --best N        the N lowest energies per atom among the records that did not\n"
            "                  fail (ties: lower row first), as best-001_w<walker>_s<step>_t<trial>\n"
            "                  (initial-population members: best-001_m<member>), in energy order\n"
            "  --walker W --step S   the trials evaluated at step S of walker W, as\n"
            "                  w<W>_s<S>_t<trial>; --trial K only trial K\n"
            "  --member M      initial-population member M, as m<M>\n"
            "  --start         the structure before relaxation (and before the rattle)\n"
            "                  instead of the relaxed one; files get a _start suffix\n"
            "  --format FMT    cif (default, P1) or poscar (VASP 5, .vasp files)\n"
            "  -o DIR          output directory (default: the current one; created if missing)\n"
            "  --committed     only rows committed by the last checkpoint\n\n"
            "The CIF comment lines and the POSCAR comment line carry the record: row, walker,\n"
            "step, trial, move, status, energy per atom (eV/atom), energy (eV), space group.\n");
}

typedef struct candidate {
    double energy_per_atom;
    int64_t id;
} candidate;

static int compare_candidates(const void *a, const void *b)
{
    const candidate *x = a, *y = b;
    if (x->energy_per_atom != y->energy_per_atom) return x->energy_per_atom < y->energy_per_atom ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

typedef struct export_job {
    const char *campaign;
    const char *dir;
    fuse2_structure_format format;
    int start;
    fuse2_store *st;
    int64_t n_structures, n_steps;
    int walkers, initial_gen;
    int written;
} export_job;

static fuse2_status make_dir(const char *dir)
{
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) return FUSE2_RAISE(FUSE2_ERR_IO, "%s: exists and is not a directory", dir);
        return FUSE2_OK;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return FUSE2_RAISE(FUSE2_ERR_IO, "%s: cannot create the directory: %s", dir, strerror(errno));
    return FUSE2_OK;
}

static fuse2_status write_record(export_job *job, const fuse2_store_structure_row *row, const char *stem)
{
    fuse2_structure s = {0};
    FUSE2_CALL(fuse2_store_read_structure(job->st, row, job->start, &s));
    char formula[128], sg[16], where[96], path[4096], title[1024], comments[2048];
    fuse2_structure_formula(&s, formula, sizeof formula);
    if (row->spacegroup > 0) snprintf(sg, sizeof sg, "%d", row->spacegroup);
    else snprintf(sg, sizeof sg, "unknown");
    if (row->walker < 0) snprintf(where, sizeof where, "initial member %d", row->step);
    else
        snprintf(where, sizeof where, "walker %d step %d trial %d move %d", row->walker, row->step, row->trial,
                 row->move);
    const char *status = row->status >= 0 && row->status <= 2
                             ? fuse2_record_status_name((fuse2_record_status)row->status)
                             : "unknown";
    const char *which = job->start ? "start (before relaxation)" : "relaxed";
    const char *ext = job->format == FUSE2_FORMAT_CIF ? "cif" : "vasp";
    snprintf(path, sizeof path, "%s/%s%s.%s", job->dir, stem, job->start ? "_start" : "", ext);
    fuse2_status st;
    if (job->format == FUSE2_FORMAT_CIF) {
        snprintf(title, sizeof title, "%s_%s", formula, stem);
        snprintf(comments, sizeof comments,
                 "# fuse2 export of %s, structure row %lld: %s\n"
                 "# energy_per_atom %.10f eV/atom, energy %.10f eV, status %s, space group %s\n"
                 "# structure: %s\n",
                 job->campaign, (long long)row->id, where, row->energy_per_atom, row->energy, status, sg, which);
        st = fuse2_cif_write_commented(path, &s, title, comments);
    } else {
        snprintf(title, sizeof title, "%s %s E/atom %.10f eV/atom E %.10f eV %s SG %s row %lld %s", formula, where,
                 row->energy_per_atom, row->energy, status, sg, (long long)row->id, job->start ? "start" : "relaxed");
        st = fuse2_poscar_write(path, &s, title);
    }
    fuse2_structure_free(&s);
    FUSE2_CALL(st);
    printf("%s: %.6f eV/atom, %s, space group %s%s\n", path, row->energy_per_atom, where, sg,
           row->status == 2 ? " (failed relaxation)" : "");
    job->written++;
    return FUSE2_OK;
}

static void record_stem(const fuse2_store_structure_row *r, char *buf, size_t size, const char *prefix)
{
    if (r->walker < 0) snprintf(buf, size, "%sm%d", prefix, r->step);
    else snprintf(buf, size, "%sw%d_s%d_t%d", prefix, r->walker, r->step, r->trial);
}

static fuse2_status export_best(export_job *job, int nbest)
{
    fuse2_store_structure_row *rows = malloc(EXPORT_BLOCK * sizeof *rows);
    candidate *cand = NULL;
    int64_t ncand = 0, cap = 0;
    fuse2_status status = FUSE2_OK;
    if (!rows) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate %d rows", EXPORT_BLOCK);
    for (int64_t first = 0; first < job->n_structures; first += EXPORT_BLOCK) {
        int64_t n = job->n_structures - first < EXPORT_BLOCK ? job->n_structures - first : EXPORT_BLOCK;
        FUSE2_CALL_GOTO(status, fuse2_store_read_structure_rows(job->st, first, n, rows), out);
        for (int64_t i = 0; i < n; i++) {
            if (rows[i].status == 2 || !isfinite(rows[i].energy_per_atom)) continue;
            if (ncand == cap) {
                cap = cap ? 2 * cap : 4096;
                candidate *c = realloc(cand, (size_t)cap * sizeof *c);
                if (!c) FUSE2_RAISE_GOTO(status, out, FUSE2_ERR_NOMEM, "cannot allocate %lld candidates", (long long)cap);
                cand = c;
            }
            cand[ncand++] = (candidate){rows[i].energy_per_atom, rows[i].id};
        }
    }
    if (ncand == 0) FUSE2_RAISE_GOTO(status, out, FUSE2_ERR_ARG, "%s: no structure that did not fail", job->campaign);
    qsort(cand, (size_t)ncand, sizeof *cand, compare_candidates);
    if (ncand < nbest)
        fprintf(stderr, "fuse2 export: note: only %lld structures did not fail; writing them all\n", (long long)ncand);
    for (int k = 0; k < nbest && k < ncand; k++) {
        fuse2_store_structure_row row;
        char prefix[32], stem[96];
        FUSE2_CALL_GOTO(status, fuse2_store_read_structure_rows(job->st, cand[k].id, 1, &row), out);
        snprintf(prefix, sizeof prefix, "best-%03d_", k + 1);
        record_stem(&row, stem, sizeof stem, prefix);
        FUSE2_CALL_GOTO(status, write_record(job, &row, stem), out);
    }
out:
    free(rows);
    free(cand);
    return status;
}

/* The structure rows of walker W step S (trial K, or all with K < 0), or of
 * initial member M (walker -1, step M). Prefers the decided step row; trials
 * of a step not decided yet are found by a scan. */
static fuse2_status export_selection(export_job *job, int walker, int step, int trial)
{
    fuse2_status status = FUSE2_OK;
    fuse2_store_step_row *steps = NULL;
    fuse2_store_structure_row *rows = malloc(EXPORT_BLOCK * sizeof *rows);
    if (!rows) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot allocate %d rows", EXPORT_BLOCK);
    int64_t first_id = -1;
    int ntrials = 0, max_step = -1;
    if (walker >= 0) {
        steps = malloc(EXPORT_BLOCK * sizeof *steps);
        if (!steps) FUSE2_RAISE_GOTO(status, out, FUSE2_ERR_NOMEM, "cannot allocate %d step rows", EXPORT_BLOCK);
        for (int64_t first = 0; first < job->n_steps && first_id < 0; first += EXPORT_BLOCK) {
            int64_t n = job->n_steps - first < EXPORT_BLOCK ? job->n_steps - first : EXPORT_BLOCK;
            FUSE2_CALL_GOTO(status, fuse2_store_read_step_rows(job->st, first, n, steps), out);
            for (int64_t i = 0; i < n; i++) {
                if (steps[i].walker != walker) continue;
                if (steps[i].step > max_step) max_step = steps[i].step;
                if (steps[i].step == step && steps[i].first_structure + steps[i].ntrials <= job->n_structures) {
                    first_id = steps[i].first_structure;
                    ntrials = steps[i].ntrials;
                    break;
                }
            }
        }
    }
    /* collect matching rows (from the step row's range, or by a scan) */
    int found = 0, exported = 0, max_trial = -1;
    int64_t lo = first_id >= 0 ? first_id : 0, hi = first_id >= 0 ? first_id + ntrials : job->n_structures;
    for (int64_t first = lo; first < hi; first += EXPORT_BLOCK) {
        int64_t n = hi - first < EXPORT_BLOCK ? hi - first : EXPORT_BLOCK;
        FUSE2_CALL_GOTO(status, fuse2_store_read_structure_rows(job->st, first, n, rows), out);
        for (int64_t i = 0; i < n; i++) {
            const fuse2_store_structure_row *r = &rows[i];
            if (r->walker != walker || r->step != step) continue;
            found++;
            if (r->trial > max_trial) max_trial = r->trial;
            if (trial >= 0 && r->trial != trial) continue;
            char stem[96];
            record_stem(r, stem, sizeof stem, "");
            FUSE2_CALL_GOTO(status, write_record(job, r, stem), out);
            exported++;
        }
    }
    if (!found) {
        if (walker < 0)
            FUSE2_RAISE_GOTO(status, out, FUSE2_ERR_ARG,
                             "%s: no initial-population member %d (the campaign has members 0..%d)", job->campaign,
                             step, job->initial_gen - 1);
        if (max_step < 0)
            FUSE2_RAISE_GOTO(status, out, FUSE2_ERR_ARG, "%s: walker %d has no step %d (no step decided yet)",
                             job->campaign, walker, step);
        FUSE2_RAISE_GOTO(status, out, FUSE2_ERR_ARG, "%s: walker %d has no step %d (steps 0..%d are decided)",
                         job->campaign, walker, step, max_step);
    }
    if (!exported)
        FUSE2_RAISE_GOTO(status, out, FUSE2_ERR_ARG, "%s: %s %d %s %d has no trial %d (trials 0..%d)", job->campaign,
                         walker < 0 ? "initial" : "walker", walker < 0 ? 0 : walker,
                         walker < 0 ? "member" : "step", step, trial, max_trial);
out:
    free(rows);
    free(steps);
    return status;
}

int cmd_export(int argc, char **argv)
{
    const char *file = NULL, *dir = ".";
    int best = -1, walker = -1, step = -1, trial = -1, member = -1, start = 0, committed = 0;
    fuse2_structure_format format = FUSE2_FORMAT_CIF;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--start")) start = 1;
        else if (!strcmp(o, "--committed")) committed = 1;
        else if (!strcmp(o, "--best") || !strcmp(o, "--walker") || !strcmp(o, "--step") || !strcmp(o, "--trial") ||
                 !strcmp(o, "--member") || !strcmp(o, "--format") || !strcmp(o, "-o") || !strcmp(o, "--output")) {
            if (i + 1 >= argc) return cli_usage_error("export", "%s needs a value", o);
            const char *value = argv[++i];
            int *target = !strcmp(o, "--best") ? &best : !strcmp(o, "--walker") ? &walker
                        : !strcmp(o, "--step") ? &step : !strcmp(o, "--trial") ? &trial
                        : !strcmp(o, "--member") ? &member : NULL;
            if (target) {
                if (!cli_parse_int("export", o, value, target)) return 2;
                if (*target < 0) return cli_usage_error("export", "%s must be >= 0, got %d", o, *target);
            } else if (!strcmp(o, "--format")) {
                if (!cli_parse_format("export", value, &format)) return 2;
                if (format == FUSE2_FORMAT_GULP) return cli_usage_error("export", "export writes cif or poscar");
            } else dir = value;
        } else if (o[0] != '-' && !file) file = o;
        else return cli_usage_error("export", "unknown option '%s'", o);
    }
    if (!file) return cli_usage_error("export", "no campaign file given");
    int modes = (best >= 0) + (walker >= 0 || step >= 0) + (member >= 0);
    if (modes != 1) return cli_usage_error("export", "give one of --best N, --walker W --step S, --member M");
    if (best == 0) return cli_usage_error("export", "--best must be at least 1");
    if ((walker >= 0) != (step >= 0)) return cli_usage_error("export", "--walker and --step go together");
    if (trial >= 0 && walker < 0) return cli_usage_error("export", "--trial needs --walker and --step");

    export_job job = {file, dir, format, start, NULL, 0, 0, 0, 0, 0};
    fuse2_store_counts counts;
    fuse2_store_run_row run;
    int have_run, rc = 0;
    fuse2_status status = cli_campaign_open(file, &job.st, &counts, &run, &have_run);
    if (status == FUSE2_OK) {
        job.n_structures = counts.n_structures;
        job.n_steps = counts.n_steps;
        job.walkers = have_run ? run.walkers : 0;
        job.initial_gen = have_run ? run.initial_gen : 0;
        if (committed && counts.n_checkpoints > 0) {
            fuse2_store_checkpoint_row cp;
            status = fuse2_store_read_checkpoints(job.st, counts.n_checkpoints - 1, 1, &cp);
            if (status == FUSE2_OK && cp.n_structures < job.n_structures) job.n_structures = cp.n_structures;
            if (status == FUSE2_OK && cp.n_steps < job.n_steps) job.n_steps = cp.n_steps;
        } else if (committed) job.n_structures = job.n_steps = 0;
    }
    if (status == FUSE2_OK && walker >= 0 && walker >= job.walkers)
        status = FUSE2_RAISE(FUSE2_ERR_ARG, "%s: walker %d out of range (the campaign has %d walkers: 0..%d)", file,
                             walker, job.walkers, job.walkers - 1);
    if (status == FUSE2_OK && member >= 0 && member >= job.initial_gen)
        status = FUSE2_RAISE(FUSE2_ERR_ARG,
                             "%s: member %d out of range (the initial population has %d members: 0..%d)", file,
                             member, job.initial_gen, job.initial_gen - 1);
    if (status == FUSE2_OK) status = make_dir(dir);
    if (status == FUSE2_OK) {
        if (best > 0) status = export_best(&job, best);
        else if (member >= 0) status = export_selection(&job, -1, member, -1);
        else status = export_selection(&job, walker, step, trial);
    }
    if (status != FUSE2_OK) rc = cli_fail("export");
    if (job.st && fuse2_store_close(job.st) != FUSE2_OK && rc == 0) rc = cli_fail("export");
    return rc;
}
