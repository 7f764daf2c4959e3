"""Python side of the .pth reader/writer tests (run with Debian's python3-torch, PyTorch 1.13).

Usage: pth_tool.py COMMAND ARGS... [COMMAND ARGS...]...
  describe IN OUT WEIGHTS_ONLY  load IN (weights_only=1|0) and write its canonical description to OUT
  resave IN OUT FORMAT          load IN and torch.save it again to OUT (FORMAT: see save())
  make NAME OUT FORMAT          torch.save the fixture NAME (see FIXTURES) to OUT

The canonical description is one line per value in pre-order; TreeDescription.java writes the same
text for the Java tree, so the two sides compare as strings. Floats are written as their IEEE bits,
strings and bytes as hex, tensors with dtype, shape, strides, offset, flags, the index of their
storage (in order of first appearance), the storage's element count and a SHA-256 of their elements
in C order.
"""
import collections
import hashlib
import struct
import sys

import torch


def describe(obj):
    lines = []
    storages = {}
    pending = [obj]
    while pending:
        item = pending.pop()
        if isinstance(item, tuple) and len(item) == 2 and item[0] is _ATTR_NAME:
            lines.append("attr " + item[1].encode("utf-8").hex())
            continue
        children = describe_one(item, lines, storages)
        pending.extend(reversed(children))
    return "\n".join(lines) + "\n"


_ATTR_NAME = object()


def describe_one(item, lines, storages):
    if item is None:
        lines.append("none")
    elif isinstance(item, bool):
        lines.append("bool " + ("1" if item else "0"))
    elif isinstance(item, int):
        lines.append("int " + str(item))
    elif isinstance(item, float):
        lines.append("float " + struct.pack(">d", item).hex())
    elif isinstance(item, str):
        lines.append("str " + item.encode("utf-8").hex())
    elif isinstance(item, bytes):
        lines.append("bytes " + item.hex())
    elif isinstance(item, torch.dtype):
        lines.append("dtype " + str(item)[len("torch."):])
    elif isinstance(item, torch.Tensor):
        lines.append(describe_tensor(item, storages))
    elif isinstance(item, torch.storage.TypedStorage):
        index = storages.setdefault(item._cdata, len(storages))
        whole = torch.empty(0, dtype=item.dtype).set_(item)
        lines.append("storage %s storage=%d numel=%d sha256=%s" % (
            str(item.dtype)[len("torch."):], index, item.size(), sha256(whole)))
    elif isinstance(item, collections.OrderedDict):
        attrs = [(k, v) for k, v in vars(item).items()]
        lines.append("odict %d attrs %d" % (len(item), len(attrs)))
        children = []
        for k, v in item.items():
            children += [k, v]
        for k, v in attrs:
            children += [(_ATTR_NAME, k), v]
        return children
    elif isinstance(item, dict):
        lines.append("dict %d" % len(item))
        children = []
        for k, v in item.items():
            children += [k, v]
        return children
    elif isinstance(item, list):
        lines.append("list %d" % len(item))
        return list(item)
    elif isinstance(item, tuple):
        lines.append("tuple %d" % len(item))
        return list(item)
    else:
        raise TypeError("cannot describe %r" % type(item))
    return []


def describe_tensor(t, storages):
    storage = t.storage()
    index = storages.setdefault(storage._cdata, len(storages))
    digest = sha256(t)
    return "tensor %s shape=%s stride=%s offset=%d grad=%d param=%d storage=%d numel=%d sha256=%s" % (
        str(t.dtype)[len("torch."):],
        ",".join(str(s) for s in t.shape),
        ",".join(str(s) for s in t.stride()),
        t.storage_offset(),
        int(t.requires_grad),
        int(isinstance(t, torch.nn.Parameter)),
        index,
        storage.size(),
        digest,
    )


def sha256(t):
    """SHA-256 of the elements in C order, little-endian (numpy has no bfloat16, so as int16)."""
    data = t.detach().contiguous()
    if data.dtype == torch.bfloat16:
        data = data.view(torch.int16)
    return hashlib.sha256(data.numpy().tobytes()).hexdigest()


def save(obj, path, fmt):
    """FORMAT: zip or legacy (pickle protocol 2, torch.save's default), or zip4 / zip5 / legacy4 (protocol 4, 5)."""
    protocol = int(fmt[-1]) if fmt[-1].isdigit() else 2
    torch.save(obj, path, _use_new_zipfile_serialization=fmt.startswith("zip"), pickle_protocol=protocol)


# ---- fixtures written by Python for the Java reader

ALL_DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int8, torch.int16,
              torch.int32, torch.int64, torch.uint8, torch.bool]


def fixture_all_dtypes():
    torch.manual_seed(7)
    result = collections.OrderedDict()
    for dtype in ALL_DTYPES:
        name = str(dtype)[len("torch."):]
        if dtype.is_floating_point:
            values = torch.randn(3, 5, dtype=torch.float64)
            values[0, 0] = float("nan")
            values[0, 1] = float("inf")
            values[0, 2] = -float("inf")
            values[0, 3] = -0.0
            result[name] = values.to(dtype)
        elif dtype == torch.bool:
            result[name] = torch.rand(3, 5) > 0.5
        else:
            info = torch.iinfo(dtype)
            values = torch.randint(info.min, info.max, (3, 5), dtype=torch.int64).to(dtype)
            values[0, 0] = info.min
            values[0, 1] = info.max
            result[name] = values
        result[name + "_scalar"] = torch.ones((), dtype=dtype)
        result[name + "_empty"] = torch.empty(0, 4, dtype=dtype)
    return result


def fixture_views():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    cube = torch.arange(60, dtype=torch.int32).reshape(3, 4, 5)
    return collections.OrderedDict([
        ("t", base),
        ("rows_from_1_every_2nd_col", base[1:, ::2]),
        ("transposed", base.t()),
        ("row", base[2]),
        ("element", base[1, 3]),
        ("expanded", torch.arange(3.0).expand(4, 3)),
        ("cube", cube),
        ("permuted", cube.permute(2, 0, 1)),
        ("narrowed", cube[:, 1:3, 2:]),
    ])


def fixture_module_state_dict():
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                torch.nn.Conv2d(4, 2, 1))
    model.train()
    model(torch.randn(2, 1, 8, 8))
    return model.state_dict()


def fixture_nested():
    torch.manual_seed(5)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    loss = model(torch.randn(8, 4)).sum()
    loss.backward()
    optimizer.step()
    return {
        "model": model.state_dict(),
        "parameters": collections.OrderedDict(model.named_parameters()),
        "optimizer": optimizer.state_dict(),
        "epoch": 3,
        "args": {
            "lr": 0.01,
            "name": "unet \u00e9\u6f22",
            "flags": (True, False, None),
            "big": 2 ** 70,
            "negative_big": -(2 ** 65) + 1,
            "negative": -5,
            "int32_min": -(2 ** 31),
            "large": 2 ** 40,
            "bytes": b"\x00\xffabc",
            "empty_bytes": b"",
            "dtype": torch.float32,
            "size": torch.Size([2, 3]),
            "nested": [[1, [2, (3, 4.5)]], {}],
            "empty": ((), [], {}),
            "float_specials": [float("inf"), -0.0, 1e-300],
        },
        "storage_alone": torch.arange(3, dtype=torch.int16).storage(),
        7: "int key",
        (1, "a"): "tuple key",
    }


FIXTURES = {
    "all_dtypes": fixture_all_dtypes,
    "views": fixture_views,
    "module_state_dict": fixture_module_state_dict,
    "nested": fixture_nested,
}


def main(argv):
    i = 0
    while i < len(argv):
        command = argv[i]
        if command == "describe":
            path, out, weights_only = argv[i + 1:i + 4]
            obj = torch.load(path, weights_only=(weights_only == "1"))
            with open(out, "w", encoding="utf-8") as f:
                f.write(describe(obj))
            i += 4
        elif command == "resave":
            path, out, fmt = argv[i + 1:i + 4]
            save(torch.load(path), out, fmt)
            i += 4
        elif command == "make":
            name, out, fmt = argv[i + 1:i + 4]
            save(FIXTURES[name](), out, fmt)
            i += 4
        else:
            raise SystemExit("unknown command " + command)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(sys.argv[1:])
