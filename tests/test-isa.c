/*
** tests/test-isa.c: the instruction set — opcode and mnemonic uniqueness,
** encode/decode and assemble/disassemble round trips of every instruction,
** decoder rejections, every instruction documented (sim_exec.c blocks and
** docs/isa.md up to date), program files (round trip, every truncation).
*/
#include "isa/isa.h"
#include "testlib.h"
#include <string.h>

static uint32_t rng_state = 12345;
static uint32_t rnd(void) { rng_state ^= rng_state << 13; rng_state ^= rng_state >> 17; rng_state ^= rng_state << 5; return rng_state; }

static int test_unique(void)
{
    int n;
    const struct tpu_insn_info *t = tpu_insn_table(&n);
    TEST_CHECK(n >= 20, "only %d instructions", n);
    for (int i = 0; i < n; i++) {
        TEST_CHECK(tpu_insn_info(t[i].opcode) == &t[i], "%s: opcode 0x%02x maps elsewhere", t[i].name, t[i].opcode);
        for (int j = i + 1; j < n; j++) {
            TEST_CHECK(t[i].opcode != t[j].opcode, "%s and %s share opcode 0x%02x", t[i].name, t[j].name, t[i].opcode);
            TEST_CHECK(strcmp(t[i].name, t[j].name) != 0, "mnemonic %s twice", t[i].name);
        }
        for (int s = 0; s < TPU_N_SLOTS; s++)
            for (int r = s + 1; r < TPU_N_SLOTS; r++)
                TEST_CHECK(!t[i].slot[s][0] || strcmp(t[i].slot[s], t[i].slot[r]) != 0, "%s: operand %s twice",
                           t[i].name, t[i].slot[s]);
    }
    return 0;
}

/* A random valid instruction of row t. */
static struct tpu_insn random_insn(const struct tpu_insn_info *t)
{
    struct tpu_insn in = { (uint8_t)t->opcode, 0, 0, 0, 0, 0, 0 };
    uint32_t *slots[4] = { &in.a, &in.b, &in.c, &in.d };
    for (int s = 0; s < 4; s++) if (t->slot[s][0]) *slots[s] = rnd() >> (rnd() % 32);
    if (t->slot[TPU_SLOT_X][0]) in.x = (uint16_t)rnd();
    for (int f = 0; f < 2; f++) if (t->flag[f][0] && (rnd() & 1)) in.flags |= (uint8_t)(1 << f);
    return in;
}

static int test_roundtrip(void)
{
    int n;
    const struct tpu_insn_info *t = tpu_insn_table(&n);
    struct tpu_ctx *ctx = tpu_init();
    for (int i = 0; i < n; i++)
        for (int rep = 0; rep < 200; rep++) {
            struct tpu_insn in = random_insn(&t[i]), dec, par;
            uint8_t w[TPU_INSN_BYTES];
            tpu_insn_encode(&in, w);
            TEST_CHECK(tpu_insn_decode(ctx, w, &dec) == 0, "%s: %s", t[i].name, tpu_errmsg(ctx));
            TEST_CHECK(memcmp(&in, &dec, sizeof in) == 0, "%s: decode differs", t[i].name);
            char text[256];
            tpu_insn_format(&in, text, sizeof text);
            TEST_CHECK(tpu_insn_parse(ctx, text, "t", &par) == 0, "%s: %s", text, tpu_errmsg(ctx));
            TEST_CHECK(memcmp(&in, &par, sizeof in) == 0, "'%s' does not assemble back", text);
        }
    tpu_free(ctx);
    return 0;
}

static int expect_decode_error(const uint8_t *w, const char *msg)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_insn in;
    int ok = tpu_insn_decode(ctx, w, &in) == TPU_ERR_FORMAT && strstr(tpu_errmsg(ctx), msg);
    if (!ok) snprintf(test_why, sizeof test_why, "wanted '%s', got '%s'", msg, tpu_errmsg(ctx));
    tpu_free(ctx);
    return !ok;
}

static int test_decode_rejects(void)
{
    uint8_t w[TPU_INSN_BYTES] = { 0xee };
    if (expect_decode_error(w, "unknown opcode 0xee")) return 1;
    memset(w, 0, sizeof w);
    w[0] = TPU_INSN_HALT; w[4] = 1;                       /* HALT has no operand a */
    if (expect_decode_error(w, "unused operand slot a")) return 1;
    memset(w, 0, sizeof w);
    w[0] = TPU_INSN_MATMUL; w[1] = 2;                     /* MATMUL has only flag 0 */
    if (expect_decode_error(w, "undefined flag bit 1")) return 1;
    return 0;
}

static int expect_asm_error(const char *text, const char *msg)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_program *p = NULL;
    int ok = tpu_program_assemble_text(ctx, "x.s", text, &p) == TPU_ERR_FORMAT && strstr(tpu_errmsg(ctx), msg);
    if (!ok) snprintf(test_why, sizeof test_why, "wanted '%s', got '%s'", msg, tpu_errmsg(ctx));
    tpu_program_free(p);
    tpu_free(ctx);
    return !ok;
}

static int test_asm_errors(void)
{
    if (expect_asm_error("NOP\nFROB a=1\n", "x.s:2: unknown instruction 'FROB'")) return 1;
    if (expect_asm_error("MATMUL ub=1 colour=3\n", "x.s:1: MATMUL has no operand 'colour'")) return 1;
    if (expect_asm_error("LD_WEIGHTS mxu=70000\n", "bad value '70000' for 'mxu'")) return 1;
    if (expect_asm_error("MATMUL +raw\n", "MATMUL has no flag 'raw'")) return 1;
    if (expect_asm_error("RD_HOST bytes=-1\n", "bad value '-1'")) return 1;
    if (expect_asm_error(".bogus 1\n", "unknown directive '.bogus'")) return 1;
    if (expect_asm_error(".data 1 2 zz\n", ".data: bad byte")) return 1;
    return 0;
}

/* A program using every instruction, with weights. */
static struct tpu_program *every_insn_program(struct tpu_ctx *ctx)
{
    int n;
    const struct tpu_insn_info *t = tpu_insn_table(&n);
    struct tpu_program *p = tpu_program_new(ctx);
    snprintf(p->chip, sizeof p->chip, "tpu-v1");
    p->array_rows = p->array_cols = 256;
    for (int i = 0; i < n; i++) {
        struct tpu_insn in = random_insn(&t[i]);
        tpu_program_emit(ctx, p, &in);
    }
    uint8_t w[100];
    for (int i = 0; i < 100; i++) w[i] = (uint8_t)rnd();
    tpu_program_add_weights(ctx, p, w, sizeof w, NULL);
    return p;
}

static int same_program(const struct tpu_program *a, const struct tpu_program *b)
{
    return strcmp(a->chip, b->chip) == 0 && a->array_rows == b->array_rows && a->array_cols == b->array_cols &&
           a->n_insns == b->n_insns && memcmp(a->insns, b->insns, (size_t)a->n_insns * sizeof *a->insns) == 0 &&
           a->weight_bytes == b->weight_bytes && memcmp(a->weights, b->weights, (size_t)a->weight_bytes) == 0;
}

static int test_program_roundtrip(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_program *p = every_insn_program(ctx), *q = NULL, *r = NULL;
    const char *path = "build/test-isa-roundtrip.tpu";
    TEST_CHECK(tpu_program_write_file(ctx, p, path) == 0, "%s", tpu_errmsg(ctx));
    TEST_CHECK(tpu_program_load(ctx, path, &q) == 0, "%s", tpu_errmsg(ctx));
    TEST_CHECK(same_program(p, q), "binary round trip differs");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    tpu_program_print(p, f);
    fclose(f);
    TEST_CHECK(tpu_program_assemble_text(ctx, "dis.s", text, &r) == 0, "%s", tpu_errmsg(ctx));
    TEST_CHECK(same_program(p, r), "disassembly does not assemble back to the same program");
    free(text);
    tpu_program_free(p);
    tpu_program_free(q);
    tpu_program_free(r);
    remove(path);
    tpu_free(ctx);
    return 0;
}

/* Every prefix of a valid file is a clean TPU_ERR_FORMAT, never a crash. */
static int test_program_truncated(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_program *p = every_insn_program(ctx);
    const char *path = "build/test-isa-trunc.tpu";
    TEST_CHECK(tpu_program_write_file(ctx, p, path) == 0, "%s", tpu_errmsg(ctx));
    FILE *f = fopen(path, "rb");
    uint8_t buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    for (size_t len = 0; len < n; len++) {
        struct tpu_program *q = NULL;
        tpu_err_clear(ctx);
        TEST_CHECK(tpu_program_decode(ctx, "t.tpu", buf, len, &q) == TPU_ERR_FORMAT && !q, "prefix %zu accepted", len);
    }
    buf[TPU_PROGRAM_HEADER + 3 * TPU_INSN_BYTES] = 0xfe;      /* corrupt the 4th opcode */
    struct tpu_program *q = NULL;
    tpu_err_clear(ctx);
    TEST_CHECK(tpu_program_decode(ctx, "t.tpu", buf, n, &q) == TPU_ERR_FORMAT &&
               strstr(tpu_errmsg(ctx), "instruction 3: unknown opcode 0xfe"), "%s", tpu_errmsg(ctx));
    tpu_program_free(p);
    remove(path);
    tpu_free(ctx);
    return 0;
}

static char *slurp(const char *path, FILE *from)
{
    FILE *f = from ? from : fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    if (from) pclose(f); else fclose(f);
    return buf;
}

static int test_documented(void)
{
    char *exec = slurp("src/sim/sim_exec.c", NULL), *chip = slurp("src/sim/sim_chip.c", NULL);
    char *doc = slurp("docs/isa.md", NULL);
    TEST_CHECK(exec && chip && doc, "run from the repository root");
    int n;
    const struct tpu_insn_info *t = tpu_insn_table(&n);
    for (int i = 0; i < n; i++) {
        char insn[64], sect[64];
        snprintf(insn, sizeof insn, "Insn: %s", t[i].name);
        snprintf(sect, sizeof sect, "### %s\n", t[i].name);
        TEST_CHECK(strstr(exec, insn) || strstr(chip, insn), "%s has no Insn: block", t[i].name);
        TEST_CHECK(strstr(doc, sect), "docs/isa.md has no section for %s", t[i].name);
    }
    char *fresh = slurp(NULL, popen("sh tools/gen-isa-doc.sh -", "r"));
    TEST_CHECK(fresh && strcmp(fresh, doc) == 0, "docs/isa.md is stale: rerun sh tools/gen-isa-doc.sh");
    free(exec); free(chip); free(doc); free(fresh);
    return 0;
}

static const struct test_case cases[] = {
    { "isa-1.1 opcodes and mnemonics unique", test_unique },
    { "isa-1.2 every instruction encodes, decodes, disassembles, assembles", test_roundtrip },
    { "isa-1.3 decoder rejects bad words", test_decode_rejects },
    { "isa-1.4 assembler errors name file and line", test_asm_errors },
    { "isa-1.5 every instruction documented, docs/isa.md current", test_documented },
    { "isa-2.1 program file and disassembly round trips", test_program_roundtrip },
    { "isa-2.2 truncated and corrupt program files", test_program_truncated },
};
TEST_MAIN(cases)
