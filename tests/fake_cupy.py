"""A CuPy stand-in on NumPy, to run ember's cuda code paths on a machine without a GPU.

Its arrays are not ``numpy.ndarray``s (so ember takes its GPU branches) and behave as CuPy's where that
matters for portability: NumPy refuses to convert them implicitly (``np.asarray(x)`` raises, as CuPy's
``__array__`` does); NumPy functions and ufuncs called on them dispatch to this namespace as CuPy's
``__array_function__`` / ``__array_ufunc__`` do, and fail for names CuPy lacks; namespace functions refuse
NumPy array operands; reductions and integer indexing give 0-d arrays, not scalars; there is no
``__index__``; ufunc methods exist only where CuPy implements them. When CuPy is installed, a name it lacks
is missing here too. Raw CUDA kernels (``ElementwiseKernel``) cannot run and raise ``NotImplementedError``.

It finds portability bugs; it says nothing of speed or of CuPy's numerics. Install with ``install()``.
"""

from __future__ import annotations

import contextlib
import functools
import types
from typing import Any

import numpy as np

try:
    import cupy as _real
except ImportError:  # the checks against CuPy's namespace then use this module's own rules only
    _real = None

UFUNC_METHODS = {"reduce": {"add", "multiply"}, "accumulate": {"add", "multiply"}, "reduceat": {"add"},
                 "outer": None, "at": {"add", "subtract", "maximum", "minimum", "bitwise_and", "bitwise_or",
                                       "bitwise_xor"}}
TAKES_HOST_ARRAYS = {"asarray", "array", "asanyarray", "ascontiguousarray", "from_dlpack", "asnumpy"}
_STABLE_SORTS = {"sort", "argsort", "ndarray.sort", "ndarray.argsort"}
SYNCS = [0]   # device → host reads (item, float(), bool(), tolist, get): a counter tests may look at


# what CuPy 14 lacks of NumPy's that ember might reach for, for when CuPy itself is not installed
_LACKS = {"vecdot", "matvec", "vecmat"}
_NDARRAY_LACKS = {"itemset", "setflags", "resize", "getfield", "setfield", "newbyteorder", "to_device"}


def _has(path: str) -> bool:
    if _real is None:
        return path not in _LACKS
    obj = _real
    for part in path.split("."):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


def unwrap(x: Any, where: str, host_ok: bool = False) -> Any:
    """Arguments for NumPy: fake arrays become their ndarrays; a raw ndarray is refused, as CuPy refuses it."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, np.ndarray) and not host_ok:
        raise TypeError(f"fake cupy: {where} got a numpy.ndarray operand (CuPy raises 'Unsupported type "
                        f"<class 'numpy.ndarray'>'); move it to the device first")
    if isinstance(x, (list, tuple)):
        return type(x)(unwrap(v, where, host_ok) for v in x)
    if isinstance(x, dict):
        return {k: unwrap(v, where, host_ok) for k, v in x.items()}
    return x


def _wrapped(shape: tuple[int, ...], key: Any) -> Any:
    """``key`` with out-of-range integer-array entries taken modulo their dim: CuPy does not bounds-check
    index arrays on the GPU (it wraps), and ember reports such indices at the next host read instead."""
    parts = key if isinstance(key, tuple) else (key,)
    if any(p is None or p is Ellipsis or (isinstance(p, np.ndarray) and p.dtype == bool) for p in parts):
        raise IndexError("fake cupy: cannot wrap this out-of-range key")
    return tuple(p % shape[d] if isinstance(p, np.ndarray) and shape[d] else p for d, p in enumerate(parts))


def wrap(x: Any) -> Any:
    """NumPy results as CuPy's: arrays wrapped, array scalars as 0-d arrays."""
    if isinstance(x, np.ndarray):
        return ndarray(x)
    if isinstance(x, np.generic):
        return ndarray(np.asarray(x))
    if isinstance(x, tuple):
        return tuple(wrap(v) for v in x)
    if isinstance(x, list):
        return [wrap(v) for v in x]
    return x


def _function(name: str, fn: Any) -> Any:
    host_ok = name.rsplit(".", 1)[-1] in TAKES_HOST_ARRAYS

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        if name in _STABLE_SORTS:   # CuPy sorts stably and refuses any other kind=
            if kwargs.get("kind") not in (None, "stable"):
                raise ValueError("kind can only be None or 'stable'")
            kwargs["kind"] = "stable"
        if name in ("take", "ndarray.take"):   # CuPy wraps out-of-range indices rather than raising
            kwargs["mode"] = "wrap"
        if name == "ravel_multi_index":   # CuPy's default mode is 'wrap' (NumPy's 'raise')
            kwargs.setdefault("mode", "wrap")
        if name == "asnumpy":
            SYNCS[0] += 1
            return np.array(unwrap(args[0], name, True))
        return wrap(fn(*unwrap(args, name, host_ok), **unwrap(kwargs, name, host_ok)))
    return call


class ufunc:
    """A NumPy ufunc with CuPy's call keywords and CuPy's subset of methods."""

    def __init__(self, u: np.ufunc) -> None:
        self._u, self.__name__ = u, u.__name__
        self.nin, self.nout = u.nin, u.nout

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        bad = set(kwargs) - {"out", "dtype", "casting"}
        if bad:
            raise TypeError(f"fake cupy: {self.__name__}() got unexpected keyword arguments {sorted(bad)}")
        return wrap(self._u(*unwrap(args, self.__name__), **unwrap(kwargs, self.__name__)))

    def __getattr__(self, method: str) -> Any:
        allowed = UFUNC_METHODS.get(method, ())
        if allowed == () or (allowed is not None and self.__name__ not in allowed):
            raise NotImplementedError(f"fake cupy: CuPy has no {self.__name__}.{method}")
        return _function(f"{self.__name__}.{method}", getattr(self._u, method))


class _Namespace(types.ModuleType):
    """A CuPy (sub)module over the NumPy (sub)module ``src``."""

    def __init__(self, path: str, src: Any, extra: dict[str, Any] | None = None) -> None:
        super().__init__(f"cupy{'.' + path if path else ''}")
        self._path, self._src = path, src
        self.__dict__.update(extra or {})

    def __getattr__(self, name: str) -> Any:
        full = f"{self._path}.{name}" if self._path else name
        if name.startswith("__") or not _has(full) or not hasattr(self._src, name):
            raise AttributeError(f"module 'cupy{'.' + self._path if self._path else ''}' has no attribute '{name}'")
        obj = getattr(self._src, name)
        if isinstance(obj, np.ufunc):
            obj = ufunc(obj)
        elif isinstance(obj, types.ModuleType):
            obj = _Namespace(full, obj)
        elif callable(obj) and not isinstance(obj, type):
            obj = _function(full, obj)
        self.__dict__[name] = obj
        return obj


class _Flags:
    def __init__(self, a: np.ndarray) -> None:
        self.c_contiguous, self.f_contiguous = a.flags.c_contiguous, a.flags.f_contiguous
        self.owndata = a.flags.owndata

    def __getitem__(self, key: str) -> bool:
        return {"C_CONTIGUOUS": self.c_contiguous, "F_CONTIGUOUS": self.f_contiguous,
                "OWNDATA": self.owndata}[key]


class _Memory:
    def __init__(self, a: np.ndarray) -> None:
        self.ptr = a.__array_interface__["data"][0]
        self.device_id = 0


_BINARY = ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor", "lshift",
           "rshift", "lt", "le", "gt", "ge", "eq", "ne")


class ndarray:
    """A device array: an ndarray inside, CuPy's manners outside."""

    __array_priority__ = 100

    def __init__(self, a: Any, dtype: Any = None) -> None:
        if not isinstance(a, np.ndarray):   # cupy.ndarray(shape, dtype)
            a = np.empty(a, dtype)
        object.__setattr__(self, "_a", a)

    # --- metadata ---------------------------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    T = property(lambda self: ndarray(self._a.T))
    mT = property(lambda self: ndarray(np.swapaxes(self._a, -1, -2)))
    flags = property(lambda self: _Flags(self._a))
    data = property(lambda self: _Memory(self._a))
    device = property(lambda self: _CUDA.Device(0))

    @property
    def base(self) -> Any:
        return None if self._a.base is None else ndarray(self._a.base) if isinstance(self._a.base, np.ndarray) \
            else None

    @shape.setter
    def shape(self, value: Any) -> None:
        self._a.shape = value

    def _part(name: str) -> property:  # type: ignore[misc]
        def get(self: ndarray) -> ndarray:
            return ndarray(getattr(self._a, name))

        def put(self: ndarray, value: Any) -> None:
            setattr(self._a, name, unwrap(value, name))
        return property(get, put)

    real, imag = _part("real"), _part("imag")

    # --- host transfer ----------------------------------------------------------------------------------
    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct "
                        "a NumPy array explicitly.")

    def get(self, stream: Any = None, order: str = "C", out: Any = None, blocking: bool = True) -> np.ndarray:
        SYNCS[0] += 1
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order)

    def set(self, arr: np.ndarray, stream: Any = None) -> None:
        self._a[...] = arr

    def _sync(self) -> np.ndarray:
        SYNCS[0] += 1
        return self._a

    def item(self, *args: Any) -> Any:
        return self._sync().item(*args)

    def tolist(self) -> Any:
        return self._sync().tolist()

    def __float__(self) -> float:
        return float(self._sync())

    def __int__(self) -> int:
        return int(self._sync())

    def __complex__(self) -> complex:
        return complex(self._sync())

    def __bool__(self) -> bool:
        return bool(self._sync())

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Any:
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (ndarray(self._a[i]) for i in range(len(self._a)))

    def __repr__(self) -> str:
        return repr(self._a)

    __str__ = __repr__

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        return self._a.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        return (2, 0)

    # --- everything else: NumPy's method, CuPy's results ---------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in _NDARRAY_LACKS or (_real is not None and not hasattr(_real.ndarray, name)):
            raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}'")
        attr = getattr(self._a, name)
        return _function(f"ndarray.{name}", attr) if callable(attr) else wrap(attr)

    def __getitem__(self, key: Any) -> Any:
        key = unwrap(key, "__getitem__")
        try:
            return wrap(self._a[key])
        except IndexError:
            return wrap(self._a[_wrapped(self._a.shape, key)])

    def __setitem__(self, key: Any, value: Any) -> None:
        key = unwrap(key, "__setitem__")
        value = unwrap(value, "__setitem__", True)
        try:
            self._a[key] = value
        except IndexError:
            self._a[_wrapped(self._a.shape, key)] = value

    def __neg__(self) -> Any:
        return wrap(-self._a)

    def __pos__(self) -> Any:
        return wrap(+self._a)

    def __abs__(self) -> Any:
        return wrap(abs(self._a))

    def __invert__(self) -> Any:
        return wrap(~self._a)

    def __copy__(self) -> Any:
        return ndarray(self._a.copy())

    def __deepcopy__(self, memo: Any) -> Any:
        return ndarray(self._a.copy())

    def __reduce__(self) -> Any:
        return (_from_host, (self._a.copy(),))

    def __array_ufunc__(self, uf: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """NumPy's ufunc on a device array runs CuPy's ufunc of that name (CuPy's own dispatch)."""
        cu = getattr(_NS, uf.__name__, None)
        if cu is None:
            return NotImplemented
        fn = cu if method == "__call__" else getattr(cu, method)
        return fn(*inputs, **kwargs)

    def __array_function__(self, func: Any, types_: Any, args: Any, kwargs: Any) -> Any:
        """NumPy's function on a device array runs CuPy's function of that name, or fails as CuPy's does."""
        mod = func.__module__.removeprefix("numpy").lstrip(".")
        ns: Any = _NS
        for part in [p for p in mod.split(".") if p and p not in ("_core", "core", "lib") or p == "linalg"]:
            ns = getattr(ns, part, None)
        target = getattr(ns, func.__name__, None) if ns is not None else None
        if target is None:
            return NotImplemented
        return target(*args, **kwargs)


def _binary(op: str) -> None:
    def fwd(self: ndarray, other: Any) -> Any:
        return wrap(getattr(self._a, f"__{op}__")(unwrap(other, f"__{op}__")))

    def rev(self: ndarray, other: Any) -> Any:
        return wrap(getattr(self._a, f"__r{op}__")(unwrap(other, f"__r{op}__")))

    def inplace(self: ndarray, other: Any) -> Any:
        getattr(self._a, f"__i{op}__")(unwrap(other, f"__i{op}__"))
        return self
    setattr(ndarray, f"__{op}__", fwd)
    if op not in ("lt", "le", "gt", "ge", "eq", "ne"):
        setattr(ndarray, f"__r{op}__", rev)
        setattr(ndarray, f"__i{op}__", inplace)


for _op in _BINARY:
    _binary(_op)
ndarray.__hash__ = None  # type: ignore[assignment]


def _from_host(a: np.ndarray) -> ndarray:
    return ndarray(a)


# --- the CUDA runtime, as far as ember uses it ---------------------------------------------------------------
class _Runtime:
    streamCaptureModeRelaxed = 2

    @staticmethod
    def getDeviceCount() -> int:
        return 1

    @staticmethod
    def getDevice() -> int:
        return 0

    @staticmethod
    def deviceSynchronize() -> None:
        return None

    @staticmethod
    def setDevice(i: int) -> None:
        return None

    @staticmethod
    def memGetInfo() -> tuple[int, int]:
        return 140 << 30, 141 << 30

    @staticmethod
    def getDeviceProperties(i: int) -> dict:
        return {"name": b"Fake H200", "totalGlobalMem": 141 << 30, "major": 9, "minor": 0,
                "multiProcessorCount": 132, "warpSize": 32, "l2CacheSize": 60 << 20}

    @staticmethod
    def runtimeGetVersion() -> int:
        return 13000

    @staticmethod
    def driverGetVersion() -> int:
        return 13000


class _Stream:
    null: _Stream

    def __init__(self, null: bool = False, non_blocking: bool = False, priority: int = 0, ptr: int = 0) -> None:
        self.ptr = 0 if null else id(self)
        self.priority = priority

    def __enter__(self) -> _Stream:
        _CURRENT.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _CURRENT.pop()

    def use(self) -> _Stream:
        _CURRENT[-1] = self
        return self

    def synchronize(self) -> None:
        return None

    def record(self, event: Any = None) -> _Event:
        return event if event is not None else _Event()

    def wait_event(self, event: Any) -> None:
        return None

    def done(self) -> bool:   # type: ignore[override]
        return True

    def begin_capture(self, mode: Any = None) -> None:
        raise NotImplementedError("fake cupy: CUDA graphs cannot be captured")

    @property
    def is_capturing(self) -> bool:
        return False


_Stream.null = _Stream(null=True)
_CURRENT: list[_Stream] = [_Stream.null]


class _Event:
    def __init__(self, block: bool = False, disable_timing: bool = False, interprocess: bool = False) -> None:
        self.ptr, self.done = id(self), True

    def record(self, stream: Any = None) -> None:
        return None

    def synchronize(self) -> None:
        return None


class _Device:
    def __init__(self, device: int | None = None) -> None:
        self.id = 0 if device is None else int(device)
        self.compute_capability = "90"

    def __enter__(self) -> _Device:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def use(self) -> None:
        return None

    def synchronize(self) -> None:
        return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Device) and other.id == self.id

    def __hash__(self) -> int:
        return self.id


class _Pool:
    def __init__(self) -> None:
        self._used = 0

    def used_bytes(self) -> int:
        return self._used

    def total_bytes(self) -> int:
        return self._used

    def free_all_blocks(self) -> None:
        return None

    def malloc(self, size: int) -> _Memory:
        return _Memory(np.empty(0))

    def n_free_blocks(self) -> int:
        return 0

    def set_limit(self, size: int | None = None, fraction: float | None = None) -> None:
        return None

    def get_limit(self) -> int:
        return 0


class _OutOfMemory(MemoryError):
    pass


def _philox(ctr: np.ndarray, key: int) -> list[np.ndarray]:
    """Philox4x32-10 of 64-bit counters ``ctr`` under ``key`` (the four 32-bit output words)."""
    m32 = np.uint64(0xFFFFFFFF)
    c0, c1 = ctr & m32, ctr >> np.uint64(32)
    c2, c3 = np.zeros_like(ctr), np.zeros_like(ctr)
    k0, k1 = np.uint64(key & 0xFFFFFFFF), np.uint64(key >> 32)
    for _ in range(10):
        p0, p1 = np.uint64(0xD2511F53) * c0, np.uint64(0xCD9E8D57) * c2
        hi0, lo0, hi1, lo1 = p0 >> np.uint64(32), p0 & m32, p1 >> np.uint64(32), p1 & m32
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0, k1 = (k0 + np.uint64(0x9E3779B9)) & m32, (k1 + np.uint64(0xBB67AE85)) & m32
    return [c0, c1, c2, c3]


def _philox_kernel(kind: str) -> Any:
    """ember's Philox ElementwiseKernels (ops/_philox.py), computed on the host: counter ``offset + i``."""
    def run(*args: Any) -> None:
        out = args[-1]
        n = out.size
        head = args[:1] if kind.startswith("bernoulli") else ()
        offset, seed = int(args[len(head)]), int(args[len(head) + 1])
        tail = args[len(head) + 2:-1]
        w = _philox(np.arange(n, dtype=np.uint64) + np.uint64(offset), seed)
        if kind == "normal":
            u1 = (w[0].astype(np.float64) + 1.0) / 4294967296.0
            u2 = w[1].astype(np.float64) / 4294967296.0
            val = tail[0] + tail[1] * (np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2))
        else:
            u = (((w[0] << np.uint64(32)) | w[1]) >> np.uint64(11)).astype(np.float64) / 9007199254740992.0
            if kind == "uniform":
                val = tail[0] + tail[1] * u
            else:
                p = head[0]._a.reshape(-1).astype(np.float64) if isinstance(head[0], ndarray) else float(head[0])
                val = (u < p).astype(np.float64)
        out._a.reshape(-1)[...] = val.astype(out.dtype)
    return run


def _f64(x: Any) -> Any:
    return x._a.astype(np.float64) if isinstance(x, ndarray) else np.float64(x)


def _fused_kernel(name: str) -> Any:
    """ember's fused optimizer kernels (optim/_fused.py) in float64 on the host, each state rounded once."""
    def sgd(g: Any, lr: Any, momentum: Any, dampening: Any, wd: Any, nesterov: Any, first: Any, maximize: Any,
            p: ndarray, buf: ndarray | None = None) -> None:
        t = p.dtype
        gr = -_f64(g) if maximize else _f64(g)
        if wd != 0.0:
            gr = (gr + wd * _f64(p)).astype(t).astype(np.float64)
        if buf is not None:
            b = (gr if first else _f64(buf) * momentum + (1.0 - dampening) * gr).astype(t)
            buf._a[...] = b
            gr = (gr + momentum * b.astype(np.float64)).astype(t).astype(np.float64) if nesterov \
                else b.astype(np.float64)
        p._a[...] = (_f64(p) - lr * gr).astype(t)

    def adam(*args: Any) -> None:
        capturable = name.endswith("capturable")
        n_in = 9 if capturable else 10
        g, outs = args[0], args[n_in:]
        lr, b1, b2, eps, wd, decoupled, maximize = args[n_in - 7:n_in]
        if capturable:
            step = _f64(args[1])
            step_size, bc2 = lr / (1.0 - b1 ** step), np.sqrt(1.0 - b2 ** step)
        else:
            step_size, bc2 = args[1], args[2]
        p, m, v = outs[:3]
        t = p.dtype
        gr = -_f64(g) if maximize else _f64(g)
        pv = _f64(p)
        if wd != 0.0:
            if decoupled:
                pv = (pv * (1.0 - lr * wd)).astype(t).astype(np.float64)
            else:
                gr = (gr + wd * pv).astype(t).astype(np.float64)
        m._a[...] = (_f64(m) + (1.0 - b1) * (gr - _f64(m))).astype(t)
        v._a[...] = (_f64(v) * b2 + (1.0 - b2) * gr * gr).astype(t)
        vu = _f64(v)
        if len(outs) == 4:
            vu = np.fmax(_f64(outs[3]), vu)
            outs[3]._a[...] = vu.astype(t)
        p._a[...] = (pv - step_size * _f64(m) / (np.sqrt(vu) / bc2 + eps)).astype(t)
    return sgd if name.startswith("sgd") else adam


def _elementwise_kernel(in_params: str, out_params: str, operation: str, name: str, **kwargs: Any) -> Any:
    kind = name.removeprefix("ember_philox_")
    if kind in ("uniform", "normal", "bernoulli", "bernoulli_tensor"):
        return _philox_kernel(kind)
    if name.startswith("ember_fused_"):
        return _fused_kernel(name.removeprefix("ember_fused_"))
    return _unsupported(f"ElementwiseKernel {name} (a raw CUDA kernel)")


_POOL, _PINNED = _Pool(), _Pool()
_ALLOCATOR: list[Any] = [None]


def _unsupported(what: str) -> Any:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"fake cupy: {what} needs a real GPU")
    return fail


_CUDA = types.SimpleNamespace(
    runtime=_Runtime, Stream=_Stream, Event=_Event, Device=_Device,
    get_current_stream=lambda device_id=None: _CURRENT[-1],
    memory=types.SimpleNamespace(OutOfMemoryError=_OutOfMemory),
    set_allocator=lambda a=None: _ALLOCATOR.__setitem__(0, a),
    get_allocator=lambda: _ALLOCATOR[0], device=types.SimpleNamespace(get_cublas_handle=lambda: 0, Device=_Device),
    get_elapsed_time=lambda a, b: 0.0, is_available=lambda: True, Graph=_unsupported("CUDA graphs"))

_NS = _Namespace("", np, {
    "ndarray": ndarray, "ufunc": ufunc, "cuda": _CUDA, "__version__": "14.2.0-fake",
    "get_default_memory_pool": lambda: _POOL, "get_default_pinned_memory_pool": lambda: _PINNED,
    "ElementwiseKernel": _elementwise_kernel,
    "RawKernel": _unsupported("RawKernel"), "ReductionKernel": _unsupported("ReductionKernel"),
    "fuse": lambda *a, **k: (a[0] if a and callable(a[0]) else (lambda f: f)),
    "get_array_module": lambda *arrays: _NS if any(isinstance(a, ndarray) for a in arrays) else np,
    "_core": types.SimpleNamespace(set_compute_type=lambda *args: None),
    "lib": _Namespace("lib", np.lib, {"stride_tricks": _Namespace("lib.stride_tricks", np.lib.stride_tricks)}),
})
_NS.asnumpy = _function("asnumpy", np.asarray)


def namespace() -> types.ModuleType:
    """The fake ``cupy`` module."""
    return _NS


@contextlib.contextmanager
def install() -> Any:
    """Make ember see one (fake) GPU for the duration: ``device='cuda'`` tensors hold fake CuPy arrays."""
    from ember._core import device as D
    from ember._core import gemm
    from ember.ops import _philox
    from ember.optim import _fused

    # per-device state built for the fake device must not outlive it (nor real GPU state leak in)
    caches = (_philox._kernels, _philox._captures, _philox._states, _fused._kernels, gemm._handles, D._peak_bytes)
    saved = D._cupy, [dict(c) for c in caches], D.PENDING_CHECKS[:]
    D._cupy = _NS
    for c in caches:
        c.clear()
    D.PENDING_CHECKS.clear()
    try:
        yield _NS
    finally:
        D._cupy = saved[0]
        for c, old in zip(caches, saved[1], strict=True):
            c.clear()
            c.update(old)
        D.PENDING_CHECKS[:] = saved[2]
