/*
** isa/program.c: programs — an instruction list plus the weight-memory image —
** and their two external forms: the binary .tpu file (layout in isa/isa.h) and
** assembly text (`tpusim asm` / `tpusim disasm`).
**
** In:  instructions from compile/lower.c or the assembler; .tpu bytes.
** Out: struct tpu_program for sim/sim_chip.c; files and listings.
*/
#include "isa/isa.h"
#include <ctype.h>
#include <errno.h>
#include <string.h>

struct tpu_program *tpu_program_new(struct tpu_ctx *ctx)
{
    return tpu_calloc(ctx, 1, sizeof(struct tpu_program));
}

void tpu_program_free(struct tpu_program *p)
{
    if (!p) return;
    free(p->insns);
    free(p->weights);
    free(p);
}

enum tpu_status tpu_program_emit(struct tpu_ctx *ctx, struct tpu_program *p,
                                 const struct tpu_insn *in)
{
    if (p->n_insns == p->cap_insns) {
        if (p->cap_insns >= (1 << 28))
            return tpu_err(ctx, TPU_ERR_NOMEM, "program over %d instructions", 1 << 28);
        int cap = p->cap_insns ? 2 * p->cap_insns : 64;
        struct tpu_insn *n = tpu_realloc(ctx, p->insns, (size_t)cap * sizeof *n);
        if (!n) return TPU_ERR_NOMEM;
        p->insns = n;
        p->cap_insns = cap;
    }
    p->insns[p->n_insns++] = *in;
    return TPU_STATUS_OK;
}

enum tpu_status tpu_program_add_weights(struct tpu_ctx *ctx, struct tpu_program *p,
                                        const void *data, uint64_t n, uint64_t *offset)
{
    if (n > TPU_MAX_ALLOC_BYTES || p->weight_bytes + n > TPU_MAX_ALLOC_BYTES)
        return tpu_err(ctx, TPU_ERR_NOMEM, "weight image over %zu bytes", TPU_MAX_ALLOC_BYTES);
    if (p->weights_virtual) {
        if (offset) *offset = p->weight_bytes;
        p->weight_bytes += n;
        return TPU_STATUS_OK;
    }
    if (p->weight_bytes + n > p->cap_weight_bytes) {
        uint64_t cap = p->cap_weight_bytes ? p->cap_weight_bytes : 4096;
        while (cap < p->weight_bytes + n) cap *= 2;
        uint8_t *w = tpu_realloc(ctx, p->weights, (size_t)cap);
        if (!w) return TPU_ERR_NOMEM;
        p->weights = w;
        p->cap_weight_bytes = cap;
    }
    if (offset) *offset = p->weight_bytes;
    if (data) memcpy(p->weights + p->weight_bytes, data, (size_t)n);
    else memset(p->weights + p->weight_bytes, 0, (size_t)n);
    p->weight_bytes += n;
    return TPU_STATUS_OK;
}

/*---- Binary file ----*/
static void put32(uint8_t *b, uint32_t v) { for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> 8 * i); }
static uint32_t get32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

enum tpu_status tpu_program_write_file(struct tpu_ctx *ctx, const struct tpu_program *p,
                                       const char *path)
{
    if (p->weights_virtual && p->weight_bytes)
        return tpu_err(ctx, TPU_ERR_USAGE, "%s: a timing-only program has no weight values to save",
                       path);
    uint8_t h[TPU_PROGRAM_HEADER] = { 0 };
    memcpy(h, TPU_PROGRAM_MAGIC, 4);
    put32(h + 4, TPU_PROGRAM_VERSION);
    memcpy(h + 8, p->chip, sizeof p->chip);
    put32(h + 32, p->array_rows);
    put32(h + 36, p->array_cols);
    put32(h + 40, (uint32_t)p->n_insns);
    put32(h + 48, (uint32_t)p->weight_bytes);
    put32(h + 52, (uint32_t)(p->weight_bytes >> 32));
    FILE *f = fopen(path, "wb");
    if (!f) return tpu_err(ctx, TPU_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));
    int ok = fwrite(h, 1, sizeof h, f) == sizeof h;
    for (int i = 0; ok && i < p->n_insns; i++) {
        uint8_t w[TPU_INSN_BYTES];
        tpu_insn_encode(&p->insns[i], w);
        ok = fwrite(w, 1, sizeof w, f) == sizeof w;
    }
    if (ok && p->weight_bytes) ok = fwrite(p->weights, 1, (size_t)p->weight_bytes, f) == p->weight_bytes;
    if (fclose(f) != 0) ok = 0;
    return ok ? TPU_STATUS_OK : tpu_err(ctx, TPU_ERR_IO, "%s: write failed", path);
}

static enum tpu_status decode_header(struct tpu_ctx *ctx, const char *name, const uint8_t *buf,
                                     size_t n, struct tpu_program *p, uint64_t *n_insns)
{
    if (n < TPU_PROGRAM_HEADER || memcmp(buf, TPU_PROGRAM_MAGIC, 4) != 0)
        return tpu_err_at(ctx, TPU_ERR_FORMAT, 0, "%s: not a tpusim program (bad magic)", name);
    if (get32(buf + 4) != TPU_PROGRAM_VERSION)
        return tpu_err_at(ctx, TPU_ERR_FORMAT, 4, "%s: byte 4: program version %u, expected %u",
                          name, get32(buf + 4), TPU_PROGRAM_VERSION);
    if (buf[8 + sizeof p->chip - 1] != 0)
        return tpu_err_at(ctx, TPU_ERR_FORMAT, 8, "%s: byte 8: chip name not NUL-terminated", name);
    memcpy(p->chip, buf + 8, sizeof p->chip);
    p->array_rows = get32(buf + 32);
    p->array_cols = get32(buf + 36);
    *n_insns = get32(buf + 40);
    p->weight_bytes = get32(buf + 48) | (uint64_t)get32(buf + 52) << 32;
    uint64_t need = TPU_PROGRAM_HEADER + *n_insns * TPU_INSN_BYTES;
    if (need > n || p->weight_bytes != n - need)
        return tpu_err_at(ctx, TPU_ERR_FORMAT, 40,
                          "%s: byte 40: %llu instructions + %llu weight bytes do not match the "
                          "file size %zu", name, (unsigned long long)*n_insns,
                          (unsigned long long)p->weight_bytes, n);
    return TPU_STATUS_OK;
}

enum tpu_status tpu_program_decode(struct tpu_ctx *ctx, const char *name, const uint8_t *buf,
                                   size_t n, struct tpu_program **out)
{
    *out = NULL;
    struct tpu_program *p = tpu_program_new(ctx);
    if (!p) return TPU_ERR_NOMEM;
    uint64_t n_insns = 0;
    enum tpu_status rc = decode_header(ctx, name, buf, n, p, &n_insns);
    const uint8_t *w = buf + TPU_PROGRAM_HEADER;
    for (uint64_t i = 0; rc == TPU_STATUS_OK && i < n_insns; i++, w += TPU_INSN_BYTES) {
        struct tpu_insn in;
        struct tpu_ctx tmp = { 0 };
        if (tpu_insn_decode(&tmp, w, &in) != TPU_STATUS_OK)
            rc = tpu_err_at(ctx, TPU_ERR_FORMAT, w - buf, "%s: byte %zu: instruction %llu: %s",
                            name, (size_t)(w - buf), (unsigned long long)i, tmp.errmsg);
        else rc = tpu_program_emit(ctx, p, &in);
    }
    uint64_t wb = p->weight_bytes;
    p->weight_bytes = 0;
    if (rc == TPU_STATUS_OK && wb) rc = tpu_program_add_weights(ctx, p, w, wb, NULL);
    if (rc) { tpu_program_free(p); return rc; }
    *out = p;
    return TPU_STATUS_OK;
}

/*---- Assembly text ----*/
static enum tpu_status parse_data(struct tpu_ctx *ctx, struct tpu_program *p, const char *s,
                                  const char *where)
{
    uint8_t bytes[256];
    size_t n = 0;
    while (*s) {
        while (isspace((unsigned char)*s)) s++;
        if (!*s) break;
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 16);
        if (end == s || v > 255 || errno || (*end && !isspace((unsigned char)*end)))
            return tpu_err(ctx, TPU_ERR_FORMAT, "%s: .data: bad byte '%.8s'", where, s);
        bytes[n++] = (uint8_t)v;
        s = end;
        if (n == sizeof bytes) {
            enum tpu_status rc = tpu_program_add_weights(ctx, p, bytes, n, NULL);
            if (rc) return rc;
            n = 0;
        }
    }
    return n ? tpu_program_add_weights(ctx, p, bytes, n, NULL) : TPU_STATUS_OK;
}

static enum tpu_status parse_directive(struct tpu_ctx *ctx, struct tpu_program *p, char *s,
                                       const char *where)
{
    char *arg = s;
    while (*arg && !isspace((unsigned char)*arg)) arg++;
    if (*arg) *arg++ = 0;
    while (isspace((unsigned char)*arg)) arg++;
    if (strcmp(s, ".chip") == 0) {
        if (strlen(arg) >= sizeof p->chip)
            return tpu_err(ctx, TPU_ERR_FORMAT, "%s: .chip name too long", where);
        snprintf(p->chip, sizeof p->chip, "%s", arg);
        return TPU_STATUS_OK;
    }
    if (strcmp(s, ".array") == 0) {
        unsigned r, c;
        char extra;
        if (sscanf(arg, "%ux%u%c", &r, &c, &extra) != 2)
            return tpu_err(ctx, TPU_ERR_FORMAT, "%s: .array wants RxC, got '%s'", where, arg);
        p->array_rows = r;
        p->array_cols = c;
        return TPU_STATUS_OK;
    }
    if (strcmp(s, ".data") == 0) return parse_data(ctx, p, arg, where);
    if (strcmp(s, ".zero") == 0) {
        char *end;
        unsigned long long n = strtoull(arg, &end, 0);
        if (end == arg || *end) return tpu_err(ctx, TPU_ERR_FORMAT, "%s: .zero wants a count", where);
        return tpu_program_add_weights(ctx, p, NULL, n, NULL);
    }
    return tpu_err(ctx, TPU_ERR_FORMAT, "%s: unknown directive '%s'", where, s);
}

static enum tpu_status assemble_line(struct tpu_ctx *ctx, struct tpu_program *p, char *line,
                                     const char *where)
{
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    while (isspace((unsigned char)*line)) line++;
    size_t n = strlen(line);
    while (n && isspace((unsigned char)line[n - 1])) line[--n] = 0;
    if (!*line) return TPU_STATUS_OK;
    if (*line == '.') return parse_directive(ctx, p, line, where);
    struct tpu_insn in;
    enum tpu_status rc = tpu_insn_parse(ctx, line, where, &in);
    return rc ? rc : tpu_program_emit(ctx, p, &in);
}

enum tpu_status tpu_program_assemble_text(struct tpu_ctx *ctx, const char *name,
                                          const char *text, struct tpu_program **out)
{
    *out = NULL;
    struct tpu_program *p = tpu_program_new(ctx);
    if (!p) return TPU_ERR_NOMEM;
    enum tpu_status rc = TPU_STATUS_OK;
    int line_no = 0;
    for (const char *s = text; *s && rc == TPU_STATUS_OK; ) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        char line[4096], where[300];
        snprintf(where, sizeof where, "%s:%d", name, ++line_no);
        if (len >= sizeof line) rc = tpu_err(ctx, TPU_ERR_FORMAT, "%s: line too long", where);
        else {
            memcpy(line, s, len);
            line[len] = 0;
            rc = assemble_line(ctx, p, line, where);
        }
        s += len + (nl != NULL);
    }
    if (rc) { tpu_program_free(p); return rc; }
    *out = p;
    return TPU_STATUS_OK;
}

void tpu_program_print(const struct tpu_program *p, FILE *f)
{
    fprintf(f, "# tpusim program: %d instructions, %llu weight bytes\n", p->n_insns,
            (unsigned long long)p->weight_bytes);
    if (p->chip[0]) fprintf(f, ".chip %s\n", p->chip);
    if (p->array_rows || p->array_cols) fprintf(f, ".array %ux%u\n", p->array_rows, p->array_cols);
    for (int i = 0; i < p->n_insns; i++) {
        char buf[256];
        fprintf(f, "%-60s # %d\n", tpu_insn_format(&p->insns[i], buf, sizeof buf), i);
    }
    for (uint64_t i = 0; p->weights && i < p->weight_bytes; i += 32) {
        fprintf(f, ".data");
        for (uint64_t j = i; j < i + 32 && j < p->weight_bytes; j++) fprintf(f, " %02x", p->weights[j]);
        fprintf(f, "\n");
    }
}
