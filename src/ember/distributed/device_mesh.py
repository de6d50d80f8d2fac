"""``torch.distributed.device_mesh``: ranks laid out as an n-d array, one process group per mesh dimension.

A mesh keeps torch's layout model: a flat map of the root mesh's ranks plus, per dimension, (size, stride) pairs
into it in canonical form (as torch prints them). Slicing (``mesh["dp"]``) keeps the chosen dimensions' layouts and
reuses the root's groups; the sliced mesh's ``mesh`` is the sub-array through this rank. Groups are made once per
root dimension by splitting the world's communicator (``split_group``), so every rank of the world must build the
same meshes in the same order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._core.warn import warn
from .._tensor import Tensor
from . import distributed_c10d as c10d

__all__ = ["DeviceMesh", "init_device_mesh"]


def _row_major(shape: Sequence[int]) -> tuple[int, ...]:
    strides, acc = [], 1
    for s in reversed(shape):
        strides.append(acc)
        acc *= s
    return tuple(reversed(strides))


def _coalesce(pairs: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """An axis's (size, stride) pairs in torch's canonical form: size-1 pairs dropped, adjacent pairs that step
    through the rank map as one merged (row-major)."""
    out: list[tuple[int, int]] = []
    for size, stride in pairs:
        if size == 1:
            continue
        if out and out[-1][1] == size * stride:
            out[-1] = (out[-1][0] * size, stride)
        else:
            out.append((size, stride))
    return tuple(out)


class DeviceMesh:
    """An n-d array of global ranks (``mesh``) on ``device_type``, with a process group along each dimension
    (``get_group(dim)``); ``mesh_dim_names`` name the dimensions for slicing (``mesh["dp"]``)."""

    def __init__(self, device_type: str, mesh: Any = None, *, mesh_dim_names: tuple[str, ...] | None = None,
                 backend_override: Any = None, _init_backend: bool = True) -> None:
        arr = np.asarray(mesh._data if isinstance(mesh, Tensor) else mesh, dtype=np.int64)
        if arr.ndim == 0:
            raise ValueError("DeviceMesh: mesh must have at least one dimension")
        if len(np.unique(arr)) != arr.size:
            raise RuntimeError(f"DeviceMesh cannot have duplicate values, but found {arr.tolist()}")
        if mesh_dim_names is not None:
            mesh_dim_names = tuple(mesh_dim_names)
            if len(mesh_dim_names) != arr.ndim:
                raise RuntimeError("mesh_dim_names should have same length as the mesh's dimensions! Found "
                                   f"len(mesh_dim_names): {len(mesh_dim_names)} and mesh ndim: {arr.ndim}.")
        self._device_type = device_type
        self._rank_map = tuple(arr.reshape(-1).tolist())
        self._sizes = tuple(arr.shape)
        self._axes = tuple(_coalesce([(n, d)]) for n, d in zip(arr.shape, _row_major(arr.shape), strict=True))
        self._root_shape = tuple(arr.shape)
        self._names = mesh_dim_names
        self._root_groups: list[Any] = []
        self._group_lines: list[list[list[int]]] = []   # the split of the world that made each root group
        self._flattened: dict[str, DeviceMesh] = {}   # the root's meshes made by _flatten, by name (sliceable)
        self._is_root = True
        self._dims = list(range(arr.ndim))   # the root dimension of each of this mesh's dimensions
        if _init_backend:
            if not c10d.is_initialized():
                c10d.init_process_group(c10d.get_default_backend_for_device(device_type))
            world = c10d.get_world_size()
            if arr.size > world:
                raise RuntimeError(f"Mesh should not be bigger than default world size {world}, but found "
                                   f"{arr.size} ranks!")
            self._group_lines = [np.moveaxis(arr, d, -1).reshape(-1, arr.shape[d]).tolist()
                                 for d in range(arr.ndim)]
            self._root_groups = [_split(lines) for lines in self._group_lines]

    def _view(self, dims: list[int], names: tuple[str, ...] | None) -> DeviceMesh:
        sub = object.__new__(DeviceMesh)
        sub._device_type, sub._rank_map, sub._names = self._device_type, self._rank_map, names
        sub._root_shape = self._root_shape
        sub._sizes = tuple(self._sizes[d] for d in dims)
        sub._axes = tuple(self._axes[d] for d in dims)
        sub._root_groups, sub._group_lines = self._root_groups, self._group_lines
        sub._flattened = self._flattened
        sub._is_root = False
        sub._dims = [self._dims[d] for d in dims]
        return sub

    # ---- layout ---------------------------------------------------------------------------------------------
    def _root_coordinate(self) -> tuple[int, ...] | None:
        """This rank's index in the root mesh (row-major over the rank map), as a coordinate; None outside."""
        me = c10d.get_rank()
        if me not in self._rank_map:
            return None
        return tuple(int(i) for i in np.unravel_index(self._rank_map.index(me), self._root_shape))

    def _grid(self) -> np.ndarray | None:
        """This rank's sub-array of the root mesh: this mesh's dimensions vary, the others stay at this rank's
        coordinate."""
        coord = self._root_coordinate()
        if coord is None:
            return None
        root = np.asarray(self._rank_map).reshape(self._root_shape)
        return root[tuple(slice(None) if d in self._dims else c for d, c in enumerate(coord))]

    @property
    def mesh(self) -> Tensor:
        """The ranks of this mesh (through this rank, for a slice) as an int32 tensor."""
        from .. import tensor
        grid = self._grid()
        if grid is None:   # a rank outside the mesh sees the root's first sub-array
            grid = np.asarray(self._rank_map[: math.prod(self._sizes)]).reshape(self._sizes)
        return tensor(grid.tolist(), dtype=_int32())

    @property
    def device_type(self) -> str:
        return self._device_type

    @property
    def mesh_dim_names(self) -> tuple[str, ...] | None:
        return self._names

    @property
    def ndim(self) -> int:
        return len(self._sizes)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._sizes

    def size(self, mesh_dim: int | None = None) -> int:
        return math.prod(self._sizes) if mesh_dim is None else self._sizes[mesh_dim]

    def get_rank(self) -> int:
        return c10d.get_rank()

    def get_coordinate(self) -> tuple[int, ...] | None:
        """This rank's index along each of the mesh's dimensions (None when it is not in the mesh)."""
        coord = self._root_coordinate()
        return None if coord is None else tuple(coord[d] for d in self._dims)

    # ---- groups -----------------------------------------------------------------------------------------------
    def _dim_index(self, mesh_dim: int | str | None, extra: tuple[str, ...] = ()) -> int:
        if mesh_dim is None:
            if self.ndim > 1:
                raise RuntimeError(f"Found the DeviceMesh have {self.ndim} dimensions",
                                   "Optional kwarg `mesh_dim` needs to be specified when device_mesh.ndim > 1.",
                                   *extra)
            return 0
        if isinstance(mesh_dim, str):
            if self._names is None or mesh_dim not in self._names:
                raise KeyError(f"Mesh dimension '{mesh_dim}' does not exist.",
                               f"Available mesh dimensions are: mesh_dim_names={self._names}")
            return self._names.index(mesh_dim)
        if not -self.ndim <= mesh_dim < self.ndim:
            raise IndexError("list index out of range")
        return mesh_dim % self.ndim

    def get_group(self, mesh_dim: int | str | None = None) -> Any:
        """The process group along ``mesh_dim`` (index or name; optional for a 1-d mesh) through this rank."""
        d = self._dim_index(mesh_dim, ("If you want to get the list of all the ProcessGroups in the DeviceMesh,"
                                       "please use `get_all_groups()` instead.",))
        if not self._root_groups:
            raise RuntimeError("DeviceMesh: this mesh was made with _init_backend=False and has no process groups")
        return self._root_groups[self._dims[d]]

    def get_all_groups(self) -> list[Any]:
        return [self.get_group(d) for d in range(self.ndim)]

    def get_local_rank(self, mesh_dim: int | str | None = None) -> int:
        """This rank's rank within the group along ``mesh_dim``."""
        return c10d.get_rank(self.get_group(self._dim_index(mesh_dim)))

    # ---- slicing ----------------------------------------------------------------------------------------------
    def __getitem__(self, mesh_dim_names: str | tuple[str, ...]) -> DeviceMesh:
        """The sub-mesh of the named dimensions (in the mesh's order), through this rank; the root mesh also
        gives the meshes its ``_flatten`` made, by name."""
        if not self._names:
            raise RuntimeError("Cannot slice a DeviceMesh without mesh_dim_names!")
        names = (mesh_dim_names,) if isinstance(mesh_dim_names, str) else tuple(mesh_dim_names)
        if names == self._names:
            return self
        flattened = self._flattened if self._is_root else {}
        if any(n not in self._names and n not in flattened for n in names):
            raise KeyError(f"Invalid mesh_dim_names {names} specified. Valid mesh_dim_names are "
                           f"{[*self._names, *flattened]}.")
        axes = [self._axes[self._names.index(n)] if n in self._names else flattened[n]._axes[0] for n in names]
        strides = [d for _, d in _coalesce([pair for axis in axes for pair in axis])]
        if strides != sorted(strides, reverse=True):
            raise KeyError(f"Invalid mesh_dim_names {names} specified. Mesh dim indices should be in ascending "
                           "order.")
        if any(n in flattened for n in names):
            if len(names) > 1:
                raise NotImplementedError("DeviceMesh: slicing a flattened dimension together with others is not "
                                          "supported here")
            warn("Slicing a flattened dim from root mesh will be deprecated in PT 2.11. Users need to "
                 "bookkeep the flattened mesh directly. ", stacklevel=2)
            return flattened[names[0]]
        return self._view([self._names.index(n) for n in names], names)

    def _flatten(self, mesh_dim_name: str | None = None) -> DeviceMesh:
        """This mesh's dimensions merged into one (named ``mesh_dim_name``, default the names joined by ``_``),
        with a new group over them (every rank of the world takes part); the root mesh can then be sliced by
        that name."""
        root = np.asarray(self._rank_map).reshape(self._root_shape)
        others = [d for d in range(root.ndim) if d not in self._dims]
        lines = np.transpose(root, others + self._dims).reshape(-1, self.size()).tolist()
        grid = self._grid()
        flat = DeviceMesh(self._device_type, [] if grid is None else grid.reshape(-1),
                          mesh_dim_names=(mesh_dim_name or "_".join(self._names or ()),), _init_backend=False)
        flat._axes = (_coalesce([pair for axis in self._axes for pair in axis]),)
        flat._group_lines = [lines]
        flat._root_groups = [_split(lines)]
        flat._is_root = False
        self._flattened[flat._names[0]] = flat
        return flat

    # ---- printing, comparison ---------------------------------------------------------------------------------
    def __repr__(self) -> str:
        shape = f"({', '.join(f'{k}={v}' for k, v in zip(self._names, self._sizes, strict=True))})" \
            if self._names else f"{self._sizes}"
        strides = tuple(axis[0][1] if len(axis) == 1 else tuple(d for _, d in axis) for axis in self._axes)
        return f"DeviceMesh({shape}, '{self._device_type}', stride={strides})"

    def _key(self) -> tuple:
        return (self._rank_map, self._axes, self._device_type, self._names)

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, DeviceMesh) and self._key() == other._key())

    def __hash__(self) -> int:
        return hash(self._key())

    # ---- pickling: the layout, with the groups named by the split that made them -----------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_root_groups"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A loaded mesh takes the groups of this world made by the same splits (every rank of the world must
        load it when a group has to be made)."""
        self.__dict__.update(state)
        self._root_groups = [_split(lines, reuse=True) for lines in self._group_lines]


def _split(lines: list[list[int]], reuse: bool = False) -> Any:
    """The group through this rank of a split of the world into ``lines`` (every rank of the world takes part;
    the world's group when one line spans it in rank order); ``reuse``: the group already made by the same split
    in this world, if any (the world keeps them: ``_mesh_splits``)."""
    world = c10d._default()
    key = tuple(map(tuple, lines))
    if reuse and key in world._mesh_splits:
        return world._mesh_splits[key]
    if len(lines) == 1 and lines[0] == list(range(world.size())):
        group = world
    else:
        group = c10d.split_group(split_ranks=lines)
    world._mesh_splits[key] = group
    return group


def _int32() -> Any:
    from .. import int32
    return int32


def init_device_mesh(device_type: str, mesh_shape: tuple[int, ...], *, mesh_dim_names: tuple[str, ...] | None = None,
                     backend_override: Any = None) -> DeviceMesh:
    """A mesh of ``mesh_shape`` over the world's ranks in order (``arange(world).reshape(mesh_shape)``), its
    groups made (and the default process group, when there is none yet)."""
    mesh_shape = tuple(mesh_shape)
    if mesh_dim_names is not None:
        if len(set(mesh_dim_names)) != len(mesh_dim_names):
            raise RuntimeError("Each mesh_dim_name must be unique. Found repeated mesh_dim_name in mesh_dim_names "
                               f"{mesh_dim_names}")
        if len(mesh_shape) != len(mesh_dim_names):
            raise RuntimeError("mesh_shape and mesh_dim_names should have same length! Found len(mesh_dim_names): "
                               f"{len(mesh_dim_names)} and len(mesh_shape):{len(mesh_shape)}.")
    if ":" in device_type:
        raise RuntimeError(f"Device type with index is not supported but got {device_type}. ",
                           "If you maintained a 'torch.device' object, it's recommended to pass in 'device.type'.")
    return DeviceMesh(device_type, np.arange(math.prod(mesh_shape)).reshape(mesh_shape),
                      mesh_dim_names=mesh_dim_names, backend_override=backend_override)


# ---- the current mesh: ``with mesh:`` makes it the default of the DTensor APIs (torch's mesh stack) ----------
_MESH_STACK: list[DeviceMesh] = []


def _current_mesh() -> DeviceMesh:
    """The innermost mesh entered with ``with mesh:`` (torch's error when there is none)."""
    if not _MESH_STACK:
        raise RuntimeError("No device mesh is currently active!")
    return _MESH_STACK[-1]


def _enter_mesh(self: DeviceMesh) -> DeviceMesh:
    _MESH_STACK.append(self)
    return self


def _exit_mesh(self: DeviceMesh, *exc: object) -> None:
    _MESH_STACK.pop()


DeviceMesh.__enter__ = _enter_mesh   # type: ignore[attr-defined]
DeviceMesh.__exit__ = _exit_mesh   # type: ignore[attr-defined]
