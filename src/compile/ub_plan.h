/*
** compile/ub_plan.h: Unified Buffer planning by liveness (compile/ub_plan.c),
** reported by `tpusim check --chip` (compile/check.c).
*/
#ifndef TPU_COMPILE_UB_PLAN_H
#define TPU_COMPILE_UB_PLAN_H

#include "compile/place.h"
#include <stdio.h>

struct tpu_ub_plan {
    int      n_tensors;                   /* tensors kept in the UB            */
    uint64_t peak_bytes;                  /* the plan's extent (upper bound)   */
    uint64_t lower_bound_bytes;           /* most bytes alive at one step      */
    int      peak_node;                   /* step of the lower bound, -1: none */
    int      largest_tensor;              /* tensor id, -1: none               */
    uint64_t largest_bytes;
    uint64_t capacity_bytes;              /* the chip's unified_buffer_bytes   */
    int      fits;                        /* peak_bytes <= capacity_bytes      */
};

/* places: [g->n_nodes] from tpu_place_node (dead nodes ignored). */
enum tpu_status tpu_ub_plan(struct tpu_graph *g, const struct tpu_place *places, const struct tpu_chip *chip,
                            struct tpu_ub_plan *p);
void tpu_ub_plan_print(const struct tpu_graph *g, const struct tpu_chip *chip, const struct tpu_ub_plan *p,
                       FILE *f);
/* The plan for g on chip (nodes placed here) and, when it fits, per node i
** which host-link transfers an on-chip schedule leaves out: mask[i] holds
** TPU_RESIDENT_IN when every activation node i reads is in the UB already
** (made by a chip node, or read in by an earlier one), TPU_RESIDENT_OUT when
** only chip nodes read its results (no graph output); 0 for host nodes and
** for every node when the plan does not fit. mask: [g->n_nodes]. */
enum tpu_status tpu_ub_residency(struct tpu_graph *g, const struct tpu_chip *chip, uint8_t *mask,
                                 struct tpu_ub_plan *plan);
/* "31.0 MiB", "12.0 KiB" or "4096 bytes" into buf; returns buf. */
const char *tpu_ub_size_str(uint64_t b, char *buf, size_t n);
/* One `"ub_plan": {...},` line of the check report's JSON object. */
void tpu_ub_plan_json(const struct tpu_ub_plan *p, FILE *f);

#endif /* TPU_COMPILE_UB_PLAN_H */
