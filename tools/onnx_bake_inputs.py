#!/usr/bin/env python3
"""tools/onnx_bake_inputs.py MODEL.onnx OUT.onnx INPUT.pb...: makes graph inputs
constants. Each INPUT.pb (a TensorProto whose name is a graph input, as in ONNX's
test_data_set_N folders) becomes an initializer of OUT.onnx, and the graph input
of that name is dropped. Plain protobuf wire-format editing, no onnx package:
ModelProto.graph = 7; GraphProto.initializer = 5, .input = 11;
ValueInfoProto.name = 1; TensorProto.name = 8. Used by tests/cli/qlinear_prog.sh
to give ONNX's QLinearMatMul / QLinearConv node tests constant weights."""
import sys


def varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return v, i


def put_varint(v):
    out = bytearray()
    while True:
        c = v & 0x7F
        v >>= 7
        out.append(c | (0x80 if v else 0))
        if not v:
            return bytes(out)


def fields(b):
    """(field number, wire type, the field's whole bytes, payload) in order."""
    i = 0
    while i < len(b):
        start = i
        key, i = varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            _, i = varint(b, i)
            payload = None
        elif wt == 1:
            i += 8
            payload = None
        elif wt == 5:
            i += 4
            payload = None
        elif wt == 2:
            n, i = varint(b, i)
            payload = b[i:i + n]
            i += n
        else:
            raise SystemExit("unsupported wire type %d" % wt)
        yield num, wt, b[start:i], payload


def string_field(msg, num):
    for n, wt, _, p in fields(msg):
        if n == num and wt == 2:
            return p.decode()
    return None


def ld(num, payload):
    return put_varint(num << 3 | 2) + put_varint(len(payload)) + payload


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    model = open(sys.argv[1], "rb").read()
    tensors = [open(p, "rb").read() for p in sys.argv[3:]]
    names = set()
    for t in tensors:
        name = string_field(t, 8)
        if not name:
            raise SystemExit("a tensor without a name")
        names.add(name)
    out = bytearray()
    for num, wt, whole, payload in fields(model):
        if num != 7 or wt != 2:
            out += whole
            continue
        graph = bytearray()
        for gn, gwt, gwhole, gp in fields(payload):
            if gn == 11 and gwt == 2 and string_field(gp, 1) in names:
                continue
            graph += gwhole
        for t in tensors:
            graph += ld(5, t)
        out += ld(7, bytes(graph))
    open(sys.argv[2], "wb").write(out)


main()
