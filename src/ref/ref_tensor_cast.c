/*
** ref/ref_tensor_cast.c: the reference kernel of ONNX Cast between all
** numeric element types (float16, bfloat16, float32/64, signed and unsigned
** ints of 8..64 bits, bool).
**
** In:  a Cast node shaped by ir/shape_tensor.c (output dtype = 'to').
** Out: the converted values. Rules, as C casts where C defines them:
**   float -> int   truncates toward zero; out of int64 range saturates to the
**                  int64 limits, then wraps to narrower types as C does; NaN
**                  gives 0 (C leaves both undefined, this keeps us deterministic);
**   int -> int     wraps (two's complement);   any -> bool  is x != 0 (NaN is true);
**   -> float16 / bfloat16 rounds to nearest even (via float32).
*/
#include "ref/ref_tensor.h"
#include <math.h>
#include <string.h>

/* Source element i as one of three exact carriers. */
enum carrier { CARRY_F64, CARRY_I64, CARRY_U64 };

static enum carrier carrier_of(enum tpu_dtype dt)
{
    if (tpu_dtype_is_float(dt)) return CARRY_F64;
    return dt == TPU_DTYPE_U64 ? CARRY_U64 : CARRY_I64;
}

/* double -> float rounded to odd: a second rounding to 16 bits is then
** correct (float keeps 13 more bits than float16 and 16 more than bfloat16). */
static float f64_to_f32_odd(double v)
{
    float f = (float)v;
    if (isnan(v) || (double)f == v) return f;
    if (fabs((double)f) > fabs(v)) f = nextafterf(f, 0.0f);
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    b |= 1;
    memcpy(&f, &b, sizeof b);
    return f;
}

static void put_from_f64(void *dst, enum tpu_dtype dt, size_t i, double v)
{
    if (dt == TPU_DTYPE_F16 || dt == TPU_DTYPE_BF16) {
        float f = f64_to_f32_odd(v);
        ((uint16_t *)dst)[i] = dt == TPU_DTYPE_F16 ? tpu_f32_to_f16(f) : tpu_f32_to_bf16(f);
        return;
    }
    if (dt == TPU_DTYPE_U64 && v >= 9.2e18 && v < 18446744073709551616.0) {
        ((uint64_t *)dst)[i] = (uint64_t)v;
        return;
    }
    tpu_set_f64(dst, dt, i, v);                /* NaN -> 0, saturate, wrap */
}

static void put_from_i64(void *dst, enum tpu_dtype dt, size_t i, int64_t v)
{
    switch (dt) {
    case TPU_DTYPE_F32:  ((float *)dst)[i] = (float)v; return;          /* one rounding */
    case TPU_DTYPE_F64:  ((double *)dst)[i] = (double)v; return;
    case TPU_DTYPE_F16:  ((uint16_t *)dst)[i] = tpu_f32_to_f16((float)v); return;
    case TPU_DTYPE_BF16: ((uint16_t *)dst)[i] = tpu_f32_to_bf16((float)v); return;
    default:             tpu_set_i64(dst, dt, i, v); return;
    }
}

static void put_from_u64(void *dst, enum tpu_dtype dt, size_t i, uint64_t v)
{
    switch (dt) {
    case TPU_DTYPE_F32:  ((float *)dst)[i] = (float)v; return;
    case TPU_DTYPE_F64:  ((double *)dst)[i] = (double)v; return;
    case TPU_DTYPE_F16:  ((uint16_t *)dst)[i] = tpu_f32_to_f16((float)v); return;
    case TPU_DTYPE_BF16: ((uint16_t *)dst)[i] = tpu_f32_to_bf16((float)v); return;
    case TPU_DTYPE_BOOL: ((uint8_t *)dst)[i] = v != 0; return;
    default:             tpu_set_i64(dst, dt, i, (int64_t)v); return;
    }
}

/* float32 -> float16 / float32 <-> int64 are the casts models use most; they
** get tight loops. Returns false when the pair has no fast path. */
static bool cast_fast(void *dst, enum tpu_dtype dd, const void *src, enum tpu_dtype sd, int64_t count)
{
    if (sd == TPU_DTYPE_F32 && dd == TPU_DTYPE_F16) {
        for (int64_t i = 0; i < count; i++) ((uint16_t *)dst)[i] = tpu_f32_to_f16(((const float *)src)[i]);
        return true;
    }
    if (sd == TPU_DTYPE_F16 && dd == TPU_DTYPE_F32) {
        for (int64_t i = 0; i < count; i++) ((float *)dst)[i] = tpu_f16_to_f32(((const uint16_t *)src)[i]);
        return true;
    }
    if (sd == TPU_DTYPE_I64 && dd == TPU_DTYPE_F32) {
        for (int64_t i = 0; i < count; i++) ((float *)dst)[i] = (float)((const int64_t *)src)[i];
        return true;
    }
    if (sd == TPU_DTYPE_F32 && dd == TPU_DTYPE_F64) {
        for (int64_t i = 0; i < count; i++) ((double *)dst)[i] = ((const float *)src)[i];
        return true;
    }
    return false;
}

enum tpu_status ref_cast(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y;
    enum tpu_status rc = tpu_ref_io(g, n, &x, &y);
    if (rc) return rc;
    int64_t count = tpu_tensor_numel(x);
    TPU_ASSERT(count == tpu_tensor_numel(y));
    if (x->dtype == y->dtype) {
        if (count) memcpy(y->data, x->data, (size_t)count * tpu_dtype_size(x->dtype));
        return TPU_STATUS_OK;
    }
    if (cast_fast(y->data, y->dtype, x->data, x->dtype, count)) return TPU_STATUS_OK;
    enum carrier c = carrier_of(x->dtype);
    for (int64_t i = 0; i < count; i++) {
        size_t k = (size_t)i;
        if (c == CARRY_F64) put_from_f64(y->data, y->dtype, k, tpu_get_f64(x->data, x->dtype, k));
        else if (c == CARRY_U64) put_from_u64(y->data, y->dtype, k, ((const uint64_t *)x->data)[k]);
        else put_from_i64(y->data, y->dtype, k, tpu_get_i64(x->data, x->dtype, k));
    }
    return TPU_STATUS_OK;
}
