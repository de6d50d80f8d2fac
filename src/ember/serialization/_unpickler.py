"""The weights-only unpickler: reads a checkpoint's pickle without ever importing or calling anything
outside an allowlist (torch's defaults plus what the user allowlisted).

It implements exactly the opcodes torch's weights-only unpickler implements (what protocol 2 emits for
tensors, containers and scalars); anything else is refused. Every refusal is a
:class:`pickle.UnpicklingError` naming what was refused.
"""

from __future__ import annotations

import _compat_pickle
import importlib
import pickle
import pickletools
import struct
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any, BinaryIO

from .._core.warn import warn
from .._tensor import Size, Tensor
from ._globals import _rebuild_tensor, _set_state, parameter_class, tensor_classes, torch_globals

__all__ = [
    "WeightsUnpickler",
    "add_safe_globals",
    "clear_safe_globals",
    "get_safe_globals",
    "safe_globals",
    "user_globals",
]

_BLOCKED_MODULES = ("sys", "os", "posix", "nt")  # never allowed, even when allowlisted
_safe: set[Any] = set()


def add_safe_globals(safe_globals: list[Callable | tuple[Callable, str]]) -> None:
    """Allow these globals in ``weights_only`` loads: objects, or ``(object, "module.qualname")`` pairs."""
    for g in safe_globals:
        _name_of(g)  # validate before changing anything
    _safe.update(safe_globals)


def get_safe_globals() -> list[Callable | tuple[Callable, str]]:
    """The globals added by :func:`add_safe_globals`."""
    return list(_safe)


def clear_safe_globals() -> None:
    """Forget every global added by :func:`add_safe_globals`."""
    _safe.clear()


class safe_globals:
    """Context manager allowing ``safe_globals`` in ``weights_only`` loads inside its block."""

    def __init__(self, safe_globals: list[Callable | tuple[Callable, str]]) -> None:
        self.safe_globals = safe_globals
        self._added: list[Any] = []

    def __enter__(self) -> None:
        self._added = [g for g in self.safe_globals if g not in _safe]
        add_safe_globals(self._added)

    def __exit__(self, *exc: object) -> None:
        _safe.difference_update(self._added)


def _name_of(g: Any) -> tuple[str, Any]:
    if isinstance(g, tuple):
        if len(g) != 2:
            raise ValueError(
                f"Expected tuple of length 2 (global, str of callable full path), but got tuple of "
                f"length: {len(g)}"
            )
        if type(g[1]) is not str:
            raise TypeError(
                f"Expected second item in tuple to be str of callable full path, but got: {type(g[1])}"
            )
        return g[1], g[0]
    return f"{g.__module__}.{g.__qualname__}", g


def user_globals() -> dict[str, Any]:
    """Full name → object for every user-allowlisted global."""
    return dict(_name_of(g) for g in _safe)


def _py3_name(module: str, name: str) -> tuple[str, str]:
    """A GLOBAL's (module, name) as Python 3 names it (protocol 2 writes Python 2's ``__builtin__`` & co.)."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def unsafe_globals(pkl: bytes) -> list[str]:
    """The globals the pickle ``pkl`` names that weights-only loading would refuse, found without running it."""
    allowed = {**torch_globals(), **user_globals()}
    found = set()
    for op, arg, _ in pickletools.genops(pkl):
        if op.name == "GLOBAL":
            full = ".".join(_py3_name(*arg.split(" ", 1)))
            if full not in allowed:
                found.add(full)
    return sorted(found)


def _ember_counterpart(module: str, name: str) -> Any:
    """ember's object at torch's path ``module.name`` (``torch.nn.modules.dropout.Dropout`` ->
    ``ember.nn.modules.dropout.Dropout``), or None; imports only ember's own modules."""
    if module != "torch" and not module.startswith("torch."):
        return None
    try:
        return getattr(importlib.import_module("ember" + module[len("torch"):]), name, None)
    except ImportError:
        return None


class _LoaderError(Exception):
    """An error of ``persistent_load`` (the loader's code or a user's ``map_location``), which ``load``
    raises as it is, as torch does, rather than as a malformed pickle."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


def _refuse(msg: str) -> pickle.UnpicklingError:
    return pickle.UnpicklingError(msg)


class WeightsUnpickler:
    """A pickle reader that only builds allowlisted objects; ``persistent_load`` supplies storages."""

    def __init__(
        self, file: BinaryIO, persistent_load: Callable[[Any], Any], encoding: str = "utf-8"
    ) -> None:
        self.read = file.read
        self.readline = file.readline
        self.persistent_load = persistent_load
        self.encoding = encoding
        self.allowed = torch_globals()
        self.user = user_globals()
        self.callable_ids = {id(v) for v in (*self.allowed.values(), *self.user.values())}
        self.tensor_classes = tensor_classes()
        self.parameter = parameter_class()

    def _read(self, n: int) -> bytes:
        data = self.read(n)
        if len(data) != n:
            raise _refuse("pickle data was truncated")
        return data

    def load(self) -> Any:
        """Read one pickle from the file; returns the object it describes."""
        try:
            return self._load()
        except _LoaderError as e:
            raise e.error from None
        except (
            IndexError,
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            struct.error,
            OverflowError,
            RecursionError,
        ) as e:
            if isinstance(e, pickle.UnpicklingError):
                raise
            raise _refuse(f"malformed pickle ({type(e).__name__}: {e})") from None

    def _global(self) -> Any:
        module, name = _py3_name(self.readline()[:-1].decode("utf-8"), self.readline()[:-1].decode("utf-8"))
        full = f"{module}.{name}"
        if module in _BLOCKED_MODULES or module.split(".")[0] in _BLOCKED_MODULES:
            raise _refuse(f"Trying to load unsupported GLOBAL {full} whose module {module} is blocked.")
        if full in self.allowed:
            return self.allowed[full]
        if full in self.user:
            return self.user[full]
        counterpart = _ember_counterpart(module, name)
        if counterpart is not None and any(counterpart is v for v in self.user.values()):
            return counterpart   # a torch file naming a class the user allowlisted as ember's (import ember as torch)
        shown = full[len("builtins.") :] if full.startswith("builtins.") else full
        raise _refuse(
            f"Unsupported global: GLOBAL {shown} was not an allowed global by default. Please use "
            f"`ember.serialization.add_safe_globals([{shown}])` or the "
            f"`ember.serialization.safe_globals([{shown}])` context manager to allowlist this global "
            "if you trust this class/function."
        )

    def _guard(self, func: Any, args: Any) -> None:
        """Refuse calls that would let the file allocate or iterate without bound."""
        if not isinstance(args, tuple):
            raise _refuse(f"call arguments must be a tuple, got {type(args).__name__}")
        if func in self.tensor_classes and args:  # Tensor(n) allocates what the file asks for
            raise _refuse(
                f"Refusing to construct {func!r} from {args!r}: checkpoints rebuild tensors from "
                "their storages"
            )
        if func in (set, Counter, OrderedDict, Size) and any(isinstance(a, Tensor) for a in args):
            raise _refuse(f"Refusing to build {func.__name__} by iterating over a tensor")
        if func is Size and not (len(args) == 1 and isinstance(args[0], (tuple, list))):
            raise _refuse(f"invalid torch.Size arguments {args!r}")

    def _call(self, func: Any, args: Any) -> Any:
        if id(func) not in self.callable_ids:
            raise _refuse(f"Trying to call reduce for unrecognized function {func!r}")
        self._guard(func, args)
        return func(*args)

    def _build(self, inst: Any, state: Any) -> None:
        if type(inst) is OrderedDict:
            if not isinstance(state, dict):
                raise _refuse("OrderedDict state must be a dict")
            inst.__dict__.update(state)
        elif isinstance(inst, Tensor) and (type(inst) is Tensor or type(inst) is self.parameter):
            if isinstance(state, tuple) and len(state) == 4:  # legacy: (storage, offset, size, stride)
                src = _rebuild_tensor(*state)
                inst._data, inst._dtype, inst._device = src._data, src._dtype, src._device
            else:
                _set_state(inst, state)
        elif type(inst) in self.user.values() or type(inst) in self.allowed.values():
            if getattr(type(inst), "__setstate__", None) is not None:
                inst.__setstate__(state)
            else:
                slots = None
                if isinstance(state, tuple) and len(state) == 2:
                    state, slots = state
                if state:
                    inst.__dict__.update(state)
                for k, v in (slots or {}).items():
                    setattr(inst, k, v)
        else:
            raise _refuse(
                "Can only build Tensor, Parameter, OrderedDict or types allowlisted via "
                f"`add_safe_globals`, but got {type(inst)}"
            )

    def _load(self) -> Any:
        read, _read = self.read, self._read
        stack: list[Any] = []
        metastack: list[list[Any]] = []
        memo: dict[int, Any] = {}

        def pop_mark() -> list[Any]:
            nonlocal stack
            items = stack
            stack = metastack.pop()
            return items

        while True:
            key = read(1)
            if not key:
                raise EOFError("Ran out of input")
            op = key[0]
            if op == 0x63:  # GLOBAL
                stack.append(self._global())
            elif op == 0x81:  # NEWOBJ
                args = stack.pop()
                cls = stack.pop()
                if self.parameter is not None and cls is self.parameter:
                    stack.append(cls(*args))
                elif id(cls) in self.callable_ids and isinstance(cls, type):
                    self._guard(cls, args)
                    stack.append(cls() if cls in self.tensor_classes else cls.__new__(cls, *args))
                else:
                    raise _refuse(
                        "Can only create new object for nn.Parameter or classes allowlisted via "
                        f"`add_safe_globals` but got {cls}"
                    )
            elif op == 0x52:  # REDUCE
                args = stack.pop()
                stack[-1] = self._call(stack[-1], args)
            elif op == 0x62:  # BUILD
                state = stack.pop()
                self._build(stack[-1], state)
            elif op == 0x61:  # APPEND
                item = stack.pop()
                if type(stack[-1]) is not list:
                    raise _refuse(f"Can only append to lists, but got {type(stack[-1])}")
                stack[-1].append(item)
            elif op == 0x65:  # APPENDS
                items = pop_mark()
                if type(stack[-1]) is not list:
                    raise _refuse(f"Can only extend lists, but got {type(stack[-1])}")
                stack[-1].extend(items)
            elif op in (0x73, 0x75):  # SETITEM, SETITEMS
                items = [stack.pop(-2), stack.pop()] if op == 0x73 else pop_mark()
                target = stack[-1]
                if type(target) not in (dict, OrderedDict, Counter):
                    raise _refuse(
                        f"Can only {'SETITEM' if op == 0x73 else 'SETITEMS'} for dict, "
                        f"collections.OrderedDict, collections.Counter, but got {type(target)}"
                    )
                if len(items) % 2:
                    raise _refuse("SETITEMS with an odd number of items")
                for i in range(0, len(items), 2):
                    target[items[i]] = items[i + 1]
            elif op == 0x28:  # MARK
                metastack.append(stack)
                stack = []
            elif op == 0x74:  # TUPLE
                items = pop_mark()
                stack.append(tuple(items))
            elif op == 0x85:  # TUPLE1
                stack[-1] = (stack[-1],)
            elif op == 0x86:  # TUPLE2
                stack[-2:] = [(stack[-2], stack[-1])]
            elif op == 0x87:  # TUPLE3
                stack[-3:] = [(stack[-3], stack[-2], stack[-1])]
            elif op == 0x4E:  # NONE
                stack.append(None)
            elif op == 0x89:  # NEWFALSE
                stack.append(False)
            elif op == 0x88:  # NEWTRUE
                stack.append(True)
            elif op == 0x29:  # EMPTY_TUPLE
                stack.append(())
            elif op == 0x5D:  # EMPTY_LIST
                stack.append([])
            elif op == 0x7D:  # EMPTY_DICT
                stack.append({})
            elif op == 0x8F:  # EMPTY_SET
                stack.append(set())
            elif op == 0x4A:  # BININT
                stack.append(struct.unpack("<i", _read(4))[0])
            elif op == 0x4B:  # BININT1
                stack.append(_read(1)[0])
            elif op == 0x4D:  # BININT2
                stack.append(struct.unpack("<H", _read(2))[0])
            elif op == 0x47:  # BINFLOAT
                stack.append(struct.unpack(">d", _read(8))[0])
            elif op == 0x58:  # BINUNICODE
                n = struct.unpack("<I", _read(4))[0]
                stack.append(str(_read(n), "utf-8", "surrogatepass"))
            elif op == 0x55:  # SHORT_BINSTRING
                data = _read(_read(1)[0])
                stack.append(data if self.encoding == "bytes" else data.decode(self.encoding, "strict"))
            elif op == 0x51:  # BINPERSID
                pid = stack.pop()
                if type(pid) is not tuple or not pid or pid[0] not in ("storage", b"storage"):
                    raise _refuse(f"Only persistent_load of storage is allowed, but got {pid!r}")
                try:
                    stack.append(self.persistent_load(pid))
                except Exception as e:   # noqa: BLE001 - any error of the caller's own code
                    raise _LoaderError(e) from None
            elif op in (0x68, 0x6A):  # BINGET, LONG_BINGET
                idx = _read(1)[0] if op == 0x68 else struct.unpack("<I", _read(4))[0]
                if idx not in memo:
                    raise _refuse(f"Memo value not found at index {idx}")
                stack.append(memo[idx])
            elif op in (0x71, 0x72):  # BINPUT, LONG_BINPUT
                idx = _read(1)[0] if op == 0x71 else struct.unpack("<I", _read(4))[0]
                memo[idx] = stack[-1]
            elif op == 0x8A:  # LONG1
                stack.append(pickle.decode_long(_read(_read(1)[0])))
            elif op == 0x80:  # PROTO
                proto = _read(1)[0]
                if proto != 2:
                    warn(
                        f"Detected pickle protocol {proto} in the checkpoint; ember writes (and its "
                        "weights_only loader is made for) protocol 2, so some opcodes may be refused.",
                        UserWarning,
                        stacklevel=4,
                    )
            elif op == 0x2E:  # STOP
                return stack.pop()
            else:
                raise _refuse(f"Unsupported operand {op}")
