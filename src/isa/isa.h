/*
** isa/isa.h: the instruction set — the contract between compile/ and sim/.
**
** Instruction word: 20 bytes, little-endian:
**   byte 0      opcode   (isa/isa.def)
**   byte 1      flags    (bit 0 = flag0, bit 1 = flag1 of the row; others 0)
**   bytes 2-3   x        u16 operand (mxu number, function, register, ...)
**   bytes 4-7   a        u32 operand
**   bytes 8-11  b        u32 operand
**   bytes 12-15 c        u32 operand
**   bytes 16-19 d        u32 operand
** Unused slots must be zero; the decoder rejects anything else.
**
** Program file (.tpu), little-endian, documented field by field:
**   offset  size  field
**   0       4     magic "TPUP"
**   4       4     version (TPU_PROGRAM_VERSION)
**   8       24    chip name the program was compiled for, NUL-padded ("" = any)
**   32      4     array_rows the program was tiled for (0 = any)
**   36      4     array_cols
**   40      4     n_insns
**   44      4     reserved, 0
**   48      8     weight_bytes: size of the weight-memory image
**   56      20*n_insns   instruction words
**   ...     weight_bytes the weight-memory (DRAM) image RD_WEIGHTS reads
** Assembly (.s): one instruction per line, `mnemonic key=value ... +flag`,
** `#` comments, directives `.chip NAME`, `.array RxC`, `.data B B ...` (hex
** bytes appended to the weight image) and `.zero N`.
*/
#ifndef TPU_ISA_H
#define TPU_ISA_H

#include "tpu_impl.h"

#define TPU_INSN_BYTES       20
#define TPU_PROGRAM_MAGIC    "TPUP"
#define TPU_PROGRAM_VERSION  1u
#define TPU_PROGRAM_HEADER   56

enum tpu_insn_op {
#define TPU_INSN(e, op, unit, a, b, c, d, x, f0, f1) TPU_INSN_##e = op,
#include "isa/isa.def"
#undef TPU_INSN
};

/* Functional units; SYNC's `units` operand is a mask of (1 << unit). */
enum tpu_unit { TPU_UNIT_CTRL, TPU_UNIT_HOST, TPU_UNIT_DRAM, TPU_UNIT_SHIFT,
                TPU_UNIT_MXU, TPU_UNIT_ACT, TPU_UNIT_VEC, TPU_UNIT_COUNT };

/* ACTIVATE func operand. */
enum tpu_act_func { TPU_ACT_NONE = 0, TPU_ACT_RELU = 1, TPU_ACT_SIGMOID = 2, TPU_ACT_TANH = 3,
                    TPU_ACT_CLIP = 4,        /* per-column lo/hi table at cfg[TPU_CFG_CLAMP_ADDR] */
                    TPU_ACT_COUNT };
/* SET_CFG registers. BIAS_ADDR / CLAMP_ADDR: UB byte addresses of ACTIVATE's
** per-column tables (bias: array_cols 32-bit words; clamp: array_cols lo
** words, then array_cols hi words; int32 on int8 chips, fp32 on bf16 chips). */
enum tpu_cfg_reg { TPU_CFG_REQUANT_MULT = 0, TPU_CFG_REQUANT_SHIFT = 1, TPU_CFG_BIAS_ADDR = 2,
                   TPU_CFG_CLAMP_ADDR = 3, TPU_CFG_COUNT };

struct tpu_insn {
    uint8_t  opcode, flags;
    uint16_t x;
    uint32_t a, b, c, d;
};

/* Slots of an instruction in the table's order a, b, c, d, x. */
enum { TPU_SLOT_A, TPU_SLOT_B, TPU_SLOT_C, TPU_SLOT_D, TPU_SLOT_X, TPU_N_SLOTS };

struct tpu_insn_info {
    const char *name;                   /* "MATMUL"                        */
    int         opcode;
    enum tpu_unit unit;
    const char *slot[TPU_N_SLOTS];      /* operand names; "" = unused      */
    const char *flag[2];                /* flag names; "" = unused         */
};

/* Table row of an opcode, or NULL if the opcode is not defined. */
const struct tpu_insn_info *tpu_insn_info(int opcode);
/* Every row in table order (for tests and docs); *n gets the count. */
const struct tpu_insn_info *tpu_insn_table(int *n);
const char *tpu_unit_name(enum tpu_unit u);

void            tpu_insn_encode(const struct tpu_insn *in, uint8_t out[TPU_INSN_BYTES]);
/* Decodes and checks (opcode known, unused slots and flags zero). Errors are
** TPU_ERR_FORMAT with a message saying which field is wrong. */
enum tpu_status tpu_insn_decode(struct tpu_ctx *ctx, const uint8_t in[TPU_INSN_BYTES],
                                struct tpu_insn *out);
/* "MATMUL ub=0x100 acc=0 rows=256 ub_stride=0 mxu=0 +acc" into buf; returns buf. */
const char     *tpu_insn_format(const struct tpu_insn *in, char *buf, size_t n);
/* Parses one assembly instruction line (no comment); errors name `where`. */
enum tpu_status tpu_insn_parse(struct tpu_ctx *ctx, const char *line, const char *where,
                               struct tpu_insn *out);
uint32_t        tpu_insn_slot(const struct tpu_insn *in, int slot);

/*---- Programs ----*/
struct tpu_program {
    char              chip[24];         /* compiled for; "" = any             */
    uint32_t          array_rows, array_cols;
    int               n_insns, cap_insns;
    struct tpu_insn  *insns;            /* tpu_malloc'd                       */
    uint64_t          weight_bytes, cap_weight_bytes;
    uint8_t          *weights;          /* weight-memory image, tpu_malloc'd  */
    int               weights_virtual;  /* 1: sizes only, no bytes (timing-only
                                           compiles); such a program cannot be saved */
};

struct tpu_program *tpu_program_new(struct tpu_ctx *ctx);
void                tpu_program_free(struct tpu_program *p);     /* NULL: no-op */
/* Appends an instruction; TPU_ERR_NOMEM on failure. */
enum tpu_status     tpu_program_emit(struct tpu_ctx *ctx, struct tpu_program *p,
                                     const struct tpu_insn *in);
/* Appends n bytes (zeros when data is NULL) to the weight image; *offset gets
** where they start. */
enum tpu_status     tpu_program_add_weights(struct tpu_ctx *ctx, struct tpu_program *p,
                                            const void *data, uint64_t n, uint64_t *offset);
enum tpu_status     tpu_program_write_file(struct tpu_ctx *ctx, const struct tpu_program *p,
                                           const char *path);
/* Parses a .tpu image; name is used in messages ("prog.tpu: byte 60: ..."). */
enum tpu_status     tpu_program_decode(struct tpu_ctx *ctx, const char *name, const uint8_t *buf,
                                       size_t n, struct tpu_program **out);
/* Assembles .s text. */
enum tpu_status     tpu_program_assemble_text(struct tpu_ctx *ctx, const char *name,
                                              const char *text, struct tpu_program **out);
/* Disassembles to assembly that tpu_program_assemble_text reads back. */
void                tpu_program_print(const struct tpu_program *p, FILE *f);

#endif /* TPU_ISA_H */
