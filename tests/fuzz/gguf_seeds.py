#!/usr/bin/env python3
# Writes the GGUF seed corpus (tests/fuzz/corpus/gguf/) from the fixture models: each fixture's
# metadata with its vocabulary cut to 300 tokens, header-only and (32-wide models) with tensors.
import os
import struct
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MODELS = os.path.join(ROOT, "tests", "data", "models")
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus", "gguf")
N = 300  # tokens kept
SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
BLOCK = {0: (1, 4), 1: (1, 2), 8: (32, 34), 30: (1, 2)}  # ggml type: (elements, bytes) per block


def parse(b):
    o = 0

    def rd(fmt):
        nonlocal o
        v = struct.unpack_from("<" + fmt, b, o)[0]
        o += struct.calcsize("<" + fmt)
        return v

    def rstr():
        nonlocal o
        n = rd("Q")
        s = b[o:o + n]
        o += n
        return s

    def rval(t):
        if t == 8:
            return rstr()
        if t == 9:
            at = rd("I")
            return (at, [rval(at) for _ in range(rd("Q"))])
        return rd(SCALARS[t])

    assert b[:4] == b"GGUF"
    o = 4
    rd("I")
    nt, nkv = rd("Q"), rd("Q")
    kvs = [(rstr(), *(lambda t: (t, rval(t)))(rd("I"))) for _ in range(nkv)]
    tensors = []
    for _ in range(nt):
        name = rstr()
        dims = [rd("Q") for _ in range(rd("I"))]
        tensors.append((name, dims, rd("I"), rd("Q")))
    return kvs, tensors


def wstr(s):
    return struct.pack("<Q", len(s)) + s


def wval(t, v):
    if t == 8:
        return wstr(v)
    if t == 9:
        at, items = v
        return struct.pack("<IQ", at, len(items)) + b"".join(wval(at, x) for x in items)
    return struct.pack("<" + SCALARS[t], v)


def build(kvs, tensors, with_data=True):
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for k, t, v in kvs:
        out += wstr(k) + struct.pack("<I", t) + wval(t, v)
    data, infos = b"", b""
    for name, dims, ty, _ in tensors:
        n = 1
        for d in dims:
            n *= d
        per, size = BLOCK[ty]
        infos += wstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", ty, len(data))
        if with_data:
            data += bytes(n // per * size)
            data += bytes(-len(data) % 32)
    out += infos
    out += bytes(-len(out) % 32)
    return out + data


def shrink(path):
    kvs, tensors = parse(open(path, "rb").read())
    vocab = next(len(v[1]) for k, t, v in kvs if k == b"tokenizer.ggml.tokens")
    small = []
    for k, t, v in kvs:
        if t == 9 and len(v[1]) > N:
            v = (v[0], v[1][:N])
        elif k.endswith(b"_token_id") and v >= N:
            v = N - 1
        elif k.endswith(b".context_length"):
            v = 32
        small.append((k, t, v))
    resized = []
    for name, dims, ty, off in tensors:
        dims = [N if d == vocab else d for d in dims]
        if name == b"position_embd.weight":
            dims = [dims[0], 32]
        resized.append((name, dims, ty, off))
    return small, resized


def main():
    os.makedirs(OUT, exist_ok=True)
    for model, with_tensors in [("llama-spm-64-q8_0", False), ("bert-bge-64-cls-q8_0", False),
                                ("qwen2-32-tied-q8_0", True), ("llama3-bpe-32-tied-q8_0", True)]:
        kvs, tensors = shrink(os.path.join(MODELS, model + ".gguf"))
        kvs = [kv for kv in kvs if kv[0] != b"tokenizer.chat_template"]
        open(os.path.join(OUT, model + "-header.gguf"), "wb").write(build(kvs, []))
        if with_tensors:
            open(os.path.join(OUT, model + "-tiny.gguf"), "wb").write(build(kvs, tensors))
    # Every metadata value type once, and a tensor whose claimed size exceeds the file.
    every = [(b"u8", 0, 7), (b"i8", 1, -7), (b"u16", 2, 7), (b"i16", 3, -7), (b"u32", 4, 7),
             (b"i32", 5, -7), (b"f32", 6, 0.5), (b"bool", 7, True), (b"str", 8, b"x"),
             (b"arr", 9, (8, [b"a", b"bc"])), (b"u64", 10, 7), (b"i64", 11, -7), (b"f64", 12, 0.25),
             (b"general.alignment", 4, 64)]
    open(os.path.join(OUT, "every-type.gguf"), "wb").write(build(every, [(b"t", [4, 2], 0, 0)]))
    huge = build([], [(b"t", [1 << 20, 1 << 20], 0, 0)], with_data=False)
    open(os.path.join(OUT, "huge-tensor.gguf"), "wb").write(huge)
    return 0


if __name__ == "__main__":
    sys.exit(main())
