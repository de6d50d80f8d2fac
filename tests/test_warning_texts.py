"""Once-per-process warnings whose whole text (torch's "Triggered internally at ..." suffix included) users see in
their logs: each is compared with torch's in a fresh process."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("torch")

_SPARSE_INVARIANTS = """
import sys, warnings
lib = __import__(sys.argv[1])
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    lib.sparse_coo_tensor([[0, 1]], lib.ones(2), (3,))
    lib.sparse_coo_tensor([[0]], lib.ones(1), (3,))
print(len(seen), [str(w.message) for w in seen])
"""


def _run(code: str, lib: str) -> str:
    return subprocess.run([sys.executable, "-c", code, lib], capture_output=True, text=True, check=True).stdout


def test_sparse_invariants_warning_as_torch():
    assert _run(_SPARSE_INVARIANTS, "ember") == _run(_SPARSE_INVARIANTS, "torch")
