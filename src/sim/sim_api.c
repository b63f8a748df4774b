/*
** sim/sim_api.c: the public Chip API's chip and program entry points
** (include/tpusim.h, section "Chip API"): finding a chip description by preset
** name or file, the --array / --set overrides, and program files in their
** binary and assembly forms.
**
** In:  names and paths from the CLI or a library user.
** Out: struct tpu_chip (sim/sim_config.h), struct tpu_program (isa/isa.h).
*/
#include "sim/sim.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Reads a whole file (NUL-terminated); *n gets the size without the NUL. */
static char *read_file(struct tpu_ctx *ctx, const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) { tpu_err(ctx, TPU_ERR_IO, "%s: cannot open: %s", path, strerror(errno)); return NULL; }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 65536;
            char *nb = tpu_realloc(ctx, buf, cap);
            if (!nb) { free(buf); fclose(f); return NULL; }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, 4096, f);
        len += got;
        if (got < 4096) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); tpu_err(ctx, TPU_ERR_IO, "%s: read error", path); return NULL; }
    buf[len] = 0;
    *n = len;
    return buf;
}

/* Preset name → file: $TPUSIM_CHIPS/NAME.chip, chips/NAME.chip, then
** <dir of the executable>/../chips/NAME.chip. */
static int find_preset(const char *name, char *path, size_t n)
{
    const char *env = getenv("TPUSIM_CHIPS");
    if (env && *env) {
        snprintf(path, n, "%s/%s.chip", env, name);
        if (access(path, R_OK) == 0) return 0;
    }
    snprintf(path, n, "chips/%s.chip", name);
    if (access(path, R_OK) == 0) return 0;
    char exe[1024];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return -1;
    exe[len] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return -1;
    *slash = 0;
    snprintf(path, n, "%s/../chips/%s.chip", exe, name);
    return access(path, R_OK) == 0 ? 0 : -1;
}

enum tpu_status tpu_chip_load(struct tpu_ctx *ctx, const char *name_or_file, struct tpu_chip **out)
{
    *out = NULL;
    char path[1200];
    int is_file = strchr(name_or_file, '/') || strstr(name_or_file, ".chip");
    if (is_file) snprintf(path, sizeof path, "%s", name_or_file);
    else if (find_preset(name_or_file, path, sizeof path) != 0)
        return tpu_err(ctx, TPU_ERR_CONFIG, "unknown chip '%s': no chips/%s.chip (presets: "
                       "tpu-v1, tpu-v4, tpu-v5e; or give a .chip file)", name_or_file, name_or_file);
    size_t n;
    char *text = read_file(ctx, path, &n);
    if (!text) return ctx->status ? ctx->status : TPU_ERR_IO;
    if (strlen(text) != n) {
        free(text);
        return tpu_err(ctx, TPU_ERR_CONFIG, "%s: not a text file", path);
    }
    struct tpu_chip *c = tpu_calloc(ctx, 1, sizeof *c);
    enum tpu_status rc = c ? tpu_chip_parse(ctx, path, text, c) : TPU_ERR_NOMEM;
    free(text);
    if (rc) { free(c); return rc; }
    *out = c;
    return TPU_STATUS_OK;
}

enum tpu_status tpu_chip_override(struct tpu_ctx *ctx, struct tpu_chip *chip, const char *key_value)
{
    return tpu_chip_set_kv(ctx, chip, "--set", key_value);
}

enum tpu_status tpu_chip_set_array(struct tpu_ctx *ctx, struct tpu_chip *chip, const char *rxc)
{
    char r[32], c[32], extra;
    unsigned long rv, cv;
    if (sscanf(rxc, "%lu%*[xX]%lu%c", &rv, &cv, &extra) != 2)
        return tpu_err(ctx, TPU_ERR_CONFIG, "--array: expected RxC (e.g. 256x256), got '%s'", rxc);
    snprintf(r, sizeof r, "array_rows=%lu", rv);
    snprintf(c, sizeof c, "array_cols=%lu", cv);
    enum tpu_status rc = tpu_chip_set_kv(ctx, chip, "--array", r);
    return rc ? rc : tpu_chip_set_kv(ctx, chip, "--array", c);
}

const char *tpu_chip_name(const struct tpu_chip *chip) { return chip->name; }
void tpu_chip_free(struct tpu_chip *chip) { free(chip); }
void tpu_chip_describe(const struct tpu_chip *chip, FILE *f) { tpu_chip_print(chip, f); }

/*---- Programs ----*/
enum tpu_status tpu_program_assemble(struct tpu_ctx *ctx, const char *path, struct tpu_program **out)
{
    *out = NULL;
    size_t n;
    char *text = read_file(ctx, path, &n);
    if (!text) return ctx->status ? ctx->status : TPU_ERR_IO;
    enum tpu_status rc = tpu_program_assemble_text(ctx, path, text, out);
    free(text);
    return rc;
}

enum tpu_status tpu_program_load(struct tpu_ctx *ctx, const char *path, struct tpu_program **out)
{
    *out = NULL;
    size_t n;
    char *buf = read_file(ctx, path, &n);
    if (!buf) return ctx->status ? ctx->status : TPU_ERR_IO;
    enum tpu_status rc = tpu_program_decode(ctx, path, (const uint8_t *)buf, n, out);
    free(buf);
    return rc;
}

enum tpu_status tpu_program_save(struct tpu_ctx *ctx, const struct tpu_program *p, const char *path)
{
    return tpu_program_write_file(ctx, p, path);
}

void tpu_program_disasm(const struct tpu_program *p, FILE *f) { tpu_program_print(p, f); }
