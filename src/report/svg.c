/*
** report/svg.c: writes line, grouped-bar and roofline charts as standalone SVG
** with no plotting dependency.
**
** In:  arrays of doubles and names (report/svg.h) from the bench command.
** Out: .svg files. The document is built in a growing buffer and written in one
**      go, so a failed allocation or write never leaves half a chart.
** How: a chart is a frame (title, axes, ticks, grid, labels, legend) plus marks;
**      axes map data to pixels linearly or by log10.
*/
#include "report/svg.h"
#include <errno.h>
#include <math.h>
#include <string.h>

static const char *const palette[] = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
};
#define N_COLOURS ((int)(sizeof palette / sizeof palette[0]))
#define MARGIN_L 84
#define MARGIN_R 176            /* room for the legend */
#define MARGIN_T 44
#define MARGIN_B 64
#define MAX_TICKS 40

/*---- Output buffer ----*/

struct svg {
    struct tpu_ctx *ctx;
    char           *buf;
    size_t          len, cap;
    bool            oom;
    int             x0, y0, x1, y1;          /* plot area in pixels (y0 top) */
};

static void put(struct svg *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct svg *s, const char *fmt, ...)
{
    if (s->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(s->buf ? s->buf + s->len : NULL, s->buf ? s->cap - s->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) { s->oom = true; return; }
        if (s->buf && s->len + (size_t)n < s->cap) { s->len += (size_t)n; return; }
        size_t cap = s->cap ? 2 * s->cap : 16384;
        while (cap < s->len + (size_t)n + 1) cap *= 2;
        char *p = tpu_realloc(s->ctx, s->buf, cap);
        if (!p) { s->oom = true; return; }
        s->buf = p, s->cap = cap;
    }
}

/* Text content or attribute value, XML-escaped. */
static void put_text(struct svg *s, const char *t)
{
    for (; t && *t; t++) {
        switch (*t) {
        case '&': put(s, "&amp;"); break;
        case '<': put(s, "&lt;"); break;
        case '>': put(s, "&gt;"); break;
        case '"': put(s, "&quot;"); break;
        case '\'': put(s, "&apos;"); break;
        default:
            if ((unsigned char)*t >= 0x20 || *t == '\t') put(s, "%c", *t);   /* drop control chars */
        }
    }
}

static void put_label(struct svg *s, double x, double y, const char *anchor, int size,
                      const char *extra, const char *text)
{
    put(s, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\"%s>", x, y, anchor, size, extra);
    put_text(s, text);
    put(s, "</text>\n");
}

static enum tpu_status svg_finish(struct svg *s, const char *path)
{
    put(s, "</svg>\n");
    enum tpu_status rc = TPU_STATUS_OK;
    if (s->oom) rc = tpu_err(s->ctx, TPU_ERR_NOMEM, "%s: out of memory building the chart", path);
    FILE *f = rc == TPU_STATUS_OK ? fopen(path, "wb") : NULL;
    if (rc == TPU_STATUS_OK && !f) rc = tpu_err(s->ctx, TPU_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    if (f) {
        size_t w = fwrite(s->buf, 1, s->len, f);
        if (fclose(f) != 0 || w != s->len) rc = tpu_err(s->ctx, TPU_ERR_IO, "%s: write failed", path);
    }
    free(s->buf);
    return rc;
}

/*---- Numbers and axes ----*/

const char *tpu_svg_fmt_si(double v, char *buf, size_t n)
{
    static const struct { double scale; const char *suffix; } si[] = {
        { 1e15, "P" }, { 1e12, "T" }, { 1e9, "G" }, { 1e6, "M" }, { 1e3, "k" },
    };
    double a = fabs(v);
    for (size_t i = 0; i < sizeof si / sizeof si[0]; i++)
        if (a >= si[i].scale) { snprintf(buf, n, "%.3g%s", v / si[i].scale, si[i].suffix); return buf; }
    snprintf(buf, n, "%.3g", v);
    return buf;
}

struct axis { double lo, hi; bool log; };

static bool drawable(const struct axis *a, double v) { return isfinite(v) && (!a->log || v > 0); }

static double axis_frac(const struct axis *a, double v)
{
    if (a->log) return (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
    return (v - a->lo) / (a->hi - a->lo);
}
static double px_x(const struct svg *s, const struct axis *a, double v) { return s->x0 + axis_frac(a, v) * (s->x1 - s->x0); }
static double px_y(const struct svg *s, const struct axis *a, double v) { return s->y1 - axis_frac(a, v) * (s->y1 - s->y0); }

/* Widens [lo, hi] to round numbers: decades for log, 1-2-5 steps for linear. */
static void axis_round(struct axis *a)
{
    if (!(a->lo < a->hi)) { double m = a->lo; a->lo = a->log ? m / 2 : m - 1; a->hi = a->log ? m * 2 : m + 1; }
    if (a->log) { a->lo = pow(10, floor(log10(a->lo))); a->hi = pow(10, ceil(log10(a->hi))); return; }
    double raw = (a->hi - a->lo) / 5, mag = pow(10, floor(log10(raw))), f = raw / mag;
    double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
    a->lo = floor(a->lo / step) * step;
    a->hi = ceil(a->hi / step) * step;
}

/* Tick values into t (at most MAX_TICKS); returns the count. */
static int axis_ticks(const struct axis *a, double *t)
{
    int n = 0;
    if (a->log) {
        int d0 = (int)floor(log10(a->lo) + 1e-9), d1 = (int)ceil(log10(a->hi) - 1e-9);
        bool minor = d1 - d0 <= 2;                  /* few decades: add 2 and 5 */
        int every = (d1 - d0) / 12 + 1;             /* many decades: thin out  */
        for (int d = d0; d <= d1 && n < MAX_TICKS; d++) {
            if ((d - d0) % every == 0) t[n++] = pow(10, d);
            if (minor && d < d1 && n + 2 <= MAX_TICKS) t[n++] = 2 * pow(10, d), t[n++] = 5 * pow(10, d);
        }
        return n;
    }
    double raw = (a->hi - a->lo) / 5, mag = pow(10, floor(log10(raw))), f = raw / mag;
    double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
    for (double v = a->lo; v <= a->hi + step * 1e-6 && n < MAX_TICKS; v += step)
        t[n++] = fabs(v) < step * 1e-9 ? 0 : v;
    return n;
}

/*---- Frame: background, title, axes, ticks, grid, axis labels ----*/

static void frame_open(struct svg *s, const struct tpu_svg_chart *c)
{
    put(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    put(s, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
           "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n",
        c->width_px, c->height_px, c->width_px, c->height_px);
    put(s, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n", c->width_px, c->height_px);
    s->x0 = MARGIN_L, s->y0 = MARGIN_T, s->x1 = c->width_px - MARGIN_R, s->y1 = c->height_px - MARGIN_B;
    put_label(s, (s->x0 + s->x1) / 2.0, 26, "middle", 16, " font-weight=\"bold\"", c->title);
    put_label(s, (s->x0 + s->x1) / 2.0, c->height_px - 14, "middle", 13, "", c->x_label);
    char rot[96];
    snprintf(rot, sizeof rot, " transform=\"rotate(-90 18 %.1f)\"", (s->y0 + s->y1) / 2.0);
    put_label(s, 18, (s->y0 + s->y1) / 2.0, "middle", 13, rot, c->y_label);
}

static void frame_y_axis(struct svg *s, const struct axis *ay)
{
    double t[MAX_TICKS];
    char lab[32];
    int n = axis_ticks(ay, t);
    for (int i = 0; i < n; i++) {
        double y = px_y(s, ay, t[i]);
        put(s, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", s->x0, y, s->x1, y);
        put_label(s, s->x0 - 6, y + 4, "end", 11, "", tpu_svg_fmt_si(t[i], lab, sizeof lab));
    }
}

/* Sorted distinct drawable x values of all series into t; -1 if more than max. */
static int data_ticks(const struct axis *ax, const struct tpu_svg_series *se, int n_series, double *t, int max)
{
    int n = 0;
    for (int i = 0; i < n_series; i++)
        for (int j = 0; j < se[i].n; j++) {
            double v = se[i].x[j];
            if (!drawable(ax, v)) continue;
            int k = 0;
            while (k < n && t[k] < v) k++;
            if (k < n && t[k] == v) continue;
            if (n == max) return -1;
            memmove(&t[k + 1], &t[k], (size_t)(n - k) * sizeof *t);
            t[k] = v, n++;
        }
    return n;
}

/* x ticks: the given values when n_given > 0, else the axis' own. */
static void frame_x_axis(struct svg *s, const struct axis *ax, const double *given, int n_given)
{
    double t[MAX_TICKS];
    char lab[32];
    int n = n_given > 0 ? n_given : axis_ticks(ax, t);
    if (n_given > 0) memcpy(t, given, (size_t)n_given * sizeof *t);
    double last_x = -1e9;
    for (int i = 0; i < n; i++) {
        double x = px_x(s, ax, t[i]);
        put(s, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e0e0e0\"/>\n", x, s->y0, x, s->y1);
        if (x - last_x < 30) continue;                     /* labels would overlap */
        put_label(s, x, s->y1 + 16, "middle", 11, "", tpu_svg_fmt_si(t[i], lab, sizeof lab));
        last_x = x;
    }
}

static void frame_box(struct svg *s)
{
    put(s, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#333\"/>\n",
        s->x0, s->y0, s->x1 - s->x0, s->y1 - s->y0);
}

static void legend_entry(struct svg *s, int i, const char *name, bool bar)
{
    double x = s->x1 + 14, y = s->y0 + 8 + 20 * i;
    const char *col = palette[i % N_COLOURS];
    if (bar) put(s, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"10\" fill=\"%s\"/>\n", x, y - 5, col);
    else put(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2.5\"/>\n",
             x, y, x + 16, y, col);
    put_label(s, x + 22, y + 4, "start", 12, "", name);
}

static enum tpu_status check_chart(struct tpu_ctx *ctx, const char *path, const struct tpu_svg_chart *c, int n)
{
    if (n < 1) return tpu_err(ctx, TPU_ERR_USAGE, "%s: nothing to plot", path);
    if (c->width_px < MARGIN_L + MARGIN_R + 100 || c->height_px < MARGIN_T + MARGIN_B + 100 ||
        c->width_px > 10000 || c->height_px > 10000)
        return tpu_err(ctx, TPU_ERR_USAGE, "%s: chart size %dx%d out of range", path, c->width_px, c->height_px);
    return TPU_STATUS_OK;
}

struct tpu_svg_chart tpu_svg_chart_default(const char *title, const char *x_label, const char *y_label)
{
    return (struct tpu_svg_chart){ title, x_label, y_label, false, false, false, 760, 460 };
}

/* Data range of the drawable values of v[0..n) into a (lo = +inf if none). */
static void range_add(struct axis *a, const double *v, int n)
{
    for (int i = 0; i < n; i++) {
        if (!drawable(a, v[i])) continue;
        if (v[i] < a->lo) a->lo = v[i];
        if (v[i] > a->hi) a->hi = v[i];
    }
}

/*---- Line chart ----*/

static void line_series(struct svg *s, const struct axis *ax, const struct axis *ay,
                        const struct tpu_svg_series *se, int idx)
{
    const char *col = palette[idx % N_COLOURS];
    put(s, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
    for (int i = 0; i < se->n; i++)
        if (drawable(ax, se->x[i]) && drawable(ay, se->y[i]))
            put(s, "%.1f,%.1f ", px_x(s, ax, se->x[i]), px_y(s, ay, se->y[i]));
    put(s, "\"/>\n");
    for (int i = 0; i < se->n; i++) {
        if (!drawable(ax, se->x[i]) || !drawable(ay, se->y[i])) continue;
        double x = px_x(s, ax, se->x[i]), y = px_y(s, ay, se->y[i]);
        put(s, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n", x, y, col);
        if (se->labels && se->labels[i]) put_label(s, x + 5, y - 6, "start", 10, "", se->labels[i]);
    }
}

enum tpu_status tpu_svg_line_chart(struct tpu_ctx *ctx, const char *path, const struct tpu_svg_chart *c,
                                   const struct tpu_svg_series *se, int n_series)
{
    enum tpu_status rc = check_chart(ctx, path, c, n_series);
    if (rc != TPU_STATUS_OK) return rc;
    struct axis ax = { INFINITY, -INFINITY, c->x_log }, ay = { INFINITY, -INFINITY, c->y_log };
    for (int i = 0; i < n_series; i++) range_add(&ax, se[i].x, se[i].n), range_add(&ay, se[i].y, se[i].n);
    if (!(ax.lo <= ax.hi) || !(ay.lo <= ay.hi)) return tpu_err(ctx, TPU_ERR_USAGE, "%s: no drawable points", path);
    if (!ay.log && ay.lo > 0) ay.lo = 0;                  /* linear y starts at zero */
    double xt[16];
    int n_xt = c->x_ticks_at_data ? data_ticks(&ax, se, n_series, xt, 16) : 0;
    if (n_xt > 1) {                                        /* pad the data range by 5% */
        double pad = ax.log ? pow(ax.hi / ax.lo, 0.05) : (ax.hi - ax.lo) * 0.05;
        ax.lo = ax.log ? ax.lo / pad : ax.lo - pad, ax.hi = ax.log ? ax.hi * pad : ax.hi + pad;
    } else {
        n_xt = 0;
        axis_round(&ax);
    }
    axis_round(&ay);
    struct svg s = { .ctx = ctx };
    frame_open(&s, c);
    frame_y_axis(&s, &ay);
    frame_x_axis(&s, &ax, xt, n_xt);
    for (int i = 0; i < n_series; i++) line_series(&s, &ax, &ay, &se[i], i);
    frame_box(&s);
    for (int i = 0; i < n_series; i++) legend_entry(&s, i, se[i].name, false);
    return svg_finish(&s, path);
}

/*---- Grouped bar chart ----*/

static void bar_marks(struct svg *s, const struct axis *ay, int n_groups,
                      const struct tpu_svg_series *se, int n_series)
{
    double group_w = (double)(s->x1 - s->x0) / n_groups, bar_w = group_w * 0.8 / n_series;
    bool values = n_groups * n_series <= 32;
    char lab[32];
    for (int g = 0; g < n_groups; g++)
        for (int i = 0; i < n_series; i++) {
            double v = se[i].y[g];
            if (!drawable(ay, v)) continue;
            double x = s->x0 + g * group_w + group_w * 0.1 + i * bar_w, y = px_y(s, ay, v);
            double base = ay->log ? s->y1 : px_y(s, ay, fmax(ay->lo, 0));
            put(s, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
                x, fmin(y, base), bar_w * 0.92, fabs(base - y), palette[i % N_COLOURS]);
            if (values) put_label(s, x + bar_w * 0.46, fmin(y, base) - 3, "middle", 9, "", tpu_svg_fmt_si(v, lab, sizeof lab));
        }
}

enum tpu_status tpu_svg_bar_chart(struct tpu_ctx *ctx, const char *path, const struct tpu_svg_chart *c,
                                  const char *const *groups, int n_groups,
                                  const struct tpu_svg_series *se, int n_series)
{
    enum tpu_status rc = check_chart(ctx, path, c, n_groups < 1 ? 0 : n_series);
    if (rc != TPU_STATUS_OK) return rc;
    struct axis ay = { INFINITY, -INFINITY, c->y_log };
    for (int i = 0; i < n_series; i++) {
        if (se[i].n != n_groups)
            return tpu_err(ctx, TPU_ERR_USAGE, "%s: series '%s' has %d values for %d groups", path, se[i].name, se[i].n, n_groups);
        range_add(&ay, se[i].y, se[i].n);
    }
    if (!(ay.lo <= ay.hi)) return tpu_err(ctx, TPU_ERR_USAGE, "%s: no drawable values", path);
    double data_lo = ay.lo;
    if (!ay.log && ay.lo > 0) ay.lo = 0;
    axis_round(&ay);
    if (ay.log && ay.lo >= data_lo) ay.lo /= 10;          /* the smallest bar keeps a height */
    struct svg s = { .ctx = ctx };
    frame_open(&s, c);
    frame_y_axis(&s, &ay);
    bar_marks(&s, &ay, n_groups, se, n_series);
    double group_w = (double)(s.x1 - s.x0) / n_groups;
    for (int g = 0; g < n_groups; g++)
        put_label(&s, s.x0 + (g + 0.5) * group_w, s.y1 + 16, "middle", 12, "", groups[g]);
    frame_box(&s);
    for (int i = 0; i < n_series; i++) legend_entry(&s, i, se[i].name, true);
    return svg_finish(&s, path);
}

/*---- Roofline ----*/

static void roof_line(struct svg *s, const struct axis *ax, const struct axis *ay,
                      const struct tpu_svg_roof *r, int idx)
{
    double ridge = r->peak_flops / r->bw_bytes_per_s;
    double xa = fmax(ax->lo, ay->lo / r->bw_bytes_per_s);    /* where the slope enters the plot */
    const char *col = palette[idx % N_COLOURS];
    put(s, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
    if (xa < ridge) put(s, "%.1f,%.1f ", px_x(s, ax, xa), px_y(s, ay, xa * r->bw_bytes_per_s));
    put(s, "%.1f,%.1f %.1f,%.1f\"/>\n", px_x(s, ax, ridge), px_y(s, ay, r->peak_flops),
        px_x(s, ax, ax->hi), px_y(s, ay, r->peak_flops));
    char lab[48], txt[160];
    snprintf(txt, sizeof txt, "ridge %s FLOP/B", tpu_svg_fmt_si(ridge, lab, sizeof lab));
    put(s, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", px_x(s, ax, ridge), px_y(s, ay, r->peak_flops), col);
    /* left of the ridge, above the slope: the empty side, since points sit under the roofs */
    put_label(s, px_x(s, ax, ridge) - 6, px_y(s, ay, r->peak_flops) - 4 - 11 * (idx % 2), "end", 9,
              "", txt);
}

/* Points; a label is drawn once per spot: points within 6 px of an earlier
** labelled point add "(xN)" to its label instead of overprinting it. */
static void roof_points(struct svg *s, const struct axis *ax, const struct axis *ay,
                        const struct tpu_svg_point *p, int n)
{
    int *owner = tpu_calloc(s->ctx, (size_t)(n ? n : 1), sizeof *owner), *count = tpu_calloc(s->ctx, (size_t)(n ? n : 1), sizeof *count);
    if (!owner || !count) { s->oom = true; free(owner); free(count); return; }
    for (int i = 0; i < n; i++) {
        owner[i] = -1;
        if (!drawable(ax, p[i].flops_per_byte) || !drawable(ay, p[i].flops_per_s)) continue;
        double x = px_x(s, ax, p[i].flops_per_byte), y = px_y(s, ay, p[i].flops_per_s);
        const char *col = p[i].roof >= 0 ? palette[p[i].roof % N_COLOURS] : "#444";
        put(s, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\" fill-opacity=\"0.75\" stroke=\"white\" stroke-width=\"0.8\">",
            x, y, col);
        put(s, "<title>");
        put_text(s, p[i].label);
        put(s, "</title></circle>\n");
        owner[i] = i;
        for (int j = 0; j < i; j++)
            if (owner[j] == j && fabs(px_x(s, ax, p[j].flops_per_byte) - x) < 6 && fabs(px_y(s, ay, p[j].flops_per_s) - y) < 6) {
                owner[i] = j;
                break;
            }
        count[owner[i]]++;
    }
    for (int i = 0, k = 0; i < n; i++) {
        if (owner[i] != i || !p[i].label) continue;
        char txt[160];
        if (count[i] > 1) snprintf(txt, sizeof txt, "%s (x%d)", p[i].label, count[i]);
        else snprintf(txt, sizeof txt, "%s", p[i].label);
        double x = px_x(s, ax, p[i].flops_per_byte), y = px_y(s, ay, p[i].flops_per_s);
        put_label(s, x + 6, y + (k++ % 2 ? 11 : -5), "start", 9, " fill=\"#333\"", txt);
    }
    free(owner);
    free(count);
}

enum tpu_status tpu_svg_roofline(struct tpu_ctx *ctx, const char *path, const struct tpu_svg_chart *c,
                                 const struct tpu_svg_roof *roofs, int n_roofs,
                                 const struct tpu_svg_point *pts, int n_pts)
{
    enum tpu_status rc = check_chart(ctx, path, c, n_roofs);
    if (rc != TPU_STATUS_OK) return rc;
    struct axis ax = { INFINITY, -INFINITY, true }, ay = { INFINITY, -INFINITY, true };
    for (int i = 0; i < n_roofs; i++) {
        if (!(roofs[i].peak_flops > 0 && roofs[i].bw_bytes_per_s > 0 && isfinite(roofs[i].peak_flops) &&
              isfinite(roofs[i].bw_bytes_per_s)))
            return tpu_err(ctx, TPU_ERR_USAGE, "%s: roof '%s' needs a positive peak and bandwidth", path, roofs[i].name);
        double ridge = roofs[i].peak_flops / roofs[i].bw_bytes_per_s;
        double v[2] = { ridge / 100, ridge * 10 }, y[2] = { roofs[i].peak_flops / 1000, roofs[i].peak_flops * 1.5 };
        range_add(&ax, v, 2), range_add(&ay, y, 2);
    }
    for (int i = 0; i < n_pts; i++) {
        if (pts[i].roof >= n_roofs) return tpu_err(ctx, TPU_ERR_USAGE, "%s: point %d names roof %d of %d", path, i, pts[i].roof, n_roofs);
        range_add(&ax, &pts[i].flops_per_byte, 1), range_add(&ay, &pts[i].flops_per_s, 1);
    }
    axis_round(&ax), axis_round(&ay);
    struct svg s = { .ctx = ctx };
    frame_open(&s, c);
    frame_y_axis(&s, &ay);
    frame_x_axis(&s, &ax, NULL, 0);
    for (int i = 0; i < n_roofs; i++) roof_line(&s, &ax, &ay, &roofs[i], i);
    roof_points(&s, &ax, &ay, pts, n_pts);
    frame_box(&s);
    for (int i = 0; i < n_roofs; i++) legend_entry(&s, i, roofs[i].name, false);
    return svg_finish(&s, path);
}
