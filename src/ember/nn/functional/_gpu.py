"""Fused CuPy kernels behind nn operations on cuda tensors: where the NumPy path chains several array
operations (each a separate kernel launch on a GPU), these do the same arithmetic in one launch. Each is
compiled through NVRTC on first use and cached by CuPy."""

from __future__ import annotations

from typing import Any

__all__ = ["lstm_cell", "lstm_cell_backward"]

_kernels: dict[str, Any] = {}

# One LSTM step, feature-major: z holds the 4 gate pre-activations (4H, B) with each gate's sign and scale
# folded in (so sigmoid = 1/(1+exp(z)) and tanh = 2/(1+exp(z)) - 1), r the recurrent product W_hh·h to add.
# The activations are written back into z (the backward needs them); c, tanh(c) and h are the outputs.
_LSTM_CELL = """
    const ptrdiff_t hb = (ptrdiff_t)hidden * batch;
    T a_i = (T)1 / ((T)1 + exp(z[i] + r[i]));
    T a_f = (T)1 / ((T)1 + exp(z[hb + i] + r[hb + i]));
    T a_g = (T)2 / ((T)1 + exp(z[2 * hb + i] + r[2 * hb + i])) - (T)1;
    T a_o = (T)1 / ((T)1 + exp(z[3 * hb + i] + r[3 * hb + i]));
    z[i] = a_i; z[hb + i] = a_f; z[2 * hb + i] = a_g; z[3 * hb + i] = a_o;
    c = a_f * c_prev + a_i * a_g;
    tc = tanh(c);
    h = a_o * tc;
"""

# One step of backpropagation through time: with dh ← g_out + dh and dc ← dh·(dc/dh) + dc, the gate
# gradients (dc, dc, dc, dh) times the local derivatives go to column t·B + b of dg (4H, T·B), and dc
# continues through the forget gate. The recurrent product W_hhᵀ·dg that gives the next dh is a GEMM.
_LSTM_CELL_BACKWARD = """
    const ptrdiff_t hb = (ptrdiff_t)hidden * batch, cols = (ptrdiff_t)steps * batch;
    const ptrdiff_t j = i / batch, col = (ptrdiff_t)t * batch + i % batch;
    T dhs = g_out + dh;
    T dcs = dhs * dc_dh + dc;
    dg[j * cols + col] = dcs * local[i];
    dg[(hidden + j) * cols + col] = dcs * local[hb + i];
    dg[(2 * hidden + j) * cols + col] = dcs * local[2 * hb + i];
    dg[(3 * hidden + j) * cols + col] = dhs * local[3 * hb + i];
    dc = dcs * f;
"""
_SPECS = {
    "lstm_cell": ("raw T z, raw T r, T c_prev, int32 hidden, int32 batch", "T c, T tc, T h", _LSTM_CELL),
    "lstm_cell_backward": ("T g_out, T dh, T dc_dh, T f, raw T local, int32 hidden, int32 batch, int32 t, "
                           "int32 steps", "T dc, raw T dg", _LSTM_CELL_BACKWARD),
}


def _kernel(cp: Any, name: str) -> Any:
    k = _kernels.get(name)
    if k is None:
        params, outs, body = _SPECS[name]
        k = _kernels[name] = cp.ElementwiseKernel(params, outs, body, f"ember_{name}")
    return k


def lstm_cell(cp: Any, z: Any, r: Any, c_prev: Any, c: Any, tc: Any, h: Any) -> None:
    """One fused LSTM step on the GPU (see ``_LSTM_CELL``): ``z``/``r`` (4H, B) contiguous, outputs (H, B)."""
    hidden, batch = c.shape
    _kernel(cp, "lstm_cell")(z, r, c_prev, hidden, batch, c, tc, h)


def lstm_cell_backward(cp: Any, g_out: Any, dh: Any, dc: Any, dc_dh: Any, f: Any, local: Any, dg: Any, t: int) -> None:
    """One fused BPTT step (see ``_LSTM_CELL_BACKWARD``): ``dc`` (H, B) is updated in place and the step's
    gate gradients written into column block ``t`` of ``dg`` (4H, T·B); ``local`` is (4H, B) contiguous."""
    hidden, batch = dc.shape
    _kernel(cp, "lstm_cell_backward")(g_out, dh, dc_dh, f, local, hidden, batch, t, dg.shape[1] // batch, dc, dg)
