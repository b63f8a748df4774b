/*
** onnx/onnx_load.c: model.onnx → tpu_graph. Stage 1 of the pipeline.
**
** In:  a file path. The bytes are mapped, checked for hostile nesting, and
**      unpacked by protobuf-c (code generated at build time from Debian's
**      /usr/include/onnx/onnx.proto).
** Out: a tpu_graph (ir/ir.h): initializers and Constant-node values as const
**      tensors (raw_data borrowed from the decoded message, which lives as long
**      as the graph), graph inputs with their (possibly symbolic) dims, nodes in
**      file order with attributes, old-opset attributes moved to inputs
**      (onnx_map.c). Shape inference, folding and validation are ir/passes.c.
** Every message names the file; node messages also name the node and its op.
*/
#include "onnx/onnx.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__) && !defined(MADV_POPULATE_READ)
#define MADV_POPULATE_READ 22
#endif

#define MAX_NESTING 64        /* ModelProto→Graph→Node→Attribute→Graph→… levels */

struct onnx_keep {
    Onnx__ModelProto *model;
    int               raw_in_file;        /* initializers' raw_data point into
                                             the mapped file (onnx_raw.c)   */
    int               n_maps, cap_maps;
    struct { void *addr; size_t len; } *maps;
};

static struct onnx_keep *keep_of(struct tpu_graph *g)
{
    if (!g->maps) g->maps = tpu_arena_alloc(&g->arena, sizeof(struct onnx_keep));
    return g->maps;
}

enum tpu_status tpu_onnx_keep_map(struct tpu_graph *g, void *addr, size_t len)
{
    struct onnx_keep *k = keep_of(g);
    if (!k) return TPU_ERR_NOMEM;
    if (k->n_maps == k->cap_maps) {
        int cap = k->cap_maps ? 2 * k->cap_maps : 8;
        void *m = tpu_realloc(g->ctx, k->maps, (size_t)cap * sizeof *k->maps);
        if (!m) return TPU_ERR_NOMEM;
        k->maps = m;
        k->cap_maps = cap;
    }
    k->maps[k->n_maps].addr = addr;
    k->maps[k->n_maps++].len = len;
    return TPU_STATUS_OK;
}

enum tpu_status tpu_onnx_keep_model(struct tpu_graph *g, Onnx__ModelProto *m)
{
    struct onnx_keep *k = keep_of(g);
    if (!k) return TPU_ERR_NOMEM;
    k->model = m;
    return TPU_STATUS_OK;
}

void tpu_onnx_unmap(struct tpu_graph *g)
{
    struct onnx_keep *k = g->maps;
    if (!k) return;
    for (int i = 0; i < k->n_maps; i++) munmap(k->maps[i].addr, k->maps[i].len);
    free(k->maps);
    if (k->model && k->raw_in_file && k->model->graph)   /* not protobuf-c's to free */
        for (size_t i = 0; i < k->model->graph->n_initializer; i++) {
            k->model->graph->initializer[i]->raw_data.data = NULL;
            k->model->graph->initializer[i]->raw_data.len = 0;
        }
    if (k->model) onnx__model_proto__free_unpacked(k->model, NULL);
    g->maps = NULL;
}

/*---- Reading the file ----*/
/* Initializer payloads below this are left to protobuf-c (small models). */
#define RAW_IN_FILE_MIN_BYTES ((uint64_t)1 << 20)

/* Unpacks the stripped copy (onnx_raw.c) and points each initializer's
** raw_data at its bytes in the mapped file. NULL when the two disagree on the
** initializers (nothing kept). */
static Onnx__ModelProto *unpack_stripped(const uint8_t *buf, const uint8_t *small, size_t small_len,
                                         const struct tpu_onnx_raw *raw, int n_raw)
{
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, small_len, small);
    if (!m) return NULL;
    if (!m->graph || m->graph->n_initializer != (size_t)n_raw) {
        onnx__model_proto__free_unpacked(m, NULL);
        return NULL;
    }
    for (int i = 0; i < n_raw; i++) {
        Onnx__TensorProto *tp = m->graph->initializer[i];
        if (!raw[i].present) continue;
        tp->raw_data.data = (uint8_t *)buf + raw[i].off;
        tp->raw_data.len = (size_t)raw[i].len;
    }
    return m;
}

/* *map / *map_len: the mapped file, left mapped when the initializers' values
** point into it (*out's raw_data), else NULL. */
static enum tpu_status unpack_file(struct tpu_ctx *ctx, const char *path, Onnx__ModelProto **out,
                                   void **map, size_t *map_len)
{
    *map = NULL;
    *map_len = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return tpu_err(ctx, TPU_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return tpu_err(ctx, TPU_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return tpu_err_at(ctx, TPU_ERR_FORMAT, 0, "%s: empty file, not an ONNX model", path);
    }
    size_t len = (size_t)st.st_size;
    /* private and writable: values borrowed from it may be changed in place
    ** like any other initializer's (copy on write, the file untouched) */
    void *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    if (buf == MAP_FAILED) return tpu_err(ctx, TPU_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
#if defined(__linux__)
    /* every byte is read (parsed, or weights copied or borrowed): the file's
    ** cached pages mapped in one call, not a fault per 64 KiB (a hint; read
    ** only, so no copy on write; EINVAL before Linux 5.14) */
    if (len >= ((size_t)1 << 20)) (void)madvise(buf, len, MADV_POPULATE_READ);
#endif
    enum tpu_status rc = TPU_STATUS_OK;
    *out = NULL;
    if (tpu_onnx_check_depth(&onnx__model_proto__descriptor, buf, len, MAX_NESTING))
        rc = tpu_err(ctx, TPU_ERR_FORMAT, "%s: not an ONNX model: messages nested more than %d deep",
                     path, MAX_NESTING);
    else {
        struct tpu_onnx_raw *raw = NULL;
        int n_raw = 0;
        size_t small_len = 0;
        uint8_t *small = tpu_onnx_strip_raw(buf, len, RAW_IN_FILE_MIN_BYTES, &small_len, &raw, &n_raw);
        if (small) *out = unpack_stripped(buf, small, small_len, raw, n_raw);
        free(small);
        free(raw);
        if (*out) { *map = buf; *map_len = len; return TPU_STATUS_OK; }
        if (!(*out = onnx__model_proto__unpack(NULL, len, buf)))
            rc = tpu_err(ctx, TPU_ERR_FORMAT, "%s: not an ONNX model: protobuf decoding failed (%zu bytes)",
                         path, len);
    }
    munmap(buf, len);
    return rc;
}

/*---- Attributes ----*/
static const char *bin_str(struct tpu_graph *g, ProtobufCBinaryData b)
{
    char *s = tpu_arena_alloc(&g->arena, b.len + 1);
    if (s && b.len) memcpy(s, b.data, b.len);
    return s;
}

/* Old IR versions leave `type` unset: infer it from the field in use. */
static int attr_type(const Onnx__AttributeProto *a)
{
    if (a->has_type) return a->type;
    if (a->n_floats) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    if (a->n_ints) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    if (a->n_strings) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
    if (a->t) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    if (a->g) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
    if (a->has_f) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    if (a->has_i) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    if (a->has_s) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    return 0;
}

static enum tpu_status convert_attr(struct tpu_graph *g, const struct tpu_node *n,
                                    const Onnx__AttributeProto *a, struct tpu_attr *out)
{
    if (!a->name || !*a->name)
        return tpu_node_err(g, n, TPU_ERR_FORMAT, "attribute without a name");
    out->name = a->name;
    if (a->n_floats > INT32_MAX || a->n_ints > INT32_MAX || a->n_strings > INT32_MAX)
        return tpu_node_err(g, n, TPU_ERR_FORMAT, "attribute '%s' is too long", a->name);
    switch (attr_type(a)) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:  out->type = TPU_ATTR_FLOAT; out->f = a->f; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:    out->type = TPU_ATTR_INT; out->i = a->i; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
        out->type = TPU_ATTR_STRING;
        if (!(out->s = bin_str(g, a->s))) return TPU_ERR_NOMEM;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
        out->type = TPU_ATTR_FLOATS; out->n = (int)a->n_floats; out->floats = a->floats; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
        out->type = TPU_ATTR_INTS; out->n = (int)a->n_ints; out->ints = a->ints; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS:
        out->type = TPU_ATTR_STRINGS;
        out->n = (int)a->n_strings;
        out->strings = tpu_arena_alloc(&g->arena, (a->n_strings + 1) * sizeof(char *));
        if (!out->strings) return TPU_ERR_NOMEM;
        for (size_t i = 0; i < a->n_strings; i++)
            if (!(out->strings[i] = bin_str(g, a->strings[i]))) return TPU_ERR_NOMEM;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: {
        if (!a->t) return tpu_node_err(g, n, TPU_ERR_FORMAT, "attribute '%s' has no tensor", a->name);
        out->type = TPU_ATTR_TENSOR;
        out->t = tpu_arena_alloc(&g->arena, sizeof *out->t);
        if (!out->t) return TPU_ERR_NOMEM;
        out->t->name = a->name;
        out->t->producer = -1;
        char what[512];
        snprintf(what, sizeof what, "node '%.200s' (%.64s): attribute '%.64s'", n->name, n->op_type, a->name);
        return tpu_onnx_tensor_decode(g, a->t, out->t, what);
    }
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH:
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS:
        out->type = TPU_ATTR_GRAPH;   /* sub-graphs: only control-flow ops use them */
        break;
    default:
        out->type = TPU_ATTR_NONE;    /* sparse tensors, type protos: no op we run reads them */
        break;
    }
    return TPU_STATUS_OK;
}

/*---- Nodes ----*/
static int node_opset(const Onnx__ModelProto *m, const char *domain)
{
    const char *d = domain && *domain ? domain : "";
    if (strcmp(d, "ai.onnx") == 0) d = "";
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const char *od = m->opset_import[i]->domain ? m->opset_import[i]->domain : "";
        if (strcmp(od, "ai.onnx") == 0) od = "";
        if (strcmp(od, d) == 0) return (int)m->opset_import[i]->version;
    }
    return -1;
}

static int tensor_ref(struct tpu_graph *g, const char *name)
{
    return name && *name ? tpu_graph_tensor_id(g, name) : -1;   /* "" = omitted optional */
}

/* Constant nodes become const tensors here, so every later stage sees weights
** the same way whether the exporter used initializers or Constant nodes. */
static enum tpu_status constant_value(struct tpu_graph *g, const Onnx__ModelProto *m,
                                      const Onnx__NodeProto *np, struct tpu_node *n)
{
    if (np->n_output != 1 || !np->output[0] || !*np->output[0])
        return tpu_node_err(g, n, TPU_ERR_FORMAT, "Constant must have exactly one output");
    if (np->n_attribute != 1)
        return tpu_node_err(g, n, TPU_ERR_FORMAT, "Constant must have exactly one attribute, has %zu",
                            np->n_attribute);
    int id = tpu_graph_tensor_id(g, np->output[0]);
    if (id < 0) return TPU_ERR_NOMEM;
    struct tpu_tensor *t = g->tensors[id];
    if (t->is_const || t->producer >= 0)
        return tpu_node_err(g, n, TPU_ERR_FORMAT, "output '%s' is produced twice", t->name);
    struct tpu_attr a = { 0 };
    enum tpu_status rc = convert_attr(g, n, np->attribute[0], &a);
    if (rc) return rc;
    int64_t count;
    if (strcmp(a.name, "value") == 0 && a.type == TPU_ATTR_TENSOR) {
        struct tpu_tensor keep = *t;
        *t = *a.t;
        t->name = keep.name;
        t->is_output = keep.is_output;
        t->n_consumers = keep.n_consumers;
    } else if ((strcmp(a.name, "value_float") == 0 && a.type == TPU_ATTR_FLOAT) ||
               (strcmp(a.name, "value_int") == 0 && a.type == TPU_ATTR_INT)) {
        bool is_f = a.type == TPU_ATTR_FLOAT;
        t->dtype = is_f ? TPU_DTYPE_F32 : TPU_DTYPE_I64;
        tpu_tensor_set_shape(t, 0, NULL);
        if (!(t->data = tpu_arena_alloc(&g->arena, 8))) return TPU_ERR_NOMEM;
        if (is_f) *(float *)t->data = a.f; else *(int64_t *)t->data = a.i;
    } else if ((strcmp(a.name, "value_floats") == 0 && a.type == TPU_ATTR_FLOATS) ||
               (strcmp(a.name, "value_ints") == 0 && a.type == TPU_ATTR_INTS)) {
        bool is_f = a.type == TPU_ATTR_FLOATS;
        count = a.n;
        t->dtype = is_f ? TPU_DTYPE_F32 : TPU_DTYPE_I64;
        tpu_tensor_set_shape(t, 1, &count);
        if (!(t->data = tpu_arena_alloc(&g->arena, (size_t)count * 8 + 8))) return TPU_ERR_NOMEM;
        if (count) memcpy(t->data, is_f ? (void *)a.floats : (void *)a.ints, (size_t)count * (is_f ? 4 : 8));
    } else {
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "Constant attribute '%s' is not supported", a.name);
    }
    if (t->owner == TPU_DATA_NONE) t->owner = TPU_DATA_ARENA;
    t->is_const = true;
    (void)m;
    return TPU_STATUS_OK;
}

static enum tpu_status add_node(struct tpu_graph *g, const Onnx__ModelProto *m,
                                const Onnx__NodeProto *np, size_t index)
{
    if (!np->op_type || !*np->op_type)
        return tpu_err(g->ctx, TPU_ERR_FORMAT, "%s: node %zu has no op_type", g->path, index);
    if (np->n_input > 4096 || np->n_output > 4096 || np->n_attribute > 4096)
        return tpu_err(g->ctx, TPU_ERR_FORMAT, "%s: node %zu (%s) has too many inputs, outputs or attributes",
                       g->path, index, np->op_type);
    struct tpu_node *n = tpu_graph_add_node(g, np->op_type, (int)np->n_input, (int)np->n_output);
    if (!n) return TPU_ERR_NOMEM;
    if (np->name && *np->name) n->name = np->name;
    n->domain = np->domain ? np->domain : "";
    n->op = tpu_op_from_onnx(n->domain, n->op_type);
    n->opset = node_opset(m, n->domain);
    if (n->opset < 0)
        return tpu_node_err(g, n, TPU_ERR_FORMAT, "domain '%s' has no opset_import", n->domain);
    bool is_constant = n->op == TPU_OP_CONSTANT;
    if (is_constant) {
        enum tpu_status rc = constant_value(g, m, np, n);
        g->n_nodes--;            /* the value is a tensor now; the node goes */
        return rc;
    }
    for (size_t i = 0; i < np->n_input; i++)
        if ((n->inputs[i] = tensor_ref(g, np->input[i])) < 0 && np->input[i] && *np->input[i])
            return TPU_ERR_NOMEM;
    for (size_t i = 0; i < np->n_output; i++) {
        if ((n->outputs[i] = tensor_ref(g, np->output[i])) < 0) {
            if (np->output[i] && *np->output[i]) return TPU_ERR_NOMEM;
            continue;
        }
        struct tpu_tensor *t = g->tensors[n->outputs[i]];
        if (t->producer >= 0 || t->is_const || t->is_input)
            return tpu_node_err(g, n, TPU_ERR_FORMAT, "output '%s' is already produced elsewhere", t->name);
        t->producer = g->n_nodes - 1;
    }
    n->n_attrs = (int)np->n_attribute;
    n->attrs = tpu_arena_alloc(&g->arena, (np->n_attribute + 1) * sizeof *n->attrs);
    if (!n->attrs) return TPU_ERR_NOMEM;
    for (size_t i = 0; i < np->n_attribute; i++) {
        enum tpu_status rc = convert_attr(g, n, np->attribute[i], &n->attrs[i]);
        if (rc) return rc;
    }
    return tpu_onnx_normalize_node(g, n);
}

/*---- Inputs, outputs, initializers ----*/
static enum tpu_status add_initializers(struct tpu_graph *g, const Onnx__GraphProto *gp)
{
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        if (!tp->name || !*tp->name)
            return tpu_err(g->ctx, TPU_ERR_FORMAT, "%s: initializer %zu has no name", g->path, i);
        if (tpu_graph_find_tensor(g, tp->name) >= 0)
            return tpu_err(g->ctx, TPU_ERR_FORMAT, "%s: initializer '%s' appears twice", g->path, tp->name);
        int id = tpu_graph_tensor_id(g, tp->name);
        if (id < 0) return TPU_ERR_NOMEM;
        char what[400];
        snprintf(what, sizeof what, "initializer '%.300s'", tp->name);
        enum tpu_status rc = tpu_onnx_tensor_decode(g, tp, g->tensors[id], what);
        if (rc) return rc;
    }
    return TPU_STATUS_OK;
}

static enum tpu_status value_info_type(struct tpu_graph *g, const Onnx__ValueInfoProto *vi,
                                       struct tpu_tensor *t)
{
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return tpu_tensor_err(g, t, TPU_ERR_UNSUPPORTED, "only tensor-typed graph inputs are supported");
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    t->dtype = (enum tpu_dtype)(tt->has_elem_type ? tt->elem_type : 0);
    if (!tpu_dtype_size(t->dtype))
        return tpu_tensor_err(g, t, TPU_ERR_UNSUPPORTED, "dtype %s (%d) is not supported",
                              tpu_dtype_name(t->dtype), (int)t->dtype);
    if (!tt->shape) { t->n_dims = -1; return TPU_STATUS_OK; }
    if (tt->shape->n_dim > TPU_MAX_DIMS)
        return tpu_tensor_err(g, t, TPU_ERR_UNSUPPORTED, "rank %zu is over tpusim's limit of %d",
                              tt->shape->n_dim, TPU_MAX_DIMS);
    t->n_dims = (int)tt->shape->n_dim;
    for (int i = 0; i < t->n_dims; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        t->dims[i] = -1;
        t->dim_param[i] = NULL;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (d->dim_value < 0 || d->dim_value > ((int64_t)1 << 40))
                return tpu_tensor_err(g, t, TPU_ERR_FORMAT, "dimension %d is %lld", i, (long long)d->dim_value);
            t->dims[i] = d->dim_value;
        } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM) {
            t->dim_param[i] = d->dim_param;
        }
    }
    return TPU_STATUS_OK;
}

static enum tpu_status add_io(struct tpu_graph *g, const Onnx__GraphProto *gp)
{
    g->inputs = tpu_arena_alloc(&g->arena, (gp->n_input + 1) * sizeof(int));
    g->outputs = tpu_arena_alloc(&g->arena, (gp->n_output + 1) * sizeof(int));
    if (!g->inputs || !g->outputs) return TPU_ERR_NOMEM;
    for (size_t i = 0; i < gp->n_input; i++) {
        const char *name = gp->input[i]->name;
        if (!name || !*name) return tpu_err(g->ctx, TPU_ERR_FORMAT, "%s: graph input %zu has no name", g->path, i);
        int id = tpu_graph_tensor_id(g, name);
        if (id < 0) return TPU_ERR_NOMEM;
        struct tpu_tensor *t = g->tensors[id];
        if (t->is_const) continue;           /* an initializer listed as input: a default */
        if (t->is_input) return tpu_tensor_err(g, t, TPU_ERR_FORMAT, "listed twice as a graph input");
        enum tpu_status rc = value_info_type(g, gp->input[i], t);
        if (rc) return rc;
        t->is_input = true;
        g->inputs[g->n_inputs++] = id;
    }
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *name = gp->output[i]->name;
        if (!name || !*name) return tpu_err(g->ctx, TPU_ERR_FORMAT, "%s: graph output %zu has no name", g->path, i);
        int id = tpu_graph_tensor_id(g, name);
        if (id < 0) return TPU_ERR_NOMEM;
        g->tensors[id]->is_output = true;
        g->outputs[g->n_outputs++] = id;
    }
    return TPU_STATUS_OK;
}

static enum tpu_status build_graph(struct tpu_graph *g, Onnx__ModelProto *m)
{
    const Onnx__GraphProto *gp = m->graph;
    if (!gp) return tpu_err(g->ctx, TPU_ERR_FORMAT, "%s: not an ONNX model: no graph", g->path);
    if (!m->has_ir_version || m->ir_version < 3)
        return tpu_err(g->ctx, TPU_ERR_FORMAT, "%s: not an ONNX model: ir_version %lld missing or below 3",
                       g->path, (long long)m->ir_version);
    g->ir_version = m->ir_version;
    g->opset = node_opset(m, "");   /* -1 if absent: only nodes of the default domain need it */
    g->producer_name = m->producer_name ? m->producer_name : "";
    g->producer_version = m->producer_version ? m->producer_version : "";
    g->graph_name = gp->name ? gp->name : "";
    if (gp->n_node > (1u << 24) || gp->n_initializer > (1u << 24))
        return tpu_err(g->ctx, TPU_ERR_FORMAT, "%s: graph has too many nodes or initializers", g->path);
    enum tpu_status rc = add_initializers(g, gp);
    if (!rc) rc = add_io(g, gp);
    for (size_t i = 0; !rc && i < gp->n_node; i++) rc = add_node(g, m, gp->node[i], i);
    return rc;
}

enum tpu_status tpu_load_onnx(struct tpu_ctx *ctx, const char *path, struct tpu_graph **out)
{
    *out = NULL;
    tpu_err_clear(ctx);
    Onnx__ModelProto *m = NULL;
    void *map = NULL;
    size_t map_len = 0;
    enum tpu_status rc = unpack_file(ctx, path, &m, &map, &map_len);
    if (rc) return rc;
    struct tpu_graph *g = tpu_graph_new(ctx, path);
    if (!g || tpu_onnx_keep_model(g, m) || (map && tpu_onnx_keep_map(g, map, map_len))) {
        if (g && g->maps) ((struct onnx_keep *)g->maps)->model = NULL;
        if (map) for (size_t i = 0; m->graph && i < m->graph->n_initializer; i++)
            m->graph->initializer[i]->raw_data.data = NULL;
        onnx__model_proto__free_unpacked(m, NULL);
        if (map) munmap(map, map_len);
        tpu_graph_free(g);
        return TPU_ERR_NOMEM;
    }
    if (map) ((struct onnx_keep *)g->maps)->raw_in_file = 1;
    rc = build_graph(g, m);
    if (rc) {
        if (ctx->status == TPU_STATUS_OK) tpu_err(ctx, rc, "%s: %s", path, tpu_status_str(rc));
        tpu_graph_free(g);
        return rc;
    }
    *out = g;
    return TPU_STATUS_OK;
}
