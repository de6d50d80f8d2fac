"""Speed work on convolutions that must not change results: the C heap keeps freed array buffers (no page
faults for buffers allocated again step after step)."""

from __future__ import annotations

import os
import platform
import resource

import numpy as np
import pytest

import ember  # noqa: F401  (importing ember sets the heap's policy)

_GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
_TUNED = "GLIBC_TUNABLES" in os.environ or any(k.startswith("MALLOC_") and k.endswith("_") for k in os.environ)


@pytest.mark.skipif(not _GLIBC or _TUNED, reason="glibc's heap with its default settings only")
def test_freed_buffers_are_reused_without_page_faults():
    """Six 8 MiB buffers (above glibc's default mmap threshold) alive together, freed and allocated again, are
    not faulted in again (with the defaults the freed heap top is handed back: thousands of faults a round)."""
    def rounds() -> None:
        for _ in range(2):
            live = [np.ones(2 << 20, dtype=np.float32) for _ in range(6)]
            del live

    rounds()   # the first round may grow the heap
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    rounds()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before < 512
