/*
** cli/cli_chip.c: the chip subcommands of `tpusim`, over include/tpusim.h only.
**   tpusim asm FILE.s -o FILE.tpu       assemble
**   tpusim disasm FILE.tpu              print re-assemblable text
**   tpusim sim PROGRAM --chip C [...]   run a program (.tpu or .s) on a chip
**   tpusim chip C [--array RxC] [--set k=v]   print a resolved chip description
**   tpusim run MODEL --chip C [...]     lower, simulate, report (C != ref)
*/
#include "tpusim.h"
#include "cli_chip.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char tpu_cli_chip_usage[] =
    "  run MODEL --chip tpu-v1|tpu-v4|tpu-v5e|FILE ...  simulated chip; asm, disasm, sim,\n"
    "        chip: chip programs and descriptions (tpusim chip --help for all options)\n";

static const char chip_usage_full[] =
    "  run MODEL --chip NAME|FILE [--array RxC] [--set key=value]... [--timing-only]\n"
    "      [--schedule tpu|scalesim] [--json FILE] [--seed N] [--host-ops]   run on a simulated chip\n"
    "      (--host-ops: ops other than Gemm/MatMul/Conv run on the host CPU, untimed)\n"
    "  asm FILE.s -o FILE.tpu                assemble a chip program\n"
    "  disasm FILE.tpu                       disassemble a chip program\n"
    "  sim PROGRAM --chip NAME|FILE [--host-bytes N] [--timing-only] [--trace] [--json FILE]\n"
    "  chip NAME|FILE [--array RxC] [--set key=value]...  print a chip description\n";

struct chip_args {
    const char *input, *chip, *array, *json, *out, *schedule;
    const char *sets[64];
    int         n_sets, timing_only, host_ops, trace;
    unsigned long long seed, host_bytes;
};

static int fail(struct tpu_ctx *ctx, enum tpu_status rc)
{
    fprintf(stderr, "tpusim: %s\n", tpu_errmsg(ctx)[0] ? tpu_errmsg(ctx) : tpu_status_str(rc));
    return tpu_status_exit_code(rc);
}

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "tpusim: %s%s%s\nusage:\n%s", msg, arg ? " " : "", arg ? arg : "", chip_usage_full);
    return 2;
}

/* Parses options after the subcommand; returns 0 or an exit code. */
static int parse_args(int argc, char **argv, struct chip_args *a)
{
    memset(a, 0, sizeof *a);
    a->schedule = "tpu";
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (strcmp(s, "--timing-only") == 0) { a->timing_only = 1; takes = 0; }
        else if (strcmp(s, "--help") == 0) return usage_error("chip commands", NULL);
        else if (strcmp(s, "--host-ops") == 0) { a->host_ops = 1; takes = 0; }
        else if (strcmp(s, "--trace") == 0) { a->trace = 1; takes = 0; }
        else if (!v && s[0] == '-') return usage_error("missing value after", s);
        else if (strcmp(s, "--chip") == 0) a->chip = v;
        else if (strcmp(s, "--array") == 0) a->array = v;
        else if (strcmp(s, "--json") == 0) a->json = v;
        else if (strcmp(s, "-o") == 0) a->out = v;
        else if (strcmp(s, "--schedule") == 0) a->schedule = v;
        else if (strcmp(s, "--seed") == 0) a->seed = strtoull(v, NULL, 0);
        else if (strcmp(s, "--host-bytes") == 0) a->host_bytes = strtoull(v, NULL, 0);
        else if (strcmp(s, "--set") == 0) {
            if (a->n_sets == 64) return usage_error("too many --set", NULL);
            a->sets[a->n_sets++] = v;
        } else if (s[0] == '-') return usage_error("unknown option", s);
        else if (!a->input) { a->input = s; takes = 0; }
        else return usage_error("unexpected argument", s);
        i += takes;
    }
    if (strcmp(a->schedule, "tpu") != 0 && strcmp(a->schedule, "scalesim") != 0)
        return usage_error("--schedule must be tpu or scalesim, not", a->schedule);
    return 0;
}

static enum tpu_status load_chip(struct tpu_ctx *ctx, const struct chip_args *a, const char *name,
                                 struct tpu_chip **chip)
{
    enum tpu_status rc = tpu_chip_load(ctx, name, chip);
    if (!rc && a->array) rc = tpu_chip_set_array(ctx, *chip, a->array);
    for (int i = 0; !rc && i < a->n_sets; i++) rc = tpu_chip_override(ctx, *chip, a->sets[i]);
    return rc;
}

static int finish_report(struct tpu_ctx *ctx, const struct chip_args *a, struct tpu_chip_report *r)
{
    tpu_chip_report_print(r, stdout);
    enum tpu_status rc = a->json ? tpu_chip_report_write_json(ctx, r, a->json) : TPU_STATUS_OK;
    tpu_chip_report_free(r);
    return rc ? fail(ctx, rc) : 0;
}

static int cmd_run(struct tpu_ctx *ctx, const struct chip_args *a)
{
    if (!a->input) return usage_error("run: no model given", NULL);
    struct tpu_chip *chip = NULL;
    struct tpu_graph *g = NULL;
    struct tpu_chip_report *r = NULL;
    enum tpu_status rc = load_chip(ctx, a, a->chip, &chip);
    if (!rc) rc = tpu_load_onnx(ctx, a->input, &g);
    struct tpu_chip_run_opts o = { a->timing_only, strcmp(a->schedule, "scalesim") == 0, a->seed,
                                   a->host_ops };
    if (!rc) rc = tpu_chip_run_model(ctx, g, chip, &o, &r);
    tpu_graph_free(g);
    tpu_chip_free(chip);
    return rc ? fail(ctx, rc) : finish_report(ctx, a, r);
}

static enum tpu_status load_program(struct tpu_ctx *ctx, const char *path, struct tpu_program **p)
{
    size_t n = strlen(path);
    if (n > 2 && strcmp(path + n - 2, ".s") == 0) return tpu_program_assemble(ctx, path, p);
    return tpu_program_load(ctx, path, p);
}

static int cmd_sim(struct tpu_ctx *ctx, const struct chip_args *a)
{
    if (!a->input || !a->chip) return usage_error("sim: needs PROGRAM and --chip", NULL);
    struct tpu_chip *chip = NULL;
    struct tpu_program *p = NULL;
    struct tpu_chip_report *r = NULL;
    enum tpu_status rc = load_chip(ctx, a, a->chip, &chip);
    if (!rc) rc = load_program(ctx, a->input, &p);
    if (!rc) rc = tpu_chip_run_program(ctx, p, chip, a->host_bytes, a->timing_only,
                                       a->trace ? stdout : NULL, &r);
    tpu_program_free(p);
    tpu_chip_free(chip);
    return rc ? fail(ctx, rc) : finish_report(ctx, a, r);
}

static int cmd_asm(struct tpu_ctx *ctx, const struct chip_args *a)
{
    if (!a->input || !a->out) return usage_error("asm: needs FILE.s and -o FILE.tpu", NULL);
    struct tpu_program *p = NULL;
    enum tpu_status rc = tpu_program_assemble(ctx, a->input, &p);
    if (!rc) rc = tpu_program_save(ctx, p, a->out);
    tpu_program_free(p);
    return rc ? fail(ctx, rc) : 0;
}

static int cmd_disasm(struct tpu_ctx *ctx, const struct chip_args *a)
{
    if (!a->input) return usage_error("disasm: needs FILE.tpu", NULL);
    struct tpu_program *p = NULL;
    enum tpu_status rc = tpu_program_load(ctx, a->input, &p);
    if (!rc) tpu_program_disasm(p, stdout);
    tpu_program_free(p);
    return rc ? fail(ctx, rc) : 0;
}

static int cmd_chip(struct tpu_ctx *ctx, const struct chip_args *a)
{
    if (!a->input) return usage_error("chip: needs NAME or FILE", NULL);
    struct tpu_chip *chip = NULL;
    enum tpu_status rc = load_chip(ctx, a, a->input, &chip);
    if (!rc) tpu_chip_describe(chip, stdout);
    tpu_chip_free(chip);
    return rc ? fail(ctx, rc) : 0;
}

static const char *chip_option(int argc, char **argv)
{
    for (int i = 2; i + 1 < argc; i++) if (strcmp(argv[i], "--chip") == 0) return argv[i + 1];
    return NULL;
}

int tpu_cli_chip_handles(int argc, char **argv)
{
    if (argc < 2) return 0;
    const char *cmd = argv[1], *chip = chip_option(argc, argv);
    if (strcmp(cmd, "run") == 0) return chip && strcmp(chip, "ref") != 0;
    return strcmp(cmd, "asm") == 0 || strcmp(cmd, "disasm") == 0 || strcmp(cmd, "sim") == 0 ||
           strcmp(cmd, "chip") == 0;
}

int tpu_cli_chip_main(int argc, char **argv)
{
    struct chip_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    struct tpu_ctx *ctx = tpu_init();
    if (!ctx) { fprintf(stderr, "tpusim: out of memory\n"); return 2; }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0) rc = cmd_run(ctx, &a);
    else if (strcmp(cmd, "sim") == 0) rc = cmd_sim(ctx, &a);
    else if (strcmp(cmd, "asm") == 0) rc = cmd_asm(ctx, &a);
    else if (strcmp(cmd, "disasm") == 0) rc = cmd_disasm(ctx, &a);
    else rc = cmd_chip(ctx, &a);
    tpu_free(ctx);
    return rc;
}
