/* fuse2-mpi: runs a campaign from its YAML file. For now the serial driver
 * (fuse2_campaign_run_serial) does everything in one process; the MPI
 * runtime (issue 4) will keep the decisions on rank 0 and hand the
 * relaxations to worker ranks. */
#include <stdio.h>
#include <string.h>

#include "fuse2/config.h"
#include "fuse2/error.h"
#include "fuse2/search.h"

static void print_line(void *user, const char *line)
{
    FILE *out = user;
    fprintf(out, "%s\n", line);
    fflush(out);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: fuse2-mpi campaign.yaml\n"
                 "Runs the basin-hopping campaign described by the YAML file\n"
                 "(docs/campaign-config.md, docs/basin-hopping.md).\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    if (argc != 2) {
        usage(stderr);
        return 1;
    }
    fuse2_config cfg;
    if (fuse2_config_load(argv[1], &cfg) != FUSE2_OK) {
        fprintf(stderr, "fuse2-mpi: %s\n", fuse2_error_message());
        return 1;
    }
    fuse2_campaign_options opt = {.log = print_line, .log_user = stdout, .progress_every = 10};
    fuse2_campaign_summary sum;
    fuse2_status st = fuse2_campaign_run_serial(&cfg, &opt, &sum);
    if (st != FUSE2_OK) {
        fprintf(stderr, "fuse2-mpi: %s\n", fuse2_error_message());
        fuse2_config_free(&cfg);
        return 1;
    }
    printf("done: %d relaxations (%d initial), %d steps, %d walkers converged%s, best %.5f eV/atom, "
           "%.1f s; results in %s\n",
           sum.relaxations, sum.initial_relaxed, sum.steps, sum.walkers_converged,
           sum.stopped_by_file ? ", stopped by the stop file" : "", sum.best_score, sum.wall_seconds,
           cfg.output_dir);
    fuse2_config_free(&cfg);
    return 0;
}
