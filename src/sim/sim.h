/*
** sim/sim.h: the cycle-level chip simulator's state. One struct tpu_sim runs
** one program (isa/) on one chip description (sim/sim_config.h), functionally
** (bit-exact int8 x int8 -> int32, bf16 x bf16 -> fp32) and in time.
**
** Timing model (docs/chip.md has the long form):
**   - in-order issue, one instruction per cycle at most; instruction i cannot
**     issue before instruction i - pipeline_stages has started (the 4-stage
**     pipeline of TPU v1, where one instruction may hold a stage for
**     thousands of cycles);
**   - each unit (host DMA, weight DRAM, weight shifter, MXUs, activation,
**     vector) runs its instructions in order; units overlap each other;
**   - RD_WEIGHTS is decoupled: it issues at once, the tile lands in the MXU's
**     weight FIFO when weight memory has delivered it (tile bytes at
**     weight_memory_gb_per_s), no earlier than its FIFO slot is free;
**   - LD_WEIGHTS shifts a tile into the MXU's second (shadow) weight buffer in
**     array_rows cycles, overlapped with the MATMULs on the active tile;
**   - MATMUL streams `rows` vectors (one per cycle) and its last result lands
**     in the accumulators a fill/drain time later; ACTIVATE waits for the
**     accumulator rows it reads (hardware interlock), a later MATMUL that
**     overwrites them waits for the ACTIVATE (WAR);
**   - SYNC stalls issue until a unit's older instructions are done (the RAW
**     "delay slot" of the paper): counted as RAW stall or host-input stall.
** Counters follow TPU v1 paper Table 3. MXU classes are in MXU-cycles: the
** four of them add up to cycles x mxu_count.
*/
#ifndef TPU_SIM_H
#define TPU_SIM_H

#include "isa/isa.h"
#include "sim/sim_config.h"

#define TPU_SIM_MAX_MXUS 64

enum tpu_fault {
    TPU_FAULT_NONE = 0,
    TPU_FAULT_BAD_OPCODE,       /* opcode not in isa.def                    */
    TPU_FAULT_BAD_OPERAND,      /* operand value not allowed                */
    TPU_FAULT_UB_RANGE,         /* unified-buffer address out of range      */
    TPU_FAULT_ACC_RANGE,        /* accumulator row out of range             */
    TPU_FAULT_DRAM_RANGE,       /* weight-memory address out of range       */
    TPU_FAULT_HOST_RANGE,       /* host-memory address out of range         */
    TPU_FAULT_FIFO_OVERFLOW,    /* RD_WEIGHTS into a full weight FIFO        */
    TPU_FAULT_FIFO_EMPTY,       /* LD_WEIGHTS with nothing in the FIFO       */
    TPU_FAULT_NO_WEIGHTS,       /* MATMUL before any LD_WEIGHTS              */
    TPU_FAULT_SHADOW_BUSY,      /* LD_WEIGHTS over a tile never multiplied   */
    TPU_FAULT_ACC_OVERFLOW,     /* int32 accumulator overflow (trap on)     */
    TPU_FAULT_COUNT
};

struct tpu_sim_counters {
    int64_t cycles;                       /* program start to last completion  */
    int64_t n_insns;                      /* instructions executed              */
    /* Table 3 classes, MXU-cycles (sum of rows 1,4,5,6 = cycles x mxu_count) */
    int64_t array_active_cycles;          /* row 1: MXU streaming inputs        */
    int64_t weight_stall_cycles;          /* row 4: waiting for weight memory   */
    int64_t weight_shift_cycles;          /* row 5: waiting for a tile shift-in */
    int64_t non_matrix_cycles;            /* row 6: everything else             */
    int64_t raw_stall_cycles;             /* row 7: issue stalled in SYNC on on-chip units */
    int64_t host_input_stall_cycles;      /* row 8: issue stalled in SYNC on RD_HOST */
    int64_t host_output_stall_cycles;     /* issue stalled in SYNC on WR_HOST (not in Table 3) */
    int64_t useful_macs;                  /* row 2: k_used x n_used per row     */
    int64_t unused_macs;                  /* row 3: idle PEs of active rows     */
    /* memory traffic, bytes (energy events) */
    int64_t ub_bytes_read, ub_bytes_written;
    int64_t acc_bytes_read, acc_bytes_written;
    int64_t dram_bytes_read;
    int64_t host_bytes_in, host_bytes_out;
    int64_t vector_elems;                 /* vector/activation elements         */
};

/* A DEBUG tag: its issue cycle and the MXU classes accounted so far, so the
** report can give each layer its own Table-3 split. */
struct tpu_sim_mark {
    uint32_t tag;
    int64_t  cycle;
    int64_t  active_cycles, stall_cycles, shift_cycles;
};

/* A weight tile's nonzero box (sim_mxu.c), found at its first LD_WEIGHTS in
** a run: k + 1 (0: not yet), kz, nz. */
struct sim_nz { uint32_t k1, kz, nz; };

/* One MXU: its weight FIFO, shadow and active tiles, timeline. */
struct sim_mxu {
    int      fifo_head, fifo_count;       /* ring of weight_fifo_tiles entries */
    uint64_t *fifo_dram;                  /* tile byte offsets in weight memory */
    int64_t  *fifo_arrive;                /* cycle the tile lands in the FIFO   */
    int64_t  *fifo_request;               /* cycle its RD_WEIGHTS issued        */
    int64_t  *fifo_slot_free;             /* cycle each ring slot was popped    */
    uint8_t  *w_active, *w_shadow;        /* tiles, rows x cols x elem (NULL in timing-only) */
    const uint8_t *active_w, *shadow_w;   /* the tiles' bytes: inside tpu_sim_run, where
                                             LD_WEIGHTS found them in the program's weight
                                             image (not copied); after it, w_active /
                                             w_shadow (sim_keep_tiles) */
    int      active_valid, shadow_valid;  /* shadow_valid: loaded, not yet used */
    uint32_t active_k, active_n, shadow_k, shadow_n;
    uint32_t active_kz, active_nz, shadow_kz, shadow_nz;   /* int8: weight rows / columns
                                             past these are all zero (sim_mxu.c) */
    int64_t  shadow_request, shadow_arrive, shadow_shift_start, shadow_shift_done;
    int64_t  shadow_free;                 /* when the shadow buffer may be refilled */
    int64_t  free_at;                     /* next cycle it can take an input row */
};

struct tpu_sim {
    struct tpu_ctx          *ctx;
    const struct tpu_chip   *chip;
    int                      timing_only;
    /* memories (NULL in timing-only mode) */
    uint8_t                 *ub;          /* unified_buffer_bytes              */
    uint8_t                 *acc;         /* accumulator_rows x cols x 4 bytes  */
    int32_t                 *acc_live;    /* per accumulator row: its columns from
                                             this one on are zero, not yet stored
                                             as such (sim_mxu.c); array_cols
                                             (all stored) outside tpu_sim_run   */
    const uint8_t           *dram;        /* the program's weight image         */
    uint64_t                 dram_bytes;
    uint8_t                 *host;        /* caller's host buffer (may be NULL) */
    uint64_t                 host_bytes;
    int32_t                  cfg[TPU_CFG_COUNT];
    struct sim_mxu           mxu[TPU_SIM_MAX_MXUS];
    /* timing */
    int64_t                  unit_free[TPU_UNIT_COUNT];   /* unit busy until   */
    int64_t                 *unit_done[TPU_UNIT_COUNT];   /* completion times, in order */
    int                      unit_n[TPU_UNIT_COUNT], unit_cap[TPU_UNIT_COUNT];
    int64_t                 *acc_write_done;              /* per accumulator row */
    int64_t                 *acc_read_done;               /* per accumulator row */
    int64_t                 *start_ring;                  /* last pipeline_stages starts */
    int64_t                  issue, start, done;          /* of the current instruction */
    int64_t                  host_rd_done;                /* latest RD_HOST completion */
    FILE                    *trace;                       /* one line per instruction, or NULL */
    /* Optional observer called after every instruction, with s->issue/start/done
    ** set (report/bench_trace.c writes the Chrome trace from it). NULL: none. */
    void                   (*on_insn)(void *user, const struct tpu_sim *s, int64_t pc,
                                      const struct tpu_insn *in);
    void                    *on_insn_user;
    /* Optional host side of the host link, in place of the copy through
    ** `host`: RD_HOST calls it with to_host 0 to fill ub[0, n) with host
    ** bytes [addr, addr + n), WR_HOST with to_host 1 to take ub[0, n) as
    ** those host bytes (compile/driver_link.c packs and unpacks straight in
    ** the UB). Returns 1 when it moved the bytes, 0 to copy through `host`.
    ** Timing and counters are the same either way. NULL: none. */
    int                    (*host_link)(void *user, int to_host, uint64_t addr, uint8_t *ub, uint64_t n);
    void                    *host_link_user;
    /* ACTIVATE's padding words (sim_mxu.c): while pad_rows > 0, every UB row
    ** at pad_ub + r x array_cols x 4 (r < pad_rows) holds pad_val[j] in its
    ** words j >= pad_n, as the last raw ACTIVATE into them wrote; the next
    ** one into the same rows with the same values leaves those words be.
    ** Kept only inside tpu_sim_run (pad_on), from its start on, and dropped
    ** by any instruction that may write there (sim_pad_forget). */
    struct sim_nz           *nz_cache;    /* per weight-image tile, this run (sim_mxu.c) */
    int64_t                  nz_n, nz_cap;
    int                      pad_on;
    uint64_t                 pad_ub;
    int64_t                  pad_rows, pad_n;
    int32_t                 *pad_val;                     /* array_cols words    */
    int64_t                  end;                         /* latest completion  */
    struct tpu_sim_counters  ctr;
    struct tpu_sim_mark     *marks;
    int                      n_marks, cap_marks;
    /* fault */
    enum tpu_fault           fault;
    int                      fault_pc;
    int64_t                  fault_cycle;
    char                     fault_msg[512];
};

/* sim_chip.c */
struct tpu_sim *tpu_sim_new(struct tpu_ctx *ctx, const struct tpu_chip *chip, int timing_only);
void            tpu_sim_free(struct tpu_sim *s);                 /* NULL: no-op */
/* Runs p from its first instruction to HALT (or its end). host/host_bytes is
** the host memory RD_HOST/WR_HOST address (host may be NULL in timing-only
** mode). A fault stops the run: TPU_ERR_SIM_FAULT, message with PC, cycle and
** the disassembled instruction. Counters accumulate over runs. */
enum tpu_status tpu_sim_run(struct tpu_sim *s, const struct tpu_program *p, uint8_t *host,
                            uint64_t host_bytes);
const char     *tpu_fault_name(enum tpu_fault f);

/* sim_exec.c: one instruction; returns nonzero when it faulted or halted. */
int sim_exec(struct tpu_sim *s, const struct tpu_insn *in);
/* Records a fault (first one wins); returns 1 so callers `return sim_fault(...)`. */
int sim_fault(struct tpu_sim *s, enum tpu_fault f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Checks [addr, addr+n) within size; 0 if fine. */
int sim_range_ok(uint64_t addr, uint64_t n, uint64_t size);

/* sim_mxu.c: the matrix path */
int sim_rd_weights(struct tpu_sim *s, const struct tpu_insn *in);
int sim_ld_weights(struct tpu_sim *s, const struct tpu_insn *in);
int sim_matmul(struct tpu_sim *s, const struct tpu_insn *in);
int sim_activate(struct tpu_sim *s, const struct tpu_insn *in);
/* The same ACTIVATE through the generic per-element loop only (the reference
** tests/test-sim.c checks the specialised loops against). */
int sim_activate_generic(struct tpu_sim *s, const struct tpu_insn *in);
/* Drops what s->pad_* knows when instruction in may write the UB there (run
** before each instruction; ACTIVATE keeps it up to date itself). */
void sim_pad_forget(struct tpu_sim *s, const struct tpu_insn *in);
/* Run start: an empty nonzero-box cache for the program's weight image. Run
** end: the MXUs' tiles copied out of it into their own buffers. */
void sim_weights_begin(struct tpu_sim *s);
void sim_keep_tiles(struct tpu_sim *s);
/* Stores the zeros columns [acc_live[r], upto) of rows [r0, r0 + n) hold. */
void sim_acc_settle(struct tpu_sim *s, int64_t r0, int64_t n, int64_t upto);
/* sim_dma.c: host link */
int sim_host_dma(struct tpu_sim *s, const struct tpu_insn *in, int to_host);
/* sim_vector.c */
int sim_vector(struct tpu_sim *s, const struct tpu_insn *in);
/* VSOP's op operand: dst[i] = src[i] op imm (imm: the c slot as an fp32 bit
** pattern); R* forms swap the operands (imm - src, imm / src); CLIP_LO / CLIP_HI
** are Clip's bounds (src < imm ? imm : src, src > imm ? imm : src). */
enum tpu_vsop { TPU_VSOP_ADD, TPU_VSOP_SUB, TPU_VSOP_RSUB, TPU_VSOP_MUL, TPU_VSOP_DIV,
                TPU_VSOP_RDIV, TPU_VSOP_MAX, TPU_VSOP_MIN, TPU_VSOP_POW, TPU_VSOP_CLIP_LO,
                TPU_VSOP_CLIP_HI, TPU_VSOP_COUNT };
/* VFN's func operand: dst[i] = f(src[i]). */
enum tpu_vfn { TPU_VFN_RELU, TPU_VFN_SIGMOID, TPU_VFN_TANH, TPU_VFN_ERF, TPU_VFN_SQRT,
               TPU_VFN_NEG, TPU_VFN_ABS, TPU_VFN_EXP, TPU_VFN_RECIP, TPU_VFN_CLAMP01,
               TPU_VFN_COPY, TPU_VFN_COUNT };
/* sim_chip.c: SYNC */
int sim_sync(struct tpu_sim *s, const struct tpu_insn *in);

/* sim_energy.c: energy = counters x per-event table + static power x time. */
struct tpu_sim_energy {
    double mac_j, sram_j, dram_j, host_j, static_j, total_j;
    double seconds, average_watts;
};
void tpu_sim_energy(const struct tpu_chip *c, const struct tpu_sim_counters *k,
                    struct tpu_sim_energy *out);
/* Joules of the events between two counter snapshots (no static power). */
double tpu_sim_dynamic_energy(const struct tpu_chip *c, const struct tpu_sim_counters *after,
                              const struct tpu_sim_counters *before);

static inline int64_t sim_max(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t sim_min(int64_t a, int64_t b) { return a < b ? a : b; }

#endif /* TPU_SIM_H */
