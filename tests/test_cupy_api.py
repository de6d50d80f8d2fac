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
KNOWN_BROKEN = {
    "ember/sparse/_coo.py: xp.maximum.accumulate",   # _run_rank: CuPy accumulates only add and multiply
}
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
    bad = _unsupported_ufunc_methods() - KNOWN_BROKEN
    assert not bad, "ufunc methods CuPy does not implement:\n" + "\n".join(sorted(bad))


@pytest.mark.xfail(strict=True, reason="known CuPy-incompatible uses in other owners' files (KNOWN_BROKEN)")
def test_known_broken_uses_are_fixed() -> None:
    assert not (_unsupported_ufunc_methods() & KNOWN_BROKEN)


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
