/* Energy-vs-step plot of a campaign with cairo (image surface, PNG). */
#include "plot.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Colour-blind friendly first (Tableau 10), then darker variants. */
static const double palette[][3] = {
    {0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173}, {0.839, 0.153, 0.157},
    {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294}, {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498},
    {0.737, 0.741, 0.133}, {0.090, 0.745, 0.812}, {0.200, 0.200, 0.550}, {0.550, 0.150, 0.350},
};
enum { NPALETTE = sizeof palette / sizeof palette[0] };

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A tick spacing of 1, 2 or 5 times a power of ten giving about `target` ticks. */
static double nice_step(double range, int target)
{
    double raw = range / target;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static int tick_decimals(double step)
{
    int d = (int)-floor(log10(step) + 1e-9);
    return d < 0 ? 0 : d > 10 ? 10 : d;
}

static void text_at(cairo_t *cr, const char *text, double x, double y, double align_x, double align_y)
{
    cairo_text_extents_t ext;
    cairo_text_extents(cr, text, &ext);
    cairo_move_to(cr, x - align_x * ext.width - ext.x_bearing, y - align_y * ext.height - ext.y_bearing);
    cairo_show_text(cr, text);
}

/* The y range: lowest value to (upper quartile + 3 IQR) or the maximum,
 * whichever is lower, so rare outliers do not squash the low-energy part. */
static void y_range(const energy_plot *p, double *lo, double *hi)
{
    double *ys = malloc((size_t)(p->npoints > 0 ? p->npoints : 1) * sizeof *ys);
    double mn = INFINITY, mx = -INFINITY;
    for (int i = 0; i < p->nbest; i++)
        if (isfinite(p->best[i])) {
            if (p->best[i] < mn) mn = p->best[i];
            if (p->best[i] > mx) mx = p->best[i];
        }
    int64_t n = 0;
    for (int64_t i = 0; i < p->npoints; i++) {
        double y = p->points[i].y;
        if (!isfinite(y)) continue;
        if (ys) ys[n++] = y;
        if (y < mn) mn = y;
        if (y > mx) mx = y;
    }
    if (!isfinite(mn)) {
        mn = 0;
        mx = 1;
    }
    double top = mx;
    if (ys && n >= 8) {
        qsort(ys, (size_t)n, sizeof *ys, compare_doubles);
        double q1 = ys[n / 4], q3 = ys[(3 * n) / 4];
        double clip = q3 + 3 * (q3 - q1);
        if (q3 > q1 && clip < top) top = clip;
    }
    free(ys);
    if (top - mn < 1e-6 * (fabs(mn) + 1)) {
        double half = 0.05 * (fabs(mn) + 1e-3);
        mn -= half;
        top += half;
    }
    double pad = 0.05 * (top - mn);
    *lo = mn - pad;
    *hi = top + pad;
}

static uint32_t opaque_pixel(const double rgb[3])
{
    return 0xff000000u | (uint32_t)lround(rgb[0] * 255) << 16 | (uint32_t)lround(rgb[1] * 255) << 8 |
           (uint32_t)lround(rgb[2] * 255);
}

/* Releases cairo's and fontconfig's caches so that a leak checker
 * (FUSE2_SANITIZE builds) reports nothing; the CLI draws one plot per
 * process. */
static void release_font_caches(void)
{
    cairo_debug_reset_static_data();
    FcFini();
}

fuse2_status energy_plot_write_png(const energy_plot *p, const char *path)
{
    if (p->width < 200 || p->height < 150 || p->width > 20000 || p->height > 20000)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "plot size %dx%d: expected 200..20000 x 150..20000 pixels",
                           p->width, p->height);
    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, p->width, p->height);
    if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surface);
        return FUSE2_RAISE(FUSE2_ERR_NOMEM, "cannot create a %dx%d image", p->width, p->height);
    }
    cairo_t *cr = cairo_create(surface);
    const double W = p->width, H = p->height;
    const double fs = fmin(16, fmax(9, H / 45));
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, fs);

    /* plot area */
    const double left = 5.5 * fs + 20, right = W - 1.5 * fs, top = 2.6 * fs, bottom = H - 4.0 * fs;
    const double pw = right - left, ph = bottom - top;

    double xmax = 1;
    for (int64_t i = 0; i < p->npoints; i++)
        if (p->points[i].x > xmax) xmax = p->points[i].x;
    if (p->nbest - 1 > xmax) xmax = p->nbest - 1;
    const double xpad = 0.02 * xmax;
    const double x0 = -xpad, x1 = xmax + xpad;
    double y0, y1;
    y_range(p, &y0, &y1);
#define PX(x) (left + ((x) - x0) / (x1 - x0) * pw)
#define PY(y) (top + (y1 - (y)) / (y1 - y0) * ph)

    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);

    /* grid and tick labels */
    double xs = nice_step(x1 - x0, 8), ys = nice_step(y1 - y0, 7);
    if (xs < 1) xs = 1; /* steps are integers */
    char label[64];
    cairo_set_line_width(cr, 1);
    for (double t = ceil(x0 / xs) * xs; t <= x1 + 1e-9 * xs; t += xs) {
        double x = floor(PX(t)) + 0.5;
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, x, top);
        cairo_line_to(cr, x, bottom);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, x, bottom);
        cairo_line_to(cr, x, bottom + 0.4 * fs);
        cairo_stroke(cr);
        snprintf(label, sizeof label, "%.0f", fabs(t) < 0.5 ? 0.0 : t);
        text_at(cr, label, x, bottom + 0.6 * fs, 0.5, 0);
    }
    int yd = tick_decimals(ys);
    for (double t = ceil(y0 / ys) * ys; t <= y1 + 1e-9 * ys; t += ys) {
        double y = floor(PY(t)) + 0.5;
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, left, y);
        cairo_line_to(cr, right, y);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, left - 0.4 * fs, y);
        cairo_line_to(cr, left, y);
        cairo_stroke(cr);
        snprintf(label, sizeof label, "%.*f", yd, fabs(t) < 0.5 * ys ? 0.0 : t);
        text_at(cr, label, left - 0.6 * fs, y, 1, 0.5);
    }

    int64_t above = 0;
    if (p->npoints <= 20000) {
        /* few trials: round markers drawn by cairo */
        const double radius = fmax(2.0, fs / 4);
        for (int64_t i = 0; i < p->npoints; i++) {
            const plot_point *q = &p->points[i];
            if (!isfinite(q->y)) continue;
            if (q->y > y1) {
                above++;
                continue;
            }
            const double *c = palette[(q->series < 0 ? 0 : q->series) % NPALETTE];
            cairo_set_source_rgb(cr, c[0], c[1], c[2]);
            cairo_new_sub_path(cr);
            cairo_arc(cr, PX(q->x), PY(q->y), radius, 0, 2 * M_PI);
            cairo_fill(cr);
        }
    } else {
        /* Many trials: square markers straight into the pixel buffer; a
         * million cairo fills would take seconds, and overlapping markers
         * need no blending. */
        cairo_surface_flush(surface);
        unsigned char *data = cairo_image_surface_get_data(surface);
        const int stride = cairo_image_surface_get_stride(surface);
        const int msize = p->npoints > 200000 ? 2 : 3;
        const int ix0 = (int)ceil(left), ix1 = (int)floor(right), iy0 = (int)ceil(top), iy1 = (int)floor(bottom);
        for (int64_t i = 0; i < p->npoints; i++) {
            const plot_point *q = &p->points[i];
            if (!isfinite(q->y)) continue;
            if (q->y > y1) {
                above++;
                continue;
            }
            uint32_t pixel = opaque_pixel(palette[(q->series < 0 ? 0 : q->series) % NPALETTE]);
            int cx = (int)lround(PX(q->x)) - msize / 2, cy = (int)lround(PY(q->y)) - msize / 2;
            for (int dy = 0; dy < msize; dy++) {
                int yy = cy + dy;
                if (yy < iy0 || yy >= iy1) continue;
                uint32_t *row = (uint32_t *)(data + (size_t)yy * (size_t)stride);
                for (int dx = 0; dx < msize; dx++) {
                    int xx = cx + dx;
                    if (xx >= ix0 && xx < ix1) row[xx] = pixel;
                }
            }
        }
        cairo_surface_mark_dirty(surface);
    }

    /* best so far: a staircase, new minima are the steps down */
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, fmax(1.5, fs / 7));
    int started = 0;
    double last_y = 0;
    for (int s = 0; s < p->nbest; s++) {
        if (!isfinite(p->best[s])) continue;
        double y = PY(fmin(fmax(p->best[s], y0), y1));
        if (!started) {
            cairo_move_to(cr, PX(s), y);
            started = 1;
        } else {
            cairo_line_to(cr, PX(s), last_y);
            cairo_line_to(cr, PX(s), y);
        }
        last_y = y;
    }
    if (started) {
        cairo_line_to(cr, PX(p->nbest - 1 > 0 ? p->nbest - 1 : 0) + 1, last_y);
        cairo_stroke(cr);
    }

    /* frame, titles */
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, floor(left) + 0.5, floor(top) + 0.5, floor(pw), floor(ph));
    cairo_stroke(cr);
    text_at(cr, "walker step", left + pw / 2, H - 1.2 * fs, 0.5, 1);
    cairo_save(cr);
    cairo_translate(cr, 1.4 * fs, top + ph / 2);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, "energy per atom (eV/atom)", 0, 0, 0.5, 0.5);
    cairo_restore(cr);
    if (p->title) {
        cairo_save(cr);
        cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
        cairo_set_font_size(cr, fs * 1.15);
        text_at(cr, p->title, left + pw / 2, 0.7 * fs, 0.5, 0);
        cairo_restore(cr);
    }
    if (above > 0) {
        snprintf(label, sizeof label, "%lld trials above the range not shown", (long long)above);
        cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
        text_at(cr, label, left + 0.5 * fs, top + 0.5 * fs, 0, 0);
    }

    /* legend, top right inside the plot area */
    enum { MAX_LEGEND_WALKERS = 10 };
    int shown = p->nseries < MAX_LEGEND_WALKERS ? p->nseries : MAX_LEGEND_WALKERS;
    int lines = 1 + shown + (p->nseries > shown);
    char more[96] = "";
    if (p->nseries > shown)
        snprintf(more, sizeof more, "walkers %d-%d (colours repeat)", shown, p->nseries - 1);
    cairo_text_extents_t ext;
    cairo_text_extents(cr, more[0] ? more : "best so far", &ext);
    double box_w = fmax(ext.width, 7 * fs) + 3.2 * fs, line_h = 1.35 * fs;
    double bx = right - box_w - 0.6 * fs, by = top + 0.6 * fs;
    cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
    cairo_rectangle(cr, bx, by, box_w, lines * line_h + 0.6 * fs);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    cairo_stroke(cr);
    double ly = by + 0.3 * fs + 0.5 * line_h;
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, fmax(1.5, fs / 7));
    cairo_move_to(cr, bx + 0.5 * fs, ly);
    cairo_line_to(cr, bx + 2.0 * fs, ly);
    cairo_stroke(cr);
    text_at(cr, "best so far", bx + 2.6 * fs, ly, 0, 0.5);
    for (int s = 0; s < shown; s++) {
        ly += line_h;
        const double *c = palette[s % NPALETTE];
        cairo_set_source_rgb(cr, c[0], c[1], c[2]);
        cairo_new_sub_path(cr);
        cairo_arc(cr, bx + 1.25 * fs, ly, 0.3 * fs, 0, 2 * M_PI);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(label, sizeof label, "walker %d", s);
        text_at(cr, label, bx + 2.6 * fs, ly, 0, 0.5);
    }
    if (more[0]) {
        ly += line_h;
        text_at(cr, more, bx + 0.5 * fs, ly, 0, 0.5);
    }
#undef PX
#undef PY

    cairo_status_t cs = cairo_status(cr);
    cairo_destroy(cr);
    if (cs == CAIRO_STATUS_SUCCESS) cs = cairo_surface_write_to_png(surface, path);
    cairo_surface_destroy(surface);
    release_font_caches();
    if (cs != CAIRO_STATUS_SUCCESS)
        return FUSE2_RAISE(FUSE2_ERR_IO, "%s: cannot write the plot: %s", path, cairo_status_to_string(cs));
    return FUSE2_OK;
}
