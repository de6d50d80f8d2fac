"""The seed programs in examples/ run under ember and print what torch prints.

Each example is written with ``import ember as torch``; the torch run uses the same file with the imports
switched. Outputs must agree line by line: text exactly, numbers within 2% or two units of the last
printed digit (float32 BLAS rounding differs between NumPy's OpenBLAS and torch's MKL, and the
500-step training loops of the seeds carry that drift), object addresses masked.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("seed_*.py"))
_NUM = re.compile(r"-?\d+\.?\d*(?:e[+-]?\d+)?")
_ADDR = re.compile(r"0x[0-9a-f]+")
_GARBAGE = re.compile(r"-?\b(?:nan|inf)\b")   # what uninitialised memory may also print as


def _run_both(*sources: str) -> list[str]:
    """Each source's stdout; the programs run side by side (the two cores are otherwise half idle here)."""
    procs = [subprocess.Popen([sys.executable, "-c", s], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for s in sources]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    return [out for out, _ in outs]


def _as_torch(source: str) -> str:
    return re.sub(r"\bember\b", "torch", re.sub(r"\bember\.vision\b", "torchvision", source))


def _split(line: str) -> tuple[str, list[str]]:
    line = _ADDR.sub("0xADDR", line)
    return _NUM.sub("#", line), _NUM.findall(line)


def _last_digit_unit(s: str) -> float:
    """The value of one unit in the last printed digit ('0.0950' -> 1e-4, '1.2e-05' -> 1e-6)."""
    mant, _, exp = s.lower().partition("e")
    decimals = len(mant.partition(".")[2])
    return 10.0 ** (-decimals + (int(exp) if exp else 0))


def _numbers_close(a: str, b: str) -> bool:
    """Equal, or within 2% or 2 units of the last printed digit.

    The seeds' 500-step float32 training loops amplify the rounding differences between NumPy's
    OpenBLAS and torch's MKL matrix products (6e-6 relative after 100 steps): measured drift peaks at
    1.1% near step 430, where the loss has fallen by 11 orders of magnitude.
    """
    x, y = float(a), float(b)
    slack = 2 * max(_last_digit_unit(a), _last_digit_unit(b))
    return x == y or abs(x - y) <= max(2e-2 * max(abs(x), abs(y)), slack)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_prints_what_torch_prints(path: Path) -> None:
    source = path.read_text()
    if "ember.vision" in source:   # torchvision cannot be installed beside the oracle's torch build
        pytest.importorskip("torchvision")
    ours, theirs = _run_both(source, _as_torch(source))
    structure_only = "compare: structure" in source
    ours_lines, theirs_lines = ours.splitlines(), theirs.splitlines()
    assert len(ours_lines) == len(theirs_lines), f"{len(ours_lines)} lines vs torch {len(theirs_lines)}"
    for n, (a, b) in enumerate(zip(ours_lines, theirs_lines, strict=True)):
        (sa, na), (sb, nb) = _split(a), _split(b)
        if structure_only:   # uninitialised values (NaN and inf too) change widths and notation; compare the rest
            sa, sb = (re.sub(r"\s+", "", _GARBAGE.sub("#", s)) for s in (sa, sb))
        assert sa == sb, f"line {n}:\nember: {a}\ntorch: {b}"
        if not structure_only:
            assert all(_numbers_close(x, y) for x, y in zip(na, nb, strict=True)), f"line {n}:\nember: {a}\ntorch: {b}"
