/*
** tests/testmm.h: hand-made matrix-op descriptors (struct tpu_mm_desc) for the
** tests that lower ops directly (tests/test-precision.c, test-wide.c, test-ops-chip.c):
** a Gemm M x K x N and a Conv (batch, groups, channels per group in and out,
** square image, kernel, stride, padding), named for the report lines.
*/
#ifndef TPU_TESTMM_H
#define TPU_TESTMM_H
#include "compile/compile.h"
#include <stdio.h>
#include <string.h>

static inline void tm_gemm(struct tpu_mm_desc *d, int64_t M, int64_t K, int64_t N)
{
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "gemm %lldx%lldx%lld", (long long)M, (long long)K, (long long)N);
    snprintf(d->op, sizeof d->op, "Gemm");
    d->groups = 1; d->M = M; d->K = K; d->N = N; d->batch = M;
    d->kh = d->kw = d->sh = d->sw = d->dh = d->dw = d->oh = d->ow = d->h = d->w = 1;
}

static inline void tm_conv(struct tpu_mm_desc *d, int64_t b, int64_t groups, int64_t cpg, int64_t opg, int64_t hw,
                           int64_t k, int64_t s, int64_t p)
{
    memset(d, 0, sizeof *d);
    d->is_conv = 1; d->groups = groups; d->batch = b; d->c_in = groups * cpg; d->c_out = groups * opg;
    d->h = d->w = hw; d->kh = d->kw = k; d->sh = d->sw = s; d->dh = d->dw = 1; d->pt = d->pl = p;
    d->oh = d->ow = (hw + 2 * p - k) / s + 1;
    d->M = b * d->oh * d->ow; d->K = cpg * k * k; d->N = opg;
    snprintf(d->name, sizeof d->name, "conv b%lld g%lld c%lld o%lld %lldx%lld k%lld s%lld p%lld", (long long)b,
             (long long)groups, (long long)d->c_in, (long long)d->c_out, (long long)hw, (long long)hw, (long long)k,
             (long long)s, (long long)p);
    snprintf(d->op, sizeof d->op, "Conv");
}
#endif
