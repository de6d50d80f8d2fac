"""The names torch gives the functions a graph calls: ``ember.relu`` is ``torch.relu``, ``F.linear`` is
``torch._C._nn.linear``, ``ember.linalg.norm`` is ``torch._C._linalg.linalg_norm``... Graph printouts and
generated code spell targets as torch does; the code runs against a ``torch`` alias that resolves those
spellings to ember's functions."""

from __future__ import annotations

import builtins
import inspect
from typing import Any

# nn.functional names torch implements in C (their torch spelling), and torch functions living in torch.functional.
_F_NATIVE = {
    "adaptive_avg_pool1d": "torch.adaptive_avg_pool1d", "avg_pool1d": "torch.avg_pool1d",
    "avg_pool2d": "torch._C._nn.avg_pool2d", "avg_pool3d": "torch._C._nn.avg_pool3d", "bilinear": "torch.bilinear",
    "celu_": "torch.celu_", "channel_shuffle": "torch.channel_shuffle", "conv1d": "torch.conv1d",
    "conv2d": "torch.conv2d", "conv3d": "torch.conv3d", "conv_transpose1d": "torch.conv_transpose1d",
    "conv_transpose2d": "torch.conv_transpose2d", "conv_transpose3d": "torch.conv_transpose3d",
    "cosine_similarity": "torch.cosine_similarity", "elu_": "torch._C._nn.elu_", "gelu": "torch._C._nn.gelu",
    "hardshrink": "torch.hardshrink", "hardtanh_": "torch._C._nn.hardtanh_", "leaky_relu_": "torch._C._nn.leaky_relu_",
    "linear": "torch._C._nn.linear", "logsigmoid": "torch._C._nn.log_sigmoid",
    "native_channel_shuffle": "torch.native_channel_shuffle", "one_hot": "torch._C._nn.one_hot",
    "pairwise_distance": "torch.pairwise_distance", "pdist": "torch.pdist", "pixel_shuffle": "torch.pixel_shuffle",
    "pixel_unshuffle": "torch.pixel_unshuffle", "prelu": "torch.prelu", "relu_": "torch.relu_",
    "rrelu_": "torch.rrelu_", "scaled_dot_product_attention": "torch._C._nn.scaled_dot_product_attention",
    "selu_": "torch.selu_", "softplus": "torch._C._nn.softplus", "softshrink": "torch._C._nn.softshrink",
    "threshold": "torch.nn.functional._threshold", "threshold_": "torch.threshold_",
}
_TORCH_FUNCTIONAL = frozenset("""
atleast_1d atleast_2d atleast_3d block_diag broadcast_shapes broadcast_tensors cartesian_prod cdist chain_matmul
einsum lu meshgrid norm split stft tensordot unique unique_consecutive unravel_index
""".split())
# Python-level functions whose call torch hands to __torch_function__ otherwise than the rule in canonical_call:
# (how many leading arguments go positionally, the keyword arguments passed).
_LAYOUT = {"l1_loss": (2, ("size_average", "reduce", "reduction")), "unravel_index": (1, ("shape",)),
           "meshgrid": (None, ("indexing",))}

_extra: dict[int, tuple[Any, str]] = {}   # ember.fx's own helpers torch spells from its root (torch._assert)
_cache: dict[int, tuple[Any, str]] = {}
_cache_key: list[Any] = [None]
_homes: dict[str, tuple[Any, str]] = {}   # torch's spelling -> (ember namespace, attribute) the code reads live


def _table() -> dict[int, tuple[Any, str]]:
    """{id(function): (function, torch's qualified name)} over ember's public namespaces, rebuilt when the
    ``__torch_function__`` protocol rebinds them."""
    import ember
    from ember import fft, linalg, overrides, special
    from ember.nn import functional as F

    # the bindings change when the protocol switches on or off, and the wrappers known when first made
    key = (len(overrides._UNDO), id(vars(ember).get("add")))
    if key == _cache_key[0]:
        return _cache
    _cache.clear()
    _homes.clear()
    spaces: list[tuple[Any, Any]] = [
        (linalg, lambda n: f"torch._C._linalg.linalg_{n}"), (special, lambda n: f"torch._C._special.special_{n}"),
        (fft, lambda n: f"torch._C._fft.fft_{n}"),
        (F, lambda n: _F_NATIVE.get(n, f"torch.nn.functional.{n}")),
        (ember, lambda n: f"torch.functional.{n}" if n in _TORCH_FUNCTIONAL else f"torch.{n}"),
    ]
    for ns, spell in spaces:
        for name, obj in vars(ns).items():
            if not name.startswith("_") and callable(obj) and not isinstance(obj, type) \
                    and (getattr(obj, "__module__", None) or "").startswith("ember"):
                _cache[id(obj)] = (obj, spell(name))
                _homes[spell(name)] = (ns, name)
            plain, wrapper = overrides._WRAPPERS.get((id(ns), name), (None, None))
            if plain is obj:   # graphs recorded it while the protocol was on; generated code calls it (it dispatches
                _cache[id(wrapper)] = (wrapper, spell(name))   # to Proxies when a trace re-runs the code)
            elif wrapper is obj:   # the protocol is on: traces record the plain function (overrides.stable_entry)
                _cache[id(plain)] = (plain, spell(name))
    _cache.update(_extra)
    _cache_key[0] = key
    return _cache


def register(obj: Any, name: str) -> Any:
    """Spell ``obj`` as ``name`` (a torch dotted name) in graphs and generated code."""
    _extra[id(obj)] = (obj, name)
    _cache_key[0] = None
    _alias[1] = None   # the generated code's ``torch`` alias is rebuilt with the new name
    return obj


def _spelled(fn: Any) -> str | None:
    """torch's spelling of ``fn`` if it is one of ember's public functions or a protocol wrapper of one."""
    table = _table()
    candidates = (fn, fn.__wrapped__) if getattr(fn, "_torch_function_wrapped", False) else (fn,)
    for f in candidates:
        hit = table.get(id(f))
        if hit is not None and hit[0] is f:
            return hit[1]
    if (getattr(fn, "__module__", None) or "").startswith("ember"):   # any other wrapper of a public function
        root = inspect.unwrap(fn)
        for obj, name in table.values():
            if callable(obj) and inspect.unwrap(obj) is root:
                return name
    return None


def qualified_name(fn: Any) -> str:
    """torch's ``_get_qualified_name``: the dotted name the generated code reaches ``fn`` by."""
    from ..library import OpOverload, OpOverloadPacket
    if isinstance(fn, (OpOverload, OpOverloadPacket)):
        return f"torch.ops.{fn}"
    spelled = _spelled(fn)
    if spelled is not None:
        return spelled
    name = fn.__name__
    if getattr(builtins, name, None) is fn:
        return name
    module = getattr(fn, "__module__", None) or ""
    if module == "ember" or module.startswith("ember."):
        module = "torch" + module[5:]
    return f"{module}.{name}"


def is_torch_name(fn: Any) -> bool:
    """Whether ``fn`` is spelled from the ``torch`` root in generated code (ember's own functions)."""
    return (getattr(fn, "__module__", None) or "").split(".")[0] == "ember" and not isinstance(fn, type)


def target_name(fn: Any) -> str:
    """The name a node calling ``fn`` starts from: the last part of torch's spelling (``log_sigmoid``)."""
    spelled = _spelled(fn)
    return fn.__name__ if spelled is None else spelled.rsplit(".", 1)[-1]


def canonical_call(fn: Any, args: tuple, kwargs: dict) -> tuple[Any, tuple, dict]:
    """The (target, args, kwargs) torch records for a call on Proxies. torch's Python-level functions
    (nn.functional's, torch.functional's) hand their required arguments positionally and every optional one by
    keyword (defaults filled in); its C functions keep the call as written."""
    name = qualified_name(fn)
    if not name.startswith(("torch.nn.functional.", "torch.functional.")):
        return fn, args, kwargs
    raw = inspect.unwrap(fn)
    try:
        sig = inspect.signature(raw)
        bound = sig.bind(*args, **kwargs)
    except (TypeError, ValueError):
        return fn, args, kwargs
    bound.apply_defaults()
    params = sig.parameters
    npos, only = _LAYOUT.get(name.rsplit(".", 1)[-1], (0, None))
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params.values()):
        if npos is not None:
            return fn, args, kwargs
        star = next(n for n, p in params.items() if p.kind == p.VAR_POSITIONAL)
        return fn, tuple(bound.arguments[star]), {n: bound.arguments[n] for n in only or ()}
    names = list(params)
    if only is not None:
        return fn, tuple(bound.arguments[n] for n in names[:npos]), {n: bound.arguments[n] for n in only}
    pos = tuple(bound.arguments[n] for n, p in params.items() if p.default is p.empty)
    kw = {n: bound.arguments[n] for n, p in params.items() if p.default is not p.empty}
    return fn, pos, kw


class _Live(tuple):
    """An alias entry read from its ember namespace at each call: the binding of the moment (a profiler's timing
    wrapper while a profile records, the plain function after), as ``torch.relu`` in torch's generated code."""


class _Alias:
    """The ``torch`` the generated code sees: torch's spellings of ember's functions, else ember's attributes."""

    def __init__(self, fallback: Any) -> None:
        self._fallback = fallback
        self._children: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        children = self.__dict__["_children"]
        if name in children:
            found = children[name]
            return getattr(found[0], found[1]) if type(found) is _Live else found
        fallback = self.__dict__["_fallback"]
        if fallback is None:
            raise AttributeError(name)
        return getattr(fallback, name)

    def __reduce__(self) -> tuple:
        return (torch_alias, ())


_alias: list[Any] = [None, None]


def torch_alias() -> _Alias:
    """The ``torch`` global of generated code (rebuilt when the protocol rebinds ember's functions)."""
    import ember

    table = _table()
    if _alias[1] == _cache_key[0]:
        return _alias[0]
    root = _Alias(ember)
    for obj, name in table.values():
        parts = name.split(".")[1:]
        node = root
        for part in parts[:-1]:
            child = node._children.get(part)
            if child is None:
                child = node._children[part] = _Alias(getattr(node._fallback, part, None))
            node = child
        home = _homes.get(name)
        node._children[parts[-1]] = obj if home is None else _Live(home)
    _alias[0], _alias[1] = root, _cache_key[0]
    return root
