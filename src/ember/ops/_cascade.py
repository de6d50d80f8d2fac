"""torch's order of a floating-point CPU sum, so that ember's sums, means and the losses built on them equal
torch's bit for bit (a float32 sum of random data differs in the last bit from NumPy's pairwise sum about
three times in four, which ``print(loss.item())`` shows).

torch sums with its cascade kernel under a TensorIterator; the order it adds in is fixed by:

- the iteration dims: reduced dims first, then kept ones (kept dims by the output's strides, reduced ones by
  the input's), size-1 dims dropped and neighbours whose strides chain merged;
- a 2-d loop over the two fastest dims, repeated over the others, each call adding its results into the
  output (which starts at 0), so contributions to one output arrive in iteration order;
- in the loop: a contiguous reduced row of at least one vector is summed by 4 interleaved vector accumulators
  (32-byte vectors: the kernel is dispatched at AVX2 width also on AVX512 CPUs) that sum blocks of 16 (more
  for very long rows) sequentially and blocks of blocks alike, then the leftover vectors, the accumulators,
  the leftover scalars and the lanes one after another; contiguous kept columns are summed 4 vectors of
  columns at a time with the same blocked accumulators, the remaining columns like a row; other layouts the
  same way with scalars;
- threads: from 32768 elements on, a sum to one value is cut into one run per thread whose partial sums are
  then summed (``torch.get_num_threads()`` decides, so ember's thread count is used); other sums are split
  over a kept dim, which changes the order only where that dim is a non-contiguous column dim (not
  reproduced: such sums get the one-thread order).

Everything here is NumPy arithmetic in the array's own dtype (float32/float64/complex: componentwise), one
IEEE addition per torch addition, vectorised over the independent accumulators and rows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._parallel import split_rows
from .creation import iterator_order

VECTOR_BYTES = 32   # Vectorized<T> in the AVX2 build of the sum kernel
GRAIN = 32768       # at::internal::GRAIN_SIZE: smaller iterations run on one thread

Dim = list   # [size, output stride, input stride] in elements; output stride 0: a reduced dim


def _run(x: Any) -> Any:
    """``((0 + x[0]) + x[1]) + ...`` along axis -2 of ``(..., k, lanes)`` (k >= 1; the sign of a zero total is
    fixed by the caller). NumPy's reduce over an axis outside a contiguous lanes axis adds in order (its
    pairwise summation is only for the innermost axis); otherwise accumulate, sequential by definition."""
    if x.shape[-2] == 1:
        return x[..., 0, :]
    if x.shape[-1] > 1 and x.strides[-1] == x.itemsize and x.strides[-2] >= x.shape[-1] * x.itemsize:
        return np.add.reduce(x, axis=-2)
    return np.add.accumulate(x, axis=-2)[..., -1, :]


def _runs(x: Any, count: int, step: int) -> Any:
    """The sequential sums of ``count`` consecutive runs of ``step`` along axis -2: ``(..., count, lanes)``."""
    return _run(x[..., : count * step, :].reshape(x.shape[:-2] + (count, step, x.shape[-1])))


def _multi_row(x: Any) -> Any:
    """torch's ``multi_row_sum`` along axis -2 of ``(..., R, lanes)``: runs of ``step`` (16, more from 2**20
    rows on) summed in accumulator 0, each run's total added to accumulator 1, which goes to accumulator 2
    every ``step`` runs, which goes to accumulator 3 every ``step**2`` runs; the rows after the last whole run
    stay in accumulator 0; the result is ``((acc0 + acc1) + acc2) + acc3`` (None: an accumulator never used)."""
    rows = x.shape[-2]
    power = max(4, (1 if rows <= 2 else (rows - 1).bit_length()) // 4)
    step = 1 << power
    whole = rows // step
    accs: list[Any] = []
    if whole:
        totals = _runs(x, whole, step)
        units = whole // step
        accs.append(_run(totals[..., units * step :, :]) if units * step < whole else None)
        if units:
            unit_totals = _runs(totals, units, step)
            tops = units // step
            accs.append(_run(unit_totals[..., tops * step :, :]) if tops * step < units else None)
            if tops:
                accs.append(_run(_runs(unit_totals, tops, step)))
    acc = _run(x[..., whole * step :, :]) if whole * step < rows else None
    for other in accs:
        if other is not None:
            acc = other if acc is None else acc + other
    return np.zeros(x.shape[:-2] + x.shape[-1:], x.dtype) if acc is None else acc


def _row_sum(x: Any) -> Any:
    """torch's ``row_sum`` along axis -2 of ``(..., R, lanes)``: rows read 4 at a time into 4 accumulators
    (``multi_row_sum`` of the groups), the leftover rows added to the first, then the four added in order."""
    rows, lanes = x.shape[-2], x.shape[-1]
    lead = x.shape[:-2]
    groups = rows // 4
    if not groups:   # the accumulators stay 0: the rows in order
        return _run(x) if rows else np.zeros(lead + (lanes,), x.dtype)
    acc = _multi_row(x[..., : 4 * groups, :].reshape(lead + (groups, 4 * lanes))).reshape(lead + (4, lanes))
    if rows == 4 * groups:
        return _run(acc)
    return _run(np.concatenate((acc[..., :1, :], x[..., 4 * groups :, :], acc[..., 1:, :]), axis=-2))


def _inner(x: Any, lanes: int) -> Any:
    """torch's ``vectorized_inner_sum`` of each row (contiguous last axis, at least ``lanes`` long): the
    vectors' ``row_sum``, then 0 + the leftover scalars + the lanes, in order (that chain laid out along the
    first axis, so that one reduce runs it for every row at once)."""
    n = x.shape[-1]
    count = n // lanes
    lead = x.shape[:-1]
    vec = _row_sum(x[..., : count * lanes].reshape(lead + (count, lanes)))
    tail = n - count * lanes
    chain = np.empty((tail + lanes, math.prod(lead)), x.dtype)
    if tail:
        chain[:tail] = x[..., count * lanes :].reshape(-1, tail).T
    chain[tail:] = vec.reshape(-1, lanes).T
    return _run(chain).reshape(lead)


def _outer(x: Any, chunk: int) -> Any:
    """Column sums along axis -2 of ``(..., R, C)``: whole ``chunk``s of columns by ``multi_row_sum`` (torch's
    vectorized/scalar outer sums: 4 vectors or 4 scalars of columns), the remaining columns by ``row_sum``."""
    cols = x.shape[-1]
    cut = chunk * (cols // chunk)
    if cut == cols:
        return _multi_row(x)
    if not cut:
        return _row_sum(x)
    return np.concatenate([_multi_row(x[..., :cut]), _row_sum(x[..., cut:])], axis=-1)


def iteration(shape: tuple[int, ...], strides: tuple[int, ...], dims: frozenset[int]) -> list[Dim]:
    """torch's TensorIterator dims for reducing ``dims`` of an array (``strides`` in elements): sorted as
    ``reorder_dimensions`` sorts (output first: reduced dims in front, kept dims by output stride; then by input
    stride, ties by size), then coalesced. Fastest dim first."""
    nd = len(shape)
    out = [0] * nd
    size = 1
    for d in reversed(range(nd)):
        if d not in dims:
            out[d] = size
            size *= shape[d]

    def after(d0: int, d1: int) -> int:   # 1: d0 goes after d1, -1: before, 0: undecided
        for st, is_out in ((out, True), (strides, False)):
            s0, s1 = st[d0], st[d1]
            if is_out and (s0 == 0) != (s1 == 0):
                return 1 if s1 == 0 else -1
            if s0 == 0 or s1 == 0:
                continue
            if s0 != s1:
                return 1 if s0 > s1 else -1
            if shape[d0] > shape[d1]:
                return 1
        return 0

    merged: list[Dim] = []
    for d in iterator_order(nd, after):
        cur = [shape[d], out[d], strides[d]]
        prev = merged[-1] if merged else None
        if prev is None:
            merged.append(cur)
        elif prev[0] == 1 or cur[0] == 1 or (prev[0] * prev[1] == cur[1] and prev[0] * prev[2] == cur[2]):
            if prev[0] == 1:
                prev[1], prev[2] = cur[1], cur[2]
            prev[0] *= cur[0]
        else:
            merged.append(cur)
    return merged or [[1, 0, 0]]


def _view(a: Any, offset: int, dims: list[Dim]) -> Any:
    """``a``'s elements from ``offset`` over ``dims``, slowest first."""
    base = a.reshape(-1)[offset:] if a.flags.c_contiguous else _shifted(a, offset)
    return as_strided(base, tuple(d[0] for d in reversed(dims)), tuple(d[2] * a.itemsize for d in reversed(dims)))


def _shifted(a: Any, offset: int) -> Any:
    """A 1-d view of ``a``'s memory starting ``offset`` elements in (``a`` non-contiguous: a strided view of
    its own base reaches the same bytes)."""
    if offset == 0:
        return as_strided(a, (1,), (a.itemsize,))
    return as_strided(a, (offset + 1,), (a.itemsize,))[offset:]


def _loop2d(x: Any, d0: Dim, d1: Dim, lanes: int) -> tuple[Any, Dim] | None:
    """torch's cascade loop over ``x`` (``(..., size1, size0)``): the values it adds into the output, one per
    index of the store dim (returned with them), or None when no dim is reduced (an elementwise add)."""
    if d0[1] != 0 and d1[1] == 0:   # the reduced dim goes first
        x, d0, d1 = x.swapaxes(-1, -2), d1, d0
    if d0[1] != 0:
        return None
    if d0[2] == 1 and d0[0] >= lanes:
        return _inner(x, lanes), d1
    if d1[2] == 1 and d1[0] >= lanes:
        return _outer(x.swapaxes(-1, -2), 4 * lanes), d1
    if d0[2] < d1[2]:
        return _row_sum(x[..., None])[..., 0], d1
    return _outer(x.swapaxes(-1, -2), 4), d1


def _serial(a: Any, dims: list[Dim], out: Any) -> None:
    """One serial pass over ``dims`` of ``a`` into the flat ``out``: each output is 0 + its contributions in
    iteration order (the loop's store dim fastest, then the outer dims)."""
    lanes = max(1, VECTOR_BYTES // a.itemsize)
    dims = dims if len(dims) > 1 else [*dims, [1, 0, 0]]
    x = _view(a, 0, dims)
    done = _loop2d(x, dims[0], dims[1], lanes)
    if done is None:
        values, axes = x, list(reversed(dims))
    else:
        values, axes = done[0], [*reversed(dims[2:]), done[1]]
    kept = [i for i, d in enumerate(axes) if d[1]]
    summed = [i for i, d in enumerate(axes) if not d[1]]
    values = values.transpose(kept + summed)
    lead = values.shape[: len(kept)]
    total = _run(values.reshape(lead + (-1, 1)))[..., 0] + out.dtype.type(0)   # (+0 as torch's 0 + ...)
    target = as_strided(out, lead, tuple(axes[i][1] * out.itemsize for i in kept))
    target[...] = total


def _full_run(a: Any, dims: list[Dim], lo: int, hi: int) -> Any:
    """The partial sum a thread of a two-pass sum to one value makes of the iteration's elements ``lo..hi``:
    torch's steps (rest of a row, whole rows of a slab, ...) each adding its values into it in order."""
    lanes = max(1, VECTOR_BYTES // a.itemsize)
    shape = [d[0] for d in dims]
    acc = np.zeros(1, a.dtype)
    pos = lo
    while pos < hi:
        index, r = [], pos
        for s in shape:
            index.append(r % s)
            r //= s
        step0 = min(shape[0] - index[0], hi - pos)
        step1 = min(shape[1] - index[1], (hi - pos) // shape[0]) if index[0] == 0 and len(shape) > 1 else 1
        d0 = [step0, 0, dims[0][2]]
        d1 = [step1, 0, dims[1][2] if len(dims) > 1 else 0]
        x = _view(a, sum(i * d[2] for i, d in zip(index, dims, strict=True)), [d0, d1])
        done = _loop2d(x, d0, d1, lanes)
        acc = _run(np.concatenate([acc, done[0]])[:, None])   # type: ignore[index]
        pos += step0 * step1
    return acc[0]


def cascade_sum(a: Any, dims: tuple[int, ...], threads: int) -> Any:
    """The sum of the NumPy float or complex array ``a`` over ``dims`` in torch's CPU order, shaped as the kept
    dims (in order), with ``threads`` torch threads (sums to several values get the one-thread order: see the
    module's note on threads)."""
    if len(dims) == a.ndim and a.flags.c_contiguous and (a.size < GRAIN or threads < 2) and a.size:
        return np.asarray(_flat(a.reshape(-1), max(1, VECTOR_BYTES // a.itemsize)) + a.dtype.type(0))
    reduced = frozenset(d % a.ndim for d in dims) if a.ndim else frozenset()
    kept = tuple(s for i, s in enumerate(a.shape) if i not in reduced)
    if a.flags.c_contiguous and a.size:
        quick = _contiguous(a, reduced, len(kept), threads)
        if quick is not None:
            return quick.reshape(kept)
    out = np.zeros(math.prod(kept), a.dtype)
    if a.size == 0 or not out.size:
        return out.reshape(kept)
    itemsize = a.itemsize
    if any(s % itemsize for s in a.strides) or any(s < 0 for s, n in zip(a.strides, a.shape, strict=True) if n > 1):
        a = np.ascontiguousarray(a)
    it = iteration(a.shape, tuple(s // itemsize for s in a.strides), reduced)
    if a.size < GRAIN or threads < 2 or out.size > 1:
        _serial(a, it, out)
    else:   # a sum to one value: two passes, a run per thread, then the runs' sums as one contiguous sum
        used = min(threads, -(-a.size // GRAIN))
        chunk = -(-a.size // used)
        partials = np.zeros(threads, a.dtype)

        def runs(lo: int, hi: int) -> None:
            for t in range(lo, hi):
                partials[t] = _full_run(a, it, t * chunk, min(a.size, (t + 1) * chunk))

        split_rows(np, used, chunk, runs)
        _serial(partials, [[threads, 0, 1]], out)
    return out.reshape(kept)


def _contiguous(a: Any, reduced: frozenset[int], nkept: int, threads: int) -> Any | None:
    """The common layouts of a C-contiguous ``a`` without building the iteration: a sum to one value (one
    thread's), over trailing dims (a row per output) or over leading dims (a column per output); None for the
    others."""
    lanes = max(1, VECTOR_BYTES // a.itemsize)
    nd, k = a.ndim, len(reduced)
    zero = a.dtype.type(0)
    shape = a.shape
    n = 1
    for d in reduced:
        n *= shape[d]
    if not nkept or a.size == n:   # one output
        if a.size >= GRAIN and threads > 1:
            return None
        return _flat(a.reshape(-1), lanes) + zero
    if min(reduced) == nd - k:   # trailing dims: one row per output
        rows = a.reshape(-1, n)
        return (_inner(rows, lanes) if n >= lanes else _row_sum(rows[..., None])[..., 0]) + zero
    if max(reduced) == k - 1:   # leading dims: one column per output
        cols = a.reshape(n, -1)
        return _outer(cols, 4 * lanes if cols.shape[1] >= lanes else 4) + zero
    return None


_ORDERS: dict[tuple[int, int], Any] = {}


def _order(n: int, lanes: int) -> Any:
    """The order in which torch's kernel adds the ``n`` elements of a short 1-d array in one chain (cached):
    under one vector, elements 0, 4, 5, 6, 1, 2, 3 (4 accumulators take 0-3, the rest go to the first); with
    one vector, the leftover scalars then the vector's lanes."""
    order = _ORDERS.get((n, lanes))
    if order is None:
        order = _ORDERS[(n, lanes)] = np.array([0, *range(4, n), 1, 2, 3] if n < lanes else
                                               [*range(lanes, n), *range(lanes)])
    return order


def _flat(flat: Any, lanes: int) -> Any:
    """The sum of a contiguous 1-d array as one thread of torch's kernel makes it, in few NumPy calls: up to 3
    elements in order, other arrays under 2 vectors as one chain (:func:`_order`); longer ones as
    :func:`_inner` with its steps fused: the groups' accumulators, then one sequential reduce over the vectors
    [acc0, leftover vectors, acc1, acc2, acc3], then one chain 0 + leftover scalars + lanes."""
    n = flat.size
    count = n // lanes
    if count < 2:
        return np.add.accumulate(flat if n < 4 else flat[_order(n, lanes)])[-1]
    groups = count // 4
    if groups:
        grouped = flat[: 4 * groups * lanes].reshape(groups, 4 * lanes)
        acc = grouped[0] if groups == 1 else np.add.reduce(grouped, axis=0) if groups < 16 else _multi_row(grouped)
        if count == 4 * groups:
            vec = np.add.reduce(acc.reshape(4, lanes), axis=0)
        else:
            rows = np.concatenate((acc, flat[4 * groups * lanes : count * lanes])).reshape(-1, lanes)
            vec = np.add.reduce(rows[_vector_order(count - 4 * groups)], axis=0)
    else:
        vec = np.add.reduce(flat[: count * lanes].reshape(count, lanes), axis=0)
    return np.add.accumulate(np.concatenate((flat[count * lanes :], vec)) if count * lanes < n else vec)[-1]


_VECTOR_ORDERS = [np.array([0, *range(4, 4 + r), 1, 2, 3]) for r in range(4)]


def _vector_order(left: int) -> Any:
    """The order of row_sum's last vector additions: accumulator 0, the ``left`` leftover vectors, then
    accumulators 1, 2, 3 (rows 0-3 are the accumulators, the leftovers follow)."""
    return _VECTOR_ORDERS[left]


def nll_sum(values: Any, positions: Any, count: int) -> Any:
    """The sum of ``values`` (one per kept sample, at ``positions`` among ``count`` samples) in the order of
    torch's nll_loss kernel: accumulator 0 takes each value; after the sample at position ``p``, accumulator
    ``j`` is added into ``j + 1`` for each of the low base-``2**power`` digits of ``p`` that is zero (8
    accumulators; position 0 flushes them all); the total is ``0 + acc0 + ... + acc7``."""
    power = max(4, (1 if count <= 2 else (count - 1).bit_length()) // 8)
    vals = np.asarray(values)
    if len(positions) == count:   # no sample ignored: the same runs at every level (:func:`_nll_levels`)
        return _nll_levels(vals, 1 << power)
    digit = (1 << power) - 1
    levels = np.zeros(len(positions), np.int64)
    p = np.asarray(positions, np.int64)
    for j in range(7):   # how many accumulators each sample flushes
        zero = (p >> (j * power)) & digit == 0
        levels += zero & (levels == j)
    total = vals.dtype.type(0)
    for _ in range(7):
        closes = np.flatnonzero(levels >= 1)
        starts = np.concatenate(([0], closes[:-1] + 1))
        runs = _segment_runs(vals, starts, closes)
        open_from = closes[-1] + 1 if closes.size else 0
        tail = vals[open_from:]
        if tail.size:
            total = total + np.add.accumulate(tail)[-1]
        vals, levels = runs, levels[closes] - 1
    if vals.size:
        total = total + np.add.accumulate(vals)[-1]
    return total + vals.dtype.type(0)


def _nll_levels(vals: Any, step: int) -> Any:
    """:func:`nll_sum` with every sample kept: at each level the first value is a run of its own (position 0
    flushes everything), then runs of ``step`` values, then an open run that stays in that level's accumulator;
    the closed runs' totals are the next level's values, the same way. Once one value is left it is the last
    accumulator's."""
    total = vals.dtype.type(0)
    for _ in range(7):
        if vals.size < 2:
            break
        whole = (vals.size - 1) // step
        tail = vals[1 + whole * step :]
        if tail.size:
            total = total + np.add.accumulate(tail)[-1]
        if whole:
            runs = _run(np.ascontiguousarray(vals[1 : 1 + whole * step].reshape(whole, step).T))
            vals = np.concatenate((vals[:1], runs))
        else:
            vals = vals[:1]
    if vals.size:
        total = total + np.add.accumulate(vals)[-1]
    return total + vals.dtype.type(0)


def _segment_runs(vals: Any, starts: Any, ends: Any) -> Any:
    """The sequential sums of ``vals[starts[i]:ends[i] + 1]`` (the runs padded with zeros to one length)."""
    if not ends.size:
        return vals[:0]
    lengths = ends - starts + 1
    rows = np.repeat(np.arange(ends.size), lengths)
    cols = np.arange(rows.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    pad = np.zeros((int(lengths.max()), ends.size), vals.dtype)
    pad[cols, rows] = vals[starts[rows] + cols]
    return _run(pad)


def _fused_square_add(acc: Any, v: Any) -> Any:
    """``fma(v, v, acc)`` rounded once to the arrays' type (a float32 square is exact in float64; float64 goes
    through the platform's long double, which rounds twice only in rare ties)."""
    wide = np.float64 if acc.dtype == np.float32 else np.longdouble
    w = v.astype(wide)
    return (acc.astype(wide) + w * w).astype(acc.dtype)


def norm2_squares(a: Any, dims: tuple[int, ...], threads: int) -> Any:
    """The sum of squares under torch's 2-norm of the float32/float64 array ``a`` over ``dims`` (shaped as the
    kept dims), in the order of torch's CPU norm kernel, so that ``sqrt`` of it is torch's norm bit for bit:

    - one reduced dim, contiguous (after the iteration's coalescing; a whole contiguous tensor is one): each row
      squares into one 32-byte vector accumulator (8 float or 4 double lanes, multiply then add), the lanes are
      added in order, then the leftover scalars, whose loop the compiler unrolled by 4 (those add plain
      squares; the last ``len % 4`` are fused multiply-adds);
    - other layouts: each output adds its plain squares one after another in iteration order; a reduction to
      one value of 32768 elements or more is cut into one run per thread whose sums are then added in order.
    """
    reduced = frozenset(d % a.ndim for d in dims) if a.ndim else frozenset()
    kept = tuple(s for i, s in enumerate(a.shape) if i not in reduced)
    if a.size == 0:
        return np.zeros(kept, a.dtype)
    itemsize = a.itemsize
    if any(s % itemsize for s in a.strides) or any(s < 0 for s, n in zip(a.strides, a.shape, strict=True) if n > 1):
        a = np.ascontiguousarray(a)
    it = iteration(a.shape, tuple(s // itemsize for s in a.strides), reduced)
    x = _view(a, 0, it)   # (slowest ... fastest)
    axes = list(reversed(it))
    keep = [i for i, d in enumerate(axes) if d[1]]
    out = np.empty(math.prod(kept), a.dtype)
    target = as_strided(out, tuple(axes[i][0] for i in keep), tuple(axes[i][1] * itemsize for i in keep))
    if sum(1 for d in it if not d[1]) == 1 and not it[0][1] and it[0][2] == 1:
        target[...] = _lastdim_squares(x.transpose(keep + [len(axes) - 1]))
        return out.reshape(kept)
    rows = x.transpose(keep + [i for i, d in enumerate(axes) if not d[1]])
    rows = rows.reshape(rows.shape[: len(keep)] + (-1,))
    squares = rows * rows
    n = squares.shape[-1]
    if out.size == 1 and n >= GRAIN and threads > 1:
        used = min(threads, -(-n // GRAIN))
        chunk = -(-n // used)
        flat = squares.reshape(-1)
        partials = [np.add.accumulate(flat[t * chunk: (t + 1) * chunk])[-1] for t in range(used)]
        target[...] = np.add.accumulate(np.array([a.dtype.type(0), *partials], a.dtype))[-1]
    else:
        target[...] = _run(squares[..., None])[..., 0]
    return out.reshape(kept)


def _lastdim_squares(x: Any) -> Any:
    """torch's vectorised last-dim 2-norm kernel's sum of squares of each row of ``x`` (``(..., n)``, unit
    stride): see :func:`norm2_squares`."""
    n = x.shape[-1]
    lanes = VECTOR_BYTES // x.itemsize
    count = n // lanes
    lead = x.shape[:-1]
    if count:
        body = x[..., : count * lanes]
        acc = _run((body * body).reshape(lead + (count, lanes)))
    else:
        acc = np.zeros(lead + (lanes,), x.dtype)
    total = acc[..., 0]
    for j in range(1, lanes):
        total = total + acc[..., j]
    tail = n - count * lanes
    plain = 4 * (tail // 4)
    for i in range(count * lanes, n):
        v = x[..., i]
        total = total + v * v if i - count * lanes < plain else _fused_square_add(total, v)
    return total
