"""``torch.utils.hooks``: ``RemovableHandle`` (defined with the autograd graph, which uses it first) and the
machinery of modules' full backward hooks."""

from __future__ import annotations

from typing import Any

from .._core.warn import warn
from .._tensor import Tensor
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.graph import RemovableHandle

__all__ = ["RemovableHandle", "BackwardHook"]


class BackwardHook:
    """Runs a module's full backward (pre-)hooks: the module's tensor inputs and outputs are passed through
    identity autograd nodes (``BackwardHookFunctionBackward``) that see the gradients flowing back."""

    def __init__(self, module: Any, user_hooks: list, user_pre_hooks: list) -> None:
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs: tuple | None = None
        self.n_inputs = 0
        self.input_index: list[int] | None = None
        self.n_outputs = 0
        self.output_index: list[int] | None = None

    @staticmethod
    def _spread(index: list[int], values: Any, size: int) -> tuple:
        out: list[Any] = [None] * size
        for i, v in zip(index, values, strict=True):
            out[i] = v
        return tuple(out)

    def _wrap(self, args: tuple, on_grad: Any, inputs_side: bool) -> tuple[tuple, list[int] | None]:
        """Route the tensors of ``args`` through one identity node whose backward calls ``on_grad``."""
        index = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        if not (is_grad_enabled() and any(args[i].requires_grad for i in index)):
            return args, None
        outs = BackwardHookFunction.apply(*(args[i] for i in index))
        node = next(o.grad_fn for o in outs if o.grad_fn is not None)
        node.on_grad = on_grad
        node.inputs_side = inputs_side
        new = list(args)
        for i, o in zip(index, outs, strict=True):
            new[i] = o
        return (tuple(new) if type(args) is tuple else type(args)(*new)), index

    def setup_input_hook(self, args: tuple) -> tuple:
        def on_grad(grads: tuple) -> tuple:
            if self.grad_outputs is None:
                return grads
            res = self._spread(self.input_index or [], grads, self.n_inputs)
            for hook in self.user_hooks:
                out = hook(self.module, res, self.grad_outputs)
                if out is None:
                    continue
                if len(out) != len(res):
                    raise RuntimeError(
                        f"Backward hook returned an invalid number of grad_input, got {len(out)}, but "
                        f"expected {len(res)}"
                    )
                res = out
            self.grad_outputs = None
            return tuple(res[i] for i in self.input_index or [])

        self.n_inputs = len(args)
        wrapped, self.input_index = self._wrap(args, on_grad, True)
        return wrapped

    def setup_output_hook(self, result: Any) -> Any:
        def on_grad(grads: tuple) -> tuple:
            self.grad_outputs = self._spread(self.output_index or [], grads, self.n_outputs)
            for hook in self.user_pre_hooks:
                out = hook(self.module, self.grad_outputs)
                if out is None:
                    continue
                if len(out) != len(self.grad_outputs):
                    raise RuntimeError(
                        f"Backward pre hook returned an invalid number of grad_output, got {len(out)}, "
                        f"but expected {len(self.grad_outputs)}"
                    )
                self.grad_outputs = tuple(out)
            grad_outputs = self.grad_outputs
            if self.input_index is None:
                warn(
                    "Full backward hook is firing when gradients are computed with respect to module "
                    "outputs since no inputs require gradients. See https://docs.pytorch.org/docs/main/"
                    "generated/torch.nn.Module.html#torch.nn.Module.register_full_backward_hook for more "
                    "details.",
                    stacklevel=1,
                )
                none = (None,) * self.n_inputs
                for hook in self.user_hooks:
                    res = hook(self.module, none, grad_outputs)
                    if res is not None and not (isinstance(res, tuple) and all(r is None for r in res)):
                        raise RuntimeError(
                            "Backward hook for Modules where no input requires gradient should always "
                            "return None or None for all gradients."
                        )
                self.grad_outputs = None
            return tuple(grad_outputs[i] for i in self.output_index or [])

        single = not isinstance(result, tuple)
        args = (result,) if single else result
        self.n_outputs = len(args)
        wrapped, self.output_index = self._wrap(args, on_grad, False)
        return wrapped[0] if single else wrapped


class BackwardHookFunction(Function):
    """Identity on tensors; its node calls ``on_grad`` (set after apply) with the incoming gradients."""

    @staticmethod
    def forward(ctx: Any, *tensors: Tensor) -> tuple:
        ctx.set_materialize_grads(False)
        ctx.mark_non_differentiable(*(t for t in tensors if not t.requires_grad))
        ctx.like = [(t.shape, t.dtype, t.device) for t in tensors]
        return tensors

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        # as torch: the inputs' node fills missing gradients with zeros (the module's grad_input hooks and the
        # inputs see zeros), the outputs' node passes None on (its pre-hooks and node hooks see None)
        return ctx.on_grad(_materialized(ctx, grads) if ctx.inputs_side else grads)


def _materialized(ctx: Any, grads: tuple) -> tuple:
    """``grads`` with zeros (of the forward tensor's shape, dtype and device) for None."""
    from ..ops.creation import zeros
    return tuple(zeros(shape, dtype=dtype, device=device) if g is None else g
                 for g, (shape, dtype, device) in zip(grads, ctx.like, strict=True))
