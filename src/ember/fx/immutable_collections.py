"""``ember.fx.immutable_collections``: the read-only list and dict a Node keeps its arguments in (hashable, so
Nodes' arguments can key dicts; mutation raises torch's TypeError)."""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["immutable_list", "immutable_dict"]


def _no_mutation(self: Any, *args: Any, **kwargs: Any) -> NoReturn:
    raise TypeError(f"'{type(self).__name__}' object does not support mutation. If you are attempting to modify "
                    "the kwargs or args of a torch.fx.Node object,\ninstead create a new copy of it and assign the "
                    "copy to the node:\n\n    new_args = ...  # copy and mutate args\n    node.args = new_args")


class immutable_list(list):  # noqa: N801 - torch's name
    """A list that refuses mutation."""

    __delitem__ = __iadd__ = __imul__ = __setitem__ = _no_mutation
    append = clear = extend = insert = pop = remove = reverse = sort = _no_mutation

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self))

    def __reduce__(self) -> tuple:
        return (immutable_list, (tuple(self),))


class immutable_dict(dict):  # noqa: N801 - torch's name
    """A dict that refuses mutation."""

    __delitem__ = __ior__ = __setitem__ = _no_mutation
    clear = pop = popitem = setdefault = update = _no_mutation

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self.items()))

    def __reduce__(self) -> tuple:
        return (immutable_dict, (tuple(self.items()),))
