/*
** isa/isa.c: the instruction table (expanded from isa/isa.def), instruction
** word encoding and decoding, and the one-line text form shared by the
** assembler and the disassembler.
**
** In:  struct tpu_insn (from compile/ or the assembler) or 20-byte words.
** Out: words for the program file (isa/program.c), text for `tpusim disasm`.
*/
#include "isa/isa.h"
#include <ctype.h>
#include <errno.h>
#include <string.h>

static const struct tpu_insn_info insn_rows[] = {
#define TPU_INSN(e, op, unit, a, b, c, d, x, f0, f1) \
    { #e, op, TPU_UNIT_##unit, { a, b, c, d, x }, { f0, f1 } },
#include "isa/isa.def"
#undef TPU_INSN
};
enum { N_INSNS = (int)(sizeof insn_rows / sizeof insn_rows[0]) };

/* opcode → row index + 1 (0 = undefined), built on first use. */
static signed char op_index[256];
static int op_index_ready;

static void build_index(void)
{
    if (op_index_ready) return;
    for (int i = 0; i < N_INSNS; i++) op_index[insn_rows[i].opcode] = (signed char)(i + 1);
    op_index_ready = 1;
}

const struct tpu_insn_info *tpu_insn_info(int opcode)
{
    if (opcode < 0 || opcode > 255) return NULL;
    build_index();
    return op_index[opcode] ? &insn_rows[op_index[opcode] - 1] : NULL;
}

const struct tpu_insn_info *tpu_insn_table(int *n)
{
    *n = N_INSNS;
    return insn_rows;
}

const char *tpu_unit_name(enum tpu_unit u)
{
    static const char *const names[TPU_UNIT_COUNT] = { "ctrl", "host", "dram", "shift",
                                                       "mxu", "act", "vec" };
    return (unsigned)u < TPU_UNIT_COUNT ? names[u] : "?";
}

uint32_t tpu_insn_slot(const struct tpu_insn *in, int slot)
{
    switch (slot) {
    case TPU_SLOT_A: return in->a;
    case TPU_SLOT_B: return in->b;
    case TPU_SLOT_C: return in->c;
    case TPU_SLOT_D: return in->d;
    default:         return in->x;
    }
}

static void set_slot(struct tpu_insn *in, int slot, uint32_t v)
{
    switch (slot) {
    case TPU_SLOT_A: in->a = v; break;
    case TPU_SLOT_B: in->b = v; break;
    case TPU_SLOT_C: in->c = v; break;
    case TPU_SLOT_D: in->d = v; break;
    default:         in->x = (uint16_t)v; break;
    }
}

/*---- Binary words ----*/
static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void tpu_insn_encode(const struct tpu_insn *in, uint8_t out[TPU_INSN_BYTES])
{
    out[0] = in->opcode;
    out[1] = in->flags;
    out[2] = (uint8_t)in->x;
    out[3] = (uint8_t)(in->x >> 8);
    put32(out + 4, in->a);
    put32(out + 8, in->b);
    put32(out + 12, in->c);
    put32(out + 16, in->d);
}

enum tpu_status tpu_insn_decode(struct tpu_ctx *ctx, const uint8_t in[TPU_INSN_BYTES],
                                struct tpu_insn *out)
{
    out->opcode = in[0];
    out->flags = in[1];
    out->x = (uint16_t)(in[2] | in[3] << 8);
    out->a = get32(in + 4);
    out->b = get32(in + 8);
    out->c = get32(in + 12);
    out->d = get32(in + 16);
    const struct tpu_insn_info *info = tpu_insn_info(out->opcode);
    if (!info) return tpu_err(ctx, TPU_ERR_FORMAT, "unknown opcode 0x%02x", out->opcode);
    for (int s = 0; s < TPU_N_SLOTS; s++)
        if (!info->slot[s][0] && tpu_insn_slot(out, s) != 0)
            return tpu_err(ctx, TPU_ERR_FORMAT, "%s: unused operand slot %c is %u, must be 0",
                           info->name, "abcdx"[s], tpu_insn_slot(out, s));
    for (int f = 0; f < 8; f++)
        if ((out->flags >> f & 1) && (f >= 2 || !info->flag[f][0]))
            return tpu_err(ctx, TPU_ERR_FORMAT, "%s: undefined flag bit %d set", info->name, f);
    return TPU_STATUS_OK;
}

/*---- Text form ----*/
const char *tpu_insn_format(const struct tpu_insn *in, char *buf, size_t n)
{
    const struct tpu_insn_info *info = tpu_insn_info(in->opcode);
    if (!info) {
        snprintf(buf, n, ".word 0x%02x (unknown opcode)", in->opcode);
        return buf;
    }
    size_t len = (size_t)snprintf(buf, n, "%s", info->name);
    for (int s = 0; s < TPU_N_SLOTS && len < n; s++)
        if (info->slot[s][0])
            len += (size_t)snprintf(buf + len, n - len, " %s=%u", info->slot[s],
                                    tpu_insn_slot(in, s));
    for (int f = 0; f < 2 && len < n; f++)
        if (info->flag[f][0] && (in->flags >> f & 1))
            len += (size_t)snprintf(buf + len, n - len, " +%s", info->flag[f]);
    return buf;
}

static const struct tpu_insn_info *find_mnemonic(const char *s, size_t len)
{
    for (int i = 0; i < N_INSNS; i++) {
        const char *m = insn_rows[i].name;
        if (strlen(m) != len) continue;
        size_t j = 0;
        while (j < len && toupper((unsigned char)s[j]) == m[j]) j++;
        if (j == len) return &insn_rows[i];
    }
    return NULL;
}

/* One "name=value" or "+flag" token into out. */
static enum tpu_status parse_operand(struct tpu_ctx *ctx, const struct tpu_insn_info *info,
                                     const char *tok, const char *where, struct tpu_insn *out)
{
    if (tok[0] == '+') {
        for (int f = 0; f < 2; f++)
            if (info->flag[f][0] && strcmp(info->flag[f], tok + 1) == 0) {
                out->flags |= (uint8_t)(1u << f);
                return TPU_STATUS_OK;
            }
        return tpu_err(ctx, TPU_ERR_FORMAT, "%s: %s has no flag '%s'", where, info->name, tok + 1);
    }
    const char *eq = strchr(tok, '=');
    if (!eq) return tpu_err(ctx, TPU_ERR_FORMAT, "%s: expected name=value, got '%s'", where, tok);
    for (int s = 0; s < TPU_N_SLOTS; s++) {
        if (!info->slot[s][0] || strlen(info->slot[s]) != (size_t)(eq - tok) ||
            strncmp(info->slot[s], tok, (size_t)(eq - tok)) != 0) continue;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(eq + 1, &end, 0);
        uint64_t max = s == TPU_SLOT_X ? 0xffff : 0xffffffffu;
        if (end == eq + 1 || *end || errno || eq[1] == '-' || v > max)
            return tpu_err(ctx, TPU_ERR_FORMAT, "%s: %s: bad value '%s' for '%s' (0..%llu)",
                           where, info->name, eq + 1, info->slot[s], (unsigned long long)max);
        set_slot(out, s, (uint32_t)v);
        return TPU_STATUS_OK;
    }
    return tpu_err(ctx, TPU_ERR_FORMAT, "%s: %s has no operand '%.*s'", where, info->name,
                   (int)(eq - tok), tok);
}

enum tpu_status tpu_insn_parse(struct tpu_ctx *ctx, const char *line, const char *where,
                               struct tpu_insn *out)
{
    memset(out, 0, sizeof *out);
    const char *p = line;
    while (isspace((unsigned char)*p)) p++;
    size_t len = 0;
    while (p[len] && !isspace((unsigned char)p[len])) len++;
    const struct tpu_insn_info *info = find_mnemonic(p, len);
    if (!info) return tpu_err(ctx, TPU_ERR_FORMAT, "%s: unknown instruction '%.*s'", where,
                              (int)len, p);
    out->opcode = (uint8_t)info->opcode;
    for (p += len; *p; ) {
        while (isspace((unsigned char)*p)) p++;
        if (!*p) break;
        char tok[128];
        size_t n = 0;
        while (p[n] && !isspace((unsigned char)p[n])) n++;
        if (n >= sizeof tok) return tpu_err(ctx, TPU_ERR_FORMAT, "%s: operand too long", where);
        memcpy(tok, p, n);
        tok[n] = 0;
        enum tpu_status rc = parse_operand(ctx, info, tok, where, out);
        if (rc) return rc;
        p += n;
    }
    return TPU_STATUS_OK;
}
