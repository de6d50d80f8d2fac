"""``parallelize_module``: apply a parallel style (or a plan ``{submodule path: style}``) to a module."""

from __future__ import annotations

from fnmatch import fnmatch

from .... import nn
from ...._core.warn import warn
from ...device_mesh import DeviceMesh
from .._api import _current_mesh
from .style import ParallelStyle

__all__ = ["parallelize_module"]


def parallelize_module(module: nn.Module, device_mesh: DeviceMesh | None = None,
                       parallelize_plan: ParallelStyle | dict[str, ParallelStyle] | None = None, *,
                       src_data_rank: int | None = 0) -> nn.Module:
    """Parallelize ``module`` over a 1-d ``device_mesh``: one style for the module, or a dict whose keys are
    submodule paths (``fnmatch`` patterns per path component, ``"layers.*.mlp"``)."""
    device_mesh = device_mesh or _current_mesh()
    if parallelize_plan is None:
        warn("No parallelize_plan is provided and auto-parallel is not supported at the moment, so this "
             "parallelize_module call will do nothing.", stacklevel=2)
        return module
    if isinstance(parallelize_plan, ParallelStyle):
        parallelize_plan.src_data_rank = src_data_rank
        return parallelize_plan._apply(module, device_mesh)
    if not isinstance(parallelize_plan, dict):
        raise TypeError("Expect Union[ParallelStyle, Dict[str, ParallelStyle]] for parallelize_plan, "
                        f"{type(parallelize_plan)} found!")
    for path, style in parallelize_plan.items():
        if path == "":
            parallelize_module(module, device_mesh, style, src_data_rank=src_data_rank)
            continue
        token, *rest = path.split(".")
        matched = [(n, m) for n, m in module.named_children() if fnmatch(n, token)]
        if not matched:
            warn(f"Parallelize plan key '{path}' could not be resolved: no submodule matching token "
                 f"'{token}' in module {module}, skipping this plan entry.", stacklevel=2)
            continue
        for _, sub in matched:
            plan = {".".join(rest): style} if rest else style
            parallelize_module(sub, device_mesh, plan, src_data_rank=src_data_rank)
    return module
