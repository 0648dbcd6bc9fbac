/* The result record of an external run (fuse2/external.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2/external.h"
#include "fuse2/structure_io.h"

const char *fuse2_ext_outcome_name(fuse2_ext_outcome o)
{
    switch (o) {
    case FUSE2_EXT_CONVERGED: return "converged";
    case FUSE2_EXT_NOT_CONVERGED: return "not_converged";
    case FUSE2_EXT_CRASHED: return "crashed";
    case FUSE2_EXT_TIMED_OUT: return "timed_out";
    case FUSE2_EXT_UNPARSABLE: return "unparsable";
    case FUSE2_EXT_NON_FINITE: return "non_finite";
    case FUSE2_EXT_UNPHYSICAL: return "unphysical";
    }
    return "unknown";
}

int fuse2_ext_outcome_failed(fuse2_ext_outcome o) { return o != FUSE2_EXT_CONVERGED && o != FUSE2_EXT_NOT_CONVERGED; }

void fuse2_ext_output_init(fuse2_ext_output *o)
{
    memset(o, 0, sizeof *o);
    o->outcome = FUSE2_EXT_UNPARSABLE;
    o->energy = NAN;
    o->ionic_steps = -1;
}

void fuse2_ext_output_free(fuse2_ext_output *o)
{
    if (!o) return;
    fuse2_structure_free(&o->structure);
    free(o->forces);
    fuse2_ext_output_init(o);
}

void fuse2_ext_output_reset(fuse2_ext_output *o) { fuse2_ext_output_free(o); }

fuse2_status fuse2_ext_read_output(const char *path, char **text)
{
    size_t n;
    FUSE2_CALL(fuse2_file_read(path, text, &n));
    for (size_t i = 0; i < n; i++)
        if ((*text)[i] == '\0') (*text)[i] = ' ';
    return FUSE2_OK;
}

void fuse2_ext_output_fail(fuse2_ext_output *o, fuse2_ext_outcome outcome, const char *fmt, ...)
{
    o->outcome = outcome;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->reason, sizeof o->reason, fmt, ap);
    va_end(ap);
}
