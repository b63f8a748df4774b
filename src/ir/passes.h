/*
** ir/passes.h: what tpu_graph_prepare (ir/passes.c) leaves behind for the
** executor (ref/ref_exec.c) and the reports (report/).
**
** After prepare, g->nodes holds the live nodes first, in topological order,
** then the removed ones (dead = true: folded into constants or reaching no
** graph output). Every loop over nodes skips `dead` ones.
*/
#ifndef TPU_PASSES_H
#define TPU_PASSES_H

#include "ir/ir.h"

struct tpu_prep_input {             /* one graph input as prepared           */
    int     n_dims;                 /* -1: rank left open                    */
    int64_t dims[TPU_MAX_DIMS];     /* -1: symbolic, left open for run time  */
};

struct tpu_prep {                   /* g->prep; lives in the graph's arena   */
    int                    n_nodes_file;     /* nodes before any pass        */
    int                    n_live;           /* nodes left to run            */
    int                    n_folded;         /* nodes folded into constants  */
    int                    n_dead;           /* nodes reaching no output     */
    int                    n_unsupported;    /* live nodes tpusim cannot run */
    int                    n_inputs;
    struct tpu_prep_input *inputs;           /* [n_inputs], graph-input order */
    bool                  *unsupported;      /* [g->n_nodes], by node index  */
};

static inline const struct tpu_prep *tpu_graph_prep(const struct tpu_graph *g)
{
    return (const struct tpu_prep *)g->prep;
}

/* True when the node's op is known and its kernels are implemented as far
** as prepare could tell (a shape function returning UNSUPPORTED says no). */
bool tpu_node_supported(const struct tpu_graph *g, const struct tpu_node *n);

#endif /* TPU_PASSES_H */
