"""Recurrent layers — ``RNN``, ``LSTM``, ``GRU`` and their cells — built as torch's CPU backend builds them.

Two implementations, chosen as torch chooses:

- the composite one: each time step is a few ember ops (one GEMM for the hidden projection; the input
  projections of all steps are one GEMM per layer and direction, made before the loop), so the graph has
  torch's grad_fns and higher-order gradients come for free. It serves RNN, GRU, the cells, LSTM with
  ``proj_size`` or a dtype other than float32, and packed sequences;
- a fused LSTM layer for float32 padded input (torch's oneDNN path, grad_fn ``MkldnnRnnLayerBackward0``):
  the forward loop runs on arrays, with the gate activations of all steps kept for a backward that is a
  hand-written loop of ember ops (under ``create_graph`` it recomputes the activations with the composite
  step, so gradients of gradients are exact).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from ..._core import dtype as D
from ..._core import gemm
from ..._core.warn import warn
from ..._tensor import Tensor
from ...autograd.graph import SavedOutput
from ...ops._dispatch import record
from ...ops.creation import empty, zeros
from ...ops.shape import cat, stack
from .. import functional as F
from .. import init
from ..functional._common import STATE, Node, fused, needs_grad, result, xp
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}

# Weights of one layer and direction: (w_ih, w_hh, b_ih, b_hh, w_hr), None where absent.
Weights = tuple[Any, ...]


# ---- composite cells: one step, given the precomputed input projection ``xw`` ----------------------------
def _hidden_proj(h: Tensor, w: Weights) -> Tensor:
    return F.linear(h, w[1], w[3])


def _tanh_step(xw: Tensor, h: Tensor, w: Weights, trace: list | None = None) -> tuple[Tensor, Tensor]:
    h = (_hidden_proj(h, w) + xw).tanh()
    return h, h


def _relu_step(xw: Tensor, h: Tensor, w: Weights, trace: list | None = None) -> tuple[Tensor, Tensor]:
    h = (_hidden_proj(h, w) + xw).relu()
    return h, h


def _gru_step(xw: Tensor, h: Tensor, w: Weights, trace: list | None = None) -> tuple[Tensor, Tensor]:
    xr, xz, xn = xw.unsafe_chunk(3, 1)
    hr, hz, hn = _hidden_proj(h, w).unsafe_chunk(3, 1)
    r = (hr + xr).sigmoid()
    z = (hz + xz).sigmoid()
    n = (xn + hn * r).tanh()
    h = (h - n) * z + n
    return h, h


def _lstm_step(xw: Tensor, state: tuple, w: Weights, trace: list | None = None) -> tuple[tuple, Tensor]:
    """One LSTM step (gate order i, f, g, o); ``trace`` collects the activations for the fused backward."""
    h, c = state
    i, f, g, o = (_hidden_proj(h, w) + xw).unsafe_chunk(4, 1)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    c = f * c + i * g
    tc = c.tanh()
    h = o * tc
    if trace is not None:
        trace.append((cat([i, f, g, o], 1), c, tc, h))
    if w[4] is not None:
        h = h.matmul(w[4].t())
    return (h, c), h


_STEPS: dict[str, Callable] = {"RNN_TANH": _tanh_step, "RNN_RELU": _relu_step, "GRU": _gru_step,
                               "LSTM": _lstm_step}


def _rows(state: Any, start: int, stop: int) -> Any:
    """Rows ``start:stop`` of a hidden state (a tensor or an LSTM's (h, c))."""
    if isinstance(state, tuple):
        return tuple(s[start:stop] for s in state)
    return state[start:stop]


def _cat_rows(states: list) -> Any:
    if isinstance(states[0], tuple):
        return tuple(cat(list(parts), 0) for parts in zip(*states, strict=True))
    return cat(states, 0)


def _full_layer(step: Callable, x: Tensor, state: Any, w: Weights, reverse: bool,
                trace: list | None = None) -> tuple[Tensor, Any]:
    """One layer and direction over a padded ``(T, B, *)`` input: (outputs ``(T, B, H)``, final state)."""
    xw = F.linear(x, w[0], w[2]).unbind(0)
    steps = len(xw)
    outs: list[Any] = [None] * steps
    for t in range(steps - 1, -1, -1) if reverse else range(steps):
        state, outs[t] = step(xw[t], state, w, trace)
    return stack(outs), state


def _packed_layer(step: Callable, data: Tensor, sizes: list[int], state: Any, w: Weights,
                  reverse: bool) -> tuple[Tensor, Any]:
    """One layer and direction over packed data: a sequence leaves the batch (forward) or joins it
    (reverse) at its own length, so each final state is the one after that sequence's last step."""
    xw = F.linear(data, w[0], w[2])
    starts = np.cumsum([0, *sizes]).tolist()
    outs: list[Any] = [None] * len(sizes)
    if not reverse:
        finished = []
        running = sizes[0]
        for t, n in enumerate(sizes):
            if n < running:
                finished.append(_rows(state, n, running))
                state = _rows(state, 0, n)
                running = n
            state, outs[t] = step(xw[starts[t]:starts[t] + n], state, w)
        finished.append(state)
        return cat(outs, 0), _cat_rows(finished[::-1])
    initial = state
    running = sizes[-1]
    state = _rows(initial, 0, running)
    for t in range(len(sizes) - 1, -1, -1):
        n = sizes[t]
        if n > running:
            state = _cat_rows([state, _rows(initial, running, n)])
            running = n
        state, outs[t] = step(xw[starts[t]:starts[t] + n], state, w)
    return cat(outs, 0), state


# ---- the fused LSTM layer -------------------------------------------------------------------------------
class MkldnnRnnLayerBackward0(Node):
    """Backward of :func:`_lstm_layer` (inputs x, w_ih, w_hh, b_ih, b_hh, h0, c0; outputs out, hy, cy)."""

    __slots__ = ()

    def backward(self, g_out: Tensor, g_hy: Tensor, g_cy: Tensor) -> tuple:
        x, w_ih, w_hh, b_ih, b_hh, h0, c0, out = self.saved
        if STATE.enabled:   # create_graph: the activations as differentiable functions of the inputs
            trace: list = []
            _full_layer(_lstm_step, x, (h0, c0), (w_ih, w_hh, b_ih, b_hh, None), self.reverse, trace)
            fields = zip(*trace[::-1] if self.reverse else trace, strict=True)
            acts, cs, tcs, out = (stack(list(f)) for f in fields)
            acts, cs, tcs = acts.transpose(1, 2), cs.transpose(1, 2), tcs.transpose(1, 2)
            return _lstm_layer_backward(self, x, w_ih, w_hh, h0, c0, acts, cs, tcs, out, g_out, g_hy, g_cy)
        dg_all, dh, dc = (result(a, x) for a in _lstm_bptt_arrays(
            xp(x), *self.arrays, g_out._data, g_hy._data, g_cy._data, c0._data, w_hh._data, self.reverse))
        return _weight_grads(self, x, w_ih, h0, out, dg_all, dh, dc)


def _lstm_layer_backward(node: Node, x: Tensor, w_ih: Tensor, w_hh: Tensor, h0: Tensor, c0: Tensor,
                         acts: Tensor, cs: Tensor, tcs: Tensor, out: Tensor, g_out: Tensor, g_hy: Tensor,
                         g_cy: Tensor) -> tuple:
    """Backpropagation through time with ember ops (differentiable: ``create_graph``), feature-major like the
    forward (``acts`` is ``(T, 4H, B)``, ``cs``/``tcs`` ``(T, H, B)``): the local derivatives of all steps are
    a few big elementwise ops; the loop carries (dh, dc) with one GEMM per step."""
    steps, hidden, batch = cs.shape
    reverse = node.reverse
    i, f, g, o = acts.chunk(4, 1)
    c0t = c0.t().unsqueeze(0)
    c_prev = cat([cs[1:], c0t]) if reverse else cat([c0t, cs[:-1]])   # the state each step started from
    dc_dh = o - o * tcs * tcs          # o·tanh'(c); x - x·y rather than x·(1 - y): no scalar pass
    local = cat([g * (i - i * i), c_prev * (f - f * f), i - i * g * g, tcs * (o - o * o)], 1)
    g_out = g_out.transpose(1, 2)
    w_hh_t = w_hh.t()
    dh, dc = g_hy.t(), g_cy.t()
    d_gates: list[Any] = [None] * steps
    for t in range(steps) if reverse else range(steps - 1, -1, -1):
        dh = g_out[t] + dh
        dc = dh * dc_dh[t] + dc
        dg = cat([dc, dc, dc, dh]) * local[t]
        dc = dc * f[t]
        dh = w_hh_t.mm(dg)
        d_gates[t] = dg
    dg_all = stack(d_gates, 1).view(4 * hidden, steps * batch)   # columns in (t, b) order
    return _weight_grads(node, x, w_ih, h0, out, dg_all, dh, dc)


def _lstm_bptt_arrays(ns: Any, acts: Any, cs: Any, tcs: Any, g_out: Any, g_hy: Any, g_cy: Any, c0: Any,
                      w_hh: Any, reverse: bool) -> tuple[Any, Any, Any]:
    """:func:`_lstm_layer_backward`'s recurrence on the backend's arrays (no graph to record), every value
    computed by the same operations in the same order, written into preallocated buffers: the local
    derivatives ``(T, 4H, B)``, and the gate gradients straight into their ``(4H, T, B)`` matrix (each step's
    block is the strided operand of that step's GEMM). Returns (gate gradients ``(4H, T*B)``, dh, dc
    ``(H, B)``)."""
    steps, hidden, batch = cs.shape
    i, f, g, o = (acts[:, k * hidden:(k + 1) * hidden] for k in range(4))
    local = ns.empty_like(acts)
    li, lf, lg, lo = (local[:, k * hidden:(k + 1) * hidden] for k in range(4))
    ns.multiply(i, i, out=li)           # g·(i - i·i)
    ns.subtract(i, li, out=li)
    li *= g
    ns.multiply(f, f, out=lf)           # c_prev·(f - f·f)
    ns.subtract(f, lf, out=lf)
    first, rest = (-1, slice(0, -1)) if reverse else (0, slice(1, None))
    lf[first] *= c0.T
    lf[rest] *= cs[1:] if reverse else cs[:-1]
    ns.multiply(i, g, out=lg)           # i - i·g·g
    lg *= g
    ns.subtract(i, lg, out=lg)
    ns.multiply(o, o, out=lo)           # tcs·(o - o·o)
    ns.subtract(o, lo, out=lo)
    lo *= tcs
    dc_dh = o * tcs                     # o - o·tcs·tcs
    dc_dh *= tcs
    ns.subtract(o, dc_dh, out=dc_dh)
    gates = ns.empty((4, hidden, steps, batch), dtype=acts.dtype)
    local = local.reshape(steps, 4, hidden, batch)
    g_out = g_out.transpose(0, 2, 1)
    w_hh_t = w_hh.T
    dh, dc = g_hy.T, g_cy.T
    for t in range(steps) if reverse else range(steps - 1, -1, -1):
        dh = g_out[t] + dh
        dc = dh * dc_dh[t] + dc
        ns.multiply(dc, local[t, :3], out=gates[:3, :, t])
        ns.multiply(dh, local[t, 3], out=gates[3, :, t])
        dc *= f[t]
        dh = gemm.matmul(ns, w_hh_t, gates[:, :, t].reshape(4 * hidden, batch))
    return gates.reshape(4 * hidden, steps * batch), dh, dc


def _weight_grads(node: Node, x: Tensor, w_ih: Tensor, h0: Tensor, out: Tensor, dg_all: Tensor, dh: Tensor,
                  dc: Tensor) -> tuple:
    """The layer's input gradients from the gate gradients ``dg_all`` ``(4H, T*B)`` (columns in (t, b) order)
    and the (dh, dc) reaching the initial state: one GEMM each over all steps for x, w_ih and w_hh."""
    steps, batch, size = x.shape
    wanted = [e is not None for e in node._next]
    h_prev = cat([out[1:], h0.unsqueeze(0)] if node.reverse else [h0.unsqueeze(0), out[:-1]])
    gx = dg_all.t().mm(w_ih).view(x.shape) if wanted[0] else None
    gw_ih = dg_all.mm(x.reshape(steps * batch, size)) if wanted[1] else None
    gw_hh = dg_all.mm(h_prev.reshape(steps * batch, h_prev.shape[2])) if wanted[2] else None
    gb = dg_all.sum(1) if wanted[3] or wanted[4] else None
    return gx, gw_ih, gw_hh, gb, gb, dh.t(), dc.t()


def _lstm_layer(x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
                b_hh: Tensor | None, reverse: bool) -> tuple[Tensor, Tensor, Tensor]:
    """One LSTM layer and direction over ``(T, B, I)``: (outputs, h_T, c_T), computed on arrays.

    Feature-major (gates ``(4H, B)``, states ``(H, B)``): the per-step GEMM is ``W_hh @ h`` and every gate
    is a contiguous block of rows. The sign and scale of each gate are folded into the weights so that
    one ``exp`` and one reciprocal give every gate: sigmoid(z) = 1 / (1 + exp(-z)) for i, f, o and
    tanh(z) = 2 sigmoid(2z) - 1 for g. The input projections of all steps are one GEMM ``(4H, T*B)``, read
    by each step in place (no transposed copy): step t's gates are its GEMM plus that column block."""
    ns = xp(x)
    steps, batch, _ = x.shape
    hidden = w_hh.shape[1]
    a = x._data
    scale = ns.full((4 * hidden, 1), -1.0, dtype=a.dtype)
    scale[2 * hidden:3 * hidden] = -2.0
    pre = gemm.matmul(ns, w_ih._data * scale, a.reshape(steps * batch, a.shape[2]).T)   # input projections (4H, T*B)
    if b_ih is not None:
        pre += (b_ih._data + b_hh._data)[:, None] * scale
    pre = pre.reshape(4 * hidden, steps, batch)
    w_rec = w_hh._data * scale
    acts = ns.empty((steps, 4 * hidden, batch), dtype=a.dtype)
    cs = ns.empty((steps, hidden, batch), dtype=a.dtype)
    tcs = ns.empty_like(cs)
    hs = ns.empty_like(cs)
    h, c = h0._data.T, c0._data.T
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    with np.errstate(over="ignore"):
        for t in order:
            z = gemm.matmul(ns, w_rec, h, out=acts[t])
            z += pre[:, t]
            ns.exp(z, out=z)
            z += 1
            ns.reciprocal(z, out=z)
            gate = z[2 * hidden:3 * hidden]
            gate *= 2
            gate -= 1
            c = ns.multiply(z[hidden:2 * hidden], c, out=cs[t])
            c += z[:hidden] * gate
            ns.tanh(c, out=tcs[t])
            h = ns.multiply(z[3 * hidden:], tcs[t], out=hs[t])
    outputs = (result(ns.ascontiguousarray(hs.transpose(0, 2, 1)), x), result(h.T.copy(), x), result(c.T.copy(), x))
    inputs = (x, w_ih, w_hh, b_ih, b_hh, h0, c0)
    if needs_grad(*inputs):
        node = record(outputs, MkldnnRnnLayerBackward0(), inputs)
        node.save(*inputs, SavedOutput(outputs[0]))
        node.arrays = (acts, cs, tcs)
        node.reverse = reverse
    return outputs


class TransposeBackward1(Node):
    """torch's in-place ``transpose_(0, 1)`` that makes the composite RNN/GRU output batch-first."""

    __slots__ = ()

    def backward(self, g: Tensor) -> tuple:
        return (g.transpose(0, 1),)


def _batch_first(out: Tensor, mode: str) -> Tensor:
    """``(T, B, *)`` → ``(B, T, *)`` as torch does it per path: a transposed view for LSTM, otherwise a
    tensor that is no view (torch transposes its result in place)."""
    if mode == "LSTM":
        return out.transpose(0, 1)
    return fused(result(out._data.swapaxes(0, 1), out), TransposeBackward1, (out,))


def _rnn(mode: str, x: Tensor, hx: Any, params: Any, has_biases: bool, num_layers: int, dropout: float,
         train: bool, bidirectional: bool, batch_first: bool, sizes: list[int] | None = None) -> tuple[Tensor, Any]:
    """All layers and directions (torch's ``_VF.lstm``/``gru``/``rnn_*``): ``x`` is ``(T, B, I)`` (``(B, T, I)``
    with ``batch_first``) or packed data with per-step batch ``sizes``; ``params`` the flat weights per
    layer and direction, in torch's order. Returns (output, h_n) — h_n is (h, c) for LSTM."""
    lstm = mode == "LSTM"
    proj = lstm and hx[0].shape[-1] != hx[1].shape[-1]
    per = (4 if has_biases else 2) + proj
    groups = [list(params[k:k + per]) for k in range(0, len(params), per)]
    weights = [(g[0], g[1], *(g[2:4] if has_biases else (None, None)), g[-1] if proj else None) for g in groups]
    if sizes is None:
        if batch_first:
            x = x.transpose(0, 1)
        if x.shape[0] == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
    step = _STEPS[mode]
    fused = lstm and sizes is None and not proj and x.dtype is D.float32
    directions = 2 if bidirectional else 1
    finals: list[Any] = []
    for layer in range(num_layers):
        outs = []
        for d in range(directions):
            k = layer * directions + d
            w = weights[k]
            state = (hx[0][k], hx[1][k]) if lstm else hx[k]
            if fused:
                out, h, c = _lstm_layer(x, state[0], state[1], w[0], w[1], w[2], w[3], d == 1)
                state = (h, c)
            elif sizes is None:
                out, state = _full_layer(step, x, state, w, d == 1)
            else:
                out, state = _packed_layer(step, x, sizes, state, w, d == 1)
            outs.append(out)
            finals.append(state)
        x = outs[0] if directions == 1 else cat(outs, x.dim() - 1)
        if dropout and train and layer < num_layers - 1:
            x = F.dropout(x, dropout, True)
    if sizes is None and batch_first:
        x = _batch_first(x, mode)
    if lstm:
        return x, (stack([s[0] for s in finals]), stack([s[1] for s in finals]))
    return x, stack(finals)


def _functional(mode: str) -> Callable:
    """torch's ``lstm``/``gru``/``rnn_tanh``/``rnn_relu`` over padded input ``(input, hx, params, has_biases,
    num_layers, dropout, train, bidirectional, batch_first)`` or packed data ``(data, batch_sizes, hx,
    params, has_biases, num_layers, dropout, train, bidirectional)``."""
    def fn(input: Tensor, *args: Any) -> tuple:
        if isinstance(args[2], (list, tuple)):   # packed: params third after data
            batch_sizes, hx, params, has_biases, num_layers, dropout, train, bidirectional = args
            sizes, batch_first = batch_sizes.tolist(), False
        else:
            hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first = args
            sizes = None
        out, hidden = _rnn(mode, input, tuple(hx) if mode == "LSTM" else hx, params, has_biases, num_layers,
                           dropout, train, bidirectional, batch_first, sizes)
        return (out, *hidden) if mode == "LSTM" else (out, hidden)

    fn.__name__ = fn.__qualname__ = {"RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu"}.get(mode, mode.lower())
    fn.__doc__ = _functional.__doc__
    return fn


lstm, gru, rnn_tanh, rnn_relu = (_functional(m) for m in ("LSTM", "GRU", "RNN_TANH", "RNN_RELU"))


def _cell(step: Callable, input: Tensor, states: list[Tensor], w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
          b_hh: Tensor | None) -> Any:
    """One step of a cell, after torch's size checks of the input and of each hidden state."""
    if input.size(1) != w_ih.size(1):
        raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)} expected {w_ih.size(1)}")
    for idx, s in enumerate(states):
        if input.size(0) != s.size(0):
            raise RuntimeError(f"Input batch size {input.size(0)} doesn't match hidden{idx} batch size "
                               f"{s.size(0)}")
        if s.size(1) != w_hh.size(1):
            raise RuntimeError(f"hidden{idx} has inconsistent hidden_size: got {s.size(1)}, expected "
                               f"{w_hh.size(1)}")
    w = (w_ih, w_hh, b_ih, b_hh, None)
    return step(F.linear(input, w_ih, b_ih), states[0] if len(states) == 1 else tuple(states), w)[0]


def lstm_cell(input: Tensor, hx: Any, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
              b_hh: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """torch.lstm_cell: ``(h', c')`` from ``(B, I)`` input and ``hx = (h, c)``."""
    return _cell(_lstm_step, input, list(hx), w_ih, w_hh, b_ih, b_hh)


def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
             b_hh: Tensor | None = None) -> Tensor:
    """torch.gru_cell: one GRU step."""
    return _cell(_gru_step, input, [hx], w_ih, w_hh, b_ih, b_hh)


def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
                  b_hh: Tensor | None = None) -> Tensor:
    """torch.rnn_tanh_cell: ``tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)``."""
    return _cell(_tanh_step, input, [hx], w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
                  b_hh: Tensor | None = None) -> Tensor:
    """torch.rnn_relu_cell: ``relu(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)``."""
    return _cell(_relu_step, input, [hx], w_ih, w_hh, b_ih, b_hh)


# ---- modules ------------------------------------------------------------------------------------------
class RNNBase(Module):
    """What RNN, LSTM and GRU share: parameters ``weight_ih_l{k}[_reverse]``, ``weight_hh_l{k}``,
    ``bias_ih_l{k}``, ``bias_hh_l{k}`` (and ``weight_hr_l{k}`` with ``proj_size``), registered and
    initialised (U(±1/√hidden_size)) in torch's order; input checks; the multi-layer driver."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if dropout > 0 and num_layers == 1:
            warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                 f"expects num_layers greater than 1, but got dropout={dropout} and "
                 f"num_layers={num_layers}", stacklevel=2)
        for name, value, kind in (("bias", bias, bool), ("batch_first", batch_first, bool),
                                  ("input_size", input_size, int)):
            if not isinstance(value, kind):
                raise TypeError(f"{name} should be of type {kind.__name__}, got: {type(value).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = _GATES[mode] * hidden_size
        out_size = proj_size or hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else out_size * directions
            for direction in range(directions):
                shapes = [("weight_ih", (gate_size, layer_in)), ("weight_hh", (gate_size, out_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                suffix = "_reverse" if direction == 1 else ""
                names = [f"{kind}_l{layer}{suffix}" for kind, _ in shapes]
                for name, (_, shape) in zip(names, shapes, strict=True):
                    setattr(self, name, Parameter(empty(shape, device=device, dtype=dtype)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self) -> list[Parameter | None]:
        return [getattr(self, name, None) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op, as in torch off cuDNN (the weights are used where they are)."""

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ---- checks --------------------------------------------------------------------------------------
    def check_input(self, input: Tensor, batch_sizes: Tensor | None) -> None:
        weight_dtype = self.weight_ih_l0.dtype
        if input.dtype != weight_dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight_dtype}). "
                             f"Convert input: input.to({weight_dtype}), or convert model: "
                             f"model.to({input.dtype})")
        expected = 2 if batch_sizes is not None else 3
        if input.dim() != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.size(-1)}")

    def get_expected_hidden_size(self, input: Tensor, batch_sizes: Tensor | None) -> tuple[int, int, int]:
        return (self.num_layers * (2 if self.bidirectional else 1), self._batch_size(input, batch_sizes),
                self.proj_size or self.hidden_size)

    def _batch_size(self, input: Tensor, batch_sizes: Tensor | None) -> int:
        if batch_sizes is not None:
            return int(batch_sizes[0])
        return input.size(0) if self.batch_first else input.size(1)

    def check_hidden_size(self, hx: Tensor, expected_hidden_size: tuple[int, int, int],
                          msg: str = "Expected hidden size {}, got {}") -> None:
        if hx.size() != expected_hidden_size:
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))

    def check_forward_args(self, input: Tensor, hidden: Any, batch_sizes: Tensor | None) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx: Any, permutation: Tensor | None) -> Any:
        if permutation is None:
            return hx
        if isinstance(hx, tuple):
            return tuple(h.index_select(1, permutation) for h in hx)
        return hx.index_select(1, permutation)

    # ---- forward -------------------------------------------------------------------------------------
    def _zero_state(self, input: Tensor, batch: int) -> Any:
        layers = self.num_layers * (2 if self.bidirectional else 1)
        h = zeros(layers, batch, self.proj_size or self.hidden_size, dtype=input.dtype, device=input.device)
        if self.mode != "LSTM":
            return h
        return h, zeros(layers, batch, self.hidden_size, dtype=input.dtype, device=input.device)

    def _check_hx_dims(self, hx: Any, batched: bool) -> Any:
        """torch's checks of hx's rank against the input's; unbatched hx gets its batch dim."""
        dims = 3 if batched else 2
        kind = "batched 3-D" if batched else "unbatched 2-D"
        if self.mode == "LSTM":
            if hx[0].dim() != dims or hx[1].dim() != dims:
                raise RuntimeError(f"For {kind} input, hx and cx should also be {dims}-D but got "
                                   f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
            return hx if batched else (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        if hx.dim() != dims:
            raise RuntimeError(f"For {kind} input, hx should also be {dims}-D but got {hx.dim()}-D tensor")
        return hx if batched else hx.unsqueeze(1)

    def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:
        packed = isinstance(input, PackedSequence)
        sorted_indices = unsorted_indices = batch_sizes = None
        batched = True
        if packed:
            input, batch_sizes, sorted_indices, unsorted_indices = input
            if hx is not None:
                hx = self.permute_hidden(hx, sorted_indices)
        else:
            if input.dim() not in (2, 3):
                name = type(self).__name__ if self.mode in ("LSTM", "GRU") else "RNN"
                extra = " tensor" if name == "RNN" else ""
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D{extra} instead")
            batched = input.dim() == 3
            if not batched:
                input = input.unsqueeze(0 if self.batch_first else 1)
            if hx is not None:
                hx = self._check_hx_dims(hx, batched)
        if hx is None:
            hx = self._zero_state(input, self._batch_size(input, batch_sizes))
        self.check_forward_args(input, hx, batch_sizes)
        sizes = None if batch_sizes is None else batch_sizes.tolist()
        output, hidden = _rnn(self.mode, input, hx, self._flat_weights, self.bias, self.num_layers, self.dropout,
                              self.training, self.bidirectional, self.batch_first and not packed, sizes)
        if packed:
            return (PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices),
                    self.permute_hidden(hidden, unsorted_indices))
        if not batched:
            output = output.squeeze(0 if self.batch_first else 1)
            hidden = tuple(h.squeeze(1) for h in hidden) if isinstance(hidden, tuple) else hidden.squeeze(1)
        return output, hidden


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)`` (or ReLU), stacked and optionally
    bidirectional. Arguments as torch's, ``nonlinearity`` fourth positionally."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__("RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU", *args, **kwargs)


class LSTM(RNNBase):
    """Long short-term memory (gates i, f, g, o stacked in the weight rows), optionally with a projection
    of the hidden state to ``proj_size``. Takes and returns ``(h, c)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input: Tensor, batch_sizes: Tensor | None) -> tuple[int, int, int]:
        return (self.num_layers * (2 if self.bidirectional else 1), self._batch_size(input, batch_sizes),
                self.hidden_size)

    def check_forward_args(self, input: Tensor, hidden: Any, batch_sizes: Tensor | None) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")


class GRU(RNNBase):
    """Gated recurrent unit (gates r, z, n stacked in the weight rows)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# ---- cells ----------------------------------------------------------------------------------------------
class RNNCellBase(Module):
    """One step of a recurrent layer: ``weight_ih`` (chunks × hidden, input), ``weight_hh``, biases."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(empty(num_chunks * hidden_size, input_size, device=device, dtype=dtype))
        self.weight_hh = Parameter(empty(num_chunks * hidden_size, hidden_size, device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _prepare(self, input: Tensor, hx: Any, n_states: int) -> tuple[Tensor, list[Tensor], bool]:
        """torch's rank checks, the batch dim for unbatched input, and zero states when none are given."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        states = None if hx is None else [hx] if n_states == 1 else list(hx)
        if states is not None:
            for idx, s in enumerate(states):
                if s.dim() not in (1, 2):
                    what = "hidden" if n_states == 1 else f"hx[{idx}]"
                    raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {s.dim()}D instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        if states is None:
            states = [zeros(input.size(0), self.hidden_size, dtype=input.dtype, device=input.device)] * n_states
        elif not batched:
            states = [s.unsqueeze(0) for s in states]
        return input, states, batched

    @property
    def _weights(self) -> tuple:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh


class RNNCell(RNNCellBase):
    """``h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)`` (or ReLU)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, (h,), batched = self._prepare(input, hx, 1)
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        h = (rnn_tanh_cell if self.nonlinearity == "tanh" else rnn_relu_cell)(input, h, *self._weights)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: ``(h', c')`` from ``input`` and ``(h, c)``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        input, (h, c), batched = self._prepare(input, hx, 2)
        h, c = lstm_cell(input, (h, c), *self._weights)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, (h,), batched = self._prepare(input, hx, 1)
        h = gru_cell(input, h, *self._weights)
        return h if batched else h.squeeze(0)
