"""Python side of the safetensors tests: an independent reader and writer of the format (json + torch,
no safetensors package), run with Debian's python3-torch (PyTorch 1.13).

Usage: safetensors_tool.py COMMAND ARGS... [COMMAND ARGS...]...
  describe IN OUT         read the safetensors file IN (checking the format strictly, and that the tensors
                          named "pattern/..." hold pattern values) and write its description to OUT
  write OUT DESC          write a safetensors file with pattern and special tensors, its header in an order
                          other than the data's, ASCII-escaped (json.dumps default), and its description to DESC
  convert ORIG ST PTH     check that the safetensors file ST and the .pth PTH (both converted by Java from the
                          .pth ORIG) hold exactly the state dict of ORIG, and that PTH loads with
                          weights_only=True as an OrderedDict with ORIG's _metadata

The description has one line per metadata entry ("meta KEYHEX VALUEHEX") and one per tensor in header order
("tensor NAMEHEX DTYPE [SHAPE] SHA256-OF-BYTES"); SafetensorsPythonTest.describe writes the same for Java.
"""
import collections
import hashlib
import json
import struct
import sys

import numpy as np
import torch

DTYPES = collections.OrderedDict([
    ("F32", torch.float32), ("F64", torch.float64), ("F16", torch.float16), ("BF16", torch.bfloat16),
    ("U8", torch.uint8), ("I8", torch.int8), ("I16", torch.int16), ("I32", torch.int32), ("I64", torch.int64),
    ("BOOL", torch.bool),
])
CODES = {v: k for k, v in DTYPES.items()}
SIZES = {"F32": 4, "F64": 8, "F16": 2, "BF16": 2, "U8": 1, "I8": 1, "I16": 2, "I32": 4, "I64": 8, "BOOL": 1}


def pattern(code, shape):
    """The values SafetensorsSamples.pattern makes in Java: element i (C order) of each dtype."""
    n = int(np.prod(shape, dtype=np.int64)) if len(shape) else 1
    i = np.arange(n, dtype=np.int64)
    if code in ("F32", "F64", "F16", "BF16"):
        values = torch.from_numpy(((i * 37) % 101).astype(np.float64) * 0.25 - 12.5)
        t = values.to(DTYPES[code])
    elif code == "U8":
        t = torch.from_numpy(((i * 37) % 256).astype(np.uint8))
    elif code == "I8":
        t = torch.from_numpy((((i * 37) % 256) - 128).astype(np.int8))
    elif code == "I16":
        t = torch.from_numpy((((i * 7919) % 65536) - 32768).astype(np.int16))
    elif code == "I32":
        t = torch.from_numpy((((i * 104729) % (1 << 31)) - (1 << 30)).astype(np.int32))
    elif code == "I64":
        t = torch.from_numpy((i.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)).view(np.int64))
    elif code == "BOOL":
        t = torch.from_numpy(i % 3 == 0)
    else:
        raise ValueError(code)
    return t.reshape(shape)


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype in (torch.bfloat16, torch.float16):
        t = t.view(torch.int16)
    assert sys.byteorder == "little"
    return t.numpy().tobytes()


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate keys in %r" % keys)
    return collections.OrderedDict(pairs)


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    assert 8 + n <= len(data), "header length beyond the file"
    text = data[8:8 + n].decode("utf-8")
    assert text.startswith("{")
    header = json.loads(text, object_pairs_hook=no_duplicates)
    buffer = data[8 + n:]
    metadata = header.pop("__metadata__", collections.OrderedDict())
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    tensors = collections.OrderedDict()
    spans = []
    for name, info in header.items():
        assert name and set(info) == {"dtype", "shape", "data_offsets"}, (name, info)
        code, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        n_elements = int(np.prod(shape, dtype=np.int64)) if shape else 1
        assert n_elements * SIZES[code] == end - begin, (name, info)
        assert 0 <= begin <= end <= len(buffer), (name, info)
        spans.append((begin, end))
        raw = buffer[begin:end]
        if len(raw) == 0:
            t = torch.empty(shape, dtype=DTYPES[code])
        else:
            t = torch.frombuffer(bytearray(raw), dtype=DTYPES[code]).reshape(shape)
        tensors[name] = t
    covered = 0
    for begin, end in sorted(spans):
        assert begin == covered, "hole or overlap at %d" % begin
        covered = end
    assert covered == len(buffer), "trailing bytes"
    return tensors, metadata, n, text


def description(tensors, metadata):
    lines = ["meta %s %s" % (k.encode("utf-8").hex(), v.encode("utf-8").hex()) for k, v in metadata.items()]
    for name, t in tensors.items():
        lines.append("tensor %s %s [%s] %s" % (name.encode("utf-8").hex(), CODES[t.dtype],
                                               ",".join(str(s) for s in t.shape),
                                               hashlib.sha256(tensor_bytes(t)).hexdigest()))
    return "\n".join(lines) + "\n"


def describe(path, out):
    tensors, metadata, n, text = read(path)
    # What the Java writer promises: the reference layout.
    assert n % 8 == 0, "header length %d is not a multiple of 8" % n
    stripped = text.rstrip(" ")
    assert text[len(stripped):] == " " * (n - len(stripped.encode("utf-8")))
    assert stripped == json.dumps(json.loads(stripped, object_pairs_hook=collections.OrderedDict),
                                  separators=(",", ":"), ensure_ascii=False), "header is not compact JSON"
    header = json.loads(stripped, object_pairs_hook=collections.OrderedDict)
    if "__metadata__" in header:
        assert next(iter(header)) == "__metadata__", "__metadata__ is not first"
    offsets = [info["data_offsets"][0] for name, info in header.items() if name != "__metadata__"]
    assert offsets == sorted(offsets), "header order differs from data order"
    for name, t in tensors.items():
        if name.startswith("pattern/"):
            expected = pattern(CODES[t.dtype], list(t.shape))
            assert torch.equal(t, expected), "%s: %s != %s" % (name, t, expected)
    with open(out, "w") as f:
        f.write(description(tensors, metadata))


def write_file(path, tensors, metadata, header_order):
    chunks, infos, offset = [], {}, 0
    for name, t in tensors.items():
        b = tensor_bytes(t)
        infos[name] = collections.OrderedDict([("dtype", CODES[t.dtype]), ("shape", list(t.shape)),
                                               ("data_offsets", [offset, offset + len(b)])])
        chunks.append(b)
        offset += len(b)
    header = collections.OrderedDict()
    for name in header_order:
        header[name] = metadata if name == "__metadata__" else infos[name]
    text = json.dumps(header).encode("utf-8")  # ", " and ": " separators, \\u escapes
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in chunks:
            f.write(b)


def write(out, desc):
    torch.manual_seed(7)
    tensors = collections.OrderedDict()
    for code in DTYPES:
        for shape in ([], [0], [3], [2, 3], [2, 0, 4], [1, 2, 1, 3]):
            tensors["pattern/%s/%s" % (code, "x".join(map(str, shape)) or "scalar")] = pattern(code, shape)
    tensors["random/f32"] = torch.randn(4, 5)
    tensors["random/f64.T"] = torch.randn(3, 6, dtype=torch.float64).t()
    tensors["special/f32"] = torch.tensor([float("nan"), float("inf"), -float("inf"), -0.0, 1e-45, 3.4e38])
    tensors["special/f16"] = torch.tensor([float("nan"), float("inf"), -0.0, 6e-8, 65504.0], dtype=torch.float16)
    tensors["special/bf16"] = torch.tensor([float("nan"), -float("inf"), -0.0, 1e-38, 3e38], dtype=torch.bfloat16)
    tensors["special/i64"] = torch.tensor([-(1 << 63), (1 << 63) - 1, -1, 0])
    tensors["names/\u00fcml\u00e4ut \U0001F600 \"q\" \\ \n\t/"] = torch.arange(3, dtype=torch.int16)
    metadata = collections.OrderedDict([("format", "pt"), ("note \u00e9\U0001F600", "line\nbreak \"q\" \\"),
                                        ("empty", "")])
    # Header order: reversed, with __metadata__ in the middle, so it differs from the order of the data.
    names = list(reversed(list(tensors)))
    header_order = names[:5] + ["__metadata__"] + names[5:]
    write_file(out, tensors, metadata, header_order)
    ordered = collections.OrderedDict((name, tensors[name]) for name in header_order if name != "__metadata__")
    with open(desc, "w") as f:
        f.write(description(ordered, metadata))


def same_tensor(a, b):
    return a.dtype == b.dtype and list(a.shape) == list(b.shape) and tensor_bytes(a) == tensor_bytes(b)


def convert(orig_path, st_path, pth_path):
    original = torch.load(orig_path, weights_only=True)
    tensors, metadata, _, _ = read(st_path)
    assert list(tensors) == list(original), "safetensors names or order differ"
    for name, t in original.items():
        assert same_tensor(t, tensors[name]), name
    assert metadata.get("format") == "pt", metadata
    back = torch.load(pth_path, weights_only=True)
    assert type(back) is collections.OrderedDict, type(back)
    assert list(back) == list(original), ".pth names or order differ"
    for name, t in original.items():
        assert same_tensor(t, back[name]), name
    if hasattr(original, "_metadata"):
        assert json.loads(metadata["pytorch_metadata"]) == dict(original._metadata)
        assert type(back._metadata) is collections.OrderedDict
        assert back._metadata == original._metadata, "_metadata differs"
        assert list(back._metadata) == list(original._metadata), "_metadata order differs"
    else:
        assert not hasattr(back, "_metadata") or not back._metadata
    print("ok %s %d" % (orig_path, len(original)))


def main(args):
    commands = {"describe": (describe, 2), "write": (write, 2), "convert": (convert, 3)}
    while args:
        function, arity = commands[args[0]]
        function(*args[1:1 + arity])
        args = args[1 + arity:]


if __name__ == "__main__":
    main(sys.argv[1:])
