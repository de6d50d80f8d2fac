"""CuPy compatibility without a GPU: ember's compute code is written against the array namespace ``xp``
(NumPy on the CPU, CuPy on cuda), but most of it only ever runs on NumPy here. These tests read the source
(``ast``) for every ``xp.<name>`` it uses and check that CuPy has it, that ufunc methods are ones CuPy
implements for that ufunc, and that keyword arguments are ones CuPy's function accepts. Importing CuPy needs
no GPU (its kernels do), so the name and keyword checks run wherever CuPy is installed and skip otherwise.
"""

from __future__ import annotations

import ast
import functools
import inspect
import pathlib
from collections import defaultdict
from typing import Any

import pytest

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "ember"

# calls that return the array namespace of a tensor, device or array
NAMESPACE_FUNCS = {"xp", "_xp", "xp_of", "xp_of_array", "_probe_cupy"}
# names that conventionally hold the namespace (parameters, closures) unless the scope rebinds them
NAMESPACE_NAMES = {"xp", "ns", "cp"}

# Names CuPy lacks that ember uses only behind a branch that checks for them (or on NumPy only):
ALLOWED_MISSING = {
    # nn/functional/_conv.py: `if hasattr(ns, "vecdot")` — CuPy takes the einsum branch instead
    "vecdot",
}

# The ufunc methods CuPy implements and for which ufuncs (CuPy's documentation, "Universal functions":
# anything else raises NotImplementedError at run time).
CUPY_UFUNC_METHODS = {
    "reduce": {"add", "multiply"},
    "accumulate": {"add", "multiply"},
    "reduceat": {"add"},
    "outer": None,   # every ufunc
    "at": {"add", "subtract", "maximum", "minimum", "bitwise_and", "bitwise_or", "bitwise_xor"},
}
# Known uses CuPy rejects, in files other people own (tracked here until fixed there):
UFUNC_KEYWORDS = {"out", "dtype", "casting"}   # what calling a CuPy ufunc accepts (no where=, order=, subok=)


def _is_namespace_call(node: ast.AST) -> bool:
    if isinstance(node, ast.Call):
        f = node.func
        return (isinstance(f, ast.Name) and f.id in NAMESPACE_FUNCS) or (
            isinstance(f, ast.Attribute) and f.attr in NAMESPACE_FUNCS)
    return False


class _Use:
    """One ``xp.<chain>`` occurrence: the attribute chain, where, and the keywords when it is called."""

    __slots__ = ("chain", "where", "keywords", "constants")

    def __init__(self, chain: str, where: str, keywords: tuple[str, ...] | None, constants: dict[str, Any]) -> None:
        self.chain, self.where, self.keywords, self.constants = chain, where, keywords, constants


class _Collector(ast.NodeVisitor):
    """Scoped search: a name holds the namespace in a function when it is assigned from a namespace call
    there, or is one of NAMESPACE_NAMES not rebound to something else (parameters and closures count)."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.scopes: list[set[str]] = [set(NAMESPACE_NAMES)]
        self.uses: list[_Use] = []
        self._called: dict[int, ast.Call] = {}

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        bound, rebound = set(), set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Assign):
                names = {t.id for t in sub.targets if isinstance(t, ast.Name)}
                (bound if _is_namespace_call(sub.value) else rebound).update(names)
            elif isinstance(sub, (ast.For, ast.comprehension)) and isinstance(sub.target, ast.Name):
                rebound.add(sub.target.id)
        self.scopes.append((self.scopes[-1] - rebound) | bound)
        self.generic_visit(node)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        self._called[id(node.func)] = node
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain, cur = [], node
        while isinstance(cur, ast.Attribute):
            chain.append(cur.attr)
            cur = cur.value
        if (isinstance(cur, ast.Name) and cur.id in self.scopes[-1]) or _is_namespace_call(cur):
            call = self._called.get(id(node))
            keywords = None if call is None else tuple(k.arg for k in call.keywords if k.arg is not None)
            constants = {} if call is None else {k.arg: k.value.value for k in call.keywords
                                                 if k.arg is not None and isinstance(k.value, ast.Constant)}
            self.uses.append(_Use(".".join(reversed(chain)), f"{self.where}:{node.lineno}", keywords, constants))
            if isinstance(cur, ast.Call):
                for arg in (*cur.args, *(k.value for k in cur.keywords)):
                    self.visit(arg)
            return
        self.generic_visit(node)


@functools.cache
def namespace_uses() -> tuple[_Use, ...]:
    """Every ``xp.<chain>`` in src/ember."""
    uses: list[_Use] = []
    for path in sorted(SRC.rglob("*.py")):
        c = _Collector(str(path.relative_to(SRC.parent)))
        c.visit(ast.parse(path.read_text(), str(path)))
        uses += c.uses
    return tuple(uses)


def _by_chain() -> dict[str, list[_Use]]:
    out: dict[str, list[_Use]] = defaultdict(list)
    for u in namespace_uses():
        out[u.chain].append(u)
    return out


def _cupy() -> Any:
    return pytest.importorskip("cupy", reason="CuPy is not installed (CI has none); the name checks need its API")


def _resolve(root: Any, chain: str) -> Any:
    obj = root
    for part in chain.split("."):
        obj = getattr(obj, part)
    return obj


def test_the_collector_sees_the_namespace_uses() -> None:
    """The search finds the known shapes of use (guards against it silently finding nothing)."""
    chains = _by_chain()
    assert len(namespace_uses()) > 1000
    for expected in ("where", "lib.stride_tricks.as_strided", "add.at", "linalg.svd", "einsum"):
        assert expected in chains, expected
    # `cp` rebound to a dtype in ops/elementwise.py is not taken for the namespace
    assert "np" not in chains


def test_every_namespace_name_exists_in_cupy() -> None:
    cupy = _cupy()
    missing = {}
    for chain, uses in sorted(_by_chain().items()):
        parts = chain.split(".")
        # a ufunc method (`add.at`) is checked below; here only that CuPy has the ufunc
        if parts[-1] in CUPY_UFUNC_METHODS and len(parts) > 1 and isinstance(
                getattr(cupy, parts[-2], None), cupy.ufunc):
            parts = parts[:-1]
        try:
            _resolve(cupy, ".".join(parts))
        except AttributeError:
            if chain not in ALLOWED_MISSING:
                missing[chain] = [u.where for u in uses]
    assert not missing, f"names CuPy {cupy.__version__} lacks: {missing}"


def test_allowlist_names_are_still_missing_and_used() -> None:
    """Keep the allowlist honest: each entry is used in ember and still absent from CuPy."""
    cupy = _cupy()
    chains = _by_chain()
    for name in ALLOWED_MISSING:
        assert name in chains, f"{name} is no longer used; drop it from ALLOWED_MISSING"
        with pytest.raises(AttributeError):
            _resolve(cupy, name)


def _unsupported_ufunc_methods() -> set[str]:
    bad = set()
    for u in namespace_uses():
        parts = u.chain.split(".")
        if len(parts) == 2 and parts[1] in CUPY_UFUNC_METHODS:
            allowed = CUPY_UFUNC_METHODS[parts[1]]
            if allowed is not None and parts[0] not in allowed:
                bad.add(f"{u.where.split(':')[0]}: xp.{u.chain}")
    return bad


def test_ufunc_methods_are_ones_cupy_implements() -> None:
    """``xp.maximum.accumulate`` and the like exist as attributes on CuPy's ufuncs but raise at run time."""
    bad = _unsupported_ufunc_methods()
    assert not bad, "ufunc methods CuPy does not implement:\n" + "\n".join(sorted(bad))


def _accepted_keywords(obj: Any) -> set[str] | None:
    """The keywords ``obj`` accepts, or None when that cannot be told (``**kwargs`` or no signature)."""
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def test_keyword_arguments_are_ones_cupy_accepts() -> None:
    cupy = _cupy()
    bad = []
    for u in namespace_uses():
        if not u.keywords or u.chain in ALLOWED_MISSING:
            continue
        obj = _resolve(cupy, u.chain)
        accepted = UFUNC_KEYWORDS if isinstance(obj, cupy.ufunc) else _accepted_keywords(obj)
        if accepted is not None:
            bad += [f"{u.where}: xp.{u.chain}(..., {k}=)" for k in u.keywords if k not in accepted]
    assert not bad, "keywords CuPy's functions do not take:\n" + "\n".join(bad)


def test_sorts_ask_only_for_the_kinds_cupy_has() -> None:
    """CuPy's sort and argsort are stable and raise ValueError for any ``kind`` but None and 'stable'."""
    bad = [f"{u.where}: xp.{u.chain}(kind={u.constants['kind']!r})" for u in namespace_uses()
           if u.chain in ("sort", "argsort") and u.constants.get("kind", "stable") not in (None, "stable")]
    assert not bad, "\n".join(bad)


# ---- ember's cuda paths run on a NumPy-backed CuPy stand-in (tests/fake_cupy.py): no GPU or CuPy needed ------
@pytest.fixture
def fake_gpu() -> Any:
    import fake_cupy

    with fake_cupy.install() as cp:
        yield fake_cupy
    del cp


def test_the_stand_in_behaves_as_cupy(fake_gpu: Any) -> None:
    import numpy as np

    cp = fake_gpu.namespace()
    a = cp.arange(6.0).reshape(2, 3)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(a)
    with pytest.raises(TypeError, match="numpy.ndarray operand"):
        cp.maximum(a, np.ones(3))
    with pytest.raises(NotImplementedError):
        cp.maximum.accumulate(a)
    with pytest.raises(TypeError, match="where"):
        cp.add(a, 1, where=a > 2)
    with pytest.raises(ValueError, match="kind can only be None or 'stable'"):
        cp.argsort(a, kind="quicksort")
    assert isinstance(a.sum(), cp.ndarray) and a.sum().ndim == 0   # reductions stay on the device
    assert isinstance(np.sum(a), cp.ndarray)   # NumPy's functions dispatch to CuPy's (__array_function__)
    assert not hasattr(a, "__index__")
    assert a[1, 2].get() == 5.0 and float(a[0, 1]) == 1.0


def test_training_steps_on_the_stand_in_never_wait_for_the_gpu(fake_gpu: Any) -> None:
    """A CNN step (conv without bias before batch norm — a bias there has a zero gradient that Adam would turn
    into noise — pooling, cross-entropy, Adam) and an embedding step (index_put in the
    backward, advanced-index assignment) read nothing back from the GPU: such reads stall the GPU queue and
    cannot be captured in a CUDA graph. Their values match the CPU's."""
    import numpy as np

    import ember

    def run(dev: str) -> list[Any]:
        ember.manual_seed(0)
        model = ember.nn.Sequential(ember.nn.Conv2d(3, 4, 3, padding=1, bias=False), ember.nn.BatchNorm2d(4),
                                    ember.nn.ReLU(), ember.nn.MaxPool2d(2), ember.nn.Flatten(),
                                    ember.nn.Linear(4 * 4 * 4, 5)).to(dev)
        emb = ember.nn.Embedding(7, 5).to(dev)
        opt = ember.optim.Adam([*model.parameters(), *emb.parameters()], lr=0.01)
        x = ember.tensor(np.linspace(-1, 1, 2 * 3 * 8 * 8, dtype=np.float32).reshape(2, 3, 8, 8), device=dev)
        y = ember.tensor([1, 3], device=dev)
        tokens = ember.tensor([[0, 6, 2], [2, 2, 5]], device=dev)
        fake_gpu.SYNCS[0] = 0
        for _ in range(2):
            opt.zero_grad()
            h = model(x) + emb(tokens).sum(1)
            h[ember.tensor([0, 1], device=dev), y] = h[ember.tensor([0, 1], device=dev), y] * 2
            ember.nn.functional.cross_entropy(h, y).backward()
            opt.step()
        if dev == "cuda":
            assert fake_gpu.SYNCS[0] == 0
        return [p.detach().cpu().numpy() for p in (*model.parameters(), *emb.parameters())]

    for a, b in zip(run("cpu"), run("cuda"), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_muon_adafactor_and_hash_tensor_on_the_stand_in(fake_gpu: Any) -> None:
    """Found by this audit: Muon passed a NumPy array to a CuPy ufunc; hash_tensor used bitwise_xor.reduce."""
    import numpy as np

    import ember

    def run(dev: str) -> list[Any]:
        w = ember.tensor(np.linspace(-1, 1, 30, dtype=np.float32).reshape(6, 5), device=dev, requires_grad=True)
        out = [ember.hash_tensor(w.detach(), 1)]
        for opt in (ember.optim.Muon([w], lr=0.02), ember.optim.Adafactor([w], lr=0.02)):
            for _ in range(2):
                opt.zero_grad()
                (w.tanh() * w.sum(0)).square().mean().backward()
                opt.step()
            out.append(w.detach().clone())
        return [t.cpu().numpy() for t in out]

    cpu, gpu = run("cpu"), run("cuda")
    np.testing.assert_array_equal(gpu[0], cpu[0])
    for a, b in zip(cpu[1:], gpu[1:], strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_the_cuda_suite_on_the_stand_in(fake_gpu: Any) -> None:
    """tests/test_cuda.py's operator sweeps on the stand-in (the whole file: EMBER_FAKE_CUPY=1 pytest ...)."""
    import test_cuda

    for name, fn, specs, grad in test_cuda.CASES:
        test_cuda.test_op_on_cuda_matches_cpu_and_torch(name, fn, specs, grad)
    for name in test_cuda.MORE_CASES:
        test_cuda.test_more_ops_on_cuda_match_cpu(name)
    for name in test_cuda.MORE_MODULES:
        test_cuda.test_more_modules_on_cuda_match_cpu(name)
