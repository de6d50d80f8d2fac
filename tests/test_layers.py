"""Architecture guard: a module imports (at module level) only from its own layer or the layers below.

Layers, lowest first: _core → _tensor (+ printing, legacy types) → autograd → ops → namespaces built on
ops (linalg, cuda, serialization, …) → nn → optim / utils / special (torch.special re-exports softmax)
→ vision / distributed (+ nn.parallel) → train.
Imports inside functions are allowed to reach upward (late binding at call time, e.g. Tensor's legacy
constructor calling ops.creation).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parent.parent / "src" / "ember"
RANK = {"_core": 0, "utils.hooks": 2, "_tensor": 1, "_tensor_str": 1, "_legacy": 1, "autograd": 2, "ops": 3,
        "linalg": 4, "futures": 1, "version": 0, "fft": 4, "signal": 4, "testing": 4, "cpu": 4, "accelerator": 4,
        "compiler": 4, "random": 4, "func": 6, "amp": 4, "distributions": 9,
        "special": 6, "cuda": 4, "backends": 4, "serialization": 4, "storage": 4, "safetensors": 4, "nn": 5, "optim": 6,
        "utils": 6, "utils.data": 6, "vision": 7, "distributed": 7, "nn.parallel": 7, "train": 8,
        "__main__": 9, "__init__": 9,
        "quasirandom": 4, "_lobpcg": 4, "return_types": 4, "_more": 6, "functional": 9, "hub": 6,
        "profiler": 6, "multiprocessing": 7, "jit": 6, "sparse": 4, "types": 4, "xpu": 4, "mps": 4, "library": 4,
        "overrides": 4, "ao": 7, "quantization": 7, "fx": 6, "onnx": 6, "export": 9, "nested": 6, "masked": 6}


def _layer(parts: tuple[str, ...]) -> str:
    if len(parts) > 1 and ".".join(parts[:2]) in RANK:   # utils.* subpackages sit in different layers
        return ".".join(parts[:2])
    return parts[0] if parts else "__init__"


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_upward_imports(path: Path) -> None:
    rel = path.relative_to(SRC).with_suffix("").parts
    own = _layer(rel if rel[-1] != "__init__" or len(rel) > 1 else ())
    if own not in RANK:
        pytest.skip(f"{own} has no layer yet")
    pkg = rel[:-1] if rel[-1] != "__init__" else rel[:-1]
    for node in ast.parse(path.read_text()).body:   # module level only
        targets: list[tuple[str, ...]] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - (node.level - 1)] if node.level > 1 else pkg
                mod = tuple(node.module.split(".")) if node.module else ()
                full = base + mod
                targets = [full + (a.name,) if not mod else full for a in node.names]
            elif node.module and node.module.split(".")[0] == "ember":
                targets = [tuple(node.module.split(".")[1:])]
        elif isinstance(node, ast.Import):
            targets = [tuple(a.name.split(".")[1:]) for a in node.names if a.name.split(".")[0] == "ember"]
        for t in targets:
            layer = _layer(t)
            if layer in RANK and own != "__init__":
                assert RANK[layer] <= RANK[own], f"{'/'.join(rel)} imports upward from {'.'.join(t)}"
