/*
** onnx/onnx_tensor.c: TensorProto → tpu_tensor and back.
**
** In:  TensorProto messages from a model (initializers, Constant values,
**      attribute tensors) or from a test-data .pb file.
** Out: dtype, dims and values on a tpu_tensor. raw_data is borrowed where the
**      message outlives the tensor; typed fields (float_data, int32_data, ...)
**      are converted; external data (data_location = EXTERNAL) is mmap'd.
** Every count and size from the file is checked before anything is allocated.
*/
#include "onnx/onnx.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DIM_VALUE ((int64_t)1 << 40)

static bool dtype_supported(int32_t dt)
{
    switch (dt) {
    case TPU_DTYPE_F32: case TPU_DTYPE_U8: case TPU_DTYPE_I8: case TPU_DTYPE_U16:
    case TPU_DTYPE_I16: case TPU_DTYPE_I32: case TPU_DTYPE_I64: case TPU_DTYPE_BOOL:
    case TPU_DTYPE_F16: case TPU_DTYPE_F64: case TPU_DTYPE_U32: case TPU_DTYPE_U64:
    case TPU_DTYPE_BF16:
        return true;
    default:
        return false;
    }
}

static const char *onnx_dtype_name(int32_t dt)
{
    static const char *names[] = { "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16",
        "INT32", "INT64", "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64",
        "COMPLEX64", "COMPLEX128", "BFLOAT16" };
    return dt >= 0 && dt < (int32_t)(sizeof names / sizeof names[0]) ? names[dt] : "unknown";
}

static enum tpu_status set_dims(struct tpu_graph *g, struct tpu_tensor *t, const char *what,
                                size_t n_dims, const int64_t *dims)
{
    if (n_dims > TPU_MAX_DIMS)
        return tpu_err(g->ctx, TPU_ERR_UNSUPPORTED, "%s: %s has rank %zu, tpusim supports up to %d",
                       g->path, what, n_dims, TPU_MAX_DIMS);
    for (size_t i = 0; i < n_dims; i++)
        if (dims[i] < 0 || dims[i] > MAX_DIM_VALUE)
            return tpu_err(g->ctx, TPU_ERR_FORMAT, "%s: %s: dimension %zu is %lld (must be 0..2^40)",
                           g->path, what, i, (long long)dims[i]);
    tpu_tensor_set_shape(t, (int)n_dims, dims);
    return TPU_STATUS_OK;
}

/* Bytes of t's values, refused (naming the file and tensor) before anything is
** allocated when the element count overflows or is over TPU_MAX_ALLOC_BYTES. */
static enum tpu_status size_check(struct tpu_graph *g, const struct tpu_tensor *t,
                                  const char *what, size_t *nbytes)
{
    int64_t numel = tpu_tensor_numel(t);
    char shape[160];
    if (numel < 0 || tpu_mul_size((size_t)numel, tpu_dtype_size(t->dtype), nbytes) ||
        *nbytes > tpu_alloc_limit(g->ctx))
        return tpu_err(g->ctx, TPU_ERR_NOMEM, "%s: %s: shape %s of %s is over tpusim's %zu-byte tensor limit",
                       g->path, what, tpu_shape_str(t, shape, sizeof shape), tpu_dtype_name(t->dtype),
                       tpu_alloc_limit(g->ctx));
    return TPU_STATUS_OK;
}

/* Typed-field payloads: copy with conversion into an arena buffer. */
static enum tpu_status decode_typed(struct tpu_graph *g, const Onnx__TensorProto *tp,
                                    struct tpu_tensor *t, const char *what, size_t numel)
{
    size_t have;
    switch (t->dtype) {
    case TPU_DTYPE_F32:  have = tp->n_float_data; break;
    case TPU_DTYPE_F64:  have = tp->n_double_data; break;
    case TPU_DTYPE_I64:  have = tp->n_int64_data; break;
    case TPU_DTYPE_U32: case TPU_DTYPE_U64: have = tp->n_uint64_data; break;
    default:             have = tp->n_int32_data; break;   /* int8..int32, bool, f16, bf16 */
    }
    if (have != numel)
        return tpu_err(g->ctx, TPU_ERR_FORMAT, "%s: %s has %zu values, its shape needs %zu",
                       g->path, what, have, numel);
    size_t nbytes;
    enum tpu_status rc = tpu_tensor_nbytes(g->ctx, t, &nbytes);
    if (rc) return rc;
    void *p = tpu_arena_alloc(&g->arena, nbytes ? nbytes : 1);
    if (!p) return TPU_ERR_NOMEM;
    for (size_t i = 0; i < numel; i++) {
        switch (t->dtype) {
        case TPU_DTYPE_F32: ((float *)p)[i] = tp->float_data[i]; break;
        case TPU_DTYPE_F64: ((double *)p)[i] = tp->double_data[i]; break;
        case TPU_DTYPE_I64: ((int64_t *)p)[i] = tp->int64_data[i]; break;
        case TPU_DTYPE_U32: case TPU_DTYPE_U64: tpu_set_i64(p, t->dtype, i, (int64_t)tp->uint64_data[i]); break;
        case TPU_DTYPE_F16: case TPU_DTYPE_BF16: ((uint16_t *)p)[i] = (uint16_t)tp->int32_data[i]; break;
        default: tpu_set_i64(p, t->dtype, i, tp->int32_data[i]); break;
        }
    }
    t->data = p;
    t->owner = TPU_DATA_ARENA;
    return TPU_STATUS_OK;
}

static const char *ext_key(const Onnx__TensorProto *tp, const char *key)
{
    for (size_t i = 0; i < tp->n_external_data; i++)
        if (tp->external_data[i]->key && strcmp(tp->external_data[i]->key, key) == 0)
            return tp->external_data[i]->value ? tp->external_data[i]->value : "";
    return NULL;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-') return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

/* data_location = EXTERNAL: map [offset, offset+length) of a file beside the model. */
static enum tpu_status decode_external(struct tpu_graph *g, const Onnx__TensorProto *tp,
                                       struct tpu_tensor *t, const char *what, size_t nbytes)
{
    const char *loc = ext_key(tp, "location");
    uint64_t off = 0, len = nbytes;
    if (!loc || !*loc)
        return tpu_err(g->ctx, TPU_ERR_FORMAT, "%s: %s: external data without a location", g->path, what);
    if (loc[0] == '/' || strstr(loc, ".."))
        return tpu_err(g->ctx, TPU_ERR_FORMAT, "%s: %s: external data location '%s' must be a relative path inside the model's folder",
                       g->path, what, loc);
    if ((ext_key(tp, "offset") && parse_u64(ext_key(tp, "offset"), &off)) ||
        (ext_key(tp, "length") && parse_u64(ext_key(tp, "length"), &len)))
        return tpu_err(g->ctx, TPU_ERR_FORMAT, "%s: %s: bad external data offset or length", g->path, what);
    if (len != nbytes)
        return tpu_err(g->ctx, TPU_ERR_FORMAT, "%s: %s: external data length %llu, its shape needs %zu bytes",
                       g->path, what, (unsigned long long)len, nbytes);
    char path[4096];
    const char *slash = strrchr(g->path, '/');
    int dir_len = slash ? (int)(slash - g->path + 1) : 0;
    if (snprintf(path, sizeof path, "%.*s%s", dir_len, g->path, loc) >= (int)sizeof path)
        return tpu_err(g->ctx, TPU_ERR_FORMAT, "%s: %s: external data path too long", g->path, what);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return tpu_err(g->ctx, TPU_ERR_IO, "%s: %s: cannot open external data '%s': %s",
                       g->path, what, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) || (uint64_t)st.st_size < off || (uint64_t)st.st_size - off < len) {
        close(fd);
        return tpu_err(g->ctx, TPU_ERR_FORMAT, "%s: %s: external data '%s' is shorter than offset %llu + length %llu",
                       g->path, what, path, (unsigned long long)off, (unsigned long long)len);
    }
    if (len == 0) { close(fd); t->data = tpu_arena_alloc(&g->arena, 1); t->owner = TPU_DATA_ARENA; return t->data ? TPU_STATUS_OK : TPU_ERR_NOMEM; }
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), base = off - off % page;
    void *m = mmap(NULL, (size_t)(len + (off - base)), PROT_READ, MAP_PRIVATE, fd, (off_t)base);
    close(fd);
    if (m == MAP_FAILED)
        return tpu_err(g->ctx, TPU_ERR_IO, "%s: %s: cannot map external data '%s': %s",
                       g->path, what, path, strerror(errno));
    enum tpu_status rc = tpu_onnx_keep_map(g, m, (size_t)(len + (off - base)));
    if (rc) { munmap(m, (size_t)(len + (off - base))); return rc; }
    t->data = (uint8_t *)m + (off - base);
    t->owner = TPU_DATA_BORROWED;
    return TPU_STATUS_OK;
}

/* borrow_any: raw_data borrowed at any alignment (the caller only copies the
** bytes out, tpu_tensor_load_pb). */
static enum tpu_status decode(struct tpu_graph *g, const Onnx__TensorProto *tp, struct tpu_tensor *t,
                              const char *what, int borrow_any)
{
    int32_t dt = tp->has_data_type ? tp->data_type : 0;
    if (!dtype_supported(dt))
        return tpu_err(g->ctx, TPU_ERR_UNSUPPORTED, "%s: %s has dtype %s (%d), which tpusim does not support",
                       g->path, what, onnx_dtype_name(dt), (int)dt);
    t->dtype = (enum tpu_dtype)dt;
    enum tpu_status rc = set_dims(g, t, what, tp->n_dims, tp->dims);
    if (rc) return rc;
    size_t nbytes;
    if ((rc = size_check(g, t, what, &nbytes))) return rc;
    size_t numel = (size_t)tpu_tensor_numel(t);
    t->is_const = true;
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return decode_external(g, tp, t, what, nbytes);
    if (tp->has_raw_data) {
        if (tp->raw_data.len != nbytes)
            return tpu_err(g->ctx, TPU_ERR_FORMAT, "%s: %s: raw_data has %zu bytes, its shape [%zu elements of %s] needs %zu",
                           g->path, what, tp->raw_data.len, numel, tpu_dtype_name(t->dtype), nbytes);
        size_t align = tpu_dtype_size(t->dtype);
        if (nbytes && align && (borrow_any || ((uintptr_t)tp->raw_data.data % align) == 0)) {
            t->data = tp->raw_data.data;      /* borrowed: the message (or the mapped file,
                                                 onnx_raw.c) lives as long as g */
            t->owner = TPU_DATA_BORROWED;
            return TPU_STATUS_OK;
        }
        t->data = tpu_arena_alloc_raw(&g->arena, nbytes ? nbytes : 1);
        if (!t->data) return TPU_ERR_NOMEM;
        if (nbytes) memcpy(t->data, tp->raw_data.data, nbytes);
        t->owner = TPU_DATA_ARENA;
        return TPU_STATUS_OK;
    }
    return decode_typed(g, tp, t, what, numel);
}

enum tpu_status tpu_onnx_tensor_decode(struct tpu_graph *g, const Onnx__TensorProto *tp,
                                       struct tpu_tensor *t, const char *what)
{
    return decode(g, tp, t, what, 0);
}

/*---- Test-data .pb files ----*/
/* The file mapped read-only (no copy into a fresh buffer); *buf NULL for an
** empty file. Unmap with munmap(*buf, *len). */
static enum tpu_status map_file(struct tpu_ctx *ctx, const char *path, uint8_t **buf, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return tpu_err(ctx, TPU_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return tpu_err(ctx, TPU_ERR_IO, "%s: not a regular file", path);
    }
    *len = (size_t)st.st_size;
    *buf = NULL;
    if (*len) {
        void *m = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            close(fd);
            return tpu_err(ctx, TPU_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
        }
        *buf = m;
    }
    close(fd);
    return TPU_STATUS_OK;
}

struct tpu_tensor *tpu_tensor_load_pb(struct tpu_ctx *ctx, const char *path)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (map_file(ctx, path, &buf, &len)) return NULL;
    Onnx__TensorProto *tp = NULL;
    struct tpu_onnx_raw raw = { 0 };
    size_t small_len = 0;
    uint8_t *small = NULL;            /* without raw_data: protobuf-c copies the rest only */
    if (len == 0) tpu_err(ctx, TPU_ERR_FORMAT, "%s: empty file, not a TensorProto", path);
    else if (tpu_onnx_check_depth(&onnx__tensor_proto__descriptor, buf, len, 8))
        tpu_err(ctx, TPU_ERR_FORMAT, "%s: not a TensorProto: nested too deeply", path);
    else if (small = tpu_onnx_strip_tensor_raw(buf, len, &small_len, &raw),
             !(tp = onnx__tensor_proto__unpack(NULL, small ? small_len : len, small ? small : buf)))
        tpu_err(ctx, TPU_ERR_FORMAT, "%s: not a TensorProto: protobuf decoding failed", path);
    int stripped = small != NULL;
    free(small);
    if (tp && stripped) {             /* the values, read where they are in the file */
        tp->raw_data.data = buf + raw.off;
        tp->raw_data.len = (size_t)raw.len;
    }
    if (!tp) { if (buf) munmap(buf, len); return NULL; }
    /* A scratch graph gives the decoder an arena and a path for messages. */
    struct tpu_graph *g = tpu_graph_new(ctx, path);
    struct tpu_tensor *out = NULL;
    if (g) {
        struct tpu_tensor tmp = { .n_dims = -1, .producer = -1 };
        if (decode(g, tp, &tmp, "tensor", 1) == TPU_STATUS_OK) {
            size_t nbytes = 0, name_len = strlen(tp->name ? tp->name : "") + 1;
            tpu_tensor_nbytes(ctx, &tmp, &nbytes);
            out = tpu_malloc(ctx, sizeof *out + name_len);
            if (out) {
                *out = tmp;
                out->name = memcpy((char *)(out + 1), tp->name ? tp->name : "", name_len);
                out->data = NULL;
                out->owner = TPU_DATA_NONE;
                out->is_const = false;
                if (tpu_tensor_alloc(ctx, out)) { free(out); out = NULL; }
                else if (nbytes) memcpy(out->data, tmp.data, nbytes);
            }
        }
        tpu_graph_free(g);
    }
    if (stripped) { tp->raw_data.data = NULL; tp->raw_data.len = 0; }   /* not protobuf-c's */
    onnx__tensor_proto__free_unpacked(tp, NULL);
    if (buf) munmap(buf, len);
    return out;
}

void tpu_tensor_free(struct tpu_tensor *t)
{
    if (!t) return;
    tpu_tensor_drop_data(t);
    free(t);
}

enum tpu_status tpu_tensor_save_pb(struct tpu_ctx *ctx, const char *path, const struct tpu_tensor *t)
{
    size_t nbytes;
    enum tpu_status rc = tpu_tensor_nbytes(ctx, t, &nbytes);
    if (rc) return rc;
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    int64_t dims[TPU_MAX_DIMS];
    for (int i = 0; i < t->n_dims; i++) dims[i] = t->dims[i];
    tp.n_dims = (size_t)t->n_dims;
    tp.dims = dims;
    tp.has_data_type = 1;
    tp.data_type = t->dtype;
    tp.name = (char *)t->name;
    tp.has_raw_data = 1;
    tp.raw_data.len = nbytes;
    tp.raw_data.data = t->data;
    size_t len = onnx__tensor_proto__get_packed_size(&tp);
    uint8_t *buf = tpu_malloc(ctx, len ? len : 1);
    if (!buf) return TPU_ERR_NOMEM;
    onnx__tensor_proto__pack(&tp, buf);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) { free(buf); return tpu_err(ctx, TPU_ERR_IO, "%s: cannot write: %s", path, strerror(errno)); }
    size_t put = fwrite(buf, 1, len, f);
    int bad = fclose(f) != 0 || put != len;
    free(buf);
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return tpu_err(ctx, TPU_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    }
    return TPU_STATUS_OK;
}
