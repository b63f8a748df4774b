/*
** compile/place.h: node placement on a chip (compile/place.c, table in
** compile/place.def), used by `tpusim check --chip` (compile/check.c).
*/
#ifndef TPU_COMPILE_PLACE_H
#define TPU_COMPILE_PLACE_H

#include "compile/compile.h"

enum tpu_place_class { TPU_PLACE_MXU, TPU_PLACE_ACTIVATION, TPU_PLACE_VECTOR, TPU_PLACE_HOST,
                TPU_PLACE_UNSUPPORTED, TPU_PLACE_COUNT };

struct tpu_place {
    enum tpu_place_class unit;                   /* where the compiler puts it now    */
    const char   *could;                  /* unit that could run it, or NULL   */
    char          reason[320];
    char          suggestion[200];        /* "" when nothing to change         */
    int64_t       macs;
    int64_t       weight_elems;           /* MXU: weights, elements            */
    int64_t       mxu_rows;               /* MXU: rows streamed                */
    int64_t       host_bytes;             /* non-constant inputs + outputs     */
    int64_t       vec_elems;              /* VECTOR: elements through the lanes */
    int64_t       vec_link_bytes;         /* VECTOR: host-link bytes of its program
                                             (gathered windows, expanded operands) */
    double        est_seconds;            /* first-order estimate              */
};

const char *tpu_place_class_name(enum tpu_place_class u);
/* Places node n (prepared graph). Never fails: refusals are placements. */
void tpu_place_node(struct tpu_graph *g, struct tpu_node *n, const struct tpu_chip *chip,
                    struct tpu_place *p);

#endif /* TPU_COMPILE_PLACE_H */
