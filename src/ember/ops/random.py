"""Random sampling with torch's CPU streams: ``manual_seed``, ``Generator``, ``rand``/``randn``/``randint``/
``randperm``/``normal``/``bernoulli``/``multinomial``/``poisson`` and the in-place ``uniform_``…

The bit-exact algorithms live in :mod:`ember._core.random`; this module turns tensors and arguments
into their calls. Values are drawn in the memory order of the output (as torch). On CUDA tensors,
``uniform_``/``normal_``/``bernoulli_`` (so rand, randn, dropout, ...) draw on the GPU from the device's
Philox generator (:mod:`._philox`); the other samplers draw the CPU stream and copy it over.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core import random as R
from .._core.device import CPU, canonical, xp_of
from .._tensor import zeros_of
from ..autograd.grad_mode import STATE, no_grad
from ..autograd.graph import Node
from . import _philox
from ._dispatch import (
    Tensor,
    bind,
    broadcast_shapes,
    check_inplace,
    factory_requires_grad,
    from_array,
    inplace,
    record,
    sized,
    write_out,
)

__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
           "set_rng_state", "rand", "rand_like", "randn", "randn_like", "randint", "randint_like", "randperm",
           "normal", "bernoulli", "multinomial", "poisson"]

_isinstance = isinstance


class Generator:
    """``torch.Generator``: an independent random stream (CPU algorithm)."""

    def __init__(self, device: Any = "cpu") -> None:
        self.device = canonical(device) if str(device) != "cpu" else CPU
        self._gen = R.Generator()
        # a cuda generator draws on its GPU with Philox (seed + offset), as torch's CUDA generators do
        self._philox = _philox.PhiloxState() if self.device.type == "cuda" else None

    def manual_seed(self, seed: int) -> Generator:
        if _isinstance(seed, Tensor):   # (torch.manual_seed takes one, through int())
            raise RuntimeError("manual_seed expected a long, but got Tensor")
        self._gen.manual_seed(seed)
        if self._philox is not None:
            self._philox.manual_seed(self._gen.initial_seed())
        return self

    def seed(self) -> int:
        return self._gen.seed()

    def initial_seed(self) -> int:
        return self._gen.initial_seed()

    def get_state(self) -> Tensor:
        if self._philox is not None:
            return from_array(self._philox.get_state(), D.uint8, CPU)
        return from_array(self._gen.get_state(), D.uint8, CPU)

    def set_state(self, new_state: Tensor) -> Generator:
        if not _isinstance(new_state, Tensor):
            raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
        if new_state._dtype is not D.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        if self._philox is not None:
            self._philox.set_state(np.asarray(new_state._data))
        else:
            self._gen.set_state(np.asarray(new_state._data))
        return self

    def clone_state(self) -> Generator:
        """A new generator of this device in this one's state."""
        g = Generator(self.device)
        g.set_state(self.get_state())
        return g

    def graphsafe_get_state(self) -> Generator:
        """A generator sharing this CUDA generator's state (CPU generators refuse, as torch's)."""
        if self._philox is None:
            raise NotImplementedError("graphsafe_get_state is not supported in this Generator")
        g = Generator(self.device)
        g._philox = self._philox
        return g

    def graphsafe_set_state(self, state: Generator) -> Generator:
        """Share the state of ``state`` (a generator from :meth:`graphsafe_get_state`; CUDA only)."""
        if not _isinstance(state, Generator):
            raise TypeError(f"expected a Generator, but got {type(state).__name__}")
        if self._philox is None:
            raise NotImplementedError("graphsafe_set_state is not supported in this Generator")
        self._philox = state._philox
        return self

    def get_offset(self) -> int:
        """The Philox offset of a CUDA generator."""
        if self._philox is None:
            raise RuntimeError("CPU Generator does not use offset")
        return self._philox.offset

    def set_offset(self, offset: int) -> Generator:
        if self._philox is None:
            raise RuntimeError("CPU Generator does not use offset")
        self._philox.offset = offset
        return self

    def __repr__(self) -> str:
        return f"<torch._C.Generator object at {hex(id(self))}>"


default_generator = Generator()
default_generator._gen = R.default_generator()


class _VmapRandomness(threading.local):
    """The ``randomness`` of the innermost running ``ember.func.vmap`` (None outside one). Inside a
    'different' one (and the vmaps nested in it), ``levels`` holds each vmap's [slices in the running chunk (1
    for 'same'), slice running in it, fills made in that slice, chunk] and ``draws`` the fills made by the first
    slices: torch fills one batched tensor per chunk (all the vmaps' batch dims first), so each fill is drawn
    whole once and each slice takes its part (see :func:`_batched`)."""

    mode: str | None = None
    levels: tuple[list[int], ...] = ()
    draws: dict[tuple[int, ...], np.ndarray] | None = None


VMAP_RANDOMNESS = _VmapRandomness()


def _gen(generator: Generator | None) -> R.Generator:
    """The engine a random op draws from (torch's refusal inside ``vmap(randomness='error')``)."""
    if VMAP_RANDOMNESS.mode == "error":
        raise RuntimeError("vmap: called random operation while in randomness error mode. Please either use the "
                           "'same' or 'different' randomness flags on vmap or perform the randomness operation out "
                           "of vmap")
    return generator._gen if generator is not None else default_generator._gen


def manual_seed(seed: int) -> Generator:
    """Seed the default generator and every CUDA device's, as torch does (its Python wrapper takes anything
    ``int()`` takes: 1.5, True, "3"; ``Generator.manual_seed`` itself does not)."""
    seed = int(seed)
    default_generator.manual_seed(seed)
    _philox.manual_seed_all(seed)
    return default_generator


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    """The default generator's state as torch's 5056-byte uint8 tensor."""
    return default_generator.get_state()


def set_rng_state(new_state: Tensor) -> None:
    default_generator.set_state(new_state)


# ---- filling tensors in memory order ------------------------------------------------------------------
def _memory_order(arr: np.ndarray) -> np.ndarray:
    """Flat C-order positions of ``arr``'s elements sorted by their address."""
    offsets = np.zeros(arr.shape, dtype=np.int64)
    for d, (n, s) in enumerate(zip(arr.shape, arr.strides, strict=True)):
        shape = [1] * arr.ndim
        shape[d] = n
        offsets = offsets + (np.arange(n, dtype=np.int64) * s).reshape(shape)
    return np.argsort(offsets.reshape(-1), kind="stable")


def _memory_perm(arr: np.ndarray) -> list[int]:
    """``arr``'s dims from the largest stride to the smallest."""
    return sorted(range(arr.ndim), key=lambda d: -arr.strides[d])


def _memory_layout(arr: np.ndarray) -> np.ndarray | None:
    """``arr`` with its dims permuted into memory order when that view is C-contiguous (a dense tensor whose
    strides are a permutation of contiguous ones), else None."""
    view = arr.transpose(_memory_perm(arr))
    return view if view.flags.c_contiguous else None


def _in_memory_order(host: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` (broadcast to ``host``'s shape) flat in the order of ``host``'s elements in memory."""
    values = np.broadcast_to(values, host.shape)
    if host.flags.c_contiguous:
        return values.ravel()
    if _memory_layout(host) is not None:
        return values.transpose(_memory_perm(host)).ravel()
    return values.ravel()[_memory_order(host)]


def _fill_on_gpu(t: Tensor, generator: Generator | None, fill: Callable, *params: Any) -> Tensor:
    """Fill cuda tensor ``t`` in place on its GPU with ``fill`` (a Philox draw from ``_philox``)."""
    check_inplace(t)
    if generator is not None and generator._philox is None:
        raise RuntimeError(f"Expected a 'cuda' device type for generator but found '{generator.device.type}'")
    fill(xp_of(t._device), t._data, *params, t._device.index, generator._philox if generator is not None else None)
    t._vc[0] += 1
    return t


def _batched(draw: Callable[[int, bool], np.ndarray]) -> Callable[[int, bool], np.ndarray]:
    """``draw`` inside ``vmap(randomness='different')``: the slices' part of torch's batched draw (normals take
    their 16-element blocks across slice boundaries), made whole by the first slice."""
    levels = VMAP_RANDOMNESS.levels
    levels[-1][2] += 1
    key = tuple(n for level in levels for n in level[2:])
    draws = VMAP_RANDOMNESS.draws
    size, index = 1, 0
    for n_slices, b, _, _ in levels:
        size, index = size * n_slices, index * n_slices + b

    def part(n: int, contiguous: bool) -> np.ndarray:
        whole = draws.get(key)
        if whole is None and not index:
            whole = draws[key] = draw(n * size, contiguous)
        if whole is None or whole.size != n * size:   # a fill the first slice did not make: drawn alone
            return draw(n, contiguous)
        return whole[index * n:(index + 1) * n]
    return part


def _writable(t: Tensor) -> None:
    """torch's error for filling an expanded tensor (several elements at one address)."""
    if t._device is CPU and not t._data.flags.writeable:
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a single "
                           "memory location. Please clone() the tensor before performing the operation.")


def _nothing(n: int, contiguous: bool) -> np.ndarray:
    """The draws for an empty tensor: none (torch samples nothing, so checks no dtype)."""
    return np.empty(0)


def _fill(t: Tensor, draw: Callable[[int, bool], np.ndarray], into: Callable[[np.ndarray], Any] | None = None,
          batch: bool = True) -> Tensor:
    """Fill ``t`` in place with ``draw(n, contiguous)`` values taken in memory order (``into(flat)`` writes
    them straight into a contiguous tensor's memory instead, when given); inside ``vmap(randomness=
    'different')`` as a slice of torch's batched draw (unless ``batch`` is False: ``draw`` batches itself)."""
    check_inplace(t)
    if batch and VMAP_RANDOMNESS.draws is not None:
        draw, into = _batched(draw), None
    _writable(t)
    host = t._data if t._device is CPU else np.empty(t._data.shape, t._dtype.np)
    contiguous = host.flags.c_contiguous
    # a permuted dense tensor's memory is C-ordered too
    dense = host if contiguous else _memory_layout(host)
    if dense is not None and into is not None:
        into(dense.reshape(-1))
    elif dense is not None:
        dense.reshape(-1)[...] = draw(host.size, contiguous)
    else:
        values = draw(host.size, contiguous)
        flat = np.empty(host.size, values.dtype)
        flat[_memory_order(host)] = values
        host[...] = flat.reshape(host.shape)
    if t._device is not CPU:
        t._data[...] = xp_of(t._device).asarray(host)
    t._vc[0] += 1
    return t


_NOT_FLOAT = {
    "uniform_": (NotImplementedError, '"check_uniform_bounds" not implemented for \'{short}\''),
    "normal_": (NotImplementedError, '"normal_kernel_cpu" not implemented for \'{short}\''),
    "log_normal_": (NotImplementedError, '"log_normal_cpu" not implemented for \'{short}\''),
    "exponential_": (RuntimeError, "Exponential distribution is a continuous probability distribution. dtype must "
                                   "be a floating point but you specified {short}"),
    "cauchy_": (RuntimeError, "Cauchy distribution is a continuous probability distribution. dtype must be a "
                              "floating point but you specified {cpp}"),
}


def _float_np(t: Tensor, what: str) -> np.dtype:
    """The tensor's NumPy dtype; torch's error (type and text) for non-floating tensors."""
    if not t._dtype.is_floating_point:
        exc, text = _NOT_FLOAT[what]
        short = t._dtype._short
        raise exc(text.format(short=short, cpp=D.CPP_NAMES.get(t._dtype, short)))
    return t._dtype.np


def _complex_fill(self: Tensor, fill: Callable[[Tensor], Any]) -> Tensor:
    """A complex tensor filled as torch fills it: ``fill`` on its real view (real and imaginary parts
    interleaved, drawn in self's memory order)."""
    from .extra import view_as_real  # (a layer above this one)
    check_inplace(self)
    fill(view_as_real(self.detach()))
    return self


class _ZeroGradBackward(Node):
    """Zero gradients for every tensor input: an in-place random fill (nothing of the old values survives:
    torch's UniformBackward0 & co) and a sampler's tensor parameters (normal's mean/std, bernoulli's
    probabilities, poisson's rates: torch does not reparameterise)."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return tuple(None if m is None else zeros_of(m[0], m[1], g._device) for m in self._meta)


def _recorded(name: Callable[..., str]) -> Callable:
    """An in-place random fill as torch records it on a tensor with history: a node named ``name(*args)``
    giving the old values a zero gradient (the draws go into a copy in ``self``'s memory order, written back)."""
    def deco(fn: Callable) -> Callable:
        classes: dict[str, type[Node]] = {}

        @functools.wraps(fn)
        def fill(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
            if "from" in kwargs or "from_" in kwargs:
                kwargs = _from_keyword(fn.__name__, kwargs)
            params = tuple(a for a in (*args, *kwargs.values()) if _isinstance(a, Tensor))   # (bernoulli_'s p)
            if not (STATE.enabled and (self._rg or any(p._rg for p in params))):
                return fn(self, *args, **kwargs)
            check_inplace(self)
            tmp = self.detach().clone()
            fn(tmp, *args, **kwargs)
            n = name(*args, **kwargs)
            cls = classes.get(n)
            if cls is None:
                cls = classes[n] = type(n, (_ZeroGradBackward,), {"__slots__": (),
                                                                  "__module__": "torch.autograd.graph"})
            record(tmp, cls(), (self, *params))
            return inplace(self, tmp)
        return fill
    return deco


def _from_keyword(fn: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keywords of ``uniform_``/``random_`` with torch's ``from`` (a Python keyword: given as ``**{"from":
    x}``) as the ``from_`` parameter, which is no keyword of torch's."""
    if "from_" in kwargs:
        raise TypeError(f"{fn}() got an unexpected keyword argument 'from_'")
    return {("from_" if k == "from" else k): v for k, v in kwargs.items()}


def _named(node: str) -> Callable[..., str]:
    return lambda *args, **kwargs: node


_NO_TO: Any = object()   # random_(n): ``to`` not given (``random_(from, None)`` means up to the dtype's maximum)


def _random_name(from_: Any = None, to: Any = _NO_TO, **kwargs: Any) -> str:
    if from_ is None and to is _NO_TO:
        return "RandomBackward2"
    return "RandomBackward1" if from_ is None or to is _NO_TO else "RandomBackward0"


@_recorded(_named("UniformBackward0"))
def uniform_(self: Tensor, from_: float = 0, to: float = 1, *, generator: Generator | None = None) -> Tensor:
    """Fill with U[from, to) (torch's exact stream; complex: both parts)."""
    if self._dtype.is_complex:
        return _complex_fill(self, lambda r: uniform_(r, from_, to, generator=generator))
    dt = _float_np(self, "uniform_")
    if from_ > to:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={float(from_):g} > "
                           f"to={float(to):g}")
    if self._device is not CPU:
        return _fill_on_gpu(self, generator, _philox.fill_uniform, from_, to)
    return _fill(self, lambda n, c: R.uniform(_gen(generator), n, dt, from_, to),
                 lambda flat: R.uniform(_gen(generator), flat.size, dt, from_, to, out=flat))


@_recorded(_named("NormalBackward0"))
def normal_(self: Tensor, mean: float = 0, std: float = 1, *, generator: Generator | None = None) -> Tensor:
    """Fill with N(mean, std²) (torch's exact stream; complex: each part N(mean, std²/2))."""
    if not std >= 0.0:   # (checked first, whatever the dtype)
        raise RuntimeError(f"normal expects std >= 0.0, but found std {float(std):g}")
    if not self._data.size and not self._dtype.is_floating_point:   # (no kernel runs: no dtype check)
        self._vc[0] += 1
        return self
    if self._dtype.is_complex:
        return _complex_fill(self, lambda r: normal_(r, mean, std / math.sqrt(2), generator=generator))
    dt = _float_np(self, "normal_")
    if self._device is not CPU:
        return _fill_on_gpu(self, generator, _philox.fill_normal, mean, std)
    return _fill(self, lambda n, c: R.normal(_gen(generator), n, dt, mean, std, contiguous=c))


@_recorded(_random_name)
def random_(self: Tensor, from_: int | None = None, to: int | None = _NO_TO, *,
            generator: Generator | None = None) -> Tensor:
    """Integers in [from, to): ``random_(to)`` from 0, ``random_(from, None)`` up to the dtype's maximum (the
    whole 64-bit range for ``from=-2**63``), ``random_()`` the dtype's non-negative range."""
    dt = self._dtype.np
    if from_ is None and to is _NO_TO:
        _no_complex(self, "random_kernel_cpu")
        if not self.numel():
            return self
        return _fill(self, lambda n, c: R.random_full(_gen(generator), n, dt))
    if to is _NO_TO:
        from_, to = 0, from_
    elif from_ is None:   # random_(to=n)
        if to is None:
            raise TypeError("random_(): argument 'to' must be int, not NoneType")
        from_ = 0
    _bounded_dtype(self)
    return _fill(self, lambda n, c: R.randint(_gen(generator), n, from_, to, dt))


def _no_complex(t: Tensor, kernel: str) -> None:
    """torch's CPU sampling kernels take no complex dtype (an empty tensor is not sampled: no error)."""
    if t._dtype.is_complex and t.numel():
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{t._dtype._short}'")


def _bounded_dtype(t: Tensor) -> None:
    """random_(from, to)/randint's bounds check takes integral, floating and bool dtypes only."""
    if t._dtype.is_complex:
        raise RuntimeError("check_random_bounds handles only integral, floating-point and boolean types")


@_recorded(lambda p=0.5, **kwargs: "BernoulliBackward1" if isinstance(p, Tensor) else "BernoulliBackward2")
def bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Generator | None = None) -> Tensor:
    dt = self._dtype.np
    _no_complex(self, "bernoulli_tensor_cpu_self_" if _isinstance(p, Tensor) else "bernoulli_scalar_cpu_")
    if self._device is not CPU:
        if _isinstance(p, Tensor):
            probs = p._data if p._device is self._device else xp_of(self._device).asarray(p._data)
        elif not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={float(p):g}")
        else:
            probs = p
        return _fill_on_gpu(self, generator, _philox.fill_bernoulli, probs)
    if _isinstance(p, Tensor):   # the k-th draw goes to self's k-th element in memory, with that element's p
        if not p._dtype.is_floating_point:
            raise NotImplementedError(f"\"bernoulli_tensor_cpu_p_\" not implemented for '{p._dtype._short}'")
        p = p.detach().expand(self.shape)   # (torch's error when p does not broadcast to self)
        probs = _in_memory_order(self._data, np.asarray(p._data if p._device is CPU else p._data.get()))
        u = None
        if VMAP_RANDOMNESS.draws is not None:   # this slice's part of the batched uniforms
            bits = np.float64 if probs.dtype == np.float64 else np.float32
            u = _batched(lambda n, c: R.uniform(_gen(generator), n, bits))(probs.size, True)
        return _fill(self, lambda n, c: R.bernoulli_tensor(_gen(generator), probs, u=u).reshape(-1).astype(dt),
                     batch=False)
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={float(p):g}")
    return _fill(self, lambda n, c: R.bernoulli_scalar(_gen(generator), n, p, dt),
                 lambda flat: R.bernoulli_scalar(_gen(generator), flat.size, p, dt, flat))


@_recorded(_named("ExponentialBackward0"))
def exponential_(self: Tensor, lambd: float = 1, *, generator: Generator | None = None) -> Tensor:
    R.check_positive("exponential_", "lambda", lambd)   # torch's order: the parameter, overlap, then the dtype
    _writable(self)
    if not self._data.size:
        return _fill(self, _nothing)
    dt = _float_np(self, "exponential_")
    return _fill(self, lambda n, c: R.exponential(_gen(generator), n, dt, lambd))


@_recorded(_named("GeometricBackward0"))
def geometric_(self: Tensor, p: float, *, generator: Generator | None = None) -> Tensor:
    R.check_probability(p)   # torch's order: the parameter, overlap, then the dtype
    _writable(self)
    if not self._data.size:
        return _fill(self, _nothing)
    if self._dtype.is_complex or self._dtype is D.bool:
        raise NotImplementedError(f"\"geometric_cpu\" not implemented for '{self._dtype._short}'")
    dt = self._dtype.np
    return _fill(self, lambda n, c: R.geometric(_gen(generator), n, dt, p))


@_recorded(_named("CauchyBackward0"))
def cauchy_(self: Tensor, median: float = 0, sigma: float = 1, *, generator: Generator | None = None) -> Tensor:
    R.check_positive("cauchy_", "sigma", sigma)   # torch's order: the parameter, the dtype (an empty tensor's too)
    dt = _float_np(self, "cauchy_")
    return _fill(self, lambda n, c: R.cauchy(_gen(generator), n, dt, median, sigma))


@_recorded(_named("LogNormalBackward0"))
def log_normal_(self: Tensor, mean: float = 1, std: float = 2, *, generator: Generator | None = None) -> Tensor:
    R.check_positive("log_normal_", "std", std)   # torch's order: the parameter, overlap, then the dtype
    _writable(self)
    if not self._data.size:
        return _fill(self, _nothing)
    dt = _float_np(self, "log_normal_")
    return _fill(self, lambda n, c: R.log_normal(_gen(generator), n, dt, mean, std))


# ---- factories -----------------------------------------------------------------------------------------
def _empty(size: Sequence[Any], dtype: Any, device: Any, requires_grad: bool = False) -> Tensor:
    from .creation import empty
    return empty(*(size or ((),)), dtype=dtype, device=device)   # no sizes: a 0-d tensor


def _finish(t: Tensor, requires_grad: bool, out: Tensor | None) -> Tensor:
    if requires_grad:
        factory_requires_grad(t)
    if out is not None:
        return write_out(out, t)
    return t


def _target(size: Sequence[Any], dtype: Any, device: Any, out: Tensor | None, default: D.dtype | None = None
            ) -> Tensor:
    """The tensor a random factory fills: a new one (of ``dtype``, else ``default``, else the default dtype),
    or ``out`` itself as torch fills it (in its dtype, and in its own memory order when its shape is right;
    else resized to a contiguous tensor, with torch's warning)."""
    if out is None:
        return _empty(size, dtype or default, device)
    from .creation import _resolve_dtype
    dt = _resolve_dtype(dtype)
    if dt is not None and dt is not out._dtype:
        raise RuntimeError(f"dtype {dt._short} does not match dtype of out parameter ({out._dtype._short})")
    fresh = _empty(size, out._dtype, out._device)
    if fresh.shape != out.shape:
        write_out(out, fresh)   # the resize
    return out


def rand(*dims: Any, size: Any = None, generator: Generator | None = None, out: Tensor | None = None,
         dtype: Any = None, layout: Any = None, device: Any = None, requires_grad: bool = False,
         pin_memory: bool = False) -> Tensor:
    """Uniform samples in [0, 1), bit-identical to torch's CPU stream."""
    t = _target(sized(dims, size, "rand", "size"), dtype, device, out)
    return _finish(uniform_(t, generator=generator), requires_grad, None)


def randn(*dims: Any, size: Any = None, generator: Generator | None = None, out: Tensor | None = None,
          dtype: Any = None, layout: Any = None, device: Any = None, requires_grad: bool = False,
          pin_memory: bool = False) -> Tensor:
    """Standard normal samples, bit-identical to torch's CPU stream."""
    t = _target(sized(dims, size, "randn", "size"), dtype, device, out)
    return _finish(normal_(t, generator=generator), requires_grad, None)


def randint(low: int = 0, high: int | None = None, size: Sequence[int] | None = None, *,
            generator: Generator | None = None, out: Tensor | None = None, dtype: Any = None, layout: Any = None,
            device: Any = None, requires_grad: bool = False, pin_memory: bool | None = False) -> Tensor:
    """Integers in [low, high) (int64 by default)."""
    if size is None:
        if high is None or not _isinstance(high, (tuple, list)):
            raise TypeError("randint() received an invalid combination of arguments - got (int, int), missing "
                            "'size'")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    for bound in (low, high):   # torch's argument parser takes them as int64
        if _isinstance(bound, int) and not -(1 << 63) <= bound < (1 << 63):
            raise ValueError("Overflow when unpacking long long")
    t = _target(tuple(size), dtype, device, out, D.int64)
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    _bounded_dtype(t)
    _fill(t, lambda n, c: R.randint(_gen(generator), n, low, high, t._dtype.np))
    return _finish(t, requires_grad, None)


def randperm(n: int, *, generator: Generator | None = None, out: Tensor | None = None, dtype: Any = None,
             layout: Any = None, device: Any = None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A random permutation of 0..n-1 (torch's swap algorithm), in ``out``'s dtype when given."""
    from .creation import _resolve_dtype
    dt = _resolve_dtype(dtype) or (D.int64 if out is None else out._dtype)
    if out is not None and dt is not out._dtype:
        raise RuntimeError(f"dtype {dt._short} does not match dtype of out parameter ({out._dtype._short})")
    if dt.is_complex:
        raise NotImplementedError(f"\"randperm\" not implemented for '{dt._short}'")
    arr = R.randperm(_gen(generator), n, dt.np)
    dev = canonical(device) if out is None else out._device
    t = from_array(arr if dev is CPU else xp_of(dev).asarray(arr), dt, dev)
    return _finish(t, requires_grad, out)


def _like(input: Tensor, dtype: Any, device: Any, memory_format: Any) -> Tensor:
    from .creation import empty_like
    return empty_like(input, dtype=dtype, device=device, memory_format=memory_format)


def rand_like(input: Tensor, *, generator: Generator | None = None, dtype: Any = None, layout: Any = None,
              device: Any = None, requires_grad: bool = False, pin_memory: bool | None = False,
              memory_format: Any = None) -> Tensor:
    return _finish(uniform_(_like(input, dtype, device, memory_format), generator=generator), requires_grad, None)


def randn_like(input: Tensor, *, generator: Generator | None = None, dtype: Any = None, layout: Any = None,
               device: Any = None, requires_grad: bool = False, pin_memory: bool | None = False,
               memory_format: Any = None) -> Tensor:
    return _finish(normal_(_like(input, dtype, device, memory_format), generator=generator), requires_grad, None)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, *, generator: Generator | None = None,
                 dtype: Any = None, layout: Any = None, device: Any = None, requires_grad: bool = False,
                 pin_memory: bool | None = False, memory_format: Any = None) -> Tensor:
    if high is None:
        low, high = 0, low
    t = _like(input, dtype, device, memory_format)
    return _finish(random_(t, low, high, generator=generator), requires_grad, None)


_SAMPLE_NODES = {name: type(name, (_ZeroGradBackward,), {"__slots__": (), "__module__": "torch.autograd.graph"})
                 for name in ("NormalBackward1", "NormalBackward2", "NormalBackward3", "BernoulliBackward0",
                              "PoissonBackward0")}


def _needs_grad(op: str, inputs: tuple, out: Tensor | None) -> bool:
    """Whether a sampler's tensor parameter needs grad (checked before sampling); torch refuses ``out=`` then,
    and an ``out`` that requires grad."""
    grad = STATE.enabled and any(x._rg for x in inputs)
    if out is not None and (grad or STATE.enabled and out._rg):
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    return grad


def _record_sample(t: Tensor, name: str | None, inputs: tuple) -> Tensor:
    """Give the sample ``t`` torch's node ``name`` (zero gradients), or when None the node ``NotImplemented``."""
    if name is None:
        from .indexing import NotImplemented_
        record(t, NotImplemented_(), inputs).op = "bernoulli"
    else:
        record(t, _SAMPLE_NODES[name](), inputs)
    return t


def normal(mean: Any = 0.0, std: Any = 1.0, size: Sequence[int] | None = None, *,
           generator: Generator | None = None, out: Tensor | None = None, dtype: Any = None, layout: Any = None,
           device: Any = None, requires_grad: bool = False, pin_memory: bool | None = False) -> Tensor:
    """``normal(mean, std, size)`` with numbers, or elementwise with tensor mean/std (broadcast) as torch
    computes it: ``N(0, std)`` then ``+ mean`` for a number std, else ``N(0, 1) * std + mean``, in place in the
    result (mean's dtype, else std's; or ``out``)."""
    tensor_mean, tensor_std = _isinstance(mean, Tensor), _isinstance(std, Tensor)
    if not tensor_mean and not tensor_std:
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments - got (float, float), "
                            "missing 'size'")
        t = normal_(_target(tuple(size), dtype, device, out), mean, std, generator=generator)
        return _finish(t, requires_grad, None)
    if tensor_std:
        if not bool((std._data >= 0).all()):   # (NaN fails too)
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif not std >= 0.0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {float(std):g}")
    inputs = tuple(x for x in (mean, std) if _isinstance(x, Tensor))
    grad = _needs_grad("normal", inputs, out)
    ref = mean if tensor_mean else std
    shape = broadcast_shapes(np.shape(mean._data if tensor_mean else mean), np.shape(std._data if tensor_std else std))
    t = _target(shape, None, ref._device, out, ref._dtype)
    with no_grad():
        if tensor_std:
            normal_(t, 0.0, 1.0, generator=generator).mul_(std).add_(mean)
        else:
            normal_(t, 0.0, std, generator=generator).add_(mean)
    return _record_sample(t, f"NormalBackward{1 + tensor_std + tensor_mean * tensor_std}", inputs) if grad else t


def bernoulli(input: Tensor, p: float | None = None, *, generator: Generator | None = None,
              out: Tensor | None = None) -> Tensor:
    """0/1 samples with probabilities ``input`` (or the scalar ``p``), in input's dtype (a contiguous tensor,
    as torch's, whatever input's strides) or filling ``out``."""
    grad = _needs_grad("bernoulli", (input,), out)
    t = _target(input.shape, None, input._device, out, input._dtype)
    with no_grad():
        bernoulli_(t, input if p is None else p, generator=generator)
    # torch has no derivative for the scalar-p overload: its node raises when backpropagated
    return _record_sample(t, "BernoulliBackward0" if p is None else None, (input,)) if grad else t


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Generator | None = None, out: Tensor | None = None) -> Tensor:
    """Indices sampled from the (unnormalised) rows of ``input``."""
    probs = np.asarray(input._data if input._device is CPU else input._data.get())
    if not probs.flags.c_contiguous and input._data.ndim == 2:   # torch draws in the memory order of
        laid = _like(input, None, CPU, None)._data   # empty_like(input): a copy laid out so
        laid[...] = probs
        probs = laid
    two_d = probs.reshape(1, -1) if probs.ndim == 1 else probs
    _check_multinomial(input, two_d, num_samples, replacement)
    if two_d.size == 0:
        idx = np.empty((two_d.shape[0], num_samples), np.int64)
    else:
        idx = R.multinomial(_gen(generator), two_d, num_samples, replacement)
    if probs.ndim == 1:
        idx = idx.reshape(-1)
    t = from_array(idx if input._device is CPU else xp_of(input._device).asarray(idx), D.int64, input._device)
    return _finish(t, False, out)


def _check_multinomial(input: Tensor, rows: np.ndarray, num_samples: int, replacement: bool) -> None:
    """torch's checks of multinomial, in its order: rank, dtype, counts; then the fast path's (no replacement
    or one sample: finite non-negative entries over a non-empty last dim) or the sampling kernel's row after row
    (the first bad entry of the first bad row: negative or NaN, else infinite; else a zero sum)."""
    if input._data.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input._dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {input._dtype._short}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if rows.shape[1] > 1 << 24:
        raise RuntimeError("number of categories cannot exceed 2^24")
    if not rows.size and rows.shape[1]:
        return
    if not replacement or num_samples == 1:
        if not rows.shape[1]:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                               "identity.")
        if not (np.isfinite(rows) & (rows >= 0)).all():
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if (rows.sum(-1) == 0).any():
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        return
    with np.errstate(invalid="ignore"):
        bad = ~(rows >= 0) | np.isinf(rows)
        sums = rows.sum(-1)
    wrong = bad.any(-1) | ~(sums > 0)
    if wrong.any():
        row = rows[int(wrong.argmax())]
        first = row[int(np.argmax(~(row >= 0) | np.isinf(row)))] if bad[int(wrong.argmax())].any() else None
        kind = ("sum of probabilities <= 0" if first is None else "encountering probability entry < 0"
                if not first >= 0 else "encountering probability entry = infinity or NaN")
        raise RuntimeError(f"invalid multinomial distribution ({kind})")


def poisson(input: Tensor, generator: Generator | None = None) -> Tensor:
    """Poisson samples with rates ``input``."""
    from ..distributions._samplers import poisson_array  # the samplers' layer is above this one

    if not input._dtype.is_floating_point:
        raise NotImplementedError(f"\"poisson_cpu\" not implemented for '{input._dtype._short}'")
    rates = np.asarray(input._data if input._device is CPU else input._data.get())
    arr = poisson_array(_gen(generator), rates)
    t = from_array(arr if input._device is CPU else xp_of(input._device).asarray(arr), input._dtype, input._device)
    return _record_sample(t, "PoissonBackward0", (input,)) if _needs_grad("poisson", (input,), None) else t


bind({"uniform_": uniform_, "normal_": normal_, "random_": random_, "bernoulli_": bernoulli_,
      "exponential_": exponential_, "geometric_": geometric_, "cauchy_": cauchy_, "log_normal_": log_normal_,
      "bernoulli": bernoulli, "multinomial": multinomial})
