"""Regenerate the checked-in checkpoints under tests/data with real torch (run: python make_checkpoints.py).

Every value is a formula of ``arange`` (see ``expected_*`` in tests/test_serialization_files.py), so the
reading tests need neither torch nor stored expectations. Files derived from torch's output by rewriting
the zip (deflated entries, big-endian data) say so in their names.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections import Counter, OrderedDict

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))

DTYPES = (
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "bool",
    "complex64",
    "complex128",
    "uint16",
    "uint32",
    "uint64",
)


def arange_as(name: str, shape: tuple[int, ...] = (2, 3)) -> torch.Tensor:
    """arange(numel) reshaped; bool → odd elements; complex → k + (k/2)j."""
    n = int(np.prod(shape))
    k = torch.arange(n, dtype=torch.float64).reshape(shape)
    if name == "bool":
        return k.to(torch.int64) % 2 == 1
    if name.startswith("complex"):
        return torch.complex(k, k / 2).to(getattr(torch, name))
    return k.to(getattr(torch, name))


def fill(module: torch.nn.Module) -> None:
    """Set every float parameter/buffer to arange(numel) * 0.5 - 1, counters to 7."""
    with torch.no_grad():
        for t in [*module.parameters(), *module.buffers()]:
            if t.dtype.is_floating_point:
                t.copy_((torch.arange(t.numel(), dtype=t.dtype) * 0.5 - 1).reshape(t.shape))
            else:
                t.fill_(7)


def state_dict() -> OrderedDict:
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    fill(model)
    return model.state_dict()


def dtypes() -> dict:
    d = {name: arange_as(name) for name in DTYPES}
    d.update(
        scalar0d=torch.tensor(3.5), empty=torch.zeros(0, 4), empty_int=torch.zeros(2, 0, dtype=torch.int64)
    )
    return d


def views() -> dict:
    base = torch.arange(24.0).reshape(4, 6)
    return {
        "base": base,
        "row": base[1],
        "col": base[:, 2],
        "t": base.t(),
        "narrow": base[1:3, 2:5],
        "exp": base[0:1].expand(3, 6),
        "strided": base.as_strided((2, 2), (7, 1), 3),
        "other": torch.arange(3),
    }


def misc() -> dict:
    t = torch.arange(4.0)
    return {
        "param": torch.nn.Parameter(torch.arange(4.0)),
        "same_twice": [t, t],
        "nested": {
            "list": [1, 2.5, "s", None, True, (1, 2)],
            "set": {1, 2},
            "bytes": b"xy",
            "complex": 1 + 2j,
            "size": torch.Size([2, 3]),
            "dtype": torch.float16,
            "device": torch.device("cpu"),
            "big": 2**70,
            "neg": -5,
            "bytearray": bytearray(b"z"),
            "counter": Counter("aab"),
        },
    }


def optimizer_state() -> dict:
    lin = torch.nn.Linear(2, 2)
    fill(lin)
    opt = torch.optim.Adam(lin.parameters(), lr=0.01)
    for p in lin.parameters():
        p.grad = torch.ones_like(p)
    opt.step()
    return opt.state_dict()


def legacy() -> dict:
    w = torch.arange(6.0).reshape(2, 3)
    return {"w": w, "v": w[1], "i": torch.tensor([1, 2, 3]), "meta": {"epoch": 3}}


def rezip(src: str, dst: str, transform: dict[str, bytes] | None = None, deflate: bool = False) -> None:
    """Copy a torch zip with Python's zipfile (unaligned entries), optionally replacing some entries."""
    with zipfile.ZipFile(os.path.join(HERE, src)) as zin:
        method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
        with zipfile.ZipFile(os.path.join(HERE, dst), "w", method) as zout:
            for info in zin.infolist():
                data = zin.read(info.filename)
                tail = info.filename.split("/", 1)[1]
                zout.writestr("renamed/" + tail, (transform or {}).get(tail, data))


def big_endian() -> None:
    """A file claiming byteorder 'big' with every storage byte-swapped: loads to the same values."""
    content = {
        "f32": arange_as("float32"),
        "f64": arange_as("float64"),
        "i16": arange_as("int16"),
        "c64": arange_as("complex64"),
        "bf16": arange_as("bfloat16"),
        "u8": arange_as("uint8"),
    }
    torch.save(content, os.path.join(HERE, "tmp_little.pt"))
    swapped = {"byteorder": b"big"}
    for key, t in enumerate(content.values()):
        arr = t.view(torch.int16).numpy() if t.dtype == torch.bfloat16 else t.numpy()
        if arr.dtype.kind == "c":
            arr = arr.view(np.float32 if arr.dtype == np.complex64 else np.float64)
        swapped[f"data/{key}"] = arr.byteswap().tobytes()
    rezip("tmp_little.pt", "torch_big_endian.pt", swapped)
    os.remove(os.path.join(HERE, "tmp_little.pt"))


def main() -> None:
    torch.manual_seed(0)
    for name, make in [
        ("torch_state_dict", state_dict),
        ("torch_dtypes", dtypes),
        ("torch_views", views),
        ("torch_misc", misc),
        ("torch_optimizer", optimizer_state),
    ]:
        torch.save(make(), os.path.join(HERE, f"{name}.pt"))
    buf = io.BytesIO()
    torch.save(legacy(), buf, _use_new_zipfile_serialization=False)
    with open(os.path.join(HERE, "torch_legacy.pt"), "wb") as f:
        f.write(buf.getvalue())
    rezip("torch_views.pt", "torch_views_deflated.pt", deflate=True)
    big_endian()


if __name__ == "__main__":
    main()
