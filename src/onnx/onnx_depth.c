/*
** onnx/onnx_depth.c: a pre-pass over protobuf wire format that bounds message
** nesting before protobuf-c unpacks it (protobuf-c recurses once per level
** with no limit, so a small hostile file — attributes holding graphs holding
** attributes... — could exhaust the stack). It walks the bytes with the
** generated descriptors and decodes nothing.
*/
#include "onnx/onnx.h"

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return 0;
    }
    return -1;
}

/* 0: fine or malformed (protobuf-c will reject it); 1: deeper than allowed. */
static int walk(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end,
                int depth, int max_depth)
{
    if (depth > max_depth) return 1;
    while (p < end) {
        uint64_t key, len;
        if (read_varint(&p, end, &key)) return 0;
        switch (key & 7) {
        case 0: if (read_varint(&p, end, &len)) return 0; break;
        case 1: if (end - p < 8) return 0; p += 8; break;
        case 5: if (end - p < 4) return 0; p += 4; break;
        case 2: {
            if (read_varint(&p, end, &len) || len > (uint64_t)(end - p)) return 0;
            const ProtobufCFieldDescriptor *f =
                key >> 3 <= 0x7fffffff ? protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3)) : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                walk(f->descriptor, p, p + len, depth + 1, max_depth))
                return 1;
            p += len;
            break;
        }
        default: return 0;   /* groups are not used by ONNX; protobuf-c rejects them */
        }
    }
    return 0;
}

int tpu_onnx_check_depth(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                         int max_depth)
{
    return walk(d, buf, buf + len, 0, max_depth);
}
