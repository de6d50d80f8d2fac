"""Model / optimizer state dicts under fully qualified parameter names, for plain, DDP- and FSDP-wrapped models.

Wrapper prefixes (``module.`` of DDP, ``_fsdp_wrapped_module.``, ``_orig_mod.``, ...) are stripped as torch does,
and optimizer states are keyed by the parameters' names instead of their indices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_WRAPPERS = ("module", "_fsdp_wrapped_module", "_checkpoint_wrapped_module", "_orig_mod")


@dataclass
class StateDictOptions:
    """How state dicts are produced and loaded (as torch's)."""

    full_state_dict: bool = False
    cpu_offload: bool = False
    ignore_frozen_params: bool = False
    keep_submodule_prefixes: bool = True
    strict: bool = True
    broadcast_from_rank0: bool = False
    flatten_optimizer_state_dict: bool = False
    dsd_fqn_modifiers: str = "_fqn_modifiers"


def _strip(key: str, model: Any) -> str:
    """``key`` without wrapper components (DDP's leading ``module.``, FSDP's, checkpoint's, compile's)."""
    from ...nn.parallel import DistributedDataParallel
    parts = [p for p in key.split(".") if p not in _WRAPPERS[1:]]
    if isinstance(model, DistributedDataParallel) and parts[:1] == ["module"]:
        parts = parts[1:]
    return ".".join(parts)


def _fsdp(model: Any) -> bool:
    from ..fsdp import FullyShardedDataParallel
    return isinstance(model, FullyShardedDataParallel)


def _offload(sd: Any, options: StateDictOptions) -> Any:
    from ember import Tensor
    if isinstance(sd, dict):
        return {k: _offload(v, options) for k, v in sd.items()}
    if isinstance(sd, list):
        return [_offload(v, options) for v in sd]
    return sd.detach().cpu() if isinstance(sd, Tensor) and options.cpu_offload else sd


def _param_names(model: Any) -> dict[int, str]:
    return {id(p): _strip(n, model) for n, p in model.named_parameters()}


def get_model_state_dict(model: Any, *, submodules: Any = None, options: StateDictOptions | None = None) -> dict:
    """The model's state dict under unwrapped names (FSDP: the full state dict)."""
    options = options or StateDictOptions()
    frozen = {_strip(n, model) for n, p in model.named_parameters() if not p.requires_grad}
    sd = {_strip(k, model): v for k, v in model.state_dict().items()}
    if options.ignore_frozen_params:
        sd = {k: v for k, v in sd.items() if k not in frozen}
    return _offload(sd, options)


def _init_optim_state(optim: Any) -> None:
    """Create the optimizer's state with a step of zero gradients at lr 0 (as torch), if it has none yet."""
    if optim.state:
        return
    import ember
    params = [p for g in optim.param_groups for p in g["params"]]
    if any(p.grad is not None for p in params):
        return
    for p in params:
        if p.requires_grad:
            p.grad = ember.zeros_like(p)
    lrs = [g["lr"] for g in optim.param_groups]
    for g in optim.param_groups:
        g["lr"] = 0.0 if not isinstance(g["lr"], ember.Tensor) else ember.tensor(0.0)
    optim.step()
    for g, lr in zip(optim.param_groups, lrs, strict=True):
        g["lr"] = lr
    optim.zero_grad(set_to_none=True)


def _optims(optimizers: Any) -> list[Any]:
    return list(optimizers) if isinstance(optimizers, list | tuple) else [optimizers]


def get_optimizer_state_dict(model: Any, optimizers: Any, *, submodules: Any = None,
                             options: StateDictOptions | None = None) -> dict:
    """The optimizers' merged state dict keyed by parameter names (``state`` and ``param_groups``)."""
    options = options or StateDictOptions()
    names = _param_names(model)
    out: dict[str, Any] = {"state": {}, "param_groups": []}
    for optim in _optims(optimizers):
        _init_optim_state(optim)
        if _fsdp(model):
            from ..fsdp import FullyShardedDataParallel as FSDP
            osd = FSDP.optim_state_dict(model, optim)
            out["state"].update(osd["state"])
            out["param_groups"].extend(osd["param_groups"])
            continue
        osd = optim.state_dict()
        params = [p for g in optim.param_groups for p in g["params"]]
        index = {i: names[id(p)] for i, p in enumerate(params)}
        out["state"].update({index[i]: s for i, s in osd["state"].items()})
        for g in osd["param_groups"]:
            out["param_groups"].append({**g, "params": [index[i] for i in g["params"]]})
    return _offload(out, options)


def get_state_dict(model: Any, optimizers: Any, *, submodules: Any = None,
                   options: StateDictOptions | None = None) -> tuple[dict, dict]:
    """``(get_model_state_dict(model), get_optimizer_state_dict(model, optimizers))``."""
    return (get_model_state_dict(model, options=options),
            get_optimizer_state_dict(model, optimizers, options=options))


def set_model_state_dict(model: Any, model_state_dict: dict, *, options: StateDictOptions | None = None) -> Any:
    """Load a state dict under unwrapped names into the (possibly wrapped) model; returns the incompatible keys."""
    options = options or StateDictOptions()
    if _fsdp(model):
        return model.load_state_dict(model_state_dict, strict=options.strict)
    real = {_strip(k, model): k for k in model.state_dict()}
    strict = options.strict and not options.ignore_frozen_params
    return model.load_state_dict({real.get(k, k): v for k, v in model_state_dict.items()}, strict=strict)


def set_optimizer_state_dict(model: Any, optimizers: Any, optim_state_dict: dict, *,
                             options: StateDictOptions | None = None) -> None:
    """Load a name-keyed optimizer state dict (as ``get_optimizer_state_dict`` gives) into the optimizers."""
    names = _param_names(model)
    for optim in _optims(optimizers):
        _init_optim_state(optim)
        if _fsdp(model):
            from ..fsdp import FullyShardedDataParallel as FSDP
            optim.load_state_dict(FSDP.optim_state_dict_to_load(model, optim, optim_state_dict))
            continue
        groups_by_first = {tuple(g["params"]): g for g in optim_state_dict["param_groups"]}
        state: dict[int, Any] = {}
        groups = []
        i = 0
        for g in optim.param_groups:
            fqns = [names[id(p)] for p in g["params"]]
            saved = next((sg for key, sg in groups_by_first.items() if set(key) & set(fqns)), None)
            if saved is None:
                raise ValueError(f"No saved param_group for parameters {fqns}")
            ids = []
            for fqn in fqns:
                if fqn in optim_state_dict["state"]:
                    state[i] = optim_state_dict["state"][fqn]
                ids.append(i)
                i += 1
            groups.append({**saved, "params": ids})
        optim.load_state_dict({"state": state, "param_groups": groups})


def set_state_dict(model: Any, optimizers: Any, *, model_state_dict: dict, optim_state_dict: dict,
                   options: StateDictOptions | None = None) -> Any:
    """Load both; returns the model's incompatible keys."""
    keys = set_model_state_dict(model, model_state_dict, options=options)
    if optim_state_dict:
        set_optimizer_state_dict(model, optimizers, optim_state_dict, options=options)
    return keys
