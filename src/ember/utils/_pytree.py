"""``torch.utils._pytree``: flatten nested containers to a list of leaves plus a ``TreeSpec`` and back.

Containers (tuple, list, dict, OrderedDict, defaultdict, deque, namedtuple and registered classes) are nodes;
everything else, including ``None``, is a leaf. Dicts keep insertion order, as torch does.
"""

from __future__ import annotations

import types
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = ["PyTree", "Context", "FlattenFn", "UnflattenFn", "TreeSpec", "LeafSpec", "register_pytree_node",
           "tree_is_leaf", "tree_flatten", "tree_unflatten", "tree_iter", "tree_leaves", "tree_structure",
           "tree_map", "tree_map_", "tree_map_only", "tree_map_only_", "tree_all", "tree_any", "tree_all_only",
           "tree_any_only", "treespec_pprint", "is_namedtuple", "is_namedtuple_class", "is_namedtuple_instance"]

PyTree = Any
Context = Any
FlattenFn = Callable[[PyTree], tuple[list[Any], Context]]
UnflattenFn = Callable[[Iterable[Any], Context], PyTree]
IsLeaf = Callable[[PyTree], bool] | None


class _Node(NamedTuple):
    flatten: FlattenFn
    unflatten: UnflattenFn


SUPPORTED_NODES: dict[type, _Node] = {}


def register_pytree_node(cls: type, flatten_fn: FlattenFn, unflatten_fn: UnflattenFn, *,
                         serialized_type_name: str | None = None, to_dumpable_context: Callable | None = None,
                         from_dumpable_context: Callable | None = None,
                         flatten_with_keys_fn: Callable | None = None) -> None:
    """Make ``cls`` a container node: ``flatten_fn(x) -> (children, context)``, ``unflatten_fn(children, ctx)``."""
    if cls in SUPPORTED_NODES:
        raise ValueError(f"{cls} is already registered as pytree node.")
    SUPPORTED_NODES[cls] = _Node(flatten_fn, unflatten_fn)


def is_namedtuple_class(cls: type) -> bool:
    return isinstance(cls, type) and issubclass(cls, tuple) and isinstance(getattr(cls, "_fields", None), tuple)


def is_namedtuple_instance(obj: Any) -> bool:
    return is_namedtuple_class(type(obj))


def is_namedtuple(obj: Any) -> bool:
    """Whether ``obj`` is a namedtuple class or instance."""
    return is_namedtuple_class(obj if isinstance(obj, type) else type(obj))


def _dict_unflatten(values: Iterable[Any], ctx: Context) -> dict:
    return dict(zip(ctx, values, strict=True))


register_pytree_node(tuple, lambda x: (list(x), None), lambda v, c: tuple(v))
register_pytree_node(list, lambda x: (list(x), None), lambda v, c: list(v))
register_pytree_node(dict, lambda x: (list(x.values()), list(x.keys())), _dict_unflatten)
register_pytree_node(OrderedDict, lambda x: (list(x.values()), list(x.keys())),
                     lambda v, c: OrderedDict(zip(c, v, strict=True)))
register_pytree_node(defaultdict, lambda x: (list(x.values()), [x.default_factory, list(x.keys())]),
                     lambda v, c: defaultdict(c[0], zip(c[1], v, strict=True)))
register_pytree_node(deque, lambda x: (list(x), x.maxlen), lambda v, c: deque(v, maxlen=c))
_NAMEDTUPLE = _Node(lambda x: (list(x), type(x)), lambda v, c: c(*v))


def _node_type(tree: Any) -> type | None:
    """The registry key for ``tree``'s node kind (``NamedTuple`` for namedtuples), or None for a leaf."""
    t = type(tree)
    if t in SUPPORTED_NODES:
        return t
    return NamedTuple if is_namedtuple_class(t) else None  # type: ignore[return-value]


def _handler(kind: Any) -> _Node:
    return _NAMEDTUPLE if kind is NamedTuple else SUPPORTED_NODES[kind]


@dataclass(eq=True, repr=False)
class TreeSpec:
    """The structure of a pytree: node type, its context (keys, class…) and the children's specs."""

    type: Any
    context: Context
    _children: list[TreeSpec] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.num_nodes = 1 + sum(c.num_nodes for c in self._children)
        self.num_leaves = 1 if self.is_leaf() else sum(c.num_leaves for c in self._children)
        self.num_children = len(self._children)

    @property
    def children_specs(self) -> list[TreeSpec]:
        return self._children

    def children(self) -> list[TreeSpec]:
        return list(self._children)

    def child(self, index: int) -> TreeSpec:
        return self._children[index]

    def is_leaf(self) -> bool:
        return self.type is None

    def __repr__(self, indent: int = 0) -> str:
        if self.is_leaf():
            return "*"
        name = "namedtuple" if self.type is NamedTuple else self.type.__name__
        sep = ",\n" + " " * (indent + 2)
        kids = sep.join(c.__repr__(indent + 2) for c in self._children)
        return f"TreeSpec({name}, {self.context!r}, [{kids}])"

    def flatten_up_to(self, tree: PyTree) -> list[PyTree]:
        """The subtrees of ``tree`` at this spec's leaves (``tree`` must have this spec's prefix structure)."""
        if self.is_leaf():
            return [tree]
        kind = _node_type(tree)
        if kind is not self.type:
            raise ValueError(f"Node type mismatch; expected {self.type!r}, but got {type(tree)!r}.")
        children, ctx = _handler(kind).flatten(tree)
        if len(children) != self.num_children:
            raise ValueError(f"Node arity mismatch; expected {self.num_children}, but got {len(children)}.")
        if ctx != self.context and self.type is not NamedTuple:
            raise ValueError(f"Node context mismatch for custom node type {self.type!r}.")
        return [x for spec, c in zip(self._children, children, strict=True) for x in spec.flatten_up_to(c)]

    def unflatten(self, leaves: Iterable[Any]) -> PyTree:
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} but the spec refers "
                             f"to a pytree that holds {self.num_leaves} items ({self}).")
        return self._build(iter(leaves))

    def _build(self, it: Any) -> PyTree:
        if self.is_leaf():
            return next(it)
        return _handler(self.type).unflatten([c._build(it) for c in self._children], self.context)


class LeafSpec(TreeSpec):
    """The spec of a single leaf (printed ``*``)."""

    def __init__(self) -> None:
        super().__init__(None, None, [])


_LEAF = LeafSpec()


def tree_is_leaf(tree: PyTree, is_leaf: IsLeaf = None) -> bool:
    """Whether ``tree`` is a leaf (not a registered container, or selected by ``is_leaf``)."""
    return (is_leaf is not None and is_leaf(tree)) or _node_type(tree) is None


def tree_flatten(tree: PyTree, is_leaf: IsLeaf = None) -> tuple[list[Any], TreeSpec]:
    """The leaves of ``tree`` (depth first, container order) and its ``TreeSpec``."""
    leaves: list[Any] = []

    def go(node: PyTree) -> TreeSpec:
        if tree_is_leaf(node, is_leaf):
            leaves.append(node)
            return _LEAF
        kind = _node_type(node)
        children, ctx = _handler(kind).flatten(node)
        return TreeSpec(kind, ctx, [go(c) for c in children])

    spec = go(tree)
    return leaves, spec


def tree_unflatten(leaves: Iterable[Any], treespec: TreeSpec) -> PyTree:
    """Rebuild a pytree of ``treespec``'s structure from its leaves."""
    if not isinstance(treespec, TreeSpec):
        raise TypeError(f"tree_unflatten(leaves, treespec): Expected `treespec` to be instance of TreeSpec but "
                        f"got item of type {type(treespec)}.")
    return treespec.unflatten(leaves)


def tree_iter(tree: PyTree, is_leaf: IsLeaf = None) -> Iterable[Any]:
    """Iterate over the leaves of ``tree`` lazily."""
    if tree_is_leaf(tree, is_leaf):
        yield tree
        return
    for child in _handler(_node_type(tree)).flatten(tree)[0]:
        yield from tree_iter(child, is_leaf)


def tree_leaves(tree: PyTree, is_leaf: IsLeaf = None) -> list[Any]:
    return list(tree_iter(tree, is_leaf))


def tree_structure(tree: PyTree, is_leaf: IsLeaf = None) -> TreeSpec:
    return tree_flatten(tree, is_leaf)[1]


def tree_map(func: Callable[..., Any], tree: PyTree, *rests: PyTree, is_leaf: IsLeaf = None) -> PyTree:
    """Apply ``func`` to the leaves of ``tree`` (and the matching subtrees of ``rests``), keeping the structure."""
    leaves, spec = tree_flatten(tree, is_leaf)
    others = [spec.flatten_up_to(r) for r in rests]
    return spec.unflatten(map(func, leaves, *others))


def tree_map_(func: Callable[..., Any], tree: PyTree, *rests: PyTree, is_leaf: IsLeaf = None) -> PyTree:
    """Like ``tree_map`` for side effects: returns ``tree`` itself."""
    leaves, spec = tree_flatten(tree, is_leaf)
    others = [spec.flatten_up_to(r) for r in rests]
    for args in zip(leaves, *others, strict=True):
        func(*args)
    return tree


TypeSpec = type | tuple[type, ...] | types.UnionType | Callable[[Any], bool]


def _pred(type_or_types_or_pred: TypeSpec) -> Callable[[Any], bool]:
    t = type_or_types_or_pred
    if isinstance(t, (type, tuple, types.UnionType)):
        return lambda x: isinstance(x, t)  # type: ignore[arg-type]
    if callable(t):
        return t
    raise TypeError("Argument must be a type, a tuple of types, or a callable.")


def _only(type_or_types_or_pred: TypeSpec, func: Callable[[Any], Any]) -> Callable[[Any], Any]:
    pred = _pred(type_or_types_or_pred)
    return lambda x: func(x) if pred(x) else x


def tree_map_only(type_or_types_or_pred: TypeSpec, /, func: Callable[[Any], Any], tree: PyTree,
                  is_leaf: IsLeaf = None) -> PyTree:
    """``tree_map`` that only transforms leaves of the given type(s) (or passing the predicate)."""
    return tree_map(_only(type_or_types_or_pred, func), tree, is_leaf=is_leaf)


def tree_map_only_(type_or_types_or_pred: TypeSpec, /, func: Callable[[Any], Any], tree: PyTree,
                   is_leaf: IsLeaf = None) -> PyTree:
    return tree_map_(_only(type_or_types_or_pred, func), tree, is_leaf=is_leaf)


def tree_all(pred: Callable[[Any], bool], tree: PyTree, is_leaf: IsLeaf = None) -> bool:
    return all(map(pred, tree_iter(tree, is_leaf)))


def tree_any(pred: Callable[[Any], bool], tree: PyTree, is_leaf: IsLeaf = None) -> bool:
    return any(map(pred, tree_iter(tree, is_leaf)))


def tree_all_only(type_or_types: TypeSpec, /, pred: Callable[[Any], bool], tree: PyTree,
                  is_leaf: IsLeaf = None) -> bool:
    keep = _pred(type_or_types)
    return all(pred(x) for x in tree_iter(tree, is_leaf) if keep(x))


def tree_any_only(type_or_types: TypeSpec, /, pred: Callable[[Any], bool], tree: PyTree,
                  is_leaf: IsLeaf = None) -> bool:
    keep = _pred(type_or_types)
    return any(pred(x) for x in tree_iter(tree, is_leaf) if keep(x))


def treespec_pprint(treespec: TreeSpec) -> str:
    """A compact one-line rendering of the structure (leaves as ``*``)."""
    return repr(tree_unflatten([_Star()] * treespec.num_leaves, treespec))


class _Star:
    def __repr__(self) -> str:
        return "*"
