/*
** report/svg.h: a tiny dependency-free SVG chart writer for the bench report:
** line charts (throughput against batch), grouped bar charts (cost per million
** inferences per target) and rooflines (one point per layer under each
** target's compute and bandwidth roofs).
**
** In:  plain arrays of doubles and names from the caller (the bench command).
** Out: a standalone .svg file (SVG 1.1, no scripts, no external fonts) that
**      browsers and rsvg-convert render; tests/cli/svg.sh checks that.
**
** Example:
**   double b[] = { 1, 8, 64 }, ips[] = { 900, 6100, 21000 };
**   struct tpu_svg_series s = { "h100", 3, b, ips, NULL };
**   struct tpu_svg_chart c = tpu_svg_chart_default("Throughput", "batch", "inferences/s");
**   c.x_log = true;
**   tpu_svg_line_chart(ctx, "throughput.svg", &c, &s, 1);
**
** Values that cannot be drawn (NaN, infinities, and <= 0 on a log axis) are
** skipped, not errors. Every writer returns TPU_ERR_IO naming the path when the
** file cannot be written, TPU_ERR_USAGE for empty input.
*/
#ifndef TPU_REPORT_SVG_H
#define TPU_REPORT_SVG_H

#include "tpu_impl.h"
#include <stdbool.h>

struct tpu_svg_chart {
    const char *title, *x_label, *y_label;
    bool        x_log, y_log;              /* log10 axes (roofline: always both) */
    bool        x_ticks_at_data;           /* line chart: tick the data's x values
                                              (e.g. batch 1, 8, 64) when <= 16    */
    int         width_px, height_px;       /* whole image                        */
};
struct tpu_svg_chart tpu_svg_chart_default(const char *title, const char *x_label, const char *y_label);

struct tpu_svg_series {
    const char   *name;                    /* legend entry                       */
    int           n;                       /* points                             */
    const double *x, *y;                   /* n values each (bar charts: y only) */
    const char  *const *labels;            /* optional per-point text, or NULL   */
};

/* One line (with markers) per series. */
enum tpu_status tpu_svg_line_chart(struct tpu_ctx *ctx, const char *path, const struct tpu_svg_chart *c,
                                   const struct tpu_svg_series *s, int n_series);

/* n_groups categories along x; in each, one bar per series (s[i].y[g], s[i].n
** must equal n_groups). x_log is ignored. */
enum tpu_status tpu_svg_bar_chart(struct tpu_ctx *ctx, const char *path, const struct tpu_svg_chart *c,
                                  const char *const *groups, int n_groups,
                                  const struct tpu_svg_series *s, int n_series);

struct tpu_svg_roof {
    const char *name;                      /* "h100 bf16"                        */
    double      peak_flops;                /* FLOP/s (or op/s)                   */
    double      bw_bytes_per_s;            /* memory bandwidth                   */
};
struct tpu_svg_point {
    const char *label;                     /* layer name, or NULL                */
    double      flops_per_byte;            /* arithmetic intensity (x)           */
    double      flops_per_s;               /* attained rate (y)                  */
    int         roof;                      /* index into roofs: colour, or -1    */
};
/* Log-log roofline: each roof is min(peak, bw x intensity); points on top. */
enum tpu_status tpu_svg_roofline(struct tpu_ctx *ctx, const char *path, const struct tpu_svg_chart *c,
                                 const struct tpu_svg_roof *roofs, int n_roofs,
                                 const struct tpu_svg_point *pts, int n_pts);

/* "1.5k", "989T", "0.25": the tick-label format, exposed for tests. */
const char *tpu_svg_fmt_si(double v, char *buf, size_t n);

#endif /* TPU_REPORT_SVG_H */
