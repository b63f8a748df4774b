/*
** onnx/onnx_raw.c: keeps the initializers' raw_data out of protobuf-c's hands.
** protobuf-c copies every bytes field into a fresh allocation: for a model
** that is its weights, tens of MB written to pages faulted in for it, at
** every load. Here the wire bytes of the model are walked (ModelProto.graph
** → GraphProto.initializer → TensorProto.raw_data) and a copy of the model
** without those payloads is built (each raw_data becomes an empty field, the
** enclosing lengths rewritten): protobuf-c unpacks that small copy, and the
** loader points each initializer's raw_data back into the mapped file
** (onnx_load.c), where aligned values are borrowed in place.
**
** Anything but the plain layout (a repeated graph or raw_data field, groups,
** bad lengths) makes it decline: the file is then unpacked as it is.
**
** The same for a lone TensorProto (a test-data .pb file: one copy of its
** values, from the mapped file, instead of protobuf-c's and then ours).
**
** In:  the mapped model (or .pb) bytes.
** Out: the stripped copy and, per initializer in file order, its raw_data
**      span in the file (onnx/onnx.h).
*/
#include "onnx/onnx.h"
#include <stdlib.h>
#include <string.h>

struct field {
    uint64_t       num;
    int            wire;
    const uint8_t *start, *val, *end;     /* tag, LEN payload, past the field */
};

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (int s = 0; s < 64 && *p < end; s += 7) {
        uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << s;
        if (b < 0x80) { *v = r; return 0; }
    }
    return -1;
}

/* The next field of [*p, end): 1, 0 at the end, -1 for bytes that do not parse
** (or a deprecated group). */
static int next_field(const uint8_t **p, const uint8_t *end, struct field *f)
{
    if (*p >= end) return 0;
    uint64_t tag, n;
    f->start = *p;
    if (get_varint(p, end, &tag)) return -1;
    f->num = tag >> 3;
    f->wire = (int)(tag & 7);
    switch (f->wire) {
    case 0: if (get_varint(p, end, &n)) return -1; break;
    case 1: if (end - *p < 8) return -1; *p += 8; break;
    case 5: if (end - *p < 4) return -1; *p += 4; break;
    case 2:
        if (get_varint(p, end, &n) || n > (uint64_t)(end - *p)) return -1;
        f->val = *p;
        *p += n;
        break;
    default: return -1;
    }
    f->end = *p;
    return 1;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) { v >>= 7; n++; }
    return n;
}

static uint8_t *put_varint(uint8_t *o, uint64_t v)
{
    while (v >= 0x80) { *o++ = (uint8_t)(v | 0x80); v >>= 7; }
    *o++ = (uint8_t)v;
    return o;
}

struct strip {
    const uint8_t         *file;
    struct tpu_onnx_raw   *raw;           /* per initializer                 */
    size_t                *new_len;       /* its stripped TensorProto bytes  */
    int                    n, cap;
    uint64_t               raw_bytes;
};

/* Pass 1 over one initializer's TensorProto [a, e): its raw_data field. */
static int scan_tensor(struct strip *s, const uint8_t *a, const uint8_t *e)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        struct tpu_onnx_raw *r = realloc(s->raw, (size_t)cap * sizeof *r);
        if (r) s->raw = r;
        size_t *l = realloc(s->new_len, (size_t)cap * sizeof *l);
        if (l) s->new_len = l;
        if (!r || !l) return -1;
        s->cap = cap;
    }
    struct tpu_onnx_raw *r = &s->raw[s->n];
    memset(r, 0, sizeof *r);
    size_t len = (size_t)(e - a);
    struct field f;
    int k, seen = 0;
    const uint8_t *p = a;
    while ((k = next_field(&p, e, &f)) == 1) {
        if (f.num != 9 || f.wire != 2) continue;
        if (seen++) return -1;                       /* repeated: last wins in protobuf */
        r->present = 1;
        r->off = (uint64_t)(f.val - s->file);
        r->len = (uint64_t)(f.end - f.val);
        r->field_at = (uint64_t)(f.start - a);
        r->field_len = (uint64_t)(f.end - f.start);
        len = len - (size_t)r->field_len + 2;          /* an empty field: tag 0x4a, length 0 */
        s->raw_bytes += r->len;
    }
    if (k < 0) return -1;
    s->new_len[s->n++] = len;
    return 0;
}

/* Pass 1 over the GraphProto [a, e): its stripped size in *out. */
static int scan_graph(struct strip *s, const uint8_t *a, const uint8_t *e, size_t *out)
{
    size_t n = 0;
    struct field f;
    int k;
    const uint8_t *p = a;
    while ((k = next_field(&p, e, &f)) == 1) {
        if (f.num == 5 && f.wire == 2) {
            if (scan_tensor(s, f.val, f.end)) return -1;
            size_t t = s->new_len[s->n - 1];
            n += 1 + varint_len(t) + t;                       /* tag 0x2a */
        } else n += (size_t)(f.end - f.start);
    }
    *out = n;
    return k;
}

/* Pass 2: the stripped graph at o. */
static uint8_t *emit_graph(const struct strip *s, const uint8_t *a, const uint8_t *e, uint8_t *o)
{
    struct field f;
    const uint8_t *p = a;
    int i = 0;
    while (next_field(&p, e, &f) == 1) {
        if (!(f.num == 5 && f.wire == 2)) {
            memcpy(o, f.start, (size_t)(f.end - f.start));
            o += f.end - f.start;
            continue;
        }
        const struct tpu_onnx_raw *r = &s->raw[i];
        *o++ = 0x2a;
        o = put_varint(o, s->new_len[i++]);
        size_t n = (size_t)(f.end - f.val);
        if (!r->present) { memcpy(o, f.val, n); o += n; continue; }
        memcpy(o, f.val, (size_t)r->field_at);
        o += r->field_at;
        *o++ = 0x4a;
        *o++ = 0;
        size_t after = (size_t)(r->field_at + r->field_len);
        memcpy(o, f.val + after, n - after);
        o += n - after;
    }
    return o;
}

uint8_t *tpu_onnx_strip_raw(const uint8_t *buf, size_t len, uint64_t min_bytes, size_t *out_len,
                            struct tpu_onnx_raw **raw, int *n_raw)
{
    *raw = NULL;
    *n_raw = 0;
    struct strip s = { .file = buf };
    struct field f, g = { 0 };
    int k, graphs = 0;
    const uint8_t *p = buf, *end = buf + len;
    while ((k = next_field(&p, end, &f)) == 1)
        if (f.num == 7 && f.wire == 2) { g = f; graphs++; }
    size_t glen = 0;
    uint8_t *out = NULL;
    if (k == 0 && graphs == 1 && scan_graph(&s, g.val, g.end, &glen) == 0 && s.raw_bytes >= min_bytes) {
        *out_len = len - (size_t)(g.end - g.start) + 1 + varint_len(glen) + glen;
        out = malloc(*out_len ? *out_len : 1);
    }
    if (!out) { free(s.raw); free(s.new_len); return NULL; }
    uint8_t *o = out;
    memcpy(o, buf, (size_t)(g.start - buf));              /* the fields before the graph */
    o += g.start - buf;
    *o++ = 0x3a;
    o = put_varint(o, glen);
    o = emit_graph(&s, g.val, g.end, o);
    memcpy(o, g.end, (size_t)(end - g.end));               /* and after it */
    o += end - g.end;
    TPU_ASSERT((size_t)(o - out) == *out_len);
    free(s.new_len);
    *raw = s.raw;
    *n_raw = s.n;
    return out;
}

uint8_t *tpu_onnx_strip_tensor_raw(const uint8_t *buf, size_t len, size_t *out_len, struct tpu_onnx_raw *raw)
{
    struct strip s = { .file = buf };
    memset(raw, 0, sizeof *raw);
    if (scan_tensor(&s, buf, buf + len) || !s.raw[0].present) { free(s.raw); free(s.new_len); return NULL; }
    *raw = s.raw[0];
    *out_len = s.new_len[0];
    free(s.raw);
    free(s.new_len);
    uint8_t *out = malloc(*out_len), *o = out;
    if (!out) return NULL;
    memcpy(o, buf, (size_t)raw->field_at);
    o += raw->field_at;
    *o++ = 0x4a;
    *o++ = 0;
    size_t after = (size_t)(raw->field_at + raw->field_len);
    memcpy(o, buf + after, len - after);
    return out;
}
