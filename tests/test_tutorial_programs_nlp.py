"""Gaps found by running NLP/sequence-tutorial-style programs (char-RNN classification and generation, seq2seq
with attention, Transformer language model, text classification with EmbeddingBag and packed LSTMs) under ember
and torch with the same seed; each test distils one difference and compares with torch."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import ember
from ember.ops import elementwise as E
from oracle import torch


def test_tensor_creation_keeps_once_per_location_warnings() -> None:
    """A translation tutorial warns about mismatched mask types once (Python's default filter shows a warning
    once per location); ember's ``tensor()`` swapped the warning filters on each call, which wipes that memory,
    so the warning repeated at every batch."""
    def count(lib: Any) -> int:
        mha = lib.nn.MultiheadAttention(4, 1)
        q = lib.ones(2, 1, 4)
        with warnings.catch_warnings():     # a first call: torch's lazy imports change the filters once
            warnings.simplefilter("ignore")
            mha(q, q, q, key_padding_mask=lib.tensor([[False, True]]), attn_mask=lib.zeros(2, 2))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            for _ in range(3):
                mask = lib.tensor([[False, True]])          # built from a list, as each batch does
                lib.tensor(np.array([1, 2]), dtype=lib.float32)     # and cast on the way
                mha(q, q, q, key_padding_mask=mask, attn_mask=lib.zeros(2, 2))
        return sum("mismatched key_padding_mask" in str(w.message) for w in caught)
    assert count(ember) == count(torch) == 1


def test_numpy_spellings_axis_and_keepdims() -> None:
    """The bigram tutorial normalises counts with ``P.sum(1, keepdims=True)``; torch's argument parser takes
    NumPy's ``axis=``/``keepdims=`` for ``dim=``/``keepdim=`` on its native functions (not on the ones written in
    Python, such as ``torch.norm`` or ``nn.functional.softmax``); ember raised TypeError."""
    def run(lib: Any) -> list:
        p = lib.arange(12.0).view(3, 4)
        out = [p.sum(1, keepdims=True), lib.mean(p, axis=0), p.max(axis=1, keepdims=True).values,
               lib.cat([p, p], axis=1), p.softmax(axis=-1).round(decimals=4),
               lib.linalg.norm(p, axis=1, keepdims=True).round(decimals=4),
               p.std(axis=0, keepdims=True).round(decimals=4), p.argmax(axis=1), lib.stack([p, p], axis=2).shape]
        for call in (lambda: lib.norm(p, axis=1), lambda: lib.nn.functional.softmax(p, axis=1),
                     lambda: p.cumsum(axis=0, keepdims=True), lambda: p.sum(0, dim=1, axis=0)):
            try:
                call()
            except TypeError:
                out.append("TypeError")
        return [o.tolist() if isinstance(o, lib.Tensor) else list(o) if not isinstance(o, str) else o for o in out]
    assert run(ember) == run(torch)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_tanh_sigmoid_backward_bits(dtype: str) -> None:
    """The manual-backprop tutorial compares ``(1 - h**2) * dh`` with autograd's gradient through tanh: torch's
    kernel forms ``1 - y·y`` with one fused multiply-add (16-bit floats in float32; ember's float64 still rounds
    twice) and sigmoid's ``g·(1 - y)·y`` left to right (bfloat16 in float32), so its gradients are not the
    chained ops' bits; ember's were."""
    rng = np.random.default_rng(0)
    tdt = getattr(torch, dtype)
    x = torch.tensor(rng.standard_normal(4096) * 3).to(tdt)
    g = torch.tensor(rng.standard_normal(4096)).to(tdt)

    def to_e(t: Any) -> Any:
        return ember.tensor(t.double().numpy()).to(getattr(ember, dtype))
    for name in ("tanh", "sigmoid") if dtype != "float64" else ("sigmoid",):   # float64 tanh: two roundings
        y = getattr(torch, name)(x)
        want = getattr(torch.ops.aten, name + "_backward")(g, y).double()
        got = getattr(E, name + "_backward")(to_e(g), to_e(y)).double()
        assert got.tolist() == want.tolist(), name


def _grads(lib: Any, fn: Any, dtype: str, *arrays: np.ndarray) -> list:
    """``fn``'s value and the gradients of its inputs (built from ``arrays`` in ``dtype``), as float64 lists."""
    xs = [lib.tensor(a).to(getattr(lib, dtype)).requires_grad_() for a in arrays]
    out = fn(lib, *xs)
    out.backward(lib.ones_like(out))
    return [t.double().tolist() for t in (out.detach(), *(x.grad for x in xs))]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_backward_formulas_in_torch_order(dtype: str) -> None:
    """Losses divided by a tensor, products and hardsigmoid (the attention and classification heads): torch
    computes ``-g·((a/b)/b)``, ``g·(prod/x)``, ``relu6(x + 3)/6`` and ``g·(1/6 as a float)``; ember rounded
    other orders (``a/(b·b)``, ``(g·prod)/x``, ``x/6 + 1/2``, ``g/6``)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(256) * 4, np.abs(rng.standard_normal(256)) + 0.1
    fns = [lambda L, x, y: x / y, lambda L, x, y: L.nn.functional.hardsigmoid(x) * y]
    if dtype in ("float32", "float64"):   # 16-bit products round as torch's reduction does not (yet)
        fns.append(lambda L, x, y: (x.view(64, 4) * y.view(64, 4)).prod(1))
    for fn in fns:
        assert _grads(ember, fn, dtype, a, b) == _grads(torch, fn, dtype, a, b)


def test_prod_gradient_of_complex_input_is_conjugated() -> None:
    """``prod``'s gradient for complex inputs without zeros is ``g·conj(prod/x)``; ember left out the
    conjugate (gradcheck failed)."""
    x = ember.tensor([[1 + 2j, -0.5 + 1j], [2 - 1j, 0.3 + 0.2j]], dtype=ember.complex128, requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: t.prod(1), (x,))
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    x.prod().abs().backward()
    tx.prod().abs().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_tensor_times_python_number_in_float32(dtype: str) -> None:
    """``emb * math.sqrt(d_model)`` or ``scores / scale`` on 16-bit tensors: torch's mul/div kernels meet the
    number in float32 (rounding once); ember rounded the number to the 16-bit type first."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal(512) * 3

    def run(lib: Any) -> list:
        x = lib.tensor(a).to(getattr(lib, dtype))
        return [t.double().tolist() for t in (x * 0.1, 3.3 * x, x / 0.3, 0.7 / x, x.clone().mul_(1 / 3),
                                              x.clone().div_(5.1))]
    assert run(ember) == run(torch)


def test_default_collate_keeps_transposed_strings_as_tuples() -> None:
    """A text dataset returning ``(label, text)`` pairs: torch's ``default_collate`` hands each transposed field
    on as the tuple ``zip`` made (the texts come back as a tuple), lists only for dict fields; ember made lists."""
    def run(lib: Any) -> list:
        dc = lib.utils.data.default_collate
        return [repr(dc([(1, "a"), (2, "b")])), repr(dc([{"s": "a"}, {"s": "b"}])), repr(dc([["x", 1], ["y", 2]]))]
    assert run(ember) == run(torch)


def test_embedding_bag_checks_offsets() -> None:
    """Offsets built by hand for ``nn.EmbeddingBag`` (``cumsum`` without the leading 0, one too many): torch
    refuses a first offset other than 0 and a last one past the input; ember returned bags anyway (and failed
    on ``include_last_offset`` with a single offset, which is zero bags)."""
    def run(lib: Any) -> list:
        w = lib.ones(10, 3)
        out = []
        for offs, last in (([1, 2], False), ([0, 1, 5], True), ([0, 5], False), ([0], True), ([], True), ([], False)):
            try:
                out.append(tuple(lib.nn.functional.embedding_bag(lib.tensor([1, 2, 3]), w,
                                                                  lib.tensor(offs, dtype=lib.long),
                                                                  include_last_offset=last).shape))
            except RuntimeError as e:
                out.append(str(e))
        return out
    assert run(ember) == run(torch)
