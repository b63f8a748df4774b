/*
** ir/ir.h: the graph every stage after the loader works on — tensors, nodes,
** attributes, the op table (ops.def) and the helpers kernels and shape
** functions use to read them.
**
** In:  built by onnx/ (tpu_load_onnx) or by hand in tests.
** Out: read by ref/ (reference executor), compile/ (lowering), report/.
**
** A graph owns an arena; every tensor descriptor, node, name and attribute
** array lives there and dies with tpu_graph_free(). Tensor *values* are either
** borrowed (mmap'd external data, kept file buffer), arena-owned (initializers
** decoded at load) or heap-owned (computed at run time; freed by the executor
** or by tpu_graph_free).
*/
#ifndef TPU_IR_H
#define TPU_IR_H

#include "tpu_impl.h"
#include <stdbool.h>

#define TPU_MAX_DIMS 8

/* Element types; the values are ONNX's TensorProto.DataType numbers. */
enum tpu_dtype {
    TPU_DTYPE_UNDEFINED = 0,
    TPU_DTYPE_F32 = 1, TPU_DTYPE_U8 = 2, TPU_DTYPE_I8 = 3, TPU_DTYPE_U16 = 4,
    TPU_DTYPE_I16 = 5, TPU_DTYPE_I32 = 6, TPU_DTYPE_I64 = 7, TPU_DTYPE_STRING = 8,
    TPU_DTYPE_BOOL = 9, TPU_DTYPE_F16 = 10, TPU_DTYPE_F64 = 11, TPU_DTYPE_U32 = 12,
    TPU_DTYPE_U64 = 13, TPU_DTYPE_BF16 = 16,
};
size_t      tpu_dtype_size(enum tpu_dtype dt);      /* bytes; 0 if unsupported */
const char *tpu_dtype_name(enum tpu_dtype dt);      /* "float32", ...          */
bool        tpu_dtype_is_float(enum tpu_dtype dt);
bool        tpu_dtype_is_int(enum tpu_dtype dt);    /* signed/unsigned, not bool */
/* Element i of a buffer of dtype dt, as double / int64 (exact for ints). */
double      tpu_get_f64(const void *data, enum tpu_dtype dt, size_t i);
int64_t     tpu_get_i64(const void *data, enum tpu_dtype dt, size_t i);
/* Stores v; float types round to nearest, int types truncate toward zero and
** wrap as a C cast would (ONNX Cast semantics for in-range values). */
void        tpu_set_f64(void *data, enum tpu_dtype dt, size_t i, double v);
void        tpu_set_i64(void *data, enum tpu_dtype dt, size_t i, int64_t v);

/*---- The op table ----*/
enum tpu_op {
#define TPU_OP(e, onnx, imin, imax, omin, omax, shape, ref, macs) TPU_OP_##e,
#include "ops.def"
#undef TPU_OP
    TPU_OP_COUNT,
    TPU_OP_UNKNOWN = TPU_OP_COUNT   /* an ONNX op tpusim does not implement */
};

enum tpu_data_owner {
    TPU_DATA_NONE = 0,      /* no values (yet)                                 */
    TPU_DATA_BORROWED,      /* points into the mmap'd model or external file   */
    TPU_DATA_ARENA,         /* decoded at load into the graph's arena          */
    TPU_DATA_HEAP,          /* computed: tpu_malloc'd, freed with the run      */
};

struct tpu_tensor {
    const char          *name;
    enum tpu_dtype       dtype;
    int                  n_dims;                  /* -1: rank unknown           */
    int64_t              dims[TPU_MAX_DIMS];      /* -1: unknown (symbolic)     */
    const char          *dim_param[TPU_MAX_DIMS]; /* symbolic names, or NULL    */
    void                *data;                    /* row-major values, or NULL  */
    enum tpu_data_owner  owner;
    bool                 is_const;    /* initializer, Constant or folded: kept  */
    bool                 is_input;    /* graph input fed by the user            */
    bool                 is_output;   /* graph output                           */
    int                  producer;    /* node index, -1 for inputs/initializers */
    int                  n_consumers;
};

enum tpu_attr_type {
    TPU_ATTR_NONE, TPU_ATTR_FLOAT, TPU_ATTR_INT, TPU_ATTR_STRING, TPU_ATTR_TENSOR,
    TPU_ATTR_FLOATS, TPU_ATTR_INTS, TPU_ATTR_STRINGS, TPU_ATTR_GRAPH
};

struct tpu_attr {
    const char          *name;
    enum tpu_attr_type   type;
    int64_t              i;
    float                f;
    const char          *s;
    int                  n;          /* elements of ints/floats/strings       */
    int64_t             *ints;
    float               *floats;
    const char         **strings;
    struct tpu_tensor   *t;          /* TENSOR: not in the graph's list        */
};

struct tpu_node {
    const char      *name;           /* ONNX node name, or "node_<index>"     */
    const char      *op_type;        /* ONNX op_type as written in the file   */
    const char      *domain;         /* "" for the default domain             */
    enum tpu_op      op;             /* TPU_OP_UNKNOWN when unsupported       */
    int              opset;          /* opset version of the node's domain    */
    int              n_inputs, n_outputs;
    int             *inputs;         /* tensor ids; -1 = omitted optional     */
    int             *outputs;        /* tensor ids; -1 = omitted optional     */
    int              n_attrs;
    struct tpu_attr *attrs;
    bool             dead;           /* removed by a pass                     */
};

struct tpu_graph {
    struct tpu_ctx      *ctx;
    struct tpu_arena     arena;
    const char          *path;             /* the model file, for messages     */
    const char          *producer_name, *producer_version, *graph_name;
    int64_t              ir_version;
    int                  opset;            /* default-domain opset             */
    int                  n_tensors, cap_tensors;
    struct tpu_tensor  **tensors;          /* indexed by tensor id             */
    int                  n_nodes, cap_nodes;
    struct tpu_node     *nodes;            /* in topological order once prepared */
    int                  n_inputs, n_outputs;
    int                 *inputs, *outputs; /* tensor ids, ONNX order           */
    void                *maps;             /* mmap'd regions (onnx/), opaque   */
    void                *prep;             /* prepare-time state (ir/passes.c), in the arena */
};

/*---- Op table queries (ir/graph.c) ----*/
const char *tpu_op_name(enum tpu_op op);            /* ONNX name, "?" if unknown */
enum tpu_op tpu_op_from_onnx(const char *domain, const char *op_type);
int         tpu_op_in_min(enum tpu_op op);
int         tpu_op_in_max(enum tpu_op op);          /* -1: variadic */
int         tpu_op_out_min(enum tpu_op op);
int         tpu_op_out_max(enum tpu_op op);

/* Per-op function types. Shape functions read the inputs' dtype, dims and —
** when present — values, and set every output's dtype and dims (-1 where they
** depend on values not known yet). Reference kernels run after the executor
** has shaped and allocated every output. */
typedef enum tpu_status (*tpu_shape_fn)(struct tpu_graph *g, struct tpu_node *n);
typedef enum tpu_status (*tpu_ref_fn)(struct tpu_graph *g, struct tpu_node *n);
typedef int64_t         (*tpu_macs_fn)(const struct tpu_graph *g, const struct tpu_node *n);
tpu_shape_fn tpu_op_shape_fn(enum tpu_op op);
tpu_ref_fn   tpu_op_ref_fn(enum tpu_op op);
tpu_macs_fn  tpu_op_macs_fn(enum tpu_op op);
/* Whether op's kernel maps elementwise (ref_unary, ref_binary): output
** element i is computed from input elements read before it is written, so
** the output may be written over an input of its own dtype and dims. */
bool         tpu_op_maps_in_place(enum tpu_op op);

#define TPU_OP(e, onnx, imin, imax, omin, omax, shape, ref, macs) \
    enum tpu_status shape(struct tpu_graph *g, struct tpu_node *n); \
    enum tpu_status ref(struct tpu_graph *g, struct tpu_node *n);   \
    int64_t macs(const struct tpu_graph *g, const struct tpu_node *n);
#include "ops.def"
#undef TPU_OP

/*---- Graph building (ir/graph.c) ----*/
struct tpu_graph  *tpu_graph_new(struct tpu_ctx *ctx, const char *path);
void               tpu_graph_free(struct tpu_graph *g);   /* NULL: no-op */
/* Returns the id of the tensor named `name`, creating it if needed; -1 on OOM. */
int                tpu_graph_tensor_id(struct tpu_graph *g, const char *name);
int                tpu_graph_find_tensor(const struct tpu_graph *g, const char *name); /* -1 */
/* Adds an unnamed-unique tensor ("<base>__<n>"); returns its id or -1. */
int                tpu_graph_new_tensor(struct tpu_graph *g, const char *base);
struct tpu_node   *tpu_graph_add_node(struct tpu_graph *g, const char *op_type,
                                      int n_inputs, int n_outputs);   /* NULL on OOM */
/* Appends a constant input to node n (moves an attribute to an input). */
enum tpu_status    tpu_node_add_const_input(struct tpu_graph *g, struct tpu_node *n,
                                            int slot, enum tpu_dtype dt,
                                            int n_dims, const int64_t *dims,
                                            const void *values);

/*---- Tensors ----*/
int64_t tpu_tensor_numel(const struct tpu_tensor *t);   /* -1 if any dim unknown */
bool    tpu_tensor_shape_known(const struct tpu_tensor *t);
/* Bytes of the values; sets *out, returns TPU_ERR_NOMEM on overflow/over limit. */
enum tpu_status tpu_tensor_nbytes(struct tpu_ctx *ctx, const struct tpu_tensor *t, size_t *out);
/* (Re)allocates heap values for t's current shape, zeroed. */
enum tpu_status tpu_tensor_alloc(struct tpu_ctx *ctx, struct tpu_tensor *t);
void            tpu_tensor_drop_data(struct tpu_tensor *t);  /* frees HEAP values */
void            tpu_tensor_set_shape(struct tpu_tensor *t, int n_dims, const int64_t *dims);
/* "[1,3,224,224]" / "[N,3,224,224]" into buf; returns buf. */
const char     *tpu_shape_str(const struct tpu_tensor *t, char *buf, size_t n);

/*---- Node accessors for shape functions and kernels ----*/
/* Input / output i of n, or NULL when omitted or i is out of range. */
struct tpu_tensor *tpu_in(const struct tpu_graph *g, const struct tpu_node *n, int i);
struct tpu_tensor *tpu_out(const struct tpu_graph *g, const struct tpu_node *n, int i);
const struct tpu_attr *tpu_attr_find(const struct tpu_node *n, const char *name);
int64_t     tpu_attr_int(const struct tpu_node *n, const char *name, int64_t def);
float       tpu_attr_float(const struct tpu_node *n, const char *name, float def);
const char *tpu_attr_str(const struct tpu_node *n, const char *name, const char *def);
/* INTS attribute: returns the count (0 if absent) and points *vals at it. */
int         tpu_attr_ints(const struct tpu_node *n, const char *name, const int64_t **vals);
int         tpu_attr_floats(const struct tpu_node *n, const char *name, const float **vals);

/* Records an error naming the model file, the node and its ONNX op:
**   "model.onnx: node 'conv_3' (Conv): <message>"  and returns rc. */
enum tpu_status tpu_node_err(const struct tpu_graph *g, const struct tpu_node *n,
                             enum tpu_status rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Same, for errors about a tensor: "model.onnx: tensor 'x': <message>". */
enum tpu_status tpu_tensor_err(const struct tpu_graph *g, const struct tpu_tensor *t,
                               enum tpu_status rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Numpy-style broadcast of a and b into out (dims, rank); TPU_ERR_SHAPE if
** they do not broadcast. Used by shape functions and kernels alike. */
int tpu_broadcast_dims(int na, const int64_t *da, int nb, const int64_t *db, int64_t *out);

#endif /* TPU_IR_H */
