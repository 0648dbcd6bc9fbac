/* The driver framework of the external calculators (fuse2/external.h):
 * pre-checks, a scratch directory per run, the run itself, the parser and
 * the mapping of outcomes onto relaxation results. A code's driver only
 * writes inputs and parses outputs. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuse2/clock.h"
#include "fuse2/external.h"
#include "fuse2/external_run.h"
#include "fuse2/neighbors.h"
#include "fuse2/relax.h"

const char *const fuse2_ext_common_keys[] = {"command",      "scratch",   "keep_scratch",  "time_limit",
                                             "min_distance", "isolation", "environment.*", NULL};

static fuse2_status nonnegative(const fuse2_settings *s, const char *key, double *out)
{
    const char *origin = NULL, *text = fuse2_settings_get(s, key, &origin);
    if (!text) return FUSE2_OK;
    FUSE2_CALL(fuse2_setting_parse_double(key, text, origin, out));
    if (*out < 0)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: '%s' must be >= 0 (got %s)", origin ? origin : "settings", key, text);
    return FUSE2_OK;
}

fuse2_status fuse2_ext_common_parse(const fuse2_settings *settings, const char *default_command, fuse2_ext_common *out)
{
    memset(out, 0, sizeof *out);
    out->min_distance = 1.0;
    const char *origin = NULL;
    const char *command = fuse2_settings_get(settings, "command", &origin);
    if (command && !*command)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "%s: 'command' is empty", origin ? origin : "settings");
    const char *scratch = fuse2_settings_get(settings, "scratch", NULL);
    char fallback[4096];
    if (!scratch || !*scratch) {
        const char *tmp = getenv("TMPDIR");
        snprintf(fallback, sizeof fallback, "%s/fuse2-scratch", tmp && *tmp ? tmp : "/tmp");
        scratch = fallback;
    }
    out->command = strdup(command ? command : default_command);
    out->scratch = strdup(scratch);
    if (!out->command || !out->scratch) {
        fuse2_ext_common_free(out);
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "external calculator settings");
    }
    fuse2_status st = FUSE2_OK;
    const char *keep = fuse2_settings_get(settings, "keep_scratch", &origin);
    if (keep) FUSE2_CALL_GOTO(st, fuse2_setting_parse_bool("keep_scratch", keep, origin, &out->keep_scratch), fail);
    FUSE2_CALL_GOTO(st, nonnegative(settings, "time_limit", &out->time_limit), fail);
    FUSE2_CALL_GOTO(st, nonnegative(settings, "min_distance", &out->min_distance), fail);
    FUSE2_CALL_GOTO(st, nonnegative(settings, "isolation", &out->isolation), fail);
    /* environment: {OMP_NUM_THREADS: 1} -> "OMP_NUM_THREADS=1" for the child */
    int nenv = 0;
    for (int i = 0; settings && i < settings->count; i++) nenv += !strncmp(settings->items[i].key, "environment.", 12);
    out->environment = calloc((size_t)nenv + 1, sizeof *out->environment);
    if (!out->environment) FUSE2_RAISE_GOTO(st, fail, FUSE2_ERR_NOMEM, "external calculator settings");
    for (int i = 0, k = 0; settings && i < settings->count; i++) {
        const fuse2_setting *it = &settings->items[i];
        if (strncmp(it->key, "environment.", 12)) continue;
        const char *name = it->key + 12;
        int valid = *name && !strchr(name, '.') && !strchr(name, '=');
        if (!valid)
            FUSE2_RAISE_GOTO(st, fail, FUSE2_ERR_ARG, "%s: '%s' is not an environment variable name",
                             it->origin ? it->origin : "settings", it->key);
        size_t len = strlen(name) + strlen(it->value) + 2;
        out->environment[k] = malloc(len);
        if (!out->environment[k]) FUSE2_RAISE_GOTO(st, fail, FUSE2_ERR_NOMEM, "external calculator settings");
        snprintf(out->environment[k++], len, "%s=%s", name, it->value);
    }
    return FUSE2_OK;
fail:
    fuse2_ext_common_free(out);
    return st;
}

void fuse2_ext_common_free(fuse2_ext_common *c)
{
    if (!c) return;
    free(c->command);
    free(c->scratch);
    for (char **e = c->environment; e && *e; e++) free(*e);
    free(c->environment);
    memset(c, 0, sizeof *c);
}

int fuse2_ext_precheck(const fuse2_structure *s, double min_distance, double isolation, char *reason, int size)
{
    if (s->natoms < 1) {
        snprintf(reason, (size_t)size, "no atoms");
        return 0;
    }
    for (int i = 0; i < s->natoms; i++)
        for (int k = 0; k < 3; k++)
            if (!isfinite(s->frac[i][k])) {
                snprintf(reason, (size_t)size, "atom %d has a non-finite coordinate", i + 1);
                return 0;
            }
    if (min_distance > 0) {
        double d = fuse2_structure_min_distance(s);
        if (!(d > min_distance)) {
            snprintf(reason, (size_t)size, "shortest interatomic distance %.4f A <= %.4f A (min_distance)", d,
                     min_distance);
            return 0;
        }
    }
    if (isolation > 0) {
        for (int i = 0; i < s->natoms; i++) {
            double nearest = INFINITY;
            for (int j = 0; j < s->natoms; j++) {
                double d = fuse2_periodic_distance(s, i, j);
                if (d < nearest) nearest = d;
            }
            if (!(nearest <= isolation)) {
                snprintf(reason, (size_t)size, "atom %d is isolated: nearest neighbour %.3f A > %.3f A (isolation)",
                         i + 1, nearest, isolation);
                return 0;
            }
        }
    }
    return 1;
}

/* <scratch>/<code>-XXXXXX, unique also across ranks sharing a file system. */
static fuse2_status make_scratch(const fuse2_ext_common *c, const char *code, char *path, int size)
{
    FUSE2_CALL(fuse2_make_directories(c->scratch));
    int n = snprintf(path, (size_t)size, "%s/%s-XXXXXX", c->scratch, code);
    if (n < 0 || n >= size) return FUSE2_RAISE(FUSE2_ERR_ARG, "scratch path %s too long", c->scratch);
    if (!mkdtemp(path))
        return FUSE2_RAISE(FUSE2_ERR_IO, "cannot create a scratch directory in %s: %s", c->scratch, strerror(errno));
    return FUSE2_OK;
}

fuse2_status fuse2_ext_run_driver(const fuse2_ext_driver *d, void *state, const fuse2_ext_common *c,
                                  const fuse2_structure *s, const fuse2_relax_options *opt, int single_point,
                                  fuse2_ext_output *out, char *workdir, int workdir_size)
{
    if (!d || !c || !s || !out) return FUSE2_RAISE(FUSE2_ERR_ARG, "external run: missing argument");
    fuse2_ext_output_reset(out);
    char dir[4096] = "";
    if (workdir && workdir_size > 0) workdir[0] = '\0';
    char reason[FUSE2_REASON_LEN];
    if (!fuse2_ext_precheck(s, c->min_distance, c->isolation, reason, sizeof reason)) {
        fuse2_ext_output_fail(out, FUSE2_EXT_UNPHYSICAL, "before running %s: %s", d->code, reason);
        return FUSE2_OK;
    }
    FUSE2_CALL(make_scratch(c, d->code, dir, sizeof dir));
    if (workdir) snprintf(workdir, (size_t)workdir_size, "%s", dir);
    fuse2_status wst = d->write_inputs(state, dir, s, opt, single_point);
    if (wst != FUSE2_OK) { /* nothing ran: no directory to inspect */
        fuse2_remove_tree(dir);
        if (workdir) workdir[0] = '\0';
        fuse2_error_push_frame(__FILE__, __LINE__, __func__);
        return wst;
    }

    double limit = c->time_limit;
    if (opt && opt->time_limit > 0 && (limit <= 0 || opt->time_limit < limit)) limit = opt->time_limit;
    fuse2_ext_command cmd = {
        .command = c->command,
        .workdir = dir,
        .stdin_file = d->stdin_file,
        .stdout_file = d->stdout_file,
        .time_limit = limit,
        .interrupt = opt ? opt->interrupt : NULL,
        .interrupt_user = opt ? opt->interrupt_user : NULL,
        .extra_env = (const char *const *)c->environment,
    };
    fuse2_ext_process proc;
    FUSE2_CALL(fuse2_ext_run(&cmd, &proc));
    FUSE2_CALL(d->parse(state, dir, s, out));

    char how[160];
    fuse2_ext_process_describe(&proc, limit, how, sizeof how);
    if (proc.interrupted) {
        fuse2_ext_output_fail(out, FUSE2_EXT_CRASHED, "interrupted");
        snprintf(out->signature, sizeof out->signature, "interrupted");
    } else if (proc.timed_out) {
        fuse2_ext_output_fail(out, FUSE2_EXT_TIMED_OUT, "%s: %s", d->code, how);
    } else if (!proc.exited || proc.exit_code != 0) {
        /* the parser's specific diagnosis (a recognised fatal error) wins
         * over the bare exit status, and so does a complete run that did not
         * converge when the code ended by itself (pw.x exits 3 when nstep
         * runs out); anything it took for a success did not end well */
        int kept = out->outcome == FUSE2_EXT_NOT_CONVERGED && proc.exited;
        if (!kept && (!fuse2_ext_outcome_failed(out->outcome) || out->outcome == FUSE2_EXT_UNPARSABLE)) {
            char parsed[FUSE2_REASON_LEN];
            snprintf(parsed, sizeof parsed, "%s", out->reason);
            fuse2_ext_output_fail(out, FUSE2_EXT_CRASHED, "%s: %s%s%s", d->code, how, parsed[0] ? "; " : "", parsed);
        }
    }
    if (!fuse2_ext_outcome_failed(out->outcome) && !isfinite(out->energy))
        fuse2_ext_output_fail(out, FUSE2_EXT_NON_FINITE, "%s: energy %g", d->code, out->energy);
    if (!fuse2_ext_outcome_failed(out->outcome) && out->has_structure) {
        if (out->structure.natoms != s->natoms)
            fuse2_ext_output_fail(out, FUSE2_EXT_UNPARSABLE, "%s: final structure has %d atoms, input %d", d->code,
                                  out->structure.natoms, s->natoms);
        else if (!fuse2_ext_precheck(&out->structure, c->min_distance, 0, reason, sizeof reason))
            fuse2_ext_output_fail(out, FUSE2_EXT_UNPHYSICAL, "after %s: %s", d->code, reason);
    }
    if (!fuse2_ext_outcome_failed(out->outcome) && !c->keep_scratch) {
        FUSE2_CALL(fuse2_remove_tree(dir));
        if (workdir) workdir[0] = '\0';
    }
    return FUSE2_OK;
}

static fuse2_relax_status relax_status_of(const fuse2_ext_output *o)
{
    switch (o->outcome) {
    case FUSE2_EXT_CONVERGED: return FUSE2_RELAX_CONVERGED;
    case FUSE2_EXT_NOT_CONVERGED: return FUSE2_RELAX_MAX_STEPS;
    case FUSE2_EXT_TIMED_OUT: return FUSE2_RELAX_TIMED_OUT;
    default: return strcmp(o->signature, "interrupted") ? FUSE2_RELAX_FAILED : FUSE2_RELAX_INTERRUPTED;
    }
}

fuse2_status fuse2_ext_output_to_relax_result(const fuse2_ext_output *out, const char *dir, fuse2_structure *s,
                                              const fuse2_relax_options *opt, fuse2_relax_result *result)
{
    if (!out || !s || !result) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_ext_output_to_relax_result: NULL argument");
    if (!dir) dir = "";
    result->status = relax_status_of(out);
    result->steps = out->ionic_steps > 0 ? out->ionic_steps : 0;
    result->evaluations = result->steps;
    /* "<class>: <why> (kept in <dir>)": the class first, since stores cut long reasons */
    result->reason[0] = '\0';
    if (out->outcome != FUSE2_EXT_CONVERGED) {
        char text[2 * FUSE2_REASON_LEN + 4096 + 64];
        snprintf(text, sizeof text, "%s: %s%s%s%s", fuse2_ext_outcome_name(out->outcome), out->reason,
                 dir[0] ? " (kept in " : "", dir, dir[0] ? ")" : "");
        size_t len = strlen(text);
        if (len >= sizeof result->reason) len = sizeof result->reason - 1;
        memcpy(result->reason, text, len);
        result->reason[len] = '\0';
    }
    if (out->has_structure && out->structure.natoms == s->natoms) FUSE2_CALL(fuse2_structure_copy(s, &out->structure));
    int n = s->natoms;
    FUSE2_CALL(fuse2_calc_result_reset(&result->final, n));
    result->energy = out->energy;
    result->energy_per_atom = n > 0 ? out->energy / n : NAN;
    result->final.energy = result->energy;
    result->final.energy_per_atom = result->energy_per_atom;
    double P = opt ? opt->pressure : 0;
    result->enthalpy = out->energy + P * fabs(fuse2_structure_volume(s));
    result->max_force = NAN;
    result->max_stress = NAN;
    if (out->has_forces && out->structure.natoms == n) {
        memcpy(result->final.forces, out->forces, (size_t)n * sizeof result->final.forces[0]);
        result->max_force = fuse2_max_force((const double(*)[3])out->forces, n);
    }
    if (out->has_stress) {
        memcpy(result->final.stress, out->stress, sizeof result->final.stress);
        result->max_stress = fuse2_max_stress((const double(*)[3])out->stress, P);
    }
    return FUSE2_OK;
}

fuse2_status fuse2_ext_relax(const fuse2_ext_driver *d, void *state, const fuse2_ext_common *c, fuse2_structure *s,
                             const fuse2_relax_options *opt, fuse2_relax_result *result)
{
    fuse2_ext_output out;
    fuse2_ext_output_init(&out);
    char dir[4096];
    fuse2_status st = fuse2_ext_run_driver(d, state, c, s, opt, 0, &out, dir, sizeof dir);
    if (st == FUSE2_OK) st = fuse2_ext_output_to_relax_result(&out, dir, s, opt, result);
    fuse2_ext_output_free(&out);
    FUSE2_CALL(st);
    return FUSE2_OK;
}

fuse2_status fuse2_ext_output_to_calc_result(const char *code, const fuse2_ext_output *out, const char *dir,
                                             const fuse2_structure *s, fuse2_calc_result *result)
{
    if (!out || !s || !result) return FUSE2_RAISE(FUSE2_ERR_ARG, "fuse2_ext_output_to_calc_result: NULL argument");
    if (!dir) dir = "";
    if (fuse2_ext_outcome_failed(out->outcome))
        return FUSE2_RAISE(FUSE2_ERR_EXTERNAL, "%s single point %s: %s%s%s", code ? code : "external",
                           fuse2_ext_outcome_name(out->outcome), out->reason, dir[0] ? "; files in " : "", dir);
    FUSE2_CALL(fuse2_calc_result_reset(result, s->natoms));
    result->energy = out->energy;
    result->energy_per_atom = out->energy / s->natoms;
    if (out->has_forces && out->structure.natoms == s->natoms)
        memcpy(result->forces, out->forces, (size_t)s->natoms * sizeof result->forces[0]);
    if (out->has_stress) memcpy(result->stress, out->stress, sizeof result->stress);
    return FUSE2_OK;
}

fuse2_status fuse2_ext_compute(const fuse2_ext_driver *d, void *state, const fuse2_ext_common *c,
                               const fuse2_structure *s, fuse2_calc_result *result)
{
    fuse2_ext_output out;
    fuse2_ext_output_init(&out);
    char dir[4096];
    fuse2_status st = fuse2_ext_run_driver(d, state, c, s, NULL, 1, &out, dir, sizeof dir);
    if (st == FUSE2_OK) st = fuse2_ext_output_to_calc_result(d->code, &out, dir, s, result);
    fuse2_ext_output_free(&out);
    if (st != FUSE2_OK) fuse2_error_push_frame(__FILE__, __LINE__, __func__);
    return st;
}
