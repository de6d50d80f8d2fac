"""Parallel styles: how ``parallelize_module`` shards a submodule's parameters and lays out its inputs/outputs.

``ColwiseParallel`` shards ``nn.Linear`` weights (and bias) on their output features (``Shard(0)``; an
embedding on its columns), takes replicated inputs and gives outputs sharded on the last dim;
``RowwiseParallel`` shards weights on their input features (``Shard(1)``, bias replicated), takes inputs sharded
on the last dim and gives replicated outputs (the partial sums all-reduced); ``SequenceParallel`` keeps
parameters replicated and runs on inputs sharded on the sequence dim. By default inputs may be plain tensors (this
rank's part, as ``input_layouts`` says) and outputs are plain local tensors (``use_local_output``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import partial
from typing import Any

from .... import nn
from ...._tensor import Tensor
from ...device_mesh import DeviceMesh
from .._api import DTensor, distribute_module, distribute_tensor
from ..placement_types import Placement, Replicate, Shard

__all__ = ["ParallelStyle", "RowwiseParallel", "SequenceParallel", "ColwiseParallel", "PrepareModuleInput",
           "PrepareModuleInputOutput", "PrepareModuleOutput"]


class ParallelStyle(ABC):
    """What ``parallelize_module`` applies to a module (its ``_apply(module, device_mesh)``)."""

    src_data_rank: int | None = 0

    @abstractmethod
    def _apply(self, module: nn.Module, device_mesh: DeviceMesh) -> nn.Module: ...


def _as_dtensor(x: Any, mesh: DeviceMesh, layouts: tuple, desired: tuple) -> DTensor:
    """A module input as a DTensor of ``desired`` layout (a plain tensor is this rank's part as ``layouts``)."""
    if not isinstance(x, DTensor):
        x = DTensor.from_local(x, mesh, layouts, run_check=False)
    if x.placements != desired:
        x = x.redistribute(placements=desired, async_op=True)
    return x


def _shard_params(module: nn.Module, mesh: DeviceMesh, placement: Placement, src_data_rank: int | None,
                  names: tuple[str, ...] | None = None) -> None:
    for name, param in list(module.named_parameters(recurse=False)):
        if names is None or name in names:
            dt = distribute_tensor(param, mesh, [placement], src_data_rank=src_data_rank)
            module.register_parameter(name, nn.Parameter(dt, param.requires_grad))


def _linear_style_repr(style: Any) -> str:
    return (f"{type(style).__name__}(input_layouts={style.input_layouts}, output_layouts={style.output_layouts}, "
            f"use_local_output={style.use_local_output})")


class ColwiseParallel(ParallelStyle):
    """Shard an ``nn.Linear`` (or ``nn.Embedding``) column-wise: outputs sharded on the last dim."""

    def __init__(self, *, input_layouts: Placement | None = None, output_layouts: Placement | None = None,
                 use_local_output: bool = True) -> None:
        super().__init__()
        self.input_layouts = (input_layouts or Replicate(),)
        self.output_layouts = (output_layouts or Shard(-1),)
        self.desired_input_layouts = (Replicate(),)
        self.use_local_output = use_local_output

    @staticmethod
    def _prepare_input_fn(input_layouts: tuple, desired_input_layouts: tuple, mod: nn.Module, inputs: tuple,
                          device_mesh: DeviceMesh) -> DTensor:
        return _as_dtensor(inputs[0], device_mesh, input_layouts, desired_input_layouts)

    def _partition_linear_fn(self, name: str, module: nn.Module, device_mesh: DeviceMesh) -> None:
        _shard_params(module, device_mesh, Shard(0), self.src_data_rank)

    def _partition_embedding_fn(self, name: str, module: nn.Module, device_mesh: DeviceMesh) -> None:
        _shard_params(module, device_mesh, Shard(1), self.src_data_rank)

    @staticmethod
    def _prepare_output_fn(output_layouts: tuple, use_local_output: bool, mod: nn.Module, outputs: DTensor,
                           device_mesh: DeviceMesh) -> Any:
        if outputs.placements != output_layouts:
            outputs = outputs.redistribute(placements=output_layouts, async_op=True)
        return outputs.to_local() if use_local_output else outputs

    def _apply(self, module: nn.Module, device_mesh: DeviceMesh) -> nn.Module:
        if isinstance(module, nn.Linear):
            partition_fn = self._partition_linear_fn
        elif isinstance(module, nn.Embedding):
            partition_fn = self._partition_embedding_fn
        else:
            raise NotImplementedError("ColwiseParallel currently only support nn.Linear and nn.Embedding!")
        return distribute_module(module, device_mesh, partition_fn,
                                 partial(self._prepare_input_fn, self.input_layouts, self.desired_input_layouts),
                                 partial(self._prepare_output_fn, self.output_layouts, self.use_local_output))

    def __repr__(self) -> str:
        return _linear_style_repr(self)


class RowwiseParallel(ParallelStyle):
    """Shard an ``nn.Linear`` (or ``nn.Embedding``) row-wise: inputs sharded on the last dim, outputs
    replicated."""

    def __init__(self, *, input_layouts: Placement | None = None, output_layouts: Placement | None = None,
                 use_local_output: bool = True) -> None:
        super().__init__()
        self.input_layouts = (input_layouts or Shard(-1),)
        self.output_layouts = (output_layouts or Replicate(),)
        self.use_local_output = use_local_output

    _prepare_input_fn = staticmethod(ColwiseParallel._prepare_input_fn)
    _prepare_output_fn = staticmethod(ColwiseParallel._prepare_output_fn)

    def _partition_linear_fn(self, name: str, module: nn.Module, device_mesh: DeviceMesh) -> None:
        _shard_params(module, device_mesh, Shard(1), self.src_data_rank, ("weight",))
        _shard_params(module, device_mesh, Replicate(), self.src_data_rank, ("bias",))

    def _partition_embedding_fn(self, name: str, module: nn.Module, device_mesh: DeviceMesh) -> None:
        _shard_params(module, device_mesh, Shard(0), self.src_data_rank)

    def _apply(self, module: nn.Module, device_mesh: DeviceMesh) -> nn.Module:
        if isinstance(module, nn.Linear):
            partition_fn = self._partition_linear_fn
            self.desired_input_layouts: tuple = (Shard(-1),)
        elif isinstance(module, nn.Embedding):
            partition_fn = self._partition_embedding_fn
            self.desired_input_layouts = (Replicate(),)
        else:
            raise NotImplementedError("RowwiseParallel currently only support nn.Linear and nn.Embedding!")
        return distribute_module(module, device_mesh, partition_fn,
                                 partial(self._prepare_input_fn, self.input_layouts, self.desired_input_layouts),
                                 partial(self._prepare_output_fn, self.output_layouts, self.use_local_output))

    def __repr__(self) -> str:
        return _linear_style_repr(self)


class SequenceParallel(ParallelStyle):
    """Replicate the parameters (norms, dropout) and run on inputs sharded on ``sequence_dim``."""

    def __init__(self, *, sequence_dim: int = 1, use_local_output: bool = False) -> None:
        super().__init__()
        self.sequence_sharding = (Shard(sequence_dim),)
        self.use_local_output = use_local_output

    def _replicate_module_fn(self, name: str, module: nn.Module, device_mesh: DeviceMesh) -> None:
        for p_name, param in list(module.named_parameters(recurse=False)):
            dt = DTensor.from_local(param.detach(), device_mesh, [Replicate()], run_check=False)
            module.register_parameter(p_name, nn.Parameter(dt, param.requires_grad))

    @staticmethod
    def _prepare_input_fn(sequence_sharding: tuple, mod: nn.Module, inputs: tuple, device_mesh: DeviceMesh) -> Any:
        x = inputs[0]
        if isinstance(x, DTensor):
            if x.placements != sequence_sharding:
                x = x.redistribute(placements=sequence_sharding, async_op=True)
            return x
        if isinstance(x, Tensor):
            return DTensor.from_local(x, device_mesh, sequence_sharding, run_check=False)
        raise ValueError(f"expecting input of {mod} to be a torch.Tensor or DTensor, but got {x}")

    @staticmethod
    def _prepare_output_fn(use_local_output: bool, mod: nn.Module, outputs: DTensor, device_mesh: DeviceMesh) -> Any:
        return outputs.to_local() if use_local_output else outputs

    def _apply(self, module: nn.Module, device_mesh: DeviceMesh) -> nn.Module:
        return distribute_module(module, device_mesh, self._replicate_module_fn,
                                 partial(self._prepare_input_fn, self.sequence_sharding),
                                 partial(self._prepare_output_fn, self.use_local_output))

    def __repr__(self) -> str:
        return (f"SequenceParallel(sequence_dim={self.sequence_sharding[0].dim}, "
                f"use_local_output={self.use_local_output})")


def _tuple(x: Any) -> Any:
    return (x,) if isinstance(x, Placement) else x


class PrepareModuleInput(ParallelStyle):
    """Turn a module's inputs into DTensors (``input_layouts``; None leaves an input alone) and redistribute them
    to ``desired_input_layouts``."""

    def __init__(self, *, input_layouts: Any = None, desired_input_layouts: Any = None,
                 input_kwarg_layouts: dict[str, Placement] | None = None,
                 desired_input_kwarg_layouts: dict[str, Placement] | None = None,
                 use_local_output: bool = False) -> None:
        self.input_layouts = _tuple(input_layouts)
        self.desired_input_layouts = _tuple(desired_input_layouts)
        self.use_local_output = use_local_output
        if self.input_layouts is not None:
            if self.desired_input_layouts is None:
                raise AssertionError("desired module inputs should not be None!")
            if len(self.input_layouts) != len(self.desired_input_layouts):
                raise AssertionError("input_layouts and desired_input_layouts should have same length!")
        self.with_kwargs = input_kwarg_layouts is not None
        self.input_kwarg_layouts = input_kwarg_layouts or {}
        self.desired_input_kwarg_layouts = desired_input_kwarg_layouts or {}
        if self.with_kwargs and len(self.input_kwarg_layouts) != len(self.desired_input_kwarg_layouts):
            raise AssertionError("input_kwarg_layouts and desired_input_kwarg_layouts should have same length!")

    def _prepare_input_arg(self, x: Any, mesh: DeviceMesh, layout: Placement | None,
                           desired: Placement | None) -> Any:
        if layout is None:
            return x
        if not isinstance(x, DTensor) and not isinstance(x, Tensor):
            raise AssertionError("expecting input to be a torch.Tensor!")
        if desired is None:
            raise AssertionError("desired module input layout should not be None!")
        dt = _as_dtensor(x, mesh, (layout,), (desired,))
        return dt.to_local() if self.use_local_output else dt

    def _prepare_input_fn(self, inputs: Any, mesh: DeviceMesh) -> Any:
        if self.input_layouts is None:
            return inputs
        if not isinstance(inputs, tuple):
            inputs = (inputs,)
        if len(inputs) != len(self.input_layouts):
            raise ValueError("module inputs and input_layouts should have same length!")
        return tuple(self._prepare_input_arg(x, mesh, a, b)
                     for x, a, b in zip(inputs, self.input_layouts, self.desired_input_layouts, strict=True))

    def _prepare_input_kwarg_fn(self, inputs: Any, kwargs: dict, mesh: DeviceMesh) -> tuple:
        args = self._prepare_input_fn(inputs, mesh)
        out = {k: self._prepare_input_arg(v, mesh, self.input_kwarg_layouts.get(k),
                                          self.desired_input_kwarg_layouts.get(k)) for k, v in kwargs.items()}
        return args, out

    def _apply(self, module: nn.Module, device_mesh: DeviceMesh) -> nn.Module:
        if self.with_kwargs:
            module.register_forward_pre_hook(lambda _, inputs, kwargs: self._prepare_input_kwarg_fn(
                inputs, kwargs, device_mesh), with_kwargs=True)
        else:
            module.register_forward_pre_hook(lambda _, inputs: self._prepare_input_fn(inputs, device_mesh))
        return module

    def __repr__(self) -> str:
        return (f"PrepareModuleInput(input_layouts={self.input_layouts}, desired_input_layouts="
                f"{self.desired_input_layouts}, input_kwarg_layouts={self.input_kwarg_layouts}, "
                f"desired_input_kwarg_layouts={self.desired_input_kwarg_layouts}, "
                f"use_local_output={self.use_local_output})")


class PrepareModuleOutput(ParallelStyle):
    """Turn a module's outputs into DTensors (``output_layouts``) and redistribute them to
    ``desired_output_layouts`` (plain local tensors with ``use_local_output``)."""

    def __init__(self, *, output_layouts: Any, desired_output_layouts: Any, use_local_output: bool = True) -> None:
        self.output_layouts = _tuple(output_layouts)
        self.desired_output_layouts = _tuple(desired_output_layouts)
        self.use_local_output = use_local_output
        if len(self.output_layouts) != len(self.desired_output_layouts):
            raise AssertionError("output_layouts and desired_output_layouts should have same length!")

    def _prepare_out_fn(self, outputs: Any, mesh: DeviceMesh) -> Any:
        single = not isinstance(outputs, tuple)
        outputs = (outputs,) if single else outputs
        if len(outputs) != len(self.output_layouts):
            raise ValueError("module outputs and output_layouts should have same length!")
        prepared = []
        for out, layout, desired in zip(outputs, self.output_layouts, self.desired_output_layouts, strict=True):
            if layout is None:
                prepared.append(out)
                continue
            dt = _as_dtensor(out, mesh, (layout,), (desired,))
            prepared.append(dt.to_local() if self.use_local_output else dt)
        return prepared[0] if len(prepared) == 1 else tuple(prepared)

    def _apply(self, module: nn.Module, device_mesh: DeviceMesh) -> nn.Module:
        module.register_forward_hook(lambda _, inputs, outputs: self._prepare_out_fn(outputs, device_mesh))
        return module

    def __repr__(self) -> str:
        return (f"PrepareModuleOutput(output_layouts={self.output_layouts}, desired_output_layouts="
                f"{self.desired_output_layouts}, use_local_output={self.use_local_output})")


class PrepareModuleInputOutput(ParallelStyle):
    """:class:`PrepareModuleInput` and :class:`PrepareModuleOutput` together."""

    def __init__(self, *, input_layouts: Any = None, desired_input_layouts: Any = None,
                 input_kwarg_layouts: dict[str, Placement] | None = None,
                 desired_input_kwarg_layouts: dict[str, Placement] | None = None, use_local_input: bool = False,
                 output_layouts: Any, desired_output_layouts: Any, use_local_output: bool = True) -> None:
        self.prepare_module_input = PrepareModuleInput(
            input_layouts=input_layouts, desired_input_layouts=desired_input_layouts,
            input_kwarg_layouts=input_kwarg_layouts, desired_input_kwarg_layouts=desired_input_kwarg_layouts,
            use_local_output=use_local_input)
        self.prepare_module_output = PrepareModuleOutput(output_layouts=output_layouts,
                                                         desired_output_layouts=desired_output_layouts,
                                                         use_local_output=use_local_output)

    def _apply(self, module: nn.Module, device_mesh: DeviceMesh) -> nn.Module:
        self.prepare_module_input._apply(module, device_mesh)
        self.prepare_module_output._apply(module, device_mesh)
        return module

    def __repr__(self) -> str:
        i, o = self.prepare_module_input, self.prepare_module_output
        return (f"PrepareModuleInputOutput(input_layouts={i.input_layouts}, desired_input_layouts="
                f"{i.desired_input_layouts}, input_kwarg_layouts={i.input_kwarg_layouts}, "
                f"desired_input_kwarg_layouts={i.desired_input_kwarg_layouts}, use_local_input={i.use_local_output}, "
                f"output_layouts={o.output_layouts}, desired_output_layouts={o.desired_output_layouts}, "
                f"use_local_output={o.use_local_output})")
