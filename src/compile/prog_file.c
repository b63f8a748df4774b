/*
** compile/prog_file.c: saved chip programs (`tpusim compile MODEL --chip C
** -o prog.tpu`, `tpusim run prog.tpu`). The file keeps what a chip run needs
** without the original model or chip file: the resolved chip description, the
** run options (batch, shapes, host ops, calibration, seed), the ONNX model
** bytes, every MXU layer's lowered program (LAYR) and, when compiled with
** --calib DIR or --calib-random N for an int8 chip, the calibrated activation
** scales (SCAL, text written by compile/calib.c) and, compiled with
** --precision auto, each MXU node's chosen passes (PREC, compile/auto_prec.c).
** Running it loads the
** model from those bytes and lowers it again (lowering is deterministic; the
** result is checked against LAYR), so outputs and cycles are bit-identical to
** `run MODEL --chip C` with the same options (and the saved scales, without
** calibrating again). Layout in docs/compiler.md
** ("Program files"); every length is checked and a 64-bit FNV-1a checksum
** covers the whole file, so a corrupt or truncated file is TPU_ERR_FORMAT.
**
** In:  a model path, a chip, options (compile); a .tpu path (run).
** Out: the file; or a chip, options and a temp copy of the model.
*/
#include "compile/mm_node.h"
#include "tpusim.h"
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG_MAGIC    "TPUPROG1"
#define PROG_VERSION  1u
#define PROG_MAX_SIZE ((uint64_t)4 << 30)          /* 4 GiB: larger files are refused */

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 0x100000001b3ull; }
    return h;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Reads a whole file (at most PROG_MAX_SIZE bytes) into a tpu_malloc'd buffer. */
static enum tpu_status read_all(struct tpu_ctx *ctx, const char *path, uint8_t **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return tpu_err(ctx, TPU_ERR_IO, "%s: %s", path, strerror(errno));
    enum tpu_status rc = TPU_STATUS_OK;
    long sz = -1;
    if (fseek(f, 0, SEEK_END) == 0) sz = ftell(f);
    if (sz < 0 || fseek(f, 0, SEEK_SET) != 0) rc = tpu_err(ctx, TPU_ERR_IO, "%s: cannot size the file", path);
    else if ((uint64_t)sz > PROG_MAX_SIZE) rc = tpu_err(ctx, TPU_ERR_NOMEM, "%s: %ld bytes, over the 4 GiB limit", path, sz);
    else if (!(*buf = tpu_malloc(ctx, (size_t)sz + 1))) rc = TPU_ERR_NOMEM;
    else if (fread(*buf, 1, (size_t)sz, f) != (size_t)sz) {
        rc = tpu_err(ctx, TPU_ERR_IO, "%s: read failed", path);
        free(*buf);
        *buf = NULL;
    }
    fclose(f);
    if (!rc) *len = (size_t)sz;
    return rc;
}

int tpu_prog_is_file(const char *path)
{
    char m[8];
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    int ok = fread(m, 1, 8, f) == 8 && memcmp(m, PROG_MAGIC, 8) == 0;
    fclose(f);
    return ok;
}

/*---- The per-layer programs (section LAYR) ----*/
static enum tpu_status append(struct tpu_ctx *ctx, uint8_t **b, size_t *len, size_t *cap, const void *p, size_t n)
{
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + n) c *= 2;
        uint8_t *q = tpu_realloc(ctx, *b, c);
        if (!q) return TPU_ERR_NOMEM;
        *b = q;
        *cap = c;
    }
    memcpy(*b + *len, p, n);
    *len += n;
    return TPU_STATUS_OK;
}

/* One layer's program as .tpu bytes (isa/program.c's file format, through a temp file). */
static enum tpu_status program_bytes(struct tpu_ctx *ctx, const struct tpu_program *prog, uint8_t **buf, size_t *len)
{
    const char *tmp = getenv("TMPDIR");
    char path[4200];
    snprintf(path, sizeof path, "%s/tpusim-layer-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) return tpu_err(ctx, TPU_ERR_IO, "%s: %s", path, strerror(errno));
    close(fd);
    enum tpu_status rc = tpu_program_write_file(ctx, prog, path);
    if (!rc) rc = read_all(ctx, path, buf, len);
    remove(path);
    return rc;
}

enum tpu_status tpu_prog_lower_layers(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                      uint8_t **blob, size_t *blob_len, int *n_layers)
{
    return tpu_prog_lower_layers_passes(ctx, g, chip, 1, blob, blob_len, n_layers);
}

enum tpu_status tpu_prog_lower_layers_passes(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                             int bf16_passes, uint8_t **blob, size_t *blob_len, int *n_layers)
{
    return tpu_prog_lower_layers_ex(ctx, g, chip, bf16_passes, 0, blob, blob_len, n_layers);
}

enum tpu_status tpu_prog_lower_layers_ex(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                         int bf16_passes, int host_ops, uint8_t **blob, size_t *blob_len,
                                         int *n_layers)
{
    return tpu_prog_lower_layers_auto(ctx, g, chip, bf16_passes, NULL, host_ops, blob, blob_len, n_layers);
}

enum tpu_status tpu_prog_lower_layers_auto(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                           int bf16_passes, const struct tpu_prec_auto *a, int host_ops,
                                           uint8_t **blob, size_t *blob_len, int *n_layers)
{
    size_t cap = 0;
    *blob = NULL;
    *blob_len = 0;
    *n_layers = 0;
    enum tpu_status rc = a && a->n_nodes != g->n_nodes
        ? tpu_err(ctx, TPU_ERR_FORMAT, "%s: --precision auto's choice is for %d nodes, the model has %d", g->path,
                  a->n_nodes, g->n_nodes) : TPU_STATUS_OK;
    struct tpu_mm_node_opts mo = { 1, bf16_passes, 0, 0 };     /* as run lowers it (compile/mm_node.c) */
    for (int i = 0; !rc && i < g->n_nodes; i++) {
        struct tpu_node *n = &g->nodes[i];
        if (n->dead || !tpu_mm_node_op(n->op)) continue;
        if (a) mo.bf16_passes = tpu_prec_node_passes(a, i, 1);   /* --precision auto: the node's own */
        struct tpu_mm_node m;
        rc = tpu_mm_lower_node(ctx, g, n, chip, &mo, &m);
        if (rc && (!m.described || (host_ops && rc == TPU_ERR_UNSUPPORTED))) {   /* a host layer: no constant
                                                        weights, or too big for the chip with --host-ops */
            tpu_mm_node_free(&m);
            tpu_err_clear(ctx);
            rc = TPU_STATUS_OK;
            continue;
        }
        const struct tpu_mm_desc *d = &m.d0;
        uint8_t *pb = NULL, hdr[12];
        size_t pl = 0, nl = strlen(d->name);
        if (!rc) rc = program_bytes(ctx, m.l.prog, &pb, &pl);
        put_le(hdr, nl, 4);
        put_le(hdr + 4, pl, 8);
        if (!rc) rc = append(ctx, blob, blob_len, &cap, hdr, 12);
        if (!rc) rc = append(ctx, blob, blob_len, &cap, d->name, nl);
        if (!rc) rc = append(ctx, blob, blob_len, &cap, pb, pl);
        free(pb);
        tpu_mm_node_free(&m);
        if (!rc) (*n_layers)++;
    }
    if (rc) { free(*blob); *blob = NULL; *blob_len = 0; }
    return rc;
}

/* Checks the LAYR section entry by entry against this build's lowering. */
enum tpu_status tpu_prog_check_layers(struct tpu_ctx *ctx, const char *path, const uint8_t *saved, size_t saved_len,
                                      const uint8_t *now, size_t now_len)
{
    size_t a = 0, b = 0;
    int k = 0;
    for (; a < saved_len; k++) {
        if (saved_len - a < 12) return tpu_err(ctx, TPU_ERR_FORMAT, "%s: LAYR entry %d header past the end", path, k);
        uint64_t nl = get_le(saved + a, 4), pl = get_le(saved + a + 4, 8);
        if (nl > saved_len - a - 12 || pl > saved_len - a - 12 - nl)
            return tpu_err(ctx, TPU_ERR_FORMAT, "%s: LAYR entry %d past the end", path, k);
        size_t e = 12 + (size_t)nl + (size_t)pl;
        if (b + e > now_len || memcmp(saved + a, now + b, e) != 0)
            return tpu_err(ctx, TPU_ERR_FORMAT, "%s: saved program of layer %d ('%.*s') differs from this "
                           "tpusim's lowering (file from another version?)", path, k, (int)(nl > 100 ? 100 : nl),
                           (const char *)saved + a + 12);
        a += e;
        b += e;
    }
    if (b != now_len)
        return tpu_err(ctx, TPU_ERR_FORMAT, "%s: this tpusim lowers more layers than the %d saved", path, k);
    return TPU_STATUS_OK;
}

/*---- Writing ----*/
struct section { char tag[4]; const void *data; size_t len; };

static char *opts_text(struct tpu_ctx *ctx, const struct tpu_prog_opts *o, size_t *len)
{
    char *s = NULL;
    FILE *f = open_memstream(&s, len);
    if (!f) { tpu_err(ctx, TPU_ERR_NOMEM, "options text"); return NULL; }
    fprintf(f, "batch=%" PRId64 "\nhost_ops=%d\ntiming_only=%d\nschedule_scalesim=%d\n"
               "calib_random=%d\ncalib_percentile=%d\nseed=%" PRIu64 "\n",
            o->batch, o->host_ops, o->timing_only, o->schedule_scalesim, o->calib_random,
            o->calib_percentile, o->seed);
    for (int i = 0; i < o->n_shapes; i++) fprintf(f, "shape=%s\n", o->shapes[i]);
    if (o->bf16_passes > 1) fprintf(f, "bf16_passes=%d\n", o->bf16_passes);   /* absent: one pass */
    if (fclose(f) != 0 || !s) { free(s); tpu_err(ctx, TPU_ERR_NOMEM, "options text"); return NULL; }
    return s;
}

static enum tpu_status write_sections(struct tpu_ctx *ctx, const struct section *sec, int n, const char *out)
{
    size_t total = 16 + 8;
    for (int i = 0; i < n; i++) total += 12 + sec[i].len;
    uint8_t *b = tpu_malloc(ctx, total);
    if (!b) return TPU_ERR_NOMEM;
    memcpy(b, PROG_MAGIC, 8);
    put_le(b + 8, PROG_VERSION, 4);
    put_le(b + 12, (uint64_t)n, 4);
    size_t at = 16;
    for (int i = 0; i < n; i++) {
        memcpy(b + at, sec[i].tag, 4);
        put_le(b + at + 4, sec[i].len, 8);
        if (sec[i].len) memcpy(b + at + 12, sec[i].data, sec[i].len);
        at += 12 + sec[i].len;
    }
    put_le(b + at, fnv1a(b, at), 8);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    FILE *f = fopen(tmp, "wb");
    enum tpu_status rc = TPU_STATUS_OK;
    if (!f) rc = tpu_err(ctx, TPU_ERR_IO, "%s: %s", tmp, strerror(errno));
    else {
        int bad = fwrite(b, 1, total, f) != total;
        bad |= fclose(f) != 0;
        if (bad || rename(tmp, out) != 0) {
            remove(tmp);
            rc = tpu_err(ctx, TPU_ERR_IO, "%s: write failed", out);
        }
    }
    free(b);
    return rc;
}

enum tpu_status tpu_prog_save(struct tpu_ctx *ctx, const char *model_path, const struct tpu_chip *chip,
                              const struct tpu_prog_opts *o, const uint8_t *layers, size_t layers_len,
                              const char *out_path)
{
    uint8_t *model = NULL;
    size_t model_len = 0, chip_len = 0, opts_len = 0;
    char *chip_txt = NULL, *opts = NULL;
    enum tpu_status rc = read_all(ctx, model_path, &model, &model_len);
    if (rc) return rc;
    FILE *f = open_memstream(&chip_txt, &chip_len);
    if (f) { tpu_chip_describe(chip, f); if (fclose(f) != 0) { free(chip_txt); chip_txt = NULL; } }
    if (!chip_txt) rc = tpu_err(ctx, TPU_ERR_NOMEM, "chip description text");
    if (!rc && !(opts = opts_text(ctx, o, &opts_len))) rc = TPU_ERR_NOMEM;
    if (!rc) {
        struct section sec[6] = { { "CHIP", chip_txt, chip_len }, { "OPTS", opts, opts_len },
                                  { "MODL", model, model_len }, { "LAYR", layers, layers_len } };
        int ns = 4;
        if (o->calib_text) sec[ns++] = (struct section){ "SCAL", o->calib_text, o->calib_len };
        if (o->prec_text) sec[ns++] = (struct section){ "PREC", o->prec_text, o->prec_len };
        rc = write_sections(ctx, sec, ns, out_path);
    }
    free(model);
    free(chip_txt);
    free(opts);
    return rc;
}

/*---- Reading ----*/
static enum tpu_status parse_opts(struct tpu_ctx *ctx, const char *path, const char *s, size_t len,
                                  struct tpu_prog_opts *o)
{
    memset(o, 0, sizeof *o);
    size_t at = 0;
    while (at < len) {
        const char *nl = memchr(s + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (s + at)) : len - at;
        char line[200];
        if (n >= sizeof line) return tpu_err(ctx, TPU_ERR_FORMAT, "%s: OPTS line too long", path);
        memcpy(line, s + at, n);
        line[n] = 0;
        at += n + 1;
        char *eq = strchr(line, '=');
        if (!eq) return tpu_err(ctx, TPU_ERR_FORMAT, "%s: OPTS line without '=': '%s'", path, line);
        *eq = 0;
        const char *k = line, *v = eq + 1;
        char *end;
        long long x = strtoll(v, &end, 10);
        int num_ok = end != v && !*end;
        if (strcmp(k, "shape") == 0) {
            if (o->n_shapes == 16) return tpu_err(ctx, TPU_ERR_FORMAT, "%s: over 16 shape bindings", path);
            snprintf(o->shapes[o->n_shapes++], sizeof o->shapes[0], "%s", v);
            continue;
        }
        if (!num_ok) return tpu_err(ctx, TPU_ERR_FORMAT, "%s: OPTS %s='%s' is not a number", path, k, v);
        if (strcmp(k, "batch") == 0 && x >= 0 && x <= 65536) o->batch = x;
        else if (strcmp(k, "host_ops") == 0 && (x == 0 || x == 1)) o->host_ops = (int)x;
        else if (strcmp(k, "timing_only") == 0 && (x == 0 || x == 1)) o->timing_only = (int)x;
        else if (strcmp(k, "schedule_scalesim") == 0 && (x == 0 || x == 1)) o->schedule_scalesim = (int)x;
        else if (strcmp(k, "calib_random") == 0 && x >= 0 && x <= 100000) o->calib_random = (int)x;
        else if (strcmp(k, "calib_percentile") == 0 && (x == 0 || x == 1)) o->calib_percentile = (int)x;
        else if (strcmp(k, "seed") == 0) o->seed = strtoull(v, NULL, 10);
        else if (strcmp(k, "bf16_passes") == 0 && (x == 1 || x == 3 || x == 6)) o->bf16_passes = (int)x;
        else return tpu_err(ctx, TPU_ERR_FORMAT, "%s: OPTS %s=%s unknown or out of range", path, k, v);
    }
    return TPU_STATUS_OK;
}

static enum tpu_status write_file(struct tpu_ctx *ctx, const char *p, const void *data, size_t len)
{
    FILE *f = fopen(p, "wb");
    if (!f) return tpu_err(ctx, TPU_ERR_IO, "%s: %s", p, strerror(errno));
    int bad = fwrite(data, 1, len, f) != len;
    bad |= fclose(f) != 0;
    return bad ? tpu_err(ctx, TPU_ERR_IO, "%s: write failed", p) : TPU_STATUS_OK;
}

void tpu_prog_cleanup(const char *dir)
{
    char p[4200];
    if (!dir || !dir[0]) return;
    snprintf(p, sizeof p, "%s/model.onnx", dir); remove(p);
    snprintf(p, sizeof p, "%s/chip.chip", dir); remove(p);
    rmdir(dir);
}

/* Finds the sections of a checked buffer; sec[] gets CHIP, OPTS, MODL, LAYR, SCAL, PREC. */
static enum tpu_status split(struct tpu_ctx *ctx, const char *path, const uint8_t *b, size_t len,
                             struct section sec[6])
{
    if (len < 24 || memcmp(b, PROG_MAGIC, 8) != 0)
        return tpu_err(ctx, TPU_ERR_FORMAT, "%s: not a tpusim program file (no TPUPROG1 header)", path);
    if (get_le(b + len - 8, 8) != fnv1a(b, len - 8))
        return tpu_err(ctx, TPU_ERR_FORMAT, "%s: checksum mismatch (file corrupt or truncated)", path);
    uint64_t ver = get_le(b + 8, 4), n = get_le(b + 12, 4);
    if (ver != PROG_VERSION)
        return tpu_err(ctx, TPU_ERR_FORMAT, "%s: program file version %" PRIu64 ", this tpusim reads %u", path, ver, PROG_VERSION);
    size_t at = 16, end = len - 8;
    memset(sec, 0, 6 * sizeof *sec);
    static const char *tags[6] = { "CHIP", "OPTS", "MODL", "LAYR", "SCAL", "PREC" };
    for (uint64_t i = 0; i < n; i++) {
        if (end - at < 12) return tpu_err(ctx, TPU_ERR_FORMAT, "%s: section %" PRIu64 " header past the end", path, i);
        uint64_t sl = get_le(b + at + 4, 8);
        if (sl > end - at - 12) return tpu_err(ctx, TPU_ERR_FORMAT, "%s: section %" PRIu64 " length %" PRIu64 " past the end", path, i, sl);
        for (int t = 0; t < 6; t++)
            if (memcmp(b + at, tags[t], 4) == 0) { memcpy(sec[t].tag, tags[t], 4); sec[t].data = b + at + 12; sec[t].len = sl; }
        at += 12 + sl;                            /* unknown tags are skipped */
    }
    if (at != end) return tpu_err(ctx, TPU_ERR_FORMAT, "%s: %zu stray bytes after the sections", path, end - at);
    for (int t = 0; t < 3; t++)
        if (!sec[t].data) return tpu_err(ctx, TPU_ERR_FORMAT, "%s: no %s section", path, tags[t]);
    return TPU_STATUS_OK;
}

enum tpu_status tpu_prog_load(struct tpu_ctx *ctx, const char *path, struct tpu_chip **chip,
                              struct tpu_prog_opts *o, uint8_t **layers, size_t *layers_len,
                              char *dir_out, char *model_out, size_t n)
{
    uint8_t *b = NULL;
    size_t len = 0;
    struct section sec[6];
    *layers = NULL;
    *layers_len = 0;
    dir_out[0] = model_out[0] = 0;
    *chip = NULL;
    memset(o, 0, sizeof *o);
    enum tpu_status rc = read_all(ctx, path, &b, &len);
    if (rc) return rc;
    rc = split(ctx, path, b, len, sec);
    if (!rc) rc = parse_opts(ctx, path, sec[1].data, sec[1].len, o);
    if (!rc) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir_out, n, "%s/tpusim-prog-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir_out)) {
            rc = tpu_err(ctx, TPU_ERR_IO, "%s: %s", dir_out, strerror(errno));
            dir_out[0] = 0;
        }
    }
    char chip_path[4200];
    if (!rc) {
        snprintf(chip_path, sizeof chip_path, "%s/chip.chip", dir_out);
        snprintf(model_out, n, "%s/model.onnx", dir_out);
        rc = write_file(ctx, chip_path, sec[0].data, sec[0].len);
    }
    if (!rc) rc = write_file(ctx, model_out, sec[2].data, sec[2].len);
    if (!rc) rc = tpu_chip_load(ctx, chip_path, chip);
    if (!rc && sec[3].len) {
        if (!(*layers = tpu_malloc(ctx, sec[3].len))) rc = TPU_ERR_NOMEM;
        else { memcpy(*layers, sec[3].data, sec[3].len); *layers_len = sec[3].len; }
    }
    if (!rc && sec[4].data) {                     /* saved scales: a text, NUL-terminated */
        if (!(o->calib_text = tpu_malloc(ctx, sec[4].len + 1))) rc = TPU_ERR_NOMEM;
        else {
            memcpy(o->calib_text, sec[4].data, sec[4].len);
            o->calib_text[sec[4].len] = 0;
            o->calib_len = sec[4].len;
        }
    }
    if (!rc && sec[5].data) {                     /* --precision auto's choice: a text */
        if (!(o->prec_text = tpu_malloc(ctx, sec[5].len + 1))) rc = TPU_ERR_NOMEM;
        else {
            memcpy(o->prec_text, sec[5].data, sec[5].len);
            o->prec_text[sec[5].len] = 0;
            o->prec_len = sec[5].len;
        }
    }
    free(b);
    if (rc) {
        free(o->prec_text);
        o->prec_text = NULL;
        tpu_prog_cleanup(dir_out);
        dir_out[0] = model_out[0] = 0;
        free(*layers);
        *layers = NULL;
        free(o->calib_text);
        o->calib_text = NULL;
        tpu_chip_free(*chip);
        *chip = NULL;
    }
    return rc;
}
