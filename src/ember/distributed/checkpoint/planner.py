"""Save / load planners: flatten a nested state dict into fully qualified names and back."""

from __future__ import annotations

from typing import Any

from .metadata import BytesStorageMetadata, ChunkStorageMetadata, Metadata, TensorProperties, TensorStorageMetadata
from .stateful import Stateful

Path = tuple[Any, ...]


def _is_tensor(v: Any) -> bool:
    from ember import Tensor
    return isinstance(v, Tensor)


def flatten_state_dict(state_dict: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Path]]:
    """Nested dicts / lists to ``{"a.b.0": leaf}`` and the mapping fqn -> path of keys (as torch's)."""
    flat: dict[str, Any] = {}
    mapping: dict[str, Path] = {}

    def visit(v: Any, path: Path) -> None:
        if isinstance(v, dict) and v:
            for k, x in v.items():
                visit(x, (*path, k))
        elif isinstance(v, list) and v and all(isinstance(x, dict | list) or _is_tensor(x) for x in v):
            for i, x in enumerate(v):
                visit(x, (*path, i))
        else:
            fqn = ".".join(str(p) for p in path)
            flat[fqn] = v
            mapping[fqn] = path

    for k, v in state_dict.items():
        visit(v, (k,))
    return flat, mapping


def set_element(root: dict[str, Any], path: Path, value: Any) -> None:
    """Put ``value`` at ``path`` in the nested container ``root``."""
    cur: Any = root
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value


def resolve_stateful(state_dict: dict[str, Any]) -> dict[str, Any]:
    """Top-level Stateful objects replaced by their state dicts."""
    return {k: v.state_dict() if isinstance(v, Stateful) and not _is_tensor(v) else v for k, v in state_dict.items()}


def item_metadata(v: Any) -> TensorStorageMetadata | BytesStorageMetadata:
    """The metadata torch records for one saved item."""
    if not _is_tensor(v):
        return BytesStorageMetadata()
    import ember
    props = TensorProperties(dtype=v.dtype, layout=v.layout, requires_grad=v.requires_grad,
                             memory_format=ember.contiguous_format, pin_memory=False)
    return TensorStorageMetadata(props, v.size(), [ChunkStorageMetadata(ember.Size([0] * v.dim()), v.size())])


class DefaultSavePlanner:
    """Flattens the state dict; the coordinator (rank 0) writes replicated items, so each is stored once."""

    def __init__(self, flatten_state_dict: bool = True, flatten_sharded_tensors: bool = True,
                 dedup_replicated_tensors: bool | None = None, dedup_save_to_lowest_rank: bool = False,
                 enable_plan_caching: bool = False) -> None:
        self.flatten_state_dict = flatten_state_dict

    def set_up_planner(self, state_dict: dict[str, Any], storage_meta: Any = None, is_coordinator: bool = True) -> None:
        self.is_coordinator = is_coordinator
        self.state_dict, self.mappings = flatten_state_dict(resolve_stateful(state_dict))

    def local_items(self) -> dict[str, Any]:
        """The items this rank writes."""
        return dict(self.state_dict) if self.is_coordinator else {}

    def metadata(self, storage_data: Any) -> Metadata:
        return Metadata({k: item_metadata(v) for k, v in self.state_dict.items()}, self.mappings, storage_data)


class DefaultLoadPlanner:
    """Matches the flattened state dict to the checkpoint's metadata; missing keys are errors unless
    ``allow_partial_load``."""

    def __init__(self, flatten_state_dict: bool = True, flatten_sharded_tensors: bool = True,
                 allow_partial_load: bool = False) -> None:
        self.allow_partial_load = allow_partial_load

    def set_up_planner(self, state_dict: dict[str, Any], metadata: Metadata | None = None,
                       is_coordinator: bool = True) -> None:
        self.original = state_dict
        self.state_dict, self.mappings = flatten_state_dict(state_dict)
        self.metadata = metadata

    def items(self) -> list[str]:
        """The fqns to read, checked against the checkpoint."""
        assert self.metadata is not None
        out = []
        for fqn, v in self.state_dict.items():
            md = self.metadata.state_dict_metadata.get(fqn)
            if md is None:
                if self.allow_partial_load:
                    continue
                raise RuntimeError(f"Missing key in checkpoint state_dict: {fqn}.")
            if _is_tensor(v) and isinstance(md, TensorStorageMetadata) and tuple(md.size) != tuple(v.shape):
                raise ValueError(f"Size mismatch between saved {md.size} and current: {v.size()} for {fqn}")
            out.append(fqn)
        return out

    def set_item(self, fqn: str, value: Any) -> None:
        """Load one read item: tensors copied in place, other values replaced."""
        cur = self.state_dict[fqn]
        if _is_tensor(cur) and _is_tensor(value):
            import ember
            with ember.no_grad():
                cur.copy_(value)
        else:
            set_element(self.original, self.mappings[fqn], value)
