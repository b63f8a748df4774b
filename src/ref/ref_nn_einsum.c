/*
** ref/ref_nn_einsum.c: Einsum — the equation parser (shared by shape_einsum
** and macs_einsum) and the reference kernel.
**
** In:  an Einsum node: attribute 'equation' ("bij,bjk->bik", implicit output,
**      '...' ellipsis broadcasting, repeated labels = diagonals), its inputs.
** Out: struct tpu_nn_einsum (labels, sizes, output labels), the output values
**      (float64 accumulation, one loop over every label combination).
*/
#include "ref/ref_nn.h"
#include <ctype.h>
#include <string.h>

#define N_LETTERS 52                  /* a-z then A-Z; ellipsis dims follow */

static int letter_id(char ch)
{
    if (ch >= 'a' && ch <= 'z') return ch - 'a';
    if (ch >= 'A' && ch <= 'Z') return 26 + ch - 'A';
    return -1;
}

/* Label ids of one term: letters and (at most one) ellipsis. For an input
** (out_ell < 0) the ellipsis spans rank - letters dims; for the output it
** spans out_ell dims. Ellipsis dims get placeholders -1-e, fixed later.
** Returns the label count, -1 for a syntax error, -2 for a rank mismatch. */
static int term_labels(const char *s, size_t len, int rank, int out_ell, int cap, int *ids, int *n_ell_out)
{
    int n_letters = 0, has_ell = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (has_ell || i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.') return -1;
            has_ell = 1;
            i += 2;
        } else if (letter_id(s[i]) >= 0) n_letters++;
        else return -1;
    }
    int n_ell = !has_ell ? 0 : out_ell >= 0 ? out_ell : rank - n_letters;
    if (out_ell < 0 && (n_ell < 0 || (!has_ell && n_letters != rank))) return -2;
    if (n_letters + n_ell > cap) return -2;
    *n_ell_out = has_ell ? n_ell : -1;
    int k = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            for (int e = 0; e < n_ell; e++) ids[k++] = -1 - e;
            i += 2;
        } else ids[k++] = letter_id(s[i]);
    }
    return k;
}

static enum tpu_status bad_eq(const struct tpu_graph *g, const struct tpu_node *n, const char *what)
{
    return tpu_node_err(g, n, TPU_ERR_SHAPE, "attribute 'equation' \"%s\": %s",
                        tpu_attr_str(n, "equation", ""), what);
}

/* Ellipsis placeholders -1-e of a term with n_ell dims → ids N_LETTERS + (n_max - n_ell + e). */
static void fix_ellipsis(int *ids, int k, int n_ell, int n_max)
{
    for (int i = 0; i < k; i++)
        if (ids[i] < 0) ids[i] = N_LETTERS + (n_max - n_ell) + (-1 - ids[i]);
}

static enum tpu_status set_size(const struct tpu_graph *g, const struct tpu_node *n,
                                struct tpu_nn_einsum *e, int id, int64_t d)
{
    int64_t cur = e->size[id];        /* -2: not seen yet, -1: unknown */
    if (cur == -2 || cur == 1) cur = d;
    else if (cur == -1) { if (d > 1) cur = d; }
    else if (d >= 0 && d != 1 && d != cur) return bad_eq(g, n, "a label has two different sizes");
    e->size[id] = cur;
    e->used[id] = true;
    return TPU_STATUS_OK;
}

static enum tpu_status parse_inputs(const struct tpu_graph *g, const struct tpu_node *n,
                                    const char *lhs, size_t len, struct tpu_nn_einsum *e)
{
    const char *p = lhs, *end = lhs + len;
    int n_ell[TPU_NN_EINSUM_MAX_OPS], n_max = 0;
    for (e->n_ops = 0; p <= end; e->n_ops++) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *te = comma ? comma : end;
        if (e->n_ops >= n->n_inputs || e->n_ops >= TPU_NN_EINSUM_MAX_OPS)
            return bad_eq(g, n, "more terms than inputs");
        const struct tpu_tensor *t = tpu_in(g, n, e->n_ops);
        if (!t || t->n_dims < 0 || t->n_dims > TPU_MAX_DIMS) return bad_eq(g, n, "an input's rank is unknown");
        int k = term_labels(p, (size_t)(te - p), t->n_dims, -1, TPU_MAX_DIMS, e->op_label[e->n_ops],
                            &n_ell[e->n_ops]);
        if (k == -1) return bad_eq(g, n, "bad character or ellipsis");
        if (k == -2) return bad_eq(g, n, "a term's label count does not match its input's rank");
        e->op_rank[e->n_ops] = k;
        if (n_ell[e->n_ops] > n_max) n_max = n_ell[e->n_ops];
        p = te + 1;
        if (!comma) { e->n_ops++; break; }
    }
    if (e->n_ops != n->n_inputs) return bad_eq(g, n, "fewer terms than inputs");
    e->n_ell = n_max;
    for (int i = 0; i < e->n_ops; i++) {
        fix_ellipsis(e->op_label[i], e->op_rank[i], n_ell[i] < 0 ? 0 : n_ell[i], n_max);
        const struct tpu_tensor *t = tpu_in(g, n, i);
        for (int k = 0; k < e->op_rank[i]; k++) {
            enum tpu_status rc = set_size(g, n, e, e->op_label[i][k], t->dims[k]);
            if (rc) return rc;
        }
    }
    return TPU_STATUS_OK;
}

/* Implicit output: the ellipsis dims, then letters used exactly once, sorted
** (ASCII order: upper case first, as numpy). */
static int implicit_output(const char *lhs, size_t len, struct tpu_nn_einsum *e)
{
    int count[N_LETTERS] = { 0 };
    for (size_t i = 0; i < len; i++) if (letter_id(lhs[i]) >= 0) count[letter_id(lhs[i])]++;
    e->out_rank = 0;
    int n_once = 0;
    for (int id = 0; id < N_LETTERS; id++) n_once += count[id] == 1;
    if (e->n_ell + n_once > TPU_MAX_DIMS) return -1;
    for (int i = 0; i < e->n_ell; i++) e->out_label[e->out_rank++] = N_LETTERS + i;
    for (int id = 26; id < N_LETTERS; id++) if (count[id] == 1) e->out_label[e->out_rank++] = id;
    for (int id = 0; id < 26; id++) if (count[id] == 1) e->out_label[e->out_rank++] = id;
    return 0;
}

enum tpu_status tpu_nn_einsum_parse(const struct tpu_graph *g, const struct tpu_node *n,
                                    struct tpu_nn_einsum *e)
{
    char eq[256];
    size_t len = 0;
    const char *src = tpu_attr_str(n, "equation", NULL);
    memset(e, 0, sizeof *e);
    for (int i = 0; i < TPU_NN_EINSUM_MAX_LABELS; i++) e->size[i] = -2;
    if (!src) return tpu_node_err(g, n, TPU_ERR_SHAPE, "attribute 'equation' is required");
    for (; *src; src++)
        if (!isspace((unsigned char)*src)) {
            if (len + 1 >= sizeof eq) return bad_eq(g, n, "too long");
            eq[len++] = *src;
        }
    eq[len] = 0;
    char *arrow = strstr(eq, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - eq) : len;
    enum tpu_status rc = parse_inputs(g, n, eq, lhs_len, e);
    if (rc) return rc;
    if (!arrow)
        return implicit_output(eq, lhs_len, e) ? bad_eq(g, n, "implicit output has too many dims")
                                               : TPU_STATUS_OK;
    int n_ell = -1, ids[TPU_MAX_DIMS];
    int k = term_labels(arrow + 2, strlen(arrow + 2), 0, e->n_ell, TPU_MAX_DIMS, ids, &n_ell);
    if (k < 0 || k > TPU_MAX_DIMS) return bad_eq(g, n, "bad output term");
    if (e->n_ell && n_ell < 0) return bad_eq(g, n, "the output omits the inputs' ellipsis");
    fix_ellipsis(ids, k, e->n_ell, e->n_ell);
    for (int i = 0; i < k; i++) {
        if (!e->used[ids[i]]) return bad_eq(g, n, "an output label is not in any input");
        for (int j = 0; j < i; j++) if (ids[j] == ids[i]) return bad_eq(g, n, "an output label repeats");
        e->out_label[i] = ids[i];
    }
    e->out_rank = k;
    return TPU_STATUS_OK;
}

/*---- The kernel ----*/
enum tpu_status ref_einsum(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_nn_einsum e;
    enum tpu_status rc = tpu_nn_einsum_parse(g, n, &e);
    if (rc) return rc;
    int loop[TPU_NN_EINSUM_MAX_LABELS], n_loop = 0;        /* output labels, then reduced */
    bool is_out[TPU_NN_EINSUM_MAX_LABELS] = { false };
    for (int i = 0; i < e.out_rank; i++) { loop[n_loop++] = e.out_label[i]; is_out[e.out_label[i]] = true; }
    for (int id = 0; id < TPU_NN_EINSUM_MAX_LABELS; id++) if (e.used[id] && !is_out[id]) loop[n_loop++] = id;
    /* stride[op][l]: the operand's element stride for loop label l (summed for
    ** repeated labels; 0 where the operand's dim is 1 and broadcast). */
    int64_t stride[TPU_NN_EINSUM_MAX_OPS][TPU_NN_EINSUM_MAX_LABELS] = { { 0 } }, total = 1;
    for (int o = 0; o < e.n_ops; o++) {
        const struct tpu_tensor *t = tpu_in(g, n, o);
        int64_t s = 1;
        for (int k = t->n_dims - 1; k >= 0; k--) {
            for (int l = 0; l < n_loop; l++)
                if (loop[l] == e.op_label[o][k] && t->dims[k] != 1) stride[o][l] += s;
            s *= t->dims[k];
        }
    }
    for (int l = 0; l < n_loop; l++) {
        if (e.size[loop[l]] && total > ((int64_t)1 << 40) / e.size[loop[l]])
            return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "more than 2^40 multiply-adds for the plain loop");
        total *= e.size[loop[l]];
    }
    struct tpu_tensor *y = tpu_out(g, n, 0);
    int64_t n_out = tpu_tensor_numel(y), n_red = n_out ? total / n_out : 0;
    double *v[TPU_NN_EINSUM_MAX_OPS] = { NULL };
    for (int o = 0; o < e.n_ops; o++)
        if (!(v[o] = tpu_nn_to_f64(g->ctx, tpu_in(g, n, o)))) {
            for (int k = 0; k < o; k++) free(v[k]);
            return TPU_ERR_NOMEM;
        }
    /* odometer over all loop labels, the operands' offsets updated as it turns */
    int64_t idx[TPU_NN_EINSUM_MAX_LABELS] = { 0 }, off[TPU_NN_EINSUM_MAX_OPS] = { 0 };
    for (int64_t oi = 0; oi < n_out; oi++) {
        double acc = 0;
        for (int64_t r = 0; r < n_red; r++) {
            double prod = 1;
            for (int o = 0; o < e.n_ops; o++) prod *= v[o][off[o]];
            acc += prod;
            for (int l = n_loop - 1; l >= 0; l--) {
                bool wrap = ++idx[l] == e.size[loop[l]];
                for (int o = 0; o < e.n_ops; o++)
                    off[o] += wrap ? -stride[o][l] * (e.size[loop[l]] - 1) : stride[o][l];
                if (!wrap) break;
                idx[l] = 0;
            }
        }
        tpu_set_f64(y->data, y->dtype, (size_t)oi, acc);
    }
    for (int o = 0; o < e.n_ops; o++) free(v[o]);
    return TPU_STATUS_OK;
}
