"""``ember.cuda.jiterator``: elementwise CUDA kernels from a C++ template function, compiled by CuPy
(``cupy.ElementwiseKernel`` with the code as its preamble). Inputs broadcast and are computed in their promoted
dtype; keyword arguments declared at creation become trailing scalar arguments of that dtype."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import reduce
from typing import Any

from .._core import dtype as D
from .._core.device import _probe_cupy, cuda_available

__all__ = ["_create_jit_fn", "_create_multi_output_jit_fn"]

# template <...> return_type name(params) { body }
_CODE = re.compile(r"\s*template\s*<.+>\s*\w+\s+(?P<name>\w+)\s*\(.+\)\s*\{.+\}\s*", re.DOTALL)


class _JittedFunction:
    """One jiterator kernel; called with up to 8 cuda tensors (and overrides of its keyword arguments)."""

    def __init__(self, code_string: str, return_by_ref: bool, num_outputs: int, **kwargs: Any) -> None:
        if not (return_by_ref or num_outputs == 1):
            raise AssertionError("Return by value only works for single output.")
        match = _CODE.fullmatch(code_string)
        if match is None:
            raise Exception(f"Couldn't parse code, please check correctness:\n {code_string}")  # noqa: TRY002
        self.code_string, self.return_by_ref, self.num_outputs = code_string, return_by_ref, num_outputs
        self.kernel_name = match["name"]
        self.kwargs_dict = kwargs
        self.is_cuda_available = cuda_available()
        self._kernels: dict[int, Any] = {}   # number of tensor inputs → compiled ElementwiseKernel

    def _kernel(self, cp: Any, n: int) -> Any:
        kernel = self._kernels.get(n)
        if kernel is None:
            ins = [f"in{i}" for i in range(n)] + [f"arg{j}" for j in range(len(self.kwargs_dict))]
            outs = [f"out{i}" for i in range(self.num_outputs)]
            call = ", ".join(ins + (outs if self.return_by_ref else []))
            body = f"{self.kernel_name}({call})" if self.return_by_ref else f"out0 = {self.kernel_name}({call})"
            kernel = self._kernels[n] = cp.ElementwiseKernel(
                ", ".join(f"T {p}" for p in ins), ", ".join(f"T {p}" for p in outs), body,
                f"jiterator_{self.kernel_name}", preamble=self.code_string)
        return kernel

    def __call__(self, *tensors: Any, **kwargs: Any) -> Any:
        if not self.is_cuda_available:
            raise AssertionError("Jiterator is only supported on CUDA and ROCm GPUs, none are available.")
        if len(tensors) > 8:
            raise AssertionError(f"jiterator only supports up to 8 tensor inputs, got {len(tensors)}")
        values = dict(self.kwargs_dict)
        for key, value in kwargs.items():
            if key not in values:
                raise KeyError(f"{key} is not declared in function definition")
            values[key] = value
        if not tensors or any(not t.is_cuda for t in tensors):
            raise RuntimeError("jiterator: all inputs must be CUDA tensors")
        from .._tensor import from_array

        cp = _probe_cupy()
        dt = reduce(D.promote_types, (t.dtype for t in tensors))
        arrays = [t.detach()._data.astype(dt.np, copy=False) for t in tensors]
        scalars = [dt.np.type(v) for v in values.values()]
        out = self._kernel(cp, len(arrays))(*arrays, *scalars)
        wrap = [from_array(a, dt, tensors[0].device) for a in (out if isinstance(out, tuple) else (out,))]
        return tuple(wrap) if self.return_by_ref else wrap[0]


def _create_jit_fn(code_string: str, **kwargs: Any) -> Callable:
    """A function running ``code_string`` (``template <typename T> T f(T x, ...) {...}``) elementwise on the
    GPU: ``fn(a, b, alpha=2.0)``; ``kwargs`` declare its trailing scalar parameters and their defaults."""
    return _JittedFunction(code_string, return_by_ref=False, num_outputs=1, **kwargs)


def _create_multi_output_jit_fn(code_string: str, num_outputs: int, **kwargs: Any) -> Callable:
    """As :func:`_create_jit_fn` for a ``void f(T x, ..., T& out0, T& out1)`` returning ``num_outputs`` tensors."""
    return _JittedFunction(code_string, return_by_ref=True, num_outputs=num_outputs, **kwargs)
