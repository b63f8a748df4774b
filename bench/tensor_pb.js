// bench/tensor_pb.js: a minimal reader and writer for ONNX TensorProto (.pb
// files in the ONNX backend-test layout), so the ONNX Runtime harness needs no
// protobuf library. Reads dims, data_type, name and the data from raw_data or
// any of the typed repeated fields (packed or not); writes dims, data_type,
// name and raw_data, the form onnx.numpy_helper.from_array writes.
'use strict';

// ONNX TensorProto.DataType -> [ORT type name, TypedArray, element bytes]
const DTYPES = {
  1: ['float32', Float32Array, 4], 2: ['uint8', Uint8Array, 1], 3: ['int8', Int8Array, 1],
  4: ['uint16', Uint16Array, 2], 5: ['int16', Int16Array, 2], 6: ['int32', Int32Array, 4],
  7: ['int64', BigInt64Array, 8], 9: ['bool', Uint8Array, 1], 10: ['float16', Uint16Array, 2],
  11: ['float64', Float64Array, 8], 12: ['uint32', Uint32Array, 4],
  13: ['uint64', BigUint64Array, 8],
};
const ORT_TO_ONNX = {};
for (const [k, v] of Object.entries(DTYPES)) ORT_TO_ONNX[v[0]] = Number(k);

class Reader {
  constructor(buf) { this.buf = buf; this.pos = 0; }
  eof() { return this.pos >= this.buf.length; }
  varint() {           // as BigInt, two's complement 64-bit
    let v = 0n, shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7n;
      if (shift > 63n) throw new Error('varint too long');
    }
    return BigInt.asUintN(64, v);
  }
  bytes(n) {
    if (n < 0 || this.pos + n > this.buf.length) throw new Error('truncated field');
    const s = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  skip(wire) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.bytes(8);
    else if (wire === 2) this.bytes(Number(this.varint()));
    else if (wire === 5) this.bytes(4);
    else throw new Error('unsupported wire type ' + wire);
  }
}

// Repeated numeric field, packed (wire 2) or one value (wire 0/1/5).
function readRepeated(r, wire, kind, out) {
  const one = (rr) => {
    if (kind === 'f32') { const b = rr.bytes(4); out.push(Buffer.from(b).readFloatLE(0)); }
    else if (kind === 'f64') { const b = rr.bytes(8); out.push(Buffer.from(b).readDoubleLE(0)); }
    else out.push(rr.varint());
  };
  if (wire === 2) {
    const sub = new Reader(r.bytes(Number(r.varint())));
    while (!sub.eof()) one(sub);
  } else {
    one(r);
  }
}

// Decode one TensorProto; returns {name, dataType, dims, data (TypedArray)}.
function decodeTensor(buf) {
  const r = new Reader(buf);
  const t = { name: '', dataType: 0, dims: [], raw: null };
  const rep = { 4: [], 5: [], 7: [], 10: [], 11: [] };
  while (!r.eof()) {
    const key = Number(r.varint());
    const field = key >> 3, wire = key & 7;
    if (field === 1) { const d = []; readRepeated(r, wire, 'v', d); t.dims.push(...d.map(Number)); }
    else if (field === 2 && wire === 0) t.dataType = Number(r.varint());
    else if (field === 8 && wire === 2) t.name = Buffer.from(r.bytes(Number(r.varint()))).toString('utf8');
    else if (field === 9 && wire === 2) t.raw = r.bytes(Number(r.varint()));
    else if (field === 4) readRepeated(r, wire, 'f32', rep[4]);
    else if (field === 10) readRepeated(r, wire, 'f64', rep[10]);
    else if (field === 5 || field === 7 || field === 11) readRepeated(r, wire, 'v', rep[field]);
    else if (field === 14) throw new Error('external data is not supported');
    else r.skip(wire);
  }
  const dt = DTYPES[t.dataType];
  if (!dt) throw new Error('unsupported data_type ' + t.dataType);
  const [, Arr, size] = dt;
  const n = t.dims.reduce((a, b) => a * b, 1);
  let data;
  if (t.raw) {
    if (t.raw.length !== n * size) throw new Error(`raw_data has ${t.raw.length} bytes, expected ${n * size}`);
    const copy = new Uint8Array(t.raw);            // aligned copy
    data = new Arr(copy.buffer, 0, n);
  } else {
    data = new Arr(n);
    let src;
    if (t.dataType === 1) src = rep[4];
    else if (t.dataType === 11) src = rep[10];
    else if (t.dataType === 7) src = rep[7].map((v) => BigInt.asIntN(64, v));
    else if (t.dataType === 13) src = rep[11];
    else if (t.dataType === 12) src = rep[11].map(Number);
    else src = rep[5].map((v) => Number(BigInt.asIntN(32, v)));
    if (src.length !== n) throw new Error(`tensor has ${src.length} values, expected ${n}`);
    for (let i = 0; i < n; i++) data[i] = src[i];
  }
  return { name: t.name, dataType: t.dataType, dims: t.dims, data };
}

function varint(v) {
  let x = BigInt.asUintN(64, BigInt(v));
  const out = [];
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x) b |= 0x80;
    out.push(b);
  } while (x);
  return Buffer.from(out);
}

// Encode a TensorProto with raw_data; data is a TypedArray of the right type.
function encodeTensor(name, dataType, dims, data) {
  const parts = [];
  for (const d of dims) parts.push(varint((1 << 3) | 0), varint(d));
  parts.push(varint((2 << 3) | 0), varint(dataType));
  const nameBuf = Buffer.from(name, 'utf8');
  parts.push(varint((8 << 3) | 2), varint(nameBuf.length), nameBuf);
  const raw = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  parts.push(varint((9 << 3) | 2), varint(raw.length), raw);
  return Buffer.concat(parts);
}

module.exports = { DTYPES, ORT_TO_ONNX, decodeTensor, encodeTensor };
