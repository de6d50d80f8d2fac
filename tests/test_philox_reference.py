"""The Philox4x32-10 reference used by the GPU tests reproduces the algorithm's published answers."""

from __future__ import annotations

import numpy as np
import pytest

from philox_ref import philox4x32_10


@pytest.mark.parametrize("ctr,key,expected", [
    ([0, 0, 0, 0], (0, 0), [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
    ([0xFFFFFFFF] * 4, (0xFFFFFFFF, 0xFFFFFFFF), [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
    ([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], (0xA4093822, 0x299F31D0),
     [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]),
])
def test_known_answers(ctr: list[int], key: tuple[int, int], expected: list[int]) -> None:
    out = philox4x32_10(np.array([ctr], np.uint32), key)
    assert out[0].tolist() == expected
