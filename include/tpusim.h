/*
** tpusim.h: the one public header of tpusim, a TPU-class inference accelerator
** in software. The CLI (src/cli/main.c) and the black-box tests include only this.
**
**   model.onnx ─► onnx/ ─► ir/ ─► compile/ ─► isa/ (program) ─► sim/ ─► report/
**                           │                                    │
**                           └──────────► ref/ (CPU oracle) ──────┴─► compare
**
** Example: load a model, bind its inputs to seeded random values, run it on the
** reference executor and print the first output's element count.
**
**   struct tpu_ctx *ctx = tpu_init();
**   struct tpu_graph *g = NULL;
**   if (tpu_load_onnx(ctx, "resnet18.onnx", &g) != TPU_STATUS_OK)
**       fprintf(stderr, "%s\n", tpu_errmsg(ctx));
**   tpu_graph_prepare(ctx, g, NULL, 0);          // bind dims, fold, validate
**   tpu_graph_fill_random_inputs(ctx, g, 1234);
**   tpu_ref_run(ctx, g);
**   printf("%lld\n", (long long)tpu_tensor_numel(tpu_graph_output(g, 0)));
**   tpu_graph_free(g);
**   tpu_free(ctx);
**
** Ownership: every tensor and node belongs to its graph and dies with
** tpu_graph_free(). Every *_free(NULL) is a harmless no-op.
*/
#ifndef TPUSIM_H
#define TPUSIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status of every public call. The CLI maps these to exit codes:
** OK → 0, MISMATCH → 1, everything else → 2. */
enum tpu_status {
    TPU_STATUS_OK = 0,
    TPU_ERR_USAGE,        /* bad command line or API misuse                  */
    TPU_ERR_IO,           /* file cannot be opened, read or written          */
    TPU_ERR_FORMAT,       /* file is not a valid model / tensor / program    */
    TPU_ERR_SHAPE,        /* shapes or dtypes do not fit                     */
    TPU_ERR_UNSUPPORTED,  /* valid ONNX that tpusim does not implement       */
    TPU_ERR_NOMEM,        /* allocation failed or size over the limit        */
    TPU_ERR_MISMATCH,     /* outputs differ from the expected ones           */
    TPU_ERR_SIM_FAULT,    /* the simulated chip faulted                      */
    TPU_ERR_CONFIG,       /* bad chip description                            */
    TPU_ERR_INTERNAL,     /* a tpusim bug                                    */
    TPU_STATUS_COUNT
};

struct tpu_ctx;     /* last error, allocation hook, options                 */
struct tpu_graph;   /* a loaded model: tensors, nodes, arena                */
struct tpu_tensor;  /* one named value of the graph                         */

/*---- Context and errors ----*/
struct tpu_ctx *tpu_init(void);
void            tpu_free(struct tpu_ctx *ctx);
const char     *tpu_errmsg(const struct tpu_ctx *ctx);      /* "" when none  */
int64_t         tpu_error_offset(const struct tpu_ctx *ctx); /* byte, or -1   */
const char     *tpu_status_str(enum tpu_status rc);
int             tpu_status_exit_code(enum tpu_status rc);   /* 0, 1 or 2     */
/* Fail the n-th allocation from now on (n >= 1); 0 turns injection off. */
void            tpu_set_alloc_fail(struct tpu_ctx *ctx, long n);
/* Lowers the largest single allocation (bytes; default 16 GiB) for ctx. */
void            tpu_set_alloc_limit(struct tpu_ctx *ctx, size_t n_bytes);
/* For a one-shot command (the CLI calls it first): freed memory stays with
** the process (glibc: no mmap for big blocks, no trimming), so a later buffer
** reuses pages already mapped instead of faulting fresh zeroed ones in. */
void            tpu_keep_freed_memory(void);

/*---- Loader API (src/onnx/) ----*/
/* Loads an ONNX model. On success *out owns everything (free with
** tpu_graph_free); on failure *out is NULL and tpu_errmsg names the file (and
** the node and ONNX op where there is one). Initializers and Constant-node
** values become constant tensors; old-opset attributes are moved to inputs. */
enum tpu_status tpu_load_onnx(struct tpu_ctx *ctx, const char *path, struct tpu_graph **out);
void            tpu_graph_free(struct tpu_graph *g);
/* A TensorProto file (ONNX test-data input_N.pb / output_N.pb) → a heap tensor
** with name, dtype, dims and values; NULL and a message naming the file on
** failure. Free with tpu_tensor_free. */
struct tpu_tensor *tpu_tensor_load_pb(struct tpu_ctx *ctx, const char *path);
void               tpu_tensor_free(struct tpu_tensor *t);
/* Writes t as a TensorProto (raw_data) to path, via a temporary file and a
** rename, so a failed write never leaves a partial file. */
enum tpu_status    tpu_tensor_save_pb(struct tpu_ctx *ctx, const char *path, const struct tpu_tensor *t);

/*---- Runtime API: prepare a graph, run it on the reference executor, feed and
** compare data sets, write reports (ir/passes.c, ref/ref_exec.c,
** ref/ref_data.c, report/). ----*/
#include <stdio.h>

/* One --shape NAME=d0,d1,... binding of a graph input's dims. */
struct tpu_shape_binding {
    const char *name;               /* graph input name (not copied)       */
    int         name_len;           /* bytes of name; 0: NUL-terminated    */
    int         n_dims;
    int64_t     dims[8];            /* each >= 0                           */
};
/* Parses "NAME=d0,d1,..." into *b; b->name points into s (keep s alive),
** b->name_len ends it. */
enum tpu_status tpu_shape_binding_parse(struct tpu_ctx *ctx, const char *s,
                                        struct tpu_shape_binding *b);

/* Applies bindings to the graph inputs now (prepare applies its own too);
** every bad binding is reported. */
enum tpu_status tpu_graph_bind_shapes(struct tpu_ctx *ctx, struct tpu_graph *g,
                                      const struct tpu_shape_binding *bindings, int n_bindings);
/* Sets every still-symbolic (-1) dim of every graph input to `value` and
** writes one note line per dim set ("input 'x': dim 0 ('N') not bound, using 1") into
** notes (may be NULL). Returns how many dims it set. `check` uses this. */
int tpu_graph_default_dims(struct tpu_graph *g, int64_t value, char *notes, size_t n_notes);

/* Prepares a loaded graph for every later stage: binds symbolic input dims
** (bindings first, then the dims of input values already set), validates
** (arity, unknown ops, dangling inputs, double producers, cycles), orders the
** nodes topologically, removes nodes that reach no output, infers shapes and
** folds constant subgraphs. Every problem found is reported (one per line in
** tpu_errmsg). Returns TPU_ERR_UNSUPPORTED when the only problems are ops or
** kernels tpusim lacks (the graph is still fully prepared otherwise). */
enum tpu_status tpu_graph_prepare(struct tpu_ctx *ctx, struct tpu_graph *g,
                                  const struct tpu_shape_binding *bindings, int n_bindings);

/* Graph inputs and outputs in ONNX order (NULL when i is out of range). */
int                tpu_graph_n_inputs(const struct tpu_graph *g);
int                tpu_graph_n_outputs(const struct tpu_graph *g);
struct tpu_tensor *tpu_graph_input(const struct tpu_graph *g, int i);
struct tpu_tensor *tpu_graph_output(const struct tpu_graph *g, int i);
const char        *tpu_tensor_name(const struct tpu_tensor *t);
int64_t            tpu_tensor_numel(const struct tpu_tensor *t);   /* -1 if unknown */

/* Deterministic (xorshift) values for every graph input: floats in [-1,1],
** ints in [0,4), bools random. Every input dim must be known (bind them with
** tpu_graph_bind_shapes / tpu_graph_default_dims first). */
enum tpu_status tpu_graph_fill_random_inputs(struct tpu_ctx *ctx, struct tpu_graph *g,
                                             uint64_t seed);
/* Copies src's values into graph input i; dtype, rank and fixed dims must fit.
** Dims left symbolic at prepare may change from run to run (a new batch);
** dims bound before prepare are fixed, since folded constants depend on them. */
enum tpu_status tpu_graph_set_input(struct tpu_ctx *ctx, struct tpu_graph *g, int i,
                                    const struct tpu_tensor *src);
/* Runs every live node on the reference executor (re-inferring shapes from the
** inputs' values); graph outputs keep their values until the next run. */
enum tpu_status tpu_ref_run(struct tpu_ctx *ctx, struct tpu_graph *g);
/* OpenBLAS threads for the reference kernels (the CLI sets 1 by default). */
void            tpu_set_threads(int n_threads);

/* Data sets in the ONNX backend-test layout: DIR/input_N.pb, DIR/output_N.pb. */
enum tpu_status tpu_graph_load_inputs(struct tpu_ctx *ctx, struct tpu_graph *g, const char *dir);
struct tpu_output_cmp {             /* one graph output against output_N.pb */
    char    name[128];
    int64_t numel;
    int64_t n_bad;                  /* elements outside atol + rtol*|e|     */
    double  max_abs_err, rel_l2;    /* rel_l2 = ||got-exp|| / ||exp||       */
    int64_t worst_index;            /* flat index of the worst element      */
    double  worst_got, worst_expected;
};
#define TPU_CMP_RTOL 1e-3
#define TPU_CMP_ATOL 1e-7
/* Compares every graph output i with DIR/output_i.pb; fills cmp[0..*n_cmp).
** Floats: |got - exp| <= TPU_CMP_ATOL + TPU_CMP_RTOL*|exp|, NaN equal to NaN;
** integers and bools exactly. Returns TPU_ERR_MISMATCH (the message names each
** differing output and its worst element) when any element is off or an
** output's dtype or shape differs from the file's. */
enum tpu_status tpu_graph_compare_outputs(struct tpu_ctx *ctx, struct tpu_graph *g,
                                          const char *dir, struct tpu_output_cmp *cmp,
                                          int max_cmp, int *n_cmp);
/* Writes graph output i as DIR/output_i.pb (each via a temp name + rename). */
enum tpu_status tpu_graph_save_outputs(struct tpu_ctx *ctx, struct tpu_graph *g, const char *dir);

/* Reports (report/): text to `txt` (may be NULL), JSON to json_path (may be
** NULL; written to a temp name and renamed, never left partial). */
enum tpu_status tpu_report_check(struct tpu_ctx *ctx, struct tpu_graph *g, FILE *txt,
                                 const char *json_path, const char *notes);
struct tpu_run_info {
    const char                  *chip;          /* "ref"                     */
    const char                  *data_dir;      /* NULL: random inputs       */
    uint64_t                     seed;
    int                          n_repeat, n_threads;
    double                       seconds_best, seconds_mean;   /* per run    */
    const struct tpu_output_cmp *cmp;           /* NULL when nothing compared */
    int                          n_cmp;
    enum tpu_status              status;        /* OK or TPU_ERR_MISMATCH    */
};
enum tpu_status tpu_report_run(struct tpu_ctx *ctx, struct tpu_graph *g,
                               const struct tpu_run_info *ri, FILE *txt, const char *json_path);

/* Conformance: runs every case directory under each root (model.onnx +
** test_data_set_N/), each in a forked child with a time limit, and prints one
** PASS/FAIL/SKIP line per case. Cases named in xfail_path ("category/case
** reason") that fail print SKIP "xfail: reason"; listed ones that pass print
** FAIL "xpass". Totals and failures go to stdout and out_path. Returns OK when
** no case FAILed. */
struct tpu_conformance_opts {
    const char *const *roots;
    int                n_roots;
    const char        *xfail_path;  /* may be NULL                          */
    const char        *out_path;    /* may be NULL                          */
    int                timeout_s;   /* per case; 0: 60                      */
};
enum tpu_status tpu_conformance_run(struct tpu_ctx *ctx, const struct tpu_conformance_opts *o);

/*---- Chip API (src/sim/, src/isa/, src/compile/) ----*/
/* A simulated chip is described by a text file (chips/tpu-v1.chip, format in
** src/sim/sim_config.h). Programs are the chip's instruction streams
** (docs/isa.md); tpu_chip_run_model lowers each Gemm/MatMul/Conv node onto the
** matrix unit, simulates it cycle by cycle and reports time, energy and the
** TPU v1 paper's Table-3 counters.
**
**   struct tpu_chip *chip;
**   tpu_chip_load(ctx, "tpu-v1", &chip);              // preset or .chip file
**   tpu_chip_set_array(ctx, chip, "128x128");          // optional overrides
**   struct tpu_chip_run_opts o = { 0 };
**   struct tpu_chip_report *rep;
**   if (tpu_chip_run_model(ctx, g, chip, &o, &rep) == TPU_STATUS_OK)
**       tpu_chip_report_print(rep, stdout);
**   tpu_chip_report_free(rep); tpu_chip_free(chip);
*/
struct tpu_chip;
struct tpu_program;
struct tpu_chip_report;

/* Preset name ("tpu-v1": chips/NAME.chip, also under $TPUSIM_CHIPS) or a path.
** Bad files give TPU_ERR_CONFIG "chips/x.chip:12: unknown key 'foo'". */
enum tpu_status tpu_chip_load(struct tpu_ctx *ctx, const char *name_or_file, struct tpu_chip **out);
enum tpu_status tpu_chip_override(struct tpu_ctx *ctx, struct tpu_chip *chip, const char *key_value);
enum tpu_status tpu_chip_set_array(struct tpu_ctx *ctx, struct tpu_chip *chip, const char *rxc);
const char     *tpu_chip_name(const struct tpu_chip *chip);
void            tpu_chip_describe(const struct tpu_chip *chip, FILE *f);  /* every key */
void            tpu_chip_free(struct tpu_chip *chip);                     /* NULL: no-op */
int             tpu_chip_is_bf16(const struct tpu_chip *chip);            /* 1: bf16 MXU */
/* bf16 passes per matrix product for --precision NAME: 1 ("default" or NULL),
** 3 ("high"), 6 ("highest"); 0 for any other name (compile/precision.c). */
int             tpu_precision_passes(const char *name);

/* --precision auto (compile/auto_prec.c): per-MXU-node precision chosen on
** calibration inputs against the reference executor's fp32 outputs. passes[i]
** is node i's --precision passes (1 default; 3: int8 chips 16-bit weights,
** bf16 chips 3 passes; 6: 16-bit both / 6 passes). */
struct tpu_chip_run_opts;
struct tpu_chip_calib;
struct tpu_prec_auto {
    int      n_nodes;            /* entries of passes[] (the graph's nodes)     */
    uint8_t *passes;             /* [n_nodes]                                   */
    int      n_mxu, n_widened, n_high, n_highest;   /* MXU nodes; widened (3, 6) */
    int      trials;             /* chip runs the selection took                */
    int      met;                /* 1: the margin was met                       */
    int      bf16;               /* metric: 1 rel_l2 (bf16 chip), 0 cosine      */
    double   widened_mac_share;  /* widened MACs / MXU MACs                     */
    double   base_metric, calib_metric;   /* worst output: default, chosen      */
    char     source[320];        /* the calibration inputs, in words            */
    char    *widened;            /* widened node names, one per line (heap)     */
};
/* like: the run's graph, bound and prepared as the run binds it (its input
** values are the run's own inputs when it has them); data_dir: else the
** inputs of run --data DIR. Calibration inputs: k->dir, else k->n_random
** seeded random ones, else the run's own. */
enum tpu_status tpu_prec_auto_select(struct tpu_ctx *ctx, const char *model_path, struct tpu_graph *like,
                                     const char *data_dir, const struct tpu_chip *chip,
                                     const struct tpu_chip_run_opts *o, const struct tpu_chip_calib *k,
                                     struct tpu_prec_auto **out);
void            tpu_prec_auto_free(struct tpu_prec_auto *a);                /* NULL: no-op */
/* A loaded selection (tpu_prec_auto_parse) checked against g (its node
** count) and its names and counts filled in from g. */
enum tpu_status tpu_prec_auto_bind(struct tpu_ctx *ctx, struct tpu_graph *g, struct tpu_prec_auto *a);
/* A program file's PREC section (compile/prog_file.c): text and back. */
char           *tpu_prec_auto_text(const struct tpu_prec_auto *a, size_t *len);   /* malloc'd */
enum tpu_status tpu_prec_auto_parse(struct tpu_ctx *ctx, const char *path, const char *text, size_t len,
                                    struct tpu_prec_auto **out);

/* Programs: assembly text (.s) and the binary file (.tpu) of docs/isa.md. */
enum tpu_status tpu_program_assemble(struct tpu_ctx *ctx, const char *path, struct tpu_program **out);
enum tpu_status tpu_program_load(struct tpu_ctx *ctx, const char *path, struct tpu_program **out);
enum tpu_status tpu_program_save(struct tpu_ctx *ctx, const struct tpu_program *p, const char *path);
void            tpu_program_disasm(const struct tpu_program *p, FILE *f);   /* re-assemblable */
void            tpu_program_free(struct tpu_program *p);                    /* NULL: no-op */

struct tpu_chip_run_opts {
    int      timing_only;        /* 1: cycles and energy without values        */
    int      schedule_scalesim;  /* 1: MXU layer cycles by SCALE-Sim's formula  */
    uint64_t seed;               /* graph inputs without values get seeded values */
    int      host_fallback;      /* 1: ops the chip lowering lacks run on the host
                                    CPU (reference kernels), untimed, as "host" rows */
    int      bf16_passes;        /* bf16 chips: 0/1 one pass (default), 3 (high),
                                    6 (highest): compile/precision.c             */
    int      free_dead;          /* 1: drop each intermediate's values after its
                                    last reader (graph inputs and outputs kept);
                                    0: every tensor keeps its values (inspection) */
    int      onchip;             /* 1: the report gets the on-chip schedule
                                    estimate (tpu_chip_onchip_estimate; a
                                    data-set run: its first batch's graph) */
    const struct tpu_prec_auto *prec_auto;   /* --precision auto: each MXU node's
                                    passes (1, 3, 6 by node index; bf16_passes
                                    then unused) and what the selection found,
                                    for the report (borrowed); NULL: none  */
};
/* Prepares g (tpu_graph_prepare, symbolic dims = 1) and runs every node on the
** chip (Gemm, MatMul, Conv; others are TPU_ERR_UNSUPPORTED naming the node,
** unless host_fallback). Values computed by the chip feed the nodes after it.
** A simulated fault is TPU_ERR_SIM_FAULT with PC, cycle and instruction. */
enum tpu_status tpu_chip_run_model(struct tpu_ctx *ctx, struct tpu_graph *g,
                                   const struct tpu_chip *chip,
                                   const struct tpu_chip_run_opts *opts,
                                   struct tpu_chip_report **out);
/* Runs one program with a zeroed host buffer of host_bytes (e.g. `tpusim sim`);
** trace (may be NULL) gets "issue start done pc instruction" per instruction. */
enum tpu_status tpu_chip_run_program(struct tpu_ctx *ctx, const struct tpu_program *p,
                                     const struct tpu_chip *chip, uint64_t host_bytes,
                                     int timing_only, FILE *trace, struct tpu_chip_report **out);
/* The on-chip schedule estimate (report/onchip.c): g, prepared for chip
** (shapes known, values not needed), timed on the timing-only simulator as
** `run` schedules it (each chip node's operands over the host link) and with
** the activations kept in the Unified Buffer between chip nodes where the
** liveness plan fits; passes: the run's --precision (tpu_precision_passes).
** Device time and energy; host ops are the same in both. */
struct tpu_onchip_estimate {
    int      done, fits;                  /* done 0: not estimated             */
    int64_t  batch;                       /* g's batch (input dim 0)           */
    uint64_t ub_need_bytes, ub_have_bytes;
    int64_t  link_cycles, onchip_cycles;  /* device cycles, the two schedules */
    double   link_joules, onchip_joules;  /* simulated device energy          */
};
enum tpu_status tpu_chip_onchip_estimate(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                         int passes, struct tpu_onchip_estimate *e);
void            tpu_chip_report_print(const struct tpu_chip_report *r, FILE *f);
enum tpu_status tpu_chip_report_write_json(struct tpu_ctx *ctx, const struct tpu_chip_report *r,
                                           const char *path);
void            tpu_chip_report_free(struct tpu_chip_report *r);            /* NULL: no-op */
/* run --repeat N: the host wall time of one whole run (best, mean over n),
** printed and written to JSON (run_repeat, run_seconds_best,
** run_seconds_per_run). */
void            tpu_chip_report_set_wall(struct tpu_chip_report *r, int n, double best_s, double mean_s);
/* OK when b reports the same simulation as a: cycles, counters, energy,
** every layer row's cycles and the verification figures, bit for bit; else
** TPU_ERR_INTERNAL naming what differs (a run that is not deterministic). */
enum tpu_status tpu_chip_report_same(struct tpu_ctx *ctx, const struct tpu_chip_report *a,
                                     const struct tpu_chip_report *b);

/*---- Chip runs: batch and verification (src/compile/verify.c) ----*/
/* Fixes dim 0 of every graph input at `batch` (call before the graph is
** prepared, after any input values are set). A fixed batch dim, or input values,
** with another batch are TPU_ERR_SHAPE naming the input. */
enum tpu_status tpu_chip_bind_batch(struct tpu_ctx *ctx, struct tpu_graph *g, int64_t batch);
/* tpu_graph_prepare(g, no bindings) whose TPU_ERR_UNSUPPORTED message also
** says what to do (chip runs cannot place such ops anywhere). */
enum tpu_status tpu_chip_prepare(struct tpu_ctx *ctx, struct tpu_graph *g);
/* After tpu_chip_run_model: compares the chip's graph outputs with data_dir's
** output_N.pb (when data_dir has them) or else with the reference executor
** re-run on the same inputs (this replaces the outputs' values). Max abs error,
** relative L2, cosine, top-1 agreement go into the report. Bounds: int8 chips
** cosine >= 0.99, bf16 chips relative L2 <= 1e-2; outside them TPU_ERR_MISMATCH.
** Timing-only reports are not verified (OK). */
enum tpu_status tpu_chip_verify(struct tpu_ctx *ctx, struct tpu_graph *g,
                                struct tpu_chip_report *r, const char *data_dir);
/* `tpusim check --chip`: every live node of a prepared graph classed as mxu,
** activation, vector, host or unsupported, with its reason; shares of MACs and
** of estimated time per class; what the user could change (compile/check.c). */
/* int8 calibration (src/compile/calib.c); bf16 chips ignore it. NULL or all
** zero: each MXU input is scaled by its own max |x| at run time. */
struct tpu_chip_calib {
    const char *dir;             /* DIR/input_N.pb or DIR/<sub>/input_N.pb       */
    int         n_random;        /* N seeded random calibration inputs           */
    int         percentile;      /* 1: 99.99th percentile of |x|; 0: max |x|      */
    const char *saved;           /* scales saved by `tpusim compile` (a program   */
    size_t      saved_len;       /* file's SCAL text): used as they are; or NULL  */
};
/* `tpusim compile --calib DIR | --calib-random N` (compile/calib.c): the int8
** activation scales a run of g (bound and prepared as the run binds it) would
** calibrate, as the text of a program file's SCAL section (*text tpu_malloc'd,
** caller frees). *text stays NULL when there is nothing to save: a bf16 chip,
** or neither a folder nor random inputs (the run calibrates on its own inputs).
** seed: the run's --seed. */
enum tpu_status tpu_calib_saved_text(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                     const struct tpu_chip_calib *k, uint64_t seed, char **text, size_t *len);
/* tpu_chip_run_model with calibration (calib may be NULL). */
enum tpu_status tpu_chip_run_model_calib(struct tpu_ctx *ctx, struct tpu_graph *g,
                                         const struct tpu_chip *chip,
                                         const struct tpu_chip_run_opts *opts,
                                         const struct tpu_chip_calib *calib,
                                         struct tpu_chip_report **out);
/* `run --data DIR --batch N`: DIR's D rows (dim 0 of input_N.pb) in chunks of
** N (the last may be shorter), each a fresh load of model_path bound to that
** batch, run and verified (against DIR/output_N.pb rows or the reference
** executor); one report for all D rows, the chip's outputs concatenated into
** outputs_dir/output_N.pb (may be NULL). TPU_ERR_MISMATCH outside the bounds
** still gives *out. */
enum tpu_status tpu_chip_run_data(struct tpu_ctx *ctx, const char *model_path, const struct tpu_chip *chip,
                                  const struct tpu_chip_run_opts *opts, const struct tpu_chip_calib *calib,
                                  const char *data_dir, int64_t batch, const char *outputs_dir,
                                  struct tpu_chip_report **out);
enum tpu_status tpu_chip_check(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                               FILE *txt, const char *json_path);


/*---- Saved chip programs (compile/prog_file.c): `tpusim compile MODEL --chip C
** -o prog.tpu`, `tpusim run prog.tpu`. The file holds the resolved chip
** description, the run options and the ONNX model bytes (docs/compiler.md,
** "Program files"); running it lowers and runs exactly as `run MODEL --chip C`
** with the same options. ----*/
struct tpu_prog_opts {
    int64_t  batch;              /* 0: the model's own                          */
    int      host_ops, timing_only, schedule_scalesim;
    int      calib_random, calib_percentile;
    uint64_t seed;
    int      n_shapes;
    char     shapes[16][128];    /* --shape NAME=d0,d1,... bindings              */
    char    *calib_text;         /* int8 scales calibrated at compile time (SCAL */
    size_t   calib_len;          /* section; tpu_calib_saved_text), or NULL; load */
                                 /* gives a tpu_malloc'd copy the caller frees   */
    int      bf16_passes;        /* --precision: 0/1, 3 or 6 (bf16 chips)        */
    char    *prec_text;          /* --precision auto: the PREC section (text of  */
    size_t   prec_len;           /* tpu_prec_auto_text), or NULL; load gives a   */
                                 /* tpu_malloc'd copy the caller frees           */
};
/* 1 when path starts with the program-file magic "TPUPROG1". */
int             tpu_prog_is_file(const char *path);
/* layers: tpu_prog_lower_layers' bytes (LAYR section; may be empty). */
enum tpu_status tpu_prog_save(struct tpu_ctx *ctx, const char *model_path, const struct tpu_chip *chip,
                              const struct tpu_prog_opts *o, const uint8_t *layers, size_t layers_len,
                              const char *out_path);
/* Every MXU layer of a prepared graph lowered for chip, as LAYR entries (name,
** program in the .tpu format of docs/isa.md); *blob tpu_malloc'd. */
enum tpu_status tpu_prog_lower_layers(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                      uint8_t **blob, size_t *blob_len, int *n_layers);
/* The same with bf16_passes bf16 passes per matrix product (--precision). */
enum tpu_status tpu_prog_lower_layers_passes(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                             int bf16_passes, uint8_t **blob, size_t *blob_len, int *n_layers);
/* The same with host_ops 1: a matrix op the lowering refuses for the chip's
** size (TPU_ERR_UNSUPPORTED: a row that does not fit the unified buffer) is
** left to the host, as `run --host-ops` leaves it, instead of failing. */
enum tpu_status tpu_prog_lower_layers_ex(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                         int bf16_passes, int host_ops, uint8_t **blob, size_t *blob_len,
                                         int *n_layers);
/* The same with each node's passes from a (--precision auto; NULL: bf16_passes). */
enum tpu_status tpu_prog_lower_layers_auto(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                           int bf16_passes, const struct tpu_prec_auto *a, int host_ops,
                                           uint8_t **blob, size_t *blob_len, int *n_layers);
/* TPU_ERR_FORMAT naming the first layer whose saved program differs from now's. */
enum tpu_status tpu_prog_check_layers(struct tpu_ctx *ctx, const char *path, const uint8_t *saved,
                                      size_t saved_len, const uint8_t *now, size_t now_len);
/* Reads and checks path (TPU_ERR_FORMAT on a corrupt or truncated file), loads
** its chip, fills *o, gives the LAYR bytes (*layers, caller frees; NULL when
** none) and writes the model to a fresh temp folder: dir_out gets
** the folder, model_out its model.onnx path; tpu_prog_cleanup(dir_out) removes it. */
enum tpu_status tpu_prog_load(struct tpu_ctx *ctx, const char *path, struct tpu_chip **chip,
                              struct tpu_prog_opts *o, uint8_t **layers, size_t *layers_len,
                              char *dir_out, char *model_out, size_t n);
void            tpu_prog_cleanup(const char *dir);

#ifdef __cplusplus
}
#endif
#endif /* TPUSIM_H */
