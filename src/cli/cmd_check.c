/* fuse2 check: validate a campaign file and print the resolved configuration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fuse2/config.h"

void cmd_check_help(FILE *out)
{
    fprintf(out,
            "usage: fuse2 check CAMPAIGN.yaml\n\n"
            "Validates a campaign file (docs/campaign-config.md) and prints the resolved\n"
            "configuration as YAML: every default filled in, relative paths made absolute,\n"
            "derived values (atoms per formula unit, max_fus, sub-module edge ap, ideal\n"
            "density) as comments. The output is itself a valid campaign file. The\n"
            "calculator is created once, so its settings and potential library are\n"
            "checked too.\n\n"
            "Exit status: 0 if the file is valid, 1 if not (every problem is printed as\n"
            "file:line: message on stderr), 2 for a usage error.\n");
}

int cmd_check(int argc, char **argv)
{
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '-' && !file) file = argv[i];
        else return cli_usage_error("check", "unknown option '%s'", argv[i]);
    }
    if (!file) return cli_usage_error("check", "no campaign file given");
    fuse2_config cfg;
    if (fuse2_config_load(file, &cfg) != FUSE2_OK) {
        fprintf(stderr, "%s\n", fuse2_error_message());
        if (getenv("FUSE2_DEBUG")) fprintf(stderr, "%s\n", fuse2_error_trace());
        fprintf(stderr, "fuse2 check: %s is not a valid campaign file\n", file);
        return 1;
    }
    /* the loader checks key names; making the calculator once checks the
     * values, the files and the composition's elements */
    fuse2_calc calc;
    if (fuse2_config_calculator_create(&cfg, &calc) != FUSE2_OK) {
        fprintf(stderr, "%s\n", fuse2_error_message());
        fprintf(stderr, "fuse2 check: %s is not a valid campaign file\n", file);
        fuse2_config_free(&cfg);
        return 1;
    }
    fuse2_calc_destroy(&calc);
    int rc = 0;
    if (fuse2_config_write_yaml(stdout, &cfg) != FUSE2_OK) rc = cli_fail("check");
    fuse2_config_free(&cfg);
    return rc;
}
