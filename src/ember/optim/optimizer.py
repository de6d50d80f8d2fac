"""``torch.optim.Optimizer``: parameter groups with defaults, per-parameter state, ``state_dict`` in torch's
layout (parameters numbered across groups), ``zero_grad``, ``step(closure)`` and step hooks.

Update rules work on the parameters' arrays directly, one torch operation at a time, with each operation
rounded to the parameter dtype as torch's kernels round it (its ``add(…, alpha)``, ``addcmul``,
``addcdiv`` and ``lerp`` round once), so trajectories match torch's single-tensor implementations.
"""

from __future__ import annotations

import contextlib
import copy
import functools
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from .._core import dtype as D
from .._core.device import CAPTURING, xp_of, xp_of_array
from .._core.fma import multiply_wide, wide_dtype
from .._core.warn import warn
from .._tensor import Tensor, from_array
from ..autograd.grad_mode import no_grad
from ..nn.modules.module import typename
from ..ops.creation import tensor as new_tensor
from ..ops.creation import zeros_like
from ..ops.elementwise import axpy
from ..utils.hooks import RemovableHandle

__all__ = ["Optimizer", "required", "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"]

_HOOK_STORES = ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks", "_optimizer_state_dict_pre_hooks",
                "_optimizer_state_dict_post_hooks", "_optimizer_load_state_dict_pre_hooks",
                "_optimizer_load_state_dict_post_hooks")
_global_optimizer_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
_global_optimizer_post_hooks: OrderedDict[int, Callable] = OrderedDict()


def _add_hook(store: OrderedDict, hook: Callable, prepend: bool = False) -> RemovableHandle:
    handle = RemovableHandle(store)
    store[handle.id] = hook
    if prepend:
        store.move_to_end(handle.id, last=False)
    return handle


def register_optimizer_step_pre_hook(hook: Callable) -> RemovableHandle:
    """``hook(optimizer, args, kwargs)`` before every optimizer's step (before its own pre-hooks); may return
    new ``(args, kwargs)``."""
    return _add_hook(_global_optimizer_pre_hooks, hook)


def register_optimizer_step_post_hook(hook: Callable) -> RemovableHandle:
    """``hook(optimizer, args, kwargs)`` after every optimizer's step (after its own post-hooks)."""
    return _add_hook(_global_optimizer_post_hooks, hook)


class _Required:
    """Marks a hyper-parameter that every parameter group must give (e.g. SGD's ``lr`` in old torch)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class: holds ``param_groups`` (dicts with 'params' and hyper-parameters) and ``state``."""

    _sparse_grad_error: str | None = None   # set by ember's dense-only optimizers: torch's refusal of sparse grads
    _complex_as_real = False   # update complex parameters as real views (torch's view_as_real in its step)
    # what torch's __setstate__ (run by load_state_dict and unpickling) upgrades in older checkpoints: group
    # options they may lack, and per-parameter scalars saved as numbers, made float32 0-d tensors (on the parameter's
    # device where the group is capturable or fused, or always with ``_scalars_on_device``)
    _group_options: dict[str, Any] = {}
    _scalar_state: tuple[str, ...] = ()
    _scalars_on_device = False

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        for store in _HOOK_STORES:
            setattr(self, store, OrderedDict())
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, but "
                f"got {typename(params)}"
            )
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for store in _HOOK_STORES:
            self.__dict__.setdefault(store, OrderedDict())
        self.defaults.setdefault("differentiable", False)   # as torch (SparseAdam's defaults gain it on load)
        for group in self.param_groups:
            for key, value in self._group_options.items():
                group.setdefault(key, value)
            on_device = self._scalars_on_device or group.get("capturable") or group.get("fused")
            for p in group["params"]:
                p_state = self.state.get(p)
                for key in self._scalar_state if p_state else ():
                    if not isinstance(p_state[key], Tensor):   # a state without it: torch's KeyError
                        p_state[key] = new_tensor(float(p_state[key]), dtype=D.float32,
                                                  device=p.device if on_device else None)

    def __repr__(self) -> str:
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            text += "".join(f"    {key}: {group[key]}\n" for key in sorted(group) if key != "params")
        return text + ")"

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters, filling unspecified hyper-parameters from ``defaults``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of "
                "tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        param_group["params"] = params
        if names:
            if len(names) != len(params):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are missing"
                )
            param_group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is " + typename(p)
                )
            if not self.defaults.get("differentiable", None) and not (
                p.is_leaf or getattr(p, "_retains_grad", False)
            ):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization parameter {name}"
                )
            param_group.setdefault(name, default)
        if len(params) != len({id(p) for p in params}):
            warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this will cause "
                "an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                stacklevel=3,
            )
        seen: set[int] = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with" if "param_names" in param_group else "without"
                raise ValueError(
                    f"all optimizer param groups should be with/without names. cannot add param group "
                    f"{which} names to the optimizer"
                )
        if not seen.isdisjoint(id(p) for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters (to None by default)."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g.requires_grad_(False)
                    g.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        raise NotImplementedError

    # ---- hooks -------------------------------------------------------------------------------------------
    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` before each step; may return new ``(args, kwargs)``."""
        return _add_hook(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` after each step."""
        return _add_hook(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer)`` before ``state_dict()`` builds its result."""
        return _add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer, state_dict)`` on ``state_dict()``'s result; a returned dict replaces it."""
        return _add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer, state_dict)`` on (a shallow copy of) the dict ``load_state_dict`` was given, before
        it is checked; a returned dict is loaded instead."""
        return _add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer)`` after ``load_state_dict`` has loaded."""
        return _add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Wrap each subclass's ``step`` so hooks run around it (as torch's profile/hook wrapper)."""
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = _with_hooks(cls.__dict__["step"])  # type: ignore[method-assign]

    # ---- state_dict ----------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [index, ...]}]}`` with parameters
        numbered consecutively across groups, as torch (state-dict hooks run before and after)."""
        for pre_hook in tuple(self._optimizer_state_dict_pre_hooks.values()):
            pre_hook(self)
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            # as torch: numbered by position across groups; a parameter repeated within a group takes the
            # number of its last place there
            start = sum(len(g["params"]) for g in groups)
            index.update({id(p): i for i, p in enumerate(group["params"], start) if id(p) not in index})
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        result = {"state": state, "param_groups": groups}
        for post_hook in tuple(self._optimizer_state_dict_post_hooks.values()):
            replaced = post_hook(self, result)
            if replaced is not None:
                result = replaced
        return result

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore groups' hyper-parameters and per-parameter state (cast to each parameter's dtype); load
        hooks run before (on a shallow copy of ``state_dict``) and after."""
        state_dict = dict(state_dict)
        for pre_hook in tuple(self._optimizer_load_state_dict_pre_hooks.values()):
            replaced = pre_hook(self, state_dict)
            if replaced is not None:
                state_dict = replaced
        state_dict = copy.deepcopy(state_dict)
        groups, saved = self.param_groups, state_dict["param_groups"]
        if len(groups) != len(saved):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved, strict=True)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of optimizer's "
                "group"
            )
        id_map = {
            old: p
            for g, s in zip(groups, saved, strict=True)
            for old, p in zip(s["params"], g["params"], strict=True)
        }
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                p = id_map[k]
                state[p] = (
                    {key: _cast_state(p, key, value) for key, value in v.items()}
                    if isinstance(v, dict)
                    else _cast_state(p, None, v)
                )
            else:
                state[k] = v
        new_groups = []
        for g, s in zip(groups, saved, strict=True):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            new_groups.append(s)
        self.__setstate__({"state": state, "param_groups": new_groups})
        for post_hook in tuple(self._optimizer_load_state_dict_post_hooks.values()):
            post_hook(self)


def _cast_state(param: Tensor, key: str | None, value: Any) -> Any:
    """Move loaded state to the parameter's device and (for floating state other than 'step') its dtype."""
    if isinstance(value, Tensor):
        if key == "step":
            return value
        if param.is_floating_point():
            return value.to(device=param.device, dtype=param.dtype)
        return value.to(device=param.device)
    if isinstance(value, dict):
        return {k: _cast_state(param, k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, key, v) for v in value)
    return value


def _with_hooks(step: Callable) -> Callable:
    @functools.wraps(step)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        self: Optimizer = args[0]   # as torch, the hooks see the optimizer as the first of ``args``
        for hook in (*_global_optimizer_pre_hooks.values(), *self._optimizer_step_pre_hooks.values()):
            res = hook(self, args, kwargs)
            if res is not None:
                if not (isinstance(res, tuple) and len(res) == 2):
                    raise RuntimeError(
                        f"{step} must return None or a tuple of (new_args, new_kwargs), but got {res}."
                    )
                args, kwargs = res
        if self._sparse_grad_error is not None:
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None and p.grad.is_sparse:
                        raise RuntimeError(self._sparse_grad_error)
        if self._complex_as_real:
            with _complex_as_real(self):
                out = step(*args, **kwargs)
        else:
            out = step(*args, **kwargs)
        for hook in (*self._optimizer_step_post_hooks.values(), *_global_optimizer_post_hooks.values()):
            hook(self, args, kwargs)
        return out

    return wrapper


def run_closure(closure: Callable[[], Any] | None) -> Any:
    """Evaluate the loss closure with gradients enabled (``step`` itself runs without)."""
    if closure is None:
        return None
    from ..autograd.grad_mode import enable_grad

    with enable_grad():
        return closure()


# ---- array kernels: one torch operation each, rounded as torch rounds it ----------------------------
def xp(t: Tensor) -> Any:
    """The array namespace of ``t``'s device."""
    return xp_of(t.device)


# the tensors viewed as real during the steps in progress: (tensor, its complex array, its complex dtype)
_REAL_VIEWS: list[list[tuple[Tensor, Any, D.dtype]]] = []


def _view_real(t: Tensor) -> None:
    """Make complex ``t`` a real view of itself (a last dim of 2) until its step ends."""
    if t._dtype.is_complex:
        from ..ops.extra import view_as_real

        with no_grad():
            arr = view_as_real(t.detach())._data
        _REAL_VIEWS[-1].append((t, t._data, t._dtype))
        t._data, t._dtype = arr, t._dtype.to_real()


@contextlib.contextmanager
def _complex_as_real(opt: Optimizer) -> Iterator[None]:
    """torch steps complex parameters as real views (real and imaginary parts apart): state tensors are viewed
    here, parameters and gradients by ``params_with_grad`` (after the closure has run on the complex ones).
    Afterwards every tensor is complex again, and state created during the step becomes a complex view."""
    _REAL_VIEWS.append([])
    try:
        for p, state in opt.state.items():
            if isinstance(p, Tensor) and p._dtype.is_complex:
                for v in state.values():
                    if isinstance(v, Tensor):
                        _view_real(v)
        yield
    finally:
        viewed = _REAL_VIEWS.pop()
        keys = {id(p) for p in opt.state}
        params = []
        for t, arr, dt in reversed(viewed):
            if id(t) in keys:
                params.append((t, t._data.shape))
            t._data, t._dtype = arr, dt
        for p, real_shape in params:
            for v in opt.state[p].values():
                if isinstance(v, Tensor) and not v._dtype.is_complex and v._data.shape == real_shape:
                    v._data = xp(v).ascontiguousarray(v._data).view(p._data.dtype)[..., 0]
                    v._dtype = p._dtype


def params_with_grad(group: dict[str, Any]) -> list[Tensor]:
    """The group's parameters that have a gradient (complex ones viewed as real during a complex-as-real step;
    torch's refusal of a differentiable step on leaves)."""
    params = [p for p in group["params"] if p.grad is not None]
    if group.get("differentiable") and any(p.requires_grad and p.is_leaf for p in params):
        # torch runs a differentiable step with autograd on: its in-place update of a leaf fails
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    if _REAL_VIEWS:
        for p in params:
            if p._dtype.is_complex:
                _view_real(p.grad)
                _view_real(p)
    return params


def grad_array(p: Tensor, maximize: bool) -> Any:
    return -p.grad._data if maximize else p.grad._data


def _store(acc: Any, like: Any, out: Tensor | None) -> Any:
    """Round ``acc`` to ``like``'s dtype once: into ``out``'s array in place (bumping its version), or as a
    new array. A 16-bit result computed wider is first rounded to float32, torch's compute type."""
    if acc.dtype == np.float64 and _half(like):
        acc = acc.astype(np.float32)
    if out is None:
        return acc.astype(like.dtype, copy=False)
    xp_of_array(like).copyto(out._data, acc, casting="unsafe")
    out._vc[0] += 1
    return out._data


def _half(a: Any) -> bool:
    return a.dtype.itemsize == 2 and a.dtype.kind in "fV"


def _compute(a: Any) -> Any:
    """``a`` in torch's compute type: float32 for 16-bit floats (whose fused multiply-adds run in float32)."""
    return a.astype(np.float32) if _half(a) else a


def scalar(like: Any, s: float) -> Any:
    """A Python scalar as the array's scalar type (torch casts the scalar of ``add`` and of ``alpha`` to the
    tensor dtype, 16-bit floats included)."""
    return like.dtype.type(s)


def opmath(like: Any, s: float) -> Any:
    """A Python scalar as torch's multiplying kernels take it (mul, div, addcmul/addcdiv's value, lerp's
    weight): in the array's dtype, but float32 for 16-bit floats (an expression's result is then float32:
    round it with :func:`rounded`)."""
    return np.float32(s) if _half(like) else like.dtype.type(s)


def rounded(x: Any, like: Any) -> Any:
    """``x`` rounded to ``like``'s dtype (a no-op for float32/float64 results): one torch op's result."""
    return x.astype(like.dtype, copy=False)


def add(a: Any, b: Any, alpha: float = 1.0, out: Tensor | None = None) -> Any:
    """``a.add(b, alpha=alpha)``: a + alpha·b with one rounding (into ``out`` when given; 16-bit floats as torch's
    add kernel, its scalar tail included)."""
    if alpha == 1:
        return _store(a + b, a, out)
    if _half(a):
        return _store(axpy(xp_of_array(a), a, b, alpha), a, out)
    ac = _compute(a)
    acc = multiply_wide(b, ac.dtype.type(scalar(a, alpha)), ac)
    acc += ac
    return _store(acc, a, out)


def addcmul(a: Any, t1: Any, t2: Any, value: float = 1.0, out: Tensor | None = None) -> Any:
    """``a.addcmul(t1, t2, value)``: fma(value·t1, t2, a) (into ``out`` when given)."""
    ac = _compute(a)
    acc = multiply_wide(t1 * opmath(a, value), t2, ac)
    acc += ac
    return _store(acc, a, out)


def addcdiv(a: Any, t1: Any, t2: Any, value: float = 1.0, out: Tensor | None = None) -> Any:
    """``a.addcdiv(t1, t2, value)``: a + value·t1 / t2 (into ``out`` when given)."""
    q = t1 * opmath(a, value)
    q /= t2
    if out is not None and q.dtype == a.dtype and out._data is a:   # the sum straight into ``a`` (no copy)
        xp_of_array(a).add(q, a, out=a)
        out._vc[0] += 1
        return a
    q += a
    return _store(q, a, out)


def lerp(a: Any, b: Any, weight: float, out: Tensor | None = None) -> Any:
    """``a.lerp(b, weight)`` with torch's two-sided formula (fused multiply-add; into ``out`` when given)."""
    w, like = opmath(a, weight), a
    a, b = _compute(a), _compute(b)
    diff = b - a
    if abs(float(w)) < 0.5:
        acc = multiply_wide(diff, w, a)
        acc += a
    else:
        wide = wide_dtype(a)
        one_minus = (1 - w.astype(wide)) if wide is not None else 1 - w
        acc = multiply_wide(diff, one_minus, a)
        xp = xp_of_array(a)
        acc = xp.subtract(b, acc, out=acc) if isinstance(acc, xp.ndarray) else b - acc   # 0-d: a NumPy scalar
    return _store(acc, like, out)


def factor(like: Any, s: float, foreach: bool = False) -> Any:
    """A Python scalar as torch's in-place multiply takes it: :func:`opmath`, or with ``foreach`` as
    ``torch._foreach_mul_`` takes it, in the array's own dtype (rounded for 16-bit floats)."""
    return like.dtype.type(s) if foreach else opmath(like, s)


def scale(t: Tensor, s: float, foreach: bool = False) -> None:
    """``t.mul_(s)`` (``foreach``: ``torch._foreach_mul_``'s), see :func:`factor`."""
    t._data *= factor(t._data, s, foreach)
    t._vc[0] += 1


def weight_decay(p: Tensor, g: Any, lr: float, wd: float, decoupled: bool, foreach: bool = False) -> Any:
    """The Adam family's weight decay: decoupled (``p ← p·(1 - lr·wd)``, AdamW) or added to the gradient
    (``g + wd·p``); returns the gradient to use."""
    if wd == 0:
        return g
    if decoupled:
        scale(p, 1 - lr * wd, foreach)
        return g
    return add(g, p._data, wd)


def init_moments(state: dict[str, Any], p: Tensor, after_step: dict[str, Any] | None = None,
                 amsgrad: bool = False, capturable: bool = False) -> None:
    """Create the Adam family's per-parameter state on first use, in torch's key order: ``step``, the
    optimizer's own ``after_step`` entries, ``exp_avg``, ``exp_avg_sq`` and (AMSGrad) ``max_exp_avg_sq``.
    ``capturable`` keeps ``step`` on a cuda parameter's GPU (torch's rule for CUDA-graph capture)."""
    if state:
        return
    state["step"] = step_tensor(p.device if capturable and p.device.type == "cuda" else None)
    state.update(after_step or {})
    state["exp_avg"] = state_zeros(p)
    state["exp_avg_sq"] = state_zeros(p)
    if amsgrad:
        state["max_exp_avg_sq"] = state_zeros(p)


def update_moments(m: Tensor, v: Tensor, g: Any, beta1: float, beta2: float, foreach: bool = False) -> None:
    """Adam's moment estimates in torch's op order: ``m.lerp_(g, 1-β1)``, ``v.mul_(β2).addcmul_(g, g, 1-β2)``
    (``foreach``: as its foreach form, see :func:`scale`)."""
    lerp(m._data, g, 1 - beta1, out=m)
    scale(v, beta2, foreach)
    addcmul(v._data, g, g, 1 - beta2, out=v)


def write(t: Tensor, value: Any) -> None:
    """Store ``value`` into ``t`` in place (bumping its version, as an in-place torch op does)."""
    t._data[...] = value
    t._vc[0] += 1


def step_tensor(device: Any = None) -> Tensor:
    """The float32 0-d 'step' counter torch keeps in optimizer state (on the CPU unless ``device``)."""
    t = new_tensor(0.0, dtype=D.float32)
    return t if device is None else t.to(device)


def check_capture(opt: Any) -> None:
    """torch's refusal to capture ``step()`` in a CUDA graph unless every group is ``capturable``."""
    if CAPTURING[0] and not all(g.get("capturable", False) for g in opt.param_groups):
        raise RuntimeError(f"Attempting CUDA graph capture of step() for an instance of {type(opt).__name__} "
                           "but param_groups' capturable is False.")


def check_tensor_lr(lr: Any) -> None:
    """torch's refusal of a learning-rate tensor with more than one element (before the value checks)."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")


def check_fused(fused: bool | None, foreach: bool | None, differentiable: bool) -> None:
    """torch's refusals of ``fused`` combined with ``differentiable`` or ``foreach`` (at construction)."""
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def check_capturable_devices(group: dict[str, Any], params: list[Tensor], lists: tuple[str, str] = ("params", "params"),
                             xla: tuple[bool, bool] = (True, False)) -> None:
    """torch's assertion that a ``capturable`` step updates GPU parameters only; its text names the optimizer's
    state lists and devices, which differ between the single-tensor and foreach implementations (index 0/1)."""
    if not group.get("capturable") or all(p.device.type == "cuda" for p in params):
        return
    i = 1 if group.get("foreach") else 0
    devices = ["cuda", "xpu", "hpu", "privateuseone", *(["xla"] if xla[i] else [])]
    raise AssertionError(f"If capturable=True, {lists[i]} and state_steps must be on supported devices: {devices}.")


def bump_step(state: dict[str, Any]) -> float:
    """``state['step'] += 1``; the new count as a Python float."""
    t = state["step"]
    write(t, t._data + np.float32(1))
    return float(t._data)


def advance_step(state: dict[str, Any]) -> None:
    """``state['step'] += 1`` for a GPU-resident count, without reading it back (no host round trip)."""
    t = state["step"]
    t._data += np.float32(1)
    t._vc[0] += 1


def state_zeros(p: Tensor) -> Tensor:
    with no_grad():
        return zeros_like(p)


def state_like(p: Tensor, arr: Any) -> Tensor:
    """A new state tensor holding a copy of ``arr`` (a 0-d result may be a NumPy scalar: made an array)."""
    return from_array(xp(p).array(arr, copy=True), p.dtype, p.device)
