/*
** onnx/onnx_map.c: normalises nodes of older opsets to the input form that
** ops.def, the shape functions and the kernels expect (opset 13+).
**
** ONNX moved several attributes to inputs over the years: Squeeze/Unsqueeze/
** ReduceSum axes (13), Split split (13), Clip min/max (11), Pad pads/value (11),
** Slice starts/ends/axes (10), TopK k (10), Reshape shape (5), Upsample/Resize-10
** scales. One table lists each move; Upsample and Resize-10 become Resize-11+
** with the coordinate convention they had (asymmetric, floor).
*/
#include "onnx/onnx.h"
#include <string.h>

enum move_kind { MOVE_INTS, MOVE_INT_1D, MOVE_FLOAT_SCALAR, MOVE_FLOATS };

struct attr_move {
    const char    *op_type;
    int            before_opset;   /* the attribute form is used below this opset */
    const char    *attr;
    int            slot;           /* input index it moves to                     */
    enum move_kind kind;
};

static const struct attr_move moves[] = {
    { "Squeeze",   13, "axes",   1, MOVE_INTS },
    { "Unsqueeze", 13, "axes",   1, MOVE_INTS },
    { "ReduceSum", 13, "axes",   1, MOVE_INTS },
    { "Split",     13, "split",  1, MOVE_INTS },
    { "Clip",      11, "min",    1, MOVE_FLOAT_SCALAR },
    { "Clip",      11, "max",    2, MOVE_FLOAT_SCALAR },
    { "Pad",       11, "pads",   1, MOVE_INTS },
    { "Pad",       11, "value",  2, MOVE_FLOAT_SCALAR },
    { "Slice",     10, "starts", 1, MOVE_INTS },
    { "Slice",     10, "ends",   2, MOVE_INTS },
    { "Slice",     10, "axes",   3, MOVE_INTS },
    { "TopK",      10, "k",      1, MOVE_INT_1D },
    { "Reshape",    5, "shape",  1, MOVE_INTS },
    { "Upsample",   9, "scales", 1, MOVE_FLOATS },
};

static enum tpu_status move_attr(struct tpu_graph *g, struct tpu_node *n, const struct attr_move *mv)
{
    const struct tpu_attr *a = tpu_attr_find(n, mv->attr);
    if (!a) return TPU_STATUS_OK;
    if (mv->slot < n->n_inputs && n->inputs[mv->slot] >= 0)
        return tpu_node_err(g, n, TPU_ERR_FORMAT, "attribute '%s' and input %d both given", mv->attr, mv->slot);
    int64_t count = a->n;
    switch (mv->kind) {
    case MOVE_INTS:
        if (a->type != TPU_ATTR_INTS) break;
        return tpu_node_add_const_input(g, n, mv->slot, TPU_DTYPE_I64, 1, &count, a->ints);
    case MOVE_FLOATS:
        if (a->type != TPU_ATTR_FLOATS) break;
        return tpu_node_add_const_input(g, n, mv->slot, TPU_DTYPE_F32, 1, &count, a->floats);
    case MOVE_INT_1D:
        if (a->type != TPU_ATTR_INT) break;
        count = 1;
        return tpu_node_add_const_input(g, n, mv->slot, TPU_DTYPE_I64, 1, &count, &a->i);
    case MOVE_FLOAT_SCALAR:
        if (a->type != TPU_ATTR_FLOAT) break;
        return tpu_node_add_const_input(g, n, mv->slot, TPU_DTYPE_F32, 0, NULL, &a->f);
    }
    return tpu_node_err(g, n, TPU_ERR_FORMAT, "attribute '%s' has the wrong type", mv->attr);
}

/* Adds (or replaces) a string attribute. */
static enum tpu_status set_str_attr(struct tpu_graph *g, struct tpu_node *n, const char *name, const char *v)
{
    struct tpu_attr *attrs = tpu_arena_alloc(&g->arena, (size_t)(n->n_attrs + 1) * sizeof *attrs);
    if (!attrs) return TPU_ERR_NOMEM;
    int k = 0;
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) != 0) attrs[k++] = n->attrs[i];
    attrs[k].name = name;
    attrs[k].type = TPU_ATTR_STRING;
    attrs[k].s = v;
    n->attrs = attrs;
    n->n_attrs = k + 1;
    return TPU_STATUS_OK;
}

/* Upsample (7-9) and Resize-10: inputs (X, scales) → Resize-11 (X, roi, scales),
** with the asymmetric coordinates and floor rounding those versions defined. */
static enum tpu_status upsample_to_resize(struct tpu_graph *g, struct tpu_node *n)
{
    if (n->n_inputs < 2 || n->inputs[1] < 0)
        return tpu_node_err(g, n, TPU_ERR_FORMAT, "needs scales (input 1 or attribute 'scales')");
    int *in = tpu_arena_alloc(&g->arena, 3 * sizeof(int));
    if (!in) return TPU_ERR_NOMEM;
    in[0] = n->inputs[0];
    in[1] = -1;
    in[2] = n->inputs[1];
    n->inputs = in;
    n->n_inputs = 3;
    n->op = TPU_OP_RESIZE;
    const char *mode = tpu_attr_str(n, "mode", "nearest");
    enum tpu_status rc = set_str_attr(g, n, "mode", strcmp(mode, "bilinear") == 0 ? "linear" : mode);
    if (!rc) rc = set_str_attr(g, n, "coordinate_transformation_mode", "asymmetric");
    if (!rc) rc = set_str_attr(g, n, "nearest_mode", "floor");
    return rc;
}

enum tpu_status tpu_onnx_normalize_node(struct tpu_graph *g, struct tpu_node *n)
{
    if (*n->domain && strcmp(n->domain, "ai.onnx") != 0) return TPU_STATUS_OK;
    for (size_t i = 0; i < sizeof moves / sizeof moves[0]; i++) {
        if (strcmp(moves[i].op_type, n->op_type) != 0 || n->opset >= moves[i].before_opset) continue;
        enum tpu_status rc = move_attr(g, n, &moves[i]);
        if (rc) return rc;
    }
    if (strcmp(n->op_type, "Upsample") == 0 || (n->op == TPU_OP_RESIZE && n->opset < 11))
        return upsample_to_resize(g, n);
    return TPU_STATUS_OK;
}
