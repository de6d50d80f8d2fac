"""Gaps found by running NLP/sequence-tutorial-style programs (char-RNN classification and generation, seq2seq
with attention, Transformer language model, text classification with EmbeddingBag and packed LSTMs) under ember
and torch with the same seed; each test distils one difference and compares with torch."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

import ember
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
