"""Gaps found by running vision-tutorial-style programs (quickstart, fine-tuning, DCGAN, VAE, autograd/nn
pieces) under ember and torch with the same seed; each test distils one difference and compares with torch."""

from __future__ import annotations

import copy
from typing import Any

import ember
from oracle import torch


def test_deepcopy_parameter_drops_grad_and_attributes() -> None:
    """A fine-tuning program deep-copies a trained model: the copy's parameters have no ``.grad`` (torch
    rebuilds a Parameter from its data) while a plain tensor's grad is copied; strides are kept."""
    def run(lib: Any) -> tuple:
        p = lib.nn.Parameter(lib.ones(2))
        p.sum().backward()
        p.note = 1
        q = copy.deepcopy(p)
        t = lib.ones(2, requires_grad=True)
        t.sum().backward()
        m = lib.nn.Linear(2, 1)
        m(lib.ones(1, 2)).sum().backward()
        lazy = copy.deepcopy(lib.nn.LazyLinear(3)).weight
        return (type(q).__name__, q.grad, hasattr(q, "note"), q.requires_grad, copy.deepcopy(t).grad.tolist(),
                copy.deepcopy(m).weight.grad, copy.deepcopy(lib.ones(2, 3).t()).stride(),
                copy.deepcopy(lib.nn.Parameter(lib.ones(2, 3).t())).stride(), type(lazy).__name__)
    assert run(ember) == run(torch)
