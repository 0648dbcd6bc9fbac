/* PNG plot of a campaign's energies (fuse2 inspect --plot), drawn with cairo. */
#ifndef FUSE2_CLI_PLOT_H
#define FUSE2_CLI_PLOT_H

#include <stdint.h>

#include "fuse2/error.h"

/* One evaluated trial: walker step (x), energy per atom (y, eV/atom), walker. */
typedef struct plot_point {
    double y;
    int32_t x;
    int32_t series;
} plot_point;

typedef struct energy_plot {
    int width, height;          /* pixels */
    const char *title;
    int nseries;                /* walkers: one colour each (the palette cycles) */
    int64_t npoints;
    const plot_point *points;   /* failed records left out by the caller */
    int nbest;                  /* best-so-far value after each step 0..nbest-1 */
    const double *best;         /* eV/atom; NaN where nothing is known yet */
} energy_plot;

/* Writes the plot as a PNG: trials as small markers (one colour per walker),
 * the best-so-far line, axes with ticks and titles, a legend. The y range
 * runs from the lowest energy to the median plus a few interquartile ranges,
 * so that rare high-energy outliers do not flatten the interesting part. */
fuse2_status energy_plot_write_png(const energy_plot *p, const char *path);

#endif
