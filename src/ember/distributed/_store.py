"""``torch.distributed``'s key-value stores, the rendezvous of process groups: ``HashStore`` (one process),
``FileStore`` (processes sharing a file system), ``TCPStore`` (a server thread in the master process, clients
anywhere) and ``PrefixStore`` (a namespace in another store), all on the standard library only.

Keys are strings, values bytes (strings are stored UTF-8 encoded); ``get`` and ``wait`` block until the keys exist
or the store's timeout passes. Counters (``add``) are decimal strings, as in torch, so ``get`` reads them and
``set`` may start them. ``Store`` is the base of all of them and of stores written in Python: a subclass
overriding ``set``/``get``/``add``/... inherits ``multi_get``, ``multi_set``, ``append`` and ``barrier``.
"""

from __future__ import annotations

import errno
import fcntl
import math
import os
import re
import socket
import struct
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from ._work import DistNetworkError, DistStoreError, QueueEmptyError

__all__ = ["Store", "HashStore", "FileStore", "TCPStore", "PrefixStore"]

_DEFAULT = timedelta(seconds=300)
_STOLL = re.compile(rb"\s*[+-]?\d+")
_I64 = 1 << 63

# ---- argument checks: the TypeError pybind11 raises for a wrong argument type -------------------------------
_SIGS = {
    "set": ("arg0: str, arg1: str", "None"), "get": ("arg0: str", "bytes"),
    "add": ("arg0: str, arg1: typing.SupportsInt | typing.SupportsIndex", "int"),
    "compare_set": ("arg0: str, arg1: str, arg2: str", "bytes"), "append": ("arg0: str, arg1: str", "None"),
    "check": ("arg0: collections.abc.Sequence[str]", "bool"), "delete_key": ("arg0: str", "bool"),
    "wait": ("arg0: collections.abc.Sequence[str], arg1: datetime.timedelta = None", "None"),
    "multi_get": ("arg0: collections.abc.Sequence[str]", "list[bytes]"),
    "multi_set": ("arg0: collections.abc.Sequence[str], arg1: collections.abc.Sequence[str]", "None"),
    "queue_push": ("arg0: str, arg1: str", "None"), "queue_pop": ("key: str, block: bool = True", "bytes"),
    "queue_len": ("arg0: str", "int"), "set_timeout": ("arg0: datetime.timedelta", "None"),
    "barrier": ("key: str, world_size: typing.SupportsInt | typing.SupportsIndex, "
                "timeout: datetime.timedelta | None = None", "None"),
}


def _bad(fn: str, store: Any, args: tuple) -> TypeError:
    params, ret = _SIGS[fn]
    shown = ", ".join(repr(a) for a in (store, *args))
    return TypeError(f"{fn}(): incompatible function arguments. The following argument types are supported:\n"
                     f"    1. (self: ember.distributed.Store, {params}) -> {ret}\n\nInvoked with: {shown}")


def _key(k: Any, fn: str, store: Any, args: tuple) -> str:
    if not isinstance(k, str):
        raise _bad(fn, store, args)
    return k


def _value(v: Any, fn: str, store: Any, args: tuple) -> bytes:
    if isinstance(v, str):
        return v.encode()
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v)
    raise _bad(fn, store, args)


def _keys(ks: Any, fn: str, store: Any, args: tuple) -> list[str]:
    if isinstance(ks, str | bytes) or not isinstance(ks, Sequence) or not all(isinstance(k, str) for k in ks):
        raise _bad(fn, store, args)
    return list(ks)


def _int(n: Any, fn: str, store: Any, args: tuple) -> int:
    if isinstance(n, bool) or not hasattr(n, "__index__") or not -_I64 <= n.__index__() < _I64:
        raise _bad(fn, store, args)
    return n.__index__()


def _delta(t: Any, fn: str, store: Any, args: tuple) -> timedelta:
    if not isinstance(t, timedelta):
        raise _bad(fn, store, args)
    return t


def _ms(t: timedelta | float) -> int:
    return round((t.total_seconds() if isinstance(t, timedelta) else t) * 1000)


def _counter(old: bytes | None, by: int) -> int:
    """``old`` (a decimal string, as C's ``stoll`` reads it: leading blanks and sign, trailing junk ignored) plus
    ``by``."""
    if not old:
        return by
    m = _STOLL.match(old)
    if m is None:
        raise ValueError("stoll")
    value = int(m.group())
    if not -_I64 <= value < _I64:
        raise IndexError("stoll")
    return value + by


def _cas(old: bytes | None, expected: bytes, desired: bytes) -> tuple[bytes, bool]:
    """compare_set: (the value returned, whether ``desired`` is stored). A missing key counts as the empty value
    only for the comparison; otherwise ``expected`` is returned untouched."""
    if old is None:
        return (desired, True) if expected == b"" else (expected, False)
    return (desired, True) if old == expected else (old, False)


class Store:
    """The base of key-value stores. The methods of the concrete stores are described here; a store written in
    Python overrides at least ``set``, ``get``, ``add``, ``check``, ``wait``, ``delete_key`` and ``num_keys``."""

    _timeout: timedelta = _DEFAULT

    def __init__(self) -> None:
        self._timeout = _DEFAULT

    # ---- timeout ----------------------------------------------------------------------------------------------
    @property
    def timeout(self) -> timedelta:
        """How long ``get``, ``wait`` and the other blocking operations wait by default."""
        return self._timeout

    def set_timeout(self, timeout: timedelta) -> None:
        self._timeout = _delta(timeout, "set_timeout", self, (timeout,))

    # ---- the primitives (implemented by each store) ------------------------------------------------------------
    def set(self, key: str, value: str | bytes) -> None:
        """Store ``value`` under ``key`` (replacing any value)."""
        raise RuntimeError("Not implemented.")

    def get(self, key: str) -> bytes:
        """The value of ``key``, waiting up to the store's timeout for it to be set."""
        raise RuntimeError("Not implemented.")

    def compare_set(self, key: str, expected_value: str | bytes, desired_value: str | bytes) -> bytes:
        """Store ``desired_value`` if ``key`` holds ``expected_value`` (or is missing and ``expected_value`` is
        empty); returns the value ``key`` holds afterwards (``expected_value`` when it is missing)."""
        raise RuntimeError("Not implemented.")

    def add(self, key: str, amount: int) -> int:
        """Add ``amount`` to the counter ``key`` (created at 0) and return the new value."""
        raise RuntimeError(_pure("add"))

    def check(self, keys: Sequence[str]) -> bool:
        """Whether every key of ``keys`` is set, without waiting."""
        raise RuntimeError(_pure("check"))

    def wait(self, keys: Sequence[str], timeout: timedelta | None = None) -> None:
        """Wait until every key of ``keys`` is set (at most ``timeout``, by default the store's)."""
        raise RuntimeError(_pure("wait"))

    def delete_key(self, key: str) -> bool:
        """Remove ``key``; whether it was there."""
        raise RuntimeError(_pure("deleteKey"))

    def num_keys(self) -> int:
        """How many keys the store holds (the stores shared between processes count one of their own)."""
        raise RuntimeError(_pure("getNumKeys"))

    def clone(self) -> Store:
        """Another handle on the same store (for another thread)."""
        raise RuntimeError(_pure("clone"))

    # ---- built on the primitives ----------------------------------------------------------------------------
    def multi_get(self, keys: Sequence[str]) -> list[bytes]:
        """The values of ``keys``, waiting for each as ``get``."""
        return [self.get(k) for k in _keys(keys, "multi_get", self, (keys,))]

    def multi_set(self, keys: Sequence[str], values: Sequence[str | bytes]) -> None:
        """``set`` each key of ``keys`` to the value at the same position of ``values``."""
        ks = _keys(keys, "multi_set", self, (keys, values))
        vs = [_value(v, "multi_set", self, (keys, values)) for v in values]
        if len(ks) != len(vs):
            raise ValueError(f"multi_set: {len(ks)} keys but {len(vs)} values")
        for k, v in zip(ks, vs, strict=True):
            self.set(k, v)

    def append(self, key: str, value: str | bytes) -> None:
        """Append ``value`` to the value of ``key`` (created when missing)."""
        k = _key(key, "append", self, (key, value))
        extra = _value(value, "append", self, (key, value))
        cur = self.get(k) if self.check([k]) else b""
        while (got := self.compare_set(k, cur, cur + extra)) != cur + extra:   # another writer came between
            cur = got

    def barrier(self, key: str, world_size: int, timeout: timedelta | None = None) -> None:
        """Wait until ``world_size`` callers reached the barrier named ``key``."""
        args = (key, world_size, timeout)
        k = _key(key, "barrier", self, args)
        n = _int(world_size, "barrier", self, args)
        if self.add(f"{k}/num_members", 1) == n:
            self.set(f"{k}/last_member", b"1")
        self.wait([f"{k}/last_member"], *(() if timeout is None else (timeout,)))

    def has_extended_api(self) -> bool:
        """Whether the store has ``append``, ``multi_get``/``multi_set`` and queues of its own."""
        return False

    def list_keys(self) -> list[str]:
        raise NotImplementedError("listKeys support is not implemented.")

    def queue_push(self, key: str, value: str | bytes) -> None:
        """Push ``value`` at the end of the queue ``key`` (queues are apart from the keys of ``set``)."""
        raise NotImplementedError("queue support is not implemented.")

    def queue_pop(self, key: str, block: bool = True) -> bytes:
        """Pop the first value of the queue ``key``, waiting up to the timeout for one (``block``), or raising
        ``QueueEmptyError`` at once."""
        raise NotImplementedError("queue support is not implemented.")

    def queue_len(self, key: str) -> int:
        raise NotImplementedError("queue support is not implemented.")


def _pure(name: str) -> str:
    return f'Tried to call pure virtual function "::c10d::Store::{name}"'


# ---- an in-memory table: HashStore's storage and the TCPStore server's ----------------------------------------
class _Table:
    """Keys, counters and queues behind one condition variable; blocking reads wait on it."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.queues: dict[str, deque[bytes]] = {}
        self.cond = threading.Condition()
        self.closed = False

    def _until(self, ready: Callable[[], bool], timeout_s: float) -> bool:
        """Wait (holding the condition) until ``ready()`` or the timeout; whether it became ready."""
        return self.cond.wait_for(lambda: self.closed or ready(), max(0.0, timeout_s)) and not self.closed

    def set(self, k: str, v: bytes) -> None:
        with self.cond:
            self.data[k] = v
            self.cond.notify_all()

    def get(self, k: str, timeout_s: float) -> bytes | None:
        with self.cond:
            return self.data[k] if self._until(lambda: k in self.data, timeout_s) else None

    def add(self, k: str, by: int) -> int:
        with self.cond:
            value = _counter(self.data.get(k), by)
            self.data[k] = str(value).encode()
            self.cond.notify_all()
            return value

    def compare_set(self, k: str, expected: bytes, desired: bytes) -> bytes:
        with self.cond:
            out, store = _cas(self.data.get(k), expected, desired)
            if store:
                self.data[k] = desired
                self.cond.notify_all()
            return out

    def append(self, k: str, v: bytes) -> None:
        with self.cond:
            self.data[k] = self.data.get(k, b"") + v
            self.cond.notify_all()

    def multi_set(self, ks: list[str], vs: list[bytes]) -> None:
        with self.cond:
            self.data.update(zip(ks, vs, strict=True))
            self.cond.notify_all()

    def delete(self, k: str) -> bool:
        with self.cond:
            return self.data.pop(k, None) is not None

    def check(self, ks: list[str]) -> bool:
        with self.cond:
            return all(k in self.data for k in ks)

    def wait(self, ks: list[str], timeout_s: float) -> bool:
        with self.cond:
            return self._until(lambda: all(k in self.data for k in ks), timeout_s)

    def multi_get(self, ks: list[str], timeout_s: float) -> list[bytes] | None:
        with self.cond:
            return [self.data[k] for k in ks] if self._until(lambda: all(k in self.data for k in ks), timeout_s) \
                else None

    def count(self) -> int:
        with self.cond:
            return len(self.data)

    def keys(self, hidden: frozenset[str] = frozenset()) -> list[str]:
        with self.cond:
            return [k for k in self.data if k not in hidden]

    def push(self, k: str, v: bytes) -> None:
        with self.cond:
            self.queues.setdefault(k, deque()).append(v)
            self.cond.notify_all()

    def pop(self, k: str, timeout_s: float | None) -> bytes | None:
        """The first value of queue ``k``; None when it stays empty (``timeout_s`` None: do not wait)."""
        with self.cond:
            if not self.queues.get(k) and (timeout_s is None or not self._until(lambda: bool(self.queues.get(k)),
                                                                                  timeout_s)):
                return None
            return self.queues[k].popleft()

    def qlen(self, k: str) -> int:
        with self.cond:
            return len(self.queues.get(k, ()))

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


class HashStore(Store):
    """A store in this process's memory (threads share it)."""

    def __init__(self) -> None:
        super().__init__()
        self._table = _Table()

    def _timed_out(self) -> DistStoreError:
        return DistStoreError("Wait timeout")

    def set(self, key: str, value: str | bytes) -> None:
        self._table.set(_key(key, "set", self, (key, value)), _value(value, "set", self, (key, value)))

    def get(self, key: str) -> bytes:
        got = self._table.get(_key(key, "get", self, (key,)), self._timeout.total_seconds())
        if got is None:
            raise self._timed_out()
        return got

    def add(self, key: str, amount: int) -> int:
        return self._table.add(_key(key, "add", self, (key, amount)), _int(amount, "add", self, (key, amount)))

    def compare_set(self, key: str, expected_value: str | bytes, desired_value: str | bytes) -> bytes:
        args = (key, expected_value, desired_value)
        return self._table.compare_set(_key(key, "compare_set", self, args),
                                       _value(expected_value, "compare_set", self, args),
                                       _value(desired_value, "compare_set", self, args))

    def append(self, key: str, value: str | bytes) -> None:
        self._table.append(_key(key, "append", self, (key, value)), _value(value, "append", self, (key, value)))

    def multi_set(self, keys: Sequence[str], values: Sequence[str | bytes]) -> None:
        ks = _keys(keys, "multi_set", self, (keys, values))
        vs = [_value(v, "multi_set", self, (keys, values)) for v in values]
        if len(ks) != len(vs):
            raise ValueError(f"multi_set: {len(ks)} keys but {len(vs)} values")
        self._table.multi_set(ks, vs)

    def check(self, keys: Sequence[str]) -> bool:
        return self._table.check(_keys(keys, "check", self, (keys,)))

    def wait(self, keys: Sequence[str], timeout: timedelta | None = None) -> None:
        args = (keys,) if timeout is None else (keys, timeout)
        ks = _keys(keys, "wait", self, args)
        limit = self._timeout if timeout is None else _delta(timeout, "wait", self, args)
        if not self._table.wait(ks, limit.total_seconds()):
            raise self._timed_out()

    def delete_key(self, key: str) -> bool:
        return self._table.delete(_key(key, "delete_key", self, (key,)))

    def num_keys(self) -> int:
        return self._table.count()

    def list_keys(self) -> list[str]:
        return self._table.keys()

    def clone(self) -> HashStore:
        other = HashStore()
        other._table, other._timeout = self._table, self._timeout
        return other

    def has_extended_api(self) -> bool:
        return True

    def queue_push(self, key: str, value: str | bytes) -> None:
        self._table.push(_key(key, "queue_push", self, (key, value)), _value(value, "queue_push", self, (key, value)))

    def queue_pop(self, key: str, block: bool = True) -> bytes:
        k = _key(key, "queue_pop", self, (key, block))
        got = self._table.pop(k, self._timeout.total_seconds() if block else None)
        if got is None:
            raise self._timed_out() if block else QueueEmptyError("queue is empty")
        return got

    def queue_len(self, key: str) -> int:
        return self._table.qlen(_key(key, "queue_len", self, (key,)))


# ---- FileStore -----------------------------------------------------------------------------------------------
_SET, _DEL = b"S", b"D"
_LEN = struct.Struct("!I")
_USER = "/"              # prefix of the users' keys in the file (the store's own keys have none)
_REFS, _CLEANUP = "refcount", "cleanup"
_POLL = 0.005


class _Log:
    """A FileStore's file: an append-only log of records (set or delete of one key), replayed into a dict. Every
    operation opens the file and holds ``flock`` on it (shared to read, exclusive to write), so processes and
    threads see each update whole; each handle reads only the records appended since its last look."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.state: dict[str, bytes] = {}
        self.offset = 0
        self.inode: tuple[int, int] | None = None

    def _sync(self, fd: int) -> None:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != self.inode or st.st_size < self.offset:   # a new file at the same path
            self.state, self.offset, self.inode = {}, 0, (st.st_dev, st.st_ino)
        if st.st_size == self.offset:
            return
        buf = os.pread(fd, st.st_size - self.offset, self.offset)
        pos = 0
        while pos + 5 <= len(buf):
            kind = buf[pos:pos + 1]
            (n,) = _LEN.unpack_from(buf, pos + 1)
            key = buf[pos + 5:pos + 5 + n].decode()
            pos += 5 + n
            if kind == _DEL:
                self.state.pop(key, None)
                continue
            (m,) = _LEN.unpack_from(buf, pos)
            self.state[key] = buf[pos + 4:pos + 4 + m]
            pos += 4 + m
        self.offset += pos

    def run(self, fn: Callable[[dict[str, bytes]], Any], write: bool) -> Any:
        """``fn(state)`` under the file's lock; when writing, ``fn`` returns (result, records to append) where a
        record is (key, value or None to delete)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise DistStoreError(e.strerror) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
            self._sync(fd)
            if not write:
                return fn(self.state)
            out, records = fn(self.state)
            blob = b"".join(_SET + _LEN.pack(len(kb := k.encode())) + kb + _LEN.pack(len(v)) + v if v is not None
                            else _DEL + _LEN.pack(len(kb := k.encode())) + kb for k, v in records)
            if blob:
                os.lseek(fd, 0, os.SEEK_END)
                os.write(fd, blob)
                self._sync(fd)
            return out
        finally:
            os.close(fd)   # also releases the lock


def _file_close(path: str, world_size: int) -> None:
    """A FileStore handle is closed: the last of ``world_size`` removes the file."""
    log = _Log(path)
    try:
        n = log.run(lambda s: ((c := _counter(s.get(_CLEANUP), 1)), [(_CLEANUP, str(c).encode())]), True)
        if 0 < world_size <= n:
            os.remove(path)
    except (OSError, DistStoreError):
        pass


class FileStore(Store):
    """A store in the file ``file_name``, shared by the processes that open it (on one machine or a shared file
    system with working ``flock``). With ``world_size`` > 0, the last of that many stores to close removes the
    file."""

    def __init__(self, file_name: str, world_size: int = -1) -> None:
        super().__init__()
        if not isinstance(file_name, str) or isinstance(world_size, bool) or not isinstance(world_size, int):
            raise TypeError("__init__(): incompatible constructor arguments. The following argument types are "
                            "supported:\n    1. ember.distributed.FileStore(file_name: str, world_size: typing."
                            "SupportsInt | typing.SupportsIndex = -1)\n\n"
                            f"Invoked with: {file_name!r}, {world_size!r}")
        self._log = _Log(file_name)
        self._world_size = world_size
        self._log.run(lambda s: (None, [(_REFS, str(_counter(s.get(_REFS), 1)).encode())]), True)
        self._closer = weakref.finalize(self, _file_close, file_name, world_size)

    @property
    def path(self) -> str:
        """The file holding the store."""
        return self._log.path

    def _write(self, fn: Callable[[dict[str, bytes]], Any]) -> Any:
        return self._log.run(fn, True)

    def _read(self, fn: Callable[[dict[str, bytes]], Any]) -> Any:
        return self._log.run(fn, False)

    def _poll(self, ks: list[str], timeout: timedelta) -> bool:
        deadline = time.monotonic() + timeout.total_seconds()
        names = [_USER + k for k in ks]
        while not self._read(lambda s: all(n in s for n in names)):
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL)
        return True

    def set(self, key: str, value: str | bytes) -> None:
        k, v = _key(key, "set", self, (key, value)), _value(value, "set", self, (key, value))
        self._write(lambda s: (None, [(_USER + k, v)]))

    def get(self, key: str) -> bytes:
        k = _key(key, "get", self, (key,))
        if not self._poll([k], self._timeout):
            raise RuntimeError(f"Timeout waiting for key: {k} after {_ms(self._timeout)} ms")
        return self._read(lambda s: s[_USER + k])

    def add(self, key: str, amount: int) -> int:
        k, n = _USER + _key(key, "add", self, (key, amount)), _int(amount, "add", self, (key, amount))
        return self._write(lambda s: ((c := _counter(s.get(k), n)), [(k, str(c).encode())]))

    def compare_set(self, key: str, expected_value: str | bytes, desired_value: str | bytes) -> bytes:
        args = (key, expected_value, desired_value)
        k = _USER + _key(key, "compare_set", self, args)
        exp, des = _value(expected_value, "compare_set", self, args), _value(desired_value, "compare_set", self, args)

        def cas(s: dict[str, bytes]) -> tuple[bytes, list]:
            out, store = _cas(s.get(k), exp, des)
            return out, [(k, des)] if store else []
        return self._write(cas)

    def append(self, key: str, value: str | bytes) -> None:
        k, v = _USER + _key(key, "append", self, (key, value)), _value(value, "append", self, (key, value))
        self._write(lambda s: (None, [(k, s.get(k, b"") + v)]))

    def multi_set(self, keys: Sequence[str], values: Sequence[str | bytes]) -> None:
        ks = _keys(keys, "multi_set", self, (keys, values))
        vs = [_value(v, "multi_set", self, (keys, values)) for v in values]
        if len(ks) != len(vs):
            raise ValueError(f"multi_set: {len(ks)} keys but {len(vs)} values")
        self._write(lambda s: (None, [(_USER + k, v) for k, v in zip(ks, vs, strict=True)]))

    def check(self, keys: Sequence[str]) -> bool:
        names = [_USER + k for k in _keys(keys, "check", self, (keys,))]
        return self._read(lambda s: all(n in s for n in names))

    def wait(self, keys: Sequence[str], timeout: timedelta | None = None) -> None:
        args = (keys,) if timeout is None else (keys, timeout)
        ks = _keys(keys, "wait", self, args)
        if not self._poll(ks, self._timeout if timeout is None else _delta(timeout, "wait", self, args)):
            raise RuntimeError("Wait timeout")

    def delete_key(self, key: str) -> bool:
        """Remove ``key``; True (as torch's FileStore, whether or not it was there)."""
        k = _USER + _key(key, "delete_key", self, (key,))
        self._write(lambda s: (None, [(k, None)] if k in s else []))
        return True

    def num_keys(self) -> int:
        return self._read(len)

    def list_keys(self) -> list[str]:
        return self._read(lambda s: [k[1:] for k in s if k.startswith(_USER)])

    def clone(self) -> FileStore:
        """Another handle on the file (not counted among the ``world_size`` stores that remove it)."""
        other = object.__new__(FileStore)
        other._log, other._world_size, other._timeout = _Log(self.path), self._world_size, self._timeout
        return other


# ---- TCPStore ------------------------------------------------------------------------------------------------
def _send(sock: socket.socket, items: Sequence[bytes]) -> None:
    sock.sendall(_LEN.pack(len(items)) + b"".join(_LEN.pack(len(i)) + i for i in items))


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    parts, left = [], n
    while left:
        got = sock.recv(min(left, 1 << 20))
        if not got:
            raise ConnectionAbortedError
        parts.append(got)
        left -= len(got)
    return b"".join(parts)


def _recv(sock: socket.socket) -> list[bytes]:
    (count,) = _LEN.unpack(_recv_exact(sock, 4))
    return [_recv_exact(sock, _LEN.unpack(_recv_exact(sock, 4))[0]) for _ in range(count)]


_INIT = "init/"   # the key counting the stores of a world (counted by num_keys, not listed)
_OK, _TIMEOUT, _EMPTY = b"ok", b"timeout", b"empty"


class _Server:
    """The TCPStore master's server: a thread accepting connections and one thread per connection, serving a
    :class:`_Table`. A request is a list of byte strings (operation, arguments), answered by a status and
    results; blocking operations carry their timeout in milliseconds and wait in the connection's thread."""

    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.port = listener.getsockname()[1]
        self.table = _Table()
        self.conns: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.users = 1   # the multi-tenant stores of this process sharing it
        threading.Thread(target=self._accept, name=f"TCPStore server :{self.port}", daemon=True).start()

    def _accept(self) -> None:
        while not self.table.closed:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                if self.table.closed:
                    return
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            while True:
                req = _recv(conn)
                try:
                    reply = self._handle(req[0].decode(), req[1:])
                except Exception as e:   # noqa: BLE001 (a bad request fails that request, not the server)
                    reply = [b"error", type(e).__name__.encode(), str(e).encode()]
                _send(conn, reply)
        except (OSError, struct.error):
            pass
        finally:
            with self.lock:
                self.conns.discard(conn)
            conn.close()

    def _handle(self, op: str, a: list[bytes]) -> list[bytes]:
        t = self.table
        s = [x.decode() for x in a] if op in ("check", "wait", "mget", "keys") else []
        if op == "set":
            t.set(a[0].decode(), a[1])
        elif op == "get":
            got = t.get(a[0].decode(), int(a[1]) / 1000)
            return [_OK, got] if got is not None else [_TIMEOUT]
        elif op == "add":
            return [_OK, str(t.add(a[0].decode(), int(a[1]))).encode()]
        elif op == "cas":
            return [_OK, t.compare_set(a[0].decode(), a[1], a[2])]
        elif op == "append":
            t.append(a[0].decode(), a[1])
        elif op == "mset":
            half = len(a) // 2
            t.multi_set([k.decode() for k in a[:half]], a[half:])
        elif op == "delete":
            return [_OK, b"1" if t.delete(a[0].decode()) else b""]
        elif op == "check":
            return [_OK, b"1" if t.check(s) else b""]
        elif op == "wait":
            return [_OK] if t.wait(s[1:], int(s[0]) / 1000) else [_TIMEOUT]
        elif op == "mget":
            got = t.multi_get(s[1:], int(s[0]) / 1000)
            return [_TIMEOUT] if got is None else [_OK, *got]
        elif op == "count":
            return [_OK, str(t.count()).encode()]
        elif op == "keys":
            return [_OK, *(k.encode() for k in t.keys(frozenset((_INIT,))))]
        elif op == "push":
            t.push(a[0].decode(), a[1])
        elif op == "pop":
            got = t.pop(a[0].decode(), int(a[1]) / 1000 if a[1] else None)
            return [_OK, got] if got is not None else [_TIMEOUT if a[1] else _EMPTY]
        elif op == "qlen":
            return [_OK, str(t.qlen(a[0].decode())).encode()]
        elif op == "barrier":
            k, n = a[0].decode(), int(a[1])
            t.add(k, 1)
            with t.cond:
                done = t._until(lambda: _counter(t.data.get(k), 0) >= n, int(a[2]) / 1000)
            return [_OK] if done else [_TIMEOUT]
        else:
            raise ValueError(f"unknown TCPStore operation {op!r}")
        return [_OK]

    def close(self) -> None:
        with self.lock:
            self.users -= 1
            if self.users > 0:
                return
            conns, self.conns = list(self.conns), set()
        self.table.close()
        _TENANTS.pop(self.port, None)
        for s in (self.listener, *conns):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


_TENANTS: dict[int, _Server] = {}   # the servers of multi-tenant TCPStores of this process, by port
_TENANTS_LOCK = threading.Lock()


def _listen(port: int) -> socket.socket:
    """A socket listening on ``port`` of every interface (IPv4 and, where the host has it, IPv6)."""
    try:
        if socket.has_dualstack_ipv6():
            return socket.create_server(("", port), family=socket.AF_INET6, dualstack_ipv6=True, backlog=128)
        return socket.create_server(("", port), backlog=128)
    except OSError as e:
        name = errno.errorcode.get(e.errno or 0, "?")
        raise DistNetworkError(f"The server socket has failed to listen on any local network address. port: {port},"
                               f" useIpv6: false, code: {-(e.errno or 0)}, name: {name}, message: "
                               f"{os.strerror(e.errno or 0).lower()}") from None


def _connect(host: str, port: int, timeout: timedelta) -> socket.socket:
    """Connect, retrying (the master may not listen yet) until ``timeout``."""
    deadline = time.monotonic() + timeout.total_seconds()
    while True:
        try:
            sock = socket.create_connection((host, port), timeout=max(0.01, deadline - time.monotonic()))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError:
            if time.monotonic() >= deadline:
                raise DistNetworkError(f"The client socket has timed out after {_ms(timeout)}ms while trying to "
                                       f"connect to ({host}, {port}).") from None
            time.sleep(0.05)


class TCPStore(Store):
    """A store served over TCP by the master process (``is_master=True``: a server thread listening on ``port``,
    0 for any free one, see ``.port``); other processes connect to ``host_name:port`` as clients, retrying until
    ``timeout``. With ``world_size`` and ``wait_for_workers``, the master waits in its constructor until
    ``world_size`` stores (itself included) have connected. ``multi_tenant`` masters of one process share the
    server of a port; ``master_listen_fd`` is a socket already listening to serve on. ``use_libuv`` is accepted
    (and reported by ``libuvBackend``): there is one implementation."""

    def __init__(self, host_name: str, port: int, world_size: int | None = None, is_master: bool = False,
                 timeout: timedelta = _DEFAULT, wait_for_workers: bool = True, multi_tenant: bool = False,
                 master_listen_fd: int | None = None, use_libuv: bool = True) -> None:
        super().__init__()
        if not isinstance(host_name, str) or isinstance(port, bool) or not isinstance(port, int) or \
                not 0 <= port < 65536 or not isinstance(timeout, timedelta) or \
                (world_size is not None and (isinstance(world_size, bool) or not isinstance(world_size, int))):
            raise TypeError("__init__(): incompatible constructor arguments. The following argument types are "
                            "supported:\n    1. ember.distributed.TCPStore(host_name: str, port: int, world_size: "
                            "int | None = None, is_master: bool = False, timeout: datetime.timedelta = "
                            "datetime.timedelta(seconds=300), wait_for_workers: bool = True, multi_tenant: bool = "
                            "False, master_listen_fd: int | None = None, use_libuv: bool = True)\n\n"
                            f"Invoked with: {host_name!r}, {port!r}, {world_size!r}, {is_master!r}, {timeout!r}")
        if world_size == 0:
            raise ValueError("TCPStore world size cannot be 0")
        self._host, self._timeout, self._libuv = host_name, timeout, bool(use_libuv)
        self._server: _Server | None = None
        if is_master:
            self._server = self._serve(port, multi_tenant, master_listen_fd)
            port = self._server.port
            weakref.finalize(self, self._server.close)
        self._port = port
        self._lock = threading.Lock()
        self._sock = _connect(host_name, port, timeout)
        weakref.finalize(self, self._sock.close)
        if world_size is not None and wait_for_workers:
            self._call("add", _INIT.encode(), b"1")
            if is_master:
                self._wait_for_workers(world_size)

    def _serve(self, port: int, multi_tenant: bool, fd: int | None) -> _Server:
        with _TENANTS_LOCK:
            server = _TENANTS.get(port) if multi_tenant and port else None
            if server is not None:
                with server.lock:
                    server.users += 1
                return server
            listener = socket.socket(fileno=fd) if fd is not None else _listen(port)
            server = _Server(listener)
            if multi_tenant:
                _TENANTS[server.port] = server
            return server

    def _wait_for_workers(self, world_size: int) -> None:
        deadline = time.monotonic() + self._timeout.total_seconds()
        while (n := int(self._call("add", _INIT.encode(), b"0")[0])) < world_size:
            if time.monotonic() >= deadline:
                raise DistStoreError(f"Timed out after {math.ceil(self._timeout.total_seconds())} seconds waiting "
                                     f"for clients. {n}/{world_size} clients joined.")
            time.sleep(0.01)

    def _call(self, op: str, *args: bytes, wait_s: float = 0.0) -> list[bytes]:
        """Send one request and return the results; ``wait_s``: how long the server may block on it."""
        with self._lock:
            try:
                self._sock.settimeout(wait_s + max(30.0, self._timeout.total_seconds()))
                try:
                    _send(self._sock, [op.encode(), *args])
                except OSError as e:
                    raise DistNetworkError("Broken pipe" if isinstance(e, BrokenPipeError | ConnectionResetError)
                                           else str(e)) from None
                reply = _recv(self._sock)
            except (ConnectionAbortedError, ConnectionResetError):
                raise DistNetworkError("Failed to recv, got 0 bytes. Connection was likely closed. Did the remote "
                                       "server shutdown or crash?") from None
            except OSError as e:
                raise DistNetworkError(str(e)) from None
        if reply[0] == b"error":
            kind = {b"ValueError": ValueError, b"IndexError": IndexError}.get(reply[1], DistStoreError)
            raise kind(reply[2].decode())
        if reply[0] == _TIMEOUT:
            raise _TimedOut
        if reply[0] == _EMPTY:
            raise QueueEmptyError("queue is empty")
        return reply[1:]

    def _waiting(self, op: str, keys: list[str], limit: timedelta, *args: bytes) -> list[bytes]:
        try:
            return self._call(op, *args, wait_s=limit.total_seconds())
        except _TimedOut:
            shown = ", ".join("/" + k for k in keys)
            raise DistStoreError(f"wait timeout after {_ms(limit)}ms, keys: {shown}") from None

    # ---- properties ---------------------------------------------------------------------------------------
    @property
    def host(self) -> str:
        """The host the store's server listens on."""
        return self._host

    @property
    def port(self) -> int:
        """The port the store's server listens on (the one picked when created with port 0)."""
        return self._port

    @property
    def libuvBackend(self) -> bool:   # noqa: N802 (torch's name)
        return self._libuv

    def __repr__(self) -> str:
        try:
            addr, remote = self._sock.getsockname()[:2], self._sock.getpeername()[:2]
            client = f"TCPClient(SocketImpl(fd={self._sock.fileno()}, addr={addr[0]}:{addr[1]}, " \
                     f"remote={remote[0]}:{remote[1]}))"
        except OSError:
            client = "TCPClient(closed)"
        server = f"TCPServer(port={self._server.port})" if self._server is not None else "<nullptr>"
        return f"TCPStore(client={client}, server={server})"

    # ---- operations ---------------------------------------------------------------------------------------
    def set(self, key: str, value: str | bytes) -> None:
        self._call("set", _key(key, "set", self, (key, value)).encode(), _value(value, "set", self, (key, value)))

    def get(self, key: str) -> bytes:
        k = _key(key, "get", self, (key,))
        return self._waiting("get", [k], self._timeout, k.encode(), str(_ms(self._timeout)).encode())[0]

    def add(self, key: str, amount: int) -> int:
        k, n = _key(key, "add", self, (key, amount)), _int(amount, "add", self, (key, amount))
        return int(self._call("add", k.encode(), str(n).encode())[0])

    def compare_set(self, key: str, expected_value: str | bytes, desired_value: str | bytes) -> bytes:
        args = (key, expected_value, desired_value)
        return self._call("cas", _key(key, "compare_set", self, args).encode(),
                          _value(expected_value, "compare_set", self, args),
                          _value(desired_value, "compare_set", self, args))[0]

    def append(self, key: str, value: str | bytes) -> None:
        self._call("append", _key(key, "append", self, (key, value)).encode(),
                   _value(value, "append", self, (key, value)))

    def multi_set(self, keys: Sequence[str], values: Sequence[str | bytes]) -> None:
        ks = _keys(keys, "multi_set", self, (keys, values))
        vs = [_value(v, "multi_set", self, (keys, values)) for v in values]
        if len(ks) != len(vs):
            raise ValueError(f"multi_set: {len(ks)} keys but {len(vs)} values")
        self._call("mset", *(k.encode() for k in ks), *vs)

    def multi_get(self, keys: Sequence[str]) -> list[bytes]:
        ks = _keys(keys, "multi_get", self, (keys,))
        return self._waiting("mget", ks, self._timeout, str(_ms(self._timeout)).encode(), *(k.encode() for k in ks))

    def check(self, keys: Sequence[str]) -> bool:
        return self._call("check", *(k.encode() for k in _keys(keys, "check", self, (keys,))))[0] == b"1"

    def wait(self, keys: Sequence[str], timeout: timedelta | None = None) -> None:
        args = (keys,) if timeout is None else (keys, timeout)
        ks = _keys(keys, "wait", self, args)
        limit = self._timeout if timeout is None else _delta(timeout, "wait", self, args)
        self._waiting("wait", ks, limit, str(_ms(limit)).encode(), *(k.encode() for k in ks))

    def delete_key(self, key: str) -> bool:
        return self._call("delete", _key(key, "delete_key", self, (key,)).encode())[0] == b"1"

    def num_keys(self) -> int:
        return int(self._call("count")[0])

    def list_keys(self) -> list[str]:
        return [k.decode() for k in self._call("keys")]

    def barrier(self, key: str, world_size: int, timeout: timedelta | None = None) -> None:
        args = (key, world_size, timeout)
        k = _key(key, "barrier", self, args)
        n = _int(world_size, "barrier", self, args)
        limit = self._timeout if timeout is None else _delta(timeout, "barrier", self, args)
        try:
            self._call("barrier", k.encode(), str(n).encode(), str(_ms(limit)).encode(), wait_s=limit.total_seconds())
        except _TimedOut:
            raise DistStoreError(f"barrier timeout after {_ms(limit)}ms, key: {k}") from None

    def clone(self) -> TCPStore:
        """A new client connection to the same server."""
        return TCPStore(self._host, self._port, None, False, self._timeout, use_libuv=self._libuv)

    def has_extended_api(self) -> bool:
        return True

    def queue_push(self, key: str, value: str | bytes) -> None:
        self._call("push", _key(key, "queue_push", self, (key, value)).encode(),
                   _value(value, "queue_push", self, (key, value)))

    def queue_pop(self, key: str, block: bool = True) -> bytes:
        k = _key(key, "queue_pop", self, (key, block))
        limit = self._timeout
        return self._waiting("pop", [k], limit, k.encode(), str(_ms(limit)).encode() if block else b"")[0]

    def queue_len(self, key: str) -> int:
        return int(self._call("qlen", _key(key, "queue_len", self, (key,)).encode())[0])


class _TimedOut(Exception):
    """The server answered that a blocking operation timed out."""


# ---- PrefixStore ---------------------------------------------------------------------------------------------
class PrefixStore(Store):
    """The keys of ``store`` under ``prefix + '/'``: a namespace (the timeout is the underlying store's)."""

    def __init__(self, prefix: str, store: Store) -> None:
        if not isinstance(prefix, str) or not isinstance(store, Store):
            raise TypeError("__init__(): incompatible constructor arguments. The following argument types are "
                            "supported:\n    1. ember.distributed.PrefixStore(prefix: str, store: ember.distributed."
                            f"Store)\n\nInvoked with: {prefix!r}, {store!r}")
        self._prefix = prefix
        self._store = store

    def _k(self, key: str) -> str:
        return f"{self._prefix}/{key}"

    @property
    def underlying_store(self) -> Store:
        """The store holding the keys."""
        return self._store

    @property
    def timeout(self) -> timedelta:
        return self._store.timeout

    def set_timeout(self, timeout: timedelta) -> None:
        self._store.set_timeout(timeout)

    def set(self, key: str, value: str | bytes) -> None:
        self._store.set(self._k(_key(key, "set", self, (key, value))), _value(value, "set", self, (key, value)))

    def get(self, key: str) -> bytes:
        return self._store.get(self._k(_key(key, "get", self, (key,))))

    def add(self, key: str, amount: int) -> int:
        return self._store.add(self._k(_key(key, "add", self, (key, amount))), _int(amount, "add", self,
                                                                                     (key, amount)))

    def compare_set(self, key: str, expected_value: str | bytes, desired_value: str | bytes) -> bytes:
        args = (key, expected_value, desired_value)
        return self._store.compare_set(self._k(_key(key, "compare_set", self, args)),
                                       _value(expected_value, "compare_set", self, args),
                                       _value(desired_value, "compare_set", self, args))

    def append(self, key: str, value: str | bytes) -> None:
        self._store.append(self._k(_key(key, "append", self, (key, value))),
                           _value(value, "append", self, (key, value)))

    def multi_get(self, keys: Sequence[str]) -> list[bytes]:
        return self._store.multi_get([self._k(k) for k in _keys(keys, "multi_get", self, (keys,))])

    def multi_set(self, keys: Sequence[str], values: Sequence[str | bytes]) -> None:
        ks = _keys(keys, "multi_set", self, (keys, values))
        self._store.multi_set([self._k(k) for k in ks], [_value(v, "multi_set", self, (keys, values))
                                                         for v in values])

    def check(self, keys: Sequence[str]) -> bool:
        return self._store.check([self._k(k) for k in _keys(keys, "check", self, (keys,))])

    def wait(self, keys: Sequence[str], timeout: timedelta | None = None) -> None:
        ks = [self._k(k) for k in _keys(keys, "wait", self, (keys, timeout))]
        self._store.wait(ks) if timeout is None else self._store.wait(ks, timeout)

    def delete_key(self, key: str) -> bool:
        return self._store.delete_key(self._k(_key(key, "delete_key", self, (key,))))

    def num_keys(self) -> int:
        return self._store.num_keys()

    def list_keys(self) -> list[str]:
        head = self._prefix + "/"
        return [k[len(head):] for k in self._store.list_keys() if k.startswith(head)]

    def clone(self) -> PrefixStore:
        return PrefixStore(self._prefix, self._store.clone())

    def has_extended_api(self) -> bool:
        return self._store.has_extended_api()

    def queue_push(self, key: str, value: str | bytes) -> None:
        self._store.queue_push(self._k(_key(key, "queue_push", self, (key, value))),
                               _value(value, "queue_push", self, (key, value)))

    def queue_pop(self, key: str, block: bool = True) -> bytes:
        return self._store.queue_pop(self._k(_key(key, "queue_pop", self, (key, block))), block)

    def queue_len(self, key: str) -> int:
        return self._store.queue_len(self._k(_key(key, "queue_len", self, (key,))))
