"""``torch.distributed.rendezvous``: the handlers turning an ``init_method`` URL into (store, rank, world size).

A handler is a generator function ``handler(url, **kwargs)`` yielding ``(store, rank, world_size)``; ``rank`` and
``world_size`` travel in the URL's query. ``tcp://host:port`` makes a :class:`TCPStore` (served by rank 0),
``file://path`` a :class:`FileStore`, ``env://`` a TCPStore at ``MASTER_ADDR:MASTER_PORT`` (rank and size from
``RANK``/``WORLD_SIZE`` unless in the query). More schemes are added with :func:`register_rendezvous_handler`.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

from ._store import FileStore, Store, TCPStore

__all__ = ["rendezvous", "register_rendezvous_handler"]

_DEFAULT = timedelta(minutes=30)
Handler = Callable[..., Iterator[tuple[Store, int, int]]]


def _query(url: Any) -> dict[str, str]:
    return dict(parse_qsl(url.query))


def _fail(scheme: str, what: str) -> ValueError:
    return ValueError(f"Error initializing torch.distributed using {scheme}:// rendezvous: {what}")


def _rank_and_size(scheme: str, query: dict[str, str]) -> tuple[int, int]:
    """rank and world_size of a tcp:// or file:// query (both required)."""
    if "rank" not in query:
        raise _fail(scheme, "rank parameter missing")
    if "world_size" not in query:
        raise _fail(scheme, "world size parameter missing")
    return int(query["rank"]), int(query["world_size"])


def _tcp(url: str, timeout: timedelta = _DEFAULT, **kwargs: Any) -> Iterator[tuple[Store, int, int]]:
    parts = urlparse(url)
    if parts.port is None:
        raise _fail("tcp", "port number missing")
    rank, size = _rank_and_size("tcp", _query(parts))
    yield TCPStore(parts.hostname or "", parts.port, size, rank == 0, timeout), rank, size
    raise RuntimeError("Unable to perform re-rendezvous using tcp:// method")


def _file(url: str, **kwargs: Any) -> Iterator[tuple[Store, int, int]]:
    parts = urlparse(url)
    if not parts.path:
        raise _fail("file", "path missing")
    rank, size = _rank_and_size("file", _query(parts))
    yield FileStore(parts.path, size), rank, size
    raise RuntimeError("Unable to perform rerendezvous using file:// method")


def _env(url: str, timeout: timedelta = _DEFAULT, **kwargs: Any) -> Iterator[tuple[Store, int, int]]:
    query = _query(urlparse(url))

    def var(name: str) -> str:
        value = os.environ.get(name)
        if not value:
            raise _fail("env", f"environment variable {name} expected, but not set")
        return value
    rank = int(query["rank"]) if "rank" in query else int(var("RANK"))
    size = int(query["world_size"]) if "world_size" in query else int(var("WORLD_SIZE"))
    store = TCPStore(var("MASTER_ADDR"), int(var("MASTER_PORT")), size, rank == 0, timeout)
    yield store, rank, size
    raise RuntimeError("Unable to perform re-rendezvous using env:// method")


_HANDLERS: dict[str, Handler] = {"tcp": _tcp, "env": _env, "file": _file}


def register_rendezvous_handler(scheme: str, handler: Handler) -> None:
    """Make ``init_method``/``rendezvous`` URLs of ``scheme`` go to ``handler`` (a generator function yielding
    (store, rank, world_size))."""
    if scheme in _HANDLERS:
        raise RuntimeError(f"Rendezvous handler for {scheme}:// already registered")
    _HANDLERS[scheme] = handler


def rendezvous(url: str, rank: int = -1, world_size: int = -1, **kwargs: Any) -> Iterator[tuple[Store, int, int]]:
    """The generator of ``url``'s handler: ``next()`` gives (store, rank, world_size). ``rank`` and ``world_size``
    (when not -1) join the URL's query, which must not have them already; ``kwargs`` (e.g. ``timeout``) go to the
    handler."""
    if not isinstance(url, str | bytes):
        raise RuntimeError(f"`url` must be a string. {type(url)}: {url}")
    if not isinstance(rank, numbers.Integral):
        raise RuntimeError(f"`rank` must be an integer. {rank}")
    if not isinstance(world_size, numbers.Integral):
        raise RuntimeError(f"`world_size` must be an integer. {world_size}")
    text = url.decode() if isinstance(url, bytes) else url
    parts = urlparse(text)
    if rank != -1 or world_size != -1:
        query = _query(parts)
        if "rank" in query or "world_size" in query:
            raise AssertionError(f"The url: {text} has node-specific arguments(rank, world_size) already.")
        query.update({k: str(v) for k, v in (("rank", rank), ("world_size", world_size)) if v != -1})
        text = urlunparse(parts._replace(query=urlencode(query)))
    if parts.scheme not in _HANDLERS:
        raise RuntimeError(f"No rendezvous handler for {parts.scheme}://")
    return _HANDLERS[parts.scheme](text, **kwargs)


def _strip(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without the rank and world_size of its query, and its query."""
    parts = urlparse(url)
    query = _query(parts)
    rest = {k: v for k, v in query.items() if k not in ("rank", "world_size")}
    return urlunparse(parts._replace(query=urlencode(rest))), query


def _scheme(url: str) -> str:
    """The scheme of an ``init_method`` (a RuntimeError when no handler serves it)."""
    scheme = urlparse(url).scheme
    if scheme not in _HANDLERS:
        raise RuntimeError(f"No rendezvous handler for {scheme}://")
    return scheme
