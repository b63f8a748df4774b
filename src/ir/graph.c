/*
** ir/graph.c: graph construction, the op table's lookups, tensor helpers and
** the attribute accessors kernels and shape functions use.
*/
#include "ir/ir.h"
#include <math.h>
#include <string.h>

/*---- Op table ----*/
struct op_row {
    const char  *onnx;
    int          in_min, in_max, out_min, out_max;
    tpu_shape_fn shape;
    tpu_ref_fn   ref;
    tpu_macs_fn  macs;
};

static const struct op_row op_rows[TPU_OP_COUNT] = {
#define TPU_OP(e, onnx, imin, imax, omin, omax, shape, ref, macs) \
    [TPU_OP_##e] = { onnx, imin, imax, omin, omax, shape, ref, macs },
#include "ops.def"
#undef TPU_OP
};

const char *tpu_op_name(enum tpu_op op) { return (unsigned)op < TPU_OP_COUNT ? op_rows[op].onnx : "?"; }
int tpu_op_in_min(enum tpu_op op)  { return op_rows[op].in_min; }
int tpu_op_in_max(enum tpu_op op)  { return op_rows[op].in_max; }
int tpu_op_out_min(enum tpu_op op) { return op_rows[op].out_min; }
int tpu_op_out_max(enum tpu_op op) { return op_rows[op].out_max; }
tpu_shape_fn tpu_op_shape_fn(enum tpu_op op) { return op_rows[op].shape; }
tpu_ref_fn   tpu_op_ref_fn(enum tpu_op op)   { return op_rows[op].ref; }
tpu_macs_fn  tpu_op_macs_fn(enum tpu_op op)  { return op_rows[op].macs; }
bool tpu_op_maps_in_place(enum tpu_op op) { return op_rows[op].ref == ref_unary || op_rows[op].ref == ref_binary; }

enum tpu_op tpu_op_from_onnx(const char *domain, const char *op_type)
{
    if (domain && *domain && strcmp(domain, "ai.onnx") != 0) return TPU_OP_UNKNOWN;
    for (int i = 0; i < TPU_OP_COUNT; i++)
        if (strcmp(op_rows[i].onnx, op_type) == 0) return (enum tpu_op)i;
    return TPU_OP_UNKNOWN;
}

/*---- Dtypes ----*/
size_t tpu_dtype_size(enum tpu_dtype dt)
{
    switch (dt) {
    case TPU_DTYPE_BOOL: case TPU_DTYPE_U8: case TPU_DTYPE_I8: return 1;
    case TPU_DTYPE_U16: case TPU_DTYPE_I16: case TPU_DTYPE_F16: case TPU_DTYPE_BF16: return 2;
    case TPU_DTYPE_F32: case TPU_DTYPE_I32: case TPU_DTYPE_U32: return 4;
    case TPU_DTYPE_F64: case TPU_DTYPE_I64: case TPU_DTYPE_U64: return 8;
    default: return 0;
    }
}

const char *tpu_dtype_name(enum tpu_dtype dt)
{
    switch (dt) {
    case TPU_DTYPE_F32: return "float32";  case TPU_DTYPE_U8: return "uint8";
    case TPU_DTYPE_I8: return "int8";      case TPU_DTYPE_U16: return "uint16";
    case TPU_DTYPE_I16: return "int16";    case TPU_DTYPE_I32: return "int32";
    case TPU_DTYPE_I64: return "int64";    case TPU_DTYPE_STRING: return "string";
    case TPU_DTYPE_BOOL: return "bool";    case TPU_DTYPE_F16: return "float16";
    case TPU_DTYPE_F64: return "float64";  case TPU_DTYPE_U32: return "uint32";
    case TPU_DTYPE_U64: return "uint64";   case TPU_DTYPE_BF16: return "bfloat16";
    default: return "undefined";
    }
}

bool tpu_dtype_is_float(enum tpu_dtype dt)
{
    return dt == TPU_DTYPE_F32 || dt == TPU_DTYPE_F64 || dt == TPU_DTYPE_F16 || dt == TPU_DTYPE_BF16;
}

bool tpu_dtype_is_int(enum tpu_dtype dt)
{
    return dt == TPU_DTYPE_U8 || dt == TPU_DTYPE_I8 || dt == TPU_DTYPE_U16 || dt == TPU_DTYPE_I16 ||
           dt == TPU_DTYPE_I32 || dt == TPU_DTYPE_I64 || dt == TPU_DTYPE_U32 || dt == TPU_DTYPE_U64;
}

double tpu_get_f64(const void *p, enum tpu_dtype dt, size_t i)
{
    switch (dt) {
    case TPU_DTYPE_F32:  return ((const float *)p)[i];
    case TPU_DTYPE_F64:  return ((const double *)p)[i];
    case TPU_DTYPE_F16:  return tpu_f16_to_f32(((const uint16_t *)p)[i]);
    case TPU_DTYPE_BF16: return tpu_bf16_to_f32(((const uint16_t *)p)[i]);
    case TPU_DTYPE_U64:  return (double)((const uint64_t *)p)[i];
    default:             return (double)tpu_get_i64(p, dt, i);
    }
}

int64_t tpu_get_i64(const void *p, enum tpu_dtype dt, size_t i)
{
    switch (dt) {
    case TPU_DTYPE_BOOL: case TPU_DTYPE_U8: return ((const uint8_t *)p)[i];
    case TPU_DTYPE_I8:   return ((const int8_t *)p)[i];
    case TPU_DTYPE_U16:  return ((const uint16_t *)p)[i];
    case TPU_DTYPE_I16:  return ((const int16_t *)p)[i];
    case TPU_DTYPE_I32:  return ((const int32_t *)p)[i];
    case TPU_DTYPE_I64:  return ((const int64_t *)p)[i];
    case TPU_DTYPE_U32:  return ((const uint32_t *)p)[i];
    case TPU_DTYPE_U64:  return (int64_t)((const uint64_t *)p)[i];
    default: {
        double v = tpu_get_f64(p, dt, i);
        if (isnan(v)) return 0;
        if (v >= 9.2e18) return INT64_MAX;
        if (v <= -9.2e18) return INT64_MIN;
        return (int64_t)v;
    }
    }
}

void tpu_set_f64(void *p, enum tpu_dtype dt, size_t i, double v)
{
    switch (dt) {
    case TPU_DTYPE_F32:  ((float *)p)[i] = (float)v; return;
    case TPU_DTYPE_F64:  ((double *)p)[i] = v; return;
    case TPU_DTYPE_F16:  ((uint16_t *)p)[i] = tpu_f32_to_f16((float)v); return;
    case TPU_DTYPE_BF16: ((uint16_t *)p)[i] = tpu_f32_to_bf16((float)v); return;
    case TPU_DTYPE_BOOL: ((uint8_t *)p)[i] = v != 0; return;
    default: {
        int64_t x = 0;
        if (!isnan(v)) x = v >= 9.2e18 ? INT64_MAX : v <= -9.2e18 ? INT64_MIN : (int64_t)v;
        tpu_set_i64(p, dt, i, x);
    }
    }
}

void tpu_set_i64(void *p, enum tpu_dtype dt, size_t i, int64_t v)
{
    switch (dt) {
    case TPU_DTYPE_BOOL: ((uint8_t *)p)[i] = v != 0; return;
    case TPU_DTYPE_U8:   ((uint8_t *)p)[i] = (uint8_t)v; return;
    case TPU_DTYPE_I8:   ((int8_t *)p)[i] = (int8_t)v; return;
    case TPU_DTYPE_U16:  ((uint16_t *)p)[i] = (uint16_t)v; return;
    case TPU_DTYPE_I16:  ((int16_t *)p)[i] = (int16_t)v; return;
    case TPU_DTYPE_I32:  ((int32_t *)p)[i] = (int32_t)v; return;
    case TPU_DTYPE_I64:  ((int64_t *)p)[i] = v; return;
    case TPU_DTYPE_U32:  ((uint32_t *)p)[i] = (uint32_t)v; return;
    case TPU_DTYPE_U64:  ((uint64_t *)p)[i] = (uint64_t)v; return;
    default:             tpu_set_f64(p, dt, i, (double)v); return;
    }
}

/*---- Graph ----*/
struct tpu_graph *tpu_graph_new(struct tpu_ctx *ctx, const char *path)
{
    struct tpu_graph *g = tpu_calloc(ctx, 1, sizeof *g);
    if (!g) return NULL;
    g->ctx = ctx;
    tpu_arena_init(&g->arena, ctx);
    g->path = tpu_arena_strdup(&g->arena, path ? path : "<memory>");
    if (!g->path) { free(g); return NULL; }
    return g;
}

void tpu_onnx_unmap(struct tpu_graph *g);   /* onnx/onnx_load.c */

void tpu_graph_free(struct tpu_graph *g)
{
    if (!g) return;
    for (int i = 0; i < g->n_tensors; i++) tpu_tensor_drop_data(g->tensors[i]);
    tpu_onnx_unmap(g);
    tpu_arena_free(&g->arena);
    free(g);
}

int tpu_graph_find_tensor(const struct tpu_graph *g, const char *name)
{
    for (int i = g->n_tensors - 1; i >= 0; i--)
        if (strcmp(g->tensors[i]->name, name) == 0) return i;
    return -1;
}

static int add_tensor(struct tpu_graph *g, const char *name)
{
    if (g->n_tensors == g->cap_tensors) {
        int cap = g->cap_tensors ? 2 * g->cap_tensors : 64;
        struct tpu_tensor **t = tpu_arena_alloc(&g->arena, (size_t)cap * sizeof *t);
        if (!t) return -1;
        if (g->n_tensors) memcpy(t, g->tensors, (size_t)g->n_tensors * sizeof *t);
        g->tensors = t;
        g->cap_tensors = cap;
    }
    struct tpu_tensor *t = tpu_arena_alloc(&g->arena, sizeof *t);
    if (!t || !(t->name = tpu_arena_strdup(&g->arena, name))) return -1;
    t->n_dims = -1;
    t->producer = -1;
    g->tensors[g->n_tensors] = t;
    return g->n_tensors++;
}

int tpu_graph_tensor_id(struct tpu_graph *g, const char *name)
{
    int id = tpu_graph_find_tensor(g, name);
    return id >= 0 ? id : add_tensor(g, name);
}

int tpu_graph_new_tensor(struct tpu_graph *g, const char *base)
{
    char buf[256];
    for (int k = g->n_tensors;; k++) {
        snprintf(buf, sizeof buf, "%.200s__%d", base, k);
        if (tpu_graph_find_tensor(g, buf) < 0) return add_tensor(g, buf);
    }
}

struct tpu_node *tpu_graph_add_node(struct tpu_graph *g, const char *op_type,
                                    int n_inputs, int n_outputs)
{
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? 2 * g->cap_nodes : 64;
        struct tpu_node *nodes = tpu_arena_alloc(&g->arena, (size_t)cap * sizeof *nodes);
        if (!nodes) return NULL;
        if (g->n_nodes) memcpy(nodes, g->nodes, (size_t)g->n_nodes * sizeof *nodes);
        g->nodes = nodes;
        g->cap_nodes = cap;
    }
    struct tpu_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op_type = tpu_arena_strdup(&g->arena, op_type);
    n->domain = "";
    n->op = tpu_op_from_onnx("", op_type);
    n->opset = g->opset;
    n->n_inputs = n_inputs;
    n->n_outputs = n_outputs;
    n->inputs = tpu_arena_alloc(&g->arena, (size_t)(n_inputs + 1) * sizeof(int));
    n->outputs = tpu_arena_alloc(&g->arena, (size_t)(n_outputs + 1) * sizeof(int));
    if (!n->op_type || !n->inputs || !n->outputs) return NULL;
    for (int i = 0; i < n_inputs; i++) n->inputs[i] = -1;
    for (int i = 0; i < n_outputs; i++) n->outputs[i] = -1;
    char name[32];
    snprintf(name, sizeof name, "node_%d", g->n_nodes);
    n->name = tpu_arena_strdup(&g->arena, name);
    g->n_nodes++;
    return n->name ? n : NULL;
}

enum tpu_status tpu_node_add_const_input(struct tpu_graph *g, struct tpu_node *n, int slot,
                                         enum tpu_dtype dt, int n_dims, const int64_t *dims,
                                         const void *values)
{
    TPU_ASSERT(n_dims >= 0 && n_dims <= TPU_MAX_DIMS);
    if (slot >= n->n_inputs) {
        int *in = tpu_arena_alloc(&g->arena, (size_t)(slot + 1) * sizeof(int));
        if (!in) return TPU_ERR_NOMEM;
        for (int i = 0; i <= slot; i++) in[i] = i < n->n_inputs ? n->inputs[i] : -1;
        n->inputs = in;
        n->n_inputs = slot + 1;
    }
    char base[256];
    snprintf(base, sizeof base, "%.200s_in%d", n->name, slot);
    int id = tpu_graph_new_tensor(g, base);
    if (id < 0) return TPU_ERR_NOMEM;
    struct tpu_tensor *t = g->tensors[id];
    t->dtype = dt;
    tpu_tensor_set_shape(t, n_dims, dims);
    size_t nbytes;
    enum tpu_status rc = tpu_tensor_nbytes(g->ctx, t, &nbytes);
    if (rc) return rc;
    t->data = tpu_arena_alloc(&g->arena, nbytes);
    if (!t->data) return TPU_ERR_NOMEM;
    if (nbytes) memcpy(t->data, values, nbytes);
    t->owner = TPU_DATA_ARENA;
    t->is_const = true;
    n->inputs[slot] = id;
    return TPU_STATUS_OK;
}

/*---- Tensors ----*/
int64_t tpu_tensor_numel(const struct tpu_tensor *t)
{
    if (t->n_dims < 0) return -1;
    int64_t n = 1;
    for (int i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0) return -1;
        if (t->dims[i] && n > INT64_MAX / t->dims[i]) return -1;
        n *= t->dims[i];
    }
    return n;
}

bool tpu_tensor_shape_known(const struct tpu_tensor *t) { return tpu_tensor_numel(t) >= 0; }

enum tpu_status tpu_tensor_nbytes(struct tpu_ctx *ctx, const struct tpu_tensor *t, size_t *out)
{
    int64_t n = tpu_tensor_numel(t);
    size_t es = tpu_dtype_size(t->dtype);
    if (n < 0) return tpu_err(ctx, TPU_ERR_SHAPE, "tensor '%s': shape not known", t->name);
    if (es == 0) return tpu_err(ctx, TPU_ERR_UNSUPPORTED, "tensor '%s': dtype %s not supported",
                                t->name, tpu_dtype_name(t->dtype));
    if (tpu_mul_size((size_t)n, es, out) || *out > tpu_alloc_limit(ctx))
        return tpu_err(ctx, TPU_ERR_NOMEM, "tensor '%s': %lld elements of %s are over the %zu-byte limit",
                       t->name, (long long)n, tpu_dtype_name(t->dtype), tpu_alloc_limit(ctx));
    return TPU_STATUS_OK;
}

enum tpu_status tpu_tensor_alloc(struct tpu_ctx *ctx, struct tpu_tensor *t)
{
    size_t nbytes;
    enum tpu_status rc = tpu_tensor_nbytes(ctx, t, &nbytes);
    if (rc) return rc;
    tpu_tensor_drop_data(t);
    t->data = tpu_calloc_hot(ctx, 1, nbytes ? nbytes : 1);    /* the node writes it next */
    if (!t->data) return TPU_ERR_NOMEM;
    t->owner = TPU_DATA_HEAP;
    return TPU_STATUS_OK;
}

void tpu_tensor_drop_data(struct tpu_tensor *t)
{
    if (t->owner == TPU_DATA_HEAP) free(t->data);
    if (t->owner == TPU_DATA_HEAP || t->owner == TPU_DATA_NONE) {
        t->data = NULL;
        t->owner = TPU_DATA_NONE;
    }
}

void tpu_tensor_set_shape(struct tpu_tensor *t, int n_dims, const int64_t *dims)
{
    TPU_ASSERT(n_dims <= TPU_MAX_DIMS);
    t->n_dims = n_dims;
    for (int i = 0; i < n_dims && i < TPU_MAX_DIMS; i++) t->dims[i] = dims ? dims[i] : -1;
}

const char *tpu_shape_str(const struct tpu_tensor *t, char *buf, size_t n)
{
    size_t k = 0;
    if (t->n_dims < 0) { snprintf(buf, n, "[?]"); return buf; }
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int i = 0; i < t->n_dims && k < n; i++) {
        if (t->dims[i] >= 0)
            k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "," : "", (long long)t->dims[i]);
        else
            k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? "," : "", t->dim_param[i] ? t->dim_param[i] : "?");
    }
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

/*---- Node accessors ----*/
struct tpu_tensor *tpu_in(const struct tpu_graph *g, const struct tpu_node *n, int i)
{
    if (i < 0 || i >= n->n_inputs || n->inputs[i] < 0) return NULL;
    return g->tensors[n->inputs[i]];
}

struct tpu_tensor *tpu_out(const struct tpu_graph *g, const struct tpu_node *n, int i)
{
    if (i < 0 || i >= n->n_outputs || n->outputs[i] < 0) return NULL;
    return g->tensors[n->outputs[i]];
}

const struct tpu_attr *tpu_attr_find(const struct tpu_node *n, const char *name)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

int64_t tpu_attr_int(const struct tpu_node *n, const char *name, int64_t def)
{
    const struct tpu_attr *a = tpu_attr_find(n, name);
    return a && a->type == TPU_ATTR_INT ? a->i : def;
}

float tpu_attr_float(const struct tpu_node *n, const char *name, float def)
{
    const struct tpu_attr *a = tpu_attr_find(n, name);
    if (a && a->type == TPU_ATTR_FLOAT) return a->f;
    if (a && a->type == TPU_ATTR_INT) return (float)a->i;
    return def;
}

const char *tpu_attr_str(const struct tpu_node *n, const char *name, const char *def)
{
    const struct tpu_attr *a = tpu_attr_find(n, name);
    return a && a->type == TPU_ATTR_STRING ? a->s : def;
}

int tpu_attr_ints(const struct tpu_node *n, const char *name, const int64_t **vals)
{
    const struct tpu_attr *a = tpu_attr_find(n, name);
    if (!a || a->type != TPU_ATTR_INTS) { *vals = NULL; return 0; }
    *vals = a->ints;
    return a->n;
}

int tpu_attr_floats(const struct tpu_node *n, const char *name, const float **vals)
{
    const struct tpu_attr *a = tpu_attr_find(n, name);
    if (!a || a->type != TPU_ATTR_FLOATS) { *vals = NULL; return 0; }
    *vals = a->floats;
    return a->n;
}

enum tpu_status tpu_node_err(const struct tpu_graph *g, const struct tpu_node *n,
                             enum tpu_status rc, const char *fmt, ...)
{
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tpu_err(g->ctx, rc, "%s: node '%s' (%s): %s", g->path, n->name, n->op_type, msg);
}

enum tpu_status tpu_tensor_err(const struct tpu_graph *g, const struct tpu_tensor *t,
                               enum tpu_status rc, const char *fmt, ...)
{
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tpu_err(g->ctx, rc, "%s: tensor '%s': %s", g->path, t->name, msg);
}

int tpu_broadcast_dims(int na, const int64_t *da, int nb, const int64_t *db, int64_t *out)
{
    int n = na > nb ? na : nb;
    for (int i = 0; i < n; i++) {
        int64_t a = i < n - na ? 1 : da[i - (n - na)];
        int64_t b = i < n - nb ? 1 : db[i - (n - nb)];
        if (a == b || b == 1) out[i] = a;
        else if (a == 1) out[i] = b;
        else if (a < 0 || b < 0) out[i] = -1;
        else return -1;
    }
    return n;
}
