"""``torch.library``: user-defined operators. ``custom_op`` turns a Python function into an operator with a
schema, per-device kernels, a fake (shape-only) implementation and an autograd formula; ``Library`` defines
and implements operators from schema strings. Operators are reachable as ``ember.ops.<namespace>.<name>``
(``torch.ops``), where ``ember.ops.aten.<name>`` also reaches ember's built-in operators.

ember runs eagerly, so a custom operator is its kernel plus the bookkeeping torch does around it: the schema
is inferred (and checked) as torch infers it, outputs may not alias inputs, mutated arguments get their
version bumped, and a registered autograd formula runs as one ``GeneratedBackwardFor_<ns>_<name>_default``
node; without one, backward through the operator raises torch's error.
"""

from __future__ import annotations

import inspect
import re
import sys
import typing
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ._core.device import device as _device
from ._core.dtype import dtype as _dtype
from ._tensor import Tensor
from .autograd.function import Function
from .autograd.grad_mode import STATE, no_grad
from .ops.storage import storage_root
from .overrides import _slow

__all__ = ["Library", "OpCheckError", "custom_op", "define", "impl", "infer_schema", "opcheck", "register_autograd",
           "register_fake", "register_kernel"]

_OPS: dict[str, OperatorDef] = {}   # "ns::name" -> the operator

# ---- schema inference ------------------------------------------------------------------------------------------
_SCALAR = int | float | bool
_BASE_TYPES: list[tuple[Any, str, tuple[str, ...]]] = [
    # (annotation, schema name, the derived forms torch accepts: "?" Optional, "[]" Sequence, "?[]"/"[]?")
    (Tensor, "Tensor", ("?", "[]", "?[]")),
    (int, "SymInt", ("?", "[]", "[]?")),
    (float, "float", ("?", "[]", "[]?")),
    (bool, "bool", ("?", "[]", "[]?")),
    (str, "str", ("?",)),
    (_SCALAR, "Scalar", ("?", "[]")),
    (_dtype, "ScalarType", ("?",)),
    (_device, "Device", ("?",)),
]
_RETURN_TYPES: dict[Any, str] = {Tensor: "Tensor", list[Tensor]: "Tensor[]", typing.List[Tensor]: "Tensor[]",   # noqa: UP006
                                 int: "SymInt", float: "float", bool: "bool", _SCALAR: "Scalar"}


def _param_types() -> dict[Any, str]:
    table: dict[Any, str] = {}
    for ann, name, forms in _BASE_TYPES:
        table[ann] = name
        seqs = (typing.Sequence[ann], typing.List[ann], Sequence[ann], list[ann])   # noqa: UP006
        if "?" in forms:
            table[ann | None] = name + "?"
        if "[]" in forms:
            table.update(dict.fromkeys(seqs, name + "[]"))
        if "[]?" in forms:
            table.update({s | None: name + "[]?" for s in seqs})
        if "?[]" in forms:
            opt = ann | None
            table.update(dict.fromkeys((typing.Sequence[opt], typing.List[opt], Sequence[opt], list[opt]),  # noqa: UP006
                                       name + "?[]"))
    return table


_PARAM_TYPES = _param_types()


def _default_text(value: Any) -> str | None:
    """A default value as torch writes it in a schema (None: a type it does not support)."""
    if value is None or isinstance(value, (bool, int, float)):
        return str(value)
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, _dtype):
        return value.name
    if isinstance(value, _device):
        return f'"{value}"'
    return None


def _resolve(annotation: Any, globalns: dict) -> Any:
    if isinstance(annotation, str):   # postponed annotations ("Tensor")
        return eval(annotation, {"Tensor": Tensor, **globalns})   # noqa: S307 (the user's own annotation text)
    return annotation


def infer_schema(prototype_function: Callable, /, *, mutates_args: Any, op_name: str | None = None) -> str:
    """The operator schema of ``prototype_function`` from its type annotations, e.g. ``(Tensor x) -> Tensor``;
    arguments named in ``mutates_args`` (or all Tensors for ``"unknown"``) are marked ``Tensor(aN!)``."""
    sig = inspect.signature(prototype_function)
    globalns = getattr(prototype_function, "__globals__", {})

    def error(what: str) -> ValueError:
        return ValueError(f"infer_schema(func): {what} Got func with signature {sig})")

    params: list[str] = []
    seen_kwonly = False
    mutated = set() if mutates_args == "unknown" else set(mutates_args)
    for idx, (name, p) in enumerate(sig.parameters.items()):
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            raise error("We do not support positional-only args, varargs, or varkwargs.")
        if p.annotation is p.empty:
            raise error(f"Parameter {name} must have a type annotation.")
        ann = _resolve(p.annotation, globalns)
        schema_type = _PARAM_TYPES.get(ann)
        if schema_type is None:
            valid = ", ".join(str(k) for k in _PARAM_TYPES)
            raise error(f"Parameter {name} has unsupported type {p.annotation}. The valid types are: "
                        f"dict_keys([{valid}]).")
        if mutates_args == "unknown" and schema_type.startswith("Tensor") or name in mutated:
            if not schema_type.startswith("Tensor"):
                raise error(f"Parameter {name} is in mutable_args but only Tensors or collections of Tensors "
                            "can be mutated")
            schema_type = f"Tensor(a{idx}!){schema_type[6:]}"
        if p.kind == p.KEYWORD_ONLY and not seen_kwonly:
            params.append("*")
            seen_kwonly = True
        text = f"{schema_type} {name}"
        if p.default is not p.empty:
            default = _default_text(p.default)
            if default is None:
                raise error(f"Parameter {name} has an unsupported default value type {type(p.default)}. Please "
                            "file an issue on GitHub so we can prioritize this.")
            text += f"={default}"
        params.append(text)
    if mutates_args != "unknown":
        missing = mutated - set(sig.parameters)
        if missing:
            raise error(f"{missing} in mutates_args were not found in the custom op's signature. mutates_args "
                        "should contain the names of all args that the custom op mutates, or just the string "
                        "'unknown' if you don't know.")
    ret = sig.return_annotation
    if ret is sig.empty:
        raise error("No return type annotation was provided. Please add one.")
    returns = _return_text(_resolve(ret, globalns), error)
    return f"{op_name or ''}({', '.join(params)}) -> {returns}"


def _return_text(ann: Any, error: Callable[[str], ValueError]) -> str:
    if ann is None or ann is type(None):
        return "()"
    if typing.get_origin(ann) is tuple:
        parts = typing.get_args(ann)
        if all(p in _RETURN_TYPES for p in parts):
            return "(" + ", ".join(_RETURN_TYPES[p] for p in parts) + ")"
    elif ann in _RETURN_TYPES:
        return _RETURN_TYPES[ann]
    valid = ", ".join(f"{k}: {v!r}" for k, v in _RETURN_TYPES.items())
    raise error(f"Return has unsupported type {ann}. The valid types are: {{{valid}}}.")


# ---- schema strings (Library.define) ----------------------------------------------------------------------------
_ARG = re.compile(r"^\s*(?P<type>[A-Za-z]+(?:\([a-z0-9]+!?\))?(?:\?|\[\d*\]\??|\?\[\])*)\s+(?P<name>\w+)"
                  r"(?:\s*=\s*(?P<default>.+?))?\s*$")


class _Arg(typing.NamedTuple):
    name: str
    type: str
    default: Any
    has_default: bool
    kwarg_only: bool

    @property
    def mutable(self) -> bool:
        return "!" in self.type


def _parse_default(text: str) -> Any:
    if text in ("None", "True", "False"):
        return {"None": None, "True": True, "False": False}[text]
    if text.startswith('"') or text.startswith("'"):
        return text[1:-1]
    if text.startswith("["):
        return [_parse_default(v.strip()) for v in text[1:-1].split(",") if v.strip()]
    try:
        return int(text)
    except ValueError:
        return float(text)


def _parse_schema(qualname: str, schema: str) -> tuple[list[_Arg], str]:
    """The arguments and the return text of ``name(args) -> returns``."""
    m = re.fullmatch(r"\s*([\w.]+)\s*\((.*)\)\s*->\s*(.+?)\s*", schema)
    if m is None:
        raise RuntimeError(f"Expected a schema like 'name(Tensor x) -> Tensor' for {qualname} but got: {schema}")
    args: list[_Arg] = []
    kwarg_only = False
    for piece in filter(None, (p.strip() for p in _split_args(m.group(2)))):
        if piece == "*":
            kwarg_only = True
            continue
        am = _ARG.match(piece)
        if am is None:
            raise RuntimeError(f"Unknown argument '{piece}' in the schema of {qualname}: {schema}")
        has_default = am.group("default") is not None
        default = _parse_default(am.group("default")) if has_default else None
        args.append(_Arg(am.group("name"), am.group("type"), default, has_default, kwarg_only))
    return args, m.group(3)


def _split_args(text: str) -> list[str]:
    """Split an argument list on top-level commas (defaults like ``[1, 2]`` keep theirs)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "[("
        depth -= ch in "])"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


# ---- operators -------------------------------------------------------------------------------------------------
class FunctionSchema:
    """An operator's schema (``OpOverload._schema``): prints as ``ns::name(args) -> returns``."""

    def __init__(self, qualname: str, schema: str) -> None:
        self.name = qualname
        self._text = schema
        self.arguments, self._returns = _parse_schema(qualname, qualname.split("::")[1] + schema)

    def __str__(self) -> str:
        return self.name + self._text

    __repr__ = __str__


class OperatorDef:
    """One operator: its schema, kernels per device type, fake implementation and autograd formula."""

    def __init__(self, namespace: str, name: str, schema: str) -> None:
        self._namespace = namespace
        self._name = name
        self._qualname = f"{namespace}::{name}"
        self._fschema = FunctionSchema(self._qualname, schema)
        self._kernels: dict[str, Callable] = {}     # device type ("cpu", "cuda") or "default" -> kernel
        self._composite: Callable | None = None     # a kernel made of differentiable ember ops
        self._abstract_fn: Callable | None = None
        self._backward_fn: Callable | None = None
        self._setup_context_fn: Callable | None = None
        self._function_cls: type[Function] | None = None

    # -- registration --
    def _kernel_for(self, device_type: str) -> Callable:
        fn = self._kernels.get(device_type) or self._kernels.get("default")
        if fn is None:
            backend = {"cpu": "CPU", "cuda": "CUDA"}.get(device_type, device_type)
            raise NotImplementedError(
                f"Could not run '{self._qualname}' with arguments from the '{backend}' backend. This could be "
                "because the operator doesn't exist for this backend, or was omitted during the selective/custom "
                f"build process (if using custom build). '{self._qualname}' is only available for these "
                f"backends: [{', '.join(sorted(k.upper() for k in self._kernels if k != 'default'))}].")
        return fn

    # -- calling --
    def _bind(self, args: tuple, kwargs: dict) -> list[Any]:
        """All argument values in schema order (defaults filled in), with torch's errors for bad calls."""
        schema_args = self._fschema.arguments
        values: list[Any] = []
        positional = list(args)
        for a in schema_args:
            if positional and not a.kwarg_only:
                values.append(positional.pop(0))
            elif a.name in kwargs:
                values.append(kwargs.pop(a.name))
            elif a.has_default:
                values.append(a.default)
            else:
                raise RuntimeError(f"{self._qualname}() is missing value for argument '{a.name}'. "
                                   f"Declaration: {self._fschema}")
        if positional:
            raise RuntimeError(f"{self._qualname}() expected at most {len(schema_args)} argument(s) but received "
                               f"{len(schema_args) + len(positional)} argument(s). Declaration: {self._fschema}")
        if kwargs:
            raise RuntimeError(f"Unknown keyword argument '{next(iter(kwargs))}' for operator '{self._qualname}'. "
                               f"Schema: {self._fschema}")
        for pos, (a, v) in enumerate(zip(schema_args, values, strict=True)):
            if not _fits(a.type, v):
                raise RuntimeError(f"{self._qualname}() Expected a value of type '{_type_name(a.type)}' for "
                                   f"argument '{a.name}' but instead found type '{type(v).__name__}'.\n"
                                   f"Position: {pos}\nValue: {v!r}\nDeclaration: {self._fschema}")
        return values

    def _call_kwargs(self, values: list[Any]) -> tuple[list[Any], dict[str, Any]]:
        args = [v for a, v in zip(self._fschema.arguments, values, strict=True) if not a.kwarg_only]
        kwargs = {a.name: v for a, v in zip(self._fschema.arguments, values, strict=True) if a.kwarg_only}
        return args, kwargs

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        overrides = sys.modules.get("ember.overrides")
        if overrides is not None and overrides._MODE_DEPTH and overrides._STATE.modes:
            # TorchFunctionModes see the call as ``ns.name.default``, as torch's modes see its operators
            return overrides._slow(OpOverload(OpOverloadPacket(self._namespace, self._name, self), "default"),
                                   self._run, args, kwargs)
        return self._run(*args, **kwargs)

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        values = self._bind(args, dict(kwargs))
        tensors = [t for v in values for t in (v if isinstance(v, (list, tuple)) else (v,)) if isinstance(t, Tensor)]
        device_type = tensors[0].device.type if tensors else "cpu"
        if self._composite is not None and device_type not in self._kernels:
            pos, kw = self._call_kwargs(values)
            return self._composite(*pos, **kw)
        kernel = self._kernel_for(device_type)
        if STATE.grad and any(t.requires_grad for t in tensors):
            result = self._autograd_call(kernel, values)
        elif not self._below_autograd:
            pos, kw = self._call_kwargs(values)
            result = kernel(*pos, **kw)
        else:
            pos, kw = self._call_kwargs(values)
            with no_grad():
                result = kernel(*pos, **kw)
        self._check_result(result, values)
        return result

    @property
    def _below_autograd(self) -> bool:
        """Whether kernels run as one node with the registered formula (custom_op, or any operator once
        ``register_autograd`` was called); otherwise, as for ``Library.impl`` kernels, autograd records the
        ember ops the kernel calls."""
        return self._backward_fn is not None

    def _autograd_call(self, kernel: Callable, values: list[Any]) -> Any:
        """Run ``kernel`` as one node whose backward is the registered formula (flattening Tensor lists, so
        each tensor gets its own gradient edge)."""
        if not self._below_autograd:
            pos, kw = self._call_kwargs(values)
            return kernel(*pos, **kw)
        layout = [len(v) if isinstance(v, (list, tuple)) and a.type.startswith("Tensor") else -1
                  for a, v in zip(self._fschema.arguments, values, strict=True)]
        flat = [x for v, n in zip(values, layout, strict=True) for x in (v if n >= 0 else (v,))]
        return self._function(layout).apply(*flat)

    def _function(self, layout: list[int]) -> type[Function]:
        op = self

        def regroup(flat: Sequence[Any]) -> list[Any]:
            out, i = [], 0
            for n in layout:
                if n < 0:
                    out.append(flat[i])
                    i += 1
                else:
                    out.append(list(flat[i:i + n]))
                    i += n
            return out

        def forward(*flat: Any) -> Any:
            pos, kw = op._call_kwargs(regroup(flat))
            return op._kernel_for(_device_type(flat))(*pos, **kw)

        def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
            if op._setup_context_fn is not None:
                pos, kw = op._call_kwargs(regroup(inputs))
                if kw:   # torch passes keyword-only arguments separately, by keyword
                    op._setup_context_fn(ctx=ctx, inputs=tuple(pos), keyword_only_inputs=kw, output=output)
                else:
                    op._setup_context_fn(ctx, tuple(pos), output)

        positional = [n for a, n in zip(self._fschema.arguments, layout, strict=True) if not a.kwarg_only]
        keyword_only = sum(n if n >= 0 else 1 for a, n in zip(self._fschema.arguments, layout, strict=True)
                           if a.kwarg_only)   # flat entries of keyword-only arguments: no gradient

        def backward(ctx: Any, *grads: Any) -> Any:
            if op._backward_fn is None:
                raise RuntimeError(f"Trying to backward through {op._namespace}.{op._name}.default but no "
                                   "autograd formula was registered. Please use register_autograd to add one.")
            result = op._backward_fn(ctx, *grads)
            result = result if isinstance(result, tuple) else (result,)
            if len(result) != len(positional) or any(
                    n >= 0 and g is not None and (not isinstance(g, (list, tuple)) or len(g) != n)
                    for g, n in zip(result, positional, strict=True)):
                raise RuntimeError("Expected the return from backward to be of the same structure as the inputs: "
                                   f"one gradient (or None) per positional input of {op._qualname} "
                                   f"({len(positional)}), a list for each Tensor[] input; got {len(result)}.")
            flat: list[Any] = []
            for g, n in zip(result, positional, strict=True):
                flat.extend((g if g is not None else [None] * n) if n >= 0 else (g,))
            return (*flat, *[None] * keyword_only)

        cls_name = f"GeneratedBackwardFor_{self._namespace}_{self._name}_default"
        return type(cls_name, (Function,), {"forward": staticmethod(forward),
                                            "setup_context": staticmethod(setup_context),
                                            "backward": staticmethod(backward)})

    def _check_result(self, result: Any, values: list[Any]) -> None:
        """torch's checks on a kernel's result: the declared return types, no output aliasing an input or
        another output; then mutated arguments get a new version."""
        returns = self._fschema._returns
        outs = result if isinstance(result, (tuple, list)) else (result,)
        if returns != "()" and "Tensor" in returns:
            for o in outs:
                if not isinstance(o, Tensor) and returns in ("Tensor", "Tensor[]"):
                    raise RuntimeError(f"Unable to cast {o!r} to Tensor")
        inputs = [t for v in values for t in (v if isinstance(v, (list, tuple)) else (v,)) if isinstance(t, Tensor)]
        roots = [storage_root(t._data) for t in inputs]
        out_tensors = [o for o in outs if isinstance(o, Tensor)]
        for i, o in enumerate(out_tensors):
            root = storage_root(o._data)
            if any(root is r for r in roots) or any(root is storage_root(p._data) for p in out_tensors[:i]):
                raise RuntimeError(
                    f"{self._name} (with implementation in {inspect.getmodule(self._kernel_for(o.device.type))}): "
                    "The output of this custom operator (1) must not also be an input to this custom operator and "
                    "(2) may not alias any inputs to this custom operator or other returns. The most common way "
                    "to trigger this error is if we have y = custom_op(x) and y and x are the same Tensor. Please "
                    "instead return a clone of the offending output tensor(s) (e.g. return x.clone()) or refactor "
                    "the custom operator to not return y.")
        for a, v in zip(self._fschema.arguments, values, strict=True):
            if a.mutable:
                for t in v if isinstance(v, (list, tuple)) else (v,):
                    if isinstance(t, Tensor):
                        t._vc[0] += 1


def _device_type(values: Iterable[Any]) -> str:
    for v in values:
        if isinstance(v, Tensor):
            return v.device.type
    return "cpu"


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "Tensor": lambda v: isinstance(v, Tensor),
    "SymInt": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "Scalar": lambda v: isinstance(v, (int, float, bool, complex)),
    "ScalarType": lambda v: isinstance(v, _dtype),
    "Device": lambda v: isinstance(v, (_device, str, int)),
}


def _type_name(schema_type: str) -> str:
    return re.sub(r"\(a\d+!?\)", "", schema_type)


def _fits(schema_type: str, value: Any) -> bool:
    t = _type_name(schema_type)
    if t.endswith("?") and value is None:
        return True
    t = t.rstrip("?")
    if t.endswith("[]") or re.search(r"\[\d+\]$", t):
        base = re.sub(r"\[\d*\]$", "", t)
        return isinstance(value, (list, tuple)) and all(_fits(base, v) for v in value)
    check = _TYPE_CHECKS.get(t)
    return check(value) if check is not None else True


class CustomOpDef(OperatorDef):
    """What ``custom_op`` returns: the operator, callable, with ``register_kernel``/``register_fake``/
    ``register_autograd`` to add its other implementations."""

    def __init__(self, namespace: str, name: str, schema: str, fn: Callable) -> None:
        super().__init__(namespace, name, schema)
        self._schema = schema
        self._init_fn = fn
        self.__wrapped__ = fn
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__

    def __repr__(self) -> str:
        return f"<CustomOpDef({self._qualname})>"

    @property
    def _below_autograd(self) -> bool:
        return True

    def register_kernel(self, device_types: str | Sequence[str] | None, fn: Callable | None = None) -> Any:
        """Use ``fn`` for tensors on ``device_types`` (``"cpu"``, ``"cuda"``; None: every device)."""
        def register(fn: Callable) -> Callable:
            types = ["default"] if device_types is None else \
                [device_types] if isinstance(device_types, str) else list(device_types)
            for t in types:
                self._kernels[_device(t).type if t != "default" else t] = fn
            return fn
        return register(fn) if fn is not None else register

    def register_fake(self, fn: Callable, /) -> Callable:
        """The shape/dtype-only implementation (``opcheck`` compares it with the real kernel's outputs)."""
        self._abstract_fn = fn
        return fn

    def register_autograd(self, backward: Callable, /, *, setup_context: Callable | None = None) -> None:
        """``backward(ctx, *grads)`` returns one gradient per input; ``setup_context(ctx, inputs, output)``
        saves what it needs."""
        self._backward_fn = backward
        self._setup_context_fn = setup_context


def _split_qualname(qualname: str) -> tuple[str, str]:
    namespace, sep, name = qualname.partition("::")
    if not sep:
        raise ValueError("not enough values to unpack (expected 2, got 1)")
    if "." in name:
        raise ValueError(f"custom_op(..., name={qualname}): overload names are not supported; use a name "
                         "without '.'")
    return namespace, name


def custom_op(name: str, fn: Callable | None = None, /, *, mutates_args: Any, device_types: Any = None,
              schema: str | None = None, tags: Any = None) -> Any:
    """Wrap ``fn`` as the operator ``namespace::name`` (a decorator without ``fn``); ``mutates_args`` names
    the Tensor arguments it writes to (``"unknown"``: all of them)."""
    def inner(fn: Callable) -> CustomOpDef:
        namespace, opname = _split_qualname(name)
        text = schema if schema is not None else infer_schema(fn, mutates_args=mutates_args)
        op = CustomOpDef(namespace, opname, text, fn)
        op.register_kernel(device_types, fn)
        _OPS[op._qualname] = op
        return op
    return inner(fn) if fn is not None else inner


class Library:
    """A namespace of operators: ``kind`` ``"DEF"`` defines new ones (``define``), ``"IMPL"`` adds kernels
    to existing ones (``impl``), ``"FRAGMENT"`` does both."""

    def __init__(self, ns: str, kind: str, dispatch_key: str = "") -> None:
        if kind not in ("IMPL", "DEF", "FRAGMENT"):
            raise ValueError("Unsupported kind: ", kind)
        self.ns = ns
        self.kind = kind
        self.dispatch_key = dispatch_key
        self._defined: list[str] = []

    def __repr__(self) -> str:
        return f"Library(kind={self.kind}, ns={self.ns}, dispatch_key={self.dispatch_key})>"

    def define(self, schema: str, alias_analysis: str = "", *, tags: Any = ()) -> str:
        """Define an operator from ``"name(args) -> returns"``; returns its name."""
        name, _, rest = schema.partition("(")
        name = name.strip()
        qualname = f"{self.ns}::{name}"
        if qualname in _OPS and self.kind != "FRAGMENT" and qualname in self._defined:
            raise RuntimeError(f"Tried to register an operator ({qualname}) with the same name and overload name "
                               "multiple times.")
        _OPS[qualname] = OperatorDef(self.ns, name, "(" + rest)
        self._defined.append(qualname)
        return name

    def impl(self, op_name: Any, fn: Callable, dispatch_key: str = "", *, with_keyset: bool = False) -> None:
        """Register ``fn`` for ``op_name`` under ``dispatch_key`` (``CPU``, ``CUDA``, ``CompositeImplicitAutograd``
        — differentiable through the ember ops it calls —, ``CompositeExplicitAutograd``, ``Autograd``, ``Meta``)."""
        name = op_name if isinstance(op_name, str) else op_name._qualname
        qualname = name if "::" in name else f"{self.ns}::{name.split('.')[0]}"
        op = _lookup(qualname)
        key = dispatch_key or self.dispatch_key or "CompositeImplicitAutograd"
        _register_impl(op, key, fn)


def _register_impl(op: OperatorDef, key: str, fn: Callable) -> None:
    if key in ("CompositeImplicitAutograd", "Autograd", "AutogradCPU", "AutogradCUDA"):
        op._composite = fn
    elif key == "Meta":
        op._abstract_fn = fn
    elif key in ("CPU", "CUDA"):
        op._kernels[key.lower()] = fn
    elif key == "CompositeExplicitAutograd":
        op._kernels["default"] = fn
    else:
        raise ValueError(f"ember.library: dispatch key {key!r} is not supported (use CPU, CUDA, Meta, Autograd, "
                         "CompositeImplicitAutograd or CompositeExplicitAutograd)")


def _lookup(op: Any) -> OperatorDef:
    if isinstance(op, OperatorDef):
        return op
    if isinstance(op, (OpOverload, OpOverloadPacket)):
        return op._op
    qualname = op.split(".")[0]
    if qualname not in _OPS:
        raise ValueError(f"Could not find the operator {op}. Please make sure you have already registered the "
                         "operator and (if registered from C++) loaded it via torch.ops.load_library.")
    return _OPS[qualname]


def define(qualname: str, schema: str, *, lib: Library | None = None, tags: Any = ()) -> None:
    """Define the operator ``qualname`` (``"ns::name"``) with ``schema`` (``"(Tensor x) -> Tensor"``)."""
    namespace, name = _split_qualname(qualname)
    (lib or Library(namespace, "FRAGMENT")).define(name + schema, tags=tags)


def impl(qualname: str, types: str | Sequence[str], func: Callable | None = None, *,
         lib: Library | None = None) -> Any:
    """Register ``func`` as the kernel of ``qualname`` for device ``types`` (``"cpu"``, ``"cuda"``, or a dispatch
    key such as ``"CompositeImplicitAutograd"``); a decorator without ``func``."""
    def register(func: Callable) -> Callable:
        op = _lookup(qualname)
        for t in [types] if isinstance(types, str) else types:
            _register_impl(op, {"cpu": "CPU", "cuda": "CUDA", "default": "CompositeExplicitAutograd"}.get(t, t),
                           func)
        return func
    return register(func) if func is not None else register


def register_kernel(op: Any, device_types: Any, func: Callable | None = None, /, *,
                    lib: Library | None = None) -> Any:
    """``op.register_kernel`` for an operator given by name or object."""
    target = _lookup(op)
    if isinstance(target, CustomOpDef):
        return target.register_kernel(device_types, func)
    return impl(target._qualname, device_types if device_types is not None else "default", func)


def register_fake(op: Any, func: Callable | None = None, /, *, lib: Library | None = None,
                  _stacklevel: int = 1) -> Any:
    """Register the fake (shape-only) implementation of ``op``; a decorator without ``func``."""
    def register(func: Callable) -> Callable:
        _lookup(op)._abstract_fn = func
        return func
    return register(func) if func is not None else register


def register_autograd(op: Any, backward: Callable, /, *, setup_context: Callable | None = None,
                      lib: Library | None = None) -> None:
    """Register ``backward`` (and ``setup_context``) as the autograd formula of ``op``."""
    target = _lookup(op)
    target._backward_fn = backward
    target._setup_context_fn = setup_context


# ---- opcheck ---------------------------------------------------------------------------------------------------
class OpCheckError(Exception):
    """An ``opcheck`` test failed (the message names the test and the cause)."""


_OPCHECK_TESTS = ("test_schema", "test_autograd_registration", "test_faketensor", "test_aot_dispatch_static",
                  "test_aot_dispatch_dynamic")


def opcheck(op: Any, args: tuple, kwargs: dict | None = None, *,
            test_utils: str | Sequence[str] = ("test_schema", "test_autograd_registration", "test_faketensor",
                                               "test_aot_dispatch_dynamic"),
            raise_exception: bool = True, rtol: float | None = None, atol: float | None = None) -> dict[str, str]:
    """Check a custom operator as torch does: its schema declares every mutation (``test_schema``), an
    operator taking tensors that require grad has an autograd formula (``test_autograd_registration``),
    its fake implementation gives the real outputs' shapes, dtypes and devices (``test_faketensor``), and
    its forward and backward are deterministic across calls (``test_aot_dispatch_*``, which in eager ember
    compares two runs)."""
    kwargs = kwargs or {}
    tests = (test_utils,) if isinstance(test_utils, str) else tuple(test_utils)
    if not set(tests) <= set(_OPCHECK_TESTS):
        raise ValueError(f"opcheck(op, ..., test_utils={tests}), expected test_utils to be subset of "
                         f"{_OPCHECK_TESTS} but it was not")
    target = _lookup(op)
    results: dict[str, str] = {}
    for name in tests:
        try:
            _CHECKS[name](target, args, kwargs)
        except Exception as exc:   # noqa: BLE001 (reported as torch reports it)
            if raise_exception:
                raise OpCheckError(f"opcheck(op, ...): {name} failed with {exc} (scroll up for stack trace)") \
                    from exc
            results[name] = exc   # type: ignore[assignment]
        else:
            results[name] = "SUCCESS"
    return results


def _clone_args(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.detach().clone().requires_grad_(value.requires_grad)
    if isinstance(value, (list, tuple)):
        return type(value)(_clone_args(v) for v in value)
    return value


def _check_schema(op: OperatorDef, args: tuple, kwargs: dict) -> None:
    values = op._bind(_clone_args(args), _clone_args(kwargs))
    before = [(a, [t.detach().clone() for t in (v if isinstance(v, (list, tuple)) else (v,))
                   if isinstance(t, Tensor)]) for a, v in zip(op._fschema.arguments, values, strict=True)]
    pos, kw = op._call_kwargs(values)
    with no_grad():
        op(*pos, **kw)
    for (a, old), v in zip(before, values, strict=True):
        now = [t for t in (v if isinstance(v, (list, tuple)) else (v,)) if isinstance(t, Tensor)]
        if not a.mutable and any(not _same(o, n) for o, n in zip(old, now, strict=True)):
            raise RuntimeError(f"Argument {a.name} is not defined as mutable but was mutated")


def _same(a: Tensor, b: Tensor) -> bool:
    """Equal shapes and values, NaN matching NaN."""
    return a.shape == b.shape and bool(((a == b) | (a.isnan() & b.isnan())).all())


def _check_autograd_registration(op: OperatorDef, args: tuple, kwargs: dict) -> None:
    values = op._bind(_clone_args(args), _clone_args(kwargs))
    tensors = [t for v in values for t in (v if isinstance(v, (list, tuple)) else (v,)) if isinstance(t, Tensor)]
    kernels_only = op._composite is None and op._backward_fn is None and not isinstance(op, CustomOpDef)
    if kernels_only and any(t.requires_grad for t in tensors):
        raise RuntimeError(f"{op._qualname}: at least one output of this operator has requires_grad=True but the "
                           "operator does not have an autograd kernel defined at an autograd key (e.g. "
                           "DispatchKey::Autograd). This could mean that you have incorrectly registered an autograd "
                           "kernel to a non-Autograd DispatchKey, which may lead to silently incorrect results. If "
                           "your operator consists of regular PyTorch operations, consider not using an operator at "
                           "all or registering your operator as CompositeImplicitAutograd. If you have an "
                           "autograd.Function registered to a backend (CPU/CUDA/XPU) key, the correct location for "
                           "it is the Autograd key.")


def _check_faketensor(op: OperatorDef, args: tuple, kwargs: dict) -> None:
    if op._abstract_fn is None:
        fn_name = getattr(op, "__name__", op._name)
        raise RuntimeError(f"There was no fake impl registered for {op!r}. This is necessary for "
                           f"torch.compile/export/fx tracing to work. Please use `{fn_name}.register_fake` to add an "
                           "fake impl.")
    values = op._bind(_clone_args(args), _clone_args(kwargs))
    pos, kw = op._call_kwargs(values)
    with no_grad():
        real = op(*pos, **kw)
        fake = op._abstract_fn(*_clone_args(pos), **_clone_args(kw))
    reals = real if isinstance(real, (list, tuple)) else (real,)
    fakes = fake if isinstance(fake, (list, tuple)) else (fake,)
    for r, f in zip(reals, fakes, strict=True):
        if isinstance(r, Tensor):
            for what, a, b in (("Shapes", r.shape, f.shape), ("Dtypes", r.dtype, f.dtype),
                               ("Devices", r.device, f.device)):
                if a != b:
                    raise RuntimeError(f"When comparing the output of {op._namespace}.{op._name}.default on "
                                       f"FakeTensor and concrete Tensors, found mismatched tensor metadata: {what} "
                                       f"{a} and {b} are not equal!")


def _check_dispatch(op: OperatorDef, args: tuple, kwargs: dict) -> None:
    from .testing import assert_close
    runs = []
    for _ in range(2):
        call_args, call_kwargs = _clone_args(args), _clone_args(kwargs)
        out = op(*call_args, **call_kwargs)
        outs = [o for o in (out if isinstance(out, (list, tuple)) else (out,)) if isinstance(o, Tensor)]
        inputs = [t for v in (*call_args, *call_kwargs.values())
                  for t in (v if isinstance(v, (list, tuple)) else (v,)) if isinstance(t, Tensor) and t.requires_grad]
        grads: list[Any] = []
        diff = [o for o in outs if o.requires_grad]
        if inputs and diff:
            from .autograd import grad
            grads = list(grad(diff, inputs, [o.detach() * 0 + 1 for o in diff], allow_unused=True))
        runs.append(([o.detach() for o in outs], [g for g in grads if g is not None]))
    for a, b in zip(runs[0][0] + runs[0][1], runs[1][0] + runs[1][1], strict=True):
        assert_close(a, b)


_CHECKS: dict[str, Callable[[OperatorDef, tuple, dict], None]] = {
    "test_schema": _check_schema, "test_autograd_registration": _check_autograd_registration,
    "test_faketensor": _check_faketensor, "test_aot_dispatch_static": _check_dispatch,
    "test_aot_dispatch_dynamic": _check_dispatch}


# ---- ember.ops.<namespace>.<name> ------------------------------------------------------------------------------
class OpOverload:
    """One overload of an operator (``ember.ops.ns.name.default``); calling it calls the operator."""

    def __init__(self, packet: OpOverloadPacket, overload: str) -> None:
        self.overloadpacket = packet
        self._overloadname = overload
        self.namespace = packet.namespace
        self._op = packet._op
        self.__name__ = f"{packet._opname}.{overload}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _slow(self, self._op, args, kwargs)   # (Proxies and modes see the overload, as torch's)

    def name(self) -> str:
        return f"{self.namespace}::{self.overloadpacket._opname}" + \
            ("" if self._overloadname == "default" else f".{self._overloadname}")

    @property
    def _schema(self) -> Any:
        return self._op._fschema

    def __eq__(self, other: object) -> bool:
        """Overloads are equal when they name the same operator (torch's are singletons, compared by identity)."""
        return isinstance(other, OpOverload) and (self.namespace, self.overloadpacket._opname, self._overloadname) \
            == (other.namespace, other.overloadpacket._opname, other._overloadname)

    def __hash__(self) -> int:
        return hash((self.namespace, self.overloadpacket._opname, self._overloadname))

    def __repr__(self) -> str:
        return f"<OpOverload(op='{self.namespace}.{self.overloadpacket._opname}', overload='{self._overloadname}')>"

    def __str__(self) -> str:
        return f"{self.namespace}.{self.overloadpacket._opname}.{self._overloadname}"


class OpOverloadPacket:
    """An operator with all its overloads (``ember.ops.ns.name``); ``.default`` (and, for aten, any overload
    name) selects one."""

    def __init__(self, namespace: str, opname: str, op: Any) -> None:
        self.namespace = namespace
        self._opname = opname
        self._op = op
        self.__name__ = opname

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _slow(self, self._op, args, kwargs)   # (Proxies and modes see the packet, as torch's)

    def __getattr__(self, overload: str) -> OpOverload:
        if overload.startswith("__") or (overload != "default" and self.namespace != "aten"):
            raise AttributeError(f"The underlying op of '{self}' has no overload name '{overload}'")
        return OpOverload(self, overload)

    def overloads(self) -> list[str]:
        return ["default"]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OpOverloadPacket) and (self.namespace, self._opname) == \
            (other.namespace, other._opname)

    def __hash__(self) -> int:
        return hash((self.namespace, self._opname))

    def __repr__(self) -> str:
        return f"<OpOverloadPacket(op='{self.namespace}.{self._opname}')>"

    def __str__(self) -> str:
        return f"{self.namespace}.{self._opname}"


class OpNamespace:
    """``ember.ops.<namespace>``: the operators defined in it (``aten``: ember's built-in ones)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, opname: str) -> OpOverloadPacket:
        if opname.startswith("__"):
            raise AttributeError(opname)
        op = _OPS.get(f"{self.name}::{opname}")
        if op is None and self.name == "aten":
            op = _builtin(opname)
        if op is None and self.name == "profiler":
            from .autograd import profiler
            op = {"_record_function_enter": profiler._record_function_enter,
                  "_record_function_enter_new": profiler._record_function_enter,
                  "_record_function_exit": profiler._record_function_exit}.get(opname)
        if op is None:
            raise AttributeError(f"'_OpNamespace' '{self.name}' object has no attribute '{opname}'")
        return OpOverloadPacket(self.name, opname, op)

    def __repr__(self) -> str:
        return f"<module 'torch.ops.{self.name}'>"


def _builtin(opname: str) -> Callable | None:
    """ember's implementation of the aten operator ``opname`` (a function, a Tensor method such as ``add_``,
    or an ``nn.functional`` entry)."""
    import ember
    from ember.nn import functional as F
    for source in (ember, Tensor, F):
        fn = getattr(source, opname, None)
        if callable(fn) and not isinstance(fn, type):
            return fn
    return None
